/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_findings.c --- the findings table and detection (docs/design.md section 2).
 *
 * Written from docs/design.md and findings.h alone: the table is well formed and
 * searchable, vcpu_at_risk() follows the at-risk definition including the
 * KVM_SET_VCPU_EVENTS reading of injected/pending, vcpu_check() reports each
 * finding with its detail, problems first, and every row of the table is
 * produced by some vCPU below.
 */
#include <stddef.h>
#include <stdio.h>

#include "reconstruct/findings.h"
#include "reconstruct/rebuild.h"
#include "reconstruct/vcpu.h"
#include "tests/unit/tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Codes vcpu_check() produced so far: every table row must show up. */
static bool seen[1000];

static void fred_vcpu(struct vcpu_state *v)
{
	enum vcpu_reg r;

	vcpu_init(v, 0);
	v->events_present = true;
	vcpu_set(v, VREG_RIP, 0xffffffff81000000ULL);
	vcpu_set(v, VREG_RFLAGS, 0x2);
	vcpu_set(v, VREG_CR0, 0x80050033ULL);
	vcpu_set(v, VREG_CR2, 0xffff888000001000ULL);
	vcpu_set(v, VREG_CR3, 0x1000);
	vcpu_set(v, VREG_CR4, X86_CR4_FRED | 0x3506f0ULL);
	vcpu_set(v, VREG_EFER, X86_EFER_LMA | X86_EFER_LME | 0x801ULL); /* + SCE NXE */
	vcpu_set(v, VREG_DR6, DR6_ACTIVE_LOW | 0x1); /* B0: an exact #DB */
	vcpu_set(v, VREG_DR7, 0x400);
	vcpu_set(v, VREG_XCR0, 0x60007ULL);
	vcpu_set(v, VREG_XFD, 1ULL << 18);
	vcpu_set(v, VREG_XFD_ERR, 1ULL << 18);
	for (r = VREG_FRED_FIRST; r <= VREG_FRED_LAST; r++)
		vcpu_set(v, r, 0);
	v->nested_saved = true;
}

static void forget(struct vcpu_state *v, enum vcpu_reg r)
{
	v->reg_present &= ~(1ULL << r);
	v->reg[r] = 0;
}

/* The raw kvm_vcpu_events exception, then KVM_SET_VCPU_EVENTS' reading. */
static void set_exc(struct vcpu_state *v, uint8_t nr, bool injected, bool pending,
		    bool has_payload, uint32_t flags)
{
	v->events_flags = flags;
	v->exc.injected = injected;
	v->exc.pending = pending;
	v->exc.nr = nr;
	v->exc.has_error_code = nr == VEC_PF || nr == 13;
	v->exc.error_code = v->exc.has_error_code ? 0x2 : 0;
	v->exc.error_code_saved = true;
	v->exc.has_payload = has_payload;
	v->exc.payload = has_payload ? 0x1234 : 0;
	vcpu_normalise_exception(v);
}

/* An at-risk vCPU: a FRED vCPU with exception nr injected after a requeue. */
static void at_risk_vcpu(struct vcpu_state *v, uint8_t nr)
{
	fred_vcpu(v);
	set_exc(v, nr, true, false, false, EVENTS_FLAG_VALID_PAYLOAD);
}

static size_t check(const struct vcpu_state *v, struct finding *out)
{
	size_t i, n = vcpu_check(v, out);

	for (i = 0; i < n && i < FINDINGS_MAX; i++)
		if (out[i].code < ARRAY_SIZE(seen))
			seen[out[i].code] = true;
	return n;
}

static const struct finding *find(const struct finding *f, size_t n, enum finding_code code)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (f[i].code == code)
			return &f[i];
	return NULL;
}

/* The codes found, "FK101 FK203", for diagnostics. */
static const char *codes(const struct finding *f, size_t n)
{
	static char buf[128];
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < n && i < FINDINGS_MAX && off < sizeof(buf); i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%sFK%03d", i ? " " : "",
				(int)f[i].code);
	return buf;
}

static bool nonempty(const char *s)
{
	return s && *s;
}

