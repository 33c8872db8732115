/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mkfcsnap.c --- writes Firecracker snapshot state files the way each
 * Firecracker release serialises them, for fredck's tests.
 *
 *   mkfcsnap [OPTIONS] RELEASE OUT
 *   mkfcsnap tags              every bincode release tag and its SNAPSHOT_VERSION
 *   mkfcsnap recrc FILE        rewrite FILE's CRC trailer (for damaged-input tests)
 *   mkfcsnap crcok FILE        exit 0 when FILE ends in its own valid CRC-64
 *
 * RELEASE is v0.23 ... v1.6 (versionize), any tag v1.7.0 ... v1.14.4 or
 * its minor v1.7 ... v1.14 (the .0 tag; bincode), or "bitcode": random
 * bytes with a valid CRC and no known header, not even bitcode's magic
 * column (the real v1.15/v1.16 files are tests/fc/bitcode/, written by the
 * bitcode crate itself: tests/fc/bitcode-gen).
 *
 * Sources followed (tests/fc/README.md has the table; read in
 * firecracker-microvm/firecracker at each tag, no code copied):
 *  - container: src/snapshot/src/lib.rs @v1.6.0 (magic | format version 1,
 *    SnapshotHdr{data_version: u16}, CRC64 as a u64), src/vmm/src/snapshot/
 *    mod.rs @v1.7.0 ... @v1.14.4; SNAPSHOT_VERSION from src/vmm/src/
 *    persist.rs at every tag (the table below); data versions and type
 *    versions from src/vmm/src/version_map.rs @v1.6.0.
 *  - MicrovmState and everything in it, field by field with its type, from
 *    src/vmm/src/persist.rs, vstate/memory.rs, vstate/vm.rs (vm/x86_64.rs,
 *    arch/x86_64/vm.rs from v1.12), vstate/kvm.rs (v1.11 on), vstate/
 *    resources.rs (v1.13 on; vm-allocator 0.1.3 src/id_allocator.rs,
 *    src/address_allocator.rs, src/allocation_engine/interval_tree.rs),
 *    vstate/vcpu/x86_64.rs (arch/x86_64/vcpu.rs from v1.12), device_manager/
 *    persist.rs and pci_mngr.rs (v1.13 on), the persist.rs of devices/
 *    virtio and of its block, net, vsock, balloon, rng, pmem and mem
 *    folders, devices/virtio/transport/pci (v1.13 on), the pci crate
 *    src/pci/src (v1.13) and src/vmm/src/pci (v1.14), devices/acpi,
 *    mmds/persist.rs, rate_limiter/persist.rs, cpu_config/templates.rs
 *    (KvmCapability is a string), utils net/mac.rs (MacAddr is a string),
 *    all at each tag.
 *  - kvm structures: firecracker-microvm/kvm-bindings v0.6.0-2 (Versionize:
 *    field by field, C sizes) and v0.7.0-2 (serde derive: C sizes, no
 *    length) for v1.6 and v1.7; rust-vmm/kvm kvm-bindings src/serialize.rs
 *    (serialize_bytes: [u64 size][bytes]) for v1.8 on; rust-vmm/
 *    vmm-sys-util src/fam.rs (FamStructWrapper: (header, Vec)).
 *  - Versionize files: everything up to the vCPU states and the vCPU states
 *    themselves are written with the types of their data version; the
 *    device states after them are a stand-in (fredck does not walk them).
 *
 * Options (the at-risk exception goes on vCPU -v, default the last):
 *   -n N     vCPUs (default 2)          -v I     vCPU with the exception
 *   -e VEC   exception vector (14, 1, 7; default none)
 *   -2 CR2   -6 DR6   -x XCR0   -r RFLAGS   -T (CR0.TS)   -F (no CR4.FRED)
 *   -P       the exception is pending with no payload (not injected)
 *   -d SET   devices (default "bnv"): b virtio block, u vhost-user block,
 *            n net, m MMDS (network stack on the net device, version set),
 *            v vsock, l balloon, e entropy, p pmem (v1.14), y virtio-mem
 *            (v1.14), 0 none
 *   -I       devices on the PCI transport (v1.13 on), not MMIO
 *   -c N     cpuid entries per vCPU (default 3; Firecracker saves some 50)
 *   -L       print offsets: "vcpus OFF" (the vCPU count), "events I OFF",
 *            "cpuid I OFF" (the u64 length of vCPU I's cpuid entries),
 *            "nent I OFF" (its kvm_cpuid2.nent), "msrs I OFF" (the u64
 *            length of its first Msrs' entries), "kvmlen FIELD OFF" (a
 *            kvm structure's u64 byte length, v1.8 on), "after OFF" (the
 *            end of the vCPU states), "crc OFF"
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
	const char *semver;        /* bincode SNAPSHOT_VERSION at this tag */
	unsigned int minor;        /* Firecracker 1.minor: the layout (0 for v0.x) */
};

/*
 * Every bincode release tag with the SNAPSHOT_VERSION of src/vmm/src/
 * persist.rs at that tag.  The layout follows the minor: patch tags
 * change no serialised type.  3.0.0 is two layouts (v1.9.x: NetState
 * without rx_buffers_state; v1.10.0: with it) and 8.0.0 is two (v1.13.x,
 * v1.14.x): Firecracker did not bump the version.
 */
