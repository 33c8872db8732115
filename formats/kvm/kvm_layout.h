/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvm_layout.h --- the byte offsets of the KVM ioctl structures' fields,
 * checked at compile time against <linux/kvm.h>.  Private to formats/kvm/:
 * every other file goes through the decoders of kvm.h.
 */
#ifndef FRED_KVM_LAYOUT_H
#define FRED_KVM_LAYOUT_H

#include <stddef.h>
#include <linux/kvm.h>

#include "formats/kvm/kvm.h"

/* struct kvm_vcpu_events */
#define EV_EXC_INJECTED 0
#define EV_EXC_NR 1
#define EV_EXC_HAS_ERROR_CODE 2
#define EV_EXC_PENDING 3
#define EV_EXC_ERROR_CODE 4
#define EV_INT_INJECTED 8
#define EV_INT_NR 9
#define EV_INT_SOFT 10
#define EV_INT_SHADOW 11
#define EV_NMI_INJECTED 12
#define EV_NMI_PENDING 13
#define EV_NMI_MASKED 14
#define EV_NMI_PAD 15
#define EV_SIPI_VECTOR 16
#define EV_FLAGS 20
#define EV_SMI_SMM 24
#define EV_SMI_PENDING 25
#define EV_SMI_INSIDE_NMI 26
#define EV_SMI_LATCHED_INIT 27
/* Proposed (KVM FRED v9, patch 14/22): the last byte before has_payload. */
#define EV_EXC_IS_NESTED 54
#define EV_EXC_HAS_PAYLOAD 55
#define EV_EXC_PAYLOAD 56
/* The flags KVM_SET_VCPU_EVENTS accepts (0x3F), plus the proposed NESTED_FLAG. */
#define EV_FLAGS_KNOWN 0x7FU

/* struct kvm_sregs and struct kvm_sregs2 share these */
#define SREGS_CR0 224
#define SREGS_CR2 232
#define SREGS_CR3 240
#define SREGS_CR4 248
#define SREGS_EFER 264
#define SREGS2_FLAGS 280

/* struct kvm_debugregs */
#define DEBUGREGS_DR6 32
#define DEBUGREGS_DR7 40
#define DEBUGREGS_FLAGS 48

/* struct kvm_regs */
#define REGS_RIP 128
#define REGS_RFLAGS 136

/* struct kvm_msrs and struct kvm_msr_entry */
#define MSRS_NMSRS 0
#define MSR_ENTRY_INDEX 0
#define MSR_ENTRY_DATA 8

/* struct kvm_cpuid2 */
#define CPUID2_NENT 0

/* struct kvm_xcrs and struct kvm_xcr */
#define XCRS_NR 0
#define XCRS_ENTRIES 8
#define XCR_ENTRY_SIZE 16
#define XCR_INDEX 0
#define XCR_VALUE 8

/* struct kvm_nested_state header */
#define NESTED_FLAGS 0
#define NESTED_FORMAT 2
#define NESTED_SIZE 4

