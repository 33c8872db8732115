#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Firecracker snapshot state files (issue 5): every versionize and bincode
# release read, repairs by drop and by pending, #DB and #NM rules, bitcode
# refused, damaged files rejected with nothing written, round trips.
# The files come from tests/fc/mkfcsnap, which serialises as each release
# does (its header names the sources).

load test_helper

MKFCSNAP=${MKFCSNAP:-${TOP_BUILDDIR:-$TOP_SRCDIR/_build}/tests/fc/mkfcsnap}

# Every release mkfcsnap writes, oldest first.
VERSIONIZE=(v0.23 v0.24 v0.25 v1.0 v1.1 v1.2 v1.3 v1.4 v1.5 v1.6)
BINCODE=(v1.7 v1.8 v1.9 v1.10 v1.10.1 v1.11 v1.12 v1.13 v1.14)

# Every Firecracker release tag from v1.7.0 to v1.14.4 and the SNAPSHOT_VERSION
# of src/vmm/src/persist.rs at that tag (read tag by tag; tests/fc/README.md).
TAGS=(v1.7.0=1.0.0 v1.8.0=2.0.0 v1.9.0=3.0.0 v1.9.1=3.0.0 v1.10.0=3.0.0 v1.10.1=4.0.0
	v1.11.0=5.0.0 v1.12.0=6.0.0 v1.12.1=6.0.0 v1.13.0=8.0.0 v1.13.1=8.0.0 v1.13.2=8.0.0
	v1.14.0=8.0.0 v1.14.1=8.0.0 v1.14.2=8.0.0 v1.14.3=8.0.0 v1.14.4=8.0.0)

# The CR2 and the DR6 mkfcsnap saves by default, and what they rebuild to.
CR2=0x00007f5a3c001ff8

# snap NAME RELEASE [MKFCSNAP OPTION...]: write $WORK/NAME; EV (the at-risk
# vCPU's events offset) and CRC (the trailer's offset) are set from -L.
snap() {
	local name=$1 rel=$2 layout
	shift 2
	[ -x "$MKFCSNAP" ] || fail "MKFCSNAP=$MKFCSNAP is not built (make check builds it)"
	layout=$("$MKFCSNAP" -L "$@" "$rel" "$WORK/$name") || fail "mkfcsnap $* $rel failed"
	EV=$(awk '$1 == "events" { off = $3 } END { print off }' <<<"$layout")
	CRC=$(($(stat -c %s "$WORK/$name") - 8))
}

# assert_crc_ok FILE: FILE ends in its own CRC-64 (checked by mkfcsnap, not fredck).
assert_crc_ok() {
	"$MKFCSNAP" crcok "$1" || fail "$1 does not end in a valid CRC-64"
}

# assert_unchanged FILE SUM: FILE still has sha256 SUM.
assert_unchanged() {
	[ "$(sha256sum <"$1")" = "$2" ] || fail "$1 was modified"
}

@test "firecracker: every versionize and bincode release is found and read" {
	local rel
	for rel in "${VERSIONIZE[@]}" "${BINCODE[@]}"; do
		snap "$rel.snap" "$rel" -n 3 -e 14
		run --separate-stderr "$FREDCK" check --json "$WORK/$rel.snap"
		[ "$status" -eq 4 ] || fail "$rel: exit $status, stderr: $stderr"
		[ "$(jqo '.inputs[0].format')" = firecracker ] || fail "$rel: format $(jqo '.inputs[0].format')"
		[ "$(jqo '.inputs[0].summary.vcpu_count')" = 3 ] || fail "$rel: $(jqo '.inputs[0].summary')"
		[ "$(vcpu 2 '.exception.vector')" = 14 ] || fail "$rel: vCPU 2 $(vcpu 2 .exception)"
		[ "$(vcpu 2 '.exception.error_code')" = 0x00000002 ] || fail "$rel: error code"
		[ "$(vcpu 2 '.event_data.value')" = "$CR2" ] || fail "$rel: $(vcpu 2 .event_data)"
		[ "$(vcpu 0 '.exception.state')" = none ] || fail "$rel: vCPU 0 $(vcpu 0 .exception)"
	done
}

