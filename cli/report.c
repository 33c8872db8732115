/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report.c --- one input, analysed and shown.
 *
 * The analysis (findings, rebuilt event data, plan) is computed once; the
 * text and the JSON views are both drawn from it and from the same tables
 * (registers, findings, strategies), so they cannot disagree.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/batch.h"
#include "cli/cmd.h"
#include "cli/diag.h"
#include "cli/escape.h"
#include "cli/fields.h"
#include "cli/fold.h"
#include "cli/hint.h"
#include "cli/output.h"
#include "cli/report.h"
#include "formats/io/safe_write.h"

/* The facts of r->snap the assessment of v needs (reconstruct/assess.h). */
static struct assess_facts snapshot_facts(const struct snapshot *s, const struct vcpu_state *v)
{
	/* The format is asked only when the operator left the choice to it. */
	return (struct assess_facts){
		.format_dest_cap = plan_cli_opts.cap == CAP_AUTO && s->ops->dest_payload_cap(s, v),
	};
}

/* Assess every vCPU of the opened r->snap (plans given: the filter's). */
static bool analyse_vcpus(struct input_report *r, const struct vcpu_plan *plans)
{
	struct assess_counts counts = { 0 };

	r->vcpus = calloc(r->snap.nvcpus ? r->snap.nvcpus : 1, sizeof(*r->vcpus));
	if (!r->vcpus) {
		fmt_syserr(&r->err, r->path, ENOMEM, "cannot analyse");
		r->failed = true;
		return false;
	}
	for (size_t i = 0; i < r->snap.nvcpus; i++) {
		const struct vcpu_state *v = &r->snap.vcpus[i];
		struct assess_facts facts = snapshot_facts(&r->snap, v);

		vcpu_assess(v, &plan_cli_opts, &facts, &r->vcpus[i]);
		if (plans)
			assess_set_plan(&r->vcpus[i], &plan_cli_opts, &plans[i], false);
		assess_count(&r->vcpus[i], &counts);
	}
	r->at_risk = counts.at_risk;
	r->planned = counts.planned;
	r->left = counts.left;
	return true;
}

bool report_analyse(struct input_report *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->path = path;
	diag_progress_input(path);
	if (hint_stdin_refused(path, global_opts.format, &r->err) ||
	    snapshot_open(&r->snap, path, global_opts.format, &r->err) != 0) {
		r->failed = true;
		return false;
	}
	r->opened = true;
	return analyse_vcpus(r, NULL);
}

/* The filter plans each vCPU as it streams by, exactly as analyse_vcpus would. */
static struct vcpu_plan plan_streamed(const struct vcpu_state *v, void *ctx)
{
	const struct snapshot *s = ctx;
	struct assess_facts facts = snapshot_facts(s, v);

	return plan_vcpu(v, &plan_cli_opts.plan, assess_dest_cap(plan_cli_opts.cap, &facts));
}

bool report_filter(struct input_report *r, const char *path, int out_fd)
{
	struct vcpu_plan *plans = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	r->path = path;
	diag_progress_input(path);
	if (hint_stdin_refused(path, global_opts.format, &r->err)) {
		r->failed = true;
		return false;
	}
	rc = snapshot_filter(&r->snap, path, global_opts.format, out_fd, plan_streamed, &r->snap,
			     &plans, &r->err);
	r->opened = r->snap.ops != NULL;
	if (rc != 0 && r->snap.ops && !r->snap.ops->filter) {
		/* A format that cannot stream: still say what is at risk (exit 12). */
		struct fmt_error why = r->err;

		snapshot_close(&r->snap);
		if (report_analyse(r, path))
			r->err = why;
		r->failed = true;
		return false;
	}
	if (rc != 0) {
		r->failed = true;
		free(plans);
		return false;
	}
	snprintf(r->w.written, sizeof(r->w.written), "(standard output)");
	r->wrote = true;
	rc = analyse_vcpus(r, plans);
	free(plans);
	return rc;
}

void report_free(struct input_report *r)
{
	if (r->opened)
		snapshot_close(&r->snap);
	free(r->vcpus);
	r->vcpus = NULL;
}

int report_exit_bits(const struct input_report *r, enum report_mode mode)
{
	/* A failed write leaves the at-risk vCPUs at risk. */
	if (r->failed)
		return EXIT_OPERATIONAL | (mode != MODE_INSPECT && r->at_risk ? EXIT_AT_RISK : 0);
	switch (mode) {
	case MODE_INSPECT:
		return EXIT_OK;
	case MODE_CHECK:
	case MODE_DRY_RUN:
		return r->at_risk ? EXIT_AT_RISK : EXIT_OK;
	case MODE_REPAIR:
		return (r->planned && r->wrote ? EXIT_REPAIRED : 0) | (r->left ? EXIT_AT_RISK : 0);
	}
	return EXIT_OK;
}

