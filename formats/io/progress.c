/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * progress.c --- the progress hook and the phase a writer names.
 */
#include "config.h"

#include "formats/io/progress.h"

void (*io_progress)(enum io_phase phase, uint64_t done, uint64_t total);

static enum io_phase current = IO_READING;

enum io_phase io_phase_set(enum io_phase phase)
{
	enum io_phase old = current;

	current = phase;
	return old;
}

enum io_phase io_phase_get(void)
{
	return current;
}

void io_report(enum io_phase phase, uint64_t done, uint64_t total)
{
	if (io_progress)
		io_progress(phase, done, total);
}

const char *io_phase_name(enum io_phase phase)
{
	switch (phase) {
	case IO_READING:
		return "reading";
	case IO_DECOMPRESSING:
		return "decompressing";
	case IO_COPYING:
		return "copying";
	case IO_VERIFYING:
		return "verifying";
	case IO_RECOMPRESSING:
		return "recompressing";
	case IO_COMPARING:
		return "comparing";
	}
	return "working";
}
