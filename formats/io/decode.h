/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * decode.h --- decompressors for compressed libvirt save images.
 */
#ifndef FRED_DECODE_H
#define FRED_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* libvirt's image formats 1-5, in that order. */
enum codec { CODEC_GZIP, CODEC_BZIP2, CODEC_XZ, CODEC_LZOP, CODEC_ZSTD };

struct decoder;

/*
 * A decoder of the compressed bytes that follow on fd, starting with the
 * have bytes already read (pending).  NULL with error filled when it
 * cannot start.
 */
struct decoder *decoder_new(enum codec c, int fd, const uint8_t *pending, size_t have,
			    char *error, size_t error_len);
/* Up to n decompressed bytes; 0 at the end; -1 on bad data (decoder_error). */
ssize_t decoder_read(struct decoder *d, uint8_t *out, size_t n);
const char *decoder_error(const struct decoder *d);
/*
 * lzop: the offset of the first compressed byte (in the image), which its
 * errors add to the offsets they name ("lzop data: byte N (field): ...");
 * 0 unless set.
 */
void decoder_set_origin(struct decoder *d, uint64_t off);

/*
 * zstd: where the compressed data could be cut, as the decoder went
 * through it (every block's end, evenly thinned when there are many): after
 * a block (which then needs its Last_Block flag, the frame's content size
 * and checksum rewritten) or after a whole frame.  Offsets count from the
 * first compressed byte the decoder was given.
 */
struct zstd_cut {
	uint64_t c_end, d_end;      /* compressed and decompressed bytes up to the cut */
	uint64_t frame_d_start;     /* where the frame's content starts */
	uint64_t frame_hash;        /* XXH64 of the frame's content up to the cut */
	uint64_t block_hdr_off;     /* the last kept block's header (not frame_end) */
	uint64_t fcs_off;           /* the frame's content-size field */
	uint8_t block_hdr0, fcs_size;
	bool checksum, frame_end;
};
const struct zstd_cut *decoder_zstd_cuts(const struct decoder *d, size_t *n);

/*
 * gzip and bzip2: where the compressed data could be cut, as the decoder
 * went through it: at the end of a deflate block that is not a member's
 * last (zlib's inflate with Z_BLOCK stops there), before a bzip2 block
 * whose start the decoder proved (libbz2 gave out the whole block before
 * it, fed only the bits up to it), or after a whole member or stream.
 * Evenly thinned when there are many, the last 256 all there.  Bits
 * count from the first compressed byte the decoder was given; in a
 * byte, deflate's go from the least significant, bzip2's from the most.
 * None when the data could not be followed.  The answer is valid until
 * the decoder reads again or is freed.
 */
struct bit_cut {
	uint64_t c_bits;         /* compressed bits up to the cut */
	uint64_t d_end;          /* decompressed bytes up to the cut */
	uint64_t member_d_start; /* where the member's (stream's) content starts */
	uint64_t member_hash;    /* XXH64 of the member's content up to the cut */
	uint64_t member_c_bits;  /* where the member's (stream's) compressed data starts */
	/* gzip: CRC-32 of the member's content up to the cut; bzip2: the
	   stream's combined CRC over the blocks before the cut. */
	uint32_t crc;
	/* bzip2: the stream's blocks before the cut (the first block's start is
	   member_c_bits + 32, after "BZh" and the level; every later one is a
	   cut numbered 1, 2, ...); gzip: 0. */
	uint32_t blocks;
	bool member_end;         /* after a whole member or stream, kept as it is */
};
const struct bit_cut *decoder_bit_cuts(const struct decoder *d, size_t *n);
/*
 * bzip2: every block start libbz2 proved, in bits as the cuts count them,
 * in order (all streams'); NULL when not all are known (more than 2^20).
 */
const uint64_t *decoder_bzip2_starts(const struct decoder *d, size_t *n);

/*
 * The state of XXH64 of the frame's content at one of the last cuts (the
 * one ending at c_end), copied into out, so that the hash can be carried
 * on to the frame's end and compared with its stored checksum; false when
 * that cut's is not kept.
 */
struct XXH64_state_s;
bool decoder_zstd_cut_state(const struct decoder *d, uint64_t c_end, struct XXH64_state_s *out);
void decoder_free(struct decoder *d);
const char *codec_name(enum codec c);
/*
 * What decodes codec c, as linked: "zlib 1.2.13", "libbz2 1.0.8",
 * "liblzma 5.4.1", "liblzo2 2.10" (lzop) or "libzstd 1.5.4"; written into
 * buf, which is returned.
 */
const char *codec_provider(enum codec c, char *buf, size_t len);

/*
 * An encoder writing compressed bytes to fd, with the settings libvirt
 * uses ("PROG -c"; xz -3); lzop through the lzop program.  NULL with
 * error filled when it cannot start.
 */
struct encoder;
struct encoder *encoder_new(enum codec c, int fd, char *error, size_t error_len);
/*
 * The tail of an image whose compressed prefix was kept (formats/io/
 * splice.h): the first skip bytes written are not compressed again but
 * hashed from hash_from and, when hash_set, compared with hash (XXH64)
 * once all are in;
 * lzop's tail continues the kept file, so lzop -c's own header is taken
 * away after it has run and must name the same method, level and block
 * checksums as the kept one.
 */
struct encoder_tail {
	uint64_t skip;
	bool hash_set;
	uint64_t hash, hash_from; /* of the skipped bytes from hash_from on */
	uint8_t lzop_method, lzop_level;
	uint32_t lzop_block_flags;
	int level; /* gzip, bzip2: the input's level, 1 to 9, where known; 0 the default */
	/*
	 * xz: written once the skipped bytes are all in, before the tail's
	 * own stream: close_pre, then (close_check 0, 1 or 4: none, CRC-32,
	 * CRC-64; -1: nothing) the check of the skipped bytes from
	 * close_check_from on, then close_post.
	 */
	const uint8_t *close_pre, *close_post;
	size_t close_pre_len, close_post_len;
	int close_check;
	uint64_t close_check_from;
	/*
	 * The check's value over the block's bytes before the first the
	 * encoder gets (close_check_from 0 then): the first pass's, when the
	 * block starts before what it still holds (bsrc_dropped_crc64).
	 */
	uint64_t close_check_seed;
};
struct encoder *encoder_new_tail(enum codec c, int fd, const struct encoder_tail *t, char *error,
				 size_t error_len);
/* encoder_finish's answer when the tail could not continue the kept prefix. */
#define ENCODER_TAIL_MISMATCH (-2)
/* Compress n bytes; -1 on error (encoder_error). */
int encoder_write(struct encoder *x, const uint8_t *data, size_t n);
/*
 * Flush the end of the compressed stream; -1 on error,
 * ENCODER_TAIL_MISMATCH (also an error) as said above.  Frees x.
 */
int encoder_finish(struct encoder *x, char *error, size_t error_len);
const char *encoder_error(const struct encoder *x);

/*
 * An lzop file's header at p[len]: its length and its block format.
 * -1 when it is not one fredck can continue.
 */
int lzop_header(const uint8_t *p, size_t len, size_t *hlen, uint8_t *method, uint8_t *level,
		uint32_t *block_flags);

#endif
