/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvmdir.c --- reader and writer of kvm-dir snapshots: vcpuN/ directories
 * of raw KVM ioctl structures (events, sregs2 or sregs required; debugregs,
 * regs, msrs, xcrs, nested optional).
 *
 * Every structure is decoded from little-endian bytes at the offsets in
 * formats/kvm/, checked against its exact size, and rejected where the
 * kernel itself would reject it.  A repair rewrites only vcpuN/events, and
 * in it only the fields the plan changes.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/io/safe_write.h"
#include "formats/io/whole_file.h"
#include "formats/kvm/kvm.h"
#include "formats/kvmdir/kvmdir.h"

/* Largest msrs or nested file accepted: far above any real one, bounds memory. */
#define KVMDIR_MAX_FILE (1U << 20)

struct kvmdir_vcpu {
	unsigned int n;             /* N of vcpuN */
	uint8_t events[KVM_EVENTS_SIZE];    /* raw, to patch and to compare after writing */
	struct stat events_st;              /* vcpuN/events as read: found so at the commit */
};

struct kvmdir {
	struct kvmdir_vcpu *v; /* parallel to snapshot.vcpus */
	bool legacy_sregs;     /* some vCPU has sregs, not sregs2 */
	size_t optional_missing;
	int dir_fd;          /* the directory as opened, for the whole run (-1: not open) */
	struct stat dir_st;  /* ... as it was then */
};

/* Read a fixed-size structure; a file of any other size is malformed. */
static int read_struct(const char *path, const char *type, size_t size, uint8_t *out,
		       struct stat *stp, struct fmt_error *e)
{
	uint8_t *buf;
	size_t len;
	struct stat st;
	int rc = read_whole_file(path, KVMDIR_MAX_FILE, "KVM structure", WF_OPTIONAL, &buf, &len,
				 &st, e);

	if (rc != 0)
		return rc;
	if (len != size) {
		free(buf);
		return fmt_malformed(e, path, len < size ? len : size, type,
				     "file is %zu bytes; %s is %zu bytes", len, type, size);
	}
	memcpy(out, buf, size);
	free(buf);
	if (stp)
		*stp = st;
	return 0;
}

/* A structure the kernel would reject: malformed at the fault's offset in path. */
static int kvm_malformed(const char *path, const struct kvm_fault *f, struct fmt_error *e)
{
	return fmt_malformed(e, path, f->offset, f->field, "%s", f->why);
}

/* The variable-sized structures, whole files: struct kvm_msrs and kvm_nested_state. */
static int parse_msrs(const char *path, const uint8_t *m, size_t len, struct vcpu_state *v,
		      struct fmt_error *e)
{
	struct kvm_fault f;

	return kvm_msrs_decode(m, len, v, &f) ? kvm_malformed(path, &f, e) : 0;
}

static int parse_nested(const char *path, const uint8_t *ns, size_t len, struct vcpu_state *v,
			struct fmt_error *e)
{
	struct kvm_fault f;

	return kvm_nested_decode(ns, len, true, v, &f) ? kvm_malformed(path, &f, e) : 0;
}

/* vcpuN with N decimal, no leading zero: its N, or -1. */
static long vcpu_dir_number(const char *name)
{
	const char *d = name + 4;
	long n = 0;

	if (strncmp(name, "vcpu", 4) != 0 || !*d || (d[0] == '0' && d[1]) || strlen(d) > 5)
		return -1;
	for (; *d; d++) {
		if (*d < '0' || *d > '9')
			return -1;
		n = n * 10 + (*d - '0');
	}
	return n < KVMDIR_MAX_VCPUS ? n : -1;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return (x > y) - (x < y);
}

/* The vcpuN/ subdirectories of root, sorted by N. */
static int list_vcpus(const char *root, unsigned int **out, size_t *count, struct fmt_error *e)
{
	DIR *d = opendir(root);
	struct dirent *de;
	unsigned int *ns;
	size_t n = 0;

	if (!d)
		return fmt_syserr(e, root, errno, "cannot open the directory");
	ns = malloc(KVMDIR_MAX_VCPUS * sizeof(*ns));
	if (!ns) {
		closedir(d);
		return fmt_syserr(e, root, ENOMEM, "cannot list");
	}
	while ((de = readdir(d))) {
		long num = vcpu_dir_number(de->d_name);
		char p[PATH_MAX];
		struct stat st;

		if (num < 0 || n >= KVMDIR_MAX_VCPUS)
			continue;
		if (fmt_join(p, sizeof(p), root, de->d_name, e) == 0 && stat(p, &st) == 0 &&
		    S_ISDIR(st.st_mode))
			ns[n++] = (unsigned int)num;
	}
	closedir(d);
	if (n == 0) {
		free(ns);
		return fmt_fail(e, FMT_ERR_MALFORMED, root, "no vcpuN/ subdirectories");
	}
	qsort(ns, n, sizeof(*ns), cmp_uint);
	*out = ns;
	*count = n;
	return 0;
}

