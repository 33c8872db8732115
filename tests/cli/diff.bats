#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# fredck diff A B: the vCPU state of two saved states, of any formats,
# field by field; exit 0 same, 1 different, 8 error, 16 usage.  Across
# formats: a QEMU stream and the libvirt image around it must be the same.

load test_helper

setup_file() {
	qemu_setup_file debian12 || return 0
	S="$BATS_FILE_TMPDIR"
	qemu_make_stream debian12 "$S/clean.bin" --machine microvm --smp 2 --mem 2
	"$QEMU_PATCH" "$S/clean.bin" "$S/pf.bin" 1 'cr4=|0x1000000a0' efer=0xd01 \
		cr0=0x80050033 exception_nr=14 cr2=0x7f3a1c2e5008
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" "$S/pf.bin" "$S/pf.img"
}

need_qemu() {
	[ -z "$QEMU_SKIP" ] || skip "$QEMU_SKIP"
}

# The "field a b" triples of vCPU N in $output (diff -j), one per line.
fields() {
	jq -r ".vcpus[] | select(.index == $1) | .differences[] | \"\(.field) \(.a) \(.b)\"" <<<"$output"
}

@test "diff: an input against itself: exit 0, no difference" {
	dir=$(fixture multi)
	run -0 "$FREDCK" diff "$dir" "$dir"
	assert_line "no difference (4 vCPUs)"
	run -0 "$FREDCK" diff -j "$dir" "$dir"
	assert_equal "$(jqo .same)" true
	assert_equal "$(jqo '.vcpus | length')" 0
	assert_equal "$(jqo .command)" diff
}

@test "diff: an input against its repair (pending): exit 1, the exception fields that changed" {
	dir=$(fixture pf-lost-cap)
	"$FREDCK" repair "$dir" -o "$WORK/r" >/dev/null || true
	run -1 "$FREDCK" diff "$dir" "$WORK/r"
	assert_line "vCPU 0:"
	assert_line --regexp '^  exception  #PF \(14\) injected, error code 0x00000006, no payload$'
	assert_line --regexp '^          -> #PF \(14\) pending, error code 0x00000006, payload 0x00007f3a1c2e5008$'
	assert_line --regexp '^  exception.state +injected -> pending$'
	assert_line --regexp '^  exception.payload +0x0000000000000000 -> 0x00007f3a1c2e5008$'
	refute_line --regexp '^  cr2 '
	run -1 "$FREDCK" diff -j "$dir" "$WORK/r"
	assert_equal "$(jqo .same)" false
	assert_equal "$(fields 0)" "$(printf '%s\n' 'exception.state injected pending' \
		'exception.injected true false' 'exception.pending false true' \
		'exception.has_payload false true' \
		'exception.payload 0x0000000000000000 0x00007f3a1c2e5008')"
}

@test "diff: an input against its repair (drop): the exception is gone" {
	dir=$(fixture pf-lost-cap)
	"$FREDCK" repair --strategy=drop "$dir" -o "$WORK/r" >/dev/null || true
	run -1 "$FREDCK" diff -j "$dir" "$WORK/r"
	assert_equal "$(fields 0 | grep '^exception.state ')" "exception.state injected none"
	assert_equal "$(fields 0 | grep '^exception.has_error_code ')" "exception.has_error_code true false"
}

@test "diff: registers that differ, and a register one side did not save (not saved, null)" {
	a=$(fixture sregs-legacy)
	b=$(fixture fred-msrs-missing)
	run -1 "$FREDCK" diff "$a" "$b"
	assert_line --regexp '^  cr2 +0x00007f3a1c301000 -> 0x00005597a3c10040$'
	assert_line --regexp '^  fred_config +0xffffffff81a00040 -> not saved$'
	run -1 "$FREDCK" diff -j "$a" "$b"
	assert_equal "$(jqo '.vcpus[0].differences[] | select(.field == "fred_config") | .b')" null
	assert_equal "$(jqo '.vcpus[0].differences[] | select(.field == "fred_config") | .a')" 0xffffffff81a00040
}

@test "diff: vCPUs of one side only" {
	a=$(fixture multi)
	b=$(fixture pf-lost-cap)
	run -1 "$FREDCK" diff "$a" "$b"
	assert_line "vCPU 3: only in a"
	run -1 "$FREDCK" diff -j "$b" "$a"
	assert_equal "$(jqo '[.vcpus[] | select(.only_in == "b") | .index] | join(",")')" "1,2,3"
}

@test "diff: across formats, a QEMU stream and the libvirt image around it are the same" {
	need_qemu
	run -0 "$FREDCK" diff "$BATS_FILE_TMPDIR/pf.bin" "$BATS_FILE_TMPDIR/pf.img"
	assert_line --regexp '\(qemu\)$'
	assert_line --regexp '\(libvirt\)$'
	assert_line "no difference (2 vCPUs)"
}

@test "diff: a QEMU stream before and after qemu-patch: vCPU 1 only, the patched fields" {
	need_qemu
	run -1 "$FREDCK" diff -j "$BATS_FILE_TMPDIR/clean.bin" "$BATS_FILE_TMPDIR/pf.bin"
	assert_equal "$(jqo '[.vcpus[].index] | join(",")')" 1
	assert_equal "$(fields 1 | grep '^cr2 ' | cut -d' ' -f3)" 0x00007f3a1c2e5008
	assert_equal "$(fields 1 | grep '^exception.vector ' | cut -d' ' -f3)" 14
}

@test "diff: a QEMU stream against its repair, and the repair against a kvm-dir of another VM" {
	need_qemu
	run "$FREDCK" repair "$BATS_FILE_TMPDIR/pf.bin" -o "$WORK/r.bin"
	run -1 "$FREDCK" diff -j "$BATS_FILE_TMPDIR/pf.bin" "$WORK/r.bin"
	assert_equal "$(fields 1 | grep '^exception.state ')" "exception.state injected pending"
	run -1 "$FREDCK" diff "$WORK/r.bin" "$(fixture clean)"
	assert_line --regexp '^--- .*r.bin \(qemu\)$'
	assert_line --regexp '^\+\+\+ .*clean \(kvm-dir\)$'
}

@test "diff -q: nothing printed, the status says" {
	a=$(fixture multi)
	b=$(fixture pf-lost-cap)
	run -1 "$FREDCK" diff -q "$a" "$b"
	assert_output ""
	run -0 "$FREDCK" diff -q "$a" "$a"
	assert_output ""
}

@test "diff: an input that cannot be read: exit 8, named; JSON says which" {
	a=$(fixture clean)
	run --separate-stderr -8 "$FREDCK" diff "$a" "$WORK/missing"
	assert_stderr_contains "$WORK/missing"
	run --separate-stderr -8 "$FREDCK" diff -j "$WORK/missing" "$a"
	assert_equal "$(jqo .same)" null
	assert_equal "$(jqo '.inputs[0].status')" error
	assert_equal "$(jqo '.inputs[1].status')" read
}

@test "diff: a malformed input: exit 8 naming the byte offset and field" {
	a=$(fixture clean)
	printf 'QEVM\0\0\0\3junk' >"$WORK/bad.bin"
	run --separate-stderr -8 "$FREDCK" diff "$a" "$WORK/bad.bin"
	assert_stderr_contains "bad.bin: byte "
}

@test "diff: one input, three inputs, or none: usage (16)" {
	a=$(fixture clean)
	run --separate-stderr -16 "$FREDCK" diff "$a"
	run --separate-stderr -16 "$FREDCK" diff "$a" "$a" "$a"
	assert_stderr_contains "is a third"
	run --separate-stderr -16 "$FREDCK" diff
}
