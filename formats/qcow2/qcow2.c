/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2.c --- the `qcow2` format's operations.
 *
 * An input is IMAGE (every internal snapshot that holds a VM state: the
 * registry's members, so that each is an input of its own) or
 * IMAGE@NAME-or-ID (one snapshot, chosen as QEMU's loadvm chooses: an id
 * first, then a name).  The state is read in place, through that
 * snapshot's L1 and L2 tables (qcow2_image.c), by the QEMU stream reader
 * through its public interface (qemu_read.h, qemu_stream.h), with the
 * device description as authority, exactly as a stream in a file.
 * A repair is written with -o as a plain migration stream, or in place
 * (--in-place) into the state's own clusters when it keeps the stream's
 * length (qcow2_inplace.c), with an undo file beside the image.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "formats/qcow2/qcow2.h"
#include "formats/qcow2/qcow2_image.h"
#include "formats/qcow2/qcow2_inplace.h"
#include "formats/qemu/qemu_edit.h"
#include "formats/qemu/qemu_read.h"
#include "formats/qemu/qemu_stream.h"
#include "formats/qemu/qemu_write.h"
#include "formats/io/safe_write.h"

#define NAME_SHOWN 160

struct qcow2_input {
	struct qcow2_image img;
	bool img_open;
	struct bsrc_extent *x;
	size_t nx;
	struct qemu_stream *q;
	size_t snap; /* the snapshot read */
	char image[PATH_MAX]; /* the image's path: the reader and the errors name it */
	char label[PATH_MAX + 256];
};

static bool qcow2_probe(const char *path, const struct stat *st)
{
	uint8_t magic[4];

	return format_read_magic(path, st, magic, sizeof(magic)) &&
	       qcow2_magic(magic, sizeof(magic));
}

static void qcow2_close(struct snapshot *s)
{
	struct qcow2_input *in = s->priv;

	if (!in)
		return;
	qemu_stream_free(in->q);
	free(in->x);
	if (in->img_open)
		qcow2_image_close(&in->img);
	free(in);
	s->priv = NULL;
}

static size_t states(const struct qcow2_image *img)
{
	size_t n = 0;

	for (uint32_t i = 0; i < img->nb_snapshots; i++)
		n += img->snaps[i].vm_state_size != 0;
	return n;
}

/* "2026-03-01 12:00:00 UTC" */
static void date_text(uint32_t sec, char *out, size_t len)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(out, len, "%u s after the epoch", sec);
}

/* The guest's run time as qemu-img shows it: hh:mm:ss.mmm */
static void clock_text(uint64_t ns, char *out, size_t len)
{
	uint64_t ms = ns / 1000000, s = ms / 1000;

	snprintf(out, len, "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%03" PRIu64, s / 3600,
		 s / 60 % 60, s % 60, ms % 1000);
}

/* One snapshot, as inspect shows it. */
static void snap_text(const struct qcow2_snap *sn, char *out, size_t len)
{
	char id[NAME_SHOWN], name[NAME_SHOWN], date[64], clock[32], state[48];

	qcow2_printable(sn->id, id, sizeof(id));
	qcow2_printable(sn->name, name, sizeof(name));
	date_text(sn->date_sec, date, sizeof(date));
	clock_text(sn->vm_clock_nsec, clock, sizeof(clock));
	if (sn->vm_state_size)
		snprintf(state, sizeof(state), "state %" PRIu64 " bytes", sn->vm_state_size);
	else
		snprintf(state, sizeof(state), "no state (disk only)");
	snprintf(out, len, "id %s, name '%s', %s, VM clock %s, %s, disk %" PRIu64 " bytes%s", id,
		 name, date, clock, state, sn->disk_size,
		 sn->disk_size_stored ? "" : " (the image's: not stored)");
}

