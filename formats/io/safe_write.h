/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * safe_write.h --- the writing rules of docs/design.md section 4, shared by the
 * writers: build the result under a temporary name beside the target,
 * fsync it, and only then rename it into place, never over an existing
 * output or backup.
 */
#ifndef FRED_SAFE_WRITE_H
#define FRED_SAFE_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "formats/fmt_error.h"
#include "formats/format.h"

/*
 * Work out the target of w for an input whose resolved path is real:
 * w->out_path or real itself (in place), and the backup path.  Refuses
 * (FMT_ERR_REFUSED) when -o names an existing path.  The backup is
 * real+SUFFIX, or when that exists and holds something else (the original
 * of an earlier repair, say), the first free real+SUFFIX.N (N = 1, 2, ...):
 * no original is ever overwritten or removed.  An existing backup that
 * already holds the input -- by hard links (what a run killed after making
 * its backup leaves, or a directory cloned as sw_clone_tree does) or byte
 * for byte -- is the backup: it is kept and w->backup_linked set.
 */
int sw_prepare(const char *real, struct write_request *w, char *target, size_t len,
	       struct fmt_error *e);

/* A new empty directory beside target, named .NAME.fredck-XXXXXX, mode and owner of like. */
int sw_temp_dir(const char *target, const char *like, char *tmp, size_t len,
		struct fmt_error *e);

/*
 * Fill the empty directory dst with src's tree: directories recreated with
 * their modes, files hard-linked (copied across file systems), symlinks
 * recreated.
 */
int sw_clone_tree(const char *src, const char *dst, struct fmt_error *e);

/*
 * Make dst, inside a temporary tree, a real directory holding a clone of
 * src: when the input had a symlink there, writing through the cloned link
 * would modify the input.  A no-op when dst already is a real directory.
 */
int sw_materialise_dir(const char *src, const char *dst, struct fmt_error *e);

/* Replace path (a link in the temporary tree) by a new file holding buf, fsync'ed. */
int sw_replace_file(const char *path, const void *buf, size_t len, mode_t mode,
		    struct fmt_error *e);

/* fsync every directory (and the files it created by copying) under dir. */
int sw_fsync_tree(const char *dir, struct fmt_error *e);

/* Remove a tree (a temporary directory, or an old one when --no-backup). */
void sw_remove_tree(const char *dir);

/*
 * An object a writer read, to be found as it was when its result is
 * committed: the input file, or an input directory and each file of it
 * that the repair replaces.  What is committed, backed up and replaced is
 * what was read, never another object that came to be at the path.
 */
struct sw_source {
	char *path;     /* where it was opened (resolved) */
	int fd;         /* open on it for the whole run, or -1 */
	struct stat st; /* as it was opened and read */
};

struct sw_sources {
	struct sw_source *v;
	size_t n, cap;
};

/*
 * Add a source: path (copied), fd (-1 when not kept open), st as read.
 * The first one added is the input itself.  -1 with e filled (no memory).
 */
int sw_add_source(struct sw_sources *s, const char *path, int fd, const struct stat *st,
		  struct fmt_error *e);
void sw_sources_free(struct sw_sources *s);

/*
 * A path that names the object open as fd ("/proc/self/fd/N"), into buf;
 * NULL when there is none (no /proc): the caller then uses the object's
 * own path, which the commit compares with what was read.
 */
const char *sw_fd_path(int fd, char *buf, size_t len);

/*
 * Is every source as read?  In place (at_path), the object now at each
 * path is compared with the one read: device, inode, type, size and
 * modification time (nanoseconds).  Otherwise (-o), a source kept open is
 * compared with itself (its size and modification time), and one not kept
 * open with what is at its path.  0, or -1 with e (FMT_ERR_REFUSED) naming
 * the first change: "was replaced while fredck repaired it", "grew", ...
 */
int sw_sources_unchanged(const struct sw_sources *s, bool at_path, struct fmt_error *e);

/*
 * Move the verified temporary directory tmp into place: renamed to target
 * (never over an existing path) for -o; for --in-place, first the backup
 * is made (a clone of target, hard links, under the backup name), then tmp
 * is exchanged atomically with target (renameat2 RENAME_EXCHANGE) and the
 * old directory removed.  Killed at any point, target holds the original
 * or the repair, and a backup present is complete (present whenever the
 * repair is, unless --no-backup).  As sw_commit_file, nothing is committed
 * when src changed; the backup is cloned from src's first descriptor (the
 * directory as opened) when it has one.
 */
int sw_commit_dir(const char *tmp, const char *target, struct write_request *w,
		  const struct sw_sources *src, struct fmt_error *e);

/*
 * A new empty file beside target, created with O_EXCL as
 * .NAME.fredck-XXXXXX, with the mode and owner of like; its fd in *fd.
 */
int sw_temp_file(const char *target, const char *like, char *tmp, size_t len, int *fd,
		 struct fmt_error *e);

/*
 * Copy bytes [from, to) of in to out at out_off, keeping holes as holes
 * (mapped-ram files are sparse).
 */
int sw_copy_range(int in, const char *in_path, int out, const char *out_path, uint64_t from,
		  uint64_t to, uint64_t out_off, struct fmt_error *e);

/*
 * Move the verified, fsync'ed temporary file tmp into place: renamed to
 * target, never over an existing path, for -o; for --in-place the
 * original is first hard-linked to its backup name (so the input path
 * always holds a complete file), then tmp is renamed over it.  src says
 * what was read (NULL: nothing to compare): the commit is refused when it
 * changed (sw_sources_unchanged, checked before the backup and again just
 * before the rename), and the backup is linked from src's first
 * descriptor when it has one (by file descriptor, not by path; a copy
 * read from it where a link cannot be made).
 */
int sw_commit_file(const char *tmp, const char *target, struct write_request *w,
		   const struct sw_sources *src, struct fmt_error *e);

/*
 * An error e met while making the repaired copy of target (before the
 * commit), rephrased to name target and say it is unchanged (in place) or
 * not written (-o), the temporary path it happened at given relative to
 * target's directory: the temporary is gone by the time the user reads it.
 */
void sw_explain(struct fmt_error *e, const char *target, const struct write_request *w);

/*
 * Call fn(path, ctx) for each temporary name beside target
 * (.NAME.fredck-XXXXXX) that a killed run left behind, or that a run
 * still going is using.  None of them is needed: the input and its backup
 * never depend on one.
 */
void sw_leftovers(const char *target, void (*fn)(const char *path, void *ctx), void *ctx);

/*
 * Remove every temporary file and directory being written (made by
 * sw_temp_file or sw_temp_dir and not committed): for a signal handler
 * (SIGINT, SIGTERM, SIGHUP), so it uses only system calls.  Returns how
 * many it removed.  Putting a result in place (sw_commit_*) holds those
 * signals until it is done.
 */
int sw_remove_pending(void);

/* Remove the temporary file tmp (made by sw_temp_file) that will not be committed. */
void sw_discard_temp(const char *tmp);

/* Is name (a directory entry) one of fredck's temporary names, .NAME.fredck-XXXXXX? */
bool sw_is_temp_name(const char *name);

#endif
