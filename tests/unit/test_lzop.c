/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_lzop.c --- fredck's lzop decoder (formats/io/decode.c: the lzop file
 * format read in process, its blocks by liblzo2) against the real lzop
 * program: files lzop -c writes with each of its block formats (-1, -3,
 * -7, -9; --crc32; -F, no checksum; -CC, checksums of the compressed data
 * too; --filter, a delta before compressing; a file name in the header), an empty one, files concatenated and
 * trailing zeros decode to what lzop -dc gives, byte for byte, read in
 * large and in small pieces, part of the input handed over as already
 * read (as bsrc_decode does).  Damaged files (a flipped bit in compressed
 * data, a wrong checksum, a truncated block, an oversize or inconsistent
 * length, an unknown method, a bad header checksum, a damaged second
 * magic) are refused by both, fredck naming the byte and the field.
 * Skipped whole without the lzop program.
 */
#include "config.h"

#include <fcntl.h>
#include <lzo/lzo1x.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "formats/io/decode.h"
#include "tests/unit/tap.h"

#define DATA_LEN (1500U * 1000U)
#define PENDING 100

static char dir[] = "/tmp/fredck-test-lzop-XXXXXX";

/* Words picked by an LCG, with random runs (stored blocks), the same every run. */
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
				y = y * 1664525U + 1013904223U;
				d[n++] = (uint8_t)(y >> 24);
			}
	}
	/* 580 KB of random bytes: 256 KiB blocks lzop stores as they are. */
	for (size_t i = 520000; d && i < 1100000; i++) {
		y = y * 1664525U + 1013904223U;
		d[i] = (uint8_t)(y >> 24);
	}
	return d;
}

static char *path(const char *name)
{
	static char buf[8][128];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static uint8_t *slurp(const char *p, size_t *len)
{
	int fd = open(p, O_RDONLY);
	struct stat st;
	uint8_t *b = NULL;

	*len = 0;
	if (fd >= 0 && fstat(fd, &st) == 0 && (b = malloc((size_t)st.st_size + 1)) &&
	    read(fd, b, (size_t)st.st_size) == st.st_size)
		*len = (size_t)st.st_size;
	if (fd >= 0)
		close(fd);
	return b;
}

static void spit(const char *p, const uint8_t *b, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, b, len) != (ssize_t)len)
		diag("cannot write %s", p);
	if (fd >= 0)
		close(fd);
}

/*
 * Decode file p with fredck's decoder, the first PENDING bytes handed over
 * as already read, in pieces of piece bytes: the output (*len), or NULL
 * with the error in error.
 */
