/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guest.c --- the minimal 64-bit guest both the generator and the oracle
 * run: memory image, CPUID, a realistic long-mode baseline, run to HLT.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fredck-kvm.h"

#define MAX_CPUID_ENTRIES 256
#define MAX_RUNS 4

/* Realistic Linux x86-64 values (a kernel with FRED would show the same). */
#define BASE_CR0 0x80050033ULL  /* PG AM WP NE ET MP PE */
#define BASE_CR4 0x003506A0ULL  /* SMAP SMEP OSXSAVE FSGSBASE OSXMMEXCPT OSFXSR PGE PAE */
#define BASE_EFER 0x0D01ULL     /* NXE LMA LME SCE */
#define BASE_RFLAGS 0x0246ULL   /* IF ZF PF */
#define XCR0_REALISTIC 0x2E7ULL /* x87 SSE AVX AVX-512 PKRU, as far as supported */

uint64_t baseline_cr0(void) { return BASE_CR0; }
uint64_t baseline_cr4(void) { return BASE_CR4; }
uint64_t baseline_efer(void) { return BASE_EFER; }
uint64_t baseline_rflags(void) { return BASE_RFLAGS; }

void errmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("fredck-kvm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void errsys(const char *what)
{
	errmsg("%s: %s", what, strerror(errno));
}

int kvm_open_checked(char *why, size_t len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int api;

	if (fd < 0) {
		snprintf(why, len, "/dev/kvm: %s", strerror(errno));
		return -1;
	}
	api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		snprintf(why, len, "/dev/kvm: API version %d, want %d", api, KVM_API_VERSION);
		close(fd);
		return -1;
	}
	if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_EXCEPTION_PAYLOAD) <= 0 ||
	    ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SREGS2) <= 0) {
		snprintf(why, len, "/dev/kvm lacks KVM_CAP_EXCEPTION_PAYLOAD or KVM_CAP_SREGS2");
		close(fd);
		return -1;
	}
	return fd;
}

uint64_t stub_gpa(int vector)
{
	return vector < 32 ? GPA_STUBS + (uint64_t)vector * STUB_STRIDE : GPA_STUB_OTHER;
}

int stub_of_rip(uint64_t rip)
{
	uint64_t hlt = rip - 1; /* a HLT exit leaves RIP after the hlt byte */

	if (hlt == GPA_CODE)
		return STUB_NONE;
	if (hlt == GPA_STUB_OTHER)
		return STUB_OTHER;
	if (hlt >= GPA_STUBS && hlt < GPA_STUBS + 32 * STUB_STRIDE &&
	    (hlt - GPA_STUBS) % STUB_STRIDE == 0)
		return (int)((hlt - GPA_STUBS) / STUB_STRIDE);
	return STUB_UNKNOWN;
}

bool guest_read_u64(const struct guest *g, uint64_t gpa, uint64_t *out)
{
	if (gpa > GUEST_MEM_SIZE - 8)
		return false;
	memcpy(out, g->mem + gpa, 8);
	return true;
}

static void put_u64(uint8_t *mem, uint64_t gpa, uint64_t v)
{
	memcpy(mem + gpa, &v, 8);
}

/* A 64-bit interrupt gate, DPL 0, no IST. */
static void put_idt_gate(uint8_t *mem, int vector, uint64_t handler)
{
	uint64_t lo, hi = handler >> 32;

	lo = (handler & 0xFFFF) | ((uint64_t)SEL_CODE << 16) | (0x8EULL << 40) |
	     ((handler >> 16 & 0xFFFF) << 48);
	put_u64(mem, GPA_IDT + 16 * (uint64_t)vector, lo);
	put_u64(mem, GPA_IDT + 16 * (uint64_t)vector + 8, hi);
}

/* "hlt; jmp back to the hlt": the RIP of every HLT exit is stub + 1. */
static void put_stub(uint8_t *mem, uint64_t gpa)
{
	static const uint8_t stub[] = { 0xF4, 0xEB, 0xFD };

	memcpy(mem + gpa, stub, sizeof(stub));
}

