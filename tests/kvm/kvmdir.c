/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvmdir.c --- the kvm-dir files of one vCPU (raw KVM_GET_* structures)
 * and the FIXTURE key=value file, read and written.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fredck-kvm.h"

#define MSRS_MAX_FILE (8 + 16 * MAX_MSRS)

uint64_t vf_cr(const struct vcpu_files *vf, size_t offset)
{
	uint64_t v = 0;

	if (vf->has_sregs2)
		memcpy(&v, (const uint8_t *)&vf->sregs2 + offset, 8);
	else if (vf->has_sregs)
		memcpy(&v, (const uint8_t *)&vf->sregs + offset, 8);
	return v;
}

void vf_set_cr(struct vcpu_files *vf, size_t offset, uint64_t value)
{
	if (vf->has_sregs2)
		memcpy((uint8_t *)&vf->sregs2 + offset, &value, 8);
	if (vf->has_sregs)
		memcpy((uint8_t *)&vf->sregs + offset, &value, 8);
}

const struct kvm_msr_entry *vf_msr(const struct vcpu_files *vf, uint32_t index)
{
	uint32_t i;

	for (i = 0; i < vf->nmsrs; i++)
		if (vf->msrs[i].index == index)
			return &vf->msrs[i];
	return NULL;
}

uint64_t vf_xcr0(const struct vcpu_files *vf, bool *present)
{
	uint32_t i;

	*present = false;
	if (!vf->has_xcrs)
		return 0;
	for (i = 0; i < vf->xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++) {
		if (vf->xcrs.xcrs[i].xcr == 0) {
			*present = true;
			return vf->xcrs.xcrs[i].value;
		}
	}
	return 0;
}

/* Read the whole of dir/name into buf; returns its size, -1 if absent, -2 on error. */
static ssize_t read_small(const char *dir, const char *name, void *buf, size_t cap)
{
	char path[4096];
	ssize_t n, total = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -1;
		errsys(path);
		return -2;
	}
	while ((size_t)total < cap) {
		n = read(fd, (uint8_t *)buf + total, cap - (size_t)total);
		if (n < 0) {
			errsys(path);
			close(fd);
			return -2;
		}
		if (n == 0)
			break;
		total += n;
	}
	close(fd);
	return total;
}

/* An optional file of exactly size bytes: 1 read, 0 absent, -1 error. */
static int read_exact(const char *dir, const char *name, void *buf, size_t size, bool at_least)
{
	uint8_t tmp[1024];
	ssize_t n = read_small(dir, name, tmp, sizeof(tmp));

	if (n == -1)
		return 0;
	if (n < 0)
		return -1;
	if ((size_t)n != size && !(at_least && (size_t)n >= size)) {
		errmsg("%s/%s: %zd bytes, expected %s%zu", dir, name, n,
		       at_least ? "at least " : "", size);
		return -1;
	}
	memcpy(buf, tmp, size);
	return 1;
}

static int read_msrs(const char *dir, struct vcpu_files *vf)
{
	uint8_t buf[MSRS_MAX_FILE + 16];
	ssize_t n = read_small(dir, "msrs", buf, sizeof(buf));
	uint32_t nmsrs;

	if (n == -1)
		return 0;
	if (n < 0)
		return -1;
	if (n < 8) {
		errmsg("%s/msrs: %zd bytes, shorter than struct kvm_msrs", dir, n);
		return -1;
	}
	memcpy(&nmsrs, buf, 4);
	if (nmsrs > MAX_MSRS || (size_t)n != 8 + 16 * (size_t)nmsrs) {
		errmsg("%s/msrs: nmsrs %" PRIu32 " does not match its %zd bytes", dir, nmsrs, n);
		return -1;
	}
	memcpy(vf->msrs, buf + 8, 16 * (size_t)nmsrs);
	vf->nmsrs = nmsrs;
	return 1;
}

int vf_read(const char *dir, struct vcpu_files *vf)
{
	int rc;

	memset(vf, 0, sizeof(*vf));
#define READ_ONE(name, field, flag, at_least)                                  \
	do {                                                                   \
		rc = read_exact(dir, name, &vf->field, sizeof(vf->field), at_least); \
		if (rc < 0)                                                    \
			return -1;                                             \
		vf->flag = rc == 1;                                            \
	} while (0)
	READ_ONE("events", events, has_events, false);
	READ_ONE("sregs2", sregs2, has_sregs2, false);
	READ_ONE("sregs", sregs, has_sregs, false);
	READ_ONE("debugregs", debugregs, has_debugregs, false);
	READ_ONE("regs", regs, has_regs, false);
	READ_ONE("xcrs", xcrs, has_xcrs, false);
	READ_ONE("nested", nested, has_nested, true);
#undef READ_ONE
	rc = read_msrs(dir, vf);
	if (rc < 0)
		return -1;
	vf->has_msrs = rc == 1;
	if (!vf->has_events || (!vf->has_sregs2 && !vf->has_sregs)) {
		errmsg("%s: events and sregs2 (or sregs) are required", dir);
		return -1;
	}
	return 0;
}