#define CHECK_OFF(type, member, off) \
	_Static_assert(offsetof(struct type, member) == (off), #type "." #member " offset")
#define CHECK_SIZE(type, size) _Static_assert(sizeof(struct type) == (size), #type " size")

CHECK_SIZE(kvm_vcpu_events, KVM_EVENTS_SIZE);
CHECK_OFF(kvm_vcpu_events, exception.injected, EV_EXC_INJECTED);
CHECK_OFF(kvm_vcpu_events, exception.nr, EV_EXC_NR);
CHECK_OFF(kvm_vcpu_events, exception.has_error_code, EV_EXC_HAS_ERROR_CODE);
CHECK_OFF(kvm_vcpu_events, exception.pending, EV_EXC_PENDING);
CHECK_OFF(kvm_vcpu_events, exception.error_code, EV_EXC_ERROR_CODE);
CHECK_OFF(kvm_vcpu_events, interrupt.injected, EV_INT_INJECTED);
CHECK_OFF(kvm_vcpu_events, interrupt.nr, EV_INT_NR);
CHECK_OFF(kvm_vcpu_events, interrupt.soft, EV_INT_SOFT);
CHECK_OFF(kvm_vcpu_events, interrupt.shadow, EV_INT_SHADOW);
CHECK_OFF(kvm_vcpu_events, nmi.injected, EV_NMI_INJECTED);
CHECK_OFF(kvm_vcpu_events, nmi.pending, EV_NMI_PENDING);
CHECK_OFF(kvm_vcpu_events, nmi.masked, EV_NMI_MASKED);
CHECK_OFF(kvm_vcpu_events, nmi.pad, EV_NMI_PAD);
CHECK_OFF(kvm_vcpu_events, sipi_vector, EV_SIPI_VECTOR);
CHECK_OFF(kvm_vcpu_events, flags, EV_FLAGS);
CHECK_OFF(kvm_vcpu_events, smi.smm, EV_SMI_SMM);
CHECK_OFF(kvm_vcpu_events, smi.pending, EV_SMI_PENDING);
CHECK_OFF(kvm_vcpu_events, smi.smm_inside_nmi, EV_SMI_INSIDE_NMI);
CHECK_OFF(kvm_vcpu_events, smi.latched_init, EV_SMI_LATCHED_INIT);
/* The uapi header has reserved[26] where the proposal puts exception_is_nested last. */
CHECK_OFF(kvm_vcpu_events, exception_has_payload, EV_EXC_IS_NESTED + 1);
CHECK_OFF(kvm_vcpu_events, exception_has_payload, EV_EXC_HAS_PAYLOAD);
CHECK_OFF(kvm_vcpu_events, exception_payload, EV_EXC_PAYLOAD);

CHECK_SIZE(kvm_sregs, KVM_SREGS_SIZE);
CHECK_SIZE(kvm_sregs2, KVM_SREGS2_SIZE);
CHECK_OFF(kvm_sregs, cr0, SREGS_CR0);
CHECK_OFF(kvm_sregs, cr2, SREGS_CR2);
CHECK_OFF(kvm_sregs, cr3, SREGS_CR3);
CHECK_OFF(kvm_sregs, cr4, SREGS_CR4);
CHECK_OFF(kvm_sregs, efer, SREGS_EFER);
CHECK_OFF(kvm_sregs2, cr0, SREGS_CR0);
CHECK_OFF(kvm_sregs2, cr2, SREGS_CR2);
CHECK_OFF(kvm_sregs2, cr3, SREGS_CR3);
CHECK_OFF(kvm_sregs2, cr4, SREGS_CR4);
CHECK_OFF(kvm_sregs2, efer, SREGS_EFER);
CHECK_OFF(kvm_sregs2, flags, SREGS2_FLAGS);

CHECK_SIZE(kvm_debugregs, KVM_DEBUGREGS_SIZE);
CHECK_OFF(kvm_debugregs, dr6, DEBUGREGS_DR6);
CHECK_OFF(kvm_debugregs, dr7, DEBUGREGS_DR7);
CHECK_OFF(kvm_debugregs, flags, DEBUGREGS_FLAGS);

CHECK_SIZE(kvm_regs, KVM_REGS_SIZE);
CHECK_OFF(kvm_regs, rip, REGS_RIP);
CHECK_OFF(kvm_regs, rflags, REGS_RFLAGS);

CHECK_SIZE(kvm_msrs, KVM_MSRS_HDR_SIZE);
CHECK_OFF(kvm_msrs, nmsrs, MSRS_NMSRS);
CHECK_SIZE(kvm_msr_entry, KVM_MSR_ENTRY_SIZE);
CHECK_OFF(kvm_msr_entry, index, MSR_ENTRY_INDEX);
CHECK_OFF(kvm_msr_entry, data, MSR_ENTRY_DATA);

CHECK_SIZE(kvm_cpuid2, KVM_CPUID2_HDR_SIZE);
CHECK_OFF(kvm_cpuid2, nent, CPUID2_NENT);
CHECK_SIZE(kvm_cpuid_entry2, KVM_CPUID_ENTRY2_SIZE);

CHECK_SIZE(kvm_xcrs, KVM_XCRS_SIZE);
CHECK_OFF(kvm_xcrs, nr_xcrs, XCRS_NR);
CHECK_OFF(kvm_xcrs, xcrs, XCRS_ENTRIES);
CHECK_SIZE(kvm_xcr, XCR_ENTRY_SIZE);
_Static_assert(KVM_XCRS_MAX == KVM_MAX_XCRS, "KVM_MAX_XCRS");
CHECK_OFF(kvm_xcr, xcr, XCR_INDEX);
CHECK_OFF(kvm_xcr, value, XCR_VALUE);

CHECK_SIZE(kvm_nested_state, KVM_NESTED_HDR_SIZE);
CHECK_OFF(kvm_nested_state, flags, NESTED_FLAGS);
CHECK_OFF(kvm_nested_state, format, NESTED_FORMAT);
CHECK_OFF(kvm_nested_state, size, NESTED_SIZE);

/* Sizes only: formats step over these structures without reading a field. */
CHECK_SIZE(kvm_lapic_state, KVM_LAPIC_SIZE);
CHECK_SIZE(kvm_mp_state, KVM_MP_STATE_SIZE);
CHECK_SIZE(kvm_xsave, KVM_XSAVE_SIZE);
CHECK_SIZE(kvm_pit_state2, KVM_PIT_STATE2_SIZE);
CHECK_SIZE(kvm_clock_data, KVM_CLOCK_DATA_SIZE);
CHECK_SIZE(kvm_irqchip, KVM_IRQCHIP_SIZE);

#endif
