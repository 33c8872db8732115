#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/sections.sh [N] [FREDCK...]: `fredck check` on a stream of N `cpu`
# sections (default 160,000: issue 14's image), bare and as a
# zstd-compressed libvirt save image, with each binary given (default
# _build/fredck): elapsed, user and system seconds and peak RSS, the best
# of RUNS (default 3).  The stream is generated, valid enough for fredck:
# QEVM version 3, then N cpu sections (vmstate version 12, instance ids
# 0..N-1, 1817 bytes of main fields with no event queued, no subsections,
# each with its footer) and the end-of-file marker; no RAM, no description.
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
	perl -e '
		my ($n) = @ARGV;
		binmode STDOUT;
		my $main = "\0" x 1817;
		substr($main, 1149, 4) = "\xff" x 4; # interrupt_injected: none
		substr($main, 1165, 4) = "\xff" x 4; # exception_nr: none
		print "QEVM", pack("N", 3);
		for my $i (0 .. $n - 1) {
			my $sid = 2 + $i;
			print "\x04", pack("N", $sid), "\x03cpu", pack("N N", $i, 12), $main,
			    "\x7e", pack("N", $sid);
		}
		print "\0";' "$N" >"$S.tmp"
	mv "$S.tmp" "$S"
fi
if [ ! -s "$L" ]; then
	zstd -q -19 -T2 -c "$S" >"$S.zst"
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
