/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2_inplace.c --- the state's own clusters rewritten, with an undo file.
 *
 * The undo file (e2fsck -z's idea), big-endian:
 *   16  "fredck-undo-q2\n\0"
 *    8  the image's size         8  FNV-1a 64 of its header cluster
 *    8  st_dev (informational)   8  st_ino (informational)
 *    4  cluster size             4  number of clusters
 *    4  length of the image's path, then the path
 *   per cluster: 8 file offset, 4 length, the old bytes, the new bytes
 *    8  FNV-1a 64 of everything before (a torn or altered file is refused)
 * It is written under a temporary name beside the image, fsynced, linked
 * to its name (never over an existing one) and the directory fsynced,
 * before the image is touched.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/io/le.h"
#include "formats/io/safe_write.h"
#include "formats/qcow2/qcow2_inplace.h"

#define UNDO_MAGIC "fredck-undo-q2\n"
#define UNDO_MAGIC_LEN 16
#define UNDO_FIXED 56
/* block/file-posix.c: RAW_LOCK_PERM_BASE 100, RAW_LOCK_SHARED_BASE 200, 64 bits each */
#define QEMU_LOCK_FIRST 100
#define QEMU_LOCK_LEN 164

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}
#define FNV_START 0xcbf29ce484222325ULL

int qcow2_check_qemu_lock(int fd, const char *path, bool hold, struct fmt_error *e)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = QEMU_LOCK_FIRST,
			    .l_len = QEMU_LOCK_LEN };

	if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
		return fmt_syserr(e, path, errno, "cannot test QEMU's image locks");
	if (fl.l_type != F_UNLCK)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
				"the image is in use: a process holds QEMU's image lock (byte "
				"%lld); stop the domain (or close the image in QEMU) first, as "
				"qemu-img would ask",
				(long long)fl.l_start);
	if (!hold)
		return 0;
	fl = (struct flock){ .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = QEMU_LOCK_FIRST,
			     .l_len = QEMU_LOCK_LEN };
	if (fcntl(fd, F_OFD_SETLK, &fl) != 0)
		return fmt_syserr(e, path, errno, "cannot take QEMU's image locks");
	return 0;
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t got = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0)
				errno = EIO;
			return -1;
		}
		done += (size_t)got;
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t put = pwrite(fd, (const uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (put < 0 && errno == EINTR)
			continue;
		if (put <= 0)
			return -1;
		done += (size_t)put;
	}
	return 0;
}

/* One cluster the repair changes: its old and new content. */
struct cluster {
	uint64_t off;
	uint32_t len;
	uint8_t *old, *new;
};

struct plan {
	struct cluster *c;
	size_t n, cap;
};

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->c[i].old);
		free(p->c[i].new);
	}
	free(p->c);
}

/* The cluster at off, added (its old content read) when new. */
static struct cluster *cluster_at(struct plan *p, const struct qcow2_image *img, uint64_t off,
				  struct fmt_error *e)
{
	struct cluster *c;

	for (size_t i = 0; i < p->n; i++)
		if (p->c[i].off == off)
			return &p->c[i];
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;

		c = realloc(p->c, cap * sizeof(*c));
		if (!c) {
			fmt_syserr(e, img->path, ENOMEM, "cannot plan the repair");
			return NULL;
		}
		p->c = c;
		p->cap = cap;
	}
	c = &p->c[p->n];
	c->off = off;
	c->len = (uint32_t)(img->file_size - off < img->cluster_size ? img->file_size - off :
								      img->cluster_size);
	c->old = malloc(c->len);
	c->new = malloc(c->len);
	if (!c->old || !c->new) {
		free(c->old);
		free(c->new);
		fmt_syserr(e, img->path, ENOMEM, "cannot plan the repair");
		return NULL;
	}
	if (pread_all(img->fd, c->old, c->len, off) != 0) {
		free(c->old);
		free(c->new);
		fmt_syserr(e, img->path, errno, "cannot read");
		return NULL;
	}
	memcpy(c->new, c->old, c->len);
	p->n++;
	return c;
}

/* The piece of the state that holds stream byte pos. */
static const struct bsrc_extent *piece_of(const struct bsrc_extent *x, size_t nx, uint64_t pos)
{
	size_t lo = 0, hi = nx;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x[mid].off + x[mid].len <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nx && x[lo].off <= pos ? &x[lo] : NULL;
}

