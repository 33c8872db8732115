/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu.c --- the `qemu` format: a bare QEMU migration stream (QEVM
 * version 3), or on standard input a stream or a libvirt image, whichever
 * arrives.  The operations are the reader's (qemu_read.c), the writer's,
 * the filter's and redaction's; this file only chooses the container.
 *
 * The parts, each using only those below it:
 *   qemu.c, libvirt.c       the two formats' operations
 *   qemu_write.c            -o, --in-place (compressed images through the filter)
 *   qemu_redact.c           redact (hooks, and the filter for sequential streams)
 *   qemu_filter.c           repair - -o - (hooks on the reader core)
 *   qemu_read.c             a stream read into a snapshot
 *   qemu_edit.c             the byte edits of a repair, and the description's
 *   qemu_stream.c           the reader core: the walk, reported to hooks
 *   qemu_cpu.c              one `cpu` section
 *   qemu_vmdesc.c           the device description, its sizes
 *   qemu_wire.c             numbers, names, footers
 */
#include "config.h"

#include <string.h>

#include "formats/qemu/libvirt.h"
#include "formats/qemu/qemu.h"
#include "formats/qemu/qemu_filter.h"
#include "formats/qemu/qemu_read.h"
#include "formats/qemu/qemu_redact.h"
#include "formats/qemu/qemu_wire.h"
#include "formats/qemu/qemu_write.h"

/* Standard input may carry a libvirt image: which one, its magic says. */
static qemu_container_fn container_of(const char *path)
{
	return strcmp(path, "-") == 0 ? libvirt_or_bare : NULL;
}

static int qemu_open(struct snapshot *s, const char *path, struct fmt_error *e)
{
	/* A file is detected by its magic; standard input may be either kind. */
	return qemu_open_in(s, path, container_of(path), e);
}

static int qemu_filter(struct snapshot *s, const char *in_path, int out_fd, qemu_plan_fn plan,
		       void *ctx, struct vcpu_plan **plans, struct fmt_error *e)
{
	return qemu_filter_in(s, in_path, out_fd, plan, ctx, plans, container_of(in_path), e);
}

static bool qemu_probe(const char *path, const struct stat *st)
{
	uint8_t magic[4];

	/* The magic alone: a stream cut short after it is a truncated QEMU stream. */
	return format_read_magic(path, st, magic, sizeof(magic)) && be_get(magic, 4) == QEVM_MAGIC;
}

const struct format_ops qemu_format = {
	.name = "qemu",
	.description = "QEMU migration stream (QEVM version 3)",
	.probe = qemu_probe,
	.open = qemu_open,
	.dest_payload_cap = qemu_dest_cap,
	.write = qemu_write,
	.filter = qemu_filter,
	.redact = qemu_redact,
	.close = qemu_close,
};
