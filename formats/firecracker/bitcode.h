/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bitcode.h --- a bounded reader of bitcode 0.6's serde mode (the
 * `bitcode::serialize` of Firecracker v1.15 and later), and its u8-column
 * packer.
 *
 * bitcode's serde mode is columnar: every position of the type tree (a
 * struct field, the elements of a sequence, an enum's variant tag and each
 * variant's value) is a column holding the values of that position for the
 * whole value, in order.  Columns are written in the order serde first
 * met them while serialising, depth first; a position never reached (a
 * None, an empty sequence) has no column.  The reader is the same lazy
 * tree as bitcode's own deserialiser (src/serde/de.rs at 0.6.9): a node is
 * "unspecified" with a value count until first used, then reads its
 * column at the current input position, and hands out its values in
 * order.  Nothing is unpacked in memory: each value is computed from the
 * packed bytes when asked for, so memory is bounded by the number of
 * positions met, not by the counts the file announces.
 *
 * Encodings (0.6.9's src/pack.rs, src/pack_ints.rs, src/length.rs,
 * src/bool.rs, src/str.rs):
 *  - u8 (pack_bytes): up to 2 values raw; else a header byte 2*p - o
 *    (p: 0 raw, 1 base 16, 2 base 6, 3 base 4, 4 base 3, 5 base 2; o: the
 *    values are offset by a minimum, the next byte), then the values, the
 *    first in the lowest digit of each byte;
 *  - u16/u32/u64 (pack_ints): none (0 values), raw (a u16 alone), or a
 *    header byte relative to the type's width (2*(p - width) - o, p: 64,
 *    32, 16 or 8 bits), an optional little-endian minimum, then the values
 *    little-endian in p bits, or, for 8 bits, as a pack_bytes column;
 *  - bool: base 2 without a header;
 *  - lengths (sequences, strings): a u8 column, 255 meaning "large", the
 *    large values then as a u64 pack_ints column (read only when the small
 *    ones sum to 255 or more); a string column is its lengths then the
 *    bytes;
 *  - an enum (and Option: 0 None, 1 Some) is a u8 column of variant
 *    indexes, each variant's value a subtree.
 */
#ifndef FRED_BITCODE_H
#define FRED_BITCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/fmt_error.h"

/* A pack_bytes column: where it lies and how to read its values. */
struct bc_u8col {
	uint64_t start, end; /* the column's bytes, header included */
	uint64_t data;       /* the first packed byte */
	uint64_t n, next;    /* values, and the next one to hand out */
	unsigned int factor; /* 256 (raw), 16, 6, 4, 3 or 2 */
	uint8_t min;
};

/* A pack_ints column of W-byte integers. */
struct bc_intcol {
	uint64_t start, end;
	unsigned int width;  /* W: 2, 4 or 8 */
	unsigned int bytes;  /* bytes a value is stored in; 1: in `small` */
	uint64_t data, n, next;
	uint64_t min;
	struct bc_u8col small;
};

/* A lengths column: u8 lengths, 255 = the next value of `large`. */
struct bc_lencol {
	struct bc_u8col small;
	struct bc_intcol large;
	uint64_t sum;
};

enum bc_kind {
	BC_UNSPECIFIED, BC_BOOL, BC_ENUM, BC_SEQ, BC_STR, BC_TUPLE, BC_U8, BC_U16, BC_U32, BC_U64
};

struct bc_node {
	enum bc_kind kind;
	uint64_t length;   /* values this position holds in the whole file */
	const char *name;  /* its field name, for errors (a static string) */
	struct bc_node *parent;
	union {
		struct bc_u8col u8;    /* BC_U8, BC_BOOL, BC_ENUM (the variants) */
		struct bc_intcol ints; /* BC_U16, BC_U32, BC_U64 */
		struct bc_lencol len;  /* BC_SEQ, BC_STR */
	} col;
	uint64_t str_next;        /* BC_STR: the next string's first byte */
	struct bc_node **kids;    /* tuple fields, enum variants, the seq's elements */
	size_t nkids;
};

struct bc {
	const uint8_t *b;
	uint64_t pos, end;  /* end: where the bitcode ends (the CRC trailer) */
	const char *file;   /* for errors */
	struct fmt_error *e;
	struct bc_node *root;
	size_t nodes;       /* allocated so far, bounded by BC_MAX_NODES */
};

/* More positions than any Firecracker state has by far (a few hundred). */
#define BC_MAX_NODES 100000

int bc_init(struct bc *d, const uint8_t *b, uint64_t start, uint64_t end, const char *file,
	    struct fmt_error *e);
void bc_free(struct bc *d);

/* A malformed-input error at off naming n's column; returns -1. */
int bc_bad(struct bc *d, const struct bc_node *n, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The next value of n (named name if it has no name yet), populating its column on first use. */
int bc_uint(struct bc *d, struct bc_node *n, const char *name, unsigned int width, uint64_t *v);
int bc_bool(struct bc *d, struct bc_node *n, const char *name, bool *v);
/* A string; its bytes are copied to out (NUL-terminated) when out is not NULL and it fits. */
int bc_str(struct bc *d, struct bc_node *n, const char *name, char *out, size_t outsz,
	   uint64_t *len);
/* A sequence's length and the node of its elements. */
int bc_seq(struct bc *d, struct bc_node *n, const char *name, uint64_t *len,
	   struct bc_node **elems);
/* An enum's variant (< nvariants) and the node of that variant's value. */
int bc_enum(struct bc *d, struct bc_node *n, const char *name, unsigned int nvariants,
	    unsigned int *variant, struct bc_node **value);
/* A tuple or struct of len > 1 fields: their nodes (serde's len 1 is the node itself). */
int bc_tuple(struct bc *d, struct bc_node *n, const char *name, size_t len,
	     struct bc_node ***fields);
/* The next count values of a u8 node into out (NULL: skipped); *col: where its column lies. */
int bc_u8s(struct bc *d, struct bc_node *n, const char *name, uint64_t count, uint8_t *out);

/* The path of n ("vcpu_states[].vcpu_events") into buf. */
void bc_path(const struct bc_node *n, char *buf, size_t len);

/*
 * bitcode 0.6.9's pack_bytes of v[0..n) into out, which has room for
 * n + 2 bytes; returns the bytes written.
 */
size_t bc_pack_bytes(const uint8_t *v, size_t n, uint8_t *out);

#endif
