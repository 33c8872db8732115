/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chv.c --- reader and writer of Cloud Hypervisor snapshots (chv.h).
 *
 * state.json is the Snapshot tree of vm-migration/src/lib.rs: nodes of
 * {"snapshots":{id: node...},"snapshot_data":...}.  The vCPUs are the
 * children of snapshots["cpu-manager"]; each one's snapshot_data holds the
 * JSON text of its CpuState ({"Kvm":{...}}) in one of two layouts:
 *
 *   v39 and later   {"state":"<text>"}; the KVM structs inside are arrays
 *                   of their raw bytes (kvm-bindings' serde_impls).
 *   v29 to v38      [123,34,...], the text's bytes; the KVM structs inside
 *                   are objects with one member per C field (the serde
 *                   derive of Cloud Hypervisor's kvm-bindings fork).
 *
 * Numbers are read exactly (json_scan.h) because u64 values above
 * INT64_MAX are common there.  A repair edits only the tokens of the
 * changed kvm_vcpu_events fields, in place in the outer file: every other
 * byte, inner or outer, stays as it was.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/chv.h"
#include "formats/json_scan.h"
#include "formats/kvm_structs.h"
#include "formats/safe_write.h"

enum chv_layout {
	CHV_V29_V38, /* byte-array state, field-by-field structs */
	CHV_V39,     /* string state, raw-byte structs */
};

/* The kvm_vcpu_events members of the v29-v38 layout, and their bytes in the struct. */
static const struct ev_field {
	const char *group; /* the member's enclosing object, NULL at the top */
	const char *key;
	unsigned off, size;
} ev_fields[] = {
	{ "exception", "injected", 0, 1 },     { "exception", "nr", 1, 1 },
	{ "exception", "has_error_code", 2, 1 }, { "exception", "pending", 3, 1 },
	{ "exception", "error_code", 4, 4 },   { "interrupt", "injected", 8, 1 },
	{ "interrupt", "nr", 9, 1 },           { "interrupt", "soft", 10, 1 },
	{ "interrupt", "shadow", 11, 1 },      { "nmi", "injected", 12, 1 },
	{ "nmi", "pending", 13, 1 },           { "nmi", "masked", 14, 1 },
	{ "nmi", "pad", 15, 1 },               { NULL, "sipi_vector", 16, 4 },
	{ NULL, "flags", 20, 4 },              { "smi", "smm", 24, 1 },
	{ "smi", "pending", 25, 1 },           { "smi", "smm_inside_nmi", 26, 1 },
	{ "smi", "latched_init", 27, 1 },      { NULL, "exception_has_payload", 55, 1 },
	{ NULL, "exception_payload", 56, 8 },
};
#define EV_FIELDS (sizeof(ev_fields) / sizeof(ev_fields[0]))

/* A token of the inner text: [start, end). */
struct span {
	size_t start, end;
};

struct chv_vcpu {
	unsigned int id;
	int data;         /* outer node: the state string, or the byte array */
	char path[96];    /* JSON path of that node */
	char *text;       /* the inner JSON text, decoded */
	size_t len;
	size_t *map;      /* inner byte i came from outer bytes [map[2i], map[2i+1]) */
	uint8_t events[EV_SIZE];       /* kvm_vcpu_events as raw bytes, either layout */
	struct span ev_tok[EV_SIZE];   /* v39+: the token of each byte */
	struct span field_tok[EV_FIELDS]; /* v29-v38: the token of each member */
};

struct chv {
	char *buf; /* state.json */
	size_t len;
	char file[PATH_MAX];  /* state.json as opened */
	bool is_dir;
	mode_t mode;
	struct jv_tree tree;
	enum chv_layout layout;
	struct chv_vcpu *v; /* parallel to snapshot.vcpus */
	size_t nv;          /* entries of v allocated */
};

/* ---- reading the outer file ----------------------------------------------- */

static int slurp(const char *path, char **buf, size_t *len, mode_t *mode, struct fmt_error *e)
{
	struct stat st;
	size_t got = 0;
	char *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fmt_syserr(e, path, errno, "cannot open");
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fmt_fail(e, FMT_ERR_MALFORMED, path, "not a regular file");
	}
	if ((uint64_t)st.st_size > CHV_MAX_STATE) {
		close(fd);
		return fmt_malformed(e, path, CHV_MAX_STATE, "(file size)",
				     "file is %lld bytes; a Cloud Hypervisor state.json holds no guest "
				     "memory and is far smaller", (long long)st.st_size);
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
		if (n < 0) {
			int err = errno;

			close(fd);
			free(p);
			return fmt_syserr(e, path, err, "cannot read");
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	p[got] = '\0';
	*buf = p;
	*len = got;
	*mode = st.st_mode;
	return 0;
}

/* An outer node of the wrong type: malformed, naming its path. */
static int outer_type(struct chv *c, int node, const char *path, const char *want,
		      struct fmt_error *e)
{
	return fmt_malformed(e, c->file, c->tree.n[node].start, path, "is %s; expected %s",
			     jv_type_name(c->tree.n[node].type), want);
}

/* A vCPU key of cpu-manager: decimal, no leading zero, below CHV_MAX_VCPUS. */
static bool vcpu_id(const struct jv_tree *t, int m, unsigned int *id)
{
	const struct jv_node *n = &t->n[m];
	const char *k = t->buf + n->key_start + 1;
	size_t len = n->key_end - n->key_start - 2;
	unsigned long v = 0;

	if (len == 0 || len > 4 || (k[0] == '0' && len > 1))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (k[i] < '0' || k[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(k[i] - '0');
	}
	*id = (unsigned int)v;
	return v < CHV_MAX_VCPUS;
}

/* Decode a v29-v38 snapshot_data: an array of byte values holding the text. */
static int decode_byte_array(struct chv *c, struct chv_vcpu *cv, struct fmt_error *e)
{
	const struct jv_node *arr = &c->tree.n[cv->data];
	size_t i = 0;

	cv->text = malloc(arr->count + 1);
	cv->map = malloc((arr->count + 1) * 2 * sizeof(*cv->map));
	if (!cv->text || !cv->map)
		return fmt_syserr(e, c->file, ENOMEM, "cannot read");
	for (int el = arr->first; el >= 0; el = c->tree.n[el].next, i++) {
		uint64_t b;
		char p[128];

		snprintf(p, sizeof(p), "%s[%zu]", cv->path, i);
		if (jv_u64(&c->tree, el, &b) != 0 || b > 255)
			return fmt_malformed(e, c->file, c->tree.n[el].start, p,
					     "is not a byte value (an integer 0 to 255)");
		cv->text[i] = (char)b;
		cv->map[2 * i] = c->tree.n[el].start;
		cv->map[2 * i + 1] = c->tree.n[el].end;
	}
	cv->text[i] = '\0';
	cv->len = i;
	return 0;
}

/* snapshot_data of one vCPU: its layout, and the inner text decoded. */
static int vcpu_data(struct chv *c, struct chv_vcpu *cv, int node, bool first,
		     struct fmt_error *e)
{
	int sd = jv_member(&c->tree, node, "snapshot_data"), st;
	enum chv_layout layout;

	snprintf(cv->path, sizeof(cv->path), ".snapshots[\"cpu-manager\"].snapshots[\"%u\"]",
		 cv->id);
	if (c->tree.n[node].type != JV_OBJECT)
		return outer_type(c, node, cv->path, "an object (a Snapshot node)", e);
	if (sd < 0)
		return fmt_malformed(e, c->file, c->tree.n[node].start, cv->path,
				     "has no snapshot_data");
	strcat(cv->path, ".snapshot_data");
	if (c->tree.n[sd].type == JV_ARRAY) {
		layout = CHV_V29_V38;
		cv->data = sd;
	} else if (c->tree.n[sd].type == JV_OBJECT && (st = jv_member(&c->tree, sd, "state")) >= 0) {
		layout = CHV_V39;
		cv->data = st;
		strcat(cv->path, ".state");
		if (c->tree.n[st].type != JV_STRING)
			return outer_type(c, st, cv->path, "a string (the vCPU state)", e);
	} else {
		return outer_type(c, sd, cv->path,
				  "{\"state\": string} (v39 and later) or an array of byte values "
				  "(v29 to v38)", e);
	}
	if (!first && layout != c->layout)
		return fmt_malformed(e, c->file, c->tree.n[sd].start, cv->path,
				     "vCPUs of one snapshot in two layouts (v29-v38 and v39+)");
	c->layout = layout;
	if (layout == CHV_V29_V38)
		return decode_byte_array(c, cv, e);
	if (jv_string(&c->tree, cv->data, &cv->text, &cv->len, &cv->map) != 0)
		return fmt_syserr(e, c->file, ENOMEM, "cannot read");
	return 0;
}

static int cmp_vcpu(const void *a, const void *b)
{
	unsigned int x = ((const struct chv_vcpu *)a)->id, y = ((const struct chv_vcpu *)b)->id;

	return (x > y) - (x < y);
}

/*
 * The tree down to the cpu-manager's children: the vCPUs, sorted by id.
 * v28 and older (nodes with an "id", snapshot_data a map of sections) are
 * unsupported, said as such.
 */
static int find_vcpus(struct chv *c, size_t *count, struct fmt_error *e)
{
	const struct jv_tree *t = &c->tree;
	int snaps, cpum, cs;
	size_t n = 0;

	if (t->n[0].type != JV_OBJECT)
		return outer_type(c, 0, ".", "an object (the Snapshot tree)", e);
	if (jv_member(t, 0, "id") >= 0)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, c->file,
				"a Cloud Hypervisor v28 or older snapshot (Snapshot nodes with an "
				"\"id\", versionize sections): not supported; this version reads "
				"v29 and later");
	snaps = jv_member(t, 0, "snapshots");
	if (snaps < 0 || t->n[snaps].type != JV_OBJECT)
		return snaps < 0 ? fmt_malformed(e, c->file, 0, ".snapshots", "missing") :
				   outer_type(c, snaps, ".snapshots", "an object", e);
	cpum = jv_member(t, snaps, "cpu-manager");
	if (cpum < 0)
		return fmt_malformed(e, c->file, t->n[snaps].start, ".snapshots[\"cpu-manager\"]",
				     "missing: no CPU manager in this snapshot");
	if (t->n[cpum].type != JV_OBJECT)
		return outer_type(c, cpum, ".snapshots[\"cpu-manager\"]", "an object", e);
	cs = jv_member(t, cpum, "snapshots");
	if (cs < 0 || t->n[cs].type != JV_OBJECT)
		return fmt_malformed(e, c->file, t->n[cpum].start,
				     ".snapshots[\"cpu-manager\"].snapshots",
				     cs < 0 ? "missing" : "is not an object");
	if (t->n[cs].count == 0)
		return fmt_malformed(e, c->file, t->n[cs].start,
				     ".snapshots[\"cpu-manager\"].snapshots", "no vCPUs");
	if (t->n[cs].count > CHV_MAX_VCPUS)
		return fmt_malformed(e, c->file, t->n[cs].start,
				     ".snapshots[\"cpu-manager\"].snapshots",
				     "%zu vCPUs; KVM allows at most %d", (size_t)t->n[cs].count,
				     CHV_MAX_VCPUS);
	c->v = calloc(t->n[cs].count, sizeof(*c->v));
	if (!c->v)
		return fmt_syserr(e, c->file, ENOMEM, "cannot read");
	c->nv = t->n[cs].count;
	for (int m = t->n[cs].first; m >= 0; m = t->n[m].next) {
		struct chv_vcpu *cv = &c->v[n];

		if (!vcpu_id(t, m, &cv->id))
			return fmt_malformed(e, c->file, t->n[m].key_start,
					     ".snapshots[\"cpu-manager\"].snapshots",
					     "key %.*s is not a vCPU id (a decimal number)",
					     (int)(t->n[m].key_end - t->n[m].key_start),
					     t->buf + t->n[m].key_start);
		for (size_t k = 0; k < n; k++)
			if (c->v[k].id == cv->id)
				return fmt_malformed(e, c->file, t->n[m].key_start,
						     ".snapshots[\"cpu-manager\"].snapshots",
						     "vCPU %u appears twice", cv->id);
		n++; /* counted before decoding, so close frees what it allocated */
		if (vcpu_data(c, cv, m, n == 1, e) != 0) {
			*count = n;
			return -1;
		}
	}
	qsort(c->v, n, sizeof(*c->v), cmp_vcpu);
	*count = n;
	return 0;
}

/* ---- reading one vCPU's inner state ----------------------------------------- */

struct inner {
	struct chv *c;
	struct chv_vcpu *cv;
	struct jv_tree t;
	struct fmt_error *e;
};

/* The outer offset of inner byte off (the end of the data when off is past it). */
static uint64_t outer_offset(const struct inner *in, size_t off)
{
	if (off < in->cv->len)
		return in->cv->map[2 * off];
	return in->c->tree.n[in->cv->data].end;
}

/* Malformed inner state at inner byte off: the outer offset and "OUTER | INNER" path. */
__attribute__((format(printf, 4, 5)))
static int inner_fail(struct inner *in, size_t off, const char *ipath, const char *fmt, ...)
{
	char field[sizeof(in->e->field)], msg[sizeof(in->e->msg)];
	va_list ap;

	if (snprintf(field, sizeof(field), "%s | %s", in->cv->path, ipath) >= (int)sizeof(field))
		field[sizeof(field) - 2] = '~'; /* cut: say so */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fmt_malformed(in->e, in->c->file, outer_offset(in, off), field, "%s", msg);
}

static int inner_type(struct inner *in, int node, const char *ipath, const char *want)
{
	return inner_fail(in, in->t.n[node].start, ipath, "is %s; expected %s",
			  jv_type_name(in->t.n[node].type), want);
}

/* Member key of obj, required. */
static int need(struct inner *in, int obj, const char *key, const char *ipath, int *m)
{
	*m = jv_member(&in->t, obj, key);
	if (*m < 0)
		return inner_fail(in, in->t.n[obj].start, ipath, "missing");
	return 0;
}

/* An unsigned integer of at most max at node. */
static int read_uint(struct inner *in, int node, const char *ipath, uint64_t max, uint64_t *v)
{
	int rc;

	if (in->t.n[node].type != JV_NUMBER)
		return inner_type(in, node, ipath, "a number");
	rc = jv_u64(&in->t, node, v);
	if (rc == -1)
		return inner_fail(in, in->t.n[node].start, ipath,
				  "is not a non-negative integer");
	if (rc == -2 || *v > max)
		return inner_fail(in, in->t.n[node].start, ipath, "%.*s is above %llu",
				  (int)(in->t.n[node].end - in->t.n[node].start),
				  in->t.buf + in->t.n[node].start, (unsigned long long)max);
	return 0;
}

/* A member key of obj, an unsigned integer of at most max. */
static int read_member(struct inner *in, int obj, const char *key, const char *ipath,
		       uint64_t max, uint64_t *v, int *node)
{
	char p[96];
	int m;

	snprintf(p, sizeof(p), "%s.%s", ipath, key);
	if (need(in, obj, key, p, &m) != 0 || read_uint(in, m, p, max, v) != 0)
		return -1;
	if (node)
		*node = m;
	return 0;
}

/* v39+: a raw struct as an array of exactly size byte values. */
static int read_raw(struct inner *in, int node, const char *ipath, const char *type,
		    size_t size, uint8_t *out, struct span *tok)
{
	size_t i = 0;

	if (in->t.n[node].type != JV_ARRAY)
		return inner_type(in, node, ipath, "an array of byte values (v39 and later)");
	if (in->t.n[node].count != size)
		return inner_fail(in, in->t.n[node].start, ipath,
				  "holds %zu byte values; %s is %zu bytes", (size_t)in->t.n[node].count,
				  type, size);
	for (int el = in->t.n[node].first; el >= 0; el = in->t.n[el].next, i++) {
		char p[96];
		uint64_t b;

		snprintf(p, sizeof(p), "%s[%zu]", ipath, i);
		if (read_uint(in, el, p, 255, &b) != 0)
			return -1;
		out[i] = (uint8_t)b;
		if (tok) {
			tok[i].start = in->t.n[el].start;
			tok[i].end = in->t.n[el].end;
		}
	}
	return 0;
}

static uint64_t le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* v29-v38: kvm_vcpu_events as an object, into its raw bytes. */
static int read_events_fields(struct inner *in, int obj)
{
	if (in->t.n[obj].type != JV_OBJECT)
		return inner_type(in, obj, ".Kvm.vcpu_events",
				  "an object with one member per field (v29 to v38)");
	for (size_t i = 0; i < EV_FIELDS; i++) {
		const struct ev_field *f = &ev_fields[i];
		char p[96];
		uint64_t v;
		int parent = obj, node;

		if (f->group) {
			snprintf(p, sizeof(p), ".Kvm.vcpu_events.%s", f->group);
			if (need(in, obj, f->group, p, &parent) != 0)
				return -1;
			if (in->t.n[parent].type != JV_OBJECT)
				return inner_type(in, parent, p, "an object");
		} else {
			snprintf(p, sizeof(p), ".Kvm.vcpu_events");
		}
		if (read_member(in, parent, f->key, p, f->size == 8 ? UINT64_MAX :
						       (1ULL << (8 * f->size)) - 1, &v, &node) != 0)
			return -1;
		put_le(in->cv->events + f->off, v, f->size);
		in->cv->field_tok[i].start = in->t.n[node].start;
		in->cv->field_tok[i].end = in->t.n[node].end;
	}
	return 0;
}

/* The kernel's view of the raw events, as kvmdir reads them. */
static int parse_events(struct inner *in, int node, struct vcpu_state *v)
{
	const uint8_t *ev = in->cv->events;
	struct vcpu_exception *x = &v->exc;
	size_t at = in->t.n[node].start;

	v->events_present = true;
	v->events_flags = (uint32_t)le(ev + EV_FLAGS, 4);
	if (v->events_flags & ~EV_FLAGS_KNOWN)
		return inner_fail(in, at, ".Kvm.vcpu_events.flags",
				  "unknown flag bits 0x%x; KVM_SET_VCPU_EVENTS would reject them",
				  v->events_flags & ~EV_FLAGS_KNOWN);
	x->injected = ev[EV_EXC_INJECTED] != 0;
	x->nr = ev[EV_EXC_NR];
	x->has_error_code = ev[EV_EXC_HAS_ERROR_CODE] != 0;
	x->pending = ev[EV_EXC_PENDING] != 0;
	x->error_code = (uint32_t)le(ev + EV_EXC_ERROR_CODE, 4);
	x->has_payload = ev[EV_EXC_HAS_PAYLOAD] != 0;
	x->payload = le(ev + EV_EXC_PAYLOAD, 8);
	x->error_code_saved = true;
	vcpu_normalise_exception(v);
	if (x->state != EXC_NONE && (x->nr > 31 || x->nr == VEC_NMI))
		return inner_fail(in, at, ".Kvm.vcpu_events.exception.nr",
				  x->nr == VEC_NMI ?
				  "vector 2 (NMI) queued as an exception; the kernel rejects it" :
				  "exception vector %u is above 31; the kernel rejects it", x->nr);
	v->intr.injected = ev[EV_INT_INJECTED] != 0;
	v->intr.nr = ev[EV_INT_NR];
	v->intr.soft = ev[EV_INT_SOFT] != 0;
	v->intr.shadow = ev[EV_INT_SHADOW];
	v->nmi.injected = ev[EV_NMI_INJECTED] != 0;
	v->nmi.pending = ev[EV_NMI_PENDING];
	v->nmi.masked = ev[EV_NMI_MASKED] != 0;
	return 0;
}

static int read_events(struct inner *in, int kvm, struct vcpu_state *v)
{
	int node;

	if (need(in, kvm, "vcpu_events", ".Kvm.vcpu_events", &node) != 0)
		return -1;
	if (in->c->layout == CHV_V39) {
		if (read_raw(in, node, ".Kvm.vcpu_events", "struct kvm_vcpu_events", EV_SIZE,
			     in->cv->events, in->cv->ev_tok) != 0)
			return -1;
	} else if (read_events_fields(in, node) != 0) {
		return -1;
	}
	return parse_events(in, node, v);
}

/* regs and sregs: the registers the rules need. */
static int read_regs(struct inner *in, int kvm, struct vcpu_state *v)
{
	static const struct {
		const char *member, *key;
		enum vcpu_reg reg;
		unsigned off;
	} regs[] = {
		{ "regs", "rip", REG_RIP, REGS_RIP },     { "regs", "rflags", REG_RFLAGS, REGS_RFLAGS },
		{ "sregs", "cr0", REG_CR0, SREGS_CR0 },   { "sregs", "cr2", REG_CR2, SREGS_CR2 },
		{ "sregs", "cr3", REG_CR3, SREGS_CR3 },   { "sregs", "cr4", REG_CR4, SREGS_CR4 },
		{ "sregs", "efer", REG_EFER, SREGS_EFER },
	};
	uint8_t r[REGS_SIZE], sr[SREGS_SIZE];
	int nregs, nsregs;

	if (need(in, kvm, "regs", ".Kvm.regs", &nregs) != 0 ||
	    need(in, kvm, "sregs", ".Kvm.sregs", &nsregs) != 0)
		return -1;
	if (in->c->layout == CHV_V39) {
		if (read_raw(in, nregs, ".Kvm.regs", "struct kvm_regs", REGS_SIZE, r, NULL) != 0 ||
		    read_raw(in, nsregs, ".Kvm.sregs", "struct kvm_sregs", SREGS_SIZE, sr, NULL) != 0)
			return -1;
		for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
			vcpu_set(v, regs[i].reg, le((regs[i].member[0] == 'r' ? r : sr) + regs[i].off, 8));
		return 0;
	}
	if (in->t.n[nregs].type != JV_OBJECT)
		return inner_type(in, nregs, ".Kvm.regs", "an object (v29 to v38)");
	if (in->t.n[nsregs].type != JV_OBJECT)
		return inner_type(in, nsregs, ".Kvm.sregs", "an object (v29 to v38)");
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		char p[32];
		uint64_t val;

		snprintf(p, sizeof(p), ".Kvm.%s", regs[i].member);
		if (read_member(in, regs[i].member[0] == 'r' ? nregs : nsregs, regs[i].key, p,
				UINT64_MAX, &val, NULL) != 0)
			return -1;
		vcpu_set(v, regs[i].reg, val);
	}
	return 0;
}

/* xcrs: XCR0, from the raw struct (v39+) or {nr_xcrs, flags, xcrs: [{xcr, reserved, value}]}. */
static int read_xcrs(struct inner *in, int kvm, struct vcpu_state *v)
{
	uint64_t nr, idx, val;
	uint8_t x[XCRS_SIZE];
	int node, list, el;
	size_t i = 0;

	if (need(in, kvm, "xcrs", ".Kvm.xcrs", &node) != 0)
		return -1;
	if (in->c->layout == CHV_V39) {
		if (read_raw(in, node, ".Kvm.xcrs", "struct kvm_xcrs", XCRS_SIZE, x, NULL) != 0)
			return -1;
		nr = le(x + XCRS_NR, 4);
		if (nr > KVM_MAX_XCRS)
			return inner_fail(in, in->t.n[node].start, ".Kvm.xcrs",
					  "nr_xcrs is %llu; struct kvm_xcrs holds at most %d",
					  (unsigned long long)nr, KVM_MAX_XCRS);
		for (i = 0; i < nr; i++)
			if (le(x + XCRS_ENTRIES + i * XCR_ENTRY_SIZE, 4) == 0)
				vcpu_set(v, REG_XCR0, le(x + XCRS_ENTRIES + i * XCR_ENTRY_SIZE + 8, 8));
		return 0;
	}
	if (in->t.n[node].type != JV_OBJECT)
		return inner_type(in, node, ".Kvm.xcrs", "an object (v29 to v38)");
	if (read_member(in, node, "nr_xcrs", ".Kvm.xcrs", KVM_MAX_XCRS, &nr, NULL) != 0 ||
	    need(in, node, "xcrs", ".Kvm.xcrs.xcrs", &list) != 0)
		return -1;
	if (in->t.n[list].type != JV_ARRAY)
		return inner_type(in, list, ".Kvm.xcrs.xcrs", "an array");
	for (el = in->t.n[list].first; el >= 0 && i < nr; el = in->t.n[el].next, i++) {
		char p[48];

		snprintf(p, sizeof(p), ".Kvm.xcrs.xcrs[%zu]", i);
		if (in->t.n[el].type != JV_OBJECT)
			return inner_type(in, el, p, "an object");
		if (read_member(in, el, "xcr", p, UINT32_MAX, &idx, NULL) != 0 ||
		    read_member(in, el, "value", p, UINT64_MAX, &val, NULL) != 0)
			return -1;
		if (idx == 0)
			vcpu_set(v, REG_XCR0, val);
	}
	if (i < nr)
		return inner_fail(in, in->t.n[list].start, ".Kvm.xcrs.xcrs",
				  "holds %zu entries; nr_xcrs is %llu", i, (unsigned long long)nr);
	return 0;
}

/* msrs: [{"index":N,"data":N}] in both layouts (Cloud Hypervisor's own MsrEntry). */
static int read_msrs(struct inner *in, int kvm, struct vcpu_state *v)
{
	uint64_t seen = 0, idx, data;
	size_t i = 0;
	int list;

	if (need(in, kvm, "msrs", ".Kvm.msrs", &list) != 0)
		return -1;
	if (in->t.n[list].type != JV_ARRAY)
		return inner_type(in, list, ".Kvm.msrs", "an array of {index, data}");
	for (int el = in->t.n[list].first; el >= 0; el = in->t.n[el].next, i++) {
		char p[48];
		enum vcpu_reg r;

		snprintf(p, sizeof(p), ".Kvm.msrs[%zu]", i);
		if (in->t.n[el].type != JV_OBJECT)
			return inner_type(in, el, p, "an object {index, data}");
		if (read_member(in, el, "index", p, UINT32_MAX, &idx, NULL) != 0 ||
		    read_member(in, el, "data", p, UINT64_MAX, &data, NULL) != 0)
			return -1;
		r = vcpu_reg_by_msr((uint32_t)idx);
		if (r == REG_COUNT)
			continue;
		if (seen & (1ULL << r))
			return inner_fail(in, in->t.n[el].start, p, "MSR 0x%llx appears twice",
					  (unsigned long long)idx);
		seen |= 1ULL << r;
		vcpu_set(v, r, data);
	}
	return 0;
}

/*
 * nested_state (v49 and later, optional): null, or the raw
 * kvm_nested_state buffer as byte values; its header says guest mode.
 */
static int read_nested(struct inner *in, int kvm, struct vcpu_state *v)
{
	uint8_t hdr[NESTED_HDR_SIZE];
	int node = jv_member(&in->t, kvm, "nested_state"), el;
	size_t i = 0;

	if (node < 0 || in->t.n[node].type == JV_NULL)
		return 0;
	if (in->t.n[node].type != JV_ARRAY)
		return inner_type(in, node, ".Kvm.nested_state", "null or an array of byte values");
	if (in->t.n[node].count < NESTED_HDR_SIZE)
		return inner_fail(in, in->t.n[node].start, ".Kvm.nested_state",
				  "holds %zu bytes, fewer than the 128-byte kvm_nested_state header",
				  (size_t)in->t.n[node].count);
	for (el = in->t.n[node].first; el >= 0 && i < NESTED_HDR_SIZE; el = in->t.n[el].next, i++) {
		char p[48];
		uint64_t b;

		snprintf(p, sizeof(p), ".Kvm.nested_state[%zu]", i);
		if (read_uint(in, el, p, 255, &b) != 0)
			return -1;
		hdr[i] = (uint8_t)b;
	}
	v->nested_saved = true;
	v->nested_guest_mode = le(hdr + NESTED_FLAGS, 2) & KVM_STATE_NESTED_GUEST_MODE;
	v->nested_run_pending = le(hdr + NESTED_FLAGS, 2) & KVM_STATE_NESTED_RUN_PENDING;
	return 0;
}

/* The CpuState text of one vCPU: {"Kvm":{...}} (MSHV state is not KVM state). */
static int read_vcpu(struct chv *c, struct chv_vcpu *cv, struct vcpu_state *v,
		     struct fmt_error *e)
{
	struct inner in = { .c = c, .cv = cv, .e = e };
	struct jv_error jerr;
	int kvm, rc = -1;

	vcpu_init(v, cv->id);
	v->saver = SAVER_KVM_IOCTL;
	if (jv_parse(&in.t, cv->text, cv->len, &jerr) != 0) {
		char field[sizeof(e->field)];

		if (snprintf(field, sizeof(field), "%s | (inner JSON, byte %zu)", cv->path,
			     jerr.offset) >= (int)sizeof(field))
			field[sizeof(field) - 2] = '~';
		return fmt_malformed(e, c->file, outer_offset(&in, jerr.offset), field,
				     "the vCPU state is not valid JSON: %s", jerr.msg);
	}
	if (in.t.n[0].type != JV_OBJECT || in.t.n[0].count != 1) {
		inner_type(&in, 0, ".", "an object with one member (the CpuState variant)");
		goto out;
	}
	kvm = jv_member(&in.t, 0, "Kvm");
	if (kvm < 0) {
		rc = fmt_fail(e, FMT_ERR_UNSUPPORTED, c->file,
			      "%s: vCPU %u holds %.*s state, not KVM state: not supported", cv->path,
			      cv->id, (int)(in.t.n[in.t.n[0].first].key_end -
					    in.t.n[in.t.n[0].first].key_start),
			      cv->text + in.t.n[in.t.n[0].first].key_start);
		goto out;
	}
	if (in.t.n[kvm].type != JV_OBJECT) {
		inner_type(&in, kvm, ".Kvm", "an object (VcpuKvmState)");
		goto out;
	}
	if (read_events(&in, kvm, v) == 0 && read_regs(&in, kvm, v) == 0 &&
	    read_xcrs(&in, kvm, v) == 0 && read_msrs(&in, kvm, v) == 0 &&
	    read_nested(&in, kvm, v) == 0)
		rc = 0;
out:
	jv_free(&in.t);
	return rc;
}

/* ---- open, probe, close ------------------------------------------------------- */

static void chv_close(struct snapshot *s)
{
	struct chv *c = s->priv;

	if (!c)
		return;
	for (size_t i = 0; i < c->nv; i++) {
		free(c->v[i].text);
		free(c->v[i].map);
	}
	free(c->v);
	jv_free(&c->tree);
	free(c->buf);
	free(c);
	s->priv = NULL;
}

/* path is the snapshot directory or state.json itself. */
static int state_file(const char *path, char *file, size_t len, bool *is_dir,
		      struct fmt_error *e)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return fmt_syserr(e, path, errno, "cannot open");
	*is_dir = S_ISDIR(st.st_mode);
	if (!*is_dir) {
		snprintf(file, len, "%s", path);
		return 0;
	}
	return fmt_join(file, len, path, "state.json", e);
}

static int chv_open(struct snapshot *s, const char *path, struct fmt_error *e)
{
	struct chv *c = calloc(1, sizeof(*c));
	struct jv_error jerr;
	size_t n = 0;
	int rc;

	if (!c)
		return fmt_syserr(e, path, ENOMEM, "cannot read");
	s->priv = c;
	if (state_file(path, c->file, sizeof(c->file), &c->is_dir, e) != 0 ||
	    slurp(c->file, &c->buf, &c->len, &c->mode, e) != 0)
		return -1;
	if (jv_parse(&c->tree, c->buf, c->len, &jerr) != 0)
		return fmt_malformed(e, c->file, jerr.offset, "(JSON)", "not valid JSON: %s",
				     jerr.msg);
	rc = find_vcpus(c, &n, e);
	if (rc == 0) {
		s->vcpus = calloc(n, sizeof(*s->vcpus));
		if (!s->vcpus)
			rc = fmt_syserr(e, path, ENOMEM, "cannot read");
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = read_vcpu(c, &c->v[i], &s->vcpus[i], e);
		if (rc == 0)
			s->nvcpus = i + 1;
	}
	if (rc != 0)
		return -1;
	snprintf(s->detail, sizeof(s->detail), "%zu vCPU%s, %s layout", n, n == 1 ? "" : "s",
		 c->layout == CHV_V39 ? "v39 and later" : "v29 to v38");
	snapshot_add_fact(s, "layout", "%s",
			  c->layout == CHV_V39 ?
			  "v39 and later: state string, KVM structs as raw byte arrays" :
			  "v29 to v38: state as an array of byte values, KVM structs field by field");
	snapshot_add_fact(s, "state_file", "%s", c->file);
	return 0;
}

/* A file that starts as a Snapshot tree does ({"snapshots": or v28's {"id":"vm"). */
static bool looks_like_state(const char *path, const struct stat *st)
{
	static const char v29[] = "{\"snapshots\":", v28[] = "{\"id\":\"vm\"";
	uint8_t b[sizeof(v29) - 1];

	_Static_assert(sizeof(v28) <= sizeof(v29), "the longer magic is read");
	if (!format_read_magic(path, st, b, sizeof(b)))
		return false;
	return memcmp(b, v29, sizeof(v29) - 1) == 0 || memcmp(b, v28, sizeof(v28) - 1) == 0;
}

static bool chv_probe(const char *path, const struct stat *st)
{
	char p[PATH_MAX];
	struct stat fst;
	struct fmt_error ignored;

	if (!S_ISDIR(st->st_mode))
		return looks_like_state(path, st);
	if (fmt_join(p, sizeof(p), path, "state.json", &ignored) != 0)
		return false;
	return stat(p, &fst) == 0 && S_ISREG(fst.st_mode);
}

/* Cloud Hypervisor never enables KVM_CAP_EXCEPTION_PAYLOAD (vmm-snapshot-formats.md 0.3). */
static bool chv_dest_cap(const struct snapshot *s, const struct vcpu_state *v)
{
	(void)s;
	(void)v;
	return false;
}

/* ---- writing --------------------------------------------------------------- */

/* One replacement in the outer file. */
struct edit {
	size_t start, end;
	char text[72]; /* 20 digits, or their 20 byte values as "57," */
};

struct edits {
	struct edit *e;
	size_t n, cap;
};

/* Inner token tok gets the decimal value; added to ed as an outer edit. */
static int add_edit(struct edits *ed, const struct chv *c, const struct chv_vcpu *cv,
		    struct span tok, uint64_t value, struct fmt_error *e)
{
	char digits[24];
	struct edit *x;
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)value);

	if (ed->n == ed->cap) {
		size_t cap = ed->cap ? ed->cap * 2 : 16;
		struct edit *p = realloc(ed->e, cap * sizeof(*p));

		if (!p)
			return fmt_syserr(e, c->file, ENOMEM, "cannot write");
		ed->e = p;
		ed->cap = cap;
	}
	x = &ed->e[ed->n];
	x->start = cv->map[2 * tok.start];
	x->end = cv->map[2 * (tok.end - 1) + 1];
	if (c->layout == CHV_V39) {
		/* A number's digits are never escaped by serde_json: one outer byte each. */
		if (x->end - x->start != tok.end - tok.start)
			return fmt_fail(e, FMT_ERR_UNSUPPORTED, c->file,
					"%s: a number to edit is written with escapes; not repaired",
					cv->path);
		snprintf(x->text, sizeof(x->text), "%s", digits);
	} else {
		/* v29-v38: the new text as byte values, one element per character. */
		size_t used = 0;

		for (int i = 0; i < n; i++)
			used += (size_t)snprintf(x->text + used, sizeof(x->text) - used, "%s%d",
						 i ? "," : "", digits[i]);
	}
	ed->n++;
	return 0;
}

