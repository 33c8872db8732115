// SPDX-License-Identifier: GPL-2.0-or-later
//! fc-bincode-crosscheck LAYOUT FILE
//!
//! LAYOUT is the Firecracker minor whose types wrote FILE: 7 to 14.
//! Decodes the WHOLE of FILE (a state file from tests/fc/mkfcsnap) with
//! bincode 1's default options (fixint, little-endian; bincode 2's
//! standard().with_fixed_int_encoding().with_little_endian() of v1.12 on
//! is the same wire form) as (magic, version string, MicrovmState), then
//! requires that exactly the bytes before the 8-byte CRC trailer were
//! used (the CRC itself is mkfcsnap crcok's to check), encodes the value
//! again and requires the same bytes.
//!
//! The types below are Firecracker's as serde sees them, transcribed for
//! fredck from the source at each tag (tests/fc/README.md names the
//! files; no Firecracker code).  A field a layout does not have is a type
//! parameter set to `()`, which bincode writes as nothing.
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::num::NonZeroU32;

static mut RAW: bool = false;

fn raw() -> bool {
    // SAFETY: set once in main before any (de)serialisation.
    unsafe { RAW }
}

/// A kvm structure of N bytes: [u64 N][bytes] (kvm-bindings'
/// serialize_bytes, v1.8 on), or the N bytes alone (v1.7: the fork's serde
/// derive, field by field, no padding in any structure used).
#[derive(Debug, PartialEq)]
struct Kvm<const N: usize>(Vec<u8>);

impl<const N: usize> Serialize for Kvm<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if raw() {
            let mut t = s.serialize_tuple(N)?;
            for b in &self.0 {
                t.serialize_element(b)?;
            }
            t.end()
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

struct BytesVisitor<const N: usize>;

impl<'de, const N: usize> Visitor<'de> for BytesVisitor<N> {
    type Value = Vec<u8>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} bytes", N)
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        if v.len() != N {
            return Err(E::custom(format!("{} bytes, expected {}", v.len(), N)));
        }
        Ok(v.to_vec())
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        self.visit_bytes(&v)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut v = Vec::with_capacity(N);
        while let Some(b) = seq.next_element::<u8>()? {
            v.push(b);
        }
        self.visit_bytes(&v)
    }
}

impl<'de, const N: usize> Deserialize<'de> for Kvm<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Kvm<N>, D::Error> {
        if raw() {
            d.deserialize_tuple(N, BytesVisitor::<N>).map(Kvm)
        } else {
            d.deserialize_bytes(BytesVisitor::<N>).map(Kvm)
        }
    }
}

// ---- VcpuState ---------------------------------------------------------------

/// FamStructWrapper<H>: the tuple (header, Vec<E>) of vmm-sys-util.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Fam<H, E>(H, Vec<E>);

type CpuId = Fam<Kvm<8>, Kvm<40>>;
type Msrs = Fam<Kvm<8>, Kvm<16>>;
type Xsave2 = Fam<Kvm<4104>, u32>;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct VcpuState<X> {
    cpuid: CpuId,
    saved_msrs: Vec<Msrs>,
    debug_regs: Kvm<128>,
    lapic: Kvm<1024>,
    mp_state: Kvm<4>,
    regs: Kvm<144>,
    sregs: Kvm<312>,
    vcpu_events: Kvm<64>,
    xcrs: Kvm<392>,
    xsave: X,
    tsc_khz: Option<u32>,
}

