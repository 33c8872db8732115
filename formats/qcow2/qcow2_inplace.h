/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2_inplace.h --- a repair written into a snapshot's VM state inside
 * the qcow2 image itself: the stream's byte edits (same length) written
 * over the state's own clusters, after their old content went to an undo
 * file beside the image; and the undo.
 *
 * Only clusters that this snapshot alone references (refcount 1) are
 * written, never the tables (no cluster is allocated, freed or moved), so
 * the image's metadata stays as qemu-img check found it.  An image that a
 * QEMU process holds open (its byte-range image locks) is refused.
 */
#ifndef FRED_QCOW2_INPLACE_H
#define FRED_QCOW2_INPLACE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/fmt_error.h"
#include "formats/io/bsrc.h"
#include "formats/qcow2/qcow2_image.h"
#include "formats/qemu/qemu_edit.h"

/*
 * Refuse (-1, e filled) when a process holds QEMU's image locks on the
 * file open as fd (block/file-posix.c: OFD read locks on bytes 100 + a
 * permission bit and 200 + an unshared permission bit).  With hold, take
 * the same kind of locks on fd so that QEMU refuses the image until fd is
 * closed.
 */
int qcow2_check_qemu_lock(int fd, const char *path, bool hold, struct fmt_error *e);

/*
 * Apply ed (every edit replaces as many bytes as it removes; offsets in the
 * state, whose pieces in the file are x[nx]) to the image img read, after
 * writing the old content of each cluster it changes to undo_path (a new
 * file, fsynced first).  Refused, nothing written: a byte of the state that
 * reads as zeros (no cluster to write), a cluster whose refcount is not 1,
 * a locked image, an image that changed since it was read.
 */
int qcow2_apply_in_place(const struct qcow2_image *img, const struct bsrc_extent *x, size_t nx,
			 const struct edits *ed, const char *undo_path, struct fmt_error *e);

/*
 * Put back the clusters that undo_path holds into the image it names (or
 * image, when not NULL), provided the image is the same (size and header
 * cluster) and each cluster holds either the repair's bytes or already the
 * original's.  The image's path goes to out[len]; *restored counts the
 * clusters written back.
 */
int qcow2_undo(const char *undo_path, const char *image, char *out, size_t len,
	       size_t *restored, struct fmt_error *e);

#endif