/* The edits of one vCPU: the kvm_vcpu_events bytes or members whose value changes. */
static int vcpu_edits(const struct chv *c, const struct chv_vcpu *cv,
		      const uint8_t *want, struct edits *ed, struct fmt_error *e)
{
	if (c->layout == CHV_V39) {
		for (size_t i = 0; i < EV_SIZE; i++)
			if (want[i] != cv->events[i] &&
			    add_edit(ed, c, cv, cv->ev_tok[i], want[i], e) != 0)
				return -1;
		return 0;
	}
	for (size_t i = 0; i < EV_FIELDS; i++) {
		const struct ev_field *f = &ev_fields[i];

		if (memcmp(want + f->off, cv->events + f->off, f->size) != 0 &&
		    add_edit(ed, c, cv, cv->field_tok[i], le(want + f->off, (int)f->size), e) != 0)
			return -1;
	}
	return 0;
}

/* The raw events after the plan: only the fields whose value changes. */
static void patch_events(uint8_t *ev, const struct vcpu_state *v, const struct vcpu_plan *p)
{
	const struct vcpu_exception *a = &v->exc, *b = &p->new_exc;

	if (a->injected != b->injected)
		ev[EV_EXC_INJECTED] = b->injected;
	if (a->nr != b->nr)
		ev[EV_EXC_NR] = b->nr;
	if (a->has_error_code != b->has_error_code)
		ev[EV_EXC_HAS_ERROR_CODE] = b->has_error_code;
	if (a->pending != b->pending)
		ev[EV_EXC_PENDING] = b->pending;
	if (a->error_code != b->error_code)
		put_le(ev + EV_EXC_ERROR_CODE, b->error_code, 4);
	if (v->events_flags != p->new_flags)
		put_le(ev + EV_FLAGS, p->new_flags, 4);
	if (a->has_payload != b->has_payload)
		ev[EV_EXC_HAS_PAYLOAD] = b->has_payload;
	if (a->payload != b->payload)
		put_le(ev + EV_EXC_PAYLOAD, b->payload, 8);
}

