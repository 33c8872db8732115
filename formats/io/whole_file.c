/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * whole_file.c --- one bounded reader of a whole regular file, one
 * writer of a whole buffer.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/io/whole_file.h"

const char *file_type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFLNK:
		return "a symbolic link";
	default:
		return "a special file";
	}
}

static int not_regular(const char *path, mode_t mode, struct fmt_error *e)
{
	return fmt_malformed(e, path, 0, "file type",
			     "%s, not a regular file: a snapshot holds only regular files",
			     file_type_name(mode));
}

int open_regular_file(const char *path, unsigned int flags, struct stat *st,
			struct fmt_error *e)
{
	int oflags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	int fd;

	/* Look before opening: opening a device or a FIFO can have effects. */
	if ((flags & WF_NOFOLLOW ? lstat(path, st) : stat(path, st)) != 0) {
		if (errno == ENOENT && (flags & WF_OPTIONAL))
			return -2;
		return fmt_syserr(e, path, errno, "cannot open");
	}
	if (!S_ISREG(st->st_mode))
		return not_regular(path, st->st_mode, e);
	if (flags & WF_NOFOLLOW)
		oflags |= O_NOFOLLOW;
	fd = open(path, oflags);
	if (fd < 0) {
		if (errno == ENOENT && (flags & WF_OPTIONAL))
			return -2;
		return fmt_syserr(e, path, errno, "cannot open");
	}
	if (fstat(fd, st) != 0) {
		int err = errno;

		close(fd);
		return fmt_syserr(e, path, err, "cannot read");
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return not_regular(path, st->st_mode, e);
	}
	return fd;
}

/* Read exactly size bytes of fd into buf; a different size is a change under fredck. */
static int read_exactly(int fd, uint8_t *buf, size_t size, const char *path,
			struct fmt_error *e)
{
	size_t got = 0;

	/* One byte more than expected, to see a file that grew. */
	while (got <= size) {
		ssize_t n = read(fd, buf + got, size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fmt_syserr(e, path, errno, "cannot read");
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got != size)
		return fmt_fail(e, FMT_ERR_SYSTEM, path,
				"the file changed size while fredck read it (%zu bytes, then %s)",
				size, got > size ? "more" : "fewer");
	return 0;
}

/*
 * Standard input ("-") whole, whatever it is (a pipe, a file), at most max
 * bytes: the buffer grows as it is read, so what is allocated is bounded by
 * what arrives.  *st is standard input's, its st_size the bytes read.
 */
static int read_stdin_whole(size_t max, const char *what, uint8_t **buf, size_t *len,
			    struct stat *st, struct fmt_error *e)
{
	size_t got = 0, cap = 0;
	uint8_t *p = NULL;

	if (fstat(STDIN_FILENO, st) != 0)
		return fmt_syserr(e, "-", errno, "cannot read");
	for (;;) {
		ssize_t n;

		if (got == cap) {
			size_t grown = cap ? cap * 2 : 65536;
			uint8_t *q;

			if (grown > max + 1)
				grown = max + 1;
			q = grown > cap ? realloc(p, grown + 1) : NULL;
			if (!q) {
				free(p);
				if (grown > cap)
					return fmt_syserr(e, "-", ENOMEM, "cannot read");
				return fmt_malformed(e, "-", max, "file size",
						     "more than any %s (%zu bytes)", what, max);
			}
			p = q;
			cap = grown;
		}
		n = read(STDIN_FILENO, p + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			free(p);
			return fmt_syserr(e, "-", err, "cannot read");
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*buf = p;
	*len = got;
	st->st_size = (off_t)got;
	return 0;
}

int read_whole_file(const char *path, size_t max, const char *what, unsigned int flags,
		    uint8_t **buf, size_t *len, struct stat *stp, struct fmt_error *e)
{
	struct stat st;
	uint8_t *p;
	int fd;

	if (strcmp(path, "-") == 0) {
		int rc = read_stdin_whole(max, what, buf, len, &st, e);

		if (rc == 0 && stp)
			*stp = st;
		return rc;
	}
	fd = open_regular_file(path, flags, &st, e);

	if (fd == -2)
		return 1;
	if (fd < 0)
		return -1;
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return fmt_malformed(e, path, max, "file size",
				     "file is %lld bytes, more than any %s (%zu)",
				     (long long)st.st_size, what, max);
	}
	p = malloc((size_t)st.st_size + 1);
	if (!p) {
		close(fd);
		return fmt_syserr(e, path, ENOMEM, "cannot read");
	}
	if (read_exactly(fd, p, (size_t)st.st_size, path, e) != 0) {
		free(p);
		close(fd);
		return -1;
	}
	close(fd);
	*buf = p;
	*len = (size_t)st.st_size;
	if (stp)
		*stp = st;
	return 0;
}

int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = EIO;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int write_all(int fd, const void *buf, size_t len, const char *path, struct fmt_error *e)
{
	return write_full(fd, buf, len) ? fmt_syserr(e, path, errno, "cannot write") : 0;
}
