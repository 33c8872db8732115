#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Golden outputs (issue 16, item 6): the full text and JSON of inspect,
# check, repair --dry-run, diff and explain on a fixed set of inputs, byte
# for byte (tests/golden/golden.sh; --update rewrites them when a change
# to what operators see is meant, and the change shows in review).

load test_helper

@test "golden: every command's text and JSON are the committed ones" {
	local build=${TOP_BUILDDIR:-$TOP_SRCDIR/_build}
	run bash "$TOP_SRCDIR/tests/golden/golden.sh" "$build"
	[ "$status" -eq 0 ] || fail "$output"
}

@test "golden: a changed output is caught (the comparison can fail)" {
	local build=${TOP_BUILDDIR:-$TOP_SRCDIR/_build}
	cp -R "$TOP_SRCDIR/tests/golden" golden
	sed -i 's/repair would fix 1 and leave 0/repair would fix 1 and leave 1/' golden/check.out
	GOLDEN_DIR=$WORK/golden run bash "$TOP_SRCDIR/tests/golden/golden.sh" "$build"
	assert_equal "$status" 1
	assert_output --partial "check.out differs"
	assert_output --partial "+  1 of 1 vCPU at risk; repair would fix 1 and leave 0"
}
