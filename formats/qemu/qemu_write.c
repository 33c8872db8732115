/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_write.c --- repairing a QEMU migration stream.
 *
 * A repair is a short list of byte edits: in a vCPU's `cpu` section,
 * exception_nr and has_error_code, and the cpu/exception_info and
 * cpu/error_code subsections (inserted, patched or removed); at the end,
 * the device description, rewritten so it still describes the stream.
 * Everything else is copied byte for byte (holes kept), into a temporary
 * file that is parsed again and verified before it is renamed into place.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/qemu/qemu_priv.h"
#include "formats/io/safe_write.h"
#include "formats/io/whole_file.h"

#define EXCEPTION_INFO "cpu/exception_info"
#define ERROR_CODE "cpu/error_code"
/* 05, name length, name, be32 version: the bytes before a subsection's body. */
#define SUB_HEADER(name) (2 + sizeof(name) - 1 + 4)
#define EXCEPTION_INFO_BODY 11

/* Replace [off, off + del) of the input with ins[len]. */
struct edit {
	uint64_t off;
	uint64_t del;
	uint8_t *ins;
	size_t len;
};

struct edits {
	struct edit *v;
	size_t n, cap;
};

static int add_edit(struct edits *ed, uint64_t off, uint64_t del, const void *ins, size_t len)
{
	struct edit *x;

	if (ed->n == ed->cap) {
		size_t cap = ed->cap ? ed->cap * 2 : 16;

		x = realloc(ed->v, cap * sizeof(*x));
		if (!x)
			return -1;
		ed->v = x;
		ed->cap = cap;
	}
	x = &ed->v[ed->n];
	x->off = off;
	x->del = del;
	x->len = len;
	x->ins = len ? malloc(len) : NULL;
	if (len && !x->ins)
		return -1;
	if (len)
		memcpy(x->ins, ins, len);
	ed->n++;
	return 0;
}

static void free_edits(struct edits *ed)
{
	for (size_t i = 0; i < ed->n; i++)
		free(ed->v[i].ins);
	free(ed->v);
}

static int cmp_edit(const void *a, const void *b)
{
	uint64_t x = ((const struct edit *)a)->off, y = ((const struct edit *)b)->off;

	return (x > y) - (x < y);
}

/* The body QEMU's cpu/exception_info carries for a pending exception. */
static void exception_info_body(uint8_t *b, const struct vcpu_exception *x)
{
	b[0] = x->pending;
	b[1] = x->injected;
	b[2] = x->has_payload;
	be_put(b + 3, x->payload, 8);
}

/* vmdesc: the description of cpu/exception_info, as QEMU writes it. */
static json_t *exception_info_desc(void)
{
	static const struct {
		const char *name, *type;
		int size;
	} fields[] = {
		{ "env.exception_pending", "uint8", 1 },
		{ "env.exception_injected", "uint8", 1 },
		{ "env.exception_has_payload", "uint8", 1 },
		{ "env.exception_payload", "uint64", 8 },
	};
	json_t *d = json_object(), *a = json_array();

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		json_t *f = json_object();

		json_object_set_new(f, "name", json_string(fields[i].name));
		json_object_set_new(f, "type", json_string(fields[i].type));
		json_object_set_new(f, "size", json_integer(fields[i].size));
		json_array_append_new(a, f);
	}
	json_object_set_new(d, "vmsd_name", json_string(EXCEPTION_INFO));
	json_object_set_new(d, "version", json_integer(1));
	json_object_set_new(d, "fields", a);
	return d;
}

/* The description of vCPU instance's `cpu` device in vmdesc, or NULL. */
static json_t *desc_cpu(json_t *vmdesc, uint32_t instance)
{
	json_t *devs = json_object_get(vmdesc, "devices"), *d;
	size_t i;

	json_array_foreach(devs, i, d) {
		json_t *name = json_object_get(d, "name"), *inst = json_object_get(d, "instance_id");

		if (json_is_string(name) && strcmp(json_string_value(name), "cpu") == 0 &&
		    json_is_integer(inst) && json_integer_value(inst) == instance)
			return d;
	}
	return NULL;
}

