/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * plan.h --- repair planning (docs/design.md section 4).
 *
 * A plan is data: the new exception fields of one vCPU.  Each format
 * applies them to its own representation.  No I/O.
 */
#ifndef FRED_PLAN_H
#define FRED_PLAN_H

#include "rebuild.h"
#include "vcpu.h"

enum strategy {
	STRATEGY_AUTO,
	STRATEGY_PENDING,
	STRATEGY_DROP,
	STRATEGY_NONE,
};

enum action {
	ACTION_NOTHING, /* the vCPU is not at risk */
	ACTION_PENDING, /* injected becomes pending with the rebuilt payload */
	ACTION_DROP,    /* the exception is cleared; re-execution regenerates it */
	ACTION_LEAVE,   /* at risk and deliberately left so: see reason */
};

/* Why a vCPU is left at risk. */
enum leave_reason {
	LEAVE_NOT_LEFT,
	LEAVE_STRATEGY_NONE,   /* --strategy=none */
	LEAVE_NESTED,          /* nested guest mode: never overridable */
	LEAVE_AMBIGUOUS,       /* #DB ambiguous and no --force */
	LEAVE_UNRECOVERABLE,   /* pending asked, an input is not saved */
	LEAVE_NO_CAP,          /* pending needs KVM_CAP_EXCEPTION_PAYLOAD at the destination */
	LEAVE_DB_NOT_DROPPABLE, /* drop never applies to #DB (it may be a trap) */
	LEAVE_ERROR_CODE_LOST, /* pending asked for a #PF whose error code the format lost */
	LEAVE_FOUND_BY_SCAN,   /* found by scanning (no device description) and no --force */
};

struct plan_options {
	enum strategy strategy;
	/*
	 * pending may use the best estimate of an ambiguous #DB; a vCPU found
	 * by scanning may be repaired at all
	 */
	bool force;
};

struct vcpu_plan {
	enum action action;
	enum leave_reason reason;
	struct event_data ed;  /* the rebuilt event data (vector 0 if not at risk) */
	bool used_estimate;    /* --force: doubtful bits cleared */
	/* The exception and flags after repair (== before for NOTHING/LEAVE). */
	struct vcpu_exception new_exc;
	uint32_t new_flags;
};

/*
 * Plan the repair of one vCPU.  dest_payload_cap: the destination enables
 * KVM_CAP_EXCEPTION_PAYLOAD (resolved by the caller from the format's
 * default and --dest-payload-cap).
 */
struct vcpu_plan plan_vcpu(const struct vcpu_state *v, const struct plan_options *o,
			   bool dest_payload_cap);

/* The model as it will read after the plan is applied (for verification). */
void plan_apply(struct vcpu_state *v, const struct vcpu_plan *p);

/* A plan changes the saved state. */
static inline bool plan_changes_state(const struct vcpu_plan *p)
{
	return p->action == ACTION_PENDING || p->action == ACTION_DROP;
}

/* One changed field, for the repair log. */
struct field_change {
	const char *field; /* kvm_vcpu_events names: "exception.injected" */
	uint64_t old_value;
	uint64_t new_value;
};

#define FIELD_CHANGES_MAX 9

/* The fields the plan changes, into out[] (FIELD_CHANGES_MAX); returns the count. */
size_t plan_field_changes(const struct vcpu_state *v, const struct vcpu_plan *p,
			  struct field_change *out);

const char *strategy_name(enum strategy s);
/* Parse "auto", "pending", "drop", "none"; -1 if unknown. */
int strategy_parse(const char *s);
const char *action_name(enum action a);
/* One sentence an operator can act on. */
const char *leave_reason_text(enum leave_reason r);
const char *leave_reason_name(enum leave_reason r);

#endif
