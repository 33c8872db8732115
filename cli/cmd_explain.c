/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_explain.c --- `fredck explain [CODE...]`: the long text of a
 * finding, from the same table check uses.  Without a code, the list.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/diag.h"
#include "cli/hint.h"
#include "cli/output.h"
#include "reconstruct/findings.h"

static const struct argp_child explain_children[] = {
	{ .argp = &common_argp, .header = "Common options:" },
	{ 0 }
};

static error_t explain_parse(int key, char *arg, struct argp_state *state)
{
	struct inputs *in = state->input;

	if (key != ARGP_KEY_ARG)
		return ARGP_ERR_UNKNOWN;
	in->paths[in->count++] = arg;
	return 0;
}

static const struct argp explain_argp = {
	.parser = explain_parse,
	.args_doc = "[CODE...]",
	.doc = "Explain a finding code (FK101, 101, or its name): what happened inside KVM or "
	       "the VMM, why it matters to the guest, and what repair does. Without a code, "
	       "list them all.",
	.children = explain_children,
};

/* Print text as a paragraph folded at 78 columns (the table keeps one line per text). */
static void print_folded(const char *text)
{
	const int width = 78;
	int col = 0;

	while (*text) {
		size_t word = strcspn(text, " ");

		if (col && col + 1 + (int)word > width) {
			putchar('\n');
			col = 0;
		} else if (col) {
			putchar(' ');
			col++;
		}
		fwrite(text, 1, word, stdout);
		col += (int)word;
		text += word;
		text += strspn(text, " ");
	}
	putchar('\n');
}

static void text_explain(const struct finding_desc *d, bool full)
{
	char *repair;

	printf("FK%03d %s (%s): %s\n", (int)d->code, d->name,
	       d->severity == SEV_PROBLEM ? "problem" : "note", d->summary);
	if (!full)
		return;
	putchar('\n');
	print_folded(d->explanation);
	putchar('\n');
	if (asprintf(&repair, "Repair: %s", d->repair) >= 0) {
		print_folded(repair);
		free(repair);
	}
	putchar('\n');
	print_folded(d->severity == SEV_PROBLEM ?
			     "Exit status: check and repair --dry-run exit with bit 4 while this "
			     "vCPU is at risk; repair exits with bit 1 when it repairs it, and with "
			     "bit 4 when it leaves it." :
			     "Exit status: a note never changes it.");
}

static json_t *json_explain(const struct finding_desc *d)
{
	json_t *o = json_object();
	char code[16];

	snprintf(code, sizeof(code), "FK%03d", (int)d->code);
	jset(o, "code", json_string(code));
	jset(o, "name", json_string(d->name));
	jset(o, "severity", json_string(d->severity == SEV_PROBLEM ? "problem" : "note"));
	jset(o, "summary", json_string(d->summary));
	jset(o, "explanation", json_string(d->explanation));
	jset(o, "repair", json_string(d->repair));
	return o;
}

static void emit(const struct finding_desc *d, bool full, json_t *list)
{
	if (list)
		json_array_append_new(list, json_explain(d));
	else
		text_explain(d, full);
}

static int explain_run(int argc, char **argv)
{
	struct inputs in = { .paths = calloc((size_t)argc, sizeof(char *)) };
	json_t *list = NULL;
	size_t n;
	const struct finding_desc *table = finding_table(&n);
	int status = 0;

	if (!in.paths)
		return EXIT_INTERNAL;
	if (hint_check_long_options(&explain_argp, argc, argv) != 0) {
		free(in.paths);
		return EXIT_USAGE;
	}
	argp_parse(&explain_argp, argc, argv, 0, NULL, &in);
	if (global_opts.json)
		list = json_array();
	for (int i = 0; i < in.count; i++) {
		const struct finding_desc *d = finding_lookup(in.paths[i]);

		if (!d) {
			diag_error("unknown finding code '%s'; 'fredck explain' lists them",
				   in.paths[i]);
			status = EXIT_USAGE;
			continue;
		}
		if (i && !list)
			printf("\n");
		emit(d, true, list);
	}
	for (size_t i = 0; in.count == 0 && i < n; i++)
		emit(&table[i], false, list);
	if (list) {
		json_t *doc = out_header("explain");

		jset(doc, "findings", list);
		status |= out_print(doc);
	}
	free(in.paths);
	return status;
}

const struct cmd cmd_explain = {
	.name = "explain",
	.summary = "explain a finding code (what happened, why it matters, what repair does)",
	.run = explain_run,
};
