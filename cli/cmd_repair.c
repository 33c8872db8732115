/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_repair.c --- `fredck repair INPUT -o OUT | --in-place | --dry-run`.
 *
 * The input is never modified unless --in-place is given; either way the
 * result is written under a temporary name, parsed again and verified,
 * fsync'ed and only then renamed into place (formats/safe_write.c).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/batch.h"
#include "cli/cmd.h"
#include "cli/diag.h"
#include "cli/escape.h"
#include "cli/hint.h"
#include "cli/outdir.h"
#include "cli/output.h"
#include "cli/report.h"

enum { OPT_IN_PLACE = 0x200, OPT_BACKUP, OPT_NO_BACKUP, OPT_DRY_RUN };

struct repair_opts {
	struct inputs in;
	const char *output;
	const char *output_dir;
	bool in_place;
	const char *backup_suffix;
	bool backup_given;
	bool no_backup;
	bool dry_run;
};

static const struct argp_option repair_options[] = {
	{ .name = "output", .key = 'o', .arg = "OUT",
	  .doc = "Write the repaired copy to OUT (a new path; never overwritten)" },
	{ .name = "output-dir", .key = 'O', .arg = "DIR",
	  .doc = "Write each repaired copy into DIR, under the input's name (with -r, its path "
		 "below the searched directory); DIR is created if needed, nothing is overwritten; "
		 "an input with nothing to repair is not copied, an output already holding the "
		 "repair counts as done (so a rerun resumes)" },
	{ .name = "in-place", .key = OPT_IN_PLACE,
	  .doc = "Replace the input atomically, keeping the original as INPUT.orig "
		 "(INPUT.orig.N when that holds an earlier original)" },
	{ .name = "backup", .key = OPT_BACKUP, .arg = "SUFFIX",
	  .doc = "With --in-place: name the backup INPUT+SUFFIX (default .orig); never "
		 "overwritten: a later original is INPUT+SUFFIX.1, .2, ..." },
	{ .name = "no-backup", .key = OPT_NO_BACKUP,
	  .doc = "With --in-place: keep no backup of the original" },
	{ .name = "dry-run", .key = OPT_DRY_RUN,
	  .doc = "Show what would be repaired; write nothing (exits like check)" },
	{ 0 }
};

static void validate(const struct repair_opts *o, struct argp_state *state)
{
	/* --dry-run with --in-place previews the in-place repair (its plan can differ). */
	int modes = (o->output != NULL) + (o->output_dir != NULL) + o->in_place +
		    (o->dry_run && !o->in_place);

	if (modes == 0)
		argp_error(state,
			   "say where the repair goes: -o OUT, -O DIR, --in-place, or --dry-run");
	if (modes > 1)
		argp_error(state, "-o, -O and --in-place exclude each other, and --dry-run goes "
				  "alone or with --in-place");
	if (o->dry_run && (o->backup_given || o->no_backup))
		argp_error(state, "--dry-run writes nothing: --backup and --no-backup do not apply");
	if (o->output_dir && !*o->output_dir)
		argp_error(state, "-O takes a directory");
	if (o->output && !*o->output)
		argp_error(state, "-o takes a path (or - for standard output)");
	/* A terminal never receives a binary stream (as gzip and zstd refuse). */
	if (o->output && strcmp(o->output, "-") == 0 && isatty(STDOUT_FILENO))
		argp_error(state, "standard output is a terminal: the repaired stream is binary; "
				  "redirect it (> FILE, | COMMAND) or give -o FILE");
	if (o->output && batch_opts.recursive)
		argp_error(state, "-o writes one input; with -r use -O DIR or --in-place");
	if ((o->backup_given || o->no_backup) && !o->in_place)
		argp_error(state, "--backup and --no-backup go with --in-place");
	if (o->backup_given && o->no_backup)
		argp_error(state, "--backup and --no-backup exclude each other");
	if (o->backup_given && (!*o->backup_suffix || strchr(o->backup_suffix, '/')))
		argp_error(state, "--backup takes a non-empty suffix without '/'");
	if (o->output && o->in.count != 1)
		argp_error(state, "-o writes one input; give exactly one");
	if (o->in.count > 1)
		for (int i = 0; i < o->in.count; i++)
			if (strcmp(o->in.paths[i], "-") == 0)
				argp_error(state, "standard input (-) cannot be one of several inputs");
	/* A backup named on the command line is read (forensics), but replaced only if meant. */
	batch_opts.backup_suffix = o->backup_suffix;
	for (int i = 0; o->in_place && !plan_cli_opts.plan.force && i < o->in.count; i++)
		if (batch_is_backup(o->in.paths[i]))
			argp_error(state, "'%s' is a backup fredck keeps (its original is beside it): "
					  "--in-place on it needs --force", esc(o->in.paths[i]));
	/* -O's DIR is never searched; DIR searched itself would put each repair on its input. */
	if (o->output_dir && outdir_prepare(o->output_dir, &o->in))
		argp_error(state, "-O '%s' is a directory -r searches: each repair would land on its "
				  "input; choose a directory outside it (or below it)",
			   esc(o->output_dir));
}

