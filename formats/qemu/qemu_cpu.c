/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_cpu.c --- the x86 `cpu` section of a QEMU migration stream:
 * vmstate_x86_cpu version 12, its main fields at fixed offsets, then its
 * subsections, found the way QEMU's loader finds them and sized by
 * fredck's table or, for one it does not know, by the stream's own device
 * description.
 */
#include "config.h"

#include <string.h>

#include "formats/qemu/qemu_cpu.h"
#include "formats/qemu/qemu_vmdesc.h"
#include "formats/qemu/qemu_wire.h"

/* The fixed body size of each known `cpu` subsection (reference 3.3, 3.4). */
static const struct {
	const char *name;
	uint32_t size;
} cpu_subsections[] = {
	{ "cpu/exception_info", 11 },
	{ "cpu/error_code", 4 },
	{ "cpu/async_pf_msr", 8 },
	{ "cpu/async_pf_int_msr", 8 },
	{ "cpu/async_pv_eoi_msr", 8 },
	{ "cpu/steal_time_msr", 8 },
	{ "cpu/poll_control_msr", 8 },
	{ "cpu/fpop_ip_dp", 18 },
	{ "cpu/msr_tsc_adjust", 8 },
	{ "cpu/msr_tscdeadline", 8 },
	{ "cpu/msr_ia32_misc_enable", 8 },
	{ "cpu/msr_ia32_feature_control", 8 },
	{ "cpu/msr_architectural_pmu", 344 },
	{ "cpu/mpx", 88 },
	{ "cpu/msr_hyperv_hypercall", 16 },
	{ "cpu/msr_hyperv_vapic", 8 },
	{ "cpu/msr_hyperv_time", 8 },
	{ "cpu/msr_hyperv_crash", 40 },
	{ "cpu/msr_hyperv_runtime", 8 },
	{ "cpu/msr_hyperv_synic", 152 },
	{ "cpu/msr_hyperv_stimer", 64 },
	{ "cpu/msr_hyperv_reenlightenment", 24 },
	{ "cpu/avx512", 1600 },
	{ "cpu/xss", 8 },
	{ "cpu/umwait", 4 },
	{ "cpu/tsc_khz", 8 },
	{ "cpu/msr_smi_count", 8 },
	{ "cpu/pkru", 4 },
	{ "cpu/pkrs", 4 },
	{ "cpu/spec_ctrl", 8 },
	{ "cpu/amd_tsc_scale_msr", 8 },
	{ "cpu/mcg_ext_ctl", 8 },
	{ "cpu/intel_pt", 104 },
	{ "cpu/virt_ssbd", 8 },
	{ "cpu/svn_npt", 12 },
	{ "cpu/svm_guest", 4 },
	{ "cpu/xen_vcpu", 97 },
	{ "cpu/msr_tsx_ctrl", 4 },
	{ "cpu/intel_sgx", 32 },
	{ "cpu/pdptrs", 32 },
	{ "cpu/msr_xfd", 16 },
	{ "cpu/msr_hwcr", 8 },
	{ "cpu/fred", 72 },
	{ "cpu/intel_amx_xtile", 8256 },
	{ "cpu/arch_lbr", 784 },
	{ "cpu/triple_fault", 1 },
	/* cpu/nested_state holds the struct kvm_nested_state header ... */
	{ "cpu/nested_state", 8 },
	/* ... whose own subsections follow it (prefix cpu/kvm_nested_state). */
	{ "cpu/kvm_nested_state/vmx", 18 },
	{ "cpu/kvm_nested_state/vmx/vmcs12", 4096 },
	{ "cpu/kvm_nested_state/vmx/shadow_vmcs12", 4096 },
	{ "cpu/kvm_nested_state/svm", 8 },
	{ "cpu/kvm_nested_state/svm/vmcb12", 4096 },
};

/* One subsection header, as the loader checks it. */
struct subsection {
	char name[256];
	uint32_t version;
	uint64_t offset; /* of its 0x05 byte */
};

/* ---- cpu sections ------------------------------------------------------ */