static const struct release releases[] = {
	{ "v0.23", VERSIONIZE, 1, NULL, 0 },     { "v0.24", VERSIONIZE, 2, NULL, 0 },
	{ "v0.25", VERSIONIZE, 3, NULL, 0 },     { "v1.0", VERSIONIZE, 4, NULL, 0 },
	{ "v1.1", VERSIONIZE, 5, NULL, 1 },      { "v1.2", VERSIONIZE, 6, NULL, 2 },
	{ "v1.3", VERSIONIZE, 7, NULL, 3 },      { "v1.4", VERSIONIZE, 8, NULL, 4 },
	{ "v1.5", VERSIONIZE, 9, NULL, 5 },      { "v1.6", VERSIONIZE, 10, NULL, 6 },
	{ "v1.7.0", BINCODE, 0, "1.0.0", 7 },    { "v1.8.0", BINCODE, 0, "2.0.0", 8 },
	{ "v1.9.0", BINCODE, 0, "3.0.0", 9 },    { "v1.9.1", BINCODE, 0, "3.0.0", 9 },
	{ "v1.10.0", BINCODE, 0, "3.0.0", 10 },  { "v1.10.1", BINCODE, 0, "4.0.0", 10 },
	{ "v1.11.0", BINCODE, 0, "5.0.0", 11 },  { "v1.12.0", BINCODE, 0, "6.0.0", 12 },
	{ "v1.12.1", BINCODE, 0, "6.0.0", 12 },  { "v1.13.0", BINCODE, 0, "8.0.0", 13 },
	{ "v1.13.1", BINCODE, 0, "8.0.0", 13 },  { "v1.13.2", BINCODE, 0, "8.0.0", 13 },
	{ "v1.14.0", BINCODE, 0, "8.0.0", 14 },  { "v1.14.1", BINCODE, 0, "8.0.0", 14 },
	{ "v1.14.2", BINCODE, 0, "8.0.0", 14 },  { "v1.14.3", BINCODE, 0, "8.0.0", 14 },
	{ "v1.14.4", BINCODE, 0, "8.0.0", 14 },  { "bitcode", BITCODE, 0, NULL, 15 },
};

/* The scenario, from the options. */
struct scenario {
	unsigned int nvcpus, at;
	int vector; /* -1: none */
	bool pending, cr0_ts, fred, list, pci;
	uint64_t cr2, dr6, xcr0, rflags;
	const char *devices;
	unsigned int cpuid_entries;
};

