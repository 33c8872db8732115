/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * firecracker.c --- reader and writer of Firecracker snapshot state files.
 *
 * The file is [u64 magic][version][MicrovmState][u64 CRC-64 of all before].
 * Up to v1.6 the state is versionize (a u16 data version follows the
 * magic); v1.7 to v1.14 it is bincode with fixed-width little-endian
 * integers (a semver string follows the magic).  The state is walked by
 * its schema, field by field, from the header through every vCPU state
 * (and, bincode, through the device states to the CRC trailer, where the
 * walk must end exactly): fc_state.c.  Two snapshot versions were written
 * by two layouts each (3.0.0 by v1.9.x and v1.10.0, 8.0.0 by v1.13.x and
 * v1.14.x): each layout is walked, and the one that ends exactly at the
 * trailer is the file's.  From v1.15 the whole file before the trailer is
 * one bitcode value (serde mode, columnar), its first column the magic
 * (a packing byte 0, then the 8 bytes): fc_bitcode.c walks it column by
 * column to the trailer.  The release table and the layouts:
 * man/fredck-formats.5, tests/fc/README.md, docs/design.md.
 *
 * A repair of a versionize or bincode file patches only the 64 bytes of
 * kvm_vcpu_events of the vCPUs it changes and the CRC trailer; every other
 * byte is copied.  In a bitcode file the events of every vCPU are one u8
 * column whose packing depends on all its bytes: the repair packs that
 * column again as bitcode 0.6.9 would and splices it between the
 * unchanged bytes before and after it (nothing in the file points at an
 * offset), then computes the trailer.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/firecracker/bitcode.h"
#include "formats/firecracker/crc64.h"
#include "formats/firecracker/fc_bitcode.h"
#include "formats/firecracker/fc_state.h"
#include "formats/firecracker/firecracker.h"
#include "formats/io/le.h"
#include "formats/io/safe_write.h"
#include "formats/io/whole_file.h"
#include "formats/kvm/kvm.h"

/* The x86_64 magic; its low 16 bits are versionize's format version (0 for bincode). */
#define FC_MAGIC_X86 0x0710198486640000ULL
#define FC_MAGIC_ARM 0x07101984AAAA0000ULL
#define FC_MAGIC_MASK 0xFFFFFFFFFFFF0000ULL
#define FC_CRC_SIZE 8
/* Longest semver string accepted ("8.0.0" in practice). */
#define FC_VERSION_MAX 32

/*
 * Every bincode release tag by the SNAPSHOT_VERSION of src/vmm/src/
 * persist.rs at that tag, and the release whose types it writes (patch
 * tags change no serialised type).  A major listed twice is two layouts.
 */
static const struct fc_release {
	unsigned int major;
	unsigned int minor; /* the layout: the types of Firecracker 1.minor */
	const char *release, *tags;
} bincode_releases[] = {
	{ 1, 7, "v1.7", "v1.7.0" },
	{ 2, 8, "v1.8", "v1.8.0" },
	{ 3, 9, "v1.9", "v1.9.0 v1.9.1" },
	{ 3, 10, "v1.10", "v1.10.0" },
	{ 4, 10, "v1.10", "v1.10.1" },
	{ 5, 11, "v1.11", "v1.11.0" },
	{ 6, 12, "v1.12", "v1.12.0 v1.12.1" },
	{ 8, 13, "v1.13", "v1.13.0 v1.13.1 v1.13.2" },
	{ 8, 14, "v1.14", "v1.14.0 v1.14.1 v1.14.2 v1.14.3 v1.14.4" },
};

#define N_BINCODE_RELEASES (sizeof(bincode_releases) / sizeof(bincode_releases[0]))

/* Versionize data versions 1-10, in order (src/vmm/src/version_map.rs @v1.6.0). */
static const char *const versionize_releases[] = {
	"v0.23", "v0.24", "v0.25", "v1.0", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6",
};

