/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fredck-kvm.h --- shared declarations of the real-kernel fixture generator
 * and oracle: the guest's memory layout, the saved vCPU files, the cases.
 */
#ifndef FREDCK_KVM_H
#define FREDCK_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

/* Exit status of every subcommand (the oracle's contract). */
#define EXIT_OK 0
#define EXIT_MISMATCH 1
#define EXIT_SETUP 2
#define EXIT_USAGE 3
#define EXIT_SKIP 77

/* The structure sizes the kvm-dir format is defined by. */
_Static_assert(sizeof(struct kvm_vcpu_events) == 64, "kvm_vcpu_events");
_Static_assert(sizeof(struct kvm_sregs) == 312, "kvm_sregs");
_Static_assert(sizeof(struct kvm_sregs2) == 320, "kvm_sregs2");
_Static_assert(sizeof(struct kvm_debugregs) == 128, "kvm_debugregs");
_Static_assert(sizeof(struct kvm_regs) == 144, "kvm_regs");
_Static_assert(sizeof(struct kvm_msrs) == 8, "kvm_msrs header");
_Static_assert(sizeof(struct kvm_msr_entry) == 16, "kvm_msr_entry");
_Static_assert(sizeof(struct kvm_xcrs) == 392, "kvm_xcrs");
_Static_assert(sizeof(struct kvm_nested_state) == 128, "kvm_nested_state header");
_Static_assert(offsetof(struct kvm_vcpu_events, exception_has_payload) == 55, "has_payload");
_Static_assert(offsetof(struct kvm_vcpu_events, exception_payload) == 56, "payload");
_Static_assert(offsetof(struct kvm_sregs2, cr4) == 248, "sregs2.cr4");
_Static_assert(offsetof(struct kvm_sregs, efer) == 264, "sregs.efer");

/* Not in the 6.1 headers this builds against, or named here for clarity. */
#ifndef KVM_CAP_EXCEPTION_PAYLOAD
#define KVM_CAP_EXCEPTION_PAYLOAD 164
#endif
#ifndef KVM_CAP_SREGS2
#define KVM_CAP_SREGS2 200
#endif
#define EV_FLAG_VALID_PAYLOAD 0x10

/* Architectural bits. */
#define CR0_TS (1ULL << 3)
#define CR4_FRED (1ULL << 32)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define RFLAGS_TF (1ULL << 8)
#define RFLAGS_RF (1ULL << 16)
#define DR7_GD (1ULL << 13)
#define XCR0_TILECFG (1ULL << 17)
#define XCR0_TILEDATA (1ULL << 18)

/* DR6 (kernel names). */
#define DR6_ACTIVE_LOW 0xFFFF0FF0ULL
#define DR6_FIXED_1 0xFFFE07F0ULL
#define DR6_ED_MASK 0x0001680FULL /* B0-B3, BLD, BD, BS, RTM: FRED #DB event data */
#define DR6_BD (1ULL << 13)
#define DR6_BS (1ULL << 14)

/* MSRs. */
#define MSR_XFD 0x1C4
#define MSR_XFD_ERR 0x1C5
#define MSR_FRED_RSP0 0x1CC
#define MSR_FRED_STKLVLS 0x1D0
#define MSR_FRED_SSP1 0x1D1
#define MSR_FRED_CONFIG 0x1D4
#define NR_FRED_MSRS 9 /* 0x1CC..0x1D4 */

#define VEC_DB 1
#define VEC_NM 7
#define VEC_GP 13
#define VEC_PF 14

/*
 * Guest memory: 4 MiB at GPA 0, identity-mapped with 2 MiB pages.  Every
 * exception vector 0-31 has its own "hlt; jmp back" stub, so the RIP of
 * the HLT exit names the vector that was delivered; RIP starts at a lone
 * hlt, the "no exception" address.
 */
#define GUEST_MEM_SIZE (4ULL << 20)
#define GPA_PML4 0x1000ULL
#define GPA_PDPT 0x2000ULL
#define GPA_PD 0x3000ULL
#define GPA_GDT 0x4000ULL
#define GPA_TSS 0x4800ULL
#define GPA_IDT 0x5000ULL
#define GPA_STUBS 0x6000ULL     /* vector v: GPA_STUBS + 16 * v */
#define STUB_STRIDE 16
#define GPA_STUB_OTHER 0x6200ULL /* vectors 32-255 */
#define GPA_CODE 0x6400ULL      /* initial RIP: the "no exception" hlt */
#define GUEST_RSP 0x20000ULL     /* vCPU n uses GUEST_RSP - n * 0x2000 */
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18

/* What a HLT exit's RIP says was run (stub_of_rip()). */
#define STUB_NONE (-1)  /* the initial hlt: no exception handler ran */
#define STUB_OTHER (-2) /* a vector above 31 */
#define STUB_UNKNOWN (-3)

