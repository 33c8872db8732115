/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_plan.c --- repair planning (docs/design.md section 4).
 *
 * Written from docs/design.md and plan.h alone: what each strategy decides for
 * each kind of at-risk vCPU, the exception fields a pending or drop plan
 * writes, that applying a plan makes the vCPU safe (so a second repair
 * does nothing), and that the change log lists exactly what changed.
 */
#include <stddef.h>

#include "reconstruct/findings.h"
#include "reconstruct/plan.h"
#include "reconstruct/rebuild.h"
#include "reconstruct/vcpu.h"
#include "tests/unit/tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define CR2_VALUE 0xffff888000001000ULL
#define XFD_AMX (1ULL << 18)
/* NMI_PENDING | SHADOW: flags a repair must keep. */
#define OTHER_FLAGS 0x05U
/* Any reason: the case only pins the action. */
#define ANY_REASON ((enum leave_reason)-1)

/* The at-risk vCPUs the cases below are about. */
enum scenario {
	S_PF,          /* #PF injected, error code saved */
	S_PF_NO_EC,    /* #PF without an error code to save */
	S_PF_EC_LOST,  /* #PF with an error code the format dropped */
	S_PF_NO_CR2,   /* #PF, CR2 not saved */
	S_PF_PENDING,  /* #PF pending without payload (flag 0x10) */
	S_DB,          /* #DB, exact (B0) */
	S_DB_AMBIG,    /* #DB, BS with TF clear: 0x4002, best estimate 0x2 */
	S_DB_NO_DR6,   /* #DB, DR6 not saved */
	S_NM,          /* #NM, XFD armed: XFD_ERR */
	S_NM_TS,       /* #NM, CR0.TS: 0 although XFD/XFD_ERR are not saved */
	S_NM_LOST,     /* #NM, XFD_ERR not saved: unrecoverable */
	S_GP,          /* #GP injected: not at risk */
	S_NO_FRED,     /* #PF injected without CR4.FRED: not at risk */
	S_PF_PAYLOAD,  /* #PF pending with its payload: not at risk */
	S_NONE,        /* nothing queued: not at risk */
};

static const char *const scenario_names[] = {
	[S_PF] = "#PF",
	[S_PF_NO_EC] = "#PF without error code",
	[S_PF_EC_LOST] = "#PF, error code lost",
	[S_PF_NO_CR2] = "#PF, CR2 not saved",
	[S_PF_PENDING] = "#PF pending without payload",
	[S_DB] = "#DB exact",
	[S_DB_AMBIG] = "#DB ambiguous",
	[S_DB_NO_DR6] = "#DB, DR6 not saved",
	[S_NM] = "#NM XFD",
	[S_NM_TS] = "#NM with CR0.TS",
	[S_NM_LOST] = "#NM unrecoverable",
	[S_GP] = "#GP",
	[S_NO_FRED] = "#PF without FRED",
	[S_PF_PAYLOAD] = "#PF pending with payload",
	[S_NONE] = "no exception",
};

static void forget(struct vcpu_state *v, enum vcpu_reg r)
{
	v->reg_present &= ~(1ULL << r);
	v->reg[r] = 0;
}

static void set_exc(struct vcpu_state *v, uint8_t nr, bool injected, bool pending,
		    bool has_payload, uint64_t payload, uint32_t flags)
{
	v->events_flags = flags;
	v->exc.injected = injected;
	v->exc.pending = pending;
	v->exc.nr = nr;
	v->exc.has_error_code = nr == VEC_PF || nr == 13;
	v->exc.error_code = v->exc.has_error_code ? 0x6 : 0; /* user write, not present */
	v->exc.error_code_saved = true;
	v->exc.has_payload = has_payload;
	v->exc.payload = payload;
	vcpu_normalise_exception(v);
}

