/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * output.h --- the JSON document of one run and the value encodings
 * shared by every command.
 *
 * One document per run: {"schema_version": 1, "tool": ..., "command": ...,
 * "inputs": [...]}.  Registers are "0x%016" hex strings: jansson's
 * integers are signed and JavaScript's lose bits above 2^53.
 */
#ifndef FRED_OUTPUT_H
#define FRED_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* schema/fredck.schema.json describes it; fredck(1) lists what changed. */
#define SCHEMA_VERSION 2

json_t *json_hex64(uint64_t v);
json_t *json_hex32(uint32_t v);
json_t *json_hex8(uint8_t v);

/*
 * A string that comes from input (a path, a machine type, an error that
 * quotes input) as a JSON string, in the encoding of escape.h: a backslash
 * doubled and each byte that is not UTF-8 as \xNN, so that two different
 * names never give one value.
 */
json_t *json_input(const char *text);

/*
 * The header of every document and NDJSON line: schema_version, tool,
 * command (its first word: "repair" for "repair --dry-run") and dry_run.
 */
json_t *out_header(const char *command);

/* Start the document of this run (only in JSON mode). */
void out_begin(const char *command);
/* Append one input's object (steals the reference). */
void out_add_input(json_t *input);
/*
 * Batch: while capturing, out_add_input keeps the object for
 * out_take_captured (the caller's reference) instead of adding it.
 */
void out_capture(bool on);
json_t *out_take_captured(void);
/* --ndjson: one line for one input, with the header and the time it took, on out. */
int out_ndjson(FILE *out, json_t *input, const char *command, double elapsed_ms);
/* Print a whole document (explain's): 0, or EXIT_OPERATIONAL on failure; steals doc. */
int out_print(json_t *doc);

/* Set a key of the document after "inputs" (steals the reference). */
void out_set(const char *key, json_t *value);
/* Print the document; returns 0, or EXIT_INTERNAL bits on failure. */
int out_end(void);

/*
 * Set a key, stealing the value's reference (json_object_set_new, checked):
 * a failure (out of memory) is said once and remembered for out_status(),
 * never an exit from here.
 */
void jset(json_t *obj, const char *key, json_t *value);
/* EXIT_INTERNAL when building any JSON value of this run failed, else 0. */
int out_status(void);

#endif