struct firecracker {
	uint8_t *buf; /* the whole file */
	size_t len;
	uint64_t state_start;  /* first byte after the header */
	bool versionize;
	unsigned int data_version; /* versionize */
	unsigned int major;        /* bincode: of the snapshot version */
	char version[FC_VERSION_MAX + 1];
	const char *serializer;
	struct fc_walk walk;   /* the vCPU states found, and where their structures lie */
	bool bitcode;          /* v1.15 on */
	struct fc_bitcode bc;  /* bitcode: the vCPU states and the events column */
	mode_t mode;
	struct stat st;        /* the file as read: found so at the commit */
};

/* ---- the container ------------------------------------------------------ */

/* Read path whole (bounded by FC_MAX_FILE) into fc->buf. */
static int slurp(struct firecracker *fc, const char *path, struct fmt_error *e)
{
	struct stat st;

	if (read_whole_file(path, FC_MAX_FILE, "Firecracker state file", 0, &fc->buf, &fc->len,
			    &st, e) != 0)
		return -1;
	fc->mode = st.st_mode;
	fc->st = st;
	return 0;
}

static bool crc_valid(const uint8_t *buf, size_t len)
{
	return len >= FC_CRC_SIZE && crc64_jones(0, buf, len) == 0;
}

/* The semver string after a bincode magic; its major chooses the layouts to walk. */
static int bincode_header(struct firecracker *fc, const char *path, struct fmt_error *e)
{
	uint64_t n = le_get(fc->buf + 8, 8);
	unsigned long major;
	char *end;

	if (n == 0 || n > FC_VERSION_MAX)
		return fmt_malformed(e, path, 8, "version",
				     "version string length %llu is not that of a semver string",
				     (unsigned long long)n);
	if (16 + n > fc->len - FC_CRC_SIZE)
		return fmt_malformed(e, path, fc->len, "version",
				     "the file ends inside the %llu-byte version string (or its "
				     "checksum): it is truncated", (unsigned long long)n);
	memcpy(fc->version, fc->buf + 16, n);
	fc->version[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789.-+abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
			    fc->version[i]) || fc->version[i] == '\0')
			return fmt_malformed(e, path, 16 + i, "version",
					     "byte 0x%02x in the version string", fc->buf[16 + i]);
	major = strtoul(fc->version, &end, 10);
	if (end == fc->version || *end != '.')
		return fmt_malformed(e, path, 16, "version", "'%s' is not a semver version",
				     fc->version);
	fc->state_start = 16 + n;
	fc->major = (unsigned int)major;
	for (size_t i = 0; i < N_BINCODE_RELEASES; i++)
		if (bincode_releases[i].major == major)
			return 0;
	return fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
			"Firecracker snapshot version %s is not one fredck knows (1.0.0 of v1.7 "
			"to 8.0.0 of v1.14)", fc->version);
}

/* The versionize header: format version 1, then a u16 data version. */
static int versionize_header(struct firecracker *fc, const char *path, uint64_t format_version,
			     struct fmt_error *e)
{
	uint64_t dv = le_get(fc->buf + 8, 2);
	size_t nrel = sizeof(versionize_releases) / sizeof(versionize_releases[0]);

	if (format_version != 1)
		return fmt_malformed(e, path, 0, "magic",
				     "versionize format version %llu; Firecracker wrote only 1",
				     (unsigned long long)format_version);
	if (dv == 0 || dv > nrel)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
				"versionize data version %llu is not one fredck knows (1 of v0.23 to "
				"10 of v1.6)", (unsigned long long)dv);
	fc->state_start = 10;
	fc->versionize = true;
	fc->data_version = (unsigned int)dv;
	return 0;
}

/*
 * v1.15 on: the bitcode magic column.  The version is the second column,
 * read by the walk; Firecracker refuses a file over 10,000,000 bytes.
 */