/* The fixed-size structures of a vcpuN/ directory, and their decoders. */
struct fixed_file {
	const char *name, *type;
	size_t size;
	int (*decode)(const uint8_t *buf, struct vcpu_state *v, struct kvm_fault *f);
};

static int decode_events(const uint8_t *b, struct vcpu_state *v, struct kvm_fault *f)
{
	return kvm_events_decode(b, v, f);
}

static int decode_sregs2(const uint8_t *b, struct vcpu_state *v, struct kvm_fault *f)
{
	return kvm_sregs_decode(b, true, v, f);
}

static int decode_sregs(const uint8_t *b, struct vcpu_state *v, struct kvm_fault *f)
{
	return kvm_sregs_decode(b, false, v, f);
}

static int decode_regs(const uint8_t *b, struct vcpu_state *v, struct kvm_fault *f)
{
	kvm_regs_decode(b, v);
	return 0;
}

static const struct fixed_file events_file = {
	"events", "struct kvm_vcpu_events", KVM_EVENTS_SIZE, decode_events,
};
static const struct fixed_file sregs2_file = {
	"sregs2", "struct kvm_sregs2", KVM_SREGS2_SIZE, decode_sregs2,
};
static const struct fixed_file sregs_file = {
	"sregs", "struct kvm_sregs", KVM_SREGS_SIZE, decode_sregs,
};
static const struct fixed_file optional_files[] = {
	{ "debugregs", "struct kvm_debugregs", KVM_DEBUGREGS_SIZE, kvm_debugregs_decode },
	{ "regs", "struct kvm_regs", KVM_REGS_SIZE, decode_regs },
	{ "xcrs", "struct kvm_xcrs", KVM_XCRS_SIZE, kvm_xcrs_decode },
};

/* The largest fixed structure: every one fits a buffer of this size. */
#define FIXED_MAX KVM_XCRS_SIZE
_Static_assert(KVM_SREGS2_SIZE <= FIXED_MAX && KVM_DEBUGREGS_SIZE <= FIXED_MAX &&
		       KVM_REGS_SIZE <= FIXED_MAX && KVM_EVENTS_SIZE <= FIXED_MAX,
	       "FIXED_MAX holds every fixed structure");

/*
 * Read and decode dir/ff->name into buf.  Returns 0, 1 when the file does
 * not exist, -1 with e filled.
 */
static int read_fixed(const char *dir, const struct fixed_file *ff, uint8_t *buf,
		      struct stat *st, struct vcpu_state *v, struct fmt_error *e)
{
	char path[PATH_MAX];
	struct kvm_fault f;
	int rc;

	if (fmt_join(path, sizeof(path), dir, ff->name, e) != 0)
		return -1;
	rc = read_struct(path, ff->type, ff->size, buf, st, e);
	if (rc != 0)
		return rc;
	return ff->decode(buf, v, &f) ? kvm_malformed(path, &f, e) : 0;
}

/* msrs or nested: absent is fine, present must parse whole. */
static int read_variable(const char *dir, const char *file, struct vcpu_state *v,
			 int (*parse)(const char *, const uint8_t *, size_t, struct vcpu_state *,
				      struct fmt_error *),
			 struct fmt_error *e)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	if (fmt_join(path, sizeof(path), dir, file, e) != 0)
		return -1;
	rc = read_whole_file(path, KVMDIR_MAX_FILE, "KVM structure", WF_OPTIONAL, &buf, &len, NULL,
			     e);
	if (rc != 0)
		return rc;
	rc = parse(path, buf, len, v, e);
	free(buf);
	return rc;
}

/* sregs2, or failing that the legacy sregs: one is required. */
static int read_sregs(const char *dir, struct vcpu_state *v, bool *legacy, struct fmt_error *e)
{
	uint8_t sr[FIXED_MAX];
	int rc = read_fixed(dir, &sregs2_file, sr, NULL, v, e);

	if (rc != 1)
		return rc;
	rc = read_fixed(dir, &sregs_file, sr, NULL, v, e);
	if (rc == 1)
		return fmt_fail(e, FMT_ERR_MALFORMED, dir, "neither sregs2 nor sregs: one is required");
	if (rc == 0)
		*legacy = true;
	return rc;
}

