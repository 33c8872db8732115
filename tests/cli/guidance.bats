#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Errors that say what to do (issue 16, item 5): each case an operator met
# gets a message, or a "fredck: hint:" line, that names the next step.

load test_helper

MKFCSNAP=${MKFCSNAP:-${TOP_BUILDDIR:-$TOP_SRCDIR/_build}/tests/fc/mkfcsnap}

# A Firecracker snapshot file, $WORK/fc.snap.
fc_snap() {
	[ -x "$MKFCSNAP" ] || fail "MKFCSNAP=$MKFCSNAP is not built (make check builds it)"
	"$MKFCSNAP" v1.12 "$WORK/fc.snap" -e 14 >/dev/null || fail "mkfcsnap failed"
}

@test "guidance: a directory that is not a snapshot suggests -r (check, inspect, repair)" {
	mkdir -p plain/sub
	fixture pf-lost-cap plain/sub/vm >/dev/null
	for cmd in check inspect "repair --dry-run"; do
		# shellcheck disable=SC2086
		run --separate-stderr -8 "$FREDCK" $cmd plain
		assert_stderr_contains "plain: not a snapshot directory" "hint: to search the directory for snapshots, add -r"
	done
	# -j: the same hint in the error object.
	run --separate-stderr -8 "$FREDCK" check -j plain
	assert_equal "$(jq -r '.inputs[0].error.hint' <<<"$output")" "to search the directory for snapshots, add -r"
	# diff takes no -r: no such hint.
	run --separate-stderr -8 "$FREDCK" diff plain plain
	[[ "$stderr" != *"add -r"* ]] || fail "diff suggests -r: $stderr"
}

@test "guidance: a forced --format that fails names what the probes recognise" {
	fc_snap
	run --separate-stderr -8 "$FREDCK" check --format=qemu fc.snap
	assert_stderr_contains "not a QEMU migration stream" \
		"hint: it looks like firecracker to fredck's probes: drop --format=qemu, or give --format=firecracker"
	yes "not a snapshot" | head -c 4096 >zeros.bin
	run --separate-stderr -8 "$FREDCK" check --format=libvirt zeros.bin
	assert_stderr_contains "hint: no format's probe recognises it (kvm-dir, qemu, libvirt,"
	# A file that is the forced format, only damaged: no hint, the error says where.
	head -c 2000 fc.snap >cut.snap
	run --separate-stderr -8 "$FREDCK" check --format=firecracker cut.snap
	[[ "$stderr" != *hint:* ]] || fail "a hint for a damaged file of the right format: $stderr"
}

@test "guidance: a forced --format that meets a directory for a file, or a file for a directory, names what the probes recognise" {
	fc_snap
	fixture clean >/dev/null
	run --separate-stderr -8 "$FREDCK" check --format=kvm-dir fc.snap
	assert_stderr_contains "(ENOTDIR)" "hint: it looks like firecracker to fredck's probes: drop --format=kvm-dir, or give --format=firecracker"
	run --separate-stderr -8 "$FREDCK" check --format=qemu clean
	assert_stderr_contains "(EISDIR)" "hint: it looks like kvm-dir to fredck's probes: drop --format=qemu, or give --format=kvm-dir"
	# The error names clean/state.json, which is not there: the hint is about clean.
	run --separate-stderr -8 "$FREDCK" -j check --format=cloud-hypervisor clean
	assert_equal "$(jq -r '.inputs[0].error.hint' <<<"$output")" \
		"it looks like kvm-dir to fredck's probes: drop --format=cloud-hypervisor, or give --format=kvm-dir"
	assert_stderr_contains "hint: it looks like kvm-dir"
	# A path that is not there is that, whatever the format.
	run --separate-stderr -8 "$FREDCK" check --format=kvm-dir missing
	[[ "$stderr" != *hint:* ]] || fail "a hint for a missing path: $stderr"
}

