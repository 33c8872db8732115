/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chv.c --- reader and writer of Cloud Hypervisor snapshots (chv.h).
 *
 * state.json is the Snapshot tree of vm-migration/src/lib.rs: nodes of
 * {"snapshots":{id: node...},"snapshot_data":...}.  The vCPUs are the
 * children of snapshots["cpu-manager"]; each one's snapshot_data holds the
 * JSON text of its CpuState ({"Kvm":{...}}) in one of two layouts:
 *
 *   v39 and later   {"state":"<text>"}; the KVM structs inside are arrays
 *                   of their raw bytes (kvm-bindings' serde_impls).
 *   v29 to v38      [123,34,...], the text's bytes; the KVM structs inside
 *                   are objects with one member per C field (the serde
 *                   derive of Cloud Hypervisor's kvm-bindings fork).
 *
 * Numbers are read exactly (json_scan.h) because u64 values above
 * INT64_MAX are common there.  A repair edits only the tokens of the
 * changed kvm_vcpu_events fields, in place in the outer file: every other
 * byte, inner or outer, stays as it was.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/chv/chv_priv.h"
#include "formats/io/whole_file.h"

/* ---- reading the outer file ----------------------------------------------- */

/* state.json whole, NUL-terminated for the JSON scanner. */
static int slurp(const char *path, char **buf, size_t *len, struct stat *st, struct fmt_error *e)
{
	uint8_t *p;

	if (read_whole_file(path, CHV_MAX_STATE, "Cloud Hypervisor state.json (it holds no guest "
			    "memory)", 0, &p, len, st, e) != 0)
		return -1;
	p[*len] = '\0';
	*buf = (char *)p;
	return 0;
}

/* An outer node of the wrong type: malformed, naming its path. */
static int outer_type(struct chv *c, int node, const char *path, const char *want,
		      struct fmt_error *e)
{
	return fmt_malformed(e, c->file, c->tree.n[node].start, path, "is %s; expected %s",
			     jv_type_name(c->tree.n[node].type), want);
}

/* A vCPU key of cpu-manager: decimal, no leading zero, below CHV_MAX_VCPUS. */
static bool vcpu_id(const struct jv_tree *t, int m, unsigned int *id)
{
	const struct jv_node *n = &t->n[m];
	const char *k = t->buf + n->key_start + 1;
	size_t len = n->key_end - n->key_start - 2;
	unsigned long v = 0;

	if (len == 0 || len > 4 || (k[0] == '0' && len > 1))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (k[i] < '0' || k[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(k[i] - '0');
	}
	*id = (unsigned int)v;
	return v < CHV_MAX_VCPUS;
}

/* Decode a v29-v38 snapshot_data: an array of byte values holding the text. */
static int decode_byte_array(struct chv *c, struct chv_vcpu *cv, struct fmt_error *e)
{
	const struct jv_node *arr = &c->tree.n[cv->data];
	size_t i = 0;

	cv->text = malloc(arr->count + 1);
	cv->map = malloc((arr->count + 1) * 2 * sizeof(*cv->map));
	if (!cv->text || !cv->map)
		return fmt_syserr(e, c->file, ENOMEM, "cannot read");
	for (int el = arr->first; el >= 0; el = c->tree.n[el].next, i++) {
		uint64_t b;
		char p[128];

		snprintf(p, sizeof(p), "%s[%zu]", cv->path, i);
		if (jv_u64(&c->tree, el, &b) != 0 || b > 255)
			return fmt_malformed(e, c->file, c->tree.n[el].start, p,
					     "is not a byte value (an integer 0 to 255)");
		cv->text[i] = (char)b;
		cv->map[2 * i] = c->tree.n[el].start;
		cv->map[2 * i + 1] = c->tree.n[el].end;
	}
	cv->text[i] = '\0';
	cv->len = i;
	return 0;
}

/* snapshot_data of one vCPU: its layout, and the inner text decoded. */
static int vcpu_data(struct chv *c, struct chv_vcpu *cv, int node, bool first,
		     struct fmt_error *e)
{
	int sd = jv_member_unique(&c->tree, node, "snapshot_data"), st = -1;
	enum chv_layout layout;

	snprintf(cv->path, sizeof(cv->path), ".snapshots[\"cpu-manager\"].snapshots[\"%u\"]",
		 cv->id);
	if (c->tree.n[node].type != JV_OBJECT)
		return outer_type(c, node, cv->path, "an object (a Snapshot node)", e);
	if (sd < 0)
		return fmt_malformed(e, c->file, c->tree.n[node].start, cv->path,
				     sd == -2 ? "has snapshot_data twice" : "has no snapshot_data");
	strcat(cv->path, ".snapshot_data");
	if (c->tree.n[sd].type == JV_ARRAY) {
		layout = CHV_V29_V38;
		cv->data = sd;
	} else if (c->tree.n[sd].type == JV_OBJECT &&
		   (st = jv_member_unique(&c->tree, sd, "state")) >= 0) {
		layout = CHV_V39;
		cv->data = st;
		strcat(cv->path, ".state");
		if (c->tree.n[st].type != JV_STRING)
			return outer_type(c, st, cv->path, "a string (the vCPU state)", e);
	} else {
		return outer_type(c, sd, cv->path,
				  "{\"state\": string} (v39 and later) or an array of byte values "
				  "(v29 to v38)", e);
	}
	if (!first && layout != c->layout)
		return fmt_malformed(e, c->file, c->tree.n[sd].start, cv->path,
				     "vCPUs of one snapshot in two layouts (v29-v38 and v39+)");
	c->layout = layout;
	if (layout == CHV_V29_V38)
		return decode_byte_array(c, cv, e);
	if (jv_string(&c->tree, cv->data, &cv->text, &cv->len, &cv->map) != 0)
		return fmt_syserr(e, c->file, ENOMEM, "cannot read");
	return 0;
}

/* The member key of obj, an object, once: malformed (naming path) otherwise. */
static int outer_object(struct chv *c, int obj, const char *key, const char *path,
			const char *if_missing, int *m, struct fmt_error *e)
{
	*m = jv_member_unique(&c->tree, obj, key);
	if (*m == -2)
		return fmt_malformed(e, c->file, c->tree.n[obj].start, path, "appears twice");
	if (*m < 0)
		return fmt_malformed(e, c->file, c->tree.n[obj].start, path, "%s", if_missing);
	if (c->tree.n[*m].type != JV_OBJECT)
		return outer_type(c, *m, path, "an object", e);
	return 0;
}

static int cmp_vcpu(const void *a, const void *b)
{
	unsigned int x = ((const struct chv_vcpu *)a)->id, y = ((const struct chv_vcpu *)b)->id;

	return (x > y) - (x < y);
}

/*
 * The tree down to the cpu-manager's children: the vCPUs, sorted by id.
 * v28 and older (nodes with an "id", snapshot_data a map of sections) are
 * unsupported, said as such.
 */
static int find_vcpus(struct chv *c, size_t *count, struct fmt_error *e)
{
	const struct jv_tree *t = &c->tree;
	int snaps, cpum, cs;
	size_t n = 0;

	if (t->n[0].type != JV_OBJECT)
		return outer_type(c, 0, ".", "an object (the Snapshot tree)", e);
	if (jv_member(t, 0, "id") >= 0)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, c->file,
				"a Cloud Hypervisor v28 or older snapshot (Snapshot nodes with an "
				"\"id\", versionize sections): not supported; this version reads "
				"v29 and later");
	if (outer_object(c, 0, "snapshots", ".snapshots", "missing", &snaps, e) != 0 ||
	    outer_object(c, snaps, "cpu-manager", ".snapshots[\"cpu-manager\"]",
			 "missing: no CPU manager in this snapshot", &cpum, e) != 0 ||
	    outer_object(c, cpum, "snapshots", ".snapshots[\"cpu-manager\"].snapshots", "missing",
			 &cs, e) != 0)
		return -1;
	if (t->n[cs].count == 0)
		return fmt_malformed(e, c->file, t->n[cs].start,
				     ".snapshots[\"cpu-manager\"].snapshots", "no vCPUs");
	if (t->n[cs].count > CHV_MAX_VCPUS)
		return fmt_malformed(e, c->file, t->n[cs].start,
				     ".snapshots[\"cpu-manager\"].snapshots",
				     "%zu vCPUs; KVM allows at most %d", (size_t)t->n[cs].count,
				     CHV_MAX_VCPUS);
	c->v = calloc(t->n[cs].count, sizeof(*c->v));
	if (!c->v)
		return fmt_syserr(e, c->file, ENOMEM, "cannot read");
	c->nv = t->n[cs].count;
	for (int m = t->n[cs].first; m >= 0; m = t->n[m].next) {
		struct chv_vcpu *cv = &c->v[n];

		if (!vcpu_id(t, m, &cv->id))
			return fmt_malformed(e, c->file, t->n[m].key_start,
					     ".snapshots[\"cpu-manager\"].snapshots",
					     "key %.*s is not a vCPU id (a decimal number)",
					     (int)(t->n[m].key_end - t->n[m].key_start),
					     t->buf + t->n[m].key_start);
		for (size_t k = 0; k < n; k++)
			if (c->v[k].id == cv->id)
				return fmt_malformed(e, c->file, t->n[m].key_start,
						     ".snapshots[\"cpu-manager\"].snapshots",
						     "vCPU %u appears twice", cv->id);
		n++; /* counted before decoding, so close frees what it allocated */
		if (vcpu_data(c, cv, m, n == 1, e) != 0) {
			*count = n;
			return -1;
		}
	}
	qsort(c->v, n, sizeof(*c->v), cmp_vcpu);
	*count = n;
	return 0;
}
/* ---- open, probe, close ------------------------------------------------------- */

static void chv_close(struct snapshot *s)
{
	struct chv *c = s->priv;

	if (!c)
		return;
	for (size_t i = 0; i < c->nv; i++) {
		free(c->v[i].text);
		free(c->v[i].map);
	}
	free(c->v);
	jv_free(&c->tree);
	free(c->buf);
	free(c);
	s->priv = NULL;
}

/* path is the snapshot directory or state.json itself. */
static int state_file(const char *path, char *file, size_t len, bool *is_dir,
		      struct fmt_error *e)
{
	struct stat st;

	/* Standard input, given --format: state.json itself, read whole (its size bounded). */
	if (strcmp(path, "-") == 0) {
		*is_dir = false;
		snprintf(file, len, "-");
		return 0;
	}
	if (stat(path, &st) != 0)
		return fmt_syserr(e, path, errno, "cannot open");
	*is_dir = S_ISDIR(st.st_mode);
	if (!*is_dir) {
		snprintf(file, len, "%s", path);
		return 0;
	}
	return fmt_join(file, len, path, "state.json", e);
}

static int chv_open(struct snapshot *s, const char *path, struct fmt_error *e)
{
	struct chv *c = calloc(1, sizeof(*c));
	struct jv_error jerr;
	size_t n = 0;
	int rc;

	if (!c)
		return fmt_syserr(e, path, ENOMEM, "cannot read");
	s->priv = c;
	if (state_file(path, c->file, sizeof(c->file), &c->is_dir, e) != 0)
		return -1;
	if (c->is_dir && stat(path, &c->dir_st) != 0)
		return fmt_syserr(e, path, errno, "cannot open the directory");
	if (slurp(c->file, &c->buf, &c->len, &c->st, e) != 0)
		return -1;
	if (jv_parse(&c->tree, c->buf, c->len, &jerr) != 0)
		return fmt_malformed(e, c->file, jerr.offset, "(JSON)", "not valid JSON: %s",
				     jerr.msg);
	rc = find_vcpus(c, &n, e);
	if (rc == 0) {
		s->vcpus = calloc(n, sizeof(*s->vcpus));
		if (!s->vcpus)
			rc = fmt_syserr(e, path, ENOMEM, "cannot read");
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = chv_read_vcpu(c, &c->v[i], &s->vcpus[i], e);
		if (rc == 0)
			s->nvcpus = i + 1;
	}
	if (rc != 0)
		return -1;
	snprintf(s->detail, sizeof(s->detail), "%zu vCPU%s, %s layout", n, n == 1 ? "" : "s",
		 c->layout == CHV_V39 ? "v39 and later" : "v29 to v38");
	snapshot_add_fact(s, "layout", "%s",
			  c->layout == CHV_V39 ?
			  "v39 and later: state string, KVM structs as raw byte arrays" :
			  "v29 to v38: state as an array of byte values, KVM structs field by field");
	snapshot_add_fact(s, "state_file", "%s", c->file);
	return 0;
}

/* A file that starts as a Snapshot tree does ({"snapshots": or v28's {"id":"vm"). */
static bool looks_like_state(const char *path, const struct stat *st)
{
	static const char v29[] = "{\"snapshots\":", v28[] = "{\"id\":\"vm\"";
	uint8_t b[sizeof(v29) - 1];

	_Static_assert(sizeof(v28) <= sizeof(v29), "the longer magic is read");
	if (!format_read_magic(path, st, b, sizeof(b)))
		return false;
	return memcmp(b, v29, sizeof(v29) - 1) == 0 || memcmp(b, v28, sizeof(v28) - 1) == 0;
}

static bool chv_probe(const char *path, const struct stat *st)
{
	char p[PATH_MAX];
	struct stat fst;
	struct fmt_error ignored;

	if (!S_ISDIR(st->st_mode))
		return looks_like_state(path, st);
	if (fmt_join(p, sizeof(p), path, "state.json", &ignored) != 0)
		return false;
	/* Any state.json makes it one: a FIFO there is a damaged snapshot, said by open. */
	return lstat(p, &fst) == 0 && !S_ISDIR(fst.st_mode);
}

/* Cloud Hypervisor never enables KVM_CAP_EXCEPTION_PAYLOAD (vmm-snapshot-formats.md 0.3). */
static bool chv_dest_cap(const struct snapshot *s, const struct vcpu_state *v)
{
	(void)s;
	(void)v;
	return false;
}
const struct format_ops chv_format = {
	.name = "cloud-hypervisor",
	.description = "Cloud Hypervisor snapshot directory (state.json), v29 and later",
	.probe = chv_probe,
	.open = chv_open,
	.dest_payload_cap = chv_dest_cap,
	.write = chv_write,
	.close = chv_close,
	.stdin_whole_max = CHV_MAX_STATE,
};
