#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The completions of bash (cli/fredck.bash-completion), zsh (cli/_fredck)
# and fish (cli/fredck.fish), each asked by its shell: bash as bash asks
# it (COMP_WORDS, COMP_CWORD, then _fredck), zsh through its completion
# system in a pseudo-terminal (zsh-complete.zsh: compinit, a TAB typed),
# fish with complete -C.  What they offer is checked against fredck --help
# (not against the --list-for-completion they read), and a fake fredck with
# one more command shows that all three take everything from the fredck
# being completed.  make install puts each where its shell looks.

load test_helper

SCRIPT=$TOP_SRCDIR/cli/fredck.bash-completion

# What fredck --help lists: its commands; a command's long options
# ("--name", "--name=" when it takes a value); the formats of --format.
help_commands() {
	"$FREDCK" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\)  *.*/\1/p' | LC_ALL=C sort
}
help_long_options() { # cmd
	"$FREDCK" "$1" --help | grep -oE -- '^ +(-[^ ,], )?--[a-z][a-z0-9-]*(=[^ ]+)?' |
		grep -oE -- '--[a-z][a-z0-9-]*=?' | LC_ALL=C sort -u
}
help_formats() {
	"$FREDCK" --help | tr '\n' ' ' | sed -n 's/.*--format=NAME *[^(]*(\([^)]*\)).*/\1/p' |
		tr -d ',' | tr ' ' '\n' | grep -v '^$' | LC_ALL=C sort
}

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
		printf "%s\n" "${COMPREPLY[@]}"' _ "$SCRIPT" "${COMPLETE_FREDCK:-$FREDCK}" "$@" | LC_ALL=C sort
}

# The zsh and fish completions complete the command "fredck": the fredck
# under test is found on PATH, in $WORK/bin (COMPLETE_FREDCK to change).
fredck_on_path() {
	mkdir -p "$WORK/bin"
	ln -sf "${COMPLETE_FREDCK:-$FREDCK}" "$WORK/bin/fredck"
}

require_zsh() {
	command -v zsh >/dev/null || skip "zsh is not installed (sh scripts/install-deps.sh)"
	zsh -fc 'zmodload zsh/zpty' 2>/dev/null || skip "zsh has no zsh/zpty module"
	mkdir -p "$WORK/zfunc"
	cp "$TOP_SRCDIR/cli/_fredck" "$WORK/zfunc/_fredck"
	fredck_on_path
}

# zsh_complete_raw LINE: what zsh's completion offers for LINE typed at an
# interactive zsh with _fredck on its fpath ("WORD -- DESCRIPTION" lines).
zsh_complete_raw() {
	PATH="$WORK/bin:$PATH" timeout 60 zsh -f "$TOP_SRCDIR/tests/cli/zsh-complete.zsh" \
		"$WORK/zfunc" "$1"
}

# zsh_complete LINE: the words alone, sorted, each once.
zsh_complete() {
	local out
	out=$(zsh_complete_raw "$1") || return
	sed 's/ -- .*//' <<<"$out" | LC_ALL=C sort -u
}

require_fish() {
	command -v fish >/dev/null || skip "fish is not installed (sh scripts/install-deps.sh)"
	fredck_on_path
}

# fish_complete_raw LINE: what fish offers for LINE (complete -C), with
# cli/fredck.fish loaded as fish loads it for the command fredck: from a
# vendor_completions.d-like directory on $fish_complete_path.
fish_complete_raw() {
	mkdir -p "$WORK/fishcomp"
	cp "$TOP_SRCDIR/cli/fredck.fish" "$WORK/fishcomp/fredck.fish"
	PATH="$WORK/bin:$PATH" XDG_CONFIG_HOME=$WORK/fishconfig XDG_DATA_HOME=$WORK/fishdata \
		fish --no-config -c 'set -p fish_complete_path $argv[1]; complete -C"$argv[2]"' \
		"$WORK/fishcomp" "$1"
}

# fish_complete LINE: the words alone, sorted.
fish_complete() {
	local out
	out=$(fish_complete_raw "$1") || return
	cut -f1 <<<"$out" | LC_ALL=C sort -u
}

