/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * firecracker.c --- reader and writer of Firecracker snapshot state files.
 *
 * The file is [u64 magic][version][MicrovmState][u64 CRC-64 of all before].
 * Up to v1.6 the state is versionize (a u16 data version follows the
 * magic); v1.7 to v1.14 it is bincode with fixed-width little-endian
 * integers (a semver string follows the magic).  What comes before the
 * vCPUs differs in every release, so the reader does not model it: it
 * finds Vec<VcpuState> by its shape (a count, then a CpuId whose header
 * and entry count agree) and walks every vCPU strictly; the CRC over the
 * whole file vouches for the rest.  From v1.15 the state is bitcode,
 * bit-packed with no fixed header: a file whose trailing CRC is valid but
 * whose magic is unknown is refused as that.  Layouts, and the releases
 * they were read from: man/fredck-formats.5 and tests/fc/mkfcsnap.c.
 *
 * A repair patches only the 64 bytes of kvm_vcpu_events of the vCPUs it
 * changes and the CRC trailer; every other byte is copied.
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

#include "formats/firecracker/crc64.h"
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

/* Bounds from KVM and Firecracker, to reject a shape long before allocating. */
#define FC_MAX_VCPUS 4096      /* KVM_MAX_VCPUS on x86 */
#define FC_MAX_CPUID 256       /* KVM_MAX_CPUID_ENTRIES */
#define FC_MAX_MSRS 4096       /* entries per Msrs chunk (Firecracker uses <= 256) */
#define FC_MAX_MSR_CHUNKS 256
#define FC_MAX_XSAVE_EXTRA (1U << 20) /* u32 words after the 4 KiB legacy area */

/* Firecracker's FamStructWrapper<kvm_xsave2>: a usize len, then struct kvm_xsave. */
#define XSAVE2_HDR_SIZE (8 + KVM_XSAVE_SIZE)

/* How one release serialises VcpuState (see the table in fredck-formats(5)). */
struct fc_layout {
	const char *serializer;
	bool prefixed;  /* kvm structures as serde byte strings: [u64 size][bytes] */
	bool msrs_vec;  /* saved_msrs: Vec<Msrs> (versionize VcpuState v3, bincode) */
	bool has_tsc;   /* tsc_khz: Option<u32> (versionize VcpuState v2 on) */
	bool xsave2;    /* xsave: FamStructWrapper<kvm_xsave2> (v1.12 on) */
};

/* The bincode releases by the major of their snapshot version. */
static const struct {
	unsigned int major;
	const char *release;
	struct fc_layout layout;
} bincode_versions[] = {
	{ 1, "v1.7", { "bincode 1 (fixint, little-endian)", false, true, true, false } },
	{ 2, "v1.8", { "bincode 1 (fixint, little-endian)", true, true, true, false } },
	{ 3, "v1.9-v1.10", { "bincode 1 (fixint, little-endian)", true, true, true, false } },
	{ 5, "v1.11", { "bincode 1 (fixint, little-endian)", true, true, true, false } },
	{ 6, "v1.12", { "bincode 2 (fixint, little-endian)", true, true, true, true } },
	{ 8, "v1.13-v1.14", { "bincode 2 (fixint, little-endian)", true, true, true, true } },
};

/* Versionize data versions 1-10, in order (src/vmm/src/version_map.rs @v1.6.0). */
static const char *const versionize_releases[] = {
	"v0.23", "v0.24", "v0.25", "v1.0", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6",
};

/* Where one vCPU's structures are in the file. */
struct fc_vcpu {
	uint64_t events, sregs, debugregs, regs, xcrs;
};

struct firecracker {
	uint8_t *buf; /* the whole file */
	size_t len;
	struct fc_layout layout;
	uint64_t state_start; /* first byte after the header */
	uint64_t vcpus_off;   /* the Vec<VcpuState> count */
	struct fc_vcpu *v;    /* parallel to snapshot.vcpus */
	mode_t mode;
};

/* A bounded reader over the state, for one walk. */
struct cur {
	const uint8_t *b;
	uint64_t pos, end; /* end: where the CRC trailer starts */
	const char *path;
	size_t vcpu;       /* for the names of fields in errors */
	struct fmt_error *e;
};

