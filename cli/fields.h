/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fields.h --- the one table of a vCPU's fields (util-linux's way): each
 * field described once (its JSON key, its text label, its kind, how it is
 * read from the model), rendered by one text writer and one JSON writer,
 * and compared by diff.  inspect's vCPU lines and object, check's and
 * repair's exception object, diff's differences and repair's changes all
 * come from it, so a field has one name and one type everywhere.
 */
#ifndef FRED_FIELDS_H
#define FRED_FIELDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "reconstruct/vcpu.h"

enum field_kind {
	FIELD_BOOL,   /* true / false */
	FIELD_INT,    /* a count or a vector number */
	FIELD_HEX8,   /* 0x%02x in text, as an integer in JSON */
	FIELD_HEX32,  /* "0x%08x" */
	FIELD_HEX64,  /* "0x%016x": register-sized */
	FIELD_STATE,  /* enum exc_state, by name */
	FIELD_BITS,   /* a bit mask by name: an array in JSON, "0x... (PREFIX: a, b)" in text */
	FIELD_STRING, /* words made from the model (never from input) */
};

/* Where a field shows. */
#define FIELD_IN_JSON 0x1 /* a key of the vCPU's JSON object (inspect; exception.* in check) */
#define FIELD_IN_TEXT 0x2 /* a line of inspect's text */
#define FIELD_IN_DIFF 0x4 /* compared by diff, and a name repair's changes may use */
/* Text: a value not saved is shown only with -v (the FRED MSRs most formats lack). */
#define FIELD_TEXT_IF_SAVED 0x8

struct field_value {
	uint64_t n;
	char s[256]; /* FIELD_STRING */
};

struct field {
	const char *key;   /* JSON path, dotted ("exception.vector"); NULL: text only */
	const char *name;  /* diff's and repair's name ("exception.vector", "cr2") */
	const char *label; /* inspect's text label ("exception", "valid flags") */
	enum field_kind kind;
	unsigned int shown;
	/* The value as saved; false when the format did not save it (text "not saved", JSON null). */
	bool (*get)(const struct vcpu_state *v, int arg, struct field_value *out);
	/* What diff compares, when it differs from get (a stale vector with nothing queued: 0). */
	bool (*cmp)(const struct vcpu_state *v, int arg, struct field_value *out);
	int arg;
};

/* Every field, in display order (events, then one per register). */
size_t fields_count(void);
const struct field *field_at(size_t i);
/* The field diff and repair call name, or NULL. */
const struct field *field_by_name(const char *name);

/* The value of a field as text ("not saved" when absent), into buf. */
void field_text_value(const struct field *f, bool present, const struct field_value *val,
		      char *buf, size_t len);
/* The same for JSON: null when absent. */
json_t *field_json_value(const struct field *f, bool present, const struct field_value *val);

/* The text writer: inspect's lines of one vCPU ("  LABEL        VALUE"). */
void fields_text(FILE *out, const struct vcpu_state *v, bool verbose);
/*
 * The JSON writer: the fields whose key starts with prefix ("" for all,
 * "exception." for one object) added to o, nested at their dots.
 */
void fields_json(json_t *o, const struct vcpu_state *v, const char *prefix);

#endif