static int bitcode_header(struct firecracker *fc, const char *path, bool arm,
			  struct fmt_error *e)
{
	if (arm)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
				"an aarch64 Firecracker snapshot; fredck repairs x86 vCPU state only");
	if (fc->len > FC_BITCODE_MAX_FILE)
		return fmt_malformed(e, path, FC_BITCODE_MAX_FILE, "file size",
				     "file is %zu bytes; Firecracker refuses a snapshot state file "
				     "over %u bytes", fc->len, FC_BITCODE_MAX_FILE);
	fc->bitcode = true;
	fc->state_start = 0;
	return 0;
}

static int read_header(struct firecracker *fc, const char *path, struct fmt_error *e)
{
	uint64_t magic;
	bool arm;

	if (fc->len < 16 + FC_CRC_SIZE) {
		if (fc->len >= 8 && (le_get(fc->buf, 8) & FC_MAGIC_MASK) == FC_MAGIC_X86)
			return fmt_malformed(e, path, fc->len, "file size",
					     "file is %zu bytes, too short for a Firecracker header "
					     "and its checksum", fc->len);
		/* Only --format=firecracker gets here (the probe wants the magic). */
		return fmt_malformed(e, path, fc->len, "magic",
				     "file is %zu bytes, too short for a Firecracker snapshot",
				     fc->len);
	}
	magic = le_get(fc->buf, 8);
	if (fc_bitcode_magic(fc->buf, fc->len, &arm))
		return bitcode_header(fc, path, arm, e);
	if ((magic & FC_MAGIC_MASK) == FC_MAGIC_ARM)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
				"an aarch64 Firecracker snapshot; fredck repairs x86 vCPU state only");
	if ((magic & FC_MAGIC_MASK) != FC_MAGIC_X86) {
		if (crc_valid(fc->buf, fc->len))
			return fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
					"no known header, but a valid trailing CRC-64: not a "
					"Firecracker snapshot fredck knows (a bitcode one, v1.15 or "
					"later, starts with the x86_64 magic as its first column)");
		return fmt_malformed(e, path, 0, "magic",
				     "0x%016llx is not a Firecracker snapshot magic",
				     (unsigned long long)magic);
	}
	if ((magic & 0xFFFF) == 0)
		return bincode_header(fc, path, e);
	return versionize_header(fc, path, magic & 0xFFFF, e);
}

static int check_crc(struct firecracker *fc, const char *path, struct fmt_error *e)
{
	uint64_t stored = le_get(fc->buf + fc->len - FC_CRC_SIZE, 8);
	uint64_t computed = crc64_jones(0, fc->buf, fc->len - FC_CRC_SIZE);

	if (stored != computed)
		return fmt_malformed(e, path, fc->len - FC_CRC_SIZE, "crc64",
				     "stored CRC-64 0x%016llx, computed 0x%016llx: the file is "
				     "damaged or truncated", (unsigned long long)stored,
				     (unsigned long long)computed);
	return 0;
}

static void firecracker_close(struct snapshot *s)
{
	struct firecracker *fc = s->priv;

	if (fc) {
		free(fc->buf);
		fc_walk_free(&fc->walk);
		fc_bitcode_free(&fc->bc);
	}
	free(fc);
	s->priv = NULL;
}

/* One walk of the state with the types of layout l, from a clean cursor. */
static int walk_as(const struct firecracker *fc, const char *path, const struct fc_layout *l,
		   struct fc_walk *w, struct fmt_error *e)
{
	struct fc_cur c = { .b = fc->buf, .pos = fc->state_start, .end = fc->len - FC_CRC_SIZE,
			    .file = path, .e = e };

	return fc_walk_state(&c, l, w);
}

/* Two layouts walked to the trailer agree when they put every vCPU structure at the same place. */
static bool same_vcpus(const struct fc_walk *a, const struct fc_walk *b)
{
	return a->nvcpus == b->nvcpus && a->vcpus_off == b->vcpus_off &&
	       memcmp(a->loc, b->loc, a->nvcpus * sizeof(*a->loc)) == 0;
}

