/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvm_regs.c --- the register-holding KVM structures (kvm_regs,
 * kvm_sregs/kvm_sregs2, kvm_debugregs, kvm_xcrs, kvm_msrs), the count in a
 * kvm_cpuid2 header and the kvm_nested_state header, decoded into the
 * model with the checks of the kernel's SET ioctls.
 */
#include "config.h"

#include "formats/io/le.h"
#include "formats/kvm/kvm_fault.h"
#include "formats/kvm/kvm_layout.h"

int kvm_sregs_decode(const uint8_t *sr, bool is2, struct vcpu_state *v, struct kvm_fault *f)
{
	uint64_t unknown = le_get(sr + SREGS2_FLAGS, 8) & ~(uint64_t)KVM_SREGS2_FLAGS_PDPTRS_VALID;

	if (is2 && unknown)
		return kvm_fault(f, SREGS2_FLAGS, "flags",
				 "unknown flag bits 0x%llx; KVM_SET_SREGS2 would reject them",
				 (unsigned long long)unknown);
	vcpu_set(v, VREG_CR0, le_get(sr + SREGS_CR0, 8));
	vcpu_set(v, VREG_CR2, le_get(sr + SREGS_CR2, 8));
	vcpu_set(v, VREG_CR3, le_get(sr + SREGS_CR3, 8));
	vcpu_set(v, VREG_CR4, le_get(sr + SREGS_CR4, 8));
	vcpu_set(v, VREG_EFER, le_get(sr + SREGS_EFER, 8));
	return 0;
}

void kvm_regs_decode(const uint8_t *r, struct vcpu_state *v)
{
	vcpu_set(v, VREG_RIP, le_get(r + REGS_RIP, 8));
	vcpu_set(v, VREG_RFLAGS, le_get(r + REGS_RFLAGS, 8));
}

int kvm_debugregs_decode(const uint8_t *dr, struct vcpu_state *v, struct kvm_fault *f)
{
	uint64_t dr6 = le_get(dr + DEBUGREGS_DR6, 8), dr7 = le_get(dr + DEBUGREGS_DR7, 8);

	if (le_get(dr + DEBUGREGS_FLAGS, 8) != 0)
		return kvm_fault(f, DEBUGREGS_FLAGS, "flags",
				 "flags must be 0; KVM_SET_DEBUGREGS rejects anything else");
	if (dr6 >> 32)
		return kvm_fault(f, DEBUGREGS_DR6, "dr6",
				 "DR6 0x%016llx has bits above 31 set; the kernel rejects it",
				 (unsigned long long)dr6);
	if (dr7 >> 32)
		return kvm_fault(f, DEBUGREGS_DR7, "dr7",
				 "DR7 0x%016llx has bits above 31 set; the kernel rejects it",
				 (unsigned long long)dr7);
	vcpu_set(v, VREG_DR6, dr6);
	vcpu_set(v, VREG_DR7, dr7);
	return 0;
}

int kvm_xcrs_decode(const uint8_t *x, struct vcpu_state *v, struct kvm_fault *f)
{
	uint64_t n = le_get(x + XCRS_NR, 4);

	if (n > KVM_MAX_XCRS)
		return kvm_fault(f, XCRS_NR, "nr_xcrs",
				 "nr_xcrs is %llu; struct kvm_xcrs holds at most %d",
				 (unsigned long long)n, KVM_MAX_XCRS);
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *ent = x + XCRS_ENTRIES + i * XCR_ENTRY_SIZE;

		if (le_get(ent + XCR_INDEX, 4) == 0)
			vcpu_set(v, VREG_XCR0, le_get(ent + XCR_VALUE, 8));
	}
	return 0;
}

uint32_t kvm_msrs_count(const uint8_t *hdr)
{
	return (uint32_t)le_get(hdr + MSRS_NMSRS, 4);
}

int kvm_msr_take(uint32_t index, uint64_t data, struct vcpu_state *v, uint64_t *seen,
		 struct kvm_fault *f)
{
	enum vcpu_reg r = vcpu_reg_by_msr(index);

	if (r == VREG_COUNT)
		return 0;
	/* KVM_SET_MSRS would set both; which one a VMM meant is unknowable. */
	if (*seen & (1ULL << r))
		return kvm_fault(f, MSR_ENTRY_INDEX, "index", "MSR 0x%x appears twice", index);
	*seen |= 1ULL << r;
	vcpu_set(v, r, data);
	return 0;
}

int kvm_msr_entry_decode(const uint8_t *ent, struct vcpu_state *v, uint64_t *seen,
			 struct kvm_fault *f)
{
	return kvm_msr_take((uint32_t)le_get(ent + MSR_ENTRY_INDEX, 4),
			    le_get(ent + MSR_ENTRY_DATA, 8), v, seen, f);
}

int kvm_msrs_decode(const uint8_t *m, size_t len, struct vcpu_state *v, struct kvm_fault *f)
{
	uint64_t n, need, seen = 0;

	if (len < KVM_MSRS_HDR_SIZE)
		return kvm_fault(f, len, "nmsrs",
				 "%zu bytes, shorter than the 8-byte struct kvm_msrs header", len);
	n = kvm_msrs_count(m);
	need = KVM_MSRS_HDR_SIZE + n * KVM_MSR_ENTRY_SIZE;
	if (need > len)
		return kvm_fault(f, MSRS_NMSRS, "nmsrs",
				 "nmsrs is %llu (%llu bytes of entries) but only %zu bytes are saved",
				 (unsigned long long)n, (unsigned long long)(n * KVM_MSR_ENTRY_SIZE),
				 len);
	if (need < len)
		return kvm_fault(f, need, "entries", "%zu bytes after the %llu entries nmsrs announces",
				 len - (size_t)need, (unsigned long long)n);
	for (uint64_t i = 0; i < n; i++) {
		size_t at = KVM_MSRS_HDR_SIZE + i * KVM_MSR_ENTRY_SIZE;

		if (kvm_msr_entry_decode(m + at, v, &seen, f) != 0) {
			f->offset += at;
			f->field = "entries[].index";
			return -1;
		}
	}
	return 0;
}

uint32_t kvm_cpuid2_count(const uint8_t *hdr)
{
	return (uint32_t)le_get(hdr + CPUID2_NENT, 4);
}

int kvm_nested_decode(const uint8_t *ns, size_t len, bool exact, struct vcpu_state *v,
		      struct kvm_fault *f)
{
	uint64_t flags, format, size;

	if (len < KVM_NESTED_HDR_SIZE)
		return kvm_fault(f, len, "struct kvm_nested_state",
				 "%zu bytes, shorter than the 128-byte header", len);
	flags = le_get(ns + NESTED_FLAGS, 2);
	format = le_get(ns + NESTED_FORMAT, 2);
	size = le_get(ns + NESTED_SIZE, 4);
	if (format > KVM_STATE_NESTED_FORMAT_SVM)
		return kvm_fault(f, NESTED_FORMAT, "format",
				 "format %llu is neither VMX (0) nor SVM (1)",
				 (unsigned long long)format);
	/* KVM_SET_NESTED_STATE reads size bytes: they must all have been saved. */
	if (exact ? size != len : size > len)
		return kvm_fault(f, NESTED_SIZE, "size", "size is %llu but %zu bytes are saved",
				 (unsigned long long)size, len);
	v->nested_saved = true;
	v->nested_guest_mode = flags & KVM_STATE_NESTED_GUEST_MODE;
	v->nested_run_pending = flags & KVM_STATE_NESTED_RUN_PENDING;
	return 0;
}
