/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * diag.c --- messages on stderr.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/ioctl.h>

#include "cli/cmd.h"
#include "formats/io/progress.h"

#include "cli/diag.h"
#include "cli/escape.h"

/* A progress line is on the terminal. */
static volatile bool progress_shown;

void diag_progress_erase_unsafe(void)
{
	static const char erase[] = "\r\033[K";

	if (progress_shown && write(STDERR_FILENO, erase, sizeof(erase) - 1) < 0)
		return;
}

void diag_progress_clear(void)
{
	if (progress_shown)
		fputs("\r\033[K", stderr);
	progress_shown = false;
}

/* The input being worked on, as the progress line names it (never a temporary's name). */
static const char *progress_input;

void diag_progress_input(const char *path)
{
	progress_input = path;
}

/* "1.2 of 3.0 GiB (40%)", or "1.2 GiB" without a total: MiB below a GiB. */
static void amount_text(uint64_t done, uint64_t total, char *buf, size_t len)
{
	uint64_t scale_by = total ? total : done;
	double unit = scale_by >= (1ULL << 30) ? (double)(1ULL << 30) : (double)(1ULL << 20);
	const char *name = scale_by >= (1ULL << 30) ? "GiB" : "MiB";

	if (total && done > total)
		done = total;
	if (total)
		snprintf(buf, len, "%.1f of %.1f %s (%u%%)", (double)done / unit,
			 (double)total / unit, name, (unsigned int)(done * 100 / total));
	else
		snprintf(buf, len, "%.1f %s", (double)done / unit, name);
}

/* The terminal's width, 80 when it cannot be asked. */
static size_t terminal_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/*
 * "fredck: NAME: copying 1.2 of 3.0 GiB (40%)", redrawn at most 5 times a
 * second, and at once when the phase changes (a short verification must
 * not go unseen).  A line wider than the terminal would leave its wrapped
 * part behind when redrawn: the name is then shortened to its last
 * component, and the line cut at the width.
 */
static void show_progress(enum io_phase phase, uint64_t done, uint64_t total)
{
	static struct timespec last;
	static enum io_phase last_phase = IO_READING;
	const char *name = progress_input ? progress_input : "";
	char amount[64], line[PATH_MAX + 128];
	struct timespec now;
	size_t width;

	if (global_opts.quiet)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (phase == last_phase && progress_shown &&
	    (now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000 < 200)
		return;
	last = now;
	last_phase = phase;
	if (strcmp(name, "-") == 0)
		name = "standard input";
	amount_text(done, total, amount, sizeof(amount));
	width = terminal_width();
	snprintf(line, sizeof(line), "fredck: %s: %s %s", esc(name), io_phase_name(phase), amount);
	if (strlen(line) >= width && strrchr(name, '/'))
		snprintf(line, sizeof(line), "fredck: %s: %s %s", esc(strrchr(name, '/') + 1),
			 io_phase_name(phase), amount);
	if (strlen(line) >= width)
		line[width > 1 ? width - 1 : 0] = '\0';
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	progress_shown = true;
}

void diag_progress_install(void)
{
	if (isatty(STDERR_FILENO))
		io_progress = show_progress;
}

/*
 * The message is escaped whole (escape.h): every message is one line and
 * its own words hold no control byte nor backslash, so what it quotes from
 * input (a path, a machine type, a section name) cannot start a line or a
 * terminal sequence, whichever caller formatted it.
 */
__attribute__((format(printf, 3, 0)))
static void vmessage(FILE *err, const char *prefix, const char *fmt, va_list ap)
{
	char *text = NULL;

	diag_progress_clear();
	fflush(stdout);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	fprintf(err, "fredck: %s%s\n", prefix, text ? esc(text) : "(out of memory)");
	free(text);
}

/* The message functions, each to standard error and to a stream given (diag_f*). */
#define MESSAGE_FUNCTIONS(plain, to, prefix)                 \
	void plain(const char *fmt, ...)                     \
	{                                                    \
		va_list ap;                                  \
                                                             \
		va_start(ap, fmt);                           \
		vmessage(stderr, prefix, fmt, ap);           \
		va_end(ap);                                  \
	}                                                    \
	void to(FILE *err, const char *fmt, ...)             \
	{                                                    \
		va_list ap;                                  \
                                                             \
		va_start(ap, fmt);                           \
		vmessage(err, prefix, fmt, ap);              \
		va_end(ap);                                  \
	}

MESSAGE_FUNCTIONS(diag_error, diag_ferror, "")
MESSAGE_FUNCTIONS(diag_warn, diag_fwarn, "warning: ")
MESSAGE_FUNCTIONS(diag_hint, diag_fhint, "hint: ")

void fmt_error_text(const struct fmt_error *e, char *buf, size_t len)
{
	if (e->has_offset)
		snprintf(buf, len, "%s: byte %llu (%s): %s", e->file,
			 (unsigned long long)e->offset, e->field, e->msg);
	else if (e->kind == FMT_ERR_SYSTEM && e->sys_errno)
		snprintf(buf, len, "%s: %s: %s (%s)", e->file, e->msg, strerror(e->sys_errno),
			 diag_errno_name(e->sys_errno));
	else
		snprintf(buf, len, "%s: %s", e->file, e->msg);
}

void diag_ffmt_error(FILE *err, const struct fmt_error *e)
{
	char buf[PATH_MAX + 512];

	fmt_error_text(e, buf, sizeof(buf));
	diag_ferror(err, "%s", buf);
}

void diag_fmt_error(const struct fmt_error *e)
{
	diag_ffmt_error(stderr, e);
}

const char *diag_errno_name(int errnum)
{
	const char *name = strerrorname_np(errnum);

	return name ? name : "unknown errno";
}
