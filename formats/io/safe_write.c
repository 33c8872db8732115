/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * safe_write.c --- temporary trees, hard links, fsync and atomic renames.
 *
 * The input is never modified: a repaired directory is a new tree whose
 * unchanged files are hard links to the input's, with the changed files
 * written anew.  A crash at any point leaves the input and any backup
 * complete; at worst a .NAME.fredck-XXXXXX file or directory is left
 * behind, which nothing needs (tests/crash/kill-points.sh checks this at
 * every system call).
 */
#include "config.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <signal.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/io/progress.h"
#include "formats/io/safe_write.h"
#include "formats/io/whole_file.h"

#define COPY_CHUNK (1U << 20)

static int path_join(char *out, size_t len, const char *a, const char *b)
{
	int n = snprintf(out, len, "%s/%s", a, b);

	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

/* dirname() and basename() modify their argument: work on copies. */
static void split_path(const char *path, char *dir, char *base, size_t len)
{
	char a[PATH_MAX], b[PATH_MAX];

	snprintf(a, sizeof(a), "%s", path);
	snprintf(b, sizeof(b), "%s", path);
	snprintf(dir, len, "%s", dirname(a));
	snprintf(base, len, "%s", basename(b));
}

/* The parent directory of path (resolved) is dir or below it. */
static bool is_inside(const char *path, const char *dir)
{
	char parent[PATH_MAX], base[PATH_MAX], resolved[PATH_MAX];
	size_t n = strlen(dir);

	split_path(path, parent, base, sizeof(parent));
	if (!realpath(parent, resolved))
		return false;
	return strncmp(resolved, dir, n) == 0 && (resolved[n] == '\0' || resolved[n] == '/');
}

static bool is_clone_of(const char *copy, const char *orig);

/* One entry of a clone: the same type; a file the same inode; a link the same target. */
static bool entry_is_clone(const char *copy, const char *orig)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct stat sc, so;
	ssize_t n, m;

	if (lstat(copy, &sc) != 0 || lstat(orig, &so) != 0 ||
	    (sc.st_mode & S_IFMT) != (so.st_mode & S_IFMT))
		return false;
	if (S_ISREG(sc.st_mode))
		return sc.st_dev == so.st_dev && sc.st_ino == so.st_ino;
	if (S_ISDIR(sc.st_mode))
		return is_clone_of(copy, orig);
	if (!S_ISLNK(sc.st_mode))
		return false;
	n = readlink(copy, a, sizeof(a));
	m = readlink(orig, b, sizeof(b));
	return n >= 0 && n == m && memcmp(a, b, (size_t)n) == 0;
}

/* The number of entries of dir (without . and ..), -1 when it cannot be read. */
static long count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	long n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

/*
 * The directory copy is a clone of orig as sw_clone_tree makes it (every
 * file a hard link): what a run killed after making a directory's backup
 * leaves.
 */
static bool is_clone_of(const char *copy, const char *orig)
{
	DIR *d = opendir(copy);
	struct dirent *de;
	bool same = d != NULL;
	long n = 0;

	while (same && (de = readdir(d))) {
		char c[PATH_MAX], o[PATH_MAX];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		same = path_join(c, sizeof(c), copy, de->d_name) == 0 &&
		       path_join(o, sizeof(o), orig, de->d_name) == 0 && entry_is_clone(c, o);
	}
	if (d)
		closedir(d);
	return same && count_entries(orig) == n;
}

/* The existing backup (lstat st) already holds the input real, by hard links. */
static bool is_backup_of(const char *backup, const struct stat *st, const char *real)
{
	struct stat in;

	if (lstat(real, &in) != 0)
		return false;
	if (S_ISREG(st->st_mode) && S_ISREG(in.st_mode))
		return st->st_dev == in.st_dev && st->st_ino == in.st_ino;
	return S_ISDIR(st->st_mode) && S_ISDIR(in.st_mode) && is_clone_of(backup, real);
}

/* Do the regular files a and b (both open) hold the same bytes? */
static bool same_bytes(int a, int b)
{
	static char x[1U << 16], y[1U << 16];
	ssize_t n, m;

	for (off_t off = 0;; off += n) {
		n = pread(a, x, sizeof(x), off);
		m = pread(b, y, sizeof(y), off);
		if (n < 0 || n != m || memcmp(x, y, (size_t)n) != 0)
			return false;
		if (n == 0)
			return true;
	}
}

static bool same_tree(const char *a, const char *b, int depth);

