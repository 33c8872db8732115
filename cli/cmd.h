/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd.h --- the subcommand table, the options every command shares, and
 * the exit status bits (fsck(8) style, OR-ed over all inputs).
 */
#ifndef FRED_CMD_H
#define FRED_CMD_H

#include <argp.h>
#include <stdbool.h>
#include <stdio.h>

#include "reconstruct/assess.h"
#include "reconstruct/plan.h"

enum exit_bits {
	EXIT_OK = 0,
	EXIT_REPAIRED = 1,    /* something was repaired */
	EXIT_AT_RISK = 4,     /* an at-risk vCPU is left unrepaired */
	EXIT_OPERATIONAL = 8, /* I/O error, malformed or unsupported input */
	EXIT_USAGE = 16,
	EXIT_CANCELLED = 32,  /* SIGINT, SIGTERM or SIGHUP: stopped, nothing half made left */
	EXIT_INTERNAL = 128,
};

/*
 * Where one input's report goes: standard output and standard error, or
 * a batch worker's memory streams (cli/batch.c), passed down to every
 * printer instead of assigning stdout and stderr.
 */
struct out_streams {
	FILE *out; /* the report */
	FILE *err; /* errors, warnings, hints */
};

/* diff has its own status (diff(1)): 0 same, 1 different, 8 error, 16 usage. */

/* Options of the common argp child, accepted before or after the command. */
struct global_opts {
	bool json;
	bool pretty;
	bool quiet;
	int verbose;
	const char *format; /* --format=NAME, NULL: detect */
	bool ndjson;        /* --ndjson (batch): one JSON line per input */
	bool color;         /* --color, resolved: colour the findings in text */
	bool dry_run;       /* repair --dry-run: the JSON header's dry_run */
};

extern struct global_opts global_opts;

/* The common options ("-j", "-p", "-q", "-v", "--format"), as an argp child. */
extern const struct argp common_argp;

/*
 * --vcpu=LIST (inspect, check, diff): which vCPUs are shown, by index;
 * the verdict and the exit status stay the whole input's.
 */
extern const struct argp vcpu_argp;
/* Whether vCPU index is to be shown (always, without --vcpu). */
bool vcpu_selected(unsigned int index);
/* Whether --vcpu was given. */
bool vcpu_filtering(void);

/* --strategy, --dest-payload-cap, --force, shared by check and repair. */
extern struct assess_options plan_cli_opts;
extern const struct argp plan_argp;

/* The inputs of a command, collected by inputs_parse (argp's input). */
struct inputs {
	char **paths;
	int count;
};

/* Add one positional argument; a second "-" is a usage error. */
void inputs_add(struct inputs *in, char *arg, struct argp_state *state);

/* An argp parser that collects the positional arguments into struct inputs. */
error_t inputs_parse(int key, char *arg, struct argp_state *state);

struct cmd {
	const char *name; /* matched exactly */
	const char *summary;
	int (*run)(int argc, char **argv);
};

extern const struct cmd cmd_inspect;
extern const struct cmd cmd_check;
extern const struct cmd cmd_repair;
extern const struct cmd cmd_explain;
extern const struct cmd cmd_diff;
extern const struct cmd cmd_redact;
extern const struct cmd cmd_undo;

#endif