static void test_table(void)
{
	static const enum finding_code all[] = {
		FK_PF_EVENT_DATA_LOST, FK_DB_EVENT_DATA_LOST, FK_NM_EVENT_DATA_LOST,
		FK_DB_AMBIGUOUS, FK_NM_UNRECOVERABLE, FK_REG_NOT_SAVED,
		FK_NESTED_GUEST_MODE, FK_FRED_MSRS_NOT_SAVED, FK_ERROR_CODE_NOT_SAVED,
		FK_FOUND_BY_SCAN,
	};
	const struct finding_desc *t;
	size_t n, i, j;
	bool unique = true;

	is_int(findings_table_verify(), 0, "findings_table_verify() accepts the table");
	t = finding_table(&n);
	ok(t && n == ARRAY_SIZE(all), "the table has one row per code (%zu)", n);
	if (!t)
		return;
	for (i = 0; i < n; i++) {
		ok(nonempty(t[i].name) && nonempty(t[i].summary) && nonempty(t[i].explanation) &&
		   nonempty(t[i].repair), "FK%03d: name, summary, explanation, repair present",
		   (int)t[i].code);
		/* 1xx are the at-risk problems; everything else is a note. */
		is_int(t[i].severity, t[i].code < 200 ? SEV_PROBLEM : SEV_NOTE,
		       "FK%03d: severity %s", (int)t[i].code,
		       t[i].code < 200 ? "problem" : "note");
		for (j = i + 1; j < n; j++)
			if (t[i].code == t[j].code ||
			    (t[i].name && t[j].name && strcmp(t[i].name, t[j].name) == 0))
				unique = false;
	}
	ok(unique, "codes and slugs are unique");
	for (i = 0; i < ARRAY_SIZE(all); i++) {
		const struct finding_desc *d = finding_desc(all[i]);

		ok(d && d->code == all[i], "finding_desc(%d) is its row", (int)all[i]);
	}
}

static void test_lookup(void)
{
	static const char *const unknown[] = {
		"FK999", "999", "", "FK", "bogus", "FK1011", "1011", "FK10",
	};
	const struct finding_desc *t;
	size_t n, i;
	char text[32];

	t = finding_table(&n);
	for (i = 0; t && i < n; i++) {
		int c = (int)t[i].code;

		snprintf(text, sizeof(text), "FK%03d", c);
		ok(finding_lookup(text) == &t[i], "finding_lookup(\"%s\")", text);
		snprintf(text, sizeof(text), "fk%03d", c);
		ok(finding_lookup(text) == &t[i], "finding_lookup(\"%s\")", text);
		snprintf(text, sizeof(text), "%d", c);
		ok(finding_lookup(text) == &t[i], "finding_lookup(\"%s\")", text);
		ok(t[i].name && finding_lookup(t[i].name) == &t[i], "finding_lookup(\"%s\")",
		   t[i].name ? t[i].name : "(null)");
	}
	ok(finding_lookup("FK101") && finding_lookup("FK101")->code == FK_PF_EVENT_DATA_LOST,
	   "FK101 is the #PF problem");
	for (i = 0; i < ARRAY_SIZE(unknown); i++)
		ok(finding_lookup(unknown[i]) == NULL, "finding_lookup(\"%s\") is NULL",
		   unknown[i]);
}

struct risk_case {
	const char *name;
	uint8_t nr;
	bool injected, pending, has_payload;
	uint32_t flags;
	bool at_risk;
};

/*
 * docs/design.md section 2, with KVM_SET_VCPU_EVENTS' reading: without flag
 * 0x10 pending is folded into injected (and its payload dropped); with it,
 * pending wins over injected.
 */
