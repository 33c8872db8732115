/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2_image.c --- the qcow2 header, the snapshot table, and a
 * snapshot's VM state found through its L1 and L2 tables.
 *
 * Facts (fredck-formats(5), section "qcow2"; QEMU 7.2 and 10.0,
 * docs/interop/qcow2.txt and block/qcow2.h, qcow2.c, qcow2-snapshot.c):
 * big-endian throughout; the VM state of a snapshot sits in the virtual
 * address space of that snapshot's L1 table from the first L1 entry that
 * describes no guest cluster, size_to_l1(disk_size) << (cluster_bits +
 * l2_bits), and is vm_state_size bytes long (QEMU writes it there through
 * the active table when it saves, and qcow2_snapshot_create copies the
 * table into the snapshot's).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/io/le.h"
#include "formats/qcow2/qcow2_image.h"

/* block/qcow2.h */
#define MIN_CLUSTER_BITS 9
#define MAX_CLUSTER_BITS 21
#define MAX_SNAPSHOTS 65536U
#define MAX_SNAPSHOTS_SIZE (1024ULL * MAX_SNAPSHOTS)
#define MAX_SNAPSHOT_EXTRA 1024U
#define MAX_L1_BYTES (32ULL << 20)
#define MAX_REFTABLE_BYTES (8ULL << 20)
#define L1E_OFFSET_MASK 0x00fffffffffffe00ULL
#define L1E_RESERVED_MASK 0x7f000000000001ffULL
#define L2E_OFFSET_MASK 0x00fffffffffffe00ULL
#define L2E_STD_RESERVED_MASK 0x3f000000000001feULL
#define REFT_OFFSET_MASK 0xfffffffffffffe00ULL
#define OFLAG_COMPRESSED (1ULL << 62)
#define OFLAG_ZERO 1ULL
#define SUBCLUSTERS 32U

/* incompatible_features (docs/interop/qcow2.txt, header bytes 72-79) */
#define INCOMPAT_DIRTY (1ULL << 0)
#define INCOMPAT_CORRUPT (1ULL << 1)
#define INCOMPAT_DATA_FILE (1ULL << 2)
#define INCOMPAT_COMPRESSION (1ULL << 3)
#define INCOMPAT_EXTL2 (1ULL << 4)
#define INCOMPAT_KNOWN 0x1fULL

#define SNAP_HEADER 40 /* QCowSnapshotHeader */

bool qcow2_magic(const uint8_t *p, size_t len)
{
	return len >= 4 && be_get(p, 4) == QCOW2_MAGIC;
}

void qcow2_printable(const char *name, char *out, size_t len)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p && o + 5 < len; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\')
			out[o++] = (char)*p;
		else
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", *p);
	}
	out[o] = '\0';
}

