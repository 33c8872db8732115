/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_redact.c --- fredck redact: a copy of a QEMU stream without the
 * guest's memory.  Hooks on the reader core see every RAM block and
 * record.  Sequential layout: the stream goes through the filter once
 * more (no vCPU changed), each record that carries memory leaving as a
 * zero-page record.  mapped-ram: each block's bitmap and pages are left
 * as holes in a copy of the file.  Device state is kept as it is.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/io/progress.h"
#include "formats/io/safe_write.h"
#include "formats/qemu/qemu_filter.h"
#include "formats/qemu/qemu_redact.h"
#include "formats/qemu/qemu_stream.h"
#include "formats/qemu/qemu_wire.h"
#include "formats/qemu/qemu_write.h"

/* A byte range of the file (mapped-ram: a block's bitmap, its pages). */
struct ram_extent {
	uint64_t off, len;
};

/* What a redaction removed and kept, and where. */
struct redactor {
	uint64_t redacted_records, redacted_bytes, kept_records;
	char first_block[256]; /* the block at guest-physical 0: the legacy ROM area's */
	bool in_first_block;   /* the current RAM record's block is that one */
	/* mapped-ram: the byte ranges the copy leaves as holes. */
	struct ram_extent *extents;
	size_t nextents, cap_extents;
};

static int add_extent(struct redactor *rd, const char *path, uint64_t off, uint64_t len,
		      struct fmt_error *e)
{
	if (rd->nextents == rd->cap_extents) {
		size_t cap = rd->cap_extents ? rd->cap_extents * 2 : 16;
		struct ram_extent *x = realloc(rd->extents, cap * sizeof(*x));

		if (!x)
			return fmt_syserr(e, path, ENOMEM, "cannot read");
		rd->extents = x;
		rd->cap_extents = cap;
	}
	rd->extents[rd->nextents++] = (struct ram_extent){ off, len };
	return 0;
}

/*
 * What redaction keeps: the legacy ROM area, 0xC0000-0xFFFFF, of the block
 * at guest-physical 0.  It holds firmware images (the VGA BIOS, option
 * ROMs, the BIOS shadow), not guest data, and QEMU's kvm-tpr-opt device
 * reads its option ROM there when it loads: without it the load fails.
 */
#define KEEP_FROM 0xC0000ULL
#define KEEP_TO 0x100000ULL

static bool kept_page(bool first_block, uint64_t addr)
{
	return first_block && addr >= KEEP_FROM && addr < KEEP_TO;
}

/* Set bits of the bitmap at off (len bytes): pages present, those kept apart. */
static int count_present(struct redactor *rd, const struct bsrc *src, bool first, uint64_t page,
			 uint64_t off, uint64_t len, uint64_t *present, struct fmt_error *e)
{
	uint8_t buf[65536];

	*present = 0;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);

		if (pread(src->fd, buf, n, (off_t)(off + done)) != (ssize_t)n)
			return fmt_syserr(e, src->path, errno ? errno : EIO, "cannot read");
		for (size_t i = 0; i < n; i++)
			for (int bit = 0; bit < 8; bit++) {
				uint64_t addr = ((done + i) * 8 + (uint64_t)bit) * page;

				if (!(buf[i] >> bit & 1))
					continue;
				if (kept_page(first, addr))
					rd->kept_records++;
				else
					(*present)++;
			}
		done += n;
	}
	return 0;
}

/*
 * Redaction of a mapped-ram block: its bitmap (a bit per page, in longs,
 * as QEMU sizes it; little-endian longs, so bit n of the bitmap is bit
 * n % 8 of byte n / 8) and its pages are what the redacted copy leaves as
 * holes: every page then reads as absent, and RAM as zero.  The kept
 * pages' bits and bytes are the extents' gaps, copied as they are.
 */
