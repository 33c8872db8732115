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
