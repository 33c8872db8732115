/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json_scan.h --- a JSON scanner that keeps every token where it was.
 *
 * jansson cannot hold integers above INT64_MAX, and a repair must change
 * only the bytes of the fields it edits.  This scanner builds a flat tree
 * of nodes, each with the byte span of its token in the input, and reads
 * numbers exactly as unsigned 64-bit integers on demand.  It does not
 * recurse: nesting is followed with parent links, bounded by JV_MAX_DEPTH.
 * Nothing here prints or allocates more than the input can justify (at
 * most one node per input byte).
 */
#ifndef FRED_JSON_SCAN_H
#define FRED_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deeper nesting is refused: no snapshot comes near it. */
#define JV_MAX_DEPTH 64

enum jv_type {
	JV_NULL,
	JV_FALSE,
	JV_TRUE,
	JV_NUMBER,
	JV_STRING,
	JV_ARRAY,
	JV_OBJECT,
};

/*
 * 32-bit offsets keep a node at 40 bytes: a v29-v38 state.json spends a
 * node on every byte value of every vCPU's text.
 */
struct jv_node {
	enum jv_type type;
	uint32_t start, end;         /* the value's bytes, [start, end) */
	uint32_t key_start, key_end; /* an object member: its key literal, quotes included */
	int32_t parent, first, next, last; /* node indices, -1 for none */
	uint32_t count;              /* number of children */
};

/* Longest document scanned (offsets are 32-bit). */
#define JV_MAX_LEN (UINT32_MAX - 1U)

struct jv_tree {
	const char *buf;
	size_t len;
	struct jv_node *n;
	size_t count, cap;
};

struct jv_error {
	size_t offset;
	char msg[128];
};

/* Scan buf[0..len) as one JSON document; -1 with err filled (tree freed). */
int jv_parse(struct jv_tree *t, const char *buf, size_t len, struct jv_error *err);
void jv_free(struct jv_tree *t);

/* The member of object obj whose key is exactly key (no escapes), or -1. */
int jv_member(const struct jv_tree *t, int obj, const char *key);

/*
 * As jv_member, but -2 when key appears more than once: serde refuses a
 * duplicate struct field, so a reader must not pick one of them.
 */
int jv_member_unique(const struct jv_tree *t, int obj, const char *key);

/* Does member node m (a child of an object) have key? */
bool jv_key_is(const struct jv_tree *t, int m, const char *key);

/*
 * The number token at node as an exact u64: 0; -1 when it is not a
 * non-negative integer (sign, fraction, exponent, not a number), -2 when
 * it is above UINT64_MAX.
 */
int jv_u64(const struct jv_tree *t, int node, uint64_t *out);

/*
 * Decode the string literal at node: *out (malloc'ed, NUL-terminated,
 * *outlen bytes) and, when span is not NULL, for each decoded byte i the
 * input bytes [span[2i], span[2i+1]) it came from (an escape sequence
 * gives all its bytes the span of the whole sequence).  -1 on allocation
 * failure.
 */
int jv_string(const struct jv_tree *t, int node, char **out, size_t *outlen, size_t **span);

const char *jv_type_name(enum jv_type type);

#endif