/* The output, grown as it is written. */
struct out {
	uint8_t *b;
	size_t len, cap;
	const struct release *rel;
	const struct scenario *sc;
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

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static bool bincode(const struct out *o)
{
	return o->rel->ser == BINCODE;
}

/* Firecracker 1.minor or later writes this file (bincode only). */
static bool since(const struct out *o, unsigned int minor)
{
	return bincode(o) && o->rel->minor >= minor;
}

static bool has_device(const struct out *o, char d)
{
	return strchr(o->sc->devices, d) != NULL;
}

/* A kvm structure: serde byte string from v1.8, raw bytes before. */
static void put_kvm(struct out *o, const char *field, const void *p, size_t n)
{
	if (since(o, 8)) {
		if (o->sc->list && field)
			printf("kvmlen %s %zu\n", field, o->len);
		put(o, n, 8);
	}
	put_bytes(o, p, n);
}

static void put_string(struct out *o, const char *s)
{
	put(o, strlen(s), 8);
	put_bytes(o, s, strlen(s));
}

static void put_bool(struct out *o, bool v)
{
	put(o, v, 1);
}

/* Option<String>. */
static void put_opt_string(struct out *o, const char *s)
{
	put_bool(o, s != NULL);
	if (s)
		put_string(o, s);
}

/* Option<uN>. */
static void put_opt(struct out *o, bool some, uint64_t v, int bytes)
{
	put_bool(o, some);
	if (some)
		put(o, v, bytes);
}

/* ---- what comes before the vCPUs ---------------------------------------- */

static void put_vm_info(struct out *o)
{
	put(o, 256, 8); /* mem_size_mib */
	if (o->rel->ser == VERSIONIZE && o->rel->data_version < 6)
		return; /* VmInfo v1: mem_size_mib only */
	put_bool(o, false); /* smt */
	put(o, 3, 4);       /* cpu_template: None (variant 3 of StaticCpuTemplate on x86) */
	put_string(o, "/var/lib/fc/vmlinux-6.18"); /* boot_source.kernel_image_path */
	put_opt_string(o, NULL);                    /* initrd_path */
	put_opt_string(o, "console=ttyS0 reboot=k panic=1 pci=off"); /* boot_args */
	if (bincode(o))
		put(o, 0, 4); /* huge_pages: HugePageConfig::None */
}

/* GuestMemoryState: Vec<GuestMemoryRegionState>. */
static void put_memory_state(struct out *o)
{
	uint64_t bases[2] = { 0, 0x100000000ULL }, sizes[2] = { 0xC0000000ULL, 0x40000000ULL };

	put(o, 2, 8);
	for (int i = 0; i < 2; i++) {
		put(o, bases[i], 8);
		put(o, sizes[i], 8);
		if (!since(o, 11))
			put(o, i ? sizes[0] : 0, 8); /* offset in the memory file (to v1.10) */
		if (since(o, 14)) {
			put(o, 0, 4); /* region_type: Dram */
			put(o, 1, 8); /* plugged: vec![true] */
			put_bool(o, true);
		}
	}
}

/* Vec<KvmCapability>: versionize enum Add(u32); bincode a string "N" / "!N". */
static void put_caps(struct out *o)
{
	put(o, 2, 8);
	if (!bincode(o)) {
		put(o, 0, 4); /* Add */
		put(o, 36, 4);
		put(o, 1, 4); /* Remove */
		put(o, 124, 4);
		return;
	}
	put_string(o, "36");
	put_string(o, "!124");
}

/* vm-allocator 0.1.3 IdAllocator: range_base, next_id, range_end, freed_ids. */
static void put_id_allocator(struct out *o, uint32_t base, uint32_t next, uint32_t end, bool freed)
{
	put(o, base, 4);
	put_opt(o, true, next, 4);
	put(o, end, 4);
	put(o, freed, 8); /* BTreeSet<u32> */
	if (freed)
		put(o, next - 1, 4);
}

/* One interval-tree node and its subtrees (Option<Box<InnerNode>> each). */
static void put_node(struct out *o, uint64_t start, uint64_t end, unsigned int state, int depth)
{
	uint64_t mid = start + (end - start) / 2;

	put(o, start, 8);
	put(o, end, 8);
	put(o, state, 4); /* NodeState: Free 0, Allocated 1 */
	if (depth > 0) {
		put_bool(o, true);
		put_node(o, start, mid, 1, depth - 1);
		put_bool(o, true);
		put_node(o, mid + 1, end, 0, depth - 1);
	} else {
		put_bool(o, false);
		put_bool(o, false);
	}
	put(o, (uint64_t)depth + 1, 8); /* height */
}

/* AddressAllocator: address_space, interval_tree { root: Option<Box<InnerNode>> }. */
static void put_address_allocator(struct out *o, uint64_t base, uint64_t size, int depth)
{
	put(o, base, 8);
	put(o, base + size - 1, 8);
	put_bool(o, true);
	put_node(o, base, base + size - 1, depth > 0 ? 0 : 1, depth);
}

static void put_resource_allocator(struct out *o)
{
	put_id_allocator(o, 5, 12, 23, true);   /* gsi_legacy_allocator */
	put_id_allocator(o, 24, 24, 4095, false); /* gsi_msi_allocator */
	put_address_allocator(o, 0xC0000000ULL, 0x30000000ULL, 1); /* mmio32_memory */
	put_address_allocator(o, 0x4000000000ULL, 0x4000000000ULL, 0); /* mmio64_memory */
	if (since(o, 14))
		put_address_allocator(o, 0x8000000000ULL, 0x1000000000ULL, 0); /* past_mmio64 */
	put_address_allocator(o, 0xFEC00000ULL, 0x100000ULL, 2); /* system_memory */
}

/* Patterned bytes so that no kvm structure is mistaken for zero padding. */
static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (uint8_t)(k * 13 + seed);
}

static void put_vm_kvm_structs(struct out *o)
{
	uint8_t pit[112], clock[48] = { 0 }, chip[520];

	fill(pit, sizeof(pit), 1);
	put_kvm(o, "vm_state.pitstate", pit, sizeof(pit));
	put_le(clock, 0x1234567890ULL, 8); /* clock */
	put_le(clock + 8, 2, 4);           /* flags: KVM_CLOCK_TSC_STABLE */
	put_kvm(o, "vm_state.clock", clock, sizeof(clock));
	for (uint32_t id = 0; id < 3; id++) { /* pic_master, pic_slave, ioapic */
		fill(chip, sizeof(chip), id + 5);
		put_le(chip, id, 4); /* chip_id */
		put_le(chip + 4, 0, 4);
		put_kvm(o, id == 0 ? "vm_state.pic_master" : id == 1 ? "vm_state.pic_slave" :
			"vm_state.ioapic", chip, sizeof(chip));
	}
}

static void put_vm_state(struct out *o)
{
	if (since(o, 12)) {
		put_memory_state(o);
		if (since(o, 13))
			put_resource_allocator(o);
	}
	put_vm_kvm_structs(o);
	if ((o->rel->ser == VERSIONIZE && o->rel->data_version >= 9) ||
	    (bincode(o) && o->rel->minor <= 10))
		put_caps(o); /* VmState.kvm_cap_modifiers (versionize VmState v2) */
}

/* MicrovmState up to vcpu_states (persist.rs at each tag). */
static void put_before_vcpus(struct out *o)
{
	put_vm_info(o);
	if (!since(o, 12))
		put_memory_state(o);
	if (since(o, 11))
		put_caps(o); /* KvmState { kvm_cap_modifiers } */
	put_vm_state(o);
}

/* ---- one VcpuState ------------------------------------------------------ */

