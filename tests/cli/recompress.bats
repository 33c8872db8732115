#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Repairing a compressed libvirt image keeps the compressed bytes before
# the first edit (docs/design.md, "Repairing a compressed image", issue
# 19): a real QEMU 7.2 stream made at-risk, compressed by the real zstd,
# lzop, xz, gzip and bzip2 programs as libvirt runs them (and with other
# settings), then repaired.  The result must decompress with the same tool
# to exactly what the repair of the bare stream gives (which is what a
# whole recompression decompresses to), load in QEMU, and keep the
# input's bytes up to the cut; a damaged prefix must still be caught.

bats_require_minimum_version 1.5.0

setup_file() {
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	export TOP_SRCDIR
	export QEMU_PATCH=${QEMU_PATCH:-$TOP_SRCDIR/_build/tests/qemu/qemu-patch}
	export FREDCK=${FREDCK:-$TOP_SRCDIR/_build/fredck}
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	SKIP_REASON=$(qemu_peer_skip_reason debian12)
	local prog
	for prog in zstd lzop gzip xz bzip2 python3; do
		command -v "$prog" >/dev/null || SKIP_REASON=${SKIP_REASON:-"$prog is not installed"}
	done
	export SKIP_REASON
	[ -z "$SKIP_REASON" ] || return 0
	S="$BATS_FILE_TMPDIR"
	qemu_make_stream debian12 "$S/pc.bin" --machine pc --smp 2 --mem 64
	"$QEMU_PATCH" "$S/pc.bin" "$S/pf.bin" 1 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x7f3a1c2e5008
	# What every repaired image must decompress to: the bare stream repaired.
	"$FREDCK" repair "$S/pf.bin" -o "$S/whole.stream" >/dev/null || [ $? -eq 1 ]
	# The image bzip2 -9 makes of it is one block: compressed whole again.
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" /dev/null "$S/hdr2" 2
	{ cat "$S/hdr2"; bzip2 -c <"$S/pf.bin"; } >"$S/bzip2.img"
	{ "$FREDCK" -v repair "$S/bzip2.img" -o "$S/bzip2.rep" || [ $? -eq 1 ]; } | unfold >"$S/bzip2.out"
	# A stream larger than the 4 MiB of decompressed bytes the first pass keeps
	# before the device state (16 MiB of guest RAM, half random, half text),
	# and its bare stream repaired.
	{ head -c $((8 << 20)) /dev/urandom; yes 'guest page cache text 0123456789' |
		head -c $((8 << 20)); } >"$S/ram"
	qemu_make_stream debian12 "$S/big.bin" --machine pc --smp 2 --mem 16 --ram-file "$S/ram"
	"$QEMU_PATCH" "$S/big.bin" "$S/bigpf.bin" 1 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x7f3a1c2e5008
	"$FREDCK" repair "$S/bigpf.bin" -o "$S/bigwhole.stream" >/dev/null || [ $? -eq 1 ]
}

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	[ -z "$SKIP_REASON" ] || skip "$SKIP_REASON"
	S="$BATS_FILE_TMPDIR"
	W="$BATS_TEST_TMPDIR"
}

# Where the QEMU stream starts: 92 + data_len (little-endian u32 at 20).
stream_start() {
	echo $((92 + $(od -An -tu4 -j20 -N4 "$1")))
}

# A libvirt image of format N whose stream is the output of COMMAND...
# (reading the stream on standard input, or from the file named STREAM):
# the small stream, or $STREAM_FILE.
image() { # N OUT COMMAND...
	local n=$1 out=$2 in=${STREAM_FILE:-$S/pf.bin}
	shift 2
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" /dev/null "$W/hdr" "$n"
	{
		cat "$W/hdr"
		"${@//STREAM/$in}" <"$in"
	} >"$out"
}

# Text whose folded lines (-v's account of the writing folds at 80
# columns when not on a terminal, continued 6 columns in) joined again.
unfold() {
	sed -e ':a' -e 'N' -e '$!ba' -e 's/\n      / /g'
}

# run fredck -v ARGS..., its output unfolded.
run_v() {
	run "$FREDCK" -v "$@"
	output=$(printf '%s\n' "$output" | unfold)
}

# A libvirt image of format N, OUT, whose stream IN is compressed by PROG
# in two parts, the first FIRST bytes long ($W/a) and the rest ($W/b):
# two frames, members or streams one after the other.
two_part_image() { # N PROG IN FIRST OUT
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" /dev/null "$W/hdr" "$1"
	head -c "$4" "$3" >"$W/a"
	tail -c +$(($4 + 1)) "$3" >"$W/b"
	{ cat "$W/hdr"; "$2" -c <"$W/a"; "$2" -c <"$W/b"; } >"$5"
}

