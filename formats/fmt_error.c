/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fmt_error.c --- filling struct fmt_error.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "formats/fmt_error.h"

static void set_common(struct fmt_error *e, enum fmt_error_kind kind, const char *file)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
}

int fmt_malformed(struct fmt_error *e, const char *file, uint64_t offset, const char *field,
		  const char *fmt, ...)
{
	va_list ap;

	set_common(e, FMT_ERR_MALFORMED, file);
	e->has_offset = true;
	e->offset = offset;
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int fmt_fail(struct fmt_error *e, enum fmt_error_kind kind, const char *file, const char *fmt,
	     ...)
{
	va_list ap;

	set_common(e, kind, file);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int fmt_syserr(struct fmt_error *e, const char *file, int errnum, const char *fmt, ...)
{
	va_list ap;

	set_common(e, FMT_ERR_SYSTEM, file);
	e->sys_errno = errnum;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int fmt_join(char *out, size_t len, const char *dir, const char *name, struct fmt_error *e)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len)
		return fmt_fail(e, FMT_ERR_SYSTEM, dir, "path too long");
	return 0;
}
