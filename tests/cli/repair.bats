#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# fredck repair: -o, --in-place, --dry-run; what is written, byte for byte;
# what is never written; exit status (docs/design.md section 4).

load test_helper

# struct kvm_vcpu_events bytes a repair may change (kvm_structs.h):
# pending: injected (0), pending (3), flags (20-23), has_payload (55), payload (56-63)
PENDING_BYTES=(0 3 20-23 55 56-63)
# drop: injected, nr, has_error_code, pending, error_code (0-7), has_payload, payload (55-63)
DROP_BYTES=(0-7 55-63)

# What repair -o does to each fixture: "REPAIR_EXIT CHECK_OUT_EXIT".
declare -gA REPAIR_EXPECT=(
	[pf-lost-cap]="1 0" [pf-lost-nocap]="1 0" [pf-pending-nopayload]="1 0"
	[pf-pending-payload]="0 0" [db-exact]="1 0" [db-exact-nocap]="4 4"
	[db-bs-tf]="1 0" [db-stale-bs]="4 4" [db-bd]="4 4" [db-bt]="1 0"
	[db-raw-payload]="1 0" [nm-xfd]="1 0" [nm-ts]="1 0" [nm-noamx]="1 0"
	[nm-unrecoverable]="1 0" [nested]="4 4" [clean]="0 0" [gp-injected]="0 0"
	[nofred]="0 0" [sregs-legacy]="1 0" [fred-msrs-missing]="1 0" [multi]="1 0"
)

# A write that fails exits 8, and 4 as well when the input has a vCPU at risk:
# it is left at risk (man fredck: EXIT STATUS).

# ---- -o OUT -------------------------------------------------------------------

@test "repair -o: pf-lost-cap exits 1 and its output checks clean (exit 0)" {
	dir=$(fixture pf-lost-cap)
	run -1 "$FREDCK" repair "$dir" -o out
	assert_line '  wrote out'
	run -0 "$FREDCK" check out
}

@test "repair -o: every fixture exits as designed, and its output checks as designed" {
	local name dir want bad=()
	for name in "${ALL_FIXTURES[@]}"; do
		want=${REPAIR_EXPECT[$name]}
		dir=$(fixture "$name")
		run "$FREDCK" repair "$dir" -o "$name.out"
		got=$status
		run "$FREDCK" check "$name.out"
		got+=" $status"
		[ "$got" = "$want" ] || bad+=("$name: repair, check exit $got; want $want")
	done
	[ "${#bad[@]}" -eq 0 ] || fail "$(printf '%s\n' "${bad[@]}")"
}

