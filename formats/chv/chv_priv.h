/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chv_priv.h --- what the Cloud Hypervisor reader (chv.c, chv_inner.c)
 * and writer (chv_write.c) share: the parsed snapshot and, per vCPU, the
 * positions of the tokens a repair edits.
 */
#ifndef FRED_CHV_PRIV_H
#define FRED_CHV_PRIV_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "formats/chv/chv.h"
#include "formats/chv/json_scan.h"
#include "formats/io/le.h"
#include "formats/kvm/kvm.h"

enum chv_layout {
	CHV_V29_V38, /* byte-array state, field-by-field structs */
	CHV_V39,     /* string state, raw-byte structs */
};

/* A token of the inner text: [start, end). */
struct span {
	size_t start, end;
};

struct chv_vcpu {
	unsigned int id;
	int data;         /* outer node: the state string, or the byte array */
	char path[96];    /* JSON path of that node */
	char *text;       /* the inner JSON text, decoded */
	size_t len;
	size_t *map;      /* inner byte i came from outer bytes [map[2i], map[2i+1]) */
	uint8_t events[KVM_EVENTS_SIZE];       /* kvm_vcpu_events as raw bytes, either layout */
	struct span ev_tok[KVM_EVENTS_SIZE];   /* v39+: the token of each byte */
	struct span field_tok[KVM_EVENTS_NFIELDS]; /* v29-v38: the token of each member */
};

struct chv {
	char *buf; /* state.json */
	size_t len;
	char file[PATH_MAX];  /* state.json as opened */
	bool is_dir;
	struct stat st; /* state.json as read: found so at the commit */
	struct stat dir_st; /* the snapshot directory (is_dir) when it was read */
	struct jv_tree tree;
	enum chv_layout layout;
	struct chv_vcpu *v; /* parallel to snapshot.vcpus */
	size_t nv;          /* entries of v allocated */
};

/* Read vCPU cv's inner text into v (chv_inner.c); -1 with e filled. */
int chv_read_vcpu(struct chv *c, struct chv_vcpu *cv, struct vcpu_state *v, struct fmt_error *e);

/* format_ops.write (chv_write.c). */
int chv_write(struct snapshot *s, const struct vcpu_plan *plans, struct write_request *w,
	      struct fmt_error *e);

#endif