@test "firecracker: inspect names the release, snapshot version, serializer and CRC" {
	snap a v1.12 -e 14
	run "$FREDCK" inspect "$WORK/a"
	assert_success
	assert_line --regexp '^release +v1\.12$'
	assert_line --regexp '^snapshot version +6\.0\.0$'
	assert_line --regexp '^serializer +bincode 2'
	assert_line --regexp '^crc64 +0x[0-9a-f]{16} \(valid\)$'
	assert_line --regexp '^  cr2 +0x00007f5a3c001ff8$'
	assert_line --regexp '^  dr6 +0x00000000ffff0ff1$'
	assert_line --regexp '^  xfd_err +not saved$'
	snap b v1.0 -e 14
	run "$FREDCK" inspect "$WORK/b"
	assert_line --regexp '^release +v1\.0$'
	assert_line --regexp '^snapshot version +data version 4$'
}

@test "firecracker: --format=firecracker reads it too" {
	snap a v1.9 -e 14
	run "$FREDCK" check --format=firecracker "$WORK/a"
	assert_failure 4
}

@test "firecracker: #PF repaired by drop (auto): only the event bytes and the CRC change" {
	local rel
	for rel in v1.0 v1.6 v1.7 v1.8 v1.11 v1.12 v1.14; do
		snap "$rel" "$rel" -n 3 -e 14
		run --separate-stderr "$FREDCK" repair -o "$WORK/$rel.out" "$WORK/$rel"
		[ "$status" -eq 1 ] || fail "$rel: exit $status: $output $stderr"
		assert_changed_within "$WORK/$rel" "$WORK/$rel.out" "$EV-$((EV + 63))" "$CRC-$((CRC + 7))"
		assert_crc_ok "$WORK/$rel.out"
		[ "$(peek_u8 "$WORK/$rel.out" "$EV")" = 0 ] || fail "$rel: still injected"
		[ "$(peek_u8 "$WORK/$rel.out" $((EV + 1)))" = 0 ] || fail "$rel: vector kept"
		[ "$(peek_u8 "$WORK/$rel.out" $((EV + 2)))" = 0 ] || fail "$rel: has_error_code kept"
		[ "$(peek_u32 "$WORK/$rel.out" $((EV + 4)))" = 0 ] || fail "$rel: error code kept"
		[ "$(peek_u32 "$WORK/$rel.out" $((EV + 20)))" = 13 ] || fail "$rel: flags changed"
		run "$FREDCK" check "$WORK/$rel.out"
		[ "$status" -eq 0 ] || fail "$rel: the repaired file checks with exit $status: $output"
	done
}

@test "firecracker: #PF repaired by pending with --dest-payload-cap=yes: payload = CR2, flag 0x10" {
	local rel
	for rel in v1.5 v1.7 v1.10 v1.13; do
		snap "$rel" "$rel" -e 14
		run --separate-stderr "$FREDCK" repair --dest-payload-cap=yes -o "$WORK/$rel.out" "$WORK/$rel"
		[ "$status" -eq 1 ] || fail "$rel: exit $status: $output $stderr"
		assert_changed_within "$WORK/$rel" "$WORK/$rel.out" "$EV-$((EV + 63))" "$CRC-$((CRC + 7))"
		assert_crc_ok "$WORK/$rel.out"
		[ "$(peek_u8 "$WORK/$rel.out" "$EV")" = 0 ] || fail "$rel: still injected"
		[ "$(peek_u8 "$WORK/$rel.out" $((EV + 1)))" = 14 ] || fail "$rel: vector lost"
		[ "$(peek_u8 "$WORK/$rel.out" $((EV + 3)))" = 1 ] || fail "$rel: not pending"
		[ "$(peek_u32 "$WORK/$rel.out" $((EV + 4)))" = 2 ] || fail "$rel: error code lost"
		[ "$(peek_u32 "$WORK/$rel.out" $((EV + 20)))" = $((0x1D)) ] || fail "$rel: flags"
		[ "$(peek_u8 "$WORK/$rel.out" $((EV + 55)))" = 1 ] || fail "$rel: has_payload"
		[ "$(peek_u64 "$WORK/$rel.out" $((EV + 56)))" = "$CR2" ] || fail "$rel: payload"
	done
}

