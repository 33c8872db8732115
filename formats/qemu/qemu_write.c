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
#include <fcntl.h>
#include <lzma.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "formats/io/progress.h"
#include "formats/io/safe_write.h"
#include "formats/io/splice.h"
#include "formats/io/splice_check.h"
#include "formats/qemu/qemu_edit.h"
#include "formats/qemu/qemu_filter.h"
#include "formats/qemu/qemu_read.h"
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
				  .lzop_block_flags = sp->lzop_block_flags, .level = sp->level,
				  .close_pre = sp->xz_pre,
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
 * The CRC-64 the first pass kept of the bytes it dropped, extended over
 * the bytes it holds to the end of the stream's one block, is the check
 * stored after that block (which liblzma compared with the block's content
 * in the first pass): the seed covers exactly the block's bytes before the
 * held ones, whatever the bookkeeping that made it.
 */
static bool seed_proven(const struct qemu_stream *q, uint64_t seed)
{
	uint64_t d_size, end;
	uint8_t stored[8], crc[8];
	const uint8_t *held;

	if (splice_xz_first_block(q->src.fd, q->container_len, (uint64_t)q->src.st.st_size,
				  &d_size, stored) != 0 ||
	    !bsrc_known_end(&q->src, &end) || d_size < q->src.base || d_size > end ||
	    !(held = bsrc_at(&q->src, q->src.base, (size_t)(d_size - q->src.base))))
		return false;
	seed = lzma_crc64(held, (size_t)(d_size - q->src.base), seed);
	for (size_t i = 0; i < 8; i++)
		crc[i] = (uint8_t)(seed >> (8 * i));
	return memcmp(crc, stored, 8) == 0;
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
	if (!seed_proven(q, *seed)) {
		snprintf(why, why_len, "the CRC-64 the first pass kept of the cut xz block's first "
			 "bytes could not be proven against the block's stored check");
		return false;
	}
	*from = oldest;
	return true;
}

/*
 * A repair whose tail came from the first pass's memory: what the
 * read-back needs to check it without decompressing the kept bytes again
 * (verify_spliced).
 */
struct spliced {
	bool from_memory;
	struct splice_plan sp;
	uint8_t *rep;      /* the repaired stream from rep_base on (malloc'ed) */
	size_t rep_len;
	uint64_t rep_base; /* the oldest decompressed byte the first pass held */
	uint64_t seed;     /* xz: the cut block's check over its bytes before rep_base */
	int zstd_proof;    /* zstd_hash_proof's answer */
	/* gzip: gzip_crc_proof's answer, and the cut member's CRC-32 and ISIZE it proved */
	int gzip_proof;
	uint32_t gzip_crc, gzip_isize;
	/* bzip2: where the cut stream's kept blocks start (malloc'ed; bzip2_kept_blocks) */
	uint64_t *bz_starts;
	size_t bz_nstarts;
};

/* The held bytes [from, end) with the edits applied, into a new buffer. */
static uint8_t *apply_edits(const uint8_t *held, uint64_t from, uint64_t end,
			    const struct edits *ed, size_t *len)
{
	uint64_t n = end - from, pos = from;
	uint8_t *r, *w;

	for (size_t i = 0; i < ed->n; i++) {
		const struct edit *v = &ed->v[i];

		if (v->off < pos || v->off + v->del > end)
			return NULL; /* overlapping: never planned so */
		n += v->len - v->del;
		pos = v->off + v->del;
	}
	if (n > SIZE_MAX || !(r = w = malloc(n ? (size_t)n : 1)))
		return NULL;
	pos = from;
	for (size_t i = 0; i < ed->n; i++) {
		const struct edit *v = &ed->v[i];

		memcpy(w, held + (pos - from), (size_t)(v->off - pos));
		w += v->off - pos;
		memcpy(w, v->ins, v->len);
		w += v->len;
		pos = v->off + v->del;
	}
	memcpy(w, held + (pos - from), (size_t)(end - pos));
	*len = (size_t)n;
	return r;
}