@test "guidance: '-' with a format standard input cannot take says which formats it takes" {
	fc_snap
	run --separate-stderr -8 "$FREDCK" -j check --format=kvm-dir - </dev/null
	assert_equal "$(jq -r '.inputs[0].error.message' <<<"$output")" \
		"-: a kvm-dir snapshot cannot be read from standard input (it takes qemu, libvirt, or firecracker given --format=firecracker, or cloud-hypervisor given --format=cloud-hypervisor): give its path"
	run --separate-stderr -8 "$FREDCK" check --format=qcow2 - </dev/null
	assert_stderr_contains "-: a qcow2 snapshot cannot be read from standard input"
	[[ "$stderr" != *"No such file"* ]] || fail "standard input taken for a file named '-': $stderr"
	# Undeclared: read as a stream, and told which formats standard input is read as.
	run --separate-stderr -8 "$FREDCK" check - <fc.snap
	assert_stderr_contains "hint: standard input is read as qemu, libvirt, or firecracker given --format=firecracker, or cloud-hypervisor given --format=cloud-hypervisor; give any other snapshot by its path"
}

@test "guidance: '-' with --format=firecracker reads the snapshot whole from a pipe (bounded), as from its path; repair asks for the path" {
	fc_snap
	run --separate-stderr -4 "$FREDCK" -j check fc.snap
	from_path=$(jq -c '.inputs[0] | del(.path)' <<<"$output")
	run --separate-stderr -4 bash -c 'cat fc.snap | "$1" -j check --format=firecracker -' _ "$FREDCK"
	assert_valid_json
	assert_equal "$(jq -c '.inputs[0] | del(.path)' <<<"$output")" "$from_path"
	run --separate-stderr -0 bash -c 'cat fc.snap | "$1" inspect --format=firecracker -' _ "$FREDCK"
	assert_line --index 0 --regexp '^-: firecracker \('
	run --separate-stderr -0 bash -c 'cat fc.snap | "$1" diff --format=firecracker - fc.snap' _ "$FREDCK"
	# Nothing is written from standard input: the repair is verified against a file.
	run --separate-stderr -12 bash -c 'cat fc.snap | "$1" repair --format=firecracker - -o out.snap' _ "$FREDCK"
	assert_stderr_contains "-: a firecracker snapshot read from standard input is checked, not repaired: give its path"
	[ ! -e out.snap ] || fail "a repair written from standard input"
	# Bounded: no state file is 64 MiB; more is refused, not held.
	run --separate-stderr -8 bash -c 'head -c 70000000 /dev/zero | "$1" check --format=firecracker -' _ "$FREDCK"
	assert_stderr_contains "-: byte 67108864 (file size): more than any Firecracker state file"
}

@test "guidance: '-' with --format=cloud-hypervisor reads a state.json from a pipe, as from its directory; repair asks for the path" {
	gen=${CHV_GEN:-${TOP_BUILDDIR:-$TOP_SRCDIR/_build}/tests/chv/chv-gen}
	[ -x "$gen" ] || fail "CHV_GEN=$gen is not built (make check builds it)"
	"$gen" --layout=v39 chv pf >/dev/null || fail "chv-gen failed"
	run --separate-stderr -4 "$FREDCK" -j check chv
	from_dir=$(jq -c '.inputs[0] | del(.path)' <<<"$output")
	run --separate-stderr -4 bash -c 'cat chv/state.json | "$1" -j check --format=cloud-hypervisor -' _ "$FREDCK"
	assert_valid_json
	assert_equal "$(jq -c '.inputs[0] | del(.path)' <<<"$output")" "$from_dir"
	cp -R chv before
	run --separate-stderr -12 bash -c 'cat chv/state.json | "$1" repair --format=cloud-hypervisor - -o out' _ "$FREDCK"
	assert_stderr_contains "-: a cloud-hypervisor state.json read from standard input is checked, not repaired: give its path"
	[ ! -e out ] || fail "a repair written from standard input"
	diff -r before chv || fail "the snapshot changed"
}

