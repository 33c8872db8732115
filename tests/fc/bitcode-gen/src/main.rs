// SPDX-License-Identifier: GPL-2.0-or-later
//! fc-bitcode-gen OUTDIR
//!
//! Writes the reference Firecracker snapshot state files of tests/fc/bitcode/
//! with the real bitcode 0.6.9 (serde mode, `bitcode::serialize`), as
//! Firecracker v1.15.x (snapshot version 9.0.0) and v1.16.x (10.0.0) write
//! them: `Snapshot { header: SnapshotHdr { magic, version }, data:
//! MicrovmState }` then the CRC-64/Jones of every byte before it, little
//! endian (src/vmm/src/snapshot/mod.rs and crc.rs at v1.15.0 and v1.16.0).
//!
//! For each case it writes NAME.snap and the state that fredck's repair must
//! produce, serialised again by bitcode: NAME.drop (the at-risk exception
//! cleared: `fredck repair`'s default where that drops) and NAME.pending
//! (re-queued as pending with its payload, `--dest-payload-cap=yes`).
//!
//! The types are Firecracker's as serde sees them, transcribed for fredck
//! from the source at the tags v1.15.0, v1.15.1, v1.16.0, v1.16.1
//! (tests/fc/README.md names the files; no Firecracker code).  kvm-bindings
//! 0.14.0 serialises its structures with `serialize_bytes` (a sequence of
//! u8 in bitcode's serde mode); vmm-sys-util 0.15.0's FamStructWrapper is
//! the 2-tuple (header, entries); semver::Version, KvmCapability, MacAddr
//! and v1.15's PciBdf serialise as strings.  Where the two layouts differ a
//! type parameter carries the field (`()` where a layout lacks it: a unit
//! makes no column in bitcode, but the structs below give each layout its
//! exact field count anyway).
use serde::ser::{SerializeTuple, Serializer};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;

// ---- kvm structures and FamStructWrapper -------------------------------------

/// A kvm-bindings structure: `serializer.serialize_bytes(self.as_bytes())`.
#[derive(Clone)]
struct Kvm(Vec<u8>);

impl Serialize for Kvm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

/// FamStructWrapper<T>: `serialize_tuple(2)` of the header and `as_slice()`.
#[derive(Clone)]
struct Fam<E>(Kvm, Vec<E>);

impl<E: Serialize> Serialize for Fam<E> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.0)?;
        t.serialize_element(&self.1)?;
        t.end()
    }
}

type CpuId = Fam<Kvm>; // kvm_cpuid2 (8) / kvm_cpuid_entry2 (40)
type Msrs = Fam<Kvm>; // kvm_msrs (8) / kvm_msr_entry (16)
type Xsave = Fam<u32>; // kvm_xsave2 (4104: len, kvm_xsave) / u32

// ---- arch/x86_64/vcpu.rs ------------------------------------------------------

#[derive(Clone, Serialize)]
struct VcpuState {
    cpuid: CpuId,
    saved_msrs: Vec<Msrs>,
    debug_regs: Kvm,
    lapic: Kvm,
    mp_state: Kvm,
    regs: Kvm,
    sregs: Kvm,
    vcpu_events: Kvm,
    xcrs: Kvm,
    xsave: Xsave,
    tsc_khz: Option<u32>,
}

// ---- persist.rs, vmm_config ---------------------------------------------------

#[allow(dead_code)]
#[derive(Serialize)]
enum StaticCpuTemplate {
    C3,
    T2,
    T2S,
    None,
    T2CL,
    T2A,
}

#[allow(dead_code)]
#[derive(Serialize)]
enum HugePageConfig {
    None,
    Hugetlbfs2M,
}

#[derive(Serialize)]
struct BootSourceConfig {
    kernel_image_path: String,
    initrd_path: Option<String>,
    boot_args: Option<String>,
}

#[derive(Serialize)]
struct VmInfo {
    mem_size_mib: u64,
    smt: bool,
    cpu_template: StaticCpuTemplate,
    boot_source: BootSourceConfig,
    huge_pages: HugePageConfig,
}

/// vstate/kvm.rs; KvmCapability serialises as "N" or "!N".
#[derive(Serialize)]
struct KvmState {
    kvm_cap_modifiers: Vec<String>,
}

// ---- vstate/memory.rs, vstate/resources.rs (vm-allocator 0.1.3) -----------------

#[allow(dead_code)]
#[derive(Serialize)]
enum GuestRegionType {
    Dram,
    Hotpluggable,
}

#[derive(Serialize)]
struct GuestMemoryRegionState {
    base_address: u64,
    size: u64, // usize
    region_type: GuestRegionType,
    plugged: Vec<bool>,
}

#[derive(Serialize)]
struct GuestMemoryState {
    regions: Vec<GuestMemoryRegionState>,
}

#[derive(Serialize)]
struct IdAllocator {
    range_base: u32,
    next_id: Option<u32>,
    range_end: u32,
    freed_ids: BTreeSet<u32>,
}

#[derive(Serialize)]
struct RangeInclusive {
    start: u64,
    end: u64,
}

#[allow(dead_code)]
#[derive(Serialize)]
enum NodeState {
    Free,
    Allocated,
}

#[derive(Serialize)]
struct InnerNode {
    key: RangeInclusive,
    node_state: NodeState,
    left: Option<Box<InnerNode>>,
    right: Option<Box<InnerNode>>,
    height: u64,
}

#[derive(Serialize)]
struct IntervalTree {
    root: Option<Box<InnerNode>>,
}

#[derive(Serialize)]
struct AddressAllocator {
    address_space: RangeInclusive,
    interval_tree: IntervalTree,
}

#[derive(Serialize)]
struct ResourceAllocator {
    gsi_legacy_allocator: IdAllocator,
    gsi_msi_allocator: IdAllocator,
    mmio32_memory: AddressAllocator,
    mmio64_memory: AddressAllocator,
    past_mmio64_memory: AddressAllocator,
    system_memory: AddressAllocator,
}

/// arch/x86_64/vm.rs VmState.
#[derive(Serialize)]
struct VmState {
    memory: GuestMemoryState,
    resource_allocator: ResourceAllocator,
    pitstate: Kvm,   // kvm_pit_state2, 112
    clock: Kvm,      // kvm_clock_data, 48
    pic_master: Kvm, // kvm_irqchip, 520
    pic_slave: Kvm,
    ioapic: Kvm,
}