static const char *status_name(const struct input_report *r, enum report_mode mode)
{
	if (r->failed)
		return "error";
	if (mode == MODE_INSPECT)
		return "read";
	if (mode == MODE_REPAIR && r->left)
		return "at-risk";
	if (mode == MODE_REPAIR && r->up_to_date)
		return "up-to-date";
	if (mode == MODE_REPAIR && r->planned)
		return "repaired";
	return r->at_risk ? "at-risk" : "ok";
}

bool report_can_recurse;

void report_ferror(FILE *err, const struct fmt_error *e, bool can_recurse)
{
	char hint[512];

	diag_ffmt_error(err, e);
	hint_after_error(e->file, e, can_recurse, hint, sizeof(hint));
	if (hint[0])
		diag_fhint(err, "%s", hint);
}

void report_error(const struct fmt_error *e, bool can_recurse)
{
	report_ferror(stderr, e, can_recurse);
}

/* ---- shared descriptions ---------------------------------------------- */

const char *exc_state_name(enum exc_state s)
{
	switch (s) {
	case EXC_NONE:
		return "none";
	case EXC_INJECTED:
		return "injected";
	case EXC_PENDING:
		return "pending";
	}
	return "?";
}

/* "#PF (14) injected, error code 0x00000006, no payload" */
void describe_exception(const struct vcpu_exception *x, char *buf, size_t len)
{
	int n;

	if (x->state == EXC_NONE) {
		snprintf(buf, len, "none");
		return;
	}
	n = snprintf(buf, len, "%s (%u) %s", vcpu_vector_name(x->nr), x->nr,
		     exc_state_name(x->state));
	if (n < 0 || (size_t)n >= len)
		return;
	if (x->has_error_code)
		n += snprintf(buf + n, len - (size_t)n, ", error code 0x%08" PRIx32 "%s",
			      x->error_code, x->error_code_saved ? "" : " (not saved: lost)");
	if (n < 0 || (size_t)n >= len)
		return;
	if (x->has_payload)
		n += snprintf(buf + n, len - (size_t)n, ", payload 0x%016" PRIx64, x->payload);
	else
		n += snprintf(buf + n, len - (size_t)n, ", no payload");
	/* The proposed nested flag: the exception belongs to a nested delivery. */
	if (x->is_nested && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ", nested (exception_is_nested)");
}

/* What the plan does, in words. */
static void describe_plan(const struct vcpu_state *v, const struct vcpu_plan *p, char *buf,
			  size_t len)
{
	const char *vec = vcpu_vector_name(v->exc.nr);

	switch (p->action) {
	case ACTION_NOTHING:
		snprintf(buf, len, "nothing to do");
		break;
	case ACTION_PENDING:
		snprintf(buf, len, "pending: %s becomes pending, payload 0x%016" PRIx64 "%s", vec,
			 p->new_exc.payload,
			 p->used_estimate ? " (--force: best estimate, doubtful bits cleared)" : "");
		break;
	case ACTION_DROP:
		/* The caveat is for -v and explain: a glance needs what and why. */
		snprintf(buf, len, "drop: %s is cleared (re-executing the instruction raises it again%s)",
			 vec, global_opts.verbose ? "; a fault KVM synthesised, e.g. an async page "
						    "fault, is not regenerated" : "");
		break;
	case ACTION_LEAVE:
		snprintf(buf, len, "none, left at risk: %s", leave_reason_text(p->reason));
		break;
	}
}

static const char *severity_name(enum severity s)
{
	return s == SEV_PROBLEM ? "problem" : "note";
}

/* ---- text -------------------------------------------------------------- */

/* --color: the code and severity of a finding, red for a problem, yellow for a note. */
#define COLOR_OFF "\033[0m"

static const char *color_on(enum severity s)
{
	if (!global_opts.color)
		return "";
	return s == SEV_PROBLEM ? "\033[1;31m" : "\033[33m";
}

/* The verdict in words: "ok", "at risk", "repaired", "up to date". */
static const char *verdict_text(const struct input_report *r, enum report_mode mode)
{
	const char *s = status_name(r, mode);

	if (strcmp(s, "at-risk") == 0)
		return "at risk";
	if (strcmp(s, "up-to-date") == 0)
		return "up to date";
	return s;
}

/* "PATH: kvm-dir (1 vCPU, ...)", with the verdict at its end but for inspect. */
static void text_header(FILE *out, const struct input_report *r, enum report_mode mode)
{
	fprintf(out, "%s: %s (%s)", esc(r->path), r->snap.ops->name, esc(r->snap.detail));
	if (mode != MODE_INSPECT)
		fprintf(out, ": %s", verdict_text(r, mode));
	fprintf(out, "\n");
}

