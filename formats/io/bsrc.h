/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bsrc.h --- a bounded, buffered byte source over a file or a pipe.
 *
 * Streams are read front to back through one fixed buffer, so memory does
 * not grow with the input; a regular file is also seekable, which lets a
 * reader jump over RAM it never needs.  Every read is checked against the
 * bytes that exist: running out is an error naming the offset and field.
 */
#ifndef FRED_BSRC_H
#define FRED_BSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "formats/io/decode.h"
#include "formats/io/le.h"
#include "formats/io/progress.h"
#include "formats/fmt_error.h"

/* The buffer: also the largest single read (a RAM page, a header, 1 MiB of JSON). */
#define BSRC_BUFFER (4U << 20)
/*
 * Through a decoder, the decompressed bytes the buffer keeps before the
 * next unread one (and bsrc_hold_rest before the held bytes): a repair
 * that keeps the compressed bytes up to a cut shortly before the device
 * state compresses the rest from memory (formats/qemu/qemu_write.c).  4
 * MiB: more than an LZMA2 chunk (2 MiB), a zstd block (128 KiB) or an
 * lzop block (256 KiB) holds.
 */
#define BSRC_LOOKBEHIND (4U << 20)
/* The buffer of a source read through a decoder: the lookbehind moves once in 24 MiB. */
#define BSRC_DEC_STORE (32U << 20)

/*
 * One piece of an input assembled from pieces of a file (a disk image's
 * clusters): input bytes [off, off + len) are the file's bytes from
 * file_off on, or zeros when file_off is BSRC_ZEROS.
 */
struct bsrc_extent {
	uint64_t off, len, file_off;
};
#define BSRC_ZEROS UINT64_MAX

struct bsrc {
	int fd;
	bool own_fd;
	bool seekable;
	uint64_t size;      /* seekable only: the file's size */
	struct stat st;     /* the object opened, as it was then (fstat) */
	const char *path;   /* for error messages */
	uint8_t *buf;
	size_t pos, len;    /* unread bytes are buf[pos..len) */
	uint64_t base;      /* input offset of buf[0] */
	bool eof;
	/*
	 * Filter mode: every byte leaves through sink before the buffer drops
	 * it, except bytes from hold on, which stay until released (a section
	 * that may be rewritten).  sink returns 0, or -1 with errno set.
	 */
	int (*sink)(void *ctx, const uint8_t *data, size_t len);
	void *sink_ctx;
	uint64_t emitted; /* input offset up to which bytes went to the sink */
	uint64_t hold;    /* UINT64_MAX: nothing held */
	int sink_errno;
	uint64_t reported; /* offset at the last progress report */
	uint64_t total;    /* a regular file's size, for progress, whatever reads it */
	/*
	 * A regular file read without a sink or decoder is mapped, a window at
	 * a time, instead of copied by read(): a walk that steps over RAM
	 * pages then touches one header per page and copies nothing.  buf
	 * then points into map (map_len bytes, PROT_READ).
	 */
	bool mapped;
	/*
	 * An input of extents (bsrc_open_extents) whose windows may be mapped:
	 * each inside one piece of the file, the buffer used only where a
	 * read straddles two pieces or zeros.
	 */
	bool ext_map;
	uint8_t *map;
	size_t map_len;
	uint8_t *store; /* the malloc'ed buffer, used whenever not mapped */
	volatile bool shrank; /* mapped: the file became shorter than at open */
	/*
	 * From bsrc_hold_rest on: every remaining byte of the input is in buf
	 * (base..base+len), nothing more is read and nothing is dropped.
	 */
	bool memory;
	struct decoder *dec; /* from bsrc_decode on: bytes come decompressed */
	size_t store_cap;    /* the malloc'ed buffer's size */
	/*
	 * xz: CRC-64 (liblzma's) of the decompressed bytes the buffer has
	 * dropped, [0, base): with the bytes still held, a cut xz block's check
	 * without decompressing again (qemu_write.c).  crc64_on from
	 * bsrc_decode on.
	 */
	bool crc64_on;
	uint64_t crc64;
	char *label;         /* the path as errors then name it */
	/*
	 * bsrc_open_extents: the input is these pieces of the file (sorted,
	 * contiguous from 0, the caller's until bsrc_close), read by pread
	 * into the buffer; ext_at caches the piece of the last read.
	 */
	const struct bsrc_extent *ext;
	size_t n_ext, ext_at;
};

/*
 * Progress through big inputs goes to io_progress (progress.h), at most
 * every 64 MiB read, with the total when the input is a regular file
 * (also in the filter and through a decoder).
 */

/*
 * How many times a mapped file was found shorter by a fault (SIGBUS) while
 * it was read, since the program started: a caller that sees the count
 * change across a whole read must not trust it (zeros stood in for the
 * pages that were gone).
 */
unsigned long bsrc_shrink_faults(void);

/*
 * The most bsrc_hold_rest keeps in memory (default 1 GiB); the CLI may
 * lower it (FREDCK_HOLD_MAX).
 */
extern uint64_t bsrc_hold_max;

/* Open path ("-" is standard input); -1 with e filled. */
int bsrc_open(struct bsrc *b, const char *path, struct fmt_error *e);
/*
 * Read the object open as fd again from its start, through a duplicate of
 * fd (closed by bsrc_close); path names it in errors.  A second pass over
 * an input reads what the first one read, whatever is at its path by now.
 */
int bsrc_reopen_fd(struct bsrc *b, int fd, const char *path, struct fmt_error *e);
void bsrc_close(struct bsrc *b);

/*
 * A source over bytes in memory: buf[len] (malloc'ed, freed by
 * bsrc_close) are the input's bytes from offset base on, read from offset
 * at; path names it in errors.  As after bsrc_hold_rest: nothing more is
 * read, and bsrc_at reaches all of them.
 */
