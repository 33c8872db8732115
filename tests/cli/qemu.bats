#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# QEMU migration streams, made by real QEMU (Debian 12's 7.2 under TCG, and
# the newer QEMU of the chroots where they exist), turned at-risk by
# tests/qemu/qemu-patch, checked and repaired by fredck, and loaded back by
# the same QEMU: it must accept every repaired stream of its own shape.

bats_require_minimum_version 1.5.0

setup_file() {
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	export TOP_SRCDIR
	export QEMU_PATCH=${QEMU_PATCH:-$TOP_SRCDIR/_build/tests/qemu/qemu-patch}
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	# FREDCK_QEMU_PEER=host: the autopkgtest "qemu" runs the tests meant
	# for Debian 12's QEMU with the QEMU of its testbed (Debian 13's too).
	export PEER=${FREDCK_QEMU_PEER:-debian12}
	SKIP_REASON=$(qemu_peer_skip_reason "$PEER")
	export SKIP_REASON
	[ -z "$SKIP_REASON" ] || return 0
	S="$BATS_FILE_TMPDIR"
	qemu_make_stream "$PEER" "$S/pc.bin" --machine pc --smp 2 --mem 64
	qemu_make_stream "$PEER" "$S/pc-novmdesc.bin" --machine pc --smp 2 --mem 64 --suppress-vmdesc
	qemu_make_stream "$PEER" "$S/q35.bin" --machine q35 --smp 2 --mem 64
}

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	FREDCK=${FREDCK:-$TOP_SRCDIR/_build/fredck}
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	[ -z "$SKIP_REASON" ] || skip "$SKIP_REASON"
	S="$BATS_FILE_TMPDIR"
	W="$BATS_TEST_TMPDIR"
}

# A FRED vCPU in IA-32e mode with an injected exception: patch IN into OUT.
# at_risk IN OUT VCPU NR [more FIELD=VALUE ...]
at_risk() {
	local in=$1 out=$2 vcpu=$3 nr=$4
	shift 4
	"$QEMU_PATCH" "$in" "$out" "$vcpu" 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr="$nr" "$@"
}

jq_vcpu() { # JSON VCPU FILTER
	jq -r ".inputs[0].vcpus[] | select(.index == $2) | $3" <<<"$1"
}

described() { # FILE: its description sizes every section of the stream
	run "$FREDCK" -j inspect "$1"
	assert_equal "$(jq -r '.inputs[0].facts.device_description' <<<"$output")" \
		"present, matches the stream"
}

load_ok() { # FILE [qemu shape options]
	run qemu_load_stream "$PEER" "$@"
	assert_success
}

@test "qemu: a clean stream from real QEMU checks clean (exit 0), 2 vCPUs, machine named" {
	run "$FREDCK" check -j "$S/pc.bin"
	assert_equal "$status" 0
	assert_equal "$(jq -r '.inputs[0].format' <<<"$output")" qemu
	assert_equal "$(jq -r '.inputs[0].vcpus | length' <<<"$output")" 2
	run "$FREDCK" inspect "$S/pc.bin"
	assert_success
	assert_output --regexp "machine +pc-i440fx-"
	assert_output --partial "present, matches the stream"
}

@test "qemu: q35 and suppress-vmdesc streams read; the description's absence is reported" {
	run "$FREDCK" check "$S/q35.bin" "$S/pc-novmdesc.bin"
	assert_equal "$status" 0
	# Issue 14: a pipe's description is read too, so only suppress-vmdesc lacks one.
	run "$FREDCK" -j inspect "$S/pc-novmdesc.bin"
	assert_equal "$(jq -r '.inputs[0].facts.device_description' <<<"$output")" \
		"absent (suppress-vmdesc): sections located by scanning their footers, the device state has one reading (FK304)"
	# The same through a pipe, which holds the device state as a file now does.
	run bash -c '"$1" -j inspect - <"$2"' _ "$FREDCK" "$S/pc-novmdesc.bin"
	assert_equal "$(jq -r '.inputs[0].facts.device_description' <<<"$output")" \
		"absent (suppress-vmdesc): sections located by scanning their footers, the device state has one reading (FK304)"
}

