// SPDX-License-Identifier: GPL-2.0-or-later
//! fc-bincode-crosscheck MODE FILE VCPUS AFTER
//!
//! MODE "bytes" (Firecracker v1.8 to v1.11), "xsave2" (v1.12 to v1.14) or
//! "raw" (v1.7).  Decodes FILE[VCPUS..AFTER] as Vec<VcpuState> with
//! bincode 1's default (fixint, little-endian) options, requires that it
//! uses exactly those bytes, encodes the result again and requires the
//! same bytes.  The types mirror how serde sees Firecracker's: kvm
//! structures through kvm-bindings' serialize_bytes (v1.8 on) or as
//! fixed arrays of their bytes (v1.7), FamStructWrapper as the 2-tuple
//! (header, Vec<entry>) of vmm-sys-util.  Written for fredck; no
//! Firecracker code.
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;

static mut RAW: bool = false;

fn raw() -> bool {
    // SAFETY: set once in main before any (de)serialisation.
    unsafe { RAW }
}

/// A kvm structure of N bytes: [u64 N][bytes] (serialize_bytes), or the
/// N bytes alone (v1.7: derived field by field, big arrays as tuples).
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

struct KvmVisitor<const N: usize>;

impl<'de, const N: usize> Visitor<'de> for KvmVisitor<N> {
    type Value = Kvm<N>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} bytes", N)
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Kvm<N>, E> {
        if v.len() != N {
            return Err(E::custom(format!("{} bytes, expected {}", v.len(), N)));
        }
        Ok(Kvm(v.to_vec()))
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Kvm<N>, E> {
        self.visit_bytes(&v)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kvm<N>, A::Error> {
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
            d.deserialize_tuple(N, KvmVisitor::<N>)
        } else {
            d.deserialize_bytes(KvmVisitor::<N>)
        }
    }
}

/// FamStructWrapper<H>: the tuple (header, Vec<E>).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Fam<H, E>(H, Vec<E>);

type CpuId = Fam<Kvm<8>, Kvm<40>>;
type Msrs = Fam<Kvm<8>, Kvm<16>>;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct VcpuStateV1<X> {
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

type Xsave2 = Fam<Kvm<4104>, u32>;

fn check<X>(bytes: &[u8]) -> Result<usize, String>
where
    X: Serialize + for<'a> Deserialize<'a> + PartialEq + fmt::Debug,
{
    let mut rest = bytes;
    let v: Vec<VcpuStateV1<X>> =
        bincode::deserialize_from(&mut rest).map_err(|e| format!("decode: {e}"))?;
    let used = bytes.len() - rest.len();
    if rest.len() != 0 {
        return Err(format!("{} bytes left after the vCPUs", rest.len()));
    }
    for (i, s) in v.iter().enumerate() {
        let nent = u32::from_le_bytes(s.cpuid.0 .0[0..4].try_into().unwrap());
        if nent as usize != s.cpuid.1.len() {
            return Err(format!("vCPU {i}: cpuid header counts {nent}"));
        }
    }
    let again = bincode::serialize(&v).map_err(|e| format!("encode: {e}"))?;
    if again != bytes {
        return Err("encoding again gives other bytes".into());
    }
    println!("{} vCPUs, {} bytes: decoded and encoded again identically", v.len(), used);
    Ok(used)
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 5 {
        eprintln!("usage: fc-bincode-crosscheck bytes|xsave2|raw FILE VCPUS AFTER");
        std::process::exit(2);
    }
    let data = std::fs::read(&a[2]).expect("read");
    let (from, to): (usize, usize) = (a[3].parse().unwrap(), a[4].parse().unwrap());
    // SAFETY: before any (de)serialisation.
    unsafe { RAW = a[1] == "raw" };
    let r = match a[1].as_str() {
        "xsave2" => check::<Xsave2>(&data[from..to]),
        _ => check::<Kvm<4096>>(&data[from..to]),
    };
    if let Err(e) = r {
        eprintln!("{}: {e}", a[2]);
        std::process::exit(1);
    }
}
