/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_write.c --- repairing a QEMU migration stream into a file.
 *
 * A repair is a short list of byte edits (qemu_edit.c) in the vCPUs'
 * `cpu` sections and, at the end, the device description rewritten so it
 * still describes the stream.  Everything else is copied byte for byte
 * (holes kept), into a temporary file that is parsed again and verified
 * before it is renamed into place.  A compressed libvirt image goes
 * through the stream filter instead, compressed again on its way out.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/io/progress.h"
#include "formats/io/safe_write.h"
#include "formats/io/splice.h"
#include "formats/qemu/qemu_edit.h"
#include "formats/qemu/qemu_filter.h"
#include "formats/qemu/qemu_stream.h"
#include "formats/qemu/qemu_write.h"

/* The device description rewritten as the last edit: 06, be32 length, JSON. */
static int edit_vmdesc(struct edits *ed, const struct qemu_stream *q, json_t *vmdesc, uint64_t size)
{
	size_t len;
	uint8_t *rec = vmdesc_record(vmdesc, &len);
	int rc;

	if (!rec)
		return -1;
	rc = add_edit(ed, q->vmdesc_offset, size - q->vmdesc_offset, rec, len);
	free(rec);
	return rc;
}

/* The edits, the description's replacing the bytes from its record to end. */
static int plan_edits(struct snapshot *s, const struct vcpu_plan *plans, uint64_t end,
		      struct edits *ed, struct fmt_error *e)
{
	struct qemu_stream *q = s->priv;
	json_t *vmdesc = q->vmdesc ? json_deep_copy(q->vmdesc) : NULL;
	json_t **desc = vmdesc ? desc_cpus(vmdesc, q) : NULL;
	int rc = vmdesc && !desc ? -1 : 0;

	for (size_t i = 0; rc == 0 && i < s->nvcpus; i++) {
		const struct vcpu_state *v = &s->vcpus[i];
		size_t k = qemu_stream_find_cpu(q, v->index);

		if (!plan_changes_state(&plans[i]))
			continue;
		rc = k != SIZE_MAX ? cpu_edits(ed, &q->cpus[k], v, &plans[i], desc ? desc[k] : NULL) :
				     -1;
	}
	if (rc == 0 && vmdesc && ed->n)
		rc = edit_vmdesc(ed, q, vmdesc, end);
	free(desc);
	json_decref(vmdesc);
	if (rc)
		return fmt_syserr(e, s->path, ENOMEM, "cannot plan the edits");
	sort_edits(ed);
	return 0;
}

/* The input with the edits applied, into out. */
static int write_edited(struct snapshot *s, const struct edits *ed, int out, const char *tmp,
			struct fmt_error *e)
{
	struct qemu_stream *q = s->priv;
	uint64_t in_pos = 0, out_pos = 0;
	int in = q->src.fd;

	for (size_t i = 0; i < ed->n; i++) {
		const struct edit *x = &ed->v[i];

		if (x->off < in_pos)
			return fmt_fail(e, FMT_ERR_SYSTEM, s->path, "internal error: overlapping edits");
		if (sw_copy_range(in, s->path, out, tmp, in_pos, x->off, out_pos, e))
			return -1;
		out_pos += x->off - in_pos;
		if (x->len && pwrite(out, x->ins, x->len, (off_t)out_pos) != (ssize_t)x->len)
			return fmt_syserr(e, tmp, errno, "cannot write");
		out_pos += x->len;
		in_pos = x->off + x->del;
	}
	if (sw_copy_range(in, s->path, out, tmp, in_pos, q->src.size, out_pos, e))
		return -1;
	out_pos += q->src.size - in_pos;
	/* A trailing hole is only a size. */
	if (ftruncate(out, (off_t)out_pos) != 0 || fsync(out) != 0)
		return fmt_syserr(e, tmp, errno, "cannot write");
	return 0;
}

