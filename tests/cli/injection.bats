#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Text that input cannot forge (issue 16, item 3): a machine type, a libvirt
# <name> and file names holding ESC, newline and bytes that are not UTF-8
# reach neither standard output nor standard error raw; each is written in
# the escapes of fredck(1), OUTPUT ENCODING, and JSON paths stay distinct.
#
# The QEMU cases forge a real stream of Debian 12's QEMU (patched at risk by
# qemu-patch, its machine type replaced by tests/qemu/forge-machine.pl, and
# wrapped as a libvirt image by tests/qemu/mklibvirt.sh with LIBVIRT_NAME).

bats_require_minimum_version 1.5.0

load test_helper

# What a forger would like the operator to read: a clean verdict, then the
# rest of the report hidden (ESC [8m: invisible text).
FORGED=$'pc-i440fx-7.2)\n  0 of 2 vCPUs at risk: nothing to do\n\e[8m'
FORGED_SHOWN='pc-i440fx-7.2)\n  0 of 2 vCPUs at risk: nothing to do\n\x1b[8m'

setup_file() {
	qemu_setup_file debian12 || return 0
	S="$BATS_FILE_TMPDIR"
	qemu_make_stream debian12 "$S/pc.bin" --machine pc --smp 2 --mem 64
	"$QEMU_PATCH" "$S/pc.bin" "$S/pf.bin" 1 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x7f3a1c2e5008
	perl "$TOP_SRCDIR/tests/qemu/forge-machine.pl" "$FORGED" <"$S/pf.bin" >"$S/forged.bin"
	LIBVIRT_NAME=$'vm\n  0 of 2 vCPUs at risk: nothing to do\e]0;owned\a' \
		bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" "$S/pf.bin" "$S/forged.img"
}

need_qemu() {
	[ -z "$QEMU_SKIP" ] || skip "$QEMU_SKIP"
	S="$BATS_FILE_TMPDIR"
}

# assert_no_raw_control TEXT WHERE: no byte below 0x20 but newline, nor 0x7f.
assert_no_raw_control() {
	if printf '%s' "$1" | tr -d '\n' | LC_ALL=C grep -q '[[:cntrl:]]'; then
		fail "a raw control byte on $2: $(printf '%s' "$1" | od -c | head -20)"
	fi
}

# assert_clean_run: neither stream of the last run holds a raw control
# byte, and no line of either is the forged verdict.
assert_clean_run() {
	assert_no_raw_control "$output" "standard output"
	assert_no_raw_control "$stderr" "standard error"
	if grep -qx '  0 of 2 vCPUs at risk: nothing to do' <<<"$output$stderr"; then
		fail "the forged verdict is a line of its own: $output"
	fi
}

@test "injection: a machine type with newlines and ESC is one escaped line in check, inspect and repair" {
	need_qemu
	run --separate-stderr "$FREDCK" check "$S/forged.bin"
	assert_equal "$status" 4
	assert_clean_run
	assert_line --index 0 "$S/forged.bin: qemu (2 vCPUs, machine $FORGED_SHOWN): at risk"
	assert_line --partial "1 of 2 vCPUs at risk"
	run --separate-stderr "$FREDCK" inspect "$S/forged.bin"
	assert_success
	assert_clean_run
	assert_line --regexp '^machine +pc-i440fx-7\.2\)\\n  0 of 2 vCPUs at risk: nothing to do\\n\\x1b\[8m$'
	run --separate-stderr "$FREDCK" repair --dry-run -v "$S/forged.bin"
	assert_equal "$status" 4
	assert_clean_run
	run --separate-stderr "$FREDCK" repair "$S/forged.bin" -o "$BATS_TEST_TMPDIR/out.bin"
	assert_equal "$status" 1
	assert_clean_run
}

@test "injection: JSON carries the machine type exactly (jansson escapes control bytes)" {
	need_qemu
	run --separate-stderr "$FREDCK" check -j "$S/forged.bin"
	assert_equal "$status" 4
	assert_clean_run
	assert_equal "$(jq -r '.inputs[0].detail' <<<"$output")" "2 vCPUs, machine $FORGED"
}

@test "injection: a libvirt <name> with a newline and an OSC title sequence is escaped" {
	need_qemu
	run --separate-stderr "$FREDCK" inspect "$S/forged.img"
	assert_success
	assert_clean_run
	assert_line --regexp '^domain +vm\\n  0 of 2 vCPUs at risk: nothing to do\\x1b\]0;owned\\x07'
	run --separate-stderr "$FREDCK" check -v "$S/forged.img"
	assert_equal "$status" 4
	assert_clean_run
}