// ---- devices -------------------------------------------------------------------------

#[allow(dead_code)]
#[derive(Clone, Copy, Serialize)]
enum VirtioDeviceType {
    Net,
    Block,
    Rng,
    Balloon,
    Vsock,
    Mem,
    Pmem,
}

#[derive(Serialize)]
struct QueueState {
    max_size: u16,
    size: u16,
    ready: bool,
    desc_table: u64,
    avail_ring: u64,
    used_ring: u64,
    next_avail: u16, // Wrapping<u16>
    next_used: u16,
    num_added: u16,
}

/// devices/virtio/persist.rs VirtioDeviceState.
#[derive(Serialize)]
struct Virtio {
    device_type: VirtioDeviceType,
    avail_features: u64,
    acked_features: u64,
    queues: Vec<QueueState>,
    activated: bool,
}

#[derive(Serialize)]
struct TokenBucketState {
    size: u64,
    one_time_burst: u64,
    refill_time: u64,
    budget: u64,
    elapsed_ns: u64,
}

#[derive(Serialize)]
struct RateLimiterState {
    ops: Option<TokenBucketState>,
    bandwidth: Option<TokenBucketState>,
}

#[allow(dead_code)]
#[derive(Serialize)]
enum CacheType {
    Unsafe,
    Writeback,
}

#[allow(dead_code)]
#[derive(Serialize)]
enum FileEngineTypeState {
    Sync,
    Async,
}

#[derive(Serialize)]
struct VirtioBlockState {
    id: String,
    partuuid: Option<String>,
    cache_type: CacheType,
    root_device: bool,
    disk_path: String,
    virtio_state: Virtio,
    rate_limiter_state: RateLimiterState,
    file_engine_type: FileEngineTypeState,
}

#[derive(Serialize)]
struct VhostUserBlockState {
    id: String,
    partuuid: Option<String>,
    cache_type: CacheType,
    root_device: bool,
    socket_path: String,
    vu_acked_protocol_features: u64,
    config_space: Vec<u8>,
    virtio_state: Virtio,
}

#[allow(dead_code)]
#[derive(Serialize)]
enum BlockState {
    Virtio(VirtioBlockState),
    VhostUser(VhostUserBlockState),
}

#[derive(Serialize)]
struct MmdsNetworkStackState {
    mac_addr: [u8; 6],
    ipv4_addr: u32,
    tcp_port: u16,
}

/// NetConfigSpaceState; MTU: v1.16's `mtu: Option<u16>`.
#[derive(Serialize)]
struct NetConfigSpaceState<MTU> {
    guest_mac: Option<String>, // MacAddr: its string
    mtu: MTU,
}

#[derive(Serialize)]
struct NetState<MTU> {
    id: String,
    tap_if_name: String,
    rx_rate_limiter_state: RateLimiterState,
    tx_rate_limiter_state: RateLimiterState,
    mmds_ns: Option<MmdsNetworkStackState>,
    config_space: NetConfigSpaceState<MTU>,
    virtio_state: Virtio,
}

/// v1.15's VsockBackendState: a struct now (an enum with Uds to v1.14).
#[derive(Serialize)]
struct VsockBackendState {
    uds_path: String,
    local_port_last: u32,
}

#[derive(Serialize)]
struct VsockFrontendState {
    cid: u64,
    virtio_state: Virtio,
}

#[derive(Serialize)]
struct VsockState {
    backend: VsockBackendState,
    frontend: VsockFrontendState,
}

#[derive(Serialize)]
struct HintingState {
    host_cmd: u32,
    last_cmd_id: u32,
    guest_cmd: Option<u32>,
    acknowledge_on_finish: bool,
}

#[derive(Serialize)]
struct BalloonConfigSpaceState {
    num_pages: u32,
    actual_pages: u32,
}

#[derive(Serialize)]
struct BalloonState {
    stats_polling_interval_s: u16,
    stats_desc_index: Option<u16>,
    latest_stats: [Option<u64>; 16], // BalloonStatsState: 16 Option<u64>, a struct
    config_space: BalloonConfigSpaceState,
    hinting_state: HintingState,
    virtio_state: Virtio,
}

#[derive(Serialize)]
struct EntropyState {
    virtio_state: Virtio,
    rate_limiter_state: RateLimiterState,
}

#[derive(Serialize)]
struct TokenBucketConfig {
    size: u64,
    one_time_burst: Option<u64>,
    refill_time: u64,
}

#[derive(Serialize)]
struct RateLimiterConfig {
    bandwidth: Option<TokenBucketConfig>,
    ops: Option<TokenBucketConfig>,
}

/// PmemConfig; RL: v1.16's `rate_limiter: Option<RateLimiterConfig>`.
#[derive(Serialize)]
struct PmemConfig<RL> {
    id: String,
    path_on_host: String,
    root_device: bool,
    read_only: bool,
    rate_limiter: RL,
}

#[derive(Serialize)]
struct PmemConfigSpace {
    start: u64,
    size: u64,
}

/// PmemState; RL, RLS: v1.16's config rate limiter and `rate_limiter_state`.
#[derive(Serialize)]
struct PmemState<RL, RLS> {
    virtio_state: Virtio,
    config_space: PmemConfigSpace,
    config: PmemConfig<RL>,
    rate_limiter_state: RLS,
}

#[derive(Serialize)]
struct VirtioMemState {
    virtio_state: Virtio,
    addr: u64,
    region_size: u64,
    block_size: u64,
    usable_region_size: u64,
    requested_size: u64,
    slot_size: u64, // usize
    plugged_blocks: Vec<bool>,
}

#[allow(dead_code)]
#[derive(Serialize)]
enum MmdsVersion {
    V1,
    V2,
}

#[derive(Serialize)]
struct MmdsState {
    version: MmdsVersion,
    imds_compat: bool,
}

#[derive(Serialize)]
struct MmioTransportState {
    features_select: u32,
    acked_features_select: u32,
    queue_select: u32,
    device_status: u32,
    config_generation: u32,
    interrupt_status: u32,
}

#[derive(Serialize)]
struct MmioDeviceInfo {
    addr: u64,
    len: u64,
    gsi: Option<u32>,
}