/* Malformed at off, in field name of the current vCPU. */
static int bad(struct cur *c, uint64_t off, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int bad(struct cur *c, uint64_t off, const char *name, const char *fmt, ...)
{
	char field[96], msg[256];
	va_list ap;

	snprintf(field, sizeof(field), "vcpu_states[%zu].%s", c->vcpu, name);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fmt_malformed(c->e, c->path, off, field, "%s", msg);
}

/* n more bytes exist before the CRC trailer. */
static int need(struct cur *c, uint64_t n, const char *name)
{
	if (n > c->end - c->pos)
		return bad(c, c->pos, name, "%llu bytes needed, %llu left before the checksum",
			   (unsigned long long)n, (unsigned long long)(c->end - c->pos));
	return 0;
}

static int take(struct cur *c, int bytes, const char *name, uint64_t *out)
{
	if (need(c, (uint64_t)bytes, name))
		return -1;
	*out = le_get(c->b + c->pos, bytes);
	c->pos += (uint64_t)bytes;
	return 0;
}

/* A fixed-size kvm structure: raw, or [u64 size][bytes]; *off: its first byte. */
static int take_struct(struct cur *c, const struct fc_layout *l, uint64_t size, const char *name,
		       uint64_t *off)
{
	uint64_t n;

	if (l->prefixed) {
		if (take(c, 8, name, &n))
			return -1;
		if (n != size)
			return bad(c, c->pos - 8, name, "byte length %llu, expected %llu",
				   (unsigned long long)n, (unsigned long long)size);
	}
	if (need(c, size, name))
		return -1;
	*off = c->pos;
	c->pos += size;
	return 0;
}

/* A FamStructWrapper: header, then Vec<entry>; the header's count must match. */
struct fam {
	uint64_t hdr_size, entry_size;
	int count_bytes;       /* width of the count at the header's start */
	uint64_t max;
	bool entries_prefixed; /* each entry a byte string of its own */
};

static int take_fam(struct cur *c, const struct fc_layout *l, const struct fam *f,
		    const char *name, uint64_t *count, uint64_t *entries)
{
	uint64_t hdr, n, stride = f->entry_size + (f->entries_prefixed ? 8 : 0);

	if (take_struct(c, l, f->hdr_size, name, &hdr) || take(c, 8, name, &n))
		return -1;
	if (n > f->max)
		return bad(c, c->pos - 8, name, "%llu entries, more than %llu",
			   (unsigned long long)n, (unsigned long long)f->max);
	if (le_get(c->b + hdr, f->count_bytes) != n)
		return bad(c, hdr, name, "the header counts %llu entries, the vector holds %llu",
			   (unsigned long long)le_get(c->b + hdr, f->count_bytes), (unsigned long long)n);
	if (need(c, n * stride, name))
		return -1;
	for (uint64_t i = 0; f->entries_prefixed && i < n; i++) {
		uint64_t at = c->pos + i * stride, len = le_get(c->b + at, 8);

		if (len != f->entry_size)
			return bad(c, at, name, "entry %llu: byte length %llu, expected %llu",
				   (unsigned long long)i, (unsigned long long)len,
				   (unsigned long long)f->entry_size);
	}
	*count = n;
	*entries = c->pos + (f->entries_prefixed ? 8 : 0);
	c->pos += n * stride;
	return 0;
}

/* MSRs fredck models (IA32_XFD and the FRED MSRs, were they ever saved). */
static int decode_msrs(struct cur *c, uint64_t entries, uint64_t n, uint64_t stride,
		       struct vcpu_state *v, uint64_t *seen)
{
	for (uint64_t i = 0; i < n; i++) {
		struct kvm_fault f;

		if (kvm_msr_entry_decode(c->b + entries + i * stride, v, seen, &f) != 0)
			return bad(c, entries + i * stride + f.offset, "saved_msrs", "%s", f.why);
	}
	return 0;
}

static int walk_msrs(struct cur *c, const struct fc_layout *l, struct vcpu_state *v)
{
	const struct fam f = { KVM_MSRS_HDR_SIZE, KVM_MSR_ENTRY_SIZE, 4, FC_MAX_MSRS, l->prefixed };
	uint64_t chunks = 1, n, entries, seen = 0;

	if (l->msrs_vec) {
		if (take(c, 8, "saved_msrs", &chunks))
			return -1;
		if (chunks > FC_MAX_MSR_CHUNKS)
			return bad(c, c->pos - 8, "saved_msrs", "%llu chunks of MSRs, more than %d",
				   (unsigned long long)chunks, FC_MAX_MSR_CHUNKS);
	}
	for (uint64_t i = 0; i < chunks; i++) {
		if (take_fam(c, l, &f, l->msrs_vec ? "saved_msrs" : "msrs", &n, &entries))
			return -1;
		if (v && decode_msrs(c, entries, n, KVM_MSR_ENTRY_SIZE + (f.entries_prefixed ? 8 : 0), v,
				     &seen))
			return -1;
	}
	return 0;
}

static int walk_xsave(struct cur *c, const struct fc_layout *l)
{
	const struct fam f = { XSAVE2_HDR_SIZE, 4, 8, FC_MAX_XSAVE_EXTRA, false };
	uint64_t off, n;

	if (!l->xsave2)
		return take_struct(c, l, KVM_XSAVE_SIZE, "xsave", &off);
	return take_fam(c, l, &f, "xsave", &n, &off);
}

static int walk_tsc(struct cur *c, const struct fc_layout *l)
{
	uint64_t tag, khz;

	if (!l->has_tsc)
		return 0;
	if (take(c, 1, "tsc_khz", &tag))
		return -1;
	if (tag > 1)
		return bad(c, c->pos - 1, "tsc_khz", "Option tag %llu, expected 0 or 1",
			   (unsigned long long)tag);
	return tag ? take(c, 4, "tsc_khz", &khz) : 0;
}

/*
 * One VcpuState, field by field: cpuid, msrs, debug_regs, lapic, mp_state,
 * regs, sregs, vcpu_events, xcrs, xsave, tsc_khz.  With v, the MSRs are
 * decoded into it as they pass.
 */
static int walk_vcpu(struct cur *c, const struct fc_layout *l, struct fc_vcpu *loc,
		     struct vcpu_state *v)
{
	const struct fam cpuid = { KVM_CPUID2_HDR_SIZE, KVM_CPUID_ENTRY2_SIZE, 4, FC_MAX_CPUID, l->prefixed };
	uint64_t n, off;

	if (take_fam(c, l, &cpuid, "cpuid", &n, &off) || walk_msrs(c, l, v) ||
	    take_struct(c, l, KVM_DEBUGREGS_SIZE, "debug_regs", &loc->debugregs) ||
	    take_struct(c, l, KVM_LAPIC_SIZE, "lapic", &off) ||
	    take_struct(c, l, KVM_MP_STATE_SIZE, "mp_state", &off) ||
	    take_struct(c, l, KVM_REGS_SIZE, "regs", &loc->regs) ||
	    take_struct(c, l, KVM_SREGS_SIZE, "sregs", &loc->sregs) ||
	    take_struct(c, l, KVM_EVENTS_SIZE, "vcpu_events", &loc->events) ||
	    take_struct(c, l, KVM_XCRS_SIZE, "xcrs", &loc->xcrs) || walk_xsave(c, l) || walk_tsc(c, l))
		return -1;
	return 0;
}

/*
 * Could a Vec<VcpuState> start at p?  Its count, then the CpuId header
 * whose nent equals the vector's length (and, with prefixes, the sizes 8
 * and 40 in between).  Only a cheap filter: walk_vcpus() decides.
 */
static bool vcpus_signature(const uint8_t *b, uint64_t p, uint64_t end, bool prefixed)
{
	uint64_t n, nent;

	if (end - p < 48)
		return false;
	n = le_get(b + p, 8);
	if (n == 0 || n > FC_MAX_VCPUS)
		return false;
	if (!prefixed) {
		nent = le_get(b + p + 8, 4);
		return nent > 0 && nent <= FC_MAX_CPUID && le_get(b + p + 12, 4) == 0 &&
		       le_get(b + p + 16, 8) == nent;
	}
	nent = le_get(b + p + 16, 4);
	return le_get(b + p + 8, 8) == KVM_CPUID2_HDR_SIZE && nent <= FC_MAX_CPUID &&
	       le_get(b + p + 24, 8) == nent && (nent == 0 || le_get(b + p + 32, 8) == KVM_CPUID_ENTRY2_SIZE);
}

/* Walk the count and every VcpuState from p; locations into loc[] when given. */
static int walk_vcpus(struct cur *c, const struct fc_layout *l, uint64_t p, uint64_t *count,
		      struct fc_vcpu *loc, struct vcpu_state *vs)
{
	struct fc_vcpu scratch;
	uint64_t n;

	c->pos = p;
	c->vcpu = 0;
	if (take(c, 8, "(count)", &n))
		return -1;
	if (n > FC_MAX_VCPUS)
		return bad(c, p, "(count)", "%llu vCPUs, more than KVM's %d",
			   (unsigned long long)n, FC_MAX_VCPUS);
	for (uint64_t i = 0; i < n; i++) {
		c->vcpu = (size_t)i;
		if (vs)
			vcpu_init(&vs[i], (unsigned int)i);
		if (walk_vcpu(c, l, loc ? &loc[i] : &scratch, vs ? &vs[i] : NULL))
			return -1;
	}
	*count = n;
	return 0;
}

/* The first offset from which a whole Vec<VcpuState> walks; -1 naming the deepest failure. */
static int find_vcpus(struct firecracker *fc, const char *path, uint64_t *at, uint64_t *count,
		      struct fmt_error *e)
{
	struct fmt_error deepest = { .kind = FMT_ERR_NONE }, tried;
	struct cur c = { .b = fc->buf, .end = fc->len - FC_CRC_SIZE, .path = path, .e = &tried };

	for (uint64_t p = fc->state_start; p + 8 <= c.end; p++) {
		if (!vcpus_signature(fc->buf, p, c.end, fc->layout.prefixed))
			continue;
		if (walk_vcpus(&c, &fc->layout, p, count, NULL, NULL) == 0) {
			*at = p;
			return 0;
		}
		if (deepest.kind == FMT_ERR_NONE || tried.offset > deepest.offset)
			deepest = tried;
	}
	if (deepest.kind != FMT_ERR_NONE) {
		*e = deepest;
		snprintf(e->msg, sizeof(e->msg),
			 "no x86_64 vCPU states found; the likeliest place fails: %.250s",
			 deepest.msg);
		return -1;
	}
	return fmt_malformed(e, path, fc->state_start, "vcpu_states",
			     "no x86_64 vCPU states found (no Vec<VcpuState> of the %s layout)",
			     fc->layout.serializer);
}

/* ---- the kvm structures ------------------------------------------------- */

/* A kvm structure the kernel would reject: malformed at its field. */
static int kvm_bad(struct cur *c, uint64_t off, const char *name, const struct kvm_fault *f)
{
	char field[64];

	snprintf(field, sizeof(field), "%s.%s", name, f->field);
	return bad(c, off + f->offset, field, "%s", f->why);
}

static int parse_vcpu(struct cur *c, const struct fc_vcpu *loc, struct vcpu_state *v)
{
	struct kvm_fault f;

	if (kvm_events_decode(c->b + loc->events, v, &f) != 0)
		return kvm_bad(c, loc->events, "vcpu_events", &f);
	if (kvm_debugregs_decode(c->b + loc->debugregs, v, &f) != 0)
		return kvm_bad(c, loc->debugregs, "debug_regs", &f);
	if (kvm_xcrs_decode(c->b + loc->xcrs, v, &f) != 0)
		return kvm_bad(c, loc->xcrs, "xcrs", &f);
	if (kvm_sregs_decode(c->b + loc->sregs, false, v, &f) != 0)
		return kvm_bad(c, loc->sregs, "sregs", &f);
	kvm_regs_decode(c->b + loc->regs, v);
	v->saver = SAVER_KVM_IOCTL;
	return 0;
}

/* ---- the container ------------------------------------------------------ */

/* Read path whole (bounded by FC_MAX_FILE) into fc->buf. */
static int slurp(struct firecracker *fc, const char *path, struct fmt_error *e)
{
	struct stat st;

	if (read_whole_file(path, FC_MAX_FILE, "Firecracker state file", 0, &fc->buf, &fc->len,
			    &st, e) != 0)
		return -1;
	fc->mode = st.st_mode;
	return 0;
}

static bool crc_valid(const uint8_t *buf, size_t len)
{
	return len >= FC_CRC_SIZE && crc64_jones(0, buf, len) == 0;
}

/* The semver string after a bincode magic: its layout by major version. */
static int bincode_header(struct snapshot *s, struct firecracker *fc, const char *path,
			  struct fmt_error *e)
{
	uint64_t n = le_get(fc->buf + 8, 8);
	char version[FC_VERSION_MAX + 1];
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
	memcpy(version, fc->buf + 16, n);
	version[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789.-+abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
			    version[i]) || version[i] == '\0')
			return fmt_malformed(e, path, 16 + i, "version",
					     "byte 0x%02x in the version string", fc->buf[16 + i]);
	major = strtoul(version, &end, 10);
	if (end == version || *end != '.')
		return fmt_malformed(e, path, 16, "version", "'%s' is not a semver version", version);
	fc->state_start = 16 + n;
	for (size_t i = 0; i < sizeof(bincode_versions) / sizeof(bincode_versions[0]); i++)
		if (bincode_versions[i].major == major) {
			fc->layout = bincode_versions[i].layout;
			snapshot_add_fact(s, "release", "%s", bincode_versions[i].release);
			snapshot_add_fact(s, "snapshot_version", "%s", version);
			return 0;
		}
	return fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
			"Firecracker snapshot version %s is not one fredck knows (1.0.0 of v1.7 "
			"to 8.0.0 of v1.14)", version);
}