@test "qemu: #PF without error code: FK101, pending from CR2; repaired stream loads in QEMU" {
	at_risk "$S/pc.bin" "$W/pf.bin" 1 14 cr2=0x7f3a1c2e5008
	run "$FREDCK" check -j "$W/pf.bin"
	assert_equal "$status" 4
	assert_equal "$(jq_vcpu "$output" 1 '[.findings[0].code, .cause, .event_data.value, .repair.action] | @tsv')" \
		"$(printf 'FK101\tqemu-pre-save\t0x00007f3a1c2e5008\tpending')"
	run "$FREDCK" repair "$W/pf.bin" -o "$W/out.bin"
	assert_equal "$status" 1
	run "$FREDCK" check "$W/out.bin"
	assert_equal "$status" 0
	run "$FREDCK" -j inspect "$W/out.bin"
	assert_equal "$(jq_vcpu "$output" 1 '.exception | [.state, .payload] | @tsv')" \
		"$(printf 'pending\t0x00007f3a1c2e5008')"
	load_ok "$W/out.bin" --machine pc --smp 2 --mem 64
}

@test "qemu: bytes before the edited cpu section are identical; the description still matches" {
	at_risk "$S/pc.bin" "$W/pf.bin" 1 14 cr2=0x7f3a1c2e5008
	"$FREDCK" repair "$W/pf.bin" -o "$W/out.bin" >/dev/null || [ $? -eq 1 ]
	# vCPU 1's section starts after vCPU 0's; everything up to it is untouched.
	first=$(cmp "$W/pf.bin" "$W/out.bin" | sed -n 's/.* byte \([0-9]*\),.*/\1/p')
	[ -n "$first" ]
	run cmp -n $((first - 1)) "$W/pf.bin" "$W/out.bin"
	assert_success
	run "$FREDCK" -j inspect "$W/out.bin"
	assert_equal "$(jq -r '.inputs[0].facts.device_description' <<<"$output")" \
		"present, matches the stream"
}

@test "qemu: #PF with an error code QEMU 7.2 does not carry: FK303, drop; loads, exception gone" {
	at_risk "$S/pc.bin" "$W/pf.bin" 0 14 cr2=0x7f3a1c2e5008 has_error_code=1
	run "$FREDCK" check -j "$W/pf.bin"
	assert_equal "$status" 4
	assert_equal "$(jq_vcpu "$output" 0 '[.findings[].code] | join(",")')" "FK101,FK303,FK302"
	assert_equal "$(jq_vcpu "$output" 0 .repair.action)" drop
	run "$FREDCK" repair "$W/pf.bin" -o "$W/out.bin"
	assert_equal "$status" 1
	run "$FREDCK" -j inspect "$W/out.bin"
	assert_equal "$(jq_vcpu "$output" 0 '.exception.state')" none
	load_ok "$W/out.bin" --machine pc --smp 2 --mem 64
}

@test "qemu: a stream without description: repair refused without --force (exit 4, FK304); with --force #PF repaired by pending, loads" {
	at_risk "$S/pc-novmdesc.bin" "$W/pf.bin" 0 14 cr2=0x55d0c4a3f7c0
	# Issue 14: what a scan finds, guest data can forge.
	run "$FREDCK" repair "$W/pf.bin" -o "$W/out.bin"
	assert_equal "$status" 4
	assert_output --partial "FK304"
	assert_output --partial "found by scanning"
	# Nothing repaired: the copy -o asked for is the input, byte for byte.
	run cmp "$W/pf.bin" "$W/out.bin"
	assert_success
	rm "$W/out.bin"
	run "$FREDCK" repair --force "$W/pf.bin" -o "$W/out.bin"
	assert_equal "$status" 1
	run "$FREDCK" check "$W/out.bin"
	assert_equal "$status" 0
	load_ok "$W/out.bin" --machine pc,suppress-vmdesc=on --smp 2 --mem 64
}