# repair -v IMG -o REP; the compressed bytes kept, from -v, into KEPT.
repair_kept() { # IMG REP
	run_v repair "$1" -o "$2"
	assert_equal "$status" 1
	[[ "$output" =~ kept\ the\ first\ ([0-9]+)\ compressed\ bytes ]] ||
		fail "no compressed bytes kept: $output"
	KEPT=${BASH_REMATCH[1]}
}

# The bytes of IMG and REP that differ within the first N, as "offset old new" (cmp -l).
differing() { # IMG REP N
	cmp -l -n "$3" "$1" "$2" || true
}

# The stream part of REP through PROG -dc equals the whole recompression's
# result (of the small stream, or $WHOLE), fredck check exits 0 on REP.
assert_repaired() { # PROG REP
	local start
	start=$(stream_start "$2")
	tail -c +$((start + 1)) "$2" >"$W/rep.compressed"
	run "$1" -t "$W/rep.compressed"
	assert_success
	"$1" -dc <"$W/rep.compressed" >"$W/rep.stream"
	run cmp "${WHOLE:-$S/whole.stream}" "$W/rep.stream"
	assert_success
	run "$FREDCK" -j check "$2"
	assert_equal "$status" 0
	assert_equal "$(jq -r '.inputs[0].vcpus[1].exception.state' <<<"$output")" pending
}

@test "recompress bzip2 -c (as libvirt runs it) of a stream in one block: the edit is in the first block, so the whole stream is compressed again, -v says why; bzip2 decompresses the repaired stream; QEMU loads it" {
	run cat "$S/bzip2.out"
	assert_output --partial "compressed the whole bzip2 stream again: no bzip2 block ends before the first edit"
	assert_repaired bzip2 "$S/bzip2.rep"
	run qemu_load_stream debian12 "$W/rep.stream" --machine pc --smp 2 --mem 64
	assert_success
}