/* Parse the result again: every vCPU as planned, the description in step. */
static int verify_file(struct snapshot *s, const struct vcpu_plan *plans, const char *tmp,
		       struct fmt_error *e)
{
	struct qemu_stream *q = s->priv;
	struct snapshot re;
	enum io_phase was = io_phase_set(IO_VERIFYING);
	int rc = snapshot_open(&re, tmp, s->ops->name, e);

	io_phase_set(was);
	if (rc != 0)
		return -1;
	rc = snapshot_verify(s, plans, &re, e);
	if (rc == 0 && q->vmdesc_trusted && !((struct qemu_stream *)re.priv)->vmdesc_trusted)
		rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp,
			      "verification failed: the rewritten device description does not "
			      "match the stream");
	snapshot_close(&re);
	return rc;
}

/* The plans already made, handed to the filter vCPU by vCPU. */
struct replay {
	const struct snapshot *s;
	const struct vcpu_plan *plans;
};

static struct vcpu_plan replay_plan(const struct vcpu_state *v, void *ctx)
{
	const struct replay *r = ctx;
	struct vcpu_plan nothing = { .action = ACTION_NOTHING };
	size_t lo = 0, hi = r->s->nvcpus;

	/* The snapshot's vCPUs are sorted by index (qemu_take_vcpus). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->s->vcpus[mid].index < v->index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->s->nvcpus && r->s->vcpus[lo].index == v->index ? r->plans[lo] : nothing;
}

/*
 * Where the repair's first change falls in the decompressed stream: the
 * edits a bare stream would get, planned on the stream the first pass
 * read.  0 (keep nothing) when they cannot be planned.
 */
static uint64_t first_edit_offset(struct snapshot *s, const struct vcpu_plan *plans)
{
	struct qemu_stream *q = s->priv;
	struct edits ed = { 0 };
	struct fmt_error ignored = { 0 };
	uint64_t off = 0, end;

	if (bsrc_known_end(&q->src, &end) && plan_edits(s, plans, end, &ed, &ignored) == 0 && ed.n)
		off = ed.v[0].off;
	free_edits(&ed);
	return off;
}

/*
 * sp's kept prefix copied (patched) into out after the container, and the
 * encoder for the tail that follows it, to be given the decompressed
 * stream from base on: up to the cut it is not compressed (hash: compared
 * with the kept frame's; base must then be 0).
 */
static struct encoder *tail_encoder(const struct snapshot *s, const struct splice_plan *sp,
				    uint64_t base, bool hash, uint64_t check_seed, int out,
				    const char *tmp, struct fmt_error *e)
{
	const struct qemu_stream *q = s->priv;
	/* Offsets from base, the decompressed offset of the first byte the encoder gets. */
	struct encoder_tail t = { .skip = sp->d_keep - base, .hash_set = hash,
				  .hash = sp->d_hash,
				  .hash_from = sp->hash_from > base ? sp->hash_from - base : 0,
				  .lzop_method = sp->lzop_method, .lzop_level = sp->lzop_level,
				  .lzop_block_flags = sp->lzop_block_flags, .close_pre = sp->xz_pre,
				  .close_pre_len = sp->xz_pre_len, .close_check = sp->xz_check,
				  .close_check_from = sp->xz_check_from > base ?
							      sp->xz_check_from - base : 0,
				  .close_post = sp->xz_post, .close_post_len = sp->xz_post_len,
				  .close_check_seed = check_seed };
	char error[200];
	struct encoder *x;

	/* In the kernel (copy_file_range: a reflink where the file system shares extents). */
	if (sw_copy_range(q->src.fd, s->path, out, tmp, q->container_len,
			  q->container_len + sp->c_keep, q->container_len, e))
		return NULL;
	if (splice_write_patches(sp, out, q->container_len) != 0 ||
	    lseek(out, (off_t)(q->container_len + sp->c_keep + sp->trailer_len), SEEK_SET) < 0) {
		fmt_syserr(e, tmp, errno, "cannot write");
		return NULL;
	}
	x = encoder_new_tail(q->codec, out, &t, error, sizeof(error));
	if (!x)
		fmt_fail(e, FMT_ERR_SYSTEM, tmp, "cannot compress: %s", error);
	return x;
}

/* Finish x; a failure is rc's unless rc already is one (a tail mismatch always is). */
static int finish_tail(struct encoder *x, int rc, bool *tail_mismatch, const char *tmp,
		       struct fmt_error *e)
{
	char error[200];
	int finished = encoder_finish(x, error, sizeof(error));

