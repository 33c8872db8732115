/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fc_bitcode.h --- Firecracker v1.15 and later: the snapshot state in
 * bitcode's serde mode, walked by its schema from the first column to the
 * CRC trailer.
 */
#ifndef FRED_FC_BITCODE_H
#define FRED_FC_BITCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/fmt_error.h"
#include "reconstruct/vcpu.h"

/* Firecracker refuses a snapshot state file above this (snapshot/mod.rs). */
#define FC_BITCODE_MAX_FILE 10000000U

/* The x86_64 magic as bitcode writes it: packing byte 0 (64-bit raw), then 8 bytes. */
#define FC_BITCODE_MAGIC_LEN 9

struct fc_bitcode {
	char version[33];        /* the semver string of the header */
	unsigned int major;
	const char *release;     /* "v1.15", "v1.16" */
	const char *tags;        /* the release tags that write it */
	size_t nvcpus;
	struct vcpu_state *vcpus; /* malloc'ed, nvcpus of them */
	uint8_t *events;         /* malloc'ed: nvcpus x 64, every vCPU's kvm_vcpu_events */
	uint64_t events_start, events_end; /* the u8 column of vcpu_events in the file */
	uint64_t vcpus_col;      /* the column of vcpu_states' lengths */
	size_t columns;          /* positions met (columns and tuples) */
};

/*
 * Is b (len bytes) the start of a bitcode Firecracker snapshot: the magic
 * column of an x86_64 (or, *arm set, aarch64) one?
 */
bool fc_bitcode_magic(const uint8_t *b, size_t len, bool *arm);

/*
 * Walk b[0..end) (end: the CRC trailer) as Snapshot<MicrovmState>; the
 * walk must use every byte.  Malformed input: -1 with e naming the byte
 * offset and the column; an unknown snapshot version: FMT_ERR_UNSUPPORTED.
 */
int fc_bitcode_walk(const uint8_t *b, uint64_t end, const char *file, struct fc_bitcode *out,
		    struct fmt_error *e);

void fc_bitcode_free(struct fc_bitcode *w);

#endif
