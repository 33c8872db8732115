/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_wire.c --- numbers, names and footers of a QEMU migration stream.
 */
#include "config.h"

#include <string.h>

#include "formats/qemu/qemu_wire.h"

int qw_take_counted(struct bsrc *src, char *out, const char *field, struct fmt_error *e)
{
	const uint8_t *p = bsrc_take(src, 1, field, e);
	size_t n;

	if (!p)
		return -1;
	n = *p;
	p = bsrc_take(src, n, field, e);
	if (!p)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	if (strlen(out) != n)
		return fmt_malformed(e, src->path, bsrc_offset(src) - n, field,
				     "a NUL byte inside a name");
	return 0;
}

int qw_expect_footer(struct bsrc *src, uint32_t sid, const char *what, struct fmt_error *e)
{
	uint64_t off = bsrc_offset(src);
	const uint8_t *p = bsrc_take(src, 5, "section footer", e);

	if (!p)
		return -1;
	if (p[0] != QSEC_FOOTER || be_get(p + 1, 4) != sid)
		return fmt_malformed(e, src->path, off, "section footer",
				     "section %s (id %u) does not end with its footer 7e %08x "
				     "(found %02x %08llx): the section was not parsed as written",
				     what, sid, sid, p[0], (unsigned long long)be_get(p + 1, 4));
	return 0;
}