static void put_cpuid(struct out *o, unsigned int vcpu)
{
	static const uint32_t leaves[3][2] = { { 0, 0 }, { 1, 0 }, { 7, 1 } };
	unsigned int n = o->sc->cpuid_entries;
	uint8_t hdr[8] = { 0 }, ent[40];

	if (o->sc->list)
		printf("nent %u %zu\n", vcpu, o->len + (since(o, 8) ? 8 : 0));
	put_le(hdr, n, 4);
	put_kvm(o, NULL, hdr, sizeof(hdr));
	if (o->sc->list)
		printf("cpuid %u %zu\n", vcpu, o->len);
	put(o, n, 8);
	for (unsigned int i = 0; i < n; i++) {
		memset(ent, 0, sizeof(ent));
		/* The three leaves fredck looks at, then extended leaves as filler. */
		put_le(ent, i < 3 ? leaves[i][0] : 0x80000000U + i, 4);
		put_le(ent + 4, i < 3 ? leaves[i][1] : 0, 4);
		put_le(ent + 12, 0x10000 * i + 0x1F, 4); /* eax */
		if (i == 2)
			put_le(ent + 12, 1u << 17, 4); /* CPUID.(7,1):EAX.FRED */
		put_kvm(o, NULL, ent, sizeof(ent));
	}
}

/* One Msrs: struct kvm_msrs header, then the entries. */
static void put_msrs(struct out *o, const uint32_t *idx, const uint64_t *val, unsigned int n,
		     int list_vcpu)
{
	uint8_t hdr[8] = { 0 }, ent[16];

	put_le(hdr, n, 4);
	put_kvm(o, NULL, hdr, sizeof(hdr));
	if (o->sc->list && list_vcpu >= 0)
		printf("msrs %d %zu\n", list_vcpu, o->len);
	put(o, n, 8);
	for (unsigned int i = 0; i < n; i++) {
		memset(ent, 0, sizeof(ent));
		put_le(ent, idx[i], 4);
		put_le(ent + 8, val[i], 8);
		put_kvm(o, NULL, ent, sizeof(ent));
	}
}

/* Firecracker's allow-list has no XFD or FRED MSR: these are all it might save. */
static void put_saved_msrs(struct out *o, unsigned int vcpu)
{
	static const uint32_t idx[] = { 0x174, 0x175, 0x176, 0xC0000081, 0xC0000082,
					0xC0000084, 0x10 };
	static const uint64_t val[] = { 0x10, 0xfffffe0000003000ULL, 0xffffffff81a01560ULL,
					0x0023001000000000ULL, 0xffffffff81a00080ULL, 0x47700,
					0x12345678 };

	if (o->rel->ser == VERSIONIZE && o->rel->data_version < 6) {
		put_msrs(o, idx, val, 7, (int)vcpu); /* VcpuState v1, v2: msrs: Msrs */
		return;
	}
	put(o, 2, 8); /* saved_msrs: two chunks, as Firecracker splits them */
	put_msrs(o, idx, val, 4, (int)vcpu);
	put_msrs(o, idx + 4, val + 4, 3, -1);
}

static void put_events(struct out *o, const struct scenario *sc, bool risky, unsigned int i)
{
	uint8_t ev[64] = { 0 };

	ev[20] = 0x0D; /* NMI_PENDING | SHADOW | SMM, as KVM reports them */
	if (risky) {
		ev[0] = !sc->pending;
		ev[3] = sc->pending;
		ev[1] = (uint8_t)sc->vector;
		ev[2] = sc->vector == 14;
		put_le(ev + 4, sc->vector == 14 ? 2 : 0, 4);
	}
	if (sc->list)
		printf("events %u %zu\n", i, o->len + (since(o, 8) ? 8 : 0));
	put_kvm(o, NULL, ev, sizeof(ev));
}

static void put_xsave(struct out *o)
{
	uint8_t xsave[4096] = { 0 }, xsave2[8 + 4096] = { 0 };

	if (!since(o, 12)) {
		put_kvm(o, NULL, xsave, sizeof(xsave));
		return;
	}
	put_le(xsave2, 3, 8); /* kvm_xsave2.len: three u32 after the legacy area */
	put_kvm(o, NULL, xsave2, sizeof(xsave2));
	put(o, 3, 8);
	for (int k = 0; k < 3; k++)
		put(o, 0xA0 + (unsigned)k, 4);
}

