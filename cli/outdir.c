/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * outdir.c --- `repair -O DIR` (see outdir.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/batch.h"
#include "cli/outdir.h"
#include "formats/io/safe_write.h"
#include "formats/io/same_content.h"

const char *outdir_prepare(const char *dir, const struct inputs *in)
{
	struct stat st, a;

	if (stat(dir, &st) != 0)
		return NULL; /* made by this run, after the search */
	batch_opts.skip_dir_set = true;
	batch_opts.skip_dev = st.st_dev;
	batch_opts.skip_ino = st.st_ino;
	for (int i = 0; batch_opts.recursive && i < in->count; i++)
		if (stat(in->paths[i], &a) == 0 && a.st_dev == st.st_dev && a.st_ino == st.st_ino)
			return in->paths[i];
	return NULL;
}

/* mkdir -p for the directories of path from the first one after skip. */
static int make_parents(char *path, size_t skip, struct fmt_error *e)
{
	for (char *p = path + skip; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (*path && mkdir(path, 0777) != 0 && errno != EEXIST) {
			fmt_syserr(e, path, errno, "cannot make the output directory");
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

/* DIR/REL, trailing slashes dropped, its directories made. */
static int output_in_dir(const char *dir, const char *rel, char *out, size_t len,
			 struct fmt_error *e)
{
	size_t n;

	if (fmt_join(out, len, dir, rel, e) != 0)
		return -1;
	for (n = strlen(out); n > 1 && out[n - 1] == '/'; n--)
		out[n - 1] = '\0';
	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		return fmt_syserr(e, dir, errno, "cannot make the output directory");
	return make_parents(out, strlen(dir), e);
}

/* The directory path is in ("." for a bare name) and its last component. */
static void split_out(const char *path, char *dir, size_t len, const char **base)
{
	const char *slash = strrchr(path, '/');

	*base = slash ? slash + 1 : path;
	if (!slash)
		snprintf(dir, len, ".");
	else
		snprintf(dir, len, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

/* An error met inside the side directory names the output instead: the side one is gone. */
static void name_output(struct fmt_error *e, const char *side, const char *out)
{
	size_t n = strlen(side);

	if (strncmp(e->file, side, n) == 0 && (e->file[n] == '/' || !e->file[n]))
		snprintf(e->file, sizeof(e->file), "%s", out);
}

/*
 * out exists: write the repair beside it, in a temporary directory of
 * fredck's (removed by an interrupt; named by the next run if killed),
 * and compare.
 */
static void compare_with_existing(struct input_report *r, const char *out,
				  outdir_writer write, void *ctx)
{
	char parent[PATH_MAX], side[PATH_MAX], copy[PATH_MAX];
	const char *base;
	bool same = false;

	split_out(out, parent, sizeof(parent), &base);
	if (sw_temp_dir(out, parent, side, sizeof(side), &r->err) != 0) {
		r->failed = true;
		return;
	}
	if (fmt_join(copy, sizeof(copy), side, base, &r->err) != 0)
		r->failed = true;
	else
		write(r, copy, ctx);
	if (!r->failed && same_content(copy, out, &same, &r->err) != 0)
		r->failed = true;
	sw_remove_tree(side);
	r->w.out_path = out;
	r->w.written[0] = '\0';
	r->wrote = false;
	if (r->failed) {
		name_output(&r->err, side, out);
		return;
	}
	if (!same) {
		r->failed = true;
		fmt_fail(&r->err, FMT_ERR_REFUSED, out,
			 "exists and differs from the repair of '%s'; fredck never overwrites: "
			 "remove it, or choose another -O directory", r->path);
		return;
	}
	r->up_to_date = true;
	snprintf(r->w.written, sizeof(r->w.written), "%s", out);
}

void outdir_repair(struct input_report *r, const char *dir, const char *rel, char *out,
		   size_t len, outdir_writer write, void *ctx)
{
	struct stat st;

	/* Nothing to change: the input is its own repair, and a copy would double the storage. */
	if (!r->planned) {
		r->not_copied = true;
		return;
	}
	if (output_in_dir(dir, rel, out, len, &r->err) != 0) {
		r->failed = true;
		return;
	}
	if (lstat(out, &st) != 0)
		write(r, out, ctx);
	else
		compare_with_existing(r, out, write, ctx);
}

int outdir_notes(const struct input_report *r)
{
	return (r->not_copied ? BATCH_NOT_COPIED : 0) | (r->up_to_date ? BATCH_UP_TO_DATE : 0);
}
