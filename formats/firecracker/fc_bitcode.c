/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fc_bitcode.c --- the schema of Firecracker's bitcode snapshots (v1.15,
 * snapshot version 9.0.0; v1.16, 10.0.0), walked with bitcode.c.
 *
 * The file is bitcode::serialize(&Snapshot { header: SnapshotHdr { magic:
 * u64, version: semver::Version }, data: MicrovmState }) and the CRC-64
 * trailer (src/vmm/src/snapshot/mod.rs @v1.15.0, @v1.16.0).  The types
 * below are Firecracker's as serde sees them, read at the tags v1.15.0,
 * v1.15.1, v1.16.0 and v1.16.1 (the patch tags change no serialised
 * type); man/fredck-formats.5 and tests/fc/README.md name each type's
 * file.  A field present in one layout only carries the first (since) or
 * last (until) Firecracker minor that has it.  How serde calls the
 * serializer decides the columns: a struct or tuple of one field is that
 * field's own position (serde's tuple fast path in bitcode), a newtype
 * struct (PciSBDF, Wrapping<u16>) and a Box are their content, an array
 * [T; N] is a tuple of N, kvm-bindings 0.14's structures are byte strings
 * (serialize_bytes: a sequence of u8), vmm-sys-util 0.15's
 * FamStructWrapper the tuple (header, entries), and KvmCapability, MacAddr,
 * semver::Version and v1.15's PciBdf strings.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/firecracker/bitcode.h"
#include "formats/firecracker/fc_bitcode.h"
#include "formats/io/le.h"
#include "formats/kvm/kvm.h"

#define FC_MAGIC_X86 0x0710198486640000ULL
#define FC_MAGIC_ARM 0x07101984AAAA0000ULL

#define MAX_VCPUS 4096         /* KVM_MAX_VCPUS on x86 */
#define MAX_CPUID 256          /* KVM_MAX_CPUID_ENTRIES */
#define MAX_MSRS 4096          /* entries per Msrs chunk (Firecracker uses <= 256) */
/* Nesting of positions: an interval tree 45 deep, an AVL tree holding more ranges than
 * Firecracker's 10 MB file limit has bytes. */
#define MAX_DEPTH 96
#define XSAVE2_HDR_SIZE (8 + KVM_XSAVE_SIZE) /* kvm_xsave2: usize len, then kvm_xsave */

/* ---- the type descriptors -------------------------------------------------------------- */

enum tkind { T_U8, T_U16, T_U32, T_U64, T_BOOL, T_STR, T_SEQ, T_OPT, T_ENUM, T_STRUCT, T_KVM,
	     T_FAM };

/* What the walk keeps of a position. */
enum capture { C_NONE, C_VCPUS, C_CPUID, C_MSRS, C_XSAVE, C_MSR_ENTRY, C_REGS, C_SREGS,
	       C_DEBUGREGS, C_XCRS, C_EVENTS };

struct field;

struct type {
	enum tkind kind;
	uint64_t size;              /* T_KVM: bytes; T_FAM: the largest entry count */
	const struct type *elem;    /* T_SEQ, T_OPT: the element; T_FAM: the entry */
	const struct field *fields; /* T_STRUCT: fields; T_ENUM: variants (type NULL: unit) */
	size_t nfields;
	enum capture cap;
};