static void desc_remove_subsection(json_t *cpu, const char *name)
{
	json_t *subs = json_object_get(cpu, "subsections"), *s;
	size_t i;

	json_array_foreach(subs, i, s) {
		json_t *n = json_object_get(s, "vmsd_name");

		if (json_is_string(n) && strcmp(json_string_value(n), name) == 0) {
			json_array_remove(subs, i);
			break;
		}
	}
	if (subs && json_array_size(subs) == 0)
		json_object_del(cpu, "subsections"); /* QEMU omits an empty list */
}

/* cpu/exception_info is first in QEMU's definition order: insert it first. */
static void desc_insert_exception_info(json_t *cpu)
{
	json_t *subs = json_object_get(cpu, "subsections");

	if (!subs) {
		subs = json_array();
		json_object_set_new(cpu, "subsections", subs);
	}
	json_array_insert_new(subs, 0, exception_info_desc());
}

static int edits_pending(struct edits *ed, const struct qemu_cpu_loc *loc,
			 const struct vcpu_plan *p, json_t *cpu_desc)
{
	uint8_t sub[SUB_HEADER(EXCEPTION_INFO) + EXCEPTION_INFO_BODY];
	size_t name_len = sizeof(EXCEPTION_INFO) - 1;

	if (loc->exception_info) {
		exception_info_body(sub, &p->new_exc);
		return add_edit(ed, loc->exception_info + SUB_HEADER(EXCEPTION_INFO),
				EXCEPTION_INFO_BODY, sub, EXCEPTION_INFO_BODY);
	}
	sub[0] = 0x05;
	sub[1] = (uint8_t)name_len;
	memcpy(sub + 2, EXCEPTION_INFO, name_len);
	be_put(sub + 2 + name_len, 1, 4);
	exception_info_body(sub + SUB_HEADER(EXCEPTION_INFO), &p->new_exc);
	if (cpu_desc)
		desc_insert_exception_info(cpu_desc);
	return add_edit(ed, loc->main + QCPU_MAIN, 0, sub, sizeof(sub));
}

static int edits_drop(struct edits *ed, const struct qemu_cpu_loc *loc,
		      const struct vcpu_state *v, json_t *cpu_desc)
{
	static const uint8_t none[4] = { 0xff, 0xff, 0xff, 0xff }; /* exception_nr = -1 */
	static const uint8_t zero = 0;

	if (add_edit(ed, loc->main + QCPU_EXCEPTION_NR, 4, none, 4))
		return -1;
	if (v->exc.has_error_code && add_edit(ed, loc->main + QCPU_HAS_ERROR_CODE, 1, &zero, 1))
		return -1;
	if (loc->exception_info) {
		if (add_edit(ed, loc->exception_info, loc->exception_info_end - loc->exception_info,
			     NULL, 0))
			return -1;
		if (cpu_desc)
			desc_remove_subsection(cpu_desc, EXCEPTION_INFO);
	}
	if (loc->error_code) {
		if (add_edit(ed, loc->error_code, loc->error_code_end - loc->error_code, NULL, 0))
			return -1;
		if (cpu_desc)
			desc_remove_subsection(cpu_desc, ERROR_CODE);
	}
	return 0;
}

/* The edits of one planned vCPU (and its description, when there is one). */
static int cpu_edits(struct edits *ed, const struct qemu_cpu_loc *loc, const struct vcpu_state *v,
		     const struct vcpu_plan *p, json_t *cpu_desc)
{
	if (p->action == ACTION_PENDING)
		return edits_pending(ed, loc, p, cpu_desc);
	return edits_drop(ed, loc, v, cpu_desc);
}

