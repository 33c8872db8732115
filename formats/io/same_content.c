/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * same_content.c --- two files or trees compared byte for byte.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/io/progress.h"
#include "formats/io/same_content.h"

#define COMPARE_CHUNK (1U << 20)
#define COMPARE_REPORT (64ULL << 20) /* a multiple of COMPARE_CHUNK */

/* A full read of up to n bytes (fewer only at the end); -1 on an error. */
static ssize_t read_up_to(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Files of size bytes: a's bytes read so far reported every 64 MiB (a multi-GB output). */
static int same_files(const char *a, const char *b, uint64_t size, bool *same,
		      struct fmt_error *e)
{
	int fa = open(a, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int fb = fa < 0 ? -1 : open(b, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *ba = malloc(COMPARE_CHUNK), *bb = malloc(COMPARE_CHUNK);
	uint64_t done = 0;
	int rc = -1;

	if (fa < 0 || fb < 0) {
		fmt_syserr(e, fa < 0 ? a : b, errno, "cannot open");
		goto out;
	}
	if (!ba || !bb) {
		fmt_syserr(e, a, ENOMEM, "cannot compare");
		goto out;
	}
	posix_fadvise(fa, 0, 0, POSIX_FADV_SEQUENTIAL);
	posix_fadvise(fb, 0, 0, POSIX_FADV_SEQUENTIAL);
	*same = true;
	while (*same) {
		ssize_t na = read_up_to(fa, ba, COMPARE_CHUNK), nb;

		if (na < 0) {
			fmt_syserr(e, a, errno, "cannot read");
			goto out;
		}
		nb = read_up_to(fb, bb, COMPARE_CHUNK);
		if (nb < 0) {
			fmt_syserr(e, b, errno, "cannot read");
			goto out;
		}
		*same = na == nb && memcmp(ba, bb, (size_t)na) == 0;
		if (na == 0)
			break;
		done += (uint64_t)na;
		if (done % COMPARE_REPORT == 0)
			io_report(IO_COMPARING, done, size);
	}
	rc = 0;
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	free(ba);
	free(bb);
	return rc;
}

static int same_links(const char *a, const char *b, bool *same, struct fmt_error *e)
{
	char ta[PATH_MAX], tb[PATH_MAX];
	ssize_t na = readlink(a, ta, sizeof(ta)), nb;

	if (na < 0)
		return fmt_syserr(e, a, errno, "cannot read the link");
	nb = readlink(b, tb, sizeof(tb));
	if (nb < 0)
		return fmt_syserr(e, b, errno, "cannot read the link");
	*same = na == nb && memcmp(ta, tb, (size_t)na) == 0;
	return 0;
}

static int not_dots(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

static int by_name(const struct dirent **x, const struct dirent **y)
{
	return strcmp((*x)->d_name, (*y)->d_name);
}

static void free_names(struct dirent **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int same_dirs(const char *a, const char *b, bool *same, struct fmt_error *e)
{
	struct dirent **va = NULL, **vb = NULL;
	int na = scandir(a, &va, not_dots, by_name), nb, rc = 0;

	if (na < 0)
		return fmt_syserr(e, a, errno, "cannot read the directory");
	nb = scandir(b, &vb, not_dots, by_name);
	if (nb < 0) {
		free_names(va, na);
		return fmt_syserr(e, b, errno, "cannot read the directory");
	}
	*same = na == nb;
	for (int i = 0; rc == 0 && *same && i < na; i++) {
		char pa[PATH_MAX], pb[PATH_MAX];

		*same = strcmp(va[i]->d_name, vb[i]->d_name) == 0;
		if (!*same)
			break;
		if ((size_t)snprintf(pa, sizeof(pa), "%s/%s", a, va[i]->d_name) >= sizeof(pa) ||
		    (size_t)snprintf(pb, sizeof(pb), "%s/%s", b, vb[i]->d_name) >= sizeof(pb))
			rc = fmt_fail(e, FMT_ERR_SYSTEM, a, "path too long");
		else
			rc = same_content(pa, pb, same, e);
	}
	free_names(va, na);
	free_names(vb, nb);
	return rc;
}

int same_content(const char *a, const char *b, bool *same, struct fmt_error *e)
{
	struct stat sa, sb;

	if (lstat(a, &sa) != 0)
		return fmt_syserr(e, a, errno, "cannot stat");
	if (lstat(b, &sb) != 0)
		return fmt_syserr(e, b, errno, "cannot stat");
	*same = false;
	if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT))
		return 0;
	if (S_ISREG(sa.st_mode))
		return sa.st_size == sb.st_size ? same_files(a, b, (uint64_t)sa.st_size, same, e) : 0;
	if (S_ISLNK(sa.st_mode))
		return same_links(a, b, same, e);
	if (S_ISDIR(sa.st_mode))
		return same_dirs(a, b, same, e);
	return 0; /* a device, a FIFO, a socket: not an output fredck writes */
}