/* inspect: the vCPU's heading, then its lines from the field table (cli/fields.h). */
static void text_inspect_vcpu(FILE *out, const struct vcpu_state *v)
{
	fprintf(out, "vCPU %u%s\n", v->index, vcpu_fred_active(v) ? " (FRED enabled, IA-32e mode)" : "");
	fields_text(out, v, global_opts.verbose);
}

static void text_event_data(FILE *out, const struct event_data *ed)
{
	char bits[64];

	if (ed->confidence == CONF_UNRECOVERABLE) {
		fprintf(out, "    event data: unrecoverable (%s not saved)\n",
		       ed->missing < VREG_COUNT ? vcpu_reg_desc(ed->missing)->name : "?");
		return;
	}
	fprintf(out, "    event data: 0x%016" PRIx64 " (%s) from %s: %s\n", ed->value,
	       confidence_name(ed->confidence), provenance_name(ed->provenance),
	       provenance_description(ed->provenance));
	if (ed->confidence == CONF_AMBIGUOUS) {
		dr6_bit_names(ed->doubtful, bits, sizeof(bits));
		fprintf(out, "    best estimate: 0x%016" PRIx64 " (without %s)\n", ed->best_estimate, bits);
	}
}

/*
 * Notes that say the same of several vCPUs of one input (FK302: the format
 * saves no FRED MSR) are printed once, with the vCPUs they concern, instead
 * of once per vCPU: the input being shown's, by finding code.
 */
#define CODE_SLOTS 1000
static bool shared_note[CODE_SLOTS];

/* Which note codes of r are shared: on two vCPUs or more, each with the same words. */
static void find_shared_notes(const struct input_report *r)
{
	static char first[CODE_SLOTS][512];
	static size_t count[CODE_SLOTS];
	static bool differ[CODE_SLOTS];
	char msg[512];

	memset(count, 0, sizeof(count));
	memset(differ, 0, sizeof(differ));
	for (size_t i = 0; i < r->snap.nvcpus; i++)
		for (size_t k = 0; k < r->vcpus[i].nfindings; k++) {
			const struct finding *f = &r->vcpus[i].findings[k];
			int c = (int)f->code;

			if (c < 0 || c >= CODE_SLOTS || finding_desc(f->code)->severity != SEV_NOTE)
				continue;
			finding_message(f, msg, sizeof(msg));
			if (count[c]++ == 0)
				snprintf(first[c], sizeof(first[c]), "%s", msg);
			else if (strcmp(first[c], msg) != 0)
				differ[c] = true;
		}
	for (int c = 0; c < CODE_SLOTS; c++)
		shared_note[c] = count[c] >= 2 && !differ[c];
}

static bool is_shared(const struct finding *f)
{
	return (int)f->code >= 0 && (int)f->code < CODE_SLOTS && shared_note[f->code];
}

/* "0-3, 7, 9-31" into buf: the vCPUs of r that carry code; "..." when it does not fit. */
static void vcpu_ranges(const struct input_report *r, enum finding_code code, char *buf, size_t len)
{
	size_t used = 0, i = 0;

	buf[0] = '\0';
	while (i < r->snap.nvcpus) {
		size_t j;
		bool has = false;
		int n;

		for (size_t k = 0; k < r->vcpus[i].nfindings; k++)
			has |= r->vcpus[i].findings[k].code == code;
		if (!has) {
			i++;
			continue;
		}
		/* A run of consecutive indices that all carry it. */
		for (j = i; j + 1 < r->snap.nvcpus; j++) {
			bool next = false;

			for (size_t k = 0; k < r->vcpus[j + 1].nfindings; k++)
				next |= r->vcpus[j + 1].findings[k].code == code;
			if (!next || r->snap.vcpus[j + 1].index != r->snap.vcpus[j].index + 1)
				break;
		}
		if (j > i)
			n = snprintf(buf + used, len - used, "%s%u-%u", used ? ", " : "",
				     r->snap.vcpus[i].index, r->snap.vcpus[j].index);
		else
			n = snprintf(buf + used, len - used, "%s%u", used ? ", " : "",
				     r->snap.vcpus[i].index);
		if (n < 0 || (size_t)n >= len - used - 5) {
			snprintf(buf + used, len - used, "%s...", used ? ", " : "");
			return;
		}
		used += (size_t)n;
		i = j + 1;
	}
}

