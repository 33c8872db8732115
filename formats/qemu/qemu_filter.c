/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_filter.c --- the stream filter (`fredck repair - -o -`).  The
 * header and the RAM pass through to the output as they are read.  The
 * device state -- from the first FULL section to the end of the input,
 * the end-of-file marker and the description included -- is held in
 * memory by the reader core, which reads the description at its end
 * before any device, exactly as it does for a file (docs/design.md
 * section 5).  Each `cpu` section is planned as the walk meets it, its
 * edits (qemu_edit.c) and the rewritten description noted; only when the
 * walk has validated the whole stream is the held state written, edited.
 * On any failure the output ends before the device state: never a
 * complete stream.  Memory: the byte source's buffer, the device state,
 * the description and its parsed form.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "formats/io/whole_file.h"
#include "formats/qemu/qemu_edit.h"
#include "formats/qemu/qemu_filter.h"
#include "formats/qemu/qemu_read.h"
#include "formats/qemu/qemu_wire.h"

static int write_out(void *ctx, const uint8_t *data, size_t len)
{
	struct qemu_filter *f = ctx;

	if (len == 0)
		return 0; /* libbz2 takes a step that makes no progress for an error */
	if (f->enc)
		return encoder_write(f->enc, data, len) ? (errno = EIO, -1) : 0;
	return write_full(f->out_fd, data, len);
}

static int grow_plans(struct qemu_filter *f, size_t n)
{
	struct vcpu_plan *p;

	if (n <= f->cap)
		return 0;
	p = realloc(f->plans, n * 2 * sizeof(*p));
	if (!p)
		return -1;
	f->plans = p;
	f->cap = n * 2;
	return 0;
}

/*
 * A cpu section was read (from the held device state): plan it, and note
 * its edits for when the held bytes are written.
 */
static int filter_cpu(void *ctx, struct qemu_stream *q, size_t i, struct fmt_error *e)
{
	struct qemu_filter *f = ctx;

	if (!q->held)
		return fmt_fail(e, FMT_ERR_SYSTEM, q->src.path,
				"internal error: a cpu section outside the held device state");
	if (grow_plans(f, i + 1))
		return fmt_syserr(e, q->src.path, ENOMEM, "cannot plan");
	f->plans[i] = f->plan(&q->vcpus[i], f->ctx);
	if (plan_changes_state(&f->plans[i]) &&
	    cpu_edits(&f->ed, &q->cpus[i], &q->vcpus[i], &f->plans[i], NULL))
		return fmt_syserr(e, q->src.path, ENOMEM, "cannot plan");
	return 0;
}

/*
 * The description, rewritten for the plans made, replaces the record
 * from off to the end of the input (where the walk now is).
 */
static int filter_description(void *ctx, struct qemu_stream *q, json_t *doc, uint64_t off,
			      struct fmt_error *e)
{
	struct qemu_filter *f = ctx;
	struct edits discard = { 0 };
	uint8_t *rec;
	size_t len;
	json_t **desc;
	int rc;
	bool changed = false;

	/*
	 * Nothing planned: the description stays as it came, byte for byte,
	 * as file mode copies it (jansson need not write back a description
	 * it did not change exactly as QEMU wrote it).
	 */
	for (size_t i = 0; i < q->ncpus; i++)
		changed |= plan_changes_state(&f->plans[i]);
	if (!changed)
		return 0;
	desc = desc_cpus(doc, q);
	rc = desc ? 0 : -1;

	for (size_t i = 0; rc == 0 && i < q->ncpus; i++)
		if (plan_changes_state(&f->plans[i]))
			rc = cpu_edits(&discard, &q->cpus[i], &q->vcpus[i], &f->plans[i], desc[i]);
	free(desc);
	free_edits(&discard); /* only the description changes were wanted */
	rec = rc == 0 ? vmdesc_record(doc, &len) : NULL;
	if (!rec || add_edit(&f->ed, off, bsrc_offset(&q->src) - off, rec, len))
		rc = fmt_syserr(e, q->src.path, ENOMEM, "cannot plan");
	free(rec);
	return rc;
}

static const struct qemu_hooks filter_hooks = {
	.pass = write_out,
	.cpu = filter_cpu,
	.description = filter_description,
};