@test "qemu: #DB whose DR6 holds QEMU's raw payload: dr6-raw-payload, exact, pending; loads" {
	at_risk "$S/pc.bin" "$W/db.bin" 0 1 dr6=0x4002
	run "$FREDCK" check -j "$W/db.bin"
	assert_equal "$(jq_vcpu "$output" 0 '.event_data | [.value, .provenance, .confidence] | @tsv')" \
		"$(printf '0x0000000000004002\tdr6-raw-payload\texact')"
	run "$FREDCK" repair "$W/db.bin" -o "$W/out.bin"
	assert_equal "$status" 1
	load_ok "$W/out.bin" --machine pc --smp 2 --mem 64
}

@test "qemu: #NM via XFD (cpu/msr_xfd, AMX in XCR0): event data = XFD_ERR" {
	at_risk "$S/pc-novmdesc.bin" "$W/nm.bin" 0 7 xcr0=0x60007 \
		'+sub:cpu/msr_xfd=00000000000400000000000000040000'
	run "$FREDCK" check -j "$W/nm.bin"
	assert_equal "$status" 4
	assert_equal "$(jq_vcpu "$output" 0 '.event_data | [.value, .provenance] | @tsv')" \
		"$(printf '0x0000000000040000\txfd_err')"
}

@test "qemu: nested guest mode (hflags.HF_GUEST): FK301, left at risk, --in-place writes nothing" {
	at_risk "$S/pc.bin" "$W/nested.bin" 0 14 cr2=0x1000 'hflags=|0x200000'
	sum=$(sha256sum <"$W/nested.bin")
	run "$FREDCK" repair "$W/nested.bin" --in-place
	assert_equal "$status" 4
	assert_output --partial FK301
	assert_equal "$(sha256sum <"$W/nested.bin")" "$sum"
	[ ! -e "$W/nested.bin.orig" ]
}

@test "qemu: --in-place: the backup is the original, byte for byte; the repair loads" {
	at_risk "$S/pc.bin" "$W/pf.bin" 1 14 cr2=0x7f3a1c2e5008
	cp "$W/pf.bin" "$W/orig.bin"
	run "$FREDCK" repair "$W/pf.bin" --in-place
	assert_equal "$status" 1
	run cmp "$W/pf.bin.orig" "$W/orig.bin"
	assert_success
	run "$FREDCK" check "$W/pf.bin"
	assert_equal "$status" 0
	load_ok "$W/pf.bin" --machine pc --smp 2 --mem 64
	run "$FREDCK" repair "$W/pf.bin" --in-place
	assert_equal "$status" 0
	run ls -a "$W"
	refute_output --partial fredck-
}

@test "qemu: a second repair changes nothing: -o of a repaired stream is byte-identical" {
	at_risk "$S/pc.bin" "$W/pf.bin" 1 14 cr2=0x7f3a1c2e5008
	run "$FREDCK" repair "$W/pf.bin" -o "$W/once.bin"
	[ "$status" -eq 1 ] || fail "first repair: exit $status: $output"
	run "$FREDCK" repair "$W/once.bin" -o "$W/twice.bin"
	[ "$status" -eq 0 ] || fail "second repair: exit $status: $output"
	run cmp "$W/once.bin" "$W/twice.bin"
	assert_success
}

@test "qemu: repair - -o - gives the same bytes as repair -o FILE; the report goes to stderr" {
	at_risk "$S/pc.bin" "$W/pf.bin" 1 14 cr2=0x7f3a1c2e5008
	"$FREDCK" repair "$W/pf.bin" -o "$W/file.bin" >/dev/null || [ $? -eq 1 ]
	run bash -c '"$1" repair - -o - <"$2" >"$3" 2>"$4"' _ "$FREDCK" "$W/pf.bin" "$W/pipe.bin" "$W/err"
	assert_equal "$status" 1
	run cmp "$W/file.bin" "$W/pipe.bin"
	assert_success
	run cat "$W/err"
	assert_output --partial "FK101"
	assert_output --partial "wrote (standard output)"
}

