#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Malformed input (docs/design.md sections 2 and 7): a structure the kernel itself
# would reject, or one that is truncated or oversized, is exit 8 with an
# error naming the file, the byte offset and the field; repair writes nothing.

load test_helper

# corrupt CASE: copy a fixture, corrupt it as CASE says, print the copy's path.
corrupt() {
	local d ev
	case "$1" in
	events-truncated)
		d=$(fixture pf-lost-cap) && truncate -s 63 "$d/vcpu0/events" ;;
	events-oversized)
		d=$(fixture pf-lost-cap) && truncate -s 65 "$d/vcpu0/events" ;;
	vector-32)
		d=$(fixture pf-lost-cap) && poke "$d/vcpu0/events" 1 20 ;;
	nmi-as-exception)
		d=$(fixture pf-lost-cap) && poke "$d/vcpu0/events" 1 02 ;;
	unknown-flag)
		d=$(fixture pf-lost-cap) && ev=$d/vcpu0/events &&
			poke_u32 "$ev" 20 $(($(peek_u32 "$ev" 20) | 0x80)) ;;
	sregs2-short)
		d=$(fixture pf-lost-cap) && truncate -s 319 "$d/vcpu0/sregs2" ;;
	sregs2-long)
		d=$(fixture pf-lost-cap) && truncate -s 321 "$d/vcpu0/sregs2" ;;
	sregs-legacy-short)
		d=$(fixture sregs-legacy) && truncate -s 311 "$d/vcpu0/sregs" ;;
	sregs2-flags)
		d=$(fixture pf-lost-cap) && poke "$d/vcpu0/sregs2" 280 02 ;;
	no-sregs)
		d=$(fixture pf-lost-cap) && rm "$d/vcpu0/sregs2" ;;
	no-events)
		d=$(fixture pf-lost-cap) && rm "$d/vcpu0/events" ;;
	events-directory)
		d=$(fixture pf-lost-cap) && rm "$d/vcpu0/events" && mkdir "$d/vcpu0/events" ;;
	debugregs-flags)
		d=$(fixture db-exact) && poke "$d/vcpu0/debugregs" 48 01 ;;
	dr6-high)
		d=$(fixture db-exact) && poke "$d/vcpu0/debugregs" 36 01 ;;
	dr7-high)
		d=$(fixture db-exact) && poke "$d/vcpu0/debugregs" 44 01 ;;
	debugregs-short)
		d=$(fixture db-exact) && truncate -s 127 "$d/vcpu0/debugregs" ;;
	regs-short)
		d=$(fixture db-exact) && truncate -s 143 "$d/vcpu0/regs" ;;
	nmsrs-too-large)
		d=$(fixture pf-lost-cap) && poke_u32 "$d/vcpu0/msrs" 0 99 ;;
	msrs-trailing)
		d=$(fixture pf-lost-cap) && printf '\0\0\0' >>"$d/vcpu0/msrs" ;;
	msrs-no-header)
		d=$(fixture pf-lost-cap) && truncate -s 4 "$d/vcpu0/msrs" ;;
	msrs-duplicate)
		# Entry 5 (IA32_FRED_RSP0, 0x1cc) again after the 14 entries.
		d=$(fixture pf-lost-cap) &&
			dd if="$d/vcpu0/msrs" bs=1 skip=$((8 + 5 * 16)) count=16 status=none >>"$d/vcpu0/msrs" &&
			poke_u32 "$d/vcpu0/msrs" 0 15 ;;
	xcrs-too-many)
		d=$(fixture nm-xfd) && poke_u32 "$d/vcpu0/xcrs" 0 17 ;;
	xcrs-short)
		d=$(fixture nm-xfd) && truncate -s 391 "$d/vcpu0/xcrs" ;;
	nested-short)
		d=$(fixture nested) && truncate -s 127 "$d/vcpu0/nested" ;;
	nested-format)
		d=$(fixture nested) && poke "$d/vcpu0/nested" 2 0200 ;;
	vcpu1-vector-32)
		d=$(fixture multi) && poke "$d/vcpu1/events" 1 20 ;;
	*)
		echo "unknown corruption $1" >&2
		return 1
		;;
	esac || return 1
	echo "$d"
}

# assert_malformed DIR FILE OFFSET FIELD: check DIR exits 8 and the error
# names DIR/FILE, byte OFFSET and FIELD.
assert_malformed() {
	run --separate-stderr -8 "$FREDCK" check "$1"
	assert_output ''
	assert_stderr_contains "$1/$2: byte $3 ($4): "
}

