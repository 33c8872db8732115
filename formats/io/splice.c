/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * splice.c --- where a compressed libvirt image can be cut before the
 * first edit, so that its compressed bytes up to there are kept and only
 * the rest is compressed again (docs/design.md, "Repairing a compressed
 * image").
 *
 * zstd: a frame is a header and blocks, each block's header saying its
 * compressed size and whether it is the frame's last; the decompressed
 * size of a compressed block is only known by decompressing it, so the
 * decoder of the first pass notes the block ends (decode.c, zstd_track)
 * and the cut is taken among them.  Cutting after a block: its
 * last-block flag set, the frame's content size (when it has one) and
 * content checksum (XXH64 of the kept content, libxxhash) rewritten.
 * Format: RFC 8878.
 *
 * lzop: a header, then independent blocks, each with its decompressed
 * and compressed sizes and checksums in front: the cut is after a block,
 * nothing rewritten; the tail's blocks (from lzop -c, its header
 * dropped) follow in the same file, as lzop -d reads only one file
 * without complaint.  Layout: lzop 1.04's src/lzop.c (read_header,
 * x_decompress) and the lzop documentation.
 *
 * xz: stream header, blocks, index, footer; LZMA2 data is chunks whose
 * headers give their decompressed sizes, so nothing is decompressed: the
 * block is ended after a chunk (end marker, padding), and its check (over
 * the kept content, which only the tail's encoder sees go by), the index
 * and the footer are written by that encoder.  Format: the .xz file
 * format 1.1.0 and its LZMA2 chunk headers.
 *
 * gzip: a member is deflate blocks, bit-aligned, then CRC-32 and the
 * length of its content.  The decoder of the first pass stops at every
 * block's end (zlib's inflate with Z_BLOCK, as zlib's examples/gzjoin.c
 * does) and notes the bit, the content's CRC-32 and length there; the
 * kept blocks are followed by an empty final block (fixed codes), padding
 * to a byte and the member's trailer, then a new member.  RFC 1951, 1952.
 *
 * bzip2: a stream is bit-aligned blocks, each led by a 48-bit magic and
 * its CRC, then an end-of-stream magic and the combined CRC of the
 * blocks.  The decoder proves each block's start with libbz2 itself (a
 * magic can occur by chance inside a block: decode.c, bz_judge); the kept
 * blocks are followed by the end-of-stream magic, their combined CRC and
 * padding, then a new stream.  Layout: bzip2 1.0.8's compress.c and
 * decompress.c.
 *
 * Nothing here is trusted: every size is checked against the bytes that
 * exist; a stream that cannot be followed is recompressed whole, and the
 * decompressor then reports what is wrong with it.
 */
#include "config.h"

#include <errno.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/io/splice.h"
#include "formats/io/whole_file.h"

#define READ_CAP (4U << 20)
#define SCAN_READ (64U << 10) /* the least a read after a jump asks for */

/* Reading the compressed data forward, in pieces of any size up to READ_CAP / 2. */
struct reader {
	int fd;
	uint64_t end;  /* file offset where the compressed data ends */
	uint64_t base; /* file offset of buf[0] */
	uint8_t *buf;
	size_t len, pos;
};

/* The next n bytes, or NULL when fewer are left (or the read failed). */
static const uint8_t *take(struct reader *r, size_t n)
{
	if (r->len - r->pos < n) {
		uint64_t want;
		ssize_t got;

		if (n > READ_CAP / 2)
			return NULL;
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->base += r->pos;
		r->len -= r->pos;
		r->pos = 0;
		/*
		 * What is asked for and a little more: the scan steps over the
		 * data between headers (skip), so a whole buffer read for each
		 * header would copy the compressed data many times over.
		 */
		want = n - r->len > SCAN_READ ? n - r->len : SCAN_READ;
		if (want > READ_CAP - r->len)
			want = READ_CAP - r->len;
		if (r->base + r->len + want > r->end)
			want = r->end - r->base - r->len;
		do
			got = pread(r->fd, r->buf + r->len, want, (off_t)(r->base + r->len));
		while (got < 0 && errno == EINTR);
		if (got > 0)
			r->len += (size_t)got;
		if (r->len < n)
			return NULL;
	}
	r->pos += n;
	return r->buf + r->pos - n;
}