/* len bytes of the file at off, each one checked to exist; field names them in errors. */
static int read_at(const struct qcow2_image *img, uint64_t off, void *buf, size_t len,
		   const char *field, struct fmt_error *e)
{
	size_t done = 0;

	if (off > img->file_size || len > img->file_size - off)
		return fmt_malformed(e, img->path, off, field,
				     "%zu bytes at byte %llu run past the end of the file (%llu bytes)",
				     len, (unsigned long long)off,
				     (unsigned long long)img->file_size);
	while (done < len) {
		ssize_t got = pread(img->fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return fmt_syserr(e, img->path, errno, "cannot read");
		if (got == 0)
			return fmt_fail(e, FMT_ERR_SYSTEM, img->path,
					"the file became shorter while fredck read it");
		done += (size_t)got;
	}
	return 0;
}

/*
 * A table of entries x entry bytes at off, as qcow2_validate_table
 * checks it, and also that it lies inside the file: field_off is where
 * its offset is stored, for the error.
 */
static int check_table(const struct qcow2_image *img, uint64_t off, uint64_t entries,
		       uint64_t entry, uint64_t max_bytes, uint64_t field_off, const char *field,
		       struct fmt_error *e)
{
	if (entries > max_bytes / entry)
		return fmt_malformed(e, img->path, field_off, field,
				     "%llu entries: more than the %llu bytes QEMU allows",
				     (unsigned long long)entries, (unsigned long long)max_bytes);
	if (off & (img->cluster_size - 1))
		return fmt_malformed(e, img->path, field_off, field,
				     "offset %llu is not aligned to the %llu-byte cluster",
				     (unsigned long long)off, (unsigned long long)img->cluster_size);
	if (off > img->file_size || entries * entry > img->file_size - off)
		return fmt_malformed(e, img->path, field_off, field,
				     "the table at byte %llu (%llu bytes) runs past the end of the "
				     "file (%llu bytes)",
				     (unsigned long long)off, (unsigned long long)(entries * entry),
				     (unsigned long long)img->file_size);
	return 0;
}

/* The incompatible features fredck cannot read through, named. */
static int check_features(struct qcow2_image *img, struct fmt_error *e)
{
	uint64_t unknown = img->incompatible & ~INCOMPAT_KNOWN;

	if (img->incompatible & INCOMPAT_DATA_FILE)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, img->path,
				"an external data file (incompatible feature bit 2): fredck does "
				"not read qcow2 images whose clusters live in another file (QEMU "
				"keeps no internal snapshots in them either)");
	if (unknown) {
		int bit = __builtin_ctzll(unknown);

		return fmt_fail(e, FMT_ERR_UNSUPPORTED, img->path,
				"unknown incompatible feature bit %d (incompatible_features "
				"0x%llx at byte 72): fredck does not know how to read this image",
				bit, (unsigned long long)img->incompatible);
	}
	if (img->extended_l2 && img->cluster_bits < 14)
		return fmt_malformed(e, img->path, 20, "cluster_bits",
				     "extended L2 entries with %llu-byte clusters (at least 16384 "
				     "needed)",
				     (unsigned long long)img->cluster_size);
	return 0;
}

static int parse_v3_fields(struct qcow2_image *img, const uint8_t *h, struct fmt_error *e)
{
	img->incompatible = be_get(h + 72, 8);
	img->compatible = be_get(h + 80, 8);
	img->autoclear = be_get(h + 88, 8);
	img->refcount_order = (uint32_t)be_get(h + 96, 4);
	img->header_length = (uint32_t)be_get(h + 100, 4);
	if (img->header_length < 104 || img->header_length % 8)
		return fmt_malformed(e, img->path, 100, "header_length",
				     "%u bytes (version 3 needs at least 104, a multiple of 8)",
				     img->header_length);
	if (img->header_length > img->cluster_size)
		return fmt_malformed(e, img->path, 100, "header_length",
				     "%u bytes is more than the %llu-byte first cluster",
				     img->header_length, (unsigned long long)img->cluster_size);
	if (img->refcount_order > 6)
		return fmt_malformed(e, img->path, 96, "refcount_order",
				     "%u (at most 6: 64-bit refcounts)", img->refcount_order);
	img->extended_l2 = img->incompatible & INCOMPAT_EXTL2;
	return check_features(img, e);
}

static int parse_backing(struct qcow2_image *img, const uint8_t *h, struct fmt_error *e)
{
	uint64_t off = be_get(h + 8, 8);
	uint32_t len = (uint32_t)be_get(h + 16, 4);

	if (!off)
		return 0;
	if (len > sizeof(img->backing) - 1)
		return fmt_malformed(e, img->path, 16, "backing_file_size",
				     "%u bytes (at most 1023)", len);
	if (read_at(img, off, img->backing, len, "backing file name", e))
		return -1;
	img->backing[len] = '\0';
	return 0;
}

