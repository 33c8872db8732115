/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fc_state.c --- Firecracker's MicrovmState, walked by its schema.
 *
 * The types, field by field, were read in firecracker-microvm/firecracker
 * at every tag (no code copied; tests/fc/README.md lists the files):
 * src/vmm/src/persist.rs (MicrovmState, VmInfo), vstate/memory.rs,
 * vstate/vm.rs and arch/x86_64/vm.rs (VmState), vstate/kvm.rs (KvmState,
 * v1.11 on), vstate/resources.rs (ResourceAllocator, v1.13 on, with
 * rust-vmm/vm-allocator 0.1.3), vstate/vcpu/x86_64.rs and
 * arch/x86_64/vcpu.rs (VcpuState), device_manager/persist.rs and
 * pci_mngr.rs, the persist.rs of every virtio device, the PCI transport
 * (v1.13 on), devices/acpi; src/vmm/src/version_map.rs @v1.6.0 for the
 * versionize type versions.
 *
 * One walk per layout: struct fc_layout says which release's types.
 * Every length is checked against the bytes left before it is used, and
 * nothing is allocated before the vCPU count is bounded by the bytes left
 * divided by the smallest VcpuState the layout allows.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/firecracker/fc_state.h"
#include "formats/io/le.h"
#include "formats/kvm/kvm.h"

/* Bounds the schema does not give but the kernel and Firecracker do. */
#define FC_MAX_VCPUS 4096        /* KVM_MAX_VCPUS on x86 */
#define FC_MAX_CPUID 256         /* KVM_MAX_CPUID_ENTRIES */
#define FC_MAX_MSRS 4096         /* entries per Msrs chunk (Firecracker uses <= 256) */
#define FC_MAX_TREE_DEPTH 64     /* an AVL tree of 2^64 ranges is not this deep */
#define FC_STRING_MAX (1U << 20) /* paths and ids; versionize allows 16384 */
#define VERSIONIZE_STRING_MAX 16384 /* MAX_STRING_LEN of versionize 0.1 */
#define XSAVE2_HDR_SIZE (8 + KVM_XSAVE_SIZE) /* kvm_xsave2: usize len, then kvm_xsave */

/* Variant counts of the enums walked (x86_64 builds). */
#define N_STATIC_CPU_TEMPLATE 6 /* C3 T2 T2S None T2CL T2A */
#define N_HUGE_PAGES 2          /* None, Hugetlbfs2M */
#define N_KVM_CAPABILITY 2      /* versionize: Add(u32), Remove(u32) */
#define N_REGION_TYPE 2         /* Dram, Hotpluggable (v1.14) */
#define N_NODE_STATE 2          /* Free, Allocated */
#define N_BLOCK_STATE 2         /* Virtio, VhostUser */
#define N_CACHE_TYPE 2          /* Unsafe, Writeback */
#define N_FILE_ENGINE 2         /* Sync, Async */
#define N_MMDS_VERSION 2        /* V1, V2 */
#define N_VSOCK_BACKEND 1       /* Uds */
#define N_PCI_BAR_REGION 3      /* Memory32BitRegion, IoRegion, Memory64BitRegion (v1.13) */
#define N_PCI_BAR_PREFETCH 2    /* NotPrefetchable, Prefetchable (v1.13) */
#define VMCLOCK_ABI_SIZE 104    /* vmclock_abi's fields, serde derive: no padding */

static bool bincode(const struct fc_layout *l)
{
	return !l->versionize;
}

/* Written by Firecracker 1.minor or later (bincode). */
static bool since(const struct fc_layout *l, unsigned int minor)
{
	return bincode(l) && l->minor >= minor;
}

/* One field of a struct: enter, call, leave; -1 on the first failure. */
#define FIELD(c, name, call)                                  \
	do {                                                  \
		size_t mark_ = fc_enter((c), (name));         \
		int rc_ = (call);                             \
		if (rc_ == 0)                                 \
			fc_leave((c), mark_);                 \
		if (rc_ != 0)                                 \
			return -1;                            \
	} while (0)

/* ---- containers of the serde data model ------------------------------------- */

typedef int walk_fn(struct fc_cur *c, const struct fc_layout *l);

/* Vec<T>: each element walked as name[i]. */
static int walk_vec(struct fc_cur *c, const struct fc_layout *l, const char *name,
		    uint64_t min_size, walk_fn *elem)
{
	uint64_t n;

	if (fc_len(c, name, min_size, &n))
		return -1;
	for (uint64_t i = 0; i < n; i++) {
		size_t mark = fc_enter_index(c, name, i);

		if (elem(c, l))
			return -1;
		fc_leave(c, mark);
	}
	return 0;
}

/* Option<T>. */
static int walk_option(struct fc_cur *c, const struct fc_layout *l, const char *name,
		       walk_fn *inner)
{
	bool some = false;
	size_t mark;

	if (fc_option(c, name, &some))
		return -1;
	if (!some)
		return 0;
	mark = fc_enter(c, name);
	if (inner(c, l))
		return -1;
	fc_leave(c, mark);
	return 0;
}

