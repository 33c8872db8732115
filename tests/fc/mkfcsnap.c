/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mkfcsnap.c --- writes Firecracker snapshot state files the way each
 * Firecracker release serialises them, for fredck's tests.
 *
 *   mkfcsnap [OPTIONS] RELEASE OUT
 *
 * RELEASE is v0.23 ... v1.6 (versionize), v1.7 ... v1.14 (bincode), or
 * "bitcode" (no known header, a valid CRC: what v1.15 and later write, as
 * far as fredck can tell without decoding bitcode).
 *
 * Sources followed (tests/fc/README.md has the table; read in
 * firecracker-microvm/firecracker at each tag;
 * no code copied):
 *  - container: src/snapshot/src/lib.rs @v1.6.0 (magic | format version 1,
 *    SnapshotHdr{data_version: u16}, CRC64 as a u64), src/vmm/src/snapshot/
 *    mod.rs @v1.7.0, @v1.11.0 (bincode 1 serialize_into: fixint LE) and
 *    @v1.14.0 (bincode 2 standard().with_fixed_int_encoding()
 *    .with_little_endian(): the same wire form); SNAPSHOT_VERSION from
 *    src/vmm/src/persist.rs at each tag; data versions from
 *    src/vmm/src/version_map.rs @v1.6.0.
 *  - VcpuState: src/vmm/src/vstate/vcpu/x86_64.rs @v1.6.0 (versionize
 *    type versions 1-3), @v1.7.0 ... @v1.11.0, src/vmm/src/arch/x86_64/
 *    vcpu.rs @v1.12.0 ... @v1.14.0 (xsave becomes Xsave).  Encodings of
 *    the kvm structures: firecracker-microvm/kvm-bindings v0.6.0-2
 *    (Versionize: field by field) and v0.7.0-2 (serde derive, BigArray:
 *    raw bytes, no length) for v1.6 and v1.7; rust-vmm/kvm kvm-bindings
 *    src/serialize.rs (serialize_bytes: [u64 size][bytes]) for v1.8 on;
 *    rust-vmm/vmm-sys-util src/fam.rs (FamStructWrapper: (header, Vec)).
 *  - Everything before the vCPUs (MicrovmState field order of
 *    src/vmm/src/persist.rs at each tag) is written with the right types
 *    and order, but the kvm structures of VmState are zero-filled and
 *    ResourceAllocator (v1.13, v1.14) is a plausible stand-in: fredck does
 *    not read them.  Device states after the vCPUs are a stand-in too.
 *
 * Options (the at-risk exception goes on vCPU -v, default the last):
 *   -n N     vCPUs (default 2)          -v I     vCPU with the exception
 *   -e VEC   exception vector (14, 1, 7; default none)
 *   -2 CR2   -6 DR6   -x XCR0   -r RFLAGS   -T (CR0.TS)   -F (no CR4.FRED)
 *   -P       the exception is pending with no payload (not injected)
 *   -L       print where each vCPU's kvm_vcpu_events starts ("events I OFFSET"),
 *            and where vcpu_states starts and ends ("vcpus OFFSET", "after OFFSET")
 *
 *   mkfcsnap recrc FILE    rewrite FILE's CRC trailer (for damaged-input tests)
 *   mkfcsnap crcok FILE    exit 0 when FILE ends in its own valid CRC-64
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/firecracker/crc64.h"

enum serializer { VERSIONIZE, BINCODE, BITCODE };

struct release {
	const char *name;
	enum serializer ser;
	unsigned int data_version; /* versionize */
	const char *semver;        /* bincode SNAPSHOT_VERSION */
	unsigned int minor;        /* Firecracker 1.minor (0 for v0.x) */
};

