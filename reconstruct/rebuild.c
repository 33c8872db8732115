/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rebuild.c --- FRED event data rebuilt from CR2, DR6 and IA32_XFD_ERR
 * (docs/design.md section 3).  Every result says where it came from and how far
 * it can be trusted.
 */
#include "reconstruct/rebuild.h"

static struct event_data result(uint8_t vector, enum provenance prov, uint64_t value)
{
	struct event_data ed = {
		.vector = vector,
		.value = value,
		.best_estimate = value,
		.confidence = CONF_EXACT,
		.provenance = prov,
		.missing = VREG_COUNT,
	};
	return ed;
}

static struct event_data unrecoverable(uint8_t vector, enum vcpu_reg missing)
{
	struct event_data ed = result(vector, PROV_NONE, 0);

	ed.confidence = CONF_UNRECOVERABLE;
	ed.missing = missing;
	return ed;
}

struct event_data rebuild_pf(const struct vcpu_state *v)
{
	if (!vcpu_has(v, VREG_CR2))
		return unrecoverable(VEC_PF, VREG_CR2);
	return result(VEC_PF, PROV_CR2, v->reg[VREG_CR2]);
}

bool dr6_is_raw_payload(uint64_t dr6)
{
	return (dr6 & DR6_FIXED_1) == 0;
}

/*
 * BD and BS are sticky in DR6: KVM ORs them in and nothing clears them,
 * so a set bit may belong to an earlier #DB.  TF=1 confirms a single
 * step; nothing can confirm BD, because KVM clears DR7.GD when it injects.
 */
static uint64_t doubtful_db_bits(const struct vcpu_state *v, uint64_t ed)
{
	uint64_t doubtful = 0;

	if ((ed & DR6_BS) &&
	    !(vcpu_has(v, VREG_RFLAGS) && (v->reg[VREG_RFLAGS] & X86_RFLAGS_TF)))
		doubtful |= DR6_BS;
	if (ed & DR6_BD)
		doubtful |= DR6_BD;
	return doubtful;
}

struct event_data rebuild_db(const struct vcpu_state *v)
{
	struct event_data ed;
	uint64_t dr6;

	if (!vcpu_has(v, VREG_DR6))
		return unrecoverable(VEC_DB, VREG_DR6);
	dr6 = v->reg[VREG_DR6];

	/* QEMU's pre-save wrote this one event's payload: nothing is stale. */
	if (dr6_is_raw_payload(dr6))
		return result(VEC_DB, PROV_DR6_RAW, dr6 & DR6_EVENT_DATA_MASK);

	ed = result(VEC_DB, PROV_DR6, (dr6 ^ DR6_ACTIVE_LOW) & DR6_EVENT_DATA_MASK);
	ed.doubtful = doubtful_db_bits(v, ed.value);
	if (ed.doubtful) {
		ed.confidence = CONF_AMBIGUOUS;
		ed.best_estimate = ed.value & ~ed.doubtful;
	}
	return ed;
}

/*
 * #NM carries IA32_XFD_ERR only for an XFD-caused fault: CR0.TS clear and
 * XFD armed (KVM's is_xfd_nm_fault).  With CR0.TS set, or with no
 * XFD-capable component enabled in XCR0, it is 0 whatever XFD holds.
 */
struct event_data rebuild_nm(const struct vcpu_state *v)
{
	if (vcpu_has(v, VREG_CR0) && (v->reg[VREG_CR0] & X86_CR0_TS))
		return result(VEC_NM, PROV_CR0_TS, 0);
	if (vcpu_has(v, VREG_XCR0) && !(v->reg[VREG_XCR0] & X86_XCR0_TILEDATA))
		return result(VEC_NM, PROV_XCR0, 0);
	if (!vcpu_has(v, VREG_CR0))
		return unrecoverable(VEC_NM, VREG_CR0);
	if (!vcpu_has(v, VREG_XFD))
		return unrecoverable(VEC_NM, VREG_XFD);
	if (v->reg[VREG_XFD] == 0)
		return result(VEC_NM, PROV_XFD_ZERO, 0);
	if (!vcpu_has(v, VREG_XFD_ERR))
		return unrecoverable(VEC_NM, VREG_XFD_ERR);
	return result(VEC_NM, PROV_XFD_ERR, v->reg[VREG_XFD_ERR]);
}

struct event_data rebuild_event_data(const struct vcpu_state *v, uint8_t nr)
{
	switch (nr) {
	case VEC_PF:
		return rebuild_pf(v);
	case VEC_DB:
		return rebuild_db(v);
	case VEC_NM:
		return rebuild_nm(v);
	default:
		return result(nr, PROV_NONE, 0);
	}
}

uint64_t kvm_deliver_db_payload(uint64_t dr6, uint64_t payload)
{
	dr6 &= ~0xFULL;
	dr6 |= DR6_ACTIVE_LOW;
	dr6 |= payload;
	dr6 ^= payload & DR6_ACTIVE_LOW;
	dr6 &= ~(1ULL << 12);
	return dr6;
}

const char *confidence_name(enum confidence c)
{
	switch (c) {
	case CONF_EXACT:
		return "exact";
	case CONF_AMBIGUOUS:
		return "ambiguous";
	case CONF_UNRECOVERABLE:
		return "unrecoverable";
	}
	return "?";
}

/*
 * Keys and short descriptions for enum provenance, in enum order: a
 * report's "event data: VALUE (exact) from KEY: DESCRIPTION" fits 80 columns.
 */
static const struct {
	const char *name;
	const char *description;
} provenance_table[] = {
	[PROV_NONE] = { "none", "no saved register gives it" },
	[PROV_CR2] = { "cr2", "the faulting address" },
	[PROV_DR6] = { "dr6", "the debug conditions (DR6's active-low bits inverted)" },
	[PROV_DR6_RAW] = { "dr6-raw-payload",
			   "this #DB's raw payload, which QEMU's pre-save put in DR6" },
	[PROV_XFD_ERR] = { "xfd_err", "the faulting feature, from IA32_XFD_ERR" },
	[PROV_CR0_TS] = { "cr0.ts", "0: CR0.TS is set, so not an XFD fault" },
	[PROV_XCR0] = { "xcr0", "0: XCR0 enables no XFD component (no AMX)" },
	[PROV_XFD_ZERO] = { "xfd", "0: IA32_XFD is 0, so not an XFD fault" },
};

const char *provenance_name(enum provenance p)
{
	if ((unsigned int)p >= sizeof(provenance_table) / sizeof(provenance_table[0]))
		return "?";
	return provenance_table[p].name;
}

const char *provenance_description(enum provenance p)
{
	if ((unsigned int)p >= sizeof(provenance_table) / sizeof(provenance_table[0]))
		return "?";
	return provenance_table[p].description;
}
