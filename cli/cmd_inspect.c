/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_inspect.c --- `fredck inspect FILE...`: the saved vCPU state as the
 * model sees it, and which registers the format saved.
 */
#include "config.h"

#include "cli/batch.h"
#include "cli/cmd.h"
#include "cli/report.h"

static const struct argp_child inspect_children[] = {
	{ .argp = &batch_argp, .header = "Many inputs:" },
	{ .argp = &vcpu_argp, .header = "Which vCPUs:" },
	{ .argp = &common_argp, .header = "Common options:" },
	{ 0 }
};

static const struct argp inspect_argp = {
	.parser = inputs_parse,
	.args_doc = "INPUT...",
	.doc = "Show the saved vCPU state: the queued exception, interrupt and NMI, the event "
	       "flags, nested state, and the registers fredck reads (with those the format did "
	       "not save).",
	.children = inspect_children,
};

static int inspect_run(int argc, char **argv)
{
	return run_read_only(&inspect_argp, argc, argv, "inspect", MODE_INSPECT);
}

const struct cmd cmd_inspect = {
	.name = "inspect",
	.summary = "show the saved vCPU state of each input",
	.run = inspect_run,
};
