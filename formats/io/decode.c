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
#include <fcntl.h>
#include <lzma.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "formats/io/decode.h"
#include "formats/io/whole_file.h"

#define INPUT_CHUNK (1U << 20)

struct decoder {
	enum codec codec;
	int fd;
	uint8_t *in;
	size_t in_len, in_pos;
	bool in_eof, done;
	char error[256];
	union {
		z_stream z;
		bz_stream bz;
		lzma_stream xz;
	} s;
	ZSTD_DStream *zstd;
	size_t zstd_left; /* ZSTD_decompressStream's last hint: 0 at a frame's end */
	pid_t child; /* lzop */
	int pipe_fd;
	int err_fd;          /* lzop's standard error */
	char child_err[120]; /* its first words, for the error message */
};

const char *codec_name(enum codec c)
{
	static const char *const names[] = { "gzip", "bzip2", "xz", "lzop", "zstd" };

	return (unsigned int)c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}

const char *codec_provider(enum codec c, char *buf, size_t len)
{
	switch (c) {
	case CODEC_GZIP:
		snprintf(buf, len, "zlib %s", zlibVersion());
		break;
	case CODEC_BZIP2:
		/* "1.0.8, 13-Jul-2019": the version is what precedes the comma. */
		snprintf(buf, len, "libbz2 %.*s", (int)strcspn(BZ2_bzlibVersion(), ","),
			 BZ2_bzlibVersion());
		break;
	case CODEC_XZ:
		snprintf(buf, len, "liblzma %s", lzma_version_string());
		break;
	case CODEC_ZSTD:
		snprintf(buf, len, "libzstd %s", ZSTD_versionString());
		break;
	default:
		snprintf(buf, len, "the lzop program");
		break;
	}
	return buf;
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
		else if (rc == LZMA_MEMLIMIT_ERROR)
			return fail(d, "the xz data asks for more than 256 MiB to decompress");
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

/* ---- the lzop program ---------------------------------------------------- */

/*
 * Start argv (lzop) with in as its standard input, out as its standard
 * output and the write end of a new pipe as its standard error (*err_fd:
 * the read end, non-blocking), whatever fredck's own descriptors 0-2 are:
 * when fredck runs with standard input closed, the input it opened may
 * itself be descriptor 0, close-on-exec, which a plain dup2(fd, 0) would
 * leave to be closed by exec.  A program that cannot be run is said so
 * in why (not installed is an operational error, not bad data).
 */
static pid_t spawn_filter(char *const argv[], int in, int out, int *err_fd, char *why,
			  size_t why_len)
{
	int status[2], err[2], exec_errno = 0;
	pid_t child;
	ssize_t n;

	if (pipe2(status, O_CLOEXEC) != 0)
		return snprintf(why, why_len, "%s", strerror(errno)), -1;
	if (pipe2(err, O_CLOEXEC) != 0) {
		snprintf(why, why_len, "%s", strerror(errno));
		close(status[0]);
		close(status[1]);
		return -1;
	}
	child = fork();
	if (child == 0) {
		/* Above 2 first, so that no dup2 below overwrites another. */
		int in2 = fcntl(in, F_DUPFD, 3), out2 = fcntl(out, F_DUPFD, 3);
		int err2 = fcntl(err[1], F_DUPFD, 3);

		if (in2 < 0 || out2 < 0 || err2 < 0 || dup2(in2, STDIN_FILENO) < 0 ||
		    dup2(out2, STDOUT_FILENO) < 0 || dup2(err2, STDERR_FILENO) < 0)
			exec_errno = errno;
		else {
			execvp(argv[0], argv);
			exec_errno = errno;
		}
		n = write(status[1], &exec_errno, sizeof(exec_errno));
		_exit(n < 0 ? 126 : 127);
	}
	close(status[1]);
	close(err[1]);
	if (child < 0) {
		snprintf(why, why_len, "%s", strerror(errno));
		close(status[0]);
		close(err[0]);
		return -1;
	}
	do
		n = read(status[0], &exec_errno, sizeof(exec_errno));
	while (n < 0 && errno == EINTR);
	close(status[0]);
	if (n == (ssize_t)sizeof(exec_errno)) {
		snprintf(why, why_len, "cannot run %s: %s%s", argv[0], strerror(exec_errno),
			 exec_errno == ENOENT ? " (install the lzop package)" : "");
		waitpid(child, NULL, 0);
		close(err[0]);
		return -1;
	}
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	*err_fd = err[0];
	return child;
}

/*
 * Keep the first printable words of what the child wrote on its standard
 * error (for the error message: never passed raw to fredck's own stderr,
 * where it would name no input), and drain the rest.
 */
static void drain_child_err(int fd, char *keep, size_t keep_len)
{
	char buf[512];
	ssize_t n;

	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
		size_t used = strlen(keep);

		for (ssize_t i = 0; i < n && used + 1 < keep_len; i++) {
			char c = buf[i] == '\n' || buf[i] == '\t' ? ' ' : buf[i];

			if (c >= 0x20 && c < 0x7f)
				keep[used++] = c;
		}
		keep[used] = '\0';
	}
}

