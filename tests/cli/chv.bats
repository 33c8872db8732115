#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Cloud Hypervisor snapshots (formats/chv/chv.c).  Debian 12 has no Cloud
# Hypervisor: tests/chv/chv-gen writes state.json as its serializer does
# (tests/chv/README.md), in both layouts, and writes the repaired forms too,
# so a repair is checked byte for byte against what it must produce.

load test_helper

CHV_GEN=${CHV_GEN:-$TOP_SRCDIR/_build/tests/chv/chv-gen}

# gen LAYOUT NAME KIND... [-- GEN-OPTION...]: a snapshot directory $WORK/NAME.
gen() {
	local layout=$1 name=$2
	shift 2
	[ -x "$CHV_GEN" ] || fail "CHV_GEN=$CHV_GEN is not built (make check builds it)"
	rm -rf "${WORK:?}/$name"
	"$CHV_GEN" --layout="$layout" "${GEN_OPTS[@]}" "$WORK/$name" "$@" || fail "chv-gen failed"
}

# Both layout families, at their first and last release, and the newest
# shape (nested_state, hyperv_synic).
LAYOUTS=(v39 v53 v38 v29)

# repaired LAYOUT IN OUT [FREDCK-OPTION...]: repair -o, status kept in $status.
repaired() {
	local in=$2 out=$3
	shift 3
	run --separate-stderr "$FREDCK" repair "$@" -o "$out" "$in"
}

# ---- reading ------------------------------------------------------------

@test "chv: inspect shows the layout family of each era and DR6 as not saved" {
	local l
	for l in v39 v53; do
		gen "$l" s clean
		run "$FREDCK" inspect "$WORK/s"
		assert_success
		assert_output --partial "cloud-hypervisor (1 vCPU, v39 and later layout)"
		assert_output --partial "dr6          not saved"
	done
	gen v38 s clean pf
	run "$FREDCK" inspect "$WORK/s"
	assert_success
	assert_output --partial "cloud-hypervisor (2 vCPUs, v29 to v38 layout)"
	assert_output --partial "layout       v29 to v38: state as an array of byte values"
}

@test "chv: numbers above INT64_MAX are read exactly (CR2, RIP in v29-v38 fields; MSRs in both)" {
	local l
	for l in "${LAYOUTS[@]}"; do
		gen "$l" s clean pf
		run --separate-stderr "$FREDCK" inspect --json "$WORK/s"
		assert_success
		assert_equal "$(vcpu 1 .registers.cr2)" 0xffff888012346678
		assert_equal "$(vcpu 1 .registers.rip)" 0xffffffff81c3a1b2
		assert_equal "$(vcpu 1 .registers.fred_config)" 0xffffffff81c00000
		assert_equal "$(vcpu 0 .registers.fred_rsp0)" 0xffffc90000a40000
	done
}

@test "chv: state.json alone is accepted, and --format=cloud-hypervisor" {
	gen v39 s pf
	run "$FREDCK" check "$WORK/s/state.json"
	assert_equal "$status" 4
	assert_output --partial "state.json: cloud-hypervisor (1 vCPU, v39 and later layout)"
	run "$FREDCK" check --format=cloud-hypervisor "$WORK/s"
	assert_equal "$status" 4
}

@test "chv: v28 and older are reported as unsupported: exit 8" {
	gen v28 s pf
	run --separate-stderr "$FREDCK" check "$WORK/s"
	assert_equal "$status" 8
	assert_stderr_contains "v28 or older" "not supported"
}

@test "chv: check finds #PF and #NM lost (FK101, FK103), #DB lost with DR6 not saved (FK102, FK203)" {
	local l
	for l in "${LAYOUTS[@]}"; do
		gen "$l" s clean pf nm db gp
		run --separate-stderr "$FREDCK" check --json "$WORK/s"
		assert_equal "$status" 4
		assert_equal "$(codes 0)" -
		assert_equal "$(codes 1)" FK101
		assert_equal "$(codes 2)" FK103
		assert_equal "$(codes 3)" "FK102 FK203"
		assert_equal "$(codes 4)" -
		assert_equal "$(jqo .inputs[0].format)" cloud-hypervisor
	done
}

