#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The JSON contract (issue 16, item 2): every command's document (-j, -p)
# and NDJSON record (--ndjson), on inputs of every format (kvm-dir, QEMU,
# libvirt, Firecracker, Cloud Hypervisor, qcow2), clean, at risk and
# failing, validates against schema/fredck.schema.json (draft 2020-12)
# with python3-jsonschema (tests/schema/validate.py); and the schema, the
# binary and fredck(1) list the same codes and names.

bats_require_minimum_version 1.5.0

load test_helper

MKFCSNAP=${MKFCSNAP:-${TOP_BUILDDIR:-$TOP_SRCDIR/_build}/tests/fc/mkfcsnap}
CHV_GEN=${CHV_GEN:-$TOP_SRCDIR/_build/tests/chv/chv-gen}
SCHEMA=$TOP_SRCDIR/schema/fredck.schema.json

setup_file() {
	qemu_setup_file debian12 || return 0
	S="$BATS_FILE_TMPDIR"
	qemu_make_stream debian12 "$S/clean.bin" --machine pc --smp 2 --mem 64
	"$QEMU_PATCH" "$S/clean.bin" "$S/pf.bin" 1 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x7f3a1c2e5008
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" "$S/pf.bin" "$S/pf.img"
	if command -v qemu-img >/dev/null; then
		qemu-img create -q -f qcow2 "$S/vm.qcow2" 16M
		qemu_savevm debian12 "$S/pf.bin" "$S/vm.qcow2" at-risk --machine pc --smp 2 --mem 64
	fi
}

# valid [--ndjson]: the last run's stdout validates.
valid() {
	local out
	out=$(printf '%s\n' "$output" | python3 "$TOP_SRCDIR/tests/schema/validate.py" "$@" 2>&1) ||
		fail "not valid against the schema: $out
output: ${output:0:2000}"
}

# The inputs of every format this machine can make, clean, at risk and
# failing, into INPUTS (paths relative to $WORK).
make_inputs() {
	INPUTS=()
	fixtures clean pf-lost-cap db-stale-bs nm-unrecoverable nested multi fred-msrs-missing >/dev/null
	INPUTS+=(clean pf-lost-cap db-stale-bs nm-unrecoverable nested multi fred-msrs-missing)
	"$MKFCSNAP" v1.12 fc-pf.snap -e 14 >/dev/null || fail "mkfcsnap failed"
	"$MKFCSNAP" v1.0 fc-db.snap -e 1 >/dev/null || fail "mkfcsnap failed"
	INPUTS+=(fc-pf.snap fc-db.snap)
	"$CHV_GEN" --layout=v39 chv clean pf >/dev/null || fail "chv-gen failed"
	"$CHV_GEN" --layout=v38 chv-old clean pf >/dev/null || fail "chv-gen failed"
	INPUTS+=(chv chv-old)
	if [ -z "$QEMU_SKIP" ]; then
		cp "$BATS_FILE_TMPDIR"/{clean.bin,pf.bin,pf.img} .
		INPUTS+=(clean.bin pf.bin pf.img)
		if [ -e "$BATS_FILE_TMPDIR/vm.qcow2" ]; then
			cp "$BATS_FILE_TMPDIR/vm.qcow2" .
			INPUTS+=(vm.qcow2)
		fi
	fi
	# Failing: missing, malformed (cut), not a snapshot, not UTF-8.
	head -c 3000 fc-pf.snap >cut.snap
	mkdir -p plain
	INPUTS+=(missing cut.snap plain $'bad\xff')
}

@test "schema: the schema itself is a valid draft 2020-12 schema" {
	run python3 -c 'import json, sys, jsonschema
s = json.load(open(sys.argv[1]))
assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
jsonschema.Draft202012Validator.check_schema(s)' "$SCHEMA"
	assert_success
}

@test "schema: inspect, check and repair --dry-run, -j and -p, on every format, validate" {
	make_inputs
	local cmd
	for cmd in inspect check "repair --dry-run"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$FREDCK" $cmd -j "${INPUTS[@]}"
		[ "$status" -ge 8 ] || fail "$cmd: the failing inputs did not fail ($status)"
		valid
		assert_equal "$(jq '.inputs | length' <<<"$output")" "${#INPUTS[@]}"
		# shellcheck disable=SC2086
		run --separate-stderr "$FREDCK" $cmd -p "${INPUTS[@]}"
		valid
	done
}

@test "schema: inspect, check and repair --dry-run --ndjson on every format validate, one record per input" {
	make_inputs
	local cmd
	for cmd in inspect check "repair --dry-run"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$FREDCK" $cmd --ndjson "${INPUTS[@]}"
		valid --ndjson
		assert_equal "${#lines[@]}" "${#INPUTS[@]}"
	done
}

@test "schema: repair -j and --ndjson (-O, -o, --in-place) validate, with their outputs and the batch summary" {
	make_inputs
	run --separate-stderr "$FREDCK" repair -j -O out "${INPUTS[@]}"
	valid
	assert_equal "$(jq -r '.summary | has("not_copied")' <<<"$output")" true
	run --separate-stderr "$FREDCK" repair --ndjson -O out2 "${INPUTS[@]}"
	valid --ndjson
	# A second run: up to date.
	run --separate-stderr "$FREDCK" repair -j -O out "${INPUTS[@]}"
	valid
	run --separate-stderr "$FREDCK" repair -j -o one pf-lost-cap
	valid
	run --separate-stderr "$FREDCK" repair -j --in-place --backup=.orig pf-lost-cap multi
	valid
	assert_equal "$(jq -r '.inputs[0].output.backup' <<<"$output")" "$WORK/pf-lost-cap.orig"
	run --separate-stderr "$FREDCK" check -j -r .
	valid
}

