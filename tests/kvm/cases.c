/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cases.c --- the table of fixture cases, and the expectation (at risk,
 * event data, confidence, auto action) each vCPU's files should produce.
 */
#include <string.h>

#include "cases.h"

/* Shorthands for the table. */
#define PF_LOST(addr, ec)                                                      \
	.exc = EXC_INJECTED, .vector = VEC_PF, .has_error_code = true,         \
	.error_code = (ec), .cr2 = (addr)
#define DB_INJ(dr6v) .exc = EXC_INJECTED, .vector = VEC_DB, .dr6 = (dr6v)
#define NM_INJ .exc = EXC_INJECTED, .vector = VEC_NM

/* Write watchpoints (RWn=01, LENn=8 bytes) on user addresses, as gdb sets. */
#define DR7_L0_W8 0x000D0401ULL
#define DR7_L1_W8 0x00D00404ULL
#define DR7_L2_W8 0x0D000410ULL
#define DR7_L0_X 0x00000401ULL /* L0, instruction breakpoint */

static const struct gen_case cases[] = {
	{ "pf-lost-cap",
	  "#PF injected with has_payload 0 (requeued), KVM_CAP_EXCEPTION_PAYLOAD on: flags carry 0x10",
	  true, false, 1, { { PF_LOST(0x00007F3A1C2E5008ULL, 0x6) } } },
	{ "pf-lost-nocap",
	  "#PF injected, KVM_CAP_EXCEPTION_PAYLOAD off: flags lack 0x10",
	  false, false, 1, { { PF_LOST(0x00007F3A1C2E6010ULL, 0x4) } } },
	{ "pf-pending-nopayload",
	  "#PF pending without payload, cap on: at risk, the payload must come from CR2",
	  true, false, 1,
	  { { .exc = EXC_PENDING, .vector = VEC_PF, .has_error_code = true, .error_code = 0x7,
	      .cr2 = 0x000055D0C4A3F7C0ULL } } },
	{ "pf-pending-payload",
	  "#PF pending with payload (the fault address), CR2 still stale, cap on: not at risk",
	  true, false, 1,
	  { { .exc = EXC_PENDING, .vector = VEC_PF, .has_error_code = true, .error_code = 0x6,
	      .has_payload = true, .payload = 0x00007F3A1C2F0000ULL,
	      .cr2 = 0x00007FFD5E2B1FF8ULL } } },
	{ "db-exact",
	  "#DB injected, DR6 0xFFFF0FF1 (B0 hit by a write watchpoint), cap on",
	  true, false, 1,
	  { { DB_INJ(0xFFFF0FF1ULL), .dr7 = DR7_L0_W8, .db = { 0x000055D0C4A40010ULL } } } },
	{ "db-exact-nocap",
	  "#DB injected, DR6 0xFFFF0FF1 (B0), cap off: no pending repair possible",
	  false, false, 1,
	  { { DB_INJ(0xFFFF0FF1ULL), .dr7 = DR7_L0_W8, .db = { 0x000055D0C4A40018ULL } } } },
	{ "db-bs-tf",
	  "#DB injected, DR6 0xFFFF4FF0 (BS) with RFLAGS.TF 1: single step, exact",
	  true, false, 1, { { DB_INJ(0xFFFF4FF0ULL), .tf = true } } },
	{ "db-stale-bs",
	  "#DB injected, DR6 0xFFFF4FF2 (BS and B1) with RFLAGS.TF 0: BS may be stale, ambiguous",
	  true, false, 1,
	  { { DB_INJ(0xFFFF4FF2ULL), .dr7 = DR7_L1_W8,
	      .db = { 0, 0x000055D0C4A40020ULL } } } },
	{ "db-bd",
	  "#DB injected, DR6 0xFFFF2FF1 (BD and B0): BD cannot be confirmed, ambiguous",
	  true, false, 1,
	  { { DB_INJ(0xFFFF2FF1ULL), .dr7 = DR7_L0_X, .db = { 0xFFFFFFFF81234560ULL } } } },
	{ "db-bt",
	  "#DB injected, DR6 0xFFFF8FF4 (BT and B2): BT is excluded, exact",
	  true, false, 1,
	  { { DB_INJ(0xFFFF8FF4ULL), .dr7 = DR7_L2_W8,
	      .db = { 0, 0, 0x000055D0C4A40030ULL } } } },
	{ "db-raw-payload",
	  "#DB injected, DR6 0x4002: a raw payload (BS, B1) without fixed-1 bits, "
	  "as QEMU's pre-save writes it",
	  true, false, 1,
	  { { DB_INJ(0x4002ULL), .dr7 = DR7_L1_W8, .db = { 0, 0x000055D0C4A40028ULL } } } },
	{ "nm-xfd",
	  "#NM injected, CR0.TS 0, XCR0 with AMX tile data, IA32_XFD 0x40000, IA32_XFD_ERR 0x40000",
	  true, false, 1,
	  { { NM_INJ, .amx_xcr0 = true, .xfd_msrs = true, .xfd = 0x40000, .xfd_err = 0x40000 } } },
	{ "nm-ts",
	  "#NM injected with CR0.TS 1 (XCR0 with AMX, XFD 0x40000, stale XFD_ERR 0x40000): event data 0",
	  true, false, 1,
	  { { NM_INJ, .cr0_ts = true, .amx_xcr0 = true, .xfd_msrs = true, .xfd = 0x40000,
	      .xfd_err = 0x40000 } } },
	{ "nm-noamx",
	  "#NM injected, XCR0 without AMX tile data, no XFD MSRs saved: event data 0",
	  true, false, 1, { { NM_INJ } } },
	{ "nm-unrecoverable",
	  "#NM injected, XCR0 with AMX tile data, CR0.TS 0, XFD MSRs not saved: unrecoverable",
	  true, false, 1, { { NM_INJ, .amx_xcr0 = true } } },
	{ "nested",
	  "#PF injected while in nested guest mode (VMX header, GUEST_MODE): repair refused",
	  true, false, 1, { { PF_LOST(0x00007F3A1C2E7ABCULL, 0x6), .nested = true } } },
	{ "clean",
	  "FRED vCPU with no exception queued: nothing to do",
	  true, false, 1, { { .exc = EXC_NONE } } },
	{ "gp-injected",
	  "#GP (vector 13) injected with error code 0: no event data, not at risk",
	  true, false, 1,
	  { { .exc = EXC_INJECTED, .vector = VEC_GP, .has_error_code = true, .error_code = 0 } } },
	{ "nofred",
	  "#PF injected, CR4.FRED clear: not at risk",
	  true, false, 1, { { PF_LOST(0x00007F3A1D000FF8ULL, 0x7), .no_fred = true } } },
	{ "sregs-legacy",
	  "#PF injected (lost), captured with KVM_GET_SREGS: the directory has sregs, not sregs2",
	  true, true, 1, { { PF_LOST(0x00007F3A1C301000ULL, 0x14) } } },
	{ "fred-msrs-missing",
	  "#PF injected (lost), no FRED MSRs in msrs",
	  true, false, 1, { { PF_LOST(0x00005597A3C10040ULL, 0x4), .no_fred_msrs = true } } },
	{ "multi",
	  "4 vCPUs in one VM: vcpu1 has a lost #PF, vcpu0, vcpu2, vcpu3 are clean",
	  true, false, 4,
	  { { .exc = EXC_NONE }, { PF_LOST(0x00007F3A1C2E9000ULL, 0x6) },
	    { .exc = EXC_NONE }, { .exc = EXC_NONE } } },
};