/* Entries a and b (a of type st) hold the same: bytes, link target, or tree. */
static bool same_entry(const char *a, const struct stat *sa, const char *b, int depth)
{
	struct stat sb;

	if (lstat(b, &sb) != 0 || (sa->st_mode & S_IFMT) != (sb.st_mode & S_IFMT))
		return false;
	if (S_ISREG(sa->st_mode)) {
		int fa, fb;
		bool same;

		if (sa->st_size != sb.st_size)
			return false;
		fa = open(a, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		fb = open(b, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		same = fa >= 0 && fb >= 0 && same_bytes(fa, fb);
		if (fa >= 0)
			close(fa);
		if (fb >= 0)
			close(fb);
		return same;
	}
	if (S_ISDIR(sa->st_mode))
		return depth > 0 && same_tree(a, b, depth - 1);
	if (S_ISLNK(sa->st_mode)) {
		char x[PATH_MAX], y[PATH_MAX];
		ssize_t n = readlink(a, x, sizeof(x)), m = readlink(b, y, sizeof(y));

		return n >= 0 && n == m && memcmp(x, y, (size_t)n) == 0;
	}
	return false;
}

/* The directories a and b hold the same names, each with the same content. */
static bool same_tree(const char *a, const char *b, int depth)
{
	DIR *d = opendir(a);
	struct dirent *de;
	bool same = d != NULL;
	long n = 0;

	while (same && (de = readdir(d))) {
		char x[PATH_MAX], y[PATH_MAX];
		struct stat sx;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		same = path_join(x, sizeof(x), a, de->d_name) == 0 &&
		       path_join(y, sizeof(y), b, de->d_name) == 0 && lstat(x, &sx) == 0 &&
		       same_entry(x, &sx, y, depth);
	}
	if (d)
		closedir(d);
	return same && count_entries(b) == n;
}

/*
 * The existing backup (lstat st) already holds the input real: by hard
 * links (a killed run's), or byte for byte (a save repaired before, saved
 * again unchanged; a copy the operator made).
 */
static bool holds_input(const char *backup, const struct stat *st, const char *real)
{
	return is_backup_of(backup, st, real) || same_entry(backup, st, real, 16);
}

/* The most numbered backups of one input (NAME.orig.1 ... NAME.orig.9999). */
#define BACKUPS_MAX 9999

/*
 * The backup of real: real+SUFFIX, or the first real+SUFFIX.N that is
 * free, unless one of them already holds the input (then it is the backup,
 * and none is made).  An earlier original is never overwritten: a libvirt
 * domain saved, repaired, restored and saved again keeps both.
 */
static int choose_backup(const char *real, struct write_request *w, struct fmt_error *e)
{
	struct stat st;

	for (unsigned int i = 0; i <= BACKUPS_MAX; i++) {
		int n = i ? snprintf(w->backup, sizeof(w->backup), "%s%s.%u", real, w->backup_suffix, i) :
			    snprintf(w->backup, sizeof(w->backup), "%s%s", real, w->backup_suffix);

		if (n < 0 || (size_t)n >= sizeof(w->backup)) {
			w->backup[0] = '\0';
			return fmt_fail(e, FMT_ERR_REFUSED, real, "backup path too long");
		}
		if (lstat(w->backup, &st) != 0) {
			if (errno == ENOENT)
				return 0;
			return fmt_syserr(e, w->backup, errno, "cannot look at the backup name");
		}
		if (holds_input(w->backup, &st, real)) {
			w->backup_linked = true;
			return 0;
		}
	}
	fmt_fail(e, FMT_ERR_REFUSED, w->backup,
		 "backups %s%s to %s%s.%u exist already, none of them this input: fredck never "
		 "overwrites a backup; move the old ones away", real, w->backup_suffix, real,
		 w->backup_suffix, BACKUPS_MAX);
	w->backup[0] = '\0';
	return -1;
}

int sw_prepare(const char *real, struct write_request *w, char *target, size_t len,
	       struct fmt_error *e)
{
	struct stat st;

	w->backup[0] = '\0';
	w->backup_linked = false;
	if (!w->in_place) {
		snprintf(target, len, "%s", w->out_path);
		if (lstat(target, &st) == 0)
			return fmt_fail(e, FMT_ERR_REFUSED, target,
					"output already exists; fredck never overwrites: remove it or "
					"choose another name");
		if (is_inside(target, real))
			return fmt_fail(e, FMT_ERR_REFUSED, target,
					"output inside the input '%s': choose a path outside it", real);
		return 0;
	}
	snprintf(target, len, "%s", real);
	if (w->no_backup)
		return 0;
	return choose_backup(real, w, e);
}

/* ---- what was read, at the commit ------------------------------------------ */

int sw_add_source(struct sw_sources *s, const char *path, int fd, const struct stat *st,
		  struct fmt_error *e)
{
	char *copy = strdup(path);

	if (copy && s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4;
		struct sw_source *v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			free(copy);
			copy = NULL;
		} else {
			s->v = v;
			s->cap = cap;
		}
	}
	if (!copy)
		return fmt_syserr(e, path, ENOMEM, "cannot write");
	s->v[s->n++] = (struct sw_source){ .path = copy, .fd = fd, .st = *st };
	return 0;
}

void sw_sources_free(struct sw_sources *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].path);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