static int skip_variant(struct fc_cur *c, const char *name, uint32_t n)
{
	uint32_t v;

	return fc_variant(c, name, n, &v);
}

static int skip_bool(struct fc_cur *c, const char *name)
{
	bool b;

	return fc_bool(c, name, &b);
}

static uint64_t string_max(const struct fc_layout *l)
{
	return l->versionize ? VERSIONIZE_STRING_MAX : FC_STRING_MAX;
}

/* ---- VmInfo, memory, KvmState ---------------------------------------------------- */

static int walk_boot_source(struct fc_cur *c, const struct fc_layout *l)
{
	if (fc_string(c, "kernel_image_path", string_max(l)) ||
	    fc_opt_string(c, "initrd_path", string_max(l)) ||
	    fc_opt_string(c, "boot_args", string_max(l)))
		return -1;
	return 0;
}

/* VmInfo: versionize type version 1 (to data version 5) is mem_size_mib alone. */
static int walk_vm_info(struct fc_cur *c, const struct fc_layout *l)
{
	if (fc_skip(c, 8, "mem_size_mib"))
		return -1;
	if (l->versionize && l->data_version < 6)
		return 0;
	if (skip_bool(c, "smt") || skip_variant(c, "cpu_template", N_STATIC_CPU_TEMPLATE))
		return -1;
	FIELD(c, "boot_source", walk_boot_source(c, l));
	if (bincode(l) && skip_variant(c, "huge_pages", N_HUGE_PAGES))
		return -1;
	return 0;
}

/* GuestMemoryRegionState: base_address, size, [offset to v1.10], [region_type, plugged v1.14]. */
static int walk_region(struct fc_cur *c, const struct fc_layout *l)
{
	uint64_t n;

	if (fc_skip(c, 8, "base_address") || fc_skip(c, 8, "size"))
		return -1;
	if (!since(l, 11) && fc_skip(c, 8, "offset"))
		return -1;
	if (since(l, 14)) {
		if (skip_variant(c, "region_type", N_REGION_TYPE) ||
		    fc_len(c, "plugged", 1, &n))
			return -1;
		for (uint64_t i = 0; i < n; i++)
			if (skip_bool(c, "plugged"))
				return -1;
	}
	return 0;
}

static uint64_t region_min_size(const struct fc_layout *l)
{
	return since(l, 14) ? 28 : since(l, 11) ? 16 : 24;
}

/* GuestMemoryState { regions: Vec<GuestMemoryRegionState> }. */
static int walk_memory(struct fc_cur *c, const struct fc_layout *l)
{
	return walk_vec(c, l, "regions", region_min_size(l), walk_region);
}

/* A bincode KvmCapability: "N" (add) or "!N" (remove), N a u32 in decimal. */
static int walk_capability_string(struct fc_cur *c)
{
	uint64_t at = c->pos + 8, n, cap = 0;
	size_t i = 0;

	if (fc_string(c, NULL, 11))
		return -1;
	n = le_get(c->b + at - 8, 8);
	if (n > 0 && c->b[at] == '!')
		i = 1;
	if (i == n)
		return fc_bad(c, at, NULL, "an empty capability number");
	for (; i < n; i++) {
		if (c->b[at + i] < '0' || c->b[at + i] > '9')
			return fc_bad(c, at + i, NULL, "'%c' in a capability number", c->b[at + i]);
		cap = cap * 10 + (uint64_t)(c->b[at + i] - '0');
	}
	if (cap > UINT32_MAX)
		return fc_bad(c, at, NULL, "capability %llu does not fit a u32",
			      (unsigned long long)cap);
	return 0;
}

/* KvmCapability: bincode a string ("36", "!36"); versionize an enum Add(u32) / Remove(u32). */
static int walk_capability(struct fc_cur *c, const struct fc_layout *l)
{
	if (bincode(l))
		return walk_capability_string(c);
	return skip_variant(c, NULL, N_KVM_CAPABILITY) || fc_skip(c, 4, NULL) ? -1 : 0;
}

static int walk_caps(struct fc_cur *c, const struct fc_layout *l)
{
	return walk_vec(c, l, "kvm_cap_modifiers", 8, walk_capability);
}

/* ---- ResourceAllocator (vm-allocator 0.1.3, v1.13 on) ------------------------------ */

/* IdAllocator: range_base u32, next_id Option<u32>, range_end u32, freed_ids BTreeSet<u32>. */
static int walk_id_allocator(struct fc_cur *c, const struct fc_layout *l)
{
	uint64_t n;

	(void)l;
	if (fc_skip(c, 4, "range_base") || fc_opt_fixed(c, "next_id", 4) ||
	    fc_skip(c, 4, "range_end") || fc_vec_fixed(c, "freed_ids", 4, &n))
		return -1;
	return 0;
}

