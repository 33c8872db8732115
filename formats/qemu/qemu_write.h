/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_write.h --- repairing a QEMU stream or libvirt image into a file
 * (-o, --in-place): the format's write operation.
 */
#ifndef FRED_QEMU_WRITE_H
#define FRED_QEMU_WRITE_H

#include "formats/format.h"

/* Write s (read by qemu_open_in) repaired by plans where w says. */
int qemu_write(struct snapshot *s, const struct vcpu_plan *plans, struct write_request *w,
	       struct fmt_error *e);

#endif