static uint8_t *decode(const char *p, size_t piece, uint64_t origin, size_t *len, char *error,
		       size_t error_len)
{
	int fd = open(p, O_RDONLY);
	uint8_t pend[PENDING], *out = NULL;
	ssize_t have = fd < 0 ? -1 : read(fd, pend, PENDING), n = 0;
	size_t cap = 0;
	struct decoder *d = NULL;

	*len = 0;
	error[0] = '\0';
	if (have >= 0)
		d = decoder_new(CODEC_LZOP, fd, pend, (size_t)have, error, error_len);
	if (d)
		decoder_set_origin(d, origin);
	while (d) {
		if (cap - *len < piece) {
			cap = cap * 2 + piece;
			out = realloc(out, cap);
		}
		n = decoder_read(d, out + *len, piece);
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	if (d && n < 0)
		snprintf(error, error_len, "%s", decoder_error(d));
	decoder_free(d);
	if (fd >= 0)
		close(fd);
	if (!d || n < 0) {
		free(out);
		return NULL;
	}
	return out ? out : malloc(1);
}

/* fredck decodes p (in 1 MiB and in 1000-byte pieces) to what lzop -dc gives, and that is want. */
static void same_as_lzop(const char *name, const char *p, const uint8_t *want, size_t want_len)
{
	char cmd[512], error[256];
	uint8_t *ref, *got;
	size_t ref_len, got_len;

	snprintf(cmd, sizeof(cmd), "lzop -dc -q --ignore-warn < %s > %s", p, path("ref"));
	is_int(run(cmd), 0, "%s: lzop -dc decodes it", name);
	ref = slurp(path("ref"), &ref_len);
	ok(ref && ref_len == want_len && (want_len == 0 || memcmp(ref, want, want_len) == 0),
	   "%s: lzop -dc gives the data (%zu bytes)", name, want_len);
	for (int k = 0; k < 2; k++) {
		size_t piece = k ? 1000 : 1U << 20;

		got = decode(p, piece, 0, &got_len, error, sizeof(error));
		if (!ok(got && ref && got_len == ref_len && memcmp(got, ref, ref_len) == 0,
			"%s: fredck's decoding equals lzop -dc's, byte for byte (%zu-byte reads)", name,
			piece))
			diag("  %zu bytes, lzop -dc %zu; error: %s", got_len, ref_len, error);
		free(got);
	}
	free(ref);
}

/* lzop -dc refuses p, and so does fredck, its error holding each of want[]. */
static void refused(const char *name, const uint8_t *b, size_t len, uint64_t origin,
		    const char *const *want)
{
	char cmd[512], error[256];
	size_t got_len;
	uint8_t *got;
	bool all = true;

	spit(path("bad.lzo"), b, len);
	snprintf(cmd, sizeof(cmd), "lzop -dc < %s > /dev/null 2>&1", path("bad.lzo"));
	ok(run(cmd) != 0, "%s: lzop -dc refuses it", name);
	got = decode(path("bad.lzo"), 1U << 20, origin, &got_len, error, sizeof(error));
	for (size_t i = 0; want[i]; i++)
		all = all && strstr(error, want[i]);
	if (!ok(!got && all, "%s: fredck refuses it, naming the byte and the field", name))
		for (size_t i = 0; want[i]; i++)
			diag("  error: \"%s\", expected in it: \"%s\"", error, want[i]);
	free(got);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void damaged(void)
{
	uint8_t *f, *b, method, level;
	size_t len, hlen;
	uint32_t flags, src;
	char w[4][96];

	char cmd[512];

	snprintf(cmd, sizeof(cmd), "lzop -c < %s > %s", path("data"), path("d.lzo"));
	if (run(cmd) != 0)
		diag("lzop -c failed");
	f = slurp(path("d.lzo"), &len);
	if (!f || lzop_header(f, len, &hlen, &method, &level, &flags) != 0 || flags != 1) {
		ok(false, "lzop -c writes a header fredck reads, Adler-32 of the data only");
		return;
	}
	{
		size_t at = hlen, stored = 0;

		while (at + 8 <= len && be32(f + at) != 0) {
			stored += be32(f + at) == be32(f + at + 4);
			at += 12 + be32(f + at + 4);
		}
		ok(stored >= 2, "the data makes lzop store some blocks as they are (%zu)", stored);
	}
	b = malloc(len);
	/* The first block: lengths at hlen, hlen + 4; Adler-32 at hlen + 8; data at hlen + 12. */
	src = be32(f + hlen + 4);

#define CASE(name, ...)                                                    \
	do {                                                               \
		const char *const want[] = { __VA_ARGS__, NULL };          \
		refused(name, b, len, 0, want);                            \
	} while (0)

	memcpy(b, f, len);
	b[hlen + 12 + src / 2] ^= 0x10;
	snprintf(w[0], sizeof(w[0]), "byte %zu (a block's", hlen + 12);
	CASE("a flipped bit in compressed data", w[0]);

	memcpy(b, f, len);
	b[hlen + 11] ^= 1;
	snprintf(w[0], sizeof(w[0]), "byte %zu (a block's data): its Adler-32 is", hlen + 12);
	snprintf(w[1], sizeof(w[1]), "the block's checksum at byte %zu says", hlen + 8);
	CASE("a wrong checksum", w[0], w[1]);

	memcpy(b, f, len);
	snprintf(w[0], sizeof(w[0]), "truncated at byte %zu (a block's compressed data)",
		 hlen + 12);
	snprintf(w[1], sizeof(w[1]), "the input ends at byte %zu", hlen + 12 + src / 2);
	{
		const char *const want[] = { w[0], w[1], NULL };

		refused("a truncated block", b, hlen + 12 + src / 2, 0, want);
	}

	memcpy(b, f, len);
	put_be32(b + hlen, (64U << 20) + 1);
	snprintf(w[0], sizeof(w[0]), "byte %zu (a block's uncompressed length): 67108865 bytes",
		 hlen);
	CASE("an uncompressed length over 64 MiB", w[0]);

	memcpy(b, f, len);
	put_be32(b + hlen + 4, be32(f + hlen) + 1);
	snprintf(w[0], sizeof(w[0]), "byte %zu (a block's compressed length)", hlen + 4);
	CASE("a compressed length over the uncompressed one", w[0]);

	memcpy(b, f, len);
	put_be32(b + hlen + 4, 0);
	CASE("a compressed length of 0", w[0]);

	/* Method 4 with the header checksum made right, so that the method is what is wrong. */
	memcpy(b, f, len);
	b[15] = 4;
	put_be32(b + hlen - 4, lzo_adler32(1, b + 9, (lzo_uint)(hlen - 13)));
	CASE("an unknown method", "byte 15 (the header's method): 4, not one of lzop's");

	memcpy(b, f, len);
	b[32] ^= 1; /* the last byte of mtime (lzop -c from standard input stores no name) */
	snprintf(w[0], sizeof(w[0]), "byte %zu (the header checksum)", hlen - 4);
	CASE("a wrong header checksum", w[0]);

	/* The same, 4096 bytes into an image: the origin is added. */
	{
		const char *const want[] = { "byte 4105 (the header's version)", NULL };

		memcpy(b, f, len);
		b[9] = 0;
		refused("a version before lzop's first, 4096 bytes into an image", b, len, 4096,
			want);
	}

	/* A second file whose magic was damaged by a text-mode copy. */
	b = realloc(b, 2 * len);
	memcpy(b, f, len);
	memcpy(b + len, f, len);
	b[len + 5] = '\n';
	snprintf(w[0], sizeof(w[0]), "byte %zu (the lzop magic)", len);
	{
		const char *const want[] = { w[0], NULL };

		refused("a damaged magic of a second file", b, 2 * len, 0, want);
	}
	free(b);
	free(f);
}

/* lzop -CC (Adler-32 of the compressed data too) and --crc32: those checksums are verified. */
static void damaged_sums(void)
{
	char cmd[512], w[2][96];
	uint8_t *f, method, level;
	size_t len, hlen;
	uint32_t flags, src;

	snprintf(cmd, sizeof(cmd), "lzop -CC -c < %s > %s", path("data"), path("c.lzo"));
	run(cmd);
	f = slurp(path("c.lzo"), &len);
	if (!f || lzop_header(f, len, &hlen, &method, &level, &flags) != 0 || flags != 3) {
		ok(false, "lzop -CC writes Adler-32 of the data and of the compressed data");
		free(f);
		return;
	}
	/* Data at hlen + 16, after the two lengths and the two checksums. */
	src = be32(f + hlen + 4);
	f[hlen + 16 + src / 3] ^= 0x01;
	snprintf(w[0], sizeof(w[0]), "byte %zu (a block's compressed data): its Adler-32 is",
		 hlen + 16);
	snprintf(w[1], sizeof(w[1]), "the block's checksum at byte %zu says", hlen + 12);
	{
		const char *const want[] = { w[0], w[1], NULL };

		refused("lzop -CC, a flipped bit in compressed data", f, len, 0, want);
	}
	free(f);

	snprintf(cmd, sizeof(cmd), "lzop --crc32 -c < %s > %s", path("data"), path("c.lzo"));
	run(cmd);
	f = slurp(path("c.lzo"), &len);
	if (!f || lzop_header(f, len, &hlen, &method, &level, &flags) != 0 || flags != 0x100) {
		ok(false, "lzop --crc32 writes CRC-32 of the data");
		free(f);
		return;
	}
	f[hlen + 11] ^= 0x80;
	snprintf(w[0], sizeof(w[0]), "byte %zu (a block's data): its CRC-32 is", hlen + 12);
	snprintf(w[1], sizeof(w[1]), "the block's checksum at byte %zu says", hlen + 8);
	{
		const char *const want[] = { w[0], w[1], NULL };

		refused("lzop --crc32, a wrong checksum", f, len, 0, want);
	}
	free(f);

	/* lzop --filter=4 made filter 17 (the header checksum made right): past lzop's 16. */
	snprintf(cmd, sizeof(cmd), "lzop --filter=4 -c < %s > %s", path("data"), path("c.lzo"));
	run(cmd);
	f = slurp(path("c.lzo"), &len);
	if (!f || len < 60 || be32(f + 21) != 4) {
		ok(false, "lzop --filter=4 writes filter 4 at byte 21");
		free(f);
		return;
	}
	hlen = 38 + f[37] + 4; /* the name length after flags, filter, mode, mtime */
	put_be32(f + 21, 17);
	put_be32(f + hlen - 4, lzo_adler32(1, f + 9, (lzo_uint)(hlen - 13)));
	{
		const char *const want[] = { "byte 21 (the header's filter): 17, not 1 to 16", NULL };

		refused("lzop --filter, a filter past 16", f, len, 0, want);
	}
	free(f);
}

int main(void)
{
	static const struct {
		const char *name, *opts;
	} forms[] = {
		{ "lzop -1", "-1" },       { "lzop -3 (the default)", "" }, { "lzop -7", "-7" },
		{ "lzop -9", "-9" },       { "lzop --crc32", "--crc32" },   { "lzop -F (no checksum)", "-F" },
		{ "lzop -CC (checksums of the compressed data too)", "-CC" },
		{ "lzop -CC --crc32", "-CC --crc32" },
		{ "lzop --filter=1 (a delta of 1 byte)", "--filter=1" },
		{ "lzop --filter=4", "--filter=4" },
		{ "lzop --filter=16", "--filter=16" },
	};
	uint8_t *data = make_data();
	char cmd[512];

	if (run("lzop -V > /dev/null 2>&1") != 0) {
		printf("1..0 # SKIP the lzop program is not installed (Debian: lzop)\n");
		return 0;
	}
	if (!data || !mkdtemp(dir))
		return 1;
	spit(path("data"), data, DATA_LEN);
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(cmd, sizeof(cmd), "lzop -c %s < %s > %s", forms[i].opts, path("data"),
			 path("f.lzo"));
		if (run(cmd) != 0)
			diag("%s failed", cmd);
		same_as_lzop(forms[i].name, path("f.lzo"), data, DATA_LEN);
	}
	/* A file name in the header: lzop -c FILE stores it. */
	snprintf(cmd, sizeof(cmd), "lzop -c %s > %s", path("data"), path("f.lzo"));
	run(cmd);
	same_as_lzop("a file name in the header", path("f.lzo"), data, DATA_LEN);

	snprintf(cmd, sizeof(cmd), "lzop -c < /dev/null > %s", path("f.lzo"));
	run(cmd);
	same_as_lzop("an empty file", path("f.lzo"), data, 0);

	/* Two files concatenated (-1 and --crc32), then 100 zero bytes lzop ignores. */
	snprintf(cmd, sizeof(cmd),
		 "{ head -c 700000 %s | lzop -1 -c; tail -c +700001 %s | lzop --crc32 -c; "
		 "head -c 100 /dev/zero; } > %s",
		 path("data"), path("data"), path("f.lzo"));
	run(cmd);
	same_as_lzop("two files concatenated, trailing zeros", path("f.lzo"), data, DATA_LEN);

	damaged();
	damaged_sums();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run(cmd);
	free(data);
	return done_testing();
}