static void image_facts(struct snapshot *s, const struct qcow2_image *img)
{
	char list[1024] = "";
	size_t used = 0;

	snapshot_add_fact(s, "qcow2_image",
			  "version %u, %" PRIu64 "-byte clusters%s, refcount order %u, "
			  "virtual size %" PRIu64 " bytes%s%s%s%s",
			  img->version, img->cluster_size,
			  img->extended_l2 ? ", extended L2 entries (subclusters)" : "",
			  img->refcount_order, img->size, img->backing[0] ? ", backing file " : "",
			  img->backing, img->incompatible & 1 ? ", dirty bit set" : "",
			  img->incompatible & 2 ? ", corrupt bit set" : "");
	for (uint32_t i = 0; i < img->nb_snapshots && used + 1 < sizeof(list); i++) {
		char one[2 * NAME_SHOWN + 64], id[NAME_SHOWN], name[NAME_SHOWN];
		int n;

		qcow2_printable(img->snaps[i].id, id, sizeof(id));
		qcow2_printable(img->snaps[i].name, name, sizeof(name));
		snprintf(one, sizeof(one), "%s '%s' (%s)", id, name,
			 img->snaps[i].vm_state_size ? "VM state" : "disk only");
		n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? "; " : "", one);
		if (n > 0)
			used += (size_t)n;
	}
	snapshot_add_fact(s, "internal_snapshots", "%u%s%s", img->nb_snapshots,
			  img->nb_snapshots ? ": " : "", list);
}

/* Read snapshot k's VM state through the QEMU reader into s. */
static int read_state(struct snapshot *s, struct qcow2_input *in, size_t k, struct fmt_error *e)
{
	const char *image = in->image;
	const struct qcow2_snap *sn = &in->img.snaps[k];
	char name[NAME_SHOWN], text[1024];
	struct qemu_stream *q;

	qcow2_printable(sn->name, name, sizeof(name));
	snprintf(in->label, sizeof(in->label), "%s (snapshot '%s' VM state)", image, name);
	in->snap = k;
	if (qcow2_state_extents(&in->img, k, &in->x, &in->nx, e))
		return -1;
	q = in->q = qemu_stream_open_extents(image, in->label, in->x, in->nx, e);
	if (!q)
		return -1;
	qemu_stream_load_vmdesc(q);
	if (qemu_stream_parse(q, e) || qemu_take_vcpus(s, q, NULL, e))
		return -1;
	snap_text(sn, text, sizeof(text));
	snapshot_add_fact(s, "snapshot", "%s", text);
	qemu_describe(s, q);
	{
		char stream[sizeof(s->detail)];

		snprintf(stream, sizeof(stream), "%s", s->detail);
		snprintf(s->detail, sizeof(s->detail), "snapshot '%.40s': %.70s", name, stream);
	}
	return 0;
}

/* The image alone, no snapshot holding a state: its facts and no vCPU. */
static void describe_only(struct snapshot *s, const struct qcow2_image *img)
{
	snprintf(s->detail, sizeof(s->detail), "%u internal snapshot%s, none with a VM state",
		 img->nb_snapshots, img->nb_snapshots == 1 ? "" : "s");
}

/* Which snapshot path names: *k, or SIZE_MAX for the image alone (no state in it). */
static int choose(const char *path, size_t split, const struct qcow2_image *img, size_t *k,
		  struct fmt_error *e)
{
	const char *sel = split ? path + split + 1 : NULL;
	char shown[NAME_SHOWN];
	long found;

	*k = SIZE_MAX;
	if (!sel) {
		size_t n = states(img);

		for (uint32_t i = 0; n == 1 && i < img->nb_snapshots; i++)
			if (img->snaps[i].vm_state_size)
				*k = i;
		if (n > 1)
			return fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
					"%zu internal snapshots hold a VM state: name one as "
					"%s@NAME-or-ID",
					n, path);
		return 0;
	}
	qcow2_printable(sel, shown, sizeof(shown));
	found = qcow2_find_snapshot(img, sel);
	if (found < 0)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
				"no internal snapshot with the id or name '%s' in the image", shown);
	if (!img->snaps[found].vm_state_size)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
				"snapshot '%s' is disk-only: it holds no VM state", shown);
	*k = (size_t)found;
	return 0;
}

static int qcow2_open(struct snapshot *s, const char *path, struct fmt_error *e)
{
	size_t split = format_member_split(path, NULL);
	struct qcow2_input *in = calloc(1, sizeof(*in));
	size_t k;

	if (!in)
		return fmt_syserr(e, path, ENOMEM, "cannot read");
	s->priv = in;
	snprintf(in->image, sizeof(in->image), "%.*s", split ? (int)split : (int)strlen(path),
		 path);
	if (qcow2_image_open(&in->img, in->image, e))
		return -1;
	in->img_open = true;
	if (choose(path, split, &in->img, &k, e))
		return -1;
	image_facts(s, &in->img);
	if (k == SIZE_MAX) {
		describe_only(s, &in->img);
		return 0;
	}
	return read_state(s, in, k, e);
}