@test "chv: --dest-payload-cap=auto means no: #PF and #NM repaired by drop, #DB left with the reason" {
	gen v39 s pf nm db
	run --separate-stderr "$FREDCK" check --json "$WORK/s"
	assert_equal "$(vcpu 0 .repair.action)" drop
	assert_equal "$(vcpu 1 .repair.action)" drop
	assert_equal "$(vcpu 2 .repair.action)" leave
	assert_equal "$(vcpu 0 .repair.dest_payload_cap)" false
	run "$FREDCK" check "$WORK/s"
	assert_output --partial "dr6 is not saved by the format"
}

@test "chv: MSRs not saved: #NM unrecoverable (drop even with the capability), FRED MSRs noted" {
	local l
	for l in v39 v38; do
		GEN_OPTS=(--no-xfd --no-fred-msrs)
		gen "$l" s nm
		run --separate-stderr "$FREDCK" check --json --dest-payload-cap=yes "$WORK/s"
		assert_equal "$status" 4
		assert_equal "$(codes 0)" "FK103 FK202 FK203 FK302"
		assert_equal "$(vcpu 0 .event_data.confidence)" unrecoverable
		assert_equal "$(vcpu 0 .repair.action)" drop
		repaired "$l" "$WORK/s" "$WORK/out-$l" --dest-payload-cap=yes
		assert_equal "$status" 1
		gen "$l" want nm:drop
		cmp "$WORK/want/state.json" "$WORK/out-$l/state.json"
	done
}

@test "chv: a nested-guest vCPU (v53 nested_state) is left alone" {
	GEN_OPTS=(--nested=0)
	gen v53 s pf
	run --separate-stderr "$FREDCK" check --json "$WORK/s"
	assert_equal "$status" 4
	assert_equal "$(vcpu 0 .repair.action)" leave
	assert_equal "$(vcpu 0 .repair.reason)" nested-guest-mode
}

# ---- repairing ----------------------------------------------------------

@test "chv: repair -o drops #PF and #NM: state.json byte-identical to the expected snapshot" {
	local l
	for l in "${LAYOUTS[@]}"; do
		gen "$l" s clean pf nm
		gen "$l" want clean pf:drop nm:drop
		repaired "$l" "$WORK/s" "$WORK/out-$l"
		assert_equal "$status" 1
		cmp "$WORK/want/state.json" "$WORK/out-$l/state.json" ||
			fail "$l: the repaired state.json is not the expected one"
		run "$FREDCK" check "$WORK/out-$l"
		assert_equal "$status" 0
	done
}

@test "chv: --dest-payload-cap=yes makes #PF and #NM pending with the payload (CR2, XFD_ERR)" {
	local l
	for l in "${LAYOUTS[@]}"; do
		gen "$l" s pf nm
		gen "$l" want pf:pending nm:pending
		repaired "$l" "$WORK/s" "$WORK/out-$l" --dest-payload-cap=yes
		assert_equal "$status" 1
		cmp "$WORK/want/state.json" "$WORK/out-$l/state.json" ||
			fail "$l: the repaired state.json is not the expected one"
		run --separate-stderr "$FREDCK" inspect --json "$WORK/out-$l"
		assert_equal "$(vcpu 0 .exception.payload)" 0xffff888012345678
	done
}

@test "chv: #DB is reported and untouched: repair exits 4, state.json unchanged" {
	local l
	for l in "${LAYOUTS[@]}"; do
		gen "$l" s db
		repaired "$l" "$WORK/s" "$WORK/out-$l"
		assert_equal "$status" 4
		cmp "$WORK/s/state.json" "$WORK/out-$l/state.json" || fail "$l: #DB was edited"
		repaired "$l" "$WORK/s" "$WORK/out2-$l" --dest-payload-cap=yes
		assert_equal "$status" 4
		cmp "$WORK/s/state.json" "$WORK/out2-$l/state.json" || fail "$l: #DB was edited"
	done
}

@test "chv: twelve vCPUs (BTreeMap order 0,1,10,11,2...): only vCPU 10 changes" {
	local l kinds want i
	for l in v39 v38; do
		kinds=() want=()
		for i in $(seq 0 11); do
			if [ "$i" = 10 ]; then kinds+=(pf) want+=(pf:drop); else kinds+=(clean) want+=(clean); fi
		done
		gen "$l" s "${kinds[@]}"
		gen "$l" want "${want[@]}"
		grep -q '"snapshots":{"0":.*"1":.*"10":.*"11":.*"2":' "$WORK/s/state.json" ||
			fail "the generator did not write BTreeMap order"
		repaired "$l" "$WORK/s" "$WORK/out-$l"
		assert_equal "$status" 1
		assert_output --partial "vCPU 10"
		cmp "$WORK/want/state.json" "$WORK/out-$l/state.json" || fail "$l: more than vCPU 10 changed"
	done
}