/// device_manager/persist.rs VirtioDeviceState<T>.
#[derive(Serialize)]
struct Mmio<T> {
    device_id: String,
    device_state: T,
    transport_state: MmioTransportState,
    device_info: MmioDeviceInfo,
}

#[derive(Serialize)]
struct MsixTableEntry {
    msg_addr_lo: u32,
    msg_addr_hi: u32,
    msg_data: u32,
    vector_ctl: u32,
}

#[derive(Serialize)]
struct MsixConfigState {
    table_entries: Vec<MsixTableEntry>,
    pba_entries: Vec<u64>,
    masked: bool,
    enabled: bool,
    vectors: Vec<u32>,
}

#[derive(Serialize)]
struct VirtioPciCommonConfigState {
    driver_status: u8,
    config_generation: u8,
    device_feature_select: u32,
    driver_feature_select: u32,
    queue_select: u16,
    msix_config: u16,
    msix_queues: Vec<u16>,
}

/// v1.15's pci crate PciBar.
#[derive(Serialize)]
struct PciBar {
    addr: u32,
    size: u32,
    used: bool,
}

/// v1.15: src/pci/src/configuration.rs.
#[derive(Serialize)]
struct PciConfigurationState15 {
    registers: Vec<u32>,
    writable_bits: Vec<u32>,
    bars: Vec<PciBar>,
    last_capability: Option<(u64, u64)>, // (usize, usize)
    msix_cap_reg_idx: Option<u64>,        // usize
}

/// v1.16: src/vmm/src/pci/configuration.rs.
#[derive(Serialize)]
struct PciConfigurationState16 {
    registers: Vec<u32>,
    writable_bits: Vec<u32>,
    last_capability: Option<(u8, u8)>,
}

#[derive(Serialize)]
struct VirtioPciDeviceState15 {
    pci_device_bdf: String, // PciBdf: collect_str, "0000:00:01.0"
    device_activated: bool,
    cap_pci_cfg_offset: u64, // usize
    cap_pci_cfg: Vec<u8>,
    pci_configuration_state: PciConfigurationState15,
    pci_dev_state: VirtioPciCommonConfigState,
    msix_state: MsixConfigState,
    bar_address: u64,
}

/// v1.16's Bar; Bars { bars: [Bar; NUM_BAR_REGS = 6] }.
#[derive(Serialize)]
struct Bar {
    encoded_addr: u32,
    encoded_size: u32,
    about_to_be_read: bool,
}

#[derive(Serialize)]
struct Bars {
    bars: [Bar; 6],
}

#[derive(Serialize)]
struct VirtioPciDeviceState16 {
    sbdf: u32, // PciSBDF(u32): a newtype struct
    device_activated: bool,
    cap_pci_cfg_offset: u16,
    cap_pci_cfg: Vec<u8>,
    pci_configuration_state: PciConfigurationState16,
    pci_dev_state: VirtioPciCommonConfigState,
    msix_state: MsixConfigState,
    bars: Bars,
    msix_config_cap_offset: u16,
}

/// device_manager/pci_mngr.rs VirtioDeviceState<T> (v1.15: pci_device_bdf
/// u32; v1.16: sbdf PciSBDF, a u32 newtype: the same column).
#[derive(Serialize)]
struct Pci<T, P> {
    device_id: String,
    pci_device_bdf: u32,
    device_state: T,
    transport_state: P,
}

/// DeviceStates (MMIO, x86: no legacy_devices) and PciDevicesState's lists.
#[derive(Serialize)]
struct DeviceLists<BLK, NET, VS, BAL, ENT, PM, MEM> {
    block_devices: Vec<BLK>,
    net_devices: Vec<NET>,
    vsock_device: Option<VS>,
    balloon_device: Option<BAL>,
    mmds: Option<MmdsState>,
    entropy_device: Option<ENT>,
    pmem_devices: Vec<PM>,
    memory_device: Option<MEM>,
}

#[derive(Serialize)]
struct PciDevicesState<BLK, NET, VS, BAL, ENT, PM, MEM> {
    pci_enabled: bool,
    block_devices: Vec<BLK>,
    net_devices: Vec<NET>,
    vsock_device: Option<VS>,
    balloon_device: Option<BAL>,
    mmds: Option<MmdsState>,
    entropy_device: Option<ENT>,
    pmem_devices: Vec<PM>,
    memory_device: Option<MEM>,
}

#[derive(Serialize)]
struct VmGenIdState {
    gsi: u32,
    addr: u64,
}

/// devices/acpi/generated/vmclock_abi.rs (serde derive, field by field;
/// v1.15 adds vm_generation_counter).
#[derive(Serialize)]
struct VmclockAbi {
    magic: u32,
    size: u32,
    version: u16,
    counter_id: u8,
    time_type: u8,
    seq_count: u32,
    disruption_marker: u64,
    flags: u64,
    pad: [u8; 2],
    clock_status: u8,
    leap_second_smearing_hint: u8,
    tai_offset_sec: u16,
    leap_indicator: u8,
    counter_period_shift: u8,
    counter_value: u64,
    counter_period_frac_sec: u64,
    counter_period_esterror_rate_frac_sec: u64,
    counter_period_maxerror_rate_frac_sec: u64,
    time_sec: u64,
    time_frac_sec: u64,
    time_esterror_nanosec: u64,
    time_maxerror_nanosec: u64,
    vm_generation_counter: u64,
}

#[derive(Serialize)]
struct VmClockState {
    guest_address: u64,
    gsi: u32,
    inner: VmclockAbi,
}

#[derive(Serialize)]
struct AcpiDeviceManagerState {
    vmgenid: VmGenIdState,
    vmclock: VmClockState,
}

/// v1.16's device_manager/persist.rs SerialState.
#[derive(Serialize)]
struct SerialState {
    baud_divisor_low: u8,
    baud_divisor_high: u8,
    interrupt_enable: u8,
    interrupt_identification: u8,
    line_control: u8,
    line_status: u8,
    modem_control: u8,
    modem_status: u8,
    scratch: u8,
    in_buffer: Vec<u8>,
}

/// device_manager/mod.rs DevicesState; SER: v1.16's serial_state.
#[derive(Serialize)]
struct DevicesState<M, P, SER> {
    mmio_state: M,
    acpi_state: AcpiDeviceManagerState,
    pci_state: P,
    serial_state: SER,
}

