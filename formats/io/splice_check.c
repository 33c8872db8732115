/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * splice_check.c --- the read-back of a repair that kept an image's
 * compressed prefix: the kept bytes compared with the input's, and what
 * closes them (a zstd frame's last block, content size and checksum; an
 * xz block's end, check, index and footer; a gzip member's empty final
 * block, CRC-32 and ISIZE; a bzip2 stream's end magic and combined CRC)
 * checked in the written file
 * against the format (RFC 8878; the .xz file format 1.1.0, through
 * liblzma's own index and footer decoders) and against what the first
 * pass computed over the decompressed bytes.  Nothing is decompressed
 * here; the tail that follows is decompressed whole by the caller.
 */
#include "config.h"

#include <errno.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "formats/io/splice_check.h"

#define CMP_CHUNK (1U << 20)

/* All of buf[n] at off; false when the file ends first or the read fails. */
static bool read_at(int fd, void *buf, size_t n, uint64_t off)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t got = pread(fd, p, n, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return false;
		p += got;
		n -= (size_t)got;
		off += (uint64_t)got;
	}
	return true;
}

static int bad(char *why, size_t why_len, const char *what, uint64_t at)
{
	snprintf(why, why_len, "%s (byte %llu of the compressed data)", what,
		 (unsigned long long)at);
	return -1;
}

int splice_same_prefix(int a, int b, uint64_t n, const struct splice_plan *p, uint64_t off,
		       char *why, size_t why_len)
{
	uint8_t *x = malloc(CMP_CHUNK), *y = malloc(CMP_CHUNK);
	int rc = 0;

	if (!x || !y) {
		free(x);
		free(y);
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	for (uint64_t at = 0; rc == 0 && at < n;) {
		size_t m = n - at < CMP_CHUNK ? (size_t)(n - at) : CMP_CHUNK;

		if (!read_at(a, x, m, at) || !read_at(b, y, m, at)) {
			snprintf(why, why_len, "cannot read the kept bytes: %s",
				 errno ? strerror(errno) : "a file ended");
			rc = -1;
			break;
		}
		/* The patched bytes are the patches', not the input's. */
		for (size_t i = 0; i < p->npatch; i++) {
			const struct splice_patch *q = &p->patch[i];

			for (size_t k = 0; k < q->len; k++) {
				uint64_t o = off + q->off + k;

				if (o >= at && o < at + m)
					x[o - at] = q->bytes[k];
			}
		}
		if (memcmp(x, y, m) != 0) {
			size_t i = 0;

			while (x[i] == y[i])
				i++;
			snprintf(why, why_len, "the written file's byte %llu is not the kept byte "
				 "of the input", (unsigned long long)(at + i));
			rc = -1;
		}
		at += m;
	}
	free(x);
	free(y);
	return rc;
}

/* ---- zstd (RFC 8878) ---------------------------------------------------- */

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* One frame from pos (its magic read); *pos after it.  -1 when it is not whole. */
static int zstd_frame(int fd, uint64_t off, uint64_t *pos, uint64_t end, bool *checksum,
		      uint64_t *fcs, size_t *fcs_size, char *why, size_t why_len)
{
	static const uint8_t did[4] = { 0, 1, 2, 4 }, sizes[4] = { 0, 2, 4, 8 };
	uint8_t h[14], fhd;
	size_t hlen;
	bool single;

	if (!read_at(fd, &fhd, 1, off + *pos))
		return bad(why, why_len, "a zstd frame header cut short", *pos);
	single = fhd >> 5 & 1;
	*fcs_size = (fhd >> 6) == 0 && single ? 1 : sizes[fhd >> 6];
	*checksum = fhd >> 2 & 1;
	hlen = (single ? 0 : 1) + did[fhd & 3] + *fcs_size;
	if ((fhd & 0x08) || !read_at(fd, h, hlen, off + *pos + 1))
		return bad(why, why_len, "a zstd frame header that is not valid", *pos);
	*fcs = le(h + hlen - *fcs_size, *fcs_size) + (*fcs_size == 2 ? 256 : 0);
	*pos += 1 + hlen;
	for (;;) {
		uint8_t b[3];
		uint32_t v;

		if (*pos + 3 > end || !read_at(fd, b, 3, off + *pos))
			return bad(why, why_len, "a zstd frame runs past the kept bytes", *pos);
		v = (uint32_t)le(b, 3);
		if ((v >> 1 & 3) == 3 || (v >> 3) > (128U << 10))
			return bad(why, why_len, "a zstd block header that is not valid", *pos);
		*pos += 3 + ((v >> 1 & 3) == 1 ? 1 : v >> 3);
		if (v & 1)
			break;
	}
	*pos += *checksum ? 4 : 0;
	if (*pos > end)
		return bad(why, why_len, "a zstd frame runs past the kept bytes", *pos);
	return 0;
}

int splice_check_zstd(int fd, uint64_t off, const struct splice_plan *p, char *why,
		      size_t why_len)
{
	uint64_t pos = 0, end = p->c_keep + p->trailer_len, fcs = 0;
	bool checksum = false, frame = false;
	size_t fcs_size = 0;

	while (pos < end) {
		uint8_t m[8];
		uint32_t magic;

		if (end - pos < 4 || !read_at(fd, m, 4, off + pos))
			return bad(why, why_len, "the kept zstd data ends inside a frame", pos);
		magic = (uint32_t)le(m, 4);
		if ((magic & 0xFFFFFFF0U) == 0x184D2A50U) {
			if (end - pos < 8 || !read_at(fd, m + 4, 4, off + pos + 4))
				return bad(why, why_len, "a skippable frame cut short", pos);
			pos += 8 + le(m + 4, 4);
			frame = false;
			continue;
		}
		if (magic != 0xFD2FB528U)
			return bad(why, why_len, "not a zstd frame", pos);
		pos += 4;
		if (zstd_frame(fd, off, &pos, end, &checksum, &fcs, &fcs_size, why, why_len))
			return -1;
		frame = true;
	}
	if (pos != end)
		return bad(why, why_len, "the kept zstd frames do not end where the tail starts",
			   pos);
	if (!p->npatch)
		return 0; /* the cut was after whole frames: nothing was rewritten */
	/* The cut frame: what the first pass computed over its kept content. */
	if (!frame)
		return bad(why, why_len, "the kept zstd data does not end with a frame", pos);
	if (fcs_size && fcs != p->d_keep - p->hash_from)
		return bad(why, why_len, "the cut zstd frame's content size is not the kept "
			   "content's", pos);
	if (checksum) {
		uint8_t c[4];

		if (!read_at(fd, c, 4, off + end - 4) ||
		    le(c, 4) != (p->d_hash & 0xFFFFFFFFU))
			return bad(why, why_len, "the cut zstd frame's checksum is not XXH64 of "
				   "the kept content", end - 4);
	}
	return 0;
}

/* ---- xz (the .xz file format 1.1.0) --------------------------------------- */

/* The LZMA2 chunks of the block whose data starts at pos end exactly at cut. */
static int xz_chunks_end_at(int fd, uint64_t off, uint64_t pos, uint64_t cut, char *why,
			    size_t why_len)
{
	while (pos < cut) {
		uint8_t c[6];
		uint64_t psize;

		if (!read_at(fd, c, 1, off + pos))
			return bad(why, why_len, "an LZMA2 chunk cut short", pos);
		if (c[0] == 0x01 || c[0] == 0x02) {
			if (!read_at(fd, c + 1, 2, off + pos + 1))
				return bad(why, why_len, "an LZMA2 chunk cut short", pos);
			pos += 3 + ((uint64_t)(c[1] << 8 | c[2]) + 1);
		} else if (c[0] >= 0x80) {
			size_t n = (c[0] >> 5 & 3) >= 2 ? 5 : 4;

			if (!read_at(fd, c + 1, n, off + pos + 1))
				return bad(why, why_len, "an LZMA2 chunk cut short", pos);
			psize = (uint64_t)(c[3] << 8 | c[4]) + 1;
			pos += 1 + n + psize;
		} else {
			return bad(why, why_len, "an LZMA2 chunk that is not valid before the cut",
				   pos);
		}
	}
	return pos == cut ? 0 : bad(why, why_len, "the kept LZMA2 chunks do not end at the cut",
				    pos);
}

/* The last block the index lists: where it starts and its sizes. */
static bool xz_last_block(const lzma_index *idx, lzma_index_iter *last)
{
	lzma_index_iter it;
	bool any = false;

	lzma_index_iter_init(&it, idx);
	while (!lzma_index_iter_next(&it, LZMA_INDEX_ITER_BLOCK)) {
		*last = it;
		any = true;
	}
	return any;
}

int splice_check_xz(int fd, uint64_t off, uint64_t end, const struct splice_plan *p,
		    uint64_t check, char *why, size_t why_len)
{
	uint64_t at = p->c_keep, memlimit = UINT64_MAX, stream, index_at;
	size_t check_len = p->xz_check == 1 ? 4 : p->xz_check == 4 ? 8 : 0, in_pos = 0;
	uint8_t buf[8], foot[12], head[12], *index = NULL;
	lzma_stream_flags ff, hf;
	lzma_index *idx = NULL;
	lzma_index_iter last = { 0 };
	int rc = -1;

	why[0] = '\0';
	if (!p->xz_post)
		return 0; /* the cut was after a whole stream: nothing was written there */
	/* The cut block's end marker, padding and check. */
	if (p->xz_pre_len) {
		uint8_t pre[sizeof(p->xz_pre)];

		if (!read_at(fd, pre, p->xz_pre_len, off + at) ||
		    memcmp(pre, p->xz_pre, p->xz_pre_len) != 0)
			return bad(why, why_len, "the cut xz block's end marker or padding", at);
		at += p->xz_pre_len;
		for (size_t i = 0; i < check_len; i++)
			buf[i] = (uint8_t)(check >> (8 * i));
		if (check_len) {
			uint8_t got[8];

			if (!read_at(fd, got, check_len, off + at) || memcmp(got, buf, check_len))
				return bad(why, why_len, "the cut xz block's check is not the kept "
					   "content's", at);
		}
		at += check_len;
	}
	/* The footer and the index, as liblzma reads them. */
	index_at = at;
	if (end < at + 12 + 8 || !read_at(fd, foot, 12, off + end - 12) ||
	    lzma_stream_footer_decode(&ff, foot) != LZMA_OK ||
	    ff.backward_size != end - 12 - index_at)
		return bad(why, why_len, "the xz stream footer written at the cut", end - 12);
	index = malloc((size_t)ff.backward_size);
	if (!index || !read_at(fd, index, (size_t)ff.backward_size, off + index_at) ||
	    lzma_index_buffer_decode(&idx, &memlimit, NULL, index, &in_pos,
				     (size_t)ff.backward_size) != LZMA_OK ||
	    in_pos != ff.backward_size) {
		bad(why, why_len, "the xz index written at the cut", index_at);
		goto out;
	}
	/* The stream it closes starts where the index's sizes say, with the footer's flags. */
	if (lzma_index_stream_flags(idx, &ff) != LZMA_OK ||
	    lzma_index_stream_size(idx) > end || !xz_last_block(idx, &last)) {
		bad(why, why_len, "the xz index written at the cut", index_at);
		goto out;
	}
	stream = end - lzma_index_stream_size(idx);
	if (!read_at(fd, head, 12, off + stream) || lzma_stream_header_decode(&hf, head) != LZMA_OK ||
	    lzma_stream_flags_compare(&hf, &ff) != LZMA_OK) {
		bad(why, why_len, "the xz stream closed at the cut does not start where its "
		    "index says", stream);
		goto out;
	}
	/* Its last block: the cut one ends where the kept chunks do, and holds the kept content. */
	{
		uint64_t block = stream + last.block.compressed_stream_offset;
		uint8_t size_byte;

		if (!read_at(fd, &size_byte, 1, off + block) || size_byte == 0) {
			bad(why, why_len, "the last xz block the index lists", block);
			goto out;
		}
		if (p->xz_pre_len &&
		    (last.block.uncompressed_size != p->d_keep - p->xz_check_from ||
		     block + last.block.unpadded_size != p->c_keep + 1 + check_len ||
		     xz_chunks_end_at(fd, off, block + ((uint64_t)size_byte + 1) * 4, p->c_keep, why,
				      why_len) != 0)) {
			if (!why[0])
				bad(why, why_len, "the cut xz block's index record", block);
			goto out;
		}
	}
	rc = 0;
out:
	lzma_index_end(idx, NULL);
	free(index);
	return rc;
}

/* ---- gzip and bzip2 (RFC 1951, RFC 1952; bzip2 1.0.8) ---------------------- */

#define BZ_BLOCK_MAGIC 0x314159265359ULL
#define BZ_EOS_MAGIC 0x177245385090ULL

/* n (at most 64) bits of p from bit at, the most significant first (bzip2's order). */
static uint64_t bits_msb(const uint8_t *p, uint64_t at, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++, at++)
		v = v << 1 | (uint64_t)(p[at / 8] >> (7 - at % 8) & 1);
	return v;
}

int splice_check_deflate_close(const uint8_t *w, size_t len, uint8_t in_last, unsigned int bits,
			       uint32_t crc, uint32_t isize, uint64_t at, char *why,
			       size_t why_len)
{
	size_t n = (bits + 10 + 7) / 8;
	uint32_t acc = 0, keep = (1U << (bits & 7)) - 1U;

	if (bits > 7 || len < n + 8)
		return bad(why, why_len, "what closes the cut gzip member is cut short", at);
	/* Deflate's bits go from the least significant of each byte (RFC 1951 3.1.1). */
	for (size_t i = 0; i < n; i++)
		acc |= (uint32_t)w[i] << (8 * i);
	if ((acc & keep) != ((uint32_t)in_last & keep))
		return bad(why, why_len, "the kept bits of the cut gzip member's last byte are not "
			   "the input's", at);
	if ((acc >> bits & 0x3FFU) != 3U)
		return bad(why, why_len, "the final block written at the cut gzip member is not an "
			   "empty block with the fixed codes", at);
	if (acc >> (bits + 10))
		return bad(why, why_len, "the padding after the cut gzip member's final block is not "
			   "zero", at + (bits + 10) / 8);
	if ((uint32_t)le(w + n, 4) != crc)
		return bad(why, why_len, "the cut gzip member's CRC-32 is not the CRC-32 of its kept "
			   "content", at + n);
	if ((uint32_t)le(w + n + 4, 4) != isize)
		return bad(why, why_len, "the cut gzip member's ISIZE is not the length of its kept "
			   "content", at + n + 4);
	return (int)(n + 8);
}

int splice_check_bzip2_close(const uint8_t *w, size_t len, uint8_t in_last, unsigned int bits,
			     uint32_t combined, uint64_t at, char *why, size_t why_len)
{
	size_t n = (bits + 80 + 7) / 8;

	if (bits > 7 || len < n)
		return bad(why, why_len, "what closes the cut bzip2 stream is cut short", at);
	if (bits && w[0] >> (8 - bits) != in_last >> (8 - bits))
		return bad(why, why_len, "the kept bits of the cut bzip2 stream's last byte are not "
			   "the input's", at);
	if (bits_msb(w, bits, 48) != BZ_EOS_MAGIC)
		return bad(why, why_len, "the end-of-stream magic written at the cut bzip2 stream is "
			   "not 0x177245385090", at);
	if (bits_msb(w, bits + 48, 32) != combined)
		return bad(why, why_len, "the cut bzip2 stream's combined CRC is not the one of its "
			   "kept blocks' CRCs", at + (bits + 48) / 8);
	if (n * 8 > bits + 80 && bits_msb(w, bits + 80, (unsigned int)(n * 8 - bits - 80)) != 0)
		return bad(why, why_len, "the padding after the cut bzip2 stream's combined CRC is not "
			   "zero", at + n - 1);
	return (int)n;
}

bool splice_bzip2_block_at(const uint8_t p[11], unsigned int shift, uint32_t *crc)
{
	if (shift > 7 || bits_msb(p, shift, 48) != BZ_BLOCK_MAGIC)
		return false;
	*crc = (uint32_t)bits_msb(p, shift + 48, 32);
	return true;
}

uint32_t splice_bzip2_combine(uint32_t combined, uint32_t block_crc)
{
	return (combined << 1 | combined >> 31) ^ block_crc;
}

int splice_bzip2_kept_starts(const uint64_t *all, size_t n, const struct bit_cut *cut,
			     uint64_t *starts)
{
	uint64_t first = cut->member_c_bits + 32; /* "BZh" and the level */
	size_t lo = 0, hi = n;

	if (cut->member_end || cut->blocks == 0)
		return -1;
	while (lo < hi) { /* the first start at or after the stream's first block */
		size_t mid = lo + (hi - lo) / 2;

		if (all[mid] < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (n - lo < cut->blocks || all[lo] != first)
		return -1;
	for (uint32_t i = 0; i < cut->blocks; i++) {
		starts[i] = all[lo + i];
		if (starts[i] + 80 > cut->c_bits || (i && starts[i] < starts[i - 1] + 80))
			return -1;
	}
	/* As many as the decoder counted before the cut: the next one (if any) is not before it. */
	return lo + cut->blocks == n || all[lo + cut->blocks] >= cut->c_bits ? 0 : -1;
}

int splice_bzip2_kept_blocks(const struct bit_cut *cuts, size_t n, const struct bit_cut *cut,
			     uint64_t *starts)
{
	uint32_t next = 1;

	if (cut->member_end || cut->blocks == 0)
		return -1;
	starts[0] = cut->member_c_bits + 32; /* "BZh" and the level */
	for (size_t i = 0; i < n && next < cut->blocks; i++) {
		const struct bit_cut *k = &cuts[i];

		if (k->member_end || k->member_c_bits != cut->member_c_bits ||
		    k->c_bits >= cut->c_bits)
			continue;
		/* In order, none left out: the list is the decoder's, thinned evenly. */
		if (k->blocks != next || k->c_bits < starts[next - 1] + 80)
			return -1;
		starts[next++] = k->c_bits;
	}
	return next == cut->blocks && cut->c_bits >= starts[next - 1] + 80 ? 0 : -1;
}

int splice_gzip_crc_proof(uint32_t cut_crc, const uint8_t *rest, size_t n,
			  const uint8_t stored[8], uint32_t *kept_isize)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	for (size_t at = 0; at < n;) {
		size_t m = n - at < (1U << 30) ? n - at : (1U << 30);

		crc = crc32(crc, rest + at, (uInt)m);
		at += m;
	}
	*kept_isize = (uint32_t)le(stored + 4, 4) - (uint32_t)n;
	return (uint32_t)crc32_combine(cut_crc, crc, (z_off_t)n) == (uint32_t)le(stored, 4) ? 0 : -1;
}

/* The input's byte holding the cut's kept bits (none when the cut is at a byte's start). */
static bool cut_byte(int in, uint64_t off, const struct splice_plan *p, uint8_t *last)
{
	*last = 0;
	return p->cut.c_bits / 8 == p->c_keep &&
	       (p->cut.c_bits % 8 == 0 || read_at(in, last, 1, off + p->c_keep));
}

int splice_check_gzip(int fd, int in, uint64_t off, const struct splice_plan *p, uint32_t crc,
		      uint32_t isize, uint64_t *len, char *why, size_t why_len)
{
	unsigned int bits = (unsigned int)(p->cut.c_bits % 8);
	size_t n = (bits + 10 + 7) / 8 + 8;
	uint8_t w[19], last;
	int got;

	if (!cut_byte(in, off, p, &last) || !read_at(fd, w, n, off + p->c_keep))
		return bad(why, why_len, "what closes the cut gzip member is cut short", p->c_keep);
	got = splice_check_deflate_close(w, n, last, bits, crc, isize, p->c_keep, why, why_len);
	if (got < 0)
		return -1;
	*len = (uint64_t)got;
	return 0;
}

int splice_check_bzip2(int fd, int in, uint64_t off, const struct splice_plan *p,
		       const uint64_t *starts, size_t n, uint64_t *len, char *why, size_t why_len)
{
	unsigned int bits = (unsigned int)(p->cut.c_bits % 8);
	size_t m = (bits + 80 + 7) / 8;
	uint32_t combined = 0, crc;
	uint8_t w[11], last;
	int got;

	/* The blocks' bits are the input's (splice_same_prefix), which libbz2 checked. */
	for (size_t i = 0; i < n; i++) {
		if (starts[i] + 80 > p->cut.c_bits || (i && starts[i] < starts[i - 1] + 80) ||
		    !read_at(fd, w, 11, off + starts[i] / 8) ||
		    !splice_bzip2_block_at(w, (unsigned int)(starts[i] % 8), &crc))
			return bad(why, why_len, "no bzip2 block magic at a kept block's proven start",
				   starts[i] / 8);
		combined = splice_bzip2_combine(combined, crc);
	}
	if (!n)
		return bad(why, why_len, "no kept block before the bzip2 cut", p->c_keep);
	if (!cut_byte(in, off, p, &last) || !read_at(fd, w, m, off + p->c_keep))
		return bad(why, why_len, "what closes the cut bzip2 stream is cut short", p->c_keep);
	got = splice_check_bzip2_close(w, m, last, bits, combined, p->c_keep, why, why_len);
	if (got < 0)
		return -1;
	*len = (uint64_t)got;
	return 0;
}

/* ---- lzop ------------------------------------------------------------------ */

int splice_check_lzop(int fd, uint64_t off, const struct splice_plan *p, char *why,
		      size_t why_len)
{
	uint8_t h[512], method, level;
	uint32_t flags;
	size_t hlen, n = p->c_keep < sizeof(h) ? (size_t)p->c_keep : sizeof(h);
	uint64_t pos;

	if (!read_at(fd, h, n, off) || lzop_header(h, n, &hlen, &method, &level, &flags) != 0 ||
	    method != p->lzop_method || level != p->lzop_level || flags != p->lzop_block_flags)
		return bad(why, why_len, "the kept lzop header", 0);
	/* Blocks: sizes (decompressed, compressed), then their checksums and data. */
	for (pos = hlen; pos < p->c_keep;) {
		uint8_t b[8];
		uint32_t dst, src, sums;

		if (!read_at(fd, b, 8, off + pos))
			return bad(why, why_len, "an lzop block cut short", pos);
		dst = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
		src = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
		if (dst == 0 || src > dst)
			return bad(why, why_len, "an lzop block header that is not valid", pos);
		sums = ((flags & 0x1U) ? 4 : 0) + ((flags & 0x100U) ? 4 : 0);
		if (src < dst)
			sums += ((flags & 0x2U) ? 4 : 0) + ((flags & 0x200U) ? 4 : 0);
		pos += 8 + (uint64_t)sums + src;
	}
	return pos == p->c_keep ? 0 :
				  bad(why, why_len, "the kept lzop blocks do not end at the cut", pos);
}

int splice_xz_first_block(int fd, uint64_t c_start, uint64_t c_end, uint64_t *d_size,
			  uint8_t check[8])
{
	uint64_t end = c_end, memlimit = UINT64_MAX;
	uint8_t foot[12], *index = NULL;
	lzma_stream_flags ff;
	lzma_index *idx = NULL;
	lzma_index_iter it;
	size_t in_pos = 0;
	int rc = -1;

	/* Stream padding (zero bytes in fours) may follow the footer. */
	while (end >= c_start + 4 && read_at(fd, foot, 4, end - 4) && le(foot, 4) == 0)
		end -= 4;
	if (end < c_start + 12 + 12 || !read_at(fd, foot, 12, end - 12) ||
	    lzma_stream_footer_decode(&ff, foot) != LZMA_OK || ff.check != LZMA_CHECK_CRC64 ||
	    ff.backward_size > end - 12 - c_start - 12 ||
	    !(index = malloc((size_t)ff.backward_size)) ||
	    !read_at(fd, index, (size_t)ff.backward_size, end - 12 - ff.backward_size) ||
	    lzma_index_buffer_decode(&idx, &memlimit, NULL, index, &in_pos,
				     (size_t)ff.backward_size) != LZMA_OK ||
	    lzma_index_stream_flags(idx, &ff) != LZMA_OK)
		goto out;
	/* One stream, from the start of the compressed data: its first block. */
	lzma_index_iter_init(&it, idx);
	if (end - c_start != lzma_index_stream_size(idx) ||
	    lzma_index_iter_next(&it, LZMA_INDEX_ITER_BLOCK) ||
	    it.block.total_size < 8 + 8 || !read_at(fd, check, 8, c_start +
						  it.block.compressed_stream_offset +
						  it.block.total_size - 8))
		goto out;
	*d_size = it.block.uncompressed_size;
	rc = 0;
out:
	lzma_index_end(idx, NULL);
	free(index);
	return rc;
}
