/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * assess.h --- the whole judgement on one saved vCPU: its findings, whether
 * it is at risk and why, and the repair plan, from the vCPU model and the
 * few facts of its snapshot the plan depends on.
 *
 * Pure: no I/O, no global options.  cli/ renders the result; the unit
 * tests (tests/unit/test_assess.c) call it directly.
 */
#ifndef FRED_ASSESS_H
#define FRED_ASSESS_H

#include <stdbool.h>
#include <stddef.h>

#include "findings.h"
#include "plan.h"
#include "vcpu.h"

/* --dest-payload-cap: whether the destination enables KVM_CAP_EXCEPTION_PAYLOAD. */
enum cap_choice { CAP_AUTO, CAP_YES, CAP_NO };

/* What the operator asked for. */
struct assess_options {
	struct plan_options plan;
	enum cap_choice cap;
};

/* What the snapshot (not the vCPU model) says. */
struct assess_facts {
	/*
	 * The format's own answer for this vCPU (format_ops.dest_payload_cap):
	 * taken when the operator said auto.
	 */
	bool format_dest_cap;
};

/* Why auto chose drop over pending: the operator is told (check, repair). */
enum drop_why {
	DROP_WHY_NONE,           /* not a drop, or not auto's choice */
	DROP_WHY_KEPT_LENGTH,    /* in place: pending would change the state's length */
	DROP_WHY_CAP_REFUSED,    /* --dest-payload-cap=no */
	DROP_WHY_CAP_DEFAULT,    /* the format's default: no payload capability */
	DROP_WHY_UNRECOVERABLE,  /* the event data cannot be rebuilt */
	DROP_WHY_ERROR_CODE,     /* the format lost the error code */
};

struct vcpu_assessment {
	struct finding findings[FINDINGS_MAX];
	size_t nfindings;
	bool at_risk;
	enum loss_cause cause; /* CAUSE_NONE when not at risk */
	bool dest_cap;         /* resolved: the plan was made with it */
	struct vcpu_plan plan;
	/* repair --in-place: auto's pending became drop, to keep the state's length (qcow2) */
	bool kept_length;
	enum drop_why drop_why;
};

/* The destination's payload capability: the operator's choice, else the format's. */
bool assess_dest_cap(enum cap_choice cap, const struct assess_facts *f);

/* Assess v: findings, risk, cause, plan (and why a drop), into out. */
void vcpu_assess(const struct vcpu_state *v, const struct assess_options *o,
		 const struct assess_facts *f, struct vcpu_assessment *out);

/*
 * Replace the plan of an assessment (the stream filter's, made as the vCPU
 * went by; repair --in-place's drop that keeps the length), keeping the
 * findings; the drop's reason follows the new plan.
 */
void assess_set_plan(struct vcpu_assessment *a, const struct assess_options *o,
		     const struct vcpu_plan *plan, bool kept_length);

/* One sentence for drop_why ("" for DROP_WHY_NONE). */
const char *drop_why_text(enum drop_why w);

/* The counts of one input: at-risk vCPUs, plans that change the state, vCPUs left at risk. */
struct assess_counts {
	size_t at_risk, planned, left;
};

void assess_count(const struct vcpu_assessment *a, struct assess_counts *c);

#endif
