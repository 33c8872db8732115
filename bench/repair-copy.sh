#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/repair-copy.sh BEFORE AFTER [GiB] [RUNS]: `fredck repair FILE -o OUT`
# of a big QEMU stream with a vCPU at risk (the stream check-vs-cat.sh
# makes, run that first, patched here by qemu-patch), two binaries
# alternated in one loop so that both see the same load, RUNS (11) rounds,
# medians.  The run is the analysis, the copy (copy_file_range), the fsync
# and the verification; the output is removed after each run.  Made to
# compare the copy in bounded steps (64 MiB, with progress between them)
# against one copy_file_range call per range.  ORDER="B A" runs AFTER
# first in each round.  Machines are shared and noisy: read the ratio.
set -eu
A=$1 B=$2 GIB=${3:-1} RUNS=${4:-11} ORDER=${ORDER:-A B}
TOP=$(cd "$(dirname "$0")/.." && pwd)
DIR=${BENCH_DIR:-/var/tmp/fredck-bench}
STREAM="$DIR/stream-${GIB}g.bin"
PF="$DIR/stream-${GIB}g-pf.bin"
QEMU_PATCH=${QEMU_PATCH:-$TOP/_build/tests/qemu/qemu-patch}
[ -s "$STREAM" ] || { echo "no $STREAM: run bench/check-vs-cat.sh $GIB first"; exit 1; }
if [ ! -s "$PF" ]; then
	"$QEMU_PATCH" "$STREAM" "$PF" 1 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x7f3a1c2e5008
fi
OUT="$DIR/repair-copy.out"
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
declare -A t
cat "$PF" >/dev/null # warm the page cache
echo "stream: $(stat -c %s "$PF") bytes; runs: $RUNS"
for _ in $(seq "$RUNS"); do
	for w in $ORDER; do
		bin=${!w}
		rm -f "$OUT"
		a=$(now)
		st=0
		"$bin" repair "$PF" -o "$OUT" >/dev/null 2>&1 || st=$?
		b=$(now)
		[ "$st" -eq 1 ] || { echo "$bin: exit $st"; exit 1; }
		t[$w]+="$(echo "$b - $a" | bc) "
	done
done
rm -f "$OUT"
ma=$(printf '%s\n' ${t[A]} | median)
mb=$(printf '%s\n' ${t[B]} | median)
echo "before: median ${ma}s  (${t[A]})"
echo "after:  median ${mb}s  (${t[B]})"
echo "after/before: $(echo "scale=3; $mb / $ma" | bc)"
