/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_redact.h --- a QEMU stream or libvirt image without the guest's
 * memory (fredck redact): the format's redact operation.
 */
#ifndef FRED_QEMU_REDACT_H
#define FRED_QEMU_REDACT_H

#include "formats/format.h"

/*
 * Write s (read by qemu_open_in) with its guest memory removed where w
 * says (-o only); *result says what was removed and kept.  Verified by
 * reading the result: the same vCPUs, no page of memory left.
 */
int qemu_redact(struct snapshot *s, struct write_request *w, struct redaction *result,
		struct fmt_error *e);

#endif