@test "firecracker: #DB is reported with its rebuilt value and left alone (exit 4, file identical)" {
	snap a v1.12 -e 1 -6 0xFFFF0FF2
	run --separate-stderr "$FREDCK" check --json "$WORK/a"
	assert_failure 4
	[ "$(vcpu 1 '.event_data.value')" = 0x0000000000000002 ] || fail "$(vcpu 1 .event_data)"
	[ "$(vcpu 1 '.event_data.confidence')" = exact ]
	[ "$(vcpu 1 '.repair.action')" = leave ] || fail "$(vcpu 1 .repair)"
	[ "$(vcpu 1 '.repair.reason')" = no-payload-cap ] || fail "$(vcpu 1 .repair)"
	run --separate-stderr "$FREDCK" repair -o "$WORK/a.out" "$WORK/a"
	assert_failure 4
	cmp "$WORK/a" "$WORK/a.out" || fail "a #DB left alone changed the file"
	# With the capability, pending carries the rebuilt payload.
	run --separate-stderr "$FREDCK" repair --dest-payload-cap=yes -o "$WORK/b.out" "$WORK/a"
	assert_failure 1
	[ "$(peek_u8 "$WORK/b.out" $((EV + 3)))" = 1 ] || fail "not pending"
	[ "$(peek_u64 "$WORK/b.out" $((EV + 56)))" = 0x0000000000000002 ] || fail "payload"
	assert_crc_ok "$WORK/b.out"
}

@test "firecracker: #NM with AMX tile data in XCR0: XFD_ERR not saved, auto drops it" {
	snap a v1.14 -e 7 -x 0x60007
	run --separate-stderr "$FREDCK" check --json --dest-payload-cap=yes "$WORK/a"
	assert_failure 4
	[ "$(vcpu 1 '.event_data.confidence')" = unrecoverable ] || fail "$(vcpu 1 .event_data)"
	# Firecracker saves neither IA32_XFD nor IA32_XFD_ERR: the first one missing is named.
	[ "$(vcpu 1 '.event_data.missing_register')" = xfd ] || fail "$(vcpu 1 .event_data)"
	[ "$(codes 1)" = "FK103 FK202 FK203 FK302" ] || fail "findings: $(codes 1)"
	[ "$(vcpu 1 '.repair.action')" = drop ] || fail "$(vcpu 1 .repair)"
	run --separate-stderr "$FREDCK" repair --dest-payload-cap=yes --strategy=pending -o "$WORK/p.out" "$WORK/a"
	assert_failure 4
	[ "$(jq -r '.inputs[0].vcpus[1].repair.reason' <<<"$("$FREDCK" check --json --dest-payload-cap=yes --strategy=pending "$WORK/a")")" = unrecoverable ]
	run --separate-stderr "$FREDCK" repair -o "$WORK/a.out" "$WORK/a"
	assert_failure 1
	[ "$(peek_u8 "$WORK/a.out" $((EV + 1)))" = 0 ] || fail "#NM not dropped"
	assert_crc_ok "$WORK/a.out"
}

@test "firecracker: #NM without AMX (or with CR0.TS): exact 0, pending with the capability, drop without" {
	snap a v1.8 -e 7 -x 0x7
	run --separate-stderr "$FREDCK" check --json --dest-payload-cap=yes "$WORK/a"
	[ "$(vcpu 1 '.event_data.confidence')" = exact ] || fail "$(vcpu 1 .event_data)"
	[ "$(vcpu 1 '.event_data.provenance')" = xcr0 ]
	[ "$(vcpu 1 '.repair.action')" = pending ]
	run --separate-stderr "$FREDCK" repair --dest-payload-cap=yes -o "$WORK/a.out" "$WORK/a"
	assert_failure 1
	[ "$(peek_u8 "$WORK/a.out" $((EV + 3)))" = 1 ] || fail "not pending"
	[ "$(peek_u8 "$WORK/a.out" $((EV + 55)))" = 1 ] || fail "no payload"
	[ "$(peek_u64 "$WORK/a.out" $((EV + 56)))" = 0x0000000000000000 ]
	run --separate-stderr "$FREDCK" repair -o "$WORK/b.out" "$WORK/a"
	assert_failure 1
	[ "$(peek_u8 "$WORK/b.out" $((EV + 1)))" = 0 ] || fail "not dropped without the capability"

	snap t v1.8 -e 7 -x 0x60007 -T
	run --separate-stderr "$FREDCK" check --json --dest-payload-cap=yes "$WORK/t"
	[ "$(vcpu 1 '.event_data.provenance')" = cr0.ts ] || fail "$(vcpu 1 .event_data)"
	[ "$(vcpu 1 '.repair.action')" = pending ]
}

