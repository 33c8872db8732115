/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report.h --- one input's analysis (findings, rebuilt event data, plan)
 * and its rendering as text or JSON, shared by inspect, check and repair.
 */
#ifndef FRED_REPORT_H
#define FRED_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "cli/cmd.h"

#include "formats/format.h"
#include "reconstruct/assess.h"
#include "reconstruct/findings.h"
#include "reconstruct/plan.h"

enum report_mode {
	MODE_INSPECT,
	MODE_CHECK,   /* what repair would do */
	MODE_DRY_RUN, /* repair --dry-run: the same, said as a dry run */
	MODE_REPAIR,  /* what repair did */
};


struct input_report {
	const char *path;
	struct snapshot snap;
	bool opened;
	bool failed;
	struct fmt_error err;
	struct vcpu_assessment *vcpus; /* reconstruct/assess.h, one per vCPU */
	size_t at_risk, planned, left;
	/* Repair only. */
	struct write_request w;
	bool wrote;
	/* repair -O (cli/outdir.h): nothing to repair, so no copy; or the output already held it. */
	bool not_copied;
	bool up_to_date;
};

/* Open path and analyse it with the planning options; false on error (r->err). */
bool report_analyse(struct input_report *r, const char *path);
void report_free(struct input_report *r);

/*
 * Repair path as a stream filter into out_fd (one pass), then analyse it
 * as report_analyse does; false on error (r->err; the output is cut short).
 */
bool report_filter(struct input_report *r, const char *path, int out_fd);

/* The exit bits of this input in mode (fsck style; EXIT_OPERATIONAL on error). */
int report_exit_bits(const struct input_report *r, enum report_mode mode);

/*
 * An error as every JSON document gives it: message, kind, path, offset,
 * field, reason (the message without its place), errno (symbolic), hint.
 */
json_t *report_json_error(const struct fmt_error *e);

/* The error on standard error, and the hint that says what to do next, if any. */
void report_error(const struct fmt_error *e, bool can_recurse);
/* The same on the stream err. */
void report_ferror(FILE *err, const struct fmt_error *e, bool can_recurse);
/* The command being run takes -r (inspect, check, repair): hints may suggest it. */
extern bool report_can_recurse;

/*
 * Print the input as text on io->out (its errors and warnings on io->err),
 * or add it to the JSON document.
 */
void report_emit(const struct input_report *r, enum report_mode mode,
		 const struct out_streams *io);

/* "injected", "pending", "none". */
const char *exc_state_name(enum exc_state s);
/* "#PF (14) injected, error code 0x00000006, no payload", into buf. */
void describe_exception(const struct vcpu_exception *x, char *buf, size_t len);

/*
 * Parse argv with argp (its parser must be inputs_parse), then analyse and
 * show every input in mode; returns the OR of the exit bits.
 */
struct argp;
int run_read_only(const struct argp *argp, int argc, char **argv, const char *command,
		  enum report_mode mode);

#endif