static const struct risk_case risk_cases[] = {
	{ "#PF injected", VEC_PF, true, false, false, 0x10, true },
	{ "#DB injected", VEC_DB, true, false, false, 0x10, true },
	{ "#NM injected", VEC_NM, true, false, false, 0x10, true },
	{ "#PF injected, no flags", VEC_PF, true, false, false, 0, true },
	{ "#PF injected with a payload (SET drops it)", VEC_PF, true, false, true, 0x10, true },
	{ "#GP injected", 13, true, false, false, 0x10, false },
	{ "#BP injected", 3, true, false, false, 0x10, false },
	{ "#UD injected", 6, true, false, false, 0x10, false },
	{ "#DE injected", 0, true, false, false, 0x10, false },
	{ "no exception", VEC_PF, false, false, false, 0x10, false },
	{ "#PF pending without payload", VEC_PF, false, true, false, 0x10, true },
	{ "#DB pending without payload", VEC_DB, false, true, false, 0x10, true },
	{ "#NM pending without payload", VEC_NM, false, true, false, 0x10, true },
	{ "#PF pending with payload", VEC_PF, false, true, true, 0x10, false },
	{ "#DB pending with payload", VEC_DB, false, true, true, 0x10, false },
	{ "#NM pending with payload", VEC_NM, false, true, true, 0x10, false },
	{ "#PF injected+pending, no flag 0x10: injected", VEC_PF, true, true, true, 0, true },
	{ "#DB injected+pending, no flag 0x10: injected", VEC_DB, true, true, false, 0, true },
	{ "#PF injected+pending+payload, flag 0x10: pending", VEC_PF, true, true, true, 0x10,
	  false },
	{ "#PF injected+pending, flag 0x10, no payload", VEC_PF, true, true, false, 0x10, true },
	{ "#PF pending, no flag 0x10: injected", VEC_PF, false, true, true, 0, true },
};

static void test_at_risk(void)
{
	struct vcpu_state v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(risk_cases); i++) {
		const struct risk_case *c = &risk_cases[i];

		fred_vcpu(&v);
		set_exc(&v, c->nr, c->injected, c->pending, c->has_payload, c->flags);
		is_int(vcpu_at_risk(&v), c->at_risk, "at risk: %s -> %s", c->name,
		       c->at_risk ? "yes" : "no");
	}

	/* The normalised state itself, for the three readings. */
	fred_vcpu(&v);
	set_exc(&v, VEC_PF, true, true, true, 0);
	is_int(v.exc.state, EXC_INJECTED, "normalise: injected+pending without 0x10 is injected");
	set_exc(&v, VEC_PF, true, true, true, 0x10);
	is_int(v.exc.state, EXC_PENDING, "normalise: injected+pending with 0x10 is pending");
	set_exc(&v, VEC_PF, false, false, false, 0x10);
	is_int(v.exc.state, EXC_NONE, "normalise: neither is none");

	/* FRED and IA-32e mode are both required, and must be known. */
	at_risk_vcpu(&v, VEC_PF);
	vcpu_set(&v, VREG_CR4, 0x3506f0ULL);
	ok(!vcpu_at_risk(&v), "at risk: CR4.FRED clear -> no");
	at_risk_vcpu(&v, VEC_PF);
	forget(&v, VREG_CR4);
	ok(!vcpu_at_risk(&v), "at risk: CR4 not saved -> no");
	at_risk_vcpu(&v, VEC_PF);
	vcpu_set(&v, VREG_EFER, X86_EFER_LME | 0x801ULL); /* SCE NXE LME, no LMA */
	ok(!vcpu_at_risk(&v), "at risk: EFER.LMA clear -> no");
	at_risk_vcpu(&v, VEC_PF);
	forget(&v, VREG_EFER);
	ok(!vcpu_at_risk(&v), "at risk: EFER not saved -> no");
	at_risk_vcpu(&v, VEC_PF);
	ok(vcpu_fred_active(&v), "vcpu_fred_active: CR4.FRED and EFER.LMA");
}

