#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The real-kernel oracle (tests/kvm/README.md): every committed kvm-dir
# fixture, as captured and as repaired by fredck, is loaded into a real
# vCPU, which must accept it and deliver what the files say.  Skipped, with
# the reason, where /dev/kvm is absent or unusable.

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	FIXTURES="$TOP_SRCDIR/tests/fixtures/kvm"
}

# Skip unless the oracle can open /dev/kvm (it exits 77 and says why).
require_kvm() {
	run "$FREDCK_KVM" oracle "$FIXTURES/clean"
	if [ "$status" -eq 77 ]; then
		skip "${output#skip: }"
	fi
}

# FIXTURE's value for KEY, or nothing.
fixture_value() {
	sed -n "s/^$2=//p" "$1/FIXTURE"
}

# The vcpuN/ directories of a kvm-dir, by index.
vcpu_indices() {
	local d
	for d in "$1"/vcpu*/; do
		d=${d%/}
		echo "${d##*/vcpu}"
	done | sort -n
}

# Bytes of a file: u64 at offset (little-endian, as "0x%016x") and u8.
read_u64() {
	printf '0x%s\n' "$(od -An -tx8 --endian=little -j "$2" -N8 "$1" | tr -d ' ')"
}
read_u8() {
	od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '
}

# jq over fredck check --json for vCPU n: jq_vcpu JSON N FILTER
jq_vcpu() {
	jq -r ".inputs[0].vcpus[] | select(.index==$2) | $3" <<<"$1"
}

# The oracle's "vcpuN: ... taken=V ..." must name the vector FIXTURE planted.
check_taken() {
	local fx=$1 oracle_out=$2 n want line
	for n in $(vcpu_indices "$fx"); do
		want=$(fixture_value "$fx" "vcpu$n.expect_vector")
		[ "$want" = -1 ] && want=none
		line=$(grep "^vcpu$n: " <<<"$oracle_out")
		if [[ "$line" != *" taken=$want "* ]]; then
			echo "vcpu$n: expected taken=$want: $line"
		fi
	done
}

@test "kvm oracle: every original fixture loads and takes its planted vector" {
	require_kvm
	local fx name problems=()
	for fx in "$FIXTURES"/*/; do
		fx=${fx%/}
		name=${fx##*/}
		run "$FREDCK_KVM" oracle "$fx"
		if [ "$status" -ne 0 ]; then
			problems+=("$name: oracle exit $status: $output")
			continue
		fi
		local bad
		bad=$(check_taken "$fx" "$output")
		[ -z "$bad" ] || problems+=("$name: $bad")
	done
	if [ "${#problems[@]}" -ne 0 ]; then
		printf '%s\n' "${problems[@]}"
		fail "${#problems[@]} fixture(s) failed the oracle"
	fi
}

# The repaired events of vCPU n against what check --json planned for it.
check_repaired_vcpu() {
	local fx=$1 out=$2 json=$3 n=$4 action want got
	local orig="$fx/vcpu$n/events" rep="$out/vcpu$n/events"

	action=$(jq_vcpu "$json" "$n" .repair.action)
	case "$action" in
	pending)
		if [ "$(jq_vcpu "$json" "$n" .repair.used_estimate)" = true ]; then
			want=$(jq_vcpu "$json" "$n" .event_data.best_estimate)
		else
			want=$(jq_vcpu "$json" "$n" .event_data.value)
		fi
		got=$(read_u64 "$rep" 56)
		[ "$got" = "$want" ] ||
			echo "vcpu$n: payload $got, check --json predicts $want"
		[ "$(read_u8 "$rep" 55)" = 1 ] || echo "vcpu$n: has_payload is not 1"
		[ "$(read_u8 "$rep" 3)" = 1 ] || echo "vcpu$n: exception.pending is not 1"
		[ "$(read_u8 "$rep" 0)" = 0 ] || echo "vcpu$n: exception.injected is not 0"
		;;
	drop)
		[ "$(read_u8 "$rep" 0)$(read_u8 "$rep" 3)" = 00 ] ||
			echo "vcpu$n: drop left an exception queued"
		;;
	leave | nothing)
		cmp -s "$orig" "$rep" || echo "vcpu$n: $action, yet events changed"
		;;
	*)
		echo "vcpu$n: check --json gives no known .repair.action ('$action')"
		;;
	esac
}

