/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * progress.h --- how far a long pass over a big input has got, for the CLI
 * to show (the formats layer never prints).
 *
 * A report says what is being done (the phase) and how much of how much:
 * the byte source reports as it reads, the copy between byte ranges as it
 * copies, and a writer names the phase of a pass it runs over a source
 * (verifying its result, re-compressing) around that pass.  No report
 * names a file: the CLI knows which input it is working on, and a
 * writer's temporary name means nothing to the operator.
 */
#ifndef FRED_IO_PROGRESS_H
#define FRED_IO_PROGRESS_H

#include <stdint.h>

enum io_phase {
	IO_READING,       /* reading the input (the analysis) */
	IO_DECOMPRESSING, /* reading it through a decompressor */
	IO_COPYING,       /* copying it to the output (or to standard output) */
	IO_VERIFYING,     /* reading the written result back to verify it */
	IO_RECOMPRESSING, /* decompressing, repairing and compressing it again */
	IO_COMPARING,     /* comparing the repair with an output already there (-O) */
};

/*
 * Called with the phase, the bytes done and the total (0 when unknown: a
 * pipe), at most every 64 MiB or so.  Set by the CLI, which decides
 * whether and how to show it; NULL: nothing is reported.
 */
extern void (*io_progress)(enum io_phase phase, uint64_t done, uint64_t total);

/*
 * The phase that reads of a byte source are reported under from now on
 * (a writer's verification or re-compression pass), until set back to
 * IO_READING; returns the previous one.  With IO_READING, a source reports
 * reading, decompressing (through a decoder) or copying (to a sink).
 */
enum io_phase io_phase_set(enum io_phase phase);
enum io_phase io_phase_get(void);

/* One report, if anyone listens. */
void io_report(enum io_phase phase, uint64_t done, uint64_t total);

/* The phase's word, as the progress line shows it ("copying"). */
const char *io_phase_name(enum io_phase phase);

#endif