/* One VcpuState. */
static void put_vcpu(struct out *o, const struct scenario *sc, unsigned int i)
{
	bool risky = sc->vector >= 0 && i == sc->at;
	uint8_t dbg[128] = { 0 }, lapic[1024], mp[4] = { 0 }, regs[144] = { 0 }, sregs[312] = { 0 };
	uint8_t xcrs[392] = { 0 };
	char field[48];

	put_cpuid(o, i);
	put_saved_msrs(o, i);
	put_le(dbg + 32, risky ? sc->dr6 : 0xFFFF0FF0, 8);
	put_le(dbg + 40, 0x400, 8);
	put_kvm(o, NULL, dbg, sizeof(dbg));
	fill(lapic, sizeof(lapic), i);
	snprintf(field, sizeof(field), "vcpu_states[%u].lapic", i);
	put_kvm(o, field, lapic, sizeof(lapic));
	put_kvm(o, NULL, mp, sizeof(mp));
	put_le(regs + 128, 0xffffffff81000000ULL + i * 0x40, 8);
	put_le(regs + 136, risky ? sc->rflags : 0x2, 8);
	put_kvm(o, NULL, regs, sizeof(regs));
	put_le(sregs + 224, 0x80050033ULL | (risky && sc->cr0_ts ? 8 : 0), 8);
	put_le(sregs + 232, risky ? sc->cr2 : 0, 8);
	put_le(sregs + 240, 0x1000, 8);
	put_le(sregs + 248, 0x3506F0ULL | (sc->fred ? 1ULL << 32 : 0), 8);
	put_le(sregs + 264, 0xD01, 8);
	put_le(sregs + 272, 0xFEE00900, 8);
	put_kvm(o, NULL, sregs, sizeof(sregs));
	put_events(o, sc, risky, i);
	put_le(xcrs, 1, 4);
	put_le(xcrs + 16, sc->xcr0, 8);
	put_kvm(o, NULL, xcrs, sizeof(xcrs));
	put_xsave(o);
	if (o->rel->ser == VERSIONIZE && o->rel->data_version < 3)
		return; /* VcpuState v1: no tsc_khz */
	put_opt(o, i == 0, 2995200, 4); /* tsc_khz */
}

/* ---- the device states (bincode) ----------------------------------------- */

/* devices/virtio/persist.rs QueueState. */
static void put_queue(struct out *o, unsigned int q, bool ready)
{
	put(o, 256, 2); /* max_size */
	put(o, ready ? 256 : 0, 2);
	put_bool(o, ready);
	put(o, 0x7000000ULL + q * 0x10000, 8); /* desc_table */
	put(o, 0x7001000ULL + q * 0x10000, 8); /* avail_ring */
	put(o, 0x7002000ULL + q * 0x10000, 8); /* used_ring */
	put(o, 17 + q, 2);                     /* next_avail */
	put(o, 17 + q, 2);                     /* next_used */
	put(o, 0, 2);                          /* num_added */
}

/* VirtioDeviceState (interrupt_status left it for the transport in v1.13). */
static void put_virtio_state(struct out *o, uint32_t type, unsigned int queues)
{
	put(o, type, 4);
	put(o, 0x130000000ULL | type, 8);
	put(o, 0x100000000ULL | type, 8);
	put(o, queues, 8);
	for (unsigned int q = 0; q < queues; q++)
		put_queue(o, q, true);
	if (!since(o, 13))
		put(o, 0, 4); /* interrupt_status */
	put_bool(o, true); /* activated */
}

/* RateLimiterState: ops, bandwidth (Option<TokenBucketState> each). */
static void put_rate_limiter(struct out *o, bool ops)
{
	put_bool(o, ops);
	if (ops)
		for (int k = 0; k < 5; k++)
			put(o, 1000 * (uint64_t)(k + 1), 8);
	put_bool(o, false);
}

static void put_block_state(struct out *o, bool vhost_user, unsigned int n)
{
	char id[16];

	snprintf(id, sizeof(id), "%s%u", vhost_user ? "vu" : "rootfs", n);
	put(o, vhost_user, 4); /* BlockState::Virtio / VhostUser */
	put_string(o, id);
	put_opt_string(o, vhost_user ? NULL : "0eaa91a0-01");
	put(o, vhost_user, 4); /* cache_type: Unsafe / Writeback */
	put_bool(o, !vhost_user);
	if (vhost_user) {
		uint8_t config[60];

		fill(config, sizeof(config), 9);
		put_string(o, "/run/vhost-user-blk.sock");
		put(o, 0x3f, 8); /* vu_acked_protocol_features */
		put(o, sizeof(config), 8);
		put_bytes(o, config, sizeof(config));
		put_virtio_state(o, 2, 1);
		return;
	}
	put_string(o, "/srv/vm/rootfs.ext4");
	put_virtio_state(o, 2, 1);
	put_rate_limiter(o, true);
	put(o, 0, 4); /* file_engine_type: Sync */
}

static void put_net_state(struct out *o)
{
	bool mmds = has_device(o, 'm');

	put_string(o, "eth0");
	put_string(o, "tap0");
	put_rate_limiter(o, false);
	put_rate_limiter(o, true);
	put_bool(o, mmds); /* mmds_ns */
	if (mmds) {
		static const uint8_t mac[6] = { 0x06, 0x01, 0x23, 0x45, 0x67, 0x01 };

		put_bytes(o, mac, sizeof(mac));
		put(o, 0xA9FEA9FE, 4); /* 169.254.169.254 */
		put(o, 80, 2);
		if (!since(o, 11)) {
			put(o, 30, 8); /* max_connections */
			put(o, 100, 8); /* max_pending_resets */
		}
	}
	put_bool(o, true); /* config_space.guest_mac: Some(MacAddr), as a string */
	put_string(o, "06:00:ac:10:00:02");
	put_virtio_state(o, 1, 2);
	if (since(o, 10) && !since(o, 13)) { /* rx_buffers_state, v1.10.0 to v1.12 */
		put(o, 3, 2);
		put(o, 1, 2);
		put(o, 1500, 4);
	}
}

