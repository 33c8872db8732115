/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_stream.h --- the QEMU migration stream reader core: it walks the
 * stream (a container's header, the configuration, every section, the RAM
 * records, each `cpu` section through qemu_cpu.c, the trailing device
 * description) and reports what it meets to the hooks attached to it.
 *
 * The core knows nothing of writing, redaction or filtering: those are
 * hooks (qemu_filter.c, qemu_redact.c, and qemu_write.c through the
 * filter), each with its own state behind its context pointer.
 */
#ifndef FRED_QEMU_STREAM_H
#define FRED_QEMU_STREAM_H

#include <jansson.h>
#include <stdbool.h>

#include "formats/format.h"
#include "formats/io/bsrc.h"
#include "formats/qemu/qemu.h"
#include "formats/qemu/qemu_chain.h"

struct qemu_stream;

/* A RAM block of the size list that starts the RAM (migration/ram.c). */
struct qemu_ram_block {
	const char *name;
	uint64_t used;     /* its used_length */
	bool first;        /* the first of the list: the block at guest-physical 0 */
	/* mapped-ram only: its MappedRamHeader (at header) and where its bitmap and pages lie. */
	uint64_t header;
	uint64_t page_size, bitmap_offset, pages_offset;
};

/* A RAM record that carries a page (a zero page, a page, or one compressed). */
struct qemu_ram_record {
	uint64_t offset;   /* of its 8-byte header */
	uint64_t header;   /* the header: address | flags */
	uint64_t addr, flags;
	const char *block; /* its block: named in the record, or the previous one's */
	bool named;        /* the record names its block (else it continues the last one) */
	bool zero;         /* a zero page: its body is the fill byte */
	uint64_t body, body_len; /* the body's span, not read yet when the hook runs */
};

/* A top-level section's header: START and FULL have all fields, others the type and offset. */
struct qemu_section {
	uint8_t type;
	uint64_t offset;   /* of its type byte */
	uint32_t sid, instance, version;
	const char *idstr;
};

/*
 * What the core reports, in stream order.  Every hook may be NULL; each
 * returns 0, or -1 with e filled, which stops the walk.  Offsets are input
 * offsets.  Hooks read the reader's state (q) but never move q->src
 * forward: the walk does.
 */
struct qemu_hooks {
	/*
	 * Bytes to pass through: set, the input is read strictly front to
	 * back and every byte before the held device state (q->held_from)
	 * leaves through pass (the sink of struct bsrc)
	 * unless a hook sends a replacement in its place (bsrc_emit_to,
	 * bsrc_inject, bsrc_mark_emitted).  A byte leaves when the buffer
	 * needs its room, or when a hook emits it: a hook that holds bytes
	 * (bsrc_hold) keeps them in the buffer until it releases them, so
	 * that it can still change them.  Returns 0, or -1 with errno set.
	 */
	int (*pass)(void *ctx, const uint8_t *data, size_t len);
	/* A top-level section of type starts at off; nothing of it is consumed yet. */
	int (*section_begin)(void *ctx, struct qemu_stream *q, uint8_t type, uint64_t off,
			     struct fmt_error *e);
	/* A START, PART, END or FULL section's header was read; its body follows. */
	int (*section_header)(void *ctx, struct qemu_stream *q, const struct qemu_section *s,
			      struct fmt_error *e);
	/* A RAM block of the size list (mapped-ram: before its pages are jumped over). */
	int (*ram_block)(void *ctx, struct qemu_stream *q, const struct qemu_ram_block *b,
			 struct fmt_error *e);
	/* A page-carrying RAM record: its header and block name read, its body next. */
	int (*ram_record)(void *ctx, struct qemu_stream *q, const struct qemu_ram_record *r,
			  struct fmt_error *e);
	/*
	 * A `cpu` section was read, up to and including its footer:
	 * q->vcpus[i], whose fields lie at q->cpus[i].
	 */
	int (*cpu)(void *ctx, struct qemu_stream *q, size_t i, struct fmt_error *e);
	/*
	 * The description that ends the stream, parsed (doc: the core's, it
	 * may be changed); its record (06, length, JSON) began at off and
	 * ends where the input does.  The core has already read it first,
	 * before any device (q->vmdesc): from a file's end
	 * (qemu_stream_load_vmdesc), or from the end of the device state it
	 * holds (q->held).  A stream with a pass hook always holds its device
	 * state: nothing of it, the end-of-file marker included, passes
	 * through; the hooks write it once the walk has succeeded.
	 */
	int (*description)(void *ctx, struct qemu_stream *q, json_t *doc, uint64_t off,
			   struct fmt_error *e);
};

/*
 * The most vCPUs (cpu sections) read from one stream: 64 times the most
 * any hypervisor runs (KVM_MAX_VCPUS and QEMU's max_cpus are 4096), and
 * about 150 MiB of memory; a stream with more is refused.
 */
#define QEMU_CPUS_MAX (1U << 18)
/* Largest device description read into memory at the end of the stream. */
#define QEMU_VMDESC_MAX (64U << 20)
/* Early devices (saved before the RAM) stepped over without a description; their largest. */
#define QEMU_EARLY_MAX 16
#define QEMU_EARLY_BYTES_MAX (1U << 20)
/* Hook tables one stream reports to. */
#define QEMU_HOOKS_MAX 4

/* An iterative section announced by a START header. */
struct qemu_iter_section {
	uint32_t sid;
	char idstr[256];
};

