/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bitcode.c --- the bounded serde-mode bitcode reader of bitcode.h.
 *
 * Every count is checked against the bytes left before the CRC trailer
 * before it is used; a value is only ever read from a column whose bytes
 * were checked to exist.  What bitcode 0.6.9 itself refuses is refused
 * here too (an unknown packing, a length sum of 2^51 / 4096 or more, a
 * variant an Option cannot have, invalid UTF-8); what it accepts is read
 * as it reads it (a non-canonical packing, the unused digits of a last
 * packed byte).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/firecracker/bitcode.h"
#include "formats/io/le.h"

/* bitcode's HUGE_LEN: isize::MAX / 4096; a length sum from there is refused. */
#define BC_HUGE_LEN (0x7FFFFFFFFFFFFFFFULL / 4096)

static const unsigned int factors[6] = { 256, 16, 6, 4, 3, 2 };

/* Values per packed byte of each factor. */
static unsigned int per_byte(unsigned int factor)
{
	switch (factor) {
	case 2: return 8;
	case 3: return 5;
	case 4: return 4;
	case 6: return 3;
	case 16: return 2;
	default: return 1;
	}
}

void bc_path(const struct bc_node *n, char *buf, size_t len)
{
	const char *parts[64];
	size_t np = 0, at = 0;

	for (; n && np < 64; n = n->parent)
		if (n->name && n->name[0])
			parts[np++] = n->name;
	buf[0] = '\0';
	while (np-- > 0 && at + 1 < len) {
		int k = snprintf(buf + at, len - at, "%s%s",
				 at == 0 || parts[np][0] == '[' ? "" : ".", parts[np]);

		if (k < 0)
			break;
		at += (size_t)k < len - at ? (size_t)k : len - at - 1;
	}
	if (!buf[0])
		snprintf(buf, len, "(state)");
}

int bc_bad(struct bc *d, const struct bc_node *n, uint64_t off, const char *fmt, ...)
{
	char path[96], msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bc_path(n, path, sizeof(path));
	return fmt_malformed(d->e, d->file, off, path, "bitcode column: %s", msg);
}

static struct bc_node *new_node(struct bc *d, struct bc_node *parent, uint64_t length)
{
	struct bc_node *n;

	if (d->nodes >= BC_MAX_NODES) {
		bc_bad(d, parent, d->pos, "more than %d positions in the type tree", BC_MAX_NODES);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		fmt_syserr(d->e, d->file, ENOMEM, "cannot read");
		return NULL;
	}
	d->nodes++;
	n->kind = BC_UNSPECIFIED;
	n->length = length;
	n->parent = parent;
	return n;
}

static void free_node(struct bc_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		free_node(n->kids[i]);
	free(n->kids);
	free(n);
}

int bc_init(struct bc *d, const uint8_t *b, uint64_t start, uint64_t end, const char *file,
	    struct fmt_error *e)
{
	memset(d, 0, sizeof(*d));
	d->b = b;
	d->pos = start;
	d->end = end;
	d->file = file;
	d->e = e;
	/* The root holds one value: bitcode::deserialize's SerdeDecoder::Unspecified { length: 1 }. */
	d->root = new_node(d, NULL, 1);
	return d->root ? 0 : -1;
}

void bc_free(struct bc *d)
{
	free_node(d->root);
	d->root = NULL;
}

/* Claim n bytes of input for n's column. */
static int take(struct bc *d, const struct bc_node *n, uint64_t bytes, const char *what)
{
	if (bytes > d->end - d->pos)
		return bc_bad(d, n, d->pos,
			      "%s: %llu bytes needed, %llu left before the checksum (truncated, "
			      "or a count too large)", what, (unsigned long long)bytes,
			      (unsigned long long)(d->end - d->pos));
	d->pos += bytes;
	return 0;
}

/* ---- reading columns ---------------------------------------------------------------- */

/* A pack_bytes column of count values (unpack_bytes); with_header false: bools. */
static int read_u8col(struct bc *d, const struct bc_node *n, uint64_t count, bool bools,
		      struct bc_u8col *c)
{
	memset(c, 0, sizeof(*c));
	c->start = d->pos;
	c->n = count;
	if (bools) {
		c->factor = 2;
	} else if (count <= 2) {
		c->factor = 256; /* skip_packing: packing would take as many bytes */
	} else {
		uint8_t h;

		if (take(d, n, 1, "the packing byte"))
			return -1;
		h = d->b[d->pos - 1];
		if ((h + 1) / 2 > 5)
			return bc_bad(d, n, d->pos - 1, "packing byte %u is none of bitcode's (0-10)",
				      h);
		c->factor = factors[(h + 1) / 2];
		if (h & 1) {
			if (take(d, n, 1, "the minimum"))
				return -1;
			c->min = d->b[d->pos - 1];
		}
	}
	c->data = d->pos;
	if (take(d, n, count / per_byte(c->factor) + (count % per_byte(c->factor) != 0),
		 "the packed values"))
		return -1;
	c->end = d->pos;
	return 0;
}