/* The exact list for the simple cases: one problem, nothing else. */
static void test_check_problems(void)
{
	static const struct {
		uint8_t nr;
		enum finding_code code;
	} cases[] = {
		{ VEC_PF, FK_PF_EVENT_DATA_LOST },
		{ VEC_DB, FK_DB_EVENT_DATA_LOST },
		{ VEC_NM, FK_NM_EVENT_DATA_LOST },
	};
	struct finding f[FINDINGS_MAX];
	struct vcpu_state v;
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		at_risk_vcpu(&v, cases[i].nr);
		n = check(&v, f);
		ok(n == 1 && f[0].code == cases[i].code,
		   "at-risk %s, all saved: exactly FK%03d (%s)", vcpu_vector_name(cases[i].nr),
		   (int)cases[i].code, codes(f, n));
		is_int(finding_desc(cases[i].code)->severity, SEV_PROBLEM, "FK%03d is a problem",
		       (int)cases[i].code);
	}
}

static void test_check_db_ambiguous(void)
{
	struct finding f[FINDINGS_MAX];
	const struct finding *g;
	struct vcpu_state v;
	size_t n;

	/* A stale-looking BS with TF clear: BS is doubtful. */
	at_risk_vcpu(&v, VEC_DB);
	vcpu_set(&v, VREG_DR6, DR6_ACTIVE_LOW | DR6_BS | 0x1);
	n = check(&v, f);
	ok(n == 2 && f[0].code == FK_DB_EVENT_DATA_LOST,
	   "ambiguous #DB: FK102 first, 2 findings (%s)", codes(f, n));
	g = find(f, n, FK_DB_AMBIGUOUS);
	ok(g && g->bits == DR6_BS, "ambiguous #DB: FK201 names BS");

	/* BD is always doubtful; BS too with TF clear. */
	vcpu_set(&v, VREG_DR6, DR6_ACTIVE_LOW | DR6_BS | DR6_BD);
	n = check(&v, f);
	g = find(f, n, FK_DB_AMBIGUOUS);
	ok(g && g->bits == (DR6_BS | DR6_BD), "ambiguous #DB: FK201 names BS and BD");

	/* TF set confirms BS: no FK201. */
	vcpu_set(&v, VREG_DR6, DR6_ACTIVE_LOW | DR6_BS);
	vcpu_set(&v, VREG_RFLAGS, 0x2 | X86_RFLAGS_TF);
	n = check(&v, f);
	ok(!find(f, n, FK_DB_AMBIGUOUS), "#DB with BS and TF=1: no FK201 (%s)", codes(f, n));
}

static void test_check_unrecoverable(void)
{
	struct finding f[FINDINGS_MAX];
	const struct finding *g;
	struct vcpu_state v;
	size_t n;

	/* Firecracker: no XFD_ERR. */
	at_risk_vcpu(&v, VEC_NM);
	forget(&v, VREG_XFD_ERR);
	n = check(&v, f);
	ok(n >= 1 && f[0].code == FK_NM_EVENT_DATA_LOST, "#NM without XFD_ERR: FK103 first (%s)",
	   codes(f, n));
	ok(find(f, n, FK_NM_UNRECOVERABLE) != NULL, "#NM without XFD_ERR: FK202");
	g = find(f, n, FK_REG_NOT_SAVED);
	ok(g && g->reg == VREG_XFD_ERR, "#NM without XFD_ERR: FK203 names xfd_err");
	is_int(n, 3, "#NM without XFD_ERR: FK103 FK202 FK203 only (%s)", codes(f, n));

	at_risk_vcpu(&v, VEC_NM);
	forget(&v, VREG_XFD);
	n = check(&v, f);
	ok(find(f, n, FK_NM_UNRECOVERABLE) != NULL, "#NM without XFD: FK202");
	g = find(f, n, FK_REG_NOT_SAVED);
	ok(g && g->reg == VREG_XFD, "#NM without XFD: FK203 names xfd");

	/* A recoverable #NM with missing registers: CR0.TS makes them moot. */
	vcpu_set(&v, VREG_CR0, 0x80050033ULL | X86_CR0_TS);
	forget(&v, VREG_XFD_ERR);
	n = check(&v, f);
	ok(n == 1 && f[0].code == FK_NM_EVENT_DATA_LOST,
	   "#NM with CR0.TS, XFD/XFD_ERR not saved: FK103 only (%s)", codes(f, n));

	/* Cloud Hypervisor: no DR6. */
	at_risk_vcpu(&v, VEC_DB);
	forget(&v, VREG_DR6);
	n = check(&v, f);
	g = find(f, n, FK_REG_NOT_SAVED);
	ok(n >= 1 && f[0].code == FK_DB_EVENT_DATA_LOST && g && g->reg == VREG_DR6,
	   "#DB without DR6: FK102 first, FK203 names dr6 (%s)", codes(f, n));
	ok(!find(f, n, FK_DB_AMBIGUOUS) && !find(f, n, FK_NM_UNRECOVERABLE),
	   "#DB without DR6: neither FK201 nor FK202");

	at_risk_vcpu(&v, VEC_PF);
	forget(&v, VREG_CR2);
	n = check(&v, f);
	g = find(f, n, FK_REG_NOT_SAVED);
	ok(n == 2 && f[0].code == FK_PF_EVENT_DATA_LOST && g && g->reg == VREG_CR2,
	   "#PF without CR2: FK101 then FK203 names cr2 (%s)", codes(f, n));
}

