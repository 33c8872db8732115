#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The proposed KVM_VCPUEVENT_VALID_NESTED_FLAG (0x40, KVM FRED series v9
# patch 14/22, not merged) with exception_is_nested at byte 54 of struct
# kvm_vcpu_events: inspect shows it, JSON carries it, diff compares it, and
# a repair keeps it.  The fixture is pf-lost-cap (a real-kernel capture of
# an injected #PF, at risk) with flags |= 0x40 and byte 54 = 1, patched here.

load test_helper

# put_byte FILE OFFSET VALUE: write one byte in place.
put_byte() {
	printf "\\x$(printf %02x "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

byte_at() { # FILE OFFSET
	od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '
}

# nested_fixture NAME [IS_NESTED]: pf-lost-cap with the nested flag on its
# at-risk vCPU; its path.
nested_fixture() {
	local d flags
	d=$(fixture pf-lost-cap "$1") || return 1
	flags=$(byte_at "$d/vcpu0/events" 20)
	put_byte "$d/vcpu0/events" 20 $((flags | 0x40))
	put_byte "$d/vcpu0/events" 54 "${2:-1}"
	echo "$d"
}

@test "inspect shows the nested flag and exception_is_nested" {
	d=$(nested_fixture nested)
	run -0 "$FREDCK" inspect "$d"
	assert_output --partial "nested-flag"
	assert_output --regexp '#PF \(14\) injected.*, nested \(exception_is_nested\)'
}

@test "without the flag, byte 54 is reserved and not shown as nested" {
	d=$(fixture pf-lost-cap plain)
	put_byte "$d/vcpu0/events" 54 1
	run -0 "$FREDCK" inspect --json "$d"
	[ "$(jq '.inputs[0].vcpus[0].exception.is_nested' <<<"$output")" = false ] || fail "$output"
}

@test "JSON carries exception.is_nested and the flag's name" {
	d=$(nested_fixture nested)
	run -0 "$FREDCK" inspect --json "$d"
	[ "$(jq '.inputs[0].vcpus[0].exception.is_nested' <<<"$output")" = true ] || fail "$output"
	jq -e '.inputs[0].vcpus[0].events_flag_names | index("nested-flag")' <<<"$output" >/dev/null ||
		fail "$output"
}

@test "a drop repair keeps the flag and exception_is_nested" {
	d=$(nested_fixture nested)
	run -1 "$FREDCK" repair --strategy=drop "$d" -o "$WORK/out"
	[ "$(byte_at "$WORK/out/vcpu0/events" 54)" = 1 ] || fail "byte 54 lost"
	(( $(byte_at "$WORK/out/vcpu0/events" 20) & 0x40 )) || fail "flag 0x40 lost"
	[ "$(byte_at "$WORK/out/vcpu0/events" 0)" = 0 ] || fail "the exception was not dropped"
	run -0 "$FREDCK" inspect --json "$WORK/out"
	[ "$(jq '.inputs[0].vcpus[0].exception.is_nested' <<<"$output")" = true ] || fail "$output"
}

@test "a pending repair keeps the flag and exception_is_nested" {
	d=$(nested_fixture nested)
	run -1 "$FREDCK" repair --strategy=pending --dest-payload-cap=yes "$d" -o "$WORK/out"
	[ "$(byte_at "$WORK/out/vcpu0/events" 54)" = 1 ] || fail "byte 54 lost"
	(( $(byte_at "$WORK/out/vcpu0/events" 20) & 0x40 )) || fail "flag 0x40 lost"
	(( $(byte_at "$WORK/out/vcpu0/events" 20) & 0x10 )) || fail "no payload flag"
	# Nothing but the planned fields changed: bytes 0-3 and 20-63 outside 54.
	cmp -l "$d/vcpu0/events" "$WORK/out/vcpu0/events" | awk '$1 == 55 { exit 1 }' ||
		fail "byte 54 changed"
}

@test "diff compares exception.is_nested" {
	a=$(nested_fixture a 1)
	b=$(nested_fixture b 0)
	run -1 "$FREDCK" diff "$a" "$b"
	assert_output --partial "exception.is_nested"
	run -1 "$FREDCK" diff --json "$a" "$b"
	jq -e '[.. | objects | select(.field? == "exception.is_nested")] | length > 0' <<<"$output" \
		>/dev/null || fail "$output"
}
