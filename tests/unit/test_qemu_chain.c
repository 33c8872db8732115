/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_qemu_chain.c --- the count of readings of a device state without
 * its description (formats/qemu/qemu_chain.c) on small device states
 * built byte by byte: one reading, a decoy footer that reads nowhere, a
 * planted footer that closes the device and reopens it (two readings), a
 * planted next section, a command between sections, the end-of-file marker
 * with and without a description, and no reading at all.  The bytes are
 * read from a file, held in memory as the reader holds them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/qemu/qemu_chain.h"
#include "formats/qemu/qemu_stream.h"
#include "tests/unit/tap.h"

struct bytes {
	uint8_t b[4096];
	size_t n;
};

static void put(struct bytes *s, const void *p, size_t n)
{
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void put_be32(struct bytes *s, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	put(s, b, 4);
}

/* 04, id, name, instance 0, version 1. */
static void header(struct bytes *s, uint32_t sid, const char *name)
{
	uint8_t len = (uint8_t)strlen(name);

	put(s, "\x04", 1);
	put_be32(s, sid);
	put(s, &len, 1);
	put(s, name, len);
	put_be32(s, 0);
	put_be32(s, 1);
}

static void footer(struct bytes *s, uint32_t sid)
{
	put(s, "\x7e", 1);
	put_be32(s, sid);
}

/* The verdict on s (the device state from byte 0); *footer_at for sid 1's data at data. */
static int verdict(const struct bytes *s, uint64_t data, uint64_t *footer_at)
{
	char path[] = "/tmp/fredck-chain-XXXXXX";
	int fd = mkstemp(path);
	struct fmt_error e;
	struct qemu_stream *q;
	int v = -1;

	if (fd < 0 || write(fd, s->b, s->n) != (ssize_t)s->n) {
		diag("cannot write %s", path);
		return -1;
	}
	close(fd);
	q = qemu_stream_open(path, &e);
	if (q && bsrc_hold_rest(&q->src, "device state", &e) == 0) {
		v = qemu_chain_build(q, 0, &q->chain, &e);
		if (v == CHAIN_UNIQUE && footer_at)
			*footer_at = qemu_chain_footer(&q->chain, data, 1);
	}
	if (v < 0)
		diag("error: %s", e.msg);
	qemu_stream_free(q);
	unlink(path);
	return v;
}

static void test_one_reading(void)
{
	struct bytes s = { .n = 0 };
	uint64_t f = 0;
	size_t data, real;

	header(&s, 1, "dev");
	data = s.n;
	put(&s, "abcd", 4);
	real = s.n;
	footer(&s, 1);
	put(&s, "\x00", 1);
	is_int(verdict(&s, data, &f), CHAIN_UNIQUE, "one section, the end-of-file marker: one reading");
	is_int((int)f, (int)real, "its footer is the one after its data");
}

static void test_decoy_footer(void)
{
	struct bytes s = { .n = 0 };
	uint64_t f = 0;
	size_t data, real;

	header(&s, 1, "dev");
	data = s.n;
	footer(&s, 1); /* inside the data: followed by nothing that reads */
	put(&s, "\xff\xff", 2);
	real = s.n;
	footer(&s, 1);
	put(&s, "\x00", 1);
	is_int(verdict(&s, data, &f), CHAIN_UNIQUE, "a decoy footer that leads nowhere: one reading");
	is_int((int)f, (int)real, "the section ends at the real footer, not the decoy");
}

static void test_reopened(void)
{
	struct bytes s = { .n = 0 };

	header(&s, 1, "0000:00:01.1/ide");
	put(&s, "guest", 5);
	footer(&s, 1); /* planted: the device closed ... */
	header(&s, 2, "planted");
	footer(&s, 2);
	header(&s, 1, "0000:00:01.1/ide"); /* ... and reopened */
	put(&s, "more", 4);
	footer(&s, 1);
	put(&s, "\x00", 1);
	is_int(verdict(&s, 0, NULL), CHAIN_AMBIGUOUS,
	       "planted bytes that close the device and reopen it: two readings");
}

static void test_planted_next(void)
{
	struct bytes s = { .n = 0 };

	header(&s, 1, "a");
	footer(&s, 1); /* planted: a's end, then a forged header of b ... */
	header(&s, 2, "b");
	put(&s, "x", 1);
	footer(&s, 1); /* ... whose data runs over a's real end */
	header(&s, 2, "b");
	footer(&s, 2);
	put(&s, "\x00", 1);
	is_int(verdict(&s, 0, NULL), CHAIN_AMBIGUOUS,
	       "a planted header of the next section: two readings");
}

static void test_planted_end(void)
{
	struct bytes s = { .n = 0 };
	const char *json = "{\"devices\":[]}";
	uint64_t f = 0;
	size_t data, real;

	header(&s, 1, "0000:00:01.1/ide");
	data = s.n;
	footer(&s, 1); /* planted: the device closed, the end-of-file marker, a description */
	put(&s, "\x00\x06", 2);
	put_be32(&s, (uint32_t)strlen(json));
	put(&s, json, strlen(json));
	put(&s, "guest", 5);
	real = s.n;
	footer(&s, 1);
	header(&s, 2, "cpu_common");
	footer(&s, 2);
	put(&s, "\x00", 1);
	is_int(verdict(&s, data, &f), CHAIN_UNIQUE,
	       "a planted end-of-file marker and description inside a device: one reading");
	is_int((int)f, (int)real, "the device ends at its real footer");
}

static void test_command_and_description(void)
{
	struct bytes s = { .n = 0 };
	const char *json = "{\"devices\":[]}";
	uint64_t f = 0;

	header(&s, 1, "a");
	footer(&s, 1);
	put(&s, "\x08\x00\x0b\x00\x02zz", 7); /* a command with 2 bytes of data */
	header(&s, 3, "c");
	footer(&s, 3);
	put(&s, "\x00\x06", 2);
	put_be32(&s, (uint32_t)strlen(json));
	put(&s, json, strlen(json));
	is_int(verdict(&s, 0, &f), CHAIN_UNIQUE,
	       "a command between sections, a description after the marker: one reading");
	s.n--; /* the description now ends before its length says */
	is_int(verdict(&s, 0, NULL), CHAIN_NONE, "a description shorter than its length: no reading");
}

static void test_command_past_the_end(void)
{
	struct bytes s = { .n = 0 };

	put(&s, "\x08\x00\x0b\xff\xff", 5); /* a command whose 65535 bytes are not there */
	put(&s, "\x00", 1);
	is_int(verdict(&s, 0, NULL), CHAIN_NONE, "a command longer than the input: no reading");
}

static void test_no_reading(void)
{
	struct bytes s = { .n = 0 };

	header(&s, 1, "dev");
	put(&s, "abcd", 4);
	footer(&s, 9); /* another section's id */
	put(&s, "\x00", 1);
	is_int(verdict(&s, 0, NULL), CHAIN_NONE, "no footer of its own id: no reading");
	s.n = 0;
	header(&s, 1, "dev");
	footer(&s, 1);
	put(&s, "\x00\x00", 2);
	is_int(verdict(&s, 0, NULL), CHAIN_NONE, "bytes after the end-of-file marker: no reading");
}

int main(void)
{
	test_one_reading();
	test_decoy_footer();
	test_reopened();
	test_planted_next();
	test_planted_end();
	test_command_and_description();
	test_command_past_the_end();
	test_no_reading();
	return done_testing();
}