const struct gen_case *case_table(size_t *count)
{
	*count = sizeof(cases) / sizeof(cases[0]);
	return cases;
}

const struct gen_case *case_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(cases[i].name, name) == 0)
			return &cases[i];
	return NULL;
}

const char *confidence_x_name(enum confidence_x c)
{
	switch (c) {
	case CONF_X_EXACT: return "exact";
	case CONF_X_AMBIGUOUS: return "ambiguous";
	case CONF_X_UNRECOVERABLE: return "unrecoverable";
	}
	return "?";
}

/* The exception as KVM_SET_VCPU_EVENTS would keep it (kvm-fred-semantics 1.2). */
static void kept_exception(const struct kvm_vcpu_events *ev, struct expectation *e)
{
	bool valid_payload = ev->flags & EV_FLAG_VALID_PAYLOAD;
	bool pending = valid_payload && ev->exception.pending;
	bool injected = ev->exception.injected && !pending;

	e->vector = (pending || injected) ? ev->exception.nr : -1;
	e->state = pending ? "pending" : injected ? "injected" : "none";
	/* At risk: injected, or pending without a payload. */
	e->at_risk = injected || (pending && !ev->exception_has_payload);
}

static void rebuild_db(const struct vcpu_files *vf, struct expectation *e)
{
	uint64_t dr6 = vf->debugregs.dr6;

	if (!vf->has_debugregs) {
		e->confidence = CONF_X_UNRECOVERABLE;
		return;
	}
	if ((dr6 & DR6_FIXED_1) == 0) {
		e->event_data = dr6 & DR6_ED_MASK; /* a raw payload */
		return;
	}
	e->event_data = (dr6 ^ DR6_ACTIVE_LOW) & DR6_ED_MASK;
	if (e->event_data & DR6_BD)
		e->confidence = CONF_X_AMBIGUOUS;
	if ((e->event_data & DR6_BS) && !(vf->has_regs && (vf->regs.rflags & RFLAGS_TF)))
		e->confidence = CONF_X_AMBIGUOUS;
}