static ssize_t read_lzop(struct decoder *d, uint8_t *out, size_t n)
{
	ssize_t got;
	int status;

	do
		got = read(d->pipe_fd, out, n);
	while (got < 0 && errno == EINTR);
	drain_child_err(d->err_fd, d->child_err, sizeof(d->child_err));
	if (got > 0)
		return got;
	if (got < 0)
		return fail(d, strerror(errno));
	/* The end: lzop must have succeeded, or the data was bad. */
	if (d->child > 0 && waitpid(d->child, &status, 0) == d->child) {
		d->child = 0;
		drain_child_err(d->err_fd, d->child_err, sizeof(d->child_err));
		/*
		 * lzop exits 1 on an error (a checksum that does not match) and
		 * 2 on a warning, which --ignore-warn turns into 0: anything but
		 * 0 is bad data.
		 */
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			char why[sizeof(d->child_err) + 64];

			snprintf(why, sizeof(why), "lzop -dc failed (corrupt or truncated)%s%s",
				 d->child_err[0] ? ": " : "", d->child_err);
			return fail(d, why);
		}
	}
	return 0;
}

static int start_lzop(struct decoder *d)
{
	static char *const argv[] = { "lzop", "-dc", "--ignore-warn", NULL };
	char why[160];
	int p[2];

	if (pipe2(p, O_CLOEXEC) != 0)
		return fail(d, strerror(errno));
	d->child = spawn_filter(argv, d->fd, p[1], &d->err_fd, why, sizeof(why));
	close(p[1]);
	if (d->child < 0) {
		d->child = 0;
		close(p[0]);
		/* Not the data's fault: said without "lzop data:". */
		snprintf(d->error, sizeof(d->error), "%s", why);
		return -1;
	}
	d->pipe_fd = p[0];
	return 0;
}

/*
 * What an xz stream may make the decoder allocate: its header names the
 * dictionary size, up to 1.5 GiB, and a crafted image must not get that.
 * xz -9 needs 65 MiB; libvirt's xz runs with the defaults (9 MiB).
 */
#define XZ_MEMLIMIT (256ULL << 20)

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
	d->err_fd = -1;
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
		if (lzma_stream_decoder(&d->s.xz, XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK)
			fail(d, "cannot start");
		break;
	case CODEC_ZSTD:
		d->zstd = ZSTD_createDStream();
		if (!d->zstd)
			fail(d, "cannot start");
		break;
	case CODEC_LZOP:
		start_lzop(d);
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
		if (d->err_fd >= 0)
			close(d->err_fd);
		if (d->child > 0) {
			kill(d->child, SIGTERM);
			waitpid(d->child, NULL, 0);
		}
		break;
	}
	free(d->in);
	free(d);
}