/* InnerNode: key (start, end), node_state, left, right (Option<Box<InnerNode>>), height. */
static int walk_node(struct fc_cur *c, unsigned int depth)
{
	static const char *const sides[2] = { "left", "right" };

	if (depth > FC_MAX_TREE_DEPTH)
		return fc_bad(c, c->pos, NULL, "an interval tree deeper than %d",
			      FC_MAX_TREE_DEPTH);
	if (fc_skip(c, 16, "key") || skip_variant(c, "node_state", N_NODE_STATE))
		return -1;
	for (int s = 0; s < 2; s++) {
		bool some = false;
		size_t mark;

		if (fc_option(c, sides[s], &some))
			return -1;
		if (!some)
			continue;
		mark = fc_enter(c, sides[s]);
		if (walk_node(c, depth + 1))
			return -1;
		fc_leave(c, mark);
	}
	return fc_skip(c, 8, "height");
}

/* AddressAllocator: address_space (start, end), interval_tree { root: Option<Box<InnerNode>> }. */
static int walk_address_allocator(struct fc_cur *c, const struct fc_layout *l)
{
	bool some = false;
	size_t mark;

	(void)l;
	if (fc_skip(c, 16, "address_space") || fc_option(c, "interval_tree.root", &some))
		return -1;
	if (!some)
		return 0;
	mark = fc_enter(c, "interval_tree.root");
	if (walk_node(c, 1))
		return -1;
	fc_leave(c, mark);
	return 0;
}

static int walk_resource_allocator(struct fc_cur *c, const struct fc_layout *l)
{
	FIELD(c, "gsi_legacy_allocator", walk_id_allocator(c, l));
	FIELD(c, "gsi_msi_allocator", walk_id_allocator(c, l));
	FIELD(c, "mmio32_memory", walk_address_allocator(c, l));
	FIELD(c, "mmio64_memory", walk_address_allocator(c, l));
	if (since(l, 14))
		FIELD(c, "past_mmio64_memory", walk_address_allocator(c, l));
	FIELD(c, "system_memory", walk_address_allocator(c, l));
	return 0;
}

/* ---- VmState (x86_64) ------------------------------------------------------------------ */

static int walk_vm_state(struct fc_cur *c, const struct fc_layout *l)
{
	uint64_t off;

	if (since(l, 12))
		FIELD(c, "memory", walk_memory(c, l));
	if (since(l, 13))
		FIELD(c, "resource_allocator", walk_resource_allocator(c, l));
	if (fc_kvm(c, "pitstate", KVM_PIT_STATE2_SIZE, &off) ||
	    fc_kvm(c, "clock", KVM_CLOCK_DATA_SIZE, &off) ||
	    fc_kvm(c, "pic_master", KVM_IRQCHIP_SIZE, &off) ||
	    fc_kvm(c, "pic_slave", KVM_IRQCHIP_SIZE, &off) ||
	    fc_kvm(c, "ioapic", KVM_IRQCHIP_SIZE, &off))
		return -1;
	/* kvm_cap_modifiers: versionize VmState 2 (data version 9 on), bincode to v1.10. */
	if ((l->versionize && l->data_version >= 9) || (bincode(l) && l->minor <= 10))
		return walk_caps(c, l);
	return 0;
}

/* Everything of MicrovmState before vcpu_states. */
static int walk_before_vcpus(struct fc_cur *c, const struct fc_layout *l)
{
	FIELD(c, "vm_info", walk_vm_info(c, l));
	if (!since(l, 12))
		FIELD(c, "memory_state", walk_memory(c, l));
	if (since(l, 11))
		FIELD(c, "kvm_state", walk_caps(c, l));
	FIELD(c, "vm_state", walk_vm_state(c, l));
	return 0;
}

/* ---- VcpuState ------------------------------------------------------------------------- */

/* kvm structures are byte strings from v1.8 on: each has a u64 length before it. */
static uint64_t kvm_size(const struct fc_cur *c, uint64_t size)
{
	return size + (c->kvm_prefixed ? 8 : 0);
}

/* The smallest VcpuState of the layout: no cpuid entry, no MSR, tsc_khz None. */
static uint64_t vcpu_min_size(const struct fc_cur *c, const struct fc_layout *l)
{
	bool msrs_vec = bincode(l) || l->data_version >= 6;
	uint64_t n = kvm_size(c, KVM_CPUID2_HDR_SIZE) + 8;

	n += msrs_vec ? 8 : kvm_size(c, KVM_MSRS_HDR_SIZE) + 8;
	n += kvm_size(c, KVM_DEBUGREGS_SIZE) + kvm_size(c, KVM_LAPIC_SIZE) +
	     kvm_size(c, KVM_MP_STATE_SIZE) + kvm_size(c, KVM_REGS_SIZE) +
	     kvm_size(c, KVM_SREGS_SIZE) + kvm_size(c, KVM_EVENTS_SIZE) + kvm_size(c, KVM_XCRS_SIZE);
	n += since(l, 12) ? kvm_size(c, XSAVE2_HDR_SIZE) + 8 : kvm_size(c, KVM_XSAVE_SIZE);
	if (bincode(l) || l->data_version >= 3)
		n += 1;
	return n;
}

/*
 * A FamStructWrapper: the header (a kvm structure), then Vec<entry>, each
 * entry a kvm structure too.  The header's count must equal the Vec's
 * length (vmm-sys-util refuses a mismatch).
 */
