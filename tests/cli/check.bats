#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# fredck check: verdicts, findings, rebuilt event data and planned action of
# every real-kernel fixture (docs/design.md sections 2-4), text and exit status.

load test_helper

# assert_verdict NAME EXIT AT_RISK CODES: check --json on fixture NAME exits
# EXIT, vCPU 0 is (not) at risk and has exactly the finding codes CODES.
assert_verdict() {
	check_json "$1"
	assert_equal "$status" "$2"
	assert_equal "$(jqo '.inputs[0] | "\(.exit_status) \(.vcpus[0].at_risk) \([.vcpus[0].findings[].code] | join(" ") | if . == "" then "-" else . end)"')" \
		"$2 $3 $4"
}

# assert_event_data VALUE CONFIDENCE PROVENANCE: vCPU 0's rebuilt event data.
assert_event_data() {
	assert_equal "$(vcpu 0 .event_data.value)" "$1"
	assert_equal "$(vcpu 0 .event_data.confidence)" "$2"
	assert_equal "$(vcpu 0 .event_data.provenance)" "$3"
}

# assert_action NAME ACTION REASON [OPTION...]: vCPU 0's planned action and
# the reason it is left ("null" when it is not).
assert_action() {
	local name=$1 want=$2 reason=$3
	shift 3
	check_json "$name" "$@"
	assert_equal "$(vcpu 0 .repair.action)" "$want"
	assert_equal "$(vcpu 0 .repair.reason)" "$reason"
}

# The saved register REG of vCPU N of fixture copy DIR, as inspect --json says.
inspect_reg() {
	"$FREDCK" inspect --json "$1" |
		jq -r ".inputs[0].vcpus[] | select(.index == $2) | .registers.$3"
}

# ---- verdicts and findings ------------------------------------------------

@test "check: pf-lost-cap is at risk (FK101), exit 4" {
	assert_verdict pf-lost-cap 4 true FK101
}

@test "check: pf-lost-nocap is at risk (FK101), exit 4" {
	assert_verdict pf-lost-nocap 4 true FK101
}

@test "check: pf-pending-nopayload is at risk (FK101), exit 4" {
	assert_verdict pf-pending-nopayload 4 true FK101
}

@test "check: pf-pending-payload carries its payload: nothing at risk, exit 0" {
	assert_verdict pf-pending-payload 0 false -
}

@test "check: db-exact is at risk (FK102), exit 4" {
	assert_verdict db-exact 4 true FK102
}

@test "check: db-exact-nocap is at risk (FK102), exit 4" {
	assert_verdict db-exact-nocap 4 true FK102
}

@test "check: db-bs-tf is at risk (FK102) and not ambiguous, exit 4" {
	assert_verdict db-bs-tf 4 true FK102
}

@test "check: db-stale-bs is ambiguous (FK102, FK201 doubting BS), exit 4" {
	assert_verdict db-stale-bs 4 true "FK102 FK201"
	assert_equal "$(vcpu 0 '.findings[] | select(.code == "FK201") | .doubtful_bits')" 0x0000000000004000
	assert_equal "$(vcpu 0 '.findings[] | select(.code == "FK201") | .severity')" note
}

@test "check: db-bd is ambiguous (FK102, FK201 doubting BD), exit 4" {
	assert_verdict db-bd 4 true "FK102 FK201"
	assert_equal "$(vcpu 0 '.findings[] | select(.code == "FK201") | .doubtful_bits')" 0x0000000000002000
}

@test "check: db-bt is at risk (FK102), exit 4" {
	assert_verdict db-bt 4 true FK102
}

@test "check: db-raw-payload is at risk (FK102), exit 4" {
	assert_verdict db-raw-payload 4 true FK102
}

@test "check: nm-xfd is at risk (FK103), exit 4" {
	assert_verdict nm-xfd 4 true FK103
}

@test "check: nm-ts is at risk (FK103), exit 4" {
	assert_verdict nm-ts 4 true FK103
}

@test "check: nm-noamx is at risk (FK103), exit 4" {
	assert_verdict nm-noamx 4 true FK103
}

@test "check: nm-unrecoverable is at risk (FK103) with FK202 and FK203 naming xfd, exit 4" {
	assert_verdict nm-unrecoverable 4 true "FK103 FK202 FK203"
	assert_equal "$(vcpu 0 '.findings[] | select(.code == "FK203") | .register')" xfd
}

