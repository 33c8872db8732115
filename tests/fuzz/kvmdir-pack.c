/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvmdir-pack.c --- pack a kvm-dir snapshot into one fuzz input, the form
 * fuzz_kvmdir.c unpacks: kvmdir-pack DIR > SEED.  vCPUs 0-15; files over
 * 65535 bytes are cut (none of the structures is that big).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/kvmdir_pack.h"

static void pack_file(unsigned int vcpu, unsigned int which, const char *path)
{
	static uint8_t buf[65535];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	putchar((int)(vcpu << 4 | which));
	putchar((int)(n & 0xff));
	putchar((int)(n >> 8));
	fwrite(buf, 1, n, stdout);
}

int main(int argc, char **argv)
{
	char path[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: kvmdir-pack DIR > SEED\n");
		return 2;
	}
	for (unsigned int vcpu = 0; vcpu < 16; vcpu++)
		for (unsigned int w = 0; w < KVMDIR_PACK_FILES; w++) {
			snprintf(path, sizeof(path), "%s/vcpu%u/%s", argv[1], vcpu,
				 kvmdir_pack_files[w]);
			pack_file(vcpu, w, path);
		}
	return 0;
}