#[derive(Serialize)]
struct MicrovmState<DEV> {
    vm_info: VmInfo,
    kvm_state: KvmState,
    vm_state: VmState,
    vcpu_states: Vec<VcpuState>,
    device_states: DEV,
}

#[derive(Serialize)]
struct SnapshotHdr {
    magic: u64,
    version: String, // semver::Version: collect_str
}

#[derive(Serialize)]
struct Snapshot<D> {
    header: SnapshotHdr,
    data: D,
}

type Net15 = NetState<()>;
type Net16 = NetState<Option<u16>>;
type Pmem15 = PmemState<(), ()>;
type Pmem16 = PmemState<Option<RateLimiterConfig>, RateLimiterState>;
type Mmio15 = DeviceLists<
    Mmio<BlockState>,
    Mmio<Net15>,
    Mmio<VsockState>,
    Mmio<BalloonState>,
    Mmio<EntropyState>,
    Mmio<Pmem15>,
    Mmio<VirtioMemState>,
>;
type P15<T> = Pci<T, VirtioPciDeviceState15>;
type Pci15 = PciDevicesState<
    P15<BlockState>,
    P15<Net15>,
    P15<VsockState>,
    P15<BalloonState>,
    P15<EntropyState>,
    P15<Pmem15>,
    P15<VirtioMemState>,
>;
type Mmio16 = DeviceLists<
    Mmio<BlockState>,
    Mmio<Net16>,
    Mmio<VsockState>,
    Mmio<BalloonState>,
    Mmio<EntropyState>,
    Mmio<Pmem16>,
    Mmio<VirtioMemState>,
>;
type P16<T> = Pci<T, VirtioPciDeviceState16>;
type Pci16 = PciDevicesState<
    P16<BlockState>,
    P16<Net16>,
    P16<VsockState>,
    P16<BalloonState>,
    P16<EntropyState>,
    P16<Pmem16>,
    P16<VirtioMemState>,
>;
type Devices15 = DevicesState<Mmio15, Pci15, ()>;
type Devices16 = DevicesState<Mmio16, Pci16, Option<SerialState>>;

// ---- the content ---------------------------------------------------------------------
// The vCPU content follows tests/fc/mkfcsnap.c's, so that fredck finds the
// same things in these files as in the bincode ones.

const MAGIC_X86: u64 = 0x0710_1984_8664_0000;
const CR2: u64 = 0x0000_7f5a_3c00_1ff8;

#[derive(Clone, Copy, PartialEq)]
enum Layout {
    V15,
    V16,
}

#[derive(Clone)]
struct Scenario {
    vcpus: usize,
    /// The vCPU with the exception and its vector (14, 1, 7), if any.
    risky: Option<(usize, u8)>,
    dr6: u64,
    xcr0: u64,
    fred: bool,
    /// cpuid entries of each vCPU (3 unless set).
    cpuid_entries: Vec<usize>,
    devices: Devices,
}

#[derive(Clone, Copy, PartialEq)]
enum Devices {
    None,
    Mmio,
    Pci,
}

fn le(p: &mut [u8], off: usize, v: u64, n: usize) {
    p[off..off + n].copy_from_slice(&v.to_le_bytes()[..n]);
}

fn fill(n: usize, seed: usize) -> Vec<u8> {
    (0..n).map(|k| (k * 13 + seed) as u8).collect()
}

fn cpuid(n: usize) -> CpuId {
    let leaves = [(0u32, 0u32), (1, 0), (7, 1)];
    let mut hdr = vec![0u8; 8];
    le(&mut hdr, 0, n as u64, 4);
    let entries = (0..n)
        .map(|i| {
            let mut e = vec![0u8; 40];
            let (f, idx) = if i < 3 { leaves[i] } else { (0x8000_0000 + i as u32, 0) };
            le(&mut e, 0, f as u64, 4);
            le(&mut e, 4, idx as u64, 4);
            le(&mut e, 12, 0x10000 * i as u64 + 0x1F, 4);
            if i == 2 {
                le(&mut e, 12, 1 << 17, 4); // CPUID.(7,1):EAX.FRED
            }
            Kvm(e)
        })
        .collect();
    Fam(Kvm(hdr), entries)
}

fn msrs(idx: &[u32], val: &[u64]) -> Msrs {
    let mut hdr = vec![0u8; 8];
    le(&mut hdr, 0, idx.len() as u64, 4);
    let entries = idx
        .iter()
        .zip(val)
        .map(|(&i, &v)| {
            let mut e = vec![0u8; 16];
            le(&mut e, 0, i as u64, 4);
            le(&mut e, 8, v, 8);
            Kvm(e)
        })
        .collect();
    Fam(Kvm(hdr), entries)
}

/// The 64 bytes of kvm_vcpu_events as KVM reports them.
fn events(sc: &Scenario, i: usize) -> Vec<u8> {
    let mut ev = vec![0u8; 64];
    ev[20] = 0x0D; // flags: NMI_PENDING | SHADOW | SMM
    if let Some((at, vec)) = sc.risky {
        if at == i {
            ev[0] = 1; // exception.injected
            ev[1] = vec;
            ev[2] = (vec == 14) as u8;
            le(&mut ev, 4, if vec == 14 { 2 } else { 0 }, 4);
        }
    }
    ev
}