@test "check: nested is at risk (FK101) in nested guest mode (FK301), exit 4" {
	assert_verdict nested 4 true "FK101 FK301"
	assert_equal "$(vcpu 0 .nested_guest_mode)" true
}

@test "check: clean has nothing at risk and no finding, exit 0" {
	assert_verdict clean 0 false -
}

@test "check: gp-injected (#GP has no event data) is not at risk, exit 0" {
	assert_verdict gp-injected 0 false -
}

@test "check: nofred (CR4.FRED clear) is not at risk, exit 0" {
	assert_verdict nofred 0 false -
	assert_equal "$(vcpu 0 .fred)" false
}

@test "check: sregs-legacy (struct kvm_sregs) is at risk (FK101), exit 4" {
	assert_verdict sregs-legacy 4 true FK101
}

@test "check: fred-msrs-missing is at risk (FK101) and notes the FRED MSRs (FK302), exit 4" {
	assert_verdict fred-msrs-missing 4 true "FK101 FK302"
}

@test "check: multi has only vcpu1 at risk (FK101), exit 4" {
	check_json multi
	assert_equal "$status" 4
	assert_equal "$(jqo '[.inputs[0].vcpus[] | select(.at_risk) | .index] | @csv')" 1
	assert_equal "$(codes 0)/$(codes 1)/$(codes 2)/$(codes 3)" -/FK101/-/-
	assert_equal "$(jqo '.inputs[0].summary | [.vcpu_count, .at_risk] | @csv')" 4,1
}

@test "check: FK302 appears for fred-msrs-missing and for no other fixture" {
	run -4 "$FREDCK" check --json $(fixtures all)
	assert_equal "$(jqo '[.inputs[] | select(any(.vcpus[].findings[]; .code == "FK302")) | .path | split("/") | last] | @csv')" \
		'"fred-msrs-missing"'
}

@test "check: every at-risk vCPU has exactly one problem, FK101-FK103, for its vector" {
	run -4 "$FREDCK" check --json $(fixtures all)
	assert_equal "$(jqo '.inputs[] | (.path | split("/") | last) as $n | .vcpus[]
		| [.findings[] | select(.severity == "problem") | .code] as $p
		| ({"1": "FK102", "7": "FK103", "14": "FK101"}[.exception.vector | tostring]) as $want
		| select((.at_risk and $p != [$want]) or ((.at_risk | not) and $p != []))
		| "\($n):vcpu\(.index): \($p | join(","))"')" ""
}

@test "check: a note alone (FK302 on a clean vCPU) does not change the exit status" {
	dir=$(fixture clean)
	# struct kvm_msrs with no entries: the FRED MSRs are gone.
	poke "$dir/vcpu0/msrs" 0 0000000000000000
	truncate -s 8 "$dir/vcpu0/msrs"
	run --separate-stderr -0 "$FREDCK" check --json "$dir"
	assert_equal "$(codes 0)" FK302
	assert_equal "$(vcpu 0 .at_risk)" false
}

@test "check: a note alone does not change the exit status in text mode either" {
	dir=$(fixture clean)
	poke "$dir/vcpu0/msrs" 0 0000000000000000
	truncate -s 8 "$dir/vcpu0/msrs"
	run -0 "$FREDCK" check "$dir"
	assert_output --partial 'FK302 note'
}

# ---- rebuilt event data -----------------------------------------------------

@test "check: pf-lost-cap's event data is CR2 as inspect shows it, exact, from cr2" {
	check_json pf-lost-cap
	dir=$WORK/pf-lost-cap
	cr2=$(inspect_reg "$dir" 0 cr2)
	assert_equal "$cr2" "$(peek_u64 "$dir/vcpu0/sregs2" 232)"
	assert_event_data "$cr2" exact cr2
}

@test "check: the #PF event data is CR2 for every #PF fixture at risk" {
	dirs=$(fixtures pf-lost-cap pf-lost-nocap pf-pending-nopayload nested sregs-legacy fred-msrs-missing)
	run -0 "$FREDCK" inspect --json $dirs
	want=$(per_input '"\(.registers.cr2) exact cr2"')
	run -4 "$FREDCK" check --json $dirs
	assert_equal "$(per_input '.event_data | "\(.value) \(.confidence) \(.provenance)"')" "$want"
}

