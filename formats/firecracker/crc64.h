/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * crc64.h --- the CRC-64 Firecracker appends to its snapshot files: the
 * "Jones" (Redis) CRC-64, reflected polynomial 0x95AC9329AC4BC9B5, initial
 * value 0, no final xor.  Firecracker's own test value: sixteen bytes 0x7B
 * give 0x29D5357216326566.
 */
#ifndef FRED_CRC64_H
#define FRED_CRC64_H

#include <stddef.h>
#include <stdint.h>

/*
 * Continue the CRC crc over len bytes at buf (start with 0).  Because the
 * file stores the CRC little-endian after the bytes it covers, the CRC of
 * a whole valid file, trailer included, is 0.
 */
uint64_t crc64_jones(uint64_t crc, const void *buf, size_t len);

#endif
