/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_common.h --- what every libFuzzer target does with its input.
 *
 * The readers take paths, so a target writes its bytes (or the tree they
 * describe) into a scratch directory and runs the cycle a repair runs:
 * parse; plan every vCPU; write the repair; parse the output again.  A
 * crash, a sanitizer report or a broken promise aborts: a malformed input
 * must fail with an error that names the file, and a written repair must
 * parse and must have fixed every vCPU its plan said it fixed.
 */
#ifndef FRED_FUZZ_COMMON_H
#define FRED_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* A fresh, empty scratch directory for this process (created once). */
const char *fuzz_scratch(void);

/* Write data to path (created or truncated); aborts on failure. */
void fuzz_write_file(const char *path, const uint8_t *data, size_t len);

/* Remove a file or a tree under the scratch directory. */
void fuzz_remove(const char *path);

/*
 * The cycle, on the snapshot at path read as format.  seed picks the
 * strategy and capability (auto; pending, forced, capability yes; drop),
 * so one corpus explores each writer path.
 */
void fuzz_cycle(const char *path, const char *format, uint8_t seed);

#endif
