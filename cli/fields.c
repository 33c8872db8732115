/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fields.c --- the vCPU field table and its two writers (see fields.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/fields.h"
#include "cli/output.h"
#include "cli/report.h"

/* Names of struct kvm_vcpu_events.flags bits: which fields were saved, not vCPU state. */
static const struct {
	uint32_t bit;
	const char *name;
} events_flag_names[] = {
	{ 0x01, "nmi-pending" }, { 0x02, "sipi-vector" }, { 0x04, "shadow" },
	{ 0x08, "smm" },         { 0x10, "payload" },     { 0x20, "triple-fault" },
	{ 0x40, "nested-flag" },
};
#define EVENTS_FLAG_PREFIX "KVM_VCPUEVENT_VALID_"

#define GETTER(fn, expr)                                                                  \
	static bool fn(const struct vcpu_state *v, int arg, struct field_value *out)       \
	{                                                                                 \
		(void)arg;                                                                \
		out->n = (uint64_t)(expr);                                                \
		return true;                                                              \
	}

GETTER(exc_state, v->exc.state)
GETTER(exc_nr, v->exc.nr)
GETTER(exc_nr_queued, v->exc.state == EXC_NONE ? 0 : v->exc.nr)
GETTER(exc_injected, v->exc.injected)
GETTER(exc_pending, v->exc.pending)
GETTER(exc_has_error_code, v->exc.has_error_code)
GETTER(exc_error_code, v->exc.error_code)
GETTER(exc_error_code_saved, v->exc.error_code_saved)
GETTER(exc_has_payload, v->exc.has_payload)
GETTER(exc_payload, v->exc.payload)
GETTER(exc_is_nested, v->exc.is_nested)
GETTER(intr_injected, v->intr.injected)
GETTER(intr_nr, v->intr.nr)
GETTER(intr_soft, v->intr.soft)
GETTER(intr_shadow, v->intr.shadow)
GETTER(nmi_injected, v->nmi.injected)
GETTER(nmi_pending, v->nmi.pending)
GETTER(nmi_masked, v->nmi.masked)
GETTER(events_flags, v->events_flags)
GETTER(nested_saved, v->nested_saved)
GETTER(nested_guest_mode, v->nested_guest_mode)
GETTER(nested_run_pending, v->nested_run_pending)

/* diff: the error code counts only when there is one, and only when it was saved. */
static bool exc_error_code_cmp(const struct vcpu_state *v, int arg, struct field_value *out)
{
	(void)arg;
	out->n = v->exc.has_error_code ? v->exc.error_code : 0;
	return !v->exc.has_error_code || v->exc.error_code_saved;
}

/* "#PF": null when nothing is queued. */
static bool exc_name(const struct vcpu_state *v, int arg, struct field_value *out)
{
	(void)arg;
	snprintf(out->s, sizeof(out->s), "%s", vcpu_vector_name(v->exc.nr));
	return v->exc.state != EXC_NONE;
}

/* The text lines that say a whole group at once. */
static bool exc_text(const struct vcpu_state *v, int arg, struct field_value *out)
{
	(void)arg;
	describe_exception(&v->exc, out->s, sizeof(out->s));
	return true;
}

static bool intr_text(const struct vcpu_state *v, int arg, struct field_value *out)
{
	(void)arg;
	if (v->intr.injected)
		snprintf(out->s, sizeof(out->s), "vector %u injected%s", v->intr.nr,
			 v->intr.soft ? " (soft)" : "");
	else
		snprintf(out->s, sizeof(out->s), "none");
	return true;
}

static bool nmi_text(const struct vcpu_state *v, int arg, struct field_value *out)
{
	(void)arg;
	snprintf(out->s, sizeof(out->s), "%s, %u pending, %s",
		 v->nmi.injected ? "injected" : "not injected", v->nmi.pending,
		 v->nmi.masked ? "masked" : "unmasked");
	return true;
}

static bool nested_text(const struct vcpu_state *v, int arg, struct field_value *out)
{
	(void)arg;
	snprintf(out->s, sizeof(out->s), "%s",
		 !v->nested_saved	      ? "not saved" :
		 v->nested_guest_mode ? (v->nested_run_pending ? "guest mode, run pending" :
								 "guest mode") :
					"not in guest mode");
	return true;
}

static bool reg(const struct vcpu_state *v, int r, struct field_value *out)
{
	out->n = v->reg[r];
	return vcpu_has(v, (enum vcpu_reg)r);
}

#define J FIELD_IN_JSON
#define T FIELD_IN_TEXT
#define D FIELD_IN_DIFF

/* The rows before the registers (which follow, from the register table). */
static const struct field event_fields[] = {
	{ NULL, NULL, "exception", FIELD_STRING, T, exc_text, NULL, 0 },
	{ "exception.state", "exception.state", NULL, FIELD_STATE, J | D, exc_state, NULL, 0 },
	{ "exception.vector", "exception.vector", NULL, FIELD_INT, J | D, exc_nr, exc_nr_queued, 0 },
	{ "exception.name", NULL, NULL, FIELD_STRING, J, exc_name, NULL, 0 },
	{ "exception.injected", "exception.injected", NULL, FIELD_BOOL, J | D, exc_injected, NULL,
	  0 },
	{ "exception.pending", "exception.pending", NULL, FIELD_BOOL, J | D, exc_pending, NULL, 0 },
	{ "exception.has_error_code", "exception.has_error_code", NULL, FIELD_BOOL, J | D,
	  exc_has_error_code, NULL, 0 },
	{ "exception.error_code", "exception.error_code", NULL, FIELD_HEX32, J | D, exc_error_code,
	  exc_error_code_cmp, 0 },
	{ "exception.error_code_saved", NULL, NULL, FIELD_BOOL, J, exc_error_code_saved, NULL, 0 },
	{ "exception.has_payload", "exception.has_payload", NULL, FIELD_BOOL, J | D,
	  exc_has_payload, NULL, 0 },
	{ "exception.payload", "exception.payload", NULL, FIELD_HEX64, J | D, exc_payload, NULL,
	  0 },
	{ "exception.is_nested", "exception.is_nested", NULL, FIELD_BOOL, J | D, exc_is_nested,
	  NULL, 0 },
	{ NULL, NULL, "interrupt", FIELD_STRING, T, intr_text, NULL, 0 },
	{ "interrupt.injected", "interrupt.injected", NULL, FIELD_BOOL, J | D, intr_injected, NULL,
	  0 },
	{ "interrupt.vector", "interrupt.vector", NULL, FIELD_INT, J | D, intr_nr, NULL, 0 },
	{ "interrupt.soft", "interrupt.soft", NULL, FIELD_BOOL, J | D, intr_soft, NULL, 0 },
	{ "interrupt.shadow", "interrupt.shadow", NULL, FIELD_INT, J | D, intr_shadow, NULL, 0 },
	{ NULL, NULL, "nmi", FIELD_STRING, T, nmi_text, NULL, 0 },
	{ "nmi.injected", "nmi.injected", NULL, FIELD_BOOL, J | D, nmi_injected, NULL, 0 },
	{ "nmi.pending", "nmi.pending", NULL, FIELD_INT, J | D, nmi_pending, NULL, 0 },
	{ "nmi.masked", "nmi.masked", NULL, FIELD_BOOL, J | D, nmi_masked, NULL, 0 },
	/* Text: the interrupt shadow on a line of its own, after the NMI. */
	{ NULL, NULL, "shadow", FIELD_HEX8, T, intr_shadow, NULL, 0 },
	{ "events_flags", "events_flags", NULL, FIELD_HEX32, J | D, events_flags, NULL, 0 },
	{ "events_flag_names", NULL, "valid flags", FIELD_BITS, J | T, events_flags, NULL, 0 },
	{ NULL, NULL, "nested", FIELD_STRING, T, nested_text, NULL, 0 },
	{ "nested.saved", "nested.saved", NULL, FIELD_BOOL, J | D, nested_saved, NULL, 0 },
	{ "nested.guest_mode", "nested.guest_mode", NULL, FIELD_BOOL, J | D, nested_guest_mode,
	  NULL, 0 },
	{ "nested.run_pending", "nested.run_pending", NULL, FIELD_BOOL, J | D, nested_run_pending,
	  NULL, 0 },
};

#define N_EVENT_FIELDS (sizeof(event_fields) / sizeof(event_fields[0]))

/* One row per register, made once from the register table. */
static struct field reg_fields[VREG_COUNT];
static char reg_keys[VREG_COUNT][48];

size_t fields_count(void)
{
	return N_EVENT_FIELDS + VREG_COUNT;
}

const struct field *field_at(size_t i)
{
	if (i < N_EVENT_FIELDS)
		return &event_fields[i];
	i -= N_EVENT_FIELDS;
	if (i >= VREG_COUNT)
		return NULL;
	if (!reg_fields[i].get) {
		const char *name = vcpu_reg_desc((enum vcpu_reg)i)->name;

		snprintf(reg_keys[i], sizeof(reg_keys[i]), "registers.%s", name);
		reg_fields[i] = (struct field){
			.key = reg_keys[i],
			.name = name,
			.label = name,
			.kind = FIELD_HEX64,
			.shown = J | T | D | (i >= VREG_FRED_FIRST ? FIELD_TEXT_IF_SAVED : 0),
			.get = reg,
			.arg = (int)i,
		};
	}
	return &reg_fields[i];
}

const struct field *field_by_name(const char *name)
{
	for (size_t i = 0; i < fields_count(); i++) {
		const struct field *f = field_at(i);

		if (f->name && strcmp(f->name, name) == 0)
			return f;
	}
	return NULL;
}

/* "0x00000011 (KVM_VCPUEVENT_VALID_: nmi-pending, payload)". */
static void bits_text(uint64_t mask, char *buf, size_t len)
{
	size_t used;
	bool first = true;

	snprintf(buf, len, "0x%08" PRIx32, (uint32_t)mask);
	for (size_t i = 0; i < sizeof(events_flag_names) / sizeof(events_flag_names[0]); i++) {
		if (!(mask & events_flag_names[i].bit))
			continue;
		used = strlen(buf);
		snprintf(buf + used, len - used, "%s%s", first ? " (" EVENTS_FLAG_PREFIX ": " : ", ",
			 events_flag_names[i].name);
		first = false;
	}
	used = strlen(buf);
	if (!first)
		snprintf(buf + used, len - used, ")");
}

void field_text_value(const struct field *f, bool present, const struct field_value *val,
		      char *buf, size_t len)
{
	if (!present) {
		snprintf(buf, len, "not saved");
		return;
	}
	switch (f->kind) {
	case FIELD_BOOL:
		snprintf(buf, len, "%s", val->n ? "true" : "false");
		break;
	case FIELD_INT:
		snprintf(buf, len, "%" PRIu64, val->n);
		break;
	case FIELD_HEX8:
		snprintf(buf, len, "0x%02" PRIx64, val->n);
		break;
	case FIELD_HEX32:
		snprintf(buf, len, "0x%08" PRIx64, val->n);
		break;
	case FIELD_HEX64:
		snprintf(buf, len, "0x%016" PRIx64, val->n);
		break;
	case FIELD_STATE:
		snprintf(buf, len, "%s", exc_state_name((enum exc_state)val->n));
		break;
	case FIELD_BITS:
		bits_text(val->n, buf, len);
		break;
	case FIELD_STRING:
		snprintf(buf, len, "%s", val->s);
		break;
	}
}

json_t *field_json_value(const struct field *f, bool present, const struct field_value *val)
{
	json_t *a;

	if (!present)
		return json_null();
	switch (f->kind) {
	case FIELD_BOOL:
		return json_boolean(val->n);
	case FIELD_INT:
	case FIELD_HEX8:
		return json_integer((json_int_t)val->n);
	case FIELD_HEX32:
		return json_hex32((uint32_t)val->n);
	case FIELD_HEX64:
		return json_hex64(val->n);
	case FIELD_STATE:
		return json_string(exc_state_name((enum exc_state)val->n));
	case FIELD_BITS:
		a = json_array();
		for (size_t i = 0; a && i < sizeof(events_flag_names) / sizeof(events_flag_names[0]);
		     i++)
			if (val->n & events_flag_names[i].bit)
				json_array_append_new(a, json_string(events_flag_names[i].name));
		return a;
	case FIELD_STRING:
		return json_string(val->s);
	}
	return json_null();
}

void fields_text(FILE *out, const struct vcpu_state *v, bool verbose)
{
	char buf[512];

	for (size_t i = 0; i < fields_count(); i++) {
		const struct field *f = field_at(i);
		struct field_value val = { 0 };
		bool present;

		if (!(f->shown & FIELD_IN_TEXT))
			continue;
		present = f->get(v, f->arg, &val);
		if (!present && (f->shown & FIELD_TEXT_IF_SAVED) && !verbose)
			continue;
		field_text_value(f, present, &val, buf, sizeof(buf));
		fprintf(out, "  %-12s %s\n", f->label, buf);
	}
}

/* The object o holds at the dotted path's parent, made as needed; *leaf: the last part. */
static json_t *parent_of(json_t *o, const char *key, const char **leaf)
{
	const char *dot;
	char part[64];

	while ((dot = strchr(key, '.')) != NULL) {
		json_t *child;

		snprintf(part, sizeof(part), "%.*s", (int)(dot - key), key);
		child = json_object_get(o, part);
		if (!child) {
			child = json_object();
			jset(o, part, child);
		}
		o = child;
		key = dot + 1;
	}
	*leaf = key;
	return o;
}

void fields_json(json_t *o, const struct vcpu_state *v, const char *prefix)
{
	size_t plen = strlen(prefix);

	for (size_t i = 0; i < fields_count(); i++) {
		const struct field *f = field_at(i);
		struct field_value val = { 0 };
		const char *leaf;
		json_t *parent;
		bool present;

		if (!(f->shown & FIELD_IN_JSON) || strncmp(f->key, prefix, plen) != 0)
			continue;
		present = f->get(v, f->arg, &val);
		parent = parent_of(o, f->key + plen, &leaf);
		jset(parent, leaf, field_json_value(f, present, &val));
	}
}