static int cmp_edit(const void *a, const void *b)
{
	size_t x = ((const struct edit *)a)->start, y = ((const struct edit *)b)->start;

	return (x > y) - (x < y);
}

/* The new state.json: the original with every edit spliced in. */
static int build(const struct snapshot *s, const struct vcpu_plan *plans,
		 uint8_t (*want)[EV_SIZE], char **out, size_t *out_len, struct fmt_error *e)
{
	const struct chv *c = s->priv;
	struct edits ed = { 0 };
	size_t len = c->len, pos = 0, o = 0;
	char *buf;

	for (size_t i = 0; i < s->nvcpus; i++) {
		memcpy(want[i], c->v[i].events, EV_SIZE);
		if (!plan_changes_state(&plans[i]))
			continue;
		patch_events(want[i], &s->vcpus[i], &plans[i]);
		if (vcpu_edits(c, &c->v[i], want[i], &ed, e) != 0) {
			free(ed.e);
			return -1;
		}
	}
	if (ed.n) /* qsort must not be given NULL, even for no elements */
		qsort(ed.e, ed.n, sizeof(*ed.e), cmp_edit);
	for (size_t i = 0; i < ed.n; i++)
		len += strlen(ed.e[i].text);
	buf = malloc(len + 1);
	if (!buf) {
		free(ed.e);
		return fmt_syserr(e, c->file, ENOMEM, "cannot write");
	}
	for (size_t i = 0; i < ed.n; i++) {
		size_t t = strlen(ed.e[i].text);

		memcpy(buf + o, c->buf + pos, ed.e[i].start - pos);
		o += ed.e[i].start - pos;
		memcpy(buf + o, ed.e[i].text, t);
		o += t;
		pos = ed.e[i].end;
	}
	memcpy(buf + o, c->buf + pos, c->len - pos);
	o += c->len - pos;
	free(ed.e);
	*out = buf;
	*out_len = o;
	return 0;
}