/* The edits' bytes put into the clusters that hold them. */
static int plan_clusters(struct plan *p, const struct qcow2_image *img,
			 const struct bsrc_extent *x, size_t nx, const struct edits *ed,
			 struct fmt_error *e)
{
	uint64_t mask = img->cluster_size - 1;

	for (size_t i = 0; i < ed->n; i++) {
		const struct edit *d = &ed->v[i];

		if (d->del != d->len)
			return fmt_fail(e, FMT_ERR_UNSUPPORTED, img->path,
					"internal error: an in-place edit changes the state's length");
		for (size_t done = 0; done < d->len;) {
			uint64_t pos = d->off + done, host, n;
			const struct bsrc_extent *px = piece_of(x, nx, pos);
			struct cluster *c;

			if (!px)
				return fmt_fail(e, FMT_ERR_UNSUPPORTED, img->path,
						"internal error: byte %llu of the state is not in it",
						(unsigned long long)pos);
			if (px->file_off == BSRC_ZEROS)
				return fmt_fail(e, FMT_ERR_UNSUPPORTED, img->path,
						"byte %llu of the VM state reads as zeros (no cluster "
						"holds it): writing it would allocate a cluster; "
						"-o FILE writes the repaired state as a plain stream",
						(unsigned long long)pos);
			host = px->file_off + (pos - px->off);
			n = px->off + px->len - pos;
			if (n > d->len - done)
				n = d->len - done;
			if (n > img->cluster_size - (host & mask))
				n = img->cluster_size - (host & mask);
			c = cluster_at(p, img, host & ~mask, e);
			if (!c)
				return -1;
			if ((host & mask) + n > c->len)
				return fmt_fail(e, FMT_ERR_MALFORMED, img->path,
						"the cluster at byte %llu ends before the state does",
						(unsigned long long)c->off);
			memcpy(c->new + (host & mask), d->ins + done, (size_t)n);
			done += (size_t)n;
		}
	}
	return 0;
}

/* Every cluster changed belongs to this snapshot alone. */
static int check_unshared(const struct plan *p, const struct qcow2_image *img,
			  struct fmt_error *e)
{
	if (img->incompatible & 3)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, img->path,
				"the image's %s bit is set: its refcounts cannot be trusted "
				"(qemu-img check -r all first); -o FILE writes the repaired state "
				"as a plain stream",
				img->incompatible & 2 ? "corrupt" : "dirty");
	for (size_t i = 0; i < p->n; i++) {
		uint64_t count;

		if (qcow2_refcount(img, p->c[i].off, &count, e))
			return -1;
		if (count != 1)
			return fmt_fail(e, FMT_ERR_UNSUPPORTED, img->path,
					"the state's cluster at byte %llu has refcount %llu: %s; "
					"in place fredck writes only clusters this snapshot alone "
					"holds; -o FILE writes the repaired state as a plain stream",
					(unsigned long long)p->c[i].off, (unsigned long long)count,
					count ? "another snapshot or the active image shares it" :
						"the refcounts do not account for it");
	}
	return 0;
}

struct out {
	int fd;
	const char *path;
	uint64_t hash, at;
};

static int out_put(struct out *o, const void *p, size_t n, struct fmt_error *e)
{
	if (pwrite_all(o->fd, p, n, o->at) != 0)
		return fmt_syserr(e, o->path, errno, "cannot write the undo file");
	o->hash = fnv1a(o->hash, p, n);
	o->at += n;
	return 0;
}

static int out_be(struct out *o, uint64_t v, size_t n, struct fmt_error *e)
{
	uint8_t b[8];

	be_put(b, v, n);
	return out_put(o, b, n, e);
}

static int header_hash(const struct qcow2_image *img, int fd, uint64_t *h, struct fmt_error *e)
{
	uint8_t *b = malloc((size_t)img->cluster_size);
	size_t n = img->file_size < img->cluster_size ? (size_t)img->file_size :
							  (size_t)img->cluster_size;
	int rc = 0;

	if (!b)
		return fmt_syserr(e, img->path, ENOMEM, "cannot read");
	if (pread_all(fd, b, n, 0) != 0)
		rc = fmt_syserr(e, img->path, errno, "cannot read");
	else
		*h = fnv1a(FNV_START, b, n);
	free(b);
	return rc;
}

