/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fold.h --- long text lines folded to the terminal's width with a
 * hanging indent (issue 16: a 240-column "why:" line is unreadable at
 * 3 a.m. in an 80-column terminal).
 *
 * The text writers print one logical line per fact; folding is applied to
 * their stream as a whole, so no writer has to know the width.  A line
 * breaks only at a space; a word longer than the width (a path) is never
 * cut.  The continuation lines are indented under the text after the
 * line's label ("    why: saved as ..." continues under "saved"), or
 * four columns deeper than the line when it has no short label.
 */
#ifndef FRED_FOLD_H
#define FRED_FOLD_H

#include <stddef.h>
#include <stdio.h>

/* Width used when standard output is not a terminal. */
#define FOLD_DEFAULT_WIDTH 80
/* Narrower than this, folding does more harm than good. */
#define FOLD_MIN_WIDTH 40

/* The column continuation lines of LINE start at. */
size_t fold_hang(const char *line, size_t len);

/*
 * Write LINE (LEN bytes, no newline) folded to WIDTH columns, each piece
 * ended by a newline.  Columns count UTF-8 characters, not bytes, and the
 * escape sequences of --color count none.  Returns 0, or -1 on a write error.
 */
int fold_line(FILE *out, const char *line, size_t len, size_t width);

/*
 * fold_line for a line whose text from column HANG on is a list that
 * quotes input (inspect's "devices  a, b, c"): broken only between its
 * items, after ", " or "; ", and continued under column HANG, so that no
 * words of the input begin a line of their own (where a forged line
 * could pass for one of fredck's).
 */
int fold_list_line(FILE *out, const char *line, size_t len, size_t width, size_t hang);

/*
 * The width for output to FD: the terminal's columns when FD is a terminal
 * ($COLUMNS when the terminal does not say), FOLD_DEFAULT_WIDTH otherwise;
 * never below FOLD_MIN_WIDTH.
 */
size_t fold_width(int fd);

/*
 * A stream that folds every complete line written to it and passes the
 * result to UNDER; fclose writes a last unterminated line as it is and
 * does not close UNDER.  NULL when the stream cannot be made.
 */
FILE *fold_open(FILE *under, size_t width);

#endif