static error_t repair_parse(int key, char *arg, struct argp_state *state)
{
	struct repair_opts *o = state->input;

	switch (key) {
	case 'o':
		hint_check_path_value(state, "-o", arg);
		o->output = arg;
		break;
	case 'O':
		hint_check_path_value(state, "-O", arg);
		o->output_dir = arg;
		break;
	case OPT_IN_PLACE:
		o->in_place = true;
		break;
	case OPT_BACKUP:
		o->backup_suffix = arg;
		o->backup_given = true;
		break;
	case OPT_NO_BACKUP:
		o->no_backup = true;
		break;
	case OPT_DRY_RUN:
		o->dry_run = true;
		break;
	case ARGP_KEY_END:
		validate(o, state);
		break;
	default:
		state->input = &o->in;
		error_t rc = inputs_parse(key, arg, state);
		state->input = o;
		return rc;
	}
	return 0;
}

static const struct argp_child repair_children[] = {
	{ .argp = &plan_argp, .header = "Repair planning:" },
	{ .argp = &batch_argp, .header = "Many inputs:" },
	{ .argp = &common_argp, .header = "Common options:" },
	{ 0 }
};

static const struct argp repair_argp = {
	.options = repair_options,
	.parser = repair_parse,
	.args_doc = "INPUT -o OUT\nINPUT... -O DIR\nINPUT... --in-place\nINPUT... --dry-run",
	.doc = "Rewrite saved vCPU state so that the destination delivers the right FRED event "
	       "data: an at-risk exception becomes pending with the rebuilt payload, or is "
	       "dropped so that re-execution raises it again (see --strategy).\v"
	       "The result is verified by parsing it again before it is renamed into place. "
	       "Exit status: 0 nothing to do, 1 repaired, 4 an at-risk vCPU left, 8 error, "
	       "16 usage (bits OR-ed).",
	.children = repair_children,
};

/* The plans of all vCPUs, contiguous, as the writers take them. */
static struct vcpu_plan *collect_plans(const struct input_report *r)
{
	struct vcpu_plan *plans = calloc(r->snap.nvcpus ? r->snap.nvcpus : 1, sizeof(*plans));

	if (plans)
		for (size_t i = 0; i < r->snap.nvcpus; i++)
			plans[i] = r->vcpus[i].plan;
	return plans;
}

/* --in-place --dry-run with an explicit strategy: what the writer will refuse. */
static void warn_refused_growth(const struct input_report *r, FILE *err)
{
	const struct format_ops *ops = r->snap.ops;

	for (size_t i = 0; i < r->snap.nvcpus; i++)
		if (ops->in_place_grows(&r->snap, &r->snap.vcpus[i], &r->vcpus[i].plan))
			diag_fwarn(err, "%s: vCPU %u: in place, this plan would be refused: pending would "
				  "insert the cpu/exception_info subsection and change the length of "
				  "the state, which the image's tables fix (--strategy=auto or drop "
				  "keeps it)",
				  r->path, r->snap.vcpus[i].index);
}

/*
 * In place, with --strategy=auto, a format that cannot change the state's
 * length there (a qcow2 snapshot) gets drop instead of a pending that
 * would have to grow the state, where drop applies (#PF, #NM); said so.
 */
