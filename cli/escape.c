/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * escape.c --- the one escaping of strings from input (see escape.h).
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/escape.h"

/*
 * The length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * form, no surrogate, nothing above U+10FFFF), or 0 when p does not start
 * one.  p is NUL-terminated, and NUL is never a continuation byte.
 */
static size_t utf8_sequence(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	/* The second byte's range rules out the overlong, surrogate and too-large forms. */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* A C1 control (U+0080 to U+009F): some terminals act on it as on ESC '['. */
static bool c1_control(const unsigned char *p, size_t n)
{
	return n == 2 && p[0] == 0xc2 && p[1] <= 0x9f;
}

/* The escape of byte c into out (at least 5 bytes); its length. */
static size_t escape_byte(unsigned char c, char *out)
{
	switch (c) {
	case '\\':
		return (size_t)sprintf(out, "\\\\");
	case '\n':
		return (size_t)sprintf(out, "\\n");
	case '\r':
		return (size_t)sprintf(out, "\\r");
	case '\t':
		return (size_t)sprintf(out, "\\t");
	default:
		return (size_t)sprintf(out, "\\x%02x", c);
	}
}

static bool text_unsafe(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

char *esc_dup(const char *s, enum esc_mode mode)
{
	const unsigned char *p = (const unsigned char *)s;
	/* At most 4 bytes out for each byte in ("\xNN"), and the NUL. */
	char *out = malloc(strlen(s) * 4 + 1), *o = out;

	if (!out)
		return NULL;
	while (*p) {
		size_t n = utf8_sequence(p);

		if (n == 0 || (mode == ESC_TEXT && c1_control(p, n))) {
			/* Each byte alone: a decoder gets back exactly these bytes. */
			for (size_t i = 0; i < (n ? n : 1); i++)
				o += sprintf(o, "\\x%02x", p[i]);
			p += n ? n : 1;
		} else if (*p == '\\' || (mode == ESC_TEXT && text_unsafe(*p))) {
			o += escape_byte(*p++, o);
		} else {
			memcpy(o, p, n);
			o += n;
			p += n;
		}
	}
	*o = '\0';
	return out;
}

const char *esc(const char *s)
{
	static char *slot[ESC_SLOTS];
	static unsigned int next;
	unsigned int i = next++ % ESC_SLOTS;

	free(slot[i]);
	slot[i] = esc_dup(s ? s : "", ESC_TEXT);
	return slot[i] ? slot[i] : "?";
}
