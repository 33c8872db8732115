/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_edit.c --- the byte edits of a repaired `cpu` section, and the
 * device description changed to match.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "formats/io/le.h"
#include "formats/qemu/qemu_edit.h"

#define EXCEPTION_INFO "cpu/exception_info"
#define ERROR_CODE "cpu/error_code"
/* 05, name length, name, be32 version: the bytes before a subsection's body. */
#define SUB_HEADER(name) (2 + sizeof(name) - 1 + 4)
#define EXCEPTION_INFO_BODY 11

int add_edit(struct edits *ed, uint64_t off, uint64_t del, const void *ins, size_t len)
{
	struct edit *x;

	if (ed->n == ed->cap) {
		size_t cap = ed->cap ? ed->cap * 2 : 16;

		x = realloc(ed->v, cap * sizeof(*x));
		if (!x)
			return -1;
		ed->v = x;
		ed->cap = cap;
	}
	x = &ed->v[ed->n];
	x->off = off;
	x->del = del;
	x->len = len;
	x->ins = len ? malloc(len) : NULL;
	if (len && !x->ins)
		return -1;
	if (len)
		memcpy(x->ins, ins, len);
	ed->n++;
	return 0;
}

void free_edits(struct edits *ed)
{
	for (size_t i = 0; i < ed->n; i++)
		free(ed->v[i].ins);
	free(ed->v);
}

static int cmp_edit(const void *a, const void *b)
{
	uint64_t x = ((const struct edit *)a)->off, y = ((const struct edit *)b)->off;

	return (x > y) - (x < y);
}

void sort_edits(struct edits *ed)
{
	if (ed->n) /* qsort(NULL, 0) is undefined */
		qsort(ed->v, ed->n, sizeof(*ed->v), cmp_edit);
}

/* The body QEMU's cpu/exception_info carries for a pending exception. */
static void exception_info_body(uint8_t *b, const struct vcpu_exception *x)
{
	b[0] = x->pending;
	b[1] = x->injected;
	b[2] = x->has_payload;
	be_put(b + 3, x->payload, 8);
}

/* vmdesc: the description of cpu/exception_info, as QEMU writes it. */
static json_t *exception_info_desc(void)
{
	static const struct {
		const char *name, *type;
		int size;
	} fields[] = {
		{ "env.exception_pending", "uint8", 1 },
		{ "env.exception_injected", "uint8", 1 },
		{ "env.exception_has_payload", "uint8", 1 },
		{ "env.exception_payload", "uint64", 8 },
	};
	json_t *d = json_object(), *a = json_array();

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		json_t *f = json_object();

		json_object_set_new(f, "name", json_string(fields[i].name));
		json_object_set_new(f, "type", json_string(fields[i].type));
		json_object_set_new(f, "size", json_integer(fields[i].size));
		json_array_append_new(a, f);
	}
	json_object_set_new(d, "vmsd_name", json_string(EXCEPTION_INFO));
	json_object_set_new(d, "version", json_integer(1));
	json_object_set_new(d, "fields", a);
	return d;
}

json_t *desc_cpu(json_t *vmdesc, uint32_t instance)
{
	json_t *devs = json_object_get(vmdesc, "devices"), *d;
	size_t i;

	json_array_foreach(devs, i, d) {
		json_t *name = json_object_get(d, "name"), *inst = json_object_get(d, "instance_id");

		if (json_is_string(name) && strcmp(json_string_value(name), "cpu") == 0 &&
		    json_is_integer(inst) && json_integer_value(inst) == instance)
			return d;
	}
	return NULL;
}

json_t **desc_cpus(json_t *vmdesc, const struct qemu_stream *q)
{
	json_t **by = calloc(q->ncpus ? q->ncpus : 1, sizeof(*by));
	json_t *devs = json_object_get(vmdesc, "devices"), *d;
	size_t i, k;

	if (!by)
		return NULL;
	json_array_foreach(devs, i, d) {
		json_t *name = json_object_get(d, "name"), *inst = json_object_get(d, "instance_id");

		if (!json_is_string(name) || strcmp(json_string_value(name), "cpu") != 0 ||
		    !json_is_integer(inst) || json_integer_value(inst) < 0 ||
		    json_integer_value(inst) > UINT32_MAX)
			continue;
		k = qemu_stream_find_cpu(q, (uint32_t)json_integer_value(inst));
		if (k != SIZE_MAX && !by[k])
			by[k] = d;
	}
	return by;
}

static void desc_remove_subsection(json_t *cpu, const char *name)
{
	json_t *subs = json_object_get(cpu, "subsections"), *s;
	size_t i;

	json_array_foreach(subs, i, s) {
		json_t *n = json_object_get(s, "vmsd_name");

		if (json_is_string(n) && strcmp(json_string_value(n), name) == 0) {
			json_array_remove(subs, i);
			break;
		}
	}
	if (subs && json_array_size(subs) == 0)
		json_object_del(cpu, "subsections"); /* QEMU omits an empty list */
}

