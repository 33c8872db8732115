/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvm_events.c --- struct kvm_vcpu_events, decoded and patched.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "formats/kvm_events.h"
#include "formats/kvm_structs.h"

uint64_t kvm_le(const uint8_t *p, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = bytes; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

void kvm_put_le(uint8_t *p, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

__attribute__((format(printf, 4, 5)))
static int fault(struct events_fault *f, size_t offset, const char *field, const char *fmt, ...)
{
	va_list ap;

	f->offset = offset;
	f->field = field;
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
	return -1;
}

int kvm_events_decode(const uint8_t *ev, struct vcpu_state *v, struct events_fault *f)
{
	struct vcpu_exception *x = &v->exc;

	v->events_present = true;
	v->events_flags = (uint32_t)kvm_le(ev + EV_FLAGS, 4);
	if (v->events_flags & ~EV_FLAGS_KNOWN)
		return fault(f, EV_FLAGS, "flags",
			     "unknown flag bits 0x%x; KVM_SET_VCPU_EVENTS would reject them",
			     v->events_flags & ~EV_FLAGS_KNOWN);
	x->injected = ev[EV_EXC_INJECTED] != 0;
	x->nr = ev[EV_EXC_NR];
	x->has_error_code = ev[EV_EXC_HAS_ERROR_CODE] != 0;
	x->pending = ev[EV_EXC_PENDING] != 0;
	x->error_code = (uint32_t)kvm_le(ev + EV_EXC_ERROR_CODE, 4);
	x->has_payload = ev[EV_EXC_HAS_PAYLOAD] != 0;
	x->payload = kvm_le(ev + EV_EXC_PAYLOAD, 8);
	x->error_code_saved = true;
	vcpu_normalise_exception(v);
	/* The kernel's own check, on the fields as it reads them. */
	if (x->state != EXC_NONE && x->nr == VEC_NMI)
		return fault(f, EV_EXC_NR, "exception.nr",
			     "vector 2 (NMI) queued as an exception; the kernel rejects it");
	if (x->state != EXC_NONE && x->nr > 31)
		return fault(f, EV_EXC_NR, "exception.nr",
			     "exception vector %u is above 31; the kernel rejects it", x->nr);
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
		kvm_put_le(ev + EV_EXC_ERROR_CODE, b->error_code, 4);
	if (v->events_flags != p->new_flags)
		kvm_put_le(ev + EV_FLAGS, p->new_flags, 4);
	if (a->has_payload != b->has_payload)
		ev[EV_EXC_HAS_PAYLOAD] = b->has_payload;
	if (a->payload != b->payload)
		kvm_put_le(ev + EV_EXC_PAYLOAD, b->payload, 8);
}
