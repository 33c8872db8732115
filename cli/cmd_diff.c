/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_diff.c --- `fredck diff A B`: the vCPU state of two saved states,
 * of any formats, compared field by field (source against the re-saved
 * destination, before against after a repair).
 *
 * The field table of cli/fields.h drives the comparison, the text and the JSON.
 * diff has its own exit status, as diff(1): 0 same, 1 different, 8 error,
 * 16 usage.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/diag.h"
#include "cli/escape.h"
#include "cli/fields.h"
#include "cli/hint.h"
#include "cli/output.h"
#include "cli/report.h"

enum { DIFF_SAME = 0, DIFF_DIFFERENT = 1 };

static const struct vcpu_state *find_vcpu(const struct snapshot *s, unsigned int index)
{
	for (size_t i = 0; i < s->nvcpus; i++)
		if (s->vcpus[i].index == index)
			return &s->vcpus[i];
	return NULL;
}

/* Compare one vCPU present on both sides; print or collect; true if they differ. */
static bool diff_vcpu(FILE *out, const struct vcpu_state *a, const struct vcpu_state *b,
		      json_t *jdiffs)
{
	bool differ = false;
	char ta[256], tb[256];

	for (size_t i = 0; i < fields_count(); i++) {
		const struct field *f = field_at(i);
		bool (*get)(const struct vcpu_state *, int, struct field_value *) =
			f->cmp ? f->cmp : f->get;
		struct field_value va = { 0 }, vb = { 0 };
		bool pa, pb;

		if (!(f->shown & FIELD_IN_DIFF))
			continue;
		pa = get(a, f->arg, &va);
		pb = get(b, f->arg, &vb);
		if (pa == pb && (!pa || va.n == vb.n))
			continue;
		if (!differ && !jdiffs && !global_opts.quiet) {
			describe_exception(&a->exc, ta, sizeof(ta));
			describe_exception(&b->exc, tb, sizeof(tb));
			fprintf(out, "vCPU %u:\n  exception  %s\n          -> %s\n", a->index, ta, tb);
		}
		differ = true;
		if (jdiffs) {
			json_t *d = json_object();

			jset(d, "field", json_string(f->name));
			jset(d, "a", field_json_value(f, pa, &va));
			jset(d, "b", field_json_value(f, pb, &vb));
			json_array_append_new(jdiffs, d);
		} else if (!global_opts.quiet) {
			field_text_value(f, pa, &va, ta, sizeof(ta));
			field_text_value(f, pb, &vb, tb, sizeof(tb));
			fprintf(out, "  %-24s %s -> %s\n", f->name, ta, tb);
		}
	}
	return differ;
}

/* A vCPU of one side only. */
static void only_in(FILE *out, const struct vcpu_state *v, const char *side, json_t *jvcpus)
{
	json_t *o;

	if (!jvcpus) {
		if (!global_opts.quiet)
			fprintf(out, "vCPU %u: only in %s\n", v->index, side);
		return;
	}
	o = json_object();
	jset(o, "index", json_integer(v->index));
	jset(o, "only_in", json_string(side));
	jset(o, "differences", json_array());
	json_array_append_new(jvcpus, o);
}

/* Every vCPU of a, then those only in b; returns DIFF_SAME or DIFF_DIFFERENT. */
static int diff_snapshots(FILE *out, const struct snapshot *a, const struct snapshot *b,
			  json_t *jvcpus)
{
	int status = DIFF_SAME;

	for (size_t i = 0; i < a->nvcpus; i++) {
		const struct vcpu_state *vb = find_vcpu(b, a->vcpus[i].index);
		json_t *d;

		if (!vcpu_selected(a->vcpus[i].index))
			continue;
		d = jvcpus ? json_array() : NULL;

		if (!vb) {
			json_decref(d);
			only_in(out, &a->vcpus[i], "a", jvcpus);
			status = DIFF_DIFFERENT;
			continue;
		}
		if (diff_vcpu(out, &a->vcpus[i], vb, d)) {
			status = DIFF_DIFFERENT;
			if (d) {
				json_t *o = json_object();

				jset(o, "index", json_integer(a->vcpus[i].index));
				jset(o, "only_in", json_null());
				jset(o, "differences", json_incref(d));
				json_array_append_new(jvcpus, o);
			}
		}
		json_decref(d);
	}
	for (size_t i = 0; i < b->nvcpus; i++)
		if (vcpu_selected(b->vcpus[i].index) && !find_vcpu(a, b->vcpus[i].index)) {
			only_in(out, &b->vcpus[i], "b", jvcpus);
			status = DIFF_DIFFERENT;
		}
	return status;
}