static void test_check_notes(void)
{
	struct finding f[FINDINGS_MAX];
	const struct finding *g;
	struct vcpu_state v;
	size_t n;
	uint64_t mask = 0;
	enum vcpu_reg r;

	at_risk_vcpu(&v, VEC_PF);
	v.nested_guest_mode = true;
	n = check(&v, f);
	ok(n == 2 && f[0].code == FK_PF_EVENT_DATA_LOST && find(f, n, FK_NESTED_GUEST_MODE),
	   "nested guest mode, at risk: FK101 then FK301 (%s)", codes(f, n));

	/* A FRED vCPU whose format lost some FRED MSRs: restore loses them. */
	fred_vcpu(&v);
	forget(&v, VREG_FRED_RSP0);
	forget(&v, VREG_FRED_SSP3);
	n = check(&v, f);
	g = find(f, n, FK_FRED_MSRS_NOT_SAVED);
	ok(n == 1 && g, "FRED MSRs not saved: FK302 only (%s)", codes(f, n));
	ok(g && g->fred_missing == ((1ULL << VREG_FRED_RSP0) | (1ULL << VREG_FRED_SSP3)),
	   "FK302: fred_missing is the mask of the missing registers");
	if (g && g->fred_missing != ((1ULL << VREG_FRED_RSP0) | (1ULL << VREG_FRED_SSP3)))
		diag("  fred_missing 0x%" PRIx64, g->fred_missing);

	fred_vcpu(&v);
	for (r = VREG_FRED_FIRST; r <= VREG_FRED_LAST; r++) {
		forget(&v, r);
		mask |= 1ULL << r;
	}
	n = check(&v, f);
	g = find(f, n, FK_FRED_MSRS_NOT_SAVED);
	ok(g && g->fred_missing == mask, "FK302: every FRED MSR missing");

	/* Without CR4.FRED, the FRED MSRs do not matter. */
	vcpu_set(&v, VREG_CR4, 0x3506f0ULL);
	n = check(&v, f);
	is_int(n, 0, "no CR4.FRED, FRED MSRs not saved: no finding (%s)", codes(f, n));

	/* QEMU streams without cpu/error_code. */
	at_risk_vcpu(&v, VEC_PF);
	v.exc.error_code_saved = false;
	n = check(&v, f);
	ok(n == 2 && f[0].code == FK_PF_EVENT_DATA_LOST && find(f, n, FK_ERROR_CODE_NOT_SAVED),
	   "error code not saved: FK101 then FK303 (%s)", codes(f, n));
	v.exc.has_error_code = false;
	v.exc.error_code = 0;
	n = check(&v, f);
	ok(!find(f, n, FK_ERROR_CODE_NOT_SAVED), "no error code to save: no FK303 (%s)",
	   codes(f, n));
}