const char *sw_fd_path(int fd, char *buf, size_t len)
{
	if (fd < 0 || (size_t)snprintf(buf, len, "/proc/self/fd/%d", fd) >= len ||
	    access(buf, F_OK) != 0)
		return NULL;
	return buf;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* How now differs from was, as the message says it ("grew ..."); NULL when it does not. */
static const char *change_of(const struct stat *was, const struct stat *now, char *why,
			     size_t len)
{
	const char *what = S_ISDIR(was->st_mode) ? "directory" : "file";

	if (now->st_dev != was->st_dev || now->st_ino != was->st_ino ||
	    (now->st_mode & S_IFMT) != (was->st_mode & S_IFMT))
		snprintf(why, len, "was replaced while fredck repaired it (%s inode %llu was read; "
			 "%s, inode %llu%s, is there now)", what, (unsigned long long)was->st_ino,
			 file_type_name(now->st_mode), (unsigned long long)now->st_ino,
			 now->st_dev != was->st_dev ? " of another file system" : "");
	else if (!S_ISDIR(was->st_mode) && now->st_size != was->st_size)
		snprintf(why, len, "%s while fredck repaired it (%lld bytes read, %lld now)",
			 now->st_size > was->st_size ? "grew" : "shrank", (long long)was->st_size,
			 (long long)now->st_size);
	else if (!same_time(&now->st_mtim, &was->st_mtim))
		snprintf(why, len, "changed while fredck repaired it (its %s modified after it "
			 "was read)", S_ISDIR(was->st_mode) ? "entries were" : "content was");
	else
		return NULL;
	return why;
}

int sw_sources_unchanged(const struct sw_sources *s, bool at_path, struct fmt_error *e)
{
	for (size_t i = 0; s && i < s->n; i++) {
		const struct sw_source *x = &s->v[i];
		char why[256];
		struct stat now;
		int rc = at_path || x->fd < 0 ? stat(x->path, &now) : fstat(x->fd, &now);

		if (rc != 0 && errno == ENOENT)
			return fmt_fail(e, FMT_ERR_REFUSED, x->path,
					"was removed or renamed while fredck repaired it; nothing "
					"was committed");
		if (rc != 0)
			return fmt_syserr(e, x->path, errno, "cannot look at it again before the commit");
		if (change_of(&x->st, &now, why, sizeof(why)))
			return fmt_fail(e, FMT_ERR_REFUSED, x->path,
					"%s; nothing was committed, and what is at the path is left as it is",
					why);
	}
	return 0;
}

/* The mkstemp template beside target: DIR/.NAME.fredck-XXXXXX; dir gets DIR. */
static int temp_template(const char *target, char *tmp, size_t len, char *dir,
			 struct fmt_error *e)
{
	char base[PATH_MAX];

	split_path(target, dir, base, PATH_MAX);
	if ((size_t)snprintf(tmp, len, "%s/.%s.fredck-XXXXXX", dir, base) >= len)
		return fmt_fail(e, FMT_ERR_SYSTEM, target, "path too long");
	return 0;
}

/* ---- what is being written, for an interrupt -------------------------------- */

/*
 * The temporary files and directories being written, so that SIGINT,
 * SIGTERM or SIGHUP can remove them (sw_remove_pending, from the CLI's
 * handler) and leave nothing half made.  A slot is filled while the
 * cancelling signals are blocked, so the handler never sees one half
 * written; a committed temporary is forgotten, also with the signals
 * blocked, before its rename.
 */
#define PENDING_MAX 16

static struct pending {
	volatile sig_atomic_t used;
	bool dir;
	char path[PATH_MAX];
} pending[PENDING_MAX];

static void block_cancel(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, old);
}