struct fam {
	const char *name;
	uint64_t hdr_size, entry_size;
	uint64_t max;
	bool entries_are_kvm; /* entries are kvm structures (prefixed from v1.8) */
	uint64_t (*count)(const uint8_t *hdr); /* the entry count its header holds */
};

static uint64_t cpuid_count(const uint8_t *hdr)
{
	return kvm_cpuid2_count(hdr);
}

static uint64_t msrs_count(const uint8_t *hdr)
{
	return kvm_msrs_count(hdr);
}

/*
 * kvm_xsave2 is kvm-bindings' own wrapper (no KVM ioctl structure): a
 * usize len, the number of u32 after the 4 KiB region, then kvm_xsave.
 */
static uint64_t xsave2_count(const uint8_t *hdr)
{
	return le_get(hdr, 8);
}

static int walk_fam(struct fc_cur *c, const struct fam *f, uint64_t *n, uint64_t *entries,
		    uint64_t *stride)
{
	uint64_t hdr, len_off;

	*stride = f->entries_are_kvm ? kvm_size(c, f->entry_size) : f->entry_size;
	if (fc_kvm(c, f->name, f->hdr_size, &hdr))
		return -1;
	len_off = c->pos;
	if (fc_len(c, f->name, *stride, n))
		return -1;
	if (*n > f->max)
		return fc_bad(c, len_off, f->name, "%llu entries, more than %llu",
			      (unsigned long long)*n, (unsigned long long)f->max);
	if (f->count(c->b + hdr) != *n)
		return fc_bad(c, hdr, f->name,
			      "the header counts %llu entries, the vector that follows holds %llu",
			      (unsigned long long)f->count(c->b + hdr), (unsigned long long)*n);
	for (uint64_t i = 0; f->entries_are_kvm && c->kvm_prefixed && i < *n; i++) {
		uint64_t at = c->pos + i * *stride, len = le_get(c->b + at, 8);

		if (len != f->entry_size)
			return fc_bad(c, at, f->name,
				      "entry %llu is a kvm structure of %llu bytes; Firecracker "
				      "writes %llu (fredck refuses other sizes)",
				      (unsigned long long)i, (unsigned long long)len,
				      (unsigned long long)f->entry_size);
	}
	*entries = c->pos + (f->entries_are_kvm && c->kvm_prefixed ? 8 : 0);
	c->pos += *n * *stride;
	return 0;
}

static int walk_cpuid(struct fc_cur *c)
{
	const struct fam f = { "cpuid", KVM_CPUID2_HDR_SIZE, KVM_CPUID_ENTRY2_SIZE, FC_MAX_CPUID,
			       true, cpuid_count };
	uint64_t n, entries, stride;

	return walk_fam(c, &f, &n, &entries, &stride);
}

/* One Msrs; the MSRs fredck models are decoded into v (seen: those met in this vCPU). */
static int walk_msrs(struct fc_cur *c, const char *name, struct vcpu_state *v, uint64_t *seen)
{
	const struct fam f = { name, KVM_MSRS_HDR_SIZE, KVM_MSR_ENTRY_SIZE, FC_MAX_MSRS, true,
			       msrs_count };
	uint64_t n, entries, stride;
	struct kvm_fault fault;

	if (walk_fam(c, &f, &n, &entries, &stride))
		return -1;
	for (uint64_t i = 0; i < n; i++)
		if (kvm_msr_entry_decode(c->b + entries + i * stride, v, seen, &fault))
			return fc_bad(c, entries + i * stride + fault.offset, name, "%s",
				      fault.why);
	return 0;
}

static int walk_saved_msrs(struct fc_cur *c, const struct fc_layout *l, struct vcpu_state *v)
{
	uint64_t chunks, seen = 0;
	uint64_t min = kvm_size(c, KVM_MSRS_HDR_SIZE) + 8;

	/* versionize VcpuState 1 and 2 (to data version 5): msrs: Msrs. */
	if (l->versionize && l->data_version < 6)
		return walk_msrs(c, "msrs", v, &seen);
	if (fc_len(c, "saved_msrs", min, &chunks))
		return -1;
	for (uint64_t i = 0; i < chunks; i++) {
		char name[48];

		snprintf(name, sizeof(name), "saved_msrs[%llu]", (unsigned long long)i);
		if (walk_msrs(c, name, v, &seen))
			return -1;
	}
	return 0;
}

/* xsave: kvm_xsave, or (v1.12 on) Xsave = FamStructWrapper<kvm_xsave2> with u32 entries. */
static int walk_xsave(struct fc_cur *c, const struct fc_layout *l)
{
	const struct fam f = { "xsave", XSAVE2_HDR_SIZE, 4, UINT32_MAX, false, xsave2_count };
	uint64_t n, entries, stride, off;

	if (!since(l, 12))
		return fc_kvm(c, "xsave", KVM_XSAVE_SIZE, &off);
	return walk_fam(c, &f, &n, &entries, &stride);
}

static int walk_tsc_khz(struct fc_cur *c, const struct fc_layout *l)
{
	if (l->versionize && l->data_version < 3)
		return 0; /* VcpuState 1: no tsc_khz */
	return fc_opt_fixed(c, "tsc_khz", 4);
}

