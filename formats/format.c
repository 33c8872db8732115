/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * format.c --- the format registry, detection by content, verification.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/chv/chv.h"
#include "formats/format.h"
#include "formats/qcow2/qcow2_inplace.h"
#include "formats/io/bsrc.h"
#include "formats/io/whole_file.h"
#include "formats/firecracker/firecracker.h"
#include "formats/kvmdir/kvmdir.h"
#include "formats/qemu/libvirt.h"
#include "formats/qemu/qemu.h"
#include "formats/qcow2/qcow2.h"

const struct format_ops *const format_list[] = {
	&kvmdir_format,
	&qemu_format,
	&libvirt_format,
	&firecracker_format,
	&chv_format,
	&qcow2_format,
	NULL,
};

bool format_read_magic(const char *path, const struct stat *st, uint8_t *buf, size_t n)
{
	struct fmt_error ignored;
	struct stat now;
	size_t got = 0;
	int fd;

	if (!S_ISREG(st->st_mode))
		return false;
	fd = open_regular_file(path, 0, &now, &ignored);
	if (fd < 0)
		return false;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	return got == n;
}

const struct format_ops *format_by_name(const char *name)
{
	for (size_t i = 0; format_list[i]; i++)
		if (strcmp(format_list[i]->name, name) == 0)
			return format_list[i];
	return NULL;
}

const struct format_ops *format_probe(const char *path, const struct stat *st,
				      const char *format_name)
{
	for (size_t i = 0; format_list[i]; i++)
		if ((!format_name || strcmp(format_list[i]->name, format_name) == 0) &&
		    format_list[i]->probe(path, st))
			return format_list[i];
	return NULL;
}

static const struct format_ops *detect(const char *path, const struct stat *st,
				       struct fmt_error *e)
{
	const struct format_ops *ops = format_probe(path, st, NULL);

	if (ops)
		return ops;
	if (S_ISDIR(st->st_mode))
		fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
			 "not a snapshot directory: no vcpu0/ subdirectory (kvm-dir), "
			 "no state.json (Cloud Hypervisor)");
	else if (S_ISREG(st->st_mode) && st->st_size == 0)
		/* A save that never happened (a full disk, a killed VMM): say it plainly. */
		fmt_fail(e, FMT_ERR_UNSUPPORTED, path, "empty file (0 bytes): no saved state");
	else
		fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
			 "no known format (this version reads kvm-dir snapshot directories, "
			 "QEMU migration streams, libvirt save images, qcow2 images with "
			 "internal snapshots, Firecracker snapshot files and Cloud "
			 "Hypervisor snapshots)");
	return NULL;
}

/* The format of path; standard input ("-") can only be a streaming format. */
static const struct format_ops *choose(const char *path, const char *format_name,
				       struct fmt_error *e)
{
	const struct format_ops *ops;
	struct stat st;

	if (format_name) {
		ops = format_by_name(format_name);
		if (!ops)
			fmt_fail(e, FMT_ERR_UNSUPPORTED, path, "unknown format '%s'", format_name);
		return ops;
	}
	if (strcmp(path, "-") == 0)
		return format_by_name("qemu");
	if (stat(path, &st) != 0) {
		fmt_syserr(e, path, errno, "cannot open");
		return NULL;
	}
	return detect(path, &st, e);
}

static int filter_unchecked(struct snapshot *s, const char *path, const char *format_name,
			    int out_fd,
			    struct vcpu_plan (*plan)(const struct vcpu_state *v, void *ctx),
			    void *ctx, struct vcpu_plan **plans, struct fmt_error *e)
{
	const struct format_ops *ops;

	memset(s, 0, sizeof(*s));
	*plans = NULL;
	ops = choose(path, format_name, e);
	if (!ops)
		return -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(s->real, sizeof(s->real), "%s", path);
	s->ops = ops; /* even on failure: the caller learns which format it was */
	if (!ops->filter)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
				"a %s cannot be written to standard output; give -o OUT", ops->name);
	return ops->filter(s, path, out_fd, plan, ctx, plans, e);
}

static int open_unchecked(struct snapshot *s, const char *path, const char *format_name,
			  struct fmt_error *e);

/*
 * A file that shrank under a mapped window of it was read as zeros where
 * its pages had gone (io/bsrc.c): whatever the reader concluded, the
 * result is that error.
 */
static int shrink_checked(int rc, unsigned long faults_before, const char *path,
			  struct fmt_error *e)
{
	if (bsrc_shrink_faults() == faults_before)
		return rc;
	return fmt_fail(e, FMT_ERR_SYSTEM, path, "the file became shorter while fredck read it");
}

int snapshot_filter(struct snapshot *s, const char *path, const char *format_name, int out_fd,
		    struct vcpu_plan (*plan)(const struct vcpu_state *v, void *ctx), void *ctx,
		    struct vcpu_plan **plans, struct fmt_error *e)
{
	unsigned long faults = bsrc_shrink_faults();

	return shrink_checked(filter_unchecked(s, path, format_name, out_fd, plan, ctx, plans, e),
			      faults, path, e);
}

int snapshot_open(struct snapshot *s, const char *path, const char *format_name,
		  struct fmt_error *e)
{
	unsigned long faults = bsrc_shrink_faults();
	int rc = shrink_checked(open_unchecked(s, path, format_name, e), faults, path, e);

	if (rc != 0 && s->ops && s->priv) {
		const struct format_ops *ops = s->ops;

		snapshot_close(s);
		s->ops = ops;
	}
	return rc;
}

int snapshot_write(struct snapshot *s, const struct vcpu_plan *plans, struct write_request *w,
		   struct fmt_error *e)
{
	unsigned long faults = bsrc_shrink_faults();

