#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Devices QEMU saves before the RAM (issue 14, the filter's hold): from QEMU
# 8.1 a device whose description has early_setup (virtio-mem's
# "virtio-mem-device-early") is saved during the setup phase, before the
# RAM pages -- QEMU 10.0 right after the RAM's START section, 11.1 before
# it.  Through a pipe the description comes last, so the filter must not
# begin holding the device state at that section: it would hold the whole
# RAM and refuse any real guest past FREDCK_HOLD_MAX.  The early section is
# stepped over to its footer, and checked against the description once the
# description is read.
#
# Each test runs a real TCG VM with a virtio-mem device (tests/qemu/
# qemu-peer.sh --args), a hold limit (256 KiB) below the RAM the stream
# carries after the early section and above its device state, and checks
# that file and pipe agree, that an at-risk stream is repaired through the
# filter exactly as from the file, and that QEMU loads the output.

bats_require_minimum_version 1.5.0

PEERS="trixie sid"
HOLD=256K
VMEM="-m 128,maxmem=1G -object memory-backend-ram,id=vm0,size=256M -device virtio-mem-pci,id=vmem0,memdev=vm0,requested-size=0,node=0"

setup_file() {
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	export TOP_SRCDIR
	export QEMU_PATCH=${QEMU_PATCH:-$TOP_SRCDIR/_build/tests/qemu/qemu-patch}
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	S=$BATS_FILE_TMPDIR
	local peer
	for peer in $PEERS; do
		qemu_peer_skip_reason "$peer" >"$S/$peer.skip"
		[ -s "$S/$peer.skip" ] && continue
		if [ ! -x "$QEMU_PATCH" ]; then
			echo "QEMU_PATCH=$QEMU_PATCH is not built (make check builds it)" >"$S/$peer.skip"
			continue
		fi
		mkdir -p "$S/$peer"
		{
			qemu_make_stream "$peer" "$S/$peer/clean.bin" --smp 2 --mem 128 --args "$VMEM" --run-ms 300 &&
				qemu_make_stream "$peer" "$S/$peer/nodesc.bin" --smp 2 --mem 128 --args "$VMEM" \
					--run-ms 300 --suppress-vmdesc &&
				"$QEMU_PATCH" "$S/$peer/clean.bin" "$S/$peer/risk.bin" 1 'cr4=|0x1000000a0' \
					efer=0xd01 cr0=0x80050033 exception_nr=14 cr2=0x7f3a1c2e5008
		} >"$S/$peer.log" 2>&1 || cp "$S/$peer.log" "$S/$peer.err"
	done
}

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	FREDCK=${FREDCK:-$TOP_SRCDIR/_build/fredck}
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	S=$BATS_FILE_TMPDIR
	W=$BATS_TEST_TMPDIR
}

use_peer() {
	PEER=$1
	[ ! -e "$S/$PEER.err" ] || fail "$PEER: the streams could not be made: $(cat "$S/$PEER.err")"
	[ ! -s "$S/$PEER.skip" ] || skip "$(cat "$S/$PEER.skip")"
	D=$S/$PEER
}

# The stream's shape, read with Perl (not fredck): the early section comes
# before the first device of the non-iterative state (timer), with more
# than the hold limit of bytes between them, and the device state from
# there to the end is within it.
shape() {
	use_peer "$1"
	run perl -0777 -ne '
		my $e = index($_, "virtio-mem-device-early");
		my $t = index($_, "\x05timer");
		$e > 0 && $t > $e or die "no early section before the timer section\n";
		printf "early %d, device state from %d, %d bytes\n", $e, $t, length($_) - $t;
		exit(($t - $e > 256 * 1024 && length($_) - $t < 256 * 1024) ? 0 : 1);
	' "$D/clean.bin"
	assert_success
}