static void build_memory(uint8_t *mem)
{
	uint64_t tss_lo;
	int v;

	/* Identity map of the first 4 MiB: PML4 -> PDPT -> PD, two 2 MiB pages. */
	put_u64(mem, GPA_PML4, GPA_PDPT | 0x3);
	put_u64(mem, GPA_PDPT, GPA_PD | 0x3);
	put_u64(mem, GPA_PD, 0x000000 | 0xE3); /* P RW A D PS */
	put_u64(mem, GPA_PD + 8, 0x200000 | 0xE3);

	/* GDT: null, 64-bit code, data, 16-byte busy 64-bit TSS. */
	put_u64(mem, GPA_GDT + SEL_CODE, 0x00AF9B000000FFFFULL);
	put_u64(mem, GPA_GDT + SEL_DATA, 0x00CF93000000FFFFULL);
	tss_lo = 0x67 | (GPA_TSS & 0xFFFFFF) << 16 | 0x8BULL << 40 | (GPA_TSS >> 24 & 0xFF) << 56;
	put_u64(mem, GPA_GDT + SEL_TSS, tss_lo);
	put_u64(mem, GPA_GDT + SEL_TSS + 8, GPA_TSS >> 32);
	memset(mem + GPA_TSS, 0, 0x68);
	mem[GPA_TSS + 0x66] = 0x68; /* I/O map base: none */

	for (v = 0; v < 256; v++)
		put_idt_gate(mem, v, stub_gpa(v));
	for (v = 0; v < 32; v++)
		put_stub(mem, stub_gpa(v));
	put_stub(mem, GPA_STUB_OTHER);
	put_stub(mem, GPA_CODE);
}

/* The host's CPUID for the guest: CR4 and XCR0 bits are checked against it. */
static int set_cpuid(struct guest *g, int vcpu_fd)
{
	struct kvm_cpuid2 *c;
	uint32_t i;
	int rc = -1;

	c = calloc(1, sizeof(*c) + MAX_CPUID_ENTRIES * sizeof(c->entries[0]));
	if (!c)
		return -1;
	c->nent = MAX_CPUID_ENTRIES;
	if (ioctl(g->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		errsys("KVM_GET_SUPPORTED_CPUID");
		goto out;
	}
	g->supported_xcr0 = 1;
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 0xD && e->index == 0)
			g->supported_xcr0 = e->eax | (uint64_t)e->edx << 32;
	}
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0) {
		errsys("KVM_SET_CPUID2");
		goto out;
	}
	rc = 0;
out:
	free(c);
	return rc;
}

int guest_create(struct guest *g, int kvm_fd, int nvcpus, bool payload_cap)
{
	struct kvm_userspace_memory_region region = { 0 };
	long run_size;
	int i;

	memset(g, 0, sizeof(*g));
	g->kvm_fd = kvm_fd;
	g->vm_fd = -1;
	for (i = 0; i < MAX_VCPUS; i++)
		g->vcpu_fd[i] = -1;
	g->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (g->vm_fd < 0) {
		errsys("KVM_CREATE_VM");
		return -1;
	}
	if (payload_cap) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_EXCEPTION_PAYLOAD, .args = { 1 } };

		if (ioctl(g->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
			errsys("KVM_ENABLE_CAP(EXCEPTION_PAYLOAD)");
			return -1;
		}
		g->payload_cap = true;
	}
	g->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g->mem == MAP_FAILED) {
		g->mem = NULL;
		errsys("mmap guest memory");
		return -1;
	}
	build_memory(g->mem);
	region.memory_size = GUEST_MEM_SIZE;
	region.userspace_addr = (uintptr_t)g->mem;
	if (ioctl(g->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		errsys("KVM_SET_USER_MEMORY_REGION");
		return -1;
	}
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0) {
		errsys("KVM_GET_VCPU_MMAP_SIZE");
		return -1;
	}
	for (i = 0; i < nvcpus; i++) {
		void *run;

		g->vcpu_fd[i] = ioctl(g->vm_fd, KVM_CREATE_VCPU, i);
		if (g->vcpu_fd[i] < 0) {
			errsys("KVM_CREATE_VCPU");
			return -1;
		}
		g->nvcpus = i + 1;
		run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			   g->vcpu_fd[i], 0);
		if (run == MAP_FAILED) {
			errsys("mmap kvm_run");
			return -1;
		}
		g->run[i] = run;
		if (set_cpuid(g, g->vcpu_fd[i]) < 0)
			return -1;
	}
	return 0;
}