	return shrink_checked(s->ops->write(s, plans, w, e), faults, s->path, e);
}

int snapshot_redact(struct snapshot *s, struct write_request *w, struct redaction *r,
		    struct fmt_error *e)
{
	unsigned long faults = bsrc_shrink_faults();

	return shrink_checked(s->ops->redact(s, w, r, e), faults, s->path, e);
}

size_t format_member_split(const char *path, const char *format_name)
{
	char prefix[PATH_MAX];
	struct stat st;

	if (stat(path, &st) == 0)
		return 0;
	for (const char *at = strchr(path, '@'); at; at = strchr(at + 1, '@')) {
		const struct format_ops *ops;
		size_t k = (size_t)(at - path);

		if (k == 0 || k >= sizeof(prefix))
			continue;
		memcpy(prefix, path, k);
		prefix[k] = '\0';
		if (stat(prefix, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		ops = format_probe(prefix, &st, format_name);
		if (ops && ops->members)
			return k;
	}
	return 0;
}

int snapshot_members(const char *path, const char *format_name, char ***members, size_t *n,
		     struct fmt_error *e)
{
	const struct format_ops *ops;
	struct stat st;

	*members = NULL;
	*n = 0;
	if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	ops = format_probe(path, &st, format_name);
	if (!ops || !ops->members)
		return 0;
	return ops->members(path, members, n, e);
}

/* A member input (IMAGE@NAME): its image's format, and s->real the image's real path with @NAME. */
static const struct format_ops *open_member(struct snapshot *s, const char *path,
					    const char *format_name, struct fmt_error *e)
{
	size_t k = format_member_split(path, format_name);
	char image[PATH_MAX], real[PATH_MAX];
	struct stat st;

	if (!k)
		return NULL;
	memcpy(image, path, k);
	image[k] = '\0';
	if (stat(image, &st) != 0 || !realpath(image, real)) {
		fmt_syserr(e, image, errno, "cannot open");
		return NULL;
	}
	snprintf(s->real, sizeof(s->real), "%s%s", real, path + k);
	return format_probe(image, &st, format_name);
}

static int open_unchecked(struct snapshot *s, const char *path, const char *format_name,
			  struct fmt_error *e)
{
	const struct format_ops *ops;
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (strcmp(path, "-") != 0 && stat(path, &st) != 0 &&
	    (ops = open_member(s, path, format_name, e)) != NULL) {
		snprintf(s->path, sizeof(s->path), "%s", path);
		s->ops = ops;
		if (ops->open(s, path, e) != 0) {
			snapshot_close(s);
			s->ops = ops;
			return -1;
		}
		return 0;
	}
	if (strcmp(path, "-") == 0) {
		ops = choose(path, format_name, e);
		if (!ops)
			return -1;
		snprintf(s->path, sizeof(s->path), "%s", path);
		snprintf(s->real, sizeof(s->real), "%s", path);
		s->ops = ops;
		if (ops->open(s, path, e) != 0) {
			snapshot_close(s);
			s->ops = ops;
			return -1;
		}
		return 0;
	}
	if (stat(path, &st) != 0)
		return fmt_syserr(e, path, errno, "cannot open");
	if (format_name) {
		ops = format_by_name(format_name);
		if (!ops)
			return fmt_fail(e, FMT_ERR_UNSUPPORTED, path, "unknown format '%s'",
					format_name);
	} else {
		ops = detect(path, &st, e);
		if (!ops)
			return -1;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (!realpath(path, s->real))
		return fmt_syserr(e, path, errno, "cannot resolve the path");
	s->ops = ops;
	if (ops->open(s, path, e) != 0) {
		snapshot_close(s);
		s->ops = ops; /* a failed input still says which format it was read as */
		return -1;
	}
	return 0;
}

void snapshot_add_fact(struct snapshot *s, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *value;

	if (s->nfacts >= SNAPSHOT_FACTS_MAX)
		return;
	va_start(ap, fmt);
	if (vasprintf(&value, fmt, ap) < 0)
		value = NULL;
	va_end(ap);
	if (!value)
		return;
	s->facts[s->nfacts].key = key;
	s->facts[s->nfacts].value = value;
	s->nfacts++;
}

void snapshot_close(struct snapshot *s)
{
	for (size_t i = 0; i < s->nfacts; i++)
		free(s->facts[i].value);
	s->nfacts = 0;
	if (s->ops && s->ops->close)
		s->ops->close(s);
	free(s->vcpus);
	s->vcpus = NULL;
	s->nvcpus = 0;
	s->ops = NULL;
}

bool plans_change_state(const struct vcpu_plan *plans, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (plan_changes_state(&plans[i]))
			return true;
	return false;
}

int snapshot_verify(const struct snapshot *orig, const struct vcpu_plan *plans,
		    const struct snapshot *reread, struct fmt_error *e)
{
	if (reread->nvcpus != orig->nvcpus)
		return fmt_fail(e, FMT_ERR_SYSTEM, reread->path,
				"verification failed: %zu vCPUs read back, %zu expected",
				reread->nvcpus, orig->nvcpus);
	for (size_t i = 0; i < orig->nvcpus; i++) {
		struct vcpu_state want = orig->vcpus[i];

		plan_apply(&want, &plans[i]);
		if (!vcpu_state_equal(&want, &reread->vcpus[i]))
			return fmt_fail(e, FMT_ERR_SYSTEM, reread->path,
					"verification failed: vCPU %u does not read back as planned",
					want.index);
	}
	return 0;
}

int format_undo(const char *undo_path, const char *image, char *out, size_t len,
		size_t *restored, struct fmt_error *e)
{
	return qcow2_undo(undo_path, image, out, len, restored, e);
}
