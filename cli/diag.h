/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * diag.h --- the only writer to stderr: errors and warnings, prefixed
 * with the program name, in git's message style.
 */
#ifndef FRED_DIAG_H
#define FRED_DIAG_H

#include "formats/fmt_error.h"

void diag_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void diag_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "fredck: FILE: byte OFFSET (FIELD): MESSAGE" or with the system error. */
void diag_fmt_error(const struct fmt_error *e);
/* The same text, into buf, for JSON. */
void fmt_error_text(const struct fmt_error *e, char *buf, size_t len);

/*
 * Writing a stream to a pipe: a reader that goes away must give EPIPE (an
 * error fredck reports), not kill fredck.  Here because <signal.h> clashes
 * with the register names of the vCPU model.
 */
void diag_ignore_sigpipe(void);

/*
 * Wait for the child process pid (a batch worker) and describe how it
 * ended into buf: "died of signal 11", "exited with status 8".  Here
 * because <sys/wait.h> brings <signal.h>.
 */
void diag_reap(int pid, char *buf, size_t len);

/*
 * Progress on standard error for big inputs, only when it is a terminal
 * (never in a log or a pipe): one line, redrawn at most 5 times a second.
 */
void diag_progress_install(void);
/* Erase the progress line, if one is shown, before other output. */
void diag_progress_clear(void);

#endif