static const struct release releases[] = {
	{ "v0.23", VERSIONIZE, 1, NULL, 0 },  { "v0.24", VERSIONIZE, 2, NULL, 0 },
	{ "v0.25", VERSIONIZE, 3, NULL, 0 },  { "v1.0", VERSIONIZE, 4, NULL, 0 },
	{ "v1.1", VERSIONIZE, 5, NULL, 1 },   { "v1.2", VERSIONIZE, 6, NULL, 2 },
	{ "v1.3", VERSIONIZE, 7, NULL, 3 },   { "v1.4", VERSIONIZE, 8, NULL, 4 },
	{ "v1.5", VERSIONIZE, 9, NULL, 5 },   { "v1.6", VERSIONIZE, 10, NULL, 6 },
	{ "v1.7", BINCODE, 0, "1.0.0", 7 },   { "v1.8", BINCODE, 0, "2.0.0", 8 },
	{ "v1.9", BINCODE, 0, "3.0.0", 9 },   { "v1.10", BINCODE, 0, "3.0.0", 10 },
	{ "v1.11", BINCODE, 0, "5.0.0", 11 }, { "v1.12", BINCODE, 0, "6.0.0", 12 },
	{ "v1.13", BINCODE, 0, "8.0.0", 13 }, { "v1.14", BINCODE, 0, "8.0.0", 14 },
	{ "bitcode", BITCODE, 0, NULL, 15 },
};

/* The scenario, from the options. */
struct scenario {
	unsigned int nvcpus, at;
	int vector; /* -1: none */
	bool pending, cr0_ts, fred, list;
	uint64_t cr2, dr6, xcr0, rflags;
};

/* The output, grown as it is written. */
struct out {
	uint8_t *b;
	size_t len, cap;
	const struct release *rel;
};

static void grow(struct out *o, size_t n)
{
	if (o->len + n <= o->cap)
		return;
	o->cap = (o->len + n) * 2;
	o->b = realloc(o->b, o->cap);
	if (!o->b) {
		perror("mkfcsnap");
		exit(1);
	}
}

static void put(struct out *o, uint64_t v, int bytes)
{
	grow(o, (size_t)bytes);
	for (int i = 0; i < bytes; i++, v >>= 8)
		o->b[o->len++] = (uint8_t)v;
}

static void put_bytes(struct out *o, const void *p, size_t n)
{
	grow(o, n);
	memcpy(o->b + o->len, p, n);
	o->len += n;
}

static bool prefixed(const struct out *o)
{
	return o->rel->ser == BINCODE && o->rel->minor >= 8;
}

/* A kvm structure: serde byte string from v1.8, raw bytes before. */
static void put_kvm(struct out *o, const void *p, size_t n)
{
	if (prefixed(o))
		put(o, n, 8);
	put_bytes(o, p, n);
}

