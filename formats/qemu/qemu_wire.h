/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_wire.h --- the smallest pieces of a QEMU migration stream: section
 * types, big-endian numbers, counted names and section footers, read from
 * a byte source.  Every other part of the reader builds on these.
 */
#ifndef FRED_QEMU_WIRE_H
#define FRED_QEMU_WIRE_H

#include <stdint.h>

#include "formats/io/bsrc.h"

#define QEVM_MAGIC 0x5145564dU /* "QEVM", the stream's first bytes */
#define QEVM_VERSION 3

/* Top-level section types. */
enum {
	QSEC_EOF = 0x00,
	QSEC_START = 0x01,
	QSEC_PART = 0x02,
	QSEC_END = 0x03,
	QSEC_FULL = 0x04,
	QSEC_SUBSECTION = 0x05,
	QSEC_VMDESC = 0x06,
	QSEC_CONFIGURATION = 0x07,
	QSEC_COMMAND = 0x08,
	QSEC_FOOTER = 0x7e,
};

/* RAM record flags, in the low bits of a record's header (migration/ram.c). */
enum {
	RAM_ZERO = 0x002,
	RAM_MEM_SIZE = 0x004,
	RAM_PAGE = 0x008,
	RAM_EOS = 0x010,
	RAM_CONTINUE = 0x020,
	RAM_XBZRLE = 0x040,
	RAM_HOOK = 0x080,
	RAM_COMPRESS_PAGE = 0x100,
	RAM_MULTIFD_FLUSH = 0x200,
};

/* A big-endian number of bytes bytes into *v (inline: one per RAM record). */
static inline int qw_take_be(struct bsrc *src, int bytes, uint64_t *v, const char *field,
			     struct fmt_error *e)
{
	const uint8_t *p = bsrc_take(src, (size_t)bytes, field, e);

	if (!p)
		return -1;
	*v = be_get(p, bytes);
	return 0;
}

/* A counted string (1 length byte, no NUL) into out[256]. */
int qw_take_counted(struct bsrc *src, char *out, const char *field, struct fmt_error *e);
/* The footer 7e sid that ends section what (id sid). */
int qw_expect_footer(struct bsrc *src, uint32_t sid, const char *what, struct fmt_error *e);

#endif
