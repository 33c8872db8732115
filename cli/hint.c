/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hint.c --- the next step after an error (see hint.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cmd.h"
#include "cli/diag.h"
#include "cli/escape.h"
#include "cli/hint.h"
#include "formats/format.h"

/*
 * Standard input is read once, front to back: a format that streams is
 * found by its first bytes; one small file is read whole, when --format
 * names it.
 */
static bool reads_stdin(const struct format_ops *ops)
{
	return ops->filter != NULL || ops->stdin_whole_max;
}

void hint_format_list(char *buf, size_t len, bool stdin_only)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; format_list[i] && used < len; i++) {
		int n;

		if (stdin_only && !format_list[i]->filter)
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", format_list[i]->name);
		if (n > 0)
			used += (size_t)n;
	}
	/* "qemu, libvirt, or firecracker given --format=firecracker" */
	for (size_t i = 0; stdin_only && format_list[i] && used < len; i++) {
		int n;

		if (!format_list[i]->stdin_whole_max)
			continue;
		n = snprintf(buf + used, len - used, ", or %s given --format=%s",
			     format_list[i]->name, format_list[i]->name);
		if (n > 0)
			used += (size_t)n;
	}
}

bool hint_stdin_refused(const char *path, const char *format_name, struct fmt_error *e)
{
	const struct format_ops *ops = format_name ? format_by_name(format_name) : NULL;
	char known[128];

	if (strcmp(path, "-") != 0 || !ops || reads_stdin(ops))
		return false;
	hint_format_list(known, sizeof(known), true);
	fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
		 "a %s snapshot cannot be read from standard input (it takes %s): give its path",
		 ops->name, known);
	return true;
}

/*
 * The device state of a pipe or a compressed image is held in memory up to
 * a bound (io/bsrc.c): past it, the way on.  True when e is that error.
 */
static bool hint_hold(const char *path, const struct fmt_error *e, char *buf, size_t len)
{
	if (e->kind != FMT_ERR_UNSUPPORTED || !strstr(e->msg, "holds in memory"))
		return false;
	snprintf(buf, len, "FREDCK_HOLD_MAX raises the bound (fredck(1), ENVIRONMENT)%s",
		 strcmp(path, "-") == 0 ? "; or give the stream by its path: a file's description "
					  "is read from its end" : "");
	return true;
}

/*
 * Standard input: which formats it takes, when its first bytes are none of
 * theirs -- not after a stream that was recognised, then found damaged or
 * longer than fredck holds, where that would send the operator the wrong way.
 */
static void hint_stdin(const struct fmt_error *e, char *buf, size_t len)
{
	char known[128];

	/* A forced format said so already (hint_stdin_refused), or was chosen knowingly. */
	if (global_opts.format || strcmp(e->field, "magic") != 0)
		return;
	hint_format_list(known, sizeof(known), true);
	snprintf(buf, len, "standard input is read as %s; give any other snapshot by its path",
		 known);
}

/*
 * A forced --format whose reader met a directory where it wanted a file,
 * or the other way round, or lacked a file its format has (kvm-dir given
 * to a stream, a stream's format to a directory): a system error, and yet
 * the input is simply not of that format.
 */
static bool wrong_shape(const struct fmt_error *e)
{
	return global_opts.format && e->kind == FMT_ERR_SYSTEM &&
	       (e->sys_errno == EISDIR || e->sys_errno == ENOTDIR || e->sys_errno == ENOENT);
}

/*
 * The error names a file inside the input ("DIR/state.json"), which does
 * not exist: the input is DIR, into dir with *st, when it is a directory.
 */
static bool input_of(const char *file, char *dir, size_t len, struct stat *st)
{
	const char *slash = strrchr(file, '/');

	if (!slash || slash == file || (size_t)(slash - file) >= len)
		return false;
	memcpy(dir, file, (size_t)(slash - file));
	dir[slash - file] = '\0';
	if (stat(dir, st) == 0 && S_ISDIR(st->st_mode))
		return true;
	dir[0] = '\0';
	return false;
}