static int read_vcpu(const char *root, struct kvmdir_vcpu *kv, struct vcpu_state *v,
		     struct kvmdir *kd, struct fmt_error *e)
{
	char dir[PATH_MAX], name[24];
	uint8_t buf[FIXED_MAX];
	int rc;

	snprintf(name, sizeof(name), "vcpu%u", kv->n);
	if (fmt_join(dir, sizeof(dir), root, name, e) != 0)
		return -1;
	vcpu_init(v, kv->n);
	rc = read_fixed(dir, &events_file, kv->events, &kv->events_st, v, e);
	if (rc == 1) {
		char path[PATH_MAX];

		if (fmt_join(path, sizeof(path), dir, events_file.name, e) != 0)
			return -1;
		return fmt_fail(e, FMT_ERR_MALFORMED, path, "missing: events is required");
	}
	if (rc < 0 || read_sregs(dir, v, &kd->legacy_sregs, e) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(optional_files) / sizeof(optional_files[0]); i++)
		if (read_fixed(dir, &optional_files[i], buf, NULL, v, e) < 0)
			return -1;
	if (read_variable(dir, "msrs", v, parse_msrs, e) < 0 ||
	    read_variable(dir, "nested", v, parse_nested, e) < 0)
		return -1;
	return 0;
}

static void kvmdir_close(struct snapshot *s)
{
	struct kvmdir *kd = s->priv;

	if (kd) {
		free(kd->v);
		if (kd->dir_fd >= 0)
			close(kd->dir_fd);
	}
	free(kd);
	s->priv = NULL;
}

static int kvmdir_open(struct snapshot *s, const char *path, struct fmt_error *e)
{
	struct kvmdir *kd = calloc(1, sizeof(*kd));
	unsigned int *ns = NULL;
	size_t n = 0;

	if (!kd)
		return fmt_syserr(e, path, ENOMEM, "cannot read");
	s->priv = kd;
	/* Kept open: a repair commits only if this directory is still the one at the path. */
	kd->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (kd->dir_fd < 0 || fstat(kd->dir_fd, &kd->dir_st) != 0)
		return fmt_syserr(e, path, errno, "cannot open the directory");
	if (list_vcpus(path, &ns, &n, e) != 0)
		return -1;
	kd->v = calloc(n, sizeof(*kd->v));
	s->vcpus = calloc(n, sizeof(*s->vcpus));
	if (!kd->v || !s->vcpus) {
		free(ns);
		return fmt_syserr(e, path, ENOMEM, "cannot read");
	}
	for (size_t i = 0; i < n; i++) {
		kd->v[i].n = ns[i];
		if (read_vcpu(path, &kd->v[i], &s->vcpus[i], kd, e) != 0) {
			free(ns);
			return -1;
		}
		s->nvcpus = i + 1;
	}
	free(ns);
	snprintf(s->detail, sizeof(s->detail), "%zu vCPU%s, %s", n, n == 1 ? "" : "s",
		 kd->legacy_sregs ? "struct kvm_sregs" : "struct kvm_sregs2");
	return 0;
}

static bool kvmdir_probe(const char *path, const struct stat *st)
{
	char p[PATH_MAX];
	struct stat vst;
	struct fmt_error ignored;

	if (!S_ISDIR(st->st_mode))
		return false;
	if (fmt_join(p, sizeof(p), path, "vcpu0", &ignored) != 0)
		return false;
	return stat(p, &vst) == 0 && S_ISDIR(vst.st_mode);
}

/* The saved flags carry VALID_PAYLOAD: the VMM that saved it enables the cap. */
static bool kvmdir_dest_cap(const struct snapshot *s, const struct vcpu_state *v)
{
	return v->events_flags & EVENTS_FLAG_VALID_PAYLOAD;
}

/* Read the written tree back: the models as planned, the events bytes exactly. */
static int verify_tree(const struct snapshot *s, const struct vcpu_plan *plans,
		       const char *tmp, uint8_t (*want)[KVM_EVENTS_SIZE], struct fmt_error *e)
{
	struct snapshot re;
	struct kvmdir *rkd;
	int rc;

	if (snapshot_open(&re, tmp, "kvm-dir", e) != 0)
		return -1;
	rc = snapshot_verify(s, plans, &re, e);
	rkd = re.priv;
	for (size_t i = 0; rc == 0 && i < s->nvcpus; i++)
		if (memcmp(rkd->v[i].events, want[i], KVM_EVENTS_SIZE) != 0)
			rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp,
				      "verification failed: vcpu%u/events differs from the plan",
				      rkd->v[i].n);
	snapshot_close(&re);
	return rc;
}