struct qemu_stream {
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
	char ram_block[256];   /* the block of the last RAM record that named one */
	bool switchover_command;
	struct qemu_iter_section iter[16];
	size_t niter;
	size_t iter_open;     /* started and not yet ended: the RAM is still coming */
	bool early_next;      /* the FULL section at hand is one saved before the RAM */
	/*
	 * Devices QEMU 8.1+ saves with the RAM still to come (early_setup:
	 * virtio-mem), met before the description was known: stepped over
	 * to their footer, and checked against the description once it is.
	 */
	struct qemu_early_section {
		uint64_t offset, len; /* of the section's type byte; its data's length */
		uint32_t instance;
		char idstr[256];
	} early[QEMU_EARLY_MAX];
	size_t nearly;
	/* The device description, when read first from the end of a file. */
	json_t *vmdesc;
	uint64_t vmdesc_offset;
	size_t vmdesc_next;   /* index of the next FULL section in vmdesc devices */
	bool vmdesc_trusted;  /* it has matched every FULL section so far */
	bool scanned;         /* some sections were found by scanning */
	/*
	 * No description: the device state's one reading (qemu_chain.h), when
	 * there is one (chained); the count is made once, at the first FULL
	 * section (chain_tried).
	 */
	struct qemu_chain chain;
	bool chain_tried, chained;
	/*
	 * Read from a pipe or a decompressor: the device state, from the first
	 * FULL section to the end of the input, was read into memory (q->src
	 * holds it) so that the description that ends it is known before any
	 * device is read, as a file's is (docs/design.md section 5).
	 */
	bool held;
	uint64_t held_from;
	/*
	 * The reader's state as it was at held_from, before any device
	 * (NULL when not kept): qemu_stream_parse_held parses a device state
	 * from there again (the read-back of a compressed repair).
	 */
	struct qemu_stream *at_hold;
	/*
	 * Devices, in stream order (bounded: names only, for inspect);
	 * devices_cut: some were counted but not named (the names stop at
	 * 1 MiB, or memory ran out).
	 */
	char *devices;
	size_t devices_len, devices_cap, ndevices;
	bool devices_cut;
	/* The vCPUs, in stream order. */
	struct qemu_cpu_loc *cpus;
	size_t ncpus, cap_cpus;
	struct vcpu_state *vcpus;
	/*
	 * Their instance ids, hashed: slot holds a vCPU's index + 1 (0: free),
	 * open addressing in a table of nslots (a power of two, at least
	 * twice ncpus), keyed by a hash seeded per stream (hash_a, hash_b),
	 * so that no stream can be made whose ids all collide.
	 */
	uint32_t *slot;
	size_t nslots;
	uint64_t hash_a, hash_b;
	bool cpu_has_error_code_sub;
	/* Who is told what the walk meets. */
	struct {
		const struct qemu_hooks *hooks;
		void *ctx;
	} attached[QEMU_HOOKS_MAX];
	size_t nattached;
	bool record_hooks; /* one of them has ram_record */
};

/*
 * A container around the stream (a libvirt save image): consume its
 * header from q->src, set q->stream_start (or q->compressed and its
 * codec), add its facts to s; the stream follows.  NULL for a bare stream.
 */
typedef int (*qemu_container_fn)(struct qemu_stream *q, struct snapshot *s, struct fmt_error *e);

/* A new reader on path ("-": standard input); NULL with e filled. */
struct qemu_stream *qemu_stream_open(const char *path, struct fmt_error *e);
/*
 * A new reader on a stream stored in pieces of the file path (a disk
 * image's VM state: bsrc_open_extents, label naming it in errors); the
 * pieces stay the caller's until qemu_stream_free.
 */
struct qemu_stream *qemu_stream_open_extents(const char *path, const char *label,
					     const struct bsrc_extent *x, size_t n,
					     struct fmt_error *e);
/*
 * A new reader on the object q read (its descriptor, duplicated), from
 * its start: a second pass over the input (the compressed writer, redact)
 * reads what the first one did, never what is at the path by now.
 */
struct qemu_stream *qemu_stream_reopen(const struct qemu_stream *q, const char *path,
				       struct fmt_error *e);
void qemu_stream_free(struct qemu_stream *q);
/*
 * Report to hooks (with ctx) from now on; a table with pass becomes the
 * byte source's sink (one at most).  -1 when QEMU_HOOKS_MAX are attached.
 */
int qemu_stream_attach(struct qemu_stream *q, const struct qemu_hooks *hooks, void *ctx);
/* Files only: read the description from the end first, to size the devices. */
void qemu_stream_load_vmdesc(struct qemu_stream *q);
/* Walk the stream from its header to its end; at least one cpu section. */
int qemu_stream_parse(struct qemu_stream *q, struct fmt_error *e);
/*
 * A stream whose bytes before q->held_from are q's (as the first pass
 * read and checked them) and whose bytes from base on are bytes[len]
 * (base <= q->held_from; malloc'ed, the result's, freed whatever
 * happens): walked from held_from with the reader's state q kept there
 * (q->at_hold), as qemu_stream_parse would walk the whole of it, its
 * errors naming path.  NULL with e filled.
 */
struct qemu_stream *qemu_stream_parse_held(const struct qemu_stream *q, uint8_t *bytes,
					   size_t len, uint64_t base, const char *path,
					   struct fmt_error *e);
/* The index in q->cpus of the vCPU with instance id instance, or SIZE_MAX: O(1). */
size_t qemu_stream_find_cpu(const struct qemu_stream *q, uint32_t instance);

/* Do bytes pass through (a filter or redaction reads the stream)? */
static inline bool qemu_stream_passes(const struct qemu_stream *q)
{
	return q->src.sink != NULL;
}

#endif
