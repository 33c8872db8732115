/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * measure.c --- `measure`: what this kernel's KVM_SET/GET_VCPU_EVENTS keep
 * of a payload and what delivery does with it, measured on a real vCPU.
 * The figures in tests/fixtures/kvm/README.md come from this output.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fredck-kvm.h"

#define C_CR2 0x00007FFD5E2B1FF8ULL /* the CR2 loaded: a stale address */
#define P_CR2 0x00007F3A1C2E5008ULL /* the payload: this fault's address */

/* One run: load this exception over the baseline, GET, run, observe. */
struct experiment {
	const char *name;
	bool cap;
	uint32_t flags;
	uint8_t injected, pending, nr, has_error_code;
	uint32_t error_code;
	uint8_t has_payload;
	uint64_t payload;
	uint64_t dr6, dr7; /* 0: 0xFFFF0FF0, 0x400 */
	bool set_regs_after; /* KVM_SET_REGS after KVM_SET_VCPU_EVENTS */
};

/* Shorthands: the exception state, then the payload. */
#define CAP .cap = true, .flags = EV_FLAG_VALID_PAYLOAD
#define INJ(v) .injected = 1, .nr = (v)
#define PEND(v) .pending = 1, .nr = (v)
#define EC6 .has_error_code = 1, .error_code = 6
#define PAYLOAD(p) .has_payload = 1, .payload = (p)

static const struct experiment experiments[] = {
	{ "pf injected+has_payload+0x10", CAP, INJ(14), EC6, PAYLOAD(P_CR2) },
	{ "pf pending+has_payload", CAP, PEND(14), EC6, PAYLOAD(P_CR2) },
	{ "pf injected+pending+has_payload", CAP, INJ(14), .pending = 1, EC6, PAYLOAD(P_CR2) },
	{ "pf pending, no payload", CAP, PEND(14), EC6 },
	{ "pf injected, no cap, flags 0", INJ(14), EC6 },
	{ "pf pending only, no cap, flags 0", PEND(14), EC6, PAYLOAD(P_CR2) },
	{ "pf pending+payload, then SET_REGS", CAP, PEND(14), EC6, PAYLOAD(P_CR2),
	  .set_regs_after = true },
	{ "pf injected, then SET_REGS", CAP, INJ(14), EC6, .set_regs_after = true },
	{ "db injected+has_payload+0x10", CAP, INJ(1), PAYLOAD(0x4002), .dr6 = 0xFFFF0FF1 },
	{ "db pending payload 0x4002, dr6 reset", CAP, PEND(1), PAYLOAD(0x4002) },
	{ "db pending payload 0x1, dr6 stale BS|B1", CAP, PEND(1), PAYLOAD(0x1), .dr6 = 0xFFFF4FF2 },
	{ "db pending payload 0x10801 (RTM BLD B0)", CAP, PEND(1), PAYLOAD(0x10801) },
	{ "db pending payload 0x1001 (bit 12)", CAP, PEND(1), PAYLOAD(0x1001) },
	{ "db pending payload 0x4002, raw dr6 0x4002", CAP, PEND(1), PAYLOAD(0x4002),
	  .dr6 = 0x4002 },
	{ "db injected, raw dr6 0x4002", CAP, INJ(1), .dr6 = 0x4002 },
	{ "db pending payload 0x2001 (BD), dr7.GD", CAP, PEND(1), PAYLOAD(0x2001),
	  .dr7 = 0x2401 },
	{ "nm pending payload 0x40000", CAP, PEND(7), PAYLOAD(0x40000) },
	{ "nm injected+has_payload+0x10", CAP, INJ(7), PAYLOAD(0x40000) },
};

static void print_events(const char *label, const struct kvm_vcpu_events *ev)
{
	printf("    %s: injected=%u pending=%u nr=%u has_error_code=%u error_code=0x%x "
	       "has_payload=%u payload=0x%llx flags=0x%x\n",
	       label, ev->exception.injected, ev->exception.pending, ev->exception.nr,
	       ev->exception.has_error_code, ev->exception.error_code,
	       ev->exception_has_payload, (unsigned long long)ev->exception_payload, ev->flags);
}

