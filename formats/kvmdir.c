/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvmdir.c --- reader and writer of kvm-dir snapshots: vcpuN/ directories
 * of raw KVM ioctl structures (events, sregs2 or sregs required; debugregs,
 * regs, msrs, xcrs, nested optional).
 *
 * Every structure is decoded from little-endian bytes at the offsets in
 * kvm_structs.h, checked against its exact size, and rejected where the
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

#include "formats/kvm_events.h"
#include "formats/kvm_structs.h"
#include "formats/kvmdir.h"
#include "formats/safe_write.h"

/* Largest msrs or nested file accepted: far above any real one, bounds memory. */
#define KVMDIR_MAX_FILE (1U << 20)

struct kvmdir_vcpu {
	unsigned int n;             /* N of vcpuN */
	uint8_t events[EV_SIZE];    /* raw, to patch and to compare after writing */
	mode_t events_mode;
};

struct kvmdir {
	struct kvmdir_vcpu *v; /* parallel to snapshot.vcpus */
	bool legacy_sregs;     /* some vCPU has sregs, not sregs2 */
	size_t optional_missing;
};

/*
 * Read the regular file path whole, at most max bytes.  Returns 0, 1 when
 * it does not exist (an optional structure), -1 with e filled.  *buf is
 * malloc'ed and holds *len bytes.
 */
static int slurp(const char *path, size_t max, uint8_t **buf, size_t *len, mode_t *mode,
		 struct fmt_error *e)
{
	struct stat st;
	uint8_t *p;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 1 : fmt_syserr(e, path, errno, "cannot open");
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fmt_fail(e, FMT_ERR_MALFORMED, path, "not a regular file");
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return fmt_malformed(e, path, max, "(file size)",
				     "file is %lld bytes, more than any KVM structure (%zu)",
				     (long long)st.st_size, max);
	}
	p = malloc((size_t)st.st_size + 1);
	if (!p) {
		close(fd);
		return fmt_syserr(e, path, ENOMEM, "cannot read");
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*buf = p;
	*len = got;
	if (mode)
		*mode = st.st_mode;
	return 0;
}

/* Read a fixed-size structure; a file of any other size is malformed. */
static int read_struct(const char *path, const char *type, size_t size, uint8_t *out,
		       mode_t *mode, struct fmt_error *e)
{
	uint8_t *buf;
	size_t len;
	int rc = slurp(path, KVMDIR_MAX_FILE, &buf, &len, mode, e);

	if (rc != 0)
		return rc;
	if (len != size) {
		free(buf);
		return fmt_malformed(e, path, len < size ? len : size, type,
				     "file is %zu bytes; %s is %zu bytes", len, type, size);
	}
	memcpy(out, buf, size);
	free(buf);
	return 0;
}

static int parse_events(const char *path, const uint8_t *ev, struct vcpu_state *v,
			struct fmt_error *e)
{
	struct events_fault f;

	if (kvm_events_decode(ev, v, &f))
		return fmt_malformed(e, path, f.offset, f.field, "%s", f.why);
	return 0;
}

static int parse_sregs(const char *path, const uint8_t *sr, bool is2, struct vcpu_state *v,
		       struct fmt_error *e)
{
	uint64_t unknown = kvm_le(sr + SREGS2_FLAGS, 8) & ~(uint64_t)KVM_SREGS2_FLAGS_PDPTRS_VALID;

	if (is2 && unknown)
		return fmt_malformed(e, path, SREGS2_FLAGS, "flags",
				     "unknown flag bits 0x%llx; KVM_SET_SREGS2 would reject them",
				     (unsigned long long)unknown);
	vcpu_set(v, REG_CR0, kvm_le(sr + SREGS_CR0, 8));
	vcpu_set(v, REG_CR2, kvm_le(sr + SREGS_CR2, 8));
	vcpu_set(v, REG_CR3, kvm_le(sr + SREGS_CR3, 8));
	vcpu_set(v, REG_CR4, kvm_le(sr + SREGS_CR4, 8));
	vcpu_set(v, REG_EFER, kvm_le(sr + SREGS_EFER, 8));
	return 0;
}