static int record_mapped_block(struct redactor *rd, const struct bsrc *src, bool first,
			       const struct qemu_ram_block *b, struct fmt_error *e)
{
	uint64_t page = b->page_size, used = b->used;
	uint64_t bitmap_len, present;

	if (page == 0 || page > (1U << 30) || used % page)
		return fmt_malformed(e, src->path, b->header + 4, "mapped-ram page size",
				     "page size %llu does not divide the block's %llu bytes",
				     (unsigned long long)page, (unsigned long long)used);
	bitmap_len = (used / page + 63) / 64 * 8;
	if (b->bitmap_offset > src->size || bitmap_len > src->size - b->bitmap_offset)
		return fmt_malformed(e, src->path, b->header + 12, "mapped-ram bitmap offset",
				     "a bitmap of %llu bytes at %llu lies beyond the end of the file",
				     (unsigned long long)bitmap_len,
				     (unsigned long long)b->bitmap_offset);
	if (count_present(rd, src, first, page, b->bitmap_offset, bitmap_len, &present, e))
		return -1;
	rd->redacted_records += present;
	rd->redacted_bytes += present * page;
	if (first && page == 4096 && used >= KEEP_TO) {
		/* Around the kept area: its 8 bitmap bytes and 256 KiB of pages. */
		uint64_t b_from = KEEP_FROM / page / 8, b_to = KEEP_TO / page / 8;

		return add_extent(rd, src->path, b->bitmap_offset, b_from, e) ||
		       add_extent(rd, src->path, b->bitmap_offset + b_to, bitmap_len - b_to, e) ||
		       add_extent(rd, src->path, b->pages_offset, KEEP_FROM, e) ||
		       add_extent(rd, src->path, b->pages_offset + KEEP_TO, used - KEEP_TO, e);
	}
	return add_extent(rd, src->path, b->bitmap_offset, bitmap_len, e) ||
	       add_extent(rd, src->path, b->pages_offset, used, e);
}

/* A block of the size list: the first is the legacy ROM area's; mapped-ram's are recorded. */
static int redact_block(void *ctx, struct qemu_stream *q, const struct qemu_ram_block *b,
			struct fmt_error *e)
{
	struct redactor *rd = ctx;

	if (b->first)
		snprintf(rd->first_block, sizeof(rd->first_block), "%s", b->name);
	if (!q->mapped_ram)
		return 0;
	return record_mapped_block(rd, &q->src, strcmp(b->name, rd->first_block) == 0, b, e);
}

/*
 * The record r leaves as a zero-page record for the same address: QEMU
 * loads it, and it carries no guest data.  The block name that may
 * follow the header passes through as it is.
 */
static int redact_header(struct qemu_stream *q, const struct qemu_ram_record *r,
			 struct fmt_error *e)
{
	uint8_t header[8];

	be_put(header, r->addr | (r->flags & RAM_CONTINUE) | RAM_ZERO, 8);
	if (bsrc_emit_to(&q->src, r->offset, e) || bsrc_inject(&q->src, header, 8, e))
		return -1;
	bsrc_mark_emitted(&q->src, r->offset + 8);
	return 0;
}

/* r's body leaves as a zero page's fill byte; counted when it carried a page's content. */
static int redact_body(struct redactor *rd, struct qemu_stream *q,
		       const struct qemu_ram_record *r, struct fmt_error *e)
{
	static const uint8_t zero;

	if (bsrc_emit_to(&q->src, r->body, e) || bsrc_inject(&q->src, &zero, 1, e))
		return -1;
	bsrc_mark_emitted(&q->src, r->body + r->body_len);
	rd->redacted_records += !r->zero;
	rd->redacted_bytes += r->zero ? 0 : r->body_len;
	return 0;
}

/* Every record that carries memory, but for the legacy ROM area's, loses it. */
static int redact_record(void *ctx, struct qemu_stream *q, const struct qemu_ram_record *r,
			 struct fmt_error *e)
{
	struct redactor *rd = ctx;