@test "qemu: QEMU migrates through the filter (exec:fredck repair - -o - > FILE) and loads the result" {
	run qemu_make_stream "$PEER" "$W/through.bin" --machine pc --smp 2 --mem 64 \
		--via "$FREDCK repair - -o -"
	assert_success
	run "$FREDCK" check "$W/through.bin"
	assert_equal "$status" 0
	load_ok "$W/through.bin" --machine pc --smp 2 --mem 64
}

@test "qemu: the filter stops on a truncated stream: exit 8, output a prefix of the repair" {
	at_risk "$S/pc.bin" "$W/pf.bin" 1 14 cr2=0x7f3a1c2e5008
	"$FREDCK" repair "$W/pf.bin" -o "$W/full.bin" >/dev/null || [ $? -eq 1 ]
	size=$(stat -c %s "$W/pf.bin")
	head -c $((size - 5000)) "$W/pf.bin" >"$W/cut.bin"
	run bash -c '"$1" repair - -o - <"$2" >"$3"' _ "$FREDCK" "$W/cut.bin" "$W/cut.out"
	assert_equal "$status" 8
	run cmp -n "$(stat -c %s "$W/cut.out")" "$W/cut.out" "$W/full.bin"
	assert_success
}

@test "qemu: truncation anywhere is malformed: exit 8, the byte offset named, nothing written" {
	at_risk "$S/pc.bin" "$W/pf.bin" 1 14 cr2=0x7f3a1c2e5008
	size=$(stat -c %s "$W/pf.bin")
	for cut in 3 8 20 100 4000 $((size / 2)) $((size - 200000)) $((size - 50)) $((size - 1)); do
		head -c "$cut" "$W/pf.bin" >"$W/cut.bin"
		run --separate-stderr "$FREDCK" repair "$W/cut.bin" -o "$W/cut.out"
		[ "$status" -eq 8 ] || fail "cut at $cut: exit $status"
		if [ "$cut" -lt 4 ]; then # not even the magic: no format to name
			[[ "$stderr" == *"no known format"* ]] || fail "cut at $cut: $stderr"
		else
			[[ "$stderr" == *"byte "* ]] || fail "cut at $cut: no offset in: $stderr"
		fi
		[ ! -e "$W/cut.out" ] || fail "cut at $cut: output written"
	done
}

@test "qemu: a corrupted section footer is malformed (exit 8, 'section footer')" {
	# The first cpu section's footer: 7e + its section id, after the main fields.
	at_risk "$S/pc.bin" "$W/pf.bin" 0 14 cr2=0x1000
	off=$(grep -obUaP '\x04[\x00-\xff]{4}\x03cpu\x00\x00\x00\x00\x00\x00\x00\x0c' "$W/pf.bin" | head -1 | cut -d: -f1)
	[ -n "$off" ]
	# Corrupt a byte just after the main fields, where a subsection or the footer begins.
	printf '\x99' | dd of="$W/pf.bin" bs=1 seek=$((off + 17 + 1817)) conv=notrunc status=none
	run --separate-stderr "$FREDCK" check "$W/pf.bin"
	assert_equal "$status" 8
	[[ "$stderr" == *"section footer"* ]] || fail "$stderr"
}

@test "qemu: exception vector 40 is malformed: the kernel rejects it (exit 8, env.exception_nr)" {
	at_risk "$S/pc.bin" "$W/bad.bin" 0 40
	run --separate-stderr "$FREDCK" check "$W/bad.bin"
	assert_equal "$status" 8
	[[ "$stderr" == *"(env.exception_nr)"* ]] || fail "$stderr"
}