	*tail_mismatch = finished == ENCODER_TAIL_MISMATCH;
	if (finished != 0 && (rc == 0 || *tail_mismatch))
		rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp, "cannot compress: %s", error);
	return rc;
}

/*
 * Where the tail made from memory starts (from) and, for an xz block cut
 * inside, the check of that block's bytes before it (*seed): the block's
 * own bytes when the first pass still holds them, else the CRC-64 it kept
 * of the bytes it dropped, when the block is the stream's first (the one
 * block of xz -3).  false, with why, when the first pass's state is not
 * enough.
 */
static bool tail_start(const struct qemu_stream *q, const struct splice_plan *sp,
		       uint64_t *from, uint64_t *seed, char *why, size_t why_len)
{
	uint64_t oldest = q->src.base; /* the oldest decompressed byte still held */

	*from = sp->d_keep;
	*seed = 0;
	if (!q->held) {
		snprintf(why, why_len, "the first pass did not hold the device state");
		return false;
	}
	if (sp->d_keep < oldest) {
		snprintf(why, why_len, "the cut lies %llu bytes before the decompressed bytes "
			 "the first pass kept", (unsigned long long)(oldest - sp->d_keep));
		return false;
	}
	if (sp->xz_check <= 0 || sp->xz_check_from >= oldest) {
		if (sp->xz_check > 0)
			*from = sp->xz_check_from;
		return true;
	}
	if (sp->xz_check != 4 || sp->xz_check_from != 0 ||
	    !bsrc_dropped_crc64(&q->src, seed)) {
		snprintf(why, why_len, "the cut xz block starts before the bytes the first pass "
			 "kept, and its check (%s) was not kept", sp->xz_check == 4 ? "CRC-64 of "
			 "a block after the first" : "CRC-32");
		return false;
	}
	*from = oldest;
	return true;
}

/*
 * The first pass held the device state in memory (a decompressed stream
 * is read so), with up to BSRC_LOOKBEHIND bytes before it: when the cut
 * falls inside those (for an xz block cut inside, its check is made from
 * the CRC-64 the first pass kept of the bytes it dropped), the tail is
 * those bytes with the edits applied, and the input is not decompressed a
 * second time.  1: not possible here (nothing written; why says why).
 */
static int write_tail_from_held(struct snapshot *s, const struct vcpu_plan *plans, int out,
				const char *tmp, const struct splice_plan *sp, bool *tail_mismatch,
				char *why, size_t why_len, struct fmt_error *e)
{
	struct qemu_stream *q = s->priv;
	uint64_t end, from, pos, seed;
	const uint8_t *held;
	struct edits ed = { 0 };
	struct encoder *x;
	int rc = -1;

	if (!tail_start(q, sp, &from, &seed, why, why_len))
		return 1;
	/* What the first pass holds: the device state and the bytes just before it. */
	if (!bsrc_known_end(&q->src, &end) || end < from ||
	    !(held = bsrc_at(&q->src, from, (size_t)(end - from)))) {
		snprintf(why, why_len, "the first pass's bytes do not reach the cut");
		return 1;
	}
	if (plan_edits(s, plans, end, &ed, e) != 0)
		return -1;
	if (!ed.n || ed.v[0].off < sp->d_keep) {
		free_edits(&ed);
		snprintf(why, why_len, "an edit before the cut");
		return 1;
	}
	x = tail_encoder(s, sp, from, false, seed, out, tmp, e);
	if (!x) {
		free_edits(&ed);
		return -1;
	}
	pos = from;
	for (size_t i = 0; i < ed.n; i++) {
		const struct edit *v = &ed.v[i];

		if (v->off < pos || v->off + v->del > end) {
			fmt_fail(e, FMT_ERR_SYSTEM, s->path, "internal error: overlapping edits");
			goto out;
		}
		if (encoder_write(x, held + (pos - from), v->off - pos) ||
		    encoder_write(x, v->ins, v->len))
			goto compress_failed;
		pos = v->off + v->del;
	}
	if (encoder_write(x, held + (pos - from), end - pos))
		goto compress_failed;
	rc = 0;
	goto out;
compress_failed:
	fmt_fail(e, FMT_ERR_SYSTEM, tmp, "cannot compress: %s", encoder_error(x));
out:
	free_edits(&ed);
	return finish_tail(x, rc, tail_mismatch, tmp, e);
}

