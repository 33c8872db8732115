/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_rebuild.c --- the reconstruction rules of docs/design.md section 3.
 *
 * Written from docs/design.md and rebuild.h alone, as an independent check of
 * reconstruct/rebuild.c: #PF from CR2, #DB from DR6 with its confidence
 * table, #NM from CR0.TS/XCR0/XFD/XFD_ERR, and the exhaustive #DB round
 * trip through our own model of KVM's kvm_deliver_exception_payload().
 */
#include <stddef.h>

#include "reconstruct/rebuild.h"
#include "reconstruct/vcpu.h"
#include "tests/unit/tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Stop repeating the same failure 256 times in a loop. */
#define MAX_DIAGS 8

/* RFLAGS.TF as the format saved it. */
enum tf {
	TF_CLEAR,
	TF_SET,
	TF_ABSENT,
};

/* The eight bits of DR6_EVENT_DATA_MASK, in order: pattern bit i -> DR6 bit. */
static const uint64_t db_bits[8] = {
	1ULL << 0, 1ULL << 1, 1ULL << 2, 1ULL << 3,
	DR6_BLD, DR6_BD, DR6_BS, DR6_RTM,
};

static uint64_t pattern_to_payload(unsigned int p)
{
	uint64_t payload = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(db_bits); i++)
		if (p & (1U << i))
			payload |= db_bits[i];
	return payload;
}

/*
 * Our own model of KVM's #DB payload delivery (kvm-fred-semantics.md 2.1),
 * written out step by step so that it does not share code or mistakes with
 * the implementation under test.
 */
static uint64_t ref_deliver_db(uint64_t dr6, uint64_t payload)
{
	dr6 &= ~0xFULL;                  /* DR_TRAP_BITS: B0-B3 are replaced */
	dr6 |= 0xFFFF0FF0ULL;            /* DR6_ACTIVE_LOW */
	dr6 |= payload;
	dr6 ^= payload & 0xFFFF0FF0ULL;  /* active-low bits flip polarity */
	dr6 &= ~(1ULL << 12);            /* bit 12 is reserved in DR6 */
	return dr6;
}

/*
 * A FRED vCPU in IA-32e mode with every register saved and everything
 * quiet: the rules below then change only what each case is about.
 */
static void fred_vcpu(struct vcpu_state *v)
{
	enum vcpu_reg r;

	vcpu_init(v, 0);
	v->events_present = true;
	vcpu_set(v, VREG_RIP, 0xffffffff81000000ULL);
	vcpu_set(v, VREG_RFLAGS, 0x2);
	vcpu_set(v, VREG_CR0, 0x80050033ULL); /* PG WP NE ET MP PE; TS clear */
	vcpu_set(v, VREG_CR2, 0);
	vcpu_set(v, VREG_CR3, 0x1000);
	vcpu_set(v, VREG_CR4, X86_CR4_FRED | 0x3506f0ULL);
	vcpu_set(v, VREG_EFER, X86_EFER_LMA | X86_EFER_LME | 0x801ULL); /* + SCE NXE */
	vcpu_set(v, VREG_DR6, DR6_ACTIVE_LOW);
	vcpu_set(v, VREG_DR7, 0x400);
	vcpu_set(v, VREG_XCR0, 0x60007ULL); /* x87 SSE AVX TILECFG TILEDATA */
	vcpu_set(v, VREG_XFD, 0);
	vcpu_set(v, VREG_XFD_ERR, 0);
	for (r = VREG_FRED_FIRST; r <= VREG_FRED_LAST; r++)
		vcpu_set(v, r, 0);
}

static void forget(struct vcpu_state *v, enum vcpu_reg r)
{
	v->reg_present &= ~(1ULL << r);
	v->reg[r] = 0;
}

