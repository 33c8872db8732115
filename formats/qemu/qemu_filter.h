/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_filter.h --- the stream filter: hooks on the reader core that send
 * every byte on to an output as it is read, each `cpu` section planned and
 * rewritten on its way, and the description rewritten to match.  Used by
 * `repair - -o -`, by the writer for compressed images and by redact.
 */
#ifndef FRED_QEMU_FILTER_H
#define FRED_QEMU_FILTER_H

#include "formats/format.h"
#include "formats/io/decode.h"
#include "formats/qemu/qemu_edit.h"
#include "formats/qemu/qemu_stream.h"

typedef struct vcpu_plan (*qemu_plan_fn)(const struct vcpu_state *v, void *ctx);

struct qemu_filter {
	int out_fd;
	struct encoder *enc; /* set: the output is compressed on its way to out_fd */
	bool tail_mismatch;  /* enc was a tail that could not continue the kept prefix */
	qemu_plan_fn plan;
	void *ctx;
	struct vcpu_plan *plans; /* parallel to the reader's cpus, in stream order */
	size_t cap;
	struct edits ed; /* of the held device state: cpu sections and the description */
};

/*
 * Attach f to q (which has no pass-through yet): from here on every byte
 * of q goes to f's output.  -1 when q has no room for more hooks.
 */
int qemu_filter_attach(struct qemu_filter *f, struct qemu_stream *q);
/*
 * Walk the attached q to its end; only then send the held device state,
 * edited.  On failure the output ends before the device state.
 */
int qemu_filter_run(struct qemu_filter *f, struct qemu_stream *q, struct fmt_error *e);
/*
 * Attach f to q and run it, f's output compressed with codec when
 * compress (by f->enc when the caller made it: it is finished here).  Errors name tmp for the output.  f->plans stays the
 * caller's to free.
 */
int qemu_filter_pass(struct qemu_filter *f, struct qemu_stream *q, bool compress,
		     enum codec codec, const char *tmp, struct fmt_error *e);

/* Stream filter: read in_path through container, write the repaired stream to out_fd. */
int qemu_filter_in(struct snapshot *s, const char *in_path, int out_fd, qemu_plan_fn plan,
		   void *ctx, struct vcpu_plan **plans, qemu_container_fn container,
		   struct fmt_error *e);

#endif
