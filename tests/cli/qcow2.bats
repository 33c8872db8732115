#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# qcow2 images whose internal snapshots hold a VM state written by real
# QEMU: a stream made at-risk by tests/qemu/qemu-patch is loaded by QEMU
# (-incoming) with the image attached, and `savevm NAME` writes the state
# into the image itself (tests/qemu/qemu-peer.sh: qemu_savevm).  fredck
# must find in the image exactly what it finds in the plain stream, with
# every cluster layout qemu-img makes; damaged tables are malformed input
# (exit 8, naming the offset and field), and what it cannot read is
# refused naming the feature.  tests/qemu/qcow2-where.py, written from
# QEMU's docs/interop/qcow2.txt apart from fredck's reader, says where to
# damage.

bats_require_minimum_version 1.5.0

# Image layouts: name and qemu-img -o options.
LAYOUTS="c512:cluster_size=512 c4k:cluster_size=4096 c64k:cluster_size=65536
c2m:cluster_size=2M x16k:cluster_size=16384,extended_l2=on
x64k:cluster_size=65536,extended_l2=on x2m:cluster_size=2M,extended_l2=on
r8:refcount_bits=8 v2:compat=0.10"

setup_file() {
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	export TOP_SRCDIR
	export QEMU_PATCH=${QEMU_PATCH:-$TOP_SRCDIR/_build/tests/qemu/qemu-patch}
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	SKIP_REASON=$(qemu_peer_skip_reason debian12)
	if [ -z "$SKIP_REASON" ] && ! command -v qemu-img >/dev/null; then
		SKIP_REASON="qemu-img is not installed (Debian's qemu-utils: scripts/install-deps.sh)"
	fi
	export SKIP_REASON
	[ -z "$SKIP_REASON" ] || return 0
	S="$BATS_FILE_TMPDIR"
	qemu_make_stream debian12 "$S/clean.bin" --machine pc --smp 2 --mem 64
	# vCPU 1: an injected #PF whose fault address survives only in CR2.
	"$QEMU_PATCH" "$S/clean.bin" "$S/risk.bin" 1 'cr4=|0x1000000a0' efer=0xd01 \
		cr0=0x80050033 cr2=0x7f00dead1000 exception_nr=14
	local l name opts
	for l in $LAYOUTS; do
		name=${l%%:*} opts=${l#*:}
		qemu-img create -q -f qcow2 -o "$opts" "$S/$name.qcow2" 16M
		qemu_savevm debian12 "$S/risk.bin" "$S/$name.qcow2" at-risk --machine pc --smp 2 --mem 64
	done
	# Several snapshots: disk only, a clean state, an at-risk state.
	qemu-img create -q -f qcow2 "$S/multi.qcow2" 16M
	qemu-img snapshot -c disk-only "$S/multi.qcow2"
	qemu_savevm debian12 "$S/clean.bin" "$S/multi.qcow2" clean --machine pc --smp 2 --mem 64
	qemu_savevm debian12 "$S/risk.bin" "$S/multi.qcow2" at-risk --machine pc --smp 2 --mem 64
	qemu-img create -q -f qcow2 "$S/nostate.qcow2" 16M
	qemu-img snapshot -c only-disk "$S/nostate.qcow2"
}

setup() {
	load test_helper
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	[ -z "$SKIP_REASON" ] || skip "$SKIP_REASON"
	S="$BATS_FILE_TMPDIR"
	W="$BATS_TEST_TMPDIR"
}

# The vCPUs of check's JSON, for comparing two inputs.
vcpus_of() {
	"$FREDCK" -j check "$1" | jq -c '.inputs[0].vcpus'
}

# where IMAGE NAME: the shell variables of qcow2-where.py.
where() {
	eval "$(python3 "$TOP_SRCDIR/tests/qemu/qcow2-where.py" "$1" "$2" | sed 's/ /=/')"
}

# be64 VALUE: 8 big-endian bytes in hex, for poke.
be64() { printf '%016x' "$1"; }
be32() { printf '%08x' "$1"; }

# damaged NAME OFFSET HEX: a copy of the 64 KiB-cluster image with HEX at OFFSET.
damaged() {
	cp "$S/${4:-c64k}.qcow2" "$W/$1.qcow2"
	poke "$W/$1.qcow2" "$2" "$3"
	cp "$W/$1.qcow2" "$W/$1.before"
}

# malformed NAME TEXT...: check exits 8 naming every TEXT, and wrote nothing.
malformed() {
	local name=$1
	shift
	run --separate-stderr "$FREDCK" check "$W/$name.qcow2"
	assert_equal "$status" 8
	assert_stderr_contains "$@"
	cmp "$W/$name.qcow2" "$W/$name.before"
	assert_equal "$(ls "$W" | grep -c fredck)" 0
}

@test "qcow2: the at-risk vCPU QEMU saved into the image is found exactly as in the stream, every layout" {
	local l name want
	want=$(vcpus_of "$S/risk.bin")
	[ "$(jq -r '.[] | select(.index == 1) | .findings[0].code' <<<"$want")" = FK101 ]
	for l in $LAYOUTS; do
		name=${l%%:*}
		run "$FREDCK" check "$S/$name.qcow2"
		assert_equal "$status" 4
		assert_output --partial "$name.qcow2@at-risk: qcow2"
		assert_equal "$(vcpus_of "$S/$name.qcow2")" "$want"
	done
}

@test "qcow2: the image's layout and the snapshot's facts are shown by inspect" {
	run "$FREDCK" -j inspect "$S/x64k.qcow2"
	assert_success
	jq -e '.inputs[0].facts.qcow2_image | test("version 3, 65536-byte clusters, extended L2")' <<<"$output"
	jq -e '.inputs[0].facts.snapshot | test("^id 1, name .at-risk., [0-9-]+ [0-9:]+ UTC, VM clock [0-9:.]+, state [0-9]+ bytes, disk 16777216 bytes$")' <<<"$output"
	jq -e '.inputs[0].facts.device_description == "present, matches the stream"' <<<"$output"
	run "$FREDCK" -j inspect "$S/r8.qcow2"
	jq -e '.inputs[0].facts.qcow2_image | test("refcount order 3")' <<<"$output"
	run "$FREDCK" -j inspect "$S/v2.qcow2"
	jq -e '.inputs[0].facts.qcow2_image | test("^version 2,")' <<<"$output"
}

@test "qcow2: an image stands for each snapshot with a state; disk-only snapshots are listed, not read" {
	run "$FREDCK" -j inspect "$S/multi.qcow2"
	assert_success
	assert_equal "$(jq -r '[.inputs[].path] | join(" ")' <<<"$output")" \
		"$S/multi.qcow2@clean $S/multi.qcow2@at-risk"
	assert_equal "$(jq -r '.inputs[0].facts.internal_snapshots' <<<"$output")" \
		"3: 1 'disk-only' (disk only); 2 'clean' (VM state); 3 'at-risk' (VM state)"
	run "$FREDCK" check "$S/multi.qcow2"
	assert_equal "$status" 4
	assert_output --partial "multi.qcow2@clean: qcow2"
	assert_output --partial "multi.qcow2@at-risk: qcow2"
}

@test "qcow2: IMAGE@NAME and IMAGE@ID choose one snapshot (QEMU's rule: an id first)" {
	run "$FREDCK" check -q "$S/multi.qcow2@clean"
	assert_success
	run "$FREDCK" check "$S/multi.qcow2@3"
	assert_equal "$status" 4
	assert_output --partial "snapshot 'at-risk'"
	run --separate-stderr "$FREDCK" check "$S/multi.qcow2@nothing"
	assert_equal "$status" 8
	assert_stderr_contains "no internal snapshot with the id or name 'nothing'"
	run --separate-stderr "$FREDCK" check "$S/multi.qcow2@disk-only"
	assert_equal "$status" 8
	assert_stderr_contains "'disk-only' is disk-only: it holds no VM state"
	# diff reads one state of an image against the stream it came from.
	run "$FREDCK" diff "$S/multi.qcow2@at-risk" "$S/risk.bin"
	assert_success
}

@test "qcow2: an image with no VM state is listed with no vCPU, nothing at risk" {
	run "$FREDCK" inspect "$S/nostate.qcow2"
	assert_success
	assert_output --partial "1 internal snapshot, none with a VM state"
	run "$FREDCK" check "$S/nostate.qcow2"
	assert_success
}

@test "qcow2: -r finds the images and their states" {
	mkdir "$W/tree"
	cp "$S/c4k.qcow2" "$S/nostate.qcow2" "$W/tree/"
	run --separate-stderr "$FREDCK" -j check -r "$W/tree"
	assert_equal "$status" 4
	assert_equal "$(jq -r '[.inputs[].path] | join(" ")' <<<"$output")" \
		"$W/tree/c4k.qcow2@at-risk $W/tree/nostate.qcow2"
}

@test "qcow2: QEMU 10.0 and 11.1 write states fredck reads (blockdev-set-active before savevm), and load them repaired in place" {
	local peer n=0
	for peer in trixie sid; do
		[ -z "$(qemu_peer_skip_reason "$peer")" ] || continue
		n=$((n + 1))
		qemu_make_stream "$peer" "$W/$peer.bin" --machine pc --smp 2 --mem 64
		"$QEMU_PATCH" "$W/$peer.bin" "$W/$peer-risk.bin" 1 'cr4=|0x1000000a0' efer=0xd01 \
			cr0=0x80050033 cr2=0x7f00dead1000 exception_nr=14
		qemu-img create -q -f qcow2 -o cluster_size=4096,extended_l2=off "$W/$peer.qcow2" 16M
		qemu_savevm "$peer" "$W/$peer-risk.bin" "$W/$peer.qcow2" at-risk --machine pc --smp 2 --mem 64
		run "$FREDCK" check -q "$W/$peer.qcow2"
		assert_equal "$status" 4
		assert_equal "$(vcpus_of "$W/$peer.qcow2")" "$(vcpus_of "$W/$peer-risk.bin")"
		# Repaired in place, the state loads in the same QEMU and saves repaired.
		run "$FREDCK" repair --in-place "$W/$peer.qcow2@at-risk"
		assert_equal "$status" 1
		run qemu-img check "$W/$peer.qcow2"
		assert_success
		qemu_loadvm_save "$peer" "$W/$peer.qcow2" at-risk "$W/$peer-loaded.bin" --machine pc --smp 2 --mem 64
		run "$FREDCK" check -q "$W/$peer-loaded.bin"
		assert_success
	done
	[ "$n" -gt 0 ] || skip "no QEMU 10.0 or 11.1 chroot: $(qemu_peer_skip_reason trixie)"
}

@test "qcow2: a state larger than the byte source's buffer reads across its edges (16 MiB of guest RAM, 4 KiB clusters)" {
	head -c $((16 << 20)) /dev/urandom >"$W/ram"
	qemu_make_stream debian12 "$W/big.bin" --machine pc --smp 2 --mem 16 --ram-file "$W/ram"
	"$QEMU_PATCH" "$W/big.bin" "$W/big-risk.bin" 1 'cr4=|0x1000000a0' efer=0xd01 \
		cr0=0x80050033 cr2=0x7f00dead1000 exception_nr=14
	[ "$(stat -c %s "$W/big-risk.bin")" -gt $((16 << 20)) ]
	qemu-img create -q -f qcow2 -o cluster_size=4096 "$W/big.qcow2" 16M
	qemu_savevm debian12 "$W/big-risk.bin" "$W/big.qcow2" big --machine pc --smp 2 --mem 16
	run "$FREDCK" check -q "$W/big.qcow2"
	assert_equal "$status" 4
	assert_equal "$(vcpus_of "$W/big.qcow2")" "$(vcpus_of "$W/big-risk.bin")"
	run "$FREDCK" repair "$W/big.qcow2@big" -o "$W/big-fixed.bin"
	assert_equal "$status" 1
	run "$FREDCK" check "$W/big-fixed.bin"
	assert_success
}

@test "qcow2: a damaged header is malformed, naming the offset and field" {
	damaged magic-ok 20 "$(be32 8)"
	malformed magic-ok "byte 20 (cluster_bits)"
	damaged l1 40 "$(be64 $((1 << 40)))"
	malformed l1 "byte 40 (l1_table_offset)" "past the end of the file"
	damaged reftable 56 "$(be32 1000000)"
	malformed reftable "byte 48 (refcount_table_offset)"
	damaged nsnap 60 "$(be32 70000)"
	malformed nsnap "byte 60 (nb_snapshots)"
	damaged snapoff 64 "$(be64 $((1 << 40)))"
	malformed snapoff "byte 64 (snapshots_offset)"
	damaged hlen 100 "$(be32 100)"
	malformed hlen "byte 100 (header_length)"
}

@test "qcow2: a damaged snapshot table is malformed, naming the offset and field" {
	where "$S/c64k.qcow2" at-risk
	damaged extra $((entry + 36)) "$(be32 4096)"
	malformed extra "byte $((entry + 36)) (snapshot extra_data_size)"
	damaged sl1 "$entry" "$(be64 $((1 << 40)))"
	malformed sl1 "byte $entry (snapshot l1_table_offset)"
	# A state larger than the snapshot's L1 table covers.
	damaged big $((entry + 40)) "$(be64 $((1 << 50)))"
	malformed big "byte $((entry + 32)) (vm_state_size)"
}

@test "qcow2: L1 and L2 entries beyond the file, overlapping or looping are malformed" {
	where "$S/c64k.qcow2" at-risk
	damaged l1far "$l1_entry" "$(be64 $((1 << 40)))"
	malformed l1far "byte $l1_entry (L2 table)" "past the end of the file"
	# The L2 table is the snapshot's own L1 table: a loop.
	damaged l1loop "$l1_entry" "$(be64 "$l1")"
	malformed l1loop "byte $l1_entry (L2 table)" "overlaps the snapshot L1 table" "loop or overlap"
	damaged l1res "$l1_entry" "$(be64 $((l2 | 1)))"
	malformed l1res "byte $l1_entry (L1 entry)" "reserved bits"
	damaged l2far "$l2_entry" "$(be64 $((1 << 40)))"
	malformed l2far "byte $l2_entry (L2 entry)" "past the end of the file"
	# A data cluster that is the L2 table itself.
	damaged l2loop "$l2_entry" "$(be64 "$l2")"
	malformed l2loop "(data cluster)" "overlaps the L2 table"
	# A data cluster that is the snapshot table.
	damaged l2snap "$l2_entry" "$(be64 "$snapshots_offset")"
	malformed l2snap "data cluster" "snapshot table" "loop or overlap"
	# Two L1 entries share one L2 table (512-byte clusters: the state needs many).
	where "$S/c512.qcow2" at-risk
	[ "$l1_entry2" -ne 0 ]
	damaged l1twice "$l1_entry2" "$(be64 "$l2")" c512
	malformed l1twice "byte $l1_entry2 (L2 table)" "overlaps the L2 table"
}

@test "qcow2: compressed clusters, encryption, an external data file and unknown features are refused by name" {
	where "$S/c64k.qcow2" at-risk
	damaged comp "$l2_entry" "$(be64 $(((1 << 62) | data)))"
	malformed comp "byte $l2_entry (L2 entry)" "compressed cluster"
	damaged luks 32 "$(be32 2)"
	malformed luks "encryption" "LUKS"
	damaged datafile 72 "$(be64 4)"
	malformed datafile "external data file"
	damaged unknown 72 "$(be64 $((1 << 9)))"
	malformed unknown "unknown incompatible feature bit 9"
	damaged version 4 "$(be32 4)"
	malformed version "qcow2 version 4"
}

# in_place NAME: a copy of the image NAME in $W repaired in place (exit 1),
# auto choosing drop and saying so; the undo file beside it.
in_place() {
	cp "$S/$1.qcow2" "$W/$1.qcow2"
	run --separate-stderr "$FREDCK" repair --in-place "$W/$1.qcow2@at-risk"
	assert_equal "$status" 1
	assert_stderr_contains "vCPU 1: in place, auto chose drop" "cpu/exception_info"
	[ -f "$W/$1.qcow2.fredck-undo-1" ]
}

# untouched NAME: the image in $W is still its copy in $S, and no undo file was left.
untouched() {
	cmp "$W/$1.qcow2" "$S/$1.qcow2"
	assert_equal "$(ls -a "$W" | grep -c fredck)" 0
}

@test "qcow2: repair --in-place writes only the state's changed bytes; qemu-img check finds no error or leak; QEMU loads it and saves it repaired; undo restores it byte for byte" {
	local name changed
	for name in c4k x64k c2m r8 v2; do
		in_place "$name"
		# exception_nr (4 bytes) is all that differs: nothing else of the image moved.
		changed=$(cmp -l "$W/$name.qcow2" "$S/$name.qcow2" | wc -l)
		[ "$changed" -ge 1 ] && [ "$changed" -le 4 ] || fail "$name: $changed bytes changed"
		run qemu-img check "$W/$name.qcow2"
		assert_success
		assert_output --partial "No errors were found on the image."
		run "$FREDCK" check -q "$W/$name.qcow2"
		assert_success
		cp "$W/$name.qcow2" "$W/$name.undone"
		run "$FREDCK" undo "$W/$name.qcow2.fredck-undo-1" "$W/$name.undone"
		assert_success
		assert_output --partial "1 cluster restored"
		cmp "$W/$name.undone" "$S/$name.qcow2"
	done
	# What QEMU restores from the repaired image, saved again: nothing at risk,
	# vCPU 1's #PF dropped (re-execution raises it again).
	for name in c4k x64k c2m; do
		qemu_loadvm_save debian12 "$W/$name.qcow2" at-risk "$W/$name-loaded.bin" --machine pc --smp 2 --mem 64
		run "$FREDCK" -j check "$W/$name-loaded.bin"
		assert_success
		assert_equal "$(jq -r '.inputs[0].vcpus[] | select(.index == 1) | .exception.state' <<<"$output")" none
	done
	# The same from the image as QEMU saved it: still at risk (the proof can fail).
	cp "$S/c4k.qcow2" "$W/control.qcow2"
	qemu_loadvm_save debian12 "$W/control.qcow2" at-risk "$W/control.bin" --machine pc --smp 2 --mem 64
	run "$FREDCK" check -q "$W/control.bin"
	assert_equal "$status" 4
}

@test "qcow2: undo puts the image back in place, and again is a no-op" {
	in_place c64k
	run "$FREDCK" undo "$W/c64k.qcow2.fredck-undo-1"
	assert_success
	assert_output --partial "c64k.qcow2: 1 cluster restored"
	cmp "$W/c64k.qcow2" "$S/c64k.qcow2"
	run "$FREDCK" undo "$W/c64k.qcow2.fredck-undo-1"
	assert_success
	assert_output --partial "0 clusters restored"
	assert_output --partial "already held the original bytes"
	run "$FREDCK" check -q "$W/c64k.qcow2"
	assert_equal "$status" 4
}

@test "qcow2: undo refuses another image, a cluster changed since, a damaged undo file" {
	local u
	in_place c4k
	u="$W/c4k.qcow2.fredck-undo-1"
	cp "$S/x64k.qcow2" "$W/other.qcow2"
	run --separate-stderr "$FREDCK" undo "$u" "$W/other.qcow2"
	assert_equal "$status" 8
	assert_stderr_contains "not the same image"
	cmp "$W/other.qcow2" "$S/x64k.qcow2"
	# The repaired bytes overwritten by someone else: neither repair nor original.
	cp "$W/c4k.qcow2" "$W/moved.qcow2"
	poke "$W/moved.qcow2" "$(cmp -l "$W/c4k.qcow2" "$S/c4k.qcow2" | awk 'NR == 1 { print $1 - 1 }')" 42
	cp "$W/moved.qcow2" "$W/moved.before"
	run --separate-stderr "$FREDCK" undo "$u" "$W/moved.qcow2"
	assert_equal "$status" 8
	assert_stderr_contains "changed since the repair" "nothing restored"
	cmp "$W/moved.qcow2" "$W/moved.before"
	cp "$u" "$W/damaged-undo"
	poke "$W/damaged-undo" 100 ff
	run --separate-stderr "$FREDCK" undo "$W/damaged-undo" "$W/c4k.qcow2"
	assert_equal "$status" 8
	assert_stderr_contains "damaged"
	run "$FREDCK" check -q "$W/c4k.qcow2"
	assert_success
}

@test "qcow2: in place, an explicit pending that would grow the state is refused, the image untouched" {
	cp "$S/c4k.qcow2" "$W/c4k.qcow2"
	run --separate-stderr "$FREDCK" repair --in-place --strategy=pending "$W/c4k.qcow2@at-risk"
	assert_equal "$status" 12 # an error, and the at-risk vCPU left
	assert_stderr_contains "pending would insert the cpu/exception_info subsection" \
		"-o FILE writes the repaired state"
	untouched c4k
}

@test "qcow2: --in-place --dry-run previews the in-place plan (drop where pending would grow the state) and writes nothing" {
	cp "$S/c4k.qcow2" "$W/c4k.qcow2"
	run --separate-stderr "$FREDCK" repair --in-place --dry-run "$W/c4k.qcow2@at-risk"
	assert_equal "$status" 4
	assert_stderr_contains "vCPU 1: in place, auto chose drop" "cpu/exception_info"
	assert_output --partial "would repair (dry run): drop: #PF"
	untouched c4k
	run --separate-stderr "$FREDCK" repair --in-place --dry-run --strategy=pending "$W/c4k.qcow2@at-risk"
	assert_equal "$status" 4
	assert_stderr_contains "vCPU 1: in place, this plan would be refused"
	untouched c4k
	# the plain preview is -o's plan: pending
	run --separate-stderr "$FREDCK" repair --dry-run "$W/c4k.qcow2@at-risk"
	assert_equal "$status" 4
	assert_output --partial "would repair (dry run): pending: #PF"
	run --separate-stderr "$FREDCK" repair --in-place --dry-run --no-backup "$W/c4k.qcow2@at-risk"
	assert_equal "$status" 16
	assert_stderr_contains "--dry-run writes nothing"
	untouched c4k
}

@test "qcow2: in place, an image QEMU holds open (its image locks) is refused, as qemu-img refuses it" {
	local pid i
	cp "$S/c4k.qcow2" "$W/c4k.qcow2"
	qemu-system-x86_64 -accel tcg -nodefaults -display none -S -machine pc -m 64 \
		-drive "file=$W/c4k.qcow2,format=qcow2,if=none,id=d" 3>&- &
	pid=$!
	for i in $(seq 100); do
		qemu-img info "$W/c4k.qcow2" >/dev/null 2>&1 || break
		sleep 0.1
	done
	run --separate-stderr "$FREDCK" repair --in-place "$W/c4k.qcow2@at-risk"
	kill "$pid"
	wait "$pid" || true
	assert_equal "$status" 12
	assert_stderr_contains "the image is in use" "QEMU's image lock"
	untouched c4k
}

@test "qcow2: in place, a state whose clusters the active image shares (after loadvm) is refused, naming the cluster" {
	cp "$S/c4k.qcow2" "$W/c4k.qcow2"
	# loadvm points the active L1 table at the snapshot's clusters: refcount 2.
	qemu_loadvm_save debian12 "$W/c4k.qcow2" at-risk "$W/loaded.bin" --machine pc --smp 2 --mem 64
	cp "$W/c4k.qcow2" "$W/c4k.before"
	run --separate-stderr "$FREDCK" repair --in-place "$W/c4k.qcow2@at-risk"
	assert_equal "$status" 12
	assert_stderr_contains "has refcount 2" "another snapshot or the active image shares it"
	cmp "$W/c4k.qcow2" "$W/c4k.before"
	assert_equal "$(ls -a "$W" | grep -c fredck)" 0
}

@test "qcow2: SIGTERM while the undo file is being written leaves no temporary, no undo file and the image untouched (exit 32)" {
	command -v strace >/dev/null || skip "strace is not installed (scripts/install-deps.sh installs it)"
	cp "$S/c4k.qcow2" "$W/c4k.qcow2"
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" # traced: no LSan
	# The first fsync is the undo file's: held 3 s, so the signal finds it being written.
	env --default-signal=TERM strace -f -qq -o /dev/null -e trace=fsync \
		-e inject=fsync:delay_enter=3000000:when=1 \
		"$FREDCK" repair --in-place "$W/c4k.qcow2@at-risk" >"$W/out" 2>"$W/err" &
	local pid=$! st=0 i
	for i in $(seq 50); do
		[ -n "$(find "$W" -name '*fredck*')" ] && break
		sleep 0.1
	done
	[ -n "$(find "$W" -name '*fredck*')" ] || fail "the undo file's temporary never appeared"
	pkill -TERM -P "$pid" -x fredck || true
	wait "$pid" || st=$?
	[ "$st" -eq 32 ] || fail "status $st: $(cat "$W/err")"
	grep -q 'interrupted by SIGTERM' "$W/err" || fail "$(cat "$W/err")"
	untouched c4k
}

@test "qcow2: in place, an earlier undo file is never replaced" {
	in_place c4k
	cp "$S/c4k.qcow2" "$W/c4k.qcow2"
	run --separate-stderr "$FREDCK" repair --in-place "$W/c4k.qcow2@at-risk"
	assert_equal "$status" 12
	assert_stderr_contains "an undo file of an earlier repair exists"
	cmp "$W/c4k.qcow2" "$S/c4k.qcow2"
}

@test "qcow2: repair -o FILE writes the repaired state as a plain stream that QEMU loads; the image only read" {
	local l name
	for l in c4k x64k c2m; do
		name=${l%%:*}
		cp "$S/$name.qcow2" "$W/$name.qcow2"
		run "$FREDCK" repair "$W/$name.qcow2@at-risk" -o "$W/$name.bin"
		assert_equal "$status" 1
		cmp "$W/$name.qcow2" "$S/$name.qcow2"
		assert_equal "$(ls -a "$W" | grep -c fredck)" 0
		run "$FREDCK" -j check "$W/$name.bin"
		assert_success
		assert_equal "$(jq -r '.inputs[0].vcpus[] | select(.index == 1) | .exception.payload' <<<"$output")" \
			"0x00007f00dead1000"
	done
	run qemu_load_stream debian12 "$W/c4k.bin" --machine pc --smp 2 --mem 64
	assert_success
}
