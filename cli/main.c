/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c --- fredck's entry point: the command table and dispatch.
 *
 * The top-level parse stops at the first non-option (the command name);
 * the command then parses the rest with its own argp, which mounts the
 * common options as a child so they work before or after the command.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/cancel.h"
#include "cli/diag.h"
#include "cli/hint.h"
#include "cli/output.h"
#include "formats/format.h"
#include "formats/io/bsrc.h"
#include "formats/io/decode.h"
#include "reconstruct/findings.h"

/*
 * --version: the version, the distribution package's version where the
 * build was given one (configure --with-package-version, as debian/rules
 * does), and what this binary can read: its formats and the compressors
 * of libvirt images, with the library versions it runs with.
 */
static void print_version(FILE *out, struct argp_state *state)
{
	char provider[64];

	fprintf(out, "%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
#ifdef FREDCK_PACKAGE_VERSION
	fprintf(out, "package version: %s\n", FREDCK_PACKAGE_VERSION);
#endif
	fputs("formats:", out);
	for (size_t i = 0; format_list[i]; i++)
		fprintf(out, " %s", format_list[i]->name);
	fputs("\ncompressed libvirt images:", out);
	for (int c = CODEC_GZIP; c <= CODEC_ZSTD; c++)
		fprintf(out, "%s %s (%s)", c == CODEC_GZIP ? "" : ",", codec_name(c),
			codec_provider(c, provider, sizeof(provider)));
	fputc('\n', out);
}

void (*argp_program_version_hook)(FILE *, struct argp_state *) = print_version;
/* No argp_program_bug_address: fredck has no public address for reports (debian/control). */

static const struct cmd *const commands[] = {
	&cmd_inspect,
	&cmd_check,
	&cmd_repair,
	&cmd_explain,
	&cmd_diff,
	&cmd_redact,
	&cmd_undo,
	NULL,
};

/* Index in argv of the command name, set by the top-level parser. */
static int command_index;

static const struct cmd *find_command(const char *name)
{
	for (size_t i = 0; commands[i]; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

/* "unknown command 'chek'; did you mean 'check'?" */
static void unknown_command(const char *name)
{
	const char *names[sizeof(commands) / sizeof(commands[0])];
	const char *near;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		names[i] = commands[i] ? commands[i]->name : NULL;
	near = hint_closest(name, names);
	if (near)
		diag_error("unknown command '%s'; did you mean '%s'?", name, near);
	else
		diag_error("unknown command '%s'; try 'fredck --help'", name);
}

static error_t top_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_INIT:
		/* The common options list the commands for --list-for-completion. */
		state->child_inputs[0] = (void *)commands;
		return 0;
	case ARGP_KEY_ARG:
		command_index = state->next - 1;
		state->next = state->argc; /* the command parses the rest */
		return 0;
	case ARGP_KEY_NO_ARGS:
		argp_error(state, "no command given");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static char *top_help_filter(int key, const char *text, void *input)
{
	char *buf;
	size_t len;
	FILE *f;

	if (key != ARGP_KEY_HELP_POST_DOC)
		return (char *)text;
	f = open_memstream(&buf, &len);
	if (!f)
		return (char *)text;
	fprintf(f, "Commands:\n");
	for (size_t i = 0; commands[i]; i++)
		fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\nRun 'fredck COMMAND --help' for a command's options; see fredck(1).\n"
		   "Exit status: 0 nothing to do, 1 repaired, 4 at-risk vCPU left, "
		   "8 error, 16 usage (bits OR-ed); 32 cancelled by a signal.");
	fclose(f);
	return buf;
}

static const struct argp_child top_children[] = {
	{ .argp = &common_argp, .header = "Common options (also after the command):" },
	{ 0 }
};

static const struct argp top_argp = {
	.parser = top_parse,
	.args_doc = "COMMAND [ARG...]",
	.doc = "fredck -- find and repair KVM vCPUs whose FRED event data was lost "
	       "when their state was saved.\v",
	.children = top_children,
	.help_filter = top_help_filter,
};

/* Stdout is where results go: a failed flush is an operational error. */
static int close_stdout(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		diag_error("cannot write the output: %s", strerror(errno));
		return status | EXIT_OPERATIONAL;
	}
	return status;
}

/*
 * FREDCK_HOLD_MAX: the most a stream's device state may take in memory
 * when it is read from a pipe (fredck(1), ENVIRONMENT): a size in MiB,
 * or with a suffix K, M or G.
 */
static int hold_max_from_env(void)
{
	const char *v = getenv("FREDCK_HOLD_MAX");
	unsigned long long n, shift = 20;
	char *end;

	if (!v)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (*end == 'K' || *end == 'M' || *end == 'G') {
		shift = *end == 'K' ? 10 : *end == 'M' ? 20 : 30;
		end++;
	}
	if (errno || end == v || *end || n == 0 || n > (1ULL << 40) >> shift) {
		diag_error("FREDCK_HOLD_MAX=%s: give a size from 1K to 1024G (a number alone is MiB)",
			   v);
		return -1;
	}
	bsrc_hold_max = n << shift;
	return 0;
}

int main(int argc, char **argv)
{
	const struct cmd *cmd;
	char *name;
	int status;

	cancel_install();
	argp_err_exit_status = EXIT_USAGE;
	/* argp names the program by argv[0]: "fredck", not its full path. */
	argv[0] = (char *)"fredck";
	if (findings_table_verify() != 0) {
		diag_error("internal error: the findings table is inconsistent");
		return EXIT_INTERNAL;
	}
	if (hint_check_top_options(&top_argp, argc, argv) != 0)
		return EXIT_USAGE;
	argp_parse(&top_argp, argc, argv, ARGP_IN_ORDER, NULL, NULL);
	if (hold_max_from_env() != 0)
		return EXIT_USAGE;
	diag_progress_install();
	cmd = find_command(argv[command_index]);
	if (!cmd) {
		unknown_command(argv[command_index]);
		return EXIT_USAGE;
	}
	/* Help and error lines then name the command: "fredck check: ...". */
	if (asprintf(&name, "fredck %s", cmd->name) < 0)
		return EXIT_INTERNAL;
	argv[command_index] = name;
	status = cmd->run(argc - command_index, argv + command_index);
	/* A JSON value that could not be built (cli/output.c) fails the run here. */
	status = close_stdout(status | out_status());
	free(name);
	return status;
}
