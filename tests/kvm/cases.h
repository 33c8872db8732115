/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cases.h --- the fixture cases: what each vCPU is given before capture,
 * what is patched after it, and what fredck is expected to make of it.
 */
#ifndef FREDCK_KVM_CASES_H
#define FREDCK_KVM_CASES_H

#include "fredck-kvm.h"

enum exc_kind { EXC_NONE, EXC_INJECTED, EXC_PENDING };

struct vcpu_spec {
	/* Placed through the ioctls before capture. */
	enum exc_kind exc;
	uint8_t vector;
	bool has_error_code;
	uint32_t error_code;
	bool has_payload;
	uint64_t payload;
	uint64_t cr2;      /* 0: a stale fault address */
	uint64_t dr6;      /* 0: the reset value */
	uint64_t dr7;      /* 0: the reset value */
	uint64_t db[4];
	bool tf;           /* RFLAGS.TF */
	bool cr0_ts;
	/* Patched into the files after capture. */
	bool no_fred;      /* leave CR4.FRED clear */
	bool no_fred_msrs; /* do not append the FRED MSRs */
	bool amx_xcr0;     /* XCR0 |= TILECFG | TILEDATA */
	bool xfd_msrs;     /* append IA32_XFD and IA32_XFD_ERR */
	uint64_t xfd, xfd_err;
	bool nested;       /* synthesize a nested-guest-mode header */
};

struct gen_case {
	const char *name;
	const char *description;
	bool payload_cap;
	bool legacy_sregs; /* capture with KVM_GET_SREGS */
	int nvcpus;
	struct vcpu_spec vcpu[MAX_VCPUS];
};

const struct gen_case *case_table(size_t *count);
const struct gen_case *case_find(const char *name);

/* docs/design.md sections 2-4, written independently of fredck, from the files. */
enum confidence_x { CONF_X_EXACT, CONF_X_AMBIGUOUS, CONF_X_UNRECOVERABLE };

struct expectation {
	int vector;        /* the exception KVM_SET_VCPU_EVENTS would keep, -1 none */
	const char *state; /* "injected", "pending", "none" */
	bool at_risk;
	uint64_t event_data;
	enum confidence_x confidence;
	const char *action; /* under --strategy=auto: pending, drop, leave, nothing */
};

void expect_vcpu(const struct vcpu_files *vf, struct expectation *e);
const char *confidence_x_name(enum confidence_x c);

#endif