static const struct qemu_cpu_loc *find_loc(const struct qemu *q, unsigned int instance)
{
	for (size_t i = 0; i < q->ncpus; i++)
		if (q->cpus[i].instance == instance)
			return &q->cpus[i];
	return NULL;
}

/* The device description rewritten as the last edit: 06, be32 length, JSON. */
static int edit_vmdesc(struct edits *ed, const struct qemu *q, json_t *vmdesc, uint64_t size)
{
	char *text = json_dumps(vmdesc, JSON_PRESERVE_ORDER);
	size_t len;
	uint8_t *rec;
	int rc;

	if (!text)
		return -1;
	len = strlen(text);
	rec = malloc(len + 5);
	if (!rec) {
		free(text);
		return -1;
	}
	rec[0] = 0x06;
	be_put(rec + 1, len, 4);
	memcpy(rec + 5, text, len);
	rc = add_edit(ed, q->vmdesc_offset, size - q->vmdesc_offset, rec, len + 5);
	free(rec);
	free(text);
	return rc;
}

static int plan_edits(struct snapshot *s, const struct vcpu_plan *plans, struct edits *ed,
		      struct fmt_error *e)
{
	struct qemu *q = s->priv;
	json_t *vmdesc = q->vmdesc ? json_deep_copy(q->vmdesc) : NULL;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < s->nvcpus; i++) {
		const struct vcpu_state *v = &s->vcpus[i];
		const struct qemu_cpu_loc *loc = find_loc(q, v->index);
		json_t *cpu_desc = vmdesc ? desc_cpu(vmdesc, v->index) : NULL;

		if (!plan_changes_state(&plans[i]))
			continue;
		rc = loc ? cpu_edits(ed, loc, v, &plans[i], cpu_desc) : -1;
	}
	if (rc == 0 && vmdesc && ed->n)
		rc = edit_vmdesc(ed, q, vmdesc, q->src.size);
	json_decref(vmdesc);
	if (rc)
		return fmt_syserr(e, s->path, ENOMEM, "cannot plan the edits");
	if (ed->n) /* qsort(NULL, 0) is undefined */
		qsort(ed->v, ed->n, sizeof(*ed->v), cmp_edit);
	return 0;
}

/* The input with the edits applied, into out. */
static int write_edited(struct snapshot *s, const struct edits *ed, int out, const char *tmp,
			struct fmt_error *e)
{
	struct qemu *q = s->priv;
	uint64_t in_pos = 0, out_pos = 0;
	int in = q->src.fd;

	for (size_t i = 0; i < ed->n; i++) {
		const struct edit *x = &ed->v[i];

		if (x->off < in_pos)
			return fmt_fail(e, FMT_ERR_SYSTEM, s->path, "internal error: overlapping edits");
		if (sw_copy_range(in, s->path, out, tmp, in_pos, x->off, out_pos, e))
			return -1;
		out_pos += x->off - in_pos;
		if (x->len && pwrite(out, x->ins, x->len, (off_t)out_pos) != (ssize_t)x->len)
			return fmt_syserr(e, tmp, errno, "cannot write");
		out_pos += x->len;
		in_pos = x->off + x->del;
	}
	if (sw_copy_range(in, s->path, out, tmp, in_pos, q->src.size, out_pos, e))
		return -1;
	out_pos += q->src.size - in_pos;
	/* A trailing hole is only a size. */
	if (ftruncate(out, (off_t)out_pos) != 0 || fsync(out) != 0)
		return fmt_syserr(e, tmp, errno, "cannot write");
	return 0;
}

/* Parse the result again: every vCPU as planned, the description in step. */
static int verify_file(struct snapshot *s, const struct vcpu_plan *plans, const char *tmp,
		       struct fmt_error *e)
{
	struct qemu *q = s->priv;
	struct snapshot re;
	int rc;

	if (snapshot_open(&re, tmp, s->ops->name, e) != 0)
		return -1;
	rc = snapshot_verify(s, plans, &re, e);
	if (rc == 0 && q->vmdesc_trusted && !((struct qemu *)re.priv)->vmdesc_trusted)
		rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp,
			      "verification failed: the rewritten device description does not "
			      "match the stream");
	snapshot_close(&re);
	return rc;
}