static int parse_debugregs(const char *path, const uint8_t *dr, struct vcpu_state *v,
			   struct fmt_error *e)
{
	uint64_t dr6 = kvm_le(dr + DEBUGREGS_DR6, 8), dr7 = kvm_le(dr + DEBUGREGS_DR7, 8);

	if (kvm_le(dr + DEBUGREGS_FLAGS, 8) != 0)
		return fmt_malformed(e, path, DEBUGREGS_FLAGS, "flags",
				     "flags must be 0; KVM_SET_DEBUGREGS rejects anything else");
	if (dr6 >> 32)
		return fmt_malformed(e, path, DEBUGREGS_DR6, "dr6",
				     "DR6 0x%016llx has bits above 31 set; the kernel rejects it",
				     (unsigned long long)dr6);
	if (dr7 >> 32)
		return fmt_malformed(e, path, DEBUGREGS_DR7, "dr7",
				     "DR7 0x%016llx has bits above 31 set; the kernel rejects it",
				     (unsigned long long)dr7);
	vcpu_set(v, REG_DR6, dr6);
	vcpu_set(v, REG_DR7, dr7);
	return 0;
}

static void parse_regs(const uint8_t *r, struct vcpu_state *v)
{
	vcpu_set(v, REG_RIP, kvm_le(r + REGS_RIP, 8));
	vcpu_set(v, REG_RFLAGS, kvm_le(r + REGS_RFLAGS, 8));
}

static int parse_msrs(const char *path, const uint8_t *m, size_t len, struct vcpu_state *v,
		      struct fmt_error *e)
{
	uint64_t n, need, seen = 0;

	if (len < MSRS_HDR_SIZE)
		return fmt_malformed(e, path, len, "nmsrs",
				     "file is %zu bytes, shorter than the 8-byte struct kvm_msrs header",
				     len);
	n = kvm_le(m, 4);
	need = MSRS_HDR_SIZE + n * MSR_ENTRY_SIZE;
	if (need > len)
		return fmt_malformed(e, path, 0, "nmsrs",
				     "nmsrs is %llu (%llu bytes of entries) but the file holds %zu bytes",
				     (unsigned long long)n, (unsigned long long)(n * MSR_ENTRY_SIZE),
				     len);
	if (need < len)
		return fmt_malformed(e, path, need, "entries",
				     "%zu bytes after the %llu entries nmsrs announces",
				     len - (size_t)need, (unsigned long long)n);
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *ent = m + MSRS_HDR_SIZE + i * MSR_ENTRY_SIZE;
		uint32_t index = (uint32_t)kvm_le(ent + MSR_ENTRY_INDEX, 4);
		enum vcpu_reg r = vcpu_reg_by_msr(index);

		if (r == REG_COUNT)
			continue;
		if (seen & (1ULL << r))
			return fmt_malformed(e, path, (uint64_t)(ent - m), "entries[].index",
					     "MSR 0x%x appears twice", index);
		seen |= 1ULL << r;
		vcpu_set(v, r, kvm_le(ent + MSR_ENTRY_DATA, 8));
	}
	return 0;
}

static int parse_xcrs(const char *path, const uint8_t *x, struct vcpu_state *v,
		      struct fmt_error *e)
{
	uint64_t n = kvm_le(x + XCRS_NR, 4);

	if (n > KVM_MAX_XCRS)
		return fmt_malformed(e, path, XCRS_NR, "nr_xcrs",
				     "nr_xcrs is %llu; struct kvm_xcrs holds at most %d",
				     (unsigned long long)n, KVM_MAX_XCRS);
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *ent = x + XCRS_ENTRIES + i * XCR_ENTRY_SIZE;

		if (kvm_le(ent, 4) == 0)
			vcpu_set(v, REG_XCR0, kvm_le(ent + 8, 8));
	}
	return 0;
}

