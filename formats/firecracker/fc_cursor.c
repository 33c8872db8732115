/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fc_cursor.c --- the bounded reader of fc_cursor.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "formats/firecracker/fc_cursor.h"
#include "formats/io/le.h"

size_t fc_enter(struct fc_cur *c, const char *name)
{
	size_t mark = c->field_len;
	int n = snprintf(c->field + mark, sizeof(c->field) - mark, "%s%s",
			 mark == 0 || name[0] == '[' ? "" : ".", name);

	if (n > 0)
		c->field_len = mark + (size_t)n < sizeof(c->field) ? mark + (size_t)n
								    : sizeof(c->field) - 1;
	return mark;
}

size_t fc_enter_index(struct fc_cur *c, const char *name, uint64_t index)
{
	char part[64];

	snprintf(part, sizeof(part), "%s[%llu]", name, (unsigned long long)index);
	return fc_enter(c, part);
}

void fc_leave(struct fc_cur *c, size_t mark)
{
	c->field_len = mark;
	c->field[mark] = '\0';
}

int fc_bad(struct fc_cur *c, uint64_t off, const char *name, const char *fmt, ...)
{
	char msg[256];
	size_t mark = name ? fc_enter(c, name) : c->field_len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fmt_malformed(c->e, c->file, off, c->field[0] ? c->field : "(state)", "%s", msg);
	fc_leave(c, mark);
	return -1;
}

uint64_t fc_left(const struct fc_cur *c)
{
	return c->end - c->pos;
}

int fc_need(struct fc_cur *c, uint64_t n, const char *name)
{
	if (n > fc_left(c))
		return fc_bad(c, c->pos, name, "%llu bytes needed, %llu left before the checksum",
			      (unsigned long long)n, (unsigned long long)fc_left(c));
	return 0;
}

int fc_uint(struct fc_cur *c, unsigned int bytes, const char *name, uint64_t *v)
{
	if (fc_need(c, bytes, name))
		return -1;
	*v = le_get(c->b + c->pos, bytes);
	c->pos += bytes;
	return 0;
}

int fc_skip(struct fc_cur *c, uint64_t bytes, const char *name)
{
	if (fc_need(c, bytes, name))
		return -1;
	c->pos += bytes;
	return 0;
}

int fc_bool(struct fc_cur *c, const char *name, bool *v)
{
	uint64_t b;

	if (fc_uint(c, 1, name, &b))
		return -1;
	if (b > 1)
		return fc_bad(c, c->pos - 1, name, "bool byte 0x%02llx, not 0 or 1",
			      (unsigned long long)b);
	*v = b;
	return 0;
}

int fc_option(struct fc_cur *c, const char *name, bool *some)
{
	uint64_t tag;

	if (fc_uint(c, 1, name, &tag))
		return -1;
	if (tag > 1)
		return fc_bad(c, c->pos - 1, name, "Option tag %llu, expected 0 (None) or 1 (Some)",
			      (unsigned long long)tag);
	*some = tag;
	return 0;
}

int fc_variant(struct fc_cur *c, const char *name, uint32_t nvariants, uint32_t *v)
{
	uint64_t idx;

	if (fc_uint(c, 4, name, &idx))
		return -1;
	if (idx >= nvariants)
		return fc_bad(c, c->pos - 4, name, "enum variant %llu; the type has %u",
			      (unsigned long long)idx, nvariants);
	*v = (uint32_t)idx;
	return 0;
}

int fc_len(struct fc_cur *c, const char *name, uint64_t min_size, uint64_t *n)
{
	if (fc_uint(c, 8, name, n))
		return -1;
	if (min_size > 0 && *n > fc_left(c) / min_size)
		return fc_bad(c, c->pos - 8, name,
			      "length %llu: %llu bytes left before the checksum hold at most %llu "
			      "elements of %llu bytes or more", (unsigned long long)*n,
			      (unsigned long long)fc_left(c),
			      (unsigned long long)(fc_left(c) / min_size),
			      (unsigned long long)min_size);
	return 0;
}

int fc_vec_fixed(struct fc_cur *c, const char *name, uint64_t elem_size, uint64_t *n)
{
	return fc_len(c, name, elem_size, n) || fc_skip(c, *n * elem_size, name) ? -1 : 0;
}

/* The length of the UTF-8 sequence starting at p (n bytes available), or 0 if invalid. */
static size_t utf8_char(const uint8_t *p, uint64_t n)
{
	size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3
		   : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
	uint32_t cp;

	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	cp = len == 1 ? p[0] : len == 2 ? p[0] & 0x1Fu : len == 3 ? p[0] & 0x0Fu : p[0] & 0x07u;
	for (size_t i = 1; i < len; i++)
		cp = cp << 6 | (p[i] & 0x3Fu);
	/* Overlong forms, surrogates and code points past U+10FFFF are not UTF-8. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return len;
}

int fc_string(struct fc_cur *c, const char *name, uint64_t max)
{
	uint64_t n, start;

	if (fc_len(c, name, 1, &n))
		return -1;
	if (n > max)
		return fc_bad(c, c->pos - 8, name, "a string of %llu bytes, more than %llu",
			      (unsigned long long)n, (unsigned long long)max);
	start = c->pos;
	for (uint64_t i = 0; i < n;) {
		size_t len = utf8_char(c->b + start + i, n - i);

		if (len == 0)
			return fc_bad(c, start + i, name, "the string is not valid UTF-8");
		i += len;
	}
	c->pos += n;
	return 0;
}

int fc_opt_string(struct fc_cur *c, const char *name, uint64_t max)
{
	bool some = false;

	if (fc_option(c, name, &some))
		return -1;
	return some ? fc_string(c, name, max) : 0;
}

int fc_opt_fixed(struct fc_cur *c, const char *name, uint64_t size)
{
	bool some = false;

	if (fc_option(c, name, &some))
		return -1;
	return some ? fc_skip(c, size, name) : 0;
}

int fc_kvm(struct fc_cur *c, const char *name, uint64_t size, uint64_t *off)
{
	uint64_t n;

	if (c->kvm_prefixed) {
		if (fc_uint(c, 8, name, &n))
			return -1;
		if (n != size)
			return fc_bad(c, c->pos - 8, name,
				      "a kvm structure of %llu bytes; Firecracker writes %llu (its "
				      "loader would zero-pad or truncate it; fredck refuses)",
				      (unsigned long long)n, (unsigned long long)size);
	}
	if (fc_need(c, size, name))
		return -1;
	*off = c->pos;
	c->pos += size;
	return 0;
}
