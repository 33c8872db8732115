/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * findings.c --- the findings table and detection (docs/design.md section 2).
 *
 * Each row is one stable code.  The same rows give the one-line messages
 * of check, the long texts of explain, and the man page's list.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "reconstruct/findings.h"

static const struct finding_desc table[] = {
	{
		.code = FK_PF_EVENT_DATA_LOST,
		.severity = SEV_PROBLEM,
		.name = "pf-event-data-lost",
		.summary = "#PF event data lost: the guest gets a wrong fault address",
		.explanation =
			"The vCPU has FRED enabled (CR4.FRED, IA-32e mode) and a page fault queued "
			"without its event data: saved as injected (KVM re-queued it after a VM exit "
			"during delivery, or the VMM or QEMU's pre-save converted a pending one), or "
			"pending without a payload. struct kvm_vcpu_events has no field for FRED event "
			"data and KVM_SET_VCPU_EVENTS drops the payload of an injected exception, so "
			"after restore KVM delivers the #PF with event data 0 or stale. A Linux FRED "
			"guest reads the fault address from the event data, not CR2: it fixes up the "
			"wrong page, oopses, or corrupts memory silently.",
		.repair =
			"pending: re-queue the #PF as pending with payload = the saved CR2, which KVM "
			"delivers as event data (needs KVM_CAP_EXCEPTION_PAYLOAD at the destination "
			"and a known error code). drop: clear it; re-executing the faulting "
			"instruction raises it again with the right event data and error code (not "
			"for faults KVM synthesised: emulation, async page faults).",
	},
	{
		.code = FK_DB_EVENT_DATA_LOST,
		.severity = SEV_PROBLEM,
		.name = "db-event-data-lost",
		.summary = "#DB event data lost: the guest gets wrong debug conditions",
		.explanation =
			"The vCPU has FRED enabled and a debug exception queued without its event "
			"data (saved as injected, or pending without a payload). FRED #DB event data "
			"holds the conditions of this #DB alone (B0-B3, BLD, BD, BS, RTM, active "
			"high). After restore KVM delivers it with event data 0 or stale: the guest "
			"misses or misattributes a breakpoint or single-step.",
		.repair =
			"pending only, and only when the rebuilt value is exact (or --force takes the "
			"best estimate): the payload is rebuilt from DR6. #DB is never dropped: it "
			"may be a trap whose instruction already completed, an ICEBP, or a general "
			"detect that will not fault again. Without KVM_CAP_EXCEPTION_PAYLOAD at the "
			"destination the vCPU is left as it is and reported.",
	},
	{
		.code = FK_NM_EVENT_DATA_LOST,
		.severity = SEV_PROBLEM,
		.name = "nm-event-data-lost",
		.summary = "#NM event data lost: the guest gets a wrong XFD_ERR",
		.explanation =
			"The vCPU has FRED enabled and a device-not-available exception queued "
			"without its event data (saved as injected, or pending without a payload). "
			"For an #NM caused by extended feature disable (XFD, used for AMX) the event "
			"data is IA32_XFD_ERR, naming the disabled feature; otherwise it is 0. QEMU's "
			"pre-save drops #NM payloads entirely.",
		.repair =
			"pending when the value can be rebuilt (from CR0.TS, XCR0, IA32_XFD and "
			"IA32_XFD_ERR) and the destination has KVM_CAP_EXCEPTION_PAYLOAD; otherwise "
			"drop: the #NM is a fault and comes back when the instruction re-executes.",
	},
	{
		.code = FK_DB_AMBIGUOUS,
		.severity = SEV_NOTE,
		.name = "db-event-data-ambiguous",
		.summary = "#DB event data ambiguous: sticky DR6 bits may be stale",
		.explanation =
			"DR6.BS and DR6.BD are sticky: KVM ORs them in on every #DB and neither the "
			"processor nor a Linux FRED guest clears them, so a set bit may belong to an "
			"earlier #DB. BS is confirmed when RFLAGS.TF is set; nothing can confirm BD, "
			"because KVM clears DR7.GD when it injects the #DB. B0-B3, BLD and RTM are "
			"always exact.",
		.repair =
			"auto and pending leave the vCPU as it is. --force makes pending use the best "
			"estimate: the rebuilt value with the doubtful bits cleared.",
	},
	{
		.code = FK_NM_UNRECOVERABLE,
		.severity = SEV_NOTE,
		.name = "nm-event-data-unrecoverable",
		.summary = "#NM event data cannot be rebuilt: a register it needs is not saved",
		.explanation =
			"With CR0.TS clear and AMX tile data enabled in XCR0, the #NM event data is "
			"IA32_XFD_ERR when IA32_XFD is non-zero. The format did not save IA32_XFD or "
			"IA32_XFD_ERR (or CR0), so the value is unknown.",
		.repair = "auto drops the #NM (it is a fault and comes back on re-execution); "
			  "pending refuses.",
	},
	{
		.code = FK_REG_NOT_SAVED,
		.severity = SEV_NOTE,
		.name = "register-not-saved",
		.summary = "a register the reconstruction needs is not saved by the format",
		.explanation =
			"The rebuilt event data comes from a saved register (CR2 for #PF, DR6 for "
			"#DB, CR0, XCR0, IA32_XFD and IA32_XFD_ERR for #NM). This format or this "
			"file does not carry it (Cloud Hypervisor saves no DR6, Firecracker no "
			"XFD_ERR, a kvm-dir may lack debugregs or msrs).",
		.repair = "the event data is unrecoverable: pending refuses; drop (#PF, #NM) "
			  "needs no reconstruction.",
	},
	{
		.code = FK_NESTED_GUEST_MODE,
		.severity = SEV_NOTE,
		.name = "nested-guest-mode",
		.summary = "vCPU in nested guest mode: repair refused",
		.explanation =
			"The vCPU was running a nested (L2) guest. The queued exception may belong to "
			"L2 or have been injected by L1, and a pending exception is checked again "
			"against L1's interception: converting it could cause a spurious VM exit to "
			"L1. Dropping it would desynchronise L1's view (vmcs12).",
		.repair = "none, whatever --strategy or --force say: the vCPU is reported and left "
			  "as it is.",
	},
	{
		.code = FK_FRED_MSRS_NOT_SAVED,
		.severity = SEV_NOTE,
		.name = "fred-msrs-not-saved",
		.summary = "FRED MSRs not saved by the format: the restore loses them",
		.explanation =
			"CR4.FRED is set but the saved state lacks some of IA32_FRED_CONFIG, "
			"IA32_FRED_RSP0-3, IA32_FRED_STKLVLS and IA32_FRED_SSP1-3. After restore the "
			"guest's FRED entry point and stacks are reset: its next event is delivered "
			"to the wrong place.",
		.repair = "none: fredck cannot invent them. Save with a VMM that migrates the FRED "
			  "MSRs.",
	},
	{
		.code = FK_ERROR_CODE_NOT_SAVED,
		.severity = SEV_NOTE,
		.name = "error-code-not-saved",
		.summary = "the exception's error code is not carried by the format",
		.explanation =
			"The exception has an error code, but the format does not save it (QEMU "
			"streams before the cpu/error_code subsection): the destination injects it "
			"with error code 0. This breaks non-FRED guests too (a #PF with the wrong "
			"error code makes the guest panic).",
		.repair = "auto repairs a lost #PF by drop, so that re-execution regenerates the "
			  "error code. --strategy=pending refuses it (error-code-lost) unless "
			  "--force, which delivers error code 0.",
	},
	{
		.code = FK_FOUND_BY_SCAN,
		.severity = SEV_NOTE,
		.name = "cpu-found-by-scan",
		.summary = "the stream has no device description: this vCPU was found by "
			   "scanning the device sections",
		.explanation =
			"A QEMU stream without its device description (suppress-vmdesc, or a "
			"description that is absent) does not say how long each device's section "
			"is. fredck scans for the sections' footers (7e and the section id) and "
			"counts the ways the device state can be read through them to its end: "
			"with exactly one, that is where the sections are, whatever the guest "
			"wrote; with more than one the stream is refused (exit 8). Device sections "
			"hold bytes the guest controls (an IDE PIO buffer of 128 KiB is filled from "
			"the guest's disk), which is why a header is never taken for a section "
			"merely because it is there. Where no reading reaches the end (a device "
			"state over the hold limit, or damage), cpu sections are found by their "
			"17-byte header alone, which a guest can forge.",
		.repair = "none unless --force: a repair would write inside whatever the scan "
			  "found. With --force the vCPUs found are repaired as any other.",
	},
};

