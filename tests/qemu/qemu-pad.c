/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-pad.c --- move the sections of a real QEMU stream to any offset, for
 * the window sweep (tests/cli/window.bats).
 *
 * Zero-page RAM records (flag RAM_SAVE_FLAG_ZERO, the fill byte 0, for
 * page 0 of the first RAM block) are inserted before the end-of-section
 * record of the last RAM section, so that everything after them -- the
 * device sections, the cpu sections, the end-of-file marker, the device
 * description -- moves by exactly the number of bytes asked for, and QEMU
 * still loads the stream (it writes page 0 with zeros once more).  The
 * first record names the block (8 + 1 + name + 1 bytes), the others
 * continue it (RAM_SAVE_FLAG_CONTINUE: 9 bytes); a mix of the two sizes
 * makes any count from about 150 bytes on.  Written from QEMU's
 * migration/ram.c and savevm.c, independently of fredck's reader.
 *
 *   qemu-pad IN --where       print "NAME OFFSET" lines: pad (where the
 *                             records go), cpu0, cpu1..., footer (the end
 *                             of cpu0's section: its 7e), eof (the 00
 *                             marker) and vmdesc (its 06), if present
 *   qemu-pad IN OUT BYTES     write IN with BYTES bytes of records inserted
 *                             (BYTES 0 copies IN)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096U

enum {
	F_ZERO = 0x002, F_MEM_SIZE = 0x004, F_PAGE = 0x008, F_EOS = 0x010,
	F_CONTINUE = 0x020, F_MULTIFD_FLUSH = 0x200,
};

struct stream {
	const unsigned char *p;
	size_t len;
	size_t pad_at;     /* the EOS record of the last RAM section */
	char block[256];   /* the first RAM block's name */
	size_t devices;    /* the first section after the RAM */
};

static void die(const char *what)
{
	fprintf(stderr, "qemu-pad: %s\n", what);
	exit(2);
}

