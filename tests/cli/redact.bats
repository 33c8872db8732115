#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# fredck redact: a copy of a QEMU stream or libvirt image without the
# guest's memory.  Real QEMU makes the streams (the guest run for 300 ms,
# so SeaBIOS has written RAM), loads every copy, and check must find the
# same on the copy as on the original.

bats_require_minimum_version 1.5.0

setup_file() {
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	export TOP_SRCDIR
	export QEMU_PATCH=${QEMU_PATCH:-$TOP_SRCDIR/_build/tests/qemu/qemu-patch}
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	SKIP_REASON=$(qemu_peer_skip_reason debian12)
	export SKIP_REASON
	[ -z "$SKIP_REASON" ] || return 0
	local S="$BATS_FILE_TMPDIR"
	qemu_make_stream debian12 "$S/run.bin" --machine pc --smp 2 --mem 64 --run-ms 300
	"$QEMU_PATCH" "$S/run.bin" "$S/pf.bin" 1 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x7f3a1c2e5008
}

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	FREDCK=${FREDCK:-$TOP_SRCDIR/_build/fredck}
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	[ -z "$SKIP_REASON" ] || skip "$SKIP_REASON"
	S="$BATS_FILE_TMPDIR"
	W="$BATS_TEST_TMPDIR"
}

# What check says of FILE, vCPU by vCPU: index, at risk, codes, event data.
verdict() {
	"$FREDCK" -j check "$1" | jq -c '[.inputs[0].vcpus[] |
		[.index, .at_risk, [.findings[].code], .event_data.value, .repair.action]]'
}

# RAM records of a sequential stream by inspect: "N pages, M zero pages".
ram_fact() {
	"$FREDCK" -j inspect "$1" | jq -r '.inputs[0].facts.ram'
}

@test "redact: a stream's pages become zero pages but the ROM area's; same findings; QEMU loads it" {
	run "$FREDCK" redact "$S/pf.bin" -o "$W/red.bin"
	assert_success
	assert_output --regexp "guest memory removed: [0-9]+ pages with content"
	assert_output --partial "kept: "
	[ "$(stat -c %s "$W/red.bin")" -lt "$(stat -c %s "$S/pf.bin")" ]
	assert_equal "$(verdict "$W/red.bin")" "$(verdict "$S/pf.bin")"
	# Only the legacy ROM area's pages are left as pages.
	kept=$(sed -n 's/.*kept: \([0-9]*\) pages.*/\1/p' <<<"$output")
	[[ "$(ram_fact "$W/red.bin")" == *"; $kept pages, "* ]] || fail "$(ram_fact "$W/red.bin")"
	run qemu_load_stream debian12 "$W/red.bin" --machine pc --smp 2 --mem 64
	assert_success
	# Repaired after redaction: loads as well.
	run "$FREDCK" repair "$W/red.bin" -o "$W/rep.bin"
	assert_equal "$status" 1
	run qemu_load_stream debian12 "$W/rep.bin" --machine pc --smp 2 --mem 64
	assert_success
}

@test "redact: guest RAM full of a secret (above the first MiB): not one byte of it in the copy" {
	# 64 MiB of RAM: a zero first MiB (the legacy ROM area is kept), then
	# the secret over and over.
	{ head -c $((1 << 20)) /dev/zero
	  yes 'FREDCK-SECRET-7f3a1c2e' | head -c $((63 << 20)); } >"$W/ram"
	run qemu_make_stream debian12 "$W/s.bin" --machine pc --smp 2 --mem 64 --ram-file "$W/ram"
	assert_success
	run grep -c -a FREDCK-SECRET "$W/s.bin"
	[ "$output" -gt 1000 ] || fail "the stream holds $output lines of the secret"
	run "$FREDCK" redact "$W/s.bin" -o "$W/red.bin"
	assert_success
	run grep -c -a FREDCK-SECRET "$W/red.bin"
	assert_output 0
	[ "$(stat -c %s "$W/red.bin")" -lt $(($(stat -c %s "$W/s.bin") / 50)) ]
	assert_equal "$(verdict "$W/red.bin")" "$(verdict "$W/s.bin")"
	run qemu_load_stream debian12 "$W/red.bin" --machine pc --smp 2 --mem 64
	assert_success
}

@test "redact: a redacted copy redacted again removes nothing more" {
	"$FREDCK" redact "$S/pf.bin" -o "$W/once.bin" >/dev/null
	run "$FREDCK" -j redact "$W/once.bin" -o "$W/twice.bin"
	assert_success
	assert_equal "$(jq -r '.inputs[0].pages_removed' <<<"$output")" 0
	run cmp "$W/once.bin" "$W/twice.bin"
	assert_success
}