static int write_compressed(struct snapshot *s, const struct vcpu_plan *plans, int out,
			    const char *tmp, struct fmt_error *e);

int qemu_write(struct snapshot *s, const struct vcpu_plan *plans, struct write_request *w,
	       struct fmt_error *e)
{
	struct qemu *q = s->priv;
	char target[PATH_MAX], tmp[PATH_MAX];
	struct edits ed = { 0 };
	int out = -1, rc = -1;

	if (!q->src.seekable && !q->compressed)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, s->path,
				"repairing a stream read from a pipe needs -o - (the stream filter)");
	if (strcmp(s->real, "-") == 0)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, s->path,
				"a compressed image on standard input cannot be repaired: give its path");
	if (sw_prepare(s->real, w, target, sizeof(target), e) != 0)
		return -1;
	if (!q->compressed && plan_edits(s, plans, &ed, e) != 0)
		goto out;
	if (sw_temp_file(target, s->real, tmp, sizeof(tmp), &out, e) != 0) {
		sw_explain(e, target, w);
		goto out;
	}
	rc = q->compressed ? write_compressed(s, plans, out, tmp, e) :
			     write_edited(s, &ed, out, tmp, e);
	if (close(out) != 0 && rc == 0)
		rc = fmt_syserr(e, tmp, errno, "cannot write");
	out = -1;
	if (rc == 0)
		rc = verify_file(s, plans, tmp, e);
	if (rc != 0) {
		unlink(tmp);
		sw_explain(e, target, w);
		goto out;
	}
	rc = -1;
	if (sw_commit_file(tmp, target, w, e) != 0) {
		if (strcmp(w->written, target) != 0)
			unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	if (out >= 0) {
		close(out);
		unlink(tmp);
	}
	free_edits(&ed);
	return rc;
}

/* ---- stream filter ------------------------------------------------------ */

/* Largest device description the filter holds in memory. */
#define VMDESC_MAX (64U << 20)

struct qemu_filter {
	int out_fd;
	struct encoder *enc; /* set: the output is compressed on its way to out_fd */
	struct vcpu_plan (*plan)(const struct vcpu_state *v, void *ctx);
	void *ctx;
	struct vcpu_plan *plans; /* parallel to q->cpus, in stream order */
	size_t cap;
};

static int write_out(void *ctx, const uint8_t *data, size_t len)
{
	struct qemu_filter *f = ctx;

	if (f->enc)
		return encoder_write(f->enc, data, len) ? (errno = EIO, -1) : 0;
	return write_full(f->out_fd, data, len);
}

static int grow_plans(struct qemu_filter *f, size_t n)
{
	struct vcpu_plan *p;

	if (n <= f->cap)
		return 0;
	p = realloc(f->plans, n * 2 * sizeof(*p));
	if (!p)
		return -1;
	f->plans = p;
	f->cap = n * 2;
	return 0;
}

/* Write the held section [from, to) of the input with the edits applied. */
static int emit_edited(struct qemu *q, uint64_t from, uint64_t to, const struct edits *ed,
		       struct fmt_error *e)
{
	const uint8_t *sec = bsrc_at(&q->src, from, (size_t)(to - from));
	uint64_t pos = from;

	if (!sec)
		return fmt_fail(e, FMT_ERR_SYSTEM, q->src.path,
				"internal error: the cpu section left the buffer");
	for (size_t i = 0; i < ed->n; i++) {
		const struct edit *x = &ed->v[i];

		if (write_out(q->filter, sec + (pos - from), x->off - pos) ||
		    write_out(q->filter, x->ins, x->len))
			return fmt_syserr(e, "(output)", errno, "cannot write the output");
		pos = x->off + x->del;
	}
	if (write_out(q->filter, sec + (pos - from), to - pos))
		return fmt_syserr(e, "(output)", errno, "cannot write the output");
	bsrc_mark_emitted(&q->src, to);
	return 0;
}

