#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Cross-check tests/fc/mkfcsnap's vcpu_states for every bincode release
# against Debian's bincode 1.3.3 (apt-get install librust-bincode-dev
# librust-serde-derive-dev).  Usage: run.sh BUILDDIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mk=${1:?usage: run.sh BUILDDIR}/tests/fc/mkfcsnap
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Built in a copy: cargo writes Cargo.lock and target/ beside Cargo.toml.
cp -R "$here" "$work/crate"
(cd "$work/crate" && cargo build --quiet --offline)
bin=$work/crate/target/debug/fc-bincode-crosscheck
for rel in v1.7 v1.8 v1.9 v1.10 v1.11 v1.12 v1.13 v1.14; do
	case $rel in
	v1.7) mode=raw ;;
	v1.8 | v1.9 | v1.10 | v1.11) mode=bytes ;;
	*) mode=xsave2 ;;
	esac
	layout=$("$mk" -L -n 3 -e 14 "$rel" "$work/$rel")
	from=$(echo "$layout" | awk '$1 == "vcpus" { print $2 }')
	to=$(echo "$layout" | awk '$1 == "after" { print $2 }')
	printf '%s (%s): ' "$rel" "$mode"
	"$bin" "$mode" "$work/$rel" "$from" "$to"
done
