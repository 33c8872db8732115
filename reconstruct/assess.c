/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * assess.c --- one vCPU judged whole (see assess.h).
 */
#include <string.h>

#include "reconstruct/assess.h"

bool assess_dest_cap(enum cap_choice cap, const struct assess_facts *f)
{
	switch (cap) {
	case CAP_YES:
		return true;
	case CAP_NO:
		return false;
	case CAP_AUTO:
		break;
	}
	return f->format_dest_cap;
}

/* Why auto's plan is a drop, as far as the plan and the options tell. */
static enum drop_why drop_reason(const struct vcpu_assessment *a, const struct assess_options *o)
{
	if (a->plan.action != ACTION_DROP || o->plan.strategy != STRATEGY_AUTO)
		return DROP_WHY_NONE;
	if (a->kept_length)
		return DROP_WHY_KEPT_LENGTH;
	if (!a->dest_cap)
		return o->cap == CAP_NO ? DROP_WHY_CAP_REFUSED : DROP_WHY_CAP_DEFAULT;
	if (a->plan.ed.confidence == CONF_UNRECOVERABLE)
		return DROP_WHY_UNRECOVERABLE;
	return DROP_WHY_ERROR_CODE;
}

void vcpu_assess(const struct vcpu_state *v, const struct assess_options *o,
		 const struct assess_facts *f, struct vcpu_assessment *out)
{
	memset(out, 0, sizeof(*out));
	out->nfindings = vcpu_check(v, out->findings);
	out->at_risk = vcpu_at_risk(v);
	out->cause = out->at_risk ? vcpu_loss_cause(v) : CAUSE_NONE;
	out->dest_cap = assess_dest_cap(o->cap, f);
	out->plan = plan_vcpu(v, &o->plan, out->dest_cap);
	out->drop_why = drop_reason(out, o);
}

void assess_set_plan(struct vcpu_assessment *a, const struct assess_options *o,
		     const struct vcpu_plan *plan, bool kept_length)
{
	a->plan = *plan;
	a->kept_length = kept_length;
	a->drop_why = drop_reason(a, o);
}

const char *drop_why_text(enum drop_why w)
{
	switch (w) {
	case DROP_WHY_NONE:
		break;
	case DROP_WHY_KEPT_LENGTH:
		return "in place, pending would insert the cpu/exception_info subsection and change "
		       "the length of the state, which the image's tables fix";
	case DROP_WHY_CAP_REFUSED:
		return "--dest-payload-cap=no: pending cannot carry the event data";
	case DROP_WHY_CAP_DEFAULT:
		/* The format's default: its VMM restores without the capability. */
		return "the destination is taken to lack KVM_CAP_EXCEPTION_PAYLOAD "
		       "(else --dest-payload-cap=yes)";
	case DROP_WHY_UNRECOVERABLE:
		return "the event data cannot be rebuilt";
	case DROP_WHY_ERROR_CODE:
		return "the format lost the error code; re-execution regenerates it";
	}
	return "";
}

void assess_count(const struct vcpu_assessment *a, struct assess_counts *c)
{
	c->at_risk += a->at_risk;
	c->planned += plan_changes_state(&a->plan);
	c->left += a->plan.action == ACTION_LEAVE;
}