/*
 * Walk every layout the snapshot version stands for.  The file's is the
 * one that walks to the trailer; two that both do must agree on the vCPU
 * states (3.0.0 without a net device: the layouts are the same bytes).
 * When none does, the error is that of the layout read furthest.
 */
static int walk_bincode(struct snapshot *s, struct firecracker *fc, const char *path,
			struct fmt_error *e)
{
	const struct fc_release *found[2] = { NULL, NULL };
	struct fmt_error err, deepest = { .kind = FMT_ERR_NONE };
	const struct fc_release *deepest_rel = NULL;
	struct fc_walk w;
	size_t tried = 0;

	for (size_t i = 0; i < N_BINCODE_RELEASES; i++) {
		const struct fc_release *r = &bincode_releases[i];
		struct fc_layout l = { .minor = r->minor };

		if (r->major != fc->major)
			continue;
		tried++;
		if (walk_as(fc, path, &l, &w, &err) != 0) {
			if (err.kind != FMT_ERR_MALFORMED) {
				*e = err;
				return -1;
			}
			if (!deepest_rel || err.offset > deepest.offset) {
				deepest = err;
				deepest_rel = r;
			}
			continue;
		}
		if (!found[0]) {
			found[0] = r;
			fc->walk = w;
		} else if (!same_vcpus(&fc->walk, &w)) {
			fc_walk_free(&w);
			return fmt_malformed(e, path, fc->state_start, "(state)",
					     "snapshot version %s walks to the checksum both as %s's "
					     "layout and as %s's, with the vCPU states in other places",
					     fc->version, found[0]->release, r->release);
		} else {
			found[1] = r;
			fc_walk_free(&w);
		}
	}
	if (!found[0]) {
		*e = deepest;
		if (tried > 1)
			snprintf(e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg),
				 " (read as %s's layout, the furthest of the %zu that write %s)",
				 deepest_rel->release, tried, fc->version);
		return -1;
	}
	if (found[1]) {
		snapshot_add_fact(s, "release", "%s-%s", found[0]->release, found[1]->release);
		snapshot_add_fact(s, "tags", "%s %s", found[0]->tags, found[1]->tags);
	} else {
		snapshot_add_fact(s, "release", "%s", found[0]->release);
		snapshot_add_fact(s, "tags", "%s", found[0]->tags);
	}
	snapshot_add_fact(s, "snapshot_version", "%s", fc->version);
	/* v1.12 moved to bincode 2 (standard, fixint, little-endian): the same wire form. */
	fc->serializer = found[0]->minor >= 12 ? "bincode 2 (fixint, little-endian)"
					       : "bincode 1 (fixint, little-endian)";
	snapshot_add_fact(s, "serializer", "%s", fc->serializer);
	snapshot_add_fact(s, "walked", "every field, to the checksum");
	return 0;
}

static int walk_versionize(struct snapshot *s, struct firecracker *fc, const char *path,
			   struct fmt_error *e)
{
	struct fc_layout l = { .versionize = true, .data_version = fc->data_version };

	if (walk_as(fc, path, &l, &fc->walk, e) != 0)
		return -1;
	snapshot_add_fact(s, "release", "%s", versionize_releases[fc->data_version - 1]);
	snapshot_add_fact(s, "snapshot_version", "data version %u", fc->data_version);
	fc->serializer = "versionize";
	snapshot_add_fact(s, "serializer", "%s", fc->serializer);
	snapshot_add_fact(s, "walked", "every field to the end of the vCPU states (device "
			  "states not walked)");
	return 0;
}

