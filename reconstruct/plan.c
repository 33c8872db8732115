/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * plan.c --- repair planning (docs/design.md section 4): per vCPU, which
 * strategy applies and the exception fields it leaves behind.
 */
#include <string.h>

#include "reconstruct/findings.h"
#include "reconstruct/plan.h"

static struct vcpu_plan leave(struct vcpu_plan p, enum leave_reason why)
{
	p.action = ACTION_LEAVE;
	p.reason = why;
	return p;
}

/* Injected becomes pending, carrying the rebuilt payload (error code kept). */
static struct vcpu_plan make_pending(struct vcpu_plan p, bool use_estimate)
{
	p.action = ACTION_PENDING;
	p.used_estimate = use_estimate && p.ed.confidence == CONF_AMBIGUOUS;
	p.new_exc.injected = false;
	p.new_exc.pending = true;
	p.new_exc.has_payload = true;
	p.new_exc.payload = p.used_estimate ? p.ed.best_estimate : p.ed.value;
	p.new_exc.state = EXC_PENDING;
	p.new_flags |= EVENTS_FLAG_VALID_PAYLOAD;
	return p;
}

/*
 * The exception is cleared entirely; flags stay as they were, and so does
 * the nested bit, which nothing could rebuild.
 */
static struct vcpu_plan make_drop(struct vcpu_plan p)
{
	bool is_nested = p.new_exc.is_nested;

	p.action = ACTION_DROP;
	memset(&p.new_exc, 0, sizeof(p.new_exc));
	p.new_exc.is_nested = is_nested;
	/* No exception left, so no error code left to lose. */
	p.new_exc.error_code_saved = true;
	p.new_exc.state = EXC_NONE;
	return p;
}

static bool error_code_lost(const struct vcpu_state *v)
{
	return v->exc.has_error_code && !v->exc.error_code_saved;
}

/* --strategy=auto with the payload capability at the destination. */
static struct vcpu_plan auto_with_cap(const struct vcpu_state *v, struct vcpu_plan p,
				      bool force)
{
	switch (v->exc.nr) {
	case VEC_DB:
		if (p.ed.confidence == CONF_EXACT)
			return make_pending(p, false);
		if (p.ed.confidence == CONF_AMBIGUOUS)
			return force ? make_pending(p, true) : leave(p, LEAVE_AMBIGUOUS);
		return leave(p, LEAVE_UNRECOVERABLE);
	case VEC_NM:
		return p.ed.confidence == CONF_EXACT ? make_pending(p, false) : make_drop(p);
	default: /* #PF */
		if (p.ed.confidence == CONF_EXACT && !error_code_lost(v))
			return make_pending(p, false);
		return make_drop(p);
	}
}

static struct vcpu_plan plan_auto(const struct vcpu_state *v, struct vcpu_plan p, bool force,
				  bool cap)
{
	if (cap)
		return auto_with_cap(v, p, force);
	if (v->exc.nr == VEC_DB)
		return leave(p, LEAVE_NO_CAP);
	return make_drop(p);
}

static struct vcpu_plan plan_pending(const struct vcpu_state *v, struct vcpu_plan p,
				     bool force, bool cap)
{
	if (!cap)
		return leave(p, LEAVE_NO_CAP);
	if (p.ed.confidence == CONF_UNRECOVERABLE)
		return leave(p, LEAVE_UNRECOVERABLE);
	if (p.ed.confidence == CONF_AMBIGUOUS && !force)
		return leave(p, LEAVE_AMBIGUOUS);
	if (error_code_lost(v) && !force)
		return leave(p, LEAVE_ERROR_CODE_LOST);
	return make_pending(p, force);
}

struct vcpu_plan plan_vcpu(const struct vcpu_state *v, const struct plan_options *o,
			   bool dest_payload_cap)
{
	struct vcpu_plan p = {
		.action = ACTION_NOTHING,
		.reason = LEAVE_NOT_LEFT,
		.new_exc = v->exc,
		.new_flags = v->events_flags,
		.ed = { .missing = VREG_COUNT },
	};

	if (!vcpu_at_risk(v))
		return p;
	p.ed = rebuild_event_data(v, v->exc.nr);
	/* A pending exception may be intercepted by L1: never overridable. */
	if (v->nested_guest_mode)
		return leave(p, LEAVE_NESTED);
	/* Guest data may have forged it: an edit there would corrupt a device. */
	if (v->found_by_scan && !o->force && o->strategy != STRATEGY_NONE)
		return leave(p, LEAVE_FOUND_BY_SCAN);

	switch (o->strategy) {
	case STRATEGY_NONE:
		return leave(p, LEAVE_STRATEGY_NONE);
	case STRATEGY_DROP:
		return v->exc.nr == VEC_DB ? leave(p, LEAVE_DB_NOT_DROPPABLE) : make_drop(p);
	case STRATEGY_PENDING:
		return plan_pending(v, p, o->force, dest_payload_cap);
	case STRATEGY_AUTO:
		break;
	}
	return plan_auto(v, p, o->force, dest_payload_cap);
}