static int write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		errsys(path);
		return -1;
	}
	if (fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		errsys(path);
		return -1;
	}
	return 0;
}

int vf_write(const char *dir, const struct vcpu_files *vf)
{
	uint8_t msrs[MSRS_MAX_FILE];
	uint32_t hdr[2] = { vf->nmsrs, 0 };

	if (mkdir_p(dir) < 0)
		return -1;
	if (vf->has_events && write_file(dir, "events", &vf->events, sizeof(vf->events)) < 0)
		return -1;
	if (vf->has_sregs2 && write_file(dir, "sregs2", &vf->sregs2, sizeof(vf->sregs2)) < 0)
		return -1;
	if (vf->has_sregs && write_file(dir, "sregs", &vf->sregs, sizeof(vf->sregs)) < 0)
		return -1;
	if (vf->has_debugregs &&
	    write_file(dir, "debugregs", &vf->debugregs, sizeof(vf->debugregs)) < 0)
		return -1;
	if (vf->has_regs && write_file(dir, "regs", &vf->regs, sizeof(vf->regs)) < 0)
		return -1;
	if (vf->has_msrs) {
		memcpy(msrs, hdr, 8);
		memcpy(msrs + 8, vf->msrs, 16 * (size_t)vf->nmsrs);
		if (write_file(dir, "msrs", msrs, 8 + 16 * (size_t)vf->nmsrs) < 0)
			return -1;
	}
	if (vf->has_xcrs && write_file(dir, "xcrs", &vf->xcrs, sizeof(vf->xcrs)) < 0)
		return -1;
	if (vf->has_nested && write_file(dir, "nested", &vf->nested, sizeof(vf->nested)) < 0)
		return -1;
	return 0;
}

int mkdir_p(const char *path)
{
	char buf[4096];
	char *p;

	if (strlen(path) >= sizeof(buf)) {
		errmsg("%s: path too long", path);
		return -1;
	}
	strcpy(buf, path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
			errsys(buf);
			return -1;
		}
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
		errsys(buf);
		return -1;
	}
	return 0;
}

/* vcpu0/, vcpu1/, ... must be contiguous from 0: how many there are. */
int count_vcpu_dirs(const char *root)
{
	char path[4096];
	struct stat st;
	int n;

	for (n = 0; n < MAX_VCPUS + 1; n++) {
		snprintf(path, sizeof(path), "%s/vcpu%d", root, n);
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			break;
	}
	if (n > MAX_VCPUS) {
		errmsg("%s: more than %d vCPUs", root, MAX_VCPUS);
		return -1;
	}
	return n;
}

int fixture_read(const char *path, struct fixture_info *fi)
{
	char line[640];
	FILE *f;

	memset(fi, 0, sizeof(*fi));
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && fi->n < sizeof(fi->kv) / sizeof(fi->kv[0])) {
		char *eq = strchr(line, '=');
		size_t len;

		if (line[0] == '#' || !eq)
			continue;
		len = strcspn(eq + 1, "\n");
		if ((size_t)(eq - line) >= sizeof(fi->kv[0].key) || len >= sizeof(fi->kv[0].value))
			continue; /* not one of ours */
		memcpy(fi->kv[fi->n].key, line, (size_t)(eq - line));
		memcpy(fi->kv[fi->n].value, eq + 1, len);
		fi->n++;
	}
	fclose(f);
	return 0;
}

const char *fixture_get(const struct fixture_info *fi, const char *key)
{
	size_t i;

	for (i = 0; i < fi->n; i++)
		if (strcmp(fi->kv[i].key, key) == 0)
			return fi->kv[i].value;
	return NULL;
}

bool fixture_get_u64(const struct fixture_info *fi, const char *key, uint64_t *out)
{
	const char *v = fixture_get(fi, key);
	char *end;

	if (!v || !*v)
		return false;
	errno = 0;
	*out = strtoull(v, &end, 0);
	return errno == 0 && *end == '\0';
}