@test "check: multi's vcpu1 event data is vcpu1's CR2" {
	check_json multi
	assert_equal "$(vcpu 1 .event_data.value)" "$(inspect_reg "$WORK/multi" 1 cr2)"
}

@test "check: db-exact's event data is 0x1 (B0), exact, from dr6" {
	check_json db-exact
	assert_event_data 0x0000000000000001 exact dr6
}

@test "check: db-bt's event data excludes BT: 0x4 (B2), exact" {
	check_json db-bt
	assert_event_data 0x0000000000000004 exact dr6
	assert_equal "$(vcpu 0 .event_data.doubtful_bits)" 0x0000000000000000
}

@test "check: db-raw-payload's event data is DR6 as is (0x4002), exact, from dr6-raw-payload" {
	check_json db-raw-payload
	assert_event_data 0x0000000000004002 exact dr6-raw-payload
}

@test "check: db-bs-tf's BS is confirmed by RFLAGS.TF: 0x4000, exact" {
	check_json db-bs-tf
	assert_event_data 0x0000000000004000 exact dr6
}

@test "check: db-stale-bs's event data is 0x4002, ambiguous, best estimate 0x2 without BS" {
	check_json db-stale-bs
	assert_event_data 0x0000000000004002 ambiguous dr6
	assert_equal "$(vcpu 0 .event_data.best_estimate)" 0x0000000000000002
	assert_equal "$(vcpu 0 .event_data.doubtful_bits)" 0x0000000000004000
	assert_equal "$(vcpu 0 '.event_data.doubtful_bit_names | join(",")')" BS
}

@test "check: db-bd's event data is 0x2001, ambiguous, best estimate 0x1 without BD" {
	check_json db-bd
	assert_event_data 0x0000000000002001 ambiguous dr6
	assert_equal "$(vcpu 0 .event_data.best_estimate)" 0x0000000000000001
	assert_equal "$(vcpu 0 '.event_data.doubtful_bit_names | join(",")')" BD
}

@test "check: RFLAGS.TF set on db-stale-bs confirms BS: exact, no FK201" {
	dir=$(fixture db-stale-bs)
	rflags=$(peek_u64 "$dir/vcpu0/regs" 136)
	poke_u64 "$dir/vcpu0/regs" 136 $((rflags | 0x100))
	run --separate-stderr -4 "$FREDCK" check --json "$dir"
	assert_event_data 0x0000000000004002 exact dr6
	assert_equal "$(codes 0)" FK102
}

@test "check: db-stale-bs without regs (RFLAGS not saved) stays ambiguous" {
	dir=$(fixture db-stale-bs)
	rm "$dir/vcpu0/regs"
	run --separate-stderr -4 "$FREDCK" check --json "$dir"
	assert_equal "$(vcpu 0 .event_data.confidence)" ambiguous
}

# db_with_dr6 DR6: a copy of db-exact whose saved DR6 is DR6 (RFLAGS.TF clear).
db_with_dr6() {
	local d
	d=$(fixture db-exact) || return 1
	poke_u64 "$d/vcpu0/debugregs" 32 "$1"
	echo "$d"
}

@test "check: DR6 with RTM (bit 16 clear) gives event data 0x10000, exact" {
	dir=$(db_with_dr6 0xfffe0ff0)
	run -4 "$FREDCK" check --json "$dir"
	assert_event_data 0x0000000000010000 exact dr6
}

@test "check: DR6 with BLD (bit 11 clear) gives event data 0x800, exact" {
	dir=$(db_with_dr6 0xffff07f0)
	run -4 "$FREDCK" check --json "$dir"
	assert_event_data 0x0000000000000800 exact dr6
}

@test "check: a raw-payload DR6 with BT (0x8001) excludes BT: 0x1, exact" {
	dir=$(db_with_dr6 0x8001)
	run -4 "$FREDCK" check --json "$dir"
	assert_event_data 0x0000000000000001 exact dr6-raw-payload
}

@test "check: BD and BS both set without TF: both doubtful, best estimate keeps B0-B3" {
	dir=$(db_with_dr6 0xffff6ff3)
	run -4 "$FREDCK" check --json "$dir"
	assert_event_data 0x0000000000006003 ambiguous dr6
	assert_equal "$(vcpu 0 '.event_data | [.doubtful_bits, .best_estimate] | @csv')" \
		'"0x0000000000006000","0x0000000000000003"'
}