static void make_vcpu(struct vcpu_state *v, enum scenario s, bool nested)
{
	enum vcpu_reg r;

	vcpu_init(v, 3);
	v->events_present = true;
	vcpu_set(v, VREG_RIP, 0xffffffff81000000ULL);
	vcpu_set(v, VREG_RFLAGS, 0x2);
	vcpu_set(v, VREG_CR0, 0x80050033ULL);
	vcpu_set(v, VREG_CR2, CR2_VALUE);
	vcpu_set(v, VREG_CR3, 0x1000);
	vcpu_set(v, VREG_CR4, X86_CR4_FRED | 0x3506f0ULL);
	vcpu_set(v, VREG_EFER, X86_EFER_LMA | X86_EFER_LME | 0x801ULL); /* + SCE NXE */
	vcpu_set(v, VREG_DR6, DR6_ACTIVE_LOW | 0x1);
	vcpu_set(v, VREG_DR7, 0x400);
	vcpu_set(v, VREG_XCR0, 0x60007ULL);
	vcpu_set(v, VREG_XFD, XFD_AMX);
	vcpu_set(v, VREG_XFD_ERR, XFD_AMX);
	for (r = VREG_FRED_FIRST; r <= VREG_FRED_LAST; r++)
		vcpu_set(v, r, 0);
	v->nested_saved = true;
	v->nested_guest_mode = nested;

	switch (s) {
	case S_PF:
	case S_PF_NO_EC:
	case S_PF_EC_LOST:
	case S_PF_NO_CR2:
	case S_NO_FRED:
		set_exc(v, VEC_PF, true, false, false, 0, OTHER_FLAGS);
		break;
	case S_PF_PENDING:
		set_exc(v, VEC_PF, false, true, false, 0, OTHER_FLAGS | EVENTS_FLAG_VALID_PAYLOAD);
		break;
	case S_PF_PAYLOAD:
		set_exc(v, VEC_PF, false, true, true, CR2_VALUE,
			OTHER_FLAGS | EVENTS_FLAG_VALID_PAYLOAD);
		break;
	case S_DB:
	case S_DB_AMBIG:
	case S_DB_NO_DR6:
		set_exc(v, VEC_DB, true, false, false, 0, OTHER_FLAGS);
		break;
	case S_NM:
	case S_NM_TS:
	case S_NM_LOST:
		set_exc(v, VEC_NM, true, false, false, 0, OTHER_FLAGS);
		break;
	case S_GP:
		set_exc(v, 13, true, false, false, 0, OTHER_FLAGS);
		break;
	case S_NONE:
		set_exc(v, 0, false, false, false, 0, OTHER_FLAGS);
		break;
	}

	switch (s) {
	case S_PF_NO_EC:
		v->exc.has_error_code = false;
		v->exc.error_code = 0;
		v->exc.error_code_saved = false;
		break;
	case S_PF_EC_LOST:
		v->exc.error_code = 0;
		v->exc.error_code_saved = false;
		break;
	case S_PF_NO_CR2:
		forget(v, VREG_CR2);
		break;
	case S_DB_AMBIG:
		vcpu_set(v, VREG_DR6, DR6_ACTIVE_LOW | DR6_BS | 0x2);
		break;
	case S_DB_NO_DR6:
		forget(v, VREG_DR6);
		break;
	case S_NM_TS:
		vcpu_set(v, VREG_CR0, 0x80050033ULL | X86_CR0_TS);
		forget(v, VREG_XFD);
		forget(v, VREG_XFD_ERR);
		break;
	case S_NM_LOST:
		forget(v, VREG_XFD_ERR);
		break;
	case S_NO_FRED:
		vcpu_set(v, VREG_CR4, 0x3506f0ULL);
		break;
	default:
		break;
	}
}

static bool same_exc(const struct vcpu_exception *a, const struct vcpu_exception *b)
{
	return a->injected == b->injected && a->pending == b->pending && a->nr == b->nr &&
	       a->has_error_code == b->has_error_code && a->error_code == b->error_code &&
	       a->has_payload == b->has_payload && a->payload == b->payload &&
	       a->state == b->state;
}

