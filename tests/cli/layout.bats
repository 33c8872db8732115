#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The layering of docs/design.md section 6, on the built objects:
# tests/layout/deps.py says what it checks.

load test_helper

BUILDDIR=${TOP_BUILDDIR:-$TOP_SRCDIR/_build}

@test "layout: no circles inside a format, shared code uses no format, KVM offsets in formats/kvm only" {
	command -v nm >/dev/null || skip "nm (binutils) is not installed"
	run python3 "$TOP_SRCDIR/tests/layout/deps.py" "$BUILDDIR" "$TOP_SRCDIR"
	[ "$status" -eq 0 ] || fail "$output"
}

@test "layout: the checker catches a circle and an offset outside formats/kvm" {
	command -v nm >/dev/null || skip "nm (binutils) is not installed"
	local fake=$WORK/build fakesrc=$WORK/src
	mkdir -p "$fake/formats/demo" "$fakesrc/formats/demo"
	printf 'int b(void);\nint a(void) { return b(); }\n' >"$WORK/a.c"
	printf 'int a(void);\nint b(void) { return a(); }\n' >"$WORK/b.c"
	cc -c "$WORK/a.c" -o "$fake/formats/demo/libformats_a-a.o"
	cc -c "$WORK/b.c" -o "$fake/formats/demo/libformats_a-b.o"
	printf '#include <stddef.h>\nsize_t x = offsetof(struct kvm_regs, rip);\n' \
		>"$fakesrc/formats/demo/x.c"
	run python3 "$TOP_SRCDIR/tests/layout/deps.py" "$fake" "$fakesrc"
	[ "$status" -eq 1 ] || fail "$output"
	assert_output --partial "circle in formats/demo"
	assert_output --partial "formats/demo/x.c names an offset of a KVM structure"
}

@test "layout: cli/ passes its output streams down (never assigns stdout or stderr) and exits only at the top" {
	# Issue 16: batch workers captured output by assigning the global streams,
	# and output.c and hint.c exited from below the command layer.
	run grep -nE '(^|[^.>_[:alnum:]])(stdout|stderr)[[:space:]]*=[^=]' "$TOP_SRCDIR"/cli/*.c
	[ "$status" -eq 1 ] || fail "assigned: $output"
	# No exit(): main() returns the status (_exit() ends a batch worker or the signal handler).
	run grep -nE '(^|[^_[:alnum:]])exit[[:space:]]*\(' "$TOP_SRCDIR"/cli/*.c
	[ "$status" -eq 1 ] || fail "exit below main: $output"
}
