/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_undo.c --- `fredck undo UNDOFILE [IMAGE]`: put back what an in-place
 * repair of a qcow2 snapshot changed, from the undo file it wrote beside
 * the image (formats/qcow2/qcow2_inplace.c), after checking that the
 * image is the same one and each cluster still holds the repair.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli/cmd.h"
#include "cli/diag.h"
#include "cli/hint.h"
#include "formats/format.h"

struct undo_opts {
	const char *file, *image;
	int count;
};

static error_t undo_parse(int key, char *arg, struct argp_state *state)
{
	struct undo_opts *o = state->input;

	switch (key) {
	case ARGP_KEY_ARG:
		if (o->count == 0)
			o->file = arg;
		else if (o->count == 1)
			o->image = arg;
		else
			argp_error(state, "undo takes an undo file and at most the image");
		o->count++;
		return 0;
	case ARGP_KEY_END:
		if (!o->file)
			argp_error(state, "give the undo file an in-place repair wrote "
					  "(IMAGE.fredck-undo-ID)");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp_child undo_children[] = {
	{ .argp = &common_argp, .header = "Common options:" },
	{ 0 }
};

static const struct argp undo_argp = {
	.parser = undo_parse,
	.args_doc = "UNDOFILE [IMAGE]",
	.doc = "Put back the bytes an in-place repair of a qcow2 snapshot changed, from the undo "
	       "file it kept beside the image (IMAGE.fredck-undo-ID), into the image it names "
	       "(or IMAGE). Refused when the image is not the same (size, header cluster), "
	       "when a changed cluster holds neither the repair nor the original, or when QEMU "
	       "holds the image open.\v"
	       "Exit status: 0 restored (or already original), 8 error, 16 usage.",
	.children = undo_children,
};

static int undo_run(int argc, char **argv)
{
	struct undo_opts o = { 0 };
	struct fmt_error e;
	char image[PATH_MAX];
	size_t restored;

	if (hint_check_long_options(&undo_argp, argc, argv) != 0)
		return EXIT_USAGE;
	argp_parse(&undo_argp, argc, argv, 0, NULL, &o);
	if (format_undo(o.file, o.image, image, sizeof(image), &restored, &e) != 0) {
		diag_fmt_error(&e);
		return EXIT_OPERATIONAL;
	}
	if (!global_opts.quiet)
		printf("%s: %zu cluster%s restored from %s%s\n", image, restored,
		       restored == 1 ? "" : "s", o.file,
		       restored ? "" : " (the image already held the original bytes)");
	return EXIT_OK;
}

const struct cmd cmd_undo = {
	.name = "undo",
	.summary = "put back what an in-place repair of a qcow2 snapshot changed",
	.run = undo_run,
};
