#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Firecracker v1.15 and v1.16 snapshot files (issue 17): bitcode 0.6.9 in
# serde mode.  The files of tests/fc/bitcode/ were written by the real
# bitcode crate (tests/fc/bitcode-gen, its README says how), each with the
# file a repair must give, byte for byte: NAME.drop (the default where the
# exception is dropped) and NAME.pending (--dest-payload-cap=yes).

load test_helper

MKFCSNAP=${MKFCSNAP:-${TOP_BUILDDIR:-$TOP_SRCDIR/_build}/tests/fc/mkfcsnap}
BITCODE=$TOP_SRCDIR/tests/fc/bitcode
RELEASES=(v1.15 v1.16)
CR2=0x00007f5a3c001ff8

# ref NAME: copy tests/fc/bitcode/NAME into $WORK (tests never touch the originals).
ref() {
	[ -f "$BITCODE/$1" ] || fail "no reference file $BITCODE/$1"
	cp "$BITCODE/$1" "$WORK/$1"
	chmod u+w "$WORK/$1"
}

# recrc FILE: give FILE (whose last 8 bytes are the trailer) a valid CRC-64.
recrc() {
	[ -x "$MKFCSNAP" ] || fail "MKFCSNAP=$MKFCSNAP is not built (make check builds it)"
	"$MKFCSNAP" recrc "$1"
}

# events_column FILE: the byte offset of the events column (inspect's "events column").
events_column() {
	"$FREDCK" inspect "$1" | awk '$1 == "events" && $2 == "column" { sub(",", "", $4); print $4 }'
}

@test "firecracker bitcode: the reference files match their checksums (tests/fc/bitcode/SHA256SUMS)" {
	(cd "$BITCODE" && sha256sum --quiet -c SHA256SUMS) || fail "a reference file differs from SHA256SUMS"
}

@test "firecracker bitcode: every reference file is read to the checksum, its vCPUs as written" {
	local rel name want n
	for rel in "${RELEASES[@]}"; do
		for name in clean-1:0:1 nofred-2:0:2 pf-2:4:2 pf-4-pci:4:4 pf-32:4:32 db-4:4:4 nm-2:4:2 \
			nm-amx-2:4:2 len255-3:4:3; do
			IFS=: read -r name want n <<<"$name"
			ref "$rel-$name.snap"
			run --separate-stderr "$FREDCK" check --json "$WORK/$rel-$name.snap"
			[ "$status" -eq "$want" ] || fail "$rel-$name: exit $status: $stderr"
			[ "$(jqo '.inputs[0].format')" = firecracker ] || fail "$rel-$name: format"
			[ "$(jqo '.inputs[0].summary.vcpu_count')" = "$n" ] || fail "$rel-$name: $(jqo '.inputs[0].summary')"
		done
		run --separate-stderr "$FREDCK" check --json "$WORK/$rel-pf-32.snap"
		[ "$(vcpu 31 '.exception.vector')" = 14 ] || fail "$rel: vCPU 31 $(vcpu 31 .exception)"
		[ "$(vcpu 31 '.exception.error_code')" = 0x00000002 ] || fail "$rel: error code"
		[ "$(vcpu 31 '.event_data.value')" = "$CR2" ] || fail "$rel: $(vcpu 31 .event_data)"
		[ "$(vcpu 30 '.exception.state')" = none ] || fail "$rel: vCPU 30 $(vcpu 30 .exception)"
	done
}

@test "firecracker bitcode: inspect names the release, tags, snapshot version, serializer and CRC" {
	ref v1.15-pf-2.snap
	run "$FREDCK" inspect "$WORK/v1.15-pf-2.snap"
	assert_success
	assert_line --regexp '^release +v1\.15$'
	assert_line --regexp '^tags +v1\.15\.0 v1\.15\.1$'
	assert_line --regexp '^snapshot version +9\.0\.0$'
	assert_line --regexp '^serializer +bitcode 0\.6, serde mode$'
	assert_line --regexp '^walked +every column \([0-9]+ positions\), to the checksum$'
	assert_line --regexp '^crc64 +0x[0-9a-f]{16} \(valid\)$'
	assert_line --regexp '^  cr2 +0x00007f5a3c001ff8$'
	assert_line --regexp '^  xfd_err +not saved$'
	ref v1.16-pf-2.snap
	run "$FREDCK" inspect "$WORK/v1.16-pf-2.snap"
	assert_line --regexp '^release +v1\.16$'
	assert_line --regexp '^snapshot version +10\.0\.0$'
}

