/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * splice_check.c --- the read-back of a repair that kept an image's
 * compressed prefix: the kept bytes compared with the input's, and what
 * closes them (a zstd frame's last block, content size and checksum; an
 * xz block's end, check, index and footer) checked in the written file
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