/* Each shared note once: "  FK302 note (vCPUs 0-31): MESSAGE". */
static void text_shared_notes(FILE *out, const struct input_report *r)
{
	char msg[512], which[160];

	for (int c = 0; c < CODE_SLOTS; c++) {
		if (!shared_note[c])
			continue;
		for (size_t i = 0; i < r->snap.nvcpus; i++)
			for (size_t k = 0; k < r->vcpus[i].nfindings; k++)
				if ((int)r->vcpus[i].findings[k].code == c) {
					const struct finding_desc *d = finding_desc((enum finding_code)c);

					finding_message(&r->vcpus[i].findings[k], msg, sizeof(msg));
					vcpu_ranges(r, (enum finding_code)c, which, sizeof(which));
					fprintf(out, "  %sFK%03d %s%s (vCPUs %s): %s\n", color_on(d->severity), c,
					       severity_name(d->severity), global_opts.color ? COLOR_OFF : "",
					       which, msg);
					goto next_code;
				}
next_code:;
	}
}

static void text_findings(FILE *out, const struct vcpu_assessment *vr, enum severity which)
{
	char msg[512];

	for (size_t i = 0; i < vr->nfindings; i++) {
		const struct finding_desc *d = finding_desc(vr->findings[i].code);

		if (d->severity != which || is_shared(&vr->findings[i]))
			continue;
		finding_message(&vr->findings[i], msg, sizeof(msg));
		fprintf(out, "    %sFK%03d %s%s: %s\n", color_on(d->severity), (int)d->code,
		       severity_name(d->severity), global_opts.color ? COLOR_OFF : "", msg);
	}
}

static void text_changes(FILE *out, const struct vcpu_state *v, const struct vcpu_plan *p)
{
	struct field_change ch[FIELD_CHANGES_MAX];
	size_t n = plan_field_changes(v, p, ch);

	for (size_t i = 0; i < n; i++)
		fprintf(out, "      %s: 0x%" PRIx64 " -> 0x%" PRIx64 "\n", ch[i].field, ch[i].old_value,
		       ch[i].new_value);
}

static const char *plan_verb(enum report_mode mode)
{
	switch (mode) {
	case MODE_REPAIR:
		return "repaired";
	case MODE_DRY_RUN:
		return "would repair (dry run)";
	default:
		return "repair would do";
	}
}

/* Whether a vCPU deserves its own lines in check's text. */
static bool vcpu_worth_showing(const struct vcpu_state *v, const struct vcpu_assessment *vr)
{
	if (!vcpu_selected(v->index))
		return false;
	/* Asked for by index: shown even when there is nothing to say. */
	if (global_opts.verbose || vcpu_filtering())
		return true;
	if (global_opts.quiet)
		return vr->at_risk;
	if (vr->at_risk)
		return true;
	for (size_t i = 0; i < vr->nfindings; i++)
		if (!is_shared(&vr->findings[i]))
			return true;
	return false;
}

static void text_check_vcpu(FILE *out, const struct vcpu_state *v, const struct vcpu_assessment *vr,
			    enum report_mode mode)
{
	char buf[512];

	describe_exception(&v->exc, buf, sizeof(buf));
	fprintf(out, "  vCPU %u: %s%s\n", v->index, v->exc.state == EXC_NONE ? "no exception" : buf,
		vcpu_fred_active(v) ? "; FRED enabled" : "");
	text_findings(out, vr, SEV_PROBLEM);
	if (vr->at_risk) {
		fprintf(out, "    why: %s\n", global_opts.verbose ? loss_cause_text(vr->cause) :
								  loss_cause_summary(vr->cause));
		text_event_data(out, &vr->plan.ed);
		describe_plan(v, &vr->plan, buf, sizeof(buf));
		fprintf(out, "    %s: %s", vr->plan.action == ACTION_LEAVE ? "repair" : plan_verb(mode),
			buf);
		if (vr->drop_why != DROP_WHY_NONE)
			fprintf(out, ", because %s", drop_why_text(vr->drop_why));
		fprintf(out, "\n");
		if (global_opts.verbose)
			text_changes(out, v, &vr->plan);
	}
	if (!global_opts.quiet)
		text_findings(out, vr, SEV_NOTE);
}

/*
 * How -v says a repair was written (fredck's own words: which bytes were
 * kept, how it was read back), folded like the findings; a path in it
 * (none is, but an error's text may name one) has no space to break at.
 */
static size_t text_width(void);

static void text_how(FILE *out, const char *how)
{
	FILE *folded = fold_open(out, text_width());

	fprintf(folded ? folded : out, "  %s\n", how);
	if (folded)
		fclose(folded);
}

