#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Resource bounds on adversarial input (issue 6): a million tiny sections,
# hundreds of subsections, a description nested a hundred thousand deep.
# Each run is under an address-space limit (outside sanitizer builds,
# which reserve terabytes) and a generous timeout as a hang guard: these
# are not performance tests, they catch allocation that follows a claim
# instead of the input, and work that grows as the square of it.

bats_require_minimum_version 1.5.0

load test_helper

setup_file() {
	qemu_setup_file debian12 || return 0
	local S="$BATS_FILE_TMPDIR"
	qemu_make_stream debian12 "$S/base.bin" --machine microvm --smp 2 --mem 2
	qemu_make_stream debian12 "$S/nodesc.bin" --machine microvm --smp 2 --mem 2 --suppress-vmdesc
	"$QEMU_PATCH" "$S/base.bin" "$S/pf.bin" 0 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x5000
}

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	[ -z "$QEMU_SKIP" ] || skip "$QEMU_SKIP"
	FREDCK=${FREDCK:-$TOP_SRCDIR/_build/fredck}
	S="$BATS_FILE_TMPDIR"
	W="$BATS_TEST_TMPDIR"
	LIMIT=(prlimit --as=$((256 << 20)))
	if ldd "$FREDCK" 2>/dev/null | grep -q libasan; then LIMIT=(); fi
}

bounded() { # fredck ARGS under the limits
	run --separate-stderr timeout 120 "${LIMIT[@]}" "$FREDCK" "$@"
}

# Offsets where the Perl regex matches in FILE.
offsets() { # FILE RE
	RE=$2 perl -0777 -ne 'my $re = $ENV{RE}; while (/$re/sg) { print $-[0], "\n" }' "$1"
}

@test "bounds: a million empty RAM iterations (PART sections) read and repaired in 256 MiB" {
	# After the RAM START section's footer: 1,000,000 x (02 sid, RAM end of
	# section, footer), as QEMU writes an iteration that sent no page.
	local at sid part
	at=$(offsets "$S/pf.bin" '\x7e\x00\x00\x00[\x01-\x40]\x03\x00\x00\x00' | head -1)
	[ -n "$at" ]
	sid=$(od -An -tx1 -j $((at + 4)) -N1 "$S/pf.bin" | tr -d ' ')
	part=$(printf '\\x02\\x00\\x00\\x00\\x%s\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x10\\x7e\\x00\\x00\\x00\\x%s' "$sid" "$sid")
	{
		head -c $((at + 5)) "$S/pf.bin"
		# shellcheck disable=SC2059
		printf "$part" >"$W/one"
		for _ in $(seq 10); do cat "$W/one"; done >"$W/ten"
		for _ in $(seq 10); do cat "$W/ten"; done >"$W/hundred"
		for _ in $(seq 10); do cat "$W/hundred"; done >"$W/thousand"
		for _ in $(seq 1000); do cat "$W/thousand"; done
		tail -c +$((at + 6)) "$S/pf.bin"
	} >"$W/many.bin"
	[ "$(stat -c %s "$W/many.bin")" -gt 18000000 ]
	bounded check "$W/many.bin"
	assert_equal "$status" 4
	bounded repair "$W/many.bin" -o "$W/out.bin"
	assert_equal "$status" 1
	bounded check "$W/out.bin"
	assert_equal "$status" 0
}

@test "bounds: 256 described subsections of one cpu are read; 257 are malformed (QEMU's cpu has about 50)" {
	# vCPU 1 has one of its own (cpu/poll_control_msr), after the inserted ones.
	local subs=() i
	for i in $(seq 256); do subs+=("+sub:cpu/fill_$i=00"); done
	"$QEMU_PATCH" "$S/pf.bin" "$W/257.bin" 1 "${subs[@]}"
	"$QEMU_PATCH" "$S/pf.bin" "$W/256.bin" 1 "${subs[@]:0:255}"
	bounded check "$W/256.bin"
	assert_equal "$status" 4
	bounded check "$W/257.bin"
	assert_equal "$status" 8
	[[ "$stderr" == *"(cpu/poll_control_msr): more than 256 subsections of cpu"* ]] || fail "$stderr"
}

@test "bounds: a description nested 100,000 deep is refused by the JSON parser, not the stack (malformed, exit 8)" {
	local json
	json=$(printf '{"devices": %s' "$(printf '[%.0s' $(seq 100000))")$(printf ']%.0s' $(seq 100000))}
	{
		cat "$S/nodesc.bin"
		printf '\x06'
		printf '%08x' "${#json}" | sed 's/../\\x&/g' | xargs -0 printf
		printf '%s' "$json"
	} >"$W/deep.bin"
	bounded check "$W/deep.bin"
	# Issue 14: a description that does not parse is damage, in file mode
	# as through the filter (which cannot complete a stream it did not
	# validate): exit 8, the description named.
	assert_equal "$status" 8
	[[ "$stderr" == *"(vmdesc JSON): the device description is not valid JSON"* ]] || fail "$stderr"
}

@test "bounds: subsections nested 40 deep in stream and description are malformed; 9 deep are stepped over" {
	local subs=() name=cpu/nest i
	subs+=("+sub:$name=")
	for i in $(seq 40); do name="$name/l$i"; subs+=("+sub:$name=00"); done
	"$QEMU_PATCH" "$S/pf.bin" "$W/40.bin" 1 "${subs[@]}"
	"$QEMU_PATCH" "$S/pf.bin" "$W/9.bin" 1 "${subs[@]:0:10}"
	bounded check "$W/9.bin"
	assert_equal "$status" 4
	bounded check "$W/40.bin"
	assert_equal "$status" 8
	[[ "$stderr" == *"(cpu/nest): "* ]] || fail "$stderr"
}

@test "bounds: an xz image whose header asks for a 300 MiB dictionary is refused, not allocated" {
	xz --lzma2=dict=300MiB -c "$S/pf.bin" >"$W/s.xz" 2>"$W/xz.err" ||
		skip "xz could not make it here: $(cat "$W/xz.err")"
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" "$W/s.xz" "$W/big.img" 3
	bounded check "$W/big.img"
	assert_equal "$status" 8
	[[ "$stderr" == *"asks for more than 256 MiB"* ]] || fail "$stderr"
	# The same stream with xz's defaults reads.
	xz -c "$S/pf.bin" >"$W/s.xz"
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" "$W/s.xz" "$W/ok.img" 3
	bounded check "$W/ok.img"
	assert_equal "$status" 4
}