static void put_vsock_state(struct out *o)
{
	put(o, 0, 4); /* VsockBackendState::Uds */
	put_string(o, "/run/fc/v.sock");
	put(o, 3, 8); /* frontend.cid */
	put_virtio_state(o, 19, 3);
}

static void put_balloon_state(struct out *o)
{
	put(o, 5, 2);             /* stats_polling_interval_s */
	put_opt(o, true, 0, 2);   /* stats_desc_index */
	for (int k = 0; k < (since(o, 14) ? 16 : 10); k++)
		put_opt(o, k % 3 == 0, 4096 * (uint64_t)k, 8); /* latest_stats */
	put(o, 1024, 4);          /* config_space.num_pages */
	put(o, 512, 4);           /* config_space.actual_pages */
	if (since(o, 14)) {       /* hinting_state */
		put(o, 0, 4);
		put(o, 0, 4);
		put_opt(o, false, 0, 4);
		put_bool(o, false);
	}
	put_virtio_state(o, 5, 3);
}

static void put_entropy_state(struct out *o)
{
	put_virtio_state(o, 4, 1);
	put_rate_limiter(o, false);
}

static void put_pmem_state(struct out *o)
{
	put_virtio_state(o, 27, 1);
	put(o, 0x10000000000ULL, 8); /* config_space.start */
	put(o, 0x8000000, 8);        /* config_space.size */
	put_string(o, "pmem0");      /* config: PmemConfig */
	put_string(o, "/srv/vm/pmem.img");
	put_bool(o, false);
	put_bool(o, true);
}

static void put_mem_state(struct out *o)
{
	put_virtio_state(o, 24, 1);
	put(o, 0x20000000000ULL, 8); /* addr */
	put(o, 0x40000000, 8);       /* region_size */
	put(o, 0x200000, 8);         /* block_size */
	put(o, 0x40000000, 8);       /* usable_region_size */
	put(o, 0x200000, 8);         /* requested_size */
	put(o, 0x8000000, 8);        /* slot_size */
	put(o, 8, 8);                /* plugged_blocks: Vec<bool> */
	for (int k = 0; k < 8; k++)
		put_bool(o, k == 0);
}

/* MmioTransportState, then MMIODeviceInfo. */
static void put_mmio_transport(struct out *o, unsigned int slot)
{
	put(o, 1, 4); /* features_select */
	put(o, 0, 4); /* acked_features_select */
	put(o, 0, 4); /* queue_select */
	put(o, 0xF, 4); /* device_status: DRIVER_OK | ... */
	put(o, 0, 4); /* config_generation */
	if (since(o, 13))
		put(o, 0, 4); /* interrupt_status */
	put(o, 0xD0000000ULL + slot * 0x1000, 8); /* device_info.addr */
	put(o, 0x1000, 8);                         /* device_info.len */
	if (!since(o, 11)) {
		put(o, 1, 8); /* irqs: Vec<u32> */
		put(o, 5 + slot, 4);
	} else {
		put_opt(o, true, 5 + slot, 4); /* irq: Option<NonZeroU32> / gsi: Option<u32> */
	}
}

/* VirtioPciDeviceState (transport/pci/device.rs, v1.13 and v1.14). */
static void put_pci_transport(struct out *o, unsigned int slot, unsigned int queues)
{
	char bdf[16];

	snprintf(bdf, sizeof(bdf), "0000:00:%02x.0", slot + 1);
	put_string(o, bdf);   /* pci_device_bdf: PciBdf as a string */
	put_bool(o, true);    /* device_activated */
	put(o, 0x70, 8);      /* cap_pci_cfg_offset */
	put(o, 4, 8);         /* cap_pci_cfg: Vec<u8> */
	put(o, 0x01020304, 4);
	put(o, 4, 8);         /* pci_configuration_state.registers */
	for (int k = 0; k < 4; k++)
		put(o, 0x1AF41040U + (unsigned)k, 4);
	put(o, 4, 8);         /* writable_bits */
	for (int k = 0; k < 4; k++)
		put(o, 0xFFFFFFFFU, 4);
	put(o, 2, 8);         /* bars */
	for (int k = 0; k < 2; k++) {
		put(o, k ? 0x40 : 0xE0000000U, 4);
		put(o, k ? 0 : 0x80000, 4);
		put_bool(o, k == 0);
		if (!since(o, 14))
			put_opt(o, k == 0, 2, 4); /* r#type: Some(Memory64BitRegion) */
	}
	if (!since(o, 14)) {
		put(o, 0, 4);      /* rom_bar_addr */
		put(o, 0, 4);      /* rom_bar_size */
		put_bool(o, false); /* rom_bar_used */
	}
	put_bool(o, true);    /* last_capability: Some((usize, usize)) */
	put(o, 0x40, 8);
	put(o, 0x14, 8);
	put_opt(o, true, 17, 8); /* msix_cap_reg_idx */
	put(o, 0x0F, 1);      /* pci_dev_state: driver_status */
	put(o, 0, 1);         /* config_generation */
	put(o, 1, 4);         /* device_feature_select */
	put(o, 1, 4);         /* driver_feature_select */
	put(o, 0, 2);         /* queue_select */
	put(o, 0, 2);         /* msix_config */
	put(o, queues, 8);    /* msix_queues */
	for (unsigned int q = 0; q < queues; q++)
		put(o, q + 1, 2);
	put(o, queues + 1, 8); /* msix_state.table_entries */
	for (unsigned int k = 0; k <= queues; k++) {
		put(o, 0xFEE00000U, 4);
		put(o, 0, 4);
		put(o, 0x4020 + k, 4);
		put(o, 0, 4);
	}
	put(o, 1, 8);         /* pba_entries */
	put(o, 0, 8);
	put_bool(o, false);   /* masked */
	put_bool(o, true);    /* enabled */
	if (since(o, 14)) {
		put(o, queues + 1, 8); /* vectors */
		for (unsigned int k = 0; k <= queues; k++)
			put(o, 24 + k, 4);
		put(o, 0xE0000000ULL + slot * 0x80000, 8); /* bar_address */
		return;
	}
	put(o, queues + 1, 8); /* msi_vector_group */
	for (unsigned int k = 0; k <= queues; k++)
		put(o, 24 + k, 4);
	put(o, 0xE0000000ULL + slot * 0x80000, 8); /* bar_configuration.addr */
	put(o, 0x80000, 8);   /* size */
	put(o, 0, 8);         /* idx */
	put(o, 2, 4);         /* region_type: Memory64BitRegion (third variant) */
	put(o, 0, 4);         /* prefetchable: NotPrefetchable */
}

