/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fmt_error.h --- what a reader or writer reports instead of printing:
 * the file, the byte offset and the field, so the CLI can say exactly
 * where an input is malformed.
 */
#ifndef FRED_FMT_ERROR_H
#define FRED_FMT_ERROR_H

#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

enum fmt_error_kind {
	FMT_ERR_NONE,
	FMT_ERR_MALFORMED, /* the input is damaged or would be rejected by the kernel */
	FMT_ERR_UNSUPPORTED, /* a format or version fredck does not handle */
	FMT_ERR_SYSTEM,    /* an I/O or system call failed: see sys_errno */
	FMT_ERR_REFUSED,   /* writing refused: an output or backup already exists */
};

struct fmt_error {
	enum fmt_error_kind kind;
	char file[PATH_MAX];
	bool has_offset;
	uint64_t offset;
	char field[96];
	char msg[320];
	int sys_errno;
};

/* Malformed input at file:offset in field; always returns -1. */
int fmt_malformed(struct fmt_error *e, const char *file, uint64_t offset, const char *field,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* An error without an offset (unsupported input, refusal); returns -1. */
int fmt_fail(struct fmt_error *e, enum fmt_error_kind kind, const char *file, const char *fmt,
	     ...) __attribute__((format(printf, 4, 5)));

/* A failed system call on file; errnum is the errno; returns -1. */
int fmt_syserr(struct fmt_error *e, const char *file, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* out = dir/name; a path longer than len is an error naming dir; returns 0 or -1. */
int fmt_join(char *out, size_t len, const char *dir, const char *name, struct fmt_error *e);

#endif
