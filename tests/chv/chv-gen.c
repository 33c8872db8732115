/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chv-gen.c --- write a Cloud Hypervisor snapshot directory (config.json,
 * state.json, memory-ranges) byte for byte as Cloud Hypervisor's serializer
 * (serde_json::to_vec, compact) writes it.  Debian 12 has no Cloud
 * Hypervisor, so the tests make their snapshots with this; README.md says
 * which release's source each layout follows.
 *
 *   chv-gen [--layout=v39|v53|v38|v29|v28] [--no-fred-msrs] [--no-xfd]
 *           [--nested=ID] [--replace=TEXT --with=TEXT] DIR KIND...
 *
 * One KIND per vCPU, in vCPU order: clean (FRED on, nothing queued), pf
 * (injected #PF, error code 2, CR2 above INT64_MAX), nm (injected #NM,
 * XFD-caused), db (injected #DB), gp (injected #GP: not at risk), nofred (a
 * #PF with CR4.FRED clear).  KIND:drop or KIND:pending writes the vCPU as
 * that repair leaves it.  --replace/--with edit vCPU 0's state text before
 * it is encoded (the first occurrence), to make malformed inner states.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum layout { L_V28, L_V29, L_V38, L_V39, L_V53 };

struct opts {
	enum layout layout;
	bool fred_msrs, xfd;
	int nested; /* the vCPU in nested guest mode (v53 only), -1 none */
	const char *replace, *with; /* malformed input: an edit of vCPU 0's inner text */
};

/* A growable text buffer. */
struct buf {
	char *p;
	size_t len, cap;
};

static void die(const char *msg)
{
	fprintf(stderr, "chv-gen: %s\n", msg);
	exit(2);
}

static void put_raw(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			die("out of memory");
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

__attribute__((format(printf, 2, 3)))
static void put(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		die("internal: format too long");
	put_raw(b, tmp, (size_t)n);
}

/* A JSON string literal the way serde_json escapes it (format_escaped_str). */
static void put_str(struct buf *b, const char *s, size_t n)
{
	put_raw(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[8];

		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (c < 0x20) {
				snprintf(u, sizeof(u), "\\u%04x", c); /* lowercase hex, as serde_json */
				esc = u;
			}
		}
		if (esc)
			put_raw(b, esc, strlen(esc));
		else
			put_raw(b, (const char *)&c, 1);
	}
	put_raw(b, "\"", 1);
}

/* serialize_bytes: a JSON array of the byte values. */
static void put_bytes(struct buf *b, const uint8_t *p, size_t n)
{
	put_raw(b, "[", 1);
	for (size_t i = 0; i < n; i++)
		put(b, "%s%u", i ? "," : "", p[i]);
	put_raw(b, "]", 1);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ---- one vCPU's state ---------------------------------------------------------- */

struct seg {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type, present, dpl, db, s, l, g, avl, unusable;
};

struct vcpu {
	int id;
	uint8_t exc_injected, exc_nr, exc_has_error_code, exc_pending;
	uint32_t exc_error_code, flags;
	uint8_t has_payload;
	uint64_t payload;
	uint64_t regs[18]; /* rax ... r15, rip, rflags */
	struct seg seg[8]; /* cs ds es fs gs ss tr ldt */
	uint64_t cr0, cr2, cr3, cr4, cr8, efer, apic_base, xcr0;
	uint64_t xfd, xfd_err; /* IA32_XFD, IA32_XFD_ERR */
	bool nested;
};

static const char *const reg_names[18] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi",
					   "rsp", "rbp", "r8",  "r9",  "r10", "r11",
					   "r12", "r13", "r14", "r15", "rip", "rflags" };
static const char *const seg_names[8] = { "cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt" };

static void make_kind(struct vcpu *v, int id, const char *kind);

/*
 * KIND:drop and KIND:pending: the vCPU as docs/design.md section 4 says a repair
 * leaves it, to compare a repaired file with byte for byte.
 */
static void apply_repair(struct vcpu *v, const char *how)
{
	if (strcmp(how, "drop") == 0) {
		v->exc_injected = v->exc_pending = v->exc_nr = v->exc_has_error_code = 0;
		v->exc_error_code = 0;
		v->has_payload = 0;
		v->payload = 0;
	} else if (strcmp(how, "pending") == 0) {
		v->exc_injected = 0;
		v->exc_pending = 1;
		v->has_payload = 1;
		v->payload = v->exc_nr == 14 ? v->cr2 : v->exc_nr == 7 ? v->xfd_err : 0;
		v->flags |= 0x10;
	} else {
		die("unknown repair (drop, pending)");
	}
}

static void make_vcpu(struct vcpu *v, int id, const char *spec)
{
	char kind[32];
	const char *colon = strchr(spec, ':');

	snprintf(kind, sizeof(kind), "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
	make_kind(v, id, kind);
	if (colon)
		apply_repair(v, colon + 1);
}

static void make_kind(struct vcpu *v, int id, const char *kind)
{
	memset(v, 0, sizeof(*v));
	v->id = id;
	for (int i = 0; i < 16; i++)
		v->regs[i] = (uint64_t)id * 0x100 + (uint64_t)i;
	v->regs[6] = (uint64_t)0xffffc90000a3fe58ULL;  /* rsp, kernel stack: above INT64_MAX */
	v->regs[16] = (uint64_t)0xffffffff81c3a1b2ULL; /* rip, kernel text */
	v->regs[17] = 0x246;
	for (int i = 0; i < 8; i++)
		v->seg[i] = (struct seg){ .limit = 0xffffffff, .selector = 0x18, .type = 3,
					  .present = 1, .db = 1, .s = 1, .g = 1 };
	v->seg[0] = (struct seg){ .limit = 0xffffffff, .selector = 0x10, .type = 11,
				  .present = 1, .s = 1, .l = 1, .g = 1 };
	v->seg[4].base = 0xffff88807fc00000ULL + (uint64_t)id * 0x40000; /* gs: per-CPU area */
	v->seg[7].unusable = 1;
	v->cr0 = 0x80050033;
	v->cr3 = 0x1c0a000;
	v->cr4 = 0x1007706f0ULL | (1ULL << 32); /* FRED */
	v->efer = 0xd01;                      /* SCE, LME, LMA, NXE */
	v->apic_base = 0xfee00900;
	v->xcr0 = 0x602e7; /* x87 SSE AVX ... AMX TILECFG and TILEDATA (bit 18) */
	v->flags = 0x0d;   /* NMI_PENDING | SHADOW | SMM, as KVM reports without the cap */
	v->cr2 = (uint64_t)0x00007f3a5c21d000ULL;
	if (strcmp(kind, "clean") == 0)
		return;
	v->exc_injected = 1;
	if (strcmp(kind, "pf") == 0 || strcmp(kind, "nofred") == 0) {
		v->exc_nr = 14;
		v->exc_has_error_code = 1;
		v->exc_error_code = 2;
		v->cr2 = 0xffff888012345678ULL + (uint64_t)id * 0x1000; /* above INT64_MAX */
		if (strcmp(kind, "nofred") == 0)
			v->cr4 &= ~(1ULL << 32);
	} else if (strcmp(kind, "nm") == 0) {
		v->exc_nr = 7;
		v->xfd = v->xfd_err = 0x40000; /* AMX tile data armed, and what faulted */
	} else if (strcmp(kind, "db") == 0) {
		v->exc_nr = 1;
	} else if (strcmp(kind, "gp") == 0) {
		v->exc_nr = 13;
		v->exc_has_error_code = 1;
	} else {
		die("unknown vCPU kind (clean, pf, nm, db, gp, nofred)");
	}
}

static void events_raw(const struct vcpu *v, uint8_t *ev)
{
	memset(ev, 0, 64);
	ev[0] = v->exc_injected;
	ev[1] = v->exc_nr;
	ev[2] = v->exc_has_error_code;
	ev[3] = v->exc_pending;
	put_le(ev + 4, v->exc_error_code, 4);
	put_le(ev + 20, v->flags, 4);
	ev[55] = v->has_payload;
	put_le(ev + 56, v->payload, 8);
}

static void regs_raw(const struct vcpu *v, uint8_t *r)
{
	for (int i = 0; i < 18; i++)
		put_le(r + 8 * i, v->regs[i], 8);
}

static void sregs_raw(const struct vcpu *v, uint8_t *sr)
{
	memset(sr, 0, 312);
	for (int i = 0; i < 8; i++) {
		uint8_t *p = sr + 24 * i;
		const struct seg *s = &v->seg[i];

		put_le(p, s->base, 8);
		put_le(p + 8, s->limit, 4);
		put_le(p + 12, s->selector, 2);
		p[14] = s->type, p[15] = s->present, p[16] = s->dpl, p[17] = s->db;
		p[18] = s->s, p[19] = s->l, p[20] = s->g, p[21] = s->avl, p[22] = s->unusable;
	}
	put_le(sr + 192, 0xfffffe0000001000ULL, 8); /* gdt base */
	put_le(sr + 200, 0x7f, 2);
	put_le(sr + 208, 0xfffffe0000000000ULL, 8); /* idt base */
	put_le(sr + 216, 0xfff, 2);
	put_le(sr + 224, v->cr0, 8);
	put_le(sr + 232, v->cr2, 8);
	put_le(sr + 240, v->cr3, 8);
	put_le(sr + 248, v->cr4, 8);
	put_le(sr + 256, v->cr8, 8);
	put_le(sr + 264, v->efer, 8);
	put_le(sr + 272, v->apic_base, 8);
}

static void xcrs_raw(const struct vcpu *v, uint8_t *x)
{
	memset(x, 0, 392);
	put_le(x, 1, 4);
	put_le(x + 16, v->xcr0, 8);
}

static void put_cpuid(struct buf *b)
{
	put(b, "[{\"function\":0,\"index\":0,\"flags\":0,\"eax\":31,\"ebx\":1970169159,"
	       "\"ecx\":1818588270,\"edx\":1231384169},{\"function\":7,\"index\":1,\"flags\":1,"
	       "\"eax\":327696,\"ebx\":0,\"ecx\":0,\"edx\":0}]");
}

static void put_msrs(struct buf *b, const struct vcpu *v, const struct opts *o)
{
	put(b, "[{\"index\":16,\"data\":%" PRIu64 "}", (uint64_t)0x3b9aca00 * 7 + (uint64_t)v->id);
	put(b, ",{\"index\":3221225602,\"data\":%" PRIu64 "}", (uint64_t)0xffffffff81e00080ULL); /* LSTAR */
	put(b, ",{\"index\":3221225729,\"data\":%" PRIu64 "}", v->seg[4].base); /* GS_BASE */
	put(b, ",{\"index\":3221225730,\"data\":%" PRIu64 "}", (uint64_t)0); /* KERNEL_GS_BASE */
	if (o->xfd) {
		put(b, ",{\"index\":452,\"data\":%" PRIu64 "}", v->xfd);
		put(b, ",{\"index\":453,\"data\":%" PRIu64 "}", v->xfd_err);
	}
	if (o->fred_msrs) {
		put(b, ",{\"index\":460,\"data\":%" PRIu64 "}", (uint64_t)0xffffc90000a40000ULL); /* RSP0 */
		for (unsigned i = 461; i <= 467; i++)
			put(b, ",{\"index\":%u,\"data\":0}", i);
		put(b, ",{\"index\":468,\"data\":%" PRIu64 "}", (uint64_t)0xffffffff81c00000ULL); /* CONFIG */
	}
	put(b, "]");
}

/* FpuState and the two big arrays: content the tests never look at, shape they must skip. */
static void put_fpu_lapic_xsave(struct buf *b, const struct vcpu *v, bool xsave_plain)
{
	put(b, ",\"fpu\":{\"fpr\":[");
	for (int i = 0; i < 8; i++)
		put(b, "%s[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]", i ? "," : "");
	put(b, "],\"fcw\":895,\"fsw\":0,\"ftwx\":0,\"last_opcode\":0,\"last_ip\":%" PRIu64
	       ",\"last_dp\":0,\"xmm\":[", (uint64_t)0xffffffff81234567ULL);
	for (int i = 0; i < 16; i++)
		put(b, "%s[%d,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]", i ? "," : "", i);
	put(b, "],\"mxcsr\":8064}");
	/* c_char: signed, so the APIC page has negative values. */
	put(b, ",\"lapic_state\":{\"regs\":[");
	for (int i = 0; i < 1024; i++)
		put(b, "%s%d", i ? "," : "", i == 0x20 ? v->id : i == 0xf0 ? -1 : 0);
	/* v29-v37: the fork's kvm_xsave, its region as a plain array; v38+: XsaveState. */
	put(b, xsave_plain ? "]},\"xsave\":[" : "]},\"xsave\":{\"region\":[");
	for (int i = 0; i < 1024; i++)
		put(b, "%s%u", i ? "," : "", i == 6 ? 0x1f80U : i == 128 ? 0xffffffffU : 0U);
	put(b, xsave_plain ? "]" : "]}");
}

/* v39 and later: kvm-bindings' serde_impls write the structs as their raw bytes. */
static void inner_v39(struct buf *b, const struct vcpu *v, const struct opts *o)
{
	uint8_t ev[64], r[144], sr[312], x[392], mp[4] = { 0 };

	events_raw(v, ev);
	regs_raw(v, r);
	sregs_raw(v, sr);
	xcrs_raw(v, x);
	put(b, "{\"Kvm\":{\"cpuid\":");
	put_cpuid(b);
	put(b, ",\"msrs\":");
	put_msrs(b, v, o);
	put(b, ",\"vcpu_events\":");
	put_bytes(b, ev, sizeof(ev));
	put(b, ",\"regs\":");
	put_bytes(b, r, sizeof(r));
	put(b, ",\"sregs\":");
	put_bytes(b, sr, sizeof(sr));
	put_fpu_lapic_xsave(b, v, false);
	put(b, ",\"xcrs\":");
	put_bytes(b, x, sizeof(x));
	put(b, ",\"mp_state\":");
	put_bytes(b, mp, sizeof(mp));
	put(b, ",\"tsc_khz\":2995200");
	if (o->layout == L_V53) {
		if (v->nested) {
			uint8_t ns[128 + 8192] = { 0 }; /* KvmNestedStateBuffer: header + VMX data */

			put_le(ns, 0x3, 2); /* GUEST_MODE | RUN_PENDING */
			put_le(ns + 4, sizeof(ns), 4);
			put(b, ",\"nested_state\":");
			put_bytes(b, ns, sizeof(ns));
		} else {
			put(b, ",\"nested_state\":null");
		}
		put(b, ",\"hyperv_synic\":false");
	}
	put(b, "}}");
}

/* v29-v38: the derive of Cloud Hypervisor's kvm-bindings fork, one member per C field. */
static void put_seg(struct buf *b, const char *name, const struct seg *s, bool first)
{
	put(b, "%s\"%s\":{\"base\":%" PRIu64 ",\"limit\":%u,\"selector\":%u,\"type_\":%u,"
	       "\"present\":%u,\"dpl\":%u,\"db\":%u,\"s\":%u,\"l\":%u,\"g\":%u,\"avl\":%u,"
	       "\"unusable\":%u,\"padding\":0}",
	    first ? "" : ",", name, s->base, s->limit, s->selector, s->type, s->present, s->dpl,
	    s->db, s->s, s->l, s->g, s->avl, s->unusable);
}

static void inner_v38(struct buf *b, const struct vcpu *v, const struct opts *o)
{
	put(b, "{\"Kvm\":{\"cpuid\":");
	put_cpuid(b);
	put(b, ",\"msrs\":");
	put_msrs(b, v, o);
	put(b, ",\"vcpu_events\":{\"exception\":{\"injected\":%u,\"nr\":%u,\"has_error_code\":%u,"
	       "\"pending\":%u,\"error_code\":%u},",
	    v->exc_injected, v->exc_nr, v->exc_has_error_code, v->exc_pending, v->exc_error_code);
	put(b, "\"interrupt\":{\"injected\":0,\"nr\":0,\"soft\":0,\"shadow\":0},"
	       "\"nmi\":{\"injected\":0,\"pending\":0,\"masked\":0,\"pad\":0},\"sipi_vector\":0,"
	       "\"flags\":%u,\"smi\":{\"smm\":0,\"pending\":0,\"smm_inside_nmi\":0,"
	       "\"latched_init\":0},\"reserved\":[", v->flags);
	for (int i = 0; i < 27; i++)
		put(b, "%s0", i ? "," : "");
	put(b, "],\"exception_has_payload\":%u,\"exception_payload\":%" PRIu64 "},\"regs\":{",
	    v->has_payload, v->payload);
	for (int i = 0; i < 18; i++)
		put(b, "%s\"%s\":%" PRIu64, i ? "," : "", reg_names[i], v->regs[i]);
	put(b, "},\"sregs\":{");
	for (int i = 0; i < 8; i++)
		put_seg(b, seg_names[i], &v->seg[i], i == 0);
	put(b, ",\"gdt\":{\"base\":%" PRIu64 ",\"limit\":127,\"padding\":[0,0,0]}", (uint64_t)0xfffffe0000001000ULL);
	put(b, ",\"idt\":{\"base\":%" PRIu64 ",\"limit\":4095,\"padding\":[0,0,0]}", (uint64_t)0xfffffe0000000000ULL);
	put(b, ",\"cr0\":%" PRIu64 ",\"cr2\":%" PRIu64 ",\"cr3\":%" PRIu64 ",\"cr4\":%" PRIu64
	       ",\"cr8\":%" PRIu64 ",\"efer\":%" PRIu64 ",\"apic_base\":%" PRIu64
	       ",\"interrupt_bitmap\":[0,0,0,0]}",
	    v->cr0, v->cr2, v->cr3, v->cr4, v->cr8, v->efer, v->apic_base);
	put_fpu_lapic_xsave(b, v, o->layout == L_V29);
	put(b, ",\"xcrs\":{\"nr_xcrs\":1,\"flags\":0,\"xcrs\":[");
	for (int i = 0; i < 16; i++)
		put(b, "%s{\"xcr\":0,\"reserved\":0,\"value\":%" PRIu64 "}", i ? "," : "",
		    i == 0 ? v->xcr0 : 0);
	put(b, "],\"padding\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]},\"mp_state\":{\"mp_state\":0}");
	if (o->layout == L_V38)
		put(b, ",\"tsc_khz\":2995200"); /* v35 and later */
	put(b, "}}");
}

/* snapshot_data of a node holding text: {"state":"..."} (v39+) or [byte,...] (v29-v38). */
static void put_data(struct buf *b, const struct buf *text, const struct opts *o)
{
	if (o->layout == L_V38 || o->layout == L_V29) {
		put_bytes(b, (const uint8_t *)text->p, text->len);
		return;
	}
	put(b, "{\"state\":");
	put_str(b, text->p, text->len);
	put(b, "}");
}

/* A leaf Snapshot node: no children, the text as its data. */
static void put_leaf(struct buf *b, const char *text, const struct opts *o)
{
	struct buf t = { 0 };

	put_raw(&t, text, strlen(text));
	put(b, "{\"snapshots\":{},\"snapshot_data\":");
	put_data(b, &t, o);
	put(b, "}");
	free(t.p);
}

/* The first FROM in b becomes TO (the tests' malformed inner states). */
static void replace_once(struct buf *b, const char *from, const char *to)
{
	char *at = strstr(b->p, from);
	struct buf out = { 0 };

	if (!at)
		die("--replace: text not found in vCPU 0's state");
	put_raw(&out, b->p, (size_t)(at - b->p));
	put_raw(&out, to, strlen(to));
	put_raw(&out, at + strlen(from), strlen(at + strlen(from)));
	free(b->p);
	*b = out;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The whole tree; vCPU keys in BTreeMap order (as strings: "0","1","10","2"). */
static void state_json(struct buf *b, struct vcpu *v, int n, const struct opts *o)
{
	char **keys = calloc((size_t)n, sizeof(*keys));
	struct buf t = { 0 };

	if (o->layout == L_V28) {
		/* Only the shape fredck must recognise as too old. */
		put(b, "{\"id\":\"vm\",\"snapshots\":{\"cpu-manager\":{\"id\":\"cpu-manager\","
		       "\"snapshots\":{},\"snapshot_data\":{}}},\"snapshot_data\":{}}");
		free(keys);
		return;
	}
	for (int i = 0; i < n; i++) {
		keys[i] = malloc(16);
		snprintf(keys[i], 16, "%d", i);
	}
	qsort(keys, (size_t)n, sizeof(*keys), cmp_key);
	put(b, "{\"snapshots\":{\"cpu-manager\":{\"snapshots\":{");
	for (int k = 0; k < n; k++) {
		int i = atoi(keys[k]);

		t.len = 0;
		if (o->layout == L_V38 || o->layout == L_V29)
			inner_v38(&t, &v[i], o);
		else
			inner_v39(&t, &v[i], o);
		if (i == 0 && o->replace)
			replace_once(&t, o->replace, o->with ? o->with : "");
		put(b, "%s\"%s\":{\"snapshots\":{},\"snapshot_data\":", k ? "," : "", keys[k]);
		put_data(b, &t, o);
		put(b, "}");
		free(keys[k]);
	}
	put(b, "},\"snapshot_data\":null},\"device-manager\":");
	/* Strings that serde_json escapes, and some it does not (/ and UTF-8). */
	put_leaf(b, "{\"device_tree\":{\"_disk0\":{\"id\":\"_disk0\",\"path\":\"/var/lib/"
		    "images/caf\xc3\xa9 \\\"os\\\".raw\",\"note\":\"a\\tb\\u0001\"}}}", o);
	put(b, ",\"memory-manager\":");
	put_leaf(b, "{\"memory_ranges\":{\"regions\":[{\"gpa\":0,\"size\":4096}]}}", o);
	put(b, "},\"snapshot_data\":");
	t.len = 0;
	put(&t, "{\"clock\":{\"clock\":%" PRIu64 ",\"flags\":2},\"common_cpuid\":[]}",
	    (uint64_t)18000000000000000000ULL);
	put_data(b, &t, o);
	put(b, "}");
	free(t.p);
	free(keys);
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die("cannot write the snapshot");
}

int main(int argc, char **argv)
{
	struct opts o = { .layout = L_V39, .fred_msrs = true, .xfd = true, .nested = -1 };
	static uint8_t ram[4096];
	struct buf b = { 0 }, cfg = { 0 };
	struct vcpu *v;
	int i = 1, n;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--layout=v39") == 0)
			o.layout = L_V39;
		else if (strcmp(argv[i], "--layout=v53") == 0)
			o.layout = L_V53;
		else if (strcmp(argv[i], "--layout=v38") == 0)
			o.layout = L_V38;
		else if (strcmp(argv[i], "--layout=v29") == 0)
			o.layout = L_V29;
		else if (strcmp(argv[i], "--layout=v28") == 0)
			o.layout = L_V28;
		else if (strcmp(argv[i], "--no-fred-msrs") == 0)
			o.fred_msrs = false;
		else if (strcmp(argv[i], "--no-xfd") == 0)
			o.xfd = false;
		else if (strncmp(argv[i], "--nested=", 9) == 0)
			o.nested = atoi(argv[i] + 9);
		else if (strncmp(argv[i], "--replace=", 10) == 0)
			o.replace = argv[i] + 10;
		else if (strncmp(argv[i], "--with=", 7) == 0)
			o.with = argv[i] + 7;
		else
			die("usage: chv-gen [--layout=v39|v53|v38|v29|v28] [--no-fred-msrs] [--no-xfd] "
			    "[--nested=ID] [--replace=TEXT --with=TEXT] DIR KIND...");
	}
	if (argc - i < 2)
		die("usage: chv-gen [options] DIR KIND...");
	n = argc - i - 1;
	v = calloc((size_t)n, sizeof(*v));
	for (int k = 0; k < n; k++) {
		make_vcpu(&v[k], k, argv[i + 1 + k]);
		v[k].nested = k == o.nested;
	}
	if (mkdir(argv[i], 0755) != 0 && errno != EEXIST)
		die("cannot create the directory");
	state_json(&b, v, n, &o);
	put(&cfg, "{\"cpus\":{\"boot_vcpus\":%d,\"max_vcpus\":%d},\"memory\":{\"size\":4096}}", n,
	    n);
	write_file(argv[i], "state.json", b.p, b.len);
	write_file(argv[i], "config.json", cfg.p, cfg.len);
	write_file(argv[i], "memory-ranges", ram, sizeof(ram));
	free(b.p);
	free(cfg.p);
	free(v);
	return 0;
}
