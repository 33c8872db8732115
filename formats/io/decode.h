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
 * have bytes already read (pending); lzop reads fd itself, from its
 * current offset.  NULL with error filled when it cannot start.
 */
struct decoder *decoder_new(enum codec c, int fd, const uint8_t *pending, size_t have,
			    char *error, size_t error_len);
/* Up to n decompressed bytes; 0 at the end; -1 on bad data (decoder_error). */
ssize_t decoder_read(struct decoder *d, uint8_t *out, size_t n);
const char *decoder_error(const struct decoder *d);
void decoder_free(struct decoder *d);
const char *codec_name(enum codec c);
/*
 * What does codec c, as linked or run: "zlib 1.2.13", "libbz2 1.0.8",
 * "liblzma 5.4.1", "libzstd 1.5.4", or "the lzop program" (run when an
 * image needs it); written into buf, which is returned.
 */
const char *codec_provider(enum codec c, char *buf, size_t len);

/*
 * An encoder writing compressed bytes to fd, with the settings libvirt
 * uses ("PROG -c"; xz -3); lzop through the lzop program.  NULL with
 * error filled when it cannot start.
 */
struct encoder;
struct encoder *encoder_new(enum codec c, int fd, char *error, size_t error_len);
/* Compress n bytes; -1 on error (encoder_error). */
int encoder_write(struct encoder *x, const uint8_t *data, size_t n);
/* Flush the end of the compressed stream; -1 on error.  Frees x. */
int encoder_finish(struct encoder *x, char *error, size_t error_len);
const char *encoder_error(const struct encoder *x);

#endif