static void decode_main(const uint8_t *m, struct vcpu_state *v)
{
	int32_t exception_nr = (int32_t)be_get(m + QCPU_EXCEPTION_NR, 4);
	int32_t interrupt = (int32_t)be_get(m + QCPU_INTERRUPT_INJECTED, 4);
	uint32_t hflags = (uint32_t)be_get(m + QCPU_HFLAGS, 4);

	vcpu_set(v, VREG_RIP, be_get(m + QCPU_EIP, 8));
	vcpu_set(v, VREG_RFLAGS, be_get(m + QCPU_EFLAGS, 8));
	vcpu_set(v, VREG_CR0, be_get(m + QCPU_CR0, 8));
	vcpu_set(v, VREG_CR2, be_get(m + QCPU_CR2, 8));
	vcpu_set(v, VREG_CR3, be_get(m + QCPU_CR3, 8));
	vcpu_set(v, VREG_CR4, be_get(m + QCPU_CR4, 8));
	vcpu_set(v, VREG_EFER, be_get(m + QCPU_EFER, 8));
	vcpu_set(v, VREG_DR6, be_get(m + QCPU_DR6, 8));
	vcpu_set(v, VREG_DR7, be_get(m + QCPU_DR7, 8));
	vcpu_set(v, VREG_XCR0, be_get(m + QCPU_XCR0, 8));
	v->events_present = true;
	/* QEMU enables KVM_CAP_EXCEPTION_PAYLOAD: its events carry the flag. */
	v->events_flags = EVENTS_FLAG_VALID_PAYLOAD;
	v->exc.nr = exception_nr >= 0 && exception_nr < 256 ? (uint8_t)exception_nr : 0;
	v->exc.injected = false; /* cpu/exception_info or classify_exception says */
	v->exc.has_error_code = m[QCPU_HAS_ERROR_CODE] != 0;
	v->exc.error_code_saved = !v->exc.has_error_code;
	v->intr.injected = interrupt != -1;
	v->intr.nr = interrupt >= 0 && interrupt < 256 ? (uint8_t)interrupt : 0;
	v->intr.soft = m[QCPU_SOFT_INTERRUPT] != 0;
	v->nmi.injected = m[QCPU_NMI_INJECTED] != 0;
	v->nmi.pending = m[QCPU_NMI_PENDING];
	v->nmi.masked = be_get(m + QCPU_HFLAGS2, 4) & QEMU_HF2_NMI;
	v->nested_saved = true; /* hflags always says whether L2 runs */
	v->nested_guest_mode = hflags & QEMU_HF_GUEST;
}

/* Keep the values fredck models from a known subsection's body. */
static void decode_subsection(const char *name, const uint8_t *b, struct vcpu_state *v,
			      struct qemu_cpu_loc *loc, uint64_t off)
{
	if (strcmp(name, "cpu/exception_info") == 0) {
		v->exc.pending = b[0] != 0;
		v->exc.injected = b[1] != 0;
		v->exc.has_payload = b[2] != 0;
		v->exc.payload = be_get(b + 3, 8);
		loc->exception_info = off;
	} else if (strcmp(name, "cpu/error_code") == 0) {
		v->exc.error_code = (uint32_t)be_get(b, 4);
		v->exc.error_code_saved = true;
		loc->error_code = off;
	} else if (strcmp(name, "cpu/msr_xfd") == 0) {
		vcpu_set(v, VREG_XFD, be_get(b, 8));
		vcpu_set(v, VREG_XFD_ERR, be_get(b + 8, 8));
	} else if (strcmp(name, "cpu/fred") == 0) {
		static const enum vcpu_reg order[] = {
			VREG_FRED_RSP0, VREG_FRED_RSP1,	 VREG_FRED_RSP2, VREG_FRED_RSP3,
			VREG_FRED_STKLVLS, VREG_FRED_SSP1, VREG_FRED_SSP2, VREG_FRED_SSP3,
			VREG_FRED_CONFIG,
		};

		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
			vcpu_set(v, order[i], be_get(b + 8 * i, 8));
	} else if (strcmp(name, "cpu/nested_state") == 0) {
		v->nested_guest_mode |= be_get(b, 2) & 1;
		v->nested_run_pending = be_get(b, 2) & 2;
	}
}

