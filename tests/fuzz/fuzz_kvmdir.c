/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_kvmdir.c --- libFuzzer target: a kvm-dir snapshot directory.
 *
 * The input packs the tree (kvmdir_pack.h): records of one selector byte
 * (vCPU in the high nibble, file in the low one), a little-endian u16
 * length and the file's bytes.  The target unpacks it into a fresh
 * directory and runs the repair cycle on it.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/kvmdir_pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[PATH_MAX], sub[PATH_MAX + 16], file[PATH_MAX + 32];
	size_t at = 0;

	snprintf(dir, sizeof(dir), "%s/snap", fuzz_scratch());
	fuzz_remove(dir);
	mkdir(dir, 0755);
	while (size - at >= 3) {
		unsigned int vcpu = data[at] >> 4, which = data[at] & 0x0f;
		size_t len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;

		at += 3;
		if (len > size - at)
			len = size - at;
		if (which < KVMDIR_PACK_FILES) {
			snprintf(sub, sizeof(sub), "%s/vcpu%u", dir, vcpu);
			mkdir(sub, 0755);
			snprintf(file, sizeof(file), "%s/%s", sub, kvmdir_pack_files[which]);
			fuzz_write_file(file, data + at, len);
		}
		at += len;
	}
	fuzz_cycle(dir, "kvm-dir", size ? data[size - 1] : 0);
	return 0;
}
