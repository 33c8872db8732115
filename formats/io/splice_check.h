/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * splice_check.h --- the read-back of a repair that kept an image's
 * compressed prefix (formats/io/splice.h): what was written at the cut,
 * checked in the written file against the compressed format itself and
 * against what the first pass computed, without decompressing the kept
 * bytes again (docs/design.md, "Repairing a compressed image").
 */
#ifndef FRED_SPLICE_CHECK_H
#define FRED_SPLICE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/io/splice.h"

/*
 * Files a and b hold the same whole bytes in [0, n) (a gzip or bzip2 cut
 * inside a byte: its kept bits are compared by splice_check_gzip and
 * splice_check_bzip2, with what closes them), except at p's patches (at
 * off + patch offset in b, which holds the patch's bytes there).  -1 with
 * why filled when they differ or cannot be read.
 */
int splice_same_prefix(int a, int b, uint64_t n, const struct splice_plan *p, uint64_t off,
		       char *why, size_t why_len);

/*
 * zstd: the compressed data from off in fd (the written file) is whole
 * frames (and skippable frames) that end exactly after the kept bytes and
 * what closes them (c_keep + trailer_len); the last, when cut, has the
 * content size and checksum of the kept content (d_keep - hash_from
 * bytes, XXH64 d_hash).  Only headers are read.  -1 with why filled.
 */
int splice_check_zstd(int fd, uint64_t off, const struct splice_plan *p, char *why,
		      size_t why_len);

/*
 * xz: what closes the kept bytes, written from off + c_keep in fd up to
 * end (the tail's first byte): the cut block's end marker and padding, its
 * check (expected: check, over the block's kept content, as the read-back
 * computed it), then an index and a footer that liblzma decodes and that
 * describe the stream they close: its header where the index says it
 * starts, its flags the footer's, its last block ending where the kept
 * LZMA2 chunks do (stepped over from the block's header).  -1 with why
 * filled.
 */
int splice_check_xz(int fd, uint64_t off, uint64_t end, const struct splice_plan *p,
		    uint64_t check, char *why, size_t why_len);

/*
 * lzop: the kept bytes from off in fd are an lzop header (the block
 * format the plan names) and whole blocks ending exactly at c_keep.  -1
 * with why filled.
 */
int splice_check_lzop(int fd, uint64_t off, const struct splice_plan *p, char *why,
		      size_t why_len);

/*
 * gzip: what closes the cut member, w[len] (written at byte at of the
 * compressed data, just after the kept whole bytes): the kept low bits
 * (bits, 0-7) of its first byte those of the input's byte in_last; then
 * exactly the empty final block splice_deflate_close writes (BFINAL 1,
 * BTYPE 01, the end-of-block code: ten bits 1, 1, 0...0 from the least
 * significant), zero bits to the byte's end, the CRC-32 crc and the ISIZE
 * isize.  The closer's length (at most 19), or -1 with why filled.
 */
int splice_check_deflate_close(const uint8_t *w, size_t len, uint8_t in_last, unsigned int bits,
			       uint32_t crc, uint32_t isize, uint64_t at, char *why,
			       size_t why_len);

/*
 * bzip2: what closes the cut stream, w[len] (at byte at): the kept high
 * bits (bits) of its first byte those of in_last; then the end-of-stream
 * magic 0x177245385090, the combined CRC combined, zero bits to the
 * byte's end.  The closer's length (at most 11), or -1 with why filled.
 */
int splice_check_bzip2_close(const uint8_t *w, size_t len, uint8_t in_last, unsigned int bits,
			     uint32_t combined, uint64_t at, char *why, size_t why_len);

/* bzip2: the block magic at bit shift (0-7) of p[11], and the block's CRC after it. */
bool splice_bzip2_block_at(const uint8_t p[11], unsigned int shift, uint32_t *crc);

/* bzip2: the stream's combined CRC after one more block (bzip2 1.0.8, compress.c). */
uint32_t splice_bzip2_combine(uint32_t combined, uint32_t block_crc);

/*
 * The same from the decoder's list of every proven block start, all[n]
 * (decoder_bzip2_starts), which no thinning shortens: cut->blocks of
 * them from the stream's first block on, each before the cut, and the
 * next (if any) not before it.  -1 when they are not there.
 */
int splice_bzip2_kept_starts(const uint64_t *all, size_t n, const struct bit_cut *cut,
			     uint64_t *starts);

/*
 * bzip2: where the blocks of the stream the cut lies in start before the
 * cut (in bits from the start of the compressed data; cut->blocks of
 * them, into starts), from the decoder's cuts[n]: the first just after
 * the stream's header, each later one at a proven start the decoder
 * numbered in order.  -1 when one is missing (the list is thinned) or the
 * cut is not inside a stream.
 */
int splice_bzip2_kept_blocks(const struct bit_cut *cuts, size_t n, const struct bit_cut *cut,
			     uint64_t *starts);

/*
 * gzip: the CRC-32 cut_crc of a member's first bytes, carried over the
 * rest of it, rest[n] (crc32_combine), is the CRC-32 stored in the
 * member's trailer (stored: CRC-32 and ISIZE, little-endian): then, as
 * the CRC of a fixed rest is a one-to-one function of the CRC before it,
 * cut_crc is the CRC-32 of exactly the member's content before rest (the
 * content zlib checked against stored).  *kept_isize: the stored ISIZE
 * less n, the length of that content mod 2^32.  -1 when the CRC is not.
 */
int splice_gzip_crc_proof(uint32_t cut_crc, const uint8_t *rest, size_t n,
			  const uint8_t stored[8], uint32_t *kept_isize);

/*
 * gzip, a member cut inside: the closer written in fd at off + c_keep
 * (splice_check_deflate_close), against the input in (its compressed
 * data at the same offset off) for the kept bits and the proven crc and
 * isize; *len: the closer's length.  -1 with why filled.
 */
int splice_check_gzip(int fd, int in, uint64_t off, const struct splice_plan *p, uint32_t crc,
		      uint32_t isize, uint64_t *len, char *why, size_t why_len);

/*
 * bzip2, a stream cut inside: the CRCs of its kept blocks read from fd at
 * their starts[n] (each after a block magic), combined, are the combined
 * CRC of the closer written at off + c_keep (splice_check_bzip2_close;
 * the kept bits against the input in); *len: the closer's length.  -1
 * with why filled.
 */
int splice_check_bzip2(int fd, int in, uint64_t off, const struct splice_plan *p,
		       const uint64_t *starts, size_t n, uint64_t *len, char *why, size_t why_len);

/*
 * xz: the compressed data [c_start, c_end) of fd is one stream with a
 * CRC-64 check (its index and footer decoded by liblzma): the decompressed
 * size of its first block and the check stored after it.  The first pass
 * decompressed the block and liblzma compared that check with its
 * content, so a CRC-64 kept of the block's first bytes can be proven
 * against it.  -1 when it is not so.
 */
int splice_xz_first_block(int fd, uint64_t c_start, uint64_t c_end, uint64_t *d_size,
			  uint8_t check[8]);

#endif