@test "completion: the script is valid bash and registers _fredck for fredck" {
	run -0 bash -c "source '$SCRIPT' && complete -p fredck"
	assert_output "complete -F _fredck fredck"
}

@test "completion: the commands are those of fredck --help" {
	want=$(help_commands)
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
	for cmd in $(help_commands); do
		want=$(help_long_options "$cmd")
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
	want=$(help_formats)
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

# zsh and fish, asked the same questions as bash above.

@test "completion: zsh offers the commands of fredck --help, with their summaries" {
	require_zsh
	run zsh_complete "fredck "
	assert_success
	assert_output "$(help_commands)"
	run -0 zsh_complete_raw "fredck ch"
	assert_output "check -- $("$FREDCK" --help | sed -n 's/^  check  *//p')"
	run zsh_complete "fredck -j ch"
	assert_output check
	run zsh_complete "fredck --format qemu di"
	assert_output diff
	run zsh_complete "fredck --format=qemu -v di"
	assert_output diff
}

@test "completion: zsh offers every long option of every command's --help, and no other" {
	require_zsh
	local cmd
	for cmd in $(help_commands); do
		run zsh_complete "fredck $cmd --"
		assert_success
		assert_output "$(help_long_options "$cmd" | tr -d = | LC_ALL=C sort -u)"
	done
	run zsh_complete "fredck repair --output-"
	assert_output --output-dir
	run zsh_complete "fredck check -"
	assert_line -r
	assert_line -P
	assert_line --ndjson
}

@test "completion: zsh offers the formats and the a|b|c values of the options" {
	require_zsh
	run zsh_complete "fredck check --format "
	assert_output "$(help_formats)"
	run zsh_complete "fredck check --format=q"
	assert_output "$(printf '%s\n' --format=qcow2 --format=qemu)"
	run zsh_complete "fredck --format k"
	assert_output kvm-dir
	run zsh_complete "fredck check --color="
	assert_output "$(printf '%s\n' --color=always --color=auto --color=never)"
	run zsh_complete "fredck inspect --color "
	assert_output "$(printf '%s\n' always auto never)"
	run zsh_complete "fredck repair --strategy d"
	assert_output drop
	run zsh_complete "fredck check --dest-payload-cap="
	assert_output "$(printf '%s\n' --dest-payload-cap=auto --dest-payload-cap=no --dest-payload-cap=yes)"
}

@test "completion: zsh offers every finding code and name to explain" {
	require_zsh
	run zsh_complete "fredck explain FK1"
	assert_output "$(printf 'FK101\nFK102\nFK103')"
	run zsh_complete "fredck explain "
	assert_output "$("$FREDCK" explain -j | jq -r '.findings[] | .code, .name' | LC_ALL=C sort)"
	run zsh_complete "fredck explain nest"
	assert_output nested-guest-mode
}

@test "completion: zsh completes inputs and -o as files, -O as a directory" {
	require_zsh
	mkdir -p "$WORK/snaps/vm1" "$WORK/snaps/vm2"
	touch "$WORK/snaps/vmfile"
	run zsh_complete "fredck check $WORK/snaps/vm"
	assert_output "$(printf '%s\n' "$WORK/snaps/vm1" "$WORK/snaps/vm2" "$WORK/snaps/vmfile")"
	run zsh_complete "fredck repair x -o $WORK/snaps/vmf"
	assert_output "$WORK/snaps/vmfile"
	run zsh_complete "fredck repair x --output=$WORK/snaps/vmf"
	assert_output "--output=$WORK/snaps/vmfile"
	run zsh_complete "fredck repair x -O $WORK/snaps/vm"
	assert_output "$(printf '%s\n' "$WORK/snaps/vm1" "$WORK/snaps/vm2")"
	run zsh_complete "fredck diff $WORK/snaps/vmf"
	assert_output "$WORK/snaps/vmfile"
	# -P takes a number: no file is offered.
	run zsh_complete "fredck check -P $WORK/snaps/vm"
	assert_output ""
}

@test "completion: fish offers the commands of fredck --help, with their summaries" {
	require_fish
	run fish_complete "fredck "
	assert_success
	assert_output "$(help_commands)"
	run -0 fish_complete_raw "fredck ch"
	assert_output "check	$("$FREDCK" --help | sed -n 's/^  check  *//p')"
	run fish_complete "fredck -j ch"
	assert_output check
	run fish_complete "fredck --format qemu di"
	assert_output diff
	run fish_complete "fredck --format=qemu -v di"
	assert_output diff
}

@test "completion: fish offers every long option of every command's --help, and no other" {
	require_fish
	local cmd
	for cmd in $(help_commands); do
		run fish_complete "fredck $cmd --"
		assert_success
		assert_output "$(help_long_options "$cmd")"
	done
	run fish_complete "fredck repair --output-"
	assert_output --output-dir=
	run fish_complete "fredck check -"
	assert_line -r
	assert_line -P
	assert_line --ndjson
}

@test "completion: fish offers the formats and the a|b|c values of the options" {
	require_fish
	run fish_complete "fredck check --format "
	assert_output "$(help_formats)"
	run fish_complete "fredck check --format=q"
	assert_output "$(printf '%s\n' --format=qcow2 --format=qemu)"
	run fish_complete "fredck --format k"
	assert_output kvm-dir
	run fish_complete "fredck check --color="
	assert_output "$(printf '%s\n' --color=always --color=auto --color=never)"
	run fish_complete "fredck inspect --color "
	assert_output "$(printf '%s\n' always auto never)"
	run fish_complete "fredck repair --strategy d"
	assert_output drop
	run fish_complete "fredck check --dest-payload-cap="
	assert_output "$(printf '%s\n' --dest-payload-cap=auto --dest-payload-cap=no --dest-payload-cap=yes)"
}

@test "completion: fish offers every finding code and name to explain" {
	require_fish
	run fish_complete "fredck explain FK1"
	assert_output "$(printf 'FK101\nFK102\nFK103')"
	run fish_complete "fredck explain "
	assert_output "$("$FREDCK" explain -j | jq -r '.findings[] | .code, .name' | LC_ALL=C sort)"
	run fish_complete "fredck explain nest"
	assert_output nested-guest-mode
}

@test "completion: fish completes inputs and -o as files, -O as a directory" {
	require_fish
	mkdir -p "$WORK/snaps/vm1" "$WORK/snaps/vm2"
	touch "$WORK/snaps/vmfile"
	run fish_complete "fredck check $WORK/snaps/vm"
	assert_output "$(printf '%s\n' "$WORK/snaps/vm1/" "$WORK/snaps/vm2/" "$WORK/snaps/vmfile")"
	run fish_complete "fredck repair x -o $WORK/snaps/vmf"
	assert_output "$WORK/snaps/vmfile"
	run fish_complete "fredck repair x --output=$WORK/snaps/vmf"
	assert_output "--output=$WORK/snaps/vmfile"
	run fish_complete "fredck repair x -O $WORK/snaps/vm"
	assert_output "$(printf '%s\n' "$WORK/snaps/vm1/" "$WORK/snaps/vm2/")"
	run fish_complete "fredck diff $WORK/snaps/vmf"
	assert_output "$WORK/snaps/vmfile"
	# -P takes a number: no file is offered.
	run fish_complete "fredck check -P $WORK/snaps/vm"
	assert_output ""
}

# A fredck with a command, options, values and a format this one lacks:
# only its listing differs, and the three completions offer them.
fake_fredck() {
	mkdir -p "$WORK/fake"
	cat >"$WORK/fake/fredck" <<'FAKE'
#!/bin/sh
t=$(printf '\t')
case "$*" in
--list-for-completion)
	printf '%s\n' "option$t--format$t-${t}NAME${t}values${t}Read as NAME" \
		"value$t--format${t}vmware${t}VMware vmss" \
		"option$t--help$t-?$t-$t-${t}Give this help list" \
		"operand${t}values${t}COMMAND [ARG...]" \
		"value${t}operand${t}frobnicate${t}frobnicate the vCPUs" \
		"value${t}operand${t}check${t}check" ;;
"frobnicate --list-for-completion")
	printf '%s\n' "option$t--widget$t-W${t}narrow|wide${t}values${t}How wide" \
		"value$t--widget${t}narrow$t-" "value$t--widget${t}wide$t-" \
		"option$t--log$t-${t}LOGFILE${t}file${t}Log to LOGFILE" \
		"operand${t}values${t}THING" "value${t}operand${t}gizmo${t}a gizmo" ;;