# assert_repair_writes_nothing DIR: repair -o and --in-place both exit 8,
# write nothing, leave no temporary tree and DIR as it was.
assert_repair_writes_nothing() {
	local dir=$1 before
	before=$(tree_sum "$WORK")
	run --separate-stderr -8 "$FREDCK" repair "$dir" -o "$WORK/out"
	assert_equal "$(tree_sum "$WORK")" "$before"
	run --separate-stderr -8 "$FREDCK" repair "$dir" --in-place
	assert_equal "$(tree_sum "$WORK")" "$before"
	run --separate-stderr -8 "$FREDCK" repair --force --strategy=drop "$dir" --in-place --no-backup
	assert_equal "$(tree_sum "$WORK")" "$before"
	assert_no_leftovers "$WORK"
}

# ---- check: exit 8, file, offset, field -------------------------------------------

@test "malformed: events of 63 bytes: exit 8, names vcpu0/events, byte 63" {
	d=$(corrupt events-truncated)
	assert_malformed "$d" vcpu0/events 63 'struct kvm_vcpu_events'
	assert_stderr_contains '63 bytes'
}

@test "malformed: events of 65 bytes: exit 8, names vcpu0/events, byte 64" {
	d=$(corrupt events-oversized)
	assert_malformed "$d" vcpu0/events 64 'struct kvm_vcpu_events'
	assert_stderr_contains '65 bytes'
}

@test "malformed: exception vector 32: exit 8, byte 1 (exception.nr)" {
	d=$(corrupt vector-32)
	assert_malformed "$d" vcpu0/events 1 exception.nr
	assert_stderr_contains 'vector 32'
}

@test "malformed: NMI (vector 2) queued as an exception: exit 8, byte 1 (exception.nr)" {
	d=$(corrupt nmi-as-exception)
	assert_malformed "$d" vcpu0/events 1 exception.nr
	assert_stderr_contains NMI
}

@test "malformed: unknown events flag 0x80: exit 8, byte 20 (flags)" {
	d=$(corrupt unknown-flag)
	assert_malformed "$d" vcpu0/events 20 flags
	assert_stderr_contains 0x80
}

@test "malformed: sregs2 of 319 bytes: exit 8, names vcpu0/sregs2" {
	d=$(corrupt sregs2-short)
	assert_malformed "$d" vcpu0/sregs2 319 'struct kvm_sregs2'
}

@test "malformed: sregs2 of 321 bytes: exit 8, names vcpu0/sregs2" {
	d=$(corrupt sregs2-long)
	assert_malformed "$d" vcpu0/sregs2 320 'struct kvm_sregs2'
}

@test "malformed: sregs of 311 bytes: exit 8, names vcpu0/sregs" {
	d=$(corrupt sregs-legacy-short)
	assert_malformed "$d" vcpu0/sregs 311 'struct kvm_sregs'
}

@test "malformed: unknown sregs2 flag: exit 8, byte 280 (flags)" {
	d=$(corrupt sregs2-flags)
	assert_malformed "$d" vcpu0/sregs2 280 flags
}

@test "malformed: neither sregs2 nor sregs: exit 8, names vcpu0 and both files" {
	d=$(corrupt no-sregs)
	run --separate-stderr -8 "$FREDCK" check "$d"
	assert_stderr_contains "$d/vcpu0" sregs2 sregs
}

@test "malformed: events missing: exit 8, names vcpu0/events" {
	d=$(corrupt no-events)
	run --separate-stderr -8 "$FREDCK" check "$d"
	assert_stderr_contains "$d/vcpu0/events" missing
}

@test "malformed: events is a directory: exit 8, names vcpu0/events" {
	d=$(corrupt events-directory)
	run --separate-stderr -8 "$FREDCK" check "$d"
	assert_stderr_contains "$d/vcpu0/events"
}

@test "malformed: debugregs with non-zero flags: exit 8, byte 48 (flags)" {
	d=$(corrupt debugregs-flags)
	assert_malformed "$d" vcpu0/debugregs 48 flags
}

@test "malformed: DR6 with bits above 31: exit 8, byte 32 (dr6)" {
	d=$(corrupt dr6-high)
	assert_malformed "$d" vcpu0/debugregs 32 dr6
}

@test "malformed: DR7 with bits above 31: exit 8, byte 40 (dr7)" {
	d=$(corrupt dr7-high)
	assert_malformed "$d" vcpu0/debugregs 40 dr7
}

