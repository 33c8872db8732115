/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bsrc.c --- the bounded, buffered byte source.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/io/bsrc.h"

uint64_t bsrc_hold_max = 1ULL << 30;

#define PROGRESS_STEP (64U << 20)

/*
 * What the source is doing, unless a writer named its pass: copying when
 * every byte leaves through a sink (the stream filter), decompressing
 * through a decoder, else reading.
 */
static enum io_phase source_phase(const struct bsrc *b)
{
	enum io_phase named = io_phase_get();

	if (named != IO_READING)
		return named;
	return b->sink ? IO_COPYING : b->dec ? IO_DECOMPRESSING : IO_READING;
}

static void report_progress(struct bsrc *b)
{
	uint64_t done = b->base + b->len;
	off_t at;

	if (!io_progress || done - b->reported < PROGRESS_STEP)
		return;
	b->reported = done;
	/*
	 * Through a decoder, offsets count decompressed bytes, whose total is
	 * not known: how far the decoder has read the file says how far along
	 * it is.
	 */
	if (b->dec && b->total) {
		at = lseek(b->fd, 0, SEEK_CUR);
		done = at < 0 ? 0 : (uint64_t)at < b->total ? (uint64_t)at : b->total;
	}
	io_report(source_phase(b), done, b->total);
}

static size_t page_bytes(void)
{
	static size_t ps;

	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

/*
 * A file that becomes shorter while a window of it is mapped makes the
 * next read of a page past its new end fault (SIGBUS).  Rather than die
 * of it (and lose a batch's other inputs), the handler puts zero pages
 * where the window was and marks the source: its next read fails with
 * "the file became shorter", and shrink_faults lets the callers of a
 * whole open, repair or filter see that what they read may be zeros.
 * Mapped sources are few at once (an input, and the copy being verified).
 */
#define GUARDED_MAX 8
static struct bsrc *volatile guarded[GUARDED_MAX];
static volatile sig_atomic_t shrink_faults;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	const uint8_t *at = si->si_addr;

	(void)uc;
	for (int i = 0; i < GUARDED_MAX; i++) {
		struct bsrc *b = guarded[i];

		if (!b || !b->map || at < b->map || at >= b->map + b->map_len)
			continue;
		if (mmap(b->map, b->map_len, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1,
			 0) == MAP_FAILED)
			break;
		b->shrank = true;
		shrink_faults++;
		return;
	}
	/* Not a window of ours: die of it, as without the handler. */
	signal(sig, SIG_DFL);
}

static void guard(struct bsrc *b)
{
	static bool installed;

	if (!installed) {
		struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };

		sigemptyset(&sa.sa_mask);
		installed = sigaction(SIGBUS, &sa, NULL) == 0;
	}
	for (int i = 0; i < GUARDED_MAX; i++)
		if (!guarded[i]) {
			guarded[i] = b;
			return;
		}
	/* More than GUARDED_MAX at once: read this one instead of mapping it. */
	b->mapped = false;
}

static void unguard(struct bsrc *b)
{
	for (int i = 0; i < GUARDED_MAX; i++)
		if (guarded[i] == b)
			guarded[i] = NULL;
}

unsigned long bsrc_shrink_faults(void)
{
	return (unsigned long)shrink_faults;
}

static void unmap_window(struct bsrc *b)
{
	if (b->map)
		munmap(b->map, b->map_len);
	b->map = NULL;
	b->map_len = 0;
}

/*
 * Map the window that starts at input offset from: the buffer's size and
 * one page more, so that starting on the page boundary before from it
 * still holds whatever the buffer would.  MAP_POPULATE fills the page
 * tables in one call, so stepping through the window takes no faults, and
 * unmapping the previous window keeps the resident size to one window.
 */
static int map_window(struct bsrc *b, uint64_t from)
{
	uint64_t start = from - from % page_bytes();
	uint64_t end = b->size - start < BSRC_BUFFER + page_bytes() ? b->size :
									start + BSRC_BUFFER + page_bytes();
	struct stat st;

	/* Reading a mapping past a file's end faults (SIGBUS): look again first. */
	if (fstat(b->fd, &st) != 0)
		return -1;
	if ((uint64_t)st.st_size < b->size) {
		b->shrank = true;
		errno = EIO;
		return -1;
	}
	/* The new window first: on failure the old one is still whole. */
	if (end > start) {
		void *m = mmap(NULL, (size_t)(end - start), PROT_READ, MAP_PRIVATE, b->fd,
			       (off_t)start);

		if (m == MAP_FAILED)
			return -1;
		unmap_window(b);
		b->map = m;
		b->map_len = (size_t)(end - start);
	} else {
		unmap_window(b);
	}
	b->buf = b->map ? b->map + (from - start) : b->store;
	b->base = from;
	b->len = (size_t)(end - from);
	b->pos = 0;
	b->eof = end == b->size;
	return 0;
}

