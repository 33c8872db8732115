/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_chain.h --- the device sections of a stream without its device
 * description, located by proof instead of by a guess.
 *
 * Without the description nothing says how long a device's section is.
 * What is certain is its end: every section closes with a footer, 7e and
 * its own section id, and the next section (or the end-of-file marker)
 * follows at once.  A reading of the device state is a chain of such
 * sections from the first one to the end-of-file marker that ends the
 * input; `cpu` sections are read through, any other device ends at some
 * footer of its id.  The real sections always form one such chain.  A
 * guest that plants a section inside its device's data (a copy of a `cpu`
 * section in an IDE buffer) makes a second chain only if the planted bytes
 * also close the real device and reopen it -- and then the readings are
 * two: the stream is refused, never guessed.  One reading: it is the real
 * one, whatever the guest wrote.  docs/design.md section 5.
 */
#ifndef FRED_QEMU_CHAIN_H
#define FRED_QEMU_CHAIN_H

#include <stdint.h>

#include "formats/fmt_error.h"

struct qemu_stream;

struct qemu_chain {
	uint64_t start, end; /* input offsets: the first device section, the input's end */
	const uint8_t *m;    /* the bytes start..end, held in memory by q->src */
	/*
	 * For every offset from start, two bits: how many readings lead from
	 * a section (or the end-of-file marker) beginning there to the end --
	 * 0, 1, or 2 for more than one.
	 */
	uint8_t *ways;
};

enum qemu_chain_verdict {
	CHAIN_NONE,      /* no reading reaches the end: damaged, or not steppable */
	CHAIN_UNIQUE,    /* exactly one: the sections are where it puts them */
	CHAIN_AMBIGUOUS, /* more than one: planted sections cannot be told from real ones */
};

/*
 * Count the readings of q's device state from start (a FULL section's
 * type byte) to the end of the input, which q->src holds in memory.  The
 * verdict, or -1 with e filled (no memory, or an input built to make the
 * count too costly: more candidate sections than the input could hold).
 * c must be freed with qemu_chain_free whatever the result.
 */
int qemu_chain_build(struct qemu_stream *q, uint64_t start, struct qemu_chain *c,
		     struct fmt_error *e);

/*
 * The footer that ends, in the one reading, the section whose data
 * begins at data and whose id is sid: its offset, or UINT64_MAX.
 */
uint64_t qemu_chain_footer(const struct qemu_chain *c, uint64_t data, uint32_t sid);

void qemu_chain_free(struct qemu_chain *c);

#endif
