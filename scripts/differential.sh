#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# scripts/differential.sh [FLIPS] [SEED]: the differential test of
# tests/cli/differential.bats at length, by hand.  Real QEMU streams (pc
# and q35, 1 and 4 vCPUs, with and without description, the last vCPU at
# risk; QEMU 7.2, and 10.0 and 11.1 where their chroots exist) each get
# FLIPS/streams single-bit flips (default 10,000 in all) in their device,
# cpu and description region; file mode and the filter must agree on each
# (tests/qemu/differential.py).  Prints one summary line per peer; exits 1
# on any disagreement (the lines before the summary name the flip).
set -eu
cd "$(dirname "$0")/.."
flips=${1:-10000}
seed=${2:-1}
TOP_SRCDIR=$PWD
export TOP_SRCDIR
FREDCK=${FREDCK:-$PWD/_build/fredck}
patch=${QEMU_PATCH:-$PWD/_build/tests/qemu/qemu-patch}
# shellcheck source=../tests/qemu/qemu-peer.sh
. tests/qemu/qemu-peer.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/fredck-differential.XXXXXX")
trap 'rm -rf "$work"' EXIT
fred=('cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033)
rc=0
for peer in $(qemu_peer_list | awk '{print $1}'); do
	[ -z "$(qemu_peer_skip_reason "$peer")" ] || continue
	streams=()
	for machine in pc q35; do
		for smp in 1 4; do
			for desc in on off; do
				f="$work/$peer-$machine-$smp-$desc"
				opts=(--machine "$machine" --smp "$smp" --mem 64)
				[ "$desc" = on ] || opts+=(--suppress-vmdesc)
				qemu_make_stream "$peer" "$f.bin" "${opts[@]}"
				"$patch" "$f.bin" "$f-pf.bin" $((smp - 1)) "${fred[@]}" exception_nr=14 \
					cr2=0x7f3a1c2e5008
				streams+=("$f-pf.bin")
			done
		done
	done
	python3 tests/qemu/differential.py "$FREDCK" flips "$flips" "$seed" "${streams[@]}" \
		>"$work/$peer.out" || rc=1
	grep '^DISAGREE' "$work/$peer.out" || true
	echo "$peer: $(tail -1 "$work/$peer.out")"
done
exit "$rc"
