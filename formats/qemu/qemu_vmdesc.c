/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_vmdesc.c --- reading and sizing the device description.
 */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/qemu/qemu_vmdesc.h"
#include "formats/qemu/qemu_wire.h"

int64_t vmdesc_int(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/*
 * Bytes a described device (or subsection, or struct) occupies:
 * sum(field size x array_len) plus each subsection's header and body.
 * -1 when the description is not well formed.
 */
int64_t vmdesc_size(json_t *dev, int depth)
{
	json_t *fields = json_object_get(dev, "fields");
	json_t *subs = json_object_get(dev, "subsections");
	int64_t total = 0;
	size_t i;
	json_t *f;

	if (depth > 32 || (fields && !json_is_array(fields)) || (subs && !json_is_array(subs)))
		return -1;
	json_array_foreach(fields, i, f) {
		int64_t size = vmdesc_int(f, "size");
		int64_t n = json_object_get(f, "array_len") ? vmdesc_int(f, "array_len") : 1;

		if (size < 0 || n < 0 || (n && size > (INT64_MAX / 4) / n))
			return -1;
		total += size * n;
		if (total > INT64_MAX / 4)
			return -1;
	}
	json_array_foreach(subs, i, f) {
		json_t *name = json_object_get(f, "vmsd_name");
		int64_t body = vmdesc_size(f, depth + 1);

		if (!json_is_string(name) || body < 0)
			return -1;
		total += 2 + (int64_t)strlen(json_string_value(name)) + 4 + body;
		if (total > INT64_MAX / 4)
			return -1;
	}
	return total;
}

json_t *vmdesc_find_tail(const uint8_t *tail, size_t len, size_t *at)
{
	json_t *doc = NULL;

	if (len < 6)
		return NULL;
	for (size_t k = len - 6;; k--) {
		if (tail[k] == QSEC_VMDESC && tail[k + 5] == '{' &&
		    be_get(tail + k + 1, 4) == len - k - 5) {
			doc = json_loadb((const char *)tail + k + 5, len - k - 5, 0, NULL);
			if (doc) {
				*at = k;
				break;
			}
		}
		if (k == 0)
			break;
	}
	if (doc && json_is_array(json_object_get(doc, "devices")))
		return doc;
	json_decref(doc);
	return NULL;
}

/* vmdesc_find_tail on the last window bytes of a seekable source. */
static json_t *find_vmdesc(struct bsrc *src, uint64_t window, uint64_t *offset)
{
	uint8_t *tail = malloc(window);
	json_t *doc = NULL;
	size_t at;

	if (!tail)
		return NULL;
	if (bsrc_pread(src, tail, (size_t)window, src->size - window) == 0) {
		doc = vmdesc_find_tail(tail, (size_t)window, &at);
		if (doc)
			*offset = src->size - window + at;
	}
	free(tail);
	return doc;
}

/*
 * The description sizes the devices fredck does not decode, so it is read
 * first, from the end of the file.  The window grows from 1 MiB (a typical
 * description is 100 KiB) to VMDESC_TAIL_MAX, so memory stays small; the
 * answer is the one vmdesc_find_tail gives on the last VMDESC_TAIL_MAX
 * bytes (a larger window only finds longer descriptions), as the stream
 * filter asks it of the bytes it holds.
 */
json_t *vmdesc_load(struct bsrc *src, uint64_t *offset)
{
	json_t *doc = NULL;

	if (!src->seekable || src->size < 6)
		return NULL;
	for (uint64_t window = 1U << 20;; window *= 8) {
		uint64_t w = window < src->size ? window : src->size;

		if (w > VMDESC_TAIL_MAX)
			w = VMDESC_TAIL_MAX;
		doc = find_vmdesc(src, w, offset);
		if (doc || w == src->size || w == VMDESC_TAIL_MAX)
			break;
	}
	return doc;
}

/* The description of subsection name among desc's subsections, or NULL. */
json_t *vmdesc_subsection(json_t *desc, const char *name)
{
	json_t *subs = json_object_get(desc, "subsections"), *s;
	size_t i;

	json_array_foreach(subs, i, s) {
		json_t *n = json_object_get(s, "vmsd_name");

		if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
			return s;
	}
	return NULL;
}