static int fsync_dir_of(const char *path, struct fmt_error *e)
{
	char copy[PATH_MAX];
	int fd, rc = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = fmt_syserr(e, path, errno, "cannot sync the directory of");
	if (fd >= 0)
		close(fd);
	return rc;
}

static int write_undo_body(struct out *o, const struct qcow2_image *img, const struct stat *st,
			   const char *real, const struct plan *p, struct fmt_error *e)
{
	uint8_t magic[UNDO_MAGIC_LEN] = UNDO_MAGIC;
	uint64_t hh;

	if (header_hash(img, img->fd, &hh, e) || out_put(o, magic, sizeof(magic), e) ||
	    out_be(o, img->file_size, 8, e) || out_be(o, hh, 8, e) ||
	    out_be(o, (uint64_t)st->st_dev, 8, e) || out_be(o, (uint64_t)st->st_ino, 8, e) ||
	    out_be(o, img->cluster_size, 4, e) || out_be(o, p->n, 4, e) ||
	    out_be(o, strlen(real), 4, e) || out_put(o, real, strlen(real), e))
		return -1;
	for (size_t i = 0; i < p->n; i++)
		if (out_be(o, p->c[i].off, 8, e) || out_be(o, p->c[i].len, 4, e) ||
		    out_put(o, p->c[i].old, p->c[i].len, e) ||
		    out_put(o, p->c[i].new, p->c[i].len, e))
			return -1;
	return out_be(o, o->hash, 8, e);
}

/* The undo file, complete and on disk under its own name, before the image is touched. */
static int write_undo(const struct qcow2_image *img, const struct stat *st, const struct plan *p,
		      const char *undo_path, struct fmt_error *e)
{
	char tmp[PATH_MAX], real[PATH_MAX];
	struct out o = { .path = undo_path, .hash = FNV_START };
	int rc;

	if (!realpath(img->path, real))
		return fmt_syserr(e, img->path, errno, "cannot resolve");
	/* A temporary the signal handler removes (safe_write.h), mode 0600. */
	if (sw_temp_file(undo_path, undo_path, tmp, sizeof(tmp), &o.fd, e) != 0)
		return -1;
	rc = write_undo_body(&o, img, st, real, p, e);
	if (rc == 0 && fsync(o.fd) != 0)
		rc = fmt_syserr(e, tmp, errno, "cannot write the undo file");
	if (close(o.fd) != 0 && rc == 0)
		rc = fmt_syserr(e, tmp, errno, "cannot write the undo file");
	/* link(), not rename(): an earlier undo file is never replaced. */
	if (rc == 0 && link(tmp, undo_path) != 0)
		rc = errno == EEXIST ?
			     fmt_fail(e, FMT_ERR_UNSUPPORTED, undo_path,
				      "an undo file of an earlier repair exists: restore it "
				      "(fredck undo) or move it away first") :
			     fmt_syserr(e, undo_path, errno, "cannot create the undo file");
	sw_discard_temp(tmp);
	if (rc == 0)
		rc = fsync_dir_of(undo_path, e);
	return rc;
}

/* The image at path is still the one img read (same file, same size). */
static int same_image(const struct qcow2_image *img, int fd, struct stat *st,
		      struct fmt_error *e)
{
	struct stat was;

	if (fstat(fd, st) != 0 || fstat(img->fd, &was) != 0)
		return fmt_syserr(e, img->path, errno, "cannot stat");
	if (st->st_dev != was.st_dev || st->st_ino != was.st_ino ||
	    (uint64_t)st->st_size != img->file_size)
		return fmt_fail(e, FMT_ERR_SYSTEM, img->path,
				"the image changed while fredck read it; nothing written");
	return 0;
}

static int write_clusters(int fd, const char *path, const struct plan *p, bool new,
			  struct fmt_error *e)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct cluster *c = &p->c[i];
		const uint8_t *want = new ? c->new : c->old, *other = new ? c->old : c->new;

		/* Only the bytes that differ: the rest of the cluster is not rewritten. */
		for (uint32_t a = 0; a < c->len;) {
			uint32_t b;

			if (want[a] == other[a]) {
				a++;
				continue;
			}
			for (b = a; b < c->len && want[b] != other[b]; b++)
				;
			if (pwrite_all(fd, want + a, b - a, c->off + a) != 0)
				return fmt_syserr(e, path, errno, "cannot write");
			a = b;
		}
	}
	if (fsync(fd) != 0)
		return fmt_syserr(e, path, errno, "cannot write");
	return 0;
}