/* The state of one connected device: Connected*State or VirtioDeviceState<T>. */
typedef void put_state_fn(struct out *o);

static void put_connected(struct out *o, bool pci, const char *id, unsigned int slot,
			  unsigned int queues, void (*state)(struct out *, unsigned int),
			  unsigned int arg)
{
	put_string(o, id);
	if (pci)
		put(o, (slot + 1) << 3, 4); /* pci_device_bdf: u32 */
	state(o, arg);
	if (pci)
		put_pci_transport(o, slot, queues);
	else
		put_mmio_transport(o, slot);
}

static void block_fn(struct out *o, unsigned int vhost_user) { put_block_state(o, vhost_user, 0); }
static void net_fn(struct out *o, unsigned int unused) { (void)unused; put_net_state(o); }
static void vsock_fn(struct out *o, unsigned int unused) { (void)unused; put_vsock_state(o); }
static void balloon_fn(struct out *o, unsigned int unused) { (void)unused; put_balloon_state(o); }
static void entropy_fn(struct out *o, unsigned int unused) { (void)unused; put_entropy_state(o); }
static void pmem_fn(struct out *o, unsigned int unused) { (void)unused; put_pmem_state(o); }
static void mem_fn(struct out *o, unsigned int unused) { (void)unused; put_mem_state(o); }

/*
 * One device list (DeviceStates or, v1.13 on, PciDevicesState): the
 * devices of the set on this transport, none on the other.
 */
static void put_device_list(struct out *o, bool pci)
{
	bool mine = pci == o->sc->pci, v14 = since(o, 14);
	unsigned int nblock = mine * (has_device(o, 'b') + has_device(o, 'u'));
	unsigned int slot = 0;

	put(o, nblock, 8); /* block_devices */
	if (mine && has_device(o, 'b'))
		put_connected(o, pci, "rootfs", slot++, 1, block_fn, 0);
	if (mine && has_device(o, 'u'))
		put_connected(o, pci, "vu0", slot++, 1, block_fn, 1);
	put(o, mine && has_device(o, 'n'), 8); /* net_devices */
	if (mine && has_device(o, 'n'))
		put_connected(o, pci, "eth0", slot++, 2, net_fn, 0);
	put_bool(o, mine && has_device(o, 'v')); /* vsock_device */
	if (mine && has_device(o, 'v'))
		put_connected(o, pci, "vsock", slot++, 3, vsock_fn, 0);
	put_bool(o, mine && has_device(o, 'l')); /* balloon_device */
	if (mine && has_device(o, 'l'))
		put_connected(o, pci, "balloon", slot++, 3, balloon_fn, 0);
	put_bool(o, mine && has_device(o, 'm')); /* mmds_version / mmds */
	if (mine && has_device(o, 'm')) {
		put(o, 1, 4); /* V2 */
		if (since(o, 13))
			put_bool(o, false); /* imds_compat */
	}
	put_bool(o, mine && has_device(o, 'e')); /* entropy_device */
	if (mine && has_device(o, 'e'))
		put_connected(o, pci, "rng", slot++, 1, entropy_fn, 0);
	if (!v14)
		return;
	put(o, mine && has_device(o, 'p'), 8); /* pmem_devices */
	if (mine && has_device(o, 'p'))
		put_connected(o, pci, "pmem0", slot++, 1, pmem_fn, 0);
	put_bool(o, mine && has_device(o, 'y')); /* memory_device */
	if (mine && has_device(o, 'y'))
		put_connected(o, pci, "mem", slot++, 1, mem_fn, 0);
}