@test "chv: a no-op repair round trip is byte-identical, other files hard-linked" {
	gen v39 s clean gp
	repaired v39 "$WORK/s" "$WORK/out"
	assert_equal "$status" 0
	diff <(tree_sum "$WORK/s") <(tree_sum "$WORK/out") || fail "the copy differs"
	assert_equal "$(inode "$WORK/out/memory-ranges")" "$(inode "$WORK/s/memory-ranges")"
	assert_equal "$(inode "$WORK/out/config.json")" "$(inode "$WORK/s/config.json")"
}

@test "chv: a second repair changes nothing: exit 0, or 4 while a #DB stays at risk" {
	local l
	for l in "${LAYOUTS[@]}"; do
		gen "$l" s pf nm
		repaired "$l" "$WORK/s" "$WORK/once-$l"
		assert_equal "$status" 1
		repaired "$l" "$WORK/once-$l" "$WORK/twice-$l"
		assert_equal "$status" 0
		cmp "$WORK/once-$l/state.json" "$WORK/twice-$l/state.json"
		gen "$l" d pf db
		repaired "$l" "$WORK/d" "$WORK/donce-$l"
		assert_equal "$status" 5
		repaired "$l" "$WORK/donce-$l" "$WORK/dtwice-$l"
		assert_equal "$status" 4
		cmp "$WORK/donce-$l/state.json" "$WORK/dtwice-$l/state.json"
	done
}

@test "chv: --in-place renames the new state.json over the old, which stays as state.json.orig" {
	gen v39 s pf
	gen v39 want pf:drop
	cp "$WORK/s/state.json" "$WORK/orig.json"
	local mem
	mem=$(inode "$WORK/s/memory-ranges")
	run "$FREDCK" repair --in-place "$WORK/s"
	assert_equal "$status" 1
	cmp "$WORK/want/state.json" "$WORK/s/state.json"
	cmp "$WORK/orig.json" "$WORK/s/state.json.orig"
	assert_equal "$(inode "$WORK/s/memory-ranges")" "$mem"
	assert_no_leftovers "$WORK/s"
	run "$FREDCK" repair --in-place "$WORK/s"
	assert_equal "$status" 0
	cmp "$WORK/want/state.json" "$WORK/s/state.json"
}

@test "chv: --in-place never overwrites a backup (the original goes to state.json.orig.1); --no-backup keeps none" {
	gen v38 s pf
	gen v38 want pf:drop
	echo keep >"$WORK/s/state.json.orig"
	cp "$WORK/s/state.json" "$WORK/orig.json"
	cp -R "$WORK/s" "$WORK/s2"
	run --separate-stderr "$FREDCK" repair --in-place "$WORK/s"
	assert_equal "$status" 1
	cmp "$WORK/want/state.json" "$WORK/s/state.json"
	cmp "$WORK/orig.json" "$WORK/s/state.json.orig.1"
	assert_equal "$(cat "$WORK/s/state.json.orig")" keep
	rm "$WORK/s2/state.json.orig"
	run "$FREDCK" repair --in-place --no-backup "$WORK/s2"
	assert_equal "$status" 1
	cmp "$WORK/want/state.json" "$WORK/s2/state.json"
	[ "$(ls "$WORK/s2" | tr '\n' ' ')" = "config.json memory-ranges state.json " ] ||
		fail "unexpected files: $(ls -A "$WORK/s2")"
	assert_no_leftovers "$WORK/s" "$WORK/s2"
}

@test "chv: a state.json input: -o writes a new file, --in-place keeps the backup" {
	gen v38 s nm
	gen v38 want nm:drop
	cp "$WORK/s/state.json" "$WORK/orig.json"
	run "$FREDCK" repair -o "$WORK/new.json" "$WORK/s/state.json"
	assert_equal "$status" 1
	cmp "$WORK/want/state.json" "$WORK/new.json"
	cmp "$WORK/orig.json" "$WORK/s/state.json"
	run "$FREDCK" repair --in-place --backup=.before "$WORK/s/state.json"
	assert_equal "$status" 1
	cmp "$WORK/want/state.json" "$WORK/s/state.json"
	cmp "$WORK/orig.json" "$WORK/s/state.json.before"
	assert_no_leftovers "$WORK/s"
}

# ---- malformed input ------------------------------------------------------

