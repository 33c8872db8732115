/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_read.c --- a QEMU stream read into a snapshot: the reader core
 * with no hooks, its vCPUs sorted by index, its facts for inspect.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/qemu/qemu_read.h"

void qemu_close(struct snapshot *s)
{
	if (s->priv)
		qemu_stream_free(s->priv);
	s->priv = NULL;
}

void qemu_describe(struct snapshot *s, struct qemu_stream *q)
{
	snprintf(s->detail, sizeof(s->detail), "%zu vCPU%s, machine %.64s%s", q->ncpus,
		 q->ncpus == 1 ? "" : "s", q->machine[0] ? q->machine : "(not named)",
		 q->mapped_ram ? ", mapped-ram" : "");
	snapshot_add_fact(s, "machine", "%s", q->machine[0] ? q->machine : "(not named)");
	snapshot_add_fact(s, "ram", "%llu MiB in %u blocks; %llu pages, %llu zero pages",
			  (unsigned long long)(q->ram_bytes >> 20), q->ram_blocks,
			  (unsigned long long)q->ram_pages, (unsigned long long)q->zero_pages);
	snapshot_add_fact(s, "layout", "%s%s", q->mapped_ram ? "mapped-ram" : "sequential",
			  q->ignore_shared ? ", x-ignore-shared" : "");
	snapshot_add_fact(s, "device_description",
			  !q->vmdesc && q->chained ?
				  "absent (suppress-vmdesc): sections located by scanning their "
				  "footers, the device state has one reading (FK304)" :
			  !q->vmdesc ? "absent (suppress-vmdesc): cpu sections found by scanning "
				       "(FK304)" :
			  q->vmdesc_trusted ? "present, matches the stream" :
					      "present, out of step with the stream");
	snapshot_add_fact(s, "qemu_version_hints", "%s%s%s",
			  q->switchover_command ? "switchover-start command (QEMU 10.0 or later)" :
						  "no switchover-start command",
			  q->vmdesc && json_object_get(q->vmdesc, "configuration") ?
				  "; configuration described (QEMU 8 or later)" : "",
			  q->cpu_has_error_code_sub ? "; cpu/error_code (QEMU 10.2 or later)" : "");
	qemu_describe_devices(s, q);
}

/*
 * The devices fact, which says first when it is not the whole list: a
 * scan for cpu sections steps over the sections between unread, unnamed
 * and uncounted (a pipe is no different from a file here).
 */
void qemu_describe_devices(struct snapshot *s, const struct qemu_stream *q)
{
	const char *names = q->devices ? q->devices : "";

	s->devices_partial = q->scanned || q->devices_cut;
	if (q->scanned)
		/* No ", " before the names: inspect folds the list after its commas. */
		snapshot_add_fact(s, "devices", "partial: %zu named (a scan for the cpu sections "
				  "stepped over the others unread): %s", q->ndevices, names);
	else if (q->devices_cut)
		snapshot_add_fact(s, "devices", "partial: %zu (the names stop at 1 MiB): %s",
				  q->ndevices, names);
	else
		snapshot_add_fact(s, "devices", "%zu: %s", q->ndevices, names);
}

/* A vCPU's index and its place in stream order, sorted by the index. */
struct by_index {
	unsigned int index;
	size_t i;
};

static int cmp_index(const void *a, const void *b)
{
	const struct by_index *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

/*
 * The stream order of the vCPUs sorted by their index, in O(n log n)
 * whatever the order (the indexes are distinct: a repeated instance id is
 * malformed).
 */
static size_t *sorted_order(const struct qemu_stream *q)
{
	struct by_index *k = malloc((q->ncpus ? q->ncpus : 1) * sizeof(*k));
	size_t *order = malloc((q->ncpus ? q->ncpus : 1) * sizeof(*order));

	if (!k || !order) {
		free(k);
		free(order);
		return NULL;
	}
	for (size_t i = 0; i < q->ncpus; i++)
		k[i] = (struct by_index){ q->vcpus[i].index, i };
	qsort(k, q->ncpus, sizeof(*k), cmp_index);
	for (size_t i = 0; i < q->ncpus; i++)
		order[i] = k[i].i;
	free(k);
	return order;
}

int qemu_take_vcpus(struct snapshot *s, struct qemu_stream *q, struct vcpu_plan *plans,
		    struct fmt_error *e)
{
	size_t *order = sorted_order(q);
	struct vcpu_plan *sorted = plans ? malloc(q->ncpus * sizeof(*sorted)) : NULL;

	s->vcpus = malloc(q->ncpus * sizeof(*s->vcpus));
	if (!order || !s->vcpus || (plans && !sorted)) {
		free(order);
		free(sorted);
		return fmt_syserr(e, q->src.path, ENOMEM, "cannot read");
	}
	for (size_t i = 0; i < q->ncpus; i++) {
		s->vcpus[i] = q->vcpus[order[i]];
		if (plans)
			sorted[i] = plans[order[i]];
	}
	if (plans)
		memcpy(plans, sorted, q->ncpus * sizeof(*plans));
	free(sorted);
	free(order);
	s->nvcpus = q->ncpus;
	return 0;
}

int qemu_open_in(struct snapshot *s, const char *path, qemu_container_fn container,
		 struct fmt_error *e)
{
	struct qemu_stream *q = qemu_stream_open(path, e);

	if (!q)
		return -1;
	s->priv = q;
	if (container && container(q, s, e))
		return -1;
	qemu_stream_load_vmdesc(q);
	if (qemu_stream_parse(q, e) || qemu_take_vcpus(s, q, NULL, e))
		return -1;
	qemu_describe(s, q);
	return 0;
}

/* QEMU enables KVM_CAP_EXCEPTION_PAYLOAD wherever the kernel offers it. */
bool qemu_dest_cap(const struct snapshot *s, const struct vcpu_state *v)
{
	return true;
}
