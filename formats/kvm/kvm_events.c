/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvm_events.c --- struct kvm_vcpu_events, decoded, patched and named
 * field by field.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "formats/io/le.h"
#include "formats/kvm/kvm_fault.h"
#include "formats/kvm/kvm_layout.h"

/* The C fields as kvm-bindings' serde derive names them (Cloud Hypervisor v29-v38). */
const struct kvm_events_field kvm_events_fields[KVM_EVENTS_NFIELDS] = {
	{ "exception", "injected", EV_EXC_INJECTED, 1 },
	{ "exception", "nr", EV_EXC_NR, 1 },
	{ "exception", "has_error_code", EV_EXC_HAS_ERROR_CODE, 1 },
	{ "exception", "pending", EV_EXC_PENDING, 1 },
	{ "exception", "error_code", EV_EXC_ERROR_CODE, 4 },
	{ "interrupt", "injected", EV_INT_INJECTED, 1 },
	{ "interrupt", "nr", EV_INT_NR, 1 },
	{ "interrupt", "soft", EV_INT_SOFT, 1 },
	{ "interrupt", "shadow", EV_INT_SHADOW, 1 },
	{ "nmi", "injected", EV_NMI_INJECTED, 1 },
	{ "nmi", "pending", EV_NMI_PENDING, 1 },
	{ "nmi", "masked", EV_NMI_MASKED, 1 },
	{ "nmi", "pad", EV_NMI_PAD, 1 },
	{ NULL, "sipi_vector", EV_SIPI_VECTOR, 4 },
	{ NULL, "flags", EV_FLAGS, 4 },
	{ "smi", "smm", EV_SMI_SMM, 1 },
	{ "smi", "pending", EV_SMI_PENDING, 1 },
	{ "smi", "smm_inside_nmi", EV_SMI_INSIDE_NMI, 1 },
	{ "smi", "latched_init", EV_SMI_LATCHED_INIT, 1 },
	{ NULL, "exception_has_payload", EV_EXC_HAS_PAYLOAD, 1 },
	{ NULL, "exception_payload", EV_EXC_PAYLOAD, 8 },
};

int kvm_events_field_index(const char *group, const char *key)
{
	for (int i = 0; i < KVM_EVENTS_NFIELDS; i++) {
		const struct kvm_events_field *f = &kvm_events_fields[i];

		if (strcmp(f->key, key) == 0 &&
		    (f->group ? group && strcmp(f->group, group) == 0 : !group))
			return i;
	}
	return -1;
}

/* The exception as the kernel reads it; the vectors it refuses. */
static int decode_exception(const uint8_t *ev, struct vcpu_state *v, struct kvm_fault *f)
{
	struct vcpu_exception *x = &v->exc;

	x->injected = ev[EV_EXC_INJECTED] != 0;
	x->nr = ev[EV_EXC_NR];
	x->has_error_code = ev[EV_EXC_HAS_ERROR_CODE] != 0;
	x->pending = ev[EV_EXC_PENDING] != 0;
	x->error_code = (uint32_t)le_get(ev + EV_EXC_ERROR_CODE, 4);
	x->has_payload = ev[EV_EXC_HAS_PAYLOAD] != 0;
	x->payload = le_get(ev + EV_EXC_PAYLOAD, 8);
	x->error_code_saved = true;
	/* Without the flag the byte is reserved: the kernel ignores it. */
	x->is_nested = (v->events_flags & KVM_EVENTS_FLAG_NESTED) && ev[EV_EXC_IS_NESTED] != 0;
	vcpu_normalise_exception(v);
	if (x->state != EXC_NONE && x->nr == VEC_NMI)
		return kvm_fault(f, EV_EXC_NR, "exception.nr",
				 "vector 2 (NMI) queued as an exception; the kernel rejects it");
	if (x->state != EXC_NONE && x->nr > 31)
		return kvm_fault(f, EV_EXC_NR, "exception.nr",
				 "exception vector %u is above 31; the kernel rejects it", x->nr);
	return 0;
}

int kvm_events_decode(const uint8_t *ev, struct vcpu_state *v, struct kvm_fault *f)
{
	v->events_present = true;
	v->events_flags = (uint32_t)le_get(ev + EV_FLAGS, 4);
	if (v->events_flags & ~EV_FLAGS_KNOWN)
		return kvm_fault(f, EV_FLAGS, "flags",
				 "unknown flag bits 0x%x; KVM_SET_VCPU_EVENTS would reject them",
				 v->events_flags & ~EV_FLAGS_KNOWN);
	if (decode_exception(ev, v, f) != 0)
		return -1;
	v->intr.injected = ev[EV_INT_INJECTED] != 0;
	v->intr.nr = ev[EV_INT_NR];
	v->intr.soft = ev[EV_INT_SOFT] != 0;
	v->intr.shadow = ev[EV_INT_SHADOW];
	v->nmi.injected = ev[EV_NMI_INJECTED] != 0;
	v->nmi.pending = ev[EV_NMI_PENDING];
	v->nmi.masked = ev[EV_NMI_MASKED] != 0;
	return 0;
}

void kvm_events_patch(uint8_t *ev, const struct vcpu_state *v, const struct vcpu_plan *p)
{
	const struct vcpu_exception *a = &v->exc, *b = &p->new_exc;

	if (a->injected != b->injected)
		ev[EV_EXC_INJECTED] = b->injected;
	if (a->nr != b->nr)
		ev[EV_EXC_NR] = b->nr;
	if (a->has_error_code != b->has_error_code)
		ev[EV_EXC_HAS_ERROR_CODE] = b->has_error_code;
	if (a->pending != b->pending)
		ev[EV_EXC_PENDING] = b->pending;
	if (a->error_code != b->error_code)
		le_put(ev + EV_EXC_ERROR_CODE, b->error_code, 4);
	if (v->events_flags != p->new_flags)
		le_put(ev + EV_FLAGS, p->new_flags, 4);
	if (a->has_payload != b->has_payload)
		ev[EV_EXC_HAS_PAYLOAD] = b->has_payload;
	if (a->payload != b->payload)
		le_put(ev + EV_EXC_PAYLOAD, b->payload, 8);
	/* exception_is_nested is never planned to change: its byte stays. */
}
