/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * oracle.c --- `oracle KVMDIR`: load each vCPU of a (repaired) kvm-dir into
 * a fresh real vCPU, run it to its HLT, and check that the kernel delivered
 * what the loaded files predict: the vector, CR2, DR6, DR7, the frame.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cases.h"
#include "fredck-kvm.h"

/* What the loaded files say the kernel will do. */
struct prediction {
	int stub;          /* the handler expected to halt, or STUB_NONE */
	bool pending;      /* delivered through the payload path */
	bool payload;      /* ... with a payload */
	uint64_t cr2, dr6, dr7;
	bool has_debugregs; /* DR6 and DR7 are checked only when loaded */
	bool has_error_code;
	uint32_t error_code;
	uint64_t rip;      /* the RIP the frame must hold */
	bool rf;           /* the RFLAGS.RF the frame must hold */
	uint64_t event_data;
};

/* What the run left behind. */
struct observation {
	int stub;
	uint64_t rip, rsp, cr2, dr6, dr7;
	uint64_t frame_rip, frame_err, frame_rflags;
	struct kvm_vcpu_events set_kept; /* GET right after SET */
	struct kvm_vcpu_events after;
};

struct check {
	char text[1024];
	bool failed;
};

static void mismatch(struct check *ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mismatch(struct check *ck, const char *fmt, ...)
{
	size_t len = strlen(ck->text);
	va_list ap;

	va_start(ap, fmt);
	if (len < sizeof(ck->text) - 2) {
		ck->text[len++] = ' ';
		ck->text[len] = '\0';
		vsnprintf(ck->text + len, sizeof(ck->text) - len, fmt, ap);
	}
	va_end(ap);
	ck->failed = true;
}

static void predict(const struct vcpu_files *vf, struct prediction *p)
{
	const struct kvm_vcpu_events *ev = &vf->events;
	struct expectation e;

	expect_vcpu(vf, &e);
	memset(p, 0, sizeof(*p));
	p->stub = e.vector >= 0 ? e.vector : STUB_NONE;
	p->pending = e.vector >= 0 && strcmp(e.state, "pending") == 0;
	p->payload = p->pending && ev->exception_has_payload;
	p->cr2 = vf_cr(vf, VF_CR2);
	p->has_debugregs = vf->has_debugregs;
	p->dr6 = vf->debugregs.dr6;
	p->dr7 = vf->debugregs.dr7;
	if (p->payload && e.vector == VEC_PF)
		p->cr2 = ev->exception_payload;
	if (p->payload && e.vector == VEC_DB)
		p->dr6 = kvm_db_formula(p->dr6, ev->exception_payload);
	/* KVM clears DR7.GD when it injects a pending #DB. */
	if (p->pending && e.vector == VEC_DB)
		p->dr7 &= ~DR7_GD;
	p->has_error_code = e.vector >= 0 && ev->exception.has_error_code;
	p->error_code = ev->exception.error_code;
	/* Without a regs file the baseline's stay: RIP at GPA_CODE. */
	p->rip = vf->has_regs ? vf->regs.rip : GPA_CODE;
	/* The event data a FRED guest would receive: the payload (V9-12). */
	p->event_data = ev->exception_payload & (e.vector == VEC_DB ? ~(1ULL << 12) : ~0ULL);
	/* The frame's RF: as loaded, and set by KVM for a pending fault. */
	p->rf = (vf->has_regs ? vf->regs.rflags & RFLAGS_RF : baseline_rflags() & RFLAGS_RF) ||
		(p->pending && vector_is_fault(e.vector));
}

/* The captured CR4 and EFER: the kernel rejects the patched CR4.FRED. */
static void restore_crs(const struct fixture_info *fi, int n, __u64 *cr4, __u64 *efer)
{
	char key[64];
	uint64_t v;

	snprintf(key, sizeof(key), "vcpu%d.captured_cr4", n);
	if (fixture_get_u64(fi, key, &v))
		*cr4 = v;
	else
		*cr4 &= ~CR4_FRED;
	snprintf(key, sizeof(key), "vcpu%d.captured_efer", n);
	if (fixture_get_u64(fi, key, &v))
		*efer = v;
}

/* The SET ioctls, events last: KVM_SET_REGS would discard a pending exception. */
static int load_vcpu(struct guest *g, const struct vcpu_files *vf, const struct fixture_info *fi,
		     int n, struct check *ck)
{
	int fd = g->vcpu_fd[0];

	if (vf->has_sregs2) {
		struct kvm_sregs2 s = vf->sregs2;

		restore_crs(fi, n, &s.cr4, &s.efer);
		if (ioctl(fd, KVM_SET_SREGS2, &s) < 0)
			mismatch(ck, "KVM_SET_SREGS2 failed: %s;", strerror(errno));
	} else {
		struct kvm_sregs s = vf->sregs;

		restore_crs(fi, n, &s.cr4, &s.efer);
		if (ioctl(fd, KVM_SET_SREGS, &s) < 0)
			mismatch(ck, "KVM_SET_SREGS failed: %s;", strerror(errno));
	}
	if (vf->has_regs && ioctl(fd, KVM_SET_REGS, &vf->regs) < 0)
		mismatch(ck, "KVM_SET_REGS failed: %s;", strerror(errno));
	if (vf->has_debugregs && ioctl(fd, KVM_SET_DEBUGREGS, &vf->debugregs) < 0)
		mismatch(ck, "KVM_SET_DEBUGREGS failed: %s;", strerror(errno));
	if (ioctl(fd, KVM_SET_VCPU_EVENTS, &vf->events) < 0)
		mismatch(ck, "KVM_SET_VCPU_EVENTS failed: %s;", strerror(errno));
	return ck->failed ? -1 : 0;
}

static int observe(struct guest *g, const struct prediction *p, struct observation *o)
{
	int fd = g->vcpu_fd[0];
	struct kvm_sregs2 s;
	struct kvm_debugregs d;
	struct kvm_regs r;
	uint64_t frame;

	if (ioctl(fd, KVM_GET_REGS, &r) < 0 || ioctl(fd, KVM_GET_SREGS2, &s) < 0 ||
	    ioctl(fd, KVM_GET_DEBUGREGS, &d) < 0 ||
	    ioctl(fd, KVM_GET_VCPU_EVENTS, &o->after) < 0) {
		errsys("KVM_GET_* after the run");
		return -1;
	}
	o->rip = r.rip;
	o->rsp = r.rsp;
	o->stub = stub_of_rip(r.rip);
	o->cr2 = s.cr2;
	o->dr6 = d.dr6;
	o->dr7 = d.dr7;
	/* The 64-bit frame: [error code,] RIP, CS, RFLAGS, RSP, SS. */
	frame = r.rsp;
	o->frame_err = 0;
	if (p->has_error_code) {
		guest_read_u64(g, frame, &o->frame_err);
		frame += 8;
	}
	guest_read_u64(g, frame, &o->frame_rip);
	guest_read_u64(g, frame + 16, &o->frame_rflags);
	return 0;
}

/*
 * A pending exception with a payload must carry the event data the
 * generator expected from the original capture (FIXTURE's
 * vcpuN.expect_event_data), when that expectation is exact.
 */
static void check_event_data(const struct fixture_info *fi, int n, const struct prediction *p,
			     struct check *ck)
{
	const char *conf;
	char key[64];
	uint64_t want;

	if (!p->payload || p->stub < 0)
		return;
	snprintf(key, sizeof(key), "vcpu%d.expect_confidence", n);
	conf = fixture_get(fi, key);
	snprintf(key, sizeof(key), "vcpu%d.expect_event_data", n);
	if (!conf || strcmp(conf, "exact") != 0 || !fixture_get_u64(fi, key, &want))
		return;
	if (p->event_data != want)
		mismatch(ck, "event data 0x%" PRIx64 ", the capture says 0x%" PRIx64 ";",
			 p->event_data, want);
}

static void stub_name(int stub, char *buf, size_t len)
{
	if (stub >= 0)
		snprintf(buf, len, "%d", stub);
	else if (stub == STUB_NONE)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%s", stub == STUB_OTHER ? "other" : "unknown");
}

static void compare(const struct prediction *p, const struct observation *o, struct check *ck)
{
	char want[16], got[16];

	stub_name(p->stub, want, sizeof(want));
	stub_name(o->stub, got, sizeof(got));
	if (p->stub != o->stub)
		mismatch(ck, "handler %s taken, expected %s (HLT at rip 0x%" PRIx64 ");", got,
			 want, o->rip);
	if (o->cr2 != p->cr2)
		mismatch(ck, "cr2 0x%016" PRIx64 ", expected 0x%016" PRIx64 ";", o->cr2, p->cr2);
	if (p->has_debugregs && o->dr6 != p->dr6)
		mismatch(ck, "dr6 0x%" PRIx64 ", expected 0x%" PRIx64 ";", o->dr6, p->dr6);
	if (p->has_debugregs && o->dr7 != p->dr7)
		mismatch(ck, "dr7 0x%" PRIx64 ", expected 0x%" PRIx64 ";", o->dr7, p->dr7);
	if (o->after.exception.injected || o->after.exception.pending)
		mismatch(ck, "exception %u still queued after the run;", o->after.exception.nr);
	if (p->stub < 0 || o->stub != p->stub)
		return;
	if (o->frame_rip != p->rip)
		mismatch(ck, "frame rip 0x%" PRIx64 ", expected 0x%" PRIx64 ";", o->frame_rip,
			 p->rip);
	if (!!(o->frame_rflags & RFLAGS_RF) != p->rf)
		mismatch(ck, "frame rflags 0x%" PRIx64 ", expected RF %d;", o->frame_rflags, p->rf);
	if (p->has_error_code && o->frame_err != p->error_code)
		mismatch(ck, "frame error code 0x%" PRIx64 ", expected 0x%x;", o->frame_err,
			 p->error_code);
}

static void report(int n, const struct vcpu_files *vf, const struct prediction *p,
		   const struct observation *o, const struct check *ck)
{
	const struct kvm_vcpu_events *ev = &vf->events;
	char taken[16];

	stub_name(o->stub, taken, sizeof(taken));
	printf("vcpu%d: ", n);
	if (p->stub >= 0)
		printf("%s vector=%d%s", p->pending ? "pending" : "injected", p->stub,
		       p->payload ? " payload" : "");
	else
		printf("no exception");
	printf(" taken=%s cr2=0x%016" PRIx64 " dr6=0x%" PRIx64, taken, o->cr2, o->dr6);
	if (p->has_error_code && o->stub >= 0)
		printf(" err=0x%" PRIx64, o->frame_err);
	printf(" rf=%d", !!(o->frame_rflags & RFLAGS_RF));
	if (p->payload)
		printf(" ed=0x%" PRIx64, p->event_data);
	/* What KVM_SET_VCPU_EVENTS kept of a payload (GET before the run). */
	if (ev->exception_has_payload)
		printf(" kept_has_payload=%u", o->set_kept.exception_has_payload);
	printf(ck->failed ? " MISMATCH:%s\n" : " ok\n", ck->text);
}

static int oracle_vcpu(int kvm_fd, const char *root, int n, const struct fixture_info *fi)
{
	struct vcpu_files vf;
	struct prediction p;
	struct observation o;
	struct check ck = { { 0 }, false };
	struct guest g;
	char dir[4096];
	uint64_t rip;
	int rc = EXIT_SETUP;

	snprintf(dir, sizeof(dir), "%s/vcpu%d", root, n);
	if (vf_read(dir, &vf) < 0)
		return EXIT_SETUP;
	predict(&vf, &p);
	memset(&o, 0, sizeof(o));
	if (guest_create(&g, kvm_fd, 1, vf.events.flags & EV_FLAG_VALID_PAYLOAD) < 0 ||
	    guest_baseline(&g, 0) < 0)
		goto out;
	if (load_vcpu(&g, &vf, fi, n, &ck) < 0) {
		printf("vcpu%d: MISMATCH:%s\n", n, ck.text);
		rc = EXIT_MISMATCH;
		goto out;
	}
	if (ioctl(g.vcpu_fd[0], KVM_GET_VCPU_EVENTS, &o.set_kept) < 0) {
		errsys("KVM_GET_VCPU_EVENTS");
		goto out;
	}
	if (guest_run_to_hlt(&g, 0, &rip) < 0) {
		printf("vcpu%d: MISMATCH: the vCPU did not reach a HLT\n", n);
		rc = EXIT_MISMATCH;
		goto out;
	}
	if (observe(&g, &p, &o) < 0)
		goto out;
	compare(&p, &o, &ck);
	check_event_data(fi, n, &p, &ck);
	report(n, &vf, &p, &o, &ck);
	rc = ck.failed ? EXIT_MISMATCH : EXIT_OK;
out:
	guest_destroy(&g);
	return rc;
}

int cmd_oracle(int argc, char **argv)
{
	struct fixture_info fi;
	char path[4096], why[256];
	int fd, n, nvcpus, rc = EXIT_OK;

	if (argc != 2) {
		errmsg("usage: fredck-kvm oracle KVMDIR");
		return EXIT_USAGE;
	}
	fd = kvm_open_checked(why, sizeof(why));
	if (fd < 0) {
		printf("skip: %s\n", why);
		return EXIT_SKIP;
	}
	nvcpus = count_vcpu_dirs(argv[1]);
	if (nvcpus <= 0) {
		errmsg("%s: no vcpu0/ directory", argv[1]);
		close(fd);
		return EXIT_SETUP;
	}
	snprintf(path, sizeof(path), "%s/FIXTURE", argv[1]);
	if (fixture_read(path, &fi) < 0)
		errmsg("%s: absent; loading CR4 without FRED and EFER as saved", path);
	for (n = 0; n < nvcpus; n++) {
		int r = oracle_vcpu(fd, argv[1], n, &fi);

		/* A setup error outranks a mismatch: the check did not happen. */
		if (r == EXIT_SETUP || (r == EXIT_MISMATCH && rc == EXIT_OK))
			rc = r;
	}
	close(fd);
	return rc;
}