static uint8_t u8_at(const struct bc *d, const struct bc_u8col *c, uint64_t i)
{
	unsigned int per = per_byte(c->factor);
	unsigned int v = d->b[c->data + i / per];

	if (c->factor != 256) {
		for (unsigned int k = 0; k < i % per; k++)
			v /= c->factor;
		v %= c->factor;
	}
	return (uint8_t)(v + c->min);
}

/* A pack_ints column of count integers of width bytes. */
static int read_intcol(struct bc *d, const struct bc_node *n, unsigned int width, uint64_t count,
		       struct bc_intcol *c)
{
	/* Packing indexes: 1 = 64 bits, 2 = 32, 3 = 16, 4 = 8 (0, 128 bits, is not used here). */
	unsigned int base = width == 8 ? 1 : width == 4 ? 2 : 3, p = base;

	memset(c, 0, sizeof(*c));
	c->start = d->pos;
	c->width = width;
	c->n = count;
	if (count != 0 && !(width == 2 && count == 1)) {
		uint8_t h;

		if (take(d, n, 1, "the packing byte"))
			return -1;
		h = d->b[d->pos - 1];
		p = base + (h + 1U) / 2;
		if (p > 4)
			return bc_bad(d, n, d->pos - 1,
				      "packing byte %u is none of bitcode's for %u-byte integers", h,
				      width);
		if (h & 1) {
			if (take(d, n, width, "the minimum"))
				return -1;
			c->min = le_get(d->b + d->pos - width, width);
		}
	}
	c->bytes = p == 1 ? 8 : p == 2 ? 4 : p == 3 ? 2 : 1;
	if (c->bytes == 1) {
		if (read_u8col(d, n, count, false, &c->small))
			return -1;
	} else {
		c->data = d->pos;
		if (count > (d->end - d->pos) / c->bytes)
			return bc_bad(d, n, d->pos,
				      "%llu integers of %u bytes, %llu bytes left before the checksum",
				      (unsigned long long)count, c->bytes,
				      (unsigned long long)(d->end - d->pos));
		d->pos += count * c->bytes;
	}
	c->end = d->pos;
	return 0;
}

static uint64_t int_at(const struct bc *d, const struct bc_intcol *c, uint64_t i)
{
	uint64_t v = c->bytes == 1 ? u8_at(d, &c->small, i)
				   : le_get(d->b + c->data + i * c->bytes, c->bytes);

	v += c->min;
	return c->width == 8 ? v : v & ((1ULL << (8 * c->width)) - 1);
}

/* A lengths column of count lengths (LengthDecoder::populate). */
static int read_lencol(struct bc *d, const struct bc_node *n, uint64_t count, struct bc_lencol *c)
{
	uint64_t sum = 0, large = 0;

	memset(c, 0, sizeof(*c));
	if (read_u8col(d, n, count, false, &c->small))
		return -1;
	for (uint64_t i = 0; i < count; i++) {
		uint8_t v = u8_at(d, &c->small, i);

		sum += v;
		large += v == 255;
	}
	if (sum >= 255) {
		uint64_t at = d->pos;

		if (read_intcol(d, n, 8, large, &c->large))
			return -1;
		sum -= 255 * large;
		for (uint64_t i = 0; i < large; i++) {
			uint64_t v = int_at(d, &c->large, i);

			if (sum + v < sum || sum + v >= BC_HUGE_LEN)
				return bc_bad(d, n, at, "lengths that sum to 2^51 / 4096 or more "
					      "(bitcode refuses them)");
			sum += v;
		}
	}
	c->sum = sum;
	return 0;
}

static uint64_t next_len(const struct bc *d, struct bc_lencol *c)
{
	uint8_t v = u8_at(d, &c->small, c->small.next++);

	return v < 255 ? v : int_at(d, &c->large, c->large.next++);
}

/* ---- populating a position on first use ------------------------------------------------ */

static const char *kind_name(enum bc_kind k)
{
	static const char *const names[] = { "unspecified", "bool", "enum", "sequence", "string",
					     "tuple", "u8", "u16", "u32", "u64" };
	return names[k];
}