/*
 * The first pass held the device state in memory (a decompressed stream
 * is read so), with up to BSRC_LOOKBEHIND bytes before it: when the cut
 * falls inside those (for an xz block cut inside, its check is made from
 * the CRC-64 the first pass kept of the bytes it dropped), the tail is
 * those bytes with the edits applied (kept in f for the read-back), and
 * the input is not decompressed a second time.  1: not possible here
 * (nothing written; why says why).
 */
static int write_tail_from_held(struct snapshot *s, const struct vcpu_plan *plans, int out,
				const char *tmp, struct spliced *f, bool *tail_mismatch,
				char *why, size_t why_len, struct fmt_error *e)
{
	struct qemu_stream *q = s->priv;
	const struct splice_plan *sp = &f->sp;
	uint64_t end, from, seed;
	const uint8_t *held;
	struct edits ed = { 0 };
	struct encoder *x;
	int rc = -1;

	if (!tail_start(q, sp, &from, &seed, why, why_len))
		return 1;
	/* What the first pass holds: the device state and the bytes just before it. */
	if (!bsrc_known_end(&q->src, &end) || end < q->src.base ||
	    !(held = bsrc_at(&q->src, q->src.base, (size_t)(end - q->src.base)))) {
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
	f->rep_base = q->src.base;
	f->seed = seed;
	f->rep = apply_edits(held, f->rep_base, end, &ed, &f->rep_len);
	free_edits(&ed);
	if (!f->rep)
		return fmt_syserr(e, s->path, ENOMEM, "cannot hold the repaired device state");
	x = tail_encoder(s, sp, from, false, seed, out, tmp, e);
	if (!x)
		return -1;
	if (encoder_write(x, f->rep + (from - f->rep_base), f->rep_len - (from - f->rep_base)) == 0)
		rc = 0;
	else
		fmt_fail(e, FMT_ERR_SYSTEM, tmp, "cannot compress: %s", encoder_error(x));
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
 * which was done, f what the read-back needs.
 */
static int write_compressed(struct snapshot *s, const struct vcpu_plan *plans, int out,
			    const char *tmp, struct write_request *w, struct spliced *f,
			    struct fmt_error *e)
{
	struct qemu_stream *q = s->priv;
	struct splice_plan *sp = &f->sp;
	bool mismatch = false;
	char again[200] = "";
	int rc = 1;

	/* zstd's, gzip's and bzip2's cuts were seen by the first pass's decoder; lzop's and
	   xz's are read here. */
	splice_find(q->codec, q->src.fd, q->container_len, (uint64_t)q->src.st.st_size,
		    first_edit_offset(s, plans), q->src.dec, sp);
	if (sw_copy_range(q->src.fd, s->path, out, tmp, 0, q->container_len, 0, e))
		return -1;
	if (lseek(out, (off_t)q->container_len, SEEK_SET) < 0)
		return fmt_syserr(e, tmp, errno, "cannot write");
	if (sp->found)
		rc = write_tail_from_held(s, plans, out, tmp, f, &mismatch, again, sizeof(again), e);
	if (rc == 1) /* the tail is not in memory: through the filter, as before */
		rc = write_stream(s, plans, out, tmp, sp->found ? sp : NULL, &mismatch, e);
	else
		f->from_memory = sp->from_memory = rc == 0;
	if (rc != 0 && mismatch) {
		/* The tail could not continue the kept bytes: all of it again, as before. */
		snprintf(sp->why, sizeof(sp->why), "%.150s", e->msg);
		sp->found = f->from_memory = false;
		if (ftruncate(out, (off_t)q->container_len) != 0 ||
		    lseek(out, (off_t)q->container_len, SEEK_SET) < 0)
			return fmt_syserr(e, tmp, errno, "cannot write");
		rc = write_stream(s, plans, out, tmp, NULL, &mismatch, e);
	}
	if (sp->found)
		snprintf(w->how, sizeof(w->how),
			 "kept the first %llu compressed bytes of the %s stream (%llu bytes "
			 "decompressed, before the first edit); compressed the rest again%s%s",
			 (unsigned long long)sp->c_keep, codec_name(q->codec),
			 (unsigned long long)sp->d_keep,
			 sp->from_memory ? ", from the device state read the first time" :
					   ", decompressing the input a second time: ",
			 sp->from_memory ? "" : again);
	else
		snprintf(w->how, sizeof(w->how), "compressed the whole %s stream again: %.180s",
			 codec_name(q->codec), sp->why);
	if (rc == 0 && fsync(out) != 0)
		rc = fmt_syserr(e, tmp, errno, "cannot write");
	return rc;
}

/* ---- the read-back of a repair whose tail came from memory ---------------- */

/*
 * The input is the file the first pass read, as it was: the same object,
 * size, modification and status-change times.  Any write to a file moves
 * both times, and setting the modification time back (touch -r) moves the
 * status-change time, which no call sets back: the kept compressed bytes
 * copied from it are those the first pass decompressed and checked.  A
 * link made or removed moves the status-change time too (the file renamed
 * over, which the commit sees at the path; the backup is linked only
 * later): with a link count that moved, that time is not compared.
 */
static int input_as_read(const struct qemu_stream *q, const char *path, struct fmt_error *e)
{
	const struct stat *was = &q->src.st;
	struct stat now;

	if (fstat(q->src.fd, &now) != 0)
		return fmt_syserr(e, path, errno, "cannot look at it again");
	if (now.st_dev != was->st_dev || now.st_ino != was->st_ino ||
	    now.st_size != was->st_size || now.st_mtim.tv_sec != was->st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != was->st_mtim.tv_nsec ||
	    (now.st_nlink == was->st_nlink && (now.st_ctim.tv_sec != was->st_ctim.tv_sec ||
					       now.st_ctim.tv_nsec != was->st_ctim.tv_nsec)))
		return fmt_fail(e, FMT_ERR_REFUSED, path,
				"changed while fredck repaired it (its size, modification or "
				"status-change time moved since it was read): the compressed bytes "
				"kept from it are not the ones checked; nothing was committed");
	return 0;
}

/* CRC-64 or CRC-32 (xz check 4 or 1) of the cut xz block's kept content. */
static uint64_t xz_cut_check(const struct spliced *f)
{
	const struct splice_plan *sp = &f->sp;
	uint64_t from = sp->xz_check_from >= f->rep_base ? sp->xz_check_from : f->rep_base;
	uint64_t seed = sp->xz_check_from >= f->rep_base ? 0 : f->seed;
	const uint8_t *p = f->rep + (from - f->rep_base);
	size_t n = (size_t)(sp->d_keep - from);

	return sp->xz_check == 1 ? lzma_crc32(p, n, (uint32_t)seed) : lzma_crc64(p, n, seed);
}

/* The cut zstd frame's end as the decoder recorded it; NULL when not among its cuts. */
static const struct zstd_cut *zstd_cut_frame_end(const struct qemu_stream *q,
						 const struct splice_plan *sp)
{
	size_t n = 0;
	const struct zstd_cut *cuts = q->src.dec ? decoder_zstd_cuts(q->src.dec, &n) : NULL;

	for (size_t i = n; i-- > 0;) {
		if (cuts[i].d_end <= sp->d_keep)
			break;
		if (cuts[i].frame_end && cuts[i].frame_d_start == sp->hash_from)
			return &cuts[i];
	}
	return NULL;
}

/*
 * zstd: the checksum written for the cut frame is XXH64 of its kept
 * content, as the decoder's tracking computed it (decode.c).  The hash's
 * state at the cut, carried on over the rest of the frame (which the
 * first pass holds, unchanged), must give the checksum the input stores
 * at the frame's end, which the first pass compared with the frame's
 * content: then the state covered exactly the kept content.  The cut
 * frame need not be the image's last, only end within what the first
 * pass holds.  1 proven (or nothing to prove: whole frames kept, no
 * checksum), 0 not provable here (the frame's end or the hash's state at
 * the cut not kept: the read-back is then whole), -1 disproven.
 */
static int zstd_hash_proof(const struct qemu_stream *q, const struct splice_plan *sp)
{
	const struct zstd_cut *end = NULL;
	uint64_t file_end = 0, held_end;
	const uint8_t *rest;
	XXH64_state_t *st;
	uint8_t stored[4];
	int rc = 0;

	if (!sp->npatch || !sp->trailer_len)
		return 1;
	if (!(end = zstd_cut_frame_end(q, sp)) || !end->checksum || !bsrc_known_end(&q->src, &held_end) ||
	    end->d_end > held_end || sp->d_keep > end->d_end ||
	    (file_end = q->container_len + end->c_end) > (uint64_t)q->src.st.st_size ||
	    !(rest = bsrc_at(&q->src, sp->d_keep, (size_t)(end->d_end - sp->d_keep))) ||
	    pread(q->src.fd, stored, 4, (off_t)(file_end - 4)) != 4 || !(st = XXH64_createState()))
		return 0;
	if (decoder_zstd_cut_state(q->src.dec, sp->c_keep, st)) {
		rc = XXH64_digest(st) == sp->d_hash ? 1 : -1;
		XXH64_update(st, rest, (size_t)(end->d_end - sp->d_keep));
		if ((XXH64_digest(st) & 0xFFFFFFFFU) !=
		    ((uint32_t)stored[0] | (uint32_t)stored[1] << 8 | (uint32_t)stored[2] << 16 |
		     (uint32_t)stored[3] << 24))
			rc = -1;
	}
	XXH64_freeState(st);
	return rc;
}

/* The end of the gzip member cut inside, as the decoder noted it: NULL when not among its cuts. */
static const struct bit_cut *gzip_cut_member_end(const struct qemu_stream *q,
						 const struct splice_plan *sp)
{
	size_t n = 0;
	const struct bit_cut *cuts = q->src.dec ? decoder_bit_cuts(q->src.dec, &n) : NULL;

	for (size_t i = n; i-- > 0 && cuts[i].c_bits > sp->cut.c_bits;)
		if (cuts[i].member_end && cuts[i].member_c_bits == sp->cut.member_c_bits &&
		    cuts[i].member_d_start == sp->cut.member_d_start)
			return &cuts[i];
	return NULL;
}

/*
 * gzip: the CRC-32 written for the cut member is zlib's over its kept
 * content, as the decoder's tracking saw it (decode.c, gz_track).  Carried
 * on over the rest of the member (which the first pass holds, unchanged),
 * it must give the CRC-32 the input stores at the member's end, which zlib
 * compared with the member's content in the first pass: then it is the
 * CRC-32 of exactly the kept content (splice_gzip_crc_proof); the stored
 * ISIZE less the rest's length is the kept content's length.  The member
 * need not be the image's last, only end within what the first pass
 * holds.  1 proven (or nothing to prove: whole members kept), 0 not
 * provable here (the member's end not among the decoder's cuts, or past
 * the bytes held: the read-back is then whole), -1 disproven.
 */
static int gzip_crc_proof(const struct qemu_stream *q, const struct splice_plan *sp,
			  uint32_t *crc, uint32_t *isize)
{
	const struct bit_cut *e;
	uint64_t held_end, c_end = 0;
	const uint8_t *rest;
	uint8_t stored[8];

	if (!sp->trailer_len)
		return 1;
	if (!(e = gzip_cut_member_end(q, sp)) || !bsrc_known_end(&q->src, &held_end) ||
	    e->d_end > held_end || sp->d_keep >= e->d_end || (c_end = e->c_bits / 8) < 8 ||
	    q->container_len + c_end > (uint64_t)q->src.st.st_size ||
	    !(rest = bsrc_at(&q->src, sp->d_keep, (size_t)(e->d_end - sp->d_keep))) ||
	    pread(q->src.fd, stored, 8, (off_t)(q->container_len + c_end - 8)) != 8)
		return 0;
	if (splice_gzip_crc_proof(sp->cut.crc, rest, (size_t)(e->d_end - sp->d_keep), stored,
				  isize) != 0 ||
	    *isize != (uint32_t)(sp->d_keep - sp->cut.member_d_start))
		return -1;
	*crc = sp->cut.crc;
	return 1;
}

/*
 * bzip2: where the blocks the cut stream keeps start, as the first pass
 * proved them, into f: from the decoder's list of every block start
 * (splice_bzip2_kept_starts), or, where a crafted stream of tiny blocks
 * outgrew it, from its cuts (splice_bzip2_kept_blocks).  -1 when they are
 * not all known (the cuts thinned too): the read-back is then whole.
 */
static int bzip2_kept_blocks(const struct qemu_stream *q, struct spliced *f)
{
	size_t n = 0, nall = 0;
	const struct bit_cut *cuts = q->src.dec ? decoder_bit_cuts(q->src.dec, &n) : NULL;
	const uint64_t *all = q->src.dec ? decoder_bzip2_starts(q->src.dec, &nall) : NULL;
	const struct bit_cut *cut = &f->sp.cut;

	if (!f->sp.trailer_len)
		return 0;
	if (cut->blocks == 0 || (!all && (!cuts || cut->blocks > n + 1)) ||
	    !(f->bz_starts = malloc(cut->blocks * sizeof(*f->bz_starts))))
		return -1;
	f->bz_nstarts = cut->blocks;
	if (all && splice_bzip2_kept_starts(all, nall, cut, f->bz_starts) == 0)
		return 0;
	return cuts ? splice_bzip2_kept_blocks(cuts, n, cut, f->bz_starts) : -1;
}

/*
 * What closes the kept bytes in out (at its compressed data, off), checked
 * for the codec; *tail_at: where the tail's compressed data starts.
 */
static int check_cut(const struct qemu_stream *q, const struct spliced *f, int out,
		     uint64_t off, uint64_t *tail_at, char *why, size_t why_len)
{
	const struct splice_plan *sp = &f->sp;
	size_t check_len = sp->xz_check == 1 ? 4 : sp->xz_check == 4 ? 8 : 0;
	uint64_t len = 0;

	switch (q->codec) {
	case CODEC_GZIP:
		if (sp->trailer_len && f->gzip_proof != 1) {
			snprintf(why, why_len, "the CRC-32 of the cut gzip member's kept content, "
				 "carried over the rest of the member, is not the one stored at its "
				 "end");
			return -1;
		}
		if (sp->trailer_len && splice_check_gzip(out, q->src.fd, off, sp, f->gzip_crc,
							 f->gzip_isize, &len, why, why_len) != 0)
			return -1;
		*tail_at = off + sp->c_keep + len;
		return 0;
	case CODEC_BZIP2:
		if (sp->trailer_len && splice_check_bzip2(out, q->src.fd, off, sp, f->bz_starts,
							  f->bz_nstarts, &len, why, why_len) != 0)
			return -1;
		*tail_at = off + sp->c_keep + len;
		return 0;
	case CODEC_ZSTD:
		*tail_at = off + sp->c_keep + sp->trailer_len;
		if (f->zstd_proof != 1) {
			snprintf(why, why_len, "XXH64 of the cut zstd frame's kept content, computed "
				 "again, is not the one its checksum was made from");
			return -1;
		}
		return splice_check_zstd(out, off, sp, why, why_len);
	case CODEC_XZ:
		*tail_at = off + sp->c_keep + sp->xz_pre_len + check_len + sp->xz_post_len;
		return splice_check_xz(out, off, *tail_at - off, sp,
				       sp->xz_check > 0 ? xz_cut_check(f) : 0, why, why_len);
	case CODEC_LZOP:
		*tail_at = off + sp->c_keep;
		return splice_check_lzop(out, off, sp, why, why_len);
	default:
		snprintf(why, why_len, "no quick read-back for %s", codec_name(q->codec));
		return -1;
	}
}

/*
 * lzop: the tail's blocks continue the kept file, without a header: they
 * are decompressed behind the kept header, in a file of their own.
 */
static int lzop_tail_file(const struct qemu_stream *q, int out, uint64_t tail_at)
{
	uint8_t h[512], method, level, buf[1 << 16];
	uint32_t flags;
	size_t hlen;
	ssize_t n = pread(q->src.fd, h, sizeof(h), (off_t)q->container_len);
	int fd;
	off_t at = (off_t)tail_at;

	if (n <= 0 || lzop_header(h, (size_t)n, &hlen, &method, &level, &flags) != 0)
		return -1;
	fd = memfd_create("fredck-lzop-tail", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, h, hlen) != (ssize_t)hlen)
		goto fail;
	while ((n = pread(out, buf, sizeof(buf), at)) > 0) {
		if (write(fd, buf, (size_t)n) != n)
			goto fail;
		at += n;
	}
	if (n == 0 && lseek(fd, 0, SEEK_SET) == 0)
		return fd;
fail:
	close(fd);
	return -1;
}

/* The compressed data of out from tail_at, decompressed, is want[len] and nothing more. */
static int same_tail(const struct qemu_stream *q, int out, uint64_t tail_at, const uint8_t *want,
		     size_t len, const char *tmp, struct fmt_error *e)
{
	int fd = q->codec == CODEC_LZOP ? lzop_tail_file(q, out, tail_at) : dup(out);
	uint8_t *buf = malloc(1U << 20);
	struct decoder *d = NULL;
	char error[256] = "";
	size_t at = 0;
	ssize_t n = -1;

	if (fd >= 0 && buf && (q->codec == CODEC_LZOP || lseek(fd, (off_t)tail_at, SEEK_SET) >= 0))
		d = decoder_new(q->codec, fd, NULL, 0, error, sizeof(error));
	while (d && (n = decoder_read(d, buf, 1U << 20)) > 0) {
		if ((size_t)n > len - at || memcmp(buf, want + at, (size_t)n) != 0)
			break;
		at += (size_t)n;
	}
	if (d && n < 0)
		snprintf(error, sizeof(error), "%s", decoder_error(d));
	decoder_free(d);
	free(buf);
	if (fd >= 0)
		close(fd);
	if (n == 0 && at == len)
		return 0;
	return fmt_fail(e, FMT_ERR_SYSTEM, tmp,
			"verification failed: the compressed data after the kept bytes does not "
			"decompress to the repaired stream%s%s", error[0] ? ": " : "", error);
}

/* The device state read back from memory: every vCPU as planned, the description in step. */
static int parse_tail(struct snapshot *s, const struct vcpu_plan *plans, const char *tmp,
		      struct spliced *f, struct fmt_error *e)
{
	struct qemu_stream *q = s->priv, *r;
	struct snapshot re = { .ops = s->ops };
	int rc;

	snprintf(re.path, sizeof(re.path), "%s", tmp);
	r = qemu_stream_parse_held(q, f->rep, f->rep_len, f->rep_base, tmp, e);
	f->rep = NULL; /* r's now, or freed */
	if (!r)
		return -1;
	re.priv = r;
	rc = qemu_take_vcpus(&re, r, NULL, e);
	if (rc == 0)
		rc = snapshot_verify(s, plans, &re, e);
	if (rc == 0 && q->vmdesc_trusted && !r->vmdesc_trusted)
		rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp,
			      "verification failed: the rewritten device description does not "
			      "match the stream");
	snapshot_close(&re);
	return rc;
}