static int64_t known_subsection_size(const char *name)
{
	for (size_t i = 0; i < sizeof(cpu_subsections) / sizeof(cpu_subsections[0]); i++)
		if (strcmp(cpu_subsections[i].name, name) == 0)
			return cpu_subsections[i].size;
	return -1;
}

/*
 * The next subsection header if it belongs to parent (QEMU's own test:
 * 0x05, a name starting with "parent/"); false otherwise.
 */
static bool next_subsection(struct bsrc *src, const char *parent, struct subsection *s)
{
	struct fmt_error ignored;
	size_t plen = strlen(parent);
	const uint8_t *p;
	size_t n;

	if (bsrc_available(src, 2) < 2)
		return false;
	p = bsrc_peek(src, 2, "", &ignored);
	if (p[0] != QSEC_SUBSECTION || p[1] < plen + 1)
		return false;
	n = p[1];
	if (bsrc_available(src, 2 + n + 4) < 2 + n + 4)
		return false;
	p = bsrc_peek(src, 2 + n + 4, "", &ignored);
	if (memcmp(p + 2, parent, plen) != 0 || p[2 + plen] != '/' || memchr(p + 2, 0, n))
		return false;
	memcpy(s->name, p + 2, n);
	s->name[n] = '\0';
	s->version = (uint32_t)be_get(p + 2 + n, 4);
	s->offset = bsrc_offset(src);
	bsrc_take(src, 2 + n + 4, "", &ignored);
	return true;
}

static int parse_subsections(struct bsrc *src, const char *parent, json_t *desc,
			     struct vcpu_state *v, struct qemu_cpu_loc *loc, int depth,
			     struct fmt_error *e);

/* One subsection's body, then its own subsections. */
static int parse_subsection_body(struct bsrc *src, const struct subsection *s, json_t *desc,
				 struct vcpu_state *v, struct qemu_cpu_loc *loc, int depth,
				 struct fmt_error *e)
{
	int64_t size = known_subsection_size(s->name);
	json_t *sdesc = vmdesc_subsection(desc, s->name);
	const uint8_t *body;

	if (size < 0) {
		/* Not in fredck's table: the stream's own description sizes it. */
		size = sdesc ? vmdesc_size(sdesc, 0) : -1;
		if (size < 0)
			return fmt_malformed(e, src->path, s->offset, s->name,
					     "unknown subsection of cpu %u, and no device description "
					     "to size it",
					     v->index);
		return bsrc_skip(src, (uint64_t)size, s->name, e);
	}
	if (s->version != 1)
		return fmt_malformed(e, src->path, s->offset, s->name,
				     "subsection version %u; fredck knows version 1", s->version);
	body = bsrc_take(src, (size_t)size, s->name, e);
	if (!body)
		return -1;
	decode_subsection(s->name, body, v, loc, s->offset);
	/* The nested-state struct's subsections come before the subsection's own. */
	if (strcmp(s->name, "cpu/nested_state") == 0 &&
	    parse_subsections(src, "cpu/kvm_nested_state", sdesc, v, loc, depth + 1, e))
		return -1;
	if (parse_subsections(src, s->name, sdesc, v, loc, depth + 1, e))
		return -1;
	if (loc->exception_info == s->offset)
		loc->exception_info_end = bsrc_offset(src);
	if (loc->error_code == s->offset)
		loc->error_code_end = bsrc_offset(src);
	return 0;
}

/* FNV-1a: subsection names are compared by hash to find a repeated one. */
static uint64_t name_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 0x100000001b3ULL;
	return h;
}

/*
 * Subsections of one parent: each name at most once (QEMU would load a
 * repeated one twice, the last winning, so an edit of the first would not
 * be what the destination sees), and at most SUBSECTIONS_MAX of them
 * (QEMU's cpu has about 50 kinds): more is a damaged or crafted stream.
 */
#define SUBSECTIONS_MAX 256
/* The names seen, hashed into twice as many slots (0: free): one probe or a few per name. */
#define SEEN_SLOTS (2 * SUBSECTIONS_MAX)