/* Parse the written result again: models as planned, events bytes exactly as built. */
static int verify(const struct snapshot *s, const struct vcpu_plan *plans, const char *path,
		  uint8_t (*want)[EV_SIZE], struct fmt_error *e)
{
	struct snapshot re;
	struct chv *rc_;
	int rc;

	if (snapshot_open(&re, path, chv_format.name, e) != 0)
		return -1;
	rc = snapshot_verify(s, plans, &re, e);
	rc_ = re.priv;
	for (size_t i = 0; rc == 0 && i < s->nvcpus; i++)
		if (memcmp(rc_->v[i].events, want[i], EV_SIZE) != 0)
			rc = fmt_fail(e, FMT_ERR_SYSTEM, path,
				      "verification failed: vCPU %u's vcpu_events differ from the plan",
				      rc_->v[i].id);
	snapshot_close(&re);
	return rc;
}

/* One new file beside target (state.json, or a state.json input's -o): temp, verify, commit. */
static int write_file(struct snapshot *s, const struct vcpu_plan *plans, const char *target,
		      const char *like, const char *buf, size_t len, uint8_t (*want)[EV_SIZE],
		      struct write_request *w, struct fmt_error *e)
{
	char tmp[PATH_MAX];
	size_t done = 0;
	int fd;