/* The kvm structures of one VcpuState into v, naming the field of a value the kernel refuses. */
static int decode_kvm(struct fc_cur *c, const char *name, uint64_t off, int rc,
		      const struct kvm_fault *f)
{
	char field[64];

	if (rc == 0)
		return 0;
	snprintf(field, sizeof(field), "%s.%s", name, f->field);
	return fc_bad(c, off + f->offset, field, "%s", f->why);
}

static int decode_vcpu(struct fc_cur *c, const struct fc_vcpu *loc, struct vcpu_state *v)
{
	struct kvm_fault f;

	if (decode_kvm(c, "vcpu_events", loc->events, kvm_events_decode(c->b + loc->events, v, &f),
		       &f) ||
	    decode_kvm(c, "debug_regs", loc->debugregs,
		       kvm_debugregs_decode(c->b + loc->debugregs, v, &f), &f) ||
	    decode_kvm(c, "xcrs", loc->xcrs, kvm_xcrs_decode(c->b + loc->xcrs, v, &f), &f) ||
	    decode_kvm(c, "sregs", loc->sregs, kvm_sregs_decode(c->b + loc->sregs, false, v, &f),
		       &f))
		return -1;
	kvm_regs_decode(c->b + loc->regs, v);
	v->saver = SAVER_KVM_IOCTL;
	return 0;
}

/*
 * One VcpuState, field by field: cpuid, msrs / saved_msrs, debug_regs,
 * lapic, mp_state, regs, sregs, vcpu_events, xcrs, xsave, tsc_khz.
 */
static int walk_vcpu(struct fc_cur *c, const struct fc_layout *l, struct fc_vcpu *loc,
		     struct vcpu_state *v)
{
	uint64_t off;

	if (walk_cpuid(c) || walk_saved_msrs(c, l, v) ||
	    fc_kvm(c, "debug_regs", KVM_DEBUGREGS_SIZE, &loc->debugregs) ||
	    fc_kvm(c, "lapic", KVM_LAPIC_SIZE, &off) ||
	    fc_kvm(c, "mp_state", KVM_MP_STATE_SIZE, &off) ||
	    fc_kvm(c, "regs", KVM_REGS_SIZE, &loc->regs) ||
	    fc_kvm(c, "sregs", KVM_SREGS_SIZE, &loc->sregs) ||
	    fc_kvm(c, "vcpu_events", KVM_EVENTS_SIZE, &loc->events) ||
	    fc_kvm(c, "xcrs", KVM_XCRS_SIZE, &loc->xcrs) || walk_xsave(c, l) ||
	    walk_tsc_khz(c, l))
		return -1;
	return decode_vcpu(c, loc, v);
}

/*
 * Vec<VcpuState>: the length is bounded by the bytes left over the
 * smallest VcpuState before anything is allocated; then every state the
 * length announces must parse exactly.
 */
static int walk_vcpus(struct fc_cur *c, const struct fc_layout *l, struct fc_walk *w)
{
	uint64_t n;

	w->vcpus_off = c->pos;
	if (fc_len(c, "vcpu_states", vcpu_min_size(c, l), &n))
		return -1;
	if (n == 0)
		return fc_bad(c, w->vcpus_off, "vcpu_states", "no vCPU state: a microVM has one at least");
	if (n > FC_MAX_VCPUS)
		return fc_bad(c, w->vcpus_off, "vcpu_states", "%llu vCPUs, more than KVM's %d",
			      (unsigned long long)n, FC_MAX_VCPUS);
	w->loc = calloc((size_t)n, sizeof(*w->loc));
	w->vcpus = calloc((size_t)n, sizeof(*w->vcpus));
	if (!w->loc || !w->vcpus)
		return fmt_syserr(c->e, c->file, ENOMEM, "cannot read");
	for (uint64_t i = 0; i < n; i++) {
		size_t mark = fc_enter_index(c, "vcpu_states", i);

		vcpu_init(&w->vcpus[i], (unsigned int)i);
		if (walk_vcpu(c, l, &w->loc[i], &w->vcpus[i])) {
			if (i > 0 && n > 1)
				snprintf(c->e->msg + strlen(c->e->msg),
					 sizeof(c->e->msg) - strlen(c->e->msg),
					 " (vcpu_states announces %llu states; %llu parsed)",
					 (unsigned long long)n, (unsigned long long)i);
			return -1;
		}
		fc_leave(c, mark);
		w->nvcpus = (size_t)i + 1;
	}
	w->after_vcpus = c->pos;
	return 0;
}

/* ---- the device states (bincode) --------------------------------------------------------- */

/* QueueState: max_size, size, ready, desc_table, avail_ring, used_ring, next_avail, next_used, num_added. */
static int walk_queue(struct fc_cur *c, const struct fc_layout *l)
{
	(void)l;
	if (fc_skip(c, 4, "max_size, size") || skip_bool(c, "ready") ||
	    fc_skip(c, 24, "rings") || fc_skip(c, 6, "next_avail, next_used, num_added"))
		return -1;
	return 0;
}