/* cpu/exception_info is first in QEMU's definition order: insert it first. */
static void desc_insert_exception_info(json_t *cpu)
{
	json_t *subs = json_object_get(cpu, "subsections");

	if (!subs) {
		subs = json_array();
		json_object_set_new(cpu, "subsections", subs);
	}
	json_array_insert_new(subs, 0, exception_info_desc());
}

static int edits_pending(struct edits *ed, const struct qemu_cpu_loc *loc,
			 const struct vcpu_plan *p, json_t *cpu_desc)
{
	uint8_t sub[SUB_HEADER(EXCEPTION_INFO) + EXCEPTION_INFO_BODY];
	size_t name_len = sizeof(EXCEPTION_INFO) - 1;

	if (loc->exception_info) {
		exception_info_body(sub, &p->new_exc);
		return add_edit(ed, loc->exception_info + SUB_HEADER(EXCEPTION_INFO),
				EXCEPTION_INFO_BODY, sub, EXCEPTION_INFO_BODY);
	}
	sub[0] = 0x05;
	sub[1] = (uint8_t)name_len;
	memcpy(sub + 2, EXCEPTION_INFO, name_len);
	be_put(sub + 2 + name_len, 1, 4);
	exception_info_body(sub + SUB_HEADER(EXCEPTION_INFO), &p->new_exc);
	if (cpu_desc)
		desc_insert_exception_info(cpu_desc);
	return add_edit(ed, loc->main + QCPU_MAIN, 0, sub, sizeof(sub));
}

static int edits_drop(struct edits *ed, const struct qemu_cpu_loc *loc,
		      const struct vcpu_state *v, json_t *cpu_desc)
{
	static const uint8_t none[4] = { 0xff, 0xff, 0xff, 0xff }; /* exception_nr = -1 */
	static const uint8_t zero = 0;

	if (add_edit(ed, loc->main + QCPU_EXCEPTION_NR, 4, none, 4))
		return -1;
	if (v->exc.has_error_code && add_edit(ed, loc->main + QCPU_HAS_ERROR_CODE, 1, &zero, 1))
		return -1;
	if (loc->exception_info) {
		if (add_edit(ed, loc->exception_info, loc->exception_info_end - loc->exception_info,
			     NULL, 0))
			return -1;
		if (cpu_desc)
			desc_remove_subsection(cpu_desc, EXCEPTION_INFO);
	}
	if (loc->error_code) {
		if (add_edit(ed, loc->error_code, loc->error_code_end - loc->error_code, NULL, 0))
			return -1;
		if (cpu_desc)
			desc_remove_subsection(cpu_desc, ERROR_CODE);
	}
	return 0;
}

int cpu_edits(struct edits *ed, const struct qemu_cpu_loc *loc, const struct vcpu_state *v,
	      const struct vcpu_plan *p, json_t *cpu_desc)
{
	if (p->action == ACTION_PENDING)
		return edits_pending(ed, loc, p, cpu_desc);
	return edits_drop(ed, loc, v, cpu_desc);
}

/*
 * In place: drop as neutral values in the fields that exist (exception_nr
 * -1, has_error_code 0, cpu/exception_info's body all zeros, cpu/error_code's
 * 0), so that the stream keeps its length and its description; pending
 * only where cpu/exception_info exists to carry it.
 */
int cpu_edits_same_length(struct edits *ed, const struct qemu_cpu_loc *loc,
			  const struct vcpu_state *v, const struct vcpu_plan *p)
{
	static const uint8_t none[4] = { 0xff, 0xff, 0xff, 0xff }; /* exception_nr = -1 */
	static const uint8_t zeros[EXCEPTION_INFO_BODY] = { 0 };

	if (p->action == ACTION_PENDING)
		return loc->exception_info ? edits_pending(ed, loc, p, NULL) : 1;
	if (add_edit(ed, loc->main + QCPU_EXCEPTION_NR, 4, none, 4))
		return -1;
	if (v->exc.has_error_code && add_edit(ed, loc->main + QCPU_HAS_ERROR_CODE, 1, zeros, 1))
		return -1;
	if (loc->exception_info && add_edit(ed, loc->exception_info + SUB_HEADER(EXCEPTION_INFO),
					    EXCEPTION_INFO_BODY, zeros, EXCEPTION_INFO_BODY))
		return -1;
	if (loc->error_code && add_edit(ed, loc->error_code + SUB_HEADER(ERROR_CODE), 4, zeros, 4))
		return -1;
	return 0;
}

uint8_t *vmdesc_record(json_t *vmdesc, size_t *len)
{
	char *text = json_dumps(vmdesc, JSON_PRESERVE_ORDER);
	size_t n = text ? strlen(text) : 0;
	uint8_t *rec = text ? malloc(n + 5) : NULL;

	if (rec) {
		rec[0] = 0x06;
		be_put(rec + 1, n, 4);
		memcpy(rec + 5, text, n);
		*len = n + 5;
	}
	free(text);
	return rec;
}