static void put_string(struct out *o, const char *s)
{
	put(o, strlen(s), 8);
	put_bytes(o, s, strlen(s));
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ---- what comes before the vCPUs ---------------------------------------- */

static void put_vm_info(struct out *o)
{
	const struct release *r = o->rel;

	put(o, 256, 8); /* mem_size_mib */
	if (r->ser == VERSIONIZE && r->data_version < 6)
		return; /* VmInfo v1: mem_size_mib only */
	put(o, 0, 1);   /* smt */
	put(o, 3, 4);   /* cpu_template: None (variant 3 of StaticCpuTemplate on x86) */
	put_string(o, "/var/lib/fc/vmlinux-6.18");
	put(o, 0, 1);   /* initrd_path: None */
	put(o, 1, 1);   /* boot_args: Some */
	put_string(o, "console=ttyS0 reboot=k panic=1 pci=off");
	if (r->ser == BINCODE)
		put(o, 0, 4); /* huge_pages: None */
}

static void put_memory_state(struct out *o)
{
	const struct release *r = o->rel;
	uint64_t bases[2] = { 0, 0x100000000ULL }, sizes[2] = { 0xC0000000ULL, 0x40000000ULL };

	put(o, 2, 8);
	for (int i = 0; i < 2; i++) {
		put(o, bases[i], 8);
		put(o, sizes[i], 8);
		if (r->ser == VERSIONIZE || r->minor <= 10)
			put(o, i ? sizes[0] : 0, 8); /* offset in the memory file */
		if (r->minor >= 14) {
			put(o, 0, 4); /* region_type: Dram */
			put(o, 1, 8); /* plugged: vec![true] */
			put(o, 1, 1);
		}
	}
}

static void put_caps(struct out *o)
{
	put(o, 1, 8);            /* one KvmCapability */
	put(o, 0, 4);            /* Add */
	put(o, 36, 4);           /* KVM_CAP_... */
}

static void put_zero_kvm(struct out *o, size_t n)
{
	uint8_t *z = calloc(1, n);

	put_kvm(o, z, n);
	free(z);
}

/* Stand-in for ResourceAllocator: 2 id allocators, 3 address allocators. */
static void put_resource_allocator(struct out *o)
{
	for (int i = 0; i < 2; i++) {
		put(o, 5 + 19 * (unsigned)i, 4);
		put(o, 23 + 40 * (unsigned)i, 4);
		put(o, 0, 8);
	}
	for (int i = 0; i < 3; i++) {
		put(o, 0xC0000000ULL + 0x1000000ULL * (unsigned)i, 8);
		put(o, 0x1000000ULL, 8);
		put(o, 0, 8);
	}
}

static void put_vm_state(struct out *o)
{
	const struct release *r = o->rel;

	if (r->ser == BINCODE && r->minor >= 12) {
		put_memory_state(o);
		if (r->minor >= 13)
			put_resource_allocator(o);
	}
	put_zero_kvm(o, 112); /* kvm_pit_state2 */
	put_zero_kvm(o, 48);  /* kvm_clock_data */
	put_zero_kvm(o, 520); /* pic_master: kvm_irqchip */
	put_zero_kvm(o, 520); /* pic_slave */
	put_zero_kvm(o, 520); /* ioapic */
	if ((r->ser == VERSIONIZE && r->data_version >= 9) ||
	    (r->ser == BINCODE && r->minor <= 10))
		put_caps(o);
}

/* MicrovmState up to vcpu_states (persist.rs at each tag). */
static void put_before_vcpus(struct out *o)
{
	const struct release *r = o->rel;

	put_vm_info(o);
	if (r->ser == VERSIONIZE || r->minor <= 11)
		put_memory_state(o);
	if (r->ser == BINCODE && r->minor >= 11)
		put_caps(o); /* KvmState { kvm_cap_modifiers } */
	put_vm_state(o);
}

/* ---- one VcpuState ------------------------------------------------------ */

static void put_cpuid(struct out *o)
{
	static const uint32_t leaves[3][2] = { { 0, 0 }, { 1, 0 }, { 7, 1 } };
	uint8_t hdr[8] = { 0 }, ent[40];

	put_le(hdr, 3, 4);
	put_kvm(o, hdr, sizeof(hdr));
	put(o, 3, 8);
	for (int i = 0; i < 3; i++) {
		memset(ent, 0, sizeof(ent));
		put_le(ent, leaves[i][0], 4);
		put_le(ent + 4, leaves[i][1], 4);
		put_le(ent + 12, 0x10000 * (unsigned)i + 0x1F, 4); /* eax */
		if (i == 2)
			put_le(ent + 12, 1u << 17, 4); /* CPUID.(7,1):EAX.FRED */
		put_kvm(o, ent, sizeof(ent));
	}
}

/* One Msrs: struct kvm_msrs header, then the entries. */
static void put_msrs(struct out *o, const uint32_t *idx, const uint64_t *val, unsigned int n)
{
	uint8_t hdr[8] = { 0 }, ent[16];

	put_le(hdr, n, 4);
	put_kvm(o, hdr, sizeof(hdr));
	put(o, n, 8);
	for (unsigned int i = 0; i < n; i++) {
		memset(ent, 0, sizeof(ent));
		put_le(ent, idx[i], 4);
		put_le(ent + 8, val[i], 8);
		put_kvm(o, ent, sizeof(ent));
	}
}

/* Firecracker's allow-list has no XFD or FRED MSR: these are all it might save. */
static void put_saved_msrs(struct out *o)
{
	static const uint32_t idx[] = { 0x174, 0x175, 0x176, 0xC0000081, 0xC0000082,
					0xC0000084, 0x10 };
	static const uint64_t val[] = { 0x10, 0xfffffe0000003000ULL, 0xffffffff81a01560ULL,
					0x0023001000000000ULL, 0xffffffff81a00080ULL, 0x47700,
					0x12345678 };
	const struct release *r = o->rel;

	if (r->ser == VERSIONIZE && r->data_version < 6) {
		put_msrs(o, idx, val, 7); /* VcpuState v1, v2: msrs: Msrs */
		return;
	}
	put(o, 2, 8); /* saved_msrs: two chunks, as Firecracker splits them */
	put_msrs(o, idx, val, 4);
	put_msrs(o, idx + 4, val + 4, 3);
}

/* One VcpuState; returns where its kvm_vcpu_events bytes start. */
static size_t put_vcpu(struct out *o, const struct scenario *sc, unsigned int i)
{
	const struct release *r = o->rel;
	bool risky = sc->vector >= 0 && i == sc->at;
	uint8_t dbg[128] = { 0 }, lapic[1024], mp[4] = { 0 }, regs[144] = { 0 }, sregs[312] = { 0 };
	uint8_t ev[64] = { 0 }, xcrs[392] = { 0 }, xsave[4096] = { 0 }, xsave2[8 + 4096] = { 0 };
	size_t events;

	put_cpuid(o);
	put_saved_msrs(o);
	put_le(dbg + 32, risky ? sc->dr6 : 0xFFFF0FF0, 8);
	put_le(dbg + 40, 0x400, 8);
	put_kvm(o, dbg, sizeof(dbg));
	for (size_t k = 0; k < sizeof(lapic); k++)
		lapic[k] = (uint8_t)(k * 7 + i);
	put_kvm(o, lapic, sizeof(lapic));
	put_kvm(o, mp, sizeof(mp));
	put_le(regs + 128, 0xffffffff81000000ULL + i * 0x40, 8);
	put_le(regs + 136, risky ? sc->rflags : 0x2, 8);
	put_kvm(o, regs, sizeof(regs));
	put_le(sregs + 224, 0x80050033ULL | (risky && sc->cr0_ts ? 8 : 0), 8);
	put_le(sregs + 232, risky ? sc->cr2 : 0, 8);
	put_le(sregs + 240, 0x1000, 8);
	put_le(sregs + 248, 0x3506F0ULL | (sc->fred ? 1ULL << 32 : 0), 8);
	put_le(sregs + 264, 0xD01, 8);
	put_le(sregs + 272, 0xFEE00900, 8);
	put_kvm(o, sregs, sizeof(sregs));
	ev[20] = 0x0D; /* NMI_PENDING | SHADOW | SMM, as KVM reports them */
	if (risky) {
		ev[0] = !sc->pending;
		ev[3] = sc->pending;
		ev[1] = (uint8_t)sc->vector;
		ev[2] = sc->vector == 14;
		put_le(ev + 4, sc->vector == 14 ? 2 : 0, 4);
	}
	events = o->len + (prefixed(o) ? 8 : 0);
	put_kvm(o, ev, sizeof(ev));
	put_le(xcrs, 1, 4);
	put_le(xcrs + 16, sc->xcr0, 8);
	put_kvm(o, xcrs, sizeof(xcrs));
	if (r->ser == BINCODE && r->minor >= 12) {
		put_le(xsave2, 3, 8); /* three u32 after the legacy area */
		put_kvm(o, xsave2, sizeof(xsave2));
		put(o, 3, 8);
		for (int k = 0; k < 3; k++)
			put(o, 0xA0 + (unsigned)k, 4);
	} else {
		put_kvm(o, xsave, sizeof(xsave));
	}
	if (r->ser == VERSIONIZE && r->data_version < 3)
		return events; /* VcpuState v1: no tsc_khz */
	put(o, i == 0, 1);
	if (i == 0)
		put(o, 2995200, 4);
	return events;
}


/* Stand-in for DeviceStates (and acpi_dev_state where it exists). */
static void put_after_vcpus(struct out *o)
{
	for (int i = 0; i < 6; i++)
		put(o, 0, 8);
	put_string(o, "rootfs");
}

static void put_header(struct out *o)
{
	const struct release *r = o->rel;

	if (r->ser == VERSIONIZE) {
		put(o, 0x0710198486640000ULL | 1, 8);
		put(o, r->data_version, 2);
	} else {
		put(o, 0x0710198486640000ULL, 8);
		put_string(o, r->semver);
	}
}

/* Bytes that look like packed data: no magic, no structure fredck knows. */
static void put_bitcode_like(struct out *o)
{
	uint32_t x = 0x2545F491;

	for (int i = 0; i < 9000; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		put(o, x & 0xFF, 1);
	}
}

static const struct release *release_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(releases) / sizeof(releases[0]); i++)
		if (strcmp(releases[i].name, name) == 0)
			return &releases[i];
	return NULL;
}

