#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/compare.sh BEFORE AFTER [GiB] [RUNS]: two fredck binaries on the
# stream check-vs-cat.sh makes (run that first), alternated in one loop so
# that both see the same load: `check -q FILE` and the filter
# `repair - -o - <FILE >/dev/null`, RUNS rounds, medians.  ORDER="B A"
# runs AFTER first in each round.  On a shared machine run it a few times
# with both orders: one loop's difference of a few percent is noise.
set -eu
A=$1 B=$2 GIB=${3:-1} RUNS=${4:-21} ORDER=${ORDER:-A B}
STREAM="${BENCH_DIR:-/var/tmp/fredck-bench}/stream-${GIB}g.bin"
[ -s "$STREAM" ] || { echo "no $STREAM: run bench/check-vs-cat.sh $GIB first"; exit 1; }
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
declare -A t
cat "$STREAM" >/dev/null # warm the page cache
for _ in $(seq "$RUNS"); do
	for w in $ORDER; do
		bin=${!w}
		a=$(now); "$bin" check -q "$STREAM" >/dev/null; b=$(now)
		t[check$w]+="$(echo "$b - $a" | bc) "
		a=$(now); "$bin" repair - -o - <"$STREAM" >/dev/null 2>/dev/null; b=$(now)
		t[filter$w]+="$(echo "$b - $a" | bc) "
	done
done
for job in check filter; do
	ma=$(printf '%s\n' ${t[${job}A]} | median)
	mb=$(printf '%s\n' ${t[${job}B]} | median)
	echo "$job: before median ${ma}s, after median ${mb}s, after/before $(echo "scale=3; $mb / $ma" | bc)"
done