void guest_destroy(struct guest *g)
{
	long run_size = ioctl(g->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	int i;

	for (i = 0; i < MAX_VCPUS; i++) {
		if (g->run[i] && run_size > 0)
			munmap(g->run[i], (size_t)run_size);
		if (g->vcpu_fd[i] >= 0)
			close(g->vcpu_fd[i]);
	}
	if (g->mem)
		munmap(g->mem, GUEST_MEM_SIZE);
	if (g->vm_fd >= 0)
		close(g->vm_fd);
	memset(g, 0, sizeof(*g));
	g->vm_fd = -1;
}

static struct kvm_segment seg(uint16_t sel, uint8_t type, bool code)
{
	struct kvm_segment s = {
		.base = 0, .limit = 0xFFFFFFFF, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = code ? 0 : 1, .s = 1, .l = code, .g = 1,
	};

	return s;
}

static int baseline_sregs(struct guest *g, int n)
{
	struct kvm_sregs2 s;

	if (ioctl(g->vcpu_fd[n], KVM_GET_SREGS2, &s) < 0) {
		errsys("KVM_GET_SREGS2");
		return -1;
	}
	s.cs = seg(SEL_CODE, 0xB, true);
	s.ds = s.es = s.ss = seg(SEL_DATA, 0x3, false);
	s.fs = s.gs = seg(0, 0x3, false);
	s.gs.base = 0xFFFF88807DC00000ULL + 0x40000ULL * (uint64_t)n; /* per-CPU area */
	s.tr = (struct kvm_segment){ .base = GPA_TSS, .limit = 0x67, .selector = SEL_TSS,
				     .type = 0xB, .present = 1 };
	s.ldt = (struct kvm_segment){ .type = 0x2, .unusable = 1 };
	s.gdt.base = GPA_GDT;
	s.gdt.limit = SEL_TSS + 15;
	s.idt.base = GPA_IDT;
	s.idt.limit = 256 * 16 - 1;
	s.cr0 = BASE_CR0;
	s.cr3 = GPA_PML4;
	s.cr4 = BASE_CR4;
	s.efer = BASE_EFER;
	s.flags = 0;
	if (ioctl(g->vcpu_fd[n], KVM_SET_SREGS2, &s) < 0) {
		errsys("KVM_SET_SREGS2 (64-bit long-mode baseline)");
		return -1;
	}
	return 0;
}

static int baseline_xcr0(struct guest *g, int n)
{
	struct kvm_xcrs x = { .nr_xcrs = 1 };

	x.xcrs[0].xcr = 0;
	x.xcrs[0].value = XCR0_REALISTIC & g->supported_xcr0;
	if (ioctl(g->vcpu_fd[n], KVM_SET_XCRS, &x) < 0) {
		errsys("KVM_SET_XCRS");
		return -1;
	}
	return 0;
}

int guest_baseline(struct guest *g, int n)
{
	struct kvm_regs r = { 0 };

	if (baseline_sregs(g, n) < 0 || baseline_xcr0(g, n) < 0)
		return -1;
	/* Some plausible general registers: a kernel copying to user space. */
	r.rax = 0xFFFFFFFFFFFFFFF2ULL;
	r.rcx = 0x1000;
	r.rsi = 0xFFFF888004A3F000ULL;
	r.rdi = 0x00007F3A1C2E5008ULL;
	r.rsp = GUEST_RSP - 0x2000ULL * (uint64_t)n;
	r.rip = GPA_CODE;
	r.rflags = BASE_RFLAGS;
	if (ioctl(g->vcpu_fd[n], KVM_SET_REGS, &r) < 0) {
		errsys("KVM_SET_REGS");
		return -1;
	}
	return vcpu_set_realistic_msrs(g, n);
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN (triple fault)";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_DEBUG: return "DEBUG";
	default: return "other";
	}
}

int guest_run_to_hlt(struct guest *g, int n, uint64_t *rip)
{
	struct kvm_regs r;
	int i;

	for (i = 0; i < MAX_RUNS; i++) {
		if (ioctl(g->vcpu_fd[n], KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			errsys("KVM_RUN");
			return -1;
		}
		if (g->run[n]->exit_reason == KVM_EXIT_HLT)
			break;
		if (g->run[n]->exit_reason != KVM_EXIT_IO &&
		    g->run[n]->exit_reason != KVM_EXIT_MMIO) {
			errmsg("vcpu%d: KVM_RUN exit %u (%s), expected HLT", n,
			       g->run[n]->exit_reason, exit_name(g->run[n]->exit_reason));
			return -1;
		}
	}
	if (i == MAX_RUNS) {
		errmsg("vcpu%d: no HLT exit after %d runs", n, MAX_RUNS);
		return -1;
	}
	if (ioctl(g->vcpu_fd[n], KVM_GET_REGS, &r) < 0) {
		errsys("KVM_GET_REGS");
		return -1;
	}
	*rip = r.rip;
	return 0;
}

bool vector_is_fault(int vector)
{
	static const uint32_t not_fault = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 8 | 1u << 18;

	return vector >= 0 && vector < 32 && !(not_fault & 1u << vector);
}

/* KVM's kvm_deliver_exception_payload(), #DB branch (x86.c). */
uint64_t kvm_db_formula(uint64_t dr6, uint64_t payload)
{
	dr6 &= ~0xFULL;
	dr6 |= DR6_ACTIVE_LOW;
	dr6 |= payload;
	dr6 ^= payload & DR6_ACTIVE_LOW;
	dr6 &= ~(1ULL << 12);
	return dr6;
}