void hint_after_error(const char *path, const struct fmt_error *e, bool can_recurse, char *buf,
		      size_t len)
{
	const struct format_ops *looks_like;
	struct stat st;
	char known[128], dir[PATH_MAX] = "";

	buf[0] = '\0';
	if (e->kind != FMT_ERR_MALFORMED && e->kind != FMT_ERR_UNSUPPORTED && !wrong_shape(e))
		return;
	if (hint_hold(path, e, buf, len))
		return;
	if (strcmp(path, "-") == 0) {
		hint_stdin(e, buf, len);
		return;
	}
	if (stat(path, &st) != 0 && !(wrong_shape(e) && input_of(path, dir, sizeof(dir), &st)))
		return;
	if (dir[0])
		path = dir;
	looks_like = format_probe(path, &st, NULL);
	if (global_opts.format && looks_like && strcmp(looks_like->name, global_opts.format) != 0) {
		snprintf(buf, len, "it looks like %s to fredck's probes: drop --format=%s, or give "
			 "--format=%s", looks_like->name, global_opts.format, looks_like->name);
		return;
	}
	if (global_opts.format && !looks_like) {
		hint_format_list(known, sizeof(known), false);
		snprintf(buf, len, "no format's probe recognises it (%s)", known);
		return;
	}
	if (S_ISDIR(st.st_mode) && !looks_like && can_recurse)
		snprintf(buf, len, "to search the directory for snapshots, add -r");
}

/* The edit distance of a and b (Levenshtein), capped at the lengths fredck sees. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], diag, tmp;

	if (la >= 63 || lb >= 63)
		return 64;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			diag = tmp;
		}
	}
	return row[lb];
}

const char *hint_closest(const char *word, const char *const *candidates)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	/* Close: at most a third of the word wrong (a typo, a swap), and at least one right. */
	size_t limit = strlen(word) / 3 + 1;

	for (size_t i = 0; candidates[i]; i++) {
		size_t d = distance(word, candidates[i]);

		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best && best_d <= limit && best_d < strlen(word) ? best : NULL;
}

/* ---- long options ---------------------------------------------------------- */

#define LONG_MAX_OPTIONS 64

struct long_set {
	const char *name[LONG_MAX_OPTIONS + 1];
	bool takes_arg[LONG_MAX_OPTIONS];
	size_t n;
	/* Short options: 1 a flag, 2 one that takes a value; argp's own -? and -V too. */
	unsigned char short_kind[128];
};

/* A key getopt takes as a short option: a printable ASCII character. */
static bool short_key(int key)
{
	return key > ' ' && key < 0x7f;
}

/* The long and short options of argp and its children, argp's own --help, --usage, --version too. */
static void collect(const struct argp *argp, struct long_set *s)
{
	for (const struct argp_option *o = argp->options; o && (o->name || o->key || o->doc); o++) {
		bool takes_arg = o->arg && !(o->flags & OPTION_ARG_OPTIONAL);

		if (o->name && s->n < LONG_MAX_OPTIONS) {
			s->takes_arg[s->n] = takes_arg;
			s->name[s->n++] = o->name;
		}
		if (short_key(o->key) && !(o->flags & OPTION_DOC))
			s->short_kind[o->key] = takes_arg ? 2 : 1;
	}
	for (const struct argp_child *c = argp->children; c && c->argp; c++)
		collect(c->argp, s);
}

/*
 * A cluster of short options ("-jq", "-oOUT", "-o"): each letter known, or
 * a usage error here, where the letter is escaped -- getopt would print it
 * raw ("invalid option -- '<ESC>'").  The letters end at one that takes a
 * value: 1 when that value is the next word, 0 when not; -1 (said on
 * standard error) for a letter that is no option.
 */
static int check_short_cluster(const struct long_set *s, const char *a, const char *prog)
{
	for (const char *c = a + 1; *c; c++) {
		unsigned char k = (unsigned char)*c;
		char letter[2] = { *c, '\0' };

		if (k >= 128 || !s->short_kind[k]) {
			diag_error("invalid option '-%s' in '%s'; '%s --help' lists the options", letter,
				   a, prog);
			return -1;
		}
		if (s->short_kind[k] == 2)
			return c[1] == '\0';
	}
	return 0;
}

static bool starts_any(const struct long_set *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (strncmp(s->name[i], name, len) == 0)
			return true;
	return false;
}

/* Whether the long option name (exactly, or the one it abbreviates) takes a value. */
static bool long_takes_arg(const struct long_set *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (strncmp(s->name[i], name, len) == 0)
			return s->takes_arg[i];
	return false;
}

/*
 * A name that abbreviates two options or more and is none of them: argp
 * would print it raw with its value ("--d=<ESC>..."); here, escaped, on
 * standard error: true then.
 */