@test "injection: a file name with ESC and newline: the report and the written path are escaped" {
	local name=$'x\n  0 of 2 vCPUs at risk: nothing to do\e[8m'
	fixture pf-lost-cap "$name" >/dev/null
	run --separate-stderr "$FREDCK" check "$name"
	assert_equal "$status" 4
	assert_clean_run
	assert_line --index 0 --partial 'x\n  0 of 2 vCPUs at risk: nothing to do\x1b[8m: kvm-dir'
	run --separate-stderr "$FREDCK" repair "$name" -o "$name.out"
	assert_equal "$status" 1
	assert_clean_run
	assert_line --partial 'wrote x\n  0 of 2 vCPUs at risk: nothing to do\x1b[8m.out'
	# -r: the name found by the search, and the batch's own lines.
	mkdir tree && mv "$name" tree/
	run --separate-stderr "$FREDCK" check -r -v tree
	assert_equal "$status" 4
	assert_clean_run
}

@test "injection: errors that quote a file name, an option value or a command escape it" {
	run --separate-stderr "$FREDCK" check $'missing\e]0;owned\a\n.bin'
	assert_equal "$status" 8
	assert_clean_run
	assert_stderr_contains 'missing\x1b]0;owned\x07\n.bin'
	run --separate-stderr "$FREDCK" check --format=$'qemu\e[2J' x
	assert_equal "$status" 16
	assert_clean_run
	assert_stderr_contains "unknown format 'qemu\\x1b[2J'"
	run --separate-stderr "$FREDCK" $'chk\e[2J'
	assert_equal "$status" 16
	assert_clean_run
	assert_stderr_contains '\x1b[2J'
	# A C1 control (U+009B, CSI to some terminals) and invalid UTF-8.
	run --separate-stderr "$FREDCK" check $'c1\xc2\x9b-bad\xff'
	assert_equal "$status" 8
	assert_stderr_contains 'c1\xc2\x9b-bad\xff'
}

@test "injection: a backslash is doubled in text, so a name that spells an escape is told apart" {
	fixture pf-lost-cap 'a\x1b' >/dev/null
	run --separate-stderr "$FREDCK" check 'a\x1b'
	assert_equal "$status" 4
	assert_line --index 0 --partial 'a\\x1b: kvm-dir'
}

@test "injection: 'a<0xff>' and 'a\\xff' give two JSON paths, each decoding to its own bytes" {
	fixture pf-lost-cap $'a\xff.bin' >/dev/null
	fixture clean 'a\xff.bin' >/dev/null
	run --separate-stderr "$FREDCK" check -j $'a\xff.bin' 'a\xff.bin'
	assert_equal "$status" 4
	assert_equal "$(jq -r '.inputs[0].path' <<<"$output")" 'a\xff.bin'
	assert_equal "$(jq -r '.inputs[1].path' <<<"$output")" 'a\\xff.bin'
	# The documented decoding (\\ a backslash, \xNN the byte) gives back each name.
	for i in 0 1; do
		jq -r ".inputs[$i].path" <<<"$output" |
			perl -pe 's/\\(\\|x([0-9a-f]{2}))/defined $2 ? chr hex $2 : "\\"/ge' >"decoded.$i"
	done
	printf '%s\n' $'a\xff.bin' | cmp - decoded.0
	printf '%s\n' 'a\xff.bin' | cmp - decoded.1
	# The at-risk one is the one a script would repair: its path names it.
	assert_equal "$(jq -r '.inputs[] | select(.status == "at-risk") | .path' <<<"$output")" 'a\xff.bin'
	run --separate-stderr "$FREDCK" check --ndjson $'a\xff.bin' 'a\xff.bin'
	assert_equal "$(jq -r '.path' <<<"$output" | sort -u | wc -l)" 2
}

@test "injection: getopt's own errors (unknown short option, in a cluster, before the command, undo's options) escape the user's bytes" {
	fixture clean >/dev/null
	for args in "check -$'\e[2J' clean" "check -j$'\e]0;x\a' clean" "check -q$'\n'Z clean" \
		"-$'\e[2J' check clean" "undo -$'\e[2J' x" "undo --$'\e[2J' x" "repair -j$'\xc2\x9b' clean"; do
		eval "run --separate-stderr \"\$FREDCK\" $args"
		assert_equal "$status" 16
		assert_clean_run
		[[ "$stderr" == *"invalid option"* || "$stderr" == *"unknown option"* ]] ||
			fail "$args: no usage error: $stderr"
	done
	# The letters are checked up to -o; its value is a path, one like an option refused with a hint.
	run --separate-stderr "$FREDCK" repair -jo $'-\e[2J' clean
	assert_equal "$status" 16
	assert_clean_run
	assert_stderr_contains "-o takes a path"
	run --separate-stderr -0 "$FREDCK" repair -qo out clean
	[ -d out ] || fail "-qo out wrote nothing"
}

@test "injection: an ambiguous long option with a value is named escaped, its possibilities listed" {
	fixture clean >/dev/null
	run --separate-stderr "$FREDCK" repair $'--d=\e[2J\n  0 of 1 vCPU at risk' clean
	assert_equal "$status" 16
	assert_clean_run
	assert_stderr_contains "option '--d' is ambiguous; possibilities: '--dry-run' '--dest-payload-cap'"
	# An abbreviation that is one option's still works.
	run --separate-stderr -0 "$FREDCK" repair --dr clean
}
