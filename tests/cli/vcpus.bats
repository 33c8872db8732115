#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Many vCPUs in one QEMU stream (issue 14, item 6): each cpu section is
# looked up by its instance id in constant time, never compared with every
# earlier one; the vCPUs are sorted in O(n log n) whatever their order; a
# stream of more than QEMU_CPUS_MAX (262,144) vCPUs is refused with exit 8
# naming the count and the bound.  The streams are generated
# (tests/qemu/mksections.pl); the timeouts are hang guards against work
# that grows as the square of the vCPUs, not performance measurements
# (bench/sections.sh records those).

bats_require_minimum_version 1.5.0

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	FREDCK=${FREDCK:-$TOP_SRCDIR/_build/fredck}
	MK="$TOP_SRCDIR/tests/qemu/mksections.pl"
	W="$BATS_TEST_TMPDIR"
}

@test "vcpus: 262,145 cpu sections through a pipe: refused, exit 8, naming the count and the bound" {
	# Without a description a pipe's device state is held in memory (issue
	# 14), bounded by FREDCK_HOLD_MAX (1 GiB by default, room for the vCPU
	# bound): set here so that the vCPU bound is met first whatever the default.
	run --separate-stderr timeout 300 bash -c 'perl "$1" 262145 | FREDCK_HOLD_MAX=1G "$2" check -' \
		_ "$MK" "$FREDCK"
	assert_equal "$status" 8
	[[ "$stderr" == *"more than 262144 vCPUs (cpu section 262145"* ]] || fail "$stderr"
	[[ "$stderr" == *"at most 262144 per stream"* ]] || fail "$stderr"
}

@test "vcpus: 100,000 vCPUs in descending order are read and listed by index" {
	perl "$MK" 100000 reverse >"$W/rev.bin"
	run --separate-stderr timeout 120 "$FREDCK" check "$W/rev.bin"
	assert_equal "$status" 0
	assert_output --partial "0 of 100000 vCPUs at risk"
	run --separate-stderr timeout 120 "$FREDCK" -j inspect "$W/rev.bin"
	assert_equal "$status" 0
	assert_equal "$(jq -c '[.inputs[0].vcpus[0,1,99999].index]' <<<"$output")" "[0,1,99999]"
}

@test "vcpus: a repeated instance id is malformed, also among ids a weak hash would collide" {
	# Multiples of 2^20 share every low bit: a table indexed by them would
	# put them all in one slot.
	perl "$MK" 0,1048576,2097152,3145728,1048576,4194304 >"$W/dup.bin"
	run --separate-stderr "$FREDCK" check "$W/dup.bin"
	assert_equal "$status" 8
	assert_equal "$stderr" \
		"fredck: $W/dup.bin: byte $((8 + 4 * 1839)) (cpu instance): a second cpu section for vCPU 1048576"
}