/*
 * The read-back of a repair whose tail came from memory, without
 * decompressing the kept bytes again (docs/design.md, "Repairing a
 * compressed image"): the input is still the file the first pass read and
 * checked; the written file holds its bytes up to the cut (the patches
 * aside); what closes them is checked against the format and what the
 * first pass computed; the tail decompresses to the repaired stream from
 * the cut; and that stream, parsed from the device state on with the
 * reader's state there, reads back as planned.
 */
static int verify_spliced(struct snapshot *s, const struct vcpu_plan *plans, const char *tmp,
			  struct spliced *f, struct fmt_error *e)
{
	struct qemu_stream *q = s->priv;
	enum io_phase was = io_phase_set(IO_VERIFYING);
	char why[200] = "";
	uint64_t tail_at = 0;
	int out = open(tmp, O_RDONLY | O_CLOEXEC), rc = -1;

	if (out < 0) {
		rc = fmt_syserr(e, tmp, errno, "cannot read it back");
		goto done;
	}
	if (input_as_read(q, s->path, e) != 0)
		goto done;
	if (splice_same_prefix(q->src.fd, out, q->container_len + f->sp.c_keep, &f->sp,
			       q->container_len, why, sizeof(why)) != 0 ||
	    check_cut(q, f, out, q->container_len, &tail_at, why, sizeof(why)) != 0) {
		fmt_fail(e, FMT_ERR_SYSTEM, tmp, "verification failed: %s", why);
		goto done;
	}
	if (same_tail(q, out, tail_at, f->rep + (f->sp.d_keep - f->rep_base),
		      f->rep_len - (size_t)(f->sp.d_keep - f->rep_base), tmp, e) != 0)
		goto done;
	rc = parse_tail(s, plans, tmp, f, e);
done:
	if (out >= 0)
		close(out);
	io_phase_set(was);
	return rc;
}