static void text_summary(FILE *out, const struct input_report *r, enum report_mode mode)
{
	size_t shown_clean = r->snap.nvcpus - r->at_risk;

	fprintf(out, "  %zu of %zu vCPU%s at risk", r->at_risk, r->snap.nvcpus,
	       r->snap.nvcpus == 1 ? "" : "s");
	if (mode == MODE_REPAIR)
		fprintf(out, "; %zu repaired, %zu left at risk",
		       r->wrote || r->up_to_date ? r->planned : 0, r->left);
	else if (r->at_risk)
		fprintf(out, "; repair would fix %zu and leave %zu", r->planned, r->left);
	if (!r->at_risk && shown_clean && mode != MODE_REPAIR)
		fprintf(out, ": nothing to do");
	fprintf(out, "\n");
	if (mode == MODE_REPAIR && r->wrote) {
		fprintf(out, "  wrote %s", esc(r->w.written));
		if (r->w.backup[0])
			fprintf(out, " (original kept as %s)", esc(r->w.backup));
		fprintf(out, "\n");
		if (global_opts.verbose && r->w.how[0])
			text_how(out, r->w.how);
	} else if (mode == MODE_REPAIR && r->up_to_date) {
		fprintf(out, "  up to date: %s already holds this repair; nothing written\n",
		       esc(r->w.out_path));
	} else if (mode == MODE_REPAIR && !r->planned) {
		fprintf(out, "  nothing written%s\n", r->not_copied ? " (nothing to repair: not copied)" : "");
	}
}

/* The columns text is folded to: standard output's terminal, or 80 (fold.h). */
static size_t text_width(void)
{
	static size_t width;

	if (!width)
		width = fold_width(STDOUT_FILENO);
	return width;
}

/* The container's facts, the keys as words ("device description"), aligned. */
static void text_facts(FILE *out, const struct snapshot *s)
{
	int width = 12;

	for (size_t i = 0; i < s->nfacts; i++)
		if ((int)strlen(s->facts[i].key) > width)
			width = (int)strlen(s->facts[i].key);
	for (size_t i = 0; i < s->nfacts; i++) {
		char label[64];

		char *line = NULL;
		int n;

		snprintf(label, sizeof(label), "%s", s->facts[i].key);
		for (char *c = label; *c; c++)
			*c = *c == '_' ? ' ' : *c;
		n = asprintf(&line, "%-*s %s", width, label, esc(s->facts[i].value));
		/* A long value (a stream's devices) folds between its items, under itself. */
		if (n < 0)
			fprintf(out, "%-*s %s\n", width, label, esc(s->facts[i].value));
		else
			fold_list_line(out, line, (size_t)n, text_width(), (size_t)width + 1);
		free(n < 0 ? NULL : line);
	}
}

/* The problems of the at-risk vCPUs: " (vCPU 1: FK101, vCPU 3: FK102)", the first few. */
static void text_quiet_codes(FILE *out, const struct input_report *r)
{
	size_t shown = 0;

	for (size_t i = 0; i < r->snap.nvcpus; i++) {
		const struct vcpu_assessment *vr = &r->vcpus[i];

		if (!vr->at_risk)
			continue;
		if (shown == 4) {
			fprintf(out, ", ...");
			break;
		}
		fprintf(out, "%svCPU %u:", shown++ ? ", " : " (", r->snap.vcpus[i].index);
		for (size_t k = 0; k < vr->nfindings; k++)
			if (finding_desc(vr->findings[k].code)->severity == SEV_PROBLEM)
				fprintf(out, " FK%03d", (int)vr->findings[k].code);
	}
	if (shown)
		fprintf(out, ")");
}

/*
 * -q: one line per input, a clean one too (a log shows every input
 * judged): the verdict, the counts, the problems of the at-risk vCPUs,
 * and what repair wrote.
 */
static void text_quiet_line(FILE *out, const struct input_report *r, enum report_mode mode)
{
	fprintf(out, "%s: %s: %zu of %zu vCPU%s at risk", esc(r->path), verdict_text(r, mode),
		r->at_risk, r->snap.nvcpus, r->snap.nvcpus == 1 ? "" : "s");
	text_quiet_codes(out, r);
	if (mode == MODE_REPAIR && (r->at_risk || r->wrote || r->up_to_date))
		fprintf(out, "; %zu repaired, %zu left at risk", r->wrote ? r->planned : 0, r->left);
	else if (mode != MODE_REPAIR && r->at_risk)
		fprintf(out, "; repair would fix %zu and leave %zu", r->planned, r->left);
	if (mode == MODE_REPAIR && r->wrote)
		fprintf(out, "; wrote %s", esc(r->w.written));
	else if (mode == MODE_REPAIR && !r->at_risk && !r->up_to_date)
		fprintf(out, "; nothing written%s", r->not_copied ? " (not copied)" : "");
	fprintf(out, "\n");
}


/*
 * The vCPUs and the notes: prose of fredck's own words, folded to the
 * width (fold.h).  The lines that carry a path (the first, "wrote ...")
 * are never folded: a path stays whole on its line, to be copied.
 */
