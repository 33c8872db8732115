/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * output.c --- the run's JSON document and value encodings.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/diag.h"
#include "cli/escape.h"
#include "cli/output.h"

/* The document being built, NULL in text mode and with --ndjson. */
static json_t *document;
/*
 * Building a JSON value failed (out of memory): said once, and the run's
 * status gets EXIT_INTERNAL from out_status() (the command layer's to return).
 */
static bool build_failed;

static void note_build_failure(void)
{
	if (!build_failed)
		diag_error("internal error: out of memory building the JSON output");
	build_failed = true;
}

int out_status(void)
{
	return build_failed ? EXIT_INTERNAL : 0;
}

/* While capturing (batch): the last input's object, kept instead of added. */
static bool capturing;
static json_t *captured;

/* "0x" and digits hex digits, zero-padded. */
static json_t *hex(int digits, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%0*" PRIx64, digits, v);
	return json_string(buf);
}

json_t *json_hex64(uint64_t v)
{
	return hex(16, v);
}

json_t *json_hex32(uint32_t v)
{
	return hex(8, v);
}

json_t *json_hex8(uint8_t v)
{
	return hex(2, v);
}

void jset(json_t *obj, const char *key, json_t *value)
{
	/* json_object_set_new takes the value's reference even when it fails (NULL obj too). */
	if (!value || json_object_set_new(obj, key, value) != 0)
		note_build_failure();
}

json_t *out_header(const char *command)
{
	json_t *header = json_object(), *tool = json_object();

	if (!header || !tool)
		note_build_failure();
	jset(header, "schema_version", json_integer(SCHEMA_VERSION));
	jset(tool, "name", json_string(PACKAGE_NAME));
	jset(tool, "version", json_string(PACKAGE_VERSION));
	jset(header, "tool", tool);
	/* One word: whether nothing was written is a field of its own, not a second word. */
	jset(header, "command", json_stringn(command, strcspn(command, " ")));
	jset(header, "dry_run", json_boolean(global_opts.dry_run));
	return header;
}

void out_begin(const char *command)
{
	if (!global_opts.json || global_opts.ndjson)
		return;
	document = out_header(command);
	jset(document, "inputs", json_array());
}

void out_capture(bool on)
{
	capturing = on;
}

json_t *out_take_captured(void)
{
	json_t *o = captured;

	captured = NULL;
	return o;
}

void out_add_input(json_t *input)
{
	if (capturing) {
		json_decref(captured);
		captured = input;
		return;
	}
	if (!document) {
		json_decref(input);
		return;
	}
	if (json_array_append_new(json_object_get(document, "inputs"), input) != 0)
		note_build_failure();
}

void out_set(const char *key, json_t *value)
{
	if (document)
		jset(document, key, value);
	else
		json_decref(value);
}

int out_print(json_t *doc)
{
	size_t flags = global_opts.pretty ? JSON_INDENT(2) : JSON_COMPACT;
	int rc = json_dumpf(doc, stdout, flags | JSON_ENSURE_ASCII);

	json_decref(doc);
	if (rc != 0 || fputc('\n', stdout) == EOF)
		return EXIT_OPERATIONAL;
	return 0;
}

int out_end(void)
{
	json_t *doc = document;

	if (!doc)
		return out_status();
	document = NULL;
	return out_print(doc) | out_status();
}

int out_ndjson(FILE *out, json_t *input, const char *command, double elapsed_ms)
{
	/* The header first, so that each line stands alone. */
	json_t *line = out_header(command);
	const char *key;
	json_t *value;
	int rc;

	json_object_foreach(input, key, value)
		jset(line, key, json_incref(value));
	/* Whole microseconds: a float would carry noise (0.071560999960638583). */
	jset(line, "elapsed_us", json_integer((json_int_t)(elapsed_ms * 1000.0 + 0.5)));
	rc = json_dumpf(line, out, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(line);
	if (rc != 0 || fputc('\n', out) == EOF)
		return EXIT_OPERATIONAL;
	return 0;
}

/* A string from input as JSON: fredck(1) OUTPUT ENCODING, never NULL for bad bytes. */
json_t *json_input(const char *text)
{
	char *e = esc_dup(text, ESC_JSON);
	json_t *s = e ? json_string(e) : NULL;

	free(e);
	return s;
}
