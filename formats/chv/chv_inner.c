/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chv_inner.c --- one Cloud Hypervisor vCPU's state: the JSON text of its
 * CpuState, {"Kvm":{...}}, decoded from state.json by chv.c.  The KVM
 * structs are arrays of their raw bytes (v39 and later) or objects with a
 * member per C field (v29 to v38); each field the model needs is read
 * exactly and checked, and the tokens of kvm_vcpu_events are remembered
 * for the writer.  Errors name the byte in state.json and the JSON path.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "formats/chv/chv_priv.h"

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
	*m = jv_member_unique(&in->t, obj, key);
	if (*m == -2)
		return inner_fail(in, in->t.n[obj].start, ipath, "appears twice");
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


static int read_events_fields(struct inner *in, int obj)
{
	if (in->t.n[obj].type != JV_OBJECT)
		return inner_type(in, obj, ".Kvm.vcpu_events",
				  "an object with one member per field (v29 to v38)");
	for (size_t i = 0; i < KVM_EVENTS_NFIELDS; i++) {
		const struct kvm_events_field *f = &kvm_events_fields[i];
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
		le_put(in->cv->events + f->offset, v, f->size);
		in->cv->field_tok[i].start = in->t.n[node].start;
		in->cv->field_tok[i].end = in->t.n[node].end;
	}
	return 0;
}

/* The kernel's view of the raw events, as every format reads them. */
static int parse_events(struct inner *in, int node, struct vcpu_state *v)
{
	struct kvm_fault f;
	char p[64];

	if (kvm_events_decode(in->cv->events, v, &f) == 0)
		return 0;
	snprintf(p, sizeof(p), ".Kvm.vcpu_events.%s", f.field);
	return inner_fail(in, in->t.n[node].start, p, "%s", f.why);
}

static int read_events(struct inner *in, int kvm, struct vcpu_state *v)
{
	int node;

	if (need(in, kvm, "vcpu_events", ".Kvm.vcpu_events", &node) != 0)
		return -1;
	if (in->c->layout == CHV_V39) {
		if (read_raw(in, node, ".Kvm.vcpu_events", "struct kvm_vcpu_events", KVM_EVENTS_SIZE,
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
	/* v29-v38: the members kvm-bindings' serde derive names after the C fields. */
	static const struct {
		const char *member, *key;
		enum vcpu_reg reg;
	} regs[] = {
		{ "regs", "rip", VREG_RIP },   { "regs", "rflags", VREG_RFLAGS },
		{ "sregs", "cr0", VREG_CR0 },  { "sregs", "cr2", VREG_CR2 },
		{ "sregs", "cr3", VREG_CR3 },  { "sregs", "cr4", VREG_CR4 },
		{ "sregs", "efer", VREG_EFER },
	};
	uint8_t r[KVM_REGS_SIZE], sr[KVM_SREGS_SIZE];
	struct kvm_fault f;
	int nregs, nsregs;

	if (need(in, kvm, "regs", ".Kvm.regs", &nregs) != 0 ||
	    need(in, kvm, "sregs", ".Kvm.sregs", &nsregs) != 0)
		return -1;
	if (in->c->layout == CHV_V39) {
		if (read_raw(in, nregs, ".Kvm.regs", "struct kvm_regs", KVM_REGS_SIZE, r, NULL) != 0 ||
		    read_raw(in, nsregs, ".Kvm.sregs", "struct kvm_sregs", KVM_SREGS_SIZE, sr,
			     NULL) != 0)
			return -1;
		kvm_regs_decode(r, v);
		/* kvm_sregs has no flags: nothing in it can be refused. */
		return kvm_sregs_decode(sr, false, v, &f);
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
	uint8_t x[KVM_XCRS_SIZE];
	int node, list, el;
	size_t i = 0;

	if (need(in, kvm, "xcrs", ".Kvm.xcrs", &node) != 0)
		return -1;
	if (in->c->layout == CHV_V39) {
		struct kvm_fault f;
		char p[48];

		if (read_raw(in, node, ".Kvm.xcrs", "struct kvm_xcrs", KVM_XCRS_SIZE, x, NULL) != 0)
			return -1;
		if (kvm_xcrs_decode(x, v, &f) == 0)
			return 0;
		snprintf(p, sizeof(p), ".Kvm.xcrs[%zu] (%s)", f.offset, f.field);
		return inner_fail(in, in->t.n[node].start, p, "%s", f.why);
	}
	if (in->t.n[node].type != JV_OBJECT)
		return inner_type(in, node, ".Kvm.xcrs", "an object (v29 to v38)");
	if (read_member(in, node, "nr_xcrs", ".Kvm.xcrs", KVM_XCRS_MAX, &nr, NULL) != 0 ||
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
			vcpu_set(v, VREG_XCR0, val);
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
		struct kvm_fault f;

		snprintf(p, sizeof(p), ".Kvm.msrs[%zu]", i);
		if (in->t.n[el].type != JV_OBJECT)
			return inner_type(in, el, p, "an object {index, data}");
		if (read_member(in, el, "index", p, UINT32_MAX, &idx, NULL) != 0 ||
		    read_member(in, el, "data", p, UINT64_MAX, &data, NULL) != 0)
			return -1;
		if (kvm_msr_take((uint32_t)idx, data, v, &seen, &f) != 0)
			return inner_fail(in, in->t.n[el].start, p, "%s", f.why);
	}
	return 0;
}

/*
 * nested_state (v49 and later, optional): null, or the raw
 * kvm_nested_state buffer as byte values; its header says guest mode.
 */
static int read_nested(struct inner *in, int kvm, struct vcpu_state *v)
{
	uint8_t hdr[KVM_NESTED_HDR_SIZE];
	struct kvm_fault f;
	int node = jv_member_unique(&in->t, kvm, "nested_state"), el;
	size_t i = 0;

	if (node == -2)
		return inner_fail(in, in->t.n[kvm].start, ".Kvm.nested_state", "appears twice");
	if (node < 0 || in->t.n[node].type == JV_NULL)
		return 0;
	if (in->t.n[node].type != JV_ARRAY)
		return inner_type(in, node, ".Kvm.nested_state", "null or an array of byte values");
	if (in->t.n[node].count < KVM_NESTED_HDR_SIZE)
		return inner_fail(in, in->t.n[node].start, ".Kvm.nested_state",
				  "holds %zu bytes, fewer than the 128-byte kvm_nested_state header",
				  (size_t)in->t.n[node].count);
	for (el = in->t.n[node].first; el >= 0 && i < KVM_NESTED_HDR_SIZE; el = in->t.n[el].next, i++) {
		char p[48];
		uint64_t b;

		snprintf(p, sizeof(p), ".Kvm.nested_state[%zu]", i);
		if (read_uint(in, el, p, 255, &b) != 0)
			return -1;
		hdr[i] = (uint8_t)b;
	}
	/* The buffer has a fixed capacity: the state's size may be less. */
	if (kvm_nested_decode(hdr, in->t.n[node].count, false, v, &f) != 0) {
		char p[48];

		snprintf(p, sizeof(p), ".Kvm.nested_state[%zu] (%s)", f.offset, f.field);
		return inner_fail(in, in->t.n[node].start, p, "%s", f.why);
	}
	return 0;
}

/* The CpuState text of one vCPU: {"Kvm":{...}} (MSHV state is not KVM state). */
int chv_read_vcpu(struct chv *c, struct chv_vcpu *cv, struct vcpu_state *v, struct fmt_error *e)
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
