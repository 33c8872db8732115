/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fredck-kvm.c --- real-kernel fixture generator and oracle for fredck:
 * the subcommand dispatcher.  See tests/kvm/README.md.
 */
#include <stdio.h>
#include <string.h>

#include "fredck-kvm.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "gen", cmd_gen, "gen CASE OUTDIR       capture one case into OUTDIR" },
	{ "gen-all", cmd_gen_all, "gen-all DIR           capture every case into DIR/<case>/" },
	{ "oracle", cmd_oracle, "oracle KVMDIR         load KVMDIR into real vCPUs and check delivery" },
	{ "measure", cmd_measure, "measure               print the kernel's SET/GET/delivery behaviour" },
	{ "list", cmd_list, "list                  list the cases" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: fredck-kvm COMMAND ...\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  fredck-kvm %s\n", commands[i].usage);
	fprintf(f, "exit: 0 ok, 1 oracle mismatch, 2 setup error, 3 usage, 77 no usable /dev/kvm\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	errmsg("unknown command '%s'", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