@test "check: a #DB without debugregs is unrecoverable (FK203 names dr6) and left at risk" {
	dir=$(fixture db-exact)
	rm "$dir/vcpu0/debugregs"
	run --separate-stderr -4 "$FREDCK" check --json "$dir"
	assert_equal "$(codes 0)" "FK102 FK203"
	assert_equal "$(vcpu 0 '.findings[] | select(.code == "FK203") | .register')" dr6
	assert_equal "$(vcpu 0 .event_data.confidence)" unrecoverable
	assert_equal "$(vcpu 0 .event_data.value)" null
	assert_equal "$(vcpu 0 .repair.action)" leave
}

@test "check: nm-xfd's event data is XFD_ERR as inspect shows it, exact, from xfd_err" {
	check_json nm-xfd
	xfd_err=$(inspect_reg "$WORK/nm-xfd" 0 xfd_err)
	assert_equal "$xfd_err" 0x0000000000040000
	assert_event_data "$xfd_err" exact xfd_err
}

@test "check: nm-ts's event data is 0, exact (CR0.TS set)" {
	check_json nm-ts
	assert_event_data 0x0000000000000000 exact cr0.ts
}

@test "check: nm-noamx's event data is 0, exact (XCR0 without AMX tile data)" {
	check_json nm-noamx
	assert_event_data 0x0000000000000000 exact xcr0
}

@test "check: #NM with IA32_XFD 0 gives event data 0, exact, from xfd" {
	dir=$(fixture nm-xfd)
	off=$(msr_entry "$dir/vcpu0/msrs" 0x1c4)
	poke_u64 "$dir/vcpu0/msrs" $((off + 8)) 0
	run -4 "$FREDCK" check --json "$dir"
	assert_event_data 0x0000000000000000 exact xfd
	assert_equal "$(vcpu 0 .repair.action)" pending
}

@test "check: #NM with XFD armed but XFD_ERR not saved is unrecoverable (FK203 xfd_err), dropped" {
	dir=$(fixture nm-xfd)
	# Renumber the IA32_XFD_ERR entry to an MSR fredck does not read.
	off=$(msr_entry "$dir/vcpu0/msrs" 0x1c5)
	poke_u32 "$dir/vcpu0/msrs" "$off" 0x10
	run -4 "$FREDCK" check --json "$dir"
	assert_equal "$(codes 0)" "FK103 FK202 FK203"
	assert_equal "$(vcpu 0 '[.event_data.confidence, .event_data.missing_register, .repair.action] | @csv')" \
		'"unrecoverable","xfd_err","drop"'
}

@test "check: nm-unrecoverable's event data is unrecoverable, missing xfd" {
	check_json nm-unrecoverable
	assert_equal "$(vcpu 0 .event_data.confidence)" unrecoverable
	assert_equal "$(vcpu 0 .event_data.value)" null
	assert_equal "$(vcpu 0 .event_data.missing_register)" xfd
}

@test "check: a vCPU not at risk has no event data" {
	check_json gp-injected
	assert_equal "$(vcpu 0 .event_data)" null
	assert_equal "$(vcpu 0 .repair.action)" nothing
}

# ---- planned action: auto --------------------------------------------------

@test "check: auto with the cap plans pending for every exact #PF, #NM and #DB" {
	names=(pf-lost-cap pf-pending-nopayload sregs-legacy fred-msrs-missing
		db-exact db-bs-tf db-bt db-raw-payload nm-xfd nm-ts nm-noamx)
	run -4 "$FREDCK" check --json $(fixtures "${names[@]}")
	assert_equal "$(per_input .repair.action)" "$(lines_of pending "${names[@]}")"
}

@test "check: auto with the cap leaves db-stale-bs at risk (ambiguous)" {
	assert_action db-stale-bs leave ambiguous
}

@test "check: auto with the cap leaves db-bd at risk (ambiguous)" {
	assert_action db-bd leave ambiguous
}

@test "check: auto drops nm-unrecoverable (the event data cannot be rebuilt)" {
	assert_action nm-unrecoverable drop null
}

@test "check: auto without the cap (pf-lost-nocap) drops the #PF" {
	assert_action pf-lost-nocap drop null
	assert_equal "$(vcpu 0 .repair.dest_payload_cap)" false
}

