/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * le.h --- fixed-width integers in a byte buffer, little- and big-endian.
 *
 * Every reader decodes from bytes at offsets, never by casting a buffer,
 * so a file from another machine reads the same on any host.  KVM's
 * structures and the Rust serialisers are little-endian; QEMU's stream is
 * big-endian.
 */
#ifndef FRED_IO_LE_H
#define FRED_IO_LE_H

#include <stdint.h>

static inline uint64_t le_get(const uint8_t *p, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = bytes; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static inline void le_put(uint8_t *p, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint64_t be_get(const uint8_t *p, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

static inline void be_put(uint8_t *p, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = bytes; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}

#endif
