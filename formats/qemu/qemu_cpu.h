/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_cpu.h --- the decoder of one x86 `cpu` section, which the stream
 * reader core calls for each one it meets.  It reads from the byte source
 * only and knows nothing of the other sections, nor of writing.
 */
#ifndef FRED_QEMU_CPU_H
#define FRED_QEMU_CPU_H

#include <jansson.h>

#include "formats/io/bsrc.h"
#include "formats/qemu/qemu.h"
#include "reconstruct/vcpu.h"

/* Which of the QEMU versions whose lists fredck checks has a subsection. */
#define QCPU_IN_7_2 1u
#define QCPU_IN_10_0 2u
#define QCPU_IN_11_1 4u
#define QCPU_ALL (QCPU_IN_7_2 | QCPU_IN_10_0 | QCPU_IN_11_1)

/* One subsection of the `cpu` vmstate, as fredck's table knows it. */
struct qemu_cpu_subsection {
	const char *name;
	const char *parent; /* "cpu", a subsection, or cpu/kvm_nested_state */
	uint32_t size;	    /* bytes of its own fields */
	unsigned int versions;
};

/* fredck's table, in the order QEMU writes the subsections; n entries. */
const struct qemu_cpu_subsection *qemu_cpu_subsections(size_t *n);

/* Is version (of the section at section) one fredck reads? */
int qemu_cpu_version(struct bsrc *src, uint64_t section, uint32_t version, struct fmt_error *e);

/*
 * The section whose 17-byte header (at section) was just consumed, up to
 * and including its footer: the vCPU into v, where its fields lie into
 * loc.  desc is the section's device description, or NULL.
 */
int qemu_cpu_parse(struct bsrc *src, uint64_t section, uint32_t sid, uint32_t instance,
		   json_t *desc, struct qemu_cpu_loc *loc, struct vcpu_state *v,
		   struct fmt_error *e);

#endif
