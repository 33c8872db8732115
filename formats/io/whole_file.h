/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * whole_file.h --- reading a small input file whole, and writing a buffer
 * whole: the one way every format does either.
 */
#ifndef FRED_IO_WHOLE_FILE_H
#define FRED_IO_WHOLE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "formats/fmt_error.h"

/* How read_whole_file treats path. */
enum {
	WF_OPTIONAL = 1 << 0, /* absent (ENOENT) is not an error: returns 1 */
	WF_NOFOLLOW = 1 << 1, /* a symbolic link at path is malformed input */
};

/*
 * Read the regular file path whole (or, for "-", standard input, whatever
 * it is: read until its end, the buffer bounded by max), at most max bytes; what names the
 * content for the size error ("KVM structure", "Firecracker state file").
 * Anything but a regular file (a FIFO, a socket, a device) is malformed
 * input, refused before it is read, so nothing blocks.  A read error is
 * reported with its errno, never as a wrong size; a file whose size
 * changes while it is read is an error too.
 *
 * Returns 0 with *buf (malloc'ed, one spare byte) of *len bytes and *st
 * (when not NULL) filled; 1 when WF_OPTIONAL and path does not exist; -1
 * with e filled.
 */
int read_whole_file(const char *path, size_t max, const char *what, unsigned int flags,
		    uint8_t **buf, size_t *len, struct stat *st, struct fmt_error *e);

/*
 * Open path for reading, only if it is a regular file: it is looked at
 * before it is opened (opening a device or a FIFO can have effects, or
 * block) and the object opened is checked again.  The descriptor, with *st
 * filled; -2 when WF_OPTIONAL and path does not exist; -1 with e filled.
 */
int open_regular_file(const char *path, unsigned int flags, struct stat *st,
		      struct fmt_error *e);

/*
 * "a FIFO", "a socket", "a character device", ... for the file type of mode;
 * "a regular file" for one.
 */
const char *file_type_name(mode_t mode);

/*
 * Write len bytes of buf to fd, whatever the short writes: 0, or -1 with
 * errno set (EIO for a write that wrote nothing).
 */
int write_full(int fd, const void *buf, size_t len);

/* write_full, with a failure reported in e, naming path. */
int write_all(int fd, const void *buf, size_t len, const char *path, struct fmt_error *e);

#endif
