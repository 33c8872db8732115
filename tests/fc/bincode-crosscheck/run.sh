#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Cross-check tests/fc/mkfcsnap against Debian's bincode 1.3.3 (apt-get
# install librust-bincode-dev librust-serde-derive-dev): every bincode
# release tag, with several device sets, decoded WHOLE into serde types
# shaped as Firecracker's (src/main.rs) and encoded again.
# Usage: run.sh BUILDDIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mk=${1:?usage: run.sh BUILDDIR}/tests/fc/mkfcsnap
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Built in a copy: cargo writes Cargo.lock and target/ beside Cargo.toml.
cp -R "$here" "$work/crate"
(cd "$work/crate" && cargo build --quiet --offline)
bin=$work/crate/target/debug/fc-bincode-crosscheck
fails=0
for tag in $("$mk" tags | cut -d' ' -f1); do
	minor=$(echo "$tag" | cut -d. -f2)
	sets="bnv bunmvle 0"
	[ "$minor" -lt 13 ] || sets="$sets I:bunmvle"
	[ "$minor" -lt 14 ] || sets="$sets bunmvlepy I:bunmvlepy"
	for set in $sets; do
		case $set in
		I:*) opts="-I -d ${set#I:}" ;;
		*) opts="-d $set" ;;
		esac
		# shellcheck disable=SC2086
		"$mk" -n 3 -e 14 $opts "$tag" "$work/f"
		printf '%s %s: ' "$tag" "$opts"
		"$bin" "$minor" "$work/f" || fails=$((fails + 1))
	done
done
echo "$fails failed"
[ "$fails" -eq 0 ]
