/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_escape.c --- cli/escape.c: the one escaping of input strings
 * (fredck(1), OUTPUT ENCODING), byte by byte.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/escape.h"
#include "tap.h"

static void is_escaped(const char *in, enum esc_mode mode, const char *want, const char *what)
{
	char *got = esc_dup(in, mode);

	/* Shown escaped: a raw newline would end the TAP line. */
	ok(got && strcmp(got, want) == 0, "%s: %s", what, got ? esc(got) : "(null)");
	free(got);
}

int main(void)
{
	is_escaped("plain/path-1.bin", ESC_TEXT, "plain/path-1.bin", "ASCII is itself");
	is_escaped("a\\b", ESC_TEXT, "a\\\\b", "text: a backslash is doubled");
	is_escaped("a\\b", ESC_JSON, "a\\\\b", "JSON: a backslash is doubled");
	is_escaped("x\n\r\t", ESC_TEXT, "x\\n\\r\\t", "text: newline, return, tab");
	is_escaped("x\n\033[8m\x7f", ESC_JSON, "x\n\033[8m\x7f", "JSON: controls left to jansson");
	is_escaped("\033]0;t\a", ESC_TEXT, "\\x1b]0;t\\x07", "text: ESC and BEL as \\xNN");
	is_escaped("\x7f", ESC_TEXT, "\\x7f", "text: DEL");
	is_escaped("a\xff.bin", ESC_JSON, "a\\xff.bin", "JSON: a byte that is not UTF-8");
	is_escaped("a\\xff.bin", ESC_JSON, "a\\\\xff.bin", "JSON: the name that spells it differs");
	is_escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", ESC_TEXT,
		   "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "well-formed UTF-8 is itself");
	is_escaped("\xc2\x9b" "2J", ESC_TEXT, "\\xc2\\x9b2J", "text: a C1 control (CSI)");
	is_escaped("\xc2\x9b", ESC_JSON, "\xc2\x9b", "JSON: a C1 control is UTF-8");
	is_escaped("\xc0\xaf", ESC_TEXT, "\\xc0\\xaf", "an overlong form");
	is_escaped("\xed\xa0\x80", ESC_TEXT, "\\xed\\xa0\\x80", "a surrogate");
	is_escaped("\xf4\x90\x80\x80", ESC_TEXT, "\\xf4\\x90\\x80\\x80", "above U+10FFFF");
	is_escaped("\xe2\x82", ESC_TEXT, "\\xe2\\x82", "a sequence cut by the end");
	is_escaped("\xe2\x82x", ESC_TEXT, "\\xe2\\x82x", "a sequence cut by ASCII");
	ok(strcmp(esc(NULL), "") == 0, "esc(NULL) is empty");
	{
		const char *first = esc("one\n");
		for (int i = 0; i < ESC_SLOTS - 1; i++)
			esc("other");
		ok(strcmp(first, "one\\n") == 0, "esc's result lives for ESC_SLOTS calls");
	}
	return done_testing();
}