int qemu_filter_cpu(struct qemu *q, struct fmt_error *e)
{
	struct qemu_filter *f = q->filter;
	size_t i = q->ncpus - 1;
	const struct qemu_cpu_loc *loc = &q->cpus[i];
	uint64_t end = bsrc_offset(&q->src); /* after the footer */
	struct edits ed = { 0 };
	int rc;

	if (grow_plans(f, q->ncpus))
		return fmt_syserr(e, q->src.path, ENOMEM, "cannot plan");
	f->plans[i] = f->plan(&q->vcpus[i], f->ctx);
	if (!plan_changes_state(&f->plans[i])) {
		bsrc_release(&q->src); /* the bytes flow on unchanged */
		return 0;
	}
	if (cpu_edits(&ed, loc, &q->vcpus[i], &f->plans[i], NULL))
		return fmt_syserr(e, q->src.path, ENOMEM, "cannot plan");
	if (ed.n)
		qsort(ed.v, ed.n, sizeof(*ed.v), cmp_edit);
	rc = bsrc_emit_to(&q->src, loc->section, e);
	if (rc == 0)
		rc = emit_edited(q, loc->section, end, &ed, e);
	bsrc_release(&q->src);
	free_edits(&ed);
	return rc;
}

/* The description, read whole (it ends the stream), rewritten for the plans. */
static json_t *filter_read_vmdesc(struct qemu *q, uint64_t len, struct fmt_error *e)
{
	char *text = malloc(len ? len : 1);
	uint64_t done = 0;
	json_t *doc;

	if (!text) {
		fmt_syserr(e, q->src.path, ENOMEM, "cannot read the device description");
		return NULL;
	}
	while (done < len) {
		size_t chunk = len - done < BSRC_BUFFER / 2 ? (size_t)(len - done) : BSRC_BUFFER / 2;
		const uint8_t *p = bsrc_take(&q->src, chunk, "vmdesc JSON", e);

		if (!p) {
			free(text);
			return NULL;
		}
		memcpy(text + done, p, chunk);
		done += chunk;
		/* These bytes are replaced, never sent as they were. */
		bsrc_mark_emitted(&q->src, bsrc_offset(&q->src));
	}
	doc = json_loadb(text, len, 0, NULL);
	if (!doc)
		fmt_malformed(e, q->src.path, bsrc_offset(&q->src) - len, "vmdesc JSON",
			      "the device description is not valid JSON");
	free(text);
	return doc;
}

int qemu_filter_vmdesc(struct qemu *q, uint64_t len, struct fmt_error *e)
{
	struct qemu_filter *f = q->filter;
	uint64_t marker = bsrc_offset(&q->src) - 5;
	struct edits ed = { 0 };
	json_t *doc;
	int rc = 0;

	if (len > VMDESC_MAX)
		return fmt_malformed(e, q->src.path, marker + 1, "vmdesc length",
				     "a device description of %llu bytes (fredck holds at most %u)",
				     (unsigned long long)len, VMDESC_MAX);
	if (bsrc_emit_to(&q->src, marker, e))
		return -1;
	bsrc_mark_emitted(&q->src, marker + 5);
	bsrc_release(&q->src);
	doc = filter_read_vmdesc(q, len, e);
	if (!doc)
		return -1;
	for (size_t i = 0; rc == 0 && i < q->ncpus; i++)
		if (plan_changes_state(&f->plans[i]))
			rc = cpu_edits(&ed, &q->cpus[i], &q->vcpus[i], &f->plans[i],
				       desc_cpu(doc, q->cpus[i].instance));
	free_edits(&ed); /* only the description changes were wanted */
	if (rc == 0) {
		char *text = json_dumps(doc, JSON_PRESERVE_ORDER);
		uint8_t hdr[5] = { 0x06 };

		be_put(hdr + 1, text ? strlen(text) : 0, 4);
		if (!text || write_out(f, hdr, 5) || write_out(f, (const uint8_t *)text, strlen(text)))
			rc = fmt_syserr(e, "(output)", errno, "cannot write the output");
		free(text);
	}
	json_decref(doc);
	return rc;
}

