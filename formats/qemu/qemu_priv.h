/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_priv.h --- what the QEMU stream reader learns, shared with the
 * writer: where every `cpu` section and the device description lie.
 */
#ifndef FRED_QEMU_PRIV_H
#define FRED_QEMU_PRIV_H

#include <jansson.h>

#include "formats/io/bsrc.h"
#include "formats/qemu/qemu.h"

/* Top-level section types. */
enum {
	QSEC_EOF = 0x00,
	QSEC_START = 0x01,
	QSEC_PART = 0x02,
	QSEC_END = 0x03,
	QSEC_FULL = 0x04,
	QSEC_SUBSECTION = 0x05,
	QSEC_VMDESC = 0x06,
	QSEC_CONFIGURATION = 0x07,
	QSEC_COMMAND = 0x08,
	QSEC_FOOTER = 0x7e,
};

/* A byte range of the file (mapped-ram: a block's bitmap, its pages). */
struct ram_extent {
	uint64_t off, len;
};

/* An iterative section announced by a START header. */
struct iter_section {
	uint32_t sid;
	char idstr[256];
};

struct qemu {
	struct bsrc src;
	uint64_t stream_start; /* where QEVM begins: 0, or after a libvirt header */
	bool compressed;       /* read through a decompressor (libvirt formats 1-5) */
	enum codec codec;      /* which, when compressed */
	uint64_t container_len; /* bytes before the compressed stream (libvirt header, XML) */
	uint32_t page_size;
	bool mapped_ram;
	bool ignore_shared;
	char machine[256];
	uint64_t ram_bytes;
	uint64_t ram_pages, zero_pages;
	unsigned int ram_blocks;
	bool switchover_command;
	/*
	 * Redaction (qemu_redact): every record that carries guest memory
	 * leaves through the sink as a zero-page record; counted here.  For
	 * mapped-ram, where each block is found: its bitmap and its pages.
	 */
	bool redact;
	uint64_t redacted_records, redacted_bytes, kept_records;
	char first_block[256]; /* the block at guest-physical 0: the legacy ROM area's */
	bool in_first_block;   /* the current RAM record's block is that one */
	struct ram_extent *extents;
	size_t nextents, cap_extents;
	struct iter_section iter[16];
	size_t niter;
	/* The device description, when the stream has one. */
	json_t *vmdesc;
	uint64_t vmdesc_offset;
	size_t vmdesc_next;   /* index of the next FULL section in vmdesc devices */
	bool vmdesc_trusted;  /* it has matched every FULL section so far */
	bool scanned;         /* some sections were found by scanning */
	/* Devices, in stream order (bounded: names only, for inspect). */
	char *devices;
	size_t devices_len, devices_cap, ndevices;
	/* The vCPUs. */
	struct qemu_cpu_loc *cpus;
	size_t ncpus, cap_cpus;
	struct vcpu_state *vcpus;
	bool cpu_has_error_code_sub;
	/* Filter mode (qemu_write.c): called after each cpu section and at the trailer. */
	struct qemu_filter *filter;
};

struct qemu_filter;
/* A cpu section was parsed (q->cpus[q->ncpus - 1]): plan it, write it out. */
int qemu_filter_cpu(struct qemu *q, struct fmt_error *e);
/* The description (len bytes of JSON follow): rewrite it for the plans made. */
int qemu_filter_vmdesc(struct qemu *q, uint64_t len, struct fmt_error *e);
/* Parse the stream already opened in q (header, sections, trailer). */
int qemu_parse(struct qemu *q, struct fmt_error *e);
/* Hand the parsed vCPUs to s (sorted by index, plans permuted alike when given). */
int qemu_take_vcpus(struct snapshot *s, struct qemu *q, struct vcpu_plan *plans,
		    struct fmt_error *e);

/* Shared readers (qemu.c). */
int take_be(struct qemu *q, int bytes, uint64_t *v, const char *field, struct fmt_error *e);
int expect_footer(struct qemu *q, uint32_t sid, const char *what, struct fmt_error *e);
/* Bytes a vmdesc device, subsection or struct occupies; -1 if malformed. */
int64_t vmdesc_size(json_t *dev, int depth);
/* The description of subsection name among desc's subsections, or NULL. */
json_t *vmdesc_subsection(json_t *desc, const char *name);

/* A `cpu` section whose 17-byte header (at section) was just consumed (qemu_cpu.c). */
int parse_cpu(struct qemu *q, uint64_t section, uint32_t sid, uint32_t instance,
	      uint32_t version, json_t *desc, struct fmt_error *e);

/* The container facts inspect shows. */
void qemu_describe(struct snapshot *s, struct qemu *q);

/* Read path into s (the format's open operation). */
int qemu_open(struct snapshot *s, const char *path, struct fmt_error *e);

/*
 * A container around the stream (a libvirt save image): consume its
 * header from q->src, set q->stream_start, add its facts to s; the stream
 * follows.  NULL for a bare stream.
 */
typedef int (*qemu_container_fn)(struct qemu *q, struct snapshot *s, struct fmt_error *e);
/* libvirt.c: the libvirt header; the auto container that finds one on a pipe. */
int libvirt_header(struct qemu *q, struct snapshot *s, struct fmt_error *e);
int qemu_auto_container(struct qemu *q, struct snapshot *s, struct fmt_error *e);
void qemu_close(struct snapshot *s);
/* QEMU (also under libvirt) enables KVM_CAP_EXCEPTION_PAYLOAD wherever it can. */
bool qemu_dest_cap(const struct snapshot *s, const struct vcpu_state *v);

int qemu_open_in(struct snapshot *s, const char *path, qemu_container_fn container,
		 struct fmt_error *e);
int qemu_filter_in(struct snapshot *s, const char *in_path, int out_fd,
		   struct vcpu_plan (*plan)(const struct vcpu_state *v, void *ctx), void *ctx,
		   struct vcpu_plan **plans, qemu_container_fn container, struct fmt_error *e);
void qemu_free(struct qemu *q);

/*
 * Write s with its guest memory removed (fredck redact) where w says (-o
 * only); *result says what was removed and kept.  Verified by
 * reading the result: the same vCPUs, no page of memory left.
 */
int qemu_redact(struct snapshot *s, struct write_request *w, struct redaction *result,
		struct fmt_error *e);

/* Stream filter: read in_path, write the repaired stream to out_fd in one pass. */
int qemu_filter(struct snapshot *s, const char *in_path, int out_fd,
		struct vcpu_plan (*plan)(const struct vcpu_state *v, void *ctx), void *ctx,
		struct vcpu_plan **plans, struct fmt_error *e);

/* Write s repaired by plans (the format's write operation). */
int qemu_write(struct snapshot *s, const struct vcpu_plan *plans, struct write_request *w,
	       struct fmt_error *e);

#endif
