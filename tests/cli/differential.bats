#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# File mode and the stream filter give one verdict on the same bytes
# (issue 14, item 2): the exit status, every vCPU's findings and plan,
# and the same repaired bytes; whenever the filter fails its output is not
# a complete stream, so the destination's load fails.  Inputs: every QEMU
# and libvirt case of the malformed corpus (tests/malformed/mkcorpus.sh),
# and 1,000 single-bit flips of real QEMU 7.2 streams, with and without
# description, in their device, cpu and description region
# (tests/qemu/differential.py; scripts/differential.sh runs more by hand).

bats_require_minimum_version 1.5.0

setup_file() {
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	TOP_BUILDDIR=${TOP_BUILDDIR:-$TOP_SRCDIR/_build}
	export TOP_SRCDIR TOP_BUILDDIR
	export QEMU_PATCH=${QEMU_PATCH:-$TOP_BUILDDIR/tests/qemu/qemu-patch}
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	SKIP_REASON=$(qemu_peer_skip_reason debian12)
	command -v python3 >/dev/null || SKIP_REASON="python3 is not installed"
	export SKIP_REASON
	[ -z "$SKIP_REASON" ] || return 0
	local S="$BATS_FILE_TMPDIR" fred=('cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033)
	# The corpus's own inputs, as tests/cli/corpus.bats makes them.
	qemu_make_stream debian12 "$S/base.bin" --machine microvm --smp 2 --mem 2
	qemu_make_stream debian12 "$S/base-nodesc.bin" --machine microvm --smp 2 --mem 2 \
		--suppress-vmdesc
	"$QEMU_PATCH" "$S/base.bin" "$S/q.bin" 0 "${fred[@]}" exception_nr=14 cr2=0x5000
	"$QEMU_PATCH" "$S/base-nodesc.bin" "$S/qn.bin" 0 "${fred[@]}" exception_nr=14 cr2=0x5000
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" "$S/q.bin" "$S/lv.img" 0
	gzip -c "$S/q.bin" >"$S/q.gz"
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" "$S/q.gz" "$S/lvgz.img" 1
	bash "$TOP_SRCDIR/tests/malformed/mkcorpus.sh" "$S/corpus" \
		"$TOP_SRCDIR/tests/fixtures/kvm/pf-lost-cap" "$S/q.bin" "$S/qn.bin" "$S/lv.img" \
		"$S/lvgz.img" >/dev/null
	# The flips' streams: pc, 2 vCPUs, vCPU 1 at risk, with and without description.
	qemu_make_stream debian12 "$S/pc.bin" --machine pc --smp 2 --mem 64
	qemu_make_stream debian12 "$S/pc-nodesc.bin" --machine pc --smp 2 --mem 64 --suppress-vmdesc
	"$QEMU_PATCH" "$S/pc.bin" "$S/pf.bin" 1 "${fred[@]}" exception_nr=14 cr2=0x7f3a1c2e5008
	"$QEMU_PATCH" "$S/pc-nodesc.bin" "$S/pfn.bin" 1 "${fred[@]}" exception_nr=14 cr2=0x7f3a1c2e5008
}

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	[ -z "$SKIP_REASON" ] || skip "$SKIP_REASON"
	FREDCK=${FREDCK:-$TOP_BUILDDIR/fredck}
	S="$BATS_FILE_TMPDIR"
	DIFF="$TOP_SRCDIR/tests/qemu/differential.py"
}

@test "differential: the checker tells a complete stream from a cut one" {
	run python3 -c '
import sys
sys.path.insert(0, sys.argv[1])
from differential import complete
for path, want in ((sys.argv[2], True), (sys.argv[3], True)):
    data = open(path, "rb").read()
    assert complete(data) == want, path
    # Without its description, or cut anywhere before its end marker: not complete.
    k = data.rfind(b"\x06")
    if data.endswith(b"}"):
        assert complete(data[:k]) and not complete(data[:k - 1])
    for cut in (len(data) // 2, len(data) - 7000, len(data) - 1):
        assert not complete(data[:cut]) or data[:cut].endswith(b"\x00"), cut
' "$(dirname "$DIFF")" "$S/pf.bin" "$S/pfn.bin"
	assert_success
}

@test "differential: every QEMU and libvirt case of the malformed corpus: one verdict, no complete output on failure" {
	run python3 "$DIFF" "$FREDCK" corpus "$S/corpus/manifest"
	echo "# $(tail -1 <<<"$output")" >&3
	assert_success
	assert_output --regexp "corpus: [0-9]+ inputs, 0 disagreements"
}

@test "differential: a whole stream through the filter fails (exit 8, output incomplete) past FREDCK_HOLD_MAX, and file mode is unaffected" {
	run bash -c 'FREDCK_HOLD_MAX=64K "$1" repair - -o - <"$2" >"$3"' _ "$FREDCK" "$S/pf.bin" "$BATS_TEST_TMPDIR/out"
	assert_equal "$status" 8
	[[ "$output" == *"more than 64 KiB from here to the end of the stream"* ]] || fail "$output"
	run python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); from differential import complete; sys.exit(complete(open(sys.argv[2], "rb").read()))' \
		"$(dirname "$DIFF")" "$BATS_TEST_TMPDIR/out"
	assert_success
	FREDCK_HOLD_MAX=64K run "$FREDCK" check "$S/pf.bin"
	assert_equal "$status" 4
}

@test "differential: 1,000 bit flips in the device, cpu and description region: one verdict" {
	run python3 "$DIFF" "$FREDCK" flips 1000 14 "$S/pf.bin" "$S/pfn.bin"
	echo "# $(tail -1 <<<"$output")" >&3
	assert_success
	assert_output --regexp "flips: 1000 inputs, 0 disagreements"
}

@test "differential: nothing planned, the filter passes the description through byte for byte, as file mode copies it" {
	# Found by fuzz_filter's smoke: a mutated description that jansson does
	# not write back as it came was re-serialised by the filter only.
	local in="$TOP_SRCDIR/tests/fuzz/regressions/filter-nothing-planned.bin"
	run bash -c '"$1" repair - -o - <"$2" >"$3" 2>/dev/null' _ "$FREDCK" "$in" "$BATS_TEST_TMPDIR/pipe.bin"
	[ "$status" -eq 0 ] || fail "status $status"
	cmp "$in" "$BATS_TEST_TMPDIR/pipe.bin" || fail "the filter changed a stream it had nothing to repair in"
	run "$FREDCK" repair "$in" -o "$BATS_TEST_TMPDIR/file.bin"
	[ "$status" -eq 0 ] || fail "status $status"
	cmp "$in" "$BATS_TEST_TMPDIR/file.bin" || fail "file mode changed it"
}