static int parse_nested(const char *path, const uint8_t *ns, size_t len, struct vcpu_state *v,
			struct fmt_error *e)
{
	uint64_t flags, format, size;

	if (len < NESTED_HDR_SIZE)
		return fmt_malformed(e, path, len, "struct kvm_nested_state",
				     "file is %zu bytes, shorter than the 128-byte header", len);
	flags = kvm_le(ns + NESTED_FLAGS, 2);
	format = kvm_le(ns + NESTED_FORMAT, 2);
	size = kvm_le(ns + NESTED_SIZE, 4);
	if (format > KVM_STATE_NESTED_FORMAT_SVM)
		return fmt_malformed(e, path, NESTED_FORMAT, "format",
				     "format %llu is neither VMX (0) nor SVM (1)",
				     (unsigned long long)format);
	/* KVM_SET_NESTED_STATE reads size bytes: they must all have been saved. */
	if (size != len)
		return fmt_malformed(e, path, NESTED_SIZE, "size",
				     "size is %llu but the file holds %zu bytes",
				     (unsigned long long)size, len);
	v->nested_saved = true;
	v->nested_guest_mode = flags & KVM_STATE_NESTED_GUEST_MODE;
	v->nested_run_pending = flags & KVM_STATE_NESTED_RUN_PENDING;
	return 0;
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

/* One optional structure: absent is fine, present must parse. */
static int read_optional(const char *dir, const char *file, const char *type, size_t size,
			 uint8_t *buf, struct fmt_error *e)
{
	char path[PATH_MAX];

	if (fmt_join(path, sizeof(path), dir, file, e) != 0)
		return -1;
	return read_struct(path, type, size, buf, NULL, e);
}

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
	rc = slurp(path, KVMDIR_MAX_FILE, &buf, &len, NULL, e);
	if (rc != 0)
		return rc;
	rc = parse(path, buf, len, v, e);
	free(buf);
	return rc;
}

static int read_sregs(const char *dir, struct vcpu_state *v, bool *legacy, struct fmt_error *e)
{
	uint8_t sr[SREGS2_SIZE];
	char path[PATH_MAX];
	int rc;

	if (fmt_join(path, sizeof(path), dir, "sregs2", e) != 0)
		return -1;
	rc = read_struct(path, "struct kvm_sregs2", SREGS2_SIZE, sr, NULL, e);
	if (rc == 0)
		return parse_sregs(path, sr, true, v, e);
	if (rc < 0)
		return rc;
	if (fmt_join(path, sizeof(path), dir, "sregs", e) != 0)
		return -1;
	rc = read_struct(path, "struct kvm_sregs", SREGS_SIZE, sr, NULL, e);
	if (rc == 1)
		return fmt_fail(e, FMT_ERR_MALFORMED, dir, "neither sregs2 nor sregs: one is required");
	if (rc < 0)
		return rc;
	*legacy = true;
	return parse_sregs(path, sr, false, v, e);
}

static int read_vcpu(const char *root, struct kvmdir_vcpu *kv, struct vcpu_state *v,
		     struct kvmdir *kd, struct fmt_error *e)
{
	char dir[PATH_MAX], path[PATH_MAX];
	uint8_t buf[XCRS_SIZE];
	int rc;

	char name[24];

	snprintf(name, sizeof(name), "vcpu%u", kv->n);
	if (fmt_join(dir, sizeof(dir), root, name, e) != 0)
		return -1;
	vcpu_init(v, kv->n);
	if (fmt_join(path, sizeof(path), dir, "events", e) != 0)
		return -1;
	rc = read_struct(path, "struct kvm_vcpu_events", EV_SIZE, kv->events, &kv->events_mode, e);
	if (rc == 1)
		return fmt_fail(e, FMT_ERR_MALFORMED, path, "missing: events is required");
	if (rc < 0 || parse_events(path, kv->events, v, e) != 0)
		return -1;
	if (read_sregs(dir, v, &kd->legacy_sregs, e) != 0)
		return -1;