static void unblock_cancel(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

static void pending_add(const char *path, bool dir)
{
	/* A slot is free, or holds a temporary a failed writer already removed. */
	for (int i = 0; i < PENDING_MAX; i++)
		if (!pending[i].used || access(pending[i].path, F_OK) != 0) {
			pending[i].used = 0;
			pending[i].dir = dir;
			snprintf(pending[i].path, sizeof(pending[i].path), "%s", path);
			pending[i].used = 1;
			return;
		}
	/* Sixteen live temporaries (never, in practice): this one is named by the next run. */
}

static void pending_forget(const char *path)
{
	for (int i = 0; i < PENDING_MAX; i++)
		if (pending[i].used && strcmp(pending[i].path, path) == 0)
			pending[i].used = 0;
}

/*
 * Remove the tree below the open directory fd with system calls only: a
 * signal handler may.  Each pass reads the directory from its start and
 * removes what it lists; it ends when a pass removes nothing (only "."
 * and ".." are left, or what cannot be removed, which stays).
 */
static void remove_below(int fd, int depth)
{
	bool removed = true;

	while (depth > 0 && removed) {
		char buf[4096];
		long n;

		removed = false;
		if (lseek(fd, 0, SEEK_SET) < 0)
			return;
		while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
			for (long at = 0; at < n;) {
				/* struct linux_dirent64: ino, off, reclen, type, name. */
				unsigned short reclen;
				unsigned char type = (unsigned char)buf[at + 18];
				const char *name = buf + at + 19;

				memcpy(&reclen, buf + at + 16, sizeof(reclen));
				at += reclen;
				if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
					continue;
				if (type == DT_DIR || type == DT_UNKNOWN) {
					int sub = openat(fd, name,
							 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

					if (sub >= 0) {
						remove_below(sub, depth - 1);
						close(sub);
						removed |= unlinkat(fd, name, AT_REMOVEDIR) == 0;
						continue;
					}
				}
				removed |= unlinkat(fd, name, 0) == 0;
			}
	}
}

void sw_discard_temp(const char *tmp)
{
	unlink(tmp);
	pending_forget(tmp);
}

int sw_remove_pending(void)
{
	int removed = 0;

	for (int i = 0; i < PENDING_MAX; i++) {
		if (!pending[i].used)
			continue;
		if (pending[i].dir) {
			int fd = open(pending[i].path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (fd >= 0) {
				remove_below(fd, 8);
				close(fd);
			}
			removed += rmdir(pending[i].path) == 0;
		} else {
			removed += unlink(pending[i].path) == 0;
		}
		pending[i].used = 0;
	}
	return removed;
}

int sw_temp_dir(const char *target, const char *like, char *tmp, size_t len,
		struct fmt_error *e)
{
	char dir[PATH_MAX];
	struct stat st;

	sigset_t old;
	bool made;

	if (temp_template(target, tmp, len, dir, e))
		return -1;
	block_cancel(&old);
	made = mkdtemp(tmp) != NULL;
	if (made)
		pending_add(tmp, true);
	unblock_cancel(&old);
	if (!made)
		return fmt_syserr(e, dir, errno, "cannot create a temporary directory");
	/* Keep the input's owner and mode; chown fails harmlessly when not root. */
	if (stat(like, &st) == 0 &&
	    ((chown(tmp, st.st_uid, st.st_gid) != 0 && errno != EPERM) ||
	     chmod(tmp, st.st_mode & 07777) != 0)) {
		fmt_syserr(e, tmp, errno, "cannot set the owner and mode");
		rmdir(tmp);
		return -1;
	}
	return 0;
}

static int copy_file(const char *src, const char *dst, const struct stat *st,
		     struct fmt_error *e)
{
	int in = -1, out = -1, rc = -1;
	char *buf = malloc(COPY_CHUNK);
	ssize_t n;

	if (!buf)
		return fmt_syserr(e, dst, ENOMEM, "cannot copy");
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		fmt_syserr(e, src, errno, "cannot open");
		goto out;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
	if (out < 0) {
		fmt_syserr(e, dst, errno, "cannot create");
		goto out;
	}
	while ((n = read(in, buf, COPY_CHUNK)) > 0)
		if (write_full(out, buf, (size_t)n) != 0) {
			fmt_syserr(e, dst, errno, "cannot write");
			goto out;
		}
	if (n < 0) {
		fmt_syserr(e, src, errno, "cannot read");
		goto out;
	}
	/* chown first: it may clear set-id bits that fchmod then restores. */
	if (fchown(out, st->st_uid, st->st_gid) != 0 && errno != EPERM) {
		fmt_syserr(e, dst, errno, "cannot set the owner");
		goto out;
	}
	if (fchmod(out, st->st_mode & 07777) != 0) {
		fmt_syserr(e, dst, errno, "cannot set the mode");
		goto out;
	}
	if (fsync(out) != 0) {
		fmt_syserr(e, dst, errno, "cannot fsync");
		goto out;
	}
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0 && rc == 0)
		rc = fmt_syserr(e, dst, errno, "cannot close");
	free(buf);
	return rc;
}

static int clone_entry(const char *src, const char *dst, struct fmt_error *e);

/* mkdir dst with the mode and owner of st (chmod: the umask must not narrow it). */
static int make_dir_like(const char *dst, const struct stat *st, struct fmt_error *e)
{
	if (mkdir(dst, 0700) != 0)
		return fmt_syserr(e, dst, errno, "cannot create the directory");
	if (chown(dst, st->st_uid, st->st_gid) != 0 && errno != EPERM)
		return fmt_syserr(e, dst, errno, "cannot set the owner");
	if (chmod(dst, st->st_mode & 07777) != 0)
		return fmt_syserr(e, dst, errno, "cannot set the mode");
	return 0;
}

static int clone_dir(const char *src, const char *dst, const struct stat *st,
		     struct fmt_error *e)
{
	DIR *d = opendir(src);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return fmt_syserr(e, src, errno, "cannot open the directory");
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		char s[PATH_MAX], t[PATH_MAX];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (path_join(s, sizeof(s), src, de->d_name) || path_join(t, sizeof(t), dst, de->d_name))
			rc = fmt_fail(e, FMT_ERR_SYSTEM, src, "path too long");
		else
			rc = clone_entry(s, t, e);
	}
	if (rc == 0 && errno)
		rc = fmt_syserr(e, src, errno, "cannot read the directory");
	closedir(d);
	return rc;
}

static int clone_entry(const char *src, const char *dst, struct fmt_error *e)
{
	struct stat st;
	char link_target[PATH_MAX];
	ssize_t n;

	if (lstat(src, &st) != 0)
		return fmt_syserr(e, src, errno, "cannot stat");
	if (S_ISDIR(st.st_mode)) {
		if (make_dir_like(dst, &st, e) != 0)
			return -1;
		return clone_dir(src, dst, &st, e);
	}
	if (S_ISLNK(st.st_mode)) {
		n = readlink(src, link_target, sizeof(link_target) - 1);
		if (n < 0)
			return fmt_syserr(e, src, errno, "cannot read the link");
		link_target[n] = '\0';
		if (symlink(link_target, dst) != 0)
			return fmt_syserr(e, dst, errno, "cannot create the link");
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, src,
				"not a regular file, directory or symlink: cannot copy it");
	if (link(src, dst) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM && errno != EMLINK)
		return fmt_syserr(e, dst, errno, "cannot link");
	return copy_file(src, dst, &st, e);
}

int sw_clone_tree(const char *src, const char *dst, struct fmt_error *e)
{
	struct stat st;

	if (stat(src, &st) != 0)
		return fmt_syserr(e, src, errno, "cannot stat");
	return clone_dir(src, dst, &st, e);
}

int sw_materialise_dir(const char *src, const char *dst, struct fmt_error *e)
{
	struct stat lst, st;

	if (lstat(dst, &lst) != 0)
		return fmt_syserr(e, dst, errno, "cannot stat");
	if (S_ISDIR(lst.st_mode))
		return 0;
	if (stat(src, &st) != 0 || !S_ISDIR(st.st_mode))
		return fmt_fail(e, FMT_ERR_MALFORMED, src, "not a directory");
	if (unlink(dst) != 0)
		return fmt_syserr(e, dst, errno, "cannot replace the link");
	if (make_dir_like(dst, &st, e) != 0)
		return -1;
	return clone_dir(src, dst, &st, e);
}

int sw_replace_file(const char *path, const void *buf, size_t len, mode_t mode,
		    struct fmt_error *e)
{
	struct stat st;
	int fd;

	/* Keep the owner of the file being replaced (a hard link to the input's). */
	if (lstat(path, &st) != 0)
		return fmt_syserr(e, path, errno, "cannot stat");
	if (unlink(path) != 0)
		return fmt_syserr(e, path, errno, "cannot replace");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
	if (fd < 0)
		return fmt_syserr(e, path, errno, "cannot create");
	if (write_full(fd, buf, len) != 0) {
		fmt_syserr(e, path, errno, "cannot write");
		close(fd);
		return -1;
	}
	if ((fchown(fd, st.st_uid, st.st_gid) != 0 && errno != EPERM) ||
	    fchmod(fd, mode & 07777) != 0) {
		fmt_syserr(e, path, errno, "cannot set the owner and mode");
		close(fd);
		return -1;
	}
	if (fsync(fd) != 0) {
		fmt_syserr(e, path, errno, "cannot fsync");
		close(fd);
		return -1;
	}
	if (close(fd) != 0)
		return fmt_syserr(e, path, errno, "cannot close");
	return 0;
}

static int fsync_path(const char *path, struct fmt_error *e)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return fmt_syserr(e, path, errno, "cannot open");
	if (fsync(fd) != 0) {
		fmt_syserr(e, path, errno, "cannot fsync");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int sw_fsync_tree(const char *dir, struct fmt_error *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return fmt_syserr(e, dir, errno, "cannot open the directory");
	while (rc == 0 && (de = readdir(d))) {
		char p[PATH_MAX];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (path_join(p, sizeof(p), dir, de->d_name) == 0 && lstat(p, &st) == 0 &&
		    S_ISDIR(st.st_mode))
			rc = sw_fsync_tree(p, e);
	}
	closedir(d);
	return rc ? rc : fsync_path(dir, e);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void sw_remove_tree(const char *dir)
{
	sigset_t old;

	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	block_cancel(&old);
	pending_forget(dir);
	unblock_cancel(&old);
}

static int fsync_parent(const char *path, struct fmt_error *e)
{
	char dir[PATH_MAX], base[PATH_MAX];

	split_path(path, dir, base, sizeof(dir));
	return fsync_path(dir, e);
}

/*
 * The backup of a directory: a clone of it (hard links) built under a
 * temporary name and renamed to the backup name before the exchange, so
 * that whenever the input holds the repair a complete backup exists.
 * (Exchanging first and renaming the old directory afterwards leaves, if
 * killed in between, the original only under a temporary name.)
 */
static int make_dir_backup(const char *target, struct write_request *w,
			   const struct sw_sources *src, struct fmt_error *e)
{
	const struct sw_source *in = src && src->n ? &src->v[0] : NULL;
	char tmp[PATH_MAX], buf[64];
	/* The directory as opened, when it was kept open; else the path (just compared). */
	const char *from = in && S_ISDIR(in->st.st_mode) ? sw_fd_path(in->fd, buf, sizeof(buf)) : NULL;
	int err;

	if (sw_temp_dir(target, target, tmp, sizeof(tmp), e) != 0)
		return -1;
	if (sw_clone_tree(from ? from : target, tmp, e) != 0 || sw_fsync_tree(tmp, e) != 0) {
		sw_remove_tree(tmp);
		return -1;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, w->backup, RENAME_NOREPLACE) != 0) {
		err = errno;
		sw_remove_tree(tmp);
		return fmt_syserr(e, w->backup, err, "cannot create the backup");
	}
	pending_forget(tmp); /* it is the backup now (signals are held: see sw_commit_dir) */
	return fsync_parent(w->backup, e);
}

static int commit_dir(const char *tmp, const char *target, struct write_request *w,
		      const struct sw_sources *src, struct fmt_error *e);

/*
 * Putting the result in place is not interrupted: a cancelling signal that
 * arrives meanwhile waits until the input is the complete original or the
 * complete repair with its backup, and the temporary is no longer one to
 * remove.
 */
int sw_commit_dir(const char *tmp, const char *target, struct write_request *w,
		  const struct sw_sources *src, struct fmt_error *e)
{
	sigset_t old;
	int rc;

	block_cancel(&old);
	pending_forget(tmp);
	rc = commit_dir(tmp, target, w, src, e);
	/* Failed: the caller removes tmp (or keeps it, holding the original). */
	unblock_cancel(&old);
	return rc;
}

static int commit_dir(const char *tmp, const char *target, struct write_request *w,
		      const struct sw_sources *src, struct fmt_error *e)
{
	bool made;
	int err;

	/* The directory and the files the repair replaces are those that were read. */
	if (sw_sources_unchanged(src, true, e) != 0)
		return -1;
	if (!w->in_place) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_NOREPLACE) != 0)
			return fmt_syserr(e, target, errno, "cannot rename the repaired copy into place");
		snprintf(w->written, sizeof(w->written), "%s", target);
		return fsync_parent(target, e);
	}
	made = !w->no_backup && !w->backup_linked;
	if (made && make_dir_backup(target, w, src, e) != 0)
		return -1;
	/* Once more just before the exchange: a change while the backup was made. */
	if (sw_sources_unchanged(src, true, e) != 0) {
		if (made)
			sw_remove_tree(w->backup);
		return -1;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_EXCHANGE) != 0) {
		err = errno;
		/* Nothing was replaced: the backup made above would only block the next run. */
		if (made)
			sw_remove_tree(w->backup);
		return fmt_syserr(e, target, err,
				  "cannot exchange the repaired directory with the original");
	}
	snprintf(w->written, sizeof(w->written), "%s", target);
	if (fsync_parent(target, e) != 0)
		return -1;
	/* tmp now holds the original, which the backup (or --no-backup) makes redundant. */
	sw_remove_tree(tmp);
	return 0;
}