@test "qemu: inserted subsections are described too: #NM via cpu/msr_xfd with a description; repaired, the description still matches; loads" {
	at_risk "$S/pc.bin" "$W/nm.bin" 0 7 xcr0=0x60007 \
		'+sub:cpu/msr_xfd=00000000000400000000000000040000'
	described "$W/nm.bin"
	run "$FREDCK" -j check "$W/nm.bin"
	assert_equal "$status" 4
	assert_equal "$(jq_vcpu "$output" 0 '.event_data | [.value, .provenance] | @tsv')" \
		"$(printf '0x0000000000040000\txfd_err')"
	run "$FREDCK" repair "$W/nm.bin" -o "$W/out.bin"
	assert_equal "$status" 1
	run "$FREDCK" -j check "$W/out.bin"
	assert_equal "$status" 0
	described "$W/out.bin"
	load_ok "$W/out.bin" --machine pc --smp 2 --mem 64
}

@test "qemu: an unknown cpu subsection the description sizes is stepped over and kept" {
	at_risk "$S/pc.bin" "$W/unk.bin" 1 14 cr2=0x7f3a1c2e5008 \
		'+sub:cpu/not_a_real_one=0102030405'
	described "$W/unk.bin"
	run "$FREDCK" -j check "$W/unk.bin"
	assert_equal "$status" 4
	run "$FREDCK" repair "$W/unk.bin" -o "$W/out.bin"
	assert_equal "$status" 1
	# Its header (version 1) and body, as inserted.
	run grep -c -a -P 'cpu/not_a_real_one\x00\x00\x00\x01\x01\x02\x03\x04\x05' "$W/out.bin"
	assert_output 1
	run "$FREDCK" -j check "$W/out.bin"
	assert_equal "$status" 0
	described "$W/out.bin"
}

@test "qemu: subsections in another order than QEMU writes are read, as QEMU 7.2 loads them; a repeated one is malformed (QEMU would load both)" {
	at_risk "$S/pc-novmdesc.bin" "$W/order.bin" 0 7 xcr0=0x60007 \
		'+sub:cpu/msr_xfd=00000000000400000000000000040000' \
		'+sub:cpu/exception_info=0100010000000000040000'
	run "$FREDCK" -j check "$W/order.bin"
	assert_equal "$status" 0
	assert_equal "$(jq_vcpu "$output" 0 '.exception.state')" pending
	load_ok "$W/order.bin" --machine pc --smp 2 --mem 64
	at_risk "$S/pc-novmdesc.bin" "$W/twice.bin" 0 7 xcr0=0x60007 \
		'+sub:cpu/msr_xfd=00000000000400000000000000040000' \
		'+sub:cpu/msr_xfd=00000000000000000000000000000000'
	# QEMU itself takes it (the second wins) ...
	load_ok "$W/twice.bin" --machine pc --smp 2 --mem 64
	# ... but which one a repair would have to match is not knowable.
	run --separate-stderr "$FREDCK" repair "$W/twice.bin" -o "$W/out.bin"
	assert_equal "$status" 8
	[[ "$stderr" == *"(cpu/msr_xfd): cpu/msr_xfd a second time in cpu 0"* ]] || fail "$stderr"
	[ ! -e "$W/out.bin" ]
}

@test "qemu: an unknown cpu subsection without a description is an error naming it, not a guess" {
	at_risk "$S/pc-novmdesc.bin" "$W/unk.bin" 0 14 '+sub:cpu/not_a_real_one=0102030405'
	run --separate-stderr "$FREDCK" check "$W/unk.bin"
	assert_equal "$status" 8
	[[ "$stderr" == *"cpu/not_a_real_one"* ]] || fail "$stderr"
}

@test "qemu: every newer QEMU peer: a #PF stream repaired by fredck loads in that QEMU" {
	local peer ran=0
	for peer in $(qemu_peer_list | awk '{print $1}'); do
		[ "$peer" != debian12 ] || continue
		[ -z "$(qemu_peer_skip_reason "$peer")" ] || continue
		qemu_make_stream "$peer" "$W/$peer.bin" --machine pc --smp 2 --mem 64
		at_risk "$W/$peer.bin" "$W/$peer-pf.bin" 1 14 cr2=0x7f3a1c2e5008
		run "$FREDCK" repair "$W/$peer-pf.bin" -o "$W/$peer-out.bin"
		assert_equal "$status" 1
		run qemu_load_stream "$peer" "$W/$peer-out.bin" --machine pc --smp 2 --mem 64
		assert_success
		ran=$((ran + 1))
	done
	[ "$ran" -gt 0 ] || skip "no newer QEMU peer here: $(qemu_peer_skip_reason trixie)"
}