static void set_tf(struct vcpu_state *v, enum tf tf)
{
	switch (tf) {
	case TF_CLEAR:
		vcpu_set(v, VREG_RFLAGS, 0x2);
		break;
	case TF_SET:
		vcpu_set(v, VREG_RFLAGS, 0x2 | X86_RFLAGS_TF);
		break;
	case TF_ABSENT:
		forget(v, VREG_RFLAGS);
		break;
	}
}

static struct event_data db_for(uint64_t dr6, enum tf tf)
{
	struct vcpu_state v;

	fred_vcpu(&v);
	vcpu_set(&v, VREG_DR6, dr6);
	set_tf(&v, tf);
	return rebuild_db(&v);
}

static void test_pf(void)
{
	struct vcpu_state v;
	struct event_data ed;

	fred_vcpu(&v);
	vcpu_set(&v, VREG_CR2, 0xffff888012345678ULL);
	ed = rebuild_pf(&v);
	is_u64(ed.value, 0xffff888012345678ULL, "#PF: event data = CR2");
	is_int(ed.confidence, CONF_EXACT, "#PF: exact");
	is_int(ed.provenance, PROV_CR2, "#PF: provenance CR2");
	is_int(ed.vector, VEC_PF, "#PF: vector 14");
	is_u64(ed.doubtful, 0, "#PF: nothing doubtful");
	is_u64(ed.best_estimate, ed.value, "#PF: best estimate = value");

	/* The dispatcher must give the same answer as the rule. */
	ed = rebuild_event_data(&v, VEC_PF);
	is_u64(ed.value, 0xffff888012345678ULL, "rebuild_event_data(14) = CR2");
	is_int(ed.provenance, PROV_CR2, "rebuild_event_data(14): provenance CR2");

	/* Cloud-Hypervisor-like formats may lack a register: say which. */
	forget(&v, VREG_CR2);
	ed = rebuild_pf(&v);
	is_int(ed.confidence, CONF_UNRECOVERABLE, "#PF without CR2: unrecoverable");
	is_int(ed.missing, VREG_CR2, "#PF without CR2: missing names CR2");
}

struct db_case {
	const char *name;
	uint64_t dr6;
	enum tf tf;
	uint64_t value;
	enum confidence conf;
	uint64_t doubtful;
	enum provenance prov;
};

/*
 * The confidence table of docs/design.md section 3, plus the bits that must
 * never appear (BT, bit 12) and the raw-payload case.  A normal DR6 is
 * DR6_ACTIVE_LOW with active-high cause bits set and active-low ones
 * (BLD, RTM) cleared.
 */