static void test_check_clean(void)
{
	struct finding f[FINDINGS_MAX];
	struct vcpu_state v;
	size_t n;

	fred_vcpu(&v);
	n = check(&v, f);
	is_int(n, 0, "clean FRED vCPU, all saved: no finding (%s)", codes(f, n));

	fred_vcpu(&v);
	set_exc(&v, 13, true, false, false, 0x10);
	n = check(&v, f);
	is_int(n, 0, "FRED vCPU with an injected #GP: no finding (%s)", codes(f, n));

	fred_vcpu(&v);
	set_exc(&v, VEC_PF, false, true, true, 0x10);
	n = check(&v, f);
	is_int(n, 0, "FRED vCPU with a pending #PF and payload: no finding (%s)", codes(f, n));

	at_risk_vcpu(&v, VEC_PF);
	vcpu_set(&v, VREG_CR4, 0x3506f0ULL);
	n = check(&v, f);
	is_int(n, 0, "injected #PF without FRED: no finding (%s)", codes(f, n));
}

/* Everything at once: problems first, one finding per code, within bounds. */
static void test_check_order(void)
{
	struct finding f[FINDINGS_MAX];
	struct vcpu_state v;
	size_t n, i, j;
	bool notes = false, order = true, dup = false;

	at_risk_vcpu(&v, VEC_DB);
	vcpu_set(&v, VREG_DR6, DR6_ACTIVE_LOW | DR6_BD);
	v.nested_guest_mode = true;
	forget(&v, VREG_FRED_CONFIG);
	v.exc.has_error_code = true;
	v.exc.error_code_saved = false;
	n = check(&v, f);
	ok(n <= FINDINGS_MAX && n >= 1 && f[0].code == FK_DB_EVENT_DATA_LOST,
	   "many findings: FK102 first (%s)", codes(f, n));
	for (i = 0; i < n && i < FINDINGS_MAX; i++) {
		const struct finding_desc *d = finding_desc(f[i].code);

		if (d && d->severity == SEV_NOTE)
			notes = true;
		else if (notes)
			order = false;
		for (j = i + 1; j < n && j < FINDINGS_MAX; j++)
			if (f[i].code == f[j].code)
				dup = true;
	}
	ok(order, "many findings: problems before notes");
	ok(!dup, "many findings: one per code");
	ok(find(f, n, FK_DB_AMBIGUOUS) && find(f, n, FK_NESTED_GUEST_MODE) &&
	   find(f, n, FK_FRED_MSRS_NOT_SAVED) && find(f, n, FK_ERROR_CODE_NOT_SAVED),
	   "many findings: FK201 FK301 FK302 FK303 all reported");
}

static void test_messages(void)
{
	const struct finding_desc *t;
	struct finding f;
	char buf[256];
	size_t n, i;

	t = finding_table(&n);
	for (i = 0; t && i < n; i++) {
		memset(&f, 0, sizeof(f));
		f.code = t[i].code;
		f.bits = DR6_BS;
		f.reg = VREG_CR2;
		f.fred_missing = 1ULL << VREG_FRED_RSP0;
		memset(buf, 'x', sizeof(buf));
		finding_message(&f, buf, sizeof(buf));
		ok(memchr(buf, '\0', sizeof(buf)) && buf[0] && !strchr(buf, '\n'),
		   "FK%03d: message is one non-empty line: \"%.*s\"", (int)f.code,
		   (int)sizeof(buf) - 1, buf);
	}

	memset(&f, 0, sizeof(f));
	f.code = FK_DB_AMBIGUOUS;
	f.bits = DR6_BS | DR6_BD;
	finding_message(&f, buf, sizeof(buf));
	ok(strstr(buf, "BS") && strstr(buf, "BD"), "FK201 message names BS and BD: \"%s\"", buf);

	memset(&f, 0, sizeof(f));
	f.code = FK_REG_NOT_SAVED;
	f.reg = VREG_XFD_ERR;
	finding_message(&f, buf, sizeof(buf));
	ok(strstr(buf, "xfd_err") != NULL, "FK203 message names xfd_err: \"%s\"", buf);
	is_str(vcpu_reg_desc(VREG_XFD_ERR)->name, "xfd_err", "register name of IA32_XFD_ERR");
	f.reg = VREG_DR6;
	finding_message(&f, buf, sizeof(buf));
	ok(strstr(buf, vcpu_reg_desc(VREG_DR6)->name) != NULL, "FK203 message names dr6: \"%s\"",
	   buf);

	/* Always NUL-terminated, even when it does not fit. */
	memset(buf, 'x', sizeof(buf));
	finding_message(&f, buf, 8);
	ok(strnlen(buf, 8) < 8, "finding_message truncates within len");
	memset(buf, 'x', sizeof(buf));
	finding_message(&f, buf, 1);
	is_int(buf[0], '\0', "finding_message with len 1 gives \"\"");
}