struct field {
	const char *name;
	const struct type *type;
	unsigned int since, until; /* Firecracker minors that have it; 0: every one */
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define STRUCT(var, ...)                                                                  \
	static const struct field var##_f[] = { __VA_ARGS__ };                            \
	static const struct type var = { T_STRUCT, 0, NULL, var##_f, N(var##_f), C_NONE }
#define ENUM(var, ...)                                                                    \
	static const struct field var##_f[] = { __VA_ARGS__ };                            \
	static const struct type var = { T_ENUM, 0, NULL, var##_f, N(var##_f), C_NONE }
#define SEQ(var, of) static const struct type var = { T_SEQ, 0, &(of), NULL, 0, C_NONE }
#define OPT(var, of) static const struct type var = { T_OPT, 0, &(of), NULL, 0, C_NONE }
#define KVM(var, bytes, cap) static const struct type var = { T_KVM, bytes, NULL, NULL, 0, cap }
#define UNIT(name) { name, NULL, 0, 0 }
#define F(name, type) { name, type, 0, 0 }

#define LEAF(var, kind) static const struct type var = { kind, 0, NULL, NULL, 0, C_NONE }
LEAF(t_u8, T_U8);
LEAF(t_u16, T_U16);
LEAF(t_u32, T_U32);
LEAF(t_u64, T_U64);
LEAF(t_bool, T_BOOL);
LEAF(t_str, T_STR);
OPT(t_opt_u16, t_u16);
OPT(t_opt_u32, t_u32);
OPT(t_opt_u64, t_u64);
OPT(t_opt_str, t_str);
SEQ(t_vec_u8, t_u8);
SEQ(t_vec_u16, t_u16);
SEQ(t_vec_u32, t_u32);
SEQ(t_vec_u64, t_u64);
SEQ(t_vec_bool, t_bool);
SEQ(t_vec_str, t_str);

/* persist.rs VmInfo; vmm_config/boot_source.rs, machine_config.rs; cpu_config/x86_64/static_cpu_templates. */
ENUM(t_cpu_template, UNIT("C3"), UNIT("T2"), UNIT("T2S"), UNIT("None"), UNIT("T2CL"), UNIT("T2A"));
ENUM(t_huge_pages, UNIT("None"), UNIT("Hugetlbfs2M"));
STRUCT(t_boot_source, F("kernel_image_path", &t_str), F("initrd_path", &t_opt_str),
       F("boot_args", &t_opt_str));
STRUCT(t_vm_info, F("mem_size_mib", &t_u64), F("smt", &t_bool),
       F("cpu_template", &t_cpu_template), F("boot_source", &t_boot_source),
       F("huge_pages", &t_huge_pages));

/* vstate/kvm.rs KvmState { kvm_cap_modifiers: Vec<KvmCapability> }: one field, its own position. */
STRUCT(t_kvm_state, F("kvm_cap_modifiers", &t_vec_str));

/* vstate/memory.rs. */
ENUM(t_region_type, UNIT("Dram"), UNIT("Hotpluggable"));
STRUCT(t_region, F("base_address", &t_u64), F("size", &t_u64),
       F("region_type", &t_region_type), F("plugged", &t_vec_bool));
SEQ(t_regions, t_region);
STRUCT(t_memory, F("regions", &t_regions));

/* vstate/resources.rs ResourceAllocator; vm-allocator 0.1.3. */
STRUCT(t_id_allocator, F("range_base", &t_u32), F("next_id", &t_opt_u32),
       F("range_end", &t_u32), F("freed_ids", &t_vec_u32));
STRUCT(t_range, F("start", &t_u64), F("end", &t_u64));
ENUM(t_node_state, UNIT("Free"), UNIT("Allocated"));
static const struct type t_inner_node;
OPT(t_opt_node, t_inner_node);
static const struct field t_inner_node_f[] = {
	F("key", &t_range), F("node_state", &t_node_state), F("left", &t_opt_node),
	F("right", &t_opt_node), F("height", &t_u64),
};
static const struct type t_inner_node = { T_STRUCT, 0, NULL, t_inner_node_f, N(t_inner_node_f),
					  C_NONE };
STRUCT(t_interval_tree, F("root", &t_opt_node));
STRUCT(t_address_allocator, F("address_space", &t_range), F("interval_tree", &t_interval_tree));
STRUCT(t_resource_allocator, F("gsi_legacy_allocator", &t_id_allocator),
       F("gsi_msi_allocator", &t_id_allocator), F("mmio32_memory", &t_address_allocator),
       F("mmio64_memory", &t_address_allocator), F("past_mmio64_memory", &t_address_allocator),
       F("system_memory", &t_address_allocator));

/* arch/x86_64/vm.rs VmState. */
KVM(t_pit_state2, KVM_PIT_STATE2_SIZE, C_NONE);
KVM(t_clock_data, KVM_CLOCK_DATA_SIZE, C_NONE);
KVM(t_irqchip, KVM_IRQCHIP_SIZE, C_NONE);
STRUCT(t_vm_state, F("memory", &t_memory), F("resource_allocator", &t_resource_allocator),
       F("pitstate", &t_pit_state2), F("clock", &t_clock_data),
       F("pic_master", &t_irqchip), F("pic_slave", &t_irqchip), F("ioapic", &t_irqchip));

/* arch/x86_64/vcpu.rs VcpuState; kvm-bindings 0.14 structures, vmm-sys-util 0.15 FamStructWrapper. */
KVM(t_cpuid2_hdr, KVM_CPUID2_HDR_SIZE, C_NONE);
KVM(t_cpuid_entry2, KVM_CPUID_ENTRY2_SIZE, C_NONE);
KVM(t_msrs_hdr, KVM_MSRS_HDR_SIZE, C_NONE);
KVM(t_msr_entry, KVM_MSR_ENTRY_SIZE, C_MSR_ENTRY);
KVM(t_xsave2_hdr, XSAVE2_HDR_SIZE, C_NONE);
static const struct field t_cpuid_f[] = { F("header", &t_cpuid2_hdr), F("entries", NULL) };
static const struct type t_cpuid = { T_FAM, MAX_CPUID, &t_cpuid_entry2, t_cpuid_f, 2, C_CPUID };
static const struct field t_msrs_f[] = { F("header", &t_msrs_hdr), F("entries", NULL) };
static const struct type t_msrs = { T_FAM, MAX_MSRS, &t_msr_entry, t_msrs_f, 2, C_MSRS };
static const struct field t_xsave_f[] = { F("header", &t_xsave2_hdr), F("entries", NULL) };
static const struct type t_xsave = { T_FAM, UINT32_MAX, &t_u32, t_xsave_f, 2, C_XSAVE };
SEQ(t_saved_msrs, t_msrs);
KVM(t_debugregs, KVM_DEBUGREGS_SIZE, C_DEBUGREGS);
KVM(t_lapic, KVM_LAPIC_SIZE, C_NONE);
KVM(t_mp_state, KVM_MP_STATE_SIZE, C_NONE);
KVM(t_regs, KVM_REGS_SIZE, C_REGS);
KVM(t_sregs, KVM_SREGS_SIZE, C_SREGS);
KVM(t_events, KVM_EVENTS_SIZE, C_EVENTS);
KVM(t_xcrs, KVM_XCRS_SIZE, C_XCRS);
STRUCT(t_vcpu, F("cpuid", &t_cpuid), F("saved_msrs", &t_saved_msrs),
       F("debug_regs", &t_debugregs), F("lapic", &t_lapic), F("mp_state", &t_mp_state),
       F("regs", &t_regs), F("sregs", &t_sregs), F("vcpu_events", &t_events),
       F("xcrs", &t_xcrs), F("xsave", &t_xsave), F("tsc_khz", &t_opt_u32));
static const struct type t_vcpus = { T_SEQ, 0, &t_vcpu, NULL, 0, C_VCPUS };

/* devices/virtio/persist.rs; device.rs VirtioDeviceType (v1.15 on: an enum, was a u32). */
ENUM(t_virtio_type, UNIT("Net"), UNIT("Block"), UNIT("Rng"), UNIT("Balloon"), UNIT("Vsock"),
     UNIT("Mem"), UNIT("Pmem"));
STRUCT(t_queue, F("max_size", &t_u16), F("size", &t_u16), F("ready", &t_bool),
       F("desc_table", &t_u64), F("avail_ring", &t_u64), F("used_ring", &t_u64),
       F("next_avail", &t_u16), F("next_used", &t_u16), F("num_added", &t_u16));
SEQ(t_queues, t_queue);
STRUCT(t_virtio, F("device_type", &t_virtio_type), F("avail_features", &t_u64),
       F("acked_features", &t_u64), F("queues", &t_queues), F("activated", &t_bool));
STRUCT(t_mmio_transport, F("features_select", &t_u32), F("acked_features_select", &t_u32),
       F("queue_select", &t_u32), F("device_status", &t_u32),
       F("config_generation", &t_u32), F("interrupt_status", &t_u32));
STRUCT(t_mmio_info, F("addr", &t_u64), F("len", &t_u64), F("gsi", &t_opt_u32));

/* rate_limiter/persist.rs; vmm_config/mod.rs (RateLimiterConfig, v1.16's PmemConfig). */
STRUCT(t_bucket, F("size", &t_u64), F("one_time_burst", &t_u64), F("refill_time", &t_u64),
       F("budget", &t_u64), F("elapsed_ns", &t_u64));
OPT(t_opt_bucket, t_bucket);
STRUCT(t_limiter, F("ops", &t_opt_bucket), F("bandwidth", &t_opt_bucket));
STRUCT(t_bucket_config, F("size", &t_u64), F("one_time_burst", &t_opt_u64),
       F("refill_time", &t_u64));
OPT(t_opt_bucket_config, t_bucket_config);
STRUCT(t_limiter_config, F("bandwidth", &t_opt_bucket_config), F("ops", &t_opt_bucket_config));
OPT(t_opt_limiter_config, t_limiter_config);

/* devices/virtio/block: persist.rs, virtio/persist.rs, vhost_user/persist.rs. */
ENUM(t_cache_type, UNIT("Unsafe"), UNIT("Writeback"));
ENUM(t_file_engine, UNIT("Sync"), UNIT("Async"));
STRUCT(t_virtio_block, F("id", &t_str), F("partuuid", &t_opt_str),
       F("cache_type", &t_cache_type), F("root_device", &t_bool), F("disk_path", &t_str),
       F("virtio_state", &t_virtio), F("rate_limiter_state", &t_limiter),
       F("file_engine_type", &t_file_engine));
STRUCT(t_vhost_block, F("id", &t_str), F("partuuid", &t_opt_str),
       F("cache_type", &t_cache_type), F("root_device", &t_bool), F("socket_path", &t_str),
       F("vu_acked_protocol_features", &t_u64), F("config_space", &t_vec_u8),
       F("virtio_state", &t_virtio));
ENUM(t_block, F("Virtio", &t_virtio_block), F("VhostUser", &t_vhost_block));

/* devices/virtio/net/persist.rs; mmds/persist.rs. */
STRUCT(t_mac6, F("0", &t_u8), F("1", &t_u8), F("2", &t_u8), F("3", &t_u8), F("4", &t_u8),
       F("5", &t_u8));
STRUCT(t_mmds_ns, F("mac_addr", &t_mac6), F("ipv4_addr", &t_u32), F("tcp_port", &t_u16));
OPT(t_opt_mmds_ns, t_mmds_ns);
STRUCT(t_net_config, F("guest_mac", &t_opt_str), { "mtu", &t_opt_u16, 16, 0 });
STRUCT(t_net, F("id", &t_str), F("tap_if_name", &t_str), F("rx_rate_limiter_state", &t_limiter),
       F("tx_rate_limiter_state", &t_limiter), F("mmds_ns", &t_opt_mmds_ns),
       F("config_space", &t_net_config), F("virtio_state", &t_virtio));

/* devices/virtio/vsock/persist.rs (v1.15: the backend a struct, no longer an enum). */
STRUCT(t_vsock_backend, F("uds_path", &t_str), F("local_port_last", &t_u32));
STRUCT(t_vsock_frontend, F("cid", &t_u64), F("virtio_state", &t_virtio));
STRUCT(t_vsock, F("backend", &t_vsock_backend), F("frontend", &t_vsock_frontend));

/* devices/virtio/balloon/persist.rs, device.rs (HintingState). */
STRUCT(t_balloon_stats, F("swap_in", &t_opt_u64), F("swap_out", &t_opt_u64),
       F("major_faults", &t_opt_u64), F("minor_faults", &t_opt_u64),
       F("free_memory", &t_opt_u64), F("total_memory", &t_opt_u64),
       F("available_memory", &t_opt_u64), F("disk_caches", &t_opt_u64),
       F("hugetlb_allocations", &t_opt_u64), F("hugetlb_failures", &t_opt_u64),
       F("oom_kill", &t_opt_u64), F("alloc_stall", &t_opt_u64), F("async_scan", &t_opt_u64),
       F("direct_scan", &t_opt_u64), F("async_reclaim", &t_opt_u64),
       F("direct_reclaim", &t_opt_u64));
STRUCT(t_balloon_config, F("num_pages", &t_u32), F("actual_pages", &t_u32));
STRUCT(t_hinting, F("host_cmd", &t_u32), F("last_cmd_id", &t_u32), F("guest_cmd", &t_opt_u32),
       F("acknowledge_on_finish", &t_bool));
STRUCT(t_balloon, F("stats_polling_interval_s", &t_u16), F("stats_desc_index", &t_opt_u16),
       F("latest_stats", &t_balloon_stats), F("config_space", &t_balloon_config),
       F("hinting_state", &t_hinting), F("virtio_state", &t_virtio));

/* devices/virtio/rng/persist.rs; pmem/persist.rs, device.rs; vmm_config/pmem.rs; mem/persist.rs. */
STRUCT(t_entropy, F("virtio_state", &t_virtio), F("rate_limiter_state", &t_limiter));
STRUCT(t_pmem_space, F("start", &t_u64), F("size", &t_u64));
STRUCT(t_pmem_config, F("id", &t_str), F("path_on_host", &t_str), F("root_device", &t_bool),
       F("read_only", &t_bool), { "rate_limiter", &t_opt_limiter_config, 16, 0 });
STRUCT(t_pmem, F("virtio_state", &t_virtio), F("config_space", &t_pmem_space),
       F("config", &t_pmem_config), { "rate_limiter_state", &t_limiter, 16, 0 });
STRUCT(t_virtio_mem, F("virtio_state", &t_virtio), F("addr", &t_u64), F("region_size", &t_u64),
       F("block_size", &t_u64), F("usable_region_size", &t_u64), F("requested_size", &t_u64),
       F("slot_size", &t_u64), F("plugged_blocks", &t_vec_bool));

/* device_manager/persist.rs MmdsState; mmds/data_store.rs MmdsVersion. */
ENUM(t_mmds_version, UNIT("V1"), UNIT("V2"));
STRUCT(t_mmds, F("version", &t_mmds_version), F("imds_compat", &t_bool));
OPT(t_opt_mmds, t_mmds);

/* device_manager/persist.rs VirtioDeviceState<T> on MMIO. */
#define MMIO(var, state)                                                                   \
	STRUCT(var, F("device_id", &t_str), F("device_state", &(state)),                \
	       F("transport_state", &t_mmio_transport), F("device_info", &t_mmio_info))
MMIO(t_mmio_block, t_block);
MMIO(t_mmio_net, t_net);
MMIO(t_mmio_vsock, t_vsock);
MMIO(t_mmio_balloon, t_balloon);
MMIO(t_mmio_entropy, t_entropy);
MMIO(t_mmio_pmem, t_pmem);
MMIO(t_mmio_mem, t_virtio_mem);

/* The PCI transport: v1.15's src/pci/src (configuration.rs, msix.rs), v1.16's src/vmm/src/pci;
 * devices/virtio/transport/pci/{device.rs,common_config.rs}. */
STRUCT(t_pci_bar, F("addr", &t_u32), F("size", &t_u32), F("used", &t_bool));
SEQ(t_pci_bars_vec, t_pci_bar);
STRUCT(t_usize_pair, F("0", &t_u64), F("1", &t_u64));
OPT(t_opt_usize_pair, t_usize_pair);
STRUCT(t_u8_pair, F("0", &t_u8), F("1", &t_u8));
OPT(t_opt_u8_pair, t_u8_pair);
STRUCT(t_pci_config, F("registers", &t_vec_u32), F("writable_bits", &t_vec_u32),
       { "bars", &t_pci_bars_vec, 0, 15 }, { "last_capability", &t_opt_usize_pair, 0, 15 },
       { "msix_cap_reg_idx", &t_opt_u64, 0, 15 }, { "last_capability", &t_opt_u8_pair, 16, 0 });
STRUCT(t_pci_common, F("driver_status", &t_u8), F("config_generation", &t_u8),
       F("device_feature_select", &t_u32), F("driver_feature_select", &t_u32),
       F("queue_select", &t_u16), F("msix_config", &t_u16), F("msix_queues", &t_vec_u16));
STRUCT(t_msix_entry, F("msg_addr_lo", &t_u32), F("msg_addr_hi", &t_u32), F("msg_data", &t_u32),
       F("vector_ctl", &t_u32));
SEQ(t_msix_entries, t_msix_entry);
STRUCT(t_msix, F("table_entries", &t_msix_entries), F("pba_entries", &t_vec_u64),
       F("masked", &t_bool), F("enabled", &t_bool), F("vectors", &t_vec_u32));
STRUCT(t_bar, F("encoded_addr", &t_u32), F("encoded_size", &t_u32),
       F("about_to_be_read", &t_bool));
STRUCT(t_bars6, F("0", &t_bar), F("1", &t_bar), F("2", &t_bar), F("3", &t_bar),
       F("4", &t_bar), F("5", &t_bar));
STRUCT(t_bars, F("bars", &t_bars6));
STRUCT(t_virtio_pci, { "pci_device_bdf", &t_str, 0, 15 }, { "sbdf", &t_u32, 16, 0 },
       F("device_activated", &t_bool), { "cap_pci_cfg_offset", &t_u64, 0, 15 },
       { "cap_pci_cfg_offset", &t_u16, 16, 0 }, F("cap_pci_cfg", &t_vec_u8),
       F("pci_configuration_state", &t_pci_config), F("pci_dev_state", &t_pci_common),
       F("msix_state", &t_msix), { "bar_address", &t_u64, 0, 15 }, { "bars", &t_bars, 16, 0 },
       { "msix_config_cap_offset", &t_u16, 16, 0 });

/* device_manager/pci_mngr.rs VirtioDeviceState<T> (v1.16's sbdf: PciSBDF, a u32 newtype). */
#define PCI(var, state)                                                                    \
	STRUCT(var, F("device_id", &t_str), { "pci_device_bdf", &t_u32, 0, 15 },          \
	       { "sbdf", &t_u32, 16, 0 }, F("device_state", &(state)),                    \
	       F("transport_state", &t_virtio_pci))
PCI(t_pci_block, t_block);
PCI(t_pci_net, t_net);
PCI(t_pci_vsock, t_vsock);
PCI(t_pci_balloon, t_balloon);
PCI(t_pci_entropy, t_entropy);
PCI(t_pci_pmem, t_pmem);
PCI(t_pci_mem, t_virtio_mem);

#define LISTS(prefix)                                                                      \
	SEQ(prefix##_blocks, prefix##_block);                                             \
	SEQ(prefix##_nets, prefix##_net);                                                 \
	OPT(prefix##_opt_vsock, prefix##_vsock);                                          \
	OPT(prefix##_opt_balloon, prefix##_balloon);                                      \
	OPT(prefix##_opt_entropy, prefix##_entropy);                                      \
	SEQ(prefix##_pmems, prefix##_pmem);                                               \
	OPT(prefix##_opt_mem, prefix##_mem)
#define LIST_FIELDS(prefix)                                                                \
	F("block_devices", &prefix##_blocks), F("net_devices", &prefix##_nets),          \
	F("vsock_device", &prefix##_opt_vsock), F("balloon_device", &prefix##_opt_balloon), \
	F("mmds", &t_opt_mmds), F("entropy_device", &prefix##_opt_entropy),              \
	F("pmem_devices", &prefix##_pmems), F("memory_device", &prefix##_opt_mem)
LISTS(t_mmio);
LISTS(t_pci);
/* device_manager/persist.rs DeviceStates: legacy_devices is aarch64's only. */
STRUCT(t_device_states, LIST_FIELDS(t_mmio));
STRUCT(t_pci_devices, F("pci_enabled", &t_bool), LIST_FIELDS(t_pci));

/* devices/acpi/vmgenid.rs, vmclock.rs, generated/vmclock_abi.rs (serde derive, field by field). */
STRUCT(t_vmgenid, F("gsi", &t_u32), F("addr", &t_u64));
STRUCT(t_pad2, F("0", &t_u8), F("1", &t_u8));
STRUCT(t_vmclock_abi, F("magic", &t_u32), F("size", &t_u32), F("version", &t_u16),
       F("counter_id", &t_u8), F("time_type", &t_u8), F("seq_count", &t_u32),
       F("disruption_marker", &t_u64), F("flags", &t_u64), F("pad", &t_pad2),
       F("clock_status", &t_u8), F("leap_second_smearing_hint", &t_u8),
       F("tai_offset_sec", &t_u16), F("leap_indicator", &t_u8),
       F("counter_period_shift", &t_u8), F("counter_value", &t_u64),
       F("counter_period_frac_sec", &t_u64), F("counter_period_esterror_rate_frac_sec", &t_u64),
       F("counter_period_maxerror_rate_frac_sec", &t_u64), F("time_sec", &t_u64),
       F("time_frac_sec", &t_u64), F("time_esterror_nanosec", &t_u64),
       F("time_maxerror_nanosec", &t_u64), F("vm_generation_counter", &t_u64));
STRUCT(t_vmclock, F("guest_address", &t_u64), F("gsi", &t_u32), F("inner", &t_vmclock_abi));
STRUCT(t_acpi, F("vmgenid", &t_vmgenid), F("vmclock", &t_vmclock));

/* v1.16's device_manager/persist.rs SerialState. */
STRUCT(t_serial, F("baud_divisor_low", &t_u8), F("baud_divisor_high", &t_u8),
       F("interrupt_enable", &t_u8), F("interrupt_identification", &t_u8),
       F("line_control", &t_u8), F("line_status", &t_u8), F("modem_control", &t_u8),
       F("modem_status", &t_u8), F("scratch", &t_u8), F("in_buffer", &t_vec_u8));
OPT(t_opt_serial, t_serial);

/* device_manager/mod.rs DevicesState. */
STRUCT(t_devices, F("mmio_state", &t_device_states), F("acpi_state", &t_acpi),
       F("pci_state", &t_pci_devices), { "serial_state", &t_opt_serial, 16, 0 });

/* persist.rs MicrovmState. */
STRUCT(t_microvm, F("vm_info", &t_vm_info), F("kvm_state", &t_kvm_state),
       F("vm_state", &t_vm_state), F("vcpu_states", &t_vcpus),
       F("device_states", &t_devices));

/* ---- the releases ---------------------------------------------------------------------------- */

/* SNAPSHOT_VERSION of src/vmm/src/persist.rs at every release tag from v1.15.0. */
static const struct release {
	unsigned int major, minor; /* the snapshot version; minor: Firecracker's 1.minor */
	const char *release, *tags;
} releases[] = {
	{ 9, 15, "v1.15", "v1.15.0 v1.15.1" },
	{ 10, 16, "v1.16", "v1.16.0 v1.16.1" },
};

/* ---- the walk ---------------------------------------------------------------------------------- */

struct walk {
	struct bc *d;
	unsigned int minor;
	struct fc_bitcode *out;
	size_t vcpu;       /* the vCPU being walked */
	bool in_vcpu;
	uint64_t seen;     /* MSRs met in this vCPU */
	unsigned int depth;
};

static bool in_layout(const struct field *f, unsigned int minor)
{
	return (!f->since || minor >= f->since) && (!f->until || minor <= f->until);
}

static int walk(struct walk *w, struct bc_node *n, const char *name, const struct type *t);

/* Decode the kvm structures fredck models, naming the field of a value the kernel refuses. */
static int capture_kvm(struct walk *w, struct bc_node *n, uint64_t col, enum capture cap,
		       const uint8_t *bytes)
{
	struct vcpu_state *v = &w->out->vcpus[w->vcpu];
	struct kvm_fault f = { 0 };
	int rc = 0;

	switch (cap) {
	case C_REGS:
		kvm_regs_decode(bytes, v);
		return 0;
	case C_SREGS:
		rc = kvm_sregs_decode(bytes, false, v, &f);
		break;
	case C_DEBUGREGS:
		rc = kvm_debugregs_decode(bytes, v, &f);
		break;
	case C_XCRS:
		rc = kvm_xcrs_decode(bytes, v, &f);
		break;
	case C_EVENTS:
		memcpy(w->out->events + w->vcpu * KVM_EVENTS_SIZE, bytes, KVM_EVENTS_SIZE);
		rc = kvm_events_decode(bytes, v, &f);
		break;
	case C_MSR_ENTRY:
		rc = kvm_msr_entry_decode(bytes, v, &w->seen, &f);
		break;
	default:
		return 0;
	}
	if (rc)
		return bc_bad(w->d, n, col, "vCPU %zu: %s: %s", w->vcpu, f.field, f.why);
	return 0;
}

/* A kvm-bindings structure: a byte string of exactly its size (fredck refuses other sizes). */
static int walk_kvm(struct walk *w, struct bc_node *n, const char *name, const struct type *t,
		    uint8_t *keep)
{
	uint8_t buf[XSAVE2_HDR_SIZE];
	bool want = keep || (w->in_vcpu && t->cap != C_NONE);
	struct bc_node *bytes;
	uint64_t len, col;

	if (bc_seq(w->d, n, name, &len, &bytes))
		return -1;
	if (len != t->size)
		return bc_bad(w->d, n, n->col.len.small.start,
			      "a kvm structure of %llu bytes; Firecracker writes %llu (fredck "
			      "refuses other sizes)", (unsigned long long)len,
			      (unsigned long long)t->size);
	if (bc_u8s(w->d, bytes, NULL, len, want ? buf : NULL))
		return -1;
	col = bytes->col.u8.start;
	if (t->cap == C_EVENTS && w->in_vcpu) {
		if (bytes->col.u8.next != (w->vcpu + 1) * KVM_EVENTS_SIZE)
			return bc_bad(w->d, bytes, col, "internal: vCPU %zu's events out of place",
				      w->vcpu);
		w->out->events_start = bytes->col.u8.start;
		w->out->events_end = bytes->col.u8.end;
	}
	if (keep)
		memcpy(keep, buf, len);
	return w->in_vcpu ? capture_kvm(w, bytes, col, t->cap, buf) : 0;
}

/* The entry count a FamStructWrapper's header holds. */
static uint64_t fam_count(enum capture cap, const uint8_t *hdr)
{
	switch (cap) {
	case C_CPUID: return kvm_cpuid2_count(hdr);
	case C_MSRS: return kvm_msrs_count(hdr);
	default: return le_get(hdr, 8); /* kvm_xsave2.len */
	}
}

/* FamStructWrapper: the tuple (header, entries); the header's count must be the entries' (vmm-sys-util). */
static int walk_fam(struct walk *w, struct bc_node *n, const char *name, const struct type *t)
{
	uint8_t hdr[XSAVE2_HDR_SIZE];
	struct bc_node **kids, *elems;
	uint64_t len;

	if (bc_tuple(w->d, n, name, 2, &kids) ||
	    walk_kvm(w, kids[0], "header", t->fields[0].type, hdr) ||
	    bc_seq(w->d, kids[1], "entries", &len, &elems))
		return -1;
	if (len > t->size)
		return bc_bad(w->d, kids[1], kids[1]->col.len.small.start,
			      "%llu entries, more than %llu", (unsigned long long)len,
			      (unsigned long long)t->size);
	if (fam_count(t->cap, hdr) != len)
		return bc_bad(w->d, kids[0], kids[0]->col.len.small.start,
			      "the header counts %llu entries, the entries are %llu",
			      (unsigned long long)fam_count(t->cap, hdr), (unsigned long long)len);
	for (uint64_t i = 0; i < len; i++)
		if (walk(w, elems, "[]", t->elem))
			return -1;
	return 0;
}

static int walk_struct(struct walk *w, struct bc_node *n, const char *name, const struct type *t)
{
	const struct field *present[32];
	struct bc_node **kids;
	size_t np = 0;

	for (size_t i = 0; i < t->nfields && np < 32; i++)
		if (in_layout(&t->fields[i], w->minor))
			present[np++] = &t->fields[i];
	if (np == 1) /* serde's tuple of one: the field is the struct's own position */
		return walk(w, n, name, present[0]->type);
	if (bc_tuple(w->d, n, name, np, &kids))
		return -1;
	for (size_t i = 0; i < np; i++)
		if (walk(w, kids[i], present[i]->name, present[i]->type))
			return -1;
	return 0;
}

/* Vec<VcpuState>: allocated once its length is known to fit the columns that follow. */
static int walk_vcpus(struct walk *w, struct bc_node *n, const char *name, const struct type *t)
{
	struct bc_node *elems;
	uint64_t len;

	if (bc_seq(w->d, n, name, &len, &elems))
		return -1;
	w->out->vcpus_col = n->col.len.small.start;
	if (len == 0)
		return bc_bad(w->d, n, w->out->vcpus_col, "no vCPU state: a microVM has one at least");
	if (len > MAX_VCPUS)
		return bc_bad(w->d, n, w->out->vcpus_col, "%llu vCPUs, more than KVM's %d",
			      (unsigned long long)len, MAX_VCPUS);
	w->out->vcpus = calloc((size_t)len, sizeof(*w->out->vcpus));
	w->out->events = calloc((size_t)len, KVM_EVENTS_SIZE);
	if (!w->out->vcpus || !w->out->events)
		return fmt_syserr(w->d->e, w->d->file, ENOMEM, "cannot read");
	for (uint64_t i = 0; i < len; i++) {
		w->vcpu = (size_t)i;
		w->in_vcpu = true;
		w->seen = 0;
		vcpu_init(&w->out->vcpus[i], (unsigned int)i);
		if (walk(w, elems, "[]", t->elem))
			return -1;
		w->out->vcpus[i].saver = SAVER_KVM_IOCTL;
		w->out->nvcpus = (size_t)i + 1;
	}
	w->in_vcpu = false;
	return 0;
}

static int walk(struct walk *w, struct bc_node *n, const char *name, const struct type *t)
{
	struct bc_node *kid;
	uint64_t v, len;
	unsigned int variant;
	bool b;
	int rc = 0;

	if (++w->depth > MAX_DEPTH) {
		w->depth--;
		return bc_bad(w->d, n, w->d->pos, "nested more than %d deep", MAX_DEPTH);
	}
	switch (t->kind) {
	case T_U8: rc = bc_uint(w->d, n, name, 1, &v); break;
	case T_U16: rc = bc_uint(w->d, n, name, 2, &v); break;
	case T_U32: rc = bc_uint(w->d, n, name, 4, &v); break;
	case T_U64: rc = bc_uint(w->d, n, name, 8, &v); break;
	case T_BOOL: rc = bc_bool(w->d, n, name, &b); break;
	case T_STR: rc = bc_str(w->d, n, name, NULL, 0, NULL); break;
	case T_KVM: rc = walk_kvm(w, n, name, t, NULL); break;
	case T_FAM: rc = walk_fam(w, n, name, t); break;
	case T_STRUCT: rc = walk_struct(w, n, name, t); break;
	case T_OPT:
		/* Option: serialize_none is variant 0, serialize_some variant 1 (bitcode's Enum). */
		rc = bc_enum(w->d, n, name, 2, &variant, &kid);
		if (rc == 0 && variant == 1)
			rc = walk(w, kid, "Some", t->elem);
		break;
	case T_ENUM:
		rc = bc_enum(w->d, n, name, (unsigned int)t->nfields, &variant, &kid);
		if (rc == 0 && t->fields[variant].type)
			rc = walk(w, kid, t->fields[variant].name, t->fields[variant].type);
		break;
	case T_SEQ:
		if (t->cap == C_VCPUS) {
			rc = walk_vcpus(w, n, name, t);
			break;
		}
		rc = bc_seq(w->d, n, name, &len, &kid);
		if (rc == 0 && (t->elem->kind == T_U8 || t->elem->kind == T_BOOL)) {
			/* A byte string or a bit vector: its values need no walk, only counting. */
			if (t->elem->kind == T_U8) {
				rc = bc_u8s(w->d, kid, "[]", len, NULL);
			} else {
				for (uint64_t i = 0; rc == 0 && i < len; i++)
					rc = bc_bool(w->d, kid, "[]", &b);
			}
			break;
		}
		for (uint64_t i = 0; rc == 0 && i < len; i++)
			rc = walk(w, kid, "[]", t->elem);
		break;
	}
	w->depth--;
	return rc;
}

bool fc_bitcode_magic(const uint8_t *b, size_t len, bool *arm)
{
	uint64_t m;

	if (len < FC_BITCODE_MAGIC_LEN || b[0] != 0)
		return false;
	m = le_get(b + 1, 8);
	*arm = m == FC_MAGIC_ARM;
	return m == FC_MAGIC_X86 || m == FC_MAGIC_ARM;
}

/* SnapshotHdr { magic, version }: the first two columns; the version chooses the layout. */
static int walk_header(struct walk *w, struct bc_node *hdr, const struct release **rel)
{
	struct bc_node **f;
	uint64_t magic, len, col;
	unsigned long major, minor;
	char *end;

	if (bc_tuple(w->d, hdr, "header", 2, &f) || bc_uint(w->d, f[0], "magic", 8, &magic))
		return -1;
	if (magic == FC_MAGIC_ARM)
		return fmt_fail(w->d->e, FMT_ERR_UNSUPPORTED, w->d->file,
				"an aarch64 Firecracker snapshot; fredck repairs x86 vCPU state only");
	if (magic != FC_MAGIC_X86)
		return bc_bad(w->d, f[0], f[0]->col.ints.start,
			      "0x%016llx is not the x86_64 snapshot magic", (unsigned long long)magic);
	col = w->d->pos;
	if (bc_str(w->d, f[1], "version", w->out->version, sizeof(w->out->version), &len))
		return -1;
	major = strtoul(w->out->version, &end, 10);
	if (len == 0 || len >= sizeof(w->out->version) || end == w->out->version || *end != '.')
		return bc_bad(w->d, f[1], col, "'%s' is not a semver version", w->out->version);
	minor = strtoul(end + 1, &end, 10);
	if (*end != '.' || !isdigit((unsigned char)end[1]))
		return bc_bad(w->d, f[1], col, "'%s' is not a semver version", w->out->version);
	strtoul(end + 1, &end, 10);
	/* semver::Version parses what its Display wrote: a pre-release or build may follow. */
	if (*end && *end != '-' && *end != '+')
		return bc_bad(w->d, f[1], col, "'%s' is not a semver version", w->out->version);
	w->out->major = (unsigned int)major;
	for (size_t i = 0; i < N(releases); i++)
		/* Firecracker loads its own major with a minor up to its own (0 here). */
		if (releases[i].major == major && minor == 0) {
			*rel = &releases[i];
			return 0;
		}
	if (major == 11)
		return fmt_fail(w->d->e, FMT_ERR_UNSUPPORTED, w->d->file,
				"Firecracker snapshot version %s is that of Firecracker's main "
				"branch, in no release yet; fredck reads 9.0.0 (v1.15) and 10.0.0 "
				"(v1.16), and will read 11.0.0 once a release ships it",
				w->out->version);
	return fmt_fail(w->d->e, FMT_ERR_UNSUPPORTED, w->d->file,
			"Firecracker snapshot version %s is not one fredck knows (bitcode: 9.0.0 "
			"of v1.15 and 10.0.0 of v1.16, the newest)", w->out->version);
}

int fc_bitcode_walk(const uint8_t *b, uint64_t end, const char *file, struct fc_bitcode *out,
		    struct fmt_error *e)
{
	struct bc d;
	struct walk w = { .d = &d, .out = out };
	const struct release *rel = NULL;
	struct bc_node **top;
	int rc;

	memset(out, 0, sizeof(*out));
	if (bc_init(&d, b, 0, end, file, e))
		return -1;
	rc = bc_tuple(&d, d.root, "", 2, &top) || walk_header(&w, top[0], &rel);
	if (rc == 0) {
		w.minor = rel->minor;
		out->release = rel->release;
		out->tags = rel->tags;
		/* Columns are named from MicrovmState's fields ("vcpu_states[].regs"). */
		rc = walk(&w, top[1], "", &t_microvm);
	}
	if (rc == 0 && d.pos != end)
		rc = fmt_malformed(e, file, d.pos, "(state)",
				   "the state's last column ends at byte %llu, %llu bytes before "
				   "the checksum", (unsigned long long)d.pos,
				   (unsigned long long)(end - d.pos));
	out->columns = d.nodes;
	bc_free(&d);
	return rc ? -1 : 0;
}

void fc_bitcode_free(struct fc_bitcode *w)
{
	free(w->vcpus);
	free(w->events);
	w->vcpus = NULL;
	w->events = NULL;
}
