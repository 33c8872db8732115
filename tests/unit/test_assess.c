/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_assess.c --- one vCPU judged whole (reconstruct/assess.h): the
 * findings, the risk and its cause, the plan and why a drop, for at-risk
 * #PF, #DB and #NM, a clean vCPU, a nested one, missing registers, an
 * exception pending without its payload, and each finding code.
 */
#include <stddef.h>

#include "reconstruct/assess.h"
#include "reconstruct/rebuild.h"
#include "tests/unit/tap.h"

#define CR2_VALUE 0xffff888000001000ULL
#define XFD_AMX (1ULL << 18)

static const struct assess_options AUTO = { .plan = { .strategy = STRATEGY_AUTO },
					    .cap = CAP_AUTO };
static const struct assess_facts CAP_ON = { .format_dest_cap = true };
static const struct assess_facts CAP_OFF = { .format_dest_cap = false };

/* A FRED guest in IA-32e mode with every register saved and nothing queued. */
static void fred_vcpu(struct vcpu_state *v)
{
	vcpu_init(v, 0);
	v->events_present = true;
	vcpu_set(v, VREG_RIP, 0xffffffff81000000ULL);
	vcpu_set(v, VREG_RFLAGS, 0x2);
	vcpu_set(v, VREG_CR0, 0x80050033ULL);
	vcpu_set(v, VREG_CR2, CR2_VALUE);
	vcpu_set(v, VREG_CR3, 0x1000);
	vcpu_set(v, VREG_CR4, X86_CR4_FRED | 0x3506f0ULL);
	vcpu_set(v, VREG_EFER, X86_EFER_LMA | X86_EFER_LME | 0x801ULL);
	vcpu_set(v, VREG_DR6, DR6_ACTIVE_LOW | 0x1); /* B0: exact */
	vcpu_set(v, VREG_DR7, 0x400);
	vcpu_set(v, VREG_XCR0, 0x60007ULL);
	vcpu_set(v, VREG_XFD, XFD_AMX);
	vcpu_set(v, VREG_XFD_ERR, XFD_AMX);
	for (int r = VREG_FRED_FIRST; r <= VREG_FRED_LAST; r++)
		vcpu_set(v, (enum vcpu_reg)r, 0);
	v->nested_saved = true;
}

/*
 * Queue exception nr as injected (pending false) or pending without
 * payload, saved with KVM_CAP_EXCEPTION_PAYLOAD on.
 */
static void queue(struct vcpu_state *v, uint8_t nr, bool pending)
{
	v->events_flags = EVENTS_FLAG_VALID_PAYLOAD;
	v->exc.nr = nr;
	v->exc.injected = !pending;
	v->exc.pending = pending;
	v->exc.has_error_code = nr == VEC_PF;
	v->exc.error_code = nr == VEC_PF ? 0x6 : 0;
	v->exc.error_code_saved = true;
	vcpu_normalise_exception(v);
}

/* Every code some case below produced: the last test checks the table is covered. */
static bool seen[1000];

static void assess(const struct vcpu_state *v, const struct assess_options *o,
		   const struct assess_facts *f, struct vcpu_assessment *out)
{
	vcpu_assess(v, o, f, out);
	for (size_t i = 0; i < out->nfindings; i++)
		if ((int)out->findings[i].code >= 0 && (int)out->findings[i].code < 1000)
			seen[out->findings[i].code] = true;
}

static void forget(struct vcpu_state *v, enum vcpu_reg r)
{
	v->reg_present &= ~(1ULL << r);
	v->reg[r] = 0;
}

static bool has_code(const struct vcpu_assessment *a, enum finding_code c)
{
	for (size_t i = 0; i < a->nfindings; i++)
		if (a->findings[i].code == c)
			return true;
	return false;
}

static const struct finding *find(const struct vcpu_assessment *a, enum finding_code c)
{
	for (size_t i = 0; i < a->nfindings; i++)
		if (a->findings[i].code == c)
			return &a->findings[i];
	return NULL;
}

