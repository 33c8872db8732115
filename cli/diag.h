/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * diag.h --- the only writer of messages: errors and warnings, prefixed
 * with the program name, in git's message style.
 */
#ifndef FRED_DIAG_H
#define FRED_DIAG_H

#include <stdio.h>

#include "formats/fmt_error.h"

void diag_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void diag_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "fredck: hint: ...": the next step after an error. */
void diag_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "fredck: FILE: byte OFFSET (FIELD): MESSAGE" or with the system error. */
void diag_fmt_error(const struct fmt_error *e);

/*
 * The same to the stream err given: a batch worker's capture of one
 * input's messages (cli/batch.c), or stderr.
 */
void diag_ferror(FILE *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_fwarn(FILE *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_fhint(FILE *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_ffmt_error(FILE *err, const struct fmt_error *e);
/* The same text, into buf, for JSON. */
void fmt_error_text(const struct fmt_error *e, char *buf, size_t len);

/* The errno's symbolic name ("ENOENT"), for errors scripts can tell apart. */
const char *diag_errno_name(int errnum);

/*
 * Progress on standard error for big inputs, only when it is a terminal
 * (never in a log or a pipe) and not with -q: one line naming the input,
 * the phase and the amount, redrawn at most 5 times a second.
 */
void diag_progress_install(void);
/* The input the progress line names from now on (its path as given). */
void diag_progress_input(const char *path);
/* Erase the progress line, if one is shown, before other output. */
void diag_progress_clear(void);
/* The same with a system call only: for a signal handler (no stdio). */
void diag_progress_erase_unsafe(void);

#endif