/* The member name of snapshot k: its name when that finds it, else its id. */
static const char *member_name(const struct qcow2_image *img, uint32_t k)
{
	const char *name = img->snaps[k].name;
	char shown[NAME_SHOWN];

	qcow2_printable(name, shown, sizeof(shown));
	if (name[0] && strcmp(shown, name) == 0 && qcow2_find_snapshot(img, name) == (long)k)
		return name;
	return img->snaps[k].id;
}

static int qcow2_members(const char *path, char ***members, size_t *n, struct fmt_error *e)
{
	struct qcow2_image img;
	size_t count;
	int rc = 0;

	*members = NULL;
	*n = 0;
	if (qcow2_image_open(&img, path, e))
		return -1;
	count = states(&img);
	*members = count ? calloc(count, sizeof(**members)) : NULL;
	if (count && !*members)
		rc = fmt_syserr(e, path, ENOMEM, "cannot list the snapshots");
	for (uint32_t i = 0; rc == 0 && i < img.nb_snapshots; i++) {
		if (!img.snaps[i].vm_state_size)
			continue;
		if (asprintf(&(*members)[*n], "%s@%s", path, member_name(&img, i)) < 0)
			rc = fmt_syserr(e, path, ENOMEM, "cannot list the snapshots");
		else
			(*n)++;
	}
	qcow2_image_close(&img);
	return rc;
}

/* The state's bytes, as read through the snapshot's tables, into the file fd. */
static int extract_state(struct qcow2_input *in, int fd, const char *tmp, struct fmt_error *e)
{
	struct bsrc *src = &in->q->src;
	size_t chunk = 1U << 20;
	uint8_t *buf = malloc(chunk);
	int rc = 0;

	if (!buf)
		return fmt_syserr(e, tmp, ENOMEM, "cannot write");
	for (uint64_t off = 0; rc == 0 && off < src->size; off += chunk) {
		size_t n = src->size - off < chunk ? (size_t)(src->size - off) : chunk;

		if (bsrc_pread(src, buf, n, off) != 0)
			rc = fmt_syserr(e, in->image, errno, "cannot read the VM state");
		else if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			rc = fmt_syserr(e, tmp, errno, "cannot write");
	}
	free(buf);
	return rc;
}

/*
 * repair -o FILE: the snapshot's state, repaired, as a plain migration
 * stream.  The state is copied out of the image (a temporary beside FILE),
 * read again as a QEMU stream, and handed to the QEMU writer, which edits,
 * verifies and commits FILE; the copy is then removed.  The image is only
 * read.
 */
static int write_plain(struct snapshot *s, struct qcow2_input *in, const struct vcpu_plan *plans,
		       struct write_request *w, struct fmt_error *e)
{
	char tmp[PATH_MAX];
	struct snapshot plain;
	int fd, rc;

	if (sw_temp_file(w->out_path, in->image, tmp, sizeof(tmp), &fd, e))
		return -1;
	rc = extract_state(in, fd, tmp, e);
	if (close(fd) != 0 && rc == 0)
		rc = fmt_syserr(e, tmp, errno, "cannot write");
	if (rc == 0 && snapshot_open(&plain, tmp, "qemu", e) == 0) {
		struct vcpu_plan *none = calloc(s->nvcpus ? s->nvcpus : 1, sizeof(*none));

		for (size_t i = 0; none && i < s->nvcpus; i++)
			none[i].action = ACTION_NOTHING;
		/* The copy must read as the state did, vCPU for vCPU. */
		rc = !none ? fmt_syserr(e, tmp, ENOMEM, "cannot verify") :
			     snapshot_verify(s, none, &plain, e);
		free(none);
		if (rc == 0)
			rc = qemu_write(&plain, plans, w, e);
		snapshot_close(&plain);
	} else {
		rc = -1;
	}
	sw_discard_temp(tmp);
	return rc;
}

/* Pending needs a cpu/exception_info subsection the stream lacks: in place it cannot be. */
static bool qcow2_in_place_grows(const struct snapshot *s, const struct vcpu_state *v,
				 const struct vcpu_plan *p)
{
	const struct qcow2_input *in = s->priv;
	size_t k = in && in->q ? qemu_stream_find_cpu(in->q, v->index) : SIZE_MAX;

	return p->action == ACTION_PENDING && k != SIZE_MAX && !in->q->cpus[k].exception_info;
}

