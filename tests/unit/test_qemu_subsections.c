/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_qemu_subsections.c --- fredck's table of `cpu` subsections
 * (formats/qemu/qemu_cpu.c) against the lists derived from QEMU's own
 * target/i386/machine.c, checked in as tests/qemu/cpu-subsections-V.txt:
 * for each version, the table's entries of that version are the list's,
 * in the same order, with the same parent and size.  Links libformats.a,
 * so it is the table fredck itself uses.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/qemu/qemu_cpu.h"
#include "tests/unit/tap.h"

struct row {
	char name[128], parent[128];
	unsigned int size;
};

/* The list's rows (comments skipped); the count, or -1 if unreadable. */
static int read_list(const char *path, struct row *rows, int max)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && n < max) {
		unsigned int version;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%127[^\t]\t%127[^\t]\t%u\t%u", rows[n].name, rows[n].parent,
			   &version, &rows[n].size) != 4) {
			diag("%s: not NAME PARENT VERSION SIZE: %s", path, line);
			fclose(f);
			return -1;
		}
		n++;
	}
	fclose(f);
	return n;
}

static void check_version(const char *srcdir, const char *version, unsigned int bit)
{
	const struct qemu_cpu_subsection *t;
	struct row rows[256];
	char path[4096];
	size_t n, k = 0;
	int got;

	snprintf(path, sizeof(path), "%s/tests/qemu/cpu-subsections-%s.txt", srcdir, version);
	got = read_list(path, rows, 256);
	if (!ok(got > 0, "QEMU %s: %s read", version, path))
		return;
	t = qemu_cpu_subsections(&n);
	for (size_t i = 0; i < n; i++) {
		if (!(t[i].versions & bit))
			continue;
		if ((int)k >= got) {
			ok(false, "QEMU %s: fredck has %s, the source has no more", version,
			   t[i].name);
			return;
		}
		is_str(t[i].name, rows[k].name, "QEMU %s: subsection %zu is %s", version, k,
		       rows[k].name);
		is_str(t[i].parent, rows[k].parent, "QEMU %s: %s's parent", version, rows[k].name);
		is_int(t[i].size, rows[k].size, "QEMU %s: %s's size", version, rows[k].name);
		k++;
	}
	is_int((long long)k, got, "QEMU %s: as many subsections as the source has", version);
}

int main(void)
{
	const char *srcdir = getenv("TOP_SRCDIR");

	if (!srcdir)
		srcdir = ".";
	check_version(srcdir, "7.2", QCPU_IN_7_2);
	check_version(srcdir, "10.0", QCPU_IN_10_0);
	check_version(srcdir, "11.1", QCPU_IN_11_1);
	return done_testing();
}