void bsrc_open_memory(struct bsrc *b, uint8_t *buf, size_t len, uint64_t base, uint64_t at,
		      const char *path);

/*
 * Open path as the input made of the pieces x[n] of it (struct
 * bsrc_extent; their end is the input's size), named label in errors
 * ("IMAGE (snapshot 'NAME' VM state)"): a seekable input whose offsets
 * count from the first piece.  The caller has checked every piece against
 * the file; a file found shorter while it is read fails the read ("the
 * file became shorter").  -1 with e filled.
 */
int bsrc_open_extents(struct bsrc *b, const char *path, const char *label,
		      const struct bsrc_extent *x, size_t n, struct fmt_error *e);

/*
 * Seekable inputs: len bytes at input offset off into buf, without moving
 * the reading position; 0, or -1 (errno set) when they are not all there.
 */
int bsrc_pread(struct bsrc *b, void *buf, size_t len, uint64_t off);

/* The input offset of the next unread byte. */
static inline uint64_t bsrc_offset(const struct bsrc *b)
{
	return b->base + b->pos;
}

/*
 * The pointers that bsrc_peek, bsrc_take and bsrc_at return are valid only
 * until the next call that may read: bsrc_peek, bsrc_take,
 * bsrc_available, bsrc_skip, bsrc_seek, bsrc_at_end, bsrc_decode.  Any of
 * them may slide the window -- a mapped window is then unmapped (a later
 * use faults), a read buffer moved (a later use reads other bytes).  Copy
 * what is needed out of the bytes (a number, a name) before the next one.
 * The sink calls (bsrc_emit_to, bsrc_inject, bsrc_mark_emitted,
 * bsrc_hold, bsrc_release) do not move the buffer.
 */

/*
 * Make n bytes (n <= BSRC_BUFFER) available and return them without
 * consuming; NULL at the end of the input (with e naming field and the
 * offset) -- a truncated input.
 */
const uint8_t *bsrc_peek(struct bsrc *b, size_t n, const char *field, struct fmt_error *e);

/* As bsrc_peek, and consume them. */
const uint8_t *bsrc_take(struct bsrc *b, size_t n, const char *field, struct fmt_error *e);

/*
 * Up to n bytes are available (fewer only at the end, or when held bytes
 * fill the buffer): how many.  May slide the window, as bsrc_peek does.
 */
size_t bsrc_available(struct bsrc *b, size_t n);

/* Step over n bytes (seeking where possible); -1 when the input ends first. */
int bsrc_skip(struct bsrc *b, uint64_t n, const char *field, struct fmt_error *e);

/* Seekable inputs, or anywhere in what bsrc_hold_rest holds: go to absolute offset off. */
int bsrc_seek(struct bsrc *b, uint64_t off, struct fmt_error *e);

/* The input is exhausted. */
bool bsrc_at_end(struct bsrc *b);

/*
 * Filter mode: from now on bytes leave through sink (the source is then
 * read strictly front to back, never seeking).
 */
void bsrc_set_sink(struct bsrc *b, int (*sink)(void *, const uint8_t *, size_t), void *ctx);

/*
 * From here on, read the rest of the input through a decompressor:
 * offsets then count decompressed bytes from 0, and errors name the input
 * as "PATH (CODEC-decompressed stream)".  Not in filter mode.
 */
int bsrc_decode(struct bsrc *b, enum codec c, struct fmt_error *e);

/* Keep the bytes from offset off (>= the oldest byte in the buffer) until released. */
void bsrc_hold(struct bsrc *b, uint64_t off);
/*
 * Send the input up to offset upto through the sink (held bytes too), and
 * mark [from, to) as already sent (the caller wrote its replacement).
 */
int bsrc_emit_to(struct bsrc *b, uint64_t upto, struct fmt_error *e);
void bsrc_mark_emitted(struct bsrc *b, uint64_t to);
/* Send len bytes of the caller's (a replacement) through the sink. */
int bsrc_inject(struct bsrc *b, const uint8_t *data, size_t len, struct fmt_error *e);
void bsrc_release(struct bsrc *b);
/*
 * Read the rest of the input into memory (at most bsrc_hold_max bytes):
 * the bytes before the next unread one are sent through the sink first,
 * and from here on the sink is detached (the caller writes what it held)
 * and every remaining byte stays readable at bsrc_at.  -1 with e filled:
 * a read error, or more than bsrc_hold_max bytes (field names them).
 */
int bsrc_hold_rest(struct bsrc *b, const char *field, struct fmt_error *e);

/* Where the input ends, when that is known (a file, or the rest held in memory). */
static inline bool bsrc_known_end(const struct bsrc *b, uint64_t *end)
{
	if (b->memory)
		*end = b->base + b->len;
	else if (b->seekable)
		*end = b->size;
	return b->memory || b->seekable;
}

/*
 * Through an xz decoder: CRC-64 of the decompressed bytes [0, b->base),
 * which the buffer no longer holds; false when it was not kept.
 */
bool bsrc_dropped_crc64(const struct bsrc *b, uint64_t *crc);


/* The bytes at input offset off..off+len, if still in the buffer; else NULL. */
const uint8_t *bsrc_at(const struct bsrc *b, uint64_t off, size_t len);

/*
 * Hint that the byte ahead bytes on will be read soon.  A walk that steps
 * over RAM pages touches one header per page: without the hint each one
 * waits for memory, as the CPU's own prefetcher does not cross pages.
 */
static inline void bsrc_prefetch(const struct bsrc *b, size_t ahead)
{
	if (b->len - b->pos > ahead)
		__builtin_prefetch(b->buf + b->pos + ahead);
}

#endif
