/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vcpu.c --- the vCPU model: the register table, exception normalisation.
 */
#include <string.h>

#include "reconstruct/vcpu.h"

/* The register table: one row per enum vcpu_reg, in display order. */
static const struct reg_desc reg_table[VREG_COUNT] = {
	[VREG_RIP] = { "rip", "instruction pointer", 0 },
	[VREG_RFLAGS] = { "rflags", "flags (TF confirms a single-step #DB)", 0 },
	[VREG_CR0] = { "cr0", "control register 0 (TS decides #NM event data)", 0 },
	[VREG_CR2] = { "cr2", "page-fault linear address (#PF event data)", 0 },
	[VREG_CR3] = { "cr3", "page-table base", 0 },
	[VREG_CR4] = { "cr4", "control register 4 (bit 32 is FRED)", 0 },
	[VREG_EFER] = { "efer", "extended feature enable (LMA: IA-32e mode)", 0 },
	[VREG_DR6] = { "dr6", "debug status (#DB event data)", 0 },
	[VREG_DR7] = { "dr7", "debug control", 0 },
	[VREG_XCR0] = { "xcr0", "XSAVE feature mask (bit 18: AMX tile data)", 0 },
	[VREG_XFD] = { "xfd", "IA32_XFD, extended feature disable", MSR_IA32_XFD },
	[VREG_XFD_ERR] = { "xfd_err", "IA32_XFD_ERR (#NM event data)", MSR_IA32_XFD_ERR },
	[VREG_FRED_CONFIG] = { "fred_config", "IA32_FRED_CONFIG", MSR_IA32_FRED_CONFIG },
	[VREG_FRED_RSP0] = { "fred_rsp0", "IA32_FRED_RSP0", MSR_IA32_FRED_RSP0 },
	[VREG_FRED_RSP1] = { "fred_rsp1", "IA32_FRED_RSP1", MSR_IA32_FRED_RSP0 + 1 },
	[VREG_FRED_RSP2] = { "fred_rsp2", "IA32_FRED_RSP2", MSR_IA32_FRED_RSP0 + 2 },
	[VREG_FRED_RSP3] = { "fred_rsp3", "IA32_FRED_RSP3", MSR_IA32_FRED_RSP0 + 3 },
	[VREG_FRED_STKLVLS] = { "fred_stklvls", "IA32_FRED_STKLVLS", MSR_IA32_FRED_STKLVLS },
	[VREG_FRED_SSP1] = { "fred_ssp1", "IA32_FRED_SSP1", MSR_IA32_FRED_SSP1 },
	[VREG_FRED_SSP2] = { "fred_ssp2", "IA32_FRED_SSP2", MSR_IA32_FRED_SSP1 + 1 },
	[VREG_FRED_SSP3] = { "fred_ssp3", "IA32_FRED_SSP3", MSR_IA32_FRED_SSP1 + 2 },
};

/* Exception mnemonics; the reserved vectors keep their number. */
static const char *const vector_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "vector 9", "#TS", "#NP", "#SS", "#GP", "#PF", "vector 15",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "vector 22", "vector 23",
	"vector 24", "vector 25", "vector 26", "vector 27", "#HV", "#VC", "#SX",
	"vector 31",
};

void vcpu_init(struct vcpu_state *v, unsigned int index)
{
	memset(v, 0, sizeof(*v));
	v->index = index;
	v->exc.error_code_saved = true;
}

void vcpu_normalise_exception(struct vcpu_state *v)
{
	struct vcpu_exception *e = &v->exc;
	bool valid_payload = v->events_flags & EVENTS_FLAG_VALID_PAYLOAD;

	if (valid_payload && e->pending)
		e->state = EXC_PENDING;
	else if (e->injected || e->pending)
		e->state = EXC_INJECTED;
	else
		e->state = EXC_NONE;
}

static bool exception_equal(const struct vcpu_exception *a, const struct vcpu_exception *b)
{
	return a->injected == b->injected && a->pending == b->pending && a->nr == b->nr &&
	       a->has_error_code == b->has_error_code && a->error_code == b->error_code &&
	       a->has_payload == b->has_payload && a->payload == b->payload &&
	       a->error_code_saved == b->error_code_saved && a->state == b->state &&
	       a->is_nested == b->is_nested;
}

bool vcpu_state_equal(const struct vcpu_state *a, const struct vcpu_state *b)
{
	if (a->index != b->index || a->saver != b->saver || a->events_present != b->events_present ||
	    a->events_flags != b->events_flags || !exception_equal(&a->exc, &b->exc))
		return false;
	if (a->intr.injected != b->intr.injected || a->intr.nr != b->intr.nr ||
	    a->intr.soft != b->intr.soft || a->intr.shadow != b->intr.shadow)
		return false;
	if (a->nmi.injected != b->nmi.injected || a->nmi.pending != b->nmi.pending ||
	    a->nmi.masked != b->nmi.masked)
		return false;
	if (a->reg_present != b->reg_present)
		return false;
	for (int r = 0; r < VREG_COUNT; r++)
		if (vcpu_has(a, (enum vcpu_reg)r) && a->reg[r] != b->reg[r])
			return false;
	return a->nested_saved == b->nested_saved &&
	       a->nested_guest_mode == b->nested_guest_mode &&
	       a->nested_run_pending == b->nested_run_pending;
}

bool vcpu_fred_active(const struct vcpu_state *v)
{
	return vcpu_has(v, VREG_CR4) && vcpu_has(v, VREG_EFER) &&
	       (v->reg[VREG_CR4] & X86_CR4_FRED) && (v->reg[VREG_EFER] & X86_EFER_LMA);
}

const struct reg_desc *vcpu_reg_desc(enum vcpu_reg r)
{
	if ((unsigned int)r >= VREG_COUNT)
		return NULL;
	return &reg_table[r];
}

enum vcpu_reg vcpu_reg_by_msr(uint32_t msr)
{
	for (int r = 0; r < VREG_COUNT; r++)
		if (reg_table[r].msr && reg_table[r].msr == msr)
			return (enum vcpu_reg)r;
	return VREG_COUNT;
}

const char *vcpu_vector_name(uint8_t nr)
{
	if (nr < 32)
		return vector_names[nr];
	return "vector >31";
}