static void test_clean(void)
{
	struct vcpu_state v;
	struct vcpu_assessment a;

	fred_vcpu(&v);
	assess(&v, &AUTO, &CAP_ON, &a);
	ok(!a.at_risk, "clean: not at risk");
	is_int((long long)a.nfindings, 0, "clean: no finding");
	is_int(a.cause, CAUSE_NONE, "clean: no cause");
	is_int(a.plan.action, ACTION_NOTHING, "clean: nothing to do");
	is_int(a.drop_why, DROP_WHY_NONE, "clean: no drop");
}

static void test_pf(void)
{
	struct vcpu_state v;
	struct vcpu_assessment a;
	struct assess_counts c = { 0 };

	fred_vcpu(&v);
	queue(&v, VEC_PF, false);
	assess(&v, &AUTO, &CAP_ON, &a);
	ok(a.at_risk, "#PF injected: at risk");
	ok(a.nfindings >= 1 && a.findings[0].code == FK_PF_EVENT_DATA_LOST,
	   "#PF injected: FK101 first");
	is_int(a.cause, CAUSE_INJECTED, "#PF injected by KVM: cause injected");
	v.events_flags = 0;
	vcpu_normalise_exception(&v);
	assess(&v, &AUTO, &CAP_ON, &a);
	is_int(a.cause, CAUSE_NO_PAYLOAD_CAP, "saved without the capability: that is the cause");
	v.events_flags = EVENTS_FLAG_VALID_PAYLOAD;
	vcpu_normalise_exception(&v);
	assess(&v, &AUTO, &CAP_ON, &a);
	ok(a.dest_cap, "#PF: the format's capability taken under auto");
	is_int(a.plan.action, ACTION_PENDING, "#PF with the capability: pending");
	is_u64(a.plan.new_exc.payload, CR2_VALUE, "#PF: the payload is CR2");
	assess_count(&a, &c);
	ok(c.at_risk == 1 && c.planned == 1 && c.left == 0, "#PF: counted at risk and planned");

	/* The same vCPU where the destination lacks the capability: auto drops, and says why. */
	assess(&v, &AUTO, &CAP_OFF, &a);
	is_int(a.plan.action, ACTION_DROP, "#PF without the capability: drop");
	is_int(a.drop_why, DROP_WHY_CAP_DEFAULT, "#PF drop: because of the format's default");
	ok(drop_why_text(a.drop_why)[0] != '\0', "the drop's reason has words");

	/* The operator overrides the format either way. */
	{
		struct assess_options yes = AUTO, no = AUTO;

		yes.cap = CAP_YES;
		no.cap = CAP_NO;
		assess(&v, &yes, &CAP_OFF, &a);
		is_int(a.plan.action, ACTION_PENDING, "--dest-payload-cap=yes beats the format");
		assess(&v, &no, &CAP_ON, &a);
		is_int(a.drop_why, DROP_WHY_CAP_REFUSED, "--dest-payload-cap=no: drop, said so");
	}
}

static void test_db(void)
{
	struct vcpu_state v;
	struct vcpu_assessment a;
	const struct finding *f;

	fred_vcpu(&v);
	queue(&v, VEC_DB, false);
	assess(&v, &AUTO, &CAP_ON, &a);
	ok(a.at_risk && has_code(&a, FK_DB_EVENT_DATA_LOST), "#DB injected: FK102");
	is_int(a.plan.action, ACTION_PENDING, "#DB exact: pending");
	is_u64(a.plan.new_exc.payload, 0x1, "#DB: the payload is B0");

	/* BS set with TF clear: may be stale (FK201), left without --force. */
	vcpu_set(&v, VREG_DR6, DR6_ACTIVE_LOW | DR6_BS | 0x2);
	assess(&v, &AUTO, &CAP_ON, &a);
	f = find(&a, FK_DB_AMBIGUOUS);
	ok(f != NULL, "#DB with BS: FK201");
	is_u64(f ? f->bits : 0, DR6_BS, "FK201 names BS as doubtful");
	is_int(a.plan.action, ACTION_LEAVE, "#DB ambiguous: left at risk");
	is_int(a.plan.reason, LEAVE_AMBIGUOUS, "#DB ambiguous: the reason says so");

	/* Never dropped: without the capability it is left. */
	vcpu_set(&v, VREG_DR6, DR6_ACTIVE_LOW | 0x1);
	assess(&v, &AUTO, &CAP_OFF, &a);
	is_int(a.plan.action, ACTION_LEAVE, "#DB without the capability: left, never dropped");
}