@test "firecracker: a valid CRC without a known header (nor bitcode's magic column) is refused: exit 8, nothing written" {
	"$MKFCSNAP" bitcode "$WORK/b"
	run --separate-stderr "$FREDCK" check "$WORK/b"
	assert_failure 8
	assert_stderr_contains "$WORK/b" bitcode "v1.15" "valid trailing CRC-64"
	run --separate-stderr "$FREDCK" repair -o "$WORK/b.out" "$WORK/b"
	assert_failure 8
	[ ! -e "$WORK/b.out" ] || fail "repair wrote $WORK/b.out"
	# The same bytes with a wrong CRC are no known format at all.
	poke "$WORK/b" 100 00
	"$MKFCSNAP" crcok "$WORK/b" && skip "the poke left the CRC valid"
	run --separate-stderr "$FREDCK" check "$WORK/b"
	assert_failure 8
	assert_stderr_contains 'no known format'
}

@test "firecracker: a corrupted checksum is malformed input: check and repair exit 8 naming it" {
	local sum
	snap a v1.12 -e 14
	poke "$WORK/a" $((CRC + 3)) 5a
	sum=$(sha256sum <"$WORK/a")
	run --separate-stderr "$FREDCK" check "$WORK/a"
	assert_failure 8
	assert_stderr_contains "$WORK/a" "byte $CRC" crc64 "CRC-64"
	run --separate-stderr "$FREDCK" check --json "$WORK/a"
	assert_failure 8
	[ "$(jqo '.inputs[0].error.field')" = crc64 ] || fail "$output"
	[ "$(jqo '.inputs[0].error.offset')" = "$CRC" ] || fail "$output"
	run --separate-stderr "$FREDCK" repair -o "$WORK/a.out" "$WORK/a"
	assert_failure 8
	[ ! -e "$WORK/a.out" ] || fail "repair wrote $WORK/a.out"
	run --separate-stderr "$FREDCK" repair --in-place "$WORK/a"
	assert_failure 8
	assert_unchanged "$WORK/a" "$sum"
	[ ! -e "$WORK/a.orig" ] || fail "a backup was made"
	assert_no_leftovers "$WORK"
}

@test "firecracker: truncated files: exit 8 with a clear error, nothing written" {
	local cut size sum
	snap a v1.12 -e 14
	size=$(stat -c %s "$WORK/a")
	for cut in 1 8 9 100 $((size / 2)) $((size - 30)) $((size - 20)) $((size - 1)); do
		head -c $((size - cut)) "$WORK/a" >"$WORK/t"
		sum=$(sha256sum <"$WORK/t")
		run --separate-stderr "$FREDCK" repair -o "$WORK/t.out" "$WORK/t"
		[ "$status" -eq 8 ] || fail "cut $cut: exit $status"
		[[ "$stderr" == *"$WORK/t"* ]] || fail "cut $cut: $stderr"
		# Fewer than 8 bytes hold no magic: no known format.
		[[ "$stderr" == *"too short"* || "$stderr" == *truncated* ||
			($((size - cut)) -lt 8 && "$stderr" == *"no known format"*) ]] ||
			fail "cut $cut: $stderr"
		[ ! -e "$WORK/t.out" ] || fail "cut $cut: wrote $WORK/t.out"
		assert_unchanged "$WORK/t" "$sum"
	done
}

@test "firecracker: bit-flipped files are rejected, exit 8, nothing written" {
	local off size sum
	snap a v1.7 -e 14
	size=$(stat -c %s "$WORK/a")
	for off in 3 12 500 $((EV + 1)) $((EV + 20)) $((size / 2)) $((size - 12)); do
		cp "$WORK/a" "$WORK/f"
		printf "%02x" $(($(peek_u8 "$WORK/f" "$off") ^ 0x10)) >"$WORK/hex"
		poke "$WORK/f" "$off" "$(cat "$WORK/hex")"
		sum=$(sha256sum <"$WORK/f")
		run --separate-stderr "$FREDCK" repair --in-place "$WORK/f"
		[ "$status" -eq 8 ] || fail "flip at $off: exit $status: $stderr"
		assert_unchanged "$WORK/f" "$sum"
		[ ! -e "$WORK/f.orig" ] || fail "flip at $off: backup made"
	done
	assert_no_leftovers "$WORK"
}