# rejected NAME TEXT...: check and repair -o both exit 8 naming TEXT; nothing written.
rejected() {
	local d=$WORK/$1 before
	shift
	before=$(tree_sum "$d")
	run --separate-stderr "$FREDCK" check "$d"
	assert_equal "$status" 8
	assert_stderr_contains "$@"
	run --separate-stderr "$FREDCK" repair -o "$WORK/out" "$d"
	assert_equal "$status" 8
	[ ! -e "$WORK/out" ] || fail "repair wrote $WORK/out from a malformed input"
	run --separate-stderr "$FREDCK" repair --in-place "$d"
	assert_equal "$status" 8
	assert_equal "$(tree_sum "$d")" "$before"
	assert_no_leftovers "$d" "$WORK"
}

@test "chv malformed: outer JSON truncated, or not JSON: exit 8 with the byte offset" {
	gen v39 s pf
	head -c $(($(stat -c %s "$WORK/s/state.json") / 2)) "$WORK/s/state.json" >"$WORK/cut.json"
	mv "$WORK/cut.json" "$WORK/s/state.json"
	rejected s "state.json: byte " "not valid JSON"
	printf '{"snapshots":{"cpu-manager":{"snapshots":{"0":{"snapshots":{},"snapshot_data":{"state":"x"}},}}}}' \
		>"$WORK/s/state.json"
	rejected s "byte 93 ((JSON)): not valid JSON: an object key (a string) was expected"
}

@test "chv malformed: deep nesting is refused, not recursed into" {
	mkdir -p "$WORK/s"
	{ printf '{"snapshots":'; head -c 100000 /dev/zero | tr '\0' '['; } >"$WORK/s/state.json"
	rejected s "nested deeper than 64 levels"
}

@test "chv malformed: inner state truncated: exit 8 naming the JSON path" {
	local l
	for l in v39 v38; do
		GEN_OPTS=(--replace='"tsc_khz":2995200}}' --with='"tsc_khz":29')
		gen "$l" s pf
		rejected s '.snapshots["cpu-manager"].snapshots["0"].snapshot_data' "not valid JSON" \
			"truncated"
	done
}

@test "chv malformed: an event byte above 255 (v39+) or a field above its width (v29-v38)" {
	GEN_OPTS=(--replace='"vcpu_events":[1,14' --with='"vcpu_events":[1,256')
	gen v39 s pf
	rejected s '.snapshot_data.state | .Kvm.vcpu_events[1])' "256 is above 255"
	GEN_OPTS=(--replace='"injected":1,"nr":14' --with='"injected":1,"nr":256')
	gen v38 s pf
	rejected s '.snapshot_data | .Kvm.vcpu_events.exception.nr)' "256 is above 255"
}

@test "chv malformed: a string where a number belongs" {
	GEN_OPTS=(--replace='"vcpu_events":[1,14' --with='"vcpu_events":[1,"14"')
	gen v39 s pf
	rejected s '| .Kvm.vcpu_events[1])' "is a string; expected a number"
	GEN_OPTS=(--replace='"data":7000000000' --with='"data":"7000000000"')
	gen v38 s pf
	rejected s '| .Kvm.msrs[0].data)' "is a string; expected a number"
}

@test "chv malformed: a missing vCPU field" {
	GEN_OPTS=(--replace='"sregs":' --with='"sregz":')
	gen v39 s pf
	rejected s '| .Kvm.sregs)' missing
	GEN_OPTS=(--replace='"error_code":2' --with='"errcode":2')
	gen v38 s pf
	rejected s '| .Kvm.vcpu_events.exception.error_code)' missing
}

@test "chv malformed: a field twice (serde refuses a duplicate field; fredck picks none)" {
	GEN_OPTS=(--replace='"regs":' --with='"vcpu_events":[0],"regs":')
	gen v39 s pf
	rejected s '| .Kvm.vcpu_events)' "appears twice"
	GEN_OPTS=(--replace='"nr":14,' --with='"nr":14,"nr":0,')
	gen v38 s pf
	rejected s '| .Kvm.vcpu_events.exception.nr)' "appears twice"
	GEN_OPTS=()
	gen v39 s pf
	sed -i 's/^{"snapshots":{"cpu-manager":/{"snapshots":{"cpu-manager":{"snapshots":{}},"cpu-manager":/' \
		"$WORK/s/state.json"
	rejected s '.snapshots["cpu-manager"])' "appears twice"
}

