#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Command line: usage errors exit 16 everywhere (never argp's 64), help and
# version exit 0, common options before and after the command.

load test_helper

# assert_usage_error ARG...: fredck ARG... exits 16, prints nothing on stdout
# and says something on stderr.
assert_usage_error() {
	run --separate-stderr "$FREDCK" "$@"
	[ "$status" -eq 16 ] || fail "fredck $* exited $status, not 16 (stderr: $stderr)"
	assert_output ''
	[ -n "$stderr" ] || fail "fredck $* said nothing on stderr"
}

@test "usage: fredck alone exits 16 and says a command is needed" {
	assert_usage_error
	assert_stderr_contains 'no command'
}

@test "usage: an unknown command exits 16 and names it" {
	assert_usage_error frobnicate
	assert_stderr_contains frobnicate
}

@test "usage: an unknown option after the command exits 16" {
	dir=$(fixture clean)
	assert_usage_error check --frobnicate "$dir"
	assert_stderr_contains frobnicate
}

@test "usage: an unknown option before the command exits 16" {
	dir=$(fixture clean)
	assert_usage_error --frobnicate check "$dir"
}

@test "usage: an unknown short option exits 16" {
	dir=$(fixture clean)
	assert_usage_error check -Z "$dir"
}

@test "usage: a bad --strategy exits 16 and names it" {
	dir=$(fixture pf-lost-cap)
	assert_usage_error check --strategy=bogus "$dir"
	assert_stderr_contains bogus
}

@test "usage: a bad --strategy for repair exits 16 and writes nothing" {
	dir=$(fixture pf-lost-cap)
	before=$(tree_sum "$WORK")
	assert_usage_error repair --strategy=bogus "$dir" --in-place
	assert_equal "$(tree_sum "$WORK")" "$before"
}

@test "usage: a bad --dest-payload-cap exits 16 and names it" {
	dir=$(fixture pf-lost-cap)
	assert_usage_error check --dest-payload-cap=maybe "$dir"
	assert_stderr_contains maybe
}

@test "usage: a bad --format exits 16 and names it" {
	dir=$(fixture clean)
	assert_usage_error check --format=qcow9 "$dir"
	assert_stderr_contains qcow9
}

@test "usage: a bad --format before the command exits 16" {
	dir=$(fixture clean)
	assert_usage_error --format=qcow9 check "$dir"
}

@test "usage: an option missing its argument exits 16" {
	dir=$(fixture clean)
	assert_usage_error check "$dir" --strategy
	assert_usage_error repair "$dir" -o
}

@test "usage: check, inspect and repair without an input exit 16" {
	assert_usage_error check
	assert_usage_error inspect
	assert_usage_error repair --dry-run
}

@test "usage: --strategy is not an inspect option (16)" {
	dir=$(fixture clean)
	assert_usage_error inspect --strategy=none "$dir"
}

@test "usage: no usage error ever exits 64 (argp's default)" {
	local dir args bad=()
	dir=$(fixture clean)
	while IFS= read -r args; do
		# shellcheck disable=SC2086
		run "$FREDCK" $args
		[ "$status" -eq 16 ] || bad+=("[$args]: $status")
	done <<-EOF
		
		nope
		--nope
		check --nope $dir
		check
		check --strategy=x $dir
		check --dest-payload-cap=x $dir
		check --format=x $dir
		inspect --nope $dir
		repair $dir
		repair --nope $dir --dry-run
		repair $dir -o a --in-place
		repair $dir --in-place --backup=.x --no-backup
		repair $dir -o a --no-backup
		explain --nope
		explain FK999
	EOF
	[ "${#bad[@]}" -eq 0 ] || fail "not 16: ${bad[*]}"
}

@test "usage: --help exits 0 and lists the commands" {
	run -0 "$FREDCK" --help
	assert_line --partial 'Usage: fredck'
	for c in inspect check repair explain; do
		assert_line --regexp "^  $c "
	done
}

@test "usage: every command's --help exits 0" {
	for c in inspect check repair explain; do
		run -0 "$FREDCK" "$c" --help
		assert_line --index 0 --partial "Usage: fredck $c"
	done
}

@test "usage: --usage exits 0" {
	run -0 "$FREDCK" --usage
	assert_output --partial 'Usage: fredck'
}

@test "usage: --version and -V exit 0 and print the version" {
	run -0 "$FREDCK" --version
	assert_output --regexp '^fredck [0-9]+\.[0-9]+'
	run -0 "$FREDCK" -V
	assert_output --regexp '^fredck [0-9]+\.[0-9]+'
}

