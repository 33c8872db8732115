/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * crc64.c --- CRC-64 "Jones", table-driven, the table built on first use
 * from the polynomial (it is a checksum of a few MB at most: no library).
 */
#include "config.h"

#include <stdbool.h>

#include "formats/firecracker/crc64.h"

/* The Jones polynomial 0xAD93D23594C935A9, bit-reversed for an LSB-first CRC. */
#define CRC64_JONES_REFLECTED 0x95AC9329AC4BC9B5ULL

/* The CRC of each byte value; filled once by build_table(). */
static uint64_t table[256];
static bool table_built;

static void build_table(void)
{
	for (unsigned int b = 0; b < 256; b++) {
		uint64_t c = b;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC64_JONES_REFLECTED : c >> 1;
		table[b] = c;
	}
	table_built = true;
}

uint64_t crc64_jones(uint64_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!table_built)
		build_table();
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
	return crc;
}