void plan_apply(struct vcpu_state *v, const struct vcpu_plan *p)
{
	if (!plan_changes_state(p))
		return;
	v->exc = p->new_exc;
	v->events_flags = p->new_flags;
}

static size_t change(struct field_change *out, size_t n, const char *field, uint64_t old_value,
		     uint64_t new_value)
{
	if (old_value == new_value || n >= FIELD_CHANGES_MAX)
		return n;
	out[n].field = field;
	out[n].old_value = old_value;
	out[n].new_value = new_value;
	return n + 1;
}

size_t plan_field_changes(const struct vcpu_state *v, const struct vcpu_plan *p,
			  struct field_change *out)
{
	const struct vcpu_exception *a = &v->exc, *b = &p->new_exc;
	size_t n = 0;

	if (!plan_changes_state(p))
		return 0;
	n = change(out, n, "exception.injected", a->injected, b->injected);
	n = change(out, n, "exception.nr", a->nr, b->nr);
	n = change(out, n, "exception.has_error_code", a->has_error_code, b->has_error_code);
	n = change(out, n, "exception.pending", a->pending, b->pending);
	n = change(out, n, "exception.error_code", a->error_code, b->error_code);
	n = change(out, n, "flags", v->events_flags, p->new_flags);
	n = change(out, n, "exception_has_payload", a->has_payload, b->has_payload);
	n = change(out, n, "exception_payload", a->payload, b->payload);
	return n;
}

static const char *const strategy_names[] = {
	[STRATEGY_AUTO] = "auto",
	[STRATEGY_PENDING] = "pending",
	[STRATEGY_DROP] = "drop",
	[STRATEGY_NONE] = "none",
};

const char *strategy_name(enum strategy s)
{
	if ((unsigned int)s >= sizeof(strategy_names) / sizeof(strategy_names[0]))
		return "?";
	return strategy_names[s];
}

int strategy_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(strategy_names) / sizeof(strategy_names[0]); i++)
		if (strcmp(s, strategy_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *action_name(enum action a)
{
	switch (a) {
	case ACTION_NOTHING:
		return "nothing";
	case ACTION_PENDING:
		return "pending";
	case ACTION_DROP:
		return "drop";
	case ACTION_LEAVE:
		return "leave";
	}
	return "?";
}

/* Keys and operator sentences for enum leave_reason, in enum order. */
static const struct {
	const char *name;
	const char *text;
} leave_reasons[] = {
	[LEAVE_NOT_LEFT] = { "none", "" },
	[LEAVE_STRATEGY_NONE] = { "strategy-none", "--strategy=none: report only" },
	[LEAVE_NESTED] = { "nested-guest-mode",
			   "the vCPU is in nested guest mode: a pending exception could cause a "
			   "spurious VM exit to L1 (not overridable)" },
	[LEAVE_AMBIGUOUS] = { "ambiguous",
			      "the #DB event data is ambiguous: --force would use the best "
			      "estimate (doubtful bits cleared)" },
	[LEAVE_UNRECOVERABLE] = { "unrecoverable",
				  "the event data cannot be rebuilt: a register it needs is not "
				  "saved" },
	[LEAVE_NO_CAP] = { "no-payload-cap",
			   "the destination does not enable KVM_CAP_EXCEPTION_PAYLOAD, so pending "
			   "cannot carry the event data (--dest-payload-cap=yes if it does)" },
	[LEAVE_DB_NOT_DROPPABLE] = { "db-not-droppable",
				     "a #DB is never dropped: it may be a trap that re-execution "
				     "does not raise again" },
	[LEAVE_ERROR_CODE_LOST] = { "error-code-lost",
				    "the format lost the #PF error code, so pending would deliver "
				    "error code 0 (drop regenerates it; --force overrides)" },
	[LEAVE_FOUND_BY_SCAN] = { "found-by-scan",
				  "the stream has no device description: its cpu sections were "
				  "found by scanning, which guest data can forge (--force repairs "
				  "what the scan found)" },
};

const char *leave_reason_name(enum leave_reason r)
{
	if ((unsigned int)r >= sizeof(leave_reasons) / sizeof(leave_reasons[0]))
		return "?";
	return leave_reasons[r].name;
}

const char *leave_reason_text(enum leave_reason r)
{
	if ((unsigned int)r >= sizeof(leave_reasons) / sizeof(leave_reasons[0]))
		return "?";
	return leave_reasons[r].text;
}