/*
 * Go back to reading into the buffer (a sink or a decoder needs it),
 * keeping the bytes from the oldest one kept, as many as the buffer holds.
 */
static void leave_mapped(struct bsrc *b)
{
	size_t keep = b->pos, n;

	if (!b->mapped)
		return;
	if (b->hold != UINT64_MAX && b->hold - b->base < keep)
		keep = (size_t)(b->hold - b->base);
	n = b->len - keep < BSRC_BUFFER ? b->len - keep : BSRC_BUFFER;
	if (n)
		memcpy(b->store, b->buf + keep, n);
	b->base += keep;
	b->pos -= keep;
	b->len = n;
	b->buf = b->store;
	unmap_window(b);
	if (!b->ext_map)
		unguard(b); /* an input of extents maps its next piece again */
	b->mapped = false;
	b->eof = false;
	/* A regular file: the seek cannot fail for an offset within it. */
	lseek(b->fd, (off_t)(b->base + n), SEEK_SET);
}

/* The piece that holds input offset off (< the input's size): a binary search from the last one. */
static size_t extent_of(struct bsrc *b, uint64_t off)
{
	const struct bsrc_extent *x = b->ext;
	size_t lo = 0, hi = b->n_ext;

	if (off >= x[b->ext_at].off && off - x[b->ext_at].off < x[b->ext_at].len)
		return b->ext_at;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (x[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	b->ext_at = lo;
	return lo;
}

/*
 * Up to n bytes of an input made of extents, from input offset off, into
 * dst: how many (0 at the end), or -1 with errno set.  A file that ends
 * before a piece does became shorter since it was checked.
 */
static ssize_t extents_read(struct bsrc *b, uint8_t *dst, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n && off + done < b->size) {
		const struct bsrc_extent *x = &b->ext[extent_of(b, off + done)];
		uint64_t in = off + done - x->off, left = x->len - in;
		size_t chunk = n - done < left ? n - done : (size_t)left;
		ssize_t got;

		if (x->file_off == BSRC_ZEROS) {
			memset(dst + done, 0, chunk);
			done += chunk;
			continue;
		}
		got = pread(b->fd, dst + done, chunk, (off_t)(x->file_off + in));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0) {
			b->shrank = true;
			errno = EIO;
			return -1;
		}
		done += (size_t)got;
	}
	return (ssize_t)done;
}

int bsrc_pread(struct bsrc *b, void *buf, size_t len, uint64_t off)
{
	ssize_t got;

	if (!b->seekable || off > b->size || len > b->size - off) {
		errno = EINVAL;
		return -1;
	}
	if (b->ext)
		got = extents_read(b, buf, len, off);
	else
		do
			got = pread(b->fd, buf, len, (off_t)off);
		while (got < 0 && errno == EINTR);
	if (got >= 0 && (size_t)got != len)
		errno = EIO;
	return got >= 0 && (size_t)got == len ? 0 : -1;
}

int bsrc_open_extents(struct bsrc *b, const char *path, const char *label,
		      const struct bsrc_extent *x, size_t n, struct fmt_error *e)
{
	if (bsrc_open(b, path, e))
		return -1;
	if (!b->seekable) {
		bsrc_close(b);
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, path, "not a regular file");
	}
	/*
	 * A window of the file is a window of the input only inside one piece:
	 * extent_window maps those (the guard kept), the buffer takes the rest.
	 */
	b->ext_map = b->mapped;
	b->mapped = false;
	b->ext = x;
	b->n_ext = n;
	b->ext_at = 0;
	b->size = n ? x[n - 1].off + x[n - 1].len : 0;
	b->label = strdup(label);
	if (b->label)
		b->path = b->label;
	return 0;
}

