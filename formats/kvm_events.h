/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvm_events.h --- struct kvm_vcpu_events as raw bytes, decoded into the
 * model and patched by a plan: the same 64 bytes in a kvm-dir file, in
 * Firecracker's state file and in Cloud Hypervisor's JSON arrays, so one
 * decoder and one patcher serve them all.  Each format reports a fault in
 * its own terms (a byte offset, a JSON path).
 */
#ifndef FRED_KVM_EVENTS_H
#define FRED_KVM_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "reconstruct/plan.h"
#include "reconstruct/vcpu.h"

/* Little-endian fields of the kernel's structures. */
uint64_t kvm_le(const uint8_t *p, unsigned int bytes);
void kvm_put_le(uint8_t *p, uint64_t v, unsigned int bytes);

/* What KVM_SET_VCPU_EVENTS would reject in the bytes decoded. */
struct events_fault {
	size_t offset;     /* within the structure; 0 when none */
	const char *field; /* "flags", "exception.nr"; NULL when none */
	char why[96];
};

/*
 * Decode the structure at ev into v (the events, the exception as the
 * kernel reads it, the interrupt and NMI).  Returns 0, or -1 with f
 * saying which field the kernel would reject and why.
 */
int kvm_events_decode(const uint8_t *ev, struct vcpu_state *v, struct events_fault *f);

/* Write into ev only the fields whose value the plan changes. */
void kvm_events_patch(uint8_t *ev, const struct vcpu_state *v, const struct vcpu_plan *p);

#endif