/*
 * The quick read-back applies when the tail came from memory and the
 * reader's state at the device state was kept; else (why) the written
 * file is read back whole, decompressing everything.
 */
static bool quick_read_back(const struct qemu_stream *q, struct spliced *f, char *why,
			    size_t why_len)
{
	if (!f->from_memory || !f->rep)
		return false; /* -v says why already */
	if (!q->at_hold) {
		snprintf(why, why_len, "the reader's state at the device state was not kept");
		return false;
	}
	if (q->codec == CODEC_GZIP &&
	    (f->gzip_proof = gzip_crc_proof(q, &f->sp, &f->gzip_crc, &f->gzip_isize)) == 0) {
		snprintf(why, why_len, "the CRC-32 of the cut gzip member cannot be proven against "
			 "the one stored at its end (its end not among the first pass's cuts, or "
			 "past the bytes it holds)");
		return false;
	}
	if (q->codec == CODEC_BZIP2 && bzip2_kept_blocks(q, f) != 0) {
		snprintf(why, why_len, "the starts of the cut bzip2 stream's blocks were not all "
			 "kept by the first pass");
		return false;
	}
	if (q->codec == CODEC_ZSTD && (f->zstd_proof = zstd_hash_proof(q, &f->sp)) == 0) {
		snprintf(why, why_len, "the checksum of the cut zstd frame cannot be proven against "
			 "the one stored at its end (the frame ends past what the first pass holds)");
		return false;
	}
	return true;
}

