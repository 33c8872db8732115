/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * decode.c --- decompressors for compressed libvirt save images: gzip
 * (zlib), bzip2 (libbz2), xz (liblzma) and zstd (libzstd) as libraries;
 * lzop, which has no library in Debian, through the lzop program, as
 * libvirt itself runs it.  Concatenated members and frames are followed,
 * as the programs do.
 */
#include "config.h"

#include <bzlib.h>
#include <errno.h>
#include <lzma.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "formats/decode.h"

#define INPUT_CHUNK (1U << 20)

struct decoder {
	enum codec codec;
	int fd;
	uint8_t *in;
	size_t in_len, in_pos;
	bool in_eof, done;
	char error[160];
	union {
		z_stream z;
		bz_stream bz;
		lzma_stream xz;
	} s;
	ZSTD_DStream *zstd;
	size_t zstd_left; /* ZSTD_decompressStream's last hint: 0 at a frame's end */
	pid_t child; /* lzop */
	int pipe_fd;
};

const char *codec_name(enum codec c)
{
	static const char *const names[] = { "gzip", "bzip2", "xz", "lzop", "zstd" };

	return (unsigned int)c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}

/* More compressed input, when all of it was used; false at its end. */
static bool refill(struct decoder *d)
{
	ssize_t n;

	if (d->in_pos < d->in_len)
		return true;
	if (d->in_eof)
		return false;
	do
		n = read(d->fd, d->in, INPUT_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		d->in_eof = true;
		return false;
	}
	d->in_len = (size_t)n;
	d->in_pos = 0;
	return true;
}

static int fail(struct decoder *d, const char *what)
{
	snprintf(d->error, sizeof(d->error), "%s data: %s", codec_name(d->codec), what);
	return -1;
}

static ssize_t read_gzip(struct decoder *d, uint8_t *out, size_t n)
{
	d->s.z.next_out = out;
	d->s.z.avail_out = (uInt)n;
	while (d->s.z.avail_out == n && !d->done) {
		int rc;

		if (!refill(d))
			return fail(d, "truncated");
		d->s.z.next_in = d->in + d->in_pos;
		d->s.z.avail_in = (uInt)(d->in_len - d->in_pos);
		rc = inflate(&d->s.z, Z_NO_FLUSH);
		d->in_pos = d->in_len - d->s.z.avail_in;
		if (rc == Z_STREAM_END) {
			/* Another gzip member may follow, as gzip -d reads them. */
			if (refill(d))
				inflateReset(&d->s.z);
			else
				d->done = true;
		} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
			return fail(d, d->s.z.msg ? d->s.z.msg : "corrupt");
		}
	}
	return (ssize_t)(n - d->s.z.avail_out);
}

static ssize_t read_bzip2(struct decoder *d, uint8_t *out, size_t n)
{
	d->s.bz.next_out = (char *)out;
	d->s.bz.avail_out = (unsigned int)n;
	while (d->s.bz.avail_out == n && !d->done) {
		int rc;

		if (!refill(d))
			return fail(d, "truncated");
		d->s.bz.next_in = (char *)d->in + d->in_pos;
		d->s.bz.avail_in = (unsigned int)(d->in_len - d->in_pos);
		rc = BZ2_bzDecompress(&d->s.bz);
		d->in_pos = d->in_len - d->s.bz.avail_in;
		if (rc == BZ_STREAM_END) {
			BZ2_bzDecompressEnd(&d->s.bz);
			if (refill(d)) {
				char *next = d->s.bz.next_out;
				unsigned int room = d->s.bz.avail_out;

				memset(&d->s.bz, 0, sizeof(d->s.bz));
				if (BZ2_bzDecompressInit(&d->s.bz, 0, 0) != BZ_OK)
					return fail(d, "cannot restart");
				d->s.bz.next_out = next;
				d->s.bz.avail_out = room;
			} else {
				d->done = true;
			}
		} else if (rc != BZ_OK) {
			return fail(d, "corrupt");
		}
	}
	return (ssize_t)(n - d->s.bz.avail_out);
}

static ssize_t read_xz(struct decoder *d, uint8_t *out, size_t n)
{
	d->s.xz.next_out = out;
	d->s.xz.avail_out = n;
	while (d->s.xz.avail_out == n && !d->done) {
		lzma_ret rc;
		bool more = refill(d);

		d->s.xz.next_in = d->in + d->in_pos;
		d->s.xz.avail_in = more ? d->in_len - d->in_pos : 0;
		rc = lzma_code(&d->s.xz, more ? LZMA_RUN : LZMA_FINISH);
		d->in_pos = more ? d->in_len - d->s.xz.avail_in : d->in_pos;
		if (rc == LZMA_STREAM_END)
			d->done = true;
		else if (rc != LZMA_OK)
			return fail(d, rc == LZMA_BUF_ERROR ? "truncated" : "corrupt");
	}
	return (ssize_t)(n - d->s.xz.avail_out);
}

