/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gen.c --- `gen CASE OUTDIR` and `gen-all DIR`: run a real vCPU, place the
 * case's exception and registers through the ioctls, capture what KVM hands
 * back, and only then patch in what this host cannot hold (FRED, AMX, XFD).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cases.h"
#include "fredck-kvm.h"

#define STALE_CR2 0x00007FFD5E2B1FF8ULL /* an older fault: stack growth */
#define DR6_RESET 0xFFFF0FF0ULL
#define DR7_RESET 0x400ULL

/* The patch log of one case, written as FIXTURE's patched= line. */
struct patch_log {
	char text[1024];
};

static void log_patch(struct patch_log *pl, int n, const char *file, const char *what)
{
	size_t len = strlen(pl->text);

	snprintf(pl->text + len, sizeof(pl->text) - len, "%svcpu%d/%s:%s",
		 len ? "; " : "", n, file, what);
}

static int place_sregs(struct guest *g, int n, const struct vcpu_spec *sp)
{
	struct kvm_sregs2 s;

	if (ioctl(g->vcpu_fd[n], KVM_GET_SREGS2, &s) < 0) {
		errsys("KVM_GET_SREGS2");
		return -1;
	}
	s.cr0 = baseline_cr0() | (sp->cr0_ts ? CR0_TS : 0);
	s.cr2 = sp->cr2 ? sp->cr2 : STALE_CR2;
	if (ioctl(g->vcpu_fd[n], KVM_SET_SREGS2, &s) < 0) {
		errsys("KVM_SET_SREGS2");
		return -1;
	}
	return 0;
}

static int place_regs(struct guest *g, int n, const struct vcpu_spec *sp)
{
	struct kvm_regs r;

	if (ioctl(g->vcpu_fd[n], KVM_GET_REGS, &r) < 0) {
		errsys("KVM_GET_REGS");
		return -1;
	}
	/* Back to the "faulting" instruction: the lone hlt at GPA_CODE. */
	r.rip = GPA_CODE;
	r.rsp = GUEST_RSP - 0x2000ULL * (uint64_t)n;
	r.rflags = baseline_rflags() | (sp->tf ? RFLAGS_TF : 0);
	/*
	 * A fault requeued after a VM exit during its delivery was saved with
	 * the RF it would have pushed: 1 (SDM, "saving RFLAGS.RF").
	 */
	if (sp->exc == EXC_INJECTED && vector_is_fault(sp->vector))
		r.rflags |= RFLAGS_RF;
	if (ioctl(g->vcpu_fd[n], KVM_SET_REGS, &r) < 0) {
		errsys("KVM_SET_REGS");
		return -1;
	}
	return 0;
}

static int place_debugregs(struct guest *g, int n, const struct vcpu_spec *sp)
{
	struct kvm_debugregs d = { 0 };

	memcpy(d.db, sp->db, sizeof(d.db));
	d.dr6 = sp->dr6 ? sp->dr6 : DR6_RESET;
	d.dr7 = sp->dr7 ? sp->dr7 : DR7_RESET;
	if (ioctl(g->vcpu_fd[n], KVM_SET_DEBUGREGS, &d) < 0) {
		errsys("KVM_SET_DEBUGREGS");
		return -1;
	}
	return 0;
}

/* Last: KVM_SET_REGS would clear a pending exception. */
static int place_events(struct guest *g, int n, const struct vcpu_spec *sp)
{
	struct kvm_vcpu_events ev;

	if (ioctl(g->vcpu_fd[n], KVM_GET_VCPU_EVENTS, &ev) < 0) {
		errsys("KVM_GET_VCPU_EVENTS");
		return -1;
	}
	memset(&ev.exception, 0, sizeof(ev.exception));
	ev.exception_has_payload = 0;
	ev.exception_payload = 0;
	ev.flags = g->payload_cap ? EV_FLAG_VALID_PAYLOAD : 0;
	if (sp->exc != EXC_NONE) {
		ev.exception.injected = sp->exc == EXC_INJECTED;
		ev.exception.pending = sp->exc == EXC_PENDING;
		ev.exception.nr = sp->vector;
		ev.exception.has_error_code = sp->has_error_code;
		ev.exception.error_code = sp->error_code;
		ev.exception_has_payload = sp->has_payload;
		ev.exception_payload = sp->payload;
	}
	if (ioctl(g->vcpu_fd[n], KVM_SET_VCPU_EVENTS, &ev) < 0) {
		errsys("KVM_SET_VCPU_EVENTS");
		return -1;
	}
	return 0;
}