/* recrc FILE, crcok FILE: the trailer of an existing file. */
static int crc_tool(const char *mode, const char *path)
{
	struct out o = { 0 };
	uint8_t chunk[4096];
	size_t n;
	int rc = 0;
	FILE *f = fopen(path, "r+b");

	if (!f) {
		fprintf(stderr, "mkfcsnap: %s: %s\n", path, strerror(errno));
		return 2;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		put_bytes(&o, chunk, n);
	if (o.len < 8)
		rc = 1;
	else if (strcmp(mode, "crcok") == 0)
		rc = crc64_jones(0, o.b, o.len) == 0 ? 0 : 1;
	else {
		o.len -= 8;
		put(&o, crc64_jones(0, o.b, o.len), 8);
		if (fseek(f, 0, SEEK_SET) != 0 || fwrite(o.b, 1, o.len, f) != o.len)
			rc = 2;
	}
	if (fclose(f) != 0)
		rc = 2;
	free(o.b);
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: mkfcsnap [-n N] [-v I] [-e VEC] [-P] [-2 CR2] [-6 DR6] [-x XCR0] "
			"[-r RFLAGS] [-T] [-F] RELEASE OUT\n");
	return 2;
}

static int parse_options(int argc, char **argv, struct scenario *sc)
{
	bool at_set = false;
	int c;

	while ((c = getopt(argc, argv, "n:v:e:P2:6:x:r:TFL")) != -1) {
		switch (c) {
		case 'n': sc->nvcpus = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'v': sc->at = (unsigned int)strtoul(optarg, NULL, 0); at_set = true; break;
		case 'e': sc->vector = (int)strtol(optarg, NULL, 0); break;
		case 'P': sc->pending = true; break;
		case '2': sc->cr2 = strtoull(optarg, NULL, 0); break;
		case '6': sc->dr6 = strtoull(optarg, NULL, 0); break;
		case 'x': sc->xcr0 = strtoull(optarg, NULL, 0); break;
		case 'r': sc->rflags = strtoull(optarg, NULL, 0); break;
		case 'T': sc->cr0_ts = true; break;
		case 'F': sc->fred = false; break;
		case 'L': sc->list = true; break;
		default: return -1;
		}
	}
	if (sc->nvcpus == 0 || sc->nvcpus > 64)
		return -1;
	if (!at_set)
		sc->at = sc->nvcpus - 1;
	return sc->at < sc->nvcpus ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct scenario sc = { .nvcpus = 2, .vector = -1, .fred = true, .cr2 = 0x7f5a3c001ff8ULL,
			       .dr6 = 0xFFFF0FF1, .xcr0 = 0x7, .rflags = 0x2 };
	struct out o = { 0 };
	FILE *f;

	if (argc == 3 && (strcmp(argv[1], "recrc") == 0 || strcmp(argv[1], "crcok") == 0))
		return crc_tool(argv[1], argv[2]);
	if (parse_options(argc, argv, &sc) != 0 || argc - optind != 2)
		return usage();
	o.rel = release_by_name(argv[optind]);
	if (!o.rel) {
		fprintf(stderr, "mkfcsnap: unknown release '%s'\n", argv[optind]);
		return 2;
	}
	if (o.rel->ser == BITCODE) {
		put_bitcode_like(&o);
	} else {
		put_header(&o);
		put_before_vcpus(&o);
		if (sc.list)
			printf("vcpus %zu\n", o.len);
		put(&o, sc.nvcpus, 8);
		for (unsigned int i = 0; i < sc.nvcpus; i++) {
			size_t events = put_vcpu(&o, &sc, i);

			if (sc.list)
				printf("events %u %zu\n", i, events);
		}
		if (sc.list)
			printf("after %zu\n", o.len);
		put_after_vcpus(&o);
	}
	put(&o, crc64_jones(0, o.b, o.len), 8);
	f = fopen(argv[optind + 1], "wb");
	if (!f || fwrite(o.b, 1, o.len, f) != o.len || fclose(f) != 0) {
		fprintf(stderr, "mkfcsnap: %s: %s\n", argv[optind + 1], strerror(errno));
		free(o.b);
		return 1;
	}
	free(o.b);
	return 0;
}