static const struct db_case db_cases[] = {
	{ "clean DR6", 0xFFFF0FF0, TF_CLEAR, 0, CONF_EXACT, 0, PROV_DR6 },
	{ "B0", 0xFFFF0FF1, TF_CLEAR, 0x1, CONF_EXACT, 0, PROV_DR6 },
	{ "B0-B3", 0xFFFF0FFF, TF_CLEAR, 0xF, CONF_EXACT, 0, PROV_DR6 },
	{ "BLD (active low)", 0xFFFF07F0, TF_CLEAR, DR6_BLD, CONF_EXACT, 0, PROV_DR6 },
	{ "RTM (active low)", 0xFFFE0FF0, TF_CLEAR, DR6_RTM, CONF_EXACT, 0, PROV_DR6 },
	{ "B2 BLD RTM", 0xFFFE07F4, TF_ABSENT, 0x4 | DR6_BLD | DR6_RTM, CONF_EXACT, 0, PROV_DR6 },
	{ "BS, TF=1", 0xFFFF4FF0, TF_SET, DR6_BS, CONF_EXACT, 0, PROV_DR6 },
	{ "BS, TF=0", 0xFFFF4FF0, TF_CLEAR, DR6_BS, CONF_AMBIGUOUS, DR6_BS, PROV_DR6 },
	{ "BS, RFLAGS not saved", 0xFFFF4FF0, TF_ABSENT, DR6_BS, CONF_AMBIGUOUS, DR6_BS, PROV_DR6 },
	{ "BS B1, TF=0", 0xFFFF4FF2, TF_CLEAR, DR6_BS | 0x2, CONF_AMBIGUOUS, DR6_BS, PROV_DR6 },
	{ "BD, TF=0", 0xFFFF2FF0, TF_CLEAR, DR6_BD, CONF_AMBIGUOUS, DR6_BD, PROV_DR6 },
	{ "BD, TF=1", 0xFFFF2FF0, TF_SET, DR6_BD, CONF_AMBIGUOUS, DR6_BD, PROV_DR6 },
	{ "BD, RFLAGS not saved", 0xFFFF2FF0, TF_ABSENT, DR6_BD, CONF_AMBIGUOUS, DR6_BD, PROV_DR6 },
	{ "BD BS, TF=1", 0xFFFF6FF0, TF_SET, DR6_BD | DR6_BS, CONF_AMBIGUOUS, DR6_BD, PROV_DR6 },
	{ "BD BS, TF=0", 0xFFFF6FF0, TF_CLEAR, DR6_BD | DR6_BS, CONF_AMBIGUOUS, DR6_BD | DR6_BS,
	  PROV_DR6 },
	{ "BD BS B3, RFLAGS not saved", 0xFFFF6FF8, TF_ABSENT, DR6_BD | DR6_BS | 0x8,
	  CONF_AMBIGUOUS, DR6_BD | DR6_BS, PROV_DR6 },
	/* BT: no task switch in IA-32e mode; KVM's own fallback masks it. */
	{ "BT alone is not event data", 0xFFFF8FF0, TF_CLEAR, 0, CONF_EXACT, 0, PROV_DR6 },
	{ "BT B1", 0xFFFF8FF2, TF_CLEAR, 0x2, CONF_EXACT, 0, PROV_DR6 },
	/* Bit 12 is reserved in DR6 and never event data. */
	{ "bit 12 is not event data", 0xFFFF1FF0, TF_CLEAR, 0, CONF_EXACT, 0, PROV_DR6 },
	{ "every bit, TF=1", 0xFFFEFFFF & ~DR6_BLD, TF_SET, DR6_EVENT_DATA_MASK, CONF_AMBIGUOUS,
	  DR6_BD, PROV_DR6 },
	/* Raw payloads (QEMU pre-save): exact, nothing is sticky, even BS with TF=0. */
	{ "raw BS B0, TF=0", 0x4001, TF_CLEAR, 0x4001, CONF_EXACT, 0, PROV_DR6_RAW },
	{ "raw BD, TF=0", 0x2000, TF_CLEAR, DR6_BD, CONF_EXACT, 0, PROV_DR6_RAW },
	{ "raw RTM BLD", 0x10800, TF_ABSENT, DR6_RTM | DR6_BLD, CONF_EXACT, 0, PROV_DR6_RAW },
	{ "raw zero", 0, TF_CLEAR, 0, CONF_EXACT, 0, PROV_DR6_RAW },
	{ "raw with BT and bit 12 masked", 0x1F80F, TF_CLEAR, DR6_EVENT_DATA_MASK, CONF_EXACT, 0,
	  PROV_DR6_RAW },
};

static void test_db_table(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(db_cases); i++) {
		const struct db_case *c = &db_cases[i];
		struct event_data ed = db_for(c->dr6, c->tf);

		is_u64(ed.value, c->value, "#DB %s: value", c->name);
		is_int(ed.confidence, c->conf, "#DB %s: confidence %s", c->name,
		       confidence_name(c->conf));
		is_u64(ed.doubtful, c->doubtful, "#DB %s: doubtful bits", c->name);
		is_u64(ed.best_estimate, c->value & ~c->doubtful,
		       "#DB %s: best estimate = value & ~doubtful", c->name);
		is_int(ed.provenance, c->prov, "#DB %s: provenance %s", c->name,
		       provenance_name(c->prov));
		is_int(ed.vector, VEC_DB, "#DB %s: vector 1", c->name);
		ok(!(ed.value & (DR6_BT | (1ULL << 12))), "#DB %s: neither BT nor bit 12", c->name);
	}
}

