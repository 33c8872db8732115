/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vcpu.h --- the format-neutral model of one saved vCPU.
 *
 * Every format reader fills this model with what its file saves; every
 * field the reconstruction needs carries a "present" bit, because formats
 * differ in what they save (Cloud Hypervisor has no DR6, Firecracker no
 * IA32_XFD_ERR, a kvm-dir may lack msrs).  No I/O here.
 */
#ifndef FRED_VCPU_H
#define FRED_VCPU_H

#include <stdbool.h>
#include <stdint.h>

/* Architectural bits the rules test. */
#define X86_CR0_TS (1ULL << 3)
#define X86_CR4_FRED (1ULL << 32)
#define X86_EFER_LME (1ULL << 8)
#define X86_EFER_LMA (1ULL << 10)
#define X86_RFLAGS_TF (1ULL << 8)
#define X86_XCR0_TILEDATA (1ULL << 18)

/* MSR numbers of the registers in the model. */
#define MSR_IA32_XFD 0x1C4
#define MSR_IA32_XFD_ERR 0x1C5
#define MSR_IA32_FRED_RSP0 0x1CC
#define MSR_IA32_FRED_STKLVLS 0x1D0
#define MSR_IA32_FRED_SSP1 0x1D1
#define MSR_IA32_FRED_CONFIG 0x1D4

/* struct kvm_vcpu_events.flags bits (uapi names in the comments). */
#define EVENTS_FLAG_VALID_PAYLOAD 0x10 /* KVM_VCPUEVENT_VALID_PAYLOAD */
#define EVENTS_FLAG_VALID_NESTED 0x40  /* proposed KVM_VCPUEVENT_VALID_NESTED_FLAG */

/* Exception vectors FRED gives event data to. */
#define VEC_DB 1
#define VEC_NMI 2
#define VEC_NM 7
#define VEC_PF 14

/*
 * The registers of the model.  The order is the display order; the table in
 * vcpu.c gives each one its name.  The VREG_ prefix keeps them apart from
 * <sys/ucontext.h>'s REG_RIP and friends, which <signal.h> brings in.
 */
enum vcpu_reg {
	VREG_RIP,
	VREG_RFLAGS,
	VREG_CR0,
	VREG_CR2,
	VREG_CR3,
	VREG_CR4,
	VREG_EFER,
	VREG_DR6,
	VREG_DR7,
	VREG_XCR0,
	VREG_XFD,
	VREG_XFD_ERR,
	VREG_FRED_CONFIG,
	VREG_FRED_RSP0,
	VREG_FRED_RSP1,
	VREG_FRED_RSP2,
	VREG_FRED_RSP3,
	VREG_FRED_STKLVLS,
	VREG_FRED_SSP1,
	VREG_FRED_SSP2,
	VREG_FRED_SSP3,
	VREG_COUNT
};

/* The FRED MSRs, a contiguous run of enum vcpu_reg. */
#define VREG_FRED_FIRST VREG_FRED_CONFIG
#define VREG_FRED_LAST VREG_FRED_SSP3

/* How the saved exception is to be understood (KVM_SET_VCPU_EVENTS' view). */
enum exc_state {
	EXC_NONE,     /* no exception queued */
	EXC_INJECTED, /* will be re-injected as is: any payload is dropped */
	EXC_PENDING,  /* will be delivered through the payload path */
};

/*
 * The exception, raw as saved and normalised.  A format sets the raw
 * fields and calls vcpu_normalise_exception() (or sets .state itself when
 * its semantics differ, as QEMU's do).
 */
struct vcpu_exception {
	bool injected;
	bool pending;
	uint8_t nr;
	bool has_error_code;
	uint32_t error_code;
	bool has_payload;
	uint64_t payload;
	bool error_code_saved; /* false: the format dropped the error code */
	/*
	 * exception_is_nested, valid when events_flags carries the proposed
	 * KVM_VCPUEVENT_VALID_NESTED_FLAG (0x40): the exception belongs to a
	 * nested delivery (its FRED stack level).  Nothing rebuilds it, so
	 * every repair keeps it.
	 */
	bool is_nested;
	enum exc_state state;
};

struct vcpu_interrupt {
	bool injected;
	uint8_t nr;
	bool soft;
	uint8_t shadow;
};

struct vcpu_nmi {
	bool injected;
	uint8_t pending; /* a count, as KVM reports it */
	bool masked;
};

/* Who wrote the saved exception state: decides how its loss is explained. */
enum vcpu_saver {
	SAVER_KVM_IOCTL, /* raw KVM_GET_VCPU_EVENTS output (kvm-dir, VMM snapshots) */
	SAVER_QEMU,      /* QEMU's vmstate: its pre-save converts pending to injected */
};

struct vcpu_state {
	unsigned int index; /* the vCPU number the format gives */
	enum vcpu_saver saver;

	bool events_present;
	uint32_t events_flags; /* kvm_vcpu_events.flags, or its equivalent */
	struct vcpu_exception exc;
	struct vcpu_interrupt intr;
	struct vcpu_nmi nmi;

	uint64_t reg[VREG_COUNT];
	uint64_t reg_present; /* bit r set: reg[r] was saved */

	bool nested_saved;   /* the format saved nested state */
	bool nested_guest_mode; /* the vCPU was running L2 */
	bool nested_run_pending;

	/*
	 * Where the format found this vCPU: by scanning for a header (a QEMU
	 * stream without its device description), not by the stream's own
	 * structure.  Guest data can forge what a scan finds: FK304, and
	 * repair only with --force.
	 */
	bool found_by_scan;
};

/* Register value access with the presence bit. */
static inline bool vcpu_has(const struct vcpu_state *v, enum vcpu_reg r)
{
	return (v->reg_present >> r) & 1;
}

static inline void vcpu_set(struct vcpu_state *v, enum vcpu_reg r, uint64_t val)
{
	v->reg[r] = val;
	v->reg_present |= 1ULL << r;
}

/* Clear the model to "nothing saved". */
void vcpu_init(struct vcpu_state *v, unsigned int index);

/*
 * Derive exc.state from the raw kvm_vcpu_events fields the way
 * KVM_SET_VCPU_EVENTS reads them: without the VALID_PAYLOAD flag, pending
 * means nothing and injected-or-pending is injected; with it, pending wins.
 */
void vcpu_normalise_exception(struct vcpu_state *v);

/*
 * Field-by-field equality of two models (not memcmp: padding).  Registers
 * compare only where present; presence itself must match.
 */
bool vcpu_state_equal(const struct vcpu_state *a, const struct vcpu_state *b);

/* FRED is enabled and the vCPU is in IA-32e mode (both bits present). */
bool vcpu_fred_active(const struct vcpu_state *v);

/* Register table: display name ("cr2"), long description. */
struct reg_desc {
	const char *name;
	const char *description;
	uint32_t msr; /* 0 when not an MSR */
};

const struct reg_desc *vcpu_reg_desc(enum vcpu_reg r);

/* The register whose MSR index is msr, or VREG_COUNT. */
enum vcpu_reg vcpu_reg_by_msr(uint32_t msr);

/* Short mnemonic of an exception vector ("#PF"), "vector N" otherwise. */
const char *vcpu_vector_name(uint8_t nr);

#endif
