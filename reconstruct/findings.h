/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * findings.h --- the table of findings (e2fsck's problem table, scaled down)
 * and the detection of docs/design.md section 2.
 *
 * One row per stable code.  Codes are printed as "FK" and three digits
 * (FK101); they are never renumbered or reused.  The table drives text and
 * JSON output, `fredck explain`, and the man page's list.
 */
#ifndef FRED_FINDINGS_H
#define FRED_FINDINGS_H

#include <stddef.h>

#include "rebuild.h"
#include "vcpu.h"

enum finding_code {
	/* 1xx: problems, an at-risk vCPU */
	FK_PF_EVENT_DATA_LOST = 101,
	FK_DB_EVENT_DATA_LOST = 102,
	FK_NM_EVENT_DATA_LOST = 103,
	/* 2xx: notes on the reconstruction */
	FK_DB_AMBIGUOUS = 201,
	FK_NM_UNRECOVERABLE = 202,
	FK_REG_NOT_SAVED = 203,
	/* 3xx: notes on what the saved state or the format lacks */
	FK_NESTED_GUEST_MODE = 301,
	FK_FRED_MSRS_NOT_SAVED = 302,
	FK_ERROR_CODE_NOT_SAVED = 303,
	FK_FOUND_BY_SCAN = 304,
};

enum severity {
	SEV_PROBLEM, /* an at-risk vCPU: sets exit bit 4 when left unrepaired */
	SEV_NOTE,    /* never changes the exit status */
};

struct finding_desc {
	enum finding_code code;
	enum severity severity;
	const char *name;        /* stable slug: "pf-event-data-lost" */
	const char *summary;     /* one line, no detail */
	const char *explanation; /* what happened, why it matters */
	const char *repair;      /* what repair does about it */
};

/* One finding on one vCPU; detail depends on the code. */
struct finding {
	enum finding_code code;
	uint64_t bits;        /* FK_DB_AMBIGUOUS: the doubtful DR6 bits */
	enum vcpu_reg reg;    /* FK_REG_NOT_SAVED: the missing register */
	uint64_t fred_missing; /* FK_FRED_MSRS_NOT_SAVED: mask of missing VREG_FRED_* */
};

/* Most findings one vCPU can have (one per code). */
#define FINDINGS_MAX 12

const struct finding_desc *finding_desc(enum finding_code code);
/* The whole table, for explain and for the table self-check. */
const struct finding_desc *finding_table(size_t *count);
/* The code by its printed form ("FK101", "fk101", "101") or its slug; NULL if unknown. */
const struct finding_desc *finding_lookup(const char *text);

/*
 * At risk (docs/design.md section 2): CR4.FRED and EFER.LMA set, and a #DB, #NM
 * or #PF injected, or pending without a payload.
 */
bool vcpu_at_risk(const struct vcpu_state *v);

/* Why an at-risk vCPU's event data is lost, as far as the saved state tells. */
enum loss_cause {
	CAUSE_NONE,               /* not at risk */
	CAUSE_INJECTED,           /* saved as injected with the payload capability on */
	CAUSE_NO_PAYLOAD_CAP,     /* saved without KVM_CAP_EXCEPTION_PAYLOAD */
	CAUSE_PENDING_NO_PAYLOAD, /* pending, but without a payload */
	CAUSE_QEMU_INJECTED,      /* a QEMU stream: injected, by KVM or QEMU's pre-save */
};

enum loss_cause vcpu_loss_cause(const struct vcpu_state *v);
const char *loss_cause_name(enum loss_cause c);
/* The whole sentence for the operator (-v, JSON). */
const char *loss_cause_text(enum loss_cause c);
/* The same in one short line (a report's "why:"), at most LOSS_CAUSE_SUMMARY_MAX columns. */
#define LOSS_CAUSE_SUMMARY_MAX 71
const char *loss_cause_summary(enum loss_cause c);

/*
 * Detect the findings of one vCPU into out[] (at most FINDINGS_MAX);
 * returns how many.  Problems come first.
 */
size_t vcpu_check(const struct vcpu_state *v, struct finding *out);

/*
 * The one-line message of a finding with its detail, into buf (always
 * NUL-terminated): "#DB event data ambiguous: BS may be stale".
 */
void finding_message(const struct finding *f, char *buf, size_t len);

/* Names of the DR6 bits in a mask, in bit order: "BS", "BD,BS", "". Into buf. */
void dr6_bit_names(uint64_t bits, char *buf, size_t len);

/* 0 when the table is well formed (unique codes, every text present). */
int findings_table_verify(void);

#endif
