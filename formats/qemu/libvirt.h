/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt.h --- libvirt save images: a header, the domain XML, a QEMU stream.
 */
#ifndef FRED_LIBVIRT_H
#define FRED_LIBVIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/format.h"

extern const struct format_ops libvirt_format;

/* p[len] starts with LibvirtQemudSave or LibvirtQemudPart. */
bool libvirt_magic(const uint8_t *p, size_t len);

struct qemu_stream;
/*
 * A container function (qemu_stream.h) for standard input, which may
 * carry a libvirt image or a bare stream: the libvirt header if the
 * magic (not consumed) says so, else nothing.
 */
int libvirt_or_bare(struct qemu_stream *q, struct snapshot *s, struct fmt_error *e);

#endif