fn vcpu(sc: &Scenario, i: usize) -> VcpuState {
    let risky = matches!(sc.risky, Some((at, _)) if at == i);
    let mut dbg = vec![0u8; 128];
    le(&mut dbg, 32, if risky { sc.dr6 } else { 0xFFFF0FF0 }, 8);
    le(&mut dbg, 40, 0x400, 8);
    let mut regs = vec![0u8; 144];
    le(&mut regs, 128, 0xffff_ffff_8100_0000 + i as u64 * 0x40, 8);
    le(&mut regs, 136, 0x2, 8);
    let mut sregs = vec![0u8; 312];
    le(&mut sregs, 224, 0x8005_0033, 8);
    le(&mut sregs, 232, if risky { CR2 } else { 0 }, 8);
    le(&mut sregs, 240, 0x1000, 8);
    le(&mut sregs, 248, 0x3506F0 | if sc.fred { 1 << 32 } else { 0 }, 8);
    le(&mut sregs, 264, 0xD01, 8);
    le(&mut sregs, 272, 0xFEE0_0900, 8);
    let mut xcrs = vec![0u8; 392];
    le(&mut xcrs, 0, 1, 4);
    le(&mut xcrs, 16, sc.xcr0, 8);
    let mut xsave2 = vec![0u8; 4104];
    le(&mut xsave2, 0, 3, 8); // kvm_xsave2.len: three u32 after the legacy area
    let idx = [0x174, 0x175, 0x176, 0xC000_0081, 0xC000_0082, 0xC000_0084, 0x10];
    let val = [
        0x10,
        0xffff_fe00_0000_3000,
        0xffff_ffff_81a0_1560,
        0x0023_0010_0000_0000,
        0xffff_ffff_81a0_0080,
        0x47700,
        0x1234_5678,
    ];
    VcpuState {
        cpuid: cpuid(sc.cpuid_entries[i]),
        saved_msrs: vec![msrs(&idx[..4], &val[..4]), msrs(&idx[4..], &val[4..])],
        debug_regs: Kvm(dbg),
        lapic: Kvm(fill(1024, i)),
        mp_state: Kvm(vec![0; 4]),
        regs: Kvm(regs),
        sregs: Kvm(sregs),
        vcpu_events: Kvm(events(sc, i)),
        xcrs: Kvm(xcrs),
        xsave: Fam(Kvm(xsave2), vec![0xA0, 0xA1, 0xA2]),
        tsc_khz: if i == 0 { Some(2_995_200) } else { None },
    }
}

fn vm_info() -> VmInfo {
    VmInfo {
        mem_size_mib: 1024,
        smt: false,
        cpu_template: StaticCpuTemplate::None,
        boot_source: BootSourceConfig {
            kernel_image_path: "/srv/vm/vmlinux-6.12".into(),
            initrd_path: None,
            boot_args: Some("console=ttyS0 reboot=k panic=1 pci=off".into()),
        },
        huge_pages: HugePageConfig::None,
    }
}

fn node(start: u64, end: u64, state: NodeState, left: Option<InnerNode>, right: Option<InnerNode>) -> InnerNode {
    let h = 1 + left.as_ref().map_or(0, |n| n.height).max(right.as_ref().map_or(0, |n| n.height));
    InnerNode {
        key: RangeInclusive { start, end },
        node_state: state,
        left: left.map(Box::new),
        right: right.map(Box::new),
        height: h,
    }
}

/// An address allocator with `used` allocations carved from its start.
fn address_allocator(base: u64, size: u64, used: usize) -> AddressAllocator {
    let end = base + size - 1;
    let root = match used {
        0 => node(base, end, NodeState::Free, None, None),
        1 => node(base, base + 0xFFF, NodeState::Allocated, None,
                  Some(node(base + 0x1000, end, NodeState::Free, None, None))),
        _ => node(base + 0x1000, base + 0x1FFF, NodeState::Allocated,
                  Some(node(base, base + 0xFFF, NodeState::Allocated, None, None)),
                  Some(node(base + 0x2000, end, NodeState::Free, None, None))),
    };
    AddressAllocator {
        address_space: RangeInclusive { start: base, end },
        interval_tree: IntervalTree { root: Some(Box::new(root)) },
    }
}

fn vm_state() -> VmState {
    let mut clock = vec![0u8; 48];
    le(&mut clock, 0, 0x12_3456_7890, 8);
    le(&mut clock, 8, 2, 4);
    let chip = |id: u64| {
        let mut c = fill(520, id as usize + 5);
        le(&mut c, 0, id, 4);
        le(&mut c, 4, 0, 4);
        Kvm(c)
    };
    VmState {
        memory: GuestMemoryState {
            regions: vec![
                GuestMemoryRegionState { base_address: 0, size: 0xC000_0000,
                    region_type: GuestRegionType::Dram, plugged: vec![true] },
                GuestMemoryRegionState { base_address: 0x1_0000_0000, size: 0x4000_0000,
                    region_type: GuestRegionType::Dram, plugged: vec![true] },
            ],
        },
        resource_allocator: ResourceAllocator {
            gsi_legacy_allocator: IdAllocator { range_base: 5, next_id: Some(12),
                range_end: 23, freed_ids: [9u32].into_iter().collect() },
            gsi_msi_allocator: IdAllocator { range_base: 24, next_id: None,
                range_end: 4095, freed_ids: BTreeSet::new() },
            mmio32_memory: address_allocator(0xC000_0000, 0x3000_0000, 1),
            mmio64_memory: address_allocator(0x40_0000_0000, 0x40_0000_0000, 0),
            past_mmio64_memory: address_allocator(0x80_0000_0000, 0x10_0000_0000, 0),
            system_memory: address_allocator(0xFEC0_0000, 0x10_0000, 2),
        },
        pitstate: Kvm(fill(112, 1)),
        clock: Kvm(clock),
        pic_master: chip(0),
        pic_slave: chip(1),
        ioapic: chip(2),
    }
}

fn queue(q: u64, ready: bool) -> QueueState {
    QueueState {
        max_size: 256,
        size: if ready { 256 } else { 0 },
        ready,
        desc_table: 0x1_0000 + q * 0x4000,
        avail_ring: 0x1_1000 + q * 0x4000,
        used_ring: 0x1_2000 + q * 0x4000,
        next_avail: 17 + q as u16,
        next_used: 17 + q as u16,
        num_added: 0,
    }
}

fn virtio(t: VirtioDeviceType, queues: usize) -> Virtio {
    Virtio {
        device_type: t,
        avail_features: 0x1_3000_0060,
        acked_features: 0x1_3000_0040,
        queues: (0..queues).map(|q| queue(q as u64, q != 2)).collect(),
        activated: true,
    }
}

fn bucket(size: u64) -> TokenBucketState {
    TokenBucketState { size, one_time_burst: 0, refill_time: 1000, budget: size / 2, elapsed_ns: 123_456 }
}

fn limiter(ops: bool, bw: bool) -> RateLimiterState {
    RateLimiterState {
        ops: ops.then(|| bucket(1000)),
        bandwidth: bw.then(|| bucket(10 << 20)),
    }
}