@test "usage: --version names every format of --help and every compressor, with its library's version" {
	run -0 "$FREDCK" --help
	local formats
	formats=$(tr '\n' ' ' <<<"$output" | sed -n 's/.*--format=NAME *[^(]*(\([^)]*\)).*/\1/p' | tr -d ',' | xargs)
	[ -n "$formats" ] || fail "no format list in fredck --help"
	run -0 "$FREDCK" --version
	assert_line --index 0 --regexp '^fredck [0-9]+\.[0-9]+'
	assert_line "formats: $formats"
	assert_line --regexp '^compressed libvirt images: gzip \(zlib [0-9.]+\), bzip2 \(libbz2 [0-9.]+\), xz \(liblzma [0-9.]+\), lzop \(liblzo2 [0-9.]+\), zstd \(libzstd [0-9.]+\)$'
}

@test "usage: --help names the exit status bits" {
	run -0 "$FREDCK" --help
	assert_output --regexp '16[[:space:]]+usage'
}

@test "usage: -j before the command gives the same JSON as after it" {
	dir=$(fixture pf-lost-cap)
	run -4 "$FREDCK" -j check "$dir"
	before=$output
	run -4 "$FREDCK" check "$dir" -j
	assert_equal "$output" "$before"
	jq -e . <<<"$output" >/dev/null
}

@test "usage: --json between the command and the input works" {
	dir=$(fixture pf-lost-cap)
	run -4 "$FREDCK" check --json "$dir"
	assert_equal "$(jqo .command)" check
}

@test "usage: -p, -q, -v and --format before the command are accepted" {
	dir=$(fixture pf-lost-cap)
	run -4 "$FREDCK" -p check "$dir"
	assert_equal "$(jqo .command)" check
	run -4 "$FREDCK" -q check "$dir"
	run -4 "$FREDCK" -v check "$dir"
	run -4 "$FREDCK" --format=kvm-dir check "$dir"
}

@test "usage: common options before repair and inspect are accepted" {
	dir=$(fixture pf-lost-cap)
	run -0 "$FREDCK" -j inspect "$dir"
	assert_equal "$(jqo .command)" inspect
	run -4 "$FREDCK" -j repair --dry-run "$dir"
	run -1 "$FREDCK" -j repair "$dir" -o out
	assert_equal "$(jqo .inputs[0].status)" repaired
}

@test "usage: options of the command may follow the inputs" {
	dir=$(fixture pf-lost-cap)
	run -4 "$FREDCK" check "$dir" --strategy=none --json
	assert_equal "$(vcpu 0 .repair.reason)" strategy-none
}

@test "usage: standard input (-) at most once among the inputs of any command (16)" {
	dir=$(fixture pf-lost-cap)
	local cmd
	for cmd in check inspect "repair --dry-run"; do
		# shellcheck disable=SC2086
		run -16 --separate-stderr "$FREDCK" $cmd - - </dev/null
		assert_equal "$output" ""
		[[ "$stderr" == *"standard input (-) can be given only once"* ]] || fail "$stderr"
		# shellcheck disable=SC2086
		run -16 "$FREDCK" $cmd - "$dir" - </dev/null
	done
	run -16 --separate-stderr "$FREDCK" diff - - </dev/null
	[[ "$stderr" == *"standard input (-) can be given only once"* ]] || fail "$stderr"
}

@test "usage: -o '' and -O '' are usage errors (16), nothing written" {
	dir=$(fixture pf-lost-cap)
	run -16 --separate-stderr "$FREDCK" repair "$dir" -o ''
	[[ "$stderr" == *"-o takes a path"* ]] || fail "$stderr"
	run -16 --separate-stderr "$FREDCK" repair "$dir" -O ''
	[[ "$stderr" == *"-O takes a directory"* ]] || fail "$stderr"
	[ -z "$(find "$WORK" -name '.*fredck*')" ] || fail "something was written: $(find "$WORK")"
}

@test "usage: -o - with standard output on a terminal is refused (16) with a hint; nothing is written to it" {
	command -v script >/dev/null || skip "script (bsdutils) is not installed"
	dir=$(fixture pf-lost-cap)
	# script gives the command a pseudo-terminal as its standard output.
	run script -qec "'$FREDCK' repair - -o - </dev/null" /dev/null
	[ "$status" -eq 16 ] || fail "status $status: $output"
	[[ "$output" == *"standard output is a terminal"*"redirect it"* ]] || fail "$output"
	# Not a terminal: the filter runs (and fails here only because /dev/null is no stream).
	run -8 --separate-stderr "$FREDCK" repair - -o - </dev/null
}
