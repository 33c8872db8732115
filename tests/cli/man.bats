#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The man pages: groff lints them clean (it exits 0 even on an undefined
# macro, so stderr is what counts), and fredck.1 has not drifted from the
# binary: every command of `fredck --help`, every long option of
# `fredck [CMD] --help` and every finding code of `fredck explain -j`
# appears in it.
#
# $FREDCK, $TOP_SRCDIR and $GROFF come from `make check`; by hand:
#   bats tests/cli/man.bats     (after building _build/fredck)

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	FREDCK=${FREDCK:-$TOP_SRCDIR/_build/fredck}
	GROFF=${GROFF:-groff}
	MAN1="$TOP_SRCDIR/man/fredck.1"
	MAN5="$TOP_SRCDIR/man/fredck-formats.5"
}

# configure sets GROFF=false when it finds no groff.
require_groff() {
	if ! "$GROFF" --version >/dev/null 2>&1; then
		skip "groff not found (GROFF=$GROFF)"
	fi
}

# groff's warnings on PAGE, or nothing.
lint() {
	"$GROFF" -man -ww -z -Tutf8 "$1" 2>&1 >/dev/null
}

# The source of a page as plain text: comments dropped, \- as -, font,
# \& and \% escapes removed.
page_text() {
	sed -e '/^\.\\"/d' \
	    -e 's/\\-/-/g' \
	    -e 's/\\f[BIRP]//g' -e 's/\\f([A-Z][A-Z]//g' -e 's/\\f\[[^]]*\]//g' \
	    -e 's/\\[&%]//g' "$1"
}

# The lines of section NAME (from ".SH NAME" to the next ".SH") of PAGE.
section() {
	page_text "$1" | awk -v name="$2" '
		/^\.SH / { sub(/^\.SH +/, ""); gsub(/"/, ""); on = ($0 == name); next }
		on { print }'
}

# The commands listed by `fredck --help`.
commands() {
	"$FREDCK" --help | sed -n '/^Commands:/,/^$/p' |
		sed -n 's/^  \([a-z][a-z-]*\)  *[^ ].*/\1/p'
}

# The long options of `fredck [CMD] --help`, from its option lines only.
long_options() {
	"$FREDCK" "$@" --help | grep -oE '^ +(-[^ ,], )?--[a-z][a-z0-9-]*' |
		grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

# Whether the text on stdin names OPT as a whole option.
has_option() {
	grep -qE -- "(^|[^a-z0-9-])$1([^a-z0-9-]|\$)"
}

@test "fredck.1: groff -man -ww prints no warning" {
	require_groff
	run lint "$MAN1"
	assert_success
	assert_output ""
}

@test "fredck-formats.5: groff -man -ww prints no warning" {
	require_groff
	run lint "$MAN5"
	assert_success
	assert_output ""
}

@test "fredck.1: every command of fredck --help is in SYNOPSIS and COMMANDS" {
	local cmds cmd missing=""
	cmds=$(commands)
	[ -n "$cmds" ] || fail "no command list in 'fredck --help'"
	for cmd in $cmds; do
		section "$MAN1" SYNOPSIS | grep -qE "fredck $cmd( |\$)" ||
			missing+=" $cmd(SYNOPSIS)"
		section "$MAN1" COMMANDS | grep -qE "^\.(B|TP) $cmd( |\$)" ||
			missing+=" $cmd(COMMANDS)"
	done
	assert_equal "${missing# }" ""
}

@test "fredck.1: every long option of fredck [CMD] --help is in OPTIONS" {
	local cmd opt opts missing="" options
	options=$(section "$MAN1" OPTIONS)
	[ -n "$options" ] || fail "fredck.1 has no OPTIONS section"
	for cmd in "" $(commands); do
		opts=$(long_options $cmd)
		[ -n "$opts" ] || fail "no options in 'fredck $cmd --help'"
		for opt in $opts; do
			has_option "$opt" <<<"$options" || missing+=" ${cmd:-fredck}:$opt"
		done
	done
	assert_equal "${missing# }" ""
}

@test "fredck.1: every finding code of fredck explain is in FINDINGS" {
	local codes code missing="" findings
	command -v jq >/dev/null || skip "jq not found"
	codes=$("$FREDCK" explain -j | jq -r '.findings[].code')
	[ -n "$codes" ] || fail "no codes in 'fredck explain -j'"
	findings=$(section "$MAN1" FINDINGS)
	for code in $codes; do
		grep -qw -- "$code" <<<"$findings" || missing+=" $code"
	done
	assert_equal "${missing# }" ""
}

@test "fredck.1: every finding code it names exists" {
	local code unknown=""
	for code in $(page_text "$MAN1" | grep -oE 'FK[0-9]{3}' | sort -u); do
		"$FREDCK" explain "$code" >/dev/null 2>&1 || unknown+=" $code"
	done
	assert_equal "${unknown# }" ""
}
