/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_common.c --- the parse, plan, write, parse-again cycle.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/format.h"
#include "reconstruct/findings.h"
#include "reconstruct/plan.h"
#include "tests/fuzz/fuzz_common.h"

#define FAIL(...)                                                                          \
	do {                                                                               \
		fprintf(stderr, "fuzz: " __VA_ARGS__);                                     \
		fputc('\n', stderr);                                                       \
		abort();                                                                   \
	} while (0)

const char *fuzz_scratch(void)
{
	static char dir[PATH_MAX];

	if (!dir[0]) {
		const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

		snprintf(dir, sizeof(dir), "%s/fredck-fuzz-XXXXXX", base);
		if (!mkdtemp(dir))
			FAIL("mkdtemp %s: %s", dir, strerror(errno));
	}
	return dir;
}

void fuzz_write_file(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len) || close(fd) != 0)
		FAIL("write %s: %s", path, strerror(errno));
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return remove(path);
}

void fuzz_remove(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * A failed open must say which file and why.  (Whether it names the offset
 * and field is the malformed corpus's business: a whole-file verdict such
 * as "no cpu section in the stream" has neither.)
 */
static void check_error(const struct fmt_error *e, const char *path)
{
	if (e->kind == FMT_ERR_NONE || !e->file[0] || !e->msg[0])
		FAIL("%s: an open failed without saying why (kind %d)", path, e->kind);
}

static struct plan_options options_for(uint8_t seed, bool *cap_yes)
{
	struct plan_options o = { .strategy = STRATEGY_AUTO, .force = false };

	*cap_yes = false;
	switch (seed % 3) {
	case 1:
		o.strategy = STRATEGY_PENDING;
		o.force = true;
		*cap_yes = true;
		break;
	case 2:
		o.strategy = STRATEGY_DROP;
		break;
	}
	return o;
}

/* The repair as written must parse, vCPU for vCPU, with every fixed vCPU safe. */
static void check_written(const struct snapshot *s, const struct vcpu_plan *plans,
			  const char *out, const char *format)
{
	struct snapshot again;
	struct fmt_error e = { 0 };

	if (snapshot_open(&again, out, format, &e) != 0)
		FAIL("%s: the repair does not parse: %s (%s)", out, e.msg, e.field);
	if (again.nvcpus != s->nvcpus)
		FAIL("%s: %zu vCPUs written, %zu read", out, s->nvcpus, again.nvcpus);
	for (size_t i = 0; i < s->nvcpus; i++)
		if (plan_changes_state(&plans[i]) && vcpu_at_risk(&again.vcpus[i]))
			FAIL("%s: vCPU %zu still at risk after its repair", out, i);
	snapshot_close(&again);
}

/* redact verifies its copy itself: a failed verification is a bug. */
static void fuzz_redact(struct snapshot *s, const char *path)
{
	struct write_request w = { 0 };
	struct redaction r;
	struct fmt_error e = { 0 };
	char out[PATH_MAX];

	if (!s->ops->redact)
		return;
	snprintf(out, sizeof(out), "%s/redacted", fuzz_scratch());
	fuzz_remove(out);
	w.out_path = out;
	if (s->ops->redact(s, &w, &r, &e) != 0 &&
	    (e.kind == FMT_ERR_NONE || !e.msg[0] || strstr(e.msg, "verification failed")))
		FAIL("%s: redact: %s", path, e.msg);
	fuzz_remove(out);
}

/* The whole of path (a fuzz input: small), malloc'ed, into *len. */
static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *b;

	if (fd < 0 || fstat(fd, &st) != 0)
		FAIL("read %s: %s", path, strerror(errno));
	*len = (size_t)st.st_size;
	b = malloc(*len ? *len : 1);
	if (!b || (*len && pread(fd, b, *len, 0) != (ssize_t)*len))
		FAIL("read %s: %s", path, strerror(errno));
	close(fd);
	return b;
}

/* The undo files an in-place repair of the scratch image left. */
static void remove_undo_files(void)
{
	DIR *d = opendir(fuzz_scratch());
	struct dirent *de;
	char p[PATH_MAX];

	while (d && (de = readdir(d)))
		if (strstr(de->d_name, ".fredck-undo-")) {
			snprintf(p, sizeof(p), "%s/%s", fuzz_scratch(), de->d_name);
			unlink(p);
		}
	if (d)
		closedir(d);
}

/*
 * qcow2: repaired in place (only when the repair keeps the state's
 * length, else refused saying why), the image must read again with every
 * fixed vCPU safe; the undo file must then give back the input byte for
 * byte.
 */
static void fuzz_in_place(struct snapshot *s, const struct vcpu_plan *plans, const char *path,
			  const char *format)
{
	struct write_request w = { .in_place = true };
	struct fmt_error e = { 0 };
	size_t len, len2, restored;
	uint8_t *before = slurp(path, &len), *after;
	char image[PATH_MAX];

	if (s->ops->write(s, plans, &w, &e) != 0) {
		if (e.kind == FMT_ERR_NONE || !e.msg[0] || strstr(e.msg, "verification failed"))
			FAIL("%s: in place: %s", path, e.msg);
		after = slurp(path, &len2);
		if (len2 != len || memcmp(before, after, len) != 0)
			FAIL("%s: a refused in-place repair changed the image", path);
		free(after);
	} else {
		check_written(s, plans, path, format);
		if (format_undo(w.backup, path, image, sizeof(image), &restored, &e) != 0)
			FAIL("%s: undo %s: %s", path, w.backup, e.msg);
		after = slurp(path, &len2);
		if (len2 != len || memcmp(before, after, len) != 0)
			FAIL("%s: undo did not give the input back byte for byte", path);
		free(after);
	}
	free(before);
	remove_undo_files();
}

void fuzz_cycle(const char *path, const char *format, uint8_t seed)
{
	struct snapshot s;
	struct fmt_error e = { 0 };
	struct write_request w = { 0 };
	struct vcpu_plan *plans;
	char out[PATH_MAX];
	bool cap_yes;
	struct plan_options o = options_for(seed, &cap_yes);

	if (snapshot_open(&s, path, format, &e) != 0) {
		check_error(&e, path);
		return;
	}
	plans = calloc(s.nvcpus ? s.nvcpus : 1, sizeof(*plans));
	if (!plans)
		FAIL("out of memory");
	for (size_t i = 0; i < s.nvcpus; i++) {
		const struct vcpu_state *v = &s.vcpus[i];

		plans[i] = plan_vcpu(v, &o, cap_yes || s.ops->dest_payload_cap(&s, v));
	}
	if (plans_change_state(plans, s.nvcpus)) {
		snprintf(out, sizeof(out), "%s/out", fuzz_scratch());
		fuzz_remove(out);
		w.out_path = out;
		/* A qcow2 snapshot's state is written out as a plain stream. */
		if (s.ops->write(&s, plans, &w, &e) == 0)
			check_written(&s, plans, out, strcmp(format, "qcow2") ? format : "qemu");
		else if (e.kind == FMT_ERR_NONE || !e.msg[0])
			FAIL("%s: a write failed without saying why", path);
		fuzz_remove(out);
		if (strcmp(format, "qcow2") == 0)
			fuzz_in_place(&s, plans, path, format);
	}
	free(plans);
	fuzz_redact(&s, path);
	snapshot_close(&s);
}
