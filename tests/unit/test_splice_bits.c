/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_splice_bits.c --- the gzip and bzip2 cuts (formats/io/decode.c,
 * decoder_bit_cuts; formats/io/splice.c, splice_find and what closes the
 * cut member or stream): data compressed by zlib and libbz2 in several
 * members or streams of many blocks is decompressed by fredck's decoder
 * (part of it handed over as already read, as the readers do); at every
 * cut it saw, the kept bytes and the plan's trailer must make a complete
 * member or stream that zlib or libbz2 decompresses, checksums and all,
 * to exactly the data up to the cut.  The closers are also tried at every
 * bit offset, and a limit before the first block's end must find none.
 */
#include "config.h"

#include <bzlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "formats/io/decode.h"
#include "formats/io/splice.h"
#include "tests/unit/tap.h"

#define DATA_LEN (1500U * 1000U)
#define PENDING 100

/* Words picked by an LCG: compressible, not trivially, the same every run. */
static uint8_t *make_data(void)
{
	static const char *const words[] = { "fred ", "event ", "data ", "lost ", "vcpu ",
					     "qemu ", "kvm ", "\n", "0x7f3a1c2e5008 ", "cr2 " };
	uint8_t *d = malloc(DATA_LEN);
	uint32_t x = 12345, y = 1;
	size_t n = 0;

	while (d && n < DATA_LEN) {
		const char *w;

		x = x * 1103515245U + 12345U;
		w = words[(x >> 16) % 10];
		for (size_t i = 0; w[i] && n < DATA_LEN; i++)
			d[n++] = (uint8_t)w[i];
		if ((x >> 8) % 13 == 0)
			for (size_t i = 0; i < 300 && n < DATA_LEN; i++) {
				y = y * 1664525U + 1013904223U; /* some random bytes */
				d[n++] = (uint8_t)(y >> 24);
			}
	}
	return d;
}

/* Members (streams) of data[0..half) and data[half..len): gzip by zlib at level 6, bzip2 -1. */
static uint8_t *compress_two(enum codec c, bool small, const uint8_t *data, size_t *len)
{
	size_t half = DATA_LEN / 3, cap = DATA_LEN + DATA_LEN / 2, n = 0;
	uint8_t *out = malloc(cap);

	for (int part = 0; out && part < 2; part++) {
		const uint8_t *p = data + (part ? half : 0);
		size_t plen = part ? DATA_LEN - half : half;

		if (c == CODEC_GZIP) {
			z_stream z = { 0 };

			deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
			z.next_out = out + n;
			z.avail_out = (uInt)(cap - n);
			/* small: a block ended every 300 bytes (Z_BLOCK): more cuts than are kept. */
			for (size_t at = 0; at < plen; at += small ? 300 : plen) {
				z.next_in = (Bytef *)p + at;
				z.avail_in = (uInt)(small && plen - at > 300 ? 300 : plen - at);
				if (deflate(&z, small ? Z_BLOCK : Z_NO_FLUSH) != Z_OK)
					return free(out), NULL;
			}
			if (deflate(&z, Z_FINISH) != Z_STREAM_END)
				return free(out), NULL;
			n = cap - z.avail_out;
			deflateEnd(&z);
		} else {
			unsigned int olen = (unsigned int)(cap - n);

			if (BZ2_bzBuffToBuffCompress((char *)out + n, &olen, (char *)p,
						     (unsigned int)plen, 1, 0, 0) != BZ_OK)
				return free(out), NULL;
			n += olen;
		}
	}
	*len = n;
	return out;
}

/* buf[len], all its members or streams, decompresses to exactly want[want_len]. */
static bool decompresses_to(enum codec c, const uint8_t *buf, size_t len, const uint8_t *want,
			    size_t want_len)
{
	uint8_t *out = malloc(want_len + 16);
	size_t at = 0, n = 0;
	bool good = out != NULL;

	while (good && at < len) {
		if (c == CODEC_GZIP) {
			z_stream z = { 0 };

			inflateInit2(&z, 16 + MAX_WBITS);
			z.next_in = (Bytef *)buf + at;
			z.avail_in = (uInt)(len - at);
			z.next_out = out + n;
			z.avail_out = (uInt)(want_len + 16 - n);
			good = inflate(&z, Z_FINISH) == Z_STREAM_END;
			at = len - z.avail_in;
			n = want_len + 16 - z.avail_out;
			inflateEnd(&z);
		} else {
			bz_stream b = { 0 };

			BZ2_bzDecompressInit(&b, 0, 0);
			b.next_in = (char *)buf + at;
			b.avail_in = (unsigned int)(len - at);
			b.next_out = (char *)out + n;
			b.avail_out = (unsigned int)(want_len + 16 - n);
			good = BZ2_bzDecompress(&b) == BZ_STREAM_END;
			at = len - b.avail_in;
			n = want_len + 16 - b.avail_out;
			BZ2_bzDecompressEnd(&b);
		}
	}
	good = good && n == want_len && memcmp(out, want, want_len) == 0;
	free(out);
	return good;
}