static int parse_header(struct qcow2_image *img, struct fmt_error *e)
{
	uint8_t h[104];

	if (read_at(img, 0, h, 72, "header", e))
		return -1;
	if (!qcow2_magic(h, 4))
		return fmt_malformed(e, img->path, 0, "magic", "not a qcow2 image");
	img->version = (uint32_t)be_get(h + 4, 4);
	if (img->version != 2 && img->version != 3)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, img->path,
				"byte 4 (version): qcow2 version %u; fredck reads 2 and 3",
				img->version);
	img->cluster_bits = (uint32_t)be_get(h + 20, 4);
	if (img->cluster_bits < MIN_CLUSTER_BITS)
		return fmt_malformed(e, img->path, 20, "cluster_bits",
				     "%u (clusters are at least 512 bytes: 9)", img->cluster_bits);
	if (img->cluster_bits > MAX_CLUSTER_BITS)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, img->path,
				"byte 20 (cluster_bits): %u, clusters above 2 MiB, which QEMU does "
				"not open either",
				img->cluster_bits);
	img->cluster_size = 1ULL << img->cluster_bits;
	img->size = be_get(h + 24, 8);
	img->l1_size = (uint32_t)be_get(h + 36, 4);
	img->l1_offset = be_get(h + 40, 8);
	img->refcount_table_offset = be_get(h + 48, 8);
	img->refcount_table_clusters = (uint32_t)be_get(h + 56, 4);
	img->nb_snapshots = (uint32_t)be_get(h + 60, 4);
	img->snapshots_offset = be_get(h + 64, 8);
	img->refcount_order = 4;
	img->header_length = 72;
	if (img->version == 3 &&
	    (read_at(img, 0, h, sizeof(h), "header", e) || parse_v3_fields(img, h, e)))
		return -1;
	{
		uint32_t crypt = (uint32_t)be_get(h + 32, 4);

		if (crypt)
			return fmt_fail(e, FMT_ERR_UNSUPPORTED, img->path,
					"encryption (crypt_method %u, %s at byte 32): fredck does "
					"not read encrypted images",
					crypt, crypt == 1 ? "AES" : crypt == 2 ? "LUKS" : "unknown");
	}
	img->l2_bits = img->cluster_bits - (img->extended_l2 ? 4 : 3);
	if (check_table(img, img->l1_offset, img->l1_size, 8, MAX_L1_BYTES, 40, "l1_table_offset",
			e) ||
	    check_table(img, img->refcount_table_offset,
			(uint64_t)img->refcount_table_clusters * img->cluster_size, 1,
			MAX_REFTABLE_BYTES, 48, "refcount_table_offset", e))
		return -1;
	if (img->nb_snapshots > MAX_SNAPSHOTS)
		return fmt_malformed(e, img->path, 60, "nb_snapshots",
				     "%u snapshots (QEMU keeps at most %u)", img->nb_snapshots,
				     MAX_SNAPSHOTS);
	if (img->nb_snapshots &&
	    check_table(img, img->snapshots_offset, img->nb_snapshots, SNAP_HEADER,
			MAX_SNAPSHOTS_SIZE, 64, "snapshots_offset", e))
		return -1;
	return parse_backing(img, h, e);
}

/* A string field of a snapshot entry, NUL-terminated, malloc'ed. */
static char *read_string(const struct qcow2_image *img, uint64_t off, size_t len,
			 const char *field, struct fmt_error *e)
{
	char *s = malloc(len + 1);

	if (!s) {
		fmt_syserr(e, img->path, ENOMEM, "cannot read the snapshot table");
		return NULL;
	}
	if (read_at(img, off, s, len, field, e)) {
		free(s);
		return NULL;
	}
	s[len] = '\0';
	/* A NUL inside would cut the name short: shown as \x00 by nobody; refuse. */
	if (strlen(s) != len) {
		fmt_malformed(e, img->path, off + strlen(s), field, "a NUL byte inside the %s",
			      field);
		free(s);
		return NULL;
	}
	return s;
}

/* One snapshot table entry at *off (8-aligned); *off moves past it. */
static int parse_snapshot(struct qcow2_image *img, struct qcow2_snap *sn, uint64_t *off,
			  struct fmt_error *e)
{
	uint8_t h[SNAP_HEADER], extra[24] = { 0 };
	uint32_t id_len, name_len;
	uint64_t at;