fn block_virtio() -> BlockState {
    BlockState::Virtio(VirtioBlockState {
        id: "rootfs".into(),
        partuuid: None,
        cache_type: CacheType::Unsafe,
        root_device: true,
        disk_path: "/srv/vm/rootfs.ext4".into(),
        virtio_state: virtio(VirtioDeviceType::Block, 1),
        rate_limiter_state: limiter(false, true),
        file_engine_type: FileEngineTypeState::Sync,
    })
}

fn block_vhost() -> BlockState {
    BlockState::VhostUser(VhostUserBlockState {
        id: "scratch".into(),
        partuuid: Some("a1b2c3d4-01".into()),
        cache_type: CacheType::Writeback,
        root_device: false,
        socket_path: "/run/vhost-user-blk.sock".into(),
        vu_acked_protocol_features: 0x202,
        config_space: (0..60).map(|k| (k * 7) as u8).collect(),
        virtio_state: virtio(VirtioDeviceType::Block, 2),
    })
}

fn net<MTU>(mtu: MTU) -> NetState<MTU> {
    NetState {
        id: "eth0".into(),
        tap_if_name: "tap0".into(),
        rx_rate_limiter_state: limiter(true, true),
        tx_rate_limiter_state: limiter(false, false),
        mmds_ns: Some(MmdsNetworkStackState {
            mac_addr: [0x06, 0x01, 0x23, 0x45, 0x67, 0x01],
            ipv4_addr: 0xA9FE_A9FE,
            tcp_port: 80,
        }),
        config_space: NetConfigSpaceState { guest_mac: Some("06:00:ac:10:00:02".into()), mtu },
        virtio_state: virtio(VirtioDeviceType::Net, 2),
    }
}

fn vsock() -> VsockState {
    VsockState {
        backend: VsockBackendState { uds_path: "/run/v.sock".into(), local_port_last: 1 << 30 },
        frontend: VsockFrontendState { cid: 3, virtio_state: virtio(VirtioDeviceType::Vsock, 3) },
    }
}

fn balloon() -> BalloonState {
    let mut stats = [None; 16];
    for (k, s) in stats.iter_mut().enumerate().take(10) {
        if k != 4 {
            *s = Some(0x1000 * (k as u64 + 1));
        }
    }
    BalloonState {
        stats_polling_interval_s: 5,
        stats_desc_index: Some(3),
        latest_stats: stats,
        config_space: BalloonConfigSpaceState { num_pages: 4096, actual_pages: 2048 },
        hinting_state: HintingState { host_cmd: 2, last_cmd_id: 1, guest_cmd: None,
                                      acknowledge_on_finish: true },
        virtio_state: virtio(VirtioDeviceType::Balloon, 3),
    }
}

fn entropy() -> EntropyState {
    EntropyState { virtio_state: virtio(VirtioDeviceType::Rng, 1), rate_limiter_state: limiter(true, false) }
}

fn pmem<RL, RLS>(rl: RL, rls: RLS) -> PmemState<RL, RLS> {
    PmemState {
        virtio_state: virtio(VirtioDeviceType::Pmem, 1),
        config_space: PmemConfigSpace { start: 0x80_0000_0000, size: 0x1000_0000 },
        config: PmemConfig { id: "pmem0".into(), path_on_host: "/srv/vm/data.img".into(),
                             root_device: false, read_only: true, rate_limiter: rl },
        rate_limiter_state: rls,
    }
}

fn virtio_mem() -> VirtioMemState {
    VirtioMemState {
        virtio_state: virtio(VirtioDeviceType::Mem, 1),
        addr: 0x1_4000_0000,
        region_size: 0x4000_0000,
        block_size: 0x20_0000,
        usable_region_size: 0x4000_0000,
        requested_size: 0x1000_0000,
        slot_size: 0x800_0000,
        plugged_blocks: (0..512).map(|k| k < 128).collect(),
    }
}

fn mmio<T>(id: &str, k: u64, state: T) -> Mmio<T> {
    Mmio {
        device_id: id.into(),
        device_state: state,
        transport_state: MmioTransportState { features_select: 1, acked_features_select: 0,
            queue_select: 0, device_status: 15, config_generation: 0, interrupt_status: 0 },
        device_info: MmioDeviceInfo { addr: 0xC000_1000 + 0x1000 * k, len: 0x1000, gsi: Some(5 + k as u32) },
    }
}

fn msix(vectors: usize) -> MsixConfigState {
    MsixConfigState {
        table_entries: (0..vectors).map(|v| MsixTableEntry { msg_addr_lo: 0xFEE0_0000,
            msg_addr_hi: 0, msg_data: 0x4020 + v as u32, vector_ctl: 0 }).collect(),
        pba_entries: vec![0],
        masked: false,
        enabled: true,
        vectors: (0..vectors as u32).map(|v| 24 + v).collect(),
    }
}

fn common(queues: usize) -> VirtioPciCommonConfigState {
    VirtioPciCommonConfigState { driver_status: 15, config_generation: 0,
        device_feature_select: 1, driver_feature_select: 1, queue_select: 0,
        msix_config: 0, msix_queues: (1..=queues as u16).collect() }
}

fn registers(dev: u64) -> Vec<u32> {
    (0..64).map(|r| if r == 0 { 0x1041_1AF4 + dev as u32 } else { (r * 0x0101_0101) as u32 }).collect()
}

fn pci15<T>(id: &str, dev: u64, queues: usize, state: T) -> P15<T> {
    Pci {
        device_id: id.into(),
        pci_device_bdf: (dev as u32) << 3,
        device_state: state,
        transport_state: VirtioPciDeviceState15 {
            pci_device_bdf: format!("0000:00:{:02x}.0", dev),
            device_activated: true,
            cap_pci_cfg_offset: 0x70,
            cap_pci_cfg: vec![0; 20],
            pci_configuration_state: PciConfigurationState15 {
                registers: registers(dev),
                writable_bits: vec![0xFFFF_FFFF; 64],
                bars: (0..6).map(|b| PciBar { addr: if b == 0 { 0xE000_0000 } else { 0 },
                    size: if b == 0 { 0x8_0000 } else { 0 }, used: b == 0 }).collect(),
                last_capability: Some((0x84, 0x14)),
                msix_cap_reg_idx: Some(0x10),
            },
            pci_dev_state: common(queues),
            msix_state: msix(queues + 1),
            bar_address: 0x40_0000_0000 + dev * 0x8_0000,
        },
    }
}