#define TABLE_LEN (sizeof(table) / sizeof(table[0]))

const struct finding_desc *finding_table(size_t *count)
{
	*count = TABLE_LEN;
	return table;
}

const struct finding_desc *finding_desc(enum finding_code code)
{
	for (size_t i = 0; i < TABLE_LEN; i++)
		if (table[i].code == code)
			return &table[i];
	return NULL;
}

const struct finding_desc *finding_lookup(const char *text)
{
	const char *digits = text;
	unsigned int n = 0;

	if (strncasecmp(digits, "FK", 2) == 0)
		digits += 2;
	if (*digits && strspn(digits, "0123456789") == strlen(digits) && strlen(digits) <= 4) {
		for (const char *p = digits; *p; p++)
			n = n * 10 + (unsigned int)(*p - '0');
		return finding_desc((enum finding_code)n);
	}
	for (size_t i = 0; i < TABLE_LEN; i++)
		if (strcasecmp(table[i].name, text) == 0)
			return &table[i];
	return NULL;
}

int findings_table_verify(void)
{
	for (size_t i = 0; i < TABLE_LEN; i++) {
		const struct finding_desc *d = &table[i];

		if (!d->name || !*d->name || !d->summary || !*d->summary || !d->explanation ||
		    !*d->explanation || !d->repair || !*d->repair)
			return -1;
		if (d->code < 100 || d->code > 999)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (table[j].code == d->code || strcmp(table[j].name, d->name) == 0)
				return -1;
	}
	return 0;
}

