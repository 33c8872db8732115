#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The fuzz smoke: each libFuzzer target runs FUZZ_SECONDS (default 30) from
# its seed corpus (make-seeds.sh).  Run from a build configured with
# --enable-fuzz CC=clang: make check TESTS=tests/fuzz/smoke.bats
# (scripts/test.sh does).  A crash, a sanitizer report, a leak or a broken
# promise of the repair cycle fails the test and leaves the input beside
# the log.  Elsewhere the targets do not exist and the tests say skipped.

setup_file() {
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	TOP_BUILDDIR=${TOP_BUILDDIR:-$TOP_SRCDIR/_build-fuzz}
	export TOP_SRCDIR TOP_BUILDDIR
	SKIP_REASON=""
	if [ ! -x "$TOP_BUILDDIR/tests/fuzz/fuzz_kvmdir" ]; then
		SKIP_REASON="fuzz targets not built here (configure --enable-fuzz CC=clang)"
	else
		bash "$TOP_SRCDIR/tests/fuzz/make-seeds.sh" "$TOP_BUILDDIR" "$BATS_FILE_TMPDIR/seeds" \
			2>"$BATS_FILE_TMPDIR/seeds.err"
	fi
	export SKIP_REASON
}

setup() {
	[ -z "$SKIP_REASON" ] || skip "$SKIP_REASON"
}

# fuzz TARGET: run it; on success print its figures as TAP diagnostics.
fuzz() {
	local target=$1 seeds="$BATS_FILE_TMPDIR/seeds/$1" log="$BATS_TEST_TMPDIR/$1.log"
	if [ -z "$(ls -A "$seeds" 2>/dev/null)" ]; then
		skip "no seeds for $target: $(cat "$BATS_FILE_TMPDIR/seeds.err")"
	fi
	mkdir -p "$BATS_TEST_TMPDIR/corpus"
	# The artifacts (a crashing input) go beside the log, kept on failure.
	if ! TMPDIR="$BATS_TEST_TMPDIR" "$TOP_BUILDDIR/tests/fuzz/fuzz_$target" \
		-max_total_time="${FUZZ_SECONDS:-30}" -timeout=20 -rss_limit_mb=1024 \
		-print_final_stats=1 -artifact_prefix="$BATS_TEST_TMPDIR/" \
		"$BATS_TEST_TMPDIR/corpus" "$seeds" >"$log" 2>&1; then
		tail -40 "$log"
		# Keep the input that failed (bats removes its directory), and show
		# it when it is small enough for a CI log to carry.
		local a
		for a in "$BATS_TEST_TMPDIR"/crash-* "$BATS_TEST_TMPDIR"/leak-* \
			"$BATS_TEST_TMPDIR"/timeout-* "$BATS_TEST_TMPDIR"/oom-*; do
			[ -f "$a" ] || continue
			cp "$a" "$TOP_BUILDDIR/tests/fuzz/$target-$(basename "$a")"
			echo "kept: $TOP_BUILDDIR/tests/fuzz/$target-$(basename "$a")"
			[ "$(stat -c %s "$a")" -gt 8192 ] || base64 -w 0 "$a"
		done
		return 1
	fi
	echo "# $target: $(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$log"), $(grep 'DONE' "$log" | grep -o 'cov: [0-9]* ft: [0-9]*')" >&3
}

@test "fuzz smoke: kvm-dir (packed tree) parse, plan, write, parse again" {
	fuzz kvmdir
}

@test "fuzz smoke: QEMU stream parse, plan, write, parse again" {
	fuzz qemu
}

@test "fuzz smoke: libvirt image parse, plan, write, parse again" {
	fuzz libvirt
}

@test "fuzz smoke: Firecracker state file parse, plan, write, parse again" {
	fuzz firecracker
}

@test "fuzz smoke: Firecracker bitcode state file (v1.15, v1.16) parse, plan, write, parse again" {
	fuzz fc_bitcode
}

@test "fuzz smoke: qcow2 image's VM state read through its tables, repaired with -o and in place, undone" {
	fuzz qcow2
}

@test "fuzz smoke: Cloud Hypervisor state.json parse, plan, write, parse again" {
	fuzz chv
}

@test "fuzz smoke: the stream filter against file mode: one verdict, no complete output on failure" {
	fuzz filter
}