/* IMAGE.fredck-undo-ID beside the image (the id's bytes other than [A-Za-z0-9._-] as _). */
static void undo_path(const struct qcow2_input *in, char *out, size_t len)
{
	char id[64];
	size_t i;

	for (i = 0; in->img.snaps[in->snap].id[i] && i + 1 < sizeof(id); i++) {
		char c = in->img.snaps[in->snap].id[i];

		id[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				c == '.' || c == '_' || c == '-' ?
			c :
			'_';
	}
	id[i] = '\0';
	if (snprintf(out, len, "%s.fredck-undo-%s", in->image, id) >= (int)len)
		out[0] = '\0'; /* too long a name: refused by the caller */
}

/* The edits of every planned vCPU, each keeping the stream's length; refused otherwise. */
static int same_length_edits(struct snapshot *s, struct qcow2_input *in,
			     const struct vcpu_plan *plans, struct edits *ed, struct fmt_error *e)
{
	for (size_t i = 0; i < s->nvcpus; i++) {
		const struct vcpu_state *v = &s->vcpus[i];
		size_t k = qemu_stream_find_cpu(in->q, v->index);
		int rc;

		if (!plan_changes_state(&plans[i]))
			continue;
		if (k == SIZE_MAX)
			return fmt_fail(e, FMT_ERR_SYSTEM, s->path, "internal error: vCPU %u not found",
					v->index);
		rc = cpu_edits_same_length(ed, &in->q->cpus[k], v, &plans[i]);
		if (rc < 0)
			return fmt_syserr(e, s->path, ENOMEM, "cannot plan the edits");
		if (rc > 0)
			return fmt_fail(e, FMT_ERR_UNSUPPORTED, s->path,
					"vCPU %u: pending would insert the cpu/exception_info "
					"subsection and so change the VM state's length, which the "
					"image's tables fix: in place only drop (--strategy=drop or "
					"auto) keeps it; -o FILE writes the repaired state as a plain "
					"migration stream",
					v->index);
	}
	sort_edits(ed);
	return 0;
}

/* Read the state again through the image: every vCPU as planned. */
static int verify_in_place(struct snapshot *s, const struct vcpu_plan *plans, struct fmt_error *e)
{
	struct snapshot re;
	int rc = snapshot_open(&re, s->path, "qcow2", e);

	if (rc != 0)
		return -1;
	rc = snapshot_verify(s, plans, &re, e);
	snapshot_close(&re);
	return rc;
}

/*
 * --in-place: the edits written over the state's own clusters (only
 * those this snapshot alone holds), their old content first in the undo
 * file; read again and verified, put back from the undo file if that fails.
 */
static int write_in_place(struct snapshot *s, struct qcow2_input *in,
			  const struct vcpu_plan *plans, struct write_request *w,
			  struct fmt_error *e)
{
	struct edits ed = { 0 };
	char undo[PATH_MAX], image[PATH_MAX];
	int rc = same_length_edits(s, in, plans, &ed, e);

	undo_path(in, undo, sizeof(undo));
	if (rc == 0 && !undo[0])
		rc = fmt_fail(e, FMT_ERR_UNSUPPORTED, s->path, "the undo file's name is too long");
	if (rc == 0)
		rc = qcow2_apply_in_place(&in->img, in->x, in->nx, &ed, undo, e);
	free_edits(&ed);
	if (rc != 0)
		return -1;
	if (verify_in_place(s, plans, e) != 0) {
		struct fmt_error ue;
		size_t restored;

		if (qcow2_undo(undo, in->image, image, sizeof(image), &restored, &ue) == 0)
			unlink(undo);
		return -1;
	}
	snprintf(w->written, sizeof(w->written), "%s", in->image);
	snprintf(w->backup, sizeof(w->backup), "%s", undo);
	return 0;
}

static int qcow2_write(struct snapshot *s, const struct vcpu_plan *plans,
		       struct write_request *w, struct fmt_error *e)
{
	struct qcow2_input *in = s->priv;

	if (!in || !in->q)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, s->path, "no snapshot with a VM state");
	if (w->in_place)
		return write_in_place(s, in, plans, w, e);
	if (!w->out_path)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, s->path,
				"a qcow2 snapshot is repaired in place or with -o FILE");
	return write_plain(s, in, plans, w, e);
}

const struct format_ops qcow2_format = {
	.name = "qcow2",
	.description = "qcow2 disk image: the VM states of its internal snapshots (savevm)",
	.probe = qcow2_probe,
	.open = qcow2_open,
	.dest_payload_cap = qemu_dest_cap,
	.write = qcow2_write,
	.in_place_grows = qcow2_in_place_grows,
	.close = qcow2_close,
	.members = qcow2_members,
};
