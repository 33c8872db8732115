#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Rebuild tests/fc/bitcode/ by hand (not part of make check).
# Usage: run.sh BITCODE_SRC BYTEMUCK_SRC OUTDIR
#   BITCODE_SRC   SoftbearStudios/bitcode at its 0.6.9 commit (d0049d906574)
#   BYTEMUCK_SRC  Lokathor/bytemuck at v1.24.0 (Firecracker v1.15's Cargo.lock)
# serde and serde_derive come from Debian (apt-get install
# librust-serde-derive-dev); nothing is downloaded.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bitcode=$(cd "${1:?usage: run.sh BITCODE_SRC BYTEMUCK_SRC OUTDIR}" && pwd)
bytemuck=$(cd "${2:?usage: run.sh BITCODE_SRC BYTEMUCK_SRC OUTDIR}" && pwd)
out=${3:?usage: run.sh BITCODE_SRC BYTEMUCK_SRC OUTDIR}
grep -q '^version = "0.6.9"$' "$bitcode/Cargo.toml" || { echo "$bitcode is not bitcode 0.6.9" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Built in a copy: cargo writes Cargo.lock and target/ beside Cargo.toml.
mkdir "$work/crate" "$work/crate/vendor" "$work/crate/.cargo"
cp -R "$here/Cargo.toml" "$here/src" "$work/crate/"
# bitcode's src/ unchanged; its manifest trimmed to the dependencies the
# serde and std features use (cargo would otherwise want every optional
# and dev dependency -- glam, uuid, zstd... -- to resolve the lock file).
mkdir "$work/crate/vendor/bitcode"
cp -R "$bitcode/src" "$bitcode/README.md" "$work/crate/vendor/bitcode/"
cat >"$work/crate/vendor/bitcode/Cargo.toml" <<TOML
[package]
name = "bitcode"
version = "0.6.9"
edition = "2021"
[dependencies]
bytemuck = { version = "1.14", features = [ "min_const_generics", "must_cast" ] }
serde = { version = "1.0", default-features = false, features = [ "alloc" ], optional = true }
[features]
std = [ "serde?/std" ]
default = [ "std" ]
TOML
cat >"$work/crate/.cargo/config.toml" <<CFG
[source.crates-io]
replace-with = "debian"
[source.debian]
directory = "/usr/share/cargo/registry"
[patch.crates-io]
bytemuck = { path = "$bytemuck" }
[net]
offline = true
CFG
(cd "$work/crate" && cargo build --quiet --offline --release)
mkdir -p "$out"
"$work/crate/target/release/fc-bitcode-gen" "$out"