/* v1.15 on: every column, from the magic to the trailer. */
static int walk_bitcode(struct snapshot *s, struct firecracker *fc, const char *path,
			struct fmt_error *e)
{
	if (fc_bitcode_walk(fc->buf, fc->len - FC_CRC_SIZE, path, &fc->bc, e) != 0)
		return -1;
	snprintf(fc->version, sizeof(fc->version), "%s", fc->bc.version);
	fc->major = fc->bc.major;
	snapshot_add_fact(s, "release", "%s", fc->bc.release);
	snapshot_add_fact(s, "tags", "%s", fc->bc.tags);
	snapshot_add_fact(s, "snapshot_version", "%s", fc->version);
	fc->serializer = "bitcode 0.6, serde mode";
	snapshot_add_fact(s, "serializer", "%s", fc->serializer);
	snapshot_add_fact(s, "walked", "every column (%zu positions), to the checksum",
			  fc->bc.columns);
	/* Where a repair splices: the column of every vCPU's kvm_vcpu_events. */
	snapshot_add_fact(s, "events_column", "byte %llu, %llu bytes",
			  (unsigned long long)fc->bc.events_start,
			  (unsigned long long)(fc->bc.events_end - fc->bc.events_start));
	/* The vCPU states are handed over below as fc->walk's are. */
	fc->walk.vcpus = fc->bc.vcpus;
	fc->walk.nvcpus = fc->bc.nvcpus;
	fc->walk.vcpus_off = fc->bc.vcpus_col;
	fc->bc.vcpus = NULL;
	return 0;
}

/* The vCPU states walked, handed to the snapshot (fc->walk keeps their locations). */
static int read_vcpus(struct snapshot *s, struct firecracker *fc, const char *path,
		      struct fmt_error *e)
{
	int rc = fc->bitcode ? walk_bitcode(s, fc, path, e)
	       : fc->versionize ? walk_versionize(s, fc, path, e) : walk_bincode(s, fc, path, e);

	if (rc != 0)
		return -1;
	s->vcpus = fc->walk.vcpus;
	s->nvcpus = fc->walk.nvcpus;
	fc->walk.vcpus = NULL; /* the snapshot frees them */
	return 0;
}

/* "bincode 2" of "bincode 2 (fixint, little-endian)", "bitcode 0.6" of "bitcode 0.6, serde mode". */
static size_t serializer_name_len(const char *serializer)
{
	size_t n = strcspn(serializer, "(,");

	while (n > 0 && serializer[n - 1] == ' ')
		n--;
	return n;
}

static int firecracker_open(struct snapshot *s, const char *path, struct fmt_error *e)
{
	struct firecracker *fc = calloc(1, sizeof(*fc));

	if (!fc)
		return fmt_syserr(e, path, ENOMEM, "cannot read");
	s->priv = fc;
	if (slurp(fc, path, e) || read_header(fc, path, e) || check_crc(fc, path, e) ||
	    read_vcpus(s, fc, path, e))
		return -1;
	snapshot_add_fact(s, "crc64", "0x%016llx (valid)",
			  (unsigned long long)le_get(fc->buf + fc->len - FC_CRC_SIZE, 8));
	snapshot_add_fact(s, "vcpu_states", "%s %llu", fc->bitcode ? "column at byte" : "at byte",
			  (unsigned long long)fc->walk.vcpus_off);
	/* The first line of a report stays short: the serializer's details are a fact. */
	snprintf(s->detail, sizeof(s->detail), "%.*s snapshot, %zu vCPU%s",
		 (int)serializer_name_len(fc->serializer), fc->serializer, s->nvcpus,
		 s->nvcpus == 1 ? "" : "s");
	return 0;
}

/*
 * The x86 magic (versionize, bincode) at byte 0 or (bitcode) as the first
 * column at byte 1; or else a whole-file CRC of 0, which a random file
 * passes with odds of 2^-64 (to say what such a file is not).
 */