int qemu_filter(struct snapshot *s, const char *in_path, int out_fd,
		struct vcpu_plan (*plan)(const struct vcpu_state *v, void *ctx), void *ctx,
		struct vcpu_plan **plans, struct fmt_error *e)
{
	return qemu_filter_in(s, in_path, out_fd, plan, ctx, plans,
			      strcmp(in_path, "-") == 0 ? qemu_auto_container : NULL, e);
}

int qemu_filter_in(struct snapshot *s, const char *in_path, int out_fd,
		   struct vcpu_plan (*plan)(const struct vcpu_state *v, void *ctx), void *ctx,
		   struct vcpu_plan **plans, qemu_container_fn container, struct fmt_error *e)
{
	struct qemu *q = calloc(1, sizeof(*q));
	struct qemu_filter f = { .out_fd = out_fd, .plan = plan, .ctx = ctx };
	int rc;

	*plans = NULL;
	if (!q)
		return fmt_syserr(e, in_path, ENOMEM, "cannot read");
	s->priv = q;
	q->page_size = 4096;
	if (bsrc_open(&q->src, in_path, e))
		return -1;
	/* A pipe of 64 KiB costs a context switch per 64 KiB: ask for 1 MiB. */
	fcntl(out_fd, F_SETPIPE_SZ, 1 << 20);
	q->filter = &f;
	bsrc_set_sink(&q->src, write_out, &f);
	/* A container's header passes through unchanged. */
	rc = container ? container(q, s, e) : 0;
	if (rc == 0)
		rc = qemu_parse(q, e);
	if (rc == 0)
		rc = bsrc_emit_to(&q->src, bsrc_offset(&q->src), e);
	q->filter = NULL;
	if (rc == 0)
		rc = qemu_take_vcpus(s, q, f.plans, e);
	if (rc == 0)
		qemu_describe(s, q);
	*plans = f.plans;
	return rc;
}

/* The plans already made, handed to the filter vCPU by vCPU. */
struct replay {
	const struct snapshot *s;
	const struct vcpu_plan *plans;
};

static struct vcpu_plan replay_plan(const struct vcpu_state *v, void *ctx)
{
	const struct replay *r = ctx;
	struct vcpu_plan nothing = { .action = ACTION_NOTHING };

	for (size_t i = 0; i < r->s->nvcpus; i++)
		if (r->s->vcpus[i].index == v->index)
			return r->plans[i];
	return nothing;
}

/*
 * A compressed libvirt image: its header and XML copied as they are, then
 * the stream decompressed, repaired by the filter and compressed again
 * with the same compressor, into out.
 */
static int write_compressed(struct snapshot *s, const struct vcpu_plan *plans, int out,
			    const char *tmp, struct fmt_error *e)
{
	struct qemu *q = s->priv, *r = calloc(1, sizeof(*r));
	struct replay rp = { s, plans };
	struct qemu_filter f = { .out_fd = out, .plan = replay_plan, .ctx = &rp };
	char error[200];
	int rc = -1;

	if (!r)
		return fmt_syserr(e, s->path, ENOMEM, "cannot write");
	r->page_size = 4096;
	if (sw_copy_range(q->src.fd, s->path, out, tmp, 0, q->container_len, 0, e) ||
	    lseek(out, (off_t)q->container_len, SEEK_SET) < 0 ||
	    bsrc_open(&r->src, s->real, e) || bsrc_skip(&r->src, q->container_len, "", e) ||
	    bsrc_decode(&r->src, q->codec, e))
		goto out;
	f.enc = encoder_new(q->codec, out, error, sizeof(error));
	if (!f.enc) {
		fmt_fail(e, FMT_ERR_SYSTEM, tmp, "cannot compress: %s", error);
		goto out;
	}
	r->filter = &f;
	bsrc_set_sink(&r->src, write_out, &f);
	rc = qemu_parse(r, e);
	if (rc == 0)
		rc = bsrc_emit_to(&r->src, bsrc_offset(&r->src), e);
	r->filter = NULL;
	if (encoder_finish(f.enc, error, sizeof(error)) != 0 && rc == 0)
		rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp, "cannot compress: %s", error);
	if (rc == 0 && fsync(out) != 0)
		rc = fmt_syserr(e, tmp, errno, "cannot write");
