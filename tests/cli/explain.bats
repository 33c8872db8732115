#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# fredck explain: the findings table, by code, number or name.

load test_helper

# The codes of explain --json's list, one per line.
all_codes() {
	"$FREDCK" explain --json | jq -r '.findings[].code'
}

@test "explain: the list exits 0 and has one line per code" {
	run -0 "$FREDCK" explain
	n=$(all_codes | wc -l)
	[ "$n" -gt 0 ] || fail "explain --json lists no code"
	assert_equal "${#lines[@]}" "$n"
	for code in $(all_codes); do
		assert_line --regexp "^$code "
	done
}

@test "explain --json: schema_version 2, command explain, the tool, unique codes and names" {
	run -0 "$FREDCK" explain --json
	assert_equal "$(jqo .schema_version)" 2
	assert_equal "$(jqo .command)" explain
	assert_equal "$(jqo .tool.name)" fredck
	assert_equal "$(jqo '.findings | map(.code) | (unique | length) == length')" true
	assert_equal "$(jqo '.findings | map(.name) | (unique | length) == length')" true
	assert_equal "$(jqo '[.findings[].code | test("^FK[0-9]{3}$")] | all')" true
}

@test "explain --json: every finding has a summary, an explanation and a repair text" {
	run -0 "$FREDCK" explain --json
	assert_equal "$(jqo '[.findings[] | (.summary, .explanation, .repair) | length > 0] | all')" true
}

@test "explain --json: FK101-FK103 are problems, every other code a note" {
	run -0 "$FREDCK" explain --json
	assert_equal "$(jqo '[.findings[] | select(.severity == "problem") | .code] | @csv')" '"FK101","FK102","FK103"'
	assert_equal "$(jqo '[.findings[] | select(.severity != "problem") | .severity] | unique | @csv')" '"note"'
}

@test "explain: every code resolves as FKnnn, exit 0" {
	for code in $(all_codes); do
		run -0 "$FREDCK" explain "$code"
		assert_line --index 0 --regexp "^$code "
	done
}

@test "explain: every code resolves by its number alone, exit 0" {
	for code in $(all_codes); do
		run -0 "$FREDCK" explain "${code#FK}"
		assert_line --index 0 --regexp "^$code "
	done
}

@test "explain: every code resolves by its name, exit 0" {
	local code name
	while read -r code name; do
		run -0 "$FREDCK" explain "$name"
		assert_line --index 0 --regexp "^$code $name "
	done < <("$FREDCK" explain --json | jq -r '.findings[] | "\(.code) \(.name)"')
}

@test "explain: a code in lower case resolves (fk201)" {
	run -0 "$FREDCK" explain fk201
	assert_line --index 0 --regexp '^FK201 db-event-data-ambiguous '
}

@test "explain: the long text has the explanation and the repair" {
	run -0 "$FREDCK" explain FK301
	assert_line --index 0 --regexp '^FK301 nested-guest-mode \(note\): '
	assert_line --regexp '^Repair: '
}

@test "explain --json CODE: exactly that finding" {
	run -0 "$FREDCK" explain --json FK203
	assert_equal "$(jqo '.findings | map(.code) | @csv')" '"FK203"'
}

@test "explain: several codes, each explained, exit 0" {
	run -0 "$FREDCK" explain FK101 202 nested-guest-mode
	assert_line --regexp '^FK101 '
	assert_line --regexp '^FK202 '
	assert_line --regexp '^FK301 '
}

@test "explain: an unknown code exits 16 and names it" {
	run --separate-stderr -16 "$FREDCK" explain FK999
	assert_stderr_contains FK999
}

@test "explain: an unknown name exits 16" {
	run --separate-stderr -16 "$FREDCK" explain no-such-finding
	assert_stderr_contains no-such-finding
}

@test "explain: a number out of the table exits 16" {
	run --separate-stderr -16 "$FREDCK" explain 100
}

@test "explain: every code check prints on the fixtures is in explain's list" {
	local dirs known used
	known=$(all_codes)
	dirs=$(fixtures all)
	# shellcheck disable=SC2086
	used=$({ "$FREDCK" check --json $dirs; "$FREDCK" check --json --dest-payload-cap=no --force $dirs; } |
		jq -r '.inputs[].vcpus[].findings[].code' | sort -u)
	[ -n "$used" ] || fail "check printed no code at all"
	assert_equal "$(comm -23 <(echo "$used") <(sort -u <<<"$known"))" ""
}

@test "explain: every code check prints in text appears in explain's list" {
	local dirs used
	dirs=$(fixtures all)
	# shellcheck disable=SC2086
	used=$("$FREDCK" check -v $dirs | grep -o 'FK[0-9]\{3\}' | sort -u)
	[ -n "$used" ] || fail "check printed no code at all"
	assert_equal "$(comm -23 <(echo "$used") <(all_codes | sort -u))" ""
}

@test "explain: check's name and severity of a finding are explain's" {
	dir=$(fixture nm-unrecoverable)
	run -4 "$FREDCK" check --json "$dir"
	check_view=$(jq -c '[.inputs[0].vcpus[0].findings[] | {code, name, severity}]' <<<"$output")
	explain_view=$("$FREDCK" explain --json FK103 FK202 FK203 | jq -c '[.findings[] | {code, name, severity}]')
	assert_equal "$check_view" "$explain_view"
}

@test "explain: -j before the command and --pretty work" {
	run -0 "$FREDCK" -j explain FK101
	assert_equal "$(jqo '.findings[0].code')" FK101
	run -0 "$FREDCK" explain --pretty
	[ "${#lines[@]}" -gt 10 ] || fail "--pretty is not indented"
	assert_equal "$(jqo '.findings | length')" "$(all_codes | wc -l)"
}

@test "explain: the long text is folded at 78 columns and ends with the exit status it implies" {
	for code in $(all_codes); do
		run -0 "$FREDCK" explain "$code"
		# The first line is the list's line; the paragraphs below are folded.
		long=$(tail -n +2 <<<"$output" | awk 'length > 78')
		assert_equal "$long" ""
		assert_line --regexp '^Exit status: '
	done
	run -0 "$FREDCK" explain FK101
	assert_line --partial "exit with bit 4 while this"
	run -0 "$FREDCK" explain FK201
	assert_line "Exit status: a note never changes it."
}

@test "explain: the text's words are the table's (JSON), only folded" {
	for code in $(all_codes); do
		text=$("$FREDCK" explain "$code" | tr -s ' \n' '  ')
		for field in explanation repair; do
			want=$("$FREDCK" explain -j "$code" | jq -r ".findings[0].$field" | tr -s ' \n' '  ')
			[[ $text == *"$want"* ]] || fail "$code: the $field of the table is not in the text"
		done
	done
}