	*off = (*off + 7) & ~7ULL;
	at = *off;
	if (read_at(img, at, h, sizeof(h), "snapshot table entry", e))
		return -1;
	sn->entry = at;
	sn->l1_offset = be_get(h, 8);
	sn->l1_size = (uint32_t)be_get(h + 8, 4);
	id_len = (uint32_t)be_get(h + 12, 2);
	name_len = (uint32_t)be_get(h + 14, 2);
	sn->date_sec = (uint32_t)be_get(h + 16, 4);
	sn->date_nsec = (uint32_t)be_get(h + 20, 4);
	sn->vm_clock_nsec = be_get(h + 24, 8);
	sn->vm_state_size = be_get(h + 32, 4);
	sn->extra_size = (uint32_t)be_get(h + 36, 4);
	if (sn->extra_size > MAX_SNAPSHOT_EXTRA)
		return fmt_malformed(e, img->path, at + 36, "snapshot extra_data_size",
				     "%u bytes of extra data (QEMU reads at most %u)",
				     sn->extra_size, MAX_SNAPSHOT_EXTRA);
	if (read_at(img, at + SNAP_HEADER, extra,
		    sn->extra_size < sizeof(extra) ? sn->extra_size : sizeof(extra),
		    "snapshot extra data", e))
		return -1;
	if (sn->extra_size >= 8)
		sn->vm_state_size = be_get(extra, 8);
	sn->disk_size_stored = sn->extra_size >= 16;
	sn->disk_size = sn->disk_size_stored ? be_get(extra + 8, 8) : img->size;
	at += SNAP_HEADER + sn->extra_size;
	sn->id = read_string(img, at, id_len, "snapshot id", e);
	if (!sn->id)
		return -1;
	sn->name = read_string(img, at + id_len, name_len, "snapshot name", e);
	if (!sn->name)
		return -1;
	*off = at + id_len + name_len;
	if (*off - img->snapshots_offset > MAX_SNAPSHOTS_SIZE)
		return fmt_malformed(e, img->path, sn->entry, "snapshot table",
				     "the snapshot table is larger than the %llu bytes QEMU reads",
				     (unsigned long long)MAX_SNAPSHOTS_SIZE);
	return 0;
}

static int parse_snapshots(struct qcow2_image *img, struct fmt_error *e)
{
	uint64_t off = img->snapshots_offset;

	if (!img->nb_snapshots)
		return 0;
	img->snaps = calloc(img->nb_snapshots, sizeof(*img->snaps));
	if (!img->snaps)
		return fmt_syserr(e, img->path, ENOMEM, "cannot read the snapshot table");
	for (uint32_t i = 0; i < img->nb_snapshots; i++)
		if (parse_snapshot(img, &img->snaps[i], &off, e))
			return -1;
	img->snapshots_len = off - img->snapshots_offset;
	return 0;
}

int qcow2_image_open(struct qcow2_image *img, const char *path, struct fmt_error *e)
{
	struct stat st;

	memset(img, 0, sizeof(*img));
	img->path = path;
	img->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img->fd < 0)
		return fmt_syserr(e, path, errno, "cannot open");
	if (fstat(img->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int err = errno;

		qcow2_image_close(img);
		return S_ISREG(st.st_mode) ? fmt_syserr(e, path, err, "cannot stat") :
					     fmt_fail(e, FMT_ERR_MALFORMED, path,
						      "a qcow2 image must be a regular file");
	}
	img->file_size = (uint64_t)st.st_size;
	if (parse_header(img, e) || parse_snapshots(img, e)) {
		qcow2_image_close(img);
		return -1;
	}
	return 0;
}

void qcow2_image_close(struct qcow2_image *img)
{
	for (uint32_t i = 0; img->snaps && i < img->nb_snapshots; i++) {
		free(img->snaps[i].id);
		free(img->snaps[i].name);
	}
	free(img->snaps);
	img->snaps = NULL;
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
}

long qcow2_find_snapshot(const struct qcow2_image *img, const char *sel)
{
	for (uint32_t i = 0; i < img->nb_snapshots; i++)
		if (strcmp(img->snaps[i].id, sel) == 0)
			return (long)i;
	for (uint32_t i = 0; i < img->nb_snapshots; i++)
		if (strcmp(img->snaps[i].name, sel) == 0)
			return (long)i;
	return -1;
}

/* ---- the state's pieces ----------------------------------------------------- */

/* A byte range of the file that one structure occupies, for the overlap check. */
struct span {
	uint64_t start, len;
	uint64_t field_off; /* where the reference to it is stored */
	const char *what;
};

struct walk {
	const struct qcow2_image *img;
	const struct qcow2_snap *sn;
	struct bsrc_extent *x;
	size_t n, cap;
	struct span *spans;
	size_t nspans, capspans;
	uint8_t *l2;   /* one L2 table */
	uint64_t next; /* the state's next virtual byte (relative to its start) */
};

static int add_span(struct walk *w, uint64_t start, uint64_t len, uint64_t field_off,
		    const char *what, struct fmt_error *e)
{
	if (!len)
		return 0;
	if (w->nspans == w->capspans) {
		size_t cap = w->capspans ? w->capspans * 2 : 64;
		struct span *s = realloc(w->spans, cap * sizeof(*s));

		if (!s)
			return fmt_syserr(e, w->img->path, ENOMEM, "cannot read the tables");
		w->spans = s;
		w->capspans = cap;
	}
	w->spans[w->nspans++] = (struct span){ start, len, field_off, what };
	return 0;
}

