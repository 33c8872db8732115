/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * common.c --- the argp children shared by the subcommands: output
 * options, and the repair-planning options of check and repair.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/complete.h"
#include "cli/escape.h"
#include "formats/format.h"

struct global_opts global_opts;
struct assess_options plan_cli_opts = {
	.plan = { .strategy = STRATEGY_AUTO, .force = false },
	.cap = CAP_AUTO,
};

enum { OPT_FORMAT = 0x100, OPT_STRATEGY, OPT_DEST_CAP, OPT_FORCE, OPT_COLOR,
       OPT_LIST_FOR_COMPLETION };

/* --color=WHEN, resolved at the end of the parse. */
static enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER } color_when;

static const struct argp_option common_options[] = {
	{ .name = "json", .key = 'j', .doc = "Print one JSON document instead of text" },
	/* -h: what most tools take for help (argp's own is -?). */
	{ .key = 'h', .flags = OPTION_HIDDEN },
	{ .name = "pretty", .key = 'p', .doc = "Indent the JSON (implies --json)" },
	{ .name = "quiet", .key = 'q', .doc = "One line per input: its verdict, counts and what was written" },
	{ .name = "verbose", .key = 'v', .doc = "Print every vCPU and every note" },
	{ .name = "format", .key = OPT_FORMAT, .arg = "NAME",
	  .doc = "Read the input as NAME instead of detecting it" /* + the list: common_help */ },
	{ .name = "color", .key = OPT_COLOR, .arg = "auto|always|never",
	  .doc = "Colour the findings in text output (default auto: when standard output is a "
		 "terminal and NO_COLOR is unset or empty)" },
	/* For the shell completions (cli/complete.h); fredck(1), COMPLETION. */
	{ .name = "list-for-completion", .key = OPT_LIST_FOR_COMPLETION, .flags = OPTION_HIDDEN },
	{ 0 }
};

/* "kvm-dir, qemu, ..." into buf. */
static void list_formats(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; format_list[i] && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", format_list[i]->name);

		if (n > 0)
			used += (size_t)n;
	}
}

/* https://no-color.org: a non-empty NO_COLOR turns auto off; --color=always wins. */
static void resolve_color(void)
{
	const char *no_color = getenv("NO_COLOR");

	if (color_when == COLOR_AUTO)
		global_opts.color = isatty(STDOUT_FILENO) && !(no_color && *no_color);
	else
		global_opts.color = color_when == COLOR_ALWAYS;
}

/* The known formats, from format_list, so that a new format shows itself. */
static char *common_help(int key, const char *text, void *input)
{
	char known[256], *buf;

	if (key != OPT_FORMAT)
		return (char *)text;
	list_formats(known, sizeof(known));
	if (asprintf(&buf, "%s (%s)", text, known) < 0)
		return (char *)text;
	return buf;
}

static error_t common_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'j':
		global_opts.json = true;
		break;
	case 'h':
		argp_state_help(state, state->out_stream, ARGP_HELP_STD_HELP);
		break;
	case 'p':
		global_opts.json = true;
		global_opts.pretty = true;
		break;
	case 'q':
		global_opts.quiet = true;
		break;
	case 'v':
		global_opts.verbose++;
		break;
	case OPT_COLOR:
		if (strcmp(arg, "auto") == 0)
			color_when = COLOR_AUTO;
		else if (strcmp(arg, "always") == 0)
			color_when = COLOR_ALWAYS;
		else if (strcmp(arg, "never") == 0)
			color_when = COLOR_NEVER;
		else if (strchr(arg, '/') || strchr(arg, '.') || access(arg, F_OK) == 0)
			/* "--color q/pc.bin": the input was taken for WHEN. */
			argp_error(state, "--color takes auto, always or never, not '%s', which looks "
					  "like an input: give WHEN with '=' (--color=always)", esc(arg));
		else
			argp_error(state, "--color takes auto, always or never, not '%s'", esc(arg));
		break;
	case OPT_LIST_FOR_COMPLETION:
		/*
		 * What this parse takes, then exit as --help does.  The input
		 * is the command table at the top level (main.c), else NULL.
		 */
		complete_list(state->root_argp, state->input, state->out_stream);
		/* argp ends the run, as for --help: the exit stays argp's own. */
		if (fflush(state->out_stream) != 0)
			argp_failure(state, EXIT_OPERATIONAL, errno, "cannot write the listing");
		argp_state_help(state, state->out_stream, ARGP_HELP_EXIT_OK);
		break;
	case ARGP_KEY_END:
		resolve_color();
		break;
	case OPT_FORMAT:
		if (!format_by_name(arg)) {
			char known[256];

			list_formats(known, sizeof(known));
			if (arg[0] == '-')
				argp_error(state, "--format takes a format's name (%s), and '%s' is "
						  "an option", known, esc(arg));
			argp_error(state, "unknown format '%s' (known: %s)", esc(arg), known);
		}
		global_opts.format = arg;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp common_argp = {
	.options = common_options,
	.parser = common_parse,
	.help_filter = common_help,
};