static json_t *json_side(const char *path, const struct snapshot *s, const struct fmt_error *e)
{
	json_t *o = json_object();

	jset(o, "path", json_input(path));
	jset(o, "format", s->ops ? json_string(s->ops->name) : json_null());
	if (e) {
		jset(o, "status", json_string("error"));
		jset(o, "error", report_json_error(e));
		return o;
	}
	jset(o, "status", json_string("read"));
	jset(o, "detail", json_input(s->detail));
	jset(o, "vcpu_count", json_integer((json_int_t)s->nvcpus));
	return o;
}

static error_t diff_parse(int key, char *arg, struct argp_state *state)
{
	struct inputs *in = state->input;

	switch (key) {
	case ARGP_KEY_ARG:
		if (in->count == 2)
			argp_error(state, "diff compares two inputs; '%s' is a third", esc(arg));
		inputs_add(in, arg, state);
		return 0;
	case ARGP_KEY_END:
		if (in->count != 2)
			argp_error(state, "diff compares two inputs: A B");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp_child diff_children[] = {
	{ .argp = &vcpu_argp, .header = "Which vCPUs:" },
	{ .argp = &common_argp, .header = "Common options:" },
	{ 0 }
};

static const struct argp diff_argp = {
	.parser = diff_parse,
	.args_doc = "A B",
	.doc = "Compare the saved vCPU state of A and B, of any formats: per vCPU, the queued "
	       "exception and every field and register that differs.\v"
	       "Exit status: 0 same, 1 different, 8 error, 16 usage.",
	.children = diff_children,
};

/* Open both; on failure say why (and add the inputs to the JSON document). */
static bool open_both(char **paths, struct snapshot s[2])
{
	struct fmt_error e[2];
	bool ok[2];

	for (int i = 0; i < 2; i++) {
		ok[i] = !hint_stdin_refused(paths[i], global_opts.format, &e[i]) &&
			snapshot_open(&s[i], paths[i], global_opts.format, &e[i]) == 0;
		if (!ok[i])
			report_error(&e[i], false);
	}
	for (int i = 0; i < 2; i++)
		out_add_input(json_side(paths[i], &s[i], ok[i] ? NULL : &e[i]));
	for (int i = 0; i < 2; i++)
		if (ok[i] && !(ok[0] && ok[1]))
			snapshot_close(&s[i]);
	return ok[0] && ok[1];
}

static int diff_run(int argc, char **argv)
{
	char *paths[3] = { 0 };
	struct inputs in = { .paths = paths };
	struct snapshot s[2];
	json_t *jvcpus = NULL;
	int status;

	if (hint_check_long_options(&diff_argp, argc, argv) != 0)
		return EXIT_USAGE;
	argp_parse(&diff_argp, argc, argv, 0, NULL, &in);
	out_begin("diff");
	if (!open_both(paths, s)) {
		out_set("same", json_null());
		return EXIT_OPERATIONAL | out_end();
	}
	if (global_opts.json)
		jvcpus = json_array();
	else if (!global_opts.quiet)
		printf("--- %s (%s)\n+++ %s (%s)\n", esc(paths[0]), s[0].ops->name, esc(paths[1]),
		       s[1].ops->name);
	status = diff_snapshots(stdout, &s[0], &s[1], jvcpus);
	if (status == DIFF_SAME && !global_opts.json && !global_opts.quiet && vcpu_filtering())
		printf("no difference in the vCPUs --vcpu selects\n");
	else if (status == DIFF_SAME && !global_opts.json && !global_opts.quiet)
		printf("no difference (%zu vCPU%s)\n", s[0].nvcpus, s[0].nvcpus == 1 ? "" : "s");
	out_set("same", json_boolean(status == DIFF_SAME));
	out_set("vcpus", jvcpus ? jvcpus : json_array());
	snapshot_close(&s[0]);
	snapshot_close(&s[1]);
	return out_end() ? EXIT_OPERATIONAL : status;
}

const struct cmd cmd_diff = {
	.name = "diff",
	.summary = "compare the vCPU state of two saved states (0 same, 1 different)",
	.run = diff_run,
};
