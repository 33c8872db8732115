/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_file.c --- libFuzzer target for a format held in one file, named by
 * FUZZ_FORMAT at build time (tests/fuzz/Makemodule.am builds one program
 * per format): the input is the file, read and repaired.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>

#include "tests/fuzz/fuzz_common.h"

#ifdef FUZZ_FIX_CRC
#include <stdlib.h>
#include <string.h>

#include "formats/firecracker/crc64.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/input", fuzz_scratch());
#ifdef FUZZ_FIX_CRC
	/*
	 * Firecracker: a mutation almost always breaks the CRC-64 trailer, and
	 * the reader stops there.  Half the inputs get a valid one, so that
	 * the mutations reach the parser: those whose last byte (a trailer
	 * byte, replaced anyway) is even.
	 */
	if (size >= 8 && !(data[size - 1] & 1)) {
		uint8_t *fixed = malloc(size);
		uint64_t crc;

		if (!fixed)
			abort();
		memcpy(fixed, data, size);
		crc = crc64_jones(0, fixed, size - 8);
		for (int i = 0; i < 8; i++)
			fixed[size - 8 + i] = (uint8_t)(crc >> (8 * i));
		fuzz_write_file(path, fixed, size);
		free(fixed);
	} else {
		fuzz_write_file(path, data, size);
	}
#else
	fuzz_write_file(path, data, size);
#endif
	/* A byte from the middle picks the strategy: mutations vary it too. */
	fuzz_cycle(path, FUZZ_FORMAT, size ? data[size / 2] : 0);
	return 0;
}
