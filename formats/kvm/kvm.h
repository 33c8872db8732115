/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvm.h --- the KVM ioctl structures as raw bytes: one decoder (and, for
 * kvm_vcpu_events, one patcher) per structure, shared by every format that
 * saves them (kvm-dir files, Firecracker's state file, Cloud Hypervisor's
 * JSON byte arrays).
 *
 * Only sizes are public here.  The byte offsets live in kvm_layout.h,
 * which only formats/kvm/ includes: no other file knows where a field of a
 * KVM structure is.  Decoders check what the kernel's own SET ioctl would
 * reject and report it as a kvm_fault, which each format turns into an
 * error in its own terms (a file offset, a JSON path).
 */
#ifndef FRED_KVM_H
#define FRED_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconstruct/plan.h"
#include "reconstruct/vcpu.h"

/* Sizes, checked against <linux/kvm.h> in kvm_layout.h. */
#define KVM_EVENTS_SIZE 64       /* struct kvm_vcpu_events */
#define KVM_SREGS_SIZE 312       /* struct kvm_sregs */
#define KVM_SREGS2_SIZE 320      /* struct kvm_sregs2 */
#define KVM_DEBUGREGS_SIZE 128   /* struct kvm_debugregs */
#define KVM_REGS_SIZE 144        /* struct kvm_regs */
#define KVM_XCRS_SIZE 392        /* struct kvm_xcrs */
#define KVM_XCRS_MAX 16          /* entries of struct kvm_xcrs (KVM_MAX_XCRS) */
#define KVM_MSRS_HDR_SIZE 8      /* struct kvm_msrs, without its entries */
#define KVM_MSR_ENTRY_SIZE 16    /* struct kvm_msr_entry */
#define KVM_CPUID2_HDR_SIZE 8    /* struct kvm_cpuid2, without its entries */
#define KVM_CPUID_ENTRY2_SIZE 40 /* struct kvm_cpuid_entry2 */
#define KVM_NESTED_HDR_SIZE 128  /* struct kvm_nested_state, up to its data */
#define KVM_LAPIC_SIZE 1024      /* struct kvm_lapic_state */
#define KVM_MP_STATE_SIZE 4      /* struct kvm_mp_state */
#define KVM_XSAVE_SIZE 4096      /* struct kvm_xsave */
#define KVM_PIT_STATE2_SIZE 112  /* struct kvm_pit_state2 */
#define KVM_CLOCK_DATA_SIZE 48   /* struct kvm_clock_data */
#define KVM_IRQCHIP_SIZE 520     /* struct kvm_irqchip */

/*
 * KVM_VCPUEVENT_VALID_NESTED_FLAG, proposed by the KVM FRED series v9
 * (patch 14/22) and not merged: the exception_is_nested byte is valid.
 */
#define KVM_EVENTS_FLAG_NESTED 0x40U

/* What the kernel would reject in the bytes decoded. */
struct kvm_fault {
	size_t offset;     /* within the structure */
	const char *field; /* the C field: "exception.nr", "flags" */
	char why[128];
};

/*
 * struct kvm_vcpu_events into v: the events, the exception as
 * KVM_SET_VCPU_EVENTS reads it (with the proposed nested flag), the
 * interrupt and the NMI.  0, or -1 with f filled.
 */
int kvm_events_decode(const uint8_t *ev, struct vcpu_state *v, struct kvm_fault *f);

/* Write into ev only the fields whose value the plan changes. */
void kvm_events_patch(uint8_t *ev, const struct vcpu_state *v, const struct vcpu_plan *p);

/*
 * The C fields of struct kvm_vcpu_events by name (group "exception", key
 * "nr"; group NULL for top-level fields), for formats that save the
 * structure as one member per field (Cloud Hypervisor v29-v38).
 */
struct kvm_events_field {
	const char *group, *key;
	unsigned int offset, size;
};

#define KVM_EVENTS_NFIELDS 21
extern const struct kvm_events_field kvm_events_fields[KVM_EVENTS_NFIELDS];

/* The index of the field named group.key in kvm_events_fields, or -1. */
int kvm_events_field_index(const char *group, const char *key);

/* struct kvm_sregs (is2 false) or kvm_sregs2: CR0, CR2, CR3, CR4, EFER. */
int kvm_sregs_decode(const uint8_t *sr, bool is2, struct vcpu_state *v, struct kvm_fault *f);

/* struct kvm_regs: RIP and RFLAGS.  The kernel rejects nothing here. */
void kvm_regs_decode(const uint8_t *r, struct vcpu_state *v);

/* struct kvm_debugregs: DR6 and DR7. */
int kvm_debugregs_decode(const uint8_t *dr, struct vcpu_state *v, struct kvm_fault *f);

/* struct kvm_xcrs: XCR0. */
int kvm_xcrs_decode(const uint8_t *x, struct vcpu_state *v, struct kvm_fault *f);

/* The entry count in the header of a struct kvm_msrs (nmsrs). */
uint32_t kvm_msrs_count(const uint8_t *hdr);

/*
 * One struct kvm_msr_entry: an MSR of the model is stored in v; *seen
 * (the registers met so far in this vCPU) refuses one saved twice.
 */
int kvm_msr_entry_decode(const uint8_t *ent, struct vcpu_state *v, uint64_t *seen,
			 struct kvm_fault *f);

/*
 * An MSR index and value kept outside a kvm_msr_entry (Cloud Hypervisor's
 * JSON objects): the same rules.
 */
int kvm_msr_take(uint32_t index, uint64_t data, struct vcpu_state *v, uint64_t *seen,
		 struct kvm_fault *f);

/* A whole struct kvm_msrs of len bytes: the header, then exactly nmsrs entries. */
int kvm_msrs_decode(const uint8_t *m, size_t len, struct vcpu_state *v, struct kvm_fault *f);

/* The entry count in the header of a struct kvm_cpuid2 (nent). */
uint32_t kvm_cpuid2_count(const uint8_t *hdr);

/*
 * struct kvm_nested_state in len bytes (at least its header): guest mode
 * and run-pending.  Its size field says how many bytes
 * KVM_SET_NESTED_STATE reads: exactly len when exact (a file of its own),
 * at most len otherwise (a buffer of fixed capacity).
 */
int kvm_nested_decode(const uint8_t *ns, size_t len, bool exact, struct vcpu_state *v,
		      struct kvm_fault *f);

#endif