static ssize_t read_zstd(struct decoder *d, uint8_t *out, size_t n)
{
	ZSTD_outBuffer ob = { out, n, 0 };

	while (ob.pos == 0 && !d->done) {
		ZSTD_inBuffer ib;
		size_t rc;

		if (!refill(d)) {
			if (d->zstd_left)
				return fail(d, "truncated");
			d->done = true;
			break;
		}
		ib = (ZSTD_inBuffer){ d->in + d->in_pos, d->in_len - d->in_pos, 0 };
		rc = ZSTD_decompressStream(d->zstd, &ob, &ib);
		d->in_pos += ib.pos;
		if (ZSTD_isError(rc))
			return fail(d, ZSTD_getErrorName(rc));
		d->zstd_left = rc;
	}
	return (ssize_t)ob.pos;
}

static ssize_t read_lzop(struct decoder *d, uint8_t *out, size_t n)
{
	ssize_t got;
	int status;

	do
		got = read(d->pipe_fd, out, n);
	while (got < 0 && errno == EINTR);
	if (got > 0)
		return got;
	if (got < 0)
		return fail(d, strerror(errno));
	/* The end: lzop must have succeeded, or the data was bad. */
	if (d->child > 0 && waitpid(d->child, &status, 0) == d->child) {
		d->child = 0;
		if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) /* 1 is lzop's warning */
			return fail(d, "lzop -dc failed (corrupt or truncated)");
	}
	return 0;
}

static int start_lzop(struct decoder *d, const char *path)
{
	int p[2];

	if (pipe(p) != 0)
		return fail(d, strerror(errno));
	d->child = fork();
	if (d->child < 0)
		return fail(d, strerror(errno));
	if (d->child == 0) {
		dup2(d->fd, STDIN_FILENO);
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execlp("lzop", "lzop", "-dc", "--ignore-warn", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	d->pipe_fd = p[0];
	return 0;
}

struct decoder *decoder_new(enum codec c, int fd, const uint8_t *pending, size_t have,
			    char *error, size_t error_len)
{
	struct decoder *d = calloc(1, sizeof(*d));

	if (!d || !(d->in = malloc(INPUT_CHUNK > have ? INPUT_CHUNK : have))) {
		snprintf(error, error_len, "out of memory");
		free(d);
		return NULL;
	}
	d->codec = c;
	d->fd = fd;
	d->pipe_fd = -1;
	memcpy(d->in, pending, have);
	d->in_len = have;
	switch (c) {
	case CODEC_GZIP:
		if (inflateInit2(&d->s.z, 16 + MAX_WBITS) != Z_OK)
			fail(d, "cannot start");
		break;
	case CODEC_BZIP2:
		if (BZ2_bzDecompressInit(&d->s.bz, 0, 0) != BZ_OK)
			fail(d, "cannot start");
		break;
	case CODEC_XZ:
		if (lzma_stream_decoder(&d->s.xz, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
			fail(d, "cannot start");
		break;
	case CODEC_ZSTD:
		d->zstd = ZSTD_createDStream();
		if (!d->zstd)
			fail(d, "cannot start");
		break;
	case CODEC_LZOP:
		start_lzop(d, NULL);
		break;
	}
	if (d->error[0]) {
		snprintf(error, error_len, "%s", d->error);
		decoder_free(d);
		return NULL;
	}
	return d;
}

ssize_t decoder_read(struct decoder *d, uint8_t *out, size_t n)
{
	if (d->error[0])
		return -1;
	switch (d->codec) {
	case CODEC_GZIP:
		return read_gzip(d, out, n);
	case CODEC_BZIP2:
		return read_bzip2(d, out, n);
	case CODEC_XZ:
		return read_xz(d, out, n);
	case CODEC_ZSTD:
		return read_zstd(d, out, n);
	case CODEC_LZOP:
		return read_lzop(d, out, n);
	}
	return -1;
}

const char *decoder_error(const struct decoder *d)
{
	return d->error;
}

void decoder_free(struct decoder *d)
{
	if (!d)
		return;
	switch (d->codec) {
	case CODEC_GZIP:
		inflateEnd(&d->s.z);
		break;
	case CODEC_BZIP2:
		BZ2_bzDecompressEnd(&d->s.bz);
		break;
	case CODEC_XZ:
		lzma_end(&d->s.xz);
		break;
	case CODEC_ZSTD:
		ZSTD_freeDStream(d->zstd);
		break;
	case CODEC_LZOP:
		if (d->pipe_fd >= 0)
			close(d->pipe_fd);
		if (d->child > 0) {
			kill(d->child, SIGTERM);
			waitpid(d->child, NULL, 0);
		}
		break;
	}
	free(d->in);
	free(d);
}