@test "schema: diff, redact and explain documents validate" {
	make_inputs
	run --separate-stderr "$FREDCK" diff -j pf-lost-cap clean
	valid
	run --separate-stderr "$FREDCK" diff -j multi clean
	valid
	run --separate-stderr "$FREDCK" diff -j clean missing
	valid
	assert_equal "$(jq -r '.inputs[1].error | [.kind, .errno] | @csv' <<<"$output")" '"system","ENOENT"'
	run --separate-stderr "$FREDCK" diff -j fc-pf.snap chv
	valid
	run --separate-stderr "$FREDCK" explain -j
	valid
	run --separate-stderr "$FREDCK" explain -p FK101 FK304
	valid
	if [ -z "$QEMU_SKIP" ]; then
		run --separate-stderr "$FREDCK" redact -j pf.bin -o red.bin
		valid
		run --separate-stderr "$FREDCK" redact -j pf.bin -o red.bin
		valid
		assert_equal "$(jq -r '.inputs[0].error.kind' <<<"$output")" refused
	fi
}

@test "schema: one vocabulary: vcpus arrays, error objects, typed changes, dry_run, integer times" {
	fixtures pf-lost-cap db-stale-bs >/dev/null
	run --separate-stderr "$FREDCK" repair --dry-run -j pf-lost-cap db-stale-bs missing
	assert_equal "$(jq -r '[.command, .dry_run] | @csv' <<<"$output")" '"repair",true'
	assert_equal "$(jq -c '.inputs[0].vcpus[0].repair.changes[] | select(.field == "exception.has_payload") | [.old, .new]' <<<"$output")" '[false,true]'
	assert_equal "$(jq -c '.inputs[1].vcpus[0].event_data.doubtful_bit_names' <<<"$output")" '["BS"]'
	assert_equal "$(jq -r '.inputs[2].error | keys | join(",")' <<<"$output")" \
		errno,field,hint,kind,message,offset,path,reason
	run --separate-stderr "$FREDCK" diff -j pf-lost-cap missing
	assert_equal "$(jq -r '.inputs[0].vcpu_count, (.inputs[1].error | type)' <<<"$output")" $'1\nobject'
	run --separate-stderr "$FREDCK" check --ndjson pf-lost-cap
	assert_equal "$(jq -r '.elapsed_us | type' <<<"$output")" number
	assert_equal "$(jq -r '.elapsed_us == (.elapsed_us | floor)' <<<"$output")" true
	run --separate-stderr "$FREDCK" explain -j FK101
	assert_equal "$(jq -r '.tool.name, .schema_version' <<<"$output")" $'fredck\n2'
}

@test "schema: a document of schema_version 1's shape, or with a key the schema does not know, fails" {
	fixture pf-lost-cap >/dev/null
	run --separate-stderr "$FREDCK" check -j pf-lost-cap
	valid
	local doc=$output
	for edit in '.schema_version = 1' '.inputs[0].vcpus[0].event_data.doubtful_bit_names = ""' \
		'.inputs[0].summary.vcpus = 1' '.command = "repair --dry-run"' '.inputs[0].surprise = 1' \
		'.inputs[0].vcpus[0].repair.changes[0].old = "0x0000000000000001"' 'del(.dry_run)'; do
		output=$(jq -c "$edit" <<<"$doc")
		run python3 "$TOP_SRCDIR/tests/schema/validate.py" <<<"$output"
		assert_equal "$status" 1 || fail "$edit validated"
	done
}

@test "schema: its finding codes and names are explain's; its enumerations are all in fredck(1)" {
	run python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))["$defs"]
print(" ".join(d["finding"]["properties"]["code"]["enum"]))
print(" ".join(d["finding"]["properties"]["name"]["enum"]))' "$SCHEMA"
	assert_success
	assert_equal "${lines[0]}" "$("$FREDCK" explain -j | jq -r '[.findings[].code] | join(" ")')"
	assert_equal "${lines[1]}" "$("$FREDCK" explain -j | jq -r '[.findings[].name] | join(" ")')"
	# Every value a consumer must handle is named in the man page.
	run python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))["$defs"]
for v in (d["cause"]["enum"] + d["plan"]["properties"]["action"]["enum"] +
          d["plan"]["properties"]["strategy"]["enum"] +
          d["plan"]["properties"]["reason"]["anyOf"][0]["enum"] +
          d["error"]["properties"]["kind"]["enum"] +
          d["event_data"]["oneOf"][1]["properties"]["provenance"]["enum"]):
    print(v)' "$SCHEMA"
	assert_success
	local v missing=""
	for v in "${lines[@]}"; do
		grep -qF -- "$v" "$TOP_SRCDIR/man/fredck.1" || grep -qF -- "${v//-/\\-}" "$TOP_SRCDIR/man/fredck.1" ||
			missing="$missing $v"
	done
	[ -z "$missing" ] || fail "in the schema, not in fredck(1):$missing"
}