@test "malformed: debugregs of 127 bytes: exit 8, names vcpu0/debugregs" {
	d=$(corrupt debugregs-short)
	assert_malformed "$d" vcpu0/debugregs 127 'struct kvm_debugregs'
}

@test "malformed: regs of 143 bytes: exit 8, names vcpu0/regs" {
	d=$(corrupt regs-short)
	assert_malformed "$d" vcpu0/regs 143 'struct kvm_regs'
}

@test "malformed: msrs whose nmsrs is larger than the file: exit 8, byte 0 (nmsrs)" {
	d=$(corrupt nmsrs-too-large)
	assert_malformed "$d" vcpu0/msrs 0 nmsrs
	assert_stderr_contains 'nmsrs is 99'
}

@test "malformed: msrs with trailing bytes: exit 8, at the end of the entries" {
	d=$(corrupt msrs-trailing)
	assert_malformed "$d" vcpu0/msrs $((8 + 14 * 16)) entries
}

@test "malformed: msrs shorter than its 8-byte header: exit 8, names vcpu0/msrs" {
	d=$(corrupt msrs-no-header)
	assert_malformed "$d" vcpu0/msrs 4 nmsrs
}

@test "malformed: msrs with an MSR twice: exit 8, at the second entry, naming the MSR" {
	d=$(corrupt msrs-duplicate)
	assert_malformed "$d" vcpu0/msrs $((8 + 14 * 16)) 'entries[].index'
	assert_stderr_contains 0x1cc
}

@test "malformed: xcrs with nr_xcrs 17: exit 8, byte 0 (nr_xcrs)" {
	d=$(corrupt xcrs-too-many)
	assert_malformed "$d" vcpu0/xcrs 0 nr_xcrs
}

@test "malformed: xcrs of 391 bytes: exit 8, names vcpu0/xcrs" {
	d=$(corrupt xcrs-short)
	assert_malformed "$d" vcpu0/xcrs 391 'struct kvm_xcrs'
}

@test "malformed: nested shorter than its 128-byte header: exit 8, names vcpu0/nested" {
	d=$(corrupt nested-short)
	assert_malformed "$d" vcpu0/nested 127 'struct kvm_nested_state'
}

@test "malformed: nested of an unknown format: exit 8, byte 2 (format)" {
	d=$(corrupt nested-format)
	assert_malformed "$d" vcpu0/nested 2 format
}

@test "malformed: a malformed second vCPU is named (vcpu1/events)" {
	d=$(corrupt vcpu1-vector-32)
	assert_malformed "$d" vcpu1/events 1 exception.nr
}

@test "malformed: a directory without vcpu0/ is not a snapshot directory: exit 8" {
	mkdir "$WORK/empty"
	run --separate-stderr -8 "$FREDCK" check "$WORK/empty"
	assert_stderr_contains "$WORK/empty" 'not a snapshot directory'
}

@test "malformed: a kvm-dir whose vcpu0/ was renamed is not a snapshot directory: exit 8" {
	d=$(fixture multi)
	mv "$d/vcpu0" "$d/vcpu9"
	run --separate-stderr -8 "$FREDCK" check "$d"
	assert_stderr_contains "$d" 'not a snapshot directory'
}

@test "malformed: a regular file in no known format: exit 8" {
	printf 'NOPE, not a snapshot\n' >"$WORK/file"
	run --separate-stderr -8 "$FREDCK" check "$WORK/file"
	assert_stderr_contains "$WORK/file" 'no known format' 'qcow2 images'
}

@test "malformed: QEVM magic with a bad version: exit 8, byte 4 (version)" {
	printf 'QEVM but not really\n' >"$WORK/file"
	run --separate-stderr -8 "$FREDCK" check "$WORK/file"
	assert_stderr_contains "$WORK/file" 'byte 4 (version)'
}

@test "malformed: an empty regular file: exit 8" {
	: >"$WORK/file"
	run --separate-stderr -8 "$FREDCK" check "$WORK/file"
	assert_stderr_contains "$WORK/file" "empty file (0 bytes)"
}

@test "malformed: a nonexistent input: exit 8, named" {
	run --separate-stderr -8 "$FREDCK" check "$WORK/nonexistent"
	assert_stderr_contains "$WORK/nonexistent"
}

@test "malformed: --format=kvm-dir on a regular file: exit 8" {
	printf 'x' >"$WORK/file"
	run --separate-stderr -8 "$FREDCK" check --format=kvm-dir "$WORK/file"
	assert_stderr_contains "$WORK/file"
}