out:
	free(f.plans);
	qemu_free(r);
	return rc;
}

/* ---- redaction ----------------------------------------------------------- */

static struct vcpu_plan keep_state(const struct vcpu_state *v, void *ctx)
{
	return (struct vcpu_plan){ .action = ACTION_NOTHING };
}

/* The bytes before the stream that a copy keeps as they are (a libvirt header and XML). */
static uint64_t prefix_length(const struct qemu *q)
{
	return q->compressed ? q->container_len : q->stream_start;
}

/*
 * Open r on the input again, after the prefix (copied to out as it is),
 * reading decompressed where the input is compressed.
 */
static int reopen_after_prefix(struct snapshot *s, struct qemu *r, int out, const char *tmp,
			       struct fmt_error *e)
{
	struct qemu *q = s->priv;
	uint64_t prefix = prefix_length(q);

	r->page_size = 4096;
	r->stream_start = q->compressed ? 0 : prefix;
	if (sw_copy_range(q->src.fd, s->path, out, tmp, 0, prefix, 0, e) ||
	    bsrc_open(&r->src, s->real, e) || bsrc_skip(&r->src, prefix, "", e))
		return -1;
	if (lseek(out, (off_t)prefix, SEEK_SET) < 0)
		return fmt_syserr(e, tmp, errno, "cannot write");
	return q->compressed ? bsrc_decode(&r->src, q->codec, e) : 0;
}

/*
 * Sequential layout: the stream once more through the filter, with every
 * record that carries memory turned into a zero-page record on its way
 * out; compressed again with the input's compressor where it was.
 */
static int redact_sequential(struct snapshot *s, struct qemu *r, int out, const char *tmp,
			     struct fmt_error *e)
{
	struct qemu *q = s->priv;
	struct qemu_filter f = { .out_fd = out, .plan = keep_state };
	char error[200];
	int rc;

	if (reopen_after_prefix(s, r, out, tmp, e))
		return -1;
	if (q->compressed) {
		f.enc = encoder_new(q->codec, out, error, sizeof(error));
		if (!f.enc)
			return fmt_fail(e, FMT_ERR_SYSTEM, tmp, "cannot compress: %s", error);
	}
	r->filter = &f;
	bsrc_set_sink(&r->src, write_out, &f);
	rc = qemu_parse(r, e);
	if (rc == 0)
		rc = bsrc_emit_to(&r->src, bsrc_offset(&r->src), e);
	r->filter = NULL;
	if (f.enc && encoder_finish(f.enc, error, sizeof(error)) != 0 && rc == 0)
		rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp, "cannot compress: %s", error);
	free(f.plans);
	return rc;
}

static int cmp_extent(const void *a, const void *b)
{
	const struct ram_extent *x = a, *y = b;

	return (x->off > y->off) - (x->off < y->off);
}

/*
 * mapped-ram: the file copied as it is except each block's bitmap and
 * pages, left as holes -- every page absent, RAM zero when loaded -- so
 * the copy has the input's layout and takes no space for memory.
 */
static int redact_mapped(struct snapshot *s, struct qemu *r, int out, const char *tmp,
			 struct fmt_error *e)
{
	struct qemu *q = s->priv;
	uint64_t pos = 0;

