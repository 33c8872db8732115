/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvm_structs.h --- byte offsets of the KVM ioctl structures fredck reads
 * and patches, checked at compile time against <linux/kvm.h>.
 *
 * Readers decode from bytes at these offsets (never by casting a buffer),
 * so a file from another machine reads the same on any host.
 */
#ifndef FRED_KVM_STRUCTS_H
#define FRED_KVM_STRUCTS_H

#include <stddef.h>
#include <linux/kvm.h>

/* struct kvm_vcpu_events */
#define EV_SIZE 64
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
#define EV_FLAGS 20
#define EV_EXC_HAS_PAYLOAD 55
#define EV_EXC_PAYLOAD 56
/* The flags KVM_SET_VCPU_EVENTS accepts, plus the proposed NESTED_FLAG (0x40). */
#define EV_FLAGS_KNOWN 0x7FU

/* struct kvm_sregs and struct kvm_sregs2 share these */
#define SREGS_SIZE 312
#define SREGS2_SIZE 320
#define SREGS_CR0 224
#define SREGS_CR2 232
#define SREGS_CR3 240
#define SREGS_CR4 248
#define SREGS_EFER 264
#define SREGS2_FLAGS 280

/* struct kvm_debugregs */
#define DEBUGREGS_SIZE 128
#define DEBUGREGS_DR6 32
#define DEBUGREGS_DR7 40
#define DEBUGREGS_FLAGS 48

/* struct kvm_regs */
#define REGS_SIZE 144
#define REGS_RIP 128
#define REGS_RFLAGS 136

/* struct kvm_msrs and struct kvm_msr_entry */
#define MSRS_HDR_SIZE 8
#define MSR_ENTRY_SIZE 16
#define MSR_ENTRY_INDEX 0
#define MSR_ENTRY_DATA 8

/* struct kvm_xcrs */
#define XCRS_SIZE 392
#define XCRS_NR 0
#define XCRS_ENTRIES 8
#define XCR_ENTRY_SIZE 16

/* struct kvm_nested_state header */
#define NESTED_HDR_SIZE 128
#define NESTED_FLAGS 0
#define NESTED_FORMAT 2
#define NESTED_SIZE 4

#define CHECK_OFF(type, member, off) \
	_Static_assert(offsetof(struct type, member) == (off), #type "." #member " offset")
#define CHECK_SIZE(type, size) _Static_assert(sizeof(struct type) == (size), #type " size")

CHECK_SIZE(kvm_vcpu_events, EV_SIZE);
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
CHECK_OFF(kvm_vcpu_events, flags, EV_FLAGS);
CHECK_OFF(kvm_vcpu_events, exception_has_payload, EV_EXC_HAS_PAYLOAD);
CHECK_OFF(kvm_vcpu_events, exception_payload, EV_EXC_PAYLOAD);

CHECK_SIZE(kvm_sregs, SREGS_SIZE);
CHECK_SIZE(kvm_sregs2, SREGS2_SIZE);
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

CHECK_SIZE(kvm_debugregs, DEBUGREGS_SIZE);
CHECK_OFF(kvm_debugregs, dr6, DEBUGREGS_DR6);
CHECK_OFF(kvm_debugregs, dr7, DEBUGREGS_DR7);
CHECK_OFF(kvm_debugregs, flags, DEBUGREGS_FLAGS);

CHECK_SIZE(kvm_regs, REGS_SIZE);
CHECK_OFF(kvm_regs, rip, REGS_RIP);
CHECK_OFF(kvm_regs, rflags, REGS_RFLAGS);

CHECK_SIZE(kvm_msrs, MSRS_HDR_SIZE);
CHECK_SIZE(kvm_msr_entry, MSR_ENTRY_SIZE);
CHECK_OFF(kvm_msr_entry, index, MSR_ENTRY_INDEX);
CHECK_OFF(kvm_msr_entry, data, MSR_ENTRY_DATA);

CHECK_SIZE(kvm_xcrs, XCRS_SIZE);
CHECK_OFF(kvm_xcrs, nr_xcrs, XCRS_NR);
CHECK_OFF(kvm_xcrs, xcrs, XCRS_ENTRIES);
CHECK_SIZE(kvm_xcr, XCR_ENTRY_SIZE);

CHECK_SIZE(kvm_nested_state, NESTED_HDR_SIZE);
CHECK_OFF(kvm_nested_state, flags, NESTED_FLAGS);
CHECK_OFF(kvm_nested_state, format, NESTED_FORMAT);
CHECK_OFF(kvm_nested_state, size, NESTED_SIZE);

#endif