/* The versionize header: format version 1, then a u16 data version. */
static int versionize_header(struct snapshot *s, struct firecracker *fc, const char *path,
			     uint64_t format_version, struct fmt_error *e)
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
	fc->layout = (struct fc_layout){
		.serializer = "versionize",
		.prefixed = false,
		.msrs_vec = dv >= 6, /* VcpuState v3 from v1.2 */
		.has_tsc = dv >= 3,  /* VcpuState v2 from v0.25 */
		.xsave2 = false,
	};
	snapshot_add_fact(s, "release", "%s", versionize_releases[dv - 1]);
	snapshot_add_fact(s, "snapshot_version", "data version %llu", (unsigned long long)dv);
	return 0;
}

static int read_header(struct snapshot *s, struct firecracker *fc, const char *path,
		       struct fmt_error *e)
{
	uint64_t magic;

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
	if ((magic & FC_MAGIC_MASK) == FC_MAGIC_ARM)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
				"an aarch64 Firecracker snapshot; fredck repairs x86 vCPU state only");
	if ((magic & FC_MAGIC_MASK) != FC_MAGIC_X86) {
		if (crc_valid(fc->buf, fc->len))
			return fmt_fail(e, FMT_ERR_UNSUPPORTED, path,
					"no known header, but a valid trailing CRC-64: probably a "
					"bitcode snapshot of Firecracker v1.15 or later, which keeps "
					"its version inside the packed data; fredck cannot read or "
					"repair those");
		return fmt_malformed(e, path, 0, "magic",
				     "0x%016llx is not a Firecracker snapshot magic",
				     (unsigned long long)magic);
	}
	if ((magic & 0xFFFF) == 0)
		return bincode_header(s, fc, path, e);
	return versionize_header(s, fc, path, magic & 0xFFFF, e);
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
		free(fc->v);
	}
	free(fc);
	s->priv = NULL;
}