@test "qemu: every peer, pc and q35, 1 and 4 vCPUs, with and without description: only the patched last vCPU is at risk; the repair loads" {
	local peer machine smp desc last opts force
	for peer in $(qemu_peer_list | awk '{print $1}'); do
		for machine in pc q35; do
			for smp in 1 4; do
				for desc in on off; do
					opts=(--machine "$machine" --smp "$smp" --mem 64)
					f="$W/$peer-$machine-$smp-$desc"
					if [ "$desc" = on ]; then
						qemu_make_stream "$peer" "$f.bin" "${opts[@]}"
					else
						qemu_make_stream "$peer" "$f.bin" "${opts[@]}" --suppress-vmdesc
					fi
					last=$((smp - 1))
					at_risk "$f.bin" "$f-pf.bin" "$last" 14 cr2=0x7f3a1c2e5008
					run "$FREDCK" -j check "$f-pf.bin"
					assert_equal "$status" 4
					assert_equal "$(jq -r '.inputs[0].vcpus | length' <<<"$output")" "$smp"
					assert_equal "$(jq -r '[.inputs[0].vcpus[] | select(.at_risk) | .index] | @tsv' <<<"$output")" "$last"
					# Without a description, only --force repairs (issue 14).
					force=()
					[ "$desc" = on ] || force=(--force)
					run "$FREDCK" repair "${force[@]}" "$f-pf.bin" -o "$f-out.bin"
					assert_equal "$status" 1
					run qemu_load_stream "$peer" "$f-out.bin" "${opts[@]}"
					assert_success
				done
			done
		done
	done
}

@test "qemu: mapped-ram (QEMU 9.0+): repaired with its holes kept, loaded by that QEMU; not filterable" {
	local peer ran=0 in_kib out_kib
	for peer in trixie sid; do
		[ -z "$(qemu_peer_skip_reason "$peer")" ] || continue
		qemu_make_stream "$peer" "$W/$peer-mr.bin" --mode mapped-ram --run-ms 300
		at_risk "$W/$peer-mr.bin" "$W/$peer-pf.tmp" 1 14 cr2=0x7f3a1c2e5008
		cp --sparse=always "$W/$peer-pf.tmp" "$W/$peer-pf.bin"
		run "$FREDCK" -j inspect "$W/$peer-pf.bin"
		assert_equal "$(jq -r '.inputs[0].facts.layout' <<<"$output")" mapped-ram
		run "$FREDCK" repair "$W/$peer-pf.bin" -o "$W/$peer-out.bin"
		assert_equal "$status" 1
		# Holes stay holes: the copy allocates about what the input does.
		in_kib=$(du -k "$W/$peer-pf.bin" | cut -f1)
		out_kib=$(du -k "$W/$peer-out.bin" | cut -f1)
		[ "$out_kib" -le $((in_kib + 256)) ] || fail "$peer: ${out_kib} KiB allocated, input ${in_kib}"
		run qemu_load_stream "$peer" "$W/$peer-out.bin" --mode mapped-ram
		assert_success
		run --separate-stderr "$FREDCK" repair "$W/$peer-pf.bin" -o -
		assert_equal "$status" 8
		[[ "$stderr" == *"mapped-ram stream must be read from a file"* ]] || fail "$stderr"
		ran=$((ran + 1))
	done
	[ "$ran" -gt 0 ] || skip "no QEMU 9.0+ peer here: $(qemu_peer_skip_reason trixie)"
}