@test "repair -o: a second repair of every output changes nothing and exits 0 or 4" {
	local name dir want bad=()
	for name in "${ALL_FIXTURES[@]}"; do
		want=${REPAIR_EXPECT[$name]#* }
		dir=$(fixture "$name")
		"$FREDCK" repair "$dir" -o "$name.1" >/dev/null || true
		run "$FREDCK" repair "$name.1" -o "$name.2"
		[ "$status" = "$want" ] || bad+=("$name: second repair exit $status, want $want")
		diff -r "$name.1" "$name.2" >/dev/null || bad+=("$name: the second output differs from the first")
	done
	[ "${#bad[@]}" -eq 0 ] || fail "$(printf '%s\n' "${bad[@]}")"
}

@test "repair -o: for every fixture only vcpuN/events differs between input and output" {
	local name dir bad=()
	for name in "${ALL_FIXTURES[@]}"; do
		dir=$(fixture "$name")
		"$FREDCK" repair "$dir" -o "$name.out" >/dev/null || true
		(assert_only_events_differ "$dir" "$name.out") >/dev/null 2>&1 || bad+=("$name")
	done
	[ "${#bad[@]}" -eq 0 ] || fail "files other than events differ: ${bad[*]}"
}

@test "repair -o: pending changes only injected, pending, has_payload and payload of pf-lost-cap" {
	dir=$(fixture pf-lost-cap)
	run -1 "$FREDCK" repair "$dir" -o out
	assert_changed_within "$dir/vcpu0/events" out/vcpu0/events "${PENDING_BYTES[@]}"
}

@test "repair -o: pending writes the rebuilt event data (CR2) as the payload" {
	dir=$(fixture pf-lost-cap)
	cr2=$(peek_u64 "$dir/vcpu0/sregs2" 232)
	run -1 "$FREDCK" repair "$dir" -o out
	ev=out/vcpu0/events
	assert_equal "$(peek_u8 $ev 0) $(peek_u8 $ev 3) $(peek_u8 $ev 55)" "0 1 1"
	assert_equal "$(peek_u64 $ev 56)" "$cr2"
	assert_equal "$(peek_u8 $ev 1)" 14
	assert_equal "$(($(peek_u32 $ev 20) & 0x10))" 16
}

@test "repair -o: pending keeps the error code" {
	dir=$(fixture pf-lost-cap)
	run -1 "$FREDCK" repair "$dir" -o out
	assert_equal "$(peek_u8 out/vcpu0/events 2) $(peek_u32 out/vcpu0/events 4)" \
		"$(peek_u8 "$dir/vcpu0/events" 2) $(peek_u32 "$dir/vcpu0/events" 4)"
}

@test "repair -o: pending adds the payload flag (0x10) where the saved flags lack it" {
	dir=$(fixture db-exact-nocap)
	run -1 "$FREDCK" repair --dest-payload-cap=yes "$dir" -o out
	assert_changed_within "$dir/vcpu0/events" out/vcpu0/events "${PENDING_BYTES[@]}"
	assert_equal "$(peek_u32 out/vcpu0/events 20)" $(($(peek_u32 "$dir/vcpu0/events" 20) | 0x10))
	assert_equal "$(peek_u64 out/vcpu0/events 56)" 0x0000000000000001
}

@test "repair -o: a pending #PF without payload gets only has_payload and the payload" {
	dir=$(fixture pf-pending-nopayload)
	run -1 "$FREDCK" repair "$dir" -o out
	assert_changed_within "$dir/vcpu0/events" out/vcpu0/events 55-63
	assert_equal "$(peek_u64 out/vcpu0/events 56)" "$(peek_u64 "$dir/vcpu0/sregs2" 232)"
}

@test "repair -o: nm-xfd's payload is XFD_ERR" {
	dir=$(fixture nm-xfd)
	run -1 "$FREDCK" repair "$dir" -o out
	assert_changed_within "$dir/vcpu0/events" out/vcpu0/events "${PENDING_BYTES[@]}"
	assert_equal "$(peek_u64 out/vcpu0/events 56)" 0x0000000000040000
	assert_equal "$(peek_u8 out/vcpu0/events 55)" 1
}

@test "repair -o: db-raw-payload's payload is 0x4002" {
	dir=$(fixture db-raw-payload)
	run -1 "$FREDCK" repair "$dir" -o out
	assert_equal "$(peek_u64 out/vcpu0/events 56)" 0x0000000000004002
}

@test "repair -o: drop clears pf-lost-nocap's exception and nothing else" {
	dir=$(fixture pf-lost-nocap)
	run -1 "$FREDCK" repair "$dir" -o out
	assert_changed_within "$dir/vcpu0/events" out/vcpu0/events "${DROP_BYTES[@]}"
	assert_equal "$(od -An -tx1 -N8 out/vcpu0/events | tr -d ' \n')" 0000000000000000
	assert_equal "$(peek_u8 out/vcpu0/events 55) $(peek_u64 out/vcpu0/events 56)" "0 0x0000000000000000"
	assert_equal "$(peek_u32 out/vcpu0/events 20)" "$(peek_u32 "$dir/vcpu0/events" 20)"
}

@test "repair -o: drop of nm-unrecoverable changes only the exception bytes" {
	dir=$(fixture nm-unrecoverable)
	run -1 "$FREDCK" repair "$dir" -o out
	assert_changed_within "$dir/vcpu0/events" out/vcpu0/events "${DROP_BYTES[@]}"
	run -0 "$FREDCK" check --json out
	assert_equal "$(vcpu 0 .exception.state)" none
}

@test "repair -o --strategy=drop: pf-lost-cap's exception is cleared, flags kept" {
	dir=$(fixture pf-lost-cap)
	run -1 "$FREDCK" repair --strategy=drop "$dir" -o out
	assert_changed_within "$dir/vcpu0/events" out/vcpu0/events "${DROP_BYTES[@]}"
}

@test "repair -o --force: db-stale-bs gets the best estimate 0x2 and checks clean" {
	dir=$(fixture db-stale-bs)
	run -1 "$FREDCK" repair --force "$dir" -o out
	assert_equal "$(peek_u64 out/vcpu0/events 56)" 0x0000000000000002
	run -0 "$FREDCK" check out
}

@test "repair -o: the repaired output reads back as pending with the payload" {
	dir=$(fixture pf-lost-cap)
	run -1 "$FREDCK" repair "$dir" -o out
	run -0 "$FREDCK" inspect --json out
	assert_equal "$(vcpu 0 '.exception | [.state, .has_payload, .payload] | @csv')" \
		"\"pending\",true,\"$(peek_u64 "$dir/vcpu0/sregs2" 232)\""
}

@test "repair -o: the repaired events of multi is vcpu1's only" {
	dir=$(fixture multi)
	run -1 "$FREDCK" repair "$dir" -o out
	for n in 0 2 3; do
		assert_equal "$(inode out/vcpu$n/events)" "$(inode "$dir/vcpu$n/events")"
	done
	assert_changed_within "$dir/vcpu1/events" out/vcpu1/events "${PENDING_BYTES[@]}"
}

@test "repair -o: unchanged files are hard links to the input's" {
	dir=$(fixture pf-lost-cap)
	run -1 "$FREDCK" repair "$dir" -o out
	for f in FIXTURE vcpu0/sregs2 vcpu0/regs vcpu0/debugregs vcpu0/msrs vcpu0/xcrs; do
		assert_equal "$(inode "out/$f") $f" "$(inode "$dir/$f") $f"
	done
}

@test "repair -o: the rewritten events is a new file; the input's is untouched" {
	dir=$(fixture pf-lost-cap)
	ino=$(inode "$dir/vcpu0/events")
	before=$(tree_sum "$dir")
	run -1 "$FREDCK" repair "$dir" -o out
	[ "$(inode out/vcpu0/events)" != "$ino" ] || fail "out/vcpu0/events is the input's inode"
	assert_equal "$(inode "$dir/vcpu0/events")" "$ino"
	assert_equal "$(tree_sum "$dir")" "$before"
}

# multi with vcpu2 given an injected #DB whose BS may be stale (DR6
# 0xFFFF4FF2, RFLAGS.TF clear): vcpu1 is repaired, vcpu2 left at risk.
mixed_multi() {
	local d
	d=$(fixture multi mixed) || return 1
	poke "$d/vcpu2/events" 0 0101
	poke_u64 "$d/vcpu2/debugregs" 32 0xffff4ff2
	poke_u64 "$d/vcpu2/regs" 136 $(($(peek_u64 "$d/vcpu2/regs" 136) & ~0x100))
	echo "$d"
}

@test "repair -o: one vCPU repaired and one left at risk exit 5 (1|4)" {
	dir=$(mixed_multi)
	run -5 "$FREDCK" repair "$dir" -o out
	assert_line '  2 of 4 vCPUs at risk; 1 repaired, 1 left at risk'
	cmp "$dir/vcpu2/events" out/vcpu2/events
	assert_changed_within "$dir/vcpu1/events" out/vcpu1/events "${PENDING_BYTES[@]}"
}

@test "repair -o: after a partial repair, check and a second repair exit 4 and change nothing" {
	dir=$(mixed_multi)
	run -5 "$FREDCK" repair "$dir" -o out
	run -4 "$FREDCK" check --json out
	assert_equal "$(jqo '[.inputs[0].vcpus[] | select(.at_risk) | .index] | @csv')" 2
	run -4 "$FREDCK" repair out -o out2
	diff -r out out2
}

@test "repair -o: a vCPU left at risk (db-stale-bs) exits 4 and its events stay as they were" {
	dir=$(fixture db-stale-bs)
	run -4 "$FREDCK" repair "$dir" -o out
	cmp "$dir/vcpu0/events" out/vcpu0/events
}

@test "repair -o: nested is left as it is even with --force, exit 4" {
	dir=$(fixture nested)
	run -4 "$FREDCK" repair --force --strategy=pending "$dir" -o out
	cmp "$dir/vcpu0/events" out/vcpu0/events
	run -4 "$FREDCK" check out
}

@test "repair -o --strategy=none: exit 4, nothing changed" {
	dir=$(fixture pf-lost-cap)
	run -4 "$FREDCK" repair --strategy=none "$dir" -o out
	diff -r "$dir" out
}

@test "repair -o: the output keeps the input's directory mode" {
	dir=$(fixture pf-lost-cap)
	chmod 0750 "$dir"
	run -1 "$FREDCK" repair "$dir" -o out
	assert_equal "$(stat -c %a out)" 750
}

@test "repair -o: the output's vcpuN/ directories keep their mode (umask 022)" {
	dir=$(fixture pf-lost-cap)
	chmod 0775 "$dir/vcpu0"
	umask 022
	run -1 "$FREDCK" repair "$dir" -o out
	assert_equal "$(stat -c %a out/vcpu0)" 775
}

@test "repair -o: the rewritten events file keeps the input's mode (umask 022)" {
	dir=$(fixture pf-lost-cap)
	chmod 0664 "$dir/vcpu0/events"
	umask 022
	run -1 "$FREDCK" repair "$dir" -o out
	assert_equal "$(stat -c %a out/vcpu0/events)" 664
}

@test "repair -o: no temporary tree is left after success" {
	dir=$(fixture pf-lost-cap)
	mkdir outdir
	run -1 "$FREDCK" repair "$dir" -o outdir/out
	assert_no_leftovers "$WORK" outdir
}

@test "repair -o --json: status repaired, exit_status 1, output.written names OUT" {
	dir=$(fixture pf-lost-cap)
	run --separate-stderr -1 "$FREDCK" repair --json "$dir" -o out
	assert_equal "$(jqo '.inputs[0] | [.status, .exit_status, .output.written, .output.backup] | tojson')" \
		'["repaired",1,"out",null]'
	assert_equal "$(jqo '.inputs[0].summary | [.repaired, .left_at_risk] | @csv')" 1,0
}

@test "repair -o: onto an existing directory is refused (exit 8, +4 at risk), both untouched" {
	dir=$(fixture pf-lost-cap)
	mkdir out
	echo keep >out/file
	before=$(tree_sum "$dir") before_out=$(tree_sum out)
	run --separate-stderr -12 "$FREDCK" repair "$dir" -o out
	assert_stderr_contains out 'already exists'
	assert_equal "$(tree_sum "$dir")" "$before"
	assert_equal "$(tree_sum out)" "$before_out"
	assert_no_leftovers "$WORK"
}

@test "repair -o: onto an existing path with nothing at risk exits exactly 8" {
	dir=$(fixture clean)
	mkdir out
	run --separate-stderr -8 "$FREDCK" repair "$dir" -o out
	assert_stderr_contains out 'already exists'
	assert_equal "$(ls -A out)" ''
}

@test "repair -o: onto an existing file is refused (exit 8, +4 at risk), both untouched" {
	dir=$(fixture pf-lost-cap)
	echo keep >out
	before=$(tree_sum "$dir")
	run --separate-stderr -12 "$FREDCK" repair "$dir" -o out
	assert_equal "$(cat out)" keep
	assert_equal "$(tree_sum "$dir")" "$before"
}

@test "repair -o: onto a dangling symlink is refused (exit 8, +4 at risk)" {
	dir=$(fixture pf-lost-cap)
	ln -s nowhere out
	run --separate-stderr -12 "$FREDCK" repair "$dir" -o out
	assert_equal "$(readlink out)" nowhere
	[ ! -e nowhere ] || fail "fredck wrote through the symlink"
}

@test "repair -o: into a directory that does not exist fails (exit 8, +4 at risk), nothing written" {
	dir=$(fixture pf-lost-cap)
	before=$(tree_sum "$WORK")
	run --separate-stderr -12 "$FREDCK" repair "$dir" -o nodir/out
	assert_equal "$(tree_sum "$WORK")" "$before"
}

@test "repair -o: a failed copy (a FIFO in the input) leaves no temporary tree and the input untouched" {
	dir=$(fixture pf-lost-cap)
	mkfifo "$dir/fifo"
	before=$(tree_sum "$dir")
	run --separate-stderr -12 "$FREDCK" repair "$dir" -o out
	assert_stderr_contains fifo
	[ ! -e out ] || fail "out was written"
	assert_equal "$(tree_sum "$dir")" "$before"
	assert_no_leftovers "$WORK"
}

@test "repair -o: an output inside the input directory fails (exit 8, +4), input untouched, no leftovers" {
	dir=$(fixture pf-lost-cap)
	before=$(tree_sum "$dir")
	run --separate-stderr -12 "$FREDCK" repair "$dir" -o "$dir/out"
	assert_equal "$(tree_sum "$dir")" "$before"
	assert_no_leftovers "$dir" "$WORK"
}

@test "repair -o -: a kvm-dir cannot go to standard output (exit 8, +4 at risk)" {
	dir=$(fixture pf-lost-cap)
	before=$(tree_sum "$dir")
	run --separate-stderr -12 "$FREDCK" repair "$dir" -o -
	assert_equal "$(tree_sum "$dir")" "$before"
}

# ---- --dry-run -------------------------------------------------------------------

@test "repair --dry-run: exits like check (4) and writes nothing" {
	dir=$(fixture pf-lost-cap)
	before=$(tree_sum "$WORK")
	run -4 "$FREDCK" repair --dry-run "$dir"
	assert_line --regexp '^    would repair \(dry run\): pending: #PF becomes pending'
	assert_equal "$(tree_sum "$WORK")" "$before"
}

@test "repair --dry-run: exits like check (0) on a clean input" {
	dir=$(fixture clean)
	run -0 "$FREDCK" repair --dry-run "$dir"
}

@test "repair --dry-run: exits like check on several inputs (4), writing nothing" {
	a=$(fixture clean) b=$(fixture pf-lost-nocap) c=$(fixture nested)
	before=$(tree_sum "$WORK")
	run -4 "$FREDCK" repair --dry-run "$a" "$b" "$c"
	assert_equal "$(tree_sum "$WORK")" "$before"
}

@test "repair --dry-run --json: shows the plan, output nothing written" {
	dir=$(fixture pf-lost-cap)
	run --separate-stderr -4 "$FREDCK" repair --dry-run --json "$dir"
	assert_equal "$(vcpu 0 .repair.action)" pending
	assert_equal "$(jqo '.inputs[0].output.written // "none"')" none
}

# ---- --in-place -------------------------------------------------------------------

@test "repair --in-place: exits 1, the input checks clean, INPUT.orig is the original" {
	dir=$(fixture pf-lost-cap)
	orig=$(tree_sum "$dir")
	run -1 "$FREDCK" repair "$dir" --in-place
	assert_equal "$(tree_sum "$dir.orig")" "$orig"
	run -0 "$FREDCK" check "$dir"
}

@test "repair --in-place: only vcpuN/events differs between the backup and the repaired input" {
	dir=$(fixture pf-lost-cap)
	run -1 "$FREDCK" repair "$dir" --in-place
	assert_only_events_differ "$dir.orig" "$dir"
	assert_changed_within "$dir.orig/vcpu0/events" "$dir/vcpu0/events" "${PENDING_BYTES[@]}"
}

@test "repair --in-place: the repaired input's unchanged files are hard links to the backup's" {
	dir=$(fixture pf-lost-cap)
	run -1 "$FREDCK" repair "$dir" --in-place
	for f in FIXTURE vcpu0/sregs2 vcpu0/regs vcpu0/debugregs vcpu0/msrs vcpu0/xcrs; do
		assert_equal "$(inode "$dir/$f") $f" "$(inode "$dir.orig/$f") $f"
	done
}

@test "repair --in-place: the text names the written input and the backup" {
	dir=$(fixture pf-lost-cap)
	run -1 "$FREDCK" repair "$dir" --in-place
	assert_line "  wrote $dir (original kept as $dir.orig)"
}

@test "repair --in-place: the swapped-in directory keeps the input's mode" {
	dir=$(fixture pf-lost-cap)
	chmod 0750 "$dir"
	run -1 "$FREDCK" repair "$dir" --in-place
	assert_equal "$(stat -c %a "$dir") $(stat -c %a "$dir.orig")" "750 750"
}

@test "repair --in-place: no temporary tree is left after success" {
	dir=$(fixture pf-lost-cap)
	run -1 "$FREDCK" repair "$dir" --in-place
	assert_no_leftovers "$WORK"
	assert_equal "$(ls -A "$WORK" | tr '\n' ' ')" "pf-lost-cap pf-lost-cap.orig "
}

@test "repair --in-place: a second --in-place writes nothing and exits 0" {
	dir=$(fixture pf-lost-cap)
	run -1 "$FREDCK" repair "$dir" --in-place
	before=$(tree_sum "$WORK")
	run -0 "$FREDCK" repair "$dir" --in-place
	assert_line '  nothing written'
	assert_equal "$(tree_sum "$WORK")" "$before"
}

@test "repair --in-place: nothing to repair writes nothing and keeps no backup" {
	dir=$(fixture clean)
	before=$(tree_sum "$WORK")
	run -0 "$FREDCK" repair "$dir" --in-place
	assert_equal "$(tree_sum "$WORK")" "$before"
}

@test "repair --in-place: a vCPU left at risk writes nothing and exits 4" {
	dir=$(fixture db-stale-bs)
	before=$(tree_sum "$WORK")
	run -4 "$FREDCK" repair "$dir" --in-place
	assert_equal "$(tree_sum "$WORK")" "$before"
}

@test "repair --in-place: an existing backup of other content is never overwritten: the original goes to INPUT.orig.1" {
	dir=$(fixture pf-lost-cap)
	orig=$(tree_sum "$dir")
	mkdir "$dir.orig"
	echo keep >"$dir.orig/file"
	before_bak=$(tree_sum "$dir.orig")
	run -1 "$FREDCK" repair "$dir" --in-place
	assert_output --partial "(original kept as $dir.orig.1)"
	assert_equal "$(tree_sum "$dir.orig.1")" "$orig"
	assert_equal "$(tree_sum "$dir.orig")" "$before_bak"
	run -0 "$FREDCK" check "$dir"
	assert_no_leftovers "$WORK"
}

@test "repair --in-place: an existing backup file is never overwritten either; the next free number is taken" {
	dir=$(fixture pf-lost-cap)
	orig=$(tree_sum "$dir")
	echo keep >"$dir.orig"
	echo keep1 >"$dir.orig.1"
	run -1 "$FREDCK" repair "$dir" --in-place
	assert_equal "$(cat "$dir.orig")" keep
	assert_equal "$(cat "$dir.orig.1")" keep1
	assert_equal "$(tree_sum "$dir.orig.2")" "$orig"
}

@test "repair --in-place: an existing backup holding the input's bytes is the backup: none is added" {
	dir=$(fixture pf-lost-cap)
	cp -R "$dir" "$dir.orig"
	orig=$(tree_sum "$dir")
	run -1 "$FREDCK" repair "$dir" --in-place
	assert_output --partial "(original kept as $dir.orig)"
	assert_equal "$(tree_sum "$dir.orig")" "$orig"
	[ ! -e "$dir.orig.1" ] || fail "a second copy of the same original was made"
}

@test "repair --in-place --backup=.bak: the backup is INPUT.bak, no INPUT.orig" {
	dir=$(fixture pf-lost-cap)
	orig=$(tree_sum "$dir")
	run -1 "$FREDCK" repair "$dir" --in-place --backup=.bak
	assert_equal "$(tree_sum "$dir.bak")" "$orig"
	[ ! -e "$dir.orig" ] || fail "$dir.orig was made"
}

@test "repair --in-place --backup: succeeds although INPUT.orig exists" {
	dir=$(fixture pf-lost-cap)
	mkdir "$dir.orig"
	run -1 "$FREDCK" repair "$dir" --in-place --backup=.pre-fred
	[ -d "$dir.pre-fred/vcpu0" ] || fail "no backup $dir.pre-fred"
	assert_equal "$(ls -A "$dir.orig")" ''
}

@test "repair --in-place --no-backup: repairs, keeps no backup, leaves nothing behind" {
	dir=$(fixture pf-lost-cap)
	run -1 "$FREDCK" repair "$dir" --in-place --no-backup
	assert_equal "$(ls -A "$WORK")" pf-lost-cap
	run -0 "$FREDCK" check "$dir"
}

@test "repair --in-place: a trailing slash on INPUT names the backup INPUT.orig" {
	dir=$(fixture pf-lost-cap)
	run -1 "$FREDCK" repair "$dir/" --in-place
	[ -d "$dir.orig/vcpu0" ] || fail "no $dir.orig"
	run -0 "$FREDCK" check "$dir"
}

@test "repair --in-place: several inputs are each repaired or left; the exit bits OR (5)" {
	a=$(fixture pf-lost-cap) b=$(fixture db-stale-bs) c=$(fixture clean)
	run -5 "$FREDCK" repair --in-place "$a" "$b" "$c"
	[ -d "$a.orig" ] || fail "no backup of $a"
	[ ! -e "$b.orig" ] || fail "$b was left at risk, yet backed up"
	[ ! -e "$c.orig" ] || fail "$c had nothing to do, yet backed up"
}

@test "repair --in-place: a failed copy (a FIFO in the input) leaves the input untouched, no leftovers" {
	dir=$(fixture pf-lost-cap)
	mkfifo "$dir/fifo"
	before=$(tree_sum "$WORK")
	run --separate-stderr -12 "$FREDCK" repair "$dir" --in-place
	assert_equal "$(tree_sum "$WORK")" "$before"
	assert_no_leftovers "$WORK"
}

@test "repair --in-place --json: output.written and output.backup" {
	dir=$(fixture pf-lost-cap)
	run --separate-stderr -1 "$FREDCK" repair --json "$dir" --in-place
	assert_equal "$(jqo '.inputs[0].output | [.written, .backup] | @csv')" "\"$dir\",\"$dir.orig\""
}

# ---- usage -----------------------------------------------------------------------

@test "repair: no -o, --in-place or --dry-run is a usage error (16), nothing written" {
	dir=$(fixture pf-lost-cap)
	before=$(tree_sum "$WORK")
	run --separate-stderr -16 "$FREDCK" repair "$dir"
	assert_stderr_contains -o --in-place --dry-run
	assert_equal "$(tree_sum "$WORK")" "$before"
}

@test "repair: -o with --in-place is a usage error (16), nothing written" {
	dir=$(fixture pf-lost-cap)
	before=$(tree_sum "$WORK")
	run --separate-stderr -16 "$FREDCK" repair "$dir" -o out --in-place
	assert_equal "$(tree_sum "$WORK")" "$before"
}

@test "repair: -o with --dry-run is a usage error (16)" {
	dir=$(fixture pf-lost-cap)
	run --separate-stderr -16 "$FREDCK" repair "$dir" -o out --dry-run
	[ ! -e out ] || fail "out was written"
}

@test "repair: --no-backup without --in-place is a usage error (16)" {
	dir=$(fixture pf-lost-cap)
	run --separate-stderr -16 "$FREDCK" repair "$dir" -o out --no-backup
	[ ! -e out ] || fail "out was written"
}

@test "repair: --backup without --in-place is a usage error (16)" {
	dir=$(fixture pf-lost-cap)
	run --separate-stderr -16 "$FREDCK" repair "$dir" -o out --backup=.bak
	[ ! -e out ] || fail "out was written"
}

@test "repair: --backup with --no-backup is a usage error (16), nothing written" {
	dir=$(fixture pf-lost-cap)
	before=$(tree_sum "$WORK")
	run --separate-stderr -16 "$FREDCK" repair "$dir" --in-place --backup=.bak --no-backup
	assert_equal "$(tree_sum "$WORK")" "$before"
}

@test "repair: --backup with an empty suffix or a '/' is a usage error (16)" {
	dir=$(fixture pf-lost-cap)
	run --separate-stderr -16 "$FREDCK" repair "$dir" --in-place --backup=
	run --separate-stderr -16 "$FREDCK" repair "$dir" --in-place --backup=/x
	[ ! -e "$dir.orig" ] || fail "a backup was made"
}

@test "repair: -o with two inputs is a usage error (16)" {
	a=$(fixture pf-lost-cap) b=$(fixture nm-xfd)
	run --separate-stderr -16 "$FREDCK" repair "$a" "$b" -o out
	[ ! -e out ] || fail "out was written"
}

@test "repair: no input is a usage error (16)" {
	run --separate-stderr -16 "$FREDCK" repair -o out
}