static int read_vcpus(struct snapshot *s, struct firecracker *fc, const char *path,
		      struct fmt_error *e)
{
	struct cur c = { .b = fc->buf, .end = fc->len - FC_CRC_SIZE, .path = path, .e = e };
	uint64_t n;

	if (find_vcpus(fc, path, &fc->vcpus_off, &n, e))
		return -1;
	/* n VcpuStates walked within the file: n is bounded by its size. */
	fc->v = calloc(n, sizeof(*fc->v));
	s->vcpus = calloc(n, sizeof(*s->vcpus));
	if (!fc->v || !s->vcpus)
		return fmt_syserr(e, path, ENOMEM, "cannot read");
	if (walk_vcpus(&c, &fc->layout, fc->vcpus_off, &n, fc->v, s->vcpus))
		return -1;
	for (uint64_t i = 0; i < n; i++) {
		c.vcpu = (size_t)i;
		if (parse_vcpu(&c, &fc->v[i], &s->vcpus[i]))
			return -1;
		s->nvcpus = (size_t)i + 1;
	}
	return 0;
}

static int firecracker_open(struct snapshot *s, const char *path, struct fmt_error *e)
{
	struct firecracker *fc = calloc(1, sizeof(*fc));

	if (!fc)
		return fmt_syserr(e, path, ENOMEM, "cannot read");
	s->priv = fc;
	if (slurp(fc, path, e) || read_header(s, fc, path, e) || check_crc(fc, path, e) ||
	    read_vcpus(s, fc, path, e))
		return -1;
	snapshot_add_fact(s, "serializer", "%s", fc->layout.serializer);
	snapshot_add_fact(s, "crc64", "0x%016llx (valid)",
			  (unsigned long long)le_get(fc->buf + fc->len - FC_CRC_SIZE, 8));
	snprintf(s->detail, sizeof(s->detail), "%s snapshot, %zu vCPU%s, vCPU states at byte %llu",
		 fc->layout.serializer, s->nvcpus, s->nvcpus == 1 ? "" : "s",
		 (unsigned long long)fc->vcpus_off);
	return 0;
}

