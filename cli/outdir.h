/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * outdir.h --- `repair -O DIR`: each input's repair into DIR, in a way a
 * rerun can resume.
 *
 * Only what was repaired is written: an input with nothing to change is
 * not copied (a tree of multi-GB snapshots must not double its storage).
 * An output already in DIR is compared with the repair fredck would write
 * now: the same content means an earlier run (perhaps killed before the
 * end) already did this input, which is then done; different content is
 * an error naming it, and it is left as it is.  DIR itself is never an
 * input of a search (-r), so that running again cannot nest it deeper.
 */
#ifndef FRED_OUTDIR_H
#define FRED_OUTDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/cmd.h"
#include "cli/report.h"

/* Write r's repair to out_path (setting r->wrote, or r->failed and r->err). */
typedef void (*outdir_writer)(struct input_report *r, const char *out_path, void *ctx);

/*
 * Before the search: DIR, if it exists, is skipped by batch_expand.
 * Returns the first -r argument that is DIR itself (its repairs would land
 * on its inputs), or NULL.
 */
const char *outdir_prepare(const char *dir, const struct inputs *in);

/*
 * Repair the analysed input r into DIR/REL (out: a buffer of len bytes the
 * caller keeps until r is emitted, for the output path): not copied when
 * nothing is planned (r->not_copied), written when absent, and when
 * present compared as above (r->up_to_date, or r->failed naming it).
 */
void outdir_repair(struct input_report *r, const char *dir, const char *rel, char *out,
		   size_t len, outdir_writer write, void *ctx);

/* The batch notes of r (BATCH_NOT_COPIED, BATCH_UP_TO_DATE), for the summary. */
int outdir_notes(const struct input_report *r);

#endif