	if (sw_temp_file(target, like, tmp, sizeof(tmp), &fd, e) != 0)
		return -1;
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fmt_syserr(e, tmp, errno, "cannot write");
			goto fail;
		}
		done += (size_t)n;
	}
	if (fsync(fd) != 0) {
		fmt_syserr(e, tmp, errno, "cannot write");
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		fmt_syserr(e, tmp, errno, "cannot write");
		goto fail;
	}
	fd = -1;
	if (verify(s, plans, tmp, want, e) != 0 || sw_commit_file(tmp, target, w, e) != 0)
		goto fail;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (strcmp(w->written, target) != 0)
		unlink(tmp);
	return -1;
}

/* -o OUT for a snapshot directory: a new directory, state.json new, the rest hard-linked. */
static int write_dir(struct snapshot *s, const struct vcpu_plan *plans, const char *buf,
		     size_t len, uint8_t (*want)[EV_SIZE], struct write_request *w,
		     struct fmt_error *e)
{
	const struct chv *c = s->priv;
	char target[PATH_MAX], tmp[PATH_MAX], path[PATH_MAX];

	if (sw_prepare(s->real, w, target, sizeof(target), e) != 0 ||
	    sw_temp_dir(target, s->real, tmp, sizeof(tmp), e) != 0)
		return -1;
	if (sw_clone_tree(s->real, tmp, e) != 0 ||
	    fmt_join(path, sizeof(path), tmp, "state.json", e) != 0 ||
	    sw_replace_file(path, buf, len, c->mode, e) != 0 || verify(s, plans, tmp, want, e) != 0 ||
	    sw_fsync_tree(tmp, e) != 0 || sw_commit_dir(tmp, target, w, e) != 0) {
		if (strcmp(w->written, target) != 0)
			sw_remove_tree(tmp);
		return -1;
	}
	return 0;
}