/* VirtioDeviceState: device_type, features, queues, [interrupt_status to v1.12], activated. */
static int walk_virtio_state(struct fc_cur *c, const struct fc_layout *l)
{
	if (fc_skip(c, 4, "device_type") || fc_skip(c, 16, "avail_features, acked_features") ||
	    walk_vec(c, l, "queues", 33, walk_queue))
		return -1;
	if (!since(l, 13) && fc_skip(c, 4, "interrupt_status"))
		return -1;
	return skip_bool(c, "activated");
}

/* RateLimiterState: ops, bandwidth: Option<TokenBucketState> (five u64). */
static int walk_rate_limiter(struct fc_cur *c, const struct fc_layout *l)
{
	(void)l;
	return fc_opt_fixed(c, "ops", 40) || fc_opt_fixed(c, "bandwidth", 40) ? -1 : 0;
}

/* BlockState: Virtio(VirtioBlockState) or VhostUser(VhostUserBlockState). */
static int walk_block_state(struct fc_cur *c, const struct fc_layout *l)
{
	uint32_t kind;
	uint64_t n;

	if (fc_variant(c, NULL, N_BLOCK_STATE, &kind) || fc_string(c, "id", FC_STRING_MAX) ||
	    fc_opt_string(c, "partuuid", FC_STRING_MAX) ||
	    skip_variant(c, "cache_type", N_CACHE_TYPE) || skip_bool(c, "root_device"))
		return -1;
	if (kind == 1) {
		if (fc_string(c, "socket_path", FC_STRING_MAX) ||
		    fc_skip(c, 8, "vu_acked_protocol_features") ||
		    fc_vec_fixed(c, "config_space", 1, &n))
			return -1;
		FIELD(c, "virtio_state", walk_virtio_state(c, l));
		return 0;
	}
	if (fc_string(c, "disk_path", FC_STRING_MAX))
		return -1;
	FIELD(c, "virtio_state", walk_virtio_state(c, l));
	FIELD(c, "rate_limiter_state", walk_rate_limiter(c, l));
	return skip_variant(c, "file_engine_type", N_FILE_ENGINE);
}

/* MmdsNetworkStackState: mac_addr [u8; 6], ipv4_addr, tcp_port, [two usize to v1.10]. */
static int walk_mmds_stack(struct fc_cur *c, const struct fc_layout *l)
{
	uint64_t max_connections, max_pending;

	if (fc_skip(c, 6, "mac_addr") || fc_skip(c, 4, "ipv4_addr") || fc_skip(c, 2, "tcp_port"))
		return -1;
	if (since(l, 11))
		return 0;
	if (fc_uint(c, 8, "max_connections", &max_connections) ||
	    fc_uint(c, 8, "max_pending_resets", &max_pending))
		return -1;
	/* NonZeroUsize from v1.10: serde refuses 0. */
	if (l->minor == 10 && (max_connections == 0 || max_pending == 0))
		return fc_bad(c, c->pos - 16, max_connections ? "max_pending_resets" : "max_connections",
			      "0 in a NonZeroUsize");
	return 0;
}

static int walk_net_state(struct fc_cur *c, const struct fc_layout *l)
{
	if (fc_string(c, "id", FC_STRING_MAX) || fc_string(c, "tap_if_name", FC_STRING_MAX))
		return -1;
	FIELD(c, "rx_rate_limiter_state", walk_rate_limiter(c, l));
	FIELD(c, "tx_rate_limiter_state", walk_rate_limiter(c, l));
	if (walk_option(c, l, "mmds_ns", walk_mmds_stack) ||
	    fc_opt_string(c, "config_space.guest_mac", 64))
		return -1;
	FIELD(c, "virtio_state", walk_virtio_state(c, l));
	/* rx_buffers_state: v1.10.0 to v1.12 (v1.9.x wrote 3.0.0 without it). */
	if (since(l, 10) && !since(l, 13))
		return fc_skip(c, 8, "rx_buffers_state");
	return 0;
}

static int walk_vsock_state(struct fc_cur *c, const struct fc_layout *l)
{
	if (skip_variant(c, "backend", N_VSOCK_BACKEND) ||
	    fc_string(c, "backend.path", FC_STRING_MAX) || fc_skip(c, 8, "frontend.cid"))
		return -1;
	FIELD(c, "frontend.virtio_state", walk_virtio_state(c, l));
	return 0;
}

static int walk_balloon_state(struct fc_cur *c, const struct fc_layout *l)
{
	int nstats = since(l, 14) ? 16 : 10;

	if (fc_skip(c, 2, "stats_polling_interval_s") || fc_opt_fixed(c, "stats_desc_index", 2))
		return -1;
	for (int i = 0; i < nstats; i++)
		if (fc_opt_fixed(c, "latest_stats", 8))
			return -1;
	if (fc_skip(c, 8, "config_space"))
		return -1;
	if (since(l, 14) && (fc_skip(c, 8, "hinting_state") ||
			     fc_opt_fixed(c, "hinting_state.guest_cmd", 4) ||
			     skip_bool(c, "hinting_state.acknowledge_on_finish")))
		return -1;
	FIELD(c, "virtio_state", walk_virtio_state(c, l));
	return 0;
}