static void test_db_missing(void)
{
	struct vcpu_state v;
	struct event_data ed;

	fred_vcpu(&v);
	set_tf(&v, TF_SET);
	forget(&v, VREG_DR6);
	ed = rebuild_db(&v);
	is_int(ed.confidence, CONF_UNRECOVERABLE, "#DB without DR6: unrecoverable");
	is_int(ed.missing, VREG_DR6, "#DB without DR6: missing names DR6");

	/* The dispatcher agrees with the rule. */
	vcpu_set(&v, VREG_DR6, 0xFFFF0FF2);
	ed = rebuild_event_data(&v, VEC_DB);
	is_u64(ed.value, 0x2, "rebuild_event_data(1) = DR6 rule");
	is_int(ed.provenance, PROV_DR6, "rebuild_event_data(1): provenance DR6");
}

static void test_dr6_is_raw_payload(void)
{
	static const struct {
		uint64_t dr6;
		bool raw;
	} cases[] = {
		{ 0, true },
		{ 0x4001, true },
		{ 0x1F80F, true },       /* every non-fixed low bit: still raw */
		{ 0xFFFF0FF0, false },   /* the reset value */
		{ 0xFFFE07F0, false },   /* exactly the fixed-1 bits */
		{ 0x10, false },         /* bit 4 is fixed-1 */
		{ 0x400, false },        /* bit 10 */
		{ 0x20000, false },      /* bit 17 */
		{ 0x80000000, false },   /* bit 31 */
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		is_int(dr6_is_raw_payload(cases[i].dr6), cases[i].raw,
		       "dr6_is_raw_payload(0x%" PRIx64 ") is %s", cases[i].dr6,
		       cases[i].raw ? "true" : "false");
}

/* kvm_deliver_db_payload() against our model, every pattern, varied DR6. */
static void test_deliver_matches_kvm(void)
{
	static const uint64_t starts[] = {
		0xFFFF0FF0, 0, 0xFFFFFFFF, 0xFFFF4FF0, 0xFFFF6FF5, 0xFFFE07FF,
		0xFFFF8FF0, 0xFFFF1FF0, 0x4001, 0x1F80F, 0xFFFFAFFA,
	};
	/* Payloads outside the eight bits too: bit 12, BT. */
	static const uint64_t extra[] = { 1ULL << 12, DR6_BT, DR6_BT | 0x1001 };
	unsigned int bad = 0, p;
	size_t s, e;

	for (s = 0; s < ARRAY_SIZE(starts); s++) {
		for (p = 0; p < 256; p++) {
			uint64_t pl = pattern_to_payload(p);
			uint64_t got = kvm_deliver_db_payload(starts[s], pl);
			uint64_t want = ref_deliver_db(starts[s], pl);

			if (got != want && bad++ < MAX_DIAGS)
				diag("deliver(0x%" PRIx64 ", 0x%" PRIx64 ") = 0x%" PRIx64
				     ", KVM gives 0x%" PRIx64, starts[s], pl, got, want);
		}
		for (e = 0; e < ARRAY_SIZE(extra); e++) {
			uint64_t got = kvm_deliver_db_payload(starts[s], extra[e]);
			uint64_t want = ref_deliver_db(starts[s], extra[e]);

			if (got != want && bad++ < MAX_DIAGS)
				diag("deliver(0x%" PRIx64 ", 0x%" PRIx64 ") = 0x%" PRIx64
				     ", KVM gives 0x%" PRIx64, starts[s], extra[e], got, want);
		}
	}
	is_int(bad, 0, "kvm_deliver_db_payload matches KVM's formula (%zu DR6 x 259 payloads)",
	       ARRAY_SIZE(starts));
}

/*
 * docs/design.md section 3 round trip: P delivered into a clean DR6 rebuilds to
 * P, and redelivering the rebuilt payload leaves that DR6 unchanged.
 * RFLAGS.TF=1 so that BS is not doubtful (BD still is: value is all bits).
 */
static void test_round_trip(void)
{
	unsigned int p, bad_value = 0, bad_prov = 0, bad_fix = 0, bad_conf = 0;

	for (p = 0; p < 256; p++) {
		uint64_t pl = pattern_to_payload(p);
		uint64_t dr6 = kvm_deliver_db_payload(DR6_ACTIVE_LOW, pl);
		struct event_data ed = db_for(dr6, TF_SET);
		uint64_t again;

		if (ed.value != pl && bad_value++ < MAX_DIAGS)
			diag("P=0x%" PRIx64 ": DR6 0x%" PRIx64 " rebuilt to 0x%" PRIx64, pl, dr6,
			     ed.value);
		if (ed.provenance != PROV_DR6 && bad_prov++ < MAX_DIAGS)
			diag("P=0x%" PRIx64 ": provenance %s", pl, provenance_name(ed.provenance));
		/* Only BD is doubtful once TF is known to be set. */
		if ((ed.confidence != ((pl & DR6_BD) ? CONF_AMBIGUOUS : CONF_EXACT) ||
		     ed.doubtful != (pl & DR6_BD)) && bad_conf++ < MAX_DIAGS)
			diag("P=0x%" PRIx64 ": confidence %s doubtful 0x%" PRIx64, pl,
			     confidence_name(ed.confidence), ed.doubtful);
		again = kvm_deliver_db_payload(dr6, ed.value);
		if (again != dr6 && bad_fix++ < MAX_DIAGS)
			diag("P=0x%" PRIx64 ": DR6 0x%" PRIx64 " redelivered to 0x%" PRIx64,
			     pl, dr6, again);
	}
	is_int(bad_value, 0, "round trip: all 256 patterns rebuild to themselves");
	is_int(bad_prov, 0, "round trip: delivered DR6 is read as DR6, not raw");
	is_int(bad_conf, 0, "round trip: TF=1 leaves only BD doubtful");
	is_int(bad_fix, 0, "round trip: redelivering the rebuilt payload is a fixed point");
}

/*
 * QEMU's pre-save writes the payload raw into DR6: rebuilding reads it
 * back exactly, and one delivery turns it into the DR6 a clean delivery
 * would have produced (what the restore should see anyway).
 */
static void test_raw_normalised(void)
{
	unsigned int p, bad_rebuild = 0, bad_norm = 0, bad_again = 0;

	for (p = 0; p < 256; p++) {
		uint64_t raw = pattern_to_payload(p);
		struct event_data ed = db_for(raw, TF_CLEAR);
		uint64_t norm = kvm_deliver_db_payload(raw, ed.value);
		struct event_data ed2 = db_for(norm, TF_SET);

		if ((ed.value != raw || ed.confidence != CONF_EXACT ||
		     ed.provenance != PROV_DR6_RAW) && bad_rebuild++ < MAX_DIAGS)
			diag("raw DR6 0x%" PRIx64 ": value 0x%" PRIx64 " %s %s", raw, ed.value,
			     confidence_name(ed.confidence), provenance_name(ed.provenance));
		if ((norm != ref_deliver_db(DR6_ACTIVE_LOW, raw) || dr6_is_raw_payload(norm)) &&
		    bad_norm++ < MAX_DIAGS)
			diag("raw DR6 0x%" PRIx64 " delivered to 0x%" PRIx64, raw, norm);
		if (ed2.value != raw && bad_again++ < MAX_DIAGS)
			diag("normalised DR6 0x%" PRIx64 " rebuilt to 0x%" PRIx64, norm, ed2.value);
	}
	is_int(bad_rebuild, 0, "raw DR6: all 256 patterns rebuild exactly, provenance raw");
	is_int(bad_norm, 0, "raw DR6: one delivery gives the clean-delivery DR6");
	is_int(bad_again, 0, "raw DR6: the normalised DR6 rebuilds to the same payload");
}

struct nm_case {
	const char *name;
	bool ts;
	bool xcr0_present;
	uint64_t xcr0;
	bool xfd_present;
	uint64_t xfd;
	bool xfd_err_present;
	uint64_t xfd_err;
	uint64_t value;
	enum confidence conf;
	enum provenance prov;
	enum vcpu_reg missing; /* only checked when unrecoverable */
};

#define TILE (X86_XCR0_TILEDATA | 0x20007ULL)
#define XFD_AMX (1ULL << 18)

static const struct nm_case nm_cases[] = {
	/* CR0.TS: a plain #NM, never an XFD one, whatever else is missing. */
	{ "TS set, XCR0 XFD XFD_ERR not saved", true, false, 0, false, 0, false, 0,
	  0, CONF_EXACT, PROV_CR0_TS, VREG_COUNT },
	{ "TS set, XFD armed", true, true, TILE, true, XFD_AMX, true, XFD_AMX,
	  0, CONF_EXACT, PROV_CR0_TS, VREG_COUNT },
	/* No XFD-capable component enabled: XFD cannot fault. */
	{ "XCR0 without tile data, XFD not saved", false, true, 0x7, false, 0, false, 0,
	  0, CONF_EXACT, PROV_XCR0, VREG_COUNT },
	{ "XCR0 without tile data, XFD armed", false, true, 0x7, true, XFD_AMX, true, XFD_AMX,
	  0, CONF_EXACT, PROV_XCR0, VREG_COUNT },
	/* XFD 0: nothing is disarmed, so the #NM is not an XFD one. */
	{ "XFD 0, XFD_ERR not saved", false, true, TILE, true, 0, false, 0,
	  0, CONF_EXACT, PROV_XFD_ZERO, VREG_COUNT },
	{ "XFD 0, XCR0 not saved", false, false, 0, true, 0, true, XFD_AMX,
	  0, CONF_EXACT, PROV_XFD_ZERO, VREG_COUNT },
	{ "XFD armed", false, true, TILE, true, XFD_AMX, true, XFD_AMX,
	  XFD_AMX, CONF_EXACT, PROV_XFD_ERR, VREG_COUNT },
	{ "XFD armed, XCR0 not saved", false, false, 0, true, XFD_AMX, true, XFD_AMX,
	  XFD_AMX, CONF_EXACT, PROV_XFD_ERR, VREG_COUNT },
	{ "XFD armed, XFD_ERR 0", false, true, TILE, true, XFD_AMX, true, 0,
	  0, CONF_EXACT, PROV_XFD_ERR, VREG_COUNT },
	{ "XFD not saved", false, true, TILE, false, 0, true, XFD_AMX,
	  0, CONF_UNRECOVERABLE, PROV_NONE, VREG_XFD },
	{ "XFD and XCR0 not saved", false, false, 0, false, 0, true, XFD_AMX,
	  0, CONF_UNRECOVERABLE, PROV_NONE, VREG_XFD },
	{ "XFD armed, XFD_ERR not saved (Firecracker)", false, true, TILE, true, XFD_AMX, false, 0,
	  0, CONF_UNRECOVERABLE, PROV_NONE, VREG_XFD_ERR },
};

static void test_nm_table(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(nm_cases); i++) {
		const struct nm_case *c = &nm_cases[i];
		struct vcpu_state v;
		struct event_data ed;

		fred_vcpu(&v);
		vcpu_set(&v, VREG_CR0, 0x80050033ULL | (c->ts ? X86_CR0_TS : 0));
		if (c->xcr0_present)
			vcpu_set(&v, VREG_XCR0, c->xcr0);
		else
			forget(&v, VREG_XCR0);
		if (c->xfd_present)
			vcpu_set(&v, VREG_XFD, c->xfd);
		else
			forget(&v, VREG_XFD);
		if (c->xfd_err_present)
			vcpu_set(&v, VREG_XFD_ERR, c->xfd_err);
		else
			forget(&v, VREG_XFD_ERR);

		ed = rebuild_nm(&v);
		is_int(ed.confidence, c->conf, "#NM %s: %s", c->name, confidence_name(c->conf));
		is_int(ed.vector, VEC_NM, "#NM %s: vector 7", c->name);
		if (c->conf == CONF_UNRECOVERABLE) {
			is_int(ed.missing, c->missing, "#NM %s: missing %s", c->name,
			       vcpu_reg_desc(c->missing)->name);
			continue;
		}
		is_u64(ed.value, c->value, "#NM %s: value", c->name);
		is_int(ed.provenance, c->prov, "#NM %s: provenance %s", c->name,
		       provenance_name(c->prov));

		ed = rebuild_event_data(&v, VEC_NM);
		is_u64(ed.value, c->value, "rebuild_event_data(7) %s: value", c->name);
	}
}

