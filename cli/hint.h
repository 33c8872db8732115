/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hint.h --- errors that say what to do next: the "hint:" line after an
 * input's error, "did you mean" for commands and long options, and option
 * values that look like something else.
 */
#ifndef FRED_HINT_H
#define FRED_HINT_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>

#include "formats/fmt_error.h"

/*
 * Before opening path: standard input with a format that cannot be read
 * from it (only the streaming formats can); true with e set, the input not
 * to be opened.
 */
bool hint_stdin_refused(const char *path, const char *format_name, struct fmt_error *e);

/* "kvm-dir, qemu, ..." or only the formats standard input takes, into buf. */
void hint_format_list(char *buf, size_t len, bool stdin_only);

/*
 * After path failed to open with e: the next step, into buf ("" when there
 * is none).  can_recurse: the command takes -r.
 */
void hint_after_error(const char *path, const struct fmt_error *e, bool can_recurse, char *buf,
		      size_t len);

/* The name among candidates (NULL-terminated) closest to word, or NULL if none is close. */
const char *hint_closest(const char *word, const char *const *candidates);

/*
 * Before argp parses argv for the command of argp: a long option no
 * option of argp (or its children) starts with is a usage error that
 * names the closest option; so is a short option that is none of theirs,
 * named escaped (getopt's own message would print its byte raw).  Said
 * on standard error: returns EXIT_USAGE then (for the command to return,
 * as argp would exit 16), else 0.
 */
int hint_check_long_options(const struct argp *argp, int argc, char **argv);
/* The same for the options before the command (argv up to its first non-option). */
int hint_check_top_options(const struct argp *argp, int argc, char **argv);

/*
 * A value given to an option that takes a path (-o, -O): one that is an
 * option ("--json") or a keyword ("json", a format's name) is refused
 * with a hint through argp_error, unless it holds a '/'.
 */
void hint_check_path_value(struct argp_state *state, const char *option, const char *value);

#endif