/* ---- encoders ------------------------------------------------------------ */

#define OUTPUT_CHUNK (1U << 20)

struct encoder {
	enum codec codec;
	int fd;
	uint8_t *out;
	char error[256];
	union {
		z_stream z;
		bz_stream bz;
		lzma_stream xz;
	} s;
	ZSTD_CStream *zstd;
	pid_t child; /* lzop: its stdin is pipe_fd, its stdout fd */
	int pipe_fd;
	int err_fd;          /* lzop's standard error */
	char child_err[120];
};

static int efail(struct encoder *x, const char *what)
{
	snprintf(x->error, sizeof(x->error), "%s compression: %s", codec_name(x->codec), what);
	return -1;
}

static int start_lzop_encoder(struct encoder *x)
{
	static char *const argv[] = { "lzop", "-c", NULL };
	char why[160];
	int p[2];

	if (pipe2(p, O_CLOEXEC) != 0)
		return efail(x, strerror(errno));
	x->child = spawn_filter(argv, p[0], x->fd, &x->err_fd, why, sizeof(why));
	close(p[0]);
	if (x->child < 0) {
		x->child = 0;
		close(p[1]);
		snprintf(x->error, sizeof(x->error), "%s", why);
		return -1;
	}
	x->pipe_fd = p[1];
	return 0;
}

struct encoder *encoder_new(enum codec c, int fd, char *error, size_t error_len)
{
	struct encoder *x = calloc(1, sizeof(*x));

