#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/sections.sh [N] [FREDCK...]: `fredck check` on a stream of N `cpu`
# sections (default 160,000: issue 14's image), bare and as a
# zstd-compressed libvirt save image, with each binary given (default
# _build/fredck): elapsed, user and system seconds and peak RSS, the best
# of RUNS (default 3).  The stream is generated (tests/qemu/mksections.pl:
# N cpu sections, no RAM, no description), valid enough for fredck.
# Files go to BENCH_DIR (default /var/tmp/fredck-bench).
set -eu
N=${1:-160000}
shift || true
[ $# -gt 0 ] || set -- "$(dirname "$0")/../_build/fredck"
RUNS=${RUNS:-3}
DIR=${BENCH_DIR:-/var/tmp/fredck-bench}
TOP=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$DIR"
S="$DIR/sections-$N.bin"
L="$DIR/sections-$N.zst.img"

if [ ! -s "$S" ]; then
	perl "$TOP/tests/qemu/mksections.pl" "$N" >"$S.tmp"
	mv "$S.tmp" "$S"
fi
if [ ! -s "$L" ]; then
	zstd -q -T2 -c "$S" >"$S.zst"
	bash "$TOP/tests/qemu/mklibvirt.sh" "$S.zst" "$L.tmp" 5
	rm -f "$S.zst"
	mv "$L.tmp" "$L"
fi
ls -l "$S" "$L"

# best of RUNS: elapsed user sys maxrss(KiB) exit
measure() {
	local best="" line
	for _ in $(seq "$RUNS"); do
		line=$(/usr/bin/time -f '%e %U %S %M' "$@" 2>&1 >/dev/null | tail -1)
		st=$(echo "$line" | awk '{print $1}')
		if [ -z "$best" ] || [ "$(echo "$st < ${best%% *}" | bc)" -eq 1 ]; then
			best=$line
		fi
	done
	echo "$best"
}

for bin in "$@"; do
	for f in "$S" "$L"; do
		"$bin" check -q "$f" >/dev/null 2>&1 && st=0 || st=$?
		read -r e u s m <<<"$(measure "$bin" check -q "$f")"
		printf '%s check -q %s: exit %s, %ss elapsed, %ss user, %ss sys, peak RSS %s KiB\n' \
			"$bin" "$(basename "$f")" "$st" "$e" "$u" "$s" "$m"
	done
done