@test "firecracker bitcode: every repair is byte-identical to what bitcode 0.6.9 writes for the repaired state" {
	local f base kind opts sum
	for f in "$BITCODE"/*.drop "$BITCODE"/*.pending; do
		base=$(basename "${f%.*}")
		kind=${f##*.}
		opts=()
		[ "$kind" = pending ] && opts=(--dest-payload-cap=yes)
		ref "$base.snap"
		sum=$(sha256sum <"$WORK/$base.snap")
		run --separate-stderr "$FREDCK" repair "${opts[@]}" -o "$WORK/$base.out" "$WORK/$base.snap"
		[ "$status" -eq 1 ] || fail "$base $kind: exit $status: $stderr"
		cmp "$WORK/$base.out" "$f" || fail "$base $kind: not what bitcode writes for the repaired state"
		[ "$(sha256sum <"$WORK/$base.snap")" = "$sum" ] || fail "$base: the input was modified"
		# A second repair finds nothing left to do (#DB with the capability is pending now).
		run --separate-stderr "$FREDCK" repair "${opts[@]}" -o "$WORK/$base.again" "$WORK/$base.out"
		[ "$status" -eq 0 ] || fail "$base $kind: second repair exit $status: $stderr"
		rm -f "$WORK/$base.out" "$WORK/$base.again"
	done
}

@test "firecracker bitcode: the pending repair re-packs the events column (4-bit to raw) and splices it" {
	local col
	ref v1.16-pf-32.snap
	col=$(events_column "$WORK/v1.16-pf-32.snap")
	[ -n "$col" ] || fail "inspect names no events column"
	"$FREDCK" inspect "$WORK/v1.16-pf-32.snap" | grep -q "^events column *byte $col, 1025 bytes$" ||
		fail "32 x 64 event bytes below 16 are not 4-bit packed: $("$FREDCK" inspect "$WORK/v1.16-pf-32.snap" | grep events)"
	run --separate-stderr "$FREDCK" repair --dest-payload-cap=yes -o "$WORK/p" "$WORK/v1.16-pf-32.snap"
	assert_failure 1
	"$FREDCK" inspect "$WORK/p" | grep -q "^events column *byte $col, 2049 bytes$" ||
		fail "the payload's bytes above 15 do not make the column raw"
	cmp -n "$col" "$WORK/p" "$WORK/v1.16-pf-32.snap" || fail "a byte before the events column changed"
	# After the column, the rest is the input's, shifted by 1024.
	cmp <(tail -c +$((col + 1025 + 1)) "$WORK/v1.16-pf-32.snap" | head -c -8) \
		<(tail -c +$((col + 2049 + 1)) "$WORK/p" | head -c -8) ||
		fail "the bytes after the events column changed"
}

@test "firecracker bitcode: #PF dropped by default, pending with the capability; #DB left alone by default" {
	local rel
	for rel in "${RELEASES[@]}"; do
		ref "$rel-pf-2.snap"
		run --separate-stderr "$FREDCK" check --json "$WORK/$rel-pf-2.snap"
		assert_failure 4
		[ "$(vcpu 1 '.repair.action')" = drop ] || fail "$rel: $(vcpu 1 .repair)"
		run --separate-stderr "$FREDCK" check --json --dest-payload-cap=yes "$WORK/$rel-pf-2.snap"
		[ "$(vcpu 1 '.repair.action')" = pending ] || fail "$rel: $(vcpu 1 .repair)"
		ref "$rel-db-4.snap"
		run --separate-stderr "$FREDCK" check --json "$WORK/$rel-db-4.snap"
		assert_failure 4
		[ "$(vcpu 1 '.event_data.value')" = 0x0000000000000002 ] || fail "$(vcpu 1 .event_data)"
		[ "$(vcpu 1 '.event_data.confidence')" = exact ]
		[ "$(vcpu 1 '.repair.action')" = leave ] || fail "$(vcpu 1 .repair)"
		run --separate-stderr "$FREDCK" repair -o "$WORK/db.out" "$WORK/$rel-db-4.snap"
		assert_failure 4
		cmp "$WORK/$rel-db-4.snap" "$WORK/db.out" || fail "$rel: a #DB left alone changed the file"
		rm -f "$WORK/db.out"
	done
}

@test "firecracker bitcode: #NM: with AMX in XCR0 unrecoverable (XFD_ERR not saved), dropped even with the capability" {
	local rel
	for rel in "${RELEASES[@]}"; do
		ref "$rel-nm-amx-2.snap"
		run --separate-stderr "$FREDCK" check --json --dest-payload-cap=yes "$WORK/$rel-nm-amx-2.snap"
		assert_failure 4
		[ "$(vcpu 1 '.event_data.confidence')" = unrecoverable ] || fail "$rel: $(vcpu 1 .event_data)"
		[ "$(vcpu 1 '.event_data.missing_register')" = xfd ] || fail "$rel: $(vcpu 1 .event_data)"
		[ "$(codes 1)" = "FK103 FK202 FK203 FK302" ] || fail "$rel: findings $(codes 1)"
		run --separate-stderr "$FREDCK" repair --dest-payload-cap=yes -o "$WORK/a.out" "$WORK/$rel-nm-amx-2.snap"
		assert_failure 1
		cmp "$WORK/a.out" "$BITCODE/$rel-nm-amx-2.drop" || fail "$rel: not the dropped state"
		ref "$rel-nm-2.snap"
		run --separate-stderr "$FREDCK" check --json --dest-payload-cap=yes "$WORK/$rel-nm-2.snap"
		[ "$(vcpu 1 '.event_data.confidence')" = exact ] || fail "$rel: $(vcpu 1 .event_data)"
		[ "$(vcpu 1 '.event_data.provenance')" = xcr0 ]
		rm -f "$WORK/a.out"
	done
}

@test "firecracker bitcode: --in-place keeps the original as the backup and writes the expected bytes" {
	ref v1.15-pf-4-pci.snap
	cp "$WORK/v1.15-pf-4-pci.snap" "$WORK/orig"
	run "$FREDCK" repair --in-place "$WORK/v1.15-pf-4-pci.snap"
	assert_failure 1
	cmp "$WORK/v1.15-pf-4-pci.snap.orig" "$WORK/orig" || fail "the backup is not the original"
	cmp "$WORK/v1.15-pf-4-pci.snap" "$BITCODE/v1.15-pf-4-pci.drop" || fail "not the dropped state"
	assert_no_leftovers "$WORK"
}

@test "firecracker bitcode: truncated (CRC recomputed): exit 8 naming the byte and the column, nothing written" {
	local size cut sum
	ref v1.16-pf-4-pci.snap
	size=$(stat -c %s "$WORK/v1.16-pf-4-pci.snap")
	# Every 61st byte and the last few: every kind of column runs short somewhere.
	for cut in $(seq 9 61 $((size - 9))) $((size - 10)) $((size - 9)); do
		head -c $((cut + 8)) "$WORK/v1.16-pf-4-pci.snap" >"$WORK/t"
		recrc "$WORK/t"
		sum=$(sha256sum <"$WORK/t")
		run --separate-stderr "$FREDCK" repair -o "$WORK/t.out" "$WORK/t"
		[ "$status" -eq 8 ] || fail "cut at $cut: exit $status: $stderr"
		[[ "$stderr" == *"$WORK/t: byte "* ]] || fail "cut at $cut: no offset: $stderr"
		[[ "$stderr" == *"bitcode column"* || "$stderr" == *"too short"* ]] ||
			fail "cut at $cut: no column named: $stderr"
		[ ! -e "$WORK/t.out" ] || fail "cut at $cut: wrote $WORK/t.out"
		[ "$(sha256sum <"$WORK/t")" = "$sum" ] || fail "cut at $cut: input modified"
	done
}

@test "firecracker bitcode: bit flips behind a recomputed CRC: exit 0, 1, 4 or 8, nothing written on 8" {
	local size off sum read=0
	ref v1.15-pf-2.snap
	size=$(stat -c %s "$WORK/v1.15-pf-2.snap")
	for off in $(seq 0 97 $((size - 9))); do
		cp "$WORK/v1.15-pf-2.snap" "$WORK/f"
		poke "$WORK/f" "$off" "$(printf '%02x' $((0x$(od -An -tx1 -j "$off" -N1 "$WORK/f" | tr -d ' ') ^ 0x41)))"
		recrc "$WORK/f"
		sum=$(sha256sum <"$WORK/f")
		run --separate-stderr "$FREDCK" repair -o "$WORK/f.out" "$WORK/f"
		case $status in
		0 | 1 | 4) read=$((read + 1)) ;;
		8) [ ! -e "$WORK/f.out" ] || fail "flip at $off: exit 8 but wrote $WORK/f.out" ;;
		*) fail "flip at $off: exit $status: $stderr" ;;
		esac
		[ "$(sha256sum <"$WORK/f")" = "$sum" ] || fail "flip at $off: input modified"
		rm -f "$WORK/f.out"
	done
	# Most flips land in values no check looks at (lapic, xsave, device state): still read.
	[ "$read" -gt 10 ] || fail "only $read flipped files were read at all"
}

@test "firecracker bitcode: a packing byte, a vCPU count and a version out of range are malformed or refused, named" {
	local col
	ref v1.16-pf-2.snap
	col=$(events_column "$WORK/v1.16-pf-2.snap")
	# The events column's packing byte: 11 is none of bitcode's (0-10).
	cp "$WORK/v1.16-pf-2.snap" "$WORK/p"
	poke "$WORK/p" "$col" 0b
	recrc "$WORK/p"
	run --separate-stderr "$FREDCK" check "$WORK/p"
	assert_failure 8
	assert_stderr_contains "byte $col (vcpu_states[].vcpu_events[])" "packing byte 11"
	# The vCPU count (the only length of vcpu_states' column, one raw byte): 200 vCPUs.
	cp "$WORK/v1.16-pf-2.snap" "$WORK/n"
	col=$("$FREDCK" inspect "$WORK/n" | sed -n 's/^vcpu states *column at byte \([0-9]*\)$/\1/p')
	[ "$(peek_u8 "$WORK/n" "$col")" = 2 ] || fail "byte $col is not the vCPU count"
	poke "$WORK/n" "$col" c8
	recrc "$WORK/n"
	run --separate-stderr "$FREDCK" check "$WORK/n"
	assert_failure 8
	assert_stderr_contains "$WORK/n: byte " "(vcpu_states" "bitcode column"
	# The version string "10.0.0" (its length at byte 9, its bytes from 10): "11.0.0" is unreleased.
	cp "$WORK/v1.16-pf-2.snap" "$WORK/v"
	poke "$WORK/v" 11 31
	recrc "$WORK/v"
	run --separate-stderr "$FREDCK" check "$WORK/v"
	assert_failure 8
	assert_stderr_contains "11.0.0" "main" "10.0.0"
	poke "$WORK/v" 10 3730
	recrc "$WORK/v"
	run --separate-stderr "$FREDCK" check "$WORK/v"
	assert_failure 8
	assert_stderr_contains "70.0.0" "not one fredck knows"
	ref v1.15-pf-2.snap
	poke "$WORK/v1.15-pf-2.snap" 14 78
	recrc "$WORK/v1.15-pf-2.snap"
	run --separate-stderr "$FREDCK" check "$WORK/v1.15-pf-2.snap"
	assert_failure 8
	assert_stderr_contains "byte 9 (header.version)" "'9.0.x' is not a semver version"
	# A wrong checksum names the trailer.
	cp "$WORK/v1.16-pf-2.snap" "$WORK/c"
	poke "$WORK/c" 100 ff
	run --separate-stderr "$FREDCK" repair -o "$WORK/c.out" "$WORK/c"
	assert_failure 8
	assert_stderr_contains crc64 "CRC-64"
	[ ! -e "$WORK/c.out" ] || fail "wrote $WORK/c.out"
}

@test "firecracker bitcode: aarch64 refused; over Firecracker's 10,000,000-byte limit malformed" {
	ref v1.15-clean-1.snap
	cp "$WORK/v1.15-clean-1.snap" "$WORK/arm"
	poke "$WORK/arm" 3 aaaa
	recrc "$WORK/arm"
	run --separate-stderr "$FREDCK" check "$WORK/arm"
	assert_failure 8
	assert_stderr_contains aarch64
	{ head -c -8 "$WORK/v1.15-clean-1.snap"; head -c 10000000 /dev/zero; head -c 8 /dev/zero; } >"$WORK/big"
	recrc "$WORK/big"
	run --separate-stderr "$FREDCK" check "$WORK/big"
	assert_failure 8
	assert_stderr_contains "10000000"
}