@test "redact --json: pages and bytes removed, firmware pages kept, the output path" {
	run "$FREDCK" -j redact "$S/pf.bin" -o "$W/red.bin"
	assert_success
	assert_equal "$(jq -r '.command' <<<"$output")" redact
	assert_equal "$(jq -r '.inputs[0] | [.status, .format, .vcpu_count, .output == "'"$W/red.bin"'", .bytes_removed == .pages_removed * 4096, .firmware_pages_kept > 0] | @tsv' <<<"$output")" \
		"$(printf 'redacted\tqemu\t2\ttrue\ttrue\ttrue')"
}

@test "redact: libvirt images, raw and compressed, keep header, XML and compressor; the stream loads" {
	local prog fmt start
	for prog in cat gzip zstd; do
		case $prog in cat) fmt=0 ;; gzip) fmt=1 ;; zstd) fmt=5 ;; esac
		$prog <"$S/pf.bin" >"$W/s.$prog"
		bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" "$W/s.$prog" "$W/$prog.img" "$fmt"
		run "$FREDCK" redact "$W/$prog.img" -o "$W/$prog.red"
		assert_success
		assert_equal "$(verdict "$W/$prog.red")" "$(verdict "$S/pf.bin")"
		start=$(($(stat -c %s "$W/$prog.img") - $(stat -c %s "$W/s.$prog")))
		run cmp -n "$start" "$W/$prog.img" "$W/$prog.red"
		assert_success
		tail -c +$((start + 1)) "$W/$prog.red" | $prog -dc 2>/dev/null >"$W/$prog.stream" ||
			tail -c +$((start + 1)) "$W/$prog.red" >"$W/$prog.stream"
		run qemu_load_stream debian12 "$W/$prog.stream" --machine pc --smp 2 --mem 64
		assert_success
	done
	run cmp "$W/cat.stream" "$W/gzip.stream"
	assert_success
	run cmp "$W/cat.stream" "$W/zstd.stream"
	assert_success
}

@test "redact: mapped-ram (QEMU 9.0+): bitmaps and pages left as holes; same findings; that QEMU loads it" {
	local peer=trixie
	[ -z "$(qemu_peer_skip_reason "$peer")" ] || skip "$(qemu_peer_skip_reason "$peer")"
	qemu_make_stream "$peer" "$W/mr.bin" --mode mapped-ram --machine pc --smp 2 --mem 64 --run-ms 300
	"$QEMU_PATCH" "$W/mr.bin" "$W/mr-pf.bin" 0 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x1234000
	run "$FREDCK" redact "$W/mr-pf.bin" -o "$W/red.bin"
	assert_success
	assert_equal "$(stat -c %s "$W/red.bin")" "$(stat -c %s "$W/mr-pf.bin")"
	# qemu-patch wrote every byte; the copy allocates only what is not memory.
	[ "$(du -k "$W/red.bin" | cut -f1)" -lt $(($(du -k "$W/mr-pf.bin" | cut -f1) / 4)) ]
	assert_equal "$(verdict "$W/red.bin")" "$(verdict "$W/mr-pf.bin")"
	run qemu_load_stream "$peer" "$W/red.bin" --mode mapped-ram --machine pc --smp 2 --mem 64
	assert_success
}

@test "redact: never in place, never to standard output, never over a file; a kvm-dir has no memory" {
	run --separate-stderr "$FREDCK" redact "$S/pf.bin" --in-place
	assert_equal "$status" 16
	run --separate-stderr "$FREDCK" redact "$S/pf.bin" -o -
	assert_equal "$status" 16
	[[ "$stderr" == *"-o needs a file"* ]] || fail "$stderr"
	run --separate-stderr "$FREDCK" redact "$S/pf.bin"
	assert_equal "$status" 16
	touch "$W/exists"
	run --separate-stderr "$FREDCK" redact "$S/pf.bin" -o "$W/exists"
	assert_equal "$status" 8
	[ ! -s "$W/exists" ]
	run --separate-stderr "$FREDCK" redact "$TOP_SRCDIR/examples/broken-vm" -o "$W/x"
	assert_equal "$status" 8
	[[ "$stderr" == *"holds no guest memory"* ]] || fail "$stderr"
	[ ! -e "$W/x" ]
	run --separate-stderr "$FREDCK" redact - -o "$W/y" <"$S/pf.bin"
	assert_equal "$status" 8
	[ ! -e "$W/y" ]
}

@test "redact: a malformed stream is an error naming the offset; nothing written" {
	head -c 100000 "$S/pf.bin" >"$W/cut.bin"
	run --separate-stderr "$FREDCK" redact "$W/cut.bin" -o "$W/red.bin"
	assert_equal "$status" 8
	[[ "$stderr" == *"byte "* ]] || fail "$stderr"
	[ ! -e "$W/red.bin" ]
	[ -z "$(ls -A "$W" | grep fredck-)" ]
}