/* len more bytes of the state at file_off (BSRC_ZEROS: zeros), joined to the last piece when they continue it. */
static int add_piece(struct walk *w, uint64_t len, uint64_t file_off, struct fmt_error *e)
{
	struct bsrc_extent *last = w->n ? &w->x[w->n - 1] : NULL;

	if (!len)
		return 0;
	if (last && ((file_off == BSRC_ZEROS && last->file_off == BSRC_ZEROS) ||
		     (file_off != BSRC_ZEROS && last->file_off != BSRC_ZEROS &&
		      last->file_off + last->len == file_off))) {
		last->len += len;
		w->next += len;
		return 0;
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct bsrc_extent *x = realloc(w->x, cap * sizeof(*x));

		if (!x)
			return fmt_syserr(e, w->img->path, ENOMEM, "cannot read the tables");
		w->x = x;
		w->cap = cap;
	}
	w->x[w->n++] = (struct bsrc_extent){ w->next, len, file_off };
	w->next += len;
	return 0;
}

/* The data of a cluster (or subcluster) at host, used for want bytes: in the file. */
static int data_piece(struct walk *w, uint64_t host, uint64_t want, uint64_t entry_off,
		      struct fmt_error *e)
{
	const struct qcow2_image *img = w->img;

	if (host > img->file_size || want > img->file_size - host)
		return fmt_malformed(e, img->path, entry_off, "L2 entry",
				     "its data cluster at byte %llu runs past the end of the file "
				     "(%llu bytes)",
				     (unsigned long long)host, (unsigned long long)img->file_size);
	return add_piece(w, want, host, e);
}

/*
 * One standard L2 entry (and its subcluster bitmap when extended) of the
 * state: want bytes of its cluster from the cluster's start.
 */
static int l2_entry(struct walk *w, const uint8_t *p, uint64_t entry_off, uint64_t want,
		    struct fmt_error *e)
{
	const struct qcow2_image *img = w->img;
	uint64_t v = be_get(p, 8), host = v & L2E_OFFSET_MASK;
	uint64_t bitmap, sc_size = img->cluster_size / SUBCLUSTERS;
	uint32_t alloc, zero;

	if (v & OFLAG_COMPRESSED)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, img->path,
				"byte %llu (L2 entry): a compressed cluster in the VM state: "
				"fredck does not read compressed clusters",
				(unsigned long long)entry_off);
	/* Bit 0 (reads as zeros) is QEMU's zero flag without subclusters, ignored with them. */
	if (v & L2E_STD_RESERVED_MASK)
		return fmt_malformed(e, img->path, entry_off, "L2 entry",
				     "reserved bits set (0x%016llx)", (unsigned long long)v);
	if (host && (host & (img->cluster_size - 1)))
		return fmt_malformed(e, img->path, entry_off, "L2 entry",
				     "cluster offset %llu is not aligned to the cluster size",
				     (unsigned long long)host);
	if (host && add_span(w, host, img->cluster_size, entry_off, "data cluster", e))
		return -1;
	if (!img->extended_l2) {
		if ((v & OFLAG_ZERO) || !host)
			return add_piece(w, want, BSRC_ZEROS, e);
		return data_piece(w, host, want, entry_off, e);
	}
	bitmap = be_get(p + 8, 8);
	alloc = (uint32_t)bitmap;
	zero = (uint32_t)(bitmap >> 32);
	if (alloc & zero)
		return fmt_malformed(e, img->path, entry_off + 8, "L2 subcluster bitmap",
				     "subclusters both allocated and zero (0x%016llx)",
				     (unsigned long long)bitmap);
	if (!host && alloc)
		return fmt_malformed(e, img->path, entry_off + 8, "L2 subcluster bitmap",
				     "allocated subclusters in an unallocated cluster (0x%016llx)",
				     (unsigned long long)bitmap);
	for (unsigned int sc = 0; sc < SUBCLUSTERS && sc * sc_size < want; sc++) {
		uint64_t part = want - sc * sc_size < sc_size ? want - sc * sc_size : sc_size;
		int rc = alloc & (1U << sc) ?
				 data_piece(w, host + sc * sc_size, part, entry_off, e) :
				 add_piece(w, part, BSRC_ZEROS, e);

		if (rc)
			return -1;
	}
	return 0;
}