static int walk_entropy_state(struct fc_cur *c, const struct fc_layout *l)
{
	FIELD(c, "virtio_state", walk_virtio_state(c, l));
	FIELD(c, "rate_limiter_state", walk_rate_limiter(c, l));
	return 0;
}

static int walk_pmem_state(struct fc_cur *c, const struct fc_layout *l)
{
	FIELD(c, "virtio_state", walk_virtio_state(c, l));
	if (fc_skip(c, 16, "config_space") || fc_string(c, "config.id", FC_STRING_MAX) ||
	    fc_string(c, "config.path_on_host", FC_STRING_MAX) ||
	    skip_bool(c, "config.root_device") || skip_bool(c, "config.read_only"))
		return -1;
	return 0;
}

static int walk_mem_state(struct fc_cur *c, const struct fc_layout *l)
{
	uint64_t n;

	FIELD(c, "virtio_state", walk_virtio_state(c, l));
	if (fc_skip(c, 48, "addr .. slot_size") || fc_len(c, "plugged_blocks", 1, &n))
		return -1;
	for (uint64_t i = 0; i < n; i++)
		if (skip_bool(c, "plugged_blocks"))
			return -1;
	return 0;
}

/* MmioTransportState and MMIODeviceInfo. */
static int walk_mmio_transport(struct fc_cur *c, const struct fc_layout *l)
{
	uint64_t n, irq;
	bool some = false;

	if (fc_skip(c, since(l, 13) ? 24 : 20, "transport_state") ||
	    fc_skip(c, 16, "device_info.addr, len"))
		return -1;
	if (!since(l, 11))
		return fc_vec_fixed(c, "device_info.irqs", 4, &n);
	if (fc_option(c, "device_info.irq", &some))
		return -1;
	if (!some)
		return 0;
	if (fc_uint(c, 4, "device_info.irq", &irq))
		return -1;
	if (!since(l, 13) && irq == 0) /* Option<NonZeroU32> in v1.11 and v1.12 */
		return fc_bad(c, c->pos - 4, "device_info.irq", "0 in a NonZeroU32");
	return 0;
}

/* VirtioPciDeviceState (v1.13 on). */
static int walk_pci_bar(struct fc_cur *c, const struct fc_layout *l)
{
	bool some = false;

	if (fc_skip(c, 8, "addr, size") || skip_bool(c, "used"))
		return -1;
	if (since(l, 14))
		return 0;
	if (fc_option(c, "type", &some))
		return -1;
	return some ? skip_variant(c, "type", N_PCI_BAR_REGION) : 0;
}

static int walk_pci_config(struct fc_cur *c, const struct fc_layout *l)
{
	uint64_t n;
	bool some = false;

	if (fc_vec_fixed(c, "registers", 4, &n) || fc_vec_fixed(c, "writable_bits", 4, &n) ||
	    walk_vec(c, l, "bars", 9, walk_pci_bar))
		return -1;
	if (!since(l, 14) && (fc_skip(c, 8, "rom_bar_addr, rom_bar_size") ||
			      skip_bool(c, "rom_bar_used")))
		return -1;
	if (fc_option(c, "last_capability", &some) ||
	    (some && fc_skip(c, 16, "last_capability")) ||
	    fc_opt_fixed(c, "msix_cap_reg_idx", 8))
		return -1;
	return 0;
}

static int walk_pci_transport(struct fc_cur *c, const struct fc_layout *l)
{
	uint64_t n;

	if (fc_string(c, "pci_device_bdf", 64) || skip_bool(c, "device_activated") ||
	    fc_skip(c, 8, "cap_pci_cfg_offset") || fc_vec_fixed(c, "cap_pci_cfg", 1, &n))
		return -1;
	FIELD(c, "pci_configuration_state", walk_pci_config(c, l));
	if (fc_skip(c, 14, "pci_dev_state") || fc_vec_fixed(c, "pci_dev_state.msix_queues", 2, &n) ||
	    fc_vec_fixed(c, "msix_state.table_entries", 16, &n) ||
	    fc_vec_fixed(c, "msix_state.pba_entries", 8, &n) ||
	    skip_bool(c, "msix_state.masked") || skip_bool(c, "msix_state.enabled"))
		return -1;
	if (since(l, 14))
		return fc_vec_fixed(c, "msix_state.vectors", 4, &n) || fc_skip(c, 8, "bar_address")
			       ? -1 : 0;
	if (fc_vec_fixed(c, "msi_vector_group", 4, &n) ||
	    fc_skip(c, 24, "bar_configuration.addr, size, idx") ||
	    skip_variant(c, "bar_configuration.region_type", N_PCI_BAR_REGION) ||
	    skip_variant(c, "bar_configuration.prefetchable", N_PCI_BAR_PREFETCH))
		return -1;
	return 0;
}

/*
 * One connected device: device_id, [pci_device_bdf u32 (PCI)], the
 * device's state, then its transport (MmioTransportState and
 * MMIODeviceInfo, or VirtioPciDeviceState): l->pci_list says which list
 * is walked.
 */