static int add_kids(struct bc *d, struct bc_node *n, size_t count, const uint64_t *lengths,
		    uint64_t same)
{
	n->kids = calloc(count ? count : 1, sizeof(*n->kids));
	if (!n->kids)
		return fmt_syserr(d->e, d->file, ENOMEM, "cannot read");
	for (size_t i = 0; i < count; i++) {
		n->kids[i] = new_node(d, n, lengths ? lengths[i] : same);
		if (!n->kids[i])
			return -1;
		n->nkids = i + 1;
	}
	return 0;
}

/* Make n a position of kind k, reading its column now if it has one. */
static int specify(struct bc *d, struct bc_node *n, const char *name, enum bc_kind k,
		   size_t tuple_len)
{
	if (!n->name)
		n->name = name;
	if (n->kind == k)
		return 0;
	if (n->kind != BC_UNSPECIFIED)
		return bc_bad(d, n, d->pos, "read as a %s, already a %s", kind_name(k),
			      kind_name(n->kind));
	n->kind = k;
	switch (k) {
	case BC_BOOL:
		return read_u8col(d, n, n->length, true, &n->col.u8);
	case BC_U8:
		return read_u8col(d, n, n->length, false, &n->col.u8);
	case BC_U16:
		return read_intcol(d, n, 2, n->length, &n->col.ints);
	case BC_U32:
		return read_intcol(d, n, 4, n->length, &n->col.ints);
	case BC_U64:
		return read_intcol(d, n, 8, n->length, &n->col.ints);
	case BC_SEQ:
		return read_lencol(d, n, n->length, &n->col.len) ||
		       add_kids(d, n, 1, NULL, n->col.len.sum);
	case BC_STR: {
		if (read_lencol(d, n, n->length, &n->col.len))
			return -1;
		n->str_next = d->pos;
		return take(d, n, n->col.len.sum, "the string bytes");
	}
	case BC_TUPLE:
		return add_kids(d, n, tuple_len, NULL, n->length);
	case BC_ENUM: {
		uint64_t hist[256] = { 0 };
		size_t nv = 0;

		if (read_u8col(d, n, n->length, false, &n->col.u8))
			return -1;
		for (uint64_t i = 0; i < n->length; i++)
			hist[u8_at(d, &n->col.u8, i)]++;
		for (size_t v = 0; v < 256; v++)
			if (hist[v])
				nv = v + 1;
		return add_kids(d, n, nv, hist, 0);
	}
	default:
		return bc_bad(d, n, d->pos, "internal: no such kind");
	}
}

/* The column must still have a value to hand out (the counts above guarantee it). */
static int have(struct bc *d, const struct bc_node *n, uint64_t next, uint64_t total)
{
	if (next >= total)
		return bc_bad(d, n, d->pos, "more values read than the column holds (%llu)",
			      (unsigned long long)total);
	return 0;
}

int bc_uint(struct bc *d, struct bc_node *n, const char *name, unsigned int width, uint64_t *v)
{
	enum bc_kind k = width == 1 ? BC_U8 : width == 2 ? BC_U16 : width == 4 ? BC_U32 : BC_U64;

	if (specify(d, n, name, k, 0))
		return -1;
	if (k == BC_U8) {
		if (have(d, n, n->col.u8.next, n->col.u8.n))
			return -1;
		*v = u8_at(d, &n->col.u8, n->col.u8.next++);
		return 0;
	}
	if (have(d, n, n->col.ints.next, n->col.ints.n))
		return -1;
	*v = int_at(d, &n->col.ints, n->col.ints.next++);
	return 0;
}

int bc_bool(struct bc *d, struct bc_node *n, const char *name, bool *v)
{
	if (specify(d, n, name, BC_BOOL, 0) || have(d, n, n->col.u8.next, n->col.u8.n))
		return -1;
	*v = u8_at(d, &n->col.u8, n->col.u8.next++) != 0;
	return 0;
}

/* Is s[0..len) UTF-8 (Rust's from_utf8: no surrogates, no overlong forms, at most U+10FFFF)? */
static bool utf8_ok(const uint8_t *s, uint64_t len)
{
	for (uint64_t i = 0; i < len;) {
		uint8_t c = s[i];
		unsigned int need;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0) {
			need = 1, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			need = 2, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i <= need)
			return false;
		for (unsigned int k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += need + 1;
	}
	return true;
}