/* Every other vector carries event data 0 (docs/design.md section 1). */
static void test_other_vectors(void)
{
	static const uint8_t vecs[] = { 0, 2, 3, 6, 8, 13, 17, 18, 31 };
	struct vcpu_state v;
	size_t i;

	fred_vcpu(&v);
	vcpu_set(&v, VREG_CR2, 0xdead000);
	vcpu_set(&v, VREG_DR6, 0xFFFF0FF1);
	for (i = 0; i < ARRAY_SIZE(vecs); i++) {
		struct event_data ed = rebuild_event_data(&v, vecs[i]);

		ok(ed.value == 0 && ed.provenance == PROV_NONE && ed.confidence == CONF_EXACT &&
		   ed.vector == vecs[i],
		   "vector %u: event data 0, provenance none, exact", vecs[i]);
	}
}

static bool nonempty(const char *s)
{
	return s && *s;
}

static void test_names(void)
{
	enum confidence c;
	enum provenance p, q;
	bool unique = true;

	for (c = CONF_EXACT; c <= CONF_UNRECOVERABLE; c++)
		ok(nonempty(confidence_name(c)), "confidence_name(%d) = \"%s\"", c,
		   confidence_name(c) ? confidence_name(c) : "(null)");
	for (p = PROV_NONE; p <= PROV_XFD_ZERO; p++) {
		ok(nonempty(provenance_name(p)), "provenance_name(%d) = \"%s\"", p,
		   provenance_name(p) ? provenance_name(p) : "(null)");
		ok(nonempty(provenance_description(p)), "provenance_description(%d) non-empty", p);
	}
	/* The key is used in JSON: two provenances must not share one. */
	for (p = PROV_NONE; p <= PROV_XFD_ZERO; p++)
		for (q = p + 1; q <= PROV_XFD_ZERO; q++)
			if (nonempty(provenance_name(p)) && nonempty(provenance_name(q)) &&
			    strcmp(provenance_name(p), provenance_name(q)) == 0)
				unique = false;
	ok(unique, "provenance names are unique");
	is_str(confidence_name(CONF_EXACT), "exact", "confidence_name(CONF_EXACT) = \"exact\"");
	is_str(provenance_name(PROV_CR2), "cr2", "provenance_name(PROV_CR2) = \"cr2\"");
}

int main(void)
{
	test_pf();
	test_db_table();
	test_db_missing();
	test_dr6_is_raw_payload();
	test_deliver_matches_kvm();
	test_round_trip();
	test_raw_normalised();
	test_nm_table();
	test_other_vectors();
	test_names();
	return done_testing();
}