@test "qemu: cpu/error_code as the newest QEMU writes it (re-saved from a has_error_code=1 stream): no FK303, pending keeps the code, drop removes it and its description; QEMU loads both" {
	local peer=sid
	[ -z "$(qemu_peer_skip_reason "$peer")" ] || skip "$(qemu_peer_skip_reason "$peer")"
	qemu_make_stream "$peer" "$W/sid.bin"
	# The patcher's subsection gets QEMU to hold error code 6; QEMU then
	# writes the subsection itself, and its description, on the re-save.
	at_risk "$W/sid.bin" "$W/patched.bin" 0 14 cr2=0x7f3a1c2e5008 has_error_code=1 \
		'+sub:cpu/error_code=00000006'
	run qemu_load_stream "$peer" "$W/patched.bin" --resave "$W/ec.bin"
	assert_success
	run grep -c -a '"vmsd_name": "cpu/error_code"' "$W/ec.bin"
	assert_output 1
	run "$FREDCK" check -j "$W/ec.bin"
	assert_equal "$status" 4
	assert_equal "$(jq_vcpu "$output" 0 '[.exception.error_code, ([.findings[].code] | index("FK303")), .repair.action] | @tsv')" \
		"$(printf '0x00000006\t\tpending')"
	run "$FREDCK" repair "$W/ec.bin" -o "$W/pending.bin"
	assert_equal "$status" 1
	run "$FREDCK" -j inspect "$W/pending.bin"
	assert_equal "$(jq_vcpu "$output" 0 '.exception | [.state, .error_code] | @tsv')" \
		"$(printf 'pending\t0x00000006')"
	run grep -c -a '"vmsd_name": "cpu/error_code"' "$W/pending.bin"
	assert_output 1
	run qemu_load_stream "$peer" "$W/pending.bin" --resave "$W/pending.again"
	assert_success
	run "$FREDCK" -j inspect "$W/pending.again"
	assert_equal "$(jq_vcpu "$output" 0 '[.exception.vector, .exception.error_code, .registers.cr2] | @tsv')" \
		"$(printf '14\t0x00000006\t0x00007f3a1c2e5008')"
	run "$FREDCK" repair "$W/ec.bin" -o "$W/drop.bin" --strategy=drop
	assert_equal "$status" 1
	run grep -c -a 'cpu/error_code' "$W/drop.bin"
	assert_output 0
	run qemu_load_stream "$peer" "$W/drop.bin"
	assert_success
}

@test "qemu: re-saved by QEMU after loading: pending #PF gives CR2 = payload, #DB a raw DR6, drop no exception" {
	# #PF pending: QEMU's pre-save folds the payload into CR2.
	at_risk "$S/pc.bin" "$W/pf.bin" 1 14 cr2=0x7f3a1c2e5008
	"$FREDCK" repair "$W/pf.bin" -o "$W/pf.rep" >/dev/null || [ $? -eq 1 ]
	run qemu_load_stream "$PEER" "$W/pf.rep" --machine pc --smp 2 --mem 64 --resave "$W/pf.again"
	assert_success
	run "$FREDCK" -j inspect "$W/pf.again"
	assert_equal "$(jq_vcpu "$output" 1 '[.exception.state, .exception.vector, .registers.cr2] | @tsv')" \
		"$(printf 'injected\t14\t0x00007f3a1c2e5008')"
	# #DB pending with payload B0: the pre-save writes it raw into DR6.
	at_risk "$S/pc.bin" "$W/db.bin" 0 1 dr6=0xffff0ff1
	"$FREDCK" repair "$W/db.bin" -o "$W/db.rep" >/dev/null || [ $? -eq 1 ]
	run qemu_load_stream "$PEER" "$W/db.rep" --machine pc --smp 2 --mem 64 --resave "$W/db.again"
	assert_success
	run "$FREDCK" -j check "$W/db.again"
	assert_equal "$(jq_vcpu "$output" 0 '[.exception.vector, .event_data.value, .event_data.provenance] | @tsv')" \
		"$(printf '1\t0x0000000000000001\tdr6-raw-payload')"
	# drop: nothing queued any more.
	at_risk "$S/pc.bin" "$W/drop.bin" 0 14 cr2=0x1000 has_error_code=1
	"$FREDCK" repair "$W/drop.bin" -o "$W/drop.rep" >/dev/null || [ $? -eq 1 ]
	run qemu_load_stream "$PEER" "$W/drop.rep" --machine pc --smp 2 --mem 64 --resave "$W/drop.again"
	assert_success
	run "$FREDCK" -j inspect "$W/drop.again"
	assert_equal "$(jq_vcpu "$output" 0 '.exception.state')" none
}