static bool check_ambiguous(const struct long_set *s, const char *name, size_t len,
			    const char *prog)
{
	char list[512] = "", want[80];
	size_t used = 0, matches = 0;

	for (size_t i = 0; i < s->n; i++) {
		bool seen = false;

		if (strncmp(s->name[i], name, len) != 0)
			continue;
		if (strlen(s->name[i]) == len)
			return false; /* the exact name wins */
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(s->name[j], s->name[i]) == 0; /* one option in two children */
		if (seen)
			continue;
		matches++;
		if (used < sizeof(list)) {
			int n = snprintf(list + used, sizeof(list) - used, " '--%s'", s->name[i]);

			used += n > 0 ? (size_t)n : 0;
		}
	}
	if (matches < 2)
		return false;
	snprintf(want, sizeof(want), "%.*s", (int)(len < 60 ? len : 60), name);
	diag_error("option '--%s' is ambiguous; possibilities:%s ('%s --help' lists them)", want,
		   list, prog);
	return true;
}

static int check_long_options(const struct argp *argp, int argc, char **argv, bool top);

int hint_check_long_options(const struct argp *argp, int argc, char **argv)
{
	return check_long_options(argp, argc, argv, false);
}

int hint_check_top_options(const struct argp *argp, int argc, char **argv)
{
	return check_long_options(argp, argc, argv, true);
}

static int check_long_options(const struct argp *argp, int argc, char **argv, bool top)
{
	struct long_set s = { .n = 0 };
	static const char *const argp_own[] = { "help", "usage", "version", "program-name",
						"HANG" };

	collect(argp, &s);
	for (size_t i = 0; i < sizeof(argp_own) / sizeof(argp_own[0]) && s.n < LONG_MAX_OPTIONS; i++)
		s.name[s.n++] = argp_own[i];
	s.name[s.n] = NULL;
	s.short_kind['?'] = s.short_kind['V'] = 1; /* argp's --help and --version */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name = a + 2;
		size_t len;
		const char *near;
		char want[80];

		if (strcmp(a, "--") == 0)
			return 0;
		if (top && a[0] != '-')
			return 0; /* the command: what follows is its own */
		if (strncmp(a, "--", 2) != 0) {
			/* -o OUT, -O DIR, -P N: the next word is a value, not an option. */
			int value_next = a[0] == '-' && a[1] ? check_short_cluster(&s, a, argv[0]) : 0;

			if (value_next < 0)
				return EXIT_USAGE;
			i += value_next;
			continue;
		}
		len = strcspn(name, "=");
		if (starts_any(&s, name, len)) {
			if (check_ambiguous(&s, name, len, argv[0]))
				return EXIT_USAGE;
			if (!name[len] && long_takes_arg(&s, name, len))
				i++;
			continue;
		}
		snprintf(want, sizeof(want), "%.*s", (int)(len < 60 ? len : 60), name);
		near = hint_closest(want, s.name);
		if (near)
			diag_error("unknown option '--%s'; did you mean '--%s'? ('%s --help' lists "
				   "them)", want, near, argv[0]);
		else
			diag_error("unknown option '--%s'; '%s --help' lists the options", want,
				   argv[0]);
		return EXIT_USAGE;
	}
	return 0;
}

/* ---- option values ---------------------------------------------------------- */

/* Words a user means as an option, not as a file name. */
static bool keyword(const char *v)
{
	static const char *const words[] = { "json", "ndjson", "pretty", "text", "quiet",
					     "verbose", "color", "colour", "in-place", "dry-run",
					     NULL };

	for (size_t i = 0; words[i]; i++)
		if (strcmp(v, words[i]) == 0)
			return true;
	return format_by_name(v) != NULL;
}

void hint_check_path_value(struct argp_state *state, const char *option, const char *value)
{
	if (strchr(value, '/'))
		return;
	if (value[0] == '-' && value[1])
		argp_error(state, "%s takes a path, and '%s' is an option: give the path after %s "
				  "(a file whose name starts with '-': ./%s)",
			   option, esc(value), option, esc(value));
	else if (keyword(value))
		argp_error(state, "%s %s: '%s' is a keyword, not taken as a file name (-j for JSON, "
				  "--format=NAME for a format); to name a file so, write ./%s",
			   option, esc(value), esc(value), esc(value));
}