/* The eight kvm_vcpu_events fields a plan may change. */
enum field {
	F_INJECTED,
	F_PENDING,
	F_NR,
	F_HAS_ERROR_CODE,
	F_ERROR_CODE,
	F_HAS_PAYLOAD,
	F_PAYLOAD,
	F_FLAGS,
	F_COUNT,
};

static const char *const field_keys[F_COUNT] = {
	"injected", "pending", "nr", "has_error_code", "error_code", "has_payload", "payload",
	"flags",
};

static uint64_t field_value(const struct vcpu_exception *e, uint32_t flags, enum field f)
{
	switch (f) {
	case F_INJECTED: return e->injected;
	case F_PENDING: return e->pending;
	case F_NR: return e->nr;
	case F_HAS_ERROR_CODE: return e->has_error_code;
	case F_ERROR_CODE: return e->error_code;
	case F_HAS_PAYLOAD: return e->has_payload;
	case F_PAYLOAD: return e->payload;
	default: return flags;
	}
}

/*
 * Which field a change names.  The names are kvm_vcpu_events' own
 * ("exception.injected", "exception_has_payload"): match the longest key
 * that ends the name at a '.' or '_' boundary, so that "error_code" is not
 * mistaken for "has_error_code".
 */
static int field_of(const char *name)
{
	size_t n = name ? strlen(name) : 0, best_len = 0;
	int best = -1, f;

	for (f = 0; f < F_COUNT; f++) {
		size_t k = strlen(field_keys[f]);

		if (k > n || strcmp(name + n - k, field_keys[f]) != 0)
			continue;
		if (k < n && name[n - k - 1] != '.' && name[n - k - 1] != '_')
			continue;
		if (k > best_len) {
			best = f;
			best_len = k;
		}
	}
	return best;
}

/* plan_field_changes() lists exactly the fields that differ, old and new. */
static void check_changes(const char *what, const struct vcpu_state *v, const struct vcpu_plan *p)
{
	struct field_change ch[FIELD_CHANGES_MAX];
	bool listed[F_COUNT] = { false };
	size_t n, i, want = 0;
	int f;
	bool good = true;

	for (f = 0; f < F_COUNT; f++)
		if (field_value(&v->exc, v->events_flags, f) !=
		    field_value(&p->new_exc, p->new_flags, f))
			want++;
	n = plan_field_changes(v, p, ch);
	for (i = 0; i < n && i < FIELD_CHANGES_MAX; i++) {
		f = field_of(ch[i].field);
		if (f < 0 || listed[f]) {
			diag("  %s field \"%s\"", f < 0 ? "unknown" : "repeated",
			     ch[i].field ? ch[i].field : "(null)");
			good = false;
			continue;
		}
		listed[f] = true;
		if (ch[i].old_value != field_value(&v->exc, v->events_flags, f) ||
		    ch[i].new_value != field_value(&p->new_exc, p->new_flags, f) ||
		    ch[i].old_value == ch[i].new_value) {
			diag("  %s: 0x%" PRIx64 " -> 0x%" PRIx64 ", expected 0x%" PRIx64
			     " -> 0x%" PRIx64, ch[i].field, ch[i].old_value, ch[i].new_value,
			     field_value(&v->exc, v->events_flags, f),
			     field_value(&p->new_exc, p->new_flags, f));
			good = false;
		}
	}
	ok(good && n == want, "%s: field changes list exactly the %zu changed fields (got %zu)",
	   what, want, n);
}

static void check_pending(const char *what, const struct vcpu_state *v,
			  const struct vcpu_plan *p, uint64_t payload)
{
	const struct vcpu_exception *e = &p->new_exc;

	ok(!e->injected && e->pending && e->has_payload && e->state == EXC_PENDING,
	   "%s: injected 0, pending 1, has_payload 1, state pending", what);
	is_u64(e->payload, payload, "%s: payload is the rebuilt event data", what);
	ok(e->nr == v->exc.nr && e->has_error_code == v->exc.has_error_code &&
	   e->error_code == v->exc.error_code, "%s: vector and error code kept", what);
	is_u64(p->new_flags, v->events_flags | EVENTS_FLAG_VALID_PAYLOAD,
	       "%s: flags gain VALID_PAYLOAD, others kept", what);
}

