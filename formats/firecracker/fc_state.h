/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fc_state.h --- Firecracker's MicrovmState walked by its schema, field by
 * field in the order and with the types of src/vmm/src/persist.rs (and
 * everything it contains) at each release: from the header to the vCPU
 * states, through every one of them, and (bincode) through the device
 * states to the CRC trailer, where the walk must end exactly.
 * fredck-formats(5) says what each release writes, docs/design.md section 5
 * where this lives; tests/fc/README.md names the sources read at each tag.
 */
#ifndef FRED_FC_STATE_H
#define FRED_FC_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/firecracker/fc_cursor.h"
#include "reconstruct/vcpu.h"

/* Which types a file was written with. */
struct fc_layout {
	bool versionize;
	unsigned int data_version; /* versionize: 1 (v0.23) to 10 (v1.6) */
	unsigned int minor;        /* bincode: the types of Firecracker 1.minor (7 to 14) */
	bool pci_list;             /* internal: the PCI device list is being walked */
};

/* Where one vCPU's kvm structures are in the file. */
struct fc_vcpu {
	uint64_t events, sregs, debugregs, regs, xcrs;
};

struct fc_walk {
	uint64_t vcpus_off;      /* the length of Vec<VcpuState> */
	uint64_t after_vcpus;    /* the first byte after the last VcpuState */
	bool to_trailer;         /* the device states were walked to the trailer */
	bool has_net;            /* a net device was walked (3.0.0: the layouts differ) */
	size_t nvcpus;
	struct fc_vcpu *loc;     /* malloc'ed, nvcpus of them */
	struct vcpu_state *vcpus; /* malloc'ed, nvcpus of them */
};

/*
 * Walk the state from c->pos (the first byte after the header) to
 * c->end.  0 with w filled (free it with fc_walk_free), or -1 with c->e
 * naming the byte offset and the field.
 */
int fc_walk_state(struct fc_cur *c, const struct fc_layout *l, struct fc_walk *w);

void fc_walk_free(struct fc_walk *w);

#endif