int sw_temp_file(const char *target, const char *like, char *tmp, size_t len, int *fd,
		 struct fmt_error *e)
{
	char dir[PATH_MAX];
	struct stat st;

	sigset_t old;

	if (temp_template(target, tmp, len, dir, e))
		return -1;
	block_cancel(&old);
	*fd = mkostemp(tmp, O_CLOEXEC);
	if (*fd >= 0)
		pending_add(tmp, false);
	unblock_cancel(&old);
	if (*fd < 0)
		return fmt_syserr(e, dir, errno, "cannot create a temporary file");
	if (stat(like, &st) == 0 &&
	    ((fchown(*fd, st.st_uid, st.st_gid) != 0 && errno != EPERM) ||
	     fchmod(*fd, st.st_mode & 07777) != 0)) {
		fmt_syserr(e, tmp, errno, "cannot set the owner and mode");
		close(*fd);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * The most one copy_file_range call is asked to copy: between two calls the
 * copy reports its progress, so that a multi-GB copy (a few seconds per
 * call otherwise) is seen to move.  Large enough that the calls cost
 * nothing measurable (bench/RESULTS.md, "repair -o").
 */
#define COPY_STEP (64ULL << 20)

/* How far the copy of in has got (the input's offset src), if anyone listens. */
static void copy_progress(int in, loff_t src)
{
	struct stat st;

	if (io_progress && fstat(in, &st) == 0)
		io_report(IO_COPYING, (uint64_t)src, (uint64_t)st.st_size);
}

/* Copy [from, to) of data (no holes inside) from in to out at out_off. */
static int copy_data(int in, const char *in_path, int out, const char *out_path, uint64_t from,
		     uint64_t to, uint64_t out_off, struct fmt_error *e)
{
	loff_t src = (loff_t)from, dst = (loff_t)out_off, reported = src;
	char *buf = NULL;

	while ((uint64_t)src < to) {
		uint64_t left = to - (uint64_t)src;
		ssize_t n = copy_file_range(in, &src, out, &dst, left < COPY_STEP ? left : COPY_STEP, 0);

		if ((uint64_t)(src - reported) >= COPY_STEP) {
			copy_progress(in, src);
			reported = src;
		}
		if (n > 0)
			continue;
		if (n == 0)
			break;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
			return fmt_syserr(e, out_path, errno, "cannot copy");
		/* No in-kernel copy here: read and write. */
		buf = buf ? buf : malloc(COPY_CHUNK);
		if (!buf)
			return fmt_syserr(e, out_path, ENOMEM, "cannot copy");
		n = pread(in, buf, to - (uint64_t)src < COPY_CHUNK ? to - (uint64_t)src : COPY_CHUNK,
			  src);
		if (n <= 0 || pwrite(out, buf, (size_t)n, dst) != n) {
			free(buf);
			return fmt_syserr(e, n <= 0 ? in_path : out_path, n < 0 ? errno : EIO,
					  "cannot copy");
		}
		src += n;
		dst += n;
	}
	free(buf);
	if ((uint64_t)src < to)
		return fmt_fail(e, FMT_ERR_SYSTEM, in_path, "the input shrank while being copied");
	return 0;
}

int sw_copy_range(int in, const char *in_path, int out, const char *out_path, uint64_t from,
		  uint64_t to, uint64_t out_off, struct fmt_error *e)
{
	uint64_t off = from;

	while (off < to) {
		off_t data = lseek(in, (off_t)off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			return 0; /* the rest is a hole */
		if (data < 0) /* no SEEK_DATA here: all data */
			return copy_data(in, in_path, out, out_path, off, to, out_off + (off - from), e);
		if ((uint64_t)data >= to)
			return 0;
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > to)
			hole = (off_t)to;
		if (copy_data(in, in_path, out, out_path, (uint64_t)data, (uint64_t)hole,
			      out_off + ((uint64_t)data - from), e))
			return -1;
		off = (uint64_t)hole;
	}
	return 0;
}

static int commit_file(const char *tmp, const char *target, struct write_request *w,
		       const struct sw_sources *src, struct fmt_error *e);

int sw_commit_file(const char *tmp, const char *target, struct write_request *w,
		   const struct sw_sources *src, struct fmt_error *e)
{
	sigset_t old;
	int rc;

	block_cancel(&old);
	rc = commit_file(tmp, target, w, src, e);
	/* Committed, tmp is gone; failed, the caller removes it, as an interrupt would. */
	if (rc == 0)
		pending_forget(tmp);
	unblock_cancel(&old);
	return rc;
}

/*
 * A copy of the file open as src->fd, as it was read (src->st), made
 * under a temporary name and renamed to backup: where no link can be made.
 */
static int copy_backup(const struct sw_source *src, const char *backup, struct fmt_error *e)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int out, err;

	if (temp_template(backup, tmp, sizeof(tmp), dir, e))
		return -1;
	out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0)
		return fmt_syserr(e, dir, errno, "cannot create the backup (a copy)");
	pending_add(tmp, false);
	if (sw_copy_range(src->fd, src->path, out, tmp, 0, (uint64_t)src->st.st_size, 0, e) != 0)
		goto fail;
	if (ftruncate(out, src->st.st_size) != 0 ||
	    (fchown(out, src->st.st_uid, src->st.st_gid) != 0 && errno != EPERM) ||
	    fchmod(out, src->st.st_mode & 07777) != 0 || fsync(out) != 0) {
		fmt_syserr(e, tmp, errno, "cannot create the backup (a copy)");
		goto fail;
	}
	if (close(out) != 0) {
		out = -1;
		fmt_syserr(e, tmp, errno, "cannot create the backup (a copy)");
		goto fail;
	}
	out = -1;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, backup, RENAME_NOREPLACE) != 0) {
		fmt_syserr(e, backup, errno, "cannot create the backup (a copy)");
		goto fail;
	}
	pending_forget(tmp);
	return 0;
