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
 * The read-back's checks (formats/io/splice_check.c) must pass on every
 * such closed member or stream, with the CRC-32 computed here or the
 * combined CRC from the kept blocks' starts, and refuse each bit of a
 * closer flipped, a wrong CRC to prove, a block start left out.
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
#include "formats/io/splice_check.h"
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

/*
 * A bzip2 stream of p[len] at out + *n, a block ended every 300 bytes
 * (BZ_FLUSH): more blocks than the decoder keeps cuts for.
 */
static bool bzip2_small_blocks(const uint8_t *p, size_t len, uint8_t *out, size_t cap, size_t *n)
{
	bz_stream b = { 0 };
	bool good = BZ2_bzCompressInit(&b, 1, 0, 0) == BZ_OK;

	b.next_out = (char *)out + *n;
	b.avail_out = (unsigned int)(cap - *n);
	for (size_t at = 0; good && at < len; at += 300) {
		int rc;

		b.next_in = (char *)p + at;
		b.avail_in = (unsigned int)(len - at > 300 ? 300 : len - at);
		do
			rc = BZ2_bzCompress(&b, BZ_FLUSH);
		while (rc == BZ_FLUSH_OK);
		good = rc == BZ_RUN_OK;
	}
	while (good && BZ2_bzCompress(&b, BZ_FINISH) == BZ_FINISH_OK)
		;
	good = good && b.avail_in == 0;
	*n = cap - b.avail_out;
	BZ2_bzCompressEnd(&b);
	return good;
}