static void check_drop(const char *what, const struct vcpu_state *v, const struct vcpu_plan *p)
{
	const struct vcpu_exception *e = &p->new_exc;

	ok(!e->injected && !e->pending && e->nr == 0 && !e->has_error_code && e->error_code == 0 &&
	   !e->has_payload && e->payload == 0 && e->state == EXC_NONE,
	   "%s: exception cleared entirely", what);
	is_u64(p->new_flags, v->events_flags, "%s: flags unchanged", what);
}

static void check_unchanged(const char *what, const struct vcpu_state *v,
			    const struct vcpu_plan *p)
{
	ok(same_exc(&p->new_exc, &v->exc) && p->new_flags == v->events_flags,
	   "%s: new exception and flags equal the old ones", what);
}

/*
 * Apply the plan to a copy: the fields are the plan's, and a repaired vCPU
 * is no longer at risk, even read back through KVM_SET_VCPU_EVENTS' rules,
 * so a second repair does nothing.  A vCPU left alone stays at risk.
 */
static void check_apply(const char *what, const struct vcpu_state *v, const struct vcpu_plan *p,
			const struct plan_options *o, bool cap)
{
	struct vcpu_state after = *v;
	struct vcpu_plan again;

	plan_apply(&after, p);
	ok(same_exc(&after.exc, &p->new_exc) && after.events_flags == p->new_flags,
	   "%s: plan_apply writes the planned fields", what);
	if (p->action == ACTION_LEAVE) {
		ok(vcpu_at_risk(&after), "%s: left at risk after apply", what);
		return;
	}
	ok(!vcpu_at_risk(&after), "%s: not at risk after apply", what);
	again = plan_vcpu(&after, o, cap);
	is_int(again.action, ACTION_NOTHING, "%s: a second plan does nothing", what);
	vcpu_normalise_exception(&after);
	ok(!vcpu_at_risk(&after) && after.exc.state == p->new_exc.state,
	   "%s: the written fields read back the same", what);
	ok(after.reg_present == v->reg_present &&
	   memcmp(after.reg, v->reg, sizeof(v->reg)) == 0, "%s: registers untouched", what);
}

struct plan_case {
	enum scenario s;
	bool nested;
	enum strategy strategy;
	bool force;
	bool cap;
	enum action action;
	enum leave_reason reason; /* ACTION_LEAVE only */
	uint64_t payload;         /* ACTION_PENDING only */
	bool used_estimate;
};

#define PEND(s, st, f, c, pl, est) { s, false, st, f, c, ACTION_PENDING, LEAVE_NOT_LEFT, pl, est }
#define DROP(s, st, f, c) { s, false, st, f, c, ACTION_DROP, LEAVE_NOT_LEFT, 0, false }
#define LEAVE(s, st, f, c, r) { s, false, st, f, c, ACTION_LEAVE, r, 0, false }
#define NESTED(s, st, f, c) { s, true, st, f, c, ACTION_LEAVE, LEAVE_NESTED, 0, false }
#define NOTHING(s, st, f, c) { s, false, st, f, c, ACTION_NOTHING, LEAVE_NOT_LEFT, 0, false }

