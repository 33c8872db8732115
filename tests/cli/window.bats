#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The window sweep (issue 14, item 3): a real QEMU 7.2 stream, padded with
# zero-page records (tests/qemu/qemu-pad) so that a cpu section's start, a
# section footer, the end-of-file marker and the description's start land
# on every offset around a window edge of the byte source, read in file
# mode, as a regular file on standard input, in the filter and through
# pipes (tests/qemu/window-sweep.sh): every reading gives the unpadded
# stream's verdict, and the filter's output is the unpadded output with
# the same records inserted.
#
# The edges: a file is mapped a window at a time, the first one
# BSRC_BUFFER (4 MiB) and a page long, so reads meet the end of the buffer
# at 4 MiB and the window slides at 4 MiB + 4 KiB; the filter reads a
# regular file 4 MiB at a time, so its buffer ends at 4 MiB.  The sweep
# steps by 1 byte where a place straddles an edge (a cpu section's header,
# its subsections and footer; a footer, the marker and the description
# within 32 bytes), and by larger steps over the few KiB around; the
# figures are in each test's ranges.  SWEEP_STEP=1 (environment) sweeps
# every alignment of every range instead (about 20 minutes).

bats_require_minimum_version 1.5.0

E1=4194304 # 4 MiB: the end of the buffer; the ranges are relative to it

setup_file() {
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	export TOP_SRCDIR
	export QEMU_PATCH=${QEMU_PATCH:-$TOP_SRCDIR/_build/tests/qemu/qemu-patch}
	export QEMU_PAD=${QEMU_PAD:-${TOP_BUILDDIR:-$TOP_SRCDIR/_build}/tests/qemu/qemu-pad}
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	export PEER=debian12
	SKIP_REASON=$(qemu_peer_skip_reason "$PEER")
	export SKIP_REASON
	[ -z "$SKIP_REASON" ] || return 0
	S="$BATS_FILE_TMPDIR"
	qemu_make_stream "$PEER" "$S/pc.bin" --machine pc --smp 2 --mem 64
	qemu_make_stream "$PEER" "$S/nodesc.bin" --machine pc --smp 2 --mem 64 --suppress-vmdesc
	# Both vCPUs with an injected exception, one of them repaired (its
	# section grows a subsection): the filter edits at the edges too.
	local f
	for f in pc nodesc; do
		"$QEMU_PATCH" "$S/$f.bin" "$S/$f-0.bin" 0 'cr4=|0x1000000a0' efer=0xd01 \
			cr0=0x80050033 exception_nr=14 cr2=0x7f3a1c2e5008
		"$QEMU_PATCH" "$S/$f-0.bin" "$S/$f-risk.bin" 1 'cr4=|0x1000000a0' efer=0xd01 \
			cr0=0x80050033 exception_nr=13 has_error_code=1
	done
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

# where FILE NAME: the offset of place NAME in FILE (qemu-pad --where).
where() {
	"$QEMU_PAD" "$1" --where | sed -n "s/^$2 //p"
}

# sweep FILE PLACE EDGE RANGE...: move PLACE across EDGE; no disagreement.
sweep() {
	local file=$1 place=$2 edge=$3 off r ranges=()
	shift 3
	off=$(where "$file" "$place")
	[ -n "$off" ] || fail "no $place in $file"
	for r in "$@"; do
		[ -z "${SWEEP_STEP:-}" ] || r=${r%:*}:$SWEEP_STEP
		ranges+=("$r")
	done
	run "$TOP_SRCDIR/tests/qemu/window-sweep.sh" "$FREDCK" "$QEMU_PAD" "$file" "$off" \
		"$edge" "${ranges[@]}"
	echo "$output" | tail -1 >&3
	assert_success
}

@test "window: QEMU 7.2 loads the padded streams, a cpu section across each edge" {
	local off
	off=$(where "$S/pc-risk.bin" cpu0)
	for d in -900 2240; do
		"$QEMU_PAD" "$S/pc-risk.bin" "$W/p.bin" $((E1 + d - off))
		run qemu_load_stream "$PEER" "$W/p.bin" --machine pc --smp 2 --mem 64
		assert_success
		# and the filter's repair of it
		"$FREDCK" repair - -o - <"$W/p.bin" >"$W/p.rep" 2>/dev/null || [ $? -eq 1 ]
		run qemu_load_stream "$PEER" "$W/p.rep" --machine pc --smp 2 --mem 64
		assert_success
	done
	off=$(where "$S/nodesc-risk.bin" cpu0)
	"$QEMU_PAD" "$S/nodesc-risk.bin" "$W/n.bin" $((E1 - 10 - off))
	run qemu_load_stream "$PEER" "$W/n.bin" --machine pc --smp 2 --mem 64 --suppress-vmdesc
	assert_success
}

@test "window: a cpu section's start across the buffer's end and the mapped window's end" {
	# The section is 1873 bytes: 17 of header, 1817 of main fields, its
	# subsections and footer.  1 byte steps where the header, the
	# subsections or the footer straddle an edge; 53 bytes where the main
	# fields (one read) do; 127 over 6 KiB before and 8 KiB after 4 MiB.
	sweep "$S/pc-risk.bin" cpu0 $E1 -1920:-1800:1 -1800:-40:53 -40:40:1 \
		2180:2300:1 2300:4056:53 4056:4136:1 -6144:8192:127
}

@test "window: a section footer across the edges" {
	sweep "$S/pc-risk.bin" footer $E1 -32:32:1 4064:4128:1 -4096:8192:127
}

@test "window: the end-of-file marker across the edges" {
	sweep "$S/pc-risk.bin" eof $E1 -32:32:1 4064:4128:1 -4096:8192:127
}

@test "window: the description's start across the edges" {
	sweep "$S/pc-risk.bin" vmdesc $E1 -16:16:1 4080:4112:1 -4096:8192:127
}

@test "window: without a description (found by their headers): a cpu section and the marker across the edges" {
	sweep "$S/nodesc-risk.bin" cpu0 $E1 -32:32:1 4064:4128:1 -4096:8192:127
	sweep "$S/nodesc-risk.bin" eof $E1 -16:16:1 4080:4112:1 -4096:8192:127
}