#define MAX_VCPUS 4
#define MAX_MSRS 32

/* One vCPU's files, each with a "present" bit. */
struct vcpu_files {
	struct kvm_vcpu_events events;
	bool has_events;
	struct kvm_sregs2 sregs2;
	bool has_sregs2;
	struct kvm_sregs sregs;
	bool has_sregs;
	struct kvm_debugregs debugregs;
	bool has_debugregs;
	struct kvm_regs regs;
	bool has_regs;
	struct kvm_msr_entry msrs[MAX_MSRS];
	uint32_t nmsrs;
	bool has_msrs;
	struct kvm_xcrs xcrs;
	bool has_xcrs;
	struct kvm_nested_state nested;
	bool has_nested;
};

/* The control registers as a vcpu_files holds them, wherever it does. */
uint64_t vf_cr(const struct vcpu_files *vf, size_t offset);
void vf_set_cr(struct vcpu_files *vf, size_t offset, uint64_t value);
#define VF_CR0 offsetof(struct kvm_sregs2, cr0)
#define VF_CR2 offsetof(struct kvm_sregs2, cr2)
#define VF_CR4 offsetof(struct kvm_sregs2, cr4)
#define VF_EFER offsetof(struct kvm_sregs2, efer)
_Static_assert(offsetof(struct kvm_sregs, cr2) == offsetof(struct kvm_sregs2, cr2), "cr2");
_Static_assert(offsetof(struct kvm_sregs, cr4) == offsetof(struct kvm_sregs2, cr4), "cr4");
_Static_assert(offsetof(struct kvm_sregs, efer) == offsetof(struct kvm_sregs2, efer), "efer");

/* An MSR in the msrs list; NULL when absent. */
const struct kvm_msr_entry *vf_msr(const struct vcpu_files *vf, uint32_t index);
uint64_t vf_xcr0(const struct vcpu_files *vf, bool *present);

/* kvmdir.c: reading and writing one vcpuN/ directory. */
int vf_read(const char *dir, struct vcpu_files *vf);
int vf_write(const char *dir, const struct vcpu_files *vf);
int count_vcpu_dirs(const char *root);
int mkdir_p(const char *path);

/* FIXTURE: a key=value text file. */
struct fixture_kv {
	char key[64];
	char value[512];
};
struct fixture_info {
	struct fixture_kv kv[128];
	size_t n;
};
int fixture_read(const char *path, struct fixture_info *fi);
const char *fixture_get(const struct fixture_info *fi, const char *key);
bool fixture_get_u64(const struct fixture_info *fi, const char *key, uint64_t *out);

/* guest.c: the VM, its memory and vCPUs. */
struct guest {
	int kvm_fd;
	int vm_fd;
	uint8_t *mem;
	int vcpu_fd[MAX_VCPUS];
	struct kvm_run *run[MAX_VCPUS];
	int nvcpus;
	bool payload_cap;
	uint64_t supported_xcr0;
};

/* Open /dev/kvm; on failure returns -1 and a reason in why. */
int kvm_open_checked(char *why, size_t len);
int guest_create(struct guest *g, int kvm_fd, int nvcpus, bool payload_cap);
void guest_destroy(struct guest *g);
/* The baseline state of vCPU n: 64-bit long mode, ring 0, RIP at GPA_CODE. */
int guest_baseline(struct guest *g, int n);
/* KVM_RUN until a HLT exit (at most a few runs); the HLT's RIP in *rip. */
int guest_run_to_hlt(struct guest *g, int n, uint64_t *rip);
int stub_of_rip(uint64_t rip);
uint64_t stub_gpa(int vector);
/* Read a guest u64 at a guest-physical address (identity mapped). */
bool guest_read_u64(const struct guest *g, uint64_t gpa, uint64_t *out);
/* The realistic values the baseline writes. */
uint64_t baseline_cr0(void);
uint64_t baseline_cr4(void);
uint64_t baseline_efer(void);
uint64_t baseline_rflags(void);

/* Capture/restore through the ioctls. */
int vcpu_get_msrs(struct guest *g, int n, struct vcpu_files *vf);
int vcpu_set_realistic_msrs(struct guest *g, int n);
/* KVM_GET_* of everything a kvm-dir holds; legacy_sregs: KVM_GET_SREGS. */
int vcpu_capture(struct guest *g, int n, bool legacy_sregs, struct vcpu_files *vf);

/* KVM's exception_type() is EXCPT_FAULT: a pending one sets RFLAGS.RF. */
bool vector_is_fault(int vector);

/* KVM's kvm_deliver_exception_payload() for #DB. */
uint64_t kvm_db_formula(uint64_t dr6, uint64_t payload);

/* Printing helpers. */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void errsys(const char *what);

/* The subcommands. */
int cmd_gen(int argc, char **argv);
int cmd_gen_all(int argc, char **argv);
int cmd_oracle(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_list(int argc, char **argv);

#endif