/* The rest of opening, with b->fd open on the input. */
static int bsrc_start(struct bsrc *b, const char *path, struct fmt_error *e)
{
	struct stat st;

	if (fstat(b->fd, &st) != 0) {
		fmt_syserr(e, path, errno, "cannot stat");
		bsrc_close(b);
		return -1;
	}
	b->st = st;
	b->seekable = S_ISREG(st.st_mode);
	b->size = b->seekable ? (uint64_t)st.st_size : 0;
	b->total = b->size;
	if (b->seekable)
		posix_fadvise(b->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	b->hold = UINT64_MAX;
	/* Untouched until used: costs no memory while the file is mapped. */
	b->store = b->buf = malloc(BSRC_BUFFER);
	b->store_cap = BSRC_BUFFER;
	if (!b->store) {
		fmt_syserr(e, path, ENOMEM, "cannot read");
		bsrc_close(b);
		return -1;
	}
	b->mapped = b->seekable;
	if (b->mapped)
		guard(b);
	return 0;
}

int bsrc_open(struct bsrc *b, const char *path, struct fmt_error *e)
{
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
	return bsrc_start(b, path, e);
}

int bsrc_reopen_fd(struct bsrc *b, int fd, const char *path, struct fmt_error *e)
{
	memset(b, 0, sizeof(*b));
	b->path = path;
	/* A duplicate shares the file offset: set it, since a decoder reads from it. */
	b->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (b->fd < 0)
		return fmt_syserr(e, path, errno, "cannot read it again");
	b->own_fd = true;
	if (lseek(b->fd, 0, SEEK_SET) != 0) {
		fmt_syserr(e, path, errno, "cannot read it again");
		bsrc_close(b);
		return -1;
	}
	return bsrc_start(b, path, e);
}

void bsrc_open_memory(struct bsrc *b, uint8_t *buf, size_t len, uint64_t base, uint64_t at,
		      const char *path)
{
	memset(b, 0, sizeof(*b));
	b->fd = -1;
	b->path = path;
	b->store = b->buf = buf;
	b->store_cap = b->len = len;
	b->base = base;
	b->pos = (size_t)(at - base);
	b->eof = true;
	b->memory = true;
	b->hold = UINT64_MAX;
	b->emitted = base + len;
}

void bsrc_close(struct bsrc *b)
{
	decoder_free(b->dec);
	b->dec = NULL;
	free(b->label);
	b->label = NULL;
	if (b->own_fd && b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	unmap_window(b);
	unguard(b);
	free(b->store);
	b->store = b->buf = NULL;
}

/* Send buf bytes before input offset upto that were not sent yet. */
static int sink_upto(struct bsrc *b, uint64_t upto)
{
	if (!b->sink || upto <= b->emitted)
		return 0;
	if (b->emitted < b->base || upto > b->base + b->len) {
		b->sink_errno = EINVAL; /* bytes were dropped unsent: a bug */
		return -1;
	}
	if (b->sink(b->sink_ctx, b->buf + (b->emitted - b->base), (size_t)(upto - b->emitted))) {
		b->sink_errno = errno;
		return -1;
	}
	b->emitted = upto;
	return 0;
}

/* Where the oldest byte the buffer must keep is: the next unread one, or the first held. */
static size_t kept_from(const struct bsrc *b)
{
	if (b->hold != UINT64_MAX && b->hold - b->base < b->pos)
		return (size_t)(b->hold - b->base);
	return b->pos;
}

/* Mapped: move the window to start at the oldest byte kept. */
static int slide_window(struct bsrc *b, size_t keep, size_t n)
{
	size_t pos = b->pos - keep;

	if (n > BSRC_BUFFER - pos) {
		errno = ENOBUFS;
		return -1;
	}
	if (b->base + b->len == b->size) {
		b->eof = true; /* the window already reaches the end */
		return 0;
	}
	if (map_window(b, b->base + keep))
		return -1;
	b->pos = pos;
	report_progress(b);
	return 0;
}

/*
 * An input of extents: map the window from the oldest byte kept when the
 * piece of the file that holds it also holds the n bytes wanted (0); else
 * go back to the buffer, the kept bytes copied there (1), for the fill to
 * read across the pieces.  -1 with errno set on error.
 */
static int extent_window(struct bsrc *b, size_t keep, size_t n)
{
	uint64_t from = b->base + keep, in, avail, win, file_from, file_start;
	size_t pos = b->pos - keep;
	const struct bsrc_extent *x;
	struct stat st;
	void *m;

	if (n > BSRC_BUFFER - pos) {
		errno = ENOBUFS; /* a held section larger than the buffer */
		return -1;
	}
	if (from >= b->size)
		goto read;
	x = &b->ext[extent_of(b, from)];
	in = from - x->off;
	avail = x->len - in;
	if (x->file_off == BSRC_ZEROS || avail < pos + n)
		goto read;
	win = avail < BSRC_BUFFER ? avail : BSRC_BUFFER;
	file_from = x->file_off + in;
	file_start = file_from - file_from % page_bytes();
	/* Reading a mapping past a file's end faults (SIGBUS): look again first. */
	if (fstat(b->fd, &st) != 0)
		return -1;
	if ((uint64_t)st.st_size < file_from + win) {
		b->shrank = true;
		errno = EIO;
		return -1;
	}
	m = mmap(NULL, (size_t)(file_from + win - file_start), PROT_READ, MAP_PRIVATE, b->fd,
		 (off_t)file_start);
	if (m == MAP_FAILED)
		goto read;
	unmap_window(b);
	b->map = m;
	b->map_len = (size_t)(file_from + win - file_start);
	b->buf = b->map + (file_from - file_start);
	b->base = from;
	b->len = (size_t)win;
	b->pos = pos;
	b->eof = from + win == b->size;
	b->mapped = true;
	report_progress(b);
	return 0;
read:
	leave_mapped(b);
	return 1;
}

/* The buffer's first n bytes are dropped: their CRC-64 kept (through an xz decoder). */
static void drop(struct bsrc *b, size_t n)
{
	if (b->crc64_on)
		b->crc64 = lzma_crc64(b->buf, n, b->crc64);
}

bool bsrc_dropped_crc64(const struct bsrc *b, uint64_t *crc)
{
	*crc = b->crc64;
	return b->crc64_on;
}

/* Read more input after the unread (and held) bytes until n are there or the input ends. */
static int fill(struct bsrc *b, size_t n)
{
	size_t keep = kept_from(b), cap, want;

	if (b->memory)
		return 0; /* everything is there already */
	if (sink_upto(b, b->base + keep))
		return -1;
	if (b->ext_map && !b->dec && !b->sink) {
		int rc = extent_window(b, keep, n);

		if (rc <= 0)
			return rc;
		keep = kept_from(b); /* the buffer now starts at the oldest byte kept */
	}
	if (b->mapped) {
		int rc = slide_window(b, keep, n);

		if (rc == 0 || b->shrank || errno == ENOBUFS)
			return rc;
		/* A file system that cannot map (some FUSE ones): read instead. */
		leave_mapped(b);
		return fill(b, n);
	}
	/* Through a decoder, the lookbehind stays too (and the buffer is larger). */
	if (b->dec)
		keep -= keep < BSRC_LOOKBEHIND ? keep : BSRC_LOOKBEHIND;
	cap = b->dec ? b->store_cap : BSRC_BUFFER;
	if (keep > 0) {
		drop(b, keep);
		memmove(b->buf, b->buf + keep, b->len - keep);
		b->base += keep;
		b->len -= keep;
		b->pos -= keep;
	}
	if (n > cap - b->pos) {
		errno = ENOBUFS; /* a held section larger than the buffer */
		return -1;
	}
	n += b->pos;
	/* A decoder fills the buffer, so that the lookbehind moves seldom. */
	want = b->dec ? cap : n;
	while (b->len < want && !b->eof) {
		ssize_t got = b->dec ? decoder_read(b->dec, b->buf + b->len, cap - b->len) :
			      b->ext ? extents_read(b, b->buf + b->len, BSRC_BUFFER - b->len,
						    b->base + b->len) :
				       read(b->fd, b->buf + b->len, BSRC_BUFFER - b->len);

		if (got < 0 && !b->dec && errno == EINTR)
			continue;
		if (got < 0) {
			errno = b->dec ? EBADMSG : errno;
			return -1;
		}
		if (got == 0)
			b->eof = true;
		b->len += (size_t)got;
	}
	report_progress(b);
	return 0;
}

size_t bsrc_available(struct bsrc *b, size_t n)
{
	/*
	 * At most what fits once the buffer slides to the oldest byte kept:
	 * measured from there, not from the buffer's start, or a read at the
	 * edge of a full buffer or mapped window (pos == BSRC_BUFFER) would
	 * find 0 bytes and take it for the end of the input.  A source in
	 * memory holds it all already.
	 */
	size_t room = BSRC_BUFFER - (b->pos - kept_from(b));

	if (!b->memory && n > room)
		n = room;
	if (b->len - b->pos < n)
		fill(b, n);
	return b->len - b->pos < n ? b->len - b->pos : n;
}

/* The file shrank under a mapped window: what was read there may be zeros. */
static int shrunk(const struct bsrc *b, struct fmt_error *e)
{
	return fmt_fail(e, FMT_ERR_SYSTEM, b->path, "the file became shorter while fredck read it");
}

const uint8_t *bsrc_peek(struct bsrc *b, size_t n, const char *field, struct fmt_error *e)
{
	if (b->shrank) {
		shrunk(b, e);
		return NULL;
	}
	if (n > BSRC_BUFFER) {
		fmt_malformed(e, b->path, bsrc_offset(b), field,
			      "%zu bytes at once is more than fredck reads in one piece", n);
		return NULL;
	}
	if (b->len - b->pos < n && fill(b, n) != 0) {
		if (b->dec && decoder_error(b->dec)[0])
			fmt_malformed(e, b->path, bsrc_offset(b), field, "%s", decoder_error(b->dec));
		else if (b->shrank)
			shrunk(b, e);
		else
			fmt_syserr(e, b->path, b->sink_errno ? b->sink_errno : errno,
				   b->sink_errno ? "cannot write the output" : "cannot read");
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
	/* Held in memory (bsrc_hold_rest): anywhere in it, a pipe's bytes too. */
	if (b->memory && off >= b->base && off <= b->base + b->len) {
		b->pos = (size_t)(off - b->base);
		return 0;
	}
	if (!b->seekable || off > b->size)
		return fmt_malformed(e, b->path, bsrc_offset(b), "(offset)",
				     "offset %llu is beyond the end of the input (%llu bytes)",
				     (unsigned long long)off, (unsigned long long)b->size);
	if (off >= b->base && off <= b->base + b->len) {
		b->pos = (size_t)(off - b->base);
		return 0;
	}
	if (b->mapped) {
		/* The next read maps the window there. */
		unmap_window(b);
		b->buf = b->store;
		b->base = off;
		b->pos = b->len = 0;
		b->eof = false;
		return 0;
	}
	if (!b->ext && lseek(b->fd, (off_t)off, SEEK_SET) < 0)
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
	if (b->seekable && !b->sink) {
		if (n > b->size - here)
			return fmt_malformed(e, b->path, here, field,
					     "truncated: %llu bytes needed, the input ends after %llu",
					     (unsigned long long)n,
					     (unsigned long long)(b->size - here));
		return bsrc_seek(b, here + n, e);
	}
	while (n) {
		/* Half the buffer: held bytes may occupy the rest. */
		size_t chunk = n < BSRC_BUFFER / 2 ? (size_t)n : BSRC_BUFFER / 2;

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

void bsrc_set_sink(struct bsrc *b, int (*sink)(void *, const uint8_t *, size_t), void *ctx)
{
	leave_mapped(b);
	b->sink = sink;
	b->sink_ctx = ctx;
	b->emitted = bsrc_offset(b);
	b->seekable = false; /* every byte must pass through the buffer */
	if (b->fd >= 0)
		fcntl(b->fd, F_SETPIPE_SZ, 1 << 20); /* fails harmlessly on a file */
}

void bsrc_hold(struct bsrc *b, uint64_t off)
{
	b->hold = off;
}

void bsrc_release(struct bsrc *b)
{
	b->hold = UINT64_MAX;
}

int bsrc_emit_to(struct bsrc *b, uint64_t upto, struct fmt_error *e)
{
	if (sink_upto(b, upto))
		return fmt_syserr(e, b->path, b->sink_errno, "cannot write the output");
	return 0;
}

int bsrc_inject(struct bsrc *b, const uint8_t *data, size_t len, struct fmt_error *e)
{
	if (!b->sink) /* held bytes are the holder's to write, not the source's */
		return fmt_fail(e, FMT_ERR_SYSTEM, b->path,
				"internal error: a replacement for bytes held in memory");
	if (b->sink(b->sink_ctx, data, len))
		return fmt_syserr(e, b->path, errno, "cannot write the output");
	return 0;
}

void bsrc_mark_emitted(struct bsrc *b, uint64_t to)
{
	if (to > b->emitted)
		b->emitted = to;
}

const uint8_t *bsrc_at(const struct bsrc *b, uint64_t off, size_t len)
{
	if (off < b->base || off + len > b->base + b->len)
		return NULL;
	return b->buf + (off - b->base);
}

int bsrc_decode(struct bsrc *b, enum codec c, struct fmt_error *e)
{
	uint64_t start = bsrc_offset(b);
	char error[256];
	size_t have = b->len - b->pos;

	if (b->sink)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, b->path,
				"a compressed image cannot be filtered");
	leave_mapped(b);
	have = b->len - b->pos;
	b->dec = decoder_new(c, b->fd, b->buf + b->pos, have, error, sizeof(error));
	if (!b->dec)
		return fmt_fail(e, FMT_ERR_SYSTEM, b->path, "cannot decompress: %s", error);
	decoder_set_origin(b->dec, start);
	{
		uint8_t *m = realloc(b->store, BSRC_DEC_STORE);

		if (!m)
			return fmt_syserr(e, b->path, ENOMEM, "cannot read");
		b->store = b->buf = m;
		b->store_cap = BSRC_DEC_STORE;
	}
	b->crc64_on = c == CODEC_XZ;
	b->crc64 = 0;
	if (asprintf(&b->label, "%s (%s-decompressed stream)", b->path, codec_name(c)) < 0)
		b->label = NULL;
	if (b->label)
		b->path = b->label;
	b->pos = b->len = 0;
	b->base = 0;
	b->eof = false;
	b->seekable = false;
	b->size = 0;
	b->reported = 0;
	return 0;
}

/* One read of the rest into buf[len..cap): bytes read, 0 at the end, -1 on error. */
static ssize_t read_more(struct bsrc *b, size_t cap)
{
	ssize_t got;

	do
		got = b->dec ? decoder_read(b->dec, b->buf + b->len, cap - b->len) :
		      b->ext ? extents_read(b, b->buf + b->len, cap - b->len, b->base + b->len) :
			       read(b->fd, b->buf + b->len, cap - b->len);
	while (got < 0 && !b->dec && errno == EINTR);
	if (got < 0 && b->dec)
		errno = EBADMSG;
	return got;
}

/* The buffer grown (doubling, up to bsrc_hold_max + 1 so that "too much" shows). */
static int grow_store(struct bsrc *b, size_t *cap)
{
	uint64_t want = (uint64_t)*cap * 2;
	uint8_t *m;

	if (want > bsrc_hold_max + 1)
		want = bsrc_hold_max + 1;
	if (want <= *cap || want > SIZE_MAX)
		return -1;
	m = realloc(b->store, (size_t)want);
	if (!m)
		return -1;
	b->store = b->buf = m;
	b->store_cap = *cap = (size_t)want;
	return 0;
}

int bsrc_hold_rest(struct bsrc *b, const char *field, struct fmt_error *e)
{
	uint64_t from = bsrc_offset(b);
	size_t cap = b->store_cap, keep;

	if (b->memory)
		return 0;
	leave_mapped(b);
	if (sink_upto(b, from))
		return fmt_syserr(e, b->path, b->sink_errno, "cannot write the output");
	/*
	 * Through a decoder, up to BSRC_LOOKBEHIND bytes before from that are
	 * still in the buffer stay too: a repair that keeps the compressed
	 * bytes up to a cut just before the device state then has the rest
	 * in memory (qemu_write.c, write_tail_from_held).
	 */
	keep = b->dec && b->buf == b->store ?
		       (b->pos < BSRC_LOOKBEHIND ? b->pos : BSRC_LOOKBEHIND) : 0;
	drop(b, b->pos - keep);
	memmove(b->store, b->buf + b->pos - keep, b->len - b->pos + keep);
	b->buf = b->store;
	b->len -= b->pos - keep;
	b->base = from - keep;
	b->pos = keep;
	while (!b->eof && b->len - keep <= bsrc_hold_max) {
		ssize_t got;

		if (b->len == cap && grow_store(b, &cap))
			return fmt_syserr(e, b->path, ENOMEM, "cannot hold the device state");
		got = read_more(b, cap);
		if (got < 0 && b->dec && decoder_error(b->dec)[0])
			return fmt_malformed(e, b->path, b->base + b->len, field, "%s",
					     decoder_error(b->dec));
		if (got < 0)
			return fmt_syserr(e, b->path, errno, "cannot read");
		b->eof = got == 0;
		b->len += (size_t)got;
		report_progress(b);
	}
	if (b->len - keep > bsrc_hold_max)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, b->path,
				"byte %llu (%s): more than %llu KiB from here to the end of the "
				"stream, the most fredck holds in memory until the device "
				"description has been read",
				(unsigned long long)from, field,
				(unsigned long long)(bsrc_hold_max >> 10));
	b->memory = true;
	b->sink = NULL;
	b->hold = UINT64_MAX;
	b->emitted = b->base + b->len;
	return 0;
}