@test "check: auto without the cap (db-exact-nocap) leaves the #DB (no-payload-cap)" {
	assert_action db-exact-nocap leave no-payload-cap
}

@test "check: --dest-payload-cap=no drops every #PF and #NM" {
	names=(pf-lost-cap pf-pending-nopayload sregs-legacy nm-xfd nm-ts nm-noamx nm-unrecoverable)
	run -4 "$FREDCK" check --json --dest-payload-cap=no $(fixtures "${names[@]}")
	assert_equal "$(per_input .repair.action)" "$(lines_of drop "${names[@]}")"
}

@test "check: --dest-payload-cap=no leaves every #DB (no-payload-cap)" {
	names=(db-exact db-bs-tf db-bt db-raw-payload db-stale-bs)
	run -4 "$FREDCK" check --json --dest-payload-cap=no $(fixtures "${names[@]}")
	assert_equal "$(per_input '.repair | "\(.action) \(.reason)"')" "$(lines_of "leave no-payload-cap" "${names[@]}")"
}

@test "check: --dest-payload-cap=yes makes pf-lost-nocap pending" {
	assert_action pf-lost-nocap pending null --dest-payload-cap=yes
}

@test "check: --dest-payload-cap=yes makes db-exact-nocap pending with payload 0x1" {
	assert_action db-exact-nocap pending null --dest-payload-cap=yes
	assert_equal "$(vcpu 0 '.repair.changes[] | select(.field == "exception.payload") | .new')" 0x0000000000000001
}

@test "check: the pending plan lists the fields it changes, error code kept" {
	check_json pf-lost-cap
	cr2=$(vcpu 0 .event_data.value)
	assert_equal "$(vcpu 0 '.repair.changes | map("\(.field)=\(.new)") | join(" ")')" \
		"exception.injected=false exception.pending=true exception.has_payload=true exception.payload=$cr2"
}

@test "check: the drop plan clears the exception and keeps the flags" {
	check_json pf-lost-nocap
	assert_equal "$(vcpu 0 '[.repair.changes[].field] | index("events_flags")')" null
	assert_equal "$(vcpu 0 '[.repair.changes[] | select(.field | startswith("exception")) | .new | tostring | ltrimstr("0x") | test("^(false|0+)$")] | all')" true
}

# ---- planned action: other strategies -----------------------------------------

@test "check: --strategy=none leaves every at-risk vCPU (strategy-none)" {
	names=(pf-lost-cap pf-lost-nocap pf-pending-nopayload db-exact db-exact-nocap nm-xfd nm-unrecoverable)
	run -4 "$FREDCK" check --json --strategy=none $(fixtures "${names[@]}")
	assert_equal "$(per_input '.repair | "\(.action) \(.reason)"')" "$(lines_of "leave strategy-none" "${names[@]}")"
}

@test "check: --strategy=drop drops #PF and #NM" {
	names=(pf-lost-cap pf-lost-nocap pf-pending-nopayload nm-xfd nm-ts nm-unrecoverable)
	run -4 "$FREDCK" check --json --strategy=drop $(fixtures "${names[@]}")
	assert_equal "$(per_input .repair.action)" "$(lines_of drop "${names[@]}")"
}

@test "check: --strategy=drop never drops a #DB (db-not-droppable)" {
	names=(db-exact db-bs-tf db-stale-bs db-raw-payload)
	run -4 "$FREDCK" check --json --strategy=drop $(fixtures "${names[@]}")
	assert_equal "$(per_input '.repair | "\(.action) \(.reason)"')" "$(lines_of "leave db-not-droppable" "${names[@]}")"
}

@test "check: --strategy=drop --force still never drops a #DB" {
	assert_action db-exact leave db-not-droppable --strategy=drop --force
}

@test "check: --strategy=pending leaves nm-unrecoverable (unrecoverable)" {
	assert_action nm-unrecoverable leave unrecoverable --strategy=pending
}

@test "check: --strategy=pending leaves pf-lost-nocap (no-payload-cap)" {
	assert_action pf-lost-nocap leave no-payload-cap --strategy=pending
}

@test "check: --force makes db-stale-bs pending with the best estimate 0x2" {
	assert_action db-stale-bs pending null --force
	assert_equal "$(vcpu 0 .repair.used_estimate)" true
	assert_equal "$(vcpu 0 '.repair.changes[] | select(.field == "exception.payload") | .new')" 0x0000000000000002
}