static int build_tree(struct snapshot *s, const struct vcpu_plan *plans, const char *tmp,
		      uint8_t (*want)[KVM_EVENTS_SIZE], struct fmt_error *e)
{
	struct kvmdir *kd = s->priv;
	char buf[64];
	/* The directory that was read (its descriptor), whatever is at the path by now. */
	const char *from = sw_fd_path(kd->dir_fd, buf, sizeof(buf));

	if (!from)
		from = s->real;
	if (sw_clone_tree(from, tmp, e) != 0)
		return -1;
	for (size_t i = 0; i < s->nvcpus; i++) {
		char path[PATH_MAX];

		memcpy(want[i], kd->v[i].events, KVM_EVENTS_SIZE);
		if (!plan_changes_state(&plans[i]))
			continue;
		kvm_events_patch(want[i], &s->vcpus[i], &plans[i]);
		char name[32];

		char src_dir[PATH_MAX], dst_dir[PATH_MAX];

		/* A vcpuN symlink in the input must not be written through. */
		snprintf(name, sizeof(name), "vcpu%u", kd->v[i].n);
		if (fmt_join(src_dir, sizeof(src_dir), from, name, e) != 0 ||
		    fmt_join(dst_dir, sizeof(dst_dir), tmp, name, e) != 0 ||
		    sw_materialise_dir(src_dir, dst_dir, e) != 0 ||
		    fmt_join(path, sizeof(path), dst_dir, "events", e) != 0)
			return -1;
		if (sw_replace_file(path, want[i], KVM_EVENTS_SIZE, kd->v[i].events_st.st_mode, e) != 0)
			return -1;
	}
	return sw_fsync_tree(tmp, e);
}

/*
 * What the commit compares: the directory as opened, and each vcpuN/events
 * the repair replaces, as read.
 */
static int read_sources(const struct snapshot *s, const struct vcpu_plan *plans,
			struct sw_sources *src, struct fmt_error *e)
{
	const struct kvmdir *kd = s->priv;

	if (sw_add_source(src, s->real, kd->dir_fd, &kd->dir_st, e) != 0)
		return -1;
	for (size_t i = 0; i < s->nvcpus; i++) {
		char name[32], path[PATH_MAX];

		if (!plan_changes_state(&plans[i]))
			continue;
		snprintf(name, sizeof(name), "vcpu%u/events", kd->v[i].n);
		if (fmt_join(path, sizeof(path), s->real, name, e) != 0 ||
		    sw_add_source(src, path, -1, &kd->v[i].events_st, e) != 0)
			return -1;
	}
	return 0;
}

static int kvmdir_write(struct snapshot *s, const struct vcpu_plan *plans,
			struct write_request *w, struct fmt_error *e)
{
	struct sw_sources src = { 0 };
	char target[PATH_MAX], tmp[PATH_MAX];
	uint8_t (*want)[KVM_EVENTS_SIZE];
	int rc = -1;

	if (sw_prepare(s->real, w, target, sizeof(target), e) != 0)
		return -1;
	want = calloc(s->nvcpus, KVM_EVENTS_SIZE);
	if (!want)
		return fmt_syserr(e, s->path, ENOMEM, "cannot write");
	if (sw_temp_dir(target, s->real, tmp, sizeof(tmp), e) != 0) {
		sw_explain(e, target, w);
		goto out;
	}
	if (build_tree(s, plans, tmp, want, e) != 0 || verify_tree(s, plans, tmp, want, e) != 0) {
		sw_remove_tree(tmp);
		sw_explain(e, target, w);
		goto out;
	}
	if (read_sources(s, plans, &src, e) != 0 || sw_commit_dir(tmp, target, w, &src, e) != 0) {
		/* Once exchanged, tmp holds the original: keep it then. */
		if (strcmp(w->written, target) != 0) {
			sw_remove_tree(tmp);
			sw_explain(e, target, w);
		}
		goto out;
	}
	rc = 0;
out:
	sw_sources_free(&src);
	free(want);
	return rc;
}

const struct format_ops kvmdir_format = {
	.name = "kvm-dir",
	.description = "directory of raw KVM ioctl structures, one vcpuN/ per vCPU",
	.probe = kvmdir_probe,
	.open = kvmdir_open,
	.dest_payload_cap = kvmdir_dest_cap,
	.write = kvmdir_write,
	.close = kvmdir_close,
};
