/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_edit.h --- a repair of a QEMU stream as a short list of byte edits
 * (in a vCPU's `cpu` section: exception_nr, has_error_code, and the
 * cpu/exception_info and cpu/error_code subsections inserted, patched or
 * removed) and the matching change of the device description.  Shared by
 * the writer (a file) and the filter (a stream).
 */
#ifndef FRED_QEMU_EDIT_H
#define FRED_QEMU_EDIT_H

#include <jansson.h>

#include "formats/qemu/qemu.h"
#include "formats/qemu/qemu_stream.h"
#include "reconstruct/plan.h"
#include "reconstruct/vcpu.h"

/* Replace [off, off + del) of the input with ins[len]. */
struct edit {
	uint64_t off;
	uint64_t del;
	uint8_t *ins;
	size_t len;
};

struct edits {
	struct edit *v;
	size_t n, cap;
};

/* Add one edit (ins copied); -1 when out of memory. */
int add_edit(struct edits *ed, uint64_t off, uint64_t del, const void *ins, size_t len);
void free_edits(struct edits *ed);
/* In input order, as they are applied. */
void sort_edits(struct edits *ed);

/*
 * The edits of one planned vCPU (v at loc, plan p); cpu_desc, its
 * `cpu` device in a description, is changed to match (NULL: none).
 */
int cpu_edits(struct edits *ed, const struct qemu_cpu_loc *loc, const struct vcpu_state *v,
	      const struct vcpu_plan *p, json_t *cpu_desc);
/*
 * The same repair without changing the stream's length (a qcow2 state
 * repaired in its own clusters): drop as neutral values in the fields and
 * subsections that exist, pending only into an existing
 * cpu/exception_info.  1 (nothing added) when pending would have to
 * insert that subsection; -1 when out of memory.
 */
int cpu_edits_same_length(struct edits *ed, const struct qemu_cpu_loc *loc,
			  const struct vcpu_state *v, const struct vcpu_plan *p);
/* The description of vCPU instance's `cpu` device in vmdesc, or NULL (a walk of the devices). */
json_t *desc_cpu(json_t *vmdesc, uint32_t instance);
/*
 * The `cpu` device of every vCPU of q, by its place in q->cpus (the first
 * with its instance id; NULL where none), in one walk of the devices: an
 * array of q->ncpus (malloc'ed), or NULL when out of memory.
 */
json_t **desc_cpus(json_t *vmdesc, const struct qemu_stream *q);
/* The description as a stream record: 06, be32 length, JSON (*len bytes, malloc'ed); NULL: no memory. */
uint8_t *vmdesc_record(json_t *vmdesc, size_t *len);

#endif
