#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# --color=auto|always|never and NO_COLOR: only the code and severity of the
# findings in text output are coloured, never JSON; auto colours a terminal
# (faked with script(1)) unless NO_COLOR is set and not empty.

load test_helper

ESC=$'\033'

# on_tty CMD...: run CMD with standard output on a pseudo-terminal.
on_tty() {
	command -v script >/dev/null || skip "script(1) not found"
	script -qfec "$(printf '%q ' "$@")" /dev/null
}

@test "color: --color=always colours a problem red and a note yellow, and nothing else" {
	dir=$(fixture nm-unrecoverable)
	run -4 "$FREDCK" check --color=always "$dir"
	assert_line --regexp "^    ${ESC}\[1;31mFK103 problem${ESC}\[0m: "
	assert_line --regexp "^    ${ESC}\[33mFK202 note${ESC}\[0m: "
	# Every escape is one of those: the rest of the text is plain.
	n=$(grep -c "$ESC" <<<"$output")
	assert_equal "$n" "$(grep -cE "^    ${ESC}\[(1;31|33)mFK[0-9]{3} (problem|note)${ESC}\[0m: " <<<"$output")"
}

@test "color: --color=never, and the default into a pipe, print no escape" {
	dir=$(fixture nm-unrecoverable)
	run -4 "$FREDCK" check --color=never "$dir"
	refute_output --partial "$ESC"
	run -4 "$FREDCK" check "$dir"
	refute_output --partial "$ESC"
}

@test "color: JSON is never coloured, even with --color=always" {
	dir=$(fixture nm-unrecoverable)
	run -4 "$FREDCK" check -j --color=always "$dir"
	refute_output --partial "$ESC"
	run -4 "$FREDCK" check --ndjson --color=always "$dir"
	refute_output --partial "$ESC"
}

@test "color: auto colours a terminal" {
	dir=$(fixture pf-lost-cap)
	run on_tty env -u NO_COLOR "$FREDCK" check "$dir"
	assert_output --partial "${ESC}[1;31mFK101 problem"
}

@test "color: auto with NO_COLOR set does not colour a terminal; empty NO_COLOR does" {
	dir=$(fixture pf-lost-cap)
	run on_tty env NO_COLOR=1 "$FREDCK" check "$dir"
	assert_output --partial "FK101 problem"
	refute_output --partial "$ESC["
	run on_tty env NO_COLOR= "$FREDCK" check "$dir"
	assert_output --partial "${ESC}[1;31mFK101 problem"
}

@test "color: --color=always wins over NO_COLOR (no-color.org), --color=never over a terminal" {
	dir=$(fixture pf-lost-cap)
	NO_COLOR=1 run -4 "$FREDCK" check --color=always "$dir"
	assert_output --partial "${ESC}[1;31mFK101 problem"
	run on_tty "$FREDCK" check --color=never "$dir"
	refute_output --partial "$ESC["
}

@test "color: workers (-P 2) colour as one process does" {
	a=$(fixture pf-lost-cap)
	b=$(fixture nm-unrecoverable)
	run --separate-stderr -4 "$FREDCK" check --color=always -P 1 "$a" "$b"
	one=$output
	run --separate-stderr -4 "$FREDCK" check --color=always -P 2 "$a" "$b"
	assert_equal "$output" "$one"
}

@test "color: a bad value is a usage error" {
	run --separate-stderr -16 "$FREDCK" check --color=sometimes "$(fixture clean)"
	assert_stderr_contains "--color takes auto, always or never"
}