static int load(struct guest *g, const struct experiment *x)
{
	struct kvm_vcpu_events ev = { 0 };
	struct kvm_debugregs d = { 0 };
	struct kvm_sregs2 s;
	int fd = g->vcpu_fd[0];

	if (ioctl(fd, KVM_GET_SREGS2, &s) < 0)
		return -1;
	s.cr2 = C_CR2;
	if (ioctl(fd, KVM_SET_SREGS2, &s) < 0)
		return -1;
	d.dr6 = x->dr6 ? x->dr6 : 0xFFFF0FF0ULL;
	d.dr7 = x->dr7 ? x->dr7 : 0x400;
	if (ioctl(fd, KVM_SET_DEBUGREGS, &d) < 0) {
		printf("    KVM_SET_DEBUGREGS(dr6=0x%llx): %s\n", d.dr6, strerror(errno));
		return -1;
	}
	ev.flags = x->flags;
	ev.exception.injected = x->injected;
	ev.exception.pending = x->pending;
	ev.exception.nr = x->nr;
	ev.exception.has_error_code = x->has_error_code;
	ev.exception.error_code = x->error_code;
	ev.exception_has_payload = x->has_payload;
	ev.exception_payload = x->payload;
	print_events("SET", &ev);
	if (ioctl(fd, KVM_SET_VCPU_EVENTS, &ev) < 0) {
		printf("    KVM_SET_VCPU_EVENTS: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

static int observe_before_run(struct guest *g, const struct experiment *x)
{
	struct kvm_vcpu_events ev;
	struct kvm_debugregs d;
	struct kvm_regs r;
	struct kvm_sregs2 s;
	int fd = g->vcpu_fd[0];

	if (ioctl(fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -1;
	print_events("GET after SET", &ev);
	if (x->set_regs_after) {
		if (ioctl(fd, KVM_GET_REGS, &r) < 0 || ioctl(fd, KVM_SET_REGS, &r) < 0 ||
		    ioctl(fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
			return -1;
		print_events("GET after SET_REGS", &ev);
	}
	if (ioctl(fd, KVM_GET_SREGS2, &s) < 0 || ioctl(fd, KVM_GET_DEBUGREGS, &d) < 0)
		return -1;
	printf("    before run: cr2=0x%llx dr6=0x%llx\n", s.cr2, d.dr6);
	return 0;
}

static int run_and_report(struct guest *g, const struct experiment *x)
{
	struct kvm_vcpu_events ev;
	struct kvm_debugregs d;
	struct kvm_sregs2 s;
	struct kvm_regs r;
	uint64_t rip, frame_rflags = 0;
	int fd = g->vcpu_fd[0], stub;

	if (guest_run_to_hlt(g, 0, &rip) < 0)
		return -1;
	if (ioctl(fd, KVM_GET_REGS, &r) < 0 || ioctl(fd, KVM_GET_SREGS2, &s) < 0 ||
	    ioctl(fd, KVM_GET_DEBUGREGS, &d) < 0 || ioctl(fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -1;
	stub = stub_of_rip(rip);
	if (stub >= 0)
		guest_read_u64(g, r.rsp + (x->has_error_code ? 24 : 16), &frame_rflags);
	printf("    after run: taken=%d cr2=0x%llx dr6=0x%llx dr7=0x%llx frame.rf=%d",
	       stub, s.cr2, d.dr6, d.dr7, !!(frame_rflags & RFLAGS_RF));
	if (x->nr == VEC_DB && x->has_payload)
		printf(" (formula: 0x%" PRIx64 ")",
		       kvm_db_formula(x->dr6 ? x->dr6 : 0xFFFF0FF0ULL, x->payload));
	printf("\n");
	print_events("GET after run", &ev);
	return 0;
}

static int run_experiment(int kvm_fd, const struct experiment *x)
{
	struct guest g;
	int rc = -1;

	printf("%s (cap %s):\n", x->name, x->cap ? "on" : "off");
	if (guest_create(&g, kvm_fd, 1, x->cap) < 0 || guest_baseline(&g, 0) < 0)
		goto out;
	rc = load(&g, x);
	if (rc != 0) {
		rc = rc > 0 ? 0 : -1; /* a refused SET is a result */
		goto out;
	}
	if (observe_before_run(&g, x) < 0 || run_and_report(&g, x) < 0)
		rc = -1;
out:
	if (rc < 0)
		printf("    setup failed\n");
	guest_destroy(&g);
	return rc;
}

/* What the register ioctls accept: the reasons fixtures are patched. */
static void acceptance(int kvm_fd)
{
	struct kvm_vcpu_events ev = { 0 };
	struct kvm_debugregs d = { 0 };
	struct kvm_sregs2 s;
	struct guest g;
	int fd;

	printf("ioctl acceptance:\n");
	if (guest_create(&g, kvm_fd, 1, false) < 0 || guest_baseline(&g, 0) < 0) {
		guest_destroy(&g);
		return;
	}
	fd = g.vcpu_fd[0];
	ioctl(fd, KVM_GET_SREGS2, &s);
	s.cr4 |= CR4_FRED;
	printf("    SET_SREGS2 cr4|=FRED: %s\n",
	       ioctl(fd, KVM_SET_SREGS2, &s) < 0 ? strerror(errno) : "accepted");
	ioctl(fd, KVM_GET_SREGS2, &s);
	s.cr0 &= ~(1ULL << 31);
	printf("    SET_SREGS2 efer.LMA with cr0.PG 0: %s\n",
	       ioctl(fd, KVM_SET_SREGS2, &s) < 0 ? strerror(errno) : "accepted");
	d.dr6 = 1ULL << 32;
	d.dr7 = 0x400;
	printf("    SET_DEBUGREGS dr6 bit 32: %s\n",
	       ioctl(fd, KVM_SET_DEBUGREGS, &d) < 0 ? strerror(errno) : "accepted");
	ev.exception.injected = 1;
	ev.exception.nr = 2;
	printf("    SET_VCPU_EVENTS injected nr 2 (NMI): %s\n",
	       ioctl(fd, KVM_SET_VCPU_EVENTS, &ev) < 0 ? strerror(errno) : "accepted");
	ev.exception.nr = 32;
	printf("    SET_VCPU_EVENTS injected nr 32: %s\n",
	       ioctl(fd, KVM_SET_VCPU_EVENTS, &ev) < 0 ? strerror(errno) : "accepted");
	ev.exception.nr = 14;
	ev.flags = EV_FLAG_VALID_PAYLOAD;
	printf("    SET_VCPU_EVENTS flags 0x10 without the cap: %s\n",
	       ioctl(fd, KVM_SET_VCPU_EVENTS, &ev) < 0 ? strerror(errno) : "accepted");
	guest_destroy(&g);
}

int cmd_measure(int argc, char **argv)
{
	char why[256];
	size_t i;
	int fd, rc = EXIT_OK;

	if (argc != 1) {
		errmsg("usage: %s (no arguments)", argv[0]);
		return EXIT_USAGE;
	}
	fd = kvm_open_checked(why, sizeof(why));
	if (fd < 0) {
		printf("skip: %s\n", why);
		return EXIT_SKIP;
	}
	printf("loaded cr2=0x%llx; payloads are #PF 0x%llx unless said\n",
	       (unsigned long long)C_CR2, (unsigned long long)P_CR2);
	for (i = 0; i < sizeof(experiments) / sizeof(experiments[0]); i++)
		if (run_experiment(fd, &experiments[i]) < 0)
			rc = EXIT_SETUP;
	acceptance(fd);
	close(fd);
	return rc;
}