static bool firecracker_probe(const char *path, const struct stat *st)
{
	uint8_t magic[FC_BITCODE_MAGIC_LEN];
	struct firecracker fc = { 0 };
	struct fmt_error ignored;
	bool crc_ok, arm;

	if (!format_read_magic(path, st, magic, 8))
		return false;
	if ((le_get(magic, 8) & FC_MAGIC_MASK) == FC_MAGIC_X86 ||
	    (le_get(magic, 8) & FC_MAGIC_MASK) == FC_MAGIC_ARM)
		return true;
	if (format_read_magic(path, st, magic, sizeof(magic)) &&
	    fc_bitcode_magic(magic, sizeof(magic), &arm))
		return true;
	if (st->st_size < 16 + FC_CRC_SIZE || (uint64_t)st->st_size > FC_MAX_FILE)
		return false;
	if (slurp(&fc, path, &ignored) != 0)
		return false;
	crc_ok = crc_valid(fc.buf, fc.len);
	free(fc.buf);
	return crc_ok;
}

/* Firecracker never enables KVM_CAP_EXCEPTION_PAYLOAD (docs/design.md section 4). */
static bool firecracker_dest_cap(const struct snapshot *s, const struct vcpu_state *v)
{
	return false;
}

/* ---- repair --------------------------------------------------------------- */


/*
 * bitcode: the events of every vCPU, patched, packed again as one u8
 * column (bitcode 0.6.9's pack_bytes) between the bytes before and after
 * the old column, then the trailer.
 */
static uint8_t *build_bitcode_repair(const struct snapshot *s, const struct vcpu_plan *plans,
				     size_t *len)
{
	const struct firecracker *fc = s->priv;
	size_t nev = s->nvcpus * KVM_EVENTS_SIZE, before = fc->bc.events_start;
	size_t after = fc->len - FC_CRC_SIZE - fc->bc.events_end, packed, body;
	uint8_t *ev = malloc(nev), *out = malloc(before + nev + 2 + after + FC_CRC_SIZE);

	if (!ev || !out) {
		free(ev);
		free(out);
		return NULL;
	}
	memcpy(ev, fc->bc.events, nev);
	for (size_t i = 0; i < s->nvcpus; i++)
		if (plan_changes_state(&plans[i]))
			kvm_events_patch(ev + i * KVM_EVENTS_SIZE, &s->vcpus[i], &plans[i]);
	memcpy(out, fc->buf, before);
	packed = bc_pack_bytes(ev, nev, out + before);
	memcpy(out + before + packed, fc->buf + fc->bc.events_end, after);
	body = before + packed + after;
	le_put(out + body, crc64_jones(0, out, body), 8);
	*len = body + FC_CRC_SIZE;
	free(ev);
	return out;
}

/* The repaired file in memory: events patched, the CRC trailer recomputed. */
static uint8_t *build_repair(const struct snapshot *s, const struct vcpu_plan *plans, size_t *len)
{
	const struct firecracker *fc = s->priv;
	uint8_t *out;
	size_t body = fc->len - FC_CRC_SIZE;

	if (fc->bitcode)
		return build_bitcode_repair(s, plans, len);
	out = malloc(fc->len);
	*len = fc->len;
	if (!out)
		return NULL;
	memcpy(out, fc->buf, fc->len);
	for (size_t i = 0; i < s->nvcpus; i++)
		if (plan_changes_state(&plans[i]))
			kvm_events_patch(out + fc->walk.loc[i].events, &s->vcpus[i], &plans[i]);
	le_put(out + body, crc64_jones(0, out, body), 8);
	return out;
}

/* Is off inside some vCPU's kvm_vcpu_events, or the CRC trailer? */
static bool repairable_byte(const struct firecracker *fc, size_t nvcpus, uint64_t off)
{
	if (off >= fc->len - FC_CRC_SIZE)
		return true;
	for (size_t i = 0; i < nvcpus; i++)
		if (off >= fc->walk.loc[i].events && off < fc->walk.loc[i].events + KVM_EVENTS_SIZE)
			return true;
	return false;
}

/*
 * The first byte of got that differs from the input outside the repairable
 * bytes, or -1.  bitcode: outside the events column (which may change
 * length) and the trailer, the bytes before and after it compared apart.
 */