fn pci16<T>(id: &str, dev: u64, queues: usize, state: T) -> P16<T> {
    Pci {
        device_id: id.into(),
        pci_device_bdf: (dev as u32) << 3,
        device_state: state,
        transport_state: VirtioPciDeviceState16 {
            sbdf: (dev as u32) << 3,
            device_activated: true,
            cap_pci_cfg_offset: 0x70,
            cap_pci_cfg: vec![0; 20],
            pci_configuration_state: PciConfigurationState16 {
                registers: registers(dev),
                writable_bits: vec![0xFFFF_FFFF; 64],
                last_capability: Some((0x84, 0x14)),
            },
            pci_dev_state: common(queues),
            msix_state: msix(queues + 1),
            bars: Bars { bars: core::array::from_fn(|b| Bar {
                encoded_addr: if b == 0 { 0x0000_0004 } else if b == 1 { 0x40 } else { 0 },
                encoded_size: if b == 0 { 0xFFF8_0000 } else if b == 1 { 0xFFFF_FFFF } else { 0 },
                about_to_be_read: false }) },
            msix_config_cap_offset: 0x40,
        },
    }
}

fn acpi() -> AcpiDeviceManagerState {
    AcpiDeviceManagerState {
        vmgenid: VmGenIdState { gsi: 4, addr: 0xFEE_F000 },
        vmclock: VmClockState {
            guest_address: 0xFEEF_E000,
            gsi: 3,
            inner: VmclockAbi {
                magic: 0x4B4C_4356, size: 4096, version: 1, counter_id: 0, time_type: 0,
                seq_count: 2, disruption_marker: 1, flags: 0, pad: [0, 0], clock_status: 0,
                leap_second_smearing_hint: 0, tai_offset_sec: 37, leap_indicator: 0,
                counter_period_shift: 0, counter_value: 0, counter_period_frac_sec: 0,
                counter_period_esterror_rate_frac_sec: 0, counter_period_maxerror_rate_frac_sec: 0,
                time_sec: 0, time_frac_sec: 0, time_esterror_nanosec: 0,
                time_maxerror_nanosec: 0, vm_generation_counter: 1,
            },
        },
    }
}

fn empty_lists<B, N, V, L, E, P, M>() -> DeviceLists<B, N, V, L, E, P, M> {
    DeviceLists { block_devices: vec![], net_devices: vec![], vsock_device: None,
        balloon_device: None, mmds: None, entropy_device: None, pmem_devices: vec![],
        memory_device: None }
}

fn empty_pci<B, N, V, L, E, P, M>() -> PciDevicesState<B, N, V, L, E, P, M> {
    PciDevicesState { pci_enabled: false, block_devices: vec![], net_devices: vec![],
        vsock_device: None, balloon_device: None, mmds: None, entropy_device: None,
        pmem_devices: vec![], memory_device: None }
}

fn mmds() -> Option<MmdsState> {
    Some(MmdsState { version: MmdsVersion::V2, imds_compat: false })
}

fn devices15(d: Devices) -> Devices15 {
    let mut m: Mmio15 = empty_lists();
    let mut p: Pci15 = empty_pci();
    match d {
        Devices::None => {}
        Devices::Mmio => {
            m = DeviceLists {
                block_devices: vec![mmio("rootfs", 0, block_virtio()), mmio("scratch", 1, block_vhost())],
                net_devices: vec![mmio("eth0", 2, net(()))],
                vsock_device: Some(mmio("vsock", 3, vsock())),
                balloon_device: Some(mmio("balloon", 4, balloon())),
                mmds: mmds(),
                entropy_device: Some(mmio("rng", 5, entropy())),
                pmem_devices: vec![mmio("pmem0", 6, pmem((), ()))],
                memory_device: Some(mmio("mem", 7, virtio_mem())),
            }
        }
        Devices::Pci => {
            p = PciDevicesState {
                pci_enabled: true,
                block_devices: vec![pci15("rootfs", 1, 1, block_virtio())],
                net_devices: vec![pci15("eth0", 2, 2, net(()))],
                vsock_device: Some(pci15("vsock", 3, 3, vsock())),
                balloon_device: None,
                mmds: mmds(),
                entropy_device: Some(pci15("rng", 4, 1, entropy())),
                pmem_devices: vec![],
                memory_device: None,
            }
        }
    }
    DevicesState { mmio_state: m, acpi_state: acpi(), pci_state: p, serial_state: () }
}

fn devices16(d: Devices) -> Devices16 {
    let mut m: Mmio16 = empty_lists();
    let mut p: Pci16 = empty_pci();
    let rlc = || Some(RateLimiterConfig { bandwidth: None,
        ops: Some(TokenBucketConfig { size: 100, one_time_burst: None, refill_time: 1000 }) });
    let serial = match d {
        Devices::None => None,
        _ => Some(SerialState { baud_divisor_low: 1, baud_divisor_high: 0, interrupt_enable: 1,
            interrupt_identification: 0xC1, line_control: 3, line_status: 0x60,
            modem_control: 8, modem_status: 0xB0, scratch: 0, in_buffer: b"ok\r".to_vec() }),
    };
    match d {
        Devices::None => {}
        Devices::Mmio => {
            m = DeviceLists {
                block_devices: vec![mmio("rootfs", 0, block_virtio()), mmio("scratch", 1, block_vhost())],
                net_devices: vec![mmio("eth0", 2, net(Some(1500)))],
                vsock_device: Some(mmio("vsock", 3, vsock())),
                balloon_device: Some(mmio("balloon", 4, balloon())),
                mmds: mmds(),
                entropy_device: Some(mmio("rng", 5, entropy())),
                pmem_devices: vec![mmio("pmem0", 6, pmem(rlc(), limiter(true, false)))],
                memory_device: Some(mmio("mem", 7, virtio_mem())),
            }
        }
        Devices::Pci => {
            p = PciDevicesState {
                pci_enabled: true,
                block_devices: vec![pci16("rootfs", 1, 1, block_virtio())],
                net_devices: vec![pci16("eth0", 2, 2, net(None))],
                vsock_device: Some(pci16("vsock", 3, 3, vsock())),
                balloon_device: Some(pci16("balloon", 5, 3, balloon())),
                mmds: mmds(),
                entropy_device: None,
                pmem_devices: vec![pci16("pmem0", 6, 1, pmem(None, limiter(false, false)))],
                memory_device: None,
            }
        }
    }
    DevicesState { mmio_state: m, acpi_state: acpi(), pci_state: p, serial_state: serial }
}