static bool is_event_data_vector(uint8_t nr)
{
	return nr == VEC_DB || nr == VEC_NM || nr == VEC_PF;
}

bool vcpu_at_risk(const struct vcpu_state *v)
{
	const struct vcpu_exception *e = &v->exc;

	if (!vcpu_fred_active(v) || !is_event_data_vector(e->nr))
		return false;
	return e->state == EXC_INJECTED || (e->state == EXC_PENDING && !e->has_payload);
}

enum loss_cause vcpu_loss_cause(const struct vcpu_state *v)
{
	if (!vcpu_at_risk(v))
		return CAUSE_NONE;
	if (v->exc.state == EXC_PENDING)
		return CAUSE_PENDING_NO_PAYLOAD;
	if (v->saver == SAVER_QEMU)
		return CAUSE_QEMU_INJECTED;
	if (!(v->events_flags & EVENTS_FLAG_VALID_PAYLOAD))
		return CAUSE_NO_PAYLOAD_CAP;
	return CAUSE_INJECTED;
}

/*
 * Keys, one-line summaries (a report's "why:", within 80 columns) and
 * whole sentences (-v, JSON) for enum loss_cause, in enum order.
 */
static const struct {
	const char *name;
	const char *summary;
	const char *text;
} causes[] = {
	[CAUSE_NONE] = { "none", "", "" },
	[CAUSE_INJECTED] = { "saved-injected",
			     "saved as injected: the restore drops an injected exception's payload",
			     "saved as injected (KVM re-queues an exception as injected after a VM "
			     "exit during its delivery, or the VMM converted it); "
			     "KVM_SET_VCPU_EVENTS drops the payload of an injected exception" },
	[CAUSE_NO_PAYLOAD_CAP] = { "no-payload-cap-at-save",
				   "saved without KVM_CAP_EXCEPTION_PAYLOAD: the payload is not saved",
				   "saved without KVM_CAP_EXCEPTION_PAYLOAD (flags lack 0x10): KVM "
				   "reports any queued exception as injected and its payload is "
				   "dropped on restore" },
	[CAUSE_PENDING_NO_PAYLOAD] = { "pending-without-payload",
				       "saved as pending without a payload",
				       "saved as pending without a payload: nothing carries the "
				       "event data" },
	[CAUSE_QEMU_INJECTED] = { "qemu-pre-save",
				  "QEMU saved it as injected (its pre-save hook): the payload is lost",
				  "QEMU saved it as injected: its pre-save hook turns a pending "
				  "exception into an injected one outside nested guest mode (a #PF "
				  "payload goes to CR2, a #DB payload raw into DR6, an #NM payload is "
				  "dropped), or KVM had already re-queued it as injected" },
};

const char *loss_cause_name(enum loss_cause c)
{
	if ((unsigned int)c >= sizeof(causes) / sizeof(causes[0]))
		return "?";
	return causes[c].name;
}

const char *loss_cause_summary(enum loss_cause c)
{
	if ((unsigned int)c >= sizeof(causes) / sizeof(causes[0]))
		return "?";
	return causes[c].summary;
}

const char *loss_cause_text(enum loss_cause c)
{
	if ((unsigned int)c >= sizeof(causes) / sizeof(causes[0]))
		return "?";
	return causes[c].text;
}

static enum finding_code lost_code(uint8_t nr)
{
	switch (nr) {
	case VEC_PF:
		return FK_PF_EVENT_DATA_LOST;
	case VEC_DB:
		return FK_DB_EVENT_DATA_LOST;
	default:
		return FK_NM_EVENT_DATA_LOST;
	}
}

static size_t add(struct finding *out, size_t n, enum finding_code code)
{
	if (n >= FINDINGS_MAX)
		return n;
	memset(&out[n], 0, sizeof(out[n]));
	out[n].code = code;
	out[n].reg = VREG_COUNT;
	return n + 1;
}