@test "check: --force makes db-bd pending with the best estimate 0x1" {
	assert_action db-bd pending null --force
	assert_equal "$(vcpu 0 '.repair.changes[] | select(.field == "exception.payload") | .new')" 0x0000000000000001
}

@test "check: --strategy=pending --force makes db-stale-bs pending with the best estimate" {
	assert_action db-stale-bs pending null --strategy=pending --force
	assert_equal "$(vcpu 0 .repair.used_estimate)" true
}

@test "check: --force does not touch an exact #DB's value" {
	assert_action db-exact pending null --force
	assert_equal "$(vcpu 0 .repair.used_estimate)" false
}

@test "check: nested is left (nested-guest-mode) by every strategy, with and without --force" {
	local opts bad=()
	dir=$(fixture nested)
	for opts in "" --force --strategy=auto "--strategy=auto --force" --strategy=pending \
		"--strategy=pending --force" --strategy=drop "--strategy=drop --force" \
		--strategy=none "--dest-payload-cap=yes --force" --dest-payload-cap=no; do
		# shellcheck disable=SC2086
		got=$("$FREDCK" check --json $opts "$dir" | jq -r '.inputs[0].vcpus[0].repair | "\(.action) \(.reason)"')
		[ "$got" = "leave nested-guest-mode" ] || bad+=("[$opts]: $got")
	done
	[ "${#bad[@]}" -eq 0 ] || fail "${bad[*]}"
}

@test "check: the plan never changes the exit status: 4 whatever the strategy" {
	local opts bad=()
	for opts in "" --strategy=none --strategy=drop --strategy=pending --force --dest-payload-cap=no; do
		# shellcheck disable=SC2086
		check_json pf-lost-cap $opts
		[ "$status" -eq 4 ] || bad+=("[$opts]: $status")
	done
	[ "${#bad[@]}" -eq 0 ] || fail "${bad[*]}"
}

@test "check: the summary counts what repair would fix and leave" {
	check_json db-stale-bs
	assert_equal "$(jqo '.inputs[0].summary | [.vcpu_count, .at_risk, .would_repair, .left_at_risk] | @csv')" 1,1,0,1
	check_json pf-lost-cap
	assert_equal "$(jqo '.inputs[0].summary | [.vcpu_count, .at_risk, .would_repair, .left_at_risk] | @csv')" 1,1,1,0
}

# ---- text output -----------------------------------------------------------------

@test "check: text names the vCPU, the vector, the code, the rebuilt value and its source" {
	dir=$(fixture pf-lost-cap)
	cr2=$(peek_u64 "$dir/vcpu0/sregs2" 232)
	run -4 "$FREDCK" check "$dir"
	assert_line --index 0 "$dir: kvm-dir (1 vCPU, struct kvm_sregs2): at risk"
	assert_line --regexp '^  vCPU 0: #PF \(14\) injected'
	assert_line --regexp '^    FK101 problem: '
	assert_line --regexp "^    event data: $cr2 \\(exact\\) from cr2"
	assert_line --regexp "^    repair would do: pending: #PF becomes pending, payload $cr2\$"
	assert_line '  1 of 1 vCPU at risk; repair would fix 1 and leave 0'
}

@test "check: text of an ambiguous #DB gives the best estimate and the doubtful bit" {
	dir=$(fixture db-stale-bs)
	run -4 "$FREDCK" check "$dir"
	assert_line --regexp '^    event data: 0x0000000000004002 \(ambiguous\) from dr6'
	assert_line '    best estimate: 0x0000000000000002 (without BS)'
	assert_line --regexp '^    FK201 note: .*BS may be stale'
	assert_line --regexp '^    repair: none, left at risk: '
}

@test "check: text says why drop was chosen without the cap" {
	dir=$(fixture pf-lost-nocap)
	run -4 "$FREDCK" check "$dir"
	assert_line --regexp '^    repair would do: drop: #PF is cleared \(re-executing the instruction raises$'
	assert_line --regexp '^ {21}it again\), because the destination is taken to lack$'
	assert_line --regexp '^ {21}KVM_CAP_EXCEPTION_PAYLOAD \(else --dest-payload-cap=yes\)$'
}