static void check_codec(enum codec c, bool small, const uint8_t *data)
{
	char path[] = "/tmp/fredck-test-splice-XXXXXX", error[200];
	size_t clen = 0, ncuts = 0, good = 0, inside = 0, tried = 0;
	uint8_t *comp = compress_two(c, small, data, &clen), *got = malloc(DATA_LEN), *buf = NULL;
	int fd = mkstemp(path);
	struct decoder *d;
	const struct bit_cut *cuts;
	size_t n = 0;
	ssize_t r;

	if (!ok(comp && got && fd >= 0 && write(fd, comp, clen) == (ssize_t)clen,
		"%s: %zu bytes compressed into a file", codec_name(c), clen))
		goto out;
	unlink(path);
	/* The first PENDING bytes handed over as already read. */
	lseek(fd, PENDING, SEEK_SET);
	d = decoder_new(c, fd, comp, PENDING, error, sizeof(error));
	while (d && (r = decoder_read(d, got + n, DATA_LEN - n < 70000 ? DATA_LEN - n : 70000)) > 0)
		n += (size_t)r;
	ok(d && n == DATA_LEN && memcmp(got, data, DATA_LEN) == 0, "%s: the decoder gives the data",
	   codec_name(c));
	cuts = d ? decoder_bit_cuts(d, &ncuts) : NULL;
	ok(ncuts > 6, "%s: the decoder saw %zu cuts", codec_name(c), ncuts);
	buf = malloc(clen + 16);
	/* Many: one in 37, and the last 300 all (the thinned ones, then the last as they came). */
	for (size_t i = 0; buf && i < ncuts; i += ncuts > 300 && i + 300 < ncuts ? 37 : 1) {
		struct splice_plan p;

		tried++;
		splice_find(c, fd, 0, clen, cuts[i].d_end, d, &p);
		inside += !cuts[i].member_end && cuts[i].c_bits % 8;
		if (!p.found || p.d_keep != cuts[i].d_end) {
			diag("cut %zu at bit %llu: %s", i, (unsigned long long)cuts[i].c_bits, p.why);
			continue;
		}
		memcpy(buf, comp, p.c_keep);
		memcpy(buf + p.c_keep, p.trailer, p.trailer_len);
		if (decompresses_to(c, buf, p.c_keep + p.trailer_len, data, p.d_keep))
			good++;
		else
			diag("cut %zu at bit %llu does not decompress", i,
			     (unsigned long long)cuts[i].c_bits);
	}
	ok(good == tried && inside > 0,
	   "%s: all %zu cuts tried (%zu inside a byte) close to what decompresses to the data "
	   "before them", codec_name(c), good, inside);
	if (small)
		ok(ncuts > 4096 / 2 + 256, "%s: blocks of 300 bytes: %zu cuts (thinned, and the last "
		   "256 as they came)", codec_name(c), ncuts);
	{
		struct splice_plan p;

		splice_find(c, fd, 0, clen, ncuts ? cuts[0].d_end - 1 : 0, d, &p);
		ok(!p.found && strstr(p.why, "before the first edit"), "%s: before the first cut: %s",
		   codec_name(c), p.why);
	}
	decoder_free(d);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(comp);
	free(got);
}

/* Every bit offset: the closer keeps exactly the kept bits of the last byte. */
static void check_closers(void)
{
	bool good = true;

	for (unsigned int bits = 0; bits < 8; bits++) {
		uint8_t out[16];
		size_t n = splice_deflate_close(0xFF, bits, 0x11223344U, 0x55667788U, out);
		uint8_t keep = (uint8_t)((1U << bits) - 1U);

		/* The kept low bits, then BFINAL 1 and BTYPE 01, then seven 0s. */
		good = good && n == (bits + 10 + 7) / 8 + 8 && (out[0] & keep) == keep &&
		       (out[0] >> bits & 1) && ((out[0] | out[1] << 8) >> (bits + 1) & 3) == 1 &&
		       ((out[0] | out[1] << 8) >> (bits + 3) & 0x7F) == 0 &&
		       out[n - 8] == 0x44 && out[n - 1] == 0x55;
		n = splice_bzip2_close(0xFF, bits, 0xA1B2C3D4U, out);
		good = good && n == (bits + 80 + 7) / 8 &&
		       (bits == 0 || (unsigned int)(out[0] >> (8 - bits)) == (1U << bits) - 1U);
	}
	ok(good, "the closers at every bit offset");
}

int main(void)
{
	uint8_t *data = make_data();

	if (!data)
		return 1;
	check_closers();
	check_codec(CODEC_GZIP, false, data);
	check_codec(CODEC_GZIP, true, data);
	check_codec(CODEC_BZIP2, false, data);
	free(data);
	return done_testing();
}