static void rebuild_nm(const struct vcpu_files *vf, struct expectation *e)
{
	const struct kvm_msr_entry *xfd = vf_msr(vf, MSR_XFD);
	const struct kvm_msr_entry *xfd_err = vf_msr(vf, MSR_XFD_ERR);
	bool have_xcr0;
	uint64_t xcr0 = vf_xcr0(vf, &have_xcr0);

	e->event_data = 0;
	if (vf_cr(vf, VF_CR0) & CR0_TS)
		return;
	if (have_xcr0 && !(xcr0 & XCR0_TILEDATA))
		return;
	if (!xfd) {
		e->confidence = CONF_X_UNRECOVERABLE;
		return;
	}
	if (xfd->data == 0)
		return;
	if (!xfd_err)
		e->confidence = CONF_X_UNRECOVERABLE;
	else
		e->event_data = xfd_err->data;
}

static const char *auto_action(const struct vcpu_files *vf, const struct expectation *e)
{
	bool cap = vf->events.flags & EV_FLAG_VALID_PAYLOAD;

	if (!e->at_risk)
		return "nothing";
	if (vf->has_nested && (vf->nested.flags & KVM_STATE_NESTED_GUEST_MODE))
		return "leave";
	if (e->vector == VEC_DB)
		return cap && e->confidence == CONF_X_EXACT ? "pending" : "leave";
	if (!cap)
		return "drop";
	return e->confidence == CONF_X_EXACT ? "pending" : "drop";
}

void expect_vcpu(const struct vcpu_files *vf, struct expectation *e)
{
	memset(e, 0, sizeof(*e));
	kept_exception(&vf->events, e);
	if (!(vf_cr(vf, VF_CR4) & CR4_FRED) || !(vf_cr(vf, VF_EFER) & EFER_LMA))
		e->at_risk = false;
	if (e->vector != VEC_PF && e->vector != VEC_DB && e->vector != VEC_NM)
		e->at_risk = false;
	e->confidence = CONF_X_EXACT;
	if (e->at_risk) {
		if (e->vector == VEC_PF)
			e->event_data = vf_cr(vf, VF_CR2);
		else if (e->vector == VEC_DB)
			rebuild_db(vf, e);
		else
			rebuild_nm(vf, e);
	}
	e->action = auto_action(vf, e);
}
