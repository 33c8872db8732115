#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/batch.sh [COUNT] [RUNS]: a batch of COUNT (10,000) small snapshots,
# checked as a tree (`fredck check -r --ndjson`) with 1 and with 2 worker
# processes (-P), RUNS (5) alternating runs each, warm page cache; prints
# every run, the medians and the ratio P1/P2 (the speed-up).
#
# The tree: 90% kvm-dirs cycled from tests/fixtures/kvm (a third of them at
# risk), 10% QEMU streams made by real QEMU (Debian 12's 7.2, microvm,
# 2 MiB of RAM: 66 KB each), half of them patched at risk by qemu-patch,
# 100 directories of 100.  Without QEMU the tree is kvm-dirs only (said).
# Also checks that -P 1 and -P 2 print the same records (times aside).
# Machines are shared and noisy: read the ratio, not the seconds.
set -eu
COUNT=${1:-10000}
RUNS=${2:-5}
TOP=$(cd "$(dirname "$0")/.." && pwd)
FREDCK=${FREDCK:-$TOP/_build/fredck}
QEMU_PATCH=${QEMU_PATCH:-$TOP/_build/tests/qemu/qemu-patch}
WORK=${BENCH_DIR:-/var/tmp/fredck-bench}/batch-$COUNT
FIX=$TOP/tests/fixtures/kvm

make_tree() {
	local fixtures=() i n=0 streams=0 d
	mkdir -p "$WORK/src"
	for d in "$FIX"/*/; do
		[ -d "$d/vcpu0" ] && fixtures+=("$d")
	done
	# shellcheck source=../tests/qemu/qemu-peer.sh
	. "$TOP/tests/qemu/qemu-peer.sh"
	if [ -z "$(qemu_peer_skip_reason debian12)" ]; then
		qemu_make_stream debian12 "$WORK/src/clean.bin" --machine microvm --smp 2 --mem 2
		"$QEMU_PATCH" "$WORK/src/clean.bin" "$WORK/src/pf.bin" 1 'cr4=|0x1000000a0' \
			efer=0xd01 cr0=0x80050033 exception_nr=14 cr2=0x7f3a1c2e5008
		streams=1
	else
		echo "no QEMU: kvm-dirs only ($(qemu_peer_skip_reason debian12))"
	fi
	for ((i = 0; i < COUNT; i++)); do
		d=$WORK/tree/$((i / 100))
		mkdir -p "$d"
		if [ "$streams" = 1 ] && [ $((i % 10)) = 9 ]; then
			cp "$WORK/src/$([ $((i % 20)) = 9 ] && echo pf || echo clean).bin" "$d/s$i.bin"
		else
			cp -R "${fixtures[n++ % ${#fixtures[@]}]}" "$d/k$i"
		fi
	done
}

[ -d "$WORK/tree" ] || make_tree
echo "tree: $WORK/tree: $(find "$WORK/tree" -mindepth 2 -maxdepth 2 | wc -l) snapshots," \
	"$(find "$WORK/tree" -mindepth 2 -maxdepth 2 -name '*.bin' | wc -l) of them QEMU streams," \
	"$(du -sh "$WORK/tree" | cut -f1)"
echo "fredck: $FREDCK ($(git -C "$TOP" log -1 --format=%h 2>/dev/null || echo '?'))"
echo "machine: $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
now() { date +%s.%N; }
run() { # jobs
	"$FREDCK" check -r -P "$1" --ndjson "$WORK/tree" >"$WORK/out-P$1.ndjson" 2>"$WORK/err-P$1" ||
		true
}

run 2 # warm the page cache
t1=() t2=()
for _ in $(seq "$RUNS"); do
	a=$(now); run 1; b=$(now)
	t1+=("$(echo "$b - $a" | bc)")
	a=$(now); run 2; b=$(now)
	t2+=("$(echo "$b - $a" | bc)")
done
echo "command: fredck check -r -P N --ndjson TREE > out.ndjson; runs: $RUNS"
echo "summary (P2): $(tail -1 "$WORK/err-P2")"
m1=$(printf '%s\n' "${t1[@]}" | median)
m2=$(printf '%s\n' "${t2[@]}" | median)
echo "-P 1: median ${m1}s  (${t1[*]})"
echo "-P 2: median ${m2}s  (${t2[*]})"
echo "ratio P1/P2 (speed-up): $(echo "scale=3; $m1 / $m2" | bc)"
echo "per snapshot: -P 1 $(echo "scale=1; $m1 * 1000000 / $COUNT" | bc) us, -P 2 $(echo "scale=1; $m2 * 1000000 / $COUNT" | bc) us"
if cmp -s <(jq -c 'del(.elapsed_us)' "$WORK/out-P1.ndjson") <(jq -c 'del(.elapsed_us)' "$WORK/out-P2.ndjson"); then
	echo "records: -P 1 and -P 2 identical (elapsed_us aside), $(wc -l <"$WORK/out-P1.ndjson") lines"
else
	echo "records: -P 1 and -P 2 DIFFER"
	exit 1
fi