# Repair every fixture with the options given, load each result into a
# real vCPU, and check the events bytes against check --json's plan with
# the same options.  Sets problems[].
repair_and_oracle() {
	local fx name out json n bad
	out="$BATS_TEST_TMPDIR/out"
	problems=()
	for fx in "$FIXTURES"/*/; do
		fx=${fx%/}
		name=${fx##*/}
		rm -rf "$out"
		run "$FREDCK" repair "$fx" -o "$out" "$@"
		case "$status" in
		0 | 1 | 4) ;;
		*)
			problems+=("$name: fredck repair $* exit $status: $output")
			continue
			;;
		esac
		# Nothing to repair may write nothing: the original is the result.
		[ -d "$out" ] || cp -R "$fx" "$out"
		# The oracle restores the captured CR4 and EFER recorded there.
		[ -e "$out/FIXTURE" ] || cp "$fx/FIXTURE" "$out/FIXTURE"
		run "$FREDCK_KVM" oracle "$out"
		if [ "$status" -ne 0 ]; then
			problems+=("$name: oracle exit $status on the copy repaired with '$*': $output")
			continue
		fi
		run "$FREDCK" check --json "$fx" "$@"
		json=$output
		if ! jq -e .inputs <<<"$json" >/dev/null 2>&1; then
			problems+=("$name: fredck check --json $* gave no JSON (exit $status)")
			continue
		fi
		for n in $(vcpu_indices "$fx"); do
			bad=$(check_repaired_vcpu "$fx" "$out" "$json" "$n")
			[ -z "$bad" ] || problems+=("$name ($*): $bad")
		done
	done
}

report_problems() {
	if [ "${#problems[@]}" -ne 0 ]; then
		printf '%s\n' "${problems[@]}"
		fail "${#problems[@]} problem(s) with repaired fixtures"
	fi
}

@test "kvm oracle: every fixture repaired by fredck loads and delivers its event data" {
	require_kvm
	repair_and_oracle
	report_problems
}

@test "kvm oracle: --strategy=drop: every dropped #PF and #NM is gone, the vCPU runs on" {
	require_kvm
	repair_and_oracle --strategy=drop
	report_problems
}

@test "kvm oracle: --strategy=pending --force: ambiguous #DBs delivered with the best estimate" {
	require_kvm
	repair_and_oracle --strategy=pending --force
	report_problems
}

@test "kvm oracle: --dest-payload-cap=yes: fixtures saved without the capability made pending" {
	require_kvm
	repair_and_oracle --dest-payload-cap=yes
	report_problems
}

# Needs no /dev/kvm: fredck's plan against the generator's own reading of
# docs/design.md (FIXTURE's vcpuN.expect_action, expect_event_data).
@test "kvm fixtures: fredck check plans what the generator expects" {
	local fx name json n want got conf problems=()
	for fx in "$FIXTURES"/*/; do
		fx=${fx%/}
		name=${fx##*/}
		run "$FREDCK" check --json "$fx"
		json=$output
		if ! jq -e .inputs <<<"$json" >/dev/null 2>&1; then
			problems+=("$name: fredck check --json gave no JSON (exit $status)")
			continue
		fi
		for n in $(vcpu_indices "$fx"); do
			want=$(fixture_value "$fx" "vcpu$n.expect_action")
			got=$(jq_vcpu "$json" "$n" .repair.action)
			[ "$got" = "$want" ] ||
				problems+=("$name: vcpu$n: action $got, expected $want")
			conf=$(fixture_value "$fx" "vcpu$n.expect_confidence")
			[ -n "$conf" ] && [ "$conf" != unrecoverable ] || continue
			want=$(fixture_value "$fx" "vcpu$n.expect_event_data")
			got=$(jq_vcpu "$json" "$n" .event_data.value)
			[ "$got" = "$want" ] ||
				problems+=("$name: vcpu$n: event data $got, expected $want")
		done
	done
	if [ "${#problems[@]}" -ne 0 ]; then
		printf '%s\n' "${problems[@]}"
		fail "${#problems[@]} disagreement(s) with the fixtures' expectations"
	fi
}
