/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_check.c --- `fredck check FILE...`: findings, rebuilt event data
 * and what repair would do; read-only.  Exit 4 when any vCPU is at risk.
 */
#include "config.h"

#include "cli/batch.h"
#include "cli/cmd.h"
#include "cli/report.h"

static const struct argp_child check_children[] = {
	{ .argp = &plan_argp, .header = "What repair would do:" },
	{ .argp = &batch_argp, .header = "Many inputs:" },
	{ .argp = &vcpu_argp, .header = "Which vCPUs:" },
	{ .argp = &common_argp, .header = "Common options:" },
	{ 0 }
};

static const struct argp check_argp = {
	.parser = inputs_parse,
	.args_doc = "INPUT...",
	.doc = "Find vCPUs whose FRED event data was lost, rebuild it from the saved "
	       "registers, and say what repair would do. Never writes.\v"
	       "Exit status: 0 nothing at risk, 4 an at-risk vCPU, 8 error, 16 usage.",
	.children = check_children,
};

static int check_run(int argc, char **argv)
{
	return run_read_only(&check_argp, argc, argv, "check", MODE_CHECK);
}

const struct cmd cmd_check = {
	.name = "check",
	.summary = "find at-risk vCPUs and show what repair would do (read-only)",
	.run = check_run,
};