int qemu_filter_attach(struct qemu_filter *f, struct qemu_stream *q)
{
	return qemu_stream_attach(q, &filter_hooks, f);
}

/* The held device state, [q->held_from, its end), written with f's edits applied. */
static int write_held(struct qemu_filter *f, struct qemu_stream *q, struct fmt_error *e)
{
	uint64_t end = 0;
	const uint8_t *held;
	uint64_t pos = q->held_from;

	if (!q->held || !bsrc_known_end(&q->src, &end))
		return fmt_fail(e, FMT_ERR_SYSTEM, q->src.path,
				"internal error: the device state was not held");
	held = bsrc_at(&q->src, q->held_from, (size_t)(end - q->held_from));
	sort_edits(&f->ed);
	for (size_t i = 0; i < f->ed.n; i++) {
		const struct edit *x = &f->ed.v[i];

		if (x->off < pos || x->off + x->del > end)
			return fmt_fail(e, FMT_ERR_SYSTEM, q->src.path,
					"internal error: overlapping edits");
		if (write_out(f, held + (pos - q->held_from), x->off - pos) ||
		    write_out(f, x->ins, x->len))
			return fmt_syserr(e, "(output)", errno, "cannot write the output");
		pos = x->off + x->del;
	}
	if (write_out(f, held + (pos - q->held_from), end - pos))
		return fmt_syserr(e, "(output)", errno, "cannot write the output");
	return 0;
}

/*
 * The walk, then the held device state.  Only a stream the walk
 * validated to its end (every device, the end-of-file marker, the
 * description and nothing after it) is completed: on any failure the
 * output stops before the device state, so the destination's load fails.
 */
int qemu_filter_run(struct qemu_filter *f, struct qemu_stream *q, struct fmt_error *e)
{
	int rc = qemu_stream_parse(q, e);

	if (rc == 0)
		rc = write_held(f, q, e);
	free_edits(&f->ed);
	return rc;
}

int qemu_filter_pass(struct qemu_filter *f, struct qemu_stream *q, bool compress,
		     enum codec codec, const char *tmp, struct fmt_error *e)
{
	char error[200];
	int rc;

	if (compress && !f->enc) {
		f->enc = encoder_new(codec, f->out_fd, error, sizeof(error));
		if (!f->enc)
			return fmt_fail(e, FMT_ERR_SYSTEM, tmp, "cannot compress: %s", error);
	}
	if (qemu_filter_attach(f, q)) {
		if (f->enc)
			encoder_finish(f->enc, NULL, 0);
		f->enc = NULL;
		return fmt_fail(e, FMT_ERR_SYSTEM, tmp, "internal error: no room for the filter");
	}
	rc = qemu_filter_run(f, q, e);
	if (f->enc) {
		int finished = encoder_finish(f->enc, error, sizeof(error));

		f->enc = NULL;
		f->tail_mismatch = finished == ENCODER_TAIL_MISMATCH;
		if (finished != 0 && (rc == 0 || f->tail_mismatch))
			rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp, "cannot compress: %s", error);
	}
	return rc;
}

int qemu_filter_in(struct snapshot *s, const char *in_path, int out_fd, qemu_plan_fn plan,
		   void *ctx, struct vcpu_plan **plans, qemu_container_fn container,
		   struct fmt_error *e)
{
	struct qemu_filter f = { .out_fd = out_fd, .plan = plan, .ctx = ctx };
	struct qemu_stream *q = qemu_stream_open(in_path, e);
	int rc;

	*plans = NULL;
	if (!q)
		return -1;
	s->priv = q;
	/* A pipe of 64 KiB costs a context switch per 64 KiB: ask for 1 MiB. */
	fcntl(out_fd, F_SETPIPE_SZ, 1 << 20);
	if (qemu_filter_attach(&f, q))
		return fmt_fail(e, FMT_ERR_SYSTEM, in_path, "internal error: no room for the filter");
	/* A container's header passes through unchanged. */
	rc = container ? container(q, s, e) : 0;
	if (rc == 0)
		rc = qemu_filter_run(&f, q, e);
	if (rc == 0)
		rc = qemu_take_vcpus(s, q, f.plans, e);
	if (rc == 0)
		qemu_describe(s, q);
	*plans = f.plans;
	return rc;
}