	if (r->named)
		rd->in_first_block = strcmp(r->block, rd->first_block) == 0;
	if (kept_page(rd->in_first_block, r->addr)) {
		rd->kept_records += !r->zero;
		return 0;
	}
	if (!r->zero && redact_header(q, r, e))
		return -1;
	return redact_body(rd, q, r, e);
}

static const struct qemu_hooks redact_hooks = {
	.ram_block = redact_block,
	.ram_record = redact_record,
};

static struct vcpu_plan keep_state(const struct vcpu_state *v, void *ctx)
{
	return (struct vcpu_plan){ .action = ACTION_NOTHING };
}

/* The bytes before the stream that a copy keeps as they are (a libvirt header and XML). */
static uint64_t prefix_length(const struct qemu_stream *q)
{
	return q->compressed ? q->container_len : q->stream_start;
}

/*
 * A reader on the input again, after the prefix (copied to out as it
 * is), reading decompressed where the input is compressed; NULL on error.
 */
static struct qemu_stream *reopen_after_prefix(struct snapshot *s, int out, const char *tmp,
					       struct fmt_error *e)
{
	struct qemu_stream *q = s->priv, *r;
	uint64_t prefix = prefix_length(q);

	if (sw_copy_range(q->src.fd, s->path, out, tmp, 0, prefix, 0, e))
		return NULL;
	r = qemu_stream_reopen(q, s->path, e);
	if (!r)
		return NULL;
	r->stream_start = q->compressed ? 0 : prefix;
	if (bsrc_skip(&r->src, prefix, "", e) == 0) {
		if (lseek(out, (off_t)prefix, SEEK_SET) < 0)
			fmt_syserr(e, tmp, errno, "cannot write");
		else if (!q->compressed || bsrc_decode(&r->src, q->codec, e) == 0)
			return r;
	}
	qemu_stream_free(r);
	return NULL;
}

/*
 * Sequential layout: the stream once more through the filter, with every
 * record that carries memory turned into a zero-page record on its way
 * out; compressed again with the input's compressor where it was.
 */
static int redact_sequential(struct snapshot *s, struct redactor *rd, int out, const char *tmp,
			     struct fmt_error *e)
{
	struct qemu_stream *q = s->priv, *r = reopen_after_prefix(s, out, tmp, e);
	struct qemu_filter f = { .out_fd = out, .plan = keep_state };
	enum io_phase was;
	int rc;

	if (!r)
		return -1;
	qemu_stream_attach(r, &redact_hooks, rd); /* the first table: it cannot be full */
	was = io_phase_set(q->compressed ? IO_RECOMPRESSING : IO_COPYING);
	rc = qemu_filter_pass(&f, r, q->compressed, q->codec, tmp, e);
	io_phase_set(was);
	free(f.plans);
	qemu_stream_free(r);
	return rc;
}

static int cmp_extent(const void *a, const void *b)
{
	const struct ram_extent *x = a, *y = b;

	return (x->off > y->off) - (x->off < y->off);
}

/* The file as it is but for the extents, left as holes. */
static int copy_around(struct snapshot *s, const struct redactor *rd, int out, const char *tmp,
		       struct fmt_error *e)
{
	struct qemu_stream *q = s->priv;
	uint64_t pos = 0;

	for (size_t i = 0; i < rd->nextents; i++) {
		const struct ram_extent *x = &rd->extents[i];

		if (x->off > pos && sw_copy_range(q->src.fd, s->path, out, tmp, pos, x->off, pos, e))
			return -1;
		if (x->off + x->len > pos)
			pos = x->off + x->len;
	}
	if (pos < q->src.size &&
	    sw_copy_range(q->src.fd, s->path, out, tmp, pos, q->src.size, pos, e))
		return -1;
	if (ftruncate(out, (off_t)q->src.size) != 0)
		return fmt_syserr(e, tmp, errno, "cannot write");
	return 0;
}