static const struct plan_case cases[] = {
	/* auto, destination with KVM_CAP_EXCEPTION_PAYLOAD */
	PEND(S_PF, STRATEGY_AUTO, false, true, CR2_VALUE, false),
	PEND(S_PF_NO_EC, STRATEGY_AUTO, false, true, CR2_VALUE, false),
	PEND(S_PF_PENDING, STRATEGY_AUTO, false, true, CR2_VALUE, false),
	DROP(S_PF_EC_LOST, STRATEGY_AUTO, false, true),
	PEND(S_DB, STRATEGY_AUTO, false, true, 0x1, false),
	PEND(S_DB, STRATEGY_AUTO, true, true, 0x1, false),
	LEAVE(S_DB_AMBIG, STRATEGY_AUTO, false, true, LEAVE_AMBIGUOUS),
	PEND(S_DB_AMBIG, STRATEGY_AUTO, true, true, 0x2, true),
	LEAVE(S_DB_NO_DR6, STRATEGY_AUTO, false, true, LEAVE_UNRECOVERABLE),
	LEAVE(S_DB_NO_DR6, STRATEGY_AUTO, true, true, LEAVE_UNRECOVERABLE),
	PEND(S_NM, STRATEGY_AUTO, false, true, XFD_AMX, false),
	PEND(S_NM_TS, STRATEGY_AUTO, false, true, 0, false),
	DROP(S_NM_LOST, STRATEGY_AUTO, false, true),
	/* auto, no capability: #PF and #NM drop, #DB stays */
	DROP(S_PF, STRATEGY_AUTO, false, false),
	DROP(S_PF_EC_LOST, STRATEGY_AUTO, false, false),
	DROP(S_PF_PENDING, STRATEGY_AUTO, false, false),
	DROP(S_NM, STRATEGY_AUTO, false, false),
	DROP(S_NM_LOST, STRATEGY_AUTO, false, false),
	LEAVE(S_DB, STRATEGY_AUTO, false, false, LEAVE_NO_CAP),
	LEAVE(S_DB, STRATEGY_AUTO, true, false, LEAVE_NO_CAP),
	LEAVE(S_DB_AMBIG, STRATEGY_AUTO, true, false, ANY_REASON),
	/* nested guest mode: never overridable */
	NESTED(S_PF, STRATEGY_AUTO, false, true),
	NESTED(S_PF, STRATEGY_AUTO, true, true),
	NESTED(S_PF, STRATEGY_AUTO, false, false),
	NESTED(S_PF, STRATEGY_PENDING, false, true),
	NESTED(S_PF, STRATEGY_PENDING, true, true),
	NESTED(S_PF, STRATEGY_DROP, false, true),
	NESTED(S_PF, STRATEGY_DROP, true, false),
	NESTED(S_PF, STRATEGY_NONE, false, true),
	NESTED(S_PF, STRATEGY_NONE, true, true),
	NESTED(S_DB, STRATEGY_AUTO, true, true),
	NESTED(S_DB, STRATEGY_PENDING, true, true),
	NESTED(S_NM, STRATEGY_AUTO, true, true),
	NESTED(S_NM, STRATEGY_DROP, true, true),
	NESTED(S_NM_LOST, STRATEGY_AUTO, false, false),
	/* none: report only */
	LEAVE(S_PF, STRATEGY_NONE, false, true, LEAVE_STRATEGY_NONE),
	LEAVE(S_PF, STRATEGY_NONE, true, true, LEAVE_STRATEGY_NONE),
	LEAVE(S_DB, STRATEGY_NONE, false, true, LEAVE_STRATEGY_NONE),
	LEAVE(S_NM, STRATEGY_NONE, false, false, LEAVE_STRATEGY_NONE),
	/* drop: #PF and #NM only, needs neither capability nor reconstruction */
	DROP(S_PF, STRATEGY_DROP, false, true),
	DROP(S_PF, STRATEGY_DROP, false, false),
	DROP(S_PF_NO_CR2, STRATEGY_DROP, false, true),
	DROP(S_PF_EC_LOST, STRATEGY_DROP, false, true),
	DROP(S_NM, STRATEGY_DROP, false, true),
	DROP(S_NM_LOST, STRATEGY_DROP, false, false),
	LEAVE(S_DB, STRATEGY_DROP, false, true, LEAVE_DB_NOT_DROPPABLE),
	LEAVE(S_DB, STRATEGY_DROP, true, false, LEAVE_DB_NOT_DROPPABLE),
	/* pending: needs the capability and an exact (or forced) value */
	LEAVE(S_PF, STRATEGY_PENDING, false, false, LEAVE_NO_CAP),
	LEAVE(S_PF, STRATEGY_PENDING, true, false, LEAVE_NO_CAP),
	LEAVE(S_DB, STRATEGY_PENDING, false, false, LEAVE_NO_CAP),
	PEND(S_PF, STRATEGY_PENDING, false, true, CR2_VALUE, false),
	PEND(S_PF_NO_EC, STRATEGY_PENDING, false, true, CR2_VALUE, false),
	PEND(S_DB, STRATEGY_PENDING, false, true, 0x1, false),
	PEND(S_NM, STRATEGY_PENDING, false, true, XFD_AMX, false),
	PEND(S_NM_TS, STRATEGY_PENDING, false, true, 0, false),
	LEAVE(S_NM_LOST, STRATEGY_PENDING, false, true, LEAVE_UNRECOVERABLE),
	LEAVE(S_NM_LOST, STRATEGY_PENDING, true, true, LEAVE_UNRECOVERABLE),
	LEAVE(S_PF_NO_CR2, STRATEGY_PENDING, false, true, LEAVE_UNRECOVERABLE),
	LEAVE(S_DB_NO_DR6, STRATEGY_PENDING, false, true, LEAVE_UNRECOVERABLE),
	LEAVE(S_PF_EC_LOST, STRATEGY_PENDING, false, true, LEAVE_ERROR_CODE_LOST),
	PEND(S_PF_EC_LOST, STRATEGY_PENDING, true, true, CR2_VALUE, false),
	LEAVE(S_DB_AMBIG, STRATEGY_PENDING, false, true, LEAVE_AMBIGUOUS),
	PEND(S_DB_AMBIG, STRATEGY_PENDING, true, true, 0x2, true),
	/* not at risk: nothing, whatever the strategy */
	NOTHING(S_GP, STRATEGY_AUTO, false, true),
	NOTHING(S_GP, STRATEGY_PENDING, true, true),
	NOTHING(S_GP, STRATEGY_DROP, false, false),
	NOTHING(S_NO_FRED, STRATEGY_AUTO, false, true),
	NOTHING(S_NO_FRED, STRATEGY_DROP, false, false),
	NOTHING(S_PF_PAYLOAD, STRATEGY_AUTO, false, true),
	NOTHING(S_PF_PAYLOAD, STRATEGY_PENDING, true, true),
	NOTHING(S_PF_PAYLOAD, STRATEGY_DROP, false, false),
	NOTHING(S_NONE, STRATEGY_AUTO, false, true),
	NOTHING(S_NONE, STRATEGY_NONE, false, true),
};