/*
 * The stream decompressed, repaired by the filter and compressed again
 * with the same compressor, into out after the container; with sp, the
 * compressed bytes of the unchanged prefix are kept (closed off as
 * splice.c says) and only the rest goes through the compressor.  The
 * filter still decompresses and checks every byte of the input.
 */
static int write_stream(struct snapshot *s, const struct vcpu_plan *plans, int out,
			const char *tmp, const struct splice_plan *sp, bool *tail_mismatch,
			struct fmt_error *e)
{
	struct qemu_stream *q = s->priv, *r;
	struct replay rp = { s, plans };
	struct qemu_filter f = { .out_fd = out, .plan = replay_plan, .ctx = &rp };
	int rc = -1;

	if (sp && !(f.enc = tail_encoder(s, sp, 0, sp->d_hash_set, 0, out, tmp, e)))
		return -1;
	/* The descriptor read the first time: the object at the path may have changed. */
	r = qemu_stream_reopen(q, s->path, e);
	if (!r) {
		if (f.enc)
			encoder_finish(f.enc, NULL, 0);
		return -1;
	}
	if (bsrc_skip(&r->src, q->container_len, "", e) == 0 &&
	    bsrc_decode(&r->src, q->codec, e) == 0) {
		enum io_phase was = io_phase_set(IO_RECOMPRESSING);

		rc = qemu_filter_pass(&f, r, true, q->codec, tmp, e);
		io_phase_set(was);
	} else if (f.enc) {
		encoder_finish(f.enc, NULL, 0);
	}
	*tail_mismatch = f.tail_mismatch;
	free(f.plans);
	qemu_stream_free(r);
	return rc;
}

/*
 * A compressed libvirt image: its header and XML copied as they are, then
 * the stream (write_stream), keeping the compressed bytes before the
 * first edit where the compressed data has a boundary there; w->how says
 * which was done.
 */