@test "malformed: inspect also exits 8 and names file, offset and field" {
	d=$(corrupt unknown-flag)
	run --separate-stderr -8 "$FREDCK" inspect "$d"
	assert_stderr_contains "$d/vcpu0/events: byte 20 (flags): "
}

@test "malformed: the exit bits OR with an at-risk input (12)" {
	d=$(corrupt vector-32)
	ok=$(fixture db-exact)
	run --separate-stderr -12 "$FREDCK" check "$ok" "$d"
}

# ---- JSON ------------------------------------------------------------------------------

@test "malformed --json: the input has status error, exit_status 8, and error.path/offset/field" {
	d=$(corrupt vector-32)
	run --separate-stderr -8 "$FREDCK" check --json "$d"
	assert_equal "$(jqo '.inputs[0] | [.status, .exit_status] | @csv')" '"error",8'
	assert_equal "$(jqo '.inputs[0].error | [.path, .offset, .field] | @csv')" "\"$d/vcpu0/events\",1,\"exception.nr\""
	assert_equal "$(jqo '.inputs[0].error.message')" "$d/vcpu0/events: byte 1 (exception.nr): $(jqo '.inputs[0].error.reason')"
	assert_equal "$(jqo '.inputs[0].vcpus // "absent"')" absent
}

@test "malformed --json: msrs with nmsrs too large: error.offset 0, error.field nmsrs" {
	d=$(corrupt nmsrs-too-large)
	run --separate-stderr -8 "$FREDCK" check --json "$d"
	assert_equal "$(jqo '.inputs[0].error | [.offset, .field] | @csv')" '0,"nmsrs"'
}

@test "malformed --json: a file in no known format has error.offset and error.field null" {
	printf 'x' >"$WORK/file"
	run --separate-stderr -8 "$FREDCK" check --json "$WORK/file"
	assert_equal "$(jqo '.inputs[0] | [.status, .error.path, .error.offset, .error.field] | tojson')" \
		"[\"error\",\"$WORK/file\",null,null]"
}

@test "malformed --json: one document, the good input reported beside the bad one" {
	d=$(corrupt dr6-high)
	ok=$(fixture pf-lost-cap)
	run --separate-stderr -12 "$FREDCK" check --json "$ok" "$d"
	assert_equal "$(jqo '.inputs | map(.status) | @csv')" '"at-risk","error"'
	assert_equal "$(jqo '.inputs[1].error.field')" dr6
}

@test "malformed --json: repair reports the error the same way" {
	d=$(corrupt xcrs-too-many)
	run --separate-stderr -8 "$FREDCK" repair --json "$d" -o "$WORK/out"
	assert_equal "$(jqo '.inputs[0].error | [.offset, .field] | @csv')" '0,"nr_xcrs"'
}

# ---- repair writes nothing -------------------------------------------------------------

@test "malformed: events truncated: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt events-truncated)"
}

@test "malformed: events oversized: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt events-oversized)"
}

@test "malformed: exception vector 32: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt vector-32)"
}

@test "malformed: NMI as an exception: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt nmi-as-exception)"
}

@test "malformed: unknown events flag: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt unknown-flag)"
}

@test "malformed: sregs2 of the wrong size: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt sregs2-short)"
}

@test "malformed: neither sregs2 nor sregs: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt no-sregs)"
}

@test "malformed: events missing: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt no-events)"
}

@test "malformed: debugregs flags: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt debugregs-flags)"
}

@test "malformed: DR6 above 31 bits: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt dr6-high)"
}

@test "malformed: nmsrs too large: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt nmsrs-too-large)"
}

@test "malformed: msrs trailing bytes: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt msrs-trailing)"
}

@test "malformed: duplicate MSR: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt msrs-duplicate)"
}

@test "malformed: nr_xcrs 17: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt xcrs-too-many)"
}

@test "malformed: nested too short: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt nested-short)"
}

@test "malformed: multi with a malformed vcpu1: repair writes nothing" {
	assert_repair_writes_nothing "$(corrupt vcpu1-vector-32)"
}

@test "malformed: a directory without vcpu0/: repair writes nothing" {
	mkdir "$WORK/empty"
	assert_repair_writes_nothing "$WORK/empty"
}

@test "malformed: a regular file in no known format: repair writes nothing" {
	printf 'x' >"$WORK/file"
	assert_repair_writes_nothing "$WORK/file"
}