/* Boot the baseline to its hlt once, so the state captured is a run vCPU's. */
static int boot_check(struct guest *g, int n)
{
	uint64_t rip;

	if (guest_baseline(g, n) < 0 || guest_run_to_hlt(g, n, &rip) < 0)
		return -1;
	if (stub_of_rip(rip) != STUB_NONE) {
		errmsg("vcpu%d: baseline halted at 0x%" PRIx64 ", expected 0x%llx", n, rip,
		       (unsigned long long)GPA_CODE + 1);
		return -1;
	}
	return 0;
}

static void append_msr(struct vcpu_files *vf, uint32_t index, uint64_t data)
{
	if (vf_msr(vf, index) || vf->nmsrs >= MAX_MSRS)
		return; /* the host saved it: keep what it saved */
	vf->msrs[vf->nmsrs].index = index;
	vf->msrs[vf->nmsrs].reserved = 0;
	vf->msrs[vf->nmsrs].data = data;
	vf->nmsrs++;
}

/* What a Linux FRED guest programs (arch/x86/kernel/fred.c), per CPU n. */
static void append_fred_msrs(struct vcpu_files *vf, int n)
{
	uint64_t cea = 0x3B000ULL * (uint64_t)n; /* cpu_entry_area stride */

	append_msr(vf, 0x1CC, 0xFFFFC90000A0C000ULL + 0x10000ULL * (uint64_t)n); /* RSP0 */
	append_msr(vf, 0x1CD, 0xFFFFFE000000C000ULL + cea); /* RSP1: #DB stack */
	append_msr(vf, 0x1CE, 0xFFFFFE0000009000ULL + cea); /* RSP2: NMI, #MC stack */
	append_msr(vf, 0x1CF, 0xFFFFFE0000007000ULL + cea); /* RSP3: #DF stack */
	append_msr(vf, 0x1D0, 0x0000002000030024ULL); /* STKLVLS: DB 1, NMI 2, DF 3, MC 2 */
	append_msr(vf, 0x1D1, 0);                       /* SSP1-3: no CET shadow stacks */
	append_msr(vf, 0x1D2, 0);
	append_msr(vf, 0x1D3, 0);
	append_msr(vf, 0x1D4, 0xFFFFFFFF81A00040ULL); /* CONFIG: entry point, red zone 1 */
}

