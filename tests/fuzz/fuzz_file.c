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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/input", fuzz_scratch());
	fuzz_write_file(path, data, size);
	/* A byte from the middle picks the strategy: mutations vary it too. */
	fuzz_cycle(path, FUZZ_FORMAT, size ? data[size / 2] : 0);
	return 0;
}