/*
 * The L2 table that L1 entry i points to (at entry_off): the state's
 * clusters in it, from cluster `first` on, until the state ends.
 */
static int l2_table(struct walk *w, uint64_t l2_off, uint64_t entry_off, uint64_t first,
		    struct fmt_error *e)
{
	const struct qcow2_image *img = w->img;
	unsigned int esize = img->extended_l2 ? 16 : 8;
	uint64_t entries = 1ULL << img->l2_bits;
	uint64_t size = w->sn->vm_state_size;

	if (l2_off & (img->cluster_size - 1))
		return fmt_malformed(e, img->path, entry_off, "L1 entry",
				     "L2 table offset %llu is not aligned to the cluster size",
				     (unsigned long long)l2_off);
	if (l2_off > img->file_size || img->cluster_size > img->file_size - l2_off)
		return fmt_malformed(e, img->path, entry_off, "L2 table",
				     "the L2 table at byte %llu runs past the end of the file (%llu "
				     "bytes)",
				     (unsigned long long)l2_off, (unsigned long long)img->file_size);
	if (add_span(w, l2_off, img->cluster_size, entry_off, "L2 table", e) ||
	    read_at(img, l2_off, w->l2, (size_t)img->cluster_size, "L2 table", e))
		return -1;
	for (uint64_t j = first; j < entries && w->next < size; j++) {
		uint64_t want = size - w->next < img->cluster_size ? size - w->next :
								      img->cluster_size;

		if (l2_entry(w, w->l2 + j * esize, l2_off + j * esize, want, e))
			return -1;
	}
	return 0;
}

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/* No two structures of the image or the state share a byte: else a loop or overlap. */
static int check_overlaps(struct walk *w, struct fmt_error *e)
{
	qsort(w->spans, w->nspans, sizeof(*w->spans), cmp_span);
	for (size_t i = 1; i < w->nspans; i++) {
		const struct span *a = &w->spans[i - 1], *b = &w->spans[i];

		if (b->start - a->start < a->len)
			return fmt_malformed(e, w->img->path, b->field_off, b->what,
					     "the %s at byte %llu overlaps the %s at byte %llu "
					     "(referenced at byte %llu): the tables loop or "
					     "overlap",
					     b->what, (unsigned long long)b->start, a->what,
					     (unsigned long long)a->start,
					     (unsigned long long)a->field_off);
	}
	return 0;
}

/* The image's own metadata, which no cluster of the state may overlap. */
static int metadata_spans(struct walk *w, struct fmt_error *e)
{
	const struct qcow2_image *img = w->img;
	const struct qcow2_snap *sn = w->sn;

	return add_span(w, 0, img->cluster_size, 0, "header cluster", e) ||
	       add_span(w, img->l1_offset, (uint64_t)img->l1_size * 8, 40, "active L1 table", e) ||
	       add_span(w, img->refcount_table_offset,
			(uint64_t)img->refcount_table_clusters * img->cluster_size, 48,
			"refcount table", e) ||
	       add_span(w, img->snapshots_offset, img->snapshots_len, 64, "snapshot table", e) ||
	       (sn->l1_offset != img->l1_offset &&
		add_span(w, sn->l1_offset, (uint64_t)sn->l1_size * 8, sn->entry, "snapshot L1 table",
			 e));
}

/* The L1 entries that cover the state: where it starts, checked against the table. */
static int state_l1_range(const struct qcow2_image *img, const struct qcow2_snap *sn,
			  uint64_t *first, uint64_t *count, struct fmt_error *e)
{
	unsigned int shift = img->cluster_bits + img->l2_bits;
	uint64_t span = 1ULL << shift;

	*first = (sn->disk_size >> shift) + ((sn->disk_size & (span - 1)) != 0);
	*count = (sn->vm_state_size >> shift) + ((sn->vm_state_size & (span - 1)) != 0);
	if (*first > sn->l1_size || *count > sn->l1_size - *first)
		return fmt_malformed(e, img->path, sn->entry + 32, "vm_state_size",
				     "a VM state of %llu bytes after a %llu-byte disk needs L1 "
				     "entries %llu to %llu; the snapshot's L1 table has %u",
				     (unsigned long long)sn->vm_state_size,
				     (unsigned long long)sn->disk_size, (unsigned long long)*first,
				     (unsigned long long)(*first + *count - 1), sn->l1_size);
	return 0;
}