static void patch_xcr0(struct vcpu_files *vf)
{
	uint32_t i;

	for (i = 0; i < vf->xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (vf->xcrs.xcrs[i].xcr == 0)
			vf->xcrs.xcrs[i].value |= XCR0_TILECFG | XCR0_TILEDATA;
}

static void synth_nested(struct vcpu_files *vf)
{
	memset(&vf->nested, 0, sizeof(vf->nested));
	vf->nested.flags = KVM_STATE_NESTED_GUEST_MODE;
	vf->nested.format = KVM_STATE_NESTED_FORMAT_VMX;
	vf->nested.size = sizeof(vf->nested);
	vf->nested.hdr.vmx.vmxon_pa = 0x000000010A3F2000ULL;
	vf->nested.hdr.vmx.vmcs12_pa = 0x000000010A3F3000ULL;
	vf->has_nested = true;
}

static void patch_vcpu(struct vcpu_files *vf, int n, const struct vcpu_spec *sp,
		       const char *sregs_name, struct patch_log *pl)
{
	uint64_t efer = vf_cr(vf, VF_EFER);
	char what[128];

	if (!sp->no_fred) {
		vf_set_cr(vf, VF_CR4, vf_cr(vf, VF_CR4) | CR4_FRED);
		log_patch(pl, n, sregs_name, "cr4|=FRED(bit32)");
	}
	if ((efer & (EFER_LMA | EFER_LME)) != (EFER_LMA | EFER_LME)) {
		vf_set_cr(vf, VF_EFER, efer | EFER_LMA | EFER_LME);
		log_patch(pl, n, sregs_name, "efer|=LMA|LME");
	}
	if (!sp->no_fred_msrs) {
		append_fred_msrs(vf, n);
		log_patch(pl, n, "msrs", "+FRED_RSP0-3,STKLVLS,SSP1-3,CONFIG(0x1cc-0x1d4)");
	}
	if (sp->xfd_msrs) {
		append_msr(vf, MSR_XFD, sp->xfd);
		append_msr(vf, MSR_XFD_ERR, sp->xfd_err);
		snprintf(what, sizeof(what), "+XFD=0x%" PRIx64 ",XFD_ERR=0x%" PRIx64,
			 sp->xfd, sp->xfd_err);
		log_patch(pl, n, "msrs", what);
	}
	if (sp->amx_xcr0) {
		patch_xcr0(vf);
		log_patch(pl, n, "xcrs", "xcr0|=TILECFG|TILEDATA(bits17,18)");
	}
	if (sp->nested) {
		synth_nested(vf);
		log_patch(pl, n, "nested", "synthesized(VMX,GUEST_MODE,size128)");
	}
}

static const char *host_kvm_module(void)
{
	static const char *const mods[] = { "kvm_intel", "kvm_amd", "kvm_pvm" };
	char path[64];
	size_t i;

	for (i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", mods[i]);
		if (access(path, F_OK) == 0)
			return mods[i];
	}
	return "unknown";
}

static void write_expect(FILE *f, int n, const struct vcpu_files *vf)
{
	struct expectation e;

	expect_vcpu(vf, &e);
	fprintf(f, "vcpu%d.expect_state=%s\n", n, e.state);
	fprintf(f, "vcpu%d.expect_vector=%d\n", n, e.vector);
	fprintf(f, "vcpu%d.expect_at_risk=%d\n", n, e.at_risk);
	if (e.at_risk) {
		fprintf(f, "vcpu%d.expect_event_data=0x%016" PRIx64 "\n", n, e.event_data);
		fprintf(f, "vcpu%d.expect_confidence=%s\n", n, confidence_x_name(e.confidence));
	}
	fprintf(f, "vcpu%d.expect_action=%s\n", n, e.action);
}

static int write_fixture(const char *outdir, const struct gen_case *c,
			 const struct vcpu_files *vf, const uint64_t *cr4, const uint64_t *efer,
			 bool cap, const struct patch_log *pl)
{
	char path[4096];
	struct utsname u;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "%s/FIXTURE", outdir);
	f = fopen(path, "w");
	if (!f) {
		errsys(path);
		return -1;
	}
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "unknown");
	fprintf(f, "# Made by tests/kvm/fredck-kvm gen: real KVM_GET_* output, then patched.\n");
	fprintf(f, "case=%s\n", c->name);
	fprintf(f, "description=%s\n", c->description);
	fprintf(f, "kernel=%s\n", u.release);
	fprintf(f, "host_kvm=%s\n", host_kvm_module());
	fprintf(f, "vcpus=%d\n", c->nvcpus);
	for (n = 0; n < c->nvcpus; n++) {
		fprintf(f, "vcpu%d.captured_cr4=0x%016" PRIx64 "\n", n, cr4[n]);
		fprintf(f, "vcpu%d.captured_efer=0x%016" PRIx64 "\n", n, efer[n]);
		fprintf(f, "vcpu%d.payload_cap=%d\n", n, cap);
		write_expect(f, n, &vf[n]);
	}
	fprintf(f, "patched=%s\n", pl->text[0] ? pl->text : "none");
	if (fclose(f) != 0) {
		errsys(path);
		return -1;
	}
	return 0;
}

/* Remove files a previous generation may have left (sregs2 beside sregs...). */
static void clear_vcpu_dir(const char *dir)
{
	static const char *const names[] = { "events", "sregs2", "sregs", "debugregs",
					     "regs", "msrs", "xcrs", "nested" };
	char path[4096];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path))
			continue;
		if (unlink(path) < 0 && errno != ENOENT)
			errsys(path);
	}
}