/* Was h seen among the subsections of this parent?  Remembered if not. */
static bool seen_before(uint64_t seen[SEEN_SLOTS], uint64_t h)
{
	size_t i;

	h = h ? h : 1; /* 0 marks a free slot */
	for (i = h & (SEEN_SLOTS - 1); seen[i]; i = (i + 1) & (SEEN_SLOTS - 1))
		if (seen[i] == h)
			return true;
	seen[i] = h;
	return false;
}

static int parse_subsections(struct bsrc *src, const char *parent, json_t *desc,
			     struct vcpu_state *v, struct qemu_cpu_loc *loc, int depth,
			     struct fmt_error *e)
{
	uint64_t seen[SEEN_SLOTS];
	struct subsection s;
	size_t n = 0;

	if (depth > 8)
		return fmt_malformed(e, src->path, bsrc_offset(src), parent,
				     "subsections nested more than 8 deep");
	while (next_subsection(src, parent, &s)) {
		/* Cleared only here: most subsections have none of their own. */
		if (n == 0)
			memset(seen, 0, sizeof(seen));
		if (seen_before(seen, name_hash(s.name)))
			return fmt_malformed(e, src->path, s.offset, s.name,
					     "%s a second time in cpu %u: QEMU would load "
					     "both, the last one winning",
					     s.name, v->index);
		if (n == SUBSECTIONS_MAX)
			return fmt_malformed(e, src->path, s.offset, s.name,
					     "more than %d subsections of %s", SUBSECTIONS_MAX,
					     parent);
		n++;
		if (parse_subsection_body(src, &s, desc, v, loc, depth, e))
			return -1;
	}
	return 0;
}

/*
 * The exception as the destination will see it: exception_nr -1 is none;
 * cpu_post_load makes an exception that is neither pending nor injected
 * injected (streams without cpu/exception_info); KVM_SET_VCPU_EVENTS lets
 * pending win.  A vector the kernel rejects is malformed.
 */
static int classify_exception(struct bsrc *src, struct vcpu_state *v, int32_t nr,
			      const struct qemu_cpu_loc *loc, struct fmt_error *e)
{
	if (nr == -1) {
		v->exc.state = EXC_NONE;
		return 0;
	}
	if (nr < 0 || nr > 31 || nr == VEC_NMI)
		return fmt_malformed(e, src->path, loc->main + QCPU_EXCEPTION_NR,
				     "env.exception_nr",
				     "exception vector %d; the kernel rejects vectors above 31 and NMI",
				     nr);
	if (v->exc.pending) {
		v->exc.state = EXC_PENDING;
	} else {
		v->exc.injected = true;
		v->exc.state = EXC_INJECTED;
	}
	return 0;
}

int qemu_cpu_version(struct bsrc *src, uint64_t section, uint32_t version, struct fmt_error *e)
{
	if (version != QCPU_VERSION)
		return fmt_malformed(e, src->path, section + QCPU_HEADER - 4, "cpu version",
				     "cpu section version %u; fredck reads version 12 "
				     "(qemu-system-x86_64)",
				     version);
	return 0;
}

int qemu_cpu_parse(struct bsrc *src, uint64_t section, uint32_t sid, uint32_t instance,
		   json_t *desc, struct qemu_cpu_loc *loc, struct vcpu_state *v,
		   struct fmt_error *e)
{
	const uint8_t *m;
	int32_t exception_nr;

	memset(loc, 0, sizeof(*loc));
	vcpu_init(v, instance);
	v->saver = SAVER_QEMU;
	loc->section = section;
	loc->sid = sid;
	loc->instance = instance;
	loc->main = bsrc_offset(src);
	m = bsrc_take(src, QCPU_MAIN, "cpu main fields", e);
	if (!m)
		return -1;
	decode_main(m, v);
	/* Read now: the subsections' reads may slide the window away from m. */
	exception_nr = (int32_t)be_get(m + QCPU_EXCEPTION_NR, 4);
	if (parse_subsections(src, "cpu", desc, v, loc, 0, e))
		return -1;
	if (classify_exception(src, v, exception_nr, loc, e))
		return -1;
	loc->subs_end = bsrc_offset(src);
	return qw_expect_footer(src, sid, "cpu", e);
}
