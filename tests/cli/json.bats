#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# JSON output (docs/design.md section 6): one document per run, schema_version 2,
# registers as "0x%016x" strings (jansson's integers are signed).

load test_helper

HEX64='^0x[0-9a-f]{16}$'
HEX32='^0x[0-9a-f]{8}$'

# The number of JSON documents on $output.
documents() {
	jq -n '[inputs] | length' <<<"$output"
}

@test "json: every inspect register of every fixture is a 0x%016x string or null" {
	run -0 "$FREDCK" inspect --json $(fixtures all)
	assert_equal "$(jqo '.inputs | length')" "${#ALL_FIXTURES[@]}"
	assert_equal "$(jq -r --arg re "$HEX64" '.inputs[] | (.path | split("/") | last) as $n
		| .vcpus[] | .index as $i | .registers | to_entries[]
		| select(.value != null and ((.value | type) != "string" or (.value | test($re) | not)))
		| "\($n):vcpu\($i):\(.key)=\(.value)"' <<<"$output")" ""
}

@test "json: inspect lists every register, saved or not" {
	dir=$(fixture fred-msrs-missing)
	run -0 "$FREDCK" inspect --json "$dir"
	assert_equal "$(vcpu 0 '.registers | keys_unsorted | join(" ")')" \
		"rip rflags cr0 cr2 cr3 cr4 efer dr6 dr7 xcr0 xfd xfd_err fred_config fred_rsp0 fred_rsp1 fred_rsp2 fred_rsp3 fred_stklvls fred_ssp1 fred_ssp2 fred_ssp3"
	assert_equal "$(vcpu 0 .registers.fred_config)" null
}