/// CRC-64/Jones, reflected, no final xor (the crc64 2.0.0 crate's `crc64(0, bytes)`).
fn crc64(bytes: &[u8]) -> u64 {
    let mut crc: u64 = 0;
    for &b in bytes {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x95AC_9329_AC4B_C9B5 } else { crc >> 1 };
        }
    }
    crc
}

fn with_crc(mut body: Vec<u8>) -> Vec<u8> {
    let c = crc64(&body);
    body.extend_from_slice(&c.to_le_bytes());
    body
}

fn microvm<D>(vcpus: Vec<VcpuState>, devices: D) -> MicrovmState<D> {
    MicrovmState {
        vm_info: vm_info(),
        kvm_state: KvmState { kvm_cap_modifiers: vec!["171".into(), "!36".into()] },
        vm_state: vm_state(),
        vcpu_states: vcpus,
        device_states: devices,
    }
}

fn serialize_state(layout: Layout, sc: &Scenario, vcpus: Vec<VcpuState>) -> Vec<u8> {
    let hdr = |v: &str| SnapshotHdr { magic: MAGIC_X86, version: v.into() };
    let body = match layout {
        Layout::V15 => bitcode::serialize(&Snapshot { header: hdr("9.0.0"),
                                                      data: microvm(vcpus, devices15(sc.devices)) }),
        Layout::V16 => bitcode::serialize(&Snapshot { header: hdr("10.0.0"),
                                                      data: microvm(vcpus, devices16(sc.devices)) }),
    };
    with_crc(body.expect("bitcode::serialize"))
}

/// The at-risk exception dropped: every exception byte and the payload cleared, flags kept.
fn dropped(ev: &[u8]) -> Vec<u8> {
    let mut e = ev.to_vec();
    e[0..8].fill(0);
    e[55] = 0;
    e[56..64].fill(0);
    e
}

/// Re-queued as pending with its payload: injected 0, pending 1, VALID_PAYLOAD, has_payload 1.
fn pending(ev: &[u8], payload: u64) -> Vec<u8> {
    let mut e = ev.to_vec();
    e[0] = 0;
    e[3] = 1;
    let flags = u32::from_le_bytes(e[20..24].try_into().unwrap()) | 0x10;
    e[20..24].copy_from_slice(&flags.to_le_bytes());
    e[55] = 1;
    e[56..64].copy_from_slice(&payload.to_le_bytes());
    e
}

struct Case {
    name: &'static str,
    sc: Scenario,
    /// The repairs to write: (suffix, the new events of the at-risk vCPU).
    repairs: Vec<(&'static str, fn(&[u8], u64) -> Vec<u8>, u64)>,
}

fn scenario(vcpus: usize, risky: Option<(usize, u8)>, devices: Devices) -> Scenario {
    Scenario { vcpus, risky, dr6: 0xFFFF0FF0, xcr0: 0x7, fred: true,
               cpuid_entries: vec![3; vcpus], devices }
}

fn drop_fn(ev: &[u8], _: u64) -> Vec<u8> {
    dropped(ev)
}

fn cases() -> Vec<Case> {
    let pf = |n: usize, d| scenario(n, Some((n - 1, 14)), d);
    let mut db = scenario(4, Some((1, 1)), Devices::Mmio);
    db.dr6 = 0xFFFF0FF2;
    let mut nm = scenario(2, Some((1, 7)), Devices::None);
    nm.xcr0 = 0x7;
    let mut amx = scenario(2, Some((1, 7)), Devices::Mmio);
    amx.xcr0 = 0x60007;
    let mut nofred = scenario(2, Some((1, 14)), Devices::Mmio);
    nofred.fred = false;
    let mut len255 = pf(3, Devices::Mmio);
    len255.cpuid_entries = vec![254, 255, 256];
    vec![
        Case { name: "clean-1", sc: scenario(1, None, Devices::Mmio), repairs: vec![] },
        Case { name: "pf-2", sc: pf(2, Devices::None),
               repairs: vec![("drop", drop_fn, 0), ("pending", pending, CR2)] },
        Case { name: "pf-4-pci", sc: pf(4, Devices::Pci),
               repairs: vec![("drop", drop_fn, 0), ("pending", pending, CR2)] },
        Case { name: "pf-32", sc: pf(32, Devices::Mmio),
               repairs: vec![("drop", drop_fn, 0), ("pending", pending, CR2)] },
        Case { name: "db-4", sc: db, repairs: vec![("pending", pending, 2)] },
        Case { name: "nm-2", sc: nm, repairs: vec![("drop", drop_fn, 0), ("pending", pending, 0)] },
        Case { name: "nm-amx-2", sc: amx, repairs: vec![("drop", drop_fn, 0)] },
        Case { name: "nofred-2", sc: nofred, repairs: vec![] },
        Case { name: "len255-3", sc: len255, repairs: vec![("drop", drop_fn, 0)] },
    ]
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 2 {
        eprintln!("usage: fc-bitcode-gen OUTDIR");
        std::process::exit(2);
    }
    let dir = Path::new(&a[1]);
    for (layout, rel) in [(Layout::V15, "v1.15"), (Layout::V16, "v1.16")] {
        for case in cases() {
            let sc = &case.sc;
            let vcpus: Vec<VcpuState> = (0..sc.vcpus).map(|i| vcpu(sc, i)).collect();
            let write = |suffix: &str, bytes: &[u8]| {
                let p = dir.join(format!("{}-{}.{}", rel, case.name, suffix));
                std::fs::write(&p, bytes).expect("write");
                println!("{} {}", p.display(), bytes.len());
            };
            write("snap", &serialize_state(layout, sc, vcpus.clone()));
            for (suffix, f, payload) in &case.repairs {
                let (at, _) = sc.risky.expect("a repair needs an exception");
                let mut v = vcpus.clone();
                v[at].vcpu_events = Kvm(f(&vcpus[at].vcpu_events.0, *payload));
                write(suffix, &serialize_state(layout, sc, v));
            }
        }
    }
}
