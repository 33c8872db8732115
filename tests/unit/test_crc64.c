/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_crc64.c --- the CRC-64 of Firecracker snapshot files against the
 * values Firecracker and the CRC catalogue publish, and the property the
 * reader relies on: a file ending in its own CRC (little-endian) has CRC 0.
 */
#include <string.h>

#include "formats/firecracker/crc64.h"
#include "tests/unit/tap.h"

int main(void)
{
	uint8_t buf[16 + 8];
	uint64_t crc;

	plan(6);
	memset(buf, 0x7B, 16);
	/* src/vmm/src/snapshot/crc.rs, test_crc_write: 16 bytes of 123. */
	is_u64(crc64_jones(0, buf, 16), 0x29D5357216326566ULL,
	       "Firecracker's test value: 16 x 0x7B");
	/* The catalogue's check value of CRC-64/Jones (Redis). */
	is_u64(crc64_jones(0, "123456789", 9), 0xE9C6D914C4B8D9CAULL, "check value of \"123456789\"");
	is_u64(crc64_jones(0, buf, 0), 0, "no bytes: the initial value 0");
	/* Streaming in pieces gives the same CRC as one call. */
	is_u64(crc64_jones(crc64_jones(0, buf, 5), buf + 5, 11), 0x29D5357216326566ULL,
	       "continued over two pieces");
	crc = crc64_jones(0, buf, 16);
	for (int i = 0; i < 8; i++)
		buf[16 + i] = (uint8_t)(crc >> (8 * i));
	is_u64(crc64_jones(0, buf, sizeof(buf)), 0, "data followed by its CRC (LE) has CRC 0");
	buf[3] ^= 0x10;
	ok(crc64_jones(0, buf, sizeof(buf)) != 0, "one flipped bit breaks it");
	return done_testing();
}