int qcow2_apply_in_place(const struct qcow2_image *img, const struct bsrc_extent *x, size_t nx,
			 const struct edits *ed, const char *undo_path, struct fmt_error *e)
{
	struct plan p = { 0 };
	struct stat st;
	int fd = -1, rc;

	rc = plan_clusters(&p, img, x, nx, ed, e);
	if (rc == 0)
		rc = check_unshared(&p, img, e);
	if (rc == 0) {
		fd = open(img->path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			rc = fmt_syserr(e, img->path, errno, "cannot open for writing");
	}
	if (rc == 0)
		rc = qcow2_check_qemu_lock(fd, img->path, true, e);
	if (rc == 0)
		rc = same_image(img, fd, &st, e);
	if (rc == 0)
		rc = write_undo(img, &st, &p, undo_path, e);
	if (rc == 0)
		rc = write_clusters(fd, img->path, &p, true, e);
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = fmt_syserr(e, img->path, errno, "cannot write");
	plan_free(&p);
	return rc;
}

/* ---- undo ----------------------------------------------------------------- */

struct undo {
	uint8_t *buf;
	size_t size;
	uint64_t image_size, header_hash;
	uint32_t cluster_size, n;
	char image[PATH_MAX];
	const uint8_t *records; /* n of them: 8 offset, 4 length, old, new */
};

static int read_undo(const char *path, struct undo *u, struct fmt_error *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint32_t plen;
	const uint8_t *r;

	if (fd < 0)
		return fmt_syserr(e, path, errno, "cannot open");
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fmt_fail(e, FMT_ERR_MALFORMED, path, "not an undo file (not a regular file)");
	}
	u->size = (size_t)st.st_size;
	u->buf = malloc(u->size ? u->size : 1);
	if (!u->buf || pread_all(fd, u->buf, u->size, 0) != 0) {
		close(fd);
		return fmt_syserr(e, path, u->buf ? errno : ENOMEM, "cannot read");
	}
	close(fd);
	if (u->size < UNDO_FIXED + 8 || memcmp(u->buf, UNDO_MAGIC, UNDO_MAGIC_LEN) != 0)
		return fmt_malformed(e, path, 0, "magic", "not a fredck undo file");
	if (be_get(u->buf + u->size - 8, 8) != fnv1a(FNV_START, u->buf, u->size - 8))
		return fmt_malformed(e, path, u->size - 8, "checksum",
				     "the undo file is damaged (torn or altered): not used");
	u->image_size = be_get(u->buf + 16, 8);
	u->header_hash = be_get(u->buf + 24, 8);
	u->cluster_size = (uint32_t)be_get(u->buf + 48, 4);
	u->n = (uint32_t)be_get(u->buf + 52, 4);
	plen = (uint32_t)be_get(u->buf + 56, 4);
	if (plen >= PATH_MAX || plen > u->size - UNDO_FIXED - 12)
		return fmt_malformed(e, path, 56, "image path length", "%u bytes", plen);
	memcpy(u->image, u->buf + UNDO_FIXED + 4, plen);
	u->image[plen] = '\0';
	u->records = r = u->buf + UNDO_FIXED + 4 + plen;
	for (uint32_t i = 0; i < u->n; i++) {
		size_t left = (size_t)(u->buf + u->size - 8 - r);
		uint64_t len;

		if (left < 12 || (len = be_get(r + 8, 4)) > u->cluster_size || 2 * len > left - 12)
			return fmt_malformed(e, path, (uint64_t)(r - u->buf), "cluster record",
					     "record %u runs past the end of the file", i);
		r += 12 + 2 * len;
	}
	return 0;
}

/* Each cluster holds the repair's bytes (to put back) or already the original's. */
static int undo_check_clusters(const struct undo *u, int fd, const char *image, bool *todo,
			       struct fmt_error *e)
{
	const uint8_t *r = u->records;
	uint8_t *cur = malloc(u->cluster_size ? u->cluster_size : 1);
	int rc = 0;