int bc_str(struct bc *d, struct bc_node *n, const char *name, char *out, size_t outsz,
	   uint64_t *len)
{
	uint64_t l, at;

	if (specify(d, n, name, BC_STR, 0) || have(d, n, n->col.len.small.next, n->col.len.small.n))
		return -1;
	l = next_len(d, &n->col.len);
	at = n->str_next;
	n->str_next += l; /* within the bytes taken: the lengths sum to them */
	if (!utf8_ok(d->b + at, l))
		return bc_bad(d, n, at, "a string of %llu bytes that is not UTF-8",
			      (unsigned long long)l);
	if (out && outsz) {
		size_t k = l < outsz - 1 ? (size_t)l : outsz - 1;

		memcpy(out, d->b + at, k);
		out[k] = '\0';
	}
	if (len)
		*len = l;
	return 0;
}

int bc_seq(struct bc *d, struct bc_node *n, const char *name, uint64_t *len,
	   struct bc_node **elems)
{
	if (specify(d, n, name, BC_SEQ, 0) || have(d, n, n->col.len.small.next, n->col.len.small.n))
		return -1;
	*len = next_len(d, &n->col.len);
	*elems = n->kids[0];
	if (!(*elems)->name)
		(*elems)->name = "[]";
	return 0;
}

int bc_enum(struct bc *d, struct bc_node *n, const char *name, unsigned int nvariants,
	    unsigned int *variant, struct bc_node **value)
{
	uint64_t at;

	if (specify(d, n, name, BC_ENUM, 0) || have(d, n, n->col.u8.next, n->col.u8.n))
		return -1;
	at = n->col.u8.start;
	*variant = u8_at(d, &n->col.u8, n->col.u8.next++);
	if (*variant >= nvariants)
		return bc_bad(d, n, at, "variant %u; the type has %u", *variant, nvariants);
	*value = n->kids[*variant];
	return 0;
}

int bc_tuple(struct bc *d, struct bc_node *n, const char *name, size_t len,
	     struct bc_node ***fields)
{
	if (specify(d, n, name, BC_TUPLE, len))
		return -1;
	if (n->nkids != len)
		return bc_bad(d, n, d->pos, "a tuple of %zu read as one of %zu", n->nkids, len);
	*fields = n->kids;
	return 0;
}

int bc_u8s(struct bc *d, struct bc_node *n, const char *name, uint64_t count, uint8_t *out)
{
	if (specify(d, n, name, BC_U8, 0))
		return -1;
	if (count > n->col.u8.n - n->col.u8.next)
		return bc_bad(d, n, n->col.u8.start, "more values read than the column holds (%llu)",
			      (unsigned long long)n->col.u8.n);
	for (uint64_t i = 0; out && i < count; i++)
		out[i] = u8_at(d, &n->col.u8, n->col.u8.next + i);
	n->col.u8.next += count;
	return 0;
}

/* ---- packing ---------------------------------------------------------------------------- */

/* bitcode's Packing::new(max): the index into factors[]. */
static unsigned int packing_for(uint8_t max)
{
	if (max <= 1)
		return 5;
	if (max == 2)
		return 4;
	if (max == 3)
		return 3;
	if (max <= 5)
		return 2;
	if (max <= 15)
		return 1;
	return 0;
}

size_t bc_pack_bytes(const uint8_t *v, size_t n, uint8_t *out)
{
	uint8_t min = 255, max = 0, sub = 0;
	unsigned int basic, offset, p, f, per;
	size_t o = 0;

	if (n <= 2) {
		memcpy(out, v, n);
		return n;
	}
	for (size_t i = 0; i < n; i++) {
		min = v[i] < min ? v[i] : min;
		max = v[i] > max ? v[i] : max;
	}
	basic = packing_for(max);
	offset = packing_for((uint8_t)(max - min));
	/* A larger index is a narrower packing; the offset costs a byte, so only from 6 values. */
	if (offset > basic && n > 5) {
		p = offset;
		out[o++] = (uint8_t)(p * 2 - 1);
		out[o++] = min;
		sub = min;
	} else {
		p = basic;
		out[o++] = (uint8_t)(p * 2);
	}
	f = factors[p];
	if (f == 256) {
		memcpy(out + o, v, n);
		return o + n;
	}
	per = per_byte(f);
	for (size_t i = 0; i < n; i += per) {
		unsigned int acc = 0, mul = 1;

		for (size_t k = 0; k < per && i + k < n; k++, mul *= f)
			acc += (unsigned int)(uint8_t)(v[i + k] - sub) * mul;
		out[o++] = (uint8_t)acc;
	}
	return o;
}
