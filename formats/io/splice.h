/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * splice.h --- keeping the compressed bytes of an image's unchanged
 * prefix: where a compressed stream can be cut before the first edit so
 * that the kept bytes, closed off, are a complete stream of their own and
 * only the rest needs compressing again (docs/design.md, "Repairing a
 * compressed image").
 */
#ifndef FRED_SPLICE_H
#define FRED_SPLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/io/decode.h"

/* A byte range of the kept prefix written differently from the input. */
struct splice_patch {
	uint64_t off; /* from the start of the compressed data */
	uint8_t len;
	uint8_t bytes[8];
};

struct splice_plan {
	bool found;         /* a boundary after the start, at or before the limit */
	enum codec codec;
	uint64_t c_keep;    /* compressed bytes kept, from the start of the compressed data */
	uint64_t d_keep;    /* the decompressed bytes they hold */
	uint64_t d_hash;    /* XXH64 (seed 0) of those decompressed bytes from hash_from, */
	uint64_t hash_from;
	bool d_hash_set;    /* when known (zstd: the kept frame's, from its decoder; else not) */
	struct splice_patch patch[2];
	size_t npatch;
	/*
	 * Written after the kept bytes: a zstd frame's checksum; a gzip
	 * member's or bzip2 stream's last byte (its kept bits) and what
	 * closes it (splice_deflate_close, splice_bzip2_close).
	 */
	uint8_t trailer[16];
	size_t trailer_len;
	/*
	 * xz: what closes the cut stream, written by the tail's encoder
	 * before its own stream: pre (the LZMA2 end marker and the block's
	 * padding, when a block is cut), the block's check over the
	 * decompressed bytes from xz_check_from (the encoder sees them go by;
	 * xz_check: 0 none, 1 CRC-32, 4 CRC-64, -1 no block cut), then post
	 * (the index and the stream footer; malloc'ed, splice_plan_free).
	 */
	uint8_t xz_pre[4];
	size_t xz_pre_len;
	int xz_check;
	uint64_t xz_check_from;
	uint8_t *xz_post;
	size_t xz_post_len;
	/*
	 * gzip and bzip2: the decoder's cut the kept bytes end at (c_bits,
	 * the CRC and the blocks there), for the read-back.
	 */
	struct bit_cut cut;
	/* gzip, bzip2: the level of the member (stream) cut, 1 to 9, for the tail; 0 unknown. */
	int level;
	/* lzop: the header's block format, which the tail's blocks must share. */
	uint8_t lzop_method, lzop_level;
	uint32_t lzop_block_flags;
	char why[200]; /* when !found: why the whole stream is compressed again */
	bool from_memory; /* the writer's: the tail came from the first pass's memory */
};

/*
 * Find the last boundary in the compressed data [c_start, c_end) of fd
 * whose decompressed offset is at most limit: for zstd, gzip and bzip2
 * among the cuts the first pass's decoder dec saw (decoder_zstd_cuts,
 * decoder_bit_cuts; none without dec), for lzop and xz by reading the
 * data's headers.  Never fails: a stream it cannot follow (damaged,
 * unusual) gives found = false and why, and is compressed again whole,
 * where the decompressor reports any damage.
 */
void splice_find(enum codec c, int fd, uint64_t c_start, uint64_t c_end, uint64_t limit,
		 const struct decoder *dec, struct splice_plan *p);

/*
 * What closes a gzip member cut after a deflate block ending bits (0-7)
 * into its last byte last: those bits, an empty final block, padding,
 * the member's CRC-32 and ISIZE.  Its length (at most 11).
 */
size_t splice_deflate_close(uint8_t last, unsigned int bits, uint32_t crc, uint32_t isize,
			    uint8_t out[16]);
/*
 * What closes a bzip2 stream cut before a block starting bits (0-7) into
 * the byte last: those bits, the end-of-stream magic, the combined CRC of
 * the kept blocks, padding.  Its length (at most 11).
 */
size_t splice_bzip2_close(uint8_t last, unsigned int bits, uint32_t combined, uint8_t out[16]);

void splice_plan_free(struct splice_plan *p);

/*
 * Once the kept prefix (c_keep bytes) is copied to out at out_off: write
 * its patches and the trailer after it (c_keep + trailer_len bytes in
 * all).  -1 with errno when writing fails.
 */
int splice_write_patches(const struct splice_plan *p, int out, uint64_t out_off);

#endif
