/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * diag.c --- messages on stderr.
 */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/diag.h"

static void vmessage(const char *prefix, const char *fmt, va_list ap)
{
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
		snprintf(buf, len, "%s: %s: %s", e->file, e->msg, strerror(e->sys_errno));
	else
		snprintf(buf, len, "%s: %s", e->file, e->msg);
}

void diag_fmt_error(const struct fmt_error *e)
{
	char buf[PATH_MAX + 512];

	fmt_error_text(e, buf, sizeof(buf));
	diag_error("%s", buf);
}

void diag_ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}
