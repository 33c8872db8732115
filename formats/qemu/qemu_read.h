/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_read.h --- the QEMU reader's public interface: a stream (or the
 * stream inside a container) read into a snapshot.  What the qemu and
 * libvirt formats, the writer and the filter use of the reader.
 */
#ifndef FRED_QEMU_READ_H
#define FRED_QEMU_READ_H

#include "formats/format.h"
#include "formats/qemu/qemu_stream.h"

/* Read path into s, through container (NULL: a bare stream); s->priv is the reader. */
int qemu_open_in(struct snapshot *s, const char *path, qemu_container_fn container,
		 struct fmt_error *e);
void qemu_close(struct snapshot *s);
/* QEMU (also under libvirt) enables KVM_CAP_EXCEPTION_PAYLOAD wherever it can. */
bool qemu_dest_cap(const struct snapshot *s, const struct vcpu_state *v);

/* Hand the parsed vCPUs to s (sorted by index, plans permuted alike when given). */
int qemu_take_vcpus(struct snapshot *s, struct qemu_stream *q, struct vcpu_plan *plans,
		    struct fmt_error *e);
/* The container facts inspect shows. */
void qemu_describe(struct snapshot *s, struct qemu_stream *q);
/* The devices fact alone, and s->devices_partial (part of qemu_describe). */
void qemu_describe_devices(struct snapshot *s, const struct qemu_stream *q);

#endif