static uint64_t be(const unsigned char *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void need(const struct stream *s, size_t at, size_t n)
{
	if (at > s->len || n > s->len - at)
		die("the stream ends inside its RAM");
}

/* A counted name at *at: copied into out (256 bytes) when out is set. */
static void counted(const struct stream *s, size_t *at, char *out)
{
	size_t n;

	need(s, *at, 1);
	n = s->p[*at];
	need(s, *at + 1, n);
	if (out) {
		memcpy(out, s->p + *at + 1, n);
		out[n] = '\0';
	}
	*at += 1 + n;
}

/* The RAM records of one section from *at up to its EOS record; returns where that is. */
static size_t ram_records(struct stream *s, size_t *at)
{
	for (;;) {
		size_t rec = *at;
		uint64_t a, flags;

		need(s, *at, 8);
		a = be(s->p + *at, 8);
		flags = a & (PAGE - 1);
		*at += 8;
		if (flags & F_EOS)
			return rec;
		if (flags & F_MEM_SIZE) {
			uint64_t total = a & ~(uint64_t)(PAGE - 1), sum = 0;

			while (sum < total) {
				counted(s, at, s->block[0] ? NULL : s->block);
				need(s, *at, 8);
				sum += be(s->p + *at, 8);
				*at += 8;
			}
			continue;
		}
		if (flags & F_MULTIFD_FLUSH)
			continue;
		if (!(flags & F_CONTINUE))
			counted(s, at, NULL);
		if (flags & F_ZERO)
			*at += 1;
		else if (flags & F_PAGE)
			*at += PAGE;
		else
			die("a RAM record this tool does not know (XBZRLE, compressed)");
	}
}

/* Walk from the first RAM section (01 sid 03 "ram") through the RAM sections. */
static void walk(struct stream *s)
{
	size_t at = 8;

	while (at + 9 <= s->len && !(s->p[at] == 0x01 && memcmp(s->p + at + 5, "\x03ram", 4) == 0))
		at++;
	if (at + 9 > s->len)
		die("no RAM section");
	at += 17; /* 01, sid, 03 "ram", instance, version */
	for (;;) {
		s->pad_at = ram_records(s, &at);
		at += 5; /* the section footer: 7e sid */
		need(s, at, 1);
		if (s->p[at] != 0x02 && s->p[at] != 0x03)
			break;
		at += 5; /* PART or END: type, sid */
	}
	s->devices = at;
}

static int is_cpu_header(const unsigned char *p)
{
	return p[0] == 0x04 && p[5] == 3 && memcmp(p + 6, "cpu", 3) == 0 && be(p + 13, 4) == 12;
}

/* The description at the end (06, be32 length, JSON to the end), or 0. */
static size_t vmdesc_at(const struct stream *s)
{
	for (size_t k = s->len - 6; k > s->devices; k--)
		if (s->p[k] == 0x06 && s->p[k + 5] == '{' && be(s->p + k + 1, 4) == s->len - k - 5)
			return k;
	return 0;
}

static void where(const struct stream *s)
{
	size_t ncpu = 0, vm = vmdesc_at(s), end = vm ? vm : s->len;
	size_t cpu0 = 0;

	printf("pad %zu\n", s->pad_at);
	for (size_t k = s->devices; k + 17 <= end; k++)
		if (is_cpu_header(s->p + k)) {
			if (!ncpu)
				cpu0 = k;
			printf("cpu%zu %zu\n", ncpu++, k);
		}
	if (!ncpu)
		die("no cpu section");
	/* cpu0's footer: 7e and its section id, then the next section's type 04. */
	for (size_t k = cpu0 + 17; k + 6 <= end; k++)
		if (s->p[k] == 0x7e && memcmp(s->p + k + 1, s->p + cpu0 + 1, 4) == 0 &&
		    s->p[k + 5] == 0x04) {
			printf("footer %zu\n", k);
			break;
		}
	printf("eof %zu\n", end - 1);
	if (vm)
		printf("vmdesc %zu\n", vm);
}

/* BYTES as named records (of size named) and 9-byte continuing ones: how many named. */
static size_t named_records(size_t bytes, size_t named)
{
	for (size_t a = 1; a <= 9; a++)
		if (a * named <= bytes && (bytes - a * named) % 9 == 0)
			return a;
	die("that many bytes cannot be made of records (ask for more)");
	return 0;
}

static void pad(const struct stream *s, const char *out, size_t bytes)
{
	size_t nlen = strlen(s->block), named = 8 + 1 + nlen + 1;
	size_t a = bytes ? named_records(bytes, named) : 0, b = bytes ? (bytes - a * named) / 9 : 0;
	unsigned char *rec = calloc(1, bytes ? bytes : 1), *r = rec;
	FILE *f = fopen(out, "wb");

	if (!f || !rec)
		die("cannot write the output");
	/* Page 0 (address 0): the named records, then the continuing ones. */
	for (size_t i = 0; i < a; i++, r += named) {
		r[7] = F_ZERO;
		r[8] = (unsigned char)nlen;
		memcpy(r + 9, s->block, nlen);
	}
	for (size_t i = 0; i < b; i++, r += 9)
		r[7] = F_ZERO | F_CONTINUE; /* and the fill byte 0 */
	if (fwrite(s->p, 1, s->pad_at, f) != s->pad_at || fwrite(rec, 1, bytes, f) != bytes ||
	    fwrite(s->p + s->pad_at, 1, s->len - s->pad_at, f) != s->len - s->pad_at ||
	    fclose(f) != 0)
		die("cannot write the output");
	free(rec);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f)
		die("cannot open the input");
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 1 << 20;
			buf = realloc(buf, cap);
			if (!buf)
				die("out of memory");
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got);
	fclose(f);
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	struct stream s = { 0 };

	if (argc != 3 && argc != 4)
		die("usage: qemu-pad IN --where | qemu-pad IN OUT BYTES");
	s.p = slurp(argv[1], &s.len);
	if (s.len < 32 || memcmp(s.p, "QEVM", 4) != 0)
		die("not a QEMU migration stream");
	walk(&s);
	if (argc == 3)
		where(&s);
	else
		pad(&s, argv[2], strtoul(argv[3], NULL, 10));
	free((void *)s.p);
	return 0;
}
