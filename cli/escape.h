/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * escape.h --- strings that come from input (paths, machine types, libvirt
 * names, JSON strings, section names), made safe to show.
 *
 * One scheme, fredck(1) OUTPUT ENCODING: a backslash becomes "\\"; in text,
 * newline, carriage return and tab become "\n", "\r" and "\t", and every
 * other byte below 0x20, 0x7f and each byte of a C1 control (U+0080 to
 * U+009F) becomes "\xNN"; in text and in JSON, every byte that is not part
 * of well-formed UTF-8 becomes "\xNN".  Decoding is therefore unique:
 * "\\" is a backslash, "\xNN" the byte NN, anything else itself.
 *
 * Text: nothing the input holds can move the cursor, start a terminal
 * escape sequence or begin a line of its own.  JSON: the string is valid
 * UTF-8 and two different byte strings never give the same value.
 */
#ifndef FRED_ESCAPE_H
#define FRED_ESCAPE_H

#include <stddef.h>

enum esc_mode {
	ESC_TEXT, /* for a terminal: control bytes escaped too */
	ESC_JSON, /* for a JSON string: jansson escapes control bytes itself */
};

/* The escaped copy of s (malloc'd), or NULL when memory runs out. */
char *esc_dup(const char *s, enum esc_mode mode);

/*
 * The text form of s for a printf %s: valid until ESC_SLOTS further calls
 * (enough for every argument of one printf).  Never NULL: "?" when memory
 * runs out.
 */
#define ESC_SLOTS 16
const char *esc(const char *s);

#endif
