/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_vmdesc.h --- the device description (vmdesc) that ends a QEMU
 * migration stream: JSON naming every device section with its fields'
 * sizes, so a section fredck does not decode can still be stepped over.
 */
#ifndef FRED_QEMU_VMDESC_H
#define FRED_QEMU_VMDESC_H

#include <jansson.h>
#include <stdint.h>

#include "formats/io/bsrc.h"

/* The integer member key of o, or -1 when it is absent or not an integer. */
int64_t vmdesc_int(json_t *o, const char *key);
/* Bytes a vmdesc device, subsection or struct occupies; -1 if malformed. */
int64_t vmdesc_size(json_t *dev, int depth);
/* The description of subsection name among desc's subsections, or NULL. */
json_t *vmdesc_subsection(json_t *desc, const char *name);
/* The description is looked for in the last VMDESC_TAIL_MAX bytes of a stream. */
#define VMDESC_TAIL_MAX (64U << 20)

/*
 * The description that ends tail[len]: the last 06, be32 L, then L bytes
 * of JSON starting with '{' that end exactly at tail + len, and parse,
 * with a "devices" array; *at its offset in tail.  NULL when there is none.
 */
json_t *vmdesc_find_tail(const uint8_t *tail, size_t len, size_t *at);
/*
 * The description at the end of a seekable source (06, be32 length, JSON
 * ending exactly at the end of the file, with a "devices" array), its
 * offset in *offset; NULL when there is none.
 */
json_t *vmdesc_load(struct bsrc *src, uint64_t *offset);

#endif