static void run_case(const struct plan_case *c)
{
	struct plan_options o = { .strategy = c->strategy, .force = c->force };
	struct vcpu_state v;
	struct vcpu_plan p;
	char what[160];

	snprintf(what, sizeof(what), "%s%s, %s%s, %s", scenario_names[c->s],
		 c->nested ? " in guest mode" : "", strategy_name(c->strategy),
		 c->force ? " --force" : "", c->cap ? "cap" : "no cap");
	make_vcpu(&v, c->s, c->nested);
	ok(vcpu_at_risk(&v) == (c->action != ACTION_NOTHING), "%s: at risk is %s", what,
	   c->action != ACTION_NOTHING ? "true" : "false");
	p = plan_vcpu(&v, &o, c->cap);
	if (!is_int(p.action, c->action, "%s: action %s", what, action_name(c->action)))
		diag("  got %s (%s)", action_name(p.action), leave_reason_name(p.reason));

	switch (c->action) {
	case ACTION_PENDING:
		check_pending(what, &v, &p, c->payload);
		is_int(p.used_estimate, c->used_estimate, "%s: used_estimate %d", what,
		       c->used_estimate);
		if (c->used_estimate)
			is_u64(p.new_exc.payload, p.ed.best_estimate,
			       "%s: payload is the best estimate", what);
		break;
	case ACTION_DROP:
		check_drop(what, &v, &p);
		break;
	case ACTION_LEAVE:
		if (c->reason != ANY_REASON)
			is_int(p.reason, c->reason, "%s: reason %s", what,
			       leave_reason_name(c->reason));
		check_unchanged(what, &v, &p);
		break;
	case ACTION_NOTHING:
		check_unchanged(what, &v, &p);
		is_int(p.ed.vector, 0, "%s: no event data rebuilt", what);
		break;
	}
	ok(plan_changes_state(&p) == (c->action == ACTION_PENDING || c->action == ACTION_DROP),
	   "%s: plan_changes_state", what);
	check_changes(what, &v, &p);
	if (c->action != ACTION_NOTHING)
		check_apply(what, &v, &p, &o, c->cap);
}