/* Members (streams) of data[0..half) and data[half..len): gzip by zlib at level 6, bzip2 -1. */
static uint8_t *compress_two(enum codec c, bool small, const uint8_t *data, size_t *len)
{
	size_t half = DATA_LEN / 3, cap = 3 * DATA_LEN, n = 0;
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
		} else if (!small) {
			unsigned int olen = (unsigned int)(cap - n);

			if (BZ2_bzBuffToBuffCompress((char *)out + n, &olen, (char *)p,
						     (unsigned int)plen, 1, 0, 0) != BZ_OK)
				return free(out), NULL;
			n += olen;
		} else if (!bzip2_small_blocks(p, plen, out, cap, &n)) {
			return free(out), NULL;
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

/* The end of k's member (a member_end cut): its CRC-32 and ISIZE at c_bits / 8 - 8. */
static const struct bit_cut *member_end_of(const struct bit_cut *cuts, size_t n,
					   const struct bit_cut *k)
{
	for (size_t i = 0; i < n; i++)
		if (cuts[i].member_end && cuts[i].member_d_start == k->member_d_start)
			return &cuts[i];
	return NULL;
}

/*
 * The read-back's checks on comp's kept bytes and p's closer (written in
 * the file fd2 as the repair writes them), against the input in: gzip,
 * the CRC-32 of the kept content computed here, and the proof of the
 * decoder's against the member's stored one; bzip2, the kept blocks'
 * starts from the cuts, and without one of them.  true when all pass and
 * the wrong ones are refused.
 */
static bool read_back_checks(enum codec c, int in, int fd2, const uint8_t *comp,
			     const uint8_t *data, const struct bit_cut *cuts, size_t n,
			     const uint64_t *all, size_t nall, bool thinned,
			     const struct splice_plan *p)
{
	const struct bit_cut *k = &p->cut;
	char why[200] = "";
	uint64_t len = 0;

	if (ftruncate(fd2, 0) != 0 || pwrite(fd2, comp, p->c_keep, 0) != (ssize_t)p->c_keep ||
	    pwrite(fd2, p->trailer, p->trailer_len, (off_t)p->c_keep) != (ssize_t)p->trailer_len)
		return false;
	if (c == CODEC_GZIP) {
		const struct bit_cut *e = member_end_of(cuts, n, k);
		uint32_t crc = (uint32_t)crc32(0, data + k->member_d_start,
					       (uInt)(k->d_end - k->member_d_start));
		uint32_t isize = (uint32_t)(k->d_end - k->member_d_start), proven = 0;

		if (!e || splice_check_gzip(fd2, in, 0, p, crc, isize, &len, why, sizeof(why)) != 0 ||
		    len != p->trailer_len ||
		    splice_check_gzip(fd2, in, 0, p, crc ^ 1, isize, &len, why, sizeof(why)) == 0 ||
		    splice_check_gzip(fd2, in, 0, p, crc, isize + 1, &len, why, sizeof(why)) == 0)
			return diag("gzip cut at bit %llu: %s", (unsigned long long)k->c_bits, why),
			       false;
		/* The decoder's CRC-32, carried over the rest, is the member's stored one. */
		return splice_gzip_crc_proof(k->crc, data + k->d_end, (size_t)(e->d_end - k->d_end),
					     comp + e->c_bits / 8 - 8, &proven) == 0 &&
		       proven == isize && k->crc == crc &&
		       splice_gzip_crc_proof(k->crc ^ 0x80, data + k->d_end,
					     (size_t)(e->d_end - k->d_end), comp + e->c_bits / 8 - 8,
					     &proven) != 0 &&
		       splice_gzip_crc_proof(k->crc, data + k->d_end + 1,
					     (size_t)(e->d_end - k->d_end - 1),
					     comp + e->c_bits / 8 - 8, &proven) != 0;
	}
	{
		uint64_t *starts = malloc((k->blocks + 1) * sizeof(*starts));
		uint64_t *from_cuts = malloc((k->blocks + 1) * sizeof(*from_cuts));
		uint64_t *all2 = malloc((nall + 1) * sizeof(*all2));
		struct bit_cut *less = malloc(n * sizeof(*less));
		size_t m = 0;
		bool good = starts && from_cuts && all2 && less && k->blocks > 0 &&
			    splice_bzip2_kept_starts(all, nall, k, starts) == 0 &&
			    splice_check_bzip2(fd2, in, 0, p, starts, k->blocks, &len, why,
					       sizeof(why)) == 0 &&
			    len == p->trailer_len;

		if (!good)
			diag("bzip2 cut at bit %llu: %s", (unsigned long long)k->c_bits, why);
		/* The cuts give the same starts where none were thinned out, and fail where some were. */
		if (good && !thinned)
			good = splice_bzip2_kept_blocks(cuts, n, k, from_cuts) == 0 &&
			       memcmp(from_cuts, starts, k->blocks * sizeof(*starts)) == 0;
		/* The list of every start with one left out, or one more before the cut: refused. */
		if (good && k->blocks > 1) {
			size_t j = 0;

			for (size_t i = 0; i < nall; i++)
				if (all[i] != starts[k->blocks - 1])
					all2[j++] = all[i];
			good = splice_bzip2_kept_starts(all2, j, k, from_cuts) != 0;
		}
		if (good) {
			size_t j = 0;
			bool added = false;

			for (size_t i = 0; i < nall; i++) {
				all2[j++] = all[i];
				if (all[i] == starts[k->blocks - 1] && !added) {
					all2[j++] = k->c_bits - 80; /* a start that is none */
					added = true;
				}
			}
			good = k->c_bits - 80 < starts[k->blocks - 1] + 80 || !added ||
			       splice_bzip2_kept_starts(all2, j, k, from_cuts) != 0;
		}
		/* A start a bit off the block's magic: refused by the read of the written file. */
		if (good && k->blocks > 1) {
			memcpy(from_cuts, starts, k->blocks * sizeof(*starts));
			from_cuts[k->blocks - 1] += 1;
			good = splice_check_bzip2(fd2, in, 0, p, from_cuts, k->blocks, &len, why,
						  sizeof(why)) != 0;
		}
		free(from_cuts);
		free(all2);
		if (thinned) {
			free(starts);
			free(less);
			return good;
		}
		/* One block fewer: the combined CRC is not the written one. */
		if (good && k->blocks > 1)
			good = splice_check_bzip2(fd2, in, 0, p, starts, k->blocks - 1, &len, why,
						  sizeof(why)) != 0;
		/* A block's start left out of the decoder's list: not all known. */
		for (size_t i = 0; good && i < n; i++)
			if (!(cuts[i].blocks == k->blocks - 1 && !cuts[i].member_end &&
			      cuts[i].member_c_bits == k->member_c_bits && k->blocks > 1))
				less[m++] = cuts[i];
		if (good && k->blocks > 1)
			good = splice_bzip2_kept_blocks(less, m, k, starts) != 0;
		/* All there, but one numbered out of order: not the decoder's list. */
		for (size_t i = 0; good && k->blocks > 1 && i < n; i++) {
			less[i] = cuts[i];
			if (!cuts[i].member_end && cuts[i].member_c_bits == k->member_c_bits &&
			    cuts[i].blocks == k->blocks - 1)
				less[i].blocks = k->blocks;
		}
		if (good && k->blocks > 1)
			good = splice_bzip2_kept_blocks(less, n, k, starts) != 0;
		free(starts);
		free(less);
		return good;
	}
}

static void check_codec(enum codec c, bool small, const uint8_t *data)
{
	char path[] = "/tmp/fredck-test-splice-XXXXXX", path2[] = "/tmp/fredck-test-splice-XXXXXX",
	     error[200];
	size_t clen = 0, ncuts = 0, good = 0, inside = 0, tried = 0, checked = 0, closed = 0;
	uint8_t *comp = compress_two(c, small, data, &clen), *got = malloc(DATA_LEN), *buf = NULL;
	int fd = mkstemp(path), fd2 = mkstemp(path2);
	struct decoder *d;
	const struct bit_cut *cuts;
	const uint64_t *all = NULL;
	size_t n = 0, nall = 0;
	ssize_t r;

	if (!ok(comp && got && fd >= 0 && fd2 >= 0 && write(fd, comp, clen) == (ssize_t)clen,
		"%s: %zu bytes compressed into a file", codec_name(c), clen))
		goto out;
	unlink(path);
	unlink(path2);
	/* The first PENDING bytes handed over as already read. */
	lseek(fd, PENDING, SEEK_SET);
	d = decoder_new(c, fd, comp, PENDING, error, sizeof(error));
	while (d && (r = decoder_read(d, got + n, DATA_LEN - n < 70000 ? DATA_LEN - n : 70000)) > 0)
		n += (size_t)r;
	ok(d && n == DATA_LEN && memcmp(got, data, DATA_LEN) == 0, "%s: the decoder gives the data",
	   codec_name(c));
	cuts = d ? decoder_bit_cuts(d, &ncuts) : NULL;
	all = d ? decoder_bzip2_starts(d, &nall) : NULL;
	ok(ncuts > 6, "%s: the decoder saw %zu cuts", codec_name(c), ncuts);
	if (c == CODEC_BZIP2)
		ok(all && nall >= (small ? 5000U : 10U),
		   "bzip2: the decoder kept every block start: %zu", nall);
	buf = malloc(clen + 16);
	/* Many: one in 37, and the last 300 all (the thinned ones, then the last as they came);
	   bzip2's small blocks, each cut decompressed again, one in 401 and the last 12. */
	size_t step = c == CODEC_BZIP2 && small ? 401 : 37, last = c == CODEC_BZIP2 && small ? 12 : 300;

	for (size_t i = 0; buf && i < ncuts;
	     i = i + last >= ncuts ? i + 1 : i + step + last < ncuts ? i + step : ncuts - last) {
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
		if (p.trailer_len) {
			closed++;
			checked += read_back_checks(c, fd, fd2, comp, data, cuts, ncuts, all, nall,
						    small, &p);
		}
	}
	ok(closed > 0 && checked == closed,
	   "%s: the read-back's checks pass on all %zu of %zu closed cuts and refuse a wrong CRC, "
	   "a wrong length (gzip), a block left out (bzip2)", codec_name(c), checked, closed);
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
	if (fd2 >= 0)
		close(fd2);
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

/* The closer's bits one by one flipped: each is refused. */
static bool every_flip_refused(enum codec c, const uint8_t *out, size_t n, uint8_t in_last,
			       unsigned int bits, uint32_t crc, uint32_t isize)
{
	char why[200];

	for (size_t i = 0; i < n * 8; i++) {
		uint8_t w[16];

		memcpy(w, out, n);
		w[i / 8] ^= (uint8_t)(1U << (i % 8));
		if ((c == CODEC_GZIP ?
		     splice_check_deflate_close(w, n, in_last, bits, crc, isize, 0, why, sizeof(why)) :
		     splice_check_bzip2_close(w, n, in_last, bits, crc, 0, why, sizeof(why))) >= 0) {
			diag("%s closer, %u kept bits: bit %zu flipped is not refused", codec_name(c),
			     bits, i);
			return false;
		}
	}
	return true;
}

/* The read-back's closer checks at every bit offset: the closers pass, any bit flipped does not. */
static void check_closer_checks(void)
{
	static const uint8_t lasts[] = { 0x00, 0xFF, 0xA5, 0x5A };
	bool pass = true, refuse = true, blocks = true;
	char why[200];

	for (unsigned int bits = 0; bits < 8; bits++)
		for (size_t j = 0; j < sizeof(lasts); j++) {
			uint8_t out[16], b[11] = { 0 };
			size_t n = splice_deflate_close(lasts[j], bits, 0x11223344U, 0x55667788U, out);
			uint32_t crc = 0;

			pass = pass && splice_check_deflate_close(out, n, lasts[j], bits, 0x11223344U,
								  0x55667788U, 7, why,
								  sizeof(why)) == (int)n &&
			       splice_check_deflate_close(out, n - 1, lasts[j], bits, 0x11223344U,
							  0x55667788U, 7, why, sizeof(why)) < 0;
			refuse = refuse && every_flip_refused(CODEC_GZIP, out, n, lasts[j], bits,
							      0x11223344U, 0x55667788U);
			n = splice_bzip2_close(lasts[j], bits, 0xA1B2C3D4U, out);
			pass = pass && splice_check_bzip2_close(out, n, lasts[j], bits, 0xA1B2C3D4U, 7,
								why, sizeof(why)) == (int)n;
			refuse = refuse && every_flip_refused(CODEC_BZIP2, out, n, lasts[j], bits,
							      0xA1B2C3D4U, 0);
			/* A block magic and CRC at this shift (as the closer writes its magic). */
			for (unsigned int i = 0; i < 80; i++) {
				uint64_t v = i < 48 ? 0x314159265359ULL >> (47 - i) :
						      0xCAFEF00DULL >> (79 - i);

				if (v & 1)
					b[(bits + i) / 8] |= (uint8_t)(0x80U >> ((bits + i) % 8));
			}
			blocks = blocks && splice_bzip2_block_at(b, bits, &crc) && crc == 0xCAFEF00DU;
			b[(bits + 20) / 8] ^= (uint8_t)(0x80U >> ((bits + 20) % 8));
			blocks = blocks && !splice_bzip2_block_at(b, bits, &crc);
		}
	ok(pass, "the read-back passes the closers at every bit offset, and not one cut short");
	ok(refuse, "the read-back refuses every bit of a closer flipped, at every bit offset");
	ok(blocks, "a bzip2 block's magic and CRC read at every bit offset, not with a bit flipped");
	ok(splice_bzip2_combine(0x80000001U, 0x10U) == 0x00000013U,
	   "the combined CRC is rotated left one bit, then xored with the block's");
}

int main(void)
{
	uint8_t *data = make_data();

	if (!data)
		return 1;
	check_closers();
	check_closer_checks();
	check_codec(CODEC_GZIP, false, data);
	check_codec(CODEC_GZIP, true, data);
	check_codec(CODEC_BZIP2, false, data);
	check_codec(CODEC_BZIP2, true, data);
	free(data);
	return done_testing();
}