@test "qemu: truncated at every section footer and right after it: exit 8, offset named, nothing written" {
	at_risk "$S/pc.bin" "$W/pf.bin" 1 14 cr2=0x7f3a1c2e5008
	local off n=0 cut
	# Every footer: 7e + a small section id, then a section type or EOF.
	for off in $(grep -obUaP '\x7e\x00\x00\x00[\x00-\x40][\x00-\x08]' "$W/pf.bin" | cut -d: -f1); do
		for cut in "$off" $((off + 5)); do
			head -c "$cut" "$W/pf.bin" >"$W/cut.bin"
			run --separate-stderr "$FREDCK" repair "$W/cut.bin" -o "$W/cut.out"
			[ "$status" -eq 8 ] || fail "cut at $cut: exit $status"
			[[ "$stderr" == *"byte "* ]] || fail "cut at $cut: no offset: $stderr"
			[ ! -e "$W/cut.out" ] || fail "cut at $cut: output written"
			n=$((n + 1))
		done
	done
	[ "$n" -ge 40 ] || fail "only $n cut points found"
}

@test "qemu: wrong magic, wrong version, unknown section type, oversized lengths: exit 8 naming the field" {
	local size fo
	cp "$S/pc.bin" "$W/m.bin"
	printf 'QEVX' | dd of="$W/m.bin" conv=notrunc status=none
	run --separate-stderr "$FREDCK" check --format=qemu "$W/m.bin"
	assert_equal "$status" 8
	[[ "$stderr" == *"byte 0 (magic)"* ]] || fail "$stderr"

	cp "$S/pc.bin" "$W/v.bin"
	printf '\x00\x00\x00\x02' | dd of="$W/v.bin" bs=1 seek=4 conv=notrunc status=none
	run --separate-stderr "$FREDCK" check "$W/v.bin"
	assert_equal "$status" 8
	[[ "$stderr" == *"byte 4 (version)"* ]] || fail "$stderr"

	# The byte after the first footer starts the next section: make it 0x09.
	cp "$S/pc.bin" "$W/t.bin"
	fo=$(grep -obUaP '\x7e\x00\x00\x00[\x00-\x40][\x01-\x08]' "$W/t.bin" | head -1 | cut -d: -f1)
	printf '\x09' | dd of="$W/t.bin" bs=1 seek=$((fo + 5)) conv=notrunc status=none
	run --separate-stderr "$FREDCK" check "$W/t.bin"
	assert_equal "$status" 8
	[[ "$stderr" == *"byte $((fo + 5)) (section type): unknown section type 0x09"* ]] || fail "$stderr"

	# A description length far past the end of the file.
	cp "$S/pc-novmdesc.bin" "$W/d.bin"
	printf '\x06\x7f\xff\xff\xff{' >>"$W/d.bin"
	run --separate-stderr "$FREDCK" check "$W/d.bin"
	assert_equal "$status" 8
	[[ "$stderr" == *"byte "* ]] || fail "$stderr"

	# A configuration (machine name) length above 255.
	cp "$S/pc.bin" "$W/c.bin"
	printf '\x00\x00\x10\x00' | dd of="$W/c.bin" bs=1 seek=9 conv=notrunc status=none
	run --separate-stderr "$FREDCK" check "$W/c.bin"
	assert_equal "$status" 8
	[[ "$stderr" == *"byte 9 (configuration length)"* ]] || fail "$stderr"
}
