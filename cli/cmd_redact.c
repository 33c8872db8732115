/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_redact.c --- `fredck redact INPUT -o OUT`: a copy of a QEMU stream
 * or libvirt save image without the guest's memory, to share the vCPU
 * state of a failed migration.  Every record that carries a page becomes
 * a zero-page record (mapped-ram: every page absent, its bytes a hole);
 * the devices' state, the vCPUs and the description stay as they were.
 * The copy is read again and must give the same vCPUs before it is
 * renamed into place.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/diag.h"
#include "cli/escape.h"
#include "cli/hint.h"
#include "cli/output.h"
#include "cli/report.h"

struct redact_opts {
	struct inputs in;
	const char *output;
};

static const struct argp_option redact_options[] = {
	{ .name = "output", .key = 'o', .arg = "OUT",
	  .doc = "Write the redacted copy to OUT (a new path; never overwritten)" },
	{ 0 }
};

static error_t redact_parse(int key, char *arg, struct argp_state *state)
{
	struct redact_opts *o = state->input;
	error_t rc;

	switch (key) {
	case 'o':
		hint_check_path_value(state, "-o", arg);
		o->output = arg;
		return 0;
	case ARGP_KEY_END:
		if (!o->output)
			argp_error(state, "say where the copy goes: -o OUT");
		if (o->in.count != 1)
			argp_error(state, "redact copies one input; give exactly one");
		if (strcmp(o->output, "-") == 0)
			argp_error(state, "the copy is verified by reading it again: -o needs a file");
		return 0;
	default:
		state->input = &o->in;
		rc = inputs_parse(key, arg, state);
		state->input = o;
		return rc;
	}
}

static const struct argp_child redact_children[] = {
	{ .argp = &common_argp, .header = "Common options:" },
	{ 0 }
};

static const struct argp redact_argp = {
	.options = redact_options,
	.parser = redact_parse,
	.args_doc = "INPUT -o OUT",
	.doc = "Copy a QEMU migration stream or libvirt save image without the guest's "
	       "memory, so that the vCPU state of a failed migration can be shared: every "
	       "page becomes a zero page (mapped-ram: an absent page, left as a hole).  QEMU "
	       "still loads the copy, and check finds the same.\v"
	       "Device state is kept as it is: it can hold guest data of its own (a disk "
	       "controller's transfer buffer, a network card's queues).  Exit status: 0 "
	       "written, 8 error, 16 usage.",
	.children = redact_children,
};

/* 196 KiB, 64.0 MiB, 4.00 GiB: a size an operator reads at a glance. */
static void human_size(uint64_t bytes, char *buf, size_t len)
{
	if (bytes < (1U << 20))
		snprintf(buf, len, "%" PRIu64 " KiB", (bytes + 1023) >> 10);
	else if (bytes < (1ULL << 30))
		snprintf(buf, len, "%.1f MiB", (double)bytes / (1U << 20));
	else
		snprintf(buf, len, "%.2f GiB", (double)bytes / (1ULL << 30));
}

static void show_text(const struct input_report *r, const struct redaction *rm)
{
	char size[32];

	human_size(rm->bytes, size, sizeof(size));
	printf("%s: %s (%zu vCPU%s)\n", esc(r->path), r->snap.ops->name, r->snap.nvcpus,
	       r->snap.nvcpus == 1 ? "" : "s");
	printf("  guest memory removed: %" PRIu64 " pages with content (%s); vCPU state "
	       "unchanged (verified)\n",
	       rm->pages, size);
	if (rm->kept_pages)
		printf("  kept: %" PRIu64 " pages of the legacy ROM area 0xC0000-0xFFFFF (firmware "
		       "images; QEMU needs them to load the copy)\n",
		       rm->kept_pages);
	printf("  wrote %s\n", esc(r->w.written));
}

static json_t *json_result(const struct input_report *r, const struct redaction *rm, bool ok)
{
	json_t *o = json_object();

	jset(o, "path", json_input(r->path));
	jset(o, "format", r->snap.ops ? json_string(r->snap.ops->name) : json_null());
	jset(o, "status", json_string(ok ? "redacted" : "error"));
	jset(o, "exit_status", json_integer(ok ? EXIT_OK : EXIT_OPERATIONAL));
	if (!ok) {
		jset(o, "error", report_json_error(&r->err));
		return o;
	}
	jset(o, "output", json_input(r->w.written));
	jset(o, "vcpu_count", json_integer((json_int_t)r->snap.nvcpus));
	jset(o, "pages_removed", json_integer((json_int_t)rm->pages));
	jset(o, "bytes_removed", json_integer((json_int_t)rm->bytes));
	jset(o, "firmware_pages_kept", json_integer((json_int_t)rm->kept_pages));
	return o;
}

/* Open, then have the format write the copy; false with r->err on error. */
static bool redact_one(struct input_report *r, const char *path, const char *output,
		       struct redaction *rm)
{
	if (!report_analyse(r, path))
		return false;
	if (!r->snap.ops->redact) {
		/* Cloud Hypervisor and Firecracker keep memory in a file of its own. */
		if (strcmp(r->snap.ops->name, "kvm-dir") == 0)
			fmt_fail(&r->err, FMT_ERR_UNSUPPORTED, path,
				 "a kvm-dir snapshot holds no guest memory to redact");
		else if (strcmp(r->snap.ops->name, "qcow2") == 0)
			fmt_fail(&r->err, FMT_ERR_UNSUPPORTED, path,
				 "redacting the VM state inside a qcow2 image is not "
				 "supported: redact a migration stream of the domain instead");
		else
			fmt_fail(&r->err, FMT_ERR_UNSUPPORTED, path,
				 "a %s snapshot keeps the guest's memory in a file of its own, "
				 "which fredck does not read: share the state without it",
				 r->snap.ops->name);
		return false;
	}
	r->w.out_path = output;
	return snapshot_redact(&r->snap, &r->w, rm, &r->err) == 0;
}

static int redact_run(int argc, char **argv)
{
	struct redact_opts o = { 0 };
	struct input_report r;
	struct redaction rm = { 0 };
	bool ok;
	int status;

	o.in.paths = calloc((size_t)argc, sizeof(char *));
	if (!o.in.paths)
		return EXIT_INTERNAL;
	if (hint_check_long_options(&redact_argp, argc, argv) != 0) {
		free(o.in.paths);
		return EXIT_USAGE;
	}
	argp_parse(&redact_argp, argc, argv, 0, NULL, &o);
	out_begin("redact");
	ok = redact_one(&r, o.in.paths[0], o.output, &rm);
	/* On standard error with -j too, as every other command does: a script sees it. */
	if (!ok)
		report_error(&r.err, false);
	if (global_opts.json)
		out_add_input(json_result(&r, &rm, ok));
	else if (ok && !global_opts.quiet)
		show_text(&r, &rm);
	status = (ok ? EXIT_OK : EXIT_OPERATIONAL) | out_end();
	report_free(&r);
	free(o.in.paths);
	return status;
}

const struct cmd cmd_redact = {
	.name = "redact",
	.summary = "copy a QEMU stream or libvirt image without the guest's memory",
	.run = redact_run,
};