fail:
	err = errno;
	if (out >= 0)
		close(out);
	unlink(tmp);
	pending_forget(tmp);
	errno = err;
	return -1;
}

/*
 * The backup of the input: made from the object that was opened and read
 * (src's descriptor), never from whatever is at the path by now.  A link
 * by descriptor (AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc/self/fd
 * does not); a copy read from the descriptor where no link can be made
 * (a file system without hard links, protected_hardlinks, no /proc).
 * With no descriptor kept (a format that reads a file whole and closes
 * it), a link by path, after the path was found to hold what was read.
 */
static int make_file_backup(const struct sw_sources *src, const char *target,
			    const char *backup, struct fmt_error *e)
{
	const struct sw_source *in = src && src->n ? &src->v[0] : NULL;
	char proc[64];

	if (!in || in->fd < 0) {
		if (link(target, backup) == 0)
			return 0;
		return fmt_syserr(e, backup, errno, "cannot create the backup (a hard link)");
	}
	if (linkat(in->fd, "", AT_FDCWD, backup, AT_EMPTY_PATH) == 0)
		return 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", in->fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, backup, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno == EEXIST || errno == ENOSPC || errno == EDQUOT || errno == EROFS)
		return fmt_syserr(e, backup, errno, "cannot create the backup (a hard link)");
	return copy_backup(in, backup, e);
}