static void test_strategy_names(void)
{
	static const char *const names[] = {
		[STRATEGY_AUTO] = "auto", [STRATEGY_PENDING] = "pending",
		[STRATEGY_DROP] = "drop", [STRATEGY_NONE] = "none",
	};
	static const char *const bad[] = { "", "bogus", "pend", "auto ", "drops" };
	enum strategy s;
	enum action a;
	enum leave_reason r;
	size_t i;

	for (s = STRATEGY_AUTO; s <= STRATEGY_NONE; s++) {
		is_str(strategy_name(s), names[s], "strategy_name(%d)", s);
		is_int(strategy_parse(names[s]), s, "strategy_parse(\"%s\")", names[s]);
		is_int(strategy_parse(strategy_name(s)), s, "strategy %d round-trips", s);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		is_int(strategy_parse(bad[i]), -1, "strategy_parse(\"%s\") is -1", bad[i]);
	for (a = ACTION_NOTHING; a <= ACTION_LEAVE; a++)
		ok(action_name(a) && *action_name(a), "action_name(%d) non-empty", a);
	for (r = LEAVE_NOT_LEFT; r <= LEAVE_FOUND_BY_SCAN; r++) {
		ok(leave_reason_name(r) && *leave_reason_name(r), "leave_reason_name(%d) non-empty",
		   r);
		/* NOT_LEFT has nothing to act on, but callers may print it unguarded. */
		ok(leave_reason_text(r) && (r == LEAVE_NOT_LEFT || *leave_reason_text(r)),
		   "leave_reason_text(%d) %s", r, r == LEAVE_NOT_LEFT ? "non-NULL" : "non-empty");
	}
}

/*
 * A vCPU found by scanning (a QEMU stream without its description, issue
 * 14): left unless --force; nested guest mode and --strategy=none keep
 * their own reasons.
 */
static void test_found_by_scan(void)
{
	struct plan_options o = { .strategy = STRATEGY_AUTO };
	struct vcpu_state v;
	struct vcpu_plan p;

	make_vcpu(&v, S_PF, false);
	v.found_by_scan = true;
	p = plan_vcpu(&v, &o, true);
	ok(p.action == ACTION_LEAVE && p.reason == LEAVE_FOUND_BY_SCAN,
	   "found by scan, auto: left (%s)", leave_reason_name(p.reason));
	o.force = true;
	p = plan_vcpu(&v, &o, true);
	ok(p.action == ACTION_PENDING, "found by scan, --force: pending (%s)",
	   action_name(p.action));
	o.strategy = STRATEGY_NONE;
	o.force = false;
	p = plan_vcpu(&v, &o, true);
	is_int(p.reason, LEAVE_STRATEGY_NONE, "found by scan, --strategy=none: strategy-none");
	make_vcpu(&v, S_PF, true);
	v.found_by_scan = true;
	o.strategy = STRATEGY_AUTO;
	o.force = true;
	p = plan_vcpu(&v, &o, true);
	is_int(p.reason, LEAVE_NESTED, "found by scan in nested guest mode: nested, even forced");
	make_vcpu(&v, S_GP, false);
	v.found_by_scan = true;
	o.force = false;
	p = plan_vcpu(&v, &o, true);
	is_int(p.action, ACTION_NOTHING, "found by scan, not at risk: nothing");
}

int main(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		run_case(&cases[i]);
	test_strategy_names();
	test_found_by_scan();
	return done_testing();
}