	if (bsrc_open(&r->src, s->real, e) || bsrc_skip(&r->src, q->stream_start, "", e))
		return -1;
	r->page_size = 4096;
	r->stream_start = q->stream_start;
	if (qemu_parse(r, e))
		return -1;
	if (r->nextents)
		qsort(r->extents, r->nextents, sizeof(r->extents[0]), cmp_extent);
	for (size_t i = 0; i < r->nextents; i++) {
		const struct ram_extent *x = &r->extents[i];

		if (x->off > pos && sw_copy_range(q->src.fd, s->path, out, tmp, pos, x->off, pos, e))
			return -1;
		if (x->off + x->len > pos)
			pos = x->off + x->len;
	}
	if (pos < q->src.size &&
	    sw_copy_range(q->src.fd, s->path, out, tmp, pos, q->src.size, pos, e))
		return -1;
	if (ftruncate(out, (off_t)q->src.size) != 0)
		return fmt_syserr(e, tmp, errno, "cannot write");
	return 0;
}

/* The copy read again: the same vCPUs, and (sequential) only the kept pages. */
static int verify_redacted(struct snapshot *s, const char *tmp, uint64_t kept,
			   struct fmt_error *e)
{
	struct qemu *q = s->priv;
	struct vcpu_plan *none = calloc(s->nvcpus ? s->nvcpus : 1, sizeof(*none));
	struct snapshot re;
	int rc;

	if (!none)
		return fmt_syserr(e, tmp, ENOMEM, "cannot verify");
	rc = snapshot_open(&re, tmp, s->ops->name, e);
	if (rc == 0) {
		rc = snapshot_verify(s, none, &re, e);
		if (rc == 0 && !q->mapped_ram && ((struct qemu *)re.priv)->ram_pages != kept)
			rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp,
				      "verification failed: %llu pages of memory are left, %llu "
				      "expected (the legacy ROM area's)",
				      (unsigned long long)((struct qemu *)re.priv)->ram_pages,
				      (unsigned long long)kept);
		snapshot_close(&re);
	}
	free(none);
	return rc;
}

int qemu_redact(struct snapshot *s, struct write_request *w, struct redaction *result,
		struct fmt_error *e)
{
	struct qemu *q = s->priv, *r;
	char target[PATH_MAX], tmp[PATH_MAX];
	int out = -1, rc;

	if (w->in_place || !w->out_path)
		return fmt_fail(e, FMT_ERR_REFUSED, s->path,
				"redaction removes the guest's memory: it writes a copy (-o OUT), "
				"never in place");
	if (strcmp(s->real, "-") == 0 || (!q->src.seekable && !q->compressed))
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, s->path,
				"redact reads its input twice: give a file, not a pipe");
	if (sw_prepare(s->real, w, target, sizeof(target), e) != 0)
		return -1;
	r = calloc(1, sizeof(*r));
	if (!r)
		return fmt_syserr(e, s->path, ENOMEM, "cannot write");
	r->redact = true;
	rc = sw_temp_file(target, s->real, tmp, sizeof(tmp), &out, e);
	if (rc == 0) {
		rc = q->mapped_ram ? redact_mapped(s, r, out, tmp, e) :
				     redact_sequential(s, r, out, tmp, e);
		if (rc == 0 && fsync(out) != 0)
			rc = fmt_syserr(e, tmp, errno, "cannot write");
		if (close(out) != 0 && rc == 0)
			rc = fmt_syserr(e, tmp, errno, "cannot write");
		if (rc == 0)
			rc = verify_redacted(s, tmp, r->kept_records, e);
		if (rc == 0)
			rc = sw_commit_file(tmp, target, w, e);
		if (rc != 0 && strcmp(w->written, target) != 0)
			unlink(tmp);
	}
	result->pages = r->redacted_records;
	result->bytes = r->redacted_bytes;
	result->kept_pages = r->kept_records;
	qemu_free(r);
	return rc;
}