@test "check: prose folds to 80 columns when not a terminal, with a hanging indent; the path's line never folds" {
	dir=$(fixture pf-lost-nocap "a-long-directory-name-that-makes-the-first-line-wider-than-eighty-columns")
	run -4 "$FREDCK" check "$dir"
	assert_line --index 0 "$dir: kvm-dir (1 vCPU, struct kvm_sregs2): at risk"
	local line
	for line in "${lines[@]:1}"; do
		[ "${#line}" -le 80 ] || fail "${#line} columns: $line"
	done
	# -v's long why folds under its label.
	run -4 "$FREDCK" check -v "$dir"
	assert_line --regexp '^    why: saved without KVM_CAP_EXCEPTION_PAYLOAD \(flags lack 0x10\): KVM reports$'
	assert_line --regexp '^         any queued exception as injected'
	# A terminal's own width: folded to it, here wide enough for no fold.
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	run -4 env COLUMNS=250 script -qec "stty cols 250; '$FREDCK' check '$dir'" /dev/null
	assert_line --regexp '^    repair would do: drop: #PF is cleared \(re-executing the instruction raises it again\), because the destination is taken to lack KVM_CAP_EXCEPTION_PAYLOAD \(else --dest-payload-cap=yes\)'
}

@test "check: text of an unrecoverable #NM names the missing register" {
	dir=$(fixture nm-unrecoverable)
	run -4 "$FREDCK" check "$dir"
	assert_line '    event data: unrecoverable (xfd not saved)'
	assert_line --regexp '^    FK203 note: xfd is not saved'
}

@test "check: text of multi shows vcpu1 and not the clean vCPUs" {
	dir=$(fixture multi)
	run -4 "$FREDCK" check "$dir"
	assert_line --regexp '^  vCPU 1: #PF \(14\)'
	refute_line --regexp '^  vCPU [023]:'
	assert_line '  1 of 4 vCPUs at risk; repair would fix 1 and leave 0'
}

@test "check -v: text shows every vCPU of multi" {
	dir=$(fixture multi)
	run -4 "$FREDCK" check -v "$dir"
	assert_line --regexp '^  vCPU 0: no exception'
	assert_line --regexp '^  vCPU 3: no exception'
}

@test "check: text of a clean input says there is nothing to do, exit 0" {
	dir=$(fixture clean)
	run -0 "$FREDCK" check "$dir"
	assert_output "$dir: kvm-dir (1 vCPU, struct kvm_sregs2): ok
  0 of 1 vCPU at risk: nothing to do"
}

@test "check -q: one line for a clean input too: its verdict and counts" {
	dir=$(fixture clean)
	run --separate-stderr -0 "$FREDCK" check -q "$dir"
	assert_output "$dir: ok: 0 of 1 vCPU at risk"
	assert_equal "$stderr" ''
}

@test "check -q: one line per input with nothing at risk" {
	a=$(fixture clean) b=$(fixture nofred) c=$(fixture gp-injected)
	run --separate-stderr -0 "$FREDCK" check -q "$a" "$b" "$c"
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 "$a: ok: 0 of 1 vCPU at risk"
	assert_line --index 1 "$b: ok: 0 of 1 vCPU at risk"
	assert_line --index 2 "$c: ok: 0 of 1 vCPU at risk"
	assert_equal "$stderr" ''
}

@test "check -q: one line for an at-risk input: verdict, counts, its problems, not its notes" {
	dir=$(fixture fred-msrs-missing)
	run -4 "$FREDCK" check -q "$dir"
	assert_output "$dir: at risk: 1 of 1 vCPU at risk (vCPU 0: FK101); repair would fix 1 and leave 0"
	refute_output --partial 'FK302'
}

@test "repair -q: one line per input, with the path written or nothing written" {
	a=$(fixture pf-lost-cap) b=$(fixture clean) c=$(fixture multi)
	run -1 "$FREDCK" repair -q -O out "$a" "$b" "$c"
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 "$a: repaired: 1 of 1 vCPU at risk (vCPU 0: FK101); 1 repaired, 0 left at risk; wrote out/pf-lost-cap"
	assert_line --index 1 "$b: ok: 0 of 1 vCPU at risk; nothing written (not copied)"
	assert_line --index 2 "$c: repaired: 1 of 4 vCPUs at risk (vCPU 1: FK101); 1 repaired, 0 left at risk; wrote out/multi"
}