@test "firecracker: damage behind a valid CRC is found by the strict walk, naming the field" {
	# A length prefix of vcpu_events (v1.12: [u64 64][64 bytes]) made 65.
	snap a v1.12 -n 3 -e 14
	poke_u64 "$WORK/a" $((EV - 8)) 65
	"$MKFCSNAP" recrc "$WORK/a"
	run --separate-stderr "$FREDCK" check "$WORK/a"
	assert_failure 8
	assert_stderr_contains "byte $((EV - 8))" "(vcpu_states[2].vcpu_events)" "65 bytes" "writes 64"
	# Flags the kernel would reject.
	snap b v1.12 -e 14
	poke_u32 "$WORK/b" $((EV + 20)) $((0x10D | 0x100))
	"$MKFCSNAP" recrc "$WORK/b"
	run --separate-stderr "$FREDCK" check "$WORK/b"
	assert_failure 8
	assert_stderr_contains "byte $((EV + 20))" "vcpu_states[1].vcpu_events.flags" "unknown flag bits"
	# A vCPU count far beyond the file: refused without allocating it.
	snap c v1.9 -e 14
	run "$FREDCK" inspect "$WORK/c"
	local at
	at=$(sed -n 's/^vcpu states *at byte \([0-9]*\)$/\1/p' <<<"$output")
	[ -n "$at" ] || fail "no offset in: $output"
	poke_u64 "$WORK/c" "$at" $((0x7fffffffffff))
	"$MKFCSNAP" recrc "$WORK/c"
	run --separate-stderr "$FREDCK" check "$WORK/c"
	assert_failure 8
	assert_stderr_contains "byte $at" "(vcpu_states)" "length 140737488355327" "bytes left"
}

@test "firecracker: an aarch64 snapshot is refused (x86 only), exit 8" {
	snap a v1.12
	poke "$WORK/a" 0 0000aaaa84191007
	"$MKFCSNAP" recrc "$WORK/a"
	run --separate-stderr "$FREDCK" check "$WORK/a"
	assert_failure 8
	assert_stderr_contains aarch64
}

@test "firecracker: a no-op round trip is byte-identical, for every release" {
	local rel
	for rel in "${VERSIONIZE[@]}" "${BINCODE[@]}"; do
		snap "$rel" "$rel" -n 2
		run --separate-stderr "$FREDCK" repair -o "$WORK/$rel.out" "$WORK/$rel"
		[ "$status" -eq 0 ] || fail "$rel: exit $status: $stderr"
		cmp "$WORK/$rel" "$WORK/$rel.out" || fail "$rel: the round trip changed the file"
	done
}

@test "firecracker: a second repair changes nothing (exit 0; exit 4 where a #DB stays at risk)" {
	snap a v1.13 -n 4 -v 2 -e 14
	run "$FREDCK" repair -o "$WORK/a1" "$WORK/a"
	assert_failure 1
	run "$FREDCK" repair -o "$WORK/a2" "$WORK/a1"
	assert_success
	cmp "$WORK/a1" "$WORK/a2" || fail "the second repair changed the file"
	run "$FREDCK" repair --dest-payload-cap=yes -o "$WORK/p1" "$WORK/a"
	assert_failure 1
	run "$FREDCK" repair --dest-payload-cap=yes -o "$WORK/p2" "$WORK/p1"
	assert_success
	cmp "$WORK/p1" "$WORK/p2" || fail "the second pending repair changed the file"
	snap d v1.13 -e 1
	run "$FREDCK" repair -o "$WORK/d1" "$WORK/d"
	assert_failure 4
	run "$FREDCK" repair -o "$WORK/d2" "$WORK/d1"
	assert_failure 4
	cmp "$WORK/d" "$WORK/d2" || fail "a #DB left alone changed the file"
}