	if (!cur)
		return fmt_syserr(e, image, ENOMEM, "cannot undo");
	for (uint32_t i = 0; rc == 0 && i < u->n; i++) {
		uint64_t off = be_get(r, 8);
		uint32_t len = (uint32_t)be_get(r + 8, 4);
		const uint8_t *old = r + 12, *new = old + len;

		if (off > u->image_size || len > u->image_size - off || pread_all(fd, cur, len, off))
			rc = fmt_fail(e, FMT_ERR_MALFORMED, image,
				      "the undo file's cluster at byte %llu is not in the image",
				      (unsigned long long)off);
		else if (memcmp(cur, new, len) == 0)
			todo[i] = true;
		else if (memcmp(cur, old, len) != 0)
			rc = fmt_fail(e, FMT_ERR_UNSUPPORTED, image,
				      "the cluster at byte %llu changed since the repair (neither "
				      "the repaired nor the original bytes): nothing restored",
				      (unsigned long long)off);
		r += 12 + 2 * (size_t)len;
	}
	free(cur);
	return rc;
}

static int undo_write(const struct undo *u, int fd, const char *image, const bool *todo,
		      size_t *restored, struct fmt_error *e)
{
	const uint8_t *r = u->records;

	for (uint32_t i = 0; i < u->n; i++) {
		uint32_t len = (uint32_t)be_get(r + 8, 4);

		if (todo[i]) {
			if (pwrite_all(fd, r + 12, len, be_get(r, 8)) != 0)
				return fmt_syserr(e, image, errno, "cannot write");
			(*restored)++;
		}
		r += 12 + 2 * (size_t)len;
	}
	if (fsync(fd) != 0)
		return fmt_syserr(e, image, errno, "cannot write");
	return 0;
}

static int undo_image(const struct undo *u, const char *image, size_t *restored,
		      struct fmt_error *e)
{
	struct qcow2_image img = { .path = image, .cluster_size = u->cluster_size };
	bool *todo = calloc(u->n ? u->n : 1, sizeof(*todo));
	struct stat st;
	uint64_t hh;
	int fd = open(image, O_RDWR | O_CLOEXEC), rc = 0;

	if (!todo || fd < 0)
		rc = fmt_syserr(e, image, todo ? errno : ENOMEM, "cannot open for writing");
	if (rc == 0)
		rc = qcow2_check_qemu_lock(fd, image, true, e);
	if (rc == 0 && fstat(fd, &st) != 0)
		rc = fmt_syserr(e, image, errno, "cannot stat");
	if (rc == 0 && (uint64_t)st.st_size != u->image_size)
		rc = fmt_fail(e, FMT_ERR_UNSUPPORTED, image,
			      "the image is %llu bytes, the undo file's was %llu: not the same "
			      "image (or it changed since): nothing restored",
			      (unsigned long long)st.st_size, (unsigned long long)u->image_size);
	img.file_size = u->image_size;
	if (rc == 0 && (u->cluster_size < 512 || u->cluster_size > (2U << 20) ||
			(u->cluster_size & (u->cluster_size - 1))))
		rc = fmt_fail(e, FMT_ERR_MALFORMED, image, "the undo file's cluster size is wrong");
	if (rc == 0)
		rc = header_hash(&img, fd, &hh, e);
	if (rc == 0 && hh != u->header_hash)
		rc = fmt_fail(e, FMT_ERR_UNSUPPORTED, image,
			      "the image's header cluster differs from the undo file's: not the "
			      "same image (or it changed since): nothing restored");
	if (rc == 0)
		rc = undo_check_clusters(u, fd, image, todo, e);
	if (rc == 0)
		rc = undo_write(u, fd, image, todo, restored, e);
	if (fd >= 0)
		close(fd);
	free(todo);
	return rc;
}

int qcow2_undo(const char *undo_path, const char *image, char *out, size_t len,
	       size_t *restored, struct fmt_error *e)
{
	struct undo u = { 0 };
	int rc = read_undo(undo_path, &u, e);

	*restored = 0;
	if (rc == 0) {
		snprintf(out, len, "%s", image ? image : u.image);
		rc = undo_image(&u, out, restored, e);
	}
	free(u.buf);
	return rc;
}