static void test_nm(void)
{
	struct vcpu_state v;
	struct vcpu_assessment a;

	fred_vcpu(&v);
	queue(&v, VEC_NM, false);
	assess(&v, &AUTO, &CAP_ON, &a);
	ok(a.at_risk && has_code(&a, FK_NM_EVENT_DATA_LOST), "#NM injected: FK103");
	is_int(a.plan.action, ACTION_PENDING, "#NM exact: pending");
	is_u64(a.plan.new_exc.payload, XFD_AMX, "#NM: the payload is XFD_ERR");
}

static void test_missing_registers(void)
{
	struct vcpu_state v;
	struct vcpu_assessment a;
	const struct finding *f;

	/* #NM without XFD_ERR: unrecoverable (FK202), the register named (FK203), dropped. */
	fred_vcpu(&v);
	queue(&v, VEC_NM, false);
	forget(&v, VREG_XFD_ERR);
	assess(&v, &AUTO, &CAP_ON, &a);
	ok(has_code(&a, FK_NM_UNRECOVERABLE), "#NM without XFD_ERR: FK202");
	f = find(&a, FK_REG_NOT_SAVED);
	ok(f && f->reg == VREG_XFD_ERR, "FK203 names xfd_err");
	is_int(a.plan.action, ACTION_DROP, "#NM unrecoverable: drop");
	is_int(a.drop_why, DROP_WHY_UNRECOVERABLE, "the drop says the data cannot be rebuilt");

	/* #DB without DR6: FK203 for dr6, left (never dropped). */
	fred_vcpu(&v);
	queue(&v, VEC_DB, false);
	forget(&v, VREG_DR6);
	assess(&v, &AUTO, &CAP_ON, &a);
	f = find(&a, FK_REG_NOT_SAVED);
	ok(f && f->reg == VREG_DR6, "#DB without DR6: FK203 names dr6");
	is_int(a.plan.reason, LEAVE_UNRECOVERABLE, "#DB without DR6: left, unrecoverable");

	/* The FRED MSRs not saved: a note (FK302) with the mask, no risk by itself. */
	fred_vcpu(&v);
	forget(&v, VREG_FRED_RSP0);
	forget(&v, VREG_FRED_CONFIG);
	assess(&v, &AUTO, &CAP_ON, &a);
	f = find(&a, FK_FRED_MSRS_NOT_SAVED);
	ok(f != NULL && !a.at_risk, "FRED MSRs missing: FK302, not at risk");
	is_u64(f ? f->fred_missing : 0, (1ULL << VREG_FRED_RSP0) | (1ULL << VREG_FRED_CONFIG),
	       "FK302 carries the missing MSRs");

	/* CR4 not saved: FRED cannot be known on, so nothing is at risk. */
	fred_vcpu(&v);
	queue(&v, VEC_PF, false);
	forget(&v, VREG_CR4);
	assess(&v, &AUTO, &CAP_ON, &a);
	ok(!a.at_risk, "CR4 not saved: not at risk");
}