@test "firecracker: --in-place is atomic and keeps the original as the backup (a later, different original as a.orig.1)" {
	local sum
	snap a v1.11 -e 14
	sum=$(sha256sum <"$WORK/a")
	cp "$WORK/a" "$WORK/orig"
	run "$FREDCK" repair --in-place "$WORK/a"
	assert_failure 1
	assert_unchanged "$WORK/a.orig" "$sum"
	assert_changed_within "$WORK/orig" "$WORK/a" "$EV-$((EV + 63))" "$CRC-$((CRC + 7))"
	assert_crc_ok "$WORK/a"
	assert_no_leftovers "$WORK"
	# The same original saved again: the backup holding its bytes is its backup.
	cp "$WORK/orig" "$WORK/a"
	run "$FREDCK" repair --in-place "$WORK/a"
	assert_failure 1
	assert_unchanged "$WORK/a.orig" "$sum"
	[ ! -e "$WORK/a.orig.1" ] || fail "a second backup of one original"
	# Another original: the backup that exists is never overwritten, this one is a.orig.1.
	snap b v1.10 -e 14
	cp "$WORK/b" "$WORK/a"
	run "$FREDCK" repair --in-place "$WORK/a"
	assert_failure 1
	assert_unchanged "$WORK/a.orig" "$sum"
	cmp "$WORK/b" "$WORK/a.orig.1" || fail "the second original is not kept as a.orig.1"
}

@test "firecracker: a vCPU without FRED, or without an exception, is not at risk" {
	snap a v1.10 -e 14 -F
	run "$FREDCK" check "$WORK/a"
	assert_success
	snap b v1.10 -n 1
	run "$FREDCK" check "$WORK/b"
	assert_success
	# Pending without a payload (KVM's GET never reports it so without the cap; still at risk).
	snap c v1.10 -e 14 -P
	run "$FREDCK" check "$WORK/c"
	assert_failure 4
}

@test "firecracker: random damage behind a valid CRC: never a crash, exit 0, 4 or 8, nothing written on 8" {
	local rel mut off size byte
	RANDOM=5 # the same mutations on every run
	# Not "i": bats' run assigns a global i.
	for rel in v1.2 v1.7 v1.12; do
		snap "$rel" "$rel" -n 2 -e 14
		size=$(stat -c %s "$WORK/$rel")
		for ((mut = 0; mut < 40; mut++)); do
			off=$(((RANDOM * 32768 + RANDOM) % (size - 8)))
			byte=$(printf '%02x' $((RANDOM % 256)))
			cp "$WORK/$rel" "$WORK/m"
			poke "$WORK/m" "$off" "$byte"
			# Now and then cut the file short at the mutation as well.
			((mut % 5 == 4)) && truncate -s $((off + 8)) "$WORK/m"
			"$MKFCSNAP" recrc "$WORK/m"
			rm -f "$WORK/m.out"
			run --separate-stderr "$FREDCK" repair -o "$WORK/m.out" "$WORK/m"
			case $status in
			0 | 1 | 4) ;;
			8 | 12)
				[ ! -e "$WORK/m.out" ] || fail "$rel: byte $off = $byte: exit $status but wrote"
				[[ "$stderr" == *"$WORK/m"* ]] || fail "$rel: byte $off = $byte: $stderr" ;;
			*) fail "$rel: byte $off = $byte: exit $status: $stderr" ;;
			esac
		done
	done
}

@test "firecracker: structures the kernel would reject are malformed (exit 8), naming the field" {
	snap a v1.9 -e 14
	poke "$WORK/a" $((EV + 1)) 02
	"$MKFCSNAP" recrc "$WORK/a"
	run --separate-stderr "$FREDCK" check "$WORK/a"
	assert_failure 8
	assert_stderr_contains "byte $((EV + 1))" "vcpu_states[1].vcpu_events.exception.nr" "NMI"
	snap b v1.6 -e 14
	poke "$WORK/b" $((EV + 1)) 28
	"$MKFCSNAP" recrc "$WORK/b"
	run --separate-stderr "$FREDCK" repair -o "$WORK/b.out" "$WORK/b"
	assert_failure 8
	assert_stderr_contains "exception vector 40 is above 31"
	[ ! -e "$WORK/b.out" ] || fail "repair wrote $WORK/b.out"
}