static void text_findings_folded(FILE *out, const struct input_report *r, enum report_mode mode)
{
	FILE *folded = fold_open(out, text_width());
	FILE *f = folded ? folded : out;

	find_shared_notes(r);
	for (size_t i = 0; i < r->snap.nvcpus; i++)
		if (vcpu_worth_showing(&r->snap.vcpus[i], &r->vcpus[i]))
			text_check_vcpu(f, &r->snap.vcpus[i], &r->vcpus[i], mode);
	text_shared_notes(f, r);
	if (folded)
		fclose(folded);
}

static void text_report(FILE *out, const struct input_report *r, enum report_mode mode)
{
	if (global_opts.quiet && mode != MODE_INSPECT) {
		text_quiet_line(out, r, mode);
		return;
	}
	text_header(out, r, mode);
	if (mode == MODE_INSPECT) {
		text_facts(out, &r->snap);
		for (size_t i = 0; i < r->snap.nvcpus; i++)
			if (vcpu_selected(r->snap.vcpus[i].index))
				text_inspect_vcpu(out, &r->snap.vcpus[i]);
		return;
	}
	text_findings_folded(out, r, mode);
	if (!global_opts.quiet)
		text_summary(out, r, mode);
}


/* ---- JSON -------------------------------------------------------------- */


/* The queued exception as one object: the exception.* rows of the field table. */
static json_t *json_exception(const struct vcpu_state *v)
{
	json_t *o = json_object();

	fields_json(o, v, "exception.");
	return o;
}

static json_t *json_inspect_vcpu(const struct vcpu_state *v)
{
	json_t *o = json_object();

	jset(o, "index", json_integer(v->index));
	jset(o, "fred", json_boolean(vcpu_fred_active(v)));
	fields_json(o, v, "");
	return o;
}

static json_t *json_findings(const struct vcpu_assessment *vr)
{
	json_t *a = json_array();
	char msg[512], code[16];

	for (size_t i = 0; i < vr->nfindings; i++) {
		const struct finding_desc *d = finding_desc(vr->findings[i].code);
		json_t *o = json_object();

		snprintf(code, sizeof(code), "FK%03d", (int)d->code);
		finding_message(&vr->findings[i], msg, sizeof(msg));
		jset(o, "code", json_string(code));
		jset(o, "name", json_string(d->name));
		jset(o, "severity", json_string(severity_name(d->severity)));
		jset(o, "message", json_string(msg));
		if (d->code == FK_DB_AMBIGUOUS)
			jset(o, "doubtful_bits", json_hex64(vr->findings[i].bits));
		if (d->code == FK_REG_NOT_SAVED && vr->findings[i].reg < VREG_COUNT)
			jset(o, "register", json_string(vcpu_reg_desc(vr->findings[i].reg)->name));
		json_array_append_new(a, o);
	}
	return a;
}

