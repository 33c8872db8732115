/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_filter.c --- the stream filter (`fredck repair - -o -`): the
 * reader core's bytes pass through to the output as they are read; a
 * `cpu` section is held in the buffer while it is read, planned, and sent
 * on edited (qemu_edit.c) or as it was; the description, which ends the
 * stream, is rewritten for the plans made.  Memory is the byte source's
 * buffer, one cpu section and the description.
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

	if (f->enc)
		return encoder_write(f->enc, data, len) ? (errno = EIO, -1) : 0;
	return write_full(f->out_fd, data, len);
}

/* A FULL section may be a cpu to rewrite: keep its bytes from the first one. */
static int hold_full(void *ctx, struct qemu_stream *q, uint8_t type, uint64_t off,
		     struct fmt_error *e)
{
	if (type == QSEC_FULL)
		bsrc_hold(&q->src, off);
	return 0;
}

/* Any other device flows on as it is read. */
static int release_device(void *ctx, struct qemu_stream *q, const struct qemu_section *s,
			  struct fmt_error *e)
{
	if (s->type == QSEC_FULL && strcmp(s->idstr, "cpu") != 0)
		bsrc_release(&q->src);
	return 0;
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

/* Write the held section [from, to) of the input with the edits applied. */
static int emit_edited(struct qemu_filter *f, struct qemu_stream *q, uint64_t from, uint64_t to,
		       const struct edits *ed, struct fmt_error *e)
{
	const uint8_t *sec = bsrc_at(&q->src, from, (size_t)(to - from));
	uint64_t pos = from;

	if (!sec)
		return fmt_fail(e, FMT_ERR_SYSTEM, q->src.path,
				"internal error: the cpu section left the buffer");
	for (size_t i = 0; i < ed->n; i++) {
		const struct edit *x = &ed->v[i];

		if (write_out(f, sec + (pos - from), x->off - pos) || write_out(f, x->ins, x->len))
			return fmt_syserr(e, "(output)", errno, "cannot write the output");
		pos = x->off + x->del;
	}
	if (write_out(f, sec + (pos - from), to - pos))
		return fmt_syserr(e, "(output)", errno, "cannot write the output");
	bsrc_mark_emitted(&q->src, to);
	return 0;
}

/* A cpu section was read (held since its first byte): plan it, send it on. */
static int filter_cpu(void *ctx, struct qemu_stream *q, size_t i, struct fmt_error *e)
{
	struct qemu_filter *f = ctx;
	const struct qemu_cpu_loc *loc = &q->cpus[i];
	uint64_t end = bsrc_offset(&q->src); /* after the footer */
	struct edits ed = { 0 };
	int rc;

	if (grow_plans(f, i + 1))
		return fmt_syserr(e, q->src.path, ENOMEM, "cannot plan");
	f->plans[i] = f->plan(&q->vcpus[i], f->ctx);
	if (!plan_changes_state(&f->plans[i])) {
		bsrc_release(&q->src); /* the bytes flow on unchanged */
		return 0;
	}
	if (cpu_edits(&ed, loc, &q->vcpus[i], &f->plans[i], NULL))
		return fmt_syserr(e, q->src.path, ENOMEM, "cannot plan");
	sort_edits(&ed);
	rc = bsrc_emit_to(&q->src, loc->section, e);
	if (rc == 0)
		rc = emit_edited(f, q, loc->section, end, &ed, e);
	bsrc_release(&q->src);
	free_edits(&ed);
	return rc;
}

/* The description (which the core does not pass through) rewritten for the plans made. */
static int filter_description(void *ctx, struct qemu_stream *q, json_t *doc, uint64_t off,
			      struct fmt_error *e)
{
	struct qemu_filter *f = ctx;
	struct edits ed = { 0 };
	uint8_t *rec;
	size_t len;
	int rc = 0;

	json_t **desc = desc_cpus(doc, q);

	rc = desc ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < q->ncpus; i++)
		if (plan_changes_state(&f->plans[i]))
			rc = cpu_edits(&ed, &q->cpus[i], &q->vcpus[i], &f->plans[i], desc[i]);
	free(desc);
	free_edits(&ed); /* only the description changes were wanted */
	if (rc)
		return fmt_syserr(e, "(output)", ENOMEM, "cannot write the output");
	rec = vmdesc_record(doc, &len);
	if (!rec || write_out(f, rec, len))
		rc = fmt_syserr(e, "(output)", rec ? errno : ENOMEM, "cannot write the output");
	free(rec);
	return rc;
}

static const struct qemu_hooks filter_hooks = {
	.pass = write_out,
	.section_begin = hold_full,
	.section_header = release_device,
	.cpu = filter_cpu,
	.description = filter_description,
};

int qemu_filter_attach(struct qemu_filter *f, struct qemu_stream *q)
{
	return qemu_stream_attach(q, &filter_hooks, f);
}

int qemu_filter_run(struct qemu_stream *q, struct fmt_error *e)
{
	if (qemu_stream_parse(q, e))
		return -1;
	return bsrc_emit_to(&q->src, bsrc_offset(&q->src), e);
}

int qemu_filter_pass(struct qemu_filter *f, struct qemu_stream *q, bool compress,
		     enum codec codec, const char *tmp, struct fmt_error *e)
{
	char error[200];
	int rc;

	if (compress) {
		f->enc = encoder_new(codec, f->out_fd, error, sizeof(error));
		if (!f->enc)
			return fmt_fail(e, FMT_ERR_SYSTEM, tmp, "cannot compress: %s", error);
	}
	if (qemu_filter_attach(f, q))
		return fmt_fail(e, FMT_ERR_SYSTEM, tmp, "internal error: no room for the filter");
	rc = qemu_filter_run(q, e);
	if (f->enc && encoder_finish(f->enc, error, sizeof(error)) != 0 && rc == 0)
		rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp, "cannot compress: %s", error);
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
		rc = qemu_filter_run(q, e);
	if (rc == 0)
		rc = qemu_take_vcpus(s, q, f.plans, e);
	if (rc == 0)
		qemu_describe(s, q);
	*plans = f.plans;
	return rc;
}