@test "firecracker: every release tag v1.7.0-v1.14.4: its snapshot version, its release and tags in inspect, read to the checksum" {
	local t tag ver minor want devices
	# The generator's table is the same list.
	[ "$("$MKFCSNAP" tags | tr ' ' = | tr '\n' ' ')" = "${TAGS[*]} " ] ||
		fail "mkfcsnap tags: $("$MKFCSNAP" tags | tr '\n' ' ')"
	for t in "${TAGS[@]}"; do
		tag=${t%=*} ver=${t#*=}
		minor=${tag%.*}
		# With a net device, 3.0.0's two layouts (v1.9.x, v1.10.0) differ: the file says which.
		for devices in bnv bunmvle 0; do
			snap "$tag-$devices" "$tag" -n 3 -e 14 -d "$devices"
			run --separate-stderr "$FREDCK" inspect "$WORK/$tag-$devices"
			[ "$status" -eq 0 ] || fail "$tag -d $devices: exit $status: $stderr"
			assert_line --regexp "^snapshot version +${ver//./\\.}\$"
			assert_line --regexp "^tags +(.* )?${tag//./\\.}( .*)?\$"
			assert_line --regexp '^walked +every field, to the checksum$'
			want=$minor
			[ "$ver" = 3.0.0 ] && [ "$devices" = 0 ] && want=v1.9-v1.10
			assert_line --regexp "^release +${want//./\\.}\$"
			run --separate-stderr "$FREDCK" check --json "$WORK/$tag-$devices"
			[ "$status" -eq 4 ] || fail "$tag -d $devices: check exit $status: $stderr"
			[ "$(vcpu 2 '.event_data.value')" = "$CR2" ] || fail "$tag: $(vcpu 2 .event_data)"
		done
	done
}

@test "firecracker: device states on the PCI transport (v1.13, v1.14) and pmem, virtio-mem (v1.14) are walked to the checksum" {
	local rel
	for rel in v1.13.0 v1.14.4; do
		snap "$rel" "$rel" -e 14 -I -d bunmvle
		run --separate-stderr "$FREDCK" inspect "$WORK/$rel"
		assert_success
		assert_line --regexp '^walked +every field, to the checksum$'
		assert_line --regexp "^release +${rel%.*}\$"
	done
	snap a v1.14 -e 14 -d bunmvlepy
	run "$FREDCK" check "$WORK/a"
	assert_failure 4
	snap b v1.14 -e 14 -I -d bvpy
	run "$FREDCK" check "$WORK/b"
	assert_failure 4
}

@test "firecracker: v1.10.1 (snapshot version 4.0.0) is read, checked and repaired byte-exactly; a second repair exits 0" {
	snap a v1.10.1 -n 3 -e 14
	run --separate-stderr "$FREDCK" inspect "$WORK/a"
	assert_success
	assert_line --regexp '^snapshot version +4\.0\.0$'
	assert_line --regexp '^tags +v1\.10\.1$'
	run --separate-stderr "$FREDCK" check "$WORK/a"
	assert_failure 4
	run --separate-stderr "$FREDCK" repair -o "$WORK/a1" "$WORK/a"
	assert_failure 1
	assert_changed_within "$WORK/a" "$WORK/a1" "$EV-$((EV + 63))" "$CRC-$((CRC + 7))"
	assert_crc_ok "$WORK/a1"
	[ "$(peek_u8 "$WORK/a1" "$EV")" = 0 ] || fail "still injected"
	run --separate-stderr "$FREDCK" repair -o "$WORK/a2" "$WORK/a1"
	assert_success
	cmp "$WORK/a1" "$WORK/a2" || fail "the second repair changed the file"
}

# layout_of NAME KEY [INDEX]: an offset mkfcsnap -L printed for $WORK/NAME.layout.
layout_of() {
	awk -v k="$2" -v i="${3:-}" '$1 == k && (i == "" || $2 == i) { print $NF; exit }' "$WORK/$1.layout"
}

@test "firecracker: issue 13: a v1.7 file with its vCPU count 2 -> 3 (CRC valid) is malformed, naming offset and field" {
	local at sum
	# Three vCPU states cannot fit in what is left: refused at the count, before any allocation.
	"$MKFCSNAP" -L v1.7 "$WORK/a" >"$WORK/a.layout"
	at=$(layout_of a vcpus)
	poke_u64 "$WORK/a" "$at" 3
	"$MKFCSNAP" recrc "$WORK/a"
	sum=$(sha256sum <"$WORK/a")
	run --separate-stderr "$FREDCK" check --json "$WORK/a"
	assert_failure 8
	[ "$(jqo '.inputs[0].error.field')" = vcpu_states ] || fail "$output"
	[ "$(jqo '.inputs[0].error.offset')" = "$at" ] || fail "$output"
	run --separate-stderr "$FREDCK" repair -o "$WORK/a.out" "$WORK/a"
	assert_failure 8
	assert_stderr_contains "byte $at" "(vcpu_states)" "length 3" "hold at most 2"
	[ ! -e "$WORK/a.out" ] || fail "repair wrote $WORK/a.out"
	assert_unchanged "$WORK/a" "$sum"
	# With 120 cpuid entries (KVM reports up to 256) three would fit: the third must parse, and does not.
	"$MKFCSNAP" -L -c 120 v1.7 "$WORK/b" >"$WORK/b.layout"
	poke_u64 "$WORK/b" "$(layout_of b vcpus)" 3
	"$MKFCSNAP" recrc "$WORK/b"
	run --separate-stderr "$FREDCK" check --json "$WORK/b"
	assert_failure 8
	[ "$(jqo '.inputs[0].error.field')" = "vcpu_states[2].cpuid" ] || fail "$output"
	[ "$(jqo '.inputs[0].error.offset')" = "$(layout_of b after)" ] || fail "$output"
	run --separate-stderr "$FREDCK" repair -o "$WORK/b.out" "$WORK/b"
	assert_failure 8
	assert_stderr_contains "byte $(layout_of b after)" "(vcpu_states[2].cpuid)" "announces 3 states; 2 parsed"
	[ ! -e "$WORK/b.out" ] || fail "repair wrote $WORK/b.out"
}

@test "firecracker: issue 13: a v1.7 file with vCPU 1's cpuid entry count 2^40 (CRC valid) is malformed, naming offset and field" {
	local at
	"$MKFCSNAP" -L v1.7 "$WORK/a" >"$WORK/a.layout"
	at=$(layout_of a cpuid 1)
	poke_u64 "$WORK/a" "$at" $((1 << 40))
	"$MKFCSNAP" recrc "$WORK/a"
	run --separate-stderr "$FREDCK" check "$WORK/a"
	assert_failure 8
	assert_stderr_contains "byte $at" "(vcpu_states[1].cpuid)" "length 1099511627776"
	run --separate-stderr "$FREDCK" repair -o "$WORK/a.out" "$WORK/a"
	assert_failure 8
	[ ! -e "$WORK/a.out" ] || fail "repair wrote $WORK/a.out"
}

@test "firecracker: damage in the device states or after them (CRC valid) is malformed, naming offset and field" {
	local after size
	# A byte more before the checksum: the walk ends before it.
	snap a v1.12 -e 14
	size=$(stat -c %s "$WORK/a")
	head -c $((size - 8)) "$WORK/a" >"$WORK/b"
	printf '\0\0\0\0\0\0\0\0\0' >>"$WORK/b"
	"$MKFCSNAP" recrc "$WORK/b"
	run --separate-stderr "$FREDCK" check "$WORK/b"
	assert_failure 8
	assert_stderr_contains "byte $((size - 8))" "(end of state)" "ends 1 byte before the checksum"
	# The first device list's length made 2 (one block device is there).
	"$MKFCSNAP" -L -d bnv v1.9 "$WORK/c" >"$WORK/c.layout"
	after=$(layout_of c after)
	poke_u64 "$WORK/c" "$after" 2
	"$MKFCSNAP" recrc "$WORK/c"
	run --separate-stderr "$FREDCK" check "$WORK/c"
	assert_failure 8
	assert_stderr_contains "device_states.block_devices[1]"
	# A vsock Option tag of 2 in v1.14's MMIO list (no block, no net device before it).
	"$MKFCSNAP" -L -d v v1.14 "$WORK/d" >"$WORK/d.layout"
	after=$(layout_of d after)
	poke "$WORK/d" $((after + 16)) 02
	"$MKFCSNAP" recrc "$WORK/d"
	run --separate-stderr "$FREDCK" check "$WORK/d"
	assert_failure 8
	assert_stderr_contains "byte $((after + 16))" "device_states.mmio_state.vsock_device" "Option tag 2"
}

@test "firecracker: a kvm structure of VmState one byte longer or shorter (CRC valid) is refused, naming the field" {
	local at d
	"$MKFCSNAP" -L v1.8 "$WORK/a" >"$WORK/a.layout"
	at=$(layout_of a kvmlen vm_state.pitstate)
	for d in 1 -1; do
		cp "$WORK/a" "$WORK/b"
		poke_u64 "$WORK/b" "$at" $((112 + d))
		"$MKFCSNAP" recrc "$WORK/b"
		run --separate-stderr "$FREDCK" check "$WORK/b"
		assert_failure 8
		assert_stderr_contains "byte $at" "(vm_state.pitstate)" "$((112 + d)) bytes" "writes 112"
	done
}