/* "BS,BD" as ["BS", "BD"]: bit names are arrays, as events_flag_names is. */
static json_t *json_name_list(const char *names)
{
	json_t *a = json_array();

	for (const char *p = names; *p;) {
		size_t n = strcspn(p, ",");

		json_array_append_new(a, json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	return a;
}

static json_t *json_event_data(const struct event_data *ed)
{
	json_t *o = json_object();
	char bits[64];

	jset(o, "vector", json_integer(ed->vector));
	jset(o, "confidence", json_string(confidence_name(ed->confidence)));
	if (ed->confidence == CONF_UNRECOVERABLE) {
		jset(o, "value", json_null());
		jset(o, "missing_register",
		     json_string(ed->missing < VREG_COUNT ? vcpu_reg_desc(ed->missing)->name : "?"));
		return o;
	}
	jset(o, "value", json_hex64(ed->value));
	jset(o, "best_estimate", json_hex64(ed->best_estimate));
	jset(o, "provenance", json_string(provenance_name(ed->provenance)));
	jset(o, "provenance_text", json_string(provenance_description(ed->provenance)));
	dr6_bit_names(ed->doubtful, bits, sizeof(bits));
	jset(o, "doubtful_bits", json_hex64(ed->doubtful));
	jset(o, "doubtful_bit_names", json_name_list(bits));
	return o;
}

/*
 * The plan's fields (struct kvm_vcpu_events names, reconstruct/plan.c) by
 * their names in the field table (cli/fields.h), whose kinds type the values.
 */
static const struct {
	const char *kvm, *name;
} change_names[] = {
	{ "exception.injected", "exception.injected" },
	{ "exception.nr", "exception.vector" },
	{ "exception.has_error_code", "exception.has_error_code" },
	{ "exception.pending", "exception.pending" },
	{ "exception.error_code", "exception.error_code" },
	{ "flags", "events_flags" },
	{ "exception_has_payload", "exception.has_payload" },
	{ "exception_payload", "exception.payload" },
};

static const struct field *change_field(const char *kvm)
{
	for (size_t i = 0; i < sizeof(change_names) / sizeof(change_names[0]); i++)
		if (strcmp(change_names[i].kvm, kvm) == 0)
			return field_by_name(change_names[i].name);
	return NULL;
}

static json_t *json_change(const struct field_change *ch)
{
	json_t *c = json_object();
	const struct field *f = change_field(ch->field);
	struct field_value old = { .n = ch->old_value }, new = { .n = ch->new_value };

	if (!f) {
		/* A field the table does not know yet: its KVM name, as a register-sized value. */
		jset(c, "field", json_string(ch->field));
		jset(c, "kvm_field", json_string(ch->field));
		jset(c, "old", json_hex64(ch->old_value));
		jset(c, "new", json_hex64(ch->new_value));
		return c;
	}
	jset(c, "field", json_string(f->name));
	jset(c, "kvm_field", json_string(ch->field));
	jset(c, "old", field_json_value(f, true, &old));
	jset(c, "new", field_json_value(f, true, &new));
	return c;
}

static json_t *json_plan(const struct vcpu_state *v, const struct vcpu_assessment *vr)
{
	json_t *o = json_object(), *changes = json_array();
	struct field_change ch[FIELD_CHANGES_MAX];
	size_t n = plan_field_changes(v, &vr->plan, ch);
	char buf[512];

	jset(o, "action", json_string(action_name(vr->plan.action)));
	jset(o, "strategy", json_string(strategy_name(plan_cli_opts.plan.strategy)));
	jset(o, "dest_payload_cap", json_boolean(vr->dest_cap));
	jset(o, "reason", vr->plan.action == ACTION_LEAVE ?
				  json_string(leave_reason_name(vr->plan.reason)) : json_null());
	describe_plan(v, &vr->plan, buf, sizeof(buf));
	jset(o, "text", json_string(buf));
	jset(o, "used_estimate", json_boolean(vr->plan.used_estimate));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(changes, json_change(&ch[i]));
	jset(o, "changes", changes);
	return o;
}

static json_t *json_check_vcpu(const struct vcpu_state *v, const struct vcpu_assessment *vr)
{
	json_t *o = json_object();

	jset(o, "index", json_integer(v->index));
	jset(o, "fred", json_boolean(vcpu_fred_active(v)));
	jset(o, "at_risk", json_boolean(vr->at_risk));
	jset(o, "nested_guest_mode", json_boolean(v->nested_guest_mode));
	jset(o, "exception", json_exception(v));
	jset(o, "findings", json_findings(vr));
	jset(o, "cause", vr->at_risk ? json_string(loss_cause_name(vr->cause)) :
				       json_null());
	jset(o, "event_data", vr->at_risk ? json_event_data(&vr->plan.ed) : json_null());
	jset(o, "repair", json_plan(v, vr));
	return o;
}

static const char *error_kind_name(enum fmt_error_kind k)
{
	switch (k) {
	case FMT_ERR_MALFORMED:
		return "malformed";
	case FMT_ERR_UNSUPPORTED:
		return "unsupported";
	case FMT_ERR_SYSTEM:
		return "system";
	case FMT_ERR_REFUSED:
		return "refused";
	case FMT_ERR_NONE:
		break;
	}
	return "internal";
}

json_t *report_json_error(const struct fmt_error *e)
{
	json_t *o = json_object();
	char buf[PATH_MAX + 512], hint[512];

	fmt_error_text(e, buf, sizeof(buf));
	jset(o, "message", json_input(buf));
	jset(o, "kind", json_string(error_kind_name(e->kind)));
	jset(o, "path", json_input(e->file));
	jset(o, "offset", e->has_offset ? json_integer((json_int_t)e->offset) : json_null());
	jset(o, "field", e->has_offset ? json_input(e->field) : json_null());
	jset(o, "reason", json_input(e->msg));
	/* ENOENT and EACCES told apart without parsing prose. */
	jset(o, "errno", e->kind == FMT_ERR_SYSTEM && e->sys_errno ?
		json_string(diag_errno_name(e->sys_errno)) : json_null());
	hint_after_error(e->file, e, report_can_recurse, hint, sizeof(hint));
	jset(o, "hint", hint[0] ? json_input(hint) : json_null());
	return o;
}

static json_t *json_summary(const struct input_report *r, enum report_mode mode)
{
	json_t *o = json_object();

	jset(o, "vcpu_count", json_integer((json_int_t)r->snap.nvcpus));
	jset(o, "at_risk", json_integer((json_int_t)r->at_risk));
	jset(o, mode == MODE_REPAIR ? "repaired" : "would_repair",
	     json_integer((json_int_t)(mode != MODE_REPAIR || r->wrote ? r->planned : 0)));
	jset(o, "left_at_risk", json_integer((json_int_t)r->left));
	return o;
}

static json_t *json_report(const struct input_report *r, enum report_mode mode)
{
	json_t *o = json_object(), *vcpus = json_array();

	jset(o, "path", json_input(r->path));
	jset(o, "status", json_string(status_name(r, mode)));
	jset(o, "exit_status", json_integer(report_exit_bits(r, mode)));
	if (r->failed) {
		jset(o, "format", r->snap.ops ? json_string(r->snap.ops->name) : json_null());
		jset(o, "error", report_json_error(&r->err));
		json_decref(vcpus);
		return o;
	}
	jset(o, "format", json_string(r->snap.ops->name));
	jset(o, "detail", json_input(r->snap.detail));
	if (mode == MODE_INSPECT) {
		json_t *facts = json_object();

		for (size_t i = 0; i < r->snap.nfacts; i++)
			jset(facts, r->snap.facts[i].key, json_input(r->snap.facts[i].value));
		jset(o, "facts", facts);
		jset(o, "devices_partial", json_boolean(r->snap.devices_partial));
	}
	for (size_t i = 0; i < r->snap.nvcpus; i++)
		if (vcpu_selected(r->snap.vcpus[i].index))
			json_array_append_new(vcpus, mode == MODE_INSPECT ?
							     json_inspect_vcpu(&r->snap.vcpus[i]) :
							     json_check_vcpu(&r->snap.vcpus[i],
									     &r->vcpus[i]));
	jset(o, "vcpus", vcpus);
	if (mode == MODE_INSPECT)
		return o;
	jset(o, "summary", json_summary(r, mode));
	if (mode == MODE_REPAIR) {
		json_t *out = json_object();

		jset(out, "written", r->wrote ? json_input(r->w.written) : json_null());
		jset(out, "backup", r->wrote && r->w.backup[0] ? json_input(r->w.backup) : json_null());
		/* -O: an output an earlier run wrote, found equal to this repair; an input not copied. */
		jset(out, "up_to_date", r->up_to_date ? json_input(r->w.out_path) : json_null());
		jset(out, "not_copied", json_boolean(r->not_copied));
		jset(o, "output", out);
	}
	return o;
}

/* ctx: the stream the input's warnings go to. */
static void warn_leftover(const char *path, void *ctx)
{
	diag_fwarn(ctx, "%s: left by a fredck run that was killed (or is still running); nothing needs it: "
		  "remove it", path);
}

/* --vcpu that selects none of an input's vCPUs: say so rather than show an empty report. */
static void warn_unselected(FILE *err, const struct input_report *r)
{
	for (size_t i = 0; i < r->snap.nvcpus; i++)
		if (vcpu_selected(r->snap.vcpus[i].index))
			return;
	diag_fwarn(err, "%s: none of its %zu vCPU%s is among --vcpu", r->path, r->snap.nvcpus,
		  r->snap.nvcpus == 1 ? "" : "s");
}

void report_emit(const struct input_report *r, enum report_mode mode,
		 const struct out_streams *io)
{
	diag_progress_clear();
	if (r->failed)
		report_ferror(io->err, &r->err, report_can_recurse);
	else if (vcpu_filtering())
		warn_unselected(io->err, r);
	if (global_opts.json)
		out_add_input(json_report(r, mode));
	else if (!r->failed)
		text_report(io->out, r, mode);
	/* A repair killed midway leaves its temporary file: say so, never remove it here. */
	if (r->snap.real[0] && strcmp(r->snap.real, "-") != 0)
		sw_leftovers(r->snap.real, warn_leftover, io->err);
	if (mode == MODE_REPAIR && r->w.out_path && strcmp(r->w.out_path, "-") != 0)
		sw_leftovers(r->w.out_path, warn_leftover, io->err);
}

/* One input of inspect or check (ctx: the mode). */
static int read_only_work(const struct batch_input *in, void *ctx, const struct out_streams *io)
{
	enum report_mode mode = *(const enum report_mode *)ctx;
	struct input_report r;
	int status;

	report_analyse(&r, in->path);
	report_emit(&r, mode, io);
	status = report_exit_bits(&r, mode);
	report_free(&r);
	return status;
}

int run_read_only(const struct argp *argp, int argc, char **argv, const char *command,
		  enum report_mode mode)
{
	struct inputs in = { .paths = calloc((size_t)argc, sizeof(char *)) };
	struct batch_list list = { 0 };
	int status;

	if (!in.paths)
		return EXIT_INTERNAL;
	report_can_recurse = true;
	if (hint_check_long_options(argp, argc, argv) != 0) {
		free(in.paths);
		return EXIT_USAGE;
	}
	argp_parse(argp, argc, argv, 0, NULL, &in);
	status = batch_expand(&in, &list);
	out_begin(command);
	status |= batch_run(&list, command, read_only_work, &mode, false);
	status |= out_end();
	batch_list_free(&list);
	free(in.paths);
	return status;
}