/* --vcpu: sorted ranges of indices. */
#define VCPU_RANGES_MAX 64
static struct {
	unsigned int lo, hi;
} vcpu_ranges[VCPU_RANGES_MAX];
static size_t nvcpu_ranges;

bool vcpu_filtering(void)
{
	return nvcpu_ranges > 0;
}

bool vcpu_selected(unsigned int index)
{
	if (!nvcpu_ranges)
		return true;
	for (size_t i = 0; i < nvcpu_ranges; i++)
		if (index >= vcpu_ranges[i].lo && index <= vcpu_ranges[i].hi)
			return true;
	return false;
}

/* "1", "0,2", "4-7,9": false on anything else. */
static bool parse_vcpu_list(const char *arg)
{
	const char *p = arg;

	while (*p) {
		unsigned long lo, hi;
		char *end;

		if (*p < '0' || *p > '9' || nvcpu_ranges == VCPU_RANGES_MAX)
			return false;
		lo = strtoul(p, &end, 10);
		hi = lo;
		if (*end == '-') {
			if (end[1] < '0' || end[1] > '9')
				return false;
			hi = strtoul(end + 1, &end, 10);
		}
		if (hi < lo || hi > 0xffffffffUL)
			return false;
		vcpu_ranges[nvcpu_ranges].lo = (unsigned int)lo;
		vcpu_ranges[nvcpu_ranges++].hi = (unsigned int)hi;
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			return false;
		p = end;
	}
	return nvcpu_ranges > 0;
}

enum { OPT_VCPU = 0x180 };

static const struct argp_option vcpu_options[] = {
	{ .name = "vcpu", .key = OPT_VCPU, .arg = "LIST",
	  .doc = "Show only these vCPUs (indices: 1, 0,2, 4-7); the verdict and exit status stay "
		 "the whole input's" },
	{ 0 }
};

static error_t vcpu_parse(int key, char *arg, struct argp_state *state)
{
	if (key != OPT_VCPU)
		return ARGP_ERR_UNKNOWN;
	if (!parse_vcpu_list(arg))
		argp_error(state, "--vcpu takes vCPU indices such as 1, 0,2 or 4-7, not '%s'",
			   esc(arg));
	return 0;
}

const struct argp vcpu_argp = {
	.options = vcpu_options,
	.parser = vcpu_parse,
};

static const struct argp_option plan_options[] = {
	{ .name = "strategy", .key = OPT_STRATEGY, .arg = "auto|pending|drop|none",
	  .doc = "How to repair an at-risk vCPU (default auto: per vCPU, see fredck(1))" },
	{ .name = "dest-payload-cap", .key = OPT_DEST_CAP, .arg = "auto|yes|no",
	  .doc = "Whether the destination VMM enables KVM_CAP_EXCEPTION_PAYLOAD (default auto: "
		 "from the format)" },
	{ .name = "force", .key = OPT_FORCE,
	  .doc = "Let pending use the best estimate of an ambiguous #DB (doubtful bits cleared), "
		 "or a #PF whose error code the format lost" },
	{ 0 }
};

static error_t plan_parse(int key, char *arg, struct argp_state *state)
{
	int s;

	switch (key) {
	case OPT_STRATEGY:
		s = strategy_parse(arg);
		if (s < 0)
			argp_error(state, "unknown strategy '%s' (auto, pending, drop, none)", esc(arg));
		plan_cli_opts.plan.strategy = (enum strategy)s;
		break;
	case OPT_DEST_CAP:
		if (strcmp(arg, "auto") == 0)
			plan_cli_opts.cap = CAP_AUTO;
		else if (strcmp(arg, "yes") == 0)
			plan_cli_opts.cap = CAP_YES;
		else if (strcmp(arg, "no") == 0)
			plan_cli_opts.cap = CAP_NO;
		else
			argp_error(state, "--dest-payload-cap takes auto, yes or no, not '%s'", esc(arg));
		break;
	case OPT_FORCE:
		plan_cli_opts.plan.force = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp plan_argp = {
	.options = plan_options,
	.parser = plan_parse,
};

/*
 * Standard input can be read once: two "-" would have two readers share
 * one pipe, each seeing pieces of the stream.
 */
void inputs_add(struct inputs *in, char *arg, struct argp_state *state)
{
	for (int i = 0; strcmp(arg, "-") == 0 && i < in->count; i++)
		if (strcmp(in->paths[i], "-") == 0)
			argp_error(state, "standard input (-) can be given only once");
	in->paths[in->count++] = arg;
}

error_t inputs_parse(int key, char *arg, struct argp_state *state)
{
	struct inputs *in = state->input;

	switch (key) {
	case ARGP_KEY_ARG:
		inputs_add(in, arg, state);
		break;
	case ARGP_KEY_NO_ARGS:
		argp_error(state, "no input given");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}