static void keep_length(struct input_report *r, const struct repair_opts *o, FILE *err)
{
	const struct format_ops *ops = r->snap.ops;
	struct plan_options drop = plan_cli_opts.plan;

	if (!o->in_place || !ops || !ops->in_place_grows)
		return;
	if (drop.strategy != STRATEGY_AUTO) {
		if (o->dry_run)
			warn_refused_growth(r, err);
		return;
	}
	drop.strategy = STRATEGY_DROP;
	for (size_t i = 0; i < r->snap.nvcpus; i++) {
		const struct vcpu_state *v = &r->snap.vcpus[i];
		struct vcpu_assessment *vr = &r->vcpus[i];
		struct vcpu_plan p;

		if (!ops->in_place_grows(&r->snap, v, &vr->plan))
			continue;
		p = plan_vcpu(v, &drop, vr->dest_cap);
		if (p.action != ACTION_DROP)
			continue;
		assess_set_plan(vr, &plan_cli_opts, &p, true);
		diag_fwarn(err, "%s: vCPU %u: in place, auto chose drop: pending would insert the "
			  "cpu/exception_info subsection and change the length of the state, "
			  "which the image's tables fix",
			  r->path, v->index);
	}
}

static void write_repair(struct input_report *r, const struct repair_opts *o,
			 const char *out_path)
{
	struct vcpu_plan *plans;

	r->w.out_path = out_path;
	r->w.in_place = o->in_place;
	r->w.backup_suffix = o->backup_suffix;
	r->w.no_backup = o->no_backup;
	/* In place and nothing to change: the input stays as it is. */
	if (o->in_place && !r->planned)
		return;
	plans = collect_plans(r);
	if (!plans || snapshot_write(&r->snap, plans, &r->w, &r->err) != 0)
		r->failed = true;
	else
		r->wrote = true;
	free(plans);
}

/*
 * -o -: the repaired stream goes to standard output in one pass, so the
 * report goes to standard error: stdout is pointed there once the stream
 * is complete (nothing of the stream passed through stdio).
 */
static void filter_repair(struct input_report *r, const char *path, FILE *err)
{
	signal(SIGPIPE, SIG_IGN); /* a consumer that quits is an error (EPIPE), not a kill */
	report_filter(r, path, STDOUT_FILENO);
	fflush(stdout);
	if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		diag_ferror(err, "cannot redirect the report to standard error");
		r->failed = true;
	}
}

/* -O DIR's writer: the repair of r to out_path. */
static void write_repair_to(struct input_report *r, const char *out_path, void *ctx)
{
	write_repair(r, ctx, out_path);
}

struct repair_ctx {
	const struct repair_opts *o;
	enum report_mode mode;
};

/* One input of repair: analyse, write as the options say, report. */
static int repair_work(const struct batch_input *in, void *ctx, const struct out_streams *io)
{
	const struct repair_ctx *c = ctx;
	const struct repair_opts *o = c->o;
	struct input_report r;
	char out[PATH_MAX];
	int status;

	if (o->output && strcmp(o->output, "-") == 0) {
		filter_repair(&r, in->path, io->err);
	} else if (report_analyse(&r, in->path)) {
		keep_length(&r, o, io->err);
		if (o->dry_run)
			; /* the plan is the report: nothing is written */
		else if (!o->output_dir)
			write_repair(&r, o, o->output);
		else
			outdir_repair(&r, o->output_dir, in->rel, out, sizeof(out), write_repair_to,
				      (void *)o);
	}
	report_emit(&r, c->mode, io);
	status = report_exit_bits(&r, c->mode) | outdir_notes(&r);
	report_free(&r);
	return status;
}

static int repair_run(int argc, char **argv)
{
	struct repair_opts o = { .backup_suffix = ".orig" };
	struct repair_ctx c = { .o = &o };
	struct batch_list list = { 0 };
	const char *command;
	int status;

	o.in.paths = calloc((size_t)argc, sizeof(char *));
	if (!o.in.paths)
		return EXIT_INTERNAL;
	if (hint_check_long_options(&repair_argp, argc, argv) != 0) {
		free(o.in.paths);
		return EXIT_USAGE;
	}
	report_can_recurse = true;
	argp_parse(&repair_argp, argc, argv, 0, NULL, &o);
	c.mode = o.dry_run ? MODE_DRY_RUN : MODE_REPAIR;
	batch_opts.backup_suffix = o.backup_suffix;
	batch_opts.summary = o.output_dir != NULL; /* how many were not copied, or up to date */
	command = o.dry_run ? "repair --dry-run" : "repair";
	global_opts.dry_run = o.dry_run;
	status = batch_expand(&o.in, &list);
	out_begin(command);
	/* The stream filter writes standard output itself: one process. */
	status |= batch_run(&list, command, repair_work, &c, o.output != NULL);
	status |= out_end();
	batch_list_free(&list);
	free(o.in.paths);
	return status;
}

const struct cmd cmd_repair = {
	.name = "repair",
	.summary = "rewrite the saved state so the right event data is delivered",
	.run = repair_run,
};