@test "recompress zstd (as libvirt runs it): the prefix's compressed bytes kept, only the last kept block's flag set; zstd decompresses what the whole recompression gives; QEMU loads it" {
	image 5 "$W/z.img" zstd -c
	repair_kept "$W/z.img" "$W/z.rep"
	start=$(stream_start "$W/z.img")
	[ "$KEPT" -gt 0 ] && [ "$KEPT" -lt $(($(stat -c %s "$W/z.img") - start)) ] || fail "kept $KEPT"
	# Within the kept bytes only one differs: a block header's Last_Block bit (RFC 8878 3.1.1.2).
	run differing "$W/z.img" "$W/z.rep" $((start + KEPT))
	[ "$(wc -l <<<"$output")" -eq 1 ] || fail "$output"
	read -r at old new <<<"$output"
	[ $((8#$new)) -eq $((8#$old | 1)) ] && [ $((8#$old & 1)) -eq 0 ] || fail "$output"
	[ "$at" -gt "$start" ] || fail "$output"
	assert_repaired zstd "$W/z.rep"
	run qemu_load_stream debian12 "$W/rep.stream" --machine pc --smp 2 --mem 64
	assert_success
}

@test "recompress zstd: with and without the content checksum, with a content-size field (zstd FILE), -19 and -T0: zstd -t passes and gives the whole recompression's stream" {
	local how
	for how in "zstd -c" "zstd -c --no-check" "zstd -c STREAM" "zstd -c --no-check STREAM" \
		"zstd -19 -c" "zstd -T0 -c"; do
		rm -f "$W/z.rep"
		# shellcheck disable=SC2086
		image 5 "$W/z.img" $how
		repair_kept "$W/z.img" "$W/z.rep"
		assert_repaired zstd "$W/z.rep"
	done
	# The last case kept a frame with a checksum: zstd -lv lists the check.
	start=$(stream_start "$W/z.rep")
	tail -c +$((start + 1)) "$W/z.rep" >"$W/z.zst"
	run zstd -lv "$W/z.zst"
	assert_output --partial "# Zstandard Frames: 2"
	assert_output --partial "Check: XXH64"
}

@test "recompress zstd: an image of several frames keeps the frames before the edit as they are" {
	two_part_image 5 zstd "$S/pf.bin" 200000 "$W/z.img"
	repair_kept "$W/z.img" "$W/z.rep"
	start=$(stream_start "$W/z.img")
	first=$(zstd -c <"$W/a" | wc -c)
	[ "$KEPT" -gt "$first" ] || fail "kept $KEPT, the first frame is $first"
	run cmp -n $((start + first)) "$W/z.img" "$W/z.rep"
	assert_success
	assert_repaired zstd "$W/z.rep"
}

@test "recompress zstd: the cut frame is not the image's last (several frames, as pzstd makes): its checksum proven against the one stored at its end, the read-back from the cut" {
	# The first edit lies in the first frame, whose end the first pass holds.
	two_part_image 5 zstd "$S/pf.bin" $(($(stat -c %s "$S/pf.bin") - 2000)) "$W/z.img"
	repair_kept "$W/z.img" "$W/z.rep"
	assert_output --partial "$QUICK"
	assert_repaired zstd "$W/z.rep"
	# A wrong checksum at that frame's end: the proof fails, so does the read.
	first=$(zstd -c <"$W/a" | wc -c)
	start=$(stream_start "$W/z.img")
	printf '\377\377' | dd of="$W/z.img" bs=1 seek=$((start + first - 2)) conv=notrunc status=none
	run --separate-stderr "$FREDCK" repair "$W/z.img" -o "$W/z2.rep"
	assert_equal "$status" 8
	[ ! -e "$W/z2.rep" ]
}

# A byte of the image (FORMAT, made by COMMAND...) damaged 30000 bytes into
# its compressed data, where the first pass keeps it: the repair fails
# (exit 8) with an error that matches one of PATTERNS (|-separated globs)
# and writes nothing.
assert_damage_caught() { # FORMAT BYTES PATTERNS COMMAND...
	local format=$1 bytes=$2 start pattern found=false
	local -a patterns
	IFS='|' read -r -a patterns <<<"$3"
	shift 3
	image "$format" "$W/d.img" "$@"
	start=$(stream_start "$W/d.img")
	# shellcheck disable=SC2059 # BYTES is printf's octal escapes
	printf "$bytes" | dd of="$W/d.img" bs=1 seek=$((start + 30000)) conv=notrunc status=none
	run --separate-stderr "$FREDCK" repair "$W/d.img" -o "$W/d.rep"
	assert_equal "$status" 8
	for pattern in "${patterns[@]}"; do
		[[ "$stderr" == *"$pattern"* ]] && found=true
	done
	$found || fail "none of '${patterns[*]}' in: $stderr"
	[ ! -e "$W/d.rep" ]
}

@test "recompress zstd: a damaged kept block is still caught: exit 8, nothing written" {
	assert_damage_caught 5 '\125' "zstd data: " zstd -c
}

@test "recompress lzop (as libvirt runs it): the blocks before the edit kept byte for byte, the tail's blocks in the same file; lzop -t passes with no warning; QEMU loads it" {
	image 4 "$W/l.img" lzop -c
	repair_kept "$W/l.img" "$W/l.rep"
	start=$(stream_start "$W/l.img")
	run cmp -n $((start + KEPT)) "$W/l.img" "$W/l.rep"
	assert_success
	# One lzop file (a second header would make lzop -d warn and exit 2).
	tail -c +$((start + 1)) "$W/l.rep" >"$W/l.lzo"
	run lzop -t "$W/l.lzo"
	assert_success
	refute_output --partial warning
	[ "$(LC_ALL=C grep -a -o $'\x89LZO' "$W/l.lzo" | wc -l)" -eq 1 ] || fail "more than one lzop header"
	assert_repaired lzop "$W/l.rep"
	run qemu_load_stream debian12 "$W/rep.stream" --machine pc --smp 2 --mem 64
	assert_success
}

@test "recompress lzop: an image lzop -c would not continue (lzop -9, another method) is compressed whole again, and -v says why" {
	image 4 "$W/l.img" lzop -9 -c
	run_v repair "$W/l.img" -o "$W/l.rep"
	assert_equal "$status" 1
	assert_output --partial "compressed the whole lzop stream again: "
	assert_output --partial "lzop -c writes blocks unlike the image's"
	assert_repaired lzop "$W/l.rep"
}

@test "recompress lzop: a damaged kept block is still caught: exit 8, nothing written" {
	assert_damage_caught 4 '\125\125\125\125' "lzop data: " lzop -c
}

@test "recompress: in place, the original is kept as the backup byte for byte and the repair is spliced" {
	image 5 "$W/vm.img" zstd -c
	cp "$W/vm.img" "$W/orig.img"
	run_v repair "$W/vm.img" --in-place
	assert_equal "$status" 1
	assert_output --partial "kept the first "
	run cmp "$W/vm.img.orig" "$W/orig.img"
	assert_success
	assert_repaired zstd "$W/vm.img"
}

@test "recompress xz -3 (as libvirt runs it): the LZMA2 chunks before the edit kept byte for byte, the block closed (check, index, footer), a new stream after; xz -t passes; QEMU loads it" {
	image 3 "$W/x.img" xz -3 -c
	repair_kept "$W/x.img" "$W/x.rep"
	start=$(stream_start "$W/x.img")
	run cmp -n $((start + KEPT)) "$W/x.img" "$W/x.rep"
	assert_success
	assert_repaired xz "$W/x.rep"
	run xz -lvv "$W/rep.compressed"
	assert_output --regexp "Streams: +2"
	run qemu_load_stream debian12 "$W/rep.stream" --machine pc --smp 2 --mem 64
	assert_success
}

@test "recompress xz: CRC-32, no check, the default level, and xz -T0 blocks that hold their sizes (kept whole): xz -t passes and gives the whole recompression's stream" {
	local how
	for how in "xz -c" "xz -3 --check=crc32 -c" "xz -3 --check=none -c" \
		"xz -3 -T0 --block-size=100000 -c"; do
		rm -f "$W/x.rep"
		# shellcheck disable=SC2086
		image 3 "$W/x.img" $how
		repair_kept "$W/x.img" "$W/x.rep"
		assert_repaired xz "$W/x.rep"
	done
	# The last: whole blocks of 100000 bytes kept.
	[ $((KEPT)) -gt 0 ] || fail "kept $KEPT"
	run_v repair "$W/x.img" -o "$W/x2.rep"
	assert_output --regexp "\\(([1-9]00000) bytes decompressed"
}

@test "recompress xz: a single block with a SHA-256 check cannot be cut inside: compressed whole again, and -v says why" {
	image 3 "$W/x.img" xz -3 --check=sha256 -c
	run_v repair "$W/x.img" -o "$W/x.rep"
	assert_equal "$status" 1
	assert_output --partial "compressed the whole xz stream again: the xz check is not CRC-32 or CRC-64"
	assert_repaired xz "$W/x.rep"
}

@test "recompress xz: a damaged kept chunk is still caught: exit 8, nothing written" {
	image 3 "$W/x.img" xz -3 -c
	start=$(stream_start "$W/x.img")
	printf '\125\125' | dd of="$W/x.img" bs=1 seek=$((start + 30000)) conv=notrunc status=none
	run --separate-stderr "$FREDCK" repair "$W/x.img" -o "$W/x.rep"
	assert_equal "$status" 8
	[[ "$stderr" == *"xz data: "* ]] || fail "$stderr"
	[ ! -e "$W/x.rep" ]
}

@test "recompress: a cut inside the device state the first pass held: the tail comes from memory, not from decompressing again (xz blocks of 1000 bytes)" {
	image 3 "$W/x.img" xz -3 --block-size=1000 -c
	repair_kept "$W/x.img" "$W/x.rep"
	assert_output --partial "compressed the rest again, from the device state read the first time"
	start=$(stream_start "$W/x.img")
	run cmp -n $((start + KEPT)) "$W/x.img" "$W/x.rep"
	assert_success
	assert_repaired xz "$W/x.rep"
	run qemu_load_stream debian12 "$W/rep.stream" --machine pc --smp 2 --mem 64
	assert_success
}

# The kept prefix of REP equals IMG's up to KEPT, which is neither nothing nor everything.
assert_prefix_kept() { # IMG REP
	local start
	start=$(stream_start "$1")
	[ "$KEPT" -gt 0 ] && [ "$KEPT" -lt $(($(stat -c %s "$1") - start)) ] || fail "kept $KEPT"
	run cmp -n $((start + KEPT)) "$1" "$2"
	assert_success
}

@test "recompress gzip -c (as libvirt runs it): the deflate blocks before the edit kept byte for byte, the member closed (empty final block, CRC-32, length), a new member after; gzip -t passes; QEMU loads it" {
	image 1 "$W/g.img" gzip -c
	repair_kept "$W/g.img" "$W/g.rep"
	assert_prefix_kept "$W/g.img" "$W/g.rep"
	assert_repaired gzip "$W/g.rep"
	# Two members: the kept one, closed, and the tail's (gzip's magic just after the cut).
	start=$(stream_start "$W/g.rep")
	[ "$(tail -c +$((start + KEPT + 1)) "$W/g.rep" | head -c 24 | LC_ALL=C grep -c -a $'\x1f\x8b\x08')" -eq 1 ] ||
		fail "no second gzip member within 24 bytes of the cut"
	run qemu_load_stream debian12 "$W/rep.stream" --machine pc --smp 2 --mem 64
	assert_success
}

@test "recompress gzip: -1, -9, and two members (the first kept whole): gzip -t passes and gives the bare repair's stream" {
	local how
	for how in "gzip -1 -c:4" "gzip -9 -c:2"; do
		rm -f "$W/g.rep"
		# shellcheck disable=SC2086
		image 1 "$W/g.img" ${how%:*}
		repair_kept "$W/g.img" "$W/g.rep"
		assert_prefix_kept "$W/g.img" "$W/g.rep"
		assert_repaired gzip "$W/g.rep"
		# The tail's member, just after the cut, made at the input's level:
		# its XFL (4 fastest, 2 slowest) is the input's.
		start=$(stream_start "$W/g.rep")
		xfl=$(tail -c +$((start + KEPT + 1)) "$W/g.rep" | head -c 32 | od -An -v -tx1 | tr -d '\n' |
			grep -o '1f 8b 08 .. .. .. .. .. ..' | tail -n 1 | awk '{print $9}')
		assert_equal "$xfl" "0${how#*:}"
	done
	two_part_image 1 gzip "$S/pf.bin" 200000 "$W/g.img"
	rm -f "$W/g.rep"
	repair_kept "$W/g.img" "$W/g.rep"
	first=$(gzip -c <"$W/a" | wc -c)
	[ "$KEPT" -gt "$first" ] || fail "kept $KEPT, the first member is $first"
	assert_prefix_kept "$W/g.img" "$W/g.rep"
	assert_repaired gzip "$W/g.rep"
}

@test "recompress gzip: pigz (its chunks end with empty stored blocks) and pigz -11 (zopfli)" {
	command -v pigz >/dev/null || skip "pigz is not installed"
	local how
	for how in "pigz -c" "pigz -11 -c"; do
		rm -f "$W/g.rep"
		# shellcheck disable=SC2086
		image 1 "$W/g.img" $how
		repair_kept "$W/g.img" "$W/g.rep"
		assert_prefix_kept "$W/g.img" "$W/g.rep"
		assert_repaired gzip "$W/g.rep"
	done
}

@test "recompress gzip: a member of one deflate block (the edit in the first block) is compressed whole again, and -v says why" {
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" /dev/null "$W/hdr" 1
	# Every byte a literal with the fixed codes, in one block (RFC 1951 3.2.6).
	python3 - "$S/pf.bin" "$W/one.gz" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
acc, n, out = 0, 0, bytearray(b'\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03')
def put(v, bits):
    global acc, n
    acc |= v << n
    n += bits
    while n >= 8:
        out.append(acc & 0xFF)
        acc >>= 8
        n -= 8
def code(c, bits):  # Huffman codes go most significant bit first
    put(int(format(c, '0%db' % bits)[::-1], 2), bits)
put(1, 1)  # BFINAL
put(1, 2)  # BTYPE 01: fixed codes
for b in data:
    if b < 144:
        code(0x30 + b, 8)
    else:
        code(0x190 + b - 144, 9)
code(0, 7)  # end of block
if n:
    out.append(acc & 0xFF)
out += struct.pack('<II', zlib.crc32(data), len(data) & 0xFFFFFFFF)
open(sys.argv[2], 'wb').write(out)
PY
	gzip -dc <"$W/one.gz" | cmp - "$S/pf.bin"
	cat "$W/hdr" "$W/one.gz" >"$W/g.img"
	run_v repair "$W/g.img" -o "$W/g.rep"
	assert_equal "$status" 1
	assert_output --partial "compressed the whole gzip stream again: no deflate block ends before the first edit"
	assert_repaired gzip "$W/g.rep"
}

@test "recompress gzip: a damaged kept block is still caught: exit 8, nothing written" {
	# The member's CRC-32, or the stream's parser before it (the damage reaches the RAM records).
	assert_damage_caught 1 '\125' "gzip data: |(gzip-decompressed stream): " gzip -c
}

@test "recompress bzip2 -1 (100k blocks): the blocks before the edit kept byte for byte, the stream closed (end-of-stream magic, combined CRC), a new stream after; bzip2 -t passes; QEMU loads it" {
	image 2 "$W/b.img" bzip2 -1 -c
	repair_kept "$W/b.img" "$W/b.rep"
	assert_prefix_kept "$W/b.img" "$W/b.rep"
	assert_repaired bzip2 "$W/b.rep"
	# Two streams: the kept one, closed, and the tail's just after the cut,
	# at the input's level ("BZh1", 100k blocks, not bzip2's default 9).
	start=$(stream_start "$W/b.rep")
	[ "$(tail -c +$((start + KEPT + 1)) "$W/b.rep" | head -c 16 | LC_ALL=C grep -c -a 'BZh1')" -eq 1 ] ||
		fail "no second bzip2 stream of level 1 after the cut"
	run qemu_load_stream debian12 "$W/rep.stream" --machine pc --smp 2 --mem 64
	assert_success
}

@test "recompress bzip2: -2, two streams (the first kept whole), and pbzip2's streams: bzip2 -t passes and gives the bare repair's stream" {
	image 2 "$W/b.img" bzip2 -2 -c
	repair_kept "$W/b.img" "$W/b.rep"
	assert_prefix_kept "$W/b.img" "$W/b.rep"
	assert_repaired bzip2 "$W/b.rep"
	two_part_image 2 bzip2 "$S/pf.bin" 200000 "$W/b.img"
	rm -f "$W/b.rep"
	repair_kept "$W/b.img" "$W/b.rep"
	first=$(bzip2 -c <"$W/a" | wc -c)
	[ "$KEPT" -eq "$first" ] || fail "kept $KEPT, the first stream is $first"
	assert_prefix_kept "$W/b.img" "$W/b.rep"
	assert_repaired bzip2 "$W/b.rep"
	command -v pbzip2 >/dev/null || skip "pbzip2 is not installed (the rest passed)"
	rm -f "$W/b.rep"
	image 2 "$W/b.img" pbzip2 -1 -b1 -c
	repair_kept "$W/b.img" "$W/b.rep"
	assert_prefix_kept "$W/b.img" "$W/b.rep"
	assert_repaired bzip2 "$W/b.rep"
}

@test "recompress bzip2: a damaged kept block is still caught: exit 8, nothing written" {
	assert_damage_caught 2 '\125' "bzip2 data: " bzip2 -1 -c
}

# ---- the quick path: the tail from memory, the read-back from the cut ----

# The big stream's images and reference.
big() {
	export STREAM_FILE=$S/bigpf.bin WHOLE=$S/bigwhole.stream
}

QUICK="from the device state read the first time; read back: the kept bytes compared with the input's, the rest decompressed and parsed"

@test "recompress, a stream larger than what the first pass keeps: zstd, xz -3 and lzop (as libvirt runs them) compress the tail from memory (xz: the cut block's check from the CRC-64 of the bytes dropped) and read back only from the cut; the real tools decompress the result; QEMU loads it" {
	big
	local z n
	for z in zstd:5 xz:3 lzop:4; do
		n=${z#*:} z=${z%:*}
		rm -f "$W/b.rep"
		if [ "$z" = xz ]; then image 3 "$W/b.img" xz -3 -c; else image "$n" "$W/b.img" "$z" -c; fi
		repair_kept "$W/b.img" "$W/b.rep"
		assert_output --partial "$QUICK"
		start=$(stream_start "$W/b.img")
		size=$(($(stat -c %s "$W/b.img") - start))
		[ "$KEPT" -gt $((size * 9 / 10)) ] || fail "$z kept $KEPT of $size"
		assert_repaired "$z" "$W/b.rep"
	done
	run qemu_load_stream debian12 "$W/rep.stream" --machine pc --smp 2 --mem 16
	assert_success
}

@test "recompress, fallback: an xz block with a CRC-32 check that starts before what the first pass kept: the tail by decompressing again, the read-back whole, and -v says why" {
	big
	image 3 "$W/b.img" xz -3 --check=crc32 -c
	repair_kept "$W/b.img" "$W/b.rep"
	assert_output --partial "compressed the rest again, decompressing the input a second time: the cut xz block starts before the bytes the first pass kept, and its check (CRC-32) was not kept"
	refute_output --partial "read back: the kept bytes"
	assert_repaired xz "$W/b.rep"
}

# paused SYSCALL NAME CMD...: CMD run under strace with SYSCALL's first call
# held 3 s on its way out; returns once the temporary copy of NAME exists,
# the run's pid in $pid (as in identity.bats).
paused() {
	local call=$1 name=$2
	shift 2
	strace -f -qq -o /dev/null -e trace="$call" -e inject="$call":delay_exit=3000000:when=1 \
		"$@" >"$W/out" 2>"$W/err" &
	pid=$!
	for _ in $(seq 300); do
		tmp=$(find "$(dirname "$name")" -maxdepth 1 -name ".$(basename "$name").fredck-*")
		[ -n "$tmp" ] && return 0
		sleep 0.01
	done
	wait "$pid" || true
	fail "fredck never made its temporary copy: $(cat "$W/err")"
}

# written SIZE: wait until the paused run's temporary holds SIZE bytes (all
# written: the fsync that follows is held).
written() {
	for _ in $(seq 500); do
		[ "$(stat -c %s "$tmp" 2>/dev/null)" = "$1" ] && return 0
		sleep 0.01
	done
	fail "the temporary never held $1 bytes"
}

finished() {
	status=0
	wait "$pid" || status=$?
}

need_strace() {
	command -v strace >/dev/null || skip "strace is not installed"
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
}

# refused TEXT: exit 8 + 4 (the vCPU left at risk), TEXT said, nothing written at OUT.
refused() { # TEXT OUT
	[ "$status" -eq 12 ] || fail "status $status: $(cat "$W/out" "$W/err")"
	grep -qF -- "$1" "$W/err" || fail "stderr does not say '$1': $(cat "$W/err")"
	[ ! -e "$2" ] || fail "$2 was written"
	[ -z "$(find "$W" -maxdepth 1 -name '.*.fredck-*')" ] || fail "a temporary was left"
}

@test "recompress: the input rewritten between the first pass and the tail, its size and modification time set back: refused (its status-change time moved), nothing written; and with the modification time moved" {
	need_strace
	big
	image 5 "$W/b.img" zstd -c
	start=$(stream_start "$W/b.img")
	for restore in yes no; do
		touch -r "$W/b.img" "$W/ref"
		# Held once the header is copied, before the kept bytes are.
		paused copy_file_range "$W/b.rep" "$FREDCK" repair "$W/b.img" -o "$W/b.rep"
		printf '\125\125' | dd of="$W/b.img" bs=1 seek=$((start + 300000)) conv=notrunc status=none
		[ "$restore" = no ] || touch -r "$W/ref" "$W/b.img"
		finished
		refused "b.img: changed while fredck repaired it" "$W/b.rep"
		image 5 "$W/b.img" zstd -c
	done
}

@test "recompress: a kept byte of the written file changed before the read-back: caught by the byte comparison, nothing written" {
	need_strace
	big
	image 5 "$W/b.img" zstd -c
	start=$(stream_start "$W/b.img")
	repair_kept "$W/b.img" "$W/b.rep"
	size=$(stat -c %s "$W/b.rep")
	rm "$W/b.rep"
	paused fsync "$W/b.rep" "$FREDCK" repair "$W/b.img" -o "$W/b.rep"
	written "$size"
	printf '\125' | dd of="$tmp" bs=1 seek=$((start + 300000)) conv=notrunc status=none
	finished
	refused "verification failed: the written file's byte $((start + 300000)) is not the kept byte of the input" "$W/b.rep"
}

@test "recompress: a wrong byte in what closes the kept bytes (zstd checksum, xz end marker, xz footer) is caught by the read-back, nothing written" {
	need_strace
	big
	local z at what
	for z in zstd xz xz-footer; do
		rm -f "$W/b.rep"
		if [ "$z" = zstd ]; then image 5 "$W/b.img" zstd -c; else image 3 "$W/b.img" xz -3 -c; fi
		repair_kept "$W/b.img" "$W/b.rep"
		size=$(stat -c %s "$W/b.rep")
		rm -f "$W/b.rep"
		start=$(stream_start "$W/b.img")
		at=$((start + KEPT))
		what="the cut zstd frame's checksum is not XXH64 of the kept content"
		[ "$z" != xz ] || what="the cut xz block's end marker or padding"
		if [ "$z" = xz-footer ]; then
			# The footer's "YZ" ends the closed stream: the tail's stream header follows.
			repair_kept "$W/b.img" "$W/b.rep"
			at=$(($(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$W/b.rep" | sed -n 2p | cut -d: -f1) - 2))
			rm -f "$W/b.rep"
			what="the xz stream footer written at the cut"
		fi
		paused fsync "$W/b.rep" "$FREDCK" repair "$W/b.img" -o "$W/b.rep"
		written "$size"
		printf '\001' | dd of="$tmp" bs=1 seek="$at" conv=notrunc status=none
		finished
		refused "verification failed: $what" "$W/b.rep"
	done
}

@test "recompress, a stream larger than what the first pass keeps: gzip and bzip2 (as libvirt runs them) compress the tail from memory and read back only from the cut (the member's CRC-32 proven against the stored one, the stream's combined CRC from the kept blocks' CRCs); the real tools decompress the result; QEMU loads it" {
	big
	local z n
	for z in gzip:1 bzip2:2; do
		n=${z#*:} z=${z%:*}
		rm -f "$W/b.rep"
		image "$n" "$W/b.img" "$z" -c
		repair_kept "$W/b.img" "$W/b.rep"
		assert_output --partial "$QUICK"
		start=$(stream_start "$W/b.img")
		size=$(($(stat -c %s "$W/b.img") - start))
		[ "$KEPT" -gt $((size * 9 / 10)) ] || fail "$z kept $KEPT of $size"
		assert_repaired "$z" "$W/b.rep"
		run qemu_load_stream debian12 "$W/rep.stream" --machine pc --smp 2 --mem 16
		assert_success
	done
}

@test "recompress: a gzip member cut inside that is not the image's last (the device state's end in a member of its own): its CRC-32 proven at its own end, the read-back from the cut; gzip gives the bare repair's stream" {
	big
	two_part_image 1 gzip "$STREAM_FILE" $(($(stat -c %s "$STREAM_FILE") - 100)) "$W/g.img"
	repair_kept "$W/g.img" "$W/g.rep"
	assert_output --partial "$QUICK"
	assert_prefix_kept "$W/g.img" "$W/g.rep"
	assert_repaired gzip "$W/g.rep"
}

# The cut's bit in its byte (0-7) in the written file REP, whose compressed
# data's KEPT-th byte is at AT: gzip's kept bits are the low ones, followed
# by the empty final block (1, 1, seven 0s) and, after the padding, the
# CRC-32 and the ISIZE D (the kept content's length, the member being the
# first); bzip2's are the high ones, followed by the end-of-stream magic.
cut_bit() { # gzip|bzip2 REP AT D
	python3 - "$@" <<'PY'
import sys
z, path, at, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(path, 'rb') as f:
    f.seek(at)
    w = f.read(24)
for b in range(8):
    if z == 'gzip':
        n = (b + 17) // 8
        acc = int.from_bytes(w[:n], 'little')
        if acc >> b & 0x3FF == 3 and acc >> (b + 10) == 0 and \
                int.from_bytes(w[n + 4:n + 8], 'little') == d & 0xFFFFFFFF:
            print(b)
            break
    elif int.from_bytes(w[:11], 'big') >> (40 - b) & (2**48 - 1) == 0x177245385090:
        print(b)
        break
PY
}

# flip FILE AT MASK: byte AT of FILE xor MASK.
flip() {
	python3 - "$@" <<'PY'
import sys
path, at, mask = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, 'r+b') as f:
    f.seek(at)
    b = f.read(1)[0]
    f.seek(at)
    f.write(bytes([b ^ mask]))
PY
}

@test "recompress: a wrong gzip or bzip2 closer (CRC-32, ISIZE, a final block that is not empty, combined CRC, end-of-stream magic) or a changed kept bit just before the cut is caught by the read-back, nothing written" {
	need_strace
	big
	local z n lvl b at d what mask byte
	for z in gzip:1 bzip2:2; do
		n=${z#*:} z=${z%:*}
		# A level whose cut falls inside a byte, so that a kept bit shares the closer's byte.
		for lvl in 9 8 7 6 5 4 3; do
			rm -f "$W/b.rep"
			image "$n" "$W/b.img" "$z" -"$lvl" -c
			repair_kept "$W/b.img" "$W/b.rep"
			assert_output --partial "$QUICK"
			[[ "$output" =~ \(([0-9]+)\ bytes\ decompressed ]] || fail "$output"
			d=${BASH_REMATCH[1]}
			start=$(stream_start "$W/b.img")
			at=$((start + KEPT))
			b=$(cut_bit "$z" "$W/b.rep" "$at" "$d")
			[ -n "$b" ] || fail "$z -$lvl: no closer found at byte $at"
			[ "$b" -eq 0 ] || break
		done
		[ "$b" -gt 0 ] || fail "$z: every level's cut is at a byte's start"
		size=$(stat -c %s "$W/b.rep")
		rm -f "$W/b.rep"
		for what in crc isize-or-magic block kept; do
			# byte, mask, and what the read-back must say
			case $z:$what in
			gzip:crc) byte=$((at + (b + 17) / 8)) mask=1
				msg="the cut gzip member's CRC-32 is not the CRC-32 of its kept content" ;;
			gzip:isize-or-magic) byte=$((at + (b + 17) / 8 + 4)) mask=1
				msg="the cut gzip member's ISIZE is not the length of its kept content" ;;
			gzip:block) byte=$((at + (b + 4) / 8)) mask=$((1 << ((b + 4) % 8)))
				msg="the final block written at the cut gzip member is not an empty block" ;;
			gzip:kept) byte=$at mask=$((1 << (b - 1)))
				msg="the kept bits of the cut gzip member's last byte are not the input's" ;;
			bzip2:crc) byte=$((at + (b + 53) / 8)) mask=$((128 >> ((b + 53) % 8)))
				msg="the cut bzip2 stream's combined CRC is not the one of its kept blocks' CRCs" ;;
			bzip2:isize-or-magic) byte=$at mask=$((128 >> b))
				msg="the end-of-stream magic written at the cut bzip2 stream is not 0x177245385090" ;;
			bzip2:block) continue ;;
			bzip2:kept) byte=$at mask=$((128 >> (b - 1)))
				msg="the kept bits of the cut bzip2 stream's last byte are not the input's" ;;
			esac
			paused fsync "$W/b.rep" "$FREDCK" repair "$W/b.img" -o "$W/b.rep"
			written "$size"
			flip "$tmp" "$byte" "$mask"
			finished
			refused "verification failed: $msg" "$W/b.rep"
		done
	done
}