@test "check -q: an error is still reported on stderr, exit 8" {
	dir=$(fixture clean)
	truncate -s 10 "$dir/vcpu0/events"
	run --separate-stderr -8 "$FREDCK" check -q "$dir"
	assert_output ''
	assert_stderr_contains "$dir/vcpu0/events"
}

@test "check: -q before the command works too" {
	dir=$(fixture clean)
	run -0 "$FREDCK" -q check "$dir"
	assert_output "$dir: ok: 0 of 1 vCPU at risk"
}

# ---- several inputs --------------------------------------------------------------

@test "check: a clean and an at-risk input exit 4" {
	a=$(fixture clean) b=$(fixture pf-lost-cap)
	run -4 "$FREDCK" check "$a" "$b"
}

@test "check: a clean, an at-risk and a nonexistent input exit 12" {
	a=$(fixture clean) b=$(fixture pf-lost-cap)
	run --separate-stderr -12 "$FREDCK" check "$a" "$b" "$WORK/nonexistent"
	assert_stderr_contains "$WORK/nonexistent"
}

@test "check: a clean and a nonexistent input exit 8, and the clean one is still reported" {
	a=$(fixture clean)
	run --separate-stderr -8 "$FREDCK" check "$WORK/nonexistent" "$a"
	assert_output --partial "$a: kvm-dir"
}

@test "check: several clean inputs exit 0" {
	a=$(fixture clean) b=$(fixture nofred) c=$(fixture pf-pending-payload)
	run -0 "$FREDCK" check "$a" "$b" "$c"
}

@test "check --json: several inputs, one object each, in order, with their own exit status" {
	a=$(fixture clean) b=$(fixture pf-lost-cap)
	run --separate-stderr -12 "$FREDCK" check --json "$a" "$b" "$WORK/nonexistent"
	assert_equal "$(jqo '.inputs | map(.path) | @csv')" "\"$a\",\"$b\",\"$WORK/nonexistent\""
	assert_equal "$(jqo '.inputs | map(.exit_status) | @csv')" 0,4,8
	assert_equal "$(jqo '.inputs | map(.status) | @csv')" '"ok","at-risk","error"'
}

@test "check: accepts --format=kvm-dir" {
	dir=$(fixture pf-lost-cap)
	run -4 "$FREDCK" check --format=kvm-dir "$dir"
}

@test "check: never writes to its input" {
	dir=$(fixture pf-lost-cap)
	before=$(tree_sum "$dir")
	run -4 "$FREDCK" check --force "$dir"
	assert_equal "$(tree_sum "$dir")" "$before"
	assert_equal "$(ls -A "$WORK")" pf-lost-cap
}

@test "check: a failed write of the report to stdout exits 8" {
	dir=$(fixture clean)
	run -8 bash -c '"$0" check "$1" >/dev/full' "$FREDCK" "$dir"
}

@test "check: a note on every vCPU (FK302) is printed once with the vCPUs it concerns; 32 vCPUs fit in 12 lines" {
	local mk=${TOP_BUILDDIR:-$TOP_SRCDIR/_build}/tests/fc/mkfcsnap
	# The cli autopkgtest (debian/tests/cli) runs without a build tree.
	[ -x "$mk" ] || [ -n "${TOP_BUILDDIR:-}" ] || skip "no build tree: tests/fc/mkfcsnap is not built"
	[ -x "$mk" ] || fail "$mk is not built (make check builds it)"
	"$mk" -n 32 -v 5 v1.12 fc32.snap -e 14 >/dev/null || fail "mkfcsnap failed"
	run -4 "$FREDCK" check fc32.snap
	[ "${#lines[@]}" -le 12 ] || fail "${#lines[@]} lines: $output"
	assert_equal "$(grep -c FK302 <<<"$output")" 1
	assert_line "  FK302 note (vCPUs 0-31): FRED MSRs not saved by the format (none of the 9 is"
	assert_line "                           saved): the restore loses them"
	assert_line --regexp '^  vCPU 5: #PF'
	refute_line --regexp '^  vCPU [0-46-9]'
	# JSON keeps the note on each vCPU.
	run -4 "$FREDCK" check -j fc32.snap
	assert_equal "$(jq '[.inputs[0].vcpus[] | select(any(.findings[]; .code == "FK302"))] | length' <<<"$output")" 32
}