static int walk_connected(struct fc_cur *c, const struct fc_layout *l, walk_fn *state)
{
	if (fc_string(c, "device_id", FC_STRING_MAX))
		return -1;
	if (l->pci_list && fc_skip(c, 4, "pci_device_bdf"))
		return -1;
	FIELD(c, "device_state", state(c, l));
	if (l->pci_list) {
		FIELD(c, "transport_state", walk_pci_transport(c, l));
		return 0;
	}
	return walk_mmio_transport(c, l);
}

static int conn_block(struct fc_cur *c, const struct fc_layout *l) { return walk_connected(c, l, walk_block_state); }
static int conn_net(struct fc_cur *c, const struct fc_layout *l) { return walk_connected(c, l, walk_net_state); }
static int conn_vsock(struct fc_cur *c, const struct fc_layout *l) { return walk_connected(c, l, walk_vsock_state); }
static int conn_balloon(struct fc_cur *c, const struct fc_layout *l) { return walk_connected(c, l, walk_balloon_state); }
static int conn_entropy(struct fc_cur *c, const struct fc_layout *l) { return walk_connected(c, l, walk_entropy_state); }
static int conn_pmem(struct fc_cur *c, const struct fc_layout *l) { return walk_connected(c, l, walk_pmem_state); }
static int conn_mem(struct fc_cur *c, const struct fc_layout *l) { return walk_connected(c, l, walk_mem_state); }

/* mmds_version: MmdsVersionState (to v1.12), or mmds: MmdsState { version, imds_compat }. */
static int walk_mmds(struct fc_cur *c, const struct fc_layout *l)
{
	if (skip_variant(c, "version", N_MMDS_VERSION))
		return -1;
	return since(l, 13) ? skip_bool(c, "imds_compat") : 0;
}

/* DeviceStates (x86_64: no legacy_devices) or, v1.13 on, PciDevicesState after pci_enabled. */
static int walk_device_list(struct fc_cur *c, const struct fc_layout *l, struct fc_walk *w)
{
	uint64_t at = c->pos;

	if (walk_vec(c, l, "block_devices", 8, conn_block))
		return -1;
	at = c->pos;
	if (walk_vec(c, l, "net_devices", 8, conn_net))
		return -1;
	w->has_net |= le_get(c->b + at, 8) != 0;
	if (walk_option(c, l, "vsock_device", conn_vsock) ||
	    walk_option(c, l, "balloon_device", conn_balloon) ||
	    walk_option(c, l, since(l, 13) ? "mmds" : "mmds_version", walk_mmds) ||
	    walk_option(c, l, "entropy_device", conn_entropy))
		return -1;
	if (!since(l, 14))
		return 0;
	if (walk_vec(c, l, "pmem_devices", 8, conn_pmem) ||
	    walk_option(c, l, "memory_device", conn_mem))
		return -1;
	return 0;
}

/* ACPIDeviceManagerState (v1.8 on): vmgenid, [vmclock (v1.14)]. */
static int walk_acpi(struct fc_cur *c, const struct fc_layout *l)
{
	if (!since(l, 14))
		return fc_opt_fixed(c, "vmgenid", 12);
	return fc_skip(c, 12, "vmgenid") || fc_skip(c, 8 + VMCLOCK_ABI_SIZE, "vmclock") ? -1 : 0;
}

static int walk_devices(struct fc_cur *c, const struct fc_layout *l, struct fc_walk *w)
{
	struct fc_layout pci_list = *l;
	bool pci;

	pci_list.pci_list = true;
	if (!since(l, 13)) {
		FIELD(c, "device_states", walk_device_list(c, l, w));
		if (since(l, 8))
			FIELD(c, "acpi_dev_state", walk_acpi(c, l));
		return 0;
	}
	FIELD(c, "device_states.mmio_state", walk_device_list(c, l, w));
	FIELD(c, "device_states.acpi_state", walk_acpi(c, l));
	if (fc_bool(c, "device_states.pci_state.pci_enabled", &pci))
		return -1;
	FIELD(c, "device_states.pci_state", walk_device_list(c, &pci_list, w));
	return 0;
}

/* ---- the whole state ------------------------------------------------------------------- */

void fc_walk_free(struct fc_walk *w)
{
	free(w->loc);
	free(w->vcpus);
	w->loc = NULL;
	w->vcpus = NULL;
	w->nvcpus = 0;
}

int fc_walk_state(struct fc_cur *c, const struct fc_layout *l, struct fc_walk *w)
{
	memset(w, 0, sizeof(*w));
	c->kvm_prefixed = since(l, 8);
	fc_leave(c, 0);
	if (walk_before_vcpus(c, l) || walk_vcpus(c, l, w))
		goto fail;
	/* Versionize device states are not walked (fredck-formats(5)). */
	if (l->versionize)
		return 0;
	if (walk_devices(c, l, w))
		goto fail;
	if (c->pos != c->end) {
		fc_bad(c, c->pos, "end of state", "the state ends %llu byte%s before the checksum",
		       (unsigned long long)(c->end - c->pos), c->end - c->pos == 1 ? "" : "s");
		goto fail;
	}
	w->to_trailer = true;
	return 0;
fail:
	fc_walk_free(w);
	return -1;
}
