/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2_image.h --- a qcow2 disk image read for its internal snapshots:
 * the header, the snapshot table, and a snapshot's VM state located
 * through that snapshot's L1 and L2 tables as pieces of the file
 * (struct bsrc_extent), which the QEMU stream reader then reads.
 *
 * Layout: QEMU's docs/interop/qcow2.txt and block/qcow2*.c, as
 * fredck-formats(5) section "qcow2" cites them.  Every offset and size is
 * checked against the file before it is used; the tables of the state
 * must neither overlap each other nor the image's metadata.
 */
#ifndef FRED_QCOW2_IMAGE_H
#define FRED_QCOW2_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/fmt_error.h"
#include "formats/io/bsrc.h"

#define QCOW2_MAGIC 0x514649fbU /* "QFI\xfb" */

/* One entry of the snapshot table. */
struct qcow2_snap {
	uint64_t entry;         /* file offset of its table entry */
	uint64_t l1_offset;
	uint32_t l1_size;
	char *id, *name;        /* as stored (NUL added), may hold any byte */
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t vm_state_size; /* the extra data's 64-bit size when present */
	uint64_t disk_size;     /* the extra data's, else the image's size */
	bool disk_size_stored;  /* extra data holds it (else the header's size stands in) */
	uint32_t extra_size;
};

struct qcow2_image {
	const char *path;
	int fd;
	uint64_t file_size;
	uint32_t version;
	uint32_t cluster_bits;
	uint64_t cluster_size;
	uint64_t size;          /* the virtual disk size (header) */
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t refcount_table_offset;
	uint32_t refcount_table_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t snapshots_len; /* bytes of the snapshot table */
	uint64_t incompatible, compatible, autoclear;
	uint32_t refcount_order;
	uint32_t header_length;
	bool extended_l2;
	unsigned int l2_bits;   /* log2 of the entries in one L2 table */
	char backing[1024];     /* the backing file's name, "" when none */
	struct qcow2_snap *snaps;
};

/* The first bytes of a file are a qcow2 header's magic. */
bool qcow2_magic(const uint8_t *p, size_t len);

/* Read path's header and snapshot table into img; -1 with e filled (img closed). */
int qcow2_image_open(struct qcow2_image *img, const char *path, struct fmt_error *e);
void qcow2_image_close(struct qcow2_image *img);

/*
 * The snapshot that sel names: QEMU's rule (find_snapshot_by_id_or_name):
 * the first whose id is sel, else the first whose name is sel; -1 when none.
 */
long qcow2_find_snapshot(const struct qcow2_image *img, const char *sel);

/*
 * Where the VM state of snapshot k lies in the file: *x (malloc'ed,
 * *n pieces) covers the state's vm_state_size bytes, zeros where the
 * clusters read as zeros.  -1 with e filled: a table beyond the file,
 * overlapping or looping, reserved bits set, or a feature fredck does not
 * read (compressed clusters) -- naming the offset and field.
 */
int qcow2_state_extents(const struct qcow2_image *img, size_t k, struct bsrc_extent **x,
			size_t *n, struct fmt_error *e);

/*
 * The refcount of the cluster at file offset host (refcount table and
 * block, refcount_order's packing); 0 where no block covers it.
 */
int qcow2_refcount(const struct qcow2_image *img, uint64_t host, uint64_t *count,
		   struct fmt_error *e);

/* name made printable for messages and reports (\xNN for other bytes), into out. */
void qcow2_printable(const char *name, char *out, size_t len);

#endif