/*
 * The x86 magic (either serializer), or, for bitcode files, a whole-file
 * CRC of 0: a random file passes that with odds of 2^-64.
 */
static bool firecracker_probe(const char *path, const struct stat *st)
{
	uint8_t magic[8];
	struct firecracker fc = { 0 };
	struct fmt_error ignored;
	bool crc_ok;

	if (!format_read_magic(path, st, magic, sizeof(magic)))
		return false;
	if ((le_get(magic, 8) & FC_MAGIC_MASK) == FC_MAGIC_X86 ||
	    (le_get(magic, 8) & FC_MAGIC_MASK) == FC_MAGIC_ARM)
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


/* The repaired file in memory: events patched, the CRC trailer recomputed. */
static uint8_t *build_repair(const struct snapshot *s, const struct vcpu_plan *plans)
{
	const struct firecracker *fc = s->priv;
	uint8_t *out = malloc(fc->len);
	size_t body = fc->len - FC_CRC_SIZE;

	if (!out)
		return NULL;
	memcpy(out, fc->buf, fc->len);
	for (size_t i = 0; i < s->nvcpus; i++)
		if (plan_changes_state(&plans[i]))
			kvm_events_patch(out + fc->v[i].events, &s->vcpus[i], &plans[i]);
	le_put(out + body, crc64_jones(0, out, body), 8);
	return out;
}

/* Is off inside some vCPU's kvm_vcpu_events, or the CRC trailer? */
static bool repairable_byte(const struct firecracker *fc, size_t nvcpus, uint64_t off)
{
	if (off >= fc->len - FC_CRC_SIZE)
		return true;
	for (size_t i = 0; i < nvcpus; i++)
		if (off >= fc->v[i].events && off < fc->v[i].events + KVM_EVENTS_SIZE)
			return true;
	return false;
}

/* The first byte of got that differs from the input outside the repairable bytes, or -1. */
static int64_t stray_change(const struct snapshot *s, const uint8_t *got)
{
	const struct firecracker *fc = s->priv;

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
		       const uint8_t *want, struct fmt_error *e)
{
	const struct firecracker *fc = s->priv;
	struct snapshot re;
	int rc;

	if (snapshot_open(&re, tmp, firecracker_format.name, e) != 0)
		return -1;
	rc = snapshot_verify(s, plans, &re, e);
	if (rc == 0 && (((struct firecracker *)re.priv)->len != fc->len ||
			memcmp(((struct firecracker *)re.priv)->buf, want, fc->len) != 0))
		rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp,
			      "verification failed: the file read back differs from the repair");
	if (rc == 0 && stray_change(s, ((struct firecracker *)re.priv)->buf) >= 0)
		rc = fmt_fail(e, FMT_ERR_SYSTEM, tmp,
			      "verification failed: byte %lld changed outside kvm_vcpu_events",
			      (long long)stray_change(s, ((struct firecracker *)re.priv)->buf));
	snapshot_close(&re);
	return rc;
}