static void test_dr6_bit_names(void)
{
	char buf[64];

	dr6_bit_names(0, buf, sizeof(buf));
	is_str(buf, "", "dr6_bit_names(0)");
	dr6_bit_names(DR6_BS, buf, sizeof(buf));
	is_str(buf, "BS", "dr6_bit_names(BS)");
	dr6_bit_names(DR6_BD, buf, sizeof(buf));
	is_str(buf, "BD", "dr6_bit_names(BD)");
	dr6_bit_names(DR6_BS | DR6_BD, buf, sizeof(buf));
	is_str(buf, "BD,BS", "dr6_bit_names(BS|BD): bit order, as documented in findings.h");
	memset(buf, 'x', sizeof(buf));
	dr6_bit_names(DR6_BS | DR6_BD, buf, 3);
	ok(strnlen(buf, 3) < 3, "dr6_bit_names truncates within len");
}

/* A vCPU a scan found (no device description): FK304, last, at risk or not. */
static void test_check_found_by_scan(void)
{
	struct finding f[FINDINGS_MAX];
	struct vcpu_state v;
	size_t n;

	at_risk_vcpu(&v, VEC_PF);
	v.found_by_scan = true;
	n = check(&v, f);
	ok(n >= 2 && f[0].code == FK_PF_EVENT_DATA_LOST && f[n - 1].code == FK_FOUND_BY_SCAN,
	   "found by scan, at risk: FK101 first, FK304 last (%zu findings)", n);
	vcpu_init(&v, 0);
	v.found_by_scan = true;
	n = check(&v, f);
	ok(n == 1 && f[0].code == FK_FOUND_BY_SCAN, "found by scan, clean: FK304 alone");
	is_int(finding_desc(FK_FOUND_BY_SCAN)->severity, SEV_NOTE, "FK304 is a note");
}

static void test_all_rows_seen(void)
{
	const struct finding_desc *t;
	size_t n, i;

	t = finding_table(&n);
	for (i = 0; t && i < n; i++)
		ok(t[i].code < ARRAY_SIZE(seen) && seen[t[i].code],
		   "FK%03d (%s) was produced by some test vCPU", (int)t[i].code, t[i].name);
}

/* Every cause has a key, a sentence and a summary short enough for a "why:" line. */
static void test_cause_texts(void)
{
	for (enum loss_cause c = CAUSE_INJECTED; c <= CAUSE_QEMU_INJECTED; c++) {
		const char *summary = loss_cause_summary(c);

		ok(*loss_cause_name(c) && *loss_cause_text(c) && *summary, "cause %s has its texts",
		   loss_cause_name(c));
		ok(strlen(summary) <= LOSS_CAUSE_SUMMARY_MAX && strlen(summary) < strlen(loss_cause_text(c)),
		   "cause %s: the summary (%zu characters) fits a why: line and is shorter than the "
		   "sentence", loss_cause_name(c), strlen(summary));
	}
	is_str(loss_cause_summary((enum loss_cause)99), "?", "an unknown cause");
}

int main(void)
{
	test_cause_texts();
	test_table();
	test_lookup();
	test_at_risk();
	test_check_problems();
	test_check_db_ambiguous();
	test_check_unrecoverable();
	test_check_notes();
	test_check_clean();
	test_check_order();
	test_messages();
	test_dr6_bit_names();
	test_check_found_by_scan();
	test_all_rows_seen();
	return done_testing();
}