@test "json: check's 64-bit values are 0x%016x strings for every fixture and strategy" {
	local opts dirs bad=()
	dirs=$(fixtures all)
	for opts in "" --force --dest-payload-cap=no; do
		# shellcheck disable=SC2086
		bad+=($("$FREDCK" check --json $opts $dirs | jq -r --arg re "$HEX64" '
			.inputs[] | (.path | split("/") | last) as $n | .vcpus[]
			| [.exception.payload, (.event_data // {} | .value, .best_estimate, .doubtful_bits),
			   (.findings[] | .doubtful_bits),
			   (.repair.changes[] | select(.field == "exception.payload") | .old, .new)]
			| .[] | select(. != null and (test($re) | not)) | "\($n):\(.)"'))
	done
	[ "${#bad[@]}" -eq 0 ] || fail "not 0x%016x: ${bad[*]}"
}

@test "json: error_code and events_flags are 0x%08x strings" {
	dir=$(fixture pf-lost-cap)
	run -0 "$FREDCK" inspect --json "$dir"
	assert_regex "$(vcpu 0 .exception.error_code)" "$HEX32"
	assert_regex "$(vcpu 0 .events_flags)" "$HEX32"
	assert_equal "$(vcpu 0 .exception.error_code)" 0x00000006
}

@test "json: schema_version 2 and the tool's name and version" {
	dir=$(fixture clean)
	run -0 "$FREDCK" check --json "$dir"
	assert_equal "$(jqo .schema_version)" 2
	assert_equal "$(jqo .tool.name)" fredck
	assert_equal "$(jqo .tool.version)" "$("$FREDCK" --version | awk 'NR == 1 { print $2 }')"
}

@test "json: the command field names the command" {
	dir=$(fixture pf-lost-cap)
	run -0 "$FREDCK" inspect --json "$dir"
	assert_equal "$(jqo .command)" inspect
	run -4 "$FREDCK" check --json "$dir"
	assert_equal "$(jqo .command)" check
	run -4 "$FREDCK" repair --dry-run --json "$dir"
	assert_equal "$(jqo '[.command, .dry_run] | @csv')" '"repair",true'
	run -1 "$FREDCK" repair --json "$dir" -o out
	assert_equal "$(jqo '[.command, .dry_run] | @csv')" '"repair",false'
}

@test "json: one document for several inputs (check)" {
	a=$(fixture clean) b=$(fixture pf-lost-cap) c=$(fixture multi)
	run -4 "$FREDCK" check --json "$a" "$b" "$c"
	assert_equal "$(documents)" 1
	assert_equal "$(jqo '.inputs | length')" 3
	assert_valid_json
}

@test "json: one document for several inputs (inspect)" {
	a=$(fixture clean) b=$(fixture nested)
	run -0 "$FREDCK" inspect --json "$a" "$b"
	assert_equal "$(documents)" 1
	assert_equal "$(jqo '.inputs | length')" 2
	assert_valid_json
}

@test "json: one document for several inputs (repair --in-place)" {
	a=$(fixture pf-lost-cap) b=$(fixture db-stale-bs)
	run --separate-stderr -5 "$FREDCK" repair --json --in-place "$a" "$b"
	assert_equal "$(documents)" 1
	assert_equal "$(jqo '.inputs | map(.status) | @csv')" '"repaired","at-risk"'
	assert_valid_json
}

@test "json: one document on stdout even with a failing input; the error goes to stderr too" {
	a=$(fixture clean)
	run --separate-stderr -8 "$FREDCK" check --json "$a" "$WORK/nonexistent"
	assert_equal "$(documents)" 1
	assert_equal "$(jqo '.inputs[1].status')" error
	assert_valid_json
	assert_stderr_contains "$WORK/nonexistent"
}

@test "json: --pretty is valid JSON, indented, the same document as --json" {
	dir=$(fixture multi)
	run -4 "$FREDCK" check --json "$dir"
	compact=$(jq -S . <<<"$output")
	run -4 "$FREDCK" check --pretty "$dir"
	[ "${#lines[@]}" -gt 10 ] || fail "--pretty is not indented: $output"
	assert_equal "$(documents)" 1
	assert_equal "$(jq -S . <<<"$output")" "$compact"
	assert_valid_json
}

@test "json: -p implies --json" {
	dir=$(fixture clean)
	run -0 "$FREDCK" inspect -p "$dir"
	assert_equal "$(jqo .schema_version)" 2
}

@test "json: --json output is compact, one line" {
	dir=$(fixture multi)
	run -4 "$FREDCK" check --json "$dir"
	assert_equal "${#lines[@]}" 1
}

@test "json: each input's exit_status matches the process's for one input" {
	local name dir bad=()
	for name in "${ALL_FIXTURES[@]}"; do
		dir=$(fixture "$name")
		run "$FREDCK" check --json "$dir"
		[[ "$output" == *'"exit_status":'"$status"[,}]* ]] || bad+=("$name")
	done
	[ "${#bad[@]}" -eq 0 ] || fail "exit_status differs: ${bad[*]}"
}

@test "json: check's vCPU object has the documented keys" {
	dir=$(fixture pf-lost-cap)
	run -4 "$FREDCK" check --json "$dir"
	assert_equal "$(vcpu 0 '[has("index", "fred", "at_risk", "nested_guest_mode", "exception", "findings", "event_data", "repair")] | all')" true
	assert_equal "$(vcpu 0 '.findings[0] | [has("code", "name", "severity", "message")] | all')" true
	assert_equal "$(vcpu 0 '.event_data | [has("value", "best_estimate", "confidence", "provenance", "doubtful_bits")] | all')" true
	assert_equal "$(vcpu 0 '.repair | [has("action", "reason", "changes")] | all')" true
	assert_equal "$(jqo '.inputs[0] | [has("path", "status", "exit_status", "format", "detail", "vcpus", "summary")] | all')" true
}

@test "json: a UTF-8 path comes back as it was" {
	dir=$(fixture clean "café")
	run -0 "$FREDCK" check --json "$dir"
	assert_equal "$(jqo .inputs[0].path)" "$dir"
}

@test "json: a path that is not UTF-8 still gives valid JSON" {
	dir=$(fixture clean $'bad\xff')
	run -0 "$FREDCK" check --json "$dir"
	assert_equal "$(documents)" 1
	assert_equal "$(jqo .inputs[0].status)" ok
}

@test "json: nothing but the document on stdout for an at-risk input" {
	dir=$(fixture nm-unrecoverable)
	run --separate-stderr -4 "$FREDCK" check --json -v "$dir"
	assert_equal "$(documents)" 1
}