# check FILE and check - (hold 256 KiB): the same verdict, vCPUs 0 and 1.
agree() {
	local f js_file js_pipe
	use_peer "$1"
	for f in clean risk; do
		run "$FREDCK" -j check "$D/$f.bin"
		js_file=$(jq -c '[.inputs[0].vcpus[] | {index, at_risk}]' <<<"$output")
		st_file=$status
		run bash -c 'FREDCK_HOLD_MAX=$1 "$2" -j check - <"$3"' _ "$HOLD" "$FREDCK" "$D/$f.bin"
		[ "$status" -eq "$st_file" ] || fail "$f: check - exits $status, check FILE $st_file: $output"
		js_pipe=$(jq -c '[.inputs[0].vcpus[] | {index, at_risk}]' <<<"$output")
		assert_equal "$js_pipe" "$js_file"
		run bash -c 'FREDCK_HOLD_MAX=$1 "$2" -j inspect - <"$3"' _ "$HOLD" "$FREDCK" "$D/$f.bin"
		jq -e '.inputs[0].facts.devices | test("virtio-mem-device-early")' <<<"$output" >/dev/null ||
			fail "$f: the pipe's device list lacks the early section: $output"
	done
	[ "$st_file" -eq 4 ] || fail "risk.bin: check exits $st_file, expected 4 (vCPU 1 at risk)"
}

# repair - -o - (hold 256 KiB) of the at-risk stream: exit 1, the output is
# the file mode's repair byte for byte, and QEMU loads it.
filtered() {
	use_peer "$1"
	run "$FREDCK" repair "$D/risk.bin" -o "$W/file.bin"
	assert_equal "$status" 1
	run bash -c 'FREDCK_HOLD_MAX=$1 "$2" repair - -o - <"$3" >"$4"' _ "$HOLD" "$FREDCK" \
		"$D/risk.bin" "$W/pipe.bin"
	[ "$status" -eq 1 ] || fail "repair - -o -: exit $status: $output"
	cmp "$W/file.bin" "$W/pipe.bin" || fail "the filter's output differs from repair FILE -o"
	run qemu_load_stream "$PEER" "$W/pipe.bin" --smp 2 --mem 128 --args "$VMEM"
	assert_success
}

# Without a description: the early section stepped over, the device state
# after the RAM read by its one reading (FK304), in a file and a pipe.
nodesc() {
	local how
	use_peer "$1"
	for how in file pipe; do
		if [ "$how" = file ]; then
			run "$FREDCK" -j inspect "$D/nodesc.bin"
		else
			run bash -c 'FREDCK_HOLD_MAX=$1 "$2" -j inspect - <"$3"' _ "$HOLD" "$FREDCK" "$D/nodesc.bin"
		fi
		assert_success
		assert_equal "$(jq -r '[.inputs[0].vcpus[].index] | join(",")' <<<"$output")" 0,1
		jq -e '.inputs[0].facts.device_description | test("one reading")' <<<"$output" >/dev/null ||
			fail "$how: the device state was not read by its one reading: $output"
	done
}

@test "early/trixie: QEMU 10.0 saves virtio-mem's early section before the RAM pages" {
	shape trixie
}
@test "early/trixie: check FILE and check - (hold below the RAM) agree" {
	agree trixie
}
@test "early/trixie: repair - -o - (hold below the RAM) repairs as repair FILE -o does; QEMU loads it" {
	filtered trixie
}
@test "early/trixie, no description: file and pipe read vCPUs 0 and 1 by the one reading" {
	nodesc trixie
}
@test "early/sid: QEMU 11.1 saves virtio-mem's early section before the RAM pages" {
	shape sid
}
@test "early/sid: check FILE and check - (hold below the RAM) agree" {
	agree sid
}
@test "early/sid: repair - -o - (hold below the RAM) repairs as repair FILE -o does; QEMU loads it" {
	filtered sid
}
@test "early/sid, no description: file and pipe read vCPUs 0 and 1 by the one reading" {
	nodesc sid
}
