/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fold.c --- folding text lines to a width (fold.h).
 */
#define _GNU_SOURCE /* fopencookie */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/fold.h"

/* A label longer than this ("repair would do: ") is not worth hanging under. */
#define FOLD_MAX_LABEL 24
/* The extra indent of a line without a short label. */
#define FOLD_NO_LABEL_HANG 4

static size_t leading_spaces(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && line[i] == ' ')
		i++;
	return i;
}

static size_t csi_length(const char *line, size_t len, size_t i);
static bool starts_column(unsigned char c);

/*
 * The end of LINE's label ("    why: "), as a byte index (*byte) and a
 * column (the return); colour sequences and UTF-8 continuation bytes take
 * no column.  Without a short label, the line's indent plus four columns,
 * and *byte there too (on the indent's spaces, so in bytes as in columns).
 */
static size_t label_end(const char *line, size_t len, size_t *byte)
{
	size_t indent = leading_spaces(line, len), col = indent;

	for (size_t i = indent; i + 1 < len && col - indent < FOLD_MAX_LABEL;) {
		size_t csi = csi_length(line, len, i);

		if (csi) {
			i += csi;
			continue;
		}
		if (line[i] == ':' && line[i + 1] == ' ') {
			*byte = i + 2;
			return col + 2;
		}
		col += starts_column((unsigned char)line[i]);
		i++;
	}
	*byte = indent + FOLD_NO_LABEL_HANG;
	return indent + FOLD_NO_LABEL_HANG;
}

size_t fold_hang(const char *line, size_t len)
{
	size_t byte;

	return label_end(line, len, &byte);
}

/*
 * The bytes of the escape sequence of --color at LINE[I] (CSI: ESC '['
 * parameters, one final byte), or 0.  Input never carries one: escape.c
 * has turned every ESC from input into "\x1b".
 */
static size_t csi_length(const char *line, size_t len, size_t i)
{
	size_t j;

	if (line[i] != '\033' || i + 1 >= len || line[i + 1] != '[')
		return 0;
	for (j = i + 2; j < len; j++) {
		unsigned char c = (unsigned char)line[j];

		if (c >= 0x40 && c <= 0x7e)
			return j - i + 1;
	}
	return len - i;
}

/* One column per UTF-8 character: continuation bytes (10xxxxxx) add none. */
static bool starts_column(unsigned char c)
{
	return (c & 0xc0) != 0x80;
}

/*
 * Where the piece starting at START (at column COL) must end to fit WIDTH:
 * the last space that leaves it within the width, past MIN_BREAK (so that
 * a label is never split from its text).  A piece with no such space runs
 * to the first space after the width (a long word stays whole), or to the
 * end.  The break is at a space, which is dropped.
 */
static size_t piece_end(const char *line, size_t len, size_t start, size_t col, size_t width,
			size_t min_break, bool list)
{
	size_t last_space = 0, i = start;

	while (i < len) {
		size_t csi = csi_length(line, len, i);

		if (csi) {
			i += csi;
			continue;
		}
		/* A list breaks only between its items, after ", " or "; ". */
		if (line[i] == ' ' && i > min_break &&
		    (!list || line[i - 1] == ',' || line[i - 1] == ';')) {
			if (col > width && last_space)
				return last_space;
			last_space = i;
			if (col >= width)
				return i;
		}
		if (starts_column((unsigned char)line[i]))
			col++;
		i++;
	}
	if (col > width && last_space)
		return last_space;
	return len;
}

static int put_spaces(FILE *out, size_t n)
{
	while (n--) {
		if (putc(' ', out) == EOF)
			return -1;
	}
	return 0;
}

/* LINE in pieces of WIDTH columns, the pieces after the first indented by HANG. */
static int fold_pieces(FILE *out, const char *line, size_t len, size_t width, size_t hang,
		       size_t min_break, bool list)
{
	size_t start = 0, col = 0;

	if (len == 0) /* an empty line (line may be NULL) */
		return putc('\n', out) == EOF ? -1 : 0;

	for (;;) {
		size_t end = piece_end(line, len, start, col, width, min_break, list), shown = end;

		/* A break in a run of spaces drops the whole run. */
		while (shown > start && end < len && line[shown - 1] == ' ')
			shown--;
		if (fwrite(line + start, 1, shown - start, out) != shown - start || putc('\n', out) == EOF)
			return -1;
		while (end < len && line[end] == ' ')
			end++;
		if (end >= len)
			return 0;
		if (put_spaces(out, hang) != 0)
			return -1;
		start = end;
		col = hang;
		min_break = start;
	}
}

int fold_line(FILE *out, const char *line, size_t len, size_t width)
{
	size_t min_break, hang = label_end(line, len, &min_break);

	/* A hang too deep for the width would leave no room for the text. */
	if (hang > width / 2)
		hang = leading_spaces(line, len) + FOLD_NO_LABEL_HANG;
	if (hang > width / 2)
		hang = 0;
	return fold_pieces(out, line, len, width, hang, min_break, false);
}

int fold_list_line(FILE *out, const char *line, size_t len, size_t width, size_t hang)
{
	/* Only ASCII labels come before HANG: fredck's own words. */
	if (hang > len)
		hang = len;
	return fold_pieces(out, line, len, width, hang > width / 2 ? 0 : hang, hang, true);
}

size_t fold_width(int fd)
{
	struct winsize ws;
	size_t width = FOLD_DEFAULT_WIDTH;

	if (isatty(fd)) {
		const char *columns = getenv("COLUMNS");

		if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
			width = ws.ws_col;
		else if (columns && atoi(columns) > 0)
			width = (size_t)atoi(columns);
	}
	return width < FOLD_MIN_WIDTH ? FOLD_MIN_WIDTH : width;
}

/* The folding stream: the bytes of the line being written, until its newline. */
struct fold_cookie {
	FILE *under;
	size_t width;
	char *line;
	size_t len, cap;
};

static int cookie_append(struct fold_cookie *c, const char *buf, size_t n)
{
	if (n == 0) /* an empty line: c->line may not exist yet */
		return 0;
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : 256;
		char *p;

		while (cap < c->len + n)
			cap *= 2;
		p = realloc(c->line, cap);
		if (!p)
			return -1;
		c->line = p;
		c->cap = cap;
	}
	memcpy(c->line + c->len, buf, n);
	c->len += n;
	return 0;
}

static ssize_t cookie_write(void *cookie, const char *buf, size_t size)
{
	struct fold_cookie *c = cookie;
	size_t done = 0;

	while (done < size) {
		const char *nl = memchr(buf + done, '\n', size - done);
		size_t n = nl ? (size_t)(nl - (buf + done)) : size - done;

		if (cookie_append(c, buf + done, n) != 0)
			return -1;
		done += n;
		if (!nl)
			break;
		if (fold_line(c->under, c->line, c->len, c->width) != 0)
			return -1;
		c->len = 0;
		done++;
	}
	return (ssize_t)size;
}

static int cookie_close(void *cookie)
{
	struct fold_cookie *c = cookie;
	int rc = 0;

	if (c->len && fwrite(c->line, 1, c->len, c->under) != c->len)
		rc = -1;
	if (fflush(c->under) != 0)
		rc = -1;
	free(c->line);
	free(c);
	return rc;
}

FILE *fold_open(FILE *under, size_t width)
{
	cookie_io_functions_t io = { .write = cookie_write, .close = cookie_close };
	struct fold_cookie *c = calloc(1, sizeof(*c));
	FILE *f;

	if (!c)
		return NULL;
	c->under = under;
	c->width = width;
	f = fopencookie(c, "w", io);
	if (!f)
		free(c);
	return f;
}
