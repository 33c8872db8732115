#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The bash completion (cli/fredck.bash-completion): sourced in bash, asked
# as bash asks it (COMP_WORDS, COMP_CWORD, then _fredck), COMPREPLY checked;
# and make install puts it where bash-completion looks.

load test_helper

SCRIPT=$TOP_SRCDIR/cli/fredck.bash-completion

# complete WORD...: the completions of "fredck WORD..." (the last word is
# the one being completed), one per line, sorted.  Words are split as bash
# splits them: "--color=" is "--color" "=" "".
complete_words() {
	bash -c '
		source "$1" || exit 9
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		_fredck
		printf "%s\n" "${COMPREPLY[@]}"' _ "$SCRIPT" "$FREDCK" "$@" | LC_ALL=C sort
}

@test "completion: the script is valid bash and registers _fredck for fredck" {
	run -0 bash -c "source '$SCRIPT' && complete -p fredck"
	assert_output "complete -F _fredck fredck"
}

@test "completion: the commands are those of fredck --help" {
	want=$("$FREDCK" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\)  *.*/\1/p' | LC_ALL=C sort)
	[ -n "$want" ] || fail "no commands in fredck --help"
	run complete_words ""
	assert_output "$want"
	assert_line diff
	assert_line explain
}

@test "completion: a command prefix, also after a common option" {
	run complete_words ch
	assert_output check
	run complete_words -j ch
	assert_output check
	run complete_words --format qemu di
	assert_output diff
}

@test "completion: every long option of every command's --help is offered, and no other" {
	local cmd want
	for cmd in inspect check repair explain diff; do
		want=$("$FREDCK" "$cmd" --help | grep -oE -- '^ +(-[^ ,], )?--[a-z][a-z0-9-]*(=[^ ]+)?' |
			grep -oE -- '--[a-z][a-z0-9-]*=?' | LC_ALL=C sort -u)
		run complete_words "$cmd" --
		assert_output "$want"
	done
}

@test "completion: the batch options of check and repair" {
	run complete_words check --re
	assert_output --recursive
	run complete_words repair --output-
	assert_output --output-dir=
	run complete_words check --nd
	assert_output --ndjson
	run complete_words check --jo
	assert_output --jobs=
}

@test "completion: --format= offers the formats of fredck --help" {
	want=$("$FREDCK" --help | tr '\n' ' ' | sed -n 's/.*--format=NAME *[^(]*(\([^)]*\)).*/\1/p' |
		tr -d ',' | tr ' ' '\n' | grep -v '^$' | LC_ALL=C sort)
	[ -n "$want" ] || fail "no format list in fredck --help"
	run complete_words check --format = ""
	assert_output "$want"
	assert_line kvm-dir
	assert_line qemu
	run complete_words check --format = q
	assert_output "$(printf 'qcow2\nqemu')"
	run complete_words check --format = qe
	assert_output qemu
	run complete_words check --format k
	assert_output kvm-dir
}

@test "completion: option values from the help's a|b|c" {
	run complete_words check --color = ""
	assert_output "$(printf 'always\nauto\nnever')"
	run complete_words repair --strategy = d
	assert_output drop
	run complete_words check --dest-payload-cap = ""
	assert_output "$(printf 'auto\nno\nyes')"
}

@test "completion: explain offers every finding code and name" {
	run complete_words explain FK1
	assert_output "$(printf 'FK101\nFK102\nFK103')"
	run complete_words explain ""
	for code in $("$FREDCK" explain -j | jq -r '.findings[] | .code, .name'); do
		assert_line "$code"
	done
	run complete_words explain nest
	assert_output nested-guest-mode
}

@test "completion: inputs and -o are files, -O a directory" {
	mkdir -p "$WORK/snaps/vm1" "$WORK/snaps/vm2"
	touch "$WORK/snaps/vmfile"
	run complete_words check "$WORK/snaps/vm"
	assert_output "$(printf '%s\n' "$WORK/snaps/vm1" "$WORK/snaps/vm2" "$WORK/snaps/vmfile")"
	run complete_words repair x -o "$WORK/snaps/vmf"
	assert_output "$WORK/snaps/vmfile"
	run complete_words repair x -O "$WORK/snaps/vm"
	assert_output "$(printf '%s\n' "$WORK/snaps/vm1" "$WORK/snaps/vm2")"
	run complete_words diff "$WORK/snaps/vmf"
	assert_output "$WORK/snaps/vmfile"
}

@test "completion: make install puts it in the completions directory as fredck" {
	[ -n "${TOP_BUILDDIR:-}" ] && [ -n "${BASH_COMPLETION_DIR:-}" ] ||
		skip "run from make check (TOP_BUILDDIR, BASH_COMPLETION_DIR)"
	dest=$WORK/destdir
	run env -u MAKEFLAGS -u MFLAGS make -C "$TOP_BUILDDIR" install-data-local DESTDIR="$dest"
	assert_success
	installed=$(find "$dest" -path '*/share/bash-completion/completions/fredck' -type f)
	[ -n "$installed" ] || fail "no .../bash-completion/completions/fredck under $dest: $(find "$dest")"
	cmp "$installed" "$SCRIPT"
	run bash -c "source '$installed' && complete -p fredck"
	assert_output "complete -F _fredck fredck"
}