// ---- before the vCPUs ----------------------------------------------------------

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum StaticCpuTemplate {
    C3,
    T2,
    T2S,
    None,
    T2CL,
    T2A,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum HugePageConfig {
    None,
    Hugetlbfs2M,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct BootSourceConfig {
    kernel_image_path: String,
    initrd_path: Option<String>,
    boot_args: Option<String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct VmInfo {
    mem_size_mib: u64,
    smt: bool,
    cpu_template: StaticCpuTemplate,
    boot_source: BootSourceConfig,
    huge_pages: HugePageConfig,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum GuestRegionType {
    Dram,
    Hotpluggable,
}

/// GuestMemoryRegionState; OFF: the file offset (to v1.10), X: v1.14's region_type and plugged.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Region<OFF, X> {
    base_address: u64,
    size: u64,
    offset: OFF,
    more: X,
}

type RegionV14 = (GuestRegionType, Vec<bool>);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct GuestMemoryState<R> {
    regions: Vec<R>,
}

/// KvmCapability: serialised by hand as a string, "N" or "!N".
type KvmCapability = String;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct KvmState {
    kvm_cap_modifiers: Vec<KvmCapability>,
}

// vm-allocator 0.1.3.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct IdAllocator {
    range_base: u32,
    next_id: Option<u32>,
    range_end: u32,
    freed_ids: BTreeSet<u32>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct RangeInclusive {
    start: u64,
    end: u64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum NodeState {
    Free,
    Allocated,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct InnerNode {
    key: RangeInclusive,
    node_state: NodeState,
    left: Option<Box<InnerNode>>,
    right: Option<Box<InnerNode>>,
    height: u64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct AddressAllocator {
    address_space: RangeInclusive,
    interval_tree: Option<Box<InnerNode>>, // IntervalTree { root }
}

/// ResourceAllocator; PAST: v1.14's past_mmio64_memory.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct ResourceAllocator<PAST> {
    gsi_legacy_allocator: IdAllocator,
    gsi_msi_allocator: IdAllocator,
    mmio32_memory: AddressAllocator,
    mmio64_memory: AddressAllocator,
    past_mmio64_memory: PAST,
    system_memory: AddressAllocator,
}

/// x86 VmState: MEM and RA lead from v1.12 and v1.13; CAPS trail to v1.10.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct VmState<MEM, RA, CAPS> {
    memory: MEM,
    resource_allocator: RA,
    pitstate: Kvm<112>,
    clock: Kvm<48>,
    pic_master: Kvm<520>,
    pic_slave: Kvm<520>,
    ioapic: Kvm<520>,
    kvm_cap_modifiers: CAPS,
}

// ---- devices ---------------------------------------------------------------------

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct QueueState {
    max_size: u16,
    size: u16,
    ready: bool,
    desc_table: u64,
    avail_ring: u64,
    used_ring: u64,
    next_avail: u16,
    next_used: u16,
    num_added: u16,
}

/// VirtioDeviceState; IS: interrupt_status (to v1.12).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Virtio<IS> {
    device_type: u32,
    avail_features: u64,
    acked_features: u64,
    queues: Vec<QueueState>,
    interrupt_status: IS,
    activated: bool,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct TokenBucketState {
    size: u64,
    one_time_burst: u64,
    refill_time: u64,
    budget: u64,
    elapsed_ns: u64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct RateLimiterState {
    ops: Option<TokenBucketState>,
    bandwidth: Option<TokenBucketState>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum CacheType {
    Unsafe,
    Writeback,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum FileEngineTypeState {
    Sync,
    Async,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct VirtioBlockState<V> {
    id: String,
    partuuid: Option<String>,
    cache_type: CacheType,
    root_device: bool,
    disk_path: String,
    virtio_state: V,
    rate_limiter_state: RateLimiterState,
    file_engine_type: FileEngineTypeState,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct VhostUserBlockState<V> {
    id: String,
    partuuid: Option<String>,
    cache_type: CacheType,
    root_device: bool,
    socket_path: String,
    vu_acked_protocol_features: u64,
    config_space: Vec<u8>,
    virtio_state: V,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum BlockState<V> {
    Virtio(VirtioBlockState<V>),
    VhostUser(VhostUserBlockState<V>),
}

/// MmdsNetworkStackState; X: max_connections, max_pending_resets (to v1.10).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct MmdsNetworkStackState<X> {
    mac_addr: [u8; 6],
    ipv4_addr: u32,
    tcp_port: u16,
    limits: X,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct NetConfigSpaceState {
    guest_mac: Option<String>, // MacAddr: serialised as its string
}

/// NetState; RX: rx_buffers_state (v1.10.0 to v1.12).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct NetState<V, X, RX> {
    id: String,
    tap_if_name: String,
    rx_rate_limiter_state: RateLimiterState,
    tx_rate_limiter_state: RateLimiterState,
    mmds_ns: Option<MmdsNetworkStackState<X>>,
    config_space: NetConfigSpaceState,
    virtio_state: V,
    rx_buffers_state: RX,
}

type RxBufferState = (u16, u16, u32);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct VsockUdsState {
    path: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum VsockBackendState {
    Uds(VsockUdsState),
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct VsockFrontendState<V> {
    cid: u64,
    virtio_state: V,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct VsockState<V> {
    backend: VsockBackendState,
    frontend: VsockFrontendState<V>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct HintingState {
    host_cmd: u32,
    last_cmd_id: u32,
    guest_cmd: Option<u32>,
    acknowledge_on_finish: bool,
}

/// BalloonState; ST: 10 statistics (16 in v1.14); H: hinting_state (v1.14).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct BalloonState<V, ST, H> {
    stats_polling_interval_s: u16,
    stats_desc_index: Option<u16>,
    latest_stats: ST,
    config_space: (u32, u32),
    hinting_state: H,
    virtio_state: V,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct EntropyState<V> {
    virtio_state: V,
    rate_limiter_state: RateLimiterState,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct PmemConfig {
    id: String,
    path_on_host: String,
    root_device: bool,
    read_only: bool,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct PmemState<V> {
    virtio_state: V,
    config_space: (u64, u64),
    config: PmemConfig,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct VirtioMemState<V> {
    virtio_state: V,
    addr: u64,
    region_size: u64,
    block_size: u64,
    usable_region_size: u64,
    requested_size: u64,
    slot_size: u64,
    plugged_blocks: Vec<bool>,
}

/// MmioTransportState; IS: interrupt_status (v1.13 on).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct MmioTransportState<IS> {
    features_select: u32,
    acked_features_select: u32,
    queue_select: u32,
    device_status: u32,
    config_generation: u32,
    interrupt_status: IS,
}

/// MMIODeviceInfo; IRQ: irqs Vec<u32> (to v1.10), irq Option<NonZeroU32>, gsi Option<u32> (v1.13).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct MmioDeviceInfo<IRQ> {
    addr: u64,
    len: u64,
    irq: IRQ,
}

/// A device on MMIO: Connected*State, or VirtioDeviceState<T> of device_manager/persist.rs.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Mmio<S, IS, IRQ> {
    device_id: String,
    device_state: S,
    transport_state: MmioTransportState<IS>,
    device_info: MmioDeviceInfo<IRQ>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum MmdsVersion {
    V1,
    V2,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct MmdsState {
    version: MmdsVersion,
    imds_compat: bool,
}

/// DeviceStates / PciDevicesState's lists; EX: v1.14's pmem_devices and memory_device.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct DeviceStates<BLK, NET, VS, BAL, MM, ENT, EX> {
    block_devices: Vec<BLK>,
    net_devices: Vec<NET>,
    vsock_device: Option<VS>,
    balloon_device: Option<BAL>,
    mmds: Option<MM>,
    entropy_device: Option<ENT>,
    more: EX,
}

// PCI (v1.13 on).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum PciBarRegionType {
    Memory32BitRegion,
    IoRegion,
    Memory64BitRegion,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum PciBarPrefetchable {
    NotPrefetchable,
    Prefetchable,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct PciBar<T> {
    addr: u32,
    size: u32,
    used: bool,
    r#type: T, // Option<PciBarRegionType> in v1.13
}

/// PciConfigurationState; ROM: v1.13's rom_bar_addr, rom_bar_size, rom_bar_used.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct PciConfigurationState<T, ROM> {
    registers: Vec<u32>,
    writable_bits: Vec<u32>,
    bars: Vec<PciBar<T>>,
    rom: ROM,
    last_capability: Option<(u64, u64)>,
    msix_cap_reg_idx: Option<u64>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct VirtioPciCommonConfigState {
    driver_status: u8,
    config_generation: u8,
    device_feature_select: u32,
    driver_feature_select: u32,
    queue_select: u16,
    msix_config: u16,
    msix_queues: Vec<u16>,
}

/// MsixConfigState; VEC: v1.14's vectors.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct MsixConfigState<VEC> {
    table_entries: Vec<(u32, u32, u32, u32)>,
    pba_entries: Vec<u64>,
    masked: bool,
    enabled: bool,
    vectors: VEC,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct PciBarConfiguration {
    addr: u64,
    size: u64,
    idx: u64,
    region_type: PciBarRegionType,
    prefetchable: PciBarPrefetchable,
}

/// VirtioPciDeviceState; TAIL: v1.13's msi_vector_group and bar_configuration, v1.14's bar_address.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct VirtioPciDeviceState<T, ROM, VEC, TAIL> {
    pci_device_bdf: String, // PciBdf: serialised as its string
    device_activated: bool,
    cap_pci_cfg_offset: u64,
    cap_pci_cfg: Vec<u8>,
    pci_configuration_state: PciConfigurationState<T, ROM>,
    pci_dev_state: VirtioPciCommonConfigState,
    msix_state: MsixConfigState<VEC>,
    tail: TAIL,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Pci<S, P> {
    device_id: String,
    pci_device_bdf: u32,
    device_state: S,
    transport_state: P,
}

/// vmclock_abi (v1.14): its fields, serde derive, 104 bytes.
type VmclockAbi = (
    (u32, u32, u16, u8, u8, u32, u64, u64, [u8; 2], u8, u8),
    (u16, u8, u8, u64, u64, u64, u64, u64, u64, u64, u64),
);

type VmGenId = (u32, u64);

// ---- MicrovmState, one per layout ----------------------------------------------------

type Caps = Vec<KvmCapability>;
type Mem7 = GuestMemoryState<Region<u64, ()>>;
type Mem11 = GuestMemoryState<Region<(), ()>>;
type Mem14 = GuestMemoryState<Region<(), RegionV14>>;

/// The MMIO device lists of layouts 7 to 12: V virtio state, X MMDS limits, RX, IRQ.
type Devices7<V, X, RX, IRQ> = DeviceStates<
    Mmio<BlockState<V>, (), IRQ>,
    Mmio<NetState<V, X, RX>, (), IRQ>,
    Mmio<VsockState<V>, (), IRQ>,
    Mmio<BalloonState<V, [Option<u64>; 10], ()>, (), IRQ>,
    MmdsVersion,
    Mmio<EntropyState<V>, (), IRQ>,
    (),
>;

type V13 = Virtio<()>;
type Devices13Mmio = DeviceStates<
    Mmio<BlockState<V13>, u32, Option<u32>>,
    Mmio<NetState<V13, (), ()>, u32, Option<u32>>,
    Mmio<VsockState<V13>, u32, Option<u32>>,
    Mmio<BalloonState<V13, [Option<u64>; 10], ()>, u32, Option<u32>>,
    MmdsState,
    Mmio<EntropyState<V13>, u32, Option<u32>>,
    (),
>;
type Pci13 = VirtioPciDeviceState<
    Option<PciBarRegionType>,
    (u32, u32, bool),
    (),
    (Vec<u32>, PciBarConfiguration),
>;
type Devices13Pci = DeviceStates<
    Pci<BlockState<V13>, Pci13>,
    Pci<NetState<V13, (), ()>, Pci13>,
    Pci<VsockState<V13>, Pci13>,
    Pci<BalloonState<V13, [Option<u64>; 10], ()>, Pci13>,
    MmdsState,
    Pci<EntropyState<V13>, Pci13>,
    (),
>;
type Bal14 = BalloonState<V13, [Option<u64>; 16], HintingState>;
type Devices14Mmio = DeviceStates<
    Mmio<BlockState<V13>, u32, Option<u32>>,
    Mmio<NetState<V13, (), ()>, u32, Option<u32>>,
    Mmio<VsockState<V13>, u32, Option<u32>>,
    Mmio<Bal14, u32, Option<u32>>,
    MmdsState,
    Mmio<EntropyState<V13>, u32, Option<u32>>,
    (
        Vec<Mmio<PmemState<V13>, u32, Option<u32>>>,
        Option<Mmio<VirtioMemState<V13>, u32, Option<u32>>>,
    ),
>;
type Pci14 = VirtioPciDeviceState<(), (), Vec<u32>, u64>;
type Devices14Pci = DeviceStates<
    Pci<BlockState<V13>, Pci14>,
    Pci<NetState<V13, (), ()>, Pci14>,
    Pci<VsockState<V13>, Pci14>,
    Pci<Bal14, Pci14>,
    MmdsState,
    Pci<EntropyState<V13>, Pci14>,
    (Vec<Pci<PmemState<V13>, Pci14>>, Option<Pci<VirtioMemState<V13>, Pci14>>),
>;

/// MicrovmState: KVM (kvm_state, v1.11 on) and MEM (memory_state, to v1.11) are
/// () where absent, as is ACPI (acpi_dev_state, v1.8 to v1.12).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct MicrovmState<MEM, KVM, VM, X, DEV, ACPI> {
    vm_info: VmInfo,
    memory_state: MEM,
    kvm_state: KVM,
    vm_state: VM,
    vcpu_states: Vec<VcpuState<X>>,
    device_states: DEV,
    acpi_dev_state: ACPI,
}

/// v1.13's and v1.14's DevicesState { mmio_state, acpi_state, pci_state }.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct DevicesState<M, A, P> {
    mmio_state: M,
    acpi_state: A,
    pci_enabled: bool, // pci_state starts with it
    pci_state: P,
}

type V7 = Virtio<u32>;
type Mmds7 = (u64, u64);
type L7 = MicrovmState<Mem7, (), VmState<(), (), Caps>, Kvm<4096>,
    Devices7<V7, Mmds7, (), Vec<u32>>, ()>;
type L8 = MicrovmState<Mem7, (), VmState<(), (), Caps>, Kvm<4096>,
    Devices7<V7, Mmds7, (), Vec<u32>>, Option<VmGenId>>;
type L9 = L8;
type L10 = MicrovmState<Mem7, (), VmState<(), (), Caps>, Kvm<4096>,
    Devices7<V7, Mmds7, RxBufferState, Vec<u32>>, Option<VmGenId>>;
type L11 = MicrovmState<Mem11, KvmState, VmState<(), (), ()>, Kvm<4096>,
    Devices7<V7, (), RxBufferState, Option<NonZeroU32>>, Option<VmGenId>>;
type L12 = MicrovmState<(), KvmState, VmState<Mem11, (), ()>, Xsave2,
    Devices7<V7, (), RxBufferState, Option<NonZeroU32>>, Option<VmGenId>>;
type L13 = MicrovmState<(), KvmState, VmState<Mem11, ResourceAllocator<()>, ()>, Xsave2,
    DevicesState<Devices13Mmio, Option<VmGenId>, Devices13Pci>, ()>;
type L14 = MicrovmState<(), KvmState, VmState<Mem14, ResourceAllocator<AddressAllocator>, ()>,
    Xsave2, DevicesState<Devices14Mmio, (VmGenId, u64, VmclockAbi), Devices14Pci>, ()>;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Snapshot<S> {
    magic: u64,
    version: String,
    data: S,
}

fn check<S>(bytes: &[u8]) -> Result<String, String>
where
    S: Serialize + for<'a> Deserialize<'a> + PartialEq + fmt::Debug,
{
    let body = &bytes[..bytes.len() - 8];
    let mut rest = body;
    let v: Snapshot<S> =
        bincode::deserialize_from(&mut rest).map_err(|e| format!("decode: {e}"))?;
    if !rest.is_empty() {
        return Err(format!("{} bytes left before the CRC trailer", rest.len()));
    }
    let again = bincode::serialize(&v).map_err(|e| format!("encode: {e}"))?;
    if again != body {
        return Err("encoding again gives other bytes".into());
    }
    Ok(format!("version {}, {} bytes: decoded whole and encoded again identically",
               v.version, body.len()))
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 3 {
        eprintln!("usage: fc-bincode-crosscheck 7..14 FILE");
        std::process::exit(2);
    }
    let data = std::fs::read(&a[2]).expect("read");
    let layout: u32 = a[1].parse().expect("layout");
    // SAFETY: before any (de)serialisation.
    unsafe { RAW = layout == 7 };
    let r = match layout {
        7 => check::<L7>(&data),
        8 => check::<L8>(&data),
        9 => check::<L9>(&data),
        10 => check::<L10>(&data),
        11 => check::<L11>(&data),
        12 => check::<L12>(&data),
        13 => check::<L13>(&data),
        14 => check::<L14>(&data),
        _ => Err(format!("no layout {layout}")),
    };
    match r {
        Ok(m) => println!("{m}"),
        Err(e) => {
            eprintln!("{}: {e}", a[2]);
            std::process::exit(1);
        }
    }
}
