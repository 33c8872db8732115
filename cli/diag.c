/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * diag.c --- messages on stderr.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "formats/io/bsrc.h"

#include "cli/diag.h"

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

static void show_progress(const char *path, uint64_t done, uint64_t total)
{
	static struct timespec last;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000 < 200)
		return;
	last = now;
	if (total)
		fprintf(stderr, "\r\033[Kfredck: %s: %.1f of %.1f GiB (%u%%)", path,
			(double)done / (1 << 30), (double)total / (1 << 30),
			(unsigned int)(done * 100 / total));
	else
		fprintf(stderr, "\r\033[Kfredck: %s: %.1f GiB", path, (double)done / (1 << 30));
	progress_shown = true;
}

void diag_progress_install(void)
{
	if (isatty(STDERR_FILENO))
		bsrc_progress = show_progress;
}

__attribute__((format(printf, 2, 0)))
static void vmessage(const char *prefix, const char *fmt, va_list ap)
{
	diag_progress_clear();
	fflush(stdout);
	fprintf(stderr, "fredck: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void diag_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
}

void diag_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("warning: ", fmt, ap);
	va_end(ap);
}

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

void diag_fmt_error(const struct fmt_error *e)
{
	char buf[PATH_MAX + 512];

	fmt_error_text(e, buf, sizeof(buf));
	diag_error("%s", buf);
}

const char *diag_errno_name(int errnum)
{
	const char *name = strerrorname_np(errnum);

	return name ? name : "unknown errno";
}
