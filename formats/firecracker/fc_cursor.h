/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fc_cursor.h --- a bounded reader over a Firecracker state, for walking
 * it by its schema: the serde data model as bincode (fixint, little-endian)
 * and versionize write it, every length checked against the bytes left
 * before the CRC trailer, every error naming the field path being read
 * ("vm_state.pitstate", "vcpu_states[1].cpuid").
 *
 * Nothing here allocates: a length only moves the cursor, after it was
 * checked against what is left.
 */
#ifndef FRED_FC_CURSOR_H
#define FRED_FC_CURSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "formats/fmt_error.h"

struct fc_cur {
	const uint8_t *b;
	uint64_t pos, end;  /* end: the first byte of the CRC trailer */
	const char *file;   /* for errors */
	struct fmt_error *e;
	bool kvm_prefixed;  /* kvm structures as serde byte strings: [u64 size][bytes] */
	char field[160];    /* the path of the field being read */
	size_t field_len;
};

/* Into a field: name is appended ("[2]" without a dot); returns the mark to leave by. */
size_t fc_enter(struct fc_cur *c, const char *name);
size_t fc_enter_index(struct fc_cur *c, const char *name, uint64_t index);
void fc_leave(struct fc_cur *c, size_t mark);

/* Malformed at byte off, in the current field (with name appended when not NULL); -1. */
int fc_bad(struct fc_cur *c, uint64_t off, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Bytes left before the trailer. */
uint64_t fc_left(const struct fc_cur *c);

/* n more bytes exist, or malformed. */
int fc_need(struct fc_cur *c, uint64_t n, const char *name);

/* An unsigned integer of 1, 2, 4 or 8 bytes. */
int fc_uint(struct fc_cur *c, unsigned int bytes, const char *name, uint64_t *v);

/* Skip a field of fixed width whose value fredck does not need. */
int fc_skip(struct fc_cur *c, uint64_t bytes, const char *name);

/* bool: one byte, 0 or 1 (bincode and versionize refuse anything else). */
int fc_bool(struct fc_cur *c, const char *name, bool *v);

/* The tag of an Option: 0 (None) or 1 (Some). */
int fc_option(struct fc_cur *c, const char *name, bool *some);

/* An enum's variant index (u32), below nvariants. */
int fc_variant(struct fc_cur *c, const char *name, uint32_t nvariants, uint32_t *v);

/*
 * A sequence length (u64) whose elements take at least min_size bytes
 * each: more than the bytes left can hold is malformed, before anything
 * is read or allocated.
 */
int fc_len(struct fc_cur *c, const char *name, uint64_t min_size, uint64_t *n);

/* A Vec of n fixed-size elements: the length, then the elements skipped. */
int fc_vec_fixed(struct fc_cur *c, const char *name, uint64_t elem_size, uint64_t *n);

/* A String: length and bytes, valid UTF-8 (serde refuses anything else), at most max bytes. */
int fc_string(struct fc_cur *c, const char *name, uint64_t max);

/* Option<String>. */
int fc_opt_string(struct fc_cur *c, const char *name, uint64_t max);

/* Option<T> of a fixed-size T. */
int fc_opt_fixed(struct fc_cur *c, const char *name, uint64_t size);

/*
 * A kvm-bindings structure of exactly size bytes: raw, or [u64 size][bytes].
 * Firecracker's loader zero-pads or truncates a byte string of another
 * length; fredck refuses it, naming the field.  *off: its first byte.
 */
int fc_kvm(struct fc_cur *c, const char *name, uint64_t size, uint64_t *off);

#endif