static int capture_case(struct guest *g, const struct gen_case *c, struct vcpu_files *vf,
			uint64_t *cr4, uint64_t *efer)
{
	int n;

	for (n = 0; n < c->nvcpus; n++) {
		const struct vcpu_spec *sp = &c->vcpu[n];

		if (boot_check(g, n) < 0 || place_sregs(g, n, sp) < 0 ||
		    place_regs(g, n, sp) < 0 || place_debugregs(g, n, sp) < 0 ||
		    place_events(g, n, sp) < 0)
			return -1;
	}
	for (n = 0; n < c->nvcpus; n++) {
		if (vcpu_capture(g, n, c->legacy_sregs, &vf[n]) < 0)
			return -1;
		cr4[n] = vf_cr(&vf[n], VF_CR4);
		efer[n] = vf_cr(&vf[n], VF_EFER);
	}
	return 0;
}

static int gen_case(int kvm_fd, const struct gen_case *c, const char *outdir)
{
	struct vcpu_files vf[MAX_VCPUS];
	uint64_t cr4[MAX_VCPUS], efer[MAX_VCPUS];
	struct patch_log pl = { { 0 } };
	struct guest g;
	char dir[4096];
	int n, rc;

	if (guest_create(&g, kvm_fd, c->nvcpus, c->payload_cap) < 0) {
		guest_destroy(&g);
		return -1;
	}
	rc = capture_case(&g, c, vf, cr4, efer);
	guest_destroy(&g);
	if (rc < 0)
		return -1;
	if (mkdir_p(outdir) < 0)
		return -1;
	for (n = 0; n < c->nvcpus; n++) {
		patch_vcpu(&vf[n], n, &c->vcpu[n], c->legacy_sregs ? "sregs" : "sregs2", &pl);
		snprintf(dir, sizeof(dir), "%s/vcpu%d", outdir, n);
		if (mkdir_p(dir) < 0)
			return -1;
		clear_vcpu_dir(dir);
		if (vf_write(dir, &vf[n]) < 0)
			return -1;
	}
	return write_fixture(outdir, c, vf, cr4, efer, c->payload_cap, &pl);
}

static int open_kvm_or_skip(int *fd)
{
	char why[256];

	*fd = kvm_open_checked(why, sizeof(why));
	if (*fd < 0) {
		printf("skip: %s\n", why);
		return EXIT_SKIP;
	}
	return EXIT_OK;
}

int cmd_gen(int argc, char **argv)
{
	const struct gen_case *c;
	int fd, rc;

	if (argc != 3) {
		errmsg("usage: fredck-kvm gen CASE OUTDIR");
		return EXIT_USAGE;
	}
	c = case_find(argv[1]);
	if (!c) {
		errmsg("unknown case '%s' (fredck-kvm list shows them)", argv[1]);
		return EXIT_USAGE;
	}
	rc = open_kvm_or_skip(&fd);
	if (rc != EXIT_OK)
		return rc;
	rc = gen_case(fd, c, argv[2]) < 0 ? EXIT_SETUP : EXIT_OK;
	close(fd);
	return rc;
}

int cmd_gen_all(int argc, char **argv)
{
	const struct gen_case *cases;
	size_t i, count;
	char dir[4096];
	int fd, rc;

	if (argc != 2) {
		errmsg("usage: fredck-kvm gen-all DIR");
		return EXIT_USAGE;
	}
	rc = open_kvm_or_skip(&fd);
	if (rc != EXIT_OK)
		return rc;
	cases = case_table(&count);
	for (i = 0; i < count; i++) {
		snprintf(dir, sizeof(dir), "%s/%s", argv[1], cases[i].name);
		if (gen_case(fd, &cases[i], dir) < 0) {
			errmsg("case %s failed", cases[i].name);
			rc = EXIT_SETUP;
			break;
		}
		printf("%s\n", dir);
	}
	close(fd);
	return rc;
}

int cmd_list(int argc, char **argv)
{
	const struct gen_case *cases;
	size_t i, count;

	if (argc != 1) {
		errmsg("usage: %s (no arguments)", argv[0]);
		return EXIT_USAGE;
	}
	cases = case_table(&count);
	for (i = 0; i < count; i++)
		printf("%-22s %s\n", cases[i].name, cases[i].description);
	return EXIT_OK;
}