@test "chv malformed: a struct of the wrong size, a sign, an unknown flag, a vector above 31" {
	GEN_OPTS=(--replace='"vcpu_events":[1,14,' --with='"vcpu_events":[1,')
	gen v39 s pf
	rejected s '| .Kvm.vcpu_events)' "holds 63 byte values; struct kvm_vcpu_events is 64 bytes"
	GEN_OPTS=(--replace='"rip":' --with='"rip":-')
	gen v38 s pf
	rejected s '| .Kvm.regs.rip)' "not a non-negative integer"
	GEN_OPTS=(--replace='"flags":13' --with='"flags":4096')
	gen v38 s pf
	rejected s '| .Kvm.vcpu_events.flags)' "unknown flag bits 0x1000"
	GEN_OPTS=(--replace='"injected":1,"nr":14' --with='"injected":1,"nr":32')
	gen v38 s pf
	rejected s "exception vector 32 is above 31"
}

@test "chv malformed: outer shape: no cpu-manager, a bad vCPU id, a snapshot_data byte above 255" {
	mkdir -p "$WORK/s"
	printf '{"snapshots":{},"snapshot_data":null}' >"$WORK/s/state.json"
	rejected s '.snapshots["cpu-manager"]' "no CPU manager"
	gen v39 s pf
	sed -i 's/"cpu-manager":{"snapshots":{"0":/"cpu-manager":{"snapshots":{"x0":/' "$WORK/s/state.json"
	rejected s 'key "x0" is not a vCPU id'
	gen v38 s pf
	sed -i 's/"0":{"snapshots":{},"snapshot_data":\[123,/"0":{"snapshots":{},"snapshot_data":[300,/' \
		"$WORK/s/state.json"
	rejected s '.snapshots["cpu-manager"].snapshots["0"].snapshot_data[0])' "not a byte value"
}

@test "chv malformed --json: error.field is the JSON path, error.offset the byte" {
	GEN_OPTS=(--replace='"vcpu_events":[1,14' --with='"vcpu_events":[1,256')
	gen v39 s pf
	run --separate-stderr "$FREDCK" check --json "$WORK/s"
	assert_equal "$status" 8
	assert_equal "$(jqo .inputs[0].error.field)" \
		'.snapshots["cpu-manager"].snapshots["0"].snapshot_data.state | .Kvm.vcpu_events[1]'
	local off
	off=$(jqo .inputs[0].error.offset)
	assert_equal "$(tail -c +$((off + 1)) "$WORK/s/state.json" | head -c 3)" 256
}

# A short mutation smoke (the sanitizer build runs it too): single bytes
# overwritten with JSON's structural characters, and cuts, all over one
# vCPU's snapshot in both layouts.  Every run ends in 0, 4 or 8, never a
# crash; a run that says malformed writes nothing.
@test "chv malformed: 300 mutated and cut snapshots: exit 0, 4 or 8, never a crash" {
	local l size iter off b st chars=(22 7d 5d 2c 39 2d 5c 78 00 7b 5b 20)
	for l in v39 v38; do
		gen "$l" s pf
		cp "$WORK/s/state.json" "$WORK/good.json"
		size=$(stat -c %s "$WORK/good.json")
		for ((iter = 1; iter <= 120; iter++)); do
			off=$(((iter * 7919 + iter * iter * 31) % size))
			b=${chars[$((iter % ${#chars[@]}))]}
			cp "$WORK/good.json" "$WORK/s/state.json"
			poke "$WORK/s/state.json" "$off" "$b"
			run --separate-stderr "$FREDCK" repair -o "$WORK/out" "$WORK/s"
			st=$status
			[[ $st == 0 || $st == 1 || $st == 4 || $st == 5 || $st == 8 ]] ||
				fail "$l byte $off = 0x$b: exit $st: $stderr"
			[[ "$stderr" != *Sanitizer* && "$stderr" != *"runtime error"* ]] ||
				fail "$l byte $off = 0x$b: $stderr"
			if [ "$st" = 8 ]; then
				[ ! -e "$WORK/out" ] || fail "$l byte $off = 0x$b: exit 8 but $WORK/out written"
			fi
			rm -rf "$WORK/out"
			assert_no_leftovers "$WORK"
		done
		for ((iter = 1; iter <= 30; iter++)); do
			head -c $((size * iter / 31)) "$WORK/good.json" >"$WORK/s/state.json"
			run --separate-stderr "$FREDCK" check "$WORK/s"
			assert_equal "$status" 8
		done
	done
}