/*
 * mapped-ram: the file copied as it is except each block's bitmap and
 * pages, left as holes -- every page absent, RAM zero when loaded -- so
 * the copy has the input's layout and takes no space for memory.
 */
static int redact_mapped(struct snapshot *s, struct redactor *rd, int out, const char *tmp,
			 struct fmt_error *e)
{
	struct qemu_stream *q = s->priv, *r = qemu_stream_reopen(q, s->path, e);
	int rc = -1;

	if (!r)
		return -1;
	r->stream_start = q->stream_start;
	qemu_stream_load_vmdesc(r); /* as the input was read: by its description */
	qemu_stream_attach(r, &redact_hooks, rd); /* the first table: it cannot be full */
	if (bsrc_skip(&r->src, q->stream_start, "", e) == 0 && qemu_stream_parse(r, e) == 0) {
		if (rd->nextents)
			qsort(rd->extents, rd->nextents, sizeof(rd->extents[0]), cmp_extent);
		rc = copy_around(s, rd, out, tmp, e);
	}
	qemu_stream_free(r);
	return rc;
}

/* The copy read again: the same vCPUs, and (sequential) only the kept pages. */
static int verify_redacted(struct snapshot *s, const char *tmp, uint64_t kept,
			   struct fmt_error *e)
{
	struct qemu_stream *q = s->priv;
	struct vcpu_plan *none = calloc(s->nvcpus ? s->nvcpus : 1, sizeof(*none));
	struct snapshot re;
	enum io_phase was;
	int rc;

	if (!none)
		return fmt_syserr(e, tmp, ENOMEM, "cannot verify");
	was = io_phase_set(IO_VERIFYING);
	rc = snapshot_open(&re, tmp, s->ops->name, e);
	io_phase_set(was);
	if (rc == 0) {
		const struct qemu_stream *rq = re.priv;

		rc = snapshot_verify(s, none, &re, e);
		if (rc == 0 && !q->mapped_ram && rq->ram_pages != kept)
			rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp,
				      "verification failed: %llu pages of memory are left, %llu "
				      "expected (the legacy ROM area's)",
				      (unsigned long long)rq->ram_pages, (unsigned long long)kept);
		snapshot_close(&re);
	}
	free(none);
	return rc;
}

int qemu_redact(struct snapshot *s, struct write_request *w, struct redaction *result,
		struct fmt_error *e)
{
	struct qemu_stream *q = s->priv;
	struct redactor rd = { 0 };
	char target[PATH_MAX], tmp[PATH_MAX];
	int out = -1, rc;

	if (w->in_place || !w->out_path)
		return fmt_fail(e, FMT_ERR_REFUSED, s->path,
				"redaction removes the guest's memory: it writes a copy (-o OUT), "
				"never in place");
	if (strcmp(s->real, "-") == 0 || (!q->src.seekable && !q->compressed))
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, s->path,
				"redact reads its input twice: give a file, not a pipe");
	if (sw_prepare(s->real, w, target, sizeof(target), e) != 0)
		return -1;
	rc = sw_temp_file(target, s->real, tmp, sizeof(tmp), &out, e);
	if (rc == 0) {
		rc = q->mapped_ram ? redact_mapped(s, &rd, out, tmp, e) :
				     redact_sequential(s, &rd, out, tmp, e);
		if (rc == 0 && fsync(out) != 0)
			rc = fmt_syserr(e, tmp, errno, "cannot write");
		if (close(out) != 0 && rc == 0)
			rc = fmt_syserr(e, tmp, errno, "cannot write");
		if (rc == 0)
			rc = verify_redacted(s, tmp, rd.kept_records, e);
		if (rc == 0)
			rc = qemu_commit_file(s, tmp, target, w, e);
		if (rc != 0 && strcmp(w->written, target) != 0)
			unlink(tmp);
	}
	result->pages = rd.redacted_records;
	result->bytes = rd.redacted_bytes;
	result->kept_pages = rd.kept_records;
	free(rd.extents);
	return rc;
}