*) exit 16 ;;
esac
FAKE
	chmod +x "$WORK/fake/fredck"
	COMPLETE_FREDCK=$WORK/fake/fredck
}

@test "completion: bash, zsh and fish take commands, options and values from the fredck completed" {
	fake_fredck
	touch "$WORK/mylog"
	run complete_words fr
	assert_output frobnicate
	run complete_words --format ""
	assert_output vmware
	run complete_words frobnicate --w
	assert_output --widget=
	run complete_words frobnicate --widget = ""
	assert_output "$(printf 'narrow\nwide')"
	run complete_words frobnicate -W n
	assert_output narrow
	run complete_words frobnicate ""
	assert_output gizmo
	run complete_words frobnicate --log "$WORK/myl"
	assert_output "$WORK/mylog"
	if command -v zsh >/dev/null; then
		require_zsh
		run zsh_complete "fredck fr"
		assert_output frobnicate
		run zsh_complete "fredck --format "
		assert_output vmware
		run zsh_complete "fredck frobnicate --widget="
		assert_output "$(printf '%s\n' --widget=narrow --widget=wide)"
		run zsh_complete "fredck frobnicate -W n"
		assert_output narrow
		run zsh_complete "fredck frobnicate "
		assert_output gizmo
		run zsh_complete "fredck frobnicate --log $WORK/myl"
		assert_output "$WORK/mylog"
	fi
	if command -v fish >/dev/null; then
		require_fish
		run fish_complete "fredck fr"
		assert_output frobnicate
		run fish_complete "fredck --format "
		assert_output vmware
		run fish_complete "fredck frobnicate --widget="
		assert_output "$(printf '%s\n' --widget=narrow --widget=wide)"
		run fish_complete "fredck frobnicate -W n"
		assert_output narrow
		run fish_complete "fredck frobnicate "
		assert_output gizmo
		run fish_complete "fredck frobnicate --log $WORK/myl"
		assert_output "$WORK/mylog"
	fi
	command -v zsh >/dev/null && command -v fish >/dev/null ||
		skip "bash checked; zsh or fish is not installed (sh scripts/install-deps.sh)"
}