static int write_compressed(struct snapshot *s, const struct vcpu_plan *plans, int out,
			    const char *tmp, struct write_request *w, struct fmt_error *e)
{
	struct qemu_stream *q = s->priv;
	struct splice_plan sp;
	bool mismatch = false;
	char again[200] = "";
	size_t ncuts = 0;
	const struct zstd_cut *cuts = q->src.dec ? decoder_zstd_cuts(q->src.dec, &ncuts) : NULL;
	int rc = 1;

	/* zstd's cuts were seen by the first pass's decoder; the others' are read here. */
	splice_find(q->codec, q->src.fd, q->container_len, (uint64_t)q->src.st.st_size,
		    first_edit_offset(s, plans), cuts, ncuts, &sp);
	if (sw_copy_range(q->src.fd, s->path, out, tmp, 0, q->container_len, 0, e))
		return -1;
	if (lseek(out, (off_t)q->container_len, SEEK_SET) < 0)
		return fmt_syserr(e, tmp, errno, "cannot write");
	if (sp.found)
		rc = write_tail_from_held(s, plans, out, tmp, &sp, &mismatch, again,
					  sizeof(again), e);
	if (rc == 1) /* the tail is not in memory: through the filter, as before */
		rc = write_stream(s, plans, out, tmp, sp.found ? &sp : NULL, &mismatch, e);
	else
		sp.from_memory = rc == 0;
	if (rc != 0 && mismatch) {
		/* The tail could not continue the kept bytes: all of it again, as before. */
		snprintf(sp.why, sizeof(sp.why), "%.150s", e->msg);
		sp.found = false;
		if (ftruncate(out, (off_t)q->container_len) != 0 ||
		    lseek(out, (off_t)q->container_len, SEEK_SET) < 0)
			return fmt_syserr(e, tmp, errno, "cannot write");
		rc = write_stream(s, plans, out, tmp, NULL, &mismatch, e);
	}
	if (sp.found)
		snprintf(w->how, sizeof(w->how),
			 "kept the first %llu compressed bytes of the %s stream (%llu bytes "
			 "decompressed, before the first edit); compressed the rest again%s%s",
			 (unsigned long long)sp.c_keep, codec_name(q->codec),
			 (unsigned long long)sp.d_keep,
			 sp.from_memory ? ", from the device state read the first time" :
					  ", decompressing the input a second time: ",
			 sp.from_memory ? "" : again);
	else
		snprintf(w->how, sizeof(w->how), "compressed the whole %s stream again: %.180s",
			 codec_name(q->codec), sp.why);
	splice_plan_free(&sp);
	if (rc == 0 && fsync(out) != 0)
		rc = fmt_syserr(e, tmp, errno, "cannot write");
	return rc;
}

int qemu_commit_file(struct snapshot *s, const char *tmp, const char *target,
		     struct write_request *w, struct fmt_error *e)
{
	struct qemu_stream *q = s->priv;
	struct sw_sources src = { 0 };
	int rc = sw_add_source(&src, s->real, q->src.fd, &q->src.st, e);

	if (rc == 0)
		rc = sw_commit_file(tmp, target, w, &src, e);
	sw_sources_free(&src);
	return rc;
}

int qemu_write(struct snapshot *s, const struct vcpu_plan *plans, struct write_request *w,
	       struct fmt_error *e)
{
	struct qemu_stream *q = s->priv;
	char target[PATH_MAX], tmp[PATH_MAX];
	struct edits ed = { 0 };
	int out = -1, rc = -1;

	if (!q->src.seekable && !q->compressed)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, s->path,
				"repairing a stream read from a pipe needs -o - (the stream filter)");
	if (strcmp(s->real, "-") == 0)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, s->path,
				"a compressed image on standard input cannot be repaired: give its path");
	if (sw_prepare(s->real, w, target, sizeof(target), e) != 0)
		return -1;
	w->how[0] = '\0';
	if (!q->compressed && plan_edits(s, plans, q->src.size, &ed, e) != 0)
		goto out;
	if (sw_temp_file(target, s->real, tmp, sizeof(tmp), &out, e) != 0) {
		sw_explain(e, target, w);
		goto out;
	}
	rc = q->compressed ? write_compressed(s, plans, out, tmp, w, e) :
			     write_edited(s, &ed, out, tmp, e);
	if (close(out) != 0 && rc == 0)
		rc = fmt_syserr(e, tmp, errno, "cannot write");
	out = -1;
	if (rc == 0)
		rc = verify_file(s, plans, tmp, e);
	if (rc != 0) {
		unlink(tmp);
		sw_explain(e, target, w);
		goto out;
	}
	rc = -1;
	if (qemu_commit_file(s, tmp, target, w, e) != 0) {
		if (strcmp(w->written, target) != 0)
			unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	if (out >= 0) {
		close(out);
		unlink(tmp);
	}
	free_edits(&ed);
	return rc;
}