@test "guidance: did you mean, for a command" {
	run --separate-stderr -16 "$FREDCK" chek x
	assert_stderr_contains "unknown command 'chek'; did you mean 'check'?"
	run --separate-stderr -16 "$FREDCK" reapir x
	assert_stderr_contains "did you mean 'repair'?"
	# Nothing close: no guess, the help named.
	run --separate-stderr -16 "$FREDCK" frobnicate x
	assert_stderr_contains "unknown command 'frobnicate'; try 'fredck --help'"
}

@test "guidance: did you mean, for a long option (a valid abbreviation still works)" {
	fixture clean >/dev/null
	run --separate-stderr -16 "$FREDCK" check --jsno clean
	assert_stderr_contains "unknown option '--jsno'; did you mean '--json'?"
	run --separate-stderr -16 "$FREDCK" repair --dry-rnu clean
	assert_stderr_contains "did you mean '--dry-run'?"
	run --separate-stderr -16 "$FREDCK" diff --qiuet clean clean
	assert_stderr_contains "did you mean '--quiet'?"
	run --separate-stderr -0 "$FREDCK" check --jso clean
	jq -e .inputs <<<"$output" >/dev/null
	# Before the command, too; the command's own options after it are still its.
	run --separate-stderr -16 "$FREDCK" --jsno check clean
	assert_stderr_contains "unknown option '--jsno'; did you mean '--json'?"
	run --separate-stderr -0 "$FREDCK" --format kvm-dir -j check --vcpu 0 clean
	# A value that starts with "--" after an option that takes one is not an option.
	run --separate-stderr -16 "$FREDCK" check --strategy --zz clean
	assert_stderr_contains "unknown strategy '--zz'"
}

@test "guidance: -h prints the help, like --help (fredck and each command)" {
	run --separate-stderr -0 "$FREDCK" -h
	assert_output --partial "Usage: fredck [OPTION...] COMMAND"
	for cmd in inspect check repair diff explain redact; do
		run --separate-stderr -0 "$FREDCK" "$cmd" -h
		assert_output --partial "Usage: fredck $cmd"
	done
}

@test "guidance: repair --output=json X and -o --json are refused with a hint, nothing written" {
	fixture pf-lost-cap >/dev/null
	run --separate-stderr -16 "$FREDCK" repair --output=json pf-lost-cap
	assert_stderr_contains "-o json: 'json' is a keyword, not taken as a file name" "write ./json"
	[ ! -e json ] || fail "a repaired copy named json was written"
	run --separate-stderr -16 "$FREDCK" repair -o --json pf-lost-cap
	assert_stderr_contains "-o takes a path, and '--json' is an option"
	run --separate-stderr -16 "$FREDCK" repair -O qemu pf-lost-cap
	assert_stderr_contains "-O qemu: 'qemu' is a keyword"
	# Said with a slash, the name is meant.
	run --separate-stderr -1 "$FREDCK" repair -o ./json pf-lost-cap
	[ -d json ] || fail "-o ./json wrote nothing"
}

@test "guidance: --color FILE and --format OPTION get a hint instead of swallowing the input" {
	fixture clean >/dev/null
	run --separate-stderr -16 "$FREDCK" check --color clean/vcpu0
	assert_stderr_contains "--color takes auto, always or never, not 'clean/vcpu0', which looks like an input: give WHEN with '=' (--color=always)"
	run --separate-stderr -16 "$FREDCK" check --format -j clean
	assert_stderr_contains "--format takes a format's name (kvm-dir, qemu," "and '-j' is an option"
}

@test "guidance: check -r that finds no snapshot exits 8 and says so" {
	mkdir -p empty/a/b
	run --separate-stderr -8 "$FREDCK" check -r empty
	assert_stderr_contains "empty: no snapshot found in this directory or below it"
	run --separate-stderr -8 "$FREDCK" check -q -j -r empty
	assert_equal "$(jq -r '.inputs | length' <<<"$output")" 0
}