static int firecracker_write(struct snapshot *s, const struct vcpu_plan *plans,
			     struct write_request *w, struct fmt_error *e)
{
	struct firecracker *fc = s->priv;
	char target[PATH_MAX], tmp[PATH_MAX];
	uint8_t *want;
	int out, rc;

	if (sw_prepare(s->real, w, target, sizeof(target), e) != 0)
		return -1;
	want = build_repair(s, plans);
	if (!want)
		return fmt_syserr(e, s->path, ENOMEM, "cannot write");
	if (sw_temp_file(target, s->real, tmp, sizeof(tmp), &out, e) != 0) {
		free(want);
		return -1;
	}
	rc = write_all(out, want, fc->len, tmp, e);
	if (rc == 0 && fsync(out) != 0)
		rc = fmt_syserr(e, tmp, errno, "cannot write");
	if (close(out) != 0 && rc == 0)
		rc = fmt_syserr(e, tmp, errno, "cannot write");
	if (rc == 0)
		rc = verify_file(s, plans, tmp, want, e);
	if (rc == 0)
		rc = sw_commit_file(tmp, target, w, e);
	if (rc != 0 && strcmp(w->written, target) != 0)
		unlink(tmp);
	free(want);
	return rc;
}

const struct format_ops firecracker_format = {
	.name = "firecracker",
	.description = "Firecracker snapshot state file (versionize v0.23-v1.6, bincode v1.7-v1.14)",
	.probe = firecracker_probe,
	.open = firecracker_open,
	.dest_payload_cap = firecracker_dest_cap,
	.write = firecracker_write,
	.close = firecracker_close,
};
