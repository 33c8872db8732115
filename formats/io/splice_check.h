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
 * Files a and b hold the same bytes in [0, n), except at p's patches (at
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