@test "guidance: plurals: 1 error, 2 errors, 1 input, 1 vCPU" {
	fixture clean >/dev/null
	run --separate-stderr -8 "$FREDCK" check -P 1 --ndjson clean missing
	assert_stderr_contains "2 inputs: 1 ok, 0 at risk, 0 repaired, 1 error ("
	run --separate-stderr -8 "$FREDCK" check -r clean missing missing2
	assert_stderr_contains "3 inputs: 1 ok, 0 at risk, 0 repaired, 2 errors ("
	run --separate-stderr -0 "$FREDCK" check -r clean
	assert_stderr_contains "1 input: 1 ok, 0 at risk, 0 repaired, 0 errors ("
	run --separate-stderr -0 "$FREDCK" check clean
	assert_output --partial "0 of 1 vCPU at risk"
}

@test "guidance: --ndjson with -p is a usage error, not -p silently ignored" {
	fixture clean >/dev/null
	run --separate-stderr -16 "$FREDCK" check --ndjson -p clean
	assert_stderr_contains "--ndjson prints one line per input, which -p cannot indent"
	run --separate-stderr -16 "$FREDCK" -p check --ndjson clean
}

@test "guidance: an input's error with -j: the error object on standard output and the message on standard error, in every command (redact too)" {
	fixture clean >/dev/null
	for cmd in inspect check "repair --dry-run" "diff clean" "redact -o out.bin" "redact --format=kvm-dir -o out2"; do
		# shellcheck disable=SC2086
		run --separate-stderr -8 "$FREDCK" -j $cmd missing.bin
		assert_valid_json
		assert_equal "$(jq -r '[.inputs[] | select(.status == "error") | .error.errno] | join(",")' <<<"$output")" ENOENT
		assert_stderr_contains "fredck: missing.bin: cannot open: No such file or directory (ENOENT)"
	done
	# An error of the command's own (a kvm-dir holds no memory to redact): said on both.
	run --separate-stderr -8 "$FREDCK" redact -j clean -o out3
	assert_valid_json
	assert_equal "$(jq -r '.inputs[0].error.kind' <<<"$output")" unsupported
	assert_stderr_contains "fredck: clean: a kvm-dir snapshot holds no guest memory to redact"
	[ ! -e out3 ] || fail "redact wrote out3"
}

@test "guidance: standard input's hint fits the error: the formats it takes only when its first bytes are none of theirs; FREDCK_HOLD_MAX past the bound" {
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	why=$(qemu_peer_skip_reason debian12)
	[ -z "$why" ] || skip "$why"
	qemu_make_stream debian12 "$WORK/pc.bin" --machine pc --smp 2 --mem 64 || fail "qemu_make_stream failed"
	# A QEMU stream past the bound (from a pipe: a file on standard input is read as a file): raise it, or give the file; it is a stream, so no list of formats.
	run --separate-stderr -8 bash -c 'cat pc.bin | FREDCK_HOLD_MAX=1K "$1" check -' _ "$FREDCK"
	assert_stderr_contains "the most fredck holds in memory" \
		"hint: FREDCK_HOLD_MAX raises the bound (fredck(1), ENVIRONMENT); or give the stream by its path"
	[[ "$stderr" != *"standard input is read as"* ]] || fail "a QEMU stream told standard input takes QEMU streams: $stderr"
	run --separate-stderr -8 bash -c 'cat pc.bin | FREDCK_HOLD_MAX=1K "$1" -j check -' _ "$FREDCK"
	assert_equal "$(jq -r '.inputs[0].error.hint' <<<"$output")" \
		"FREDCK_HOLD_MAX raises the bound (fredck(1), ENVIRONMENT); or give the stream by its path: a file's description is read from its end"
	# A stream cut short: the error says where; which formats standard input takes is beside the point.
	head -c 200000 pc.bin >cut.bin
	run --separate-stderr -8 bash -c 'cat cut.bin | "$1" check -' _ "$FREDCK"
	assert_stderr_contains "-: byte "
	[[ "$stderr" != *"hint:"* ]] || fail "a hint for a damaged stream: $stderr"
}
