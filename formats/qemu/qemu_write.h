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

/*
 * Put the verified temporary file tmp in place as w says (sw_commit_file),
 * provided the input is still the object s read (its descriptor is kept
 * open: the backup is linked from it).
 */
int qemu_commit_file(struct snapshot *s, const char *tmp, const char *target,
		     struct write_request *w, struct fmt_error *e);

#endif
