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

/*
 * Every subsection of QEMU's x86 `cpu` vmstate (qemu-system-x86_64, KVM
 * build), in the order QEMU writes them, with the bytes of its own fields
 * and the QEMU versions that have it.  Derived from target/i386/machine.c
 * of each version: tests/qemu/cpu-subsections-{7.2,10.0,11.1}.txt are the
 * checked-in lists (tests/qemu/derive-subsections.py re-derives them) and
 * tests/unit/test_qemu_subsections compares this table with them.  No
 * subsection changed size between 7.2 and 11.1, so one size serves all.
 * The version bits say which of the three lists has it (the peers'
 * versions); a stream's own version is not known, so every name is read.
 *
 * parent is the vmstate whose subsection it is; QEMU takes a subsection as
 * its parent's when its name starts with the parent's name, which is how
 * cpu/cet_shstk (no '/') nests in cpu/cet.  cpu/kvm_nested_state is the
 * struct behind cpu/nested_state's pointer field: its subsections come
 * inside cpu/nested_state, after the struct's 8 bytes.
 */
static const struct qemu_cpu_subsection cpu_subsections[] = {
	{ "cpu/exception_info", "cpu", 11, QCPU_ALL },
	/* cpu/error_code: QEMU 10.2 on; cpu/msr_pl0_ssp, cpu/cet, cpu/apx: 11.0 on. */
	{ "cpu/error_code", "cpu", 4, QCPU_IN_11_1 },
	{ "cpu/async_pf_msr", "cpu", 8, QCPU_ALL },
	{ "cpu/async_pf_int_msr", "cpu", 8, QCPU_ALL },
	{ "cpu/async_pv_eoi_msr", "cpu", 8, QCPU_ALL },
	{ "cpu/steal_time_msr", "cpu", 8, QCPU_ALL },
	{ "cpu/poll_control_msr", "cpu", 8, QCPU_ALL },
	{ "cpu/fpop_ip_dp", "cpu", 18, QCPU_ALL },
	{ "cpu/msr_tsc_adjust", "cpu", 8, QCPU_ALL },
	{ "cpu/msr_tscdeadline", "cpu", 8, QCPU_ALL },
	{ "cpu/msr_ia32_misc_enable", "cpu", 8, QCPU_ALL },
	{ "cpu/msr_ia32_feature_control", "cpu", 8, QCPU_ALL },
	{ "cpu/msr_architectural_pmu", "cpu", 344, QCPU_ALL },
	{ "cpu/mpx", "cpu", 88, QCPU_ALL },
	{ "cpu/msr_hyperv_hypercall", "cpu", 16, QCPU_ALL },
	{ "cpu/msr_hyperv_vapic", "cpu", 8, QCPU_ALL },
	{ "cpu/msr_hyperv_time", "cpu", 8, QCPU_ALL },
	{ "cpu/msr_hyperv_crash", "cpu", 40, QCPU_ALL },
	{ "cpu/msr_hyperv_runtime", "cpu", 8, QCPU_ALL },
	{ "cpu/msr_hyperv_synic", "cpu", 152, QCPU_ALL },
	{ "cpu/msr_hyperv_stimer", "cpu", 64, QCPU_ALL },
	{ "cpu/msr_hyperv_reenlightenment", "cpu", 24, QCPU_ALL },
	{ "cpu/avx512", "cpu", 1600, QCPU_ALL },
	{ "cpu/xss", "cpu", 8, QCPU_ALL },
	{ "cpu/umwait", "cpu", 4, QCPU_ALL },
	{ "cpu/tsc_khz", "cpu", 8, QCPU_ALL },
	{ "cpu/msr_smi_count", "cpu", 8, QCPU_ALL },
	{ "cpu/pkru", "cpu", 4, QCPU_ALL },
	{ "cpu/pkrs", "cpu", 4, QCPU_ALL },
	{ "cpu/spec_ctrl", "cpu", 8, QCPU_ALL },
	{ "cpu/amd_tsc_scale_msr", "cpu", 8, QCPU_ALL },
	{ "cpu/mcg_ext_ctl", "cpu", 8, QCPU_ALL },
	{ "cpu/intel_pt", "cpu", 104, QCPU_ALL },
	{ "cpu/virt_ssbd", "cpu", 8, QCPU_ALL },
	{ "cpu/svn_npt", "cpu", 12, QCPU_ALL },
	{ "cpu/svm_guest", "cpu", 4, QCPU_ALL },
	{ "cpu/nested_state", "cpu", 8, QCPU_ALL },
	{ "cpu/kvm_nested_state/vmx", "cpu/kvm_nested_state", 18, QCPU_ALL },
	{ "cpu/kvm_nested_state/vmx/vmcs12", "cpu/kvm_nested_state/vmx", 4096, QCPU_ALL },
	{ "cpu/kvm_nested_state/vmx/shadow_vmcs12", "cpu/kvm_nested_state/vmx", 4096, QCPU_ALL },
	{ "cpu/kvm_nested_state/svm", "cpu/kvm_nested_state", 4104, QCPU_ALL },
	{ "cpu/xen_vcpu", "cpu", 97, QCPU_IN_10_0 | QCPU_IN_11_1 },
	{ "cpu/msr_tsx_ctrl", "cpu", 4, QCPU_ALL },
	{ "cpu/intel_sgx", "cpu", 32, QCPU_ALL },
	{ "cpu/pdptrs", "cpu", 32, QCPU_ALL },
	{ "cpu/msr_xfd", "cpu", 16, QCPU_ALL },
	{ "cpu/msr_hwcr", "cpu", 8, QCPU_IN_10_0 | QCPU_IN_11_1 },
	{ "cpu/fred", "cpu", 72, QCPU_IN_10_0 | QCPU_IN_11_1 },
	{ "cpu/intel_amx_xtile", "cpu", 8256, QCPU_ALL },
	{ "cpu/arch_lbr", "cpu", 784, QCPU_ALL },
	{ "cpu/triple_fault", "cpu", 1, QCPU_ALL },
	{ "cpu/msr_pl0_ssp", "cpu", 8, QCPU_IN_11_1 },
	{ "cpu/cet", "cpu", 16, QCPU_IN_11_1 },
	{ "cpu/cet_shstk", "cpu/cet", 40, QCPU_IN_11_1 },
	{ "cpu/apx", "cpu", 128, QCPU_IN_11_1 },
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

const struct qemu_cpu_subsection *qemu_cpu_subsections(size_t *n)
{
	*n = sizeof(cpu_subsections) / sizeof(cpu_subsections[0]);
	return cpu_subsections;
}

static int64_t known_subsection_size(const char *name)
{
	for (size_t i = 0; i < sizeof(cpu_subsections) / sizeof(cpu_subsections[0]); i++)
		if (strcmp(cpu_subsections[i].name, name) == 0)
			return cpu_subsections[i].size;
	return -1;
}

/*
 * The next subsection header if it belongs to parent; false otherwise.
 * QEMU's own test (vmstate_subsection_load): 0x05 and a name that starts
 * with the parent's name -- not necessarily followed by '/': cpu/cet_shstk
 * is cpu/cet's.  For the section itself, "cpu/" (a "cpuX" name would be
 * one QEMU refuses as unknown anyway).
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
	if (memcmp(p + 2, parent, plen) != 0 || memchr(p + 2, 0, n) ||
	    (strcmp(parent, "cpu") == 0 && p[2 + plen] != '/'))
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