	if (fmt_join(path, sizeof(path), dir, "debugregs", e) != 0)
		return -1;
	rc = read_optional(dir, "debugregs", "struct kvm_debugregs", DEBUGREGS_SIZE, buf, e);
	if (rc < 0 || (rc == 0 && parse_debugregs(path, buf, v, e) != 0))
		return -1;
	rc = read_optional(dir, "regs", "struct kvm_regs", REGS_SIZE, buf, e);
	if (rc < 0)
		return -1;
	if (rc == 0)
		parse_regs(buf, v);
	if (fmt_join(path, sizeof(path), dir, "xcrs", e) != 0)
		return -1;
	rc = read_optional(dir, "xcrs", "struct kvm_xcrs", XCRS_SIZE, buf, e);
	if (rc < 0 || (rc == 0 && parse_xcrs(path, buf, v, e) != 0))
		return -1;
	if (read_variable(dir, "msrs", v, parse_msrs, e) < 0)
		return -1;
	if (read_variable(dir, "nested", v, parse_nested, e) < 0)
		return -1;
	return 0;
}

static void kvmdir_close(struct snapshot *s)
{
	struct kvmdir *kd = s->priv;

	if (kd)
		free(kd->v);
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
		       const char *tmp, uint8_t (*want)[EV_SIZE], struct fmt_error *e)
{
	struct snapshot re;
	struct kvmdir *rkd;
	int rc;

	if (snapshot_open(&re, tmp, "kvm-dir", e) != 0)
		return -1;
	rc = snapshot_verify(s, plans, &re, e);
	rkd = re.priv;
	for (size_t i = 0; rc == 0 && i < s->nvcpus; i++)
		if (memcmp(rkd->v[i].events, want[i], EV_SIZE) != 0)
			rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp,
				      "verification failed: vcpu%u/events differs from the plan",
				      rkd->v[i].n);
	snapshot_close(&re);
	return rc;
}

static int build_tree(struct snapshot *s, const struct vcpu_plan *plans, const char *tmp,
		      uint8_t (*want)[EV_SIZE], struct fmt_error *e)
{
	struct kvmdir *kd = s->priv;

	if (sw_clone_tree(s->real, tmp, e) != 0)
		return -1;
	for (size_t i = 0; i < s->nvcpus; i++) {
		char path[PATH_MAX];

		memcpy(want[i], kd->v[i].events, EV_SIZE);
		if (!plan_changes_state(&plans[i]))
			continue;
		kvm_events_patch(want[i], &s->vcpus[i], &plans[i]);
		char name[32];

		char src_dir[PATH_MAX], dst_dir[PATH_MAX];

		/* A vcpuN symlink in the input must not be written through. */
		snprintf(name, sizeof(name), "vcpu%u", kd->v[i].n);
		if (fmt_join(src_dir, sizeof(src_dir), s->real, name, e) != 0 ||
		    fmt_join(dst_dir, sizeof(dst_dir), tmp, name, e) != 0 ||
		    sw_materialise_dir(src_dir, dst_dir, e) != 0 ||
		    fmt_join(path, sizeof(path), dst_dir, "events", e) != 0)
			return -1;
		if (sw_replace_file(path, want[i], EV_SIZE, kd->v[i].events_mode, e) != 0)
			return -1;
	}
	return sw_fsync_tree(tmp, e);
}

static int kvmdir_write(struct snapshot *s, const struct vcpu_plan *plans,
			struct write_request *w, struct fmt_error *e)
{
	char target[PATH_MAX], tmp[PATH_MAX];
	uint8_t (*want)[EV_SIZE];
	int rc = -1;

	if (sw_prepare(s->real, w, target, sizeof(target), e) != 0)
		return -1;
	want = calloc(s->nvcpus, EV_SIZE);
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
	if (sw_commit_dir(tmp, target, w, e) != 0) {
		/* Once exchanged, tmp holds the original: keep it then. */
		if (strcmp(w->written, target) != 0) {
			sw_remove_tree(tmp);
			sw_explain(e, target, w);
		}
		goto out;
	}
	rc = 0;
out:
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