static uint64_t offset_of(const struct reader *r)
{
	return r->base + r->pos;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* All of buf[len] at off, or -1 with errno. */
static int pwrite_full(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? (errno = EIO, -1) : -1;
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- zstd ----------------------------------------------------------------- */

/*
 * The last cut the decoder saw (decode.c, zstd_track) at or before the
 * limit.  A cut after a block inside a frame: that block's Last_Block
 * flag set, the content-size field (when there is one) saying the kept
 * size, and the content checksum (when the frame has one) the low 32 bits
 * of XXH64 of the kept content.
 */
static void zstd_from_cuts(const struct zstd_cut *cuts, size_t n, uint64_t limit,
			   struct splice_plan *p)
{
	const struct zstd_cut *c = NULL;

	for (size_t i = 0; i < n && cuts[i].d_end <= limit; i++)
		c = &cuts[i];
	if (!c) {
		snprintf(p->why, sizeof(p->why), "%s", n ? "no zstd block ends before the first edit" :
			 "the zstd frames could not be followed");
		return;
	}
	p->c_keep = c->c_end;
	p->d_keep = c->d_end;
	p->hash_from = c->frame_d_start;
	p->d_hash = c->frame_hash;
	p->d_hash_set = true;
	p->found = true;
	if (c->frame_end)
		return;
	p->patch[0] = (struct splice_patch){ .off = c->block_hdr_off, .len = 1,
					     .bytes = { c->block_hdr0 | 1 } };
	p->npatch = 1;
	if (c->fcs_size) {
		uint64_t content = c->d_end - c->frame_d_start;
		struct splice_patch *x = &p->patch[p->npatch++];

		x->off = c->fcs_off;
		x->len = c->fcs_size;
		/* The 2-byte form holds size - 256 (the decoder kept no cut below 256). */
		put_le(x->bytes, c->fcs_size == 2 ? content - 256 : content, c->fcs_size);
	}
	if (c->checksum) {
		put_le(p->trailer, c->frame_hash & 0xFFFFFFFFU, 4);
		p->trailer_len = 4;
	}
}

/* ---- gzip and bzip2 ------------------------------------------------------ */

size_t splice_deflate_close(uint8_t last, unsigned int bits, uint32_t crc, uint32_t isize,
			    uint8_t out[16])
{
	/*
	 * The block's own bits of its last byte (the low ones), then an empty
	 * final block with the fixed codes: BFINAL 1, BTYPE 01 (both read
	 * from the least significant bit: 0b011), the end-of-block code 256
	 * (seven 0 bits), zero bits to the byte's end (RFC 1951 3.2.3, 3.2.6);
	 * then the member's CRC-32 and ISIZE, little-endian (RFC 1952 2.3.1).
	 */
	uint32_t acc = (uint32_t)last & ((1U << bits) - 1U);
	size_t n = (bits + 10 + 7) / 8;

	acc |= 3U << bits;
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(acc >> (8 * i));
	put_le(out + n, crc, 4);
	put_le(out + n + 4, isize, 4);
	return n + 8;
}

/* v's n low bits at bit *at of out (zeroed), the most significant first, as bzip2 writes. */
static void put_bits_msb(uint8_t *out, size_t *at, uint64_t v, unsigned int n)
{
	while (n--) {
		if (v >> n & 1)
			out[*at / 8] |= (uint8_t)(0x80U >> (*at % 8));
		(*at)++;
	}
}

size_t splice_bzip2_close(uint8_t last, unsigned int bits, uint32_t combined, uint8_t out[16])
{
	/* The kept bits of the last byte (the high ones), the end-of-stream magic, the combined CRC. */
	size_t at = 0;

	memset(out, 0, 16);
	put_bits_msb(out, &at, (uint64_t)last >> (8 - bits), bits);
	put_bits_msb(out, &at, 0x177245385090ULL, 48);
	put_bits_msb(out, &at, combined, 32);
	return (at + 7) / 8;
}

/*
 * The last cut the decoder saw (decode.c, decoder_bit_cuts) at or before
 * the limit.  After a whole member or stream: kept as it is.  Inside one:
 * its last byte taken into the trailer with what closes it.
 */
/*
 * The level the member (stream) at member_at was made with, for the tail:
 * bzip2's header names it ("BZh" and '1' to '9', the block size); gzip's
 * XFL says 2 for the slowest (-9) and 4 for the fastest (-1), else
 * nothing (0: the default, 6).
 */
static int level_of_member(enum codec c, int fd, uint64_t member_at)
{
	uint8_t h[9];
	ssize_t got;

	do
		got = pread(fd, h, sizeof(h), (off_t)member_at);
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof(h))
		return 0;
	if (c == CODEC_BZIP2)
		return memcmp(h, "BZh", 3) == 0 && h[3] >= '1' && h[3] <= '9' ? h[3] - '0' : 0;
	if (h[0] != 0x1f || h[1] != 0x8b)
		return 0;
	return h[8] == 2 ? 9 : h[8] == 4 ? 1 : 0;
}

static void bits_from_cuts(enum codec c, int fd, uint64_t c_start, const struct bit_cut *cuts,
			   size_t n, uint64_t limit, struct splice_plan *p)
{
	const struct bit_cut *k = NULL;
	unsigned int bits;
	uint8_t last = 0;

	for (size_t i = 0; i < n && cuts[i].d_end <= limit; i++)
		k = &cuts[i];
	p->level = level_of_member(c, fd, c_start + (k ? k->member_c_bits / 8 : 0));
	if (!k) {
		snprintf(p->why, sizeof(p->why), "%s", !n ? (c == CODEC_GZIP ?
			 "the gzip data could not be followed (no deflate block ends in it)" :
			 "the bzip2 data could not be followed (no block proven in it)") :
			 c == CODEC_GZIP ? "no deflate block ends before the first edit" :
			 "no bzip2 block ends before the first edit");
		return;
	}
	p->cut = *k;
	p->c_keep = k->c_bits / 8;
	p->d_keep = k->d_end;
	p->hash_from = k->member_d_start;
	p->d_hash = k->member_hash;
	p->d_hash_set = true;
	bits = (unsigned int)(k->c_bits % 8);
	if (!k->member_end && bits) {
		ssize_t got;

		do
			got = pread(fd, &last, 1, (off_t)(c_start + p->c_keep));
		while (got < 0 && errno == EINTR);
		if (got != 1) {
			snprintf(p->why, sizeof(p->why), "cannot read the compressed data again");
			return;
		}
	}
	if (!k->member_end)
		p->trailer_len = c == CODEC_GZIP ?
			splice_deflate_close(last, bits, k->crc,
					     (uint32_t)(k->d_end - k->member_d_start), p->trailer) :
			splice_bzip2_close(last, bits, k->crc, p->trailer);
	p->found = true;
}

/* ---- lzop ----------------------------------------------------------------- */

#define LZOP_ADLER32_D 0x1U
#define LZOP_ADLER32_C 0x2U
#define LZOP_CRC32_D 0x100U
#define LZOP_CRC32_C 0x200U
#define LZOP_BLOCK_MAX (64U << 20) /* lzop's MAX_BLOCK_SIZE */

static void lzop_find(struct reader *r, uint64_t c_start, uint64_t limit, struct splice_plan *p)
{
	const uint8_t *h = take(r, 512 < r->end - c_start ? 512 : (size_t)(r->end - c_start));
	size_t hlen;
	uint64_t d = 0;

	if (!h || lzop_header(h, r->len, &hlen, &p->lzop_method, &p->lzop_level,
			      &p->lzop_block_flags) != 0) {
		snprintf(p->why, sizeof(p->why), "an lzop header fredck does not continue");
		return;
	}
	r->pos = hlen;
	for (;;) {
		const uint8_t *b = take(r, 8);
		uint32_t dst = b ? be32(b) : 0, src = b ? be32(b + 4) : 0, sums = 0;
		uint32_t f = p->lzop_block_flags;

		if (!b || dst == 0)
			break; /* the end of the file: the last cut stands */
		if (dst > LZOP_BLOCK_MAX || src > dst) {
			snprintf(p->why, sizeof(p->why), "an lzop block header that is not valid");
			break;
		}
		sums = ((f & LZOP_ADLER32_D) ? 4 : 0) + ((f & LZOP_CRC32_D) ? 4 : 0);
		if (src < dst)
			sums += ((f & LZOP_ADLER32_C) ? 4 : 0) + ((f & LZOP_CRC32_C) ? 4 : 0);
		if (d + dst > limit)
			break;
		if (r->end - offset_of(r) < (uint64_t)sums + src) {
			snprintf(p->why, sizeof(p->why), "an lzop block is cut short");
			break;
		}
		/* Step over the data: the decompressor checks it, in the same pass. */
		r->base = offset_of(r) + sums + src;
		r->pos = r->len = 0;
		d += dst;
		p->c_keep = offset_of(r) - c_start;
		p->d_keep = d;
		p->found = true;
	}
	if (!p->found && !p->why[0])
		snprintf(p->why, sizeof(p->why), "no lzop block ends before the first edit");
}

/* ---- xz ------------------------------------------------------------------- */

/*
 * The .xz format (tukaani.org, xz-file-format-1.1.0): a stream header
 * (magic, flags naming the check, CRC-32), blocks, an index (a record of
 * unpadded and uncompressed size per block), a footer.  A block: a header
 * (size byte, flags, optional sizes, filter flags, CRC-32), the filter's
 * data, padding to 4 bytes, the check of its decompressed content.  LZMA2
 * data is chunks, each saying its decompressed size, ended by a 0x00
 * byte: a block can be ended after any chunk without decompressing.
 */

static const uint8_t xz_magic[6] = { 0xFD, '7', 'z', 'X', 'Z', 0 };

struct xz_record {
	uint64_t unpadded, uncompressed;
};

struct xz_scan {
	uint8_t flags[2]; /* the stream's, for the footer */
	size_t check_size;
	bool cut_check_ok;
	const char *no_cut; /* why a block could not be cut inside */
	struct xz_record *rec;
	size_t nrec, cap;
	/* The cut: after rec[0..cut_nrec), and a cut block when cut_block. */
	size_t cut_nrec;
	bool cut_block;
	struct xz_record cut_rec;
	uint64_t cut_check_from;
	size_t cut_pad;
	bool cut_at_stream_end;
};

static size_t xz_check_size(unsigned int check)
{
	return check == 0 ? 0 : 4U << ((check - 1) / 3);
}

/* A variable-length integer (at most 9 bytes); false when not one. */
static bool xz_varint(const uint8_t *p, size_t len, size_t *at, uint64_t *v)
{
	*v = 0;
	for (size_t i = 0; i < 9 && *at < len; i++) {
		uint8_t b = p[(*at)++];

		*v |= (uint64_t)(b & 0x7F) << (7 * i);
		if (!(b & 0x80))
			return b != 0 || i == 0;
	}
	return false;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* A variable-length integer from r, its length added to *size. */
static bool take_varint(struct reader *r, uint64_t *v, uint64_t *size)
{
	*v = 0;
	for (size_t i = 0; i < 9; i++) {
		const uint8_t *b = take(r, 1);

		if (!b)
			return false;
		(*size)++;
		*v |= (uint64_t)(*b & 0x7F) << (7 * i);
		if (!(*b & 0x80))
			return *b != 0 || i == 0;
	}
	return false;
}

/* Step over n bytes of data, which the decompressor checks in the filter's pass. */
static bool skip(struct reader *r, uint64_t n)
{
	if (r->end - offset_of(r) < n)
		return false;
	r->base = offset_of(r) + n;
	r->pos = r->len = 0;
	return true;
}

static bool xz_add_record(struct xz_scan *x, uint64_t unpadded, uint64_t uncompressed)
{
	if (x->nrec == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 64;
		struct xz_record *n = realloc(x->rec, cap * sizeof(*n));

		if (!n)
			return false;
		x->rec = n;
		x->cap = cap;
	}
	x->rec[x->nrec++] = (struct xz_record){ unpadded, uncompressed };
	return true;
}

/* The LZMA2 chunks of a block from its data; false when the scan must stop. */
static bool xz_chunks(struct reader *r, uint64_t c_start, uint64_t limit, uint64_t *d,
		      size_t hsize, bool may_cut, struct xz_scan *x, struct splice_plan *p,
		      const char **why)
{
	uint64_t data_start = offset_of(r), block_d = *d;

	for (;;) {
		const uint8_t *c = take(r, 1);
		uint64_t usize, psize;

		if (!c)
			return *why = "xz data cut short", false;
		if (c[0] == 0x00)
			return true;
		if (c[0] == 0x01 || c[0] == 0x02) {
			const uint8_t *s = take(r, 2);

			if (!s)
				return *why = "xz data cut short", false;
			usize = psize = (uint64_t)(s[0] << 8 | s[1]) + 1;
		} else if (c[0] >= 0x80) {
			const uint8_t *s = take(r, (c[0] >> 5 & 3) >= 2 ? 5 : 4);

			if (!s)
				return *why = "xz data cut short", false;
			usize = ((uint64_t)(c[0] & 0x1F) << 16 | (uint64_t)(s[0] << 8 | s[1])) + 1;
			psize = (uint64_t)(s[2] << 8 | s[3]) + 1;
		} else {
			return *why = "an LZMA2 chunk that is not valid", false;
		}
		if (!skip(r, psize))
			return *why = "xz data cut short", false;
		if (*d + usize > limit)
			return false; /* this chunk holds the edit: the last cut stands */
		*d += usize;
		if (may_cut) {
			/* Ended here: the 0x00 end marker, padding, the check. */
			uint64_t compressed = offset_of(r) - data_start + 1;

			x->cut_nrec = x->nrec;
			x->cut_block = true;
			x->cut_pad = (4 - (hsize + compressed) % 4) % 4;
			x->cut_rec = (struct xz_record){ hsize + compressed + x->check_size,
							 *d - block_d };
			x->cut_check_from = block_d;
			x->cut_at_stream_end = false;
			p->c_keep = offset_of(r) - c_start;
			p->d_keep = *d;
			p->found = true;
		}
	}
}

/* One block, from its header's size byte (not 0); false when the scan must stop. */
static bool xz_block(struct reader *r, uint64_t c_start, uint64_t limit, uint64_t *d,
		     struct xz_scan *x, struct splice_plan *p, const char **why)
{
	size_t hsize = ((size_t)r->buf[r->pos] + 1) * 4, at = 2;
	const uint8_t *h = take(r, hsize);
	uint64_t csize, usize, id, props, block_d = *d, data_start;
	bool sizes;

	if (!h || lzma_crc32(h, hsize - 4, 0) != le32(h + hsize - 4))
		return *why = "an xz block header that is not valid", false;
	sizes = h[1] & 0xC0;
	if ((h[1] & 0x40 && !xz_varint(h, hsize - 4, &at, &csize)) ||
	    (h[1] & 0x80 && !xz_varint(h, hsize - 4, &at, &usize)))
		return *why = "an xz block header that is not valid", false;
	/* One filter, LZMA2 (0x21) with its one property byte: chunks to follow. */
	if ((h[1] & 0x3F) != 0 || !xz_varint(h, hsize - 4, &at, &id) || id != 0x21 ||
	    !xz_varint(h, hsize - 4, &at, &props) || props != 1)
		return *why = "an xz block with filters other than LZMA2 alone", false;
	data_start = offset_of(r);
	/* A block whose header holds its sizes (xz -T) is kept whole or not at all. */
	if (sizes)
		x->no_cut = "the xz block before the edit holds its sizes in its header (xz -T): "
			    "kept whole or not at all";
	else if (!x->cut_check_ok)
		x->no_cut = "the xz check is not CRC-32 or CRC-64: a block is kept whole or not at "
			    "all";
	if (!xz_chunks(r, c_start, limit, d, hsize, !sizes && x->cut_check_ok, x, p, why))
		return false;
	{
		uint64_t compressed = offset_of(r) - data_start;
		size_t pad = (size_t)((4 - (hsize + compressed) % 4) % 4);

		if (!take(r, pad + x->check_size))
			return *why = "xz data cut short", false;
		if (!xz_add_record(x, hsize + compressed + x->check_size, *d - block_d))
			return *why = "out of memory", false;
	}
	x->cut_nrec = x->nrec;
	x->cut_block = false;
	x->cut_at_stream_end = false;
	p->c_keep = offset_of(r) - c_start;
	p->d_keep = *d;
	p->found = *d > 0;
	return true;
}

/* A stream from its header; false when the scan must stop. */
static bool xz_stream(struct reader *r, uint64_t c_start, uint64_t limit, uint64_t *d,
		      struct xz_scan *x, struct splice_plan *p, const char **why)
{
	const uint8_t *h = take(r, 12);

	if (!h || memcmp(h, xz_magic, 6) != 0 || lzma_crc32(h + 6, 2, 0) != le32(h + 8) ||
	    h[6] != 0 || (h[7] & 0xF0))
		return *why = "an xz stream header that is not valid", false;
	memcpy(x->flags, h + 6, 2);
	x->check_size = xz_check_size(h[7] & 0x0F);
	/* A cut block's check is made by the encoder: none, CRC-32 or CRC-64. */
	x->cut_check_ok = (h[7] & 0x0F) == 0 || (h[7] & 0x0F) == 1 || (h[7] & 0x0F) == 4;
	x->nrec = 0;
	for (;;) {
		const uint8_t *b = take(r, 1);

		if (!b)
			return *why = "xz data cut short", false;
		r->pos--;
		if (b[0] == 0x00)
			break;
		if (!xz_block(r, c_start, limit, d, x, p, why))
			return false;
	}
	/* The index (its records are the ones counted) and the footer. */
	{
		uint64_t size = 1, n = 0;

		take(r, 1);
		for (uint64_t i = 0; i < 2 * x->nrec + 1; i++) {
			uint64_t v;

			if (!take_varint(r, &v, &size))
				return *why = "an xz index that is not valid", false;
			if (i == 0)
				n = v;
			if (i == 0 && n != x->nrec)
				return *why = "an xz index that does not list the blocks", false;
		}
		if (!take(r, (size_t)((4 - size % 4) % 4) + 4 + 12))
			return *why = "an xz index or footer cut short", false;
	}
	x->cut_nrec = 0;
	x->cut_block = false;
	x->cut_at_stream_end = true;
	p->c_keep = offset_of(r) - c_start;
	p->d_keep = *d;
	p->found = *d > 0;
	/* Stream padding: zero bytes in fours, then perhaps another stream. */
	while (r->end - offset_of(r) >= 4) {
		const uint8_t *z = take(r, 4);

		if (le32(z) != 0) {
			r->pos -= 4;
			break;
		}
	}
	return true;
}

/* The index and footer closing the cut stream (and its pre bytes and check). */
static int xz_close(const struct xz_scan *x, struct splice_plan *p)
{
	size_t n = x->cut_nrec + (x->cut_block ? 1 : 0), cap = 16 + 18 * (n + 1) + 12, len = 0;
	uint8_t *o = malloc(cap);
	uint32_t crc;

	if (!o)
		return -1;
	o[len++] = 0x00;
	len += put_varint(o + len, n);
	for (size_t i = 0; i < n; i++) {
		const struct xz_record *r = i < x->cut_nrec ? &x->rec[i] : &x->cut_rec;

		len += put_varint(o + len, r->unpadded);
		len += put_varint(o + len, r->uncompressed);
	}
	while (len % 4)
		o[len++] = 0;
	crc = lzma_crc32(o, len, 0);
	put_le(o + len, crc, 4);
	len += 4;
	/* The footer: CRC-32 of backward size and flags, then them, then "YZ". */
	put_le(o + len + 4, len / 4 - 1, 4);
	memcpy(o + len + 8, x->flags, 2);
	put_le(o + len, lzma_crc32(o + len + 4, 6, 0), 4);
	o[len + 10] = 'Y';
	o[len + 11] = 'Z';
	len += 12;
	p->xz_post = o;
	p->xz_post_len = len;
	p->xz_check = -1;
	if (x->cut_block) {
		p->xz_pre[0] = 0x00;
		memset(p->xz_pre + 1, 0, x->cut_pad);
		p->xz_pre_len = 1 + x->cut_pad;
		p->xz_check = x->flags[1] & 0x0F;
		p->xz_check_from = x->cut_check_from;
	}
	return 0;
}

static void xz_find(struct reader *r, uint64_t c_start, uint64_t limit, struct splice_plan *p)
{
	struct xz_scan x = { 0 };
	const char *why = NULL;
	uint64_t d = 0;

	while (offset_of(r) < r->end && xz_stream(r, c_start, limit, &d, &x, p, &why))
		;
	if (p->found && !x.cut_at_stream_end && xz_close(&x, p) != 0) {
		p->found = false;
		why = "out of memory";
	}
	if (!p->found)
		snprintf(p->why, sizeof(p->why), "%s", why ? why : x.no_cut ? x.no_cut :
			 "no LZMA2 chunk or xz block ends before the first edit");
	free(x.rec);
}

void splice_plan_free(struct splice_plan *p)
{
	free(p->xz_post);
	p->xz_post = NULL;
}

void splice_find(enum codec c, int fd, uint64_t c_start, uint64_t c_end, uint64_t limit,
		 const struct decoder *dec, struct splice_plan *p)
{
	struct reader r = { .fd = fd, .end = c_end, .base = c_start };
	size_t ncuts = 0;

	memset(p, 0, sizeof(*p));
	p->codec = c;
	if (c == CODEC_ZSTD) {
		const struct zstd_cut *cuts = dec ? decoder_zstd_cuts(dec, &ncuts) : NULL;

		zstd_from_cuts(cuts, ncuts, limit, p);
		return;
	}
	if (c == CODEC_GZIP || c == CODEC_BZIP2) {
		const struct bit_cut *cuts = dec ? decoder_bit_cuts(dec, &ncuts) : NULL;

		bits_from_cuts(c, fd, c_start, cuts, ncuts, limit, p);
		return;
	}
	r.buf = malloc(READ_CAP);
	if (!r.buf)
		snprintf(p->why, sizeof(p->why), "out of memory");
	else if (c == CODEC_LZOP)
		lzop_find(&r, c_start, limit, p);
	else
		xz_find(&r, c_start, limit, p);
	free(r.buf);
}

int splice_write_patches(const struct splice_plan *p, int out, uint64_t out_off)
{
	for (size_t i = 0; i < p->npatch; i++)
		if (pwrite_full(out, p->patch[i].bytes, p->patch[i].len, out_off + p->patch[i].off))
			return -1;
	if (p->trailer_len && pwrite_full(out, p->trailer, p->trailer_len, out_off + p->c_keep))
		return -1;
	return 0;
}