static int walk_state(struct walk *w, struct fmt_error *e)
{
	const struct qcow2_image *img = w->img;
	const struct qcow2_snap *sn = w->sn;
	uint64_t first, count, per_l1 = img->cluster_size << img->l2_bits;
	uint8_t raw[8];

	if (check_table(img, sn->l1_offset, sn->l1_size, 8, MAX_L1_BYTES, sn->entry,
			"snapshot l1_table_offset", e) ||
	    state_l1_range(img, sn, &first, &count, e) || metadata_spans(w, e))
		return -1;
	w->l2 = malloc((size_t)img->cluster_size);
	if (!w->l2)
		return fmt_syserr(e, img->path, ENOMEM, "cannot read the tables");
	for (uint64_t i = first; i < first + count; i++) {
		uint64_t entry_off = sn->l1_offset + i * 8, v, l2_off;

		if (read_at(img, entry_off, raw, 8, "L1 entry", e))
			return -1;
		v = be_get(raw, 8);
		if (v & L1E_RESERVED_MASK)
			return fmt_malformed(e, img->path, entry_off, "L1 entry",
					     "reserved bits set (0x%016llx)", (unsigned long long)v);
		l2_off = v & L1E_OFFSET_MASK;
		if (!l2_off) {
			uint64_t left = sn->vm_state_size - w->next;

			if (add_piece(w, left < per_l1 ? left : per_l1, BSRC_ZEROS, e))
				return -1;
		} else if (l2_table(w, l2_off, entry_off, 0, e)) {
			return -1;
		}
	}
	return check_overlaps(w, e);
}

int qcow2_state_extents(const struct qcow2_image *img, size_t k, struct bsrc_extent **x,
			size_t *n, struct fmt_error *e)
{
	struct walk w = { .img = img, .sn = &img->snaps[k] };
	int rc = walk_state(&w, e);

	free(w.spans);
	free(w.l2);
	if (rc) {
		free(w.x);
		return -1;
	}
	*x = w.x;
	*n = w.n;
	return 0;
}

/* ---- refcounts --------------------------------------------------------------- */

/* One refcount of a block as QEMU packs it: below a byte, the low bits first. */
static uint64_t refcount_entry(const uint8_t *block, uint64_t index, uint32_t order)
{
	uint32_t bits = 1U << order;

	if (bits < 8) {
		uint64_t bit = index * bits;

		return (block[bit / 8] >> (bit % 8)) & ((1U << bits) - 1);
	}
	return be_get(block + index * (bits / 8), bits / 8);
}

int qcow2_refcount(const struct qcow2_image *img, uint64_t host, uint64_t *count,
		   struct fmt_error *e)
{
	uint64_t cluster = host >> img->cluster_bits;
	uint64_t per_block = (img->cluster_size * 8) >> img->refcount_order;
	uint64_t table_entries = (uint64_t)img->refcount_table_clusters * img->cluster_size / 8;
	uint64_t i = cluster / per_block, entry_off = img->refcount_table_offset + i * 8;
	uint8_t raw[8], *block;
	uint64_t block_off;
	int rc;

	*count = 0;
	if (i >= table_entries)
		return 0; /* beyond the table: no refcount block, so 0 */
	if (read_at(img, entry_off, raw, 8, "refcount table entry", e))
		return -1;
	block_off = be_get(raw, 8) & REFT_OFFSET_MASK;
	if (!block_off)
		return 0;
	if (block_off & (img->cluster_size - 1))
		return fmt_malformed(e, img->path, entry_off, "refcount table entry",
				     "refcount block offset %llu is not aligned to the cluster size",
				     (unsigned long long)block_off);
	block = malloc((size_t)img->cluster_size);
	if (!block)
		return fmt_syserr(e, img->path, ENOMEM, "cannot read the refcounts");
	rc = read_at(img, block_off, block, (size_t)img->cluster_size, "refcount block", e);
	if (rc == 0)
		*count = refcount_entry(block, cluster % per_block, img->refcount_order);
	free(block);
	return rc;
}