/* Add to what -v says of the writing. */
static void __attribute__((format(printf, 2, 3)))
append_how(struct write_request *w, const char *fmt, ...)
{
	size_t used = strlen(w->how);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->how + used, sizeof(w->how) - used, fmt, ap);
	va_end(ap);
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
	char target[PATH_MAX], tmp[PATH_MAX], why[200] = "";
	struct spliced f = { 0 };
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
	rc = q->compressed ? write_compressed(s, plans, out, tmp, w, &f, e) :
			     write_edited(s, &ed, out, tmp, e);
	if (close(out) != 0 && rc == 0)
		rc = fmt_syserr(e, tmp, errno, "cannot write");
	out = -1;
	if (rc == 0 && q->compressed && quick_read_back(q, &f, why, sizeof(why))) {
		rc = verify_spliced(s, plans, tmp, &f, e);
		append_how(w, "; read back: the kept bytes compared with the input's, the rest "
			   "decompressed and parsed");
	} else if (rc == 0) {
		rc = verify_file(s, plans, tmp, e);
		if (q->compressed && why[0])
			append_how(w, "; read back whole: %s", why);
	}
	splice_plan_free(&f.sp);
	free(f.rep);
	f.rep = NULL;
	free(f.bz_starts);
	f.bz_starts = NULL;
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
	splice_plan_free(&f.sp);
	free(f.rep);
	free(f.bz_starts);
	free_edits(&ed);
	return rc;
}