static int chv_write(struct snapshot *s, const struct vcpu_plan *plans, struct write_request *w,
		     struct fmt_error *e)
{
	const struct chv *c = s->priv;
	char target[PATH_MAX], state[PATH_MAX];
	uint8_t (*want)[EV_SIZE] = calloc(s->nvcpus ? s->nvcpus : 1, EV_SIZE);
	char *buf = NULL;
	size_t len = 0;
	int rc = -1;

	if (!want)
		return fmt_syserr(e, s->path, ENOMEM, "cannot write");
	if (build(s, plans, want, &buf, &len, e) != 0)
		goto out;
	if (c->is_dir && !w->in_place) {
		rc = write_dir(s, plans, buf, len, want, w, e);
		goto out;
	}
	/* In place, the one changed file is renamed over the original (DESIGN.md 4). */
	if (c->is_dir) {
		if (fmt_join(target, sizeof(target), s->real, "state.json", e) != 0)
			goto out;
		if (!realpath(target, state)) {
			rc = fmt_syserr(e, target, errno, "cannot resolve the path");
			goto out;
		}
	} else {
		snprintf(state, sizeof(state), "%s", s->real);
	}
	if (sw_prepare(state, w, target, sizeof(target), e) == 0)
		rc = write_file(s, plans, target, state, buf, len, want, w, e);
out:
	free(buf);
	free(want);
	return rc;
}

const struct format_ops chv_format = {
	.name = "cloud-hypervisor",
	.description = "Cloud Hypervisor snapshot directory (state.json), v29 and later",
	.probe = chv_probe,
	.open = chv_open,
	.dest_payload_cap = chv_dest_cap,
	.write = chv_write,
	.close = chv_close,
};