static int commit_file(const char *tmp, const char *target, struct write_request *w,
		       const struct sw_sources *src, struct fmt_error *e)
{
	bool linked;
	int err;

	/* What was read is still what the path holds (in place), or it did not change (-o). */
	if (sw_sources_unchanged(src, w->in_place, e) != 0)
		return -1;
	if (!w->in_place) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_NOREPLACE) != 0)
			return fmt_syserr(e, target, errno, "cannot rename the repaired copy into place");
		snprintf(w->written, sizeof(w->written), "%s", target);
		return fsync_parent(target, e);
	}
	linked = !w->no_backup && !w->backup_linked;
	if (linked) {
		if (make_file_backup(src, target, w->backup, e) != 0)
			return -1;
		if (fsync_parent(w->backup, e) != 0) {
			unlink(w->backup);
			return -1;
		}
	}
	/* Once more just before the rename: a swap while the backup was made. */
	if (sw_sources_unchanged(src, true, e) != 0) {
		if (linked)
			unlink(w->backup); /* a copy of what was read, of an input not replaced */
		return -1;
	}
	if (rename(tmp, target) != 0) {
		err = errno;
		/* Nothing was replaced: the backup made above would only block the next run. */
		if (linked)
			unlink(w->backup);
		return fmt_syserr(e, target, err, "cannot rename the repaired file over the original");
	}
	snprintf(w->written, sizeof(w->written), "%s", target);
	return fsync_parent(target, e);
}

