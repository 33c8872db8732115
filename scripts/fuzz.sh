#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# scripts/fuzz.sh [SECONDS] [TARGET...]: long fuzz runs, SECONDS (default
# 600) per target (default: all), in _build-fuzz (configured here with
# --enable-fuzz CC=clang when missing).  Corpora grow in
# ${FUZZ_DIR:-/var/tmp/fredck-fuzz}/TARGET between runs; a crashing input
# is left there as crash-*.  Prints per target the executions, the time,
# the coverage and the corpus, the figures tests/fuzz/RESULTS.md records.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-600}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(kvmdir qemu libvirt firecracker fc_bitcode qcow2 chv filter)
dir=${FUZZ_DIR:-/var/tmp/fredck-fuzz}

if [ ! -f _build-fuzz/Makefile ]; then
	[ -x configure ] || autoreconf -fi
	mkdir -p _build-fuzz
	(cd _build-fuzz && ../configure --quiet --enable-fuzz CC=clang)
fi
make -C _build-fuzz -s -j"$(nproc)" check TESTS= >/dev/null
bash tests/fuzz/make-seeds.sh _build-fuzz "$dir/seeds"

for t in "${targets[@]}"; do
	mkdir -p "$dir/$t"
	log="$dir/$t.log"
	start=$(date +%s)
	rc=0
	TMPDIR=${TMPDIR:-/dev/shm} "_build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$secs" \
		-timeout=20 -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$dir/$t-" \
		"$dir/$t" "$dir/seeds/$t" >"$log" 2>&1 || rc=$?
	end=$(date +%s)
	echo "$t: exit $rc, $((end - start)) s," \
		"$(grep -m1 -o 'number_of_executed_units: [0-9]*' "$log" | cut -d' ' -f2) executions," \
		"$(grep 'DONE\|INITED' "$log" | tail -1 | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9a-zA-Z]*')"
	ls "$dir/$t"-crash-* "$dir/$t"-leak-* "$dir/$t"-timeout-* 2>/dev/null || true
done