/* Notes on the reconstruction of an at-risk vCPU's event data. */
static size_t check_rebuild(const struct vcpu_state *v, struct finding *out, size_t n)
{
	struct event_data ed = rebuild_event_data(v, v->exc.nr);

	if (ed.confidence == CONF_AMBIGUOUS) {
		n = add(out, n, FK_DB_AMBIGUOUS);
		out[n - 1].bits = ed.doubtful;
	}
	if (ed.confidence == CONF_UNRECOVERABLE) {
		if (ed.vector == VEC_NM)
			n = add(out, n, FK_NM_UNRECOVERABLE);
		n = add(out, n, FK_REG_NOT_SAVED);
		out[n - 1].reg = ed.missing;
	}
	return n;
}

/* The mask of every FRED MSR, as enum vcpu_reg bits. */
#define FRED_MSRS_ALL (((1ULL << (VREG_FRED_LAST + 1)) - 1) & ~((1ULL << VREG_FRED_FIRST) - 1))

static uint64_t missing_fred_msrs(const struct vcpu_state *v)
{
	uint64_t missing = 0;

	for (int r = VREG_FRED_FIRST; r <= VREG_FRED_LAST; r++)
		if (!vcpu_has(v, (enum vcpu_reg)r))
			missing |= 1ULL << r;
	return missing;
}

size_t vcpu_check(const struct vcpu_state *v, struct finding *out)
{
	size_t n = 0;
	uint64_t fred_missing;

	if (vcpu_at_risk(v)) {
		n = add(out, n, lost_code(v->exc.nr));
		n = check_rebuild(v, out, n);
		if (v->nested_guest_mode)
			n = add(out, n, FK_NESTED_GUEST_MODE);
	}
	if (v->exc.state != EXC_NONE && v->exc.has_error_code && !v->exc.error_code_saved)
		n = add(out, n, FK_ERROR_CODE_NOT_SAVED);
	if (vcpu_has(v, VREG_CR4) && (v->reg[VREG_CR4] & X86_CR4_FRED)) {
		fred_missing = missing_fred_msrs(v);
		if (fred_missing) {
			n = add(out, n, FK_FRED_MSRS_NOT_SAVED);
			out[n - 1].fred_missing = fred_missing;
		}
	}
	if (v->found_by_scan)
		n = add(out, n, FK_FOUND_BY_SCAN);
	return n;
}

void dr6_bit_names(uint64_t bits, char *buf, size_t len)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} names[] = {
		{ 1ULL << 0, "B0" }, { 1ULL << 1, "B1" }, { 1ULL << 2, "B2" },
		{ 1ULL << 3, "B3" }, { DR6_BLD, "BLD" }, { DR6_BD, "BD" },
		{ DR6_BS, "BS" },    { DR6_BT, "BT" },   { DR6_RTM, "RTM" },
	};
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(bits & names[i].bit) || used >= len)
			continue;
		int w = snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[i].name);
		if (w > 0)
			used += (size_t)w;
	}
}

/* "fred_config, fred_rsp0" for a mask of enum vcpu_reg bits, into buf. */
static void reg_names(uint64_t mask, char *buf, size_t len)
{
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (int r = 0; r < VREG_COUNT; r++) {
		if (!(mask & (1ULL << r)) || used >= len)
			continue;
		int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
				 vcpu_reg_desc((enum vcpu_reg)r)->name);
		if (w > 0)
			used += (size_t)w;
	}
}

void finding_message(const struct finding *f, char *buf, size_t len)
{
	const struct finding_desc *d = finding_desc(f->code);
	char detail[160];

	if (!d) {
		snprintf(buf, len, "unknown finding %d", (int)f->code);
		return;
	}
	switch (f->code) {
	case FK_DB_AMBIGUOUS:
		dr6_bit_names(f->bits, detail, sizeof(detail));
		snprintf(buf, len, "#DB event data ambiguous: %s may be stale", detail);
		break;
	case FK_REG_NOT_SAVED:
		snprintf(buf, len, "%s is not saved by the format: the event data cannot be rebuilt",
			 f->reg < VREG_COUNT ? vcpu_reg_desc(f->reg)->name : "a register");
		break;
	case FK_FRED_MSRS_NOT_SAVED:
		if (f->fred_missing == FRED_MSRS_ALL)
			snprintf(detail, sizeof(detail), "none of the 9 is saved");
		else
			reg_names(f->fred_missing, detail, sizeof(detail));
		snprintf(buf, len, "FRED MSRs not saved by the format (%s): the restore loses them",
			 detail);
		break;
	default:
		snprintf(buf, len, "%s", d->summary);
		break;
	}
}
