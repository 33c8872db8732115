/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_filter.c --- libFuzzer target: the stream filter and file mode
 * give one verdict on every input (issue 14, item 2).
 *
 * The input is a QEMU stream (or a libvirt image).  File mode opens it,
 * plans every vCPU and writes the repair where a plan changes something;
 * the filter reads the same bytes front to back with the same planning
 * into a scratch file.  Aborts when they disagree -- one fails and the
 * other not; another vCPU count, vCPU, plan; other repaired bytes -- or
 * when the filter fails and its output is nevertheless a complete stream
 * (the end-of-file marker after a footer, then the description if any),
 * or succeeds with one that is not.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "formats/format.h"
#include "formats/io/le.h"
#include "reconstruct/plan.h"
#include "tests/fuzz/fuzz_common.h"

#define FAIL(...)                                                                          \
	do {                                                                               \
		fprintf(stderr, "fuzz_filter: " __VA_ARGS__);                              \
		fputc('\n', stderr);                                                       \
		abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The planning both modes use, picked by a byte of the input. */
struct planning {
	struct plan_options o;
	bool cap_yes;
};

static struct planning planning_for(uint8_t seed)
{
	struct planning p = { .o = { .strategy = STRATEGY_AUTO } };

	switch (seed % 4) {
	case 1:
		p.o.strategy = STRATEGY_PENDING;
		p.o.force = true;
		p.cap_yes = true;
		break;
	case 2:
		p.o.strategy = STRATEGY_DROP;
		break;
	case 3:
		p.o.force = true; /* a stream without description is repaired too */
		break;
	}
	return p;
}

struct filter_ctx {
	const struct planning *p;
	const struct snapshot *s;
};

static struct vcpu_plan plan_one(const struct vcpu_state *v, void *ctx)
{
	const struct filter_ctx *c = ctx;

	return plan_vcpu(v, &c->p->o, c->p->cap_yes || c->s->ops->dest_payload_cap(c->s, v));
}

/* The description record that ends data[len] (06, be32 length, JSON), or len. */
static size_t description_start(const uint8_t *data, size_t len)
{
	for (size_t k = len >= 6 ? len - 6 : 0; len >= 6; k--) {
		if (data[k] == 0x06 && data[k + 5] == '{' && be_get(data + k + 1, 4) == len - k - 5) {
			json_t *doc = json_loadb((const char *)data + k + 5, len - k - 5, 0, NULL);

			if (doc) {
				json_decref(doc);
				return k;
			}
		}
		if (k == 0)
			break;
	}
	return len;
}

/* As tests/qemu/differential.py's complete(): the marker after a footer, then a description. */
static bool complete(const uint8_t *data, size_t len)
{
	size_t end = description_start(data, len);

	return end >= 6 && data[end - 1] == 0 && data[end - 6] == 0x7e;
}

/* The whole of path, malloc'ed, into *len; NULL when it does not exist. */
static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0)
		FAIL("stat %s: %s", path, strerror(errno));
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size)
		FAIL("read %s", path);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* File mode: open, plan, write where a plan changes something. */
struct verdict {
	bool ok;
	struct fmt_error e;
	struct snapshot s;
	struct vcpu_plan *plans;
	uint8_t *out; /* the repaired bytes (file mode: only when written) */
	size_t out_len;
};

static void file_mode(const char *in, const char *out, const struct planning *p,
		      struct verdict *v)
{
	struct fmt_error *e = &v->e;
	struct write_request w = { .out_path = out };
	struct filter_ctx c = { p, &v->s };

	memset(v, 0, sizeof(*v));
	fuzz_remove(out);
	if (snapshot_open(&v->s, in, "qemu", e) != 0)
		return;
	v->plans = calloc(v->s.nvcpus ? v->s.nvcpus : 1, sizeof(*v->plans));
	if (!v->plans)
		FAIL("out of memory");
	for (size_t i = 0; i < v->s.nvcpus; i++)
		v->plans[i] = plan_one(&v->s.vcpus[i], &c);
	v->ok = true;
	if (!plans_change_state(v->plans, v->s.nvcpus))
		return;
	v->ok = snapshot_write(&v->s, v->plans, &w, e) == 0;
	if (v->ok)
		v->out = slurp(out, &v->out_len);
}

static void filter_mode(const char *in, const char *out, const struct planning *p,
			struct verdict *v)
{
	struct filter_ctx c = { p, &v->s };
	int fd;

	memset(v, 0, sizeof(*v));
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		FAIL("open %s: %s", out, strerror(errno));
	v->ok = snapshot_filter(&v->s, in, "qemu", fd, plan_one, &c, &v->plans, &v->e) == 0;
	close(fd);
	v->out = slurp(out, &v->out_len);
}

static void compare(const struct verdict *f, const struct verdict *p, const uint8_t *data,
		    size_t size)
{
	/*
	 * What the filter cannot do by design (a mapped-ram stream needs
	 * seeks) it refuses before writing anything: no verdict to compare.
	 */
	if (f->ok && !p->ok && p->e.kind == FMT_ERR_UNSUPPORTED && p->out_len == 0)
		return;
	if (f->ok != p->ok)
		FAIL("file mode %s, the filter %s", f->ok ? "succeeds" : "fails",
		     p->ok ? "succeeds" : "fails");
	if (!p->ok) {
		if (complete(p->out, p->out_len))
			FAIL("the filter failed but its output (%zu bytes) is complete", p->out_len);
		return;
	}
	if (!complete(p->out, p->out_len))
		FAIL("the filter succeeded with an incomplete output");
	if (f->s.nvcpus != p->s.nvcpus)
		FAIL("%zu vCPUs in file mode, %zu through the filter", f->s.nvcpus, p->s.nvcpus);
	for (size_t i = 0; i < f->s.nvcpus; i++) {
		if (!vcpu_state_equal(&f->s.vcpus[i], &p->s.vcpus[i]) ||
		    f->s.vcpus[i].found_by_scan != p->s.vcpus[i].found_by_scan)
			FAIL("vCPU %zu differs", i);
		if (f->plans[i].action != p->plans[i].action ||
		    f->plans[i].reason != p->plans[i].reason)
			FAIL("vCPU %zu: plan %s/%s in file mode, %s/%s through the filter", i,
			     action_name(f->plans[i].action), leave_reason_name(f->plans[i].reason),
			     action_name(p->plans[i].action), leave_reason_name(p->plans[i].reason));
	}
	/* What file mode wrote, or (nothing to change) the input itself. */
	if (f->out ? f->out_len != p->out_len || memcmp(f->out, p->out, p->out_len) :
		     size != p->out_len || memcmp(data, p->out, size))
		FAIL("file mode and the filter give different bytes");
}

static void done(struct verdict *v)
{
	if (v->s.ops && v->s.priv)
		snapshot_close(&v->s);
	free(v->plans);
	free(v->out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[PATH_MAX], fout[PATH_MAX], pout[PATH_MAX];
	struct planning p = planning_for(size ? data[size / 2] : 0);
	struct verdict f, q;

	snprintf(in, sizeof(in), "%s/input", fuzz_scratch());
	snprintf(fout, sizeof(fout), "%s/file.out", fuzz_scratch());
	snprintf(pout, sizeof(pout), "%s/filter.out", fuzz_scratch());
	fuzz_write_file(in, data, size);
	file_mode(in, fout, &p, &f);
	filter_mode(in, pout, &p, &q);
	compare(&f, &q, data, size);
	done(&f);
	done(&q);
	fuzz_remove(fout);
	return 0;
}