/* NAME is base's temporary name: "." base ".fredck-" and mkstemp's six characters. */
static bool is_temp_name(const char *name, const char *base)
{
	size_t n = strlen(base);

	return name[0] == '.' && strncmp(name + 1, base, n) == 0 &&
	       strncmp(name + 1 + n, ".fredck-", 8) == 0 && strlen(name + 1 + n + 8) == 6;
}

bool sw_is_temp_name(const char *name)
{
	size_t n = strlen(name);

	/* ".NAME.fredck-XXXXXX" with NAME not empty: the tail fixes where NAME ends. */
	return n > 1 + 1 + 8 + 6 && name[0] == '.' &&
	       strncmp(name + n - 6 - 8, ".fredck-", 8) == 0;
}

void sw_leftovers(const char *target, void (*fn)(const char *path, void *ctx), void *ctx)
{
	char dir[PATH_MAX], base[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	split_path(target, dir, base, sizeof(dir));
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (is_temp_name(de->d_name, base) && path_join(path, sizeof(path), dir, de->d_name) == 0)
			fn(path, ctx);
	closedir(d);
}

void sw_explain(struct fmt_error *e, const char *target, const struct write_request *w)
{
	char dir[PATH_MAX], base[PATH_MAX], where[sizeof(e->msg)];
	const char *at = e->file;
	size_t n;

	if (e->kind != FMT_ERR_SYSTEM || strcmp(e->file, target) == 0)
		return;
	split_path(target, dir, base, sizeof(dir));
	n = strlen(dir);
	if (strncmp(at, dir, n) == 0 && at[n] == '/')
		at += n + 1;
	/* A message cut short by a very long path still reads: the results are only checked. */
	if (snprintf(where, sizeof(where), "%s: %s", at, e->msg) < 0 ||
	    snprintf(e->msg, sizeof(e->msg), "%s; the repaired copy could not be made (%s)",
		     w->in_place ? "left unchanged" : "not written", where) < 0)
		return;
	snprintf(e->file, sizeof(e->file), "%s", target);
}
