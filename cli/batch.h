/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * batch.h --- many inputs: directory trees (-r), worker processes (-P),
 * one record per input (--ndjson), a summary on standard error.
 *
 * Workers are processes, not threads: the formats layer keeps a little
 * global state (io_progress, the JSON document of output.c), and a
 * process per worker makes it private without locks.  Each input's output
 * is produced whole in the worker and written by the parent in one piece,
 * in input order, so records never interleave.
 */
#ifndef FRED_BATCH_H
#define FRED_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <sys/types.h>

#include "cli/cmd.h"

struct batch_opts {
	bool recursive;
	int jobs; /* 0: the number of online CPUs */
	bool ndjson;
	/*
	 * fredck's own artifacts, never inputs of a search: backups named
	 * with this suffix next to their original (repair --backup; ".orig"
	 * when NULL), temporary .NAME.fredck-XXXXXX names, and -O's DIR.
	 */
	const char *backup_suffix;
	bool skip_dir_set;
	dev_t skip_dev;
	ino_t skip_ino;
	bool summary; /* a summary even without -r, -P or --ndjson (repair -O) */
};

/*
 * Not exit bits: what a work function may add to an input's status for the
 * summary's counts (repair -O); batch_run counts them and takes them out.
 */
#define BATCH_NOT_COPIED (1 << 20) /* nothing to repair: no copy written */
#define BATCH_UP_TO_DATE (1 << 21) /* the output already held this repair */
#define BATCH_NOTES (BATCH_NOT_COPIED | BATCH_UP_TO_DATE)

extern struct batch_opts batch_opts;

/* -r, -P, --ndjson: an argp child of inspect, check and repair. */
extern const struct argp batch_argp;

/* One input, as found: its path, and where it sits below the argument it came from. */
struct batch_input {
	char *path;
	const char *rel; /* inside path: below the searched directory, or its last component */
};

struct batch_list {
	struct batch_input *v;
	size_t n, cap;
	/* What a search stepped over as fredck's own: counted in the summary. */
	size_t skipped_backups, skipped_temps, skipped_outputs;
};

/*
 * The inputs of the command line, each directory that is not a snapshot
 * searched when -r is given; returns exit bits (EXIT_OPERATIONAL when a
 * directory could not be read, after saying so).
 */
int batch_expand(const struct inputs *args, struct batch_list *out);

/*
 * path ends in the backup suffix of this run, or in it and a number
 * (NAME.orig.1: NAME.orig held another original), and the original it
 * would be the backup of exists beside it.
 */
bool batch_is_backup(const char *path);
void batch_list_free(struct batch_list *l);

/*
 * Do one input: analyse, maybe write, and emit its report (report_emit) on
 * io (a worker's capture streams, or stdout and stderr); return its exit bits.
 */
typedef int (*batch_work)(const struct batch_input *in, void *ctx,
			  const struct out_streams *io);

/*
 * Run work over every input of l, in worker processes when -P allows and
 * there is more than one input, and print the results in input order
 * (text, the JSON document's inputs, or NDJSON lines).  With -r, -P,
 * --ndjson or batch_opts.summary, a summary goes to standard error (and
 * into the JSON document).  Returns the OR of the exit bits.
 * in_process forces one process (the stream filter writes standard output).
 */
int batch_run(const struct batch_list *l, const char *command, batch_work work, void *ctx,
	      bool in_process);

#endif