static void test_pending_without_payload(void)
{
	struct vcpu_state v;
	struct vcpu_assessment a;

	fred_vcpu(&v);
	queue(&v, VEC_PF, true);
	assess(&v, &AUTO, &CAP_ON, &a);
	ok(a.at_risk, "#PF pending without payload: at risk");
	is_int(a.cause, CAUSE_PENDING_NO_PAYLOAD, "the cause: pending without payload");
	is_int(a.plan.action, ACTION_PENDING, "given its payload");
	ok(a.plan.new_exc.has_payload && a.plan.new_exc.payload == CR2_VALUE,
	   "the payload is CR2");

	/* With its payload it is safe. */
	v.exc.has_payload = true;
	v.exc.payload = CR2_VALUE;
	vcpu_normalise_exception(&v);
	assess(&v, &AUTO, &CAP_ON, &a);
	ok(!a.at_risk && a.plan.action == ACTION_NOTHING, "#PF pending with payload: clean");
}

static void test_nested(void)
{
	struct vcpu_state v;
	struct vcpu_assessment a;
	struct assess_counts c = { 0 };

	fred_vcpu(&v);
	queue(&v, VEC_PF, false);
	v.nested_guest_mode = true;
	assess(&v, &AUTO, &CAP_ON, &a);
	ok(a.at_risk && has_code(&a, FK_NESTED_GUEST_MODE), "nested: at risk, FK301");
	is_int(a.plan.action, ACTION_LEAVE, "nested: left");
	is_int(a.plan.reason, LEAVE_NESTED, "nested: the reason says so");
	assess_count(&a, &c);
	ok(c.at_risk == 1 && c.planned == 0 && c.left == 1, "nested: counted left at risk");
}

static void test_error_code_and_scan(void)
{
	struct vcpu_state v;
	struct vcpu_assessment a;

	/* The format dropped the #PF error code: FK303, and auto drops (pending would guess it). */
	fred_vcpu(&v);
	queue(&v, VEC_PF, false);
	v.exc.error_code = 0;
	v.exc.error_code_saved = false;
	assess(&v, &AUTO, &CAP_ON, &a);
	ok(has_code(&a, FK_ERROR_CODE_NOT_SAVED), "error code lost: FK303");
	is_int(a.plan.action, ACTION_DROP, "error code lost: drop");
	is_int(a.drop_why, DROP_WHY_ERROR_CODE, "the drop says the error code was lost");

	/* Found by scanning: FK304, repaired only with --force. */
	fred_vcpu(&v);
	queue(&v, VEC_PF, false);
	v.found_by_scan = true;
	assess(&v, &AUTO, &CAP_ON, &a);
	ok(has_code(&a, FK_FOUND_BY_SCAN), "found by scan: FK304");
	is_int(a.plan.reason, LEAVE_FOUND_BY_SCAN, "found by scan: left without --force");
}

static void test_set_plan(void)
{
	struct vcpu_state v;
	struct vcpu_assessment a;
	struct assess_options drop = AUTO;
	struct vcpu_plan p;

	fred_vcpu(&v);
	queue(&v, VEC_PF, false);
	assess(&v, &AUTO, &CAP_ON, &a);
	drop.plan.strategy = STRATEGY_DROP;
	p = plan_vcpu(&v, &drop.plan, a.dest_cap);
	assess_set_plan(&a, &AUTO, &p, true);
	is_int(a.plan.action, ACTION_DROP, "a plan replaced: drop");
	ok(a.kept_length && a.drop_why == DROP_WHY_KEPT_LENGTH,
	   "kept the length: the drop says so");
	ok(has_code(&a, FK_PF_EVENT_DATA_LOST), "the findings stay");
}

/* Every code the assessment can produce is produced by one of the cases above. */
static void test_every_code(void)
{
	size_t n;
	const struct finding_desc *t = finding_table(&n);

	for (size_t i = 0; i < n; i++)
		ok(seen[t[i].code], "FK%03d is produced by a case", (int)t[i].code);
}

int main(void)
{
	test_clean();
	test_pf();
	test_db();
	test_nm();
	test_missing_registers();
	test_pending_without_payload();
	test_nested();
	test_error_code_and_scan();
	test_set_plan();
	test_every_code();
	return done_testing();
}