	if (!x || !(x->out = malloc(OUTPUT_CHUNK))) {
		snprintf(error, error_len, "out of memory");
		free(x);
		return NULL;
	}
	x->codec = c;
	x->fd = fd;
	x->pipe_fd = -1;
	x->err_fd = -1;
	switch (c) {
	case CODEC_GZIP:
		if (deflateInit2(&x->s.z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			efail(x, "cannot start");
		break;
	case CODEC_BZIP2:
		if (BZ2_bzCompressInit(&x->s.bz, 9, 0, 0) != BZ_OK)
			efail(x, "cannot start");
		break;
	case CODEC_XZ:
		if (lzma_easy_encoder(&x->s.xz, 3, LZMA_CHECK_CRC64) != LZMA_OK)
			efail(x, "cannot start");
		break;
	case CODEC_ZSTD:
		x->zstd = ZSTD_createCStream();
		if (!x->zstd || ZSTD_isError(ZSTD_initCStream(x->zstd, 3)))
			efail(x, "cannot start");
		break;
	case CODEC_LZOP:
		start_lzop_encoder(x);
		break;
	}
	if (x->error[0]) {
		snprintf(error, error_len, "%s", x->error);
		encoder_finish(x, NULL, 0);
		return NULL;
	}
	return x;
}

/* Run the codec over data (finish: flush the end) and write what comes out. */
static int encode(struct encoder *x, const uint8_t *data, size_t n, bool finish)
{
	static const uint8_t nothing[1];

	if (!data)
		data = nothing; /* finishing passes NULL: never step a null pointer */
	for (;;) {
		size_t produced = 0;
		bool done = false;

		switch (x->codec) {
		case CODEC_GZIP: {
			int rc;

			x->s.z.next_in = (Bytef *)data;
			x->s.z.avail_in = (uInt)n;
			x->s.z.next_out = x->out;
			x->s.z.avail_out = OUTPUT_CHUNK;
			rc = deflate(&x->s.z, finish ? Z_FINISH : Z_NO_FLUSH);
			if (rc == Z_STREAM_ERROR)
				return efail(x, "deflate failed");
			produced = OUTPUT_CHUNK - x->s.z.avail_out;
			done = finish ? rc == Z_STREAM_END : x->s.z.avail_in == 0;
			data += n - x->s.z.avail_in;
			n = x->s.z.avail_in;
			break;
		}
		case CODEC_BZIP2: {
			int rc;

			x->s.bz.next_in = (char *)data;
			x->s.bz.avail_in = (unsigned int)n;
			x->s.bz.next_out = (char *)x->out;
			x->s.bz.avail_out = OUTPUT_CHUNK;
			rc = BZ2_bzCompress(&x->s.bz, finish ? BZ_FINISH : BZ_RUN);
			if (rc < 0)
				return efail(x, "bzCompress failed");
			produced = OUTPUT_CHUNK - x->s.bz.avail_out;
			done = finish ? rc == BZ_STREAM_END : x->s.bz.avail_in == 0;
			data += n - x->s.bz.avail_in;
			n = x->s.bz.avail_in;
			break;
		}
		case CODEC_XZ: {
			lzma_ret rc;

			x->s.xz.next_in = data;
			x->s.xz.avail_in = n;
			x->s.xz.next_out = x->out;
			x->s.xz.avail_out = OUTPUT_CHUNK;
			rc = lzma_code(&x->s.xz, finish ? LZMA_FINISH : LZMA_RUN);
			if (rc != LZMA_OK && rc != LZMA_STREAM_END)
				return efail(x, "lzma_code failed");
			produced = OUTPUT_CHUNK - x->s.xz.avail_out;
			done = finish ? rc == LZMA_STREAM_END : x->s.xz.avail_in == 0;
			data += n - x->s.xz.avail_in;
			n = x->s.xz.avail_in;
			break;
		}
		case CODEC_ZSTD: {
			ZSTD_inBuffer ib = { data, n, 0 };
			ZSTD_outBuffer ob = { x->out, OUTPUT_CHUNK, 0 };
			size_t rc = finish ? ZSTD_endStream(x->zstd, &ob) :
					     ZSTD_compressStream(x->zstd, &ob, &ib);

			if (ZSTD_isError(rc))
				return efail(x, ZSTD_getErrorName(rc));
			produced = ob.pos;
			done = finish ? rc == 0 : ib.pos == ib.size;
			data += ib.pos;
			n -= ib.pos;
			break;
		}
		case CODEC_LZOP:
			if (!finish && write_full(x->pipe_fd, data, n) != 0)
				return efail(x, strerror(errno));
			return 0;
		}
		if (produced && write_full(x->fd, x->out, produced) != 0)
			return efail(x, strerror(errno));
		if (done)
			return 0;
	}
}

int encoder_write(struct encoder *x, const uint8_t *data, size_t n)
{
	return x->error[0] ? -1 : encode(x, data, n, false);
}

const char *encoder_error(const struct encoder *x)
{
	return x->error;
}

int encoder_finish(struct encoder *x, char *error, size_t error_len)
{
	int rc = x->error[0] ? -1 : encode(x, NULL, 0, true);
	int status;

	switch (x->codec) {
	case CODEC_GZIP:
		deflateEnd(&x->s.z);
		break;
	case CODEC_BZIP2:
		BZ2_bzCompressEnd(&x->s.bz);
		break;
	case CODEC_XZ:
		lzma_end(&x->s.xz);
		break;
	case CODEC_ZSTD:
		ZSTD_freeCStream(x->zstd);
		break;
	case CODEC_LZOP:
		if (x->pipe_fd >= 0)
			close(x->pipe_fd);
		if (x->child > 0 && (waitpid(x->child, &status, 0) != x->child ||
				     !WIFEXITED(status) || WEXITSTATUS(status) != 0) && rc == 0) {
			char why[sizeof(x->child_err) + 32];

			drain_child_err(x->err_fd, x->child_err, sizeof(x->child_err));
			snprintf(why, sizeof(why), "lzop -c failed%s%s", x->child_err[0] ? ": " : "",
				 x->child_err);
			rc = efail(x, why);
		}
		if (x->err_fd >= 0)
			close(x->err_fd);
		break;
	}
	if (rc && error)
		snprintf(error, error_len, "%s", x->error);
	free(x->out);
	free(x);
	return rc;
}