/* ACPIDeviceManagerState (v1.8 on). */
static void put_acpi_state(struct out *o)
{
	uint8_t abi[104];

	if (!since(o, 14)) {
		put_bool(o, true); /* vmgenid: Some */
		put(o, 5, 4);
		put(o, 0xFFFF0000ULL, 8);
		return;
	}
	put(o, 5, 4); /* vmgenid */
	put(o, 0xFFFF0000ULL, 8);
	put(o, 0xFFFF1000ULL, 8); /* vmclock.guest_address */
	fill(abi, sizeof(abi), 3); /* vmclock.inner: vmclock_abi, 104 bytes of fields */
	put_bytes(o, abi, sizeof(abi));
}

static void put_device_states(struct out *o)
{
	if (!bincode(o)) {
		/* Versionize: a stand-in (fredck stops after the vCPU states). */
		for (int i = 0; i < 6; i++)
			put(o, 0, 8);
		put_string(o, "rootfs");
		return;
	}
	put_device_list(o, false);
	if (since(o, 8))
		put_acpi_state(o);
	if (since(o, 13)) {
		put_bool(o, o->sc->pci); /* pci_state.pci_enabled */
		put_device_list(o, true);
	}
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

/* A tag, or a minor version "v1.N" standing for its first tag v1.N.0. */
static const struct release *release_by_name(const char *name)
{
	char tag[32];

	for (size_t i = 0; i < sizeof(releases) / sizeof(releases[0]); i++)
		if (strcmp(releases[i].name, name) == 0)
			return &releases[i];
	if (snprintf(tag, sizeof(tag), "%s.0", name) >= (int)sizeof(tag))
		return NULL;
	for (size_t i = 0; i < sizeof(releases) / sizeof(releases[0]); i++)
		if (releases[i].ser == BINCODE && strcmp(releases[i].name, tag) == 0)
			return &releases[i];
	return NULL;
}

static int list_tags(void)
{
	for (size_t i = 0; i < sizeof(releases) / sizeof(releases[0]); i++)
		if (releases[i].ser == BINCODE)
			printf("%s %s\n", releases[i].name, releases[i].semver);
	return 0;
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
			"[-r RFLAGS] [-T] [-F] [-d DEVICES] [-I] [-c N] [-L] RELEASE OUT\n"
			"       mkfcsnap tags | recrc FILE | crcok FILE\n");
	return 2;
}

static int parse_options(int argc, char **argv, struct scenario *sc)
{
	bool at_set = false;
	int c;

	while ((c = getopt(argc, argv, "n:v:e:P2:6:x:r:TFLd:Ic:")) != -1) {
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
		case 'd': sc->devices = optarg; break;
		case 'I': sc->pci = true; break;
		case 'c': sc->cpuid_entries = (unsigned int)strtoul(optarg, NULL, 0); break;
		default: return -1;
		}
	}
	if (sc->nvcpus == 0 || sc->nvcpus > 64 || sc->cpuid_entries < 3 || sc->cpuid_entries > 256)
		return -1;
	if (strspn(sc->devices, "bunmvlepy0") != strlen(sc->devices))
		return -1;
	if (!at_set)
		sc->at = sc->nvcpus - 1;
	return sc->at < sc->nvcpus ? 0 : -1;
}

/* Devices and transports this release does not have are refused, not dropped. */
static int check_scenario(const struct out *o)
{
	if (o->sc->pci && !since(o, 13)) {
		fprintf(stderr, "mkfcsnap: -I: %s has no PCI transport\n", o->rel->name);
		return -1;
	}
	if ((has_device(o, 'p') || has_device(o, 'y')) && !since(o, 14)) {
		fprintf(stderr, "mkfcsnap: %s has no pmem or virtio-mem device\n", o->rel->name);
		return -1;
	}
	return 0;
}

static void put_state(struct out *o)
{
	const struct scenario *sc = o->sc;

	put_header(o);
	put_before_vcpus(o);
	if (sc->list)
		printf("vcpus %zu\n", o->len);
	put(o, sc->nvcpus, 8);
	for (unsigned int i = 0; i < sc->nvcpus; i++)
		put_vcpu(o, sc, i);
	if (sc->list)
		printf("after %zu\n", o->len);
	put_device_states(o);
}

int main(int argc, char **argv)
{
	struct scenario sc = { .nvcpus = 2, .vector = -1, .fred = true, .cr2 = 0x7f5a3c001ff8ULL,
			       .dr6 = 0xFFFF0FF1, .xcr0 = 0x7, .rflags = 0x2, .devices = "bnv", .cpuid_entries = 3 };
	struct out o = { .sc = &sc };
	FILE *f;

	if (argc == 3 && (strcmp(argv[1], "recrc") == 0 || strcmp(argv[1], "crcok") == 0))
		return crc_tool(argv[1], argv[2]);
	if (argc == 2 && strcmp(argv[1], "tags") == 0)
		return list_tags();
	if (parse_options(argc, argv, &sc) != 0 || argc - optind != 2)
		return usage();
	o.rel = release_by_name(argv[optind]);
	if (!o.rel) {
		fprintf(stderr, "mkfcsnap: unknown release '%s'\n", argv[optind]);
		return 2;
	}
	if (check_scenario(&o) != 0)
		return 2;
	if (o.rel->ser == BITCODE)
		put_bitcode_like(&o);
	else
		put_state(&o);
	if (sc.list)
		printf("crc %zu\n", o.len);
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