static int64_t stray_change(const struct snapshot *s, const uint8_t *got, size_t got_len)
{
	const struct firecracker *fc = s->priv;

	if (fc->bitcode) {
		size_t after = fc->len - FC_CRC_SIZE - fc->bc.events_end;
		const uint8_t *tail = got + got_len - FC_CRC_SIZE - after;

		if (got_len < fc->bc.events_start + after + FC_CRC_SIZE)
			return 0;
		for (uint64_t off = 0; off < fc->bc.events_start; off++)
			if (got[off] != fc->buf[off])
				return (int64_t)off;
		for (uint64_t k = 0; k < after; k++)
			if (tail[k] != fc->buf[fc->bc.events_end + k])
				return (int64_t)(tail - got + k);
		return -1;
	}
	for (uint64_t off = 0; off < fc->len; off++)
		if (got[off] != fc->buf[off] && !repairable_byte(fc, s->nvcpus, off))
			return (int64_t)off;
	return -1;
}

/*
 * Parse the written file again: the models as planned, its bytes exactly
 * as built, and none changed outside the event structures and the CRC.
 */
static int verify_file(const struct snapshot *s, const struct vcpu_plan *plans, const char *tmp,
		       const uint8_t *want, size_t want_len, struct fmt_error *e)
{
	struct snapshot re;
	const struct firecracker *got;
	int rc;

	if (snapshot_open(&re, tmp, firecracker_format.name, e) != 0)
		return -1;
	got = re.priv;
	rc = snapshot_verify(s, plans, &re, e);
	if (rc == 0 && (got->len != want_len || memcmp(got->buf, want, want_len) != 0))
		rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp,
			      "verification failed: the file read back differs from the repair");
	if (rc == 0 && stray_change(s, got->buf, got->len) >= 0)
		rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp,
			      "verification failed: byte %lld changed outside kvm_vcpu_events",
			      (long long)stray_change(s, got->buf, got->len));
	snapshot_close(&re);
	return rc;
}

static int firecracker_write(struct snapshot *s, const struct vcpu_plan *plans,
			     struct write_request *w, struct fmt_error *e)
{
	struct firecracker *fc = s->priv;
	char target[PATH_MAX], tmp[PATH_MAX];
	struct sw_sources src = { 0 };
	uint8_t *want;
	size_t want_len;
	int out, rc;

	/* The repair is verified against the input, and committed only if that is unchanged. */
	if (strcmp(s->real, "-") == 0)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, s->path,
				"a firecracker snapshot read from standard input is checked, not "
				"repaired: give its path");
	if (sw_prepare(s->real, w, target, sizeof(target), e) != 0)
		return -1;
	want = build_repair(s, plans, &want_len);
	if (!want)
		return fmt_syserr(e, s->path, ENOMEM, "cannot write");
	if (sw_temp_file(target, s->real, tmp, sizeof(tmp), &out, e) != 0) {
		free(want);
		return -1;
	}
	rc = write_all(out, want, want_len, tmp, e);
	if (rc == 0 && fsync(out) != 0)
		rc = fmt_syserr(e, tmp, errno, "cannot write");
	if (close(out) != 0 && rc == 0)
		rc = fmt_syserr(e, tmp, errno, "cannot write");
	if (rc == 0)
		rc = verify_file(s, plans, tmp, want, want_len, e);
	if (rc == 0)
		rc = sw_add_source(&src, s->real, -1, &fc->st, e);
	if (rc == 0)
		rc = sw_commit_file(tmp, target, w, &src, e);
	if (rc != 0 && strcmp(w->written, target) != 0)
		unlink(tmp);
	sw_sources_free(&src);
	free(want);
	return rc;
}

const struct format_ops firecracker_format = {
	.name = "firecracker",
	.description = "Firecracker snapshot state file (versionize v0.23-v1.6, bincode v1.7-v1.14, "
		       "bitcode v1.15-v1.16)",
	.probe = firecracker_probe,
	.open = firecracker_open,
	.dest_payload_cap = firecracker_dest_cap,
	.write = firecracker_write,
	.close = firecracker_close,
	.stdin_whole_max = FC_MAX_FILE,
};