@test "completion: fredck --list-for-completion names the commands, formats and long options of --help" {
	local cmd
	run -0 "$FREDCK" --list-for-completion
	assert_equal "$(awk -F '\t' '$1 == "value" && $2 == "operand" { print $3 }' <<<"$output" |
		LC_ALL=C sort)" "$(help_commands)"
	assert_equal "$(awk -F '\t' '$1 == "value" && $2 == "--format" { print $3 }' <<<"$output" |
		LC_ALL=C sort)" "$(help_formats)"
	for cmd in $(help_commands); do
		run -0 "$FREDCK" "$cmd" --list-for-completion
		assert_equal "$(awk -F '\t' '$1 == "option" && $2 != "-" {
			print $2 ($5 == "-" ? "" : "=") }' <<<"$output" | LC_ALL=C sort -u)" \
			"$(help_long_options "$cmd")"
		# Records of 6 (option), 4 (value) and 3 (operand) fields, none empty.
		run awk -F '\t' '!($1 == "option" && NF == 6 || $1 == "value" && NF == 4 ||
			$1 == "operand" && NF == 3) || /\t\t/ || /\t$/' <<<"$output"
		assert_output ""
	done
}

@test "completion: the hidden --list-for-completion makes no abbreviation of --help's options ambiguous" {
	local cmd opts o name n p
	for cmd in $(help_commands); do
		# With argp's own hidden options, --program-name and --HANG.
		opts=$(help_long_options "$cmd" | tr -d = && printf '%s\n' --program-name --HANG)
		for o in $(help_long_options "$cmd" | tr -d =); do
			# The shortest abbreviation of o among the options argp has besides ours.
			name=${o#--}
			for ((n = 1; n < ${#name}; n++)); do
				p=${name:0:n}
				[ "$(grep -c -- "^--$p" <<<"$opts")" -eq 1 ] && break
			done
			run "$FREDCK" "$cmd" "--${name:0:n}" --help
			refute_output --partial "is ambiguous"
		done
	done
}

@test "completion: make install puts bash's where bash-completion looks" {
	[ -n "${TOP_BUILDDIR:-}" ] && [ -n "${BASH_COMPLETION_DIR:-}" ] ||
		skip "run from make check (TOP_BUILDDIR, BASH_COMPLETION_DIR)"
	dest=$WORK/destdir
	run env -u MAKEFLAGS -u MFLAGS make -C "$TOP_BUILDDIR" install-data DESTDIR="$dest"
	assert_success
	installed=$(find "$dest" -path '*/share/bash-completion/completions/fredck' -type f)
	[ -n "$installed" ] || fail "no .../bash-completion/completions/fredck under $dest: $(find "$dest")"
	cmp "$installed" "$SCRIPT"
	run bash -c "source '$installed' && complete -p fredck"
	assert_output "complete -F _fredck fredck"
}

@test "completion: make install puts zsh's and fish's where zsh and fish load them from" {
	[ -n "${TOP_BUILDDIR:-}" ] && [ -n "${ZSH_COMPLETION_DIR:-}" ] && [ -n "${FISH_COMPLETION_DIR:-}" ] ||
		skip "run from make check (TOP_BUILDDIR, ZSH_COMPLETION_DIR, FISH_COMPLETION_DIR)"
	local dest=$WORK/destdir
	run env -u MAKEFLAGS -u MFLAGS make -C "$TOP_BUILDDIR" install-data DESTDIR="$dest"
	assert_success
	# Under PREFIX, where Debian's zsh and fish (PREFIX /usr) look.
	[[ $ZSH_COMPLETION_DIR == */share/zsh/vendor-completions ]] ||
		fail "ZSH_COMPLETION_DIR=$ZSH_COMPLETION_DIR"
	[[ $FISH_COMPLETION_DIR == */share/fish/vendor_completions.d ]] ||
		fail "FISH_COMPLETION_DIR=$FISH_COMPLETION_DIR"
	run -0 cmp "$dest$ZSH_COMPLETION_DIR/_fredck" "$TOP_SRCDIR/cli/_fredck"
	run -0 cmp "$dest$FISH_COMPLETION_DIR/fredck.fish" "$TOP_SRCDIR/cli/fredck.fish"
	if command -v zsh >/dev/null; then
		run -0 zsh -fc 'print -l $fpath'
		assert_line /usr/share/zsh/vendor-completions
		require_zsh
		run -0 env PATH="$WORK/bin:$PATH" zsh -f "$TOP_SRCDIR/tests/cli/zsh-complete.zsh" \
			"$dest$ZSH_COMPLETION_DIR" "fredck ch"
		assert_output --regexp '^check -- '
	fi
	if command -v fish >/dev/null; then
		run -0 env HOME="$WORK" XDG_CONFIG_HOME="$WORK/config" fish -c 'printf "%s\n" $fish_complete_path'
		assert_line /usr/share/fish/vendor_completions.d
		require_fish
		run -0 env PATH="$WORK/bin:$PATH" fish --no-config -c \
			'set -p fish_complete_path $argv[1]; complete -C"fredck ch"' "$dest$FISH_COMPLETION_DIR"
		assert_output --regexp '^check	'
	fi
	command -v zsh >/dev/null && command -v fish >/dev/null ||
		skip "installed; zsh or fish is not installed to load them (sh scripts/install-deps.sh)"
}
