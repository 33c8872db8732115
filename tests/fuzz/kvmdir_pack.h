/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvmdir_pack.h --- the file names a packed kvm-dir tree selects by
 * number (fuzz_kvmdir.c unpacks, kvmdir-pack.c packs the seeds).
 */
#ifndef FRED_KVMDIR_PACK_H
#define FRED_KVMDIR_PACK_H

static const char *const kvmdir_pack_files[] = {
	"events", "regs", "sregs", "sregs2", "msrs", "xcrs", "debugregs", "nested",
};

#define KVMDIR_PACK_FILES (sizeof(kvmdir_pack_files) / sizeof(kvmdir_pack_files[0]))

#endif
