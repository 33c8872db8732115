/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_bitcode.c --- bitcode 0.6.9's u8 packings, both ways, against the
 * bytes the real crate writes: each vector is `bitcode::serialize(&vec)`
 * of a Vec<u8> (a one-value lengths column, raw, then the u8 column),
 * printed by bitcode 0.6.9 itself (tests/fc/bitcode-gen/README.md says
 * how the crate is built here).  Every packing is met: base 2, 3, 4, 6,
 * 16, raw, offset by the minimum, and the two-value raw form.
 */
#include <string.h>

#include "formats/firecracker/bitcode.h"
#include "tests/unit/tap.h"

struct vec {
	const char *what;
	uint8_t values[32];
	size_t n;
	uint8_t wire[32]; /* bitcode::serialize(&values.to_vec()) */
	size_t wire_len;
};

static const struct vec vecs[] = {
	{ "base 2", { 0, 1, 0, 1, 1, 0, 0, 1, 1 }, 9, { 0x09, 0x0a, 0x9a, 0x01 }, 4 },
	{ "base 3", { 0, 1, 2, 0, 1, 2, 0, 1, 2 }, 9, { 0x09, 0x08, 0x66, 0x41 }, 4 },
	{ "base 4", { 3, 0, 1, 2, 3 }, 5, { 0x05, 0x06, 0x93, 0x03 }, 4 },
	{ "base 6", { 5, 4, 0, 1, 2, 3, 5 }, 7, { 0x07, 0x04, 0x1d, 0x79, 0x05 }, 5 },
	{ "offset by 200, base 2", { 200, 201, 200, 201, 200, 201, 200 }, 7,
	  { 0x07, 0x09, 0xc8, 0x2a }, 4 },
	{ "offset by 100, base 6", { 100, 105, 103, 101, 104, 102, 100 }, 7,
	  { 0x07, 0x03, 0x64, 0x8a, 0x61, 0x00 }, 6 },
	{ "two values: raw, no packing byte", { 1, 2 }, 2, { 0x02, 0x01, 0x02 }, 3 },
	{ "a value above 15: raw", { 16, 0, 1 }, 3, { 0x03, 0x00, 0x10, 0x00, 0x01 }, 5 },
	{ "all equal, 8 of them: offset packing, base 2", { 7, 7, 7, 7, 7, 7, 7, 7 }, 8,
	  { 0x08, 0x09, 0x07, 0x00 }, 4 },
	{ "0 to 15: base 16", { 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 }, 17,
	  { 0x11, 0x02, 0xed, 0x0f, 0x21, 0x43, 0x65, 0x87, 0xa9, 0xcb, 0x0d }, 11 },
};

#define NVECS (sizeof(vecs) / sizeof(vecs[0]))

/* Read wire as a Vec<u8> with bitcode.c: its values, and every byte used. */
static bool reads_back(const struct vec *v)
{
	struct fmt_error e;
	struct bc d;
	struct bc_node *elems;
	uint64_t len;
	uint8_t got[32];
	bool good;

	if (bc_init(&d, v->wire, 0, v->wire_len, "vector", &e))
		return false;
	good = bc_seq(&d, d.root, "v", &len, &elems) == 0 && len == v->n &&
	       bc_u8s(&d, elems, "[]", len, got) == 0 && memcmp(got, v->values, v->n) == 0 &&
	       d.pos == v->wire_len;
	bc_free(&d);
	return good;
}

int main(void)
{
	uint8_t out[40];
	struct fmt_error e;
	struct bc d;
	struct bc_node *elems;
	uint64_t len;
	static const uint8_t bad_packing[] = { 0x03, 0x0b, 0x00, 0x00 };
	static const uint8_t short_col[] = { 0x09, 0x04, 0x1d };

	plan(2 * NVECS + 2);
	for (size_t i = 0; i < NVECS; i++) {
		size_t n = bc_pack_bytes(vecs[i].values, vecs[i].n, out);

		ok(n == vecs[i].wire_len - 1 && memcmp(out, vecs[i].wire + 1, n) == 0,
		   "pack_bytes, %s: as bitcode 0.6.9 writes it", vecs[i].what);
		ok(reads_back(&vecs[i]), "read back, %s", vecs[i].what);
	}
	/* A packing byte past 10 is none of bitcode's. */
	bc_init(&d, bad_packing, 0, sizeof(bad_packing), "bad", &e);
	ok(bc_seq(&d, d.root, "v", &len, &elems) == 0 && bc_u8s(&d, elems, "[]", len, out) != 0 &&
	   e.kind == FMT_ERR_MALFORMED && e.offset == 1, "packing byte 11 refused at its offset");
	bc_free(&d);
	/* Nine base-6 values need 3 bytes; 1 is there. */
	bc_init(&d, short_col, 0, sizeof(short_col), "short", &e);
	ok(bc_seq(&d, d.root, "v", &len, &elems) == 0 && bc_u8s(&d, elems, "[]", len, out) != 0 &&
	   e.kind == FMT_ERR_MALFORMED && e.offset == 2, "a short column refused where it starts");
	bc_free(&d);
	return done_testing();
}
