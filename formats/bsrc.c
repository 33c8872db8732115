/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bsrc.c --- the bounded, buffered byte source.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/bsrc.h"

int bsrc_open(struct bsrc *b, const char *path, struct fmt_error *e)
{
	struct stat st;

	memset(b, 0, sizeof(*b));
	b->path = path;
	if (strcmp(path, "-") == 0) {
		b->fd = STDIN_FILENO;
	} else {
		b->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (b->fd < 0)
			return fmt_syserr(e, path, errno, "cannot open");
		b->own_fd = true;
	}
	if (fstat(b->fd, &st) != 0) {
		fmt_syserr(e, path, errno, "cannot stat");
		bsrc_close(b);
		return -1;
	}
	b->seekable = S_ISREG(st.st_mode);
	b->size = b->seekable ? (uint64_t)st.st_size : 0;
	if (b->seekable)
		posix_fadvise(b->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	b->buf = malloc(BSRC_BUFFER);
	if (!b->buf) {
		fmt_syserr(e, path, ENOMEM, "cannot read");
		bsrc_close(b);
		return -1;
	}
	return 0;
}

void bsrc_close(struct bsrc *b)
{
	if (b->own_fd && b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	free(b->buf);
	b->buf = NULL;
}

/* Read more input after the unread bytes until n are there or the input ends. */
static int fill(struct bsrc *b, size_t n)
{
	if (b->pos > 0) {
		memmove(b->buf, b->buf + b->pos, b->len - b->pos);
		b->base += b->pos;
		b->len -= b->pos;
		b->pos = 0;
	}
	while (b->len < n && !b->eof) {
		ssize_t got = read(b->fd, b->buf + b->len, BSRC_BUFFER - b->len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			b->eof = true;
		b->len += (size_t)got;
	}
	return 0;
}

size_t bsrc_available(struct bsrc *b, size_t n)
{
	if (n > BSRC_BUFFER)
		n = BSRC_BUFFER;
	if (b->len - b->pos < n)
		fill(b, n);
	return b->len - b->pos < n ? b->len - b->pos : n;
}

const uint8_t *bsrc_peek(struct bsrc *b, size_t n, const char *field, struct fmt_error *e)
{
	if (n > BSRC_BUFFER) {
		fmt_malformed(e, b->path, bsrc_offset(b), field,
			      "%zu bytes at once is more than fredck reads in one piece", n);
		return NULL;
	}
	if (b->len - b->pos < n && fill(b, n) != 0) {
		fmt_syserr(e, b->path, errno, "cannot read");
		return NULL;
	}
	if (b->len - b->pos < n) {
		fmt_malformed(e, b->path, bsrc_offset(b), field,
			      "truncated: %zu bytes needed, the input ends after %zu", n,
			      b->len - b->pos);
		return NULL;
	}
	return b->buf + b->pos;
}

const uint8_t *bsrc_take(struct bsrc *b, size_t n, const char *field, struct fmt_error *e)
{
	const uint8_t *p = bsrc_peek(b, n, field, e);

	if (p)
		b->pos += n;
	return p;
}

int bsrc_seek(struct bsrc *b, uint64_t off, struct fmt_error *e)
{
	if (!b->seekable || off > b->size)
		return fmt_malformed(e, b->path, bsrc_offset(b), "(offset)",
				     "offset %llu is beyond the end of the input (%llu bytes)",
				     (unsigned long long)off, (unsigned long long)b->size);
	if (off >= b->base && off <= b->base + b->len) {
		b->pos = (size_t)(off - b->base);
		return 0;
	}
	if (lseek(b->fd, (off_t)off, SEEK_SET) < 0)
		return fmt_syserr(e, b->path, errno, "cannot seek");
	b->base = off;
	b->pos = b->len = 0;
	b->eof = false;
	return 0;
}

int bsrc_skip(struct bsrc *b, uint64_t n, const char *field, struct fmt_error *e)
{
	uint64_t here = bsrc_offset(b);

	if (n <= b->len - b->pos) {
		b->pos += n;
		return 0;
	}
	if (b->seekable) {
		if (n > b->size - here)
			return fmt_malformed(e, b->path, here, field,
					     "truncated: %llu bytes needed, the input ends after %llu",
					     (unsigned long long)n,
					     (unsigned long long)(b->size - here));
		return bsrc_seek(b, here + n, e);
	}
	while (n) {
		size_t chunk = n < BSRC_BUFFER ? (size_t)n : BSRC_BUFFER;

		if (!bsrc_take(b, chunk, field, e))
			return -1;
		n -= chunk;
	}
	return 0;
}

bool bsrc_at_end(struct bsrc *b)
{
	return bsrc_available(b, 1) == 0;
}
