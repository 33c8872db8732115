#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# libvirt save images: a real QEMU 7.2 stream wrapped as virsh save writes
# it (tests/qemu/mklibvirt.sh: header, XML, cookie, padding), checked and
# repaired by fredck; the stream inside must still load in QEMU and the
# header, XML and cookie must not change by a byte.

bats_require_minimum_version 1.5.0

setup_file() {
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	export TOP_SRCDIR
	export QEMU_PATCH=${QEMU_PATCH:-$TOP_SRCDIR/_build/tests/qemu/qemu-patch}
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	SKIP_REASON=$(qemu_peer_skip_reason debian12)
	export SKIP_REASON
	[ -z "$SKIP_REASON" ] || return 0
	S="$BATS_FILE_TMPDIR"
	qemu_make_stream debian12 "$S/pc.bin" --machine pc --smp 2 --mem 64
	"$QEMU_PATCH" "$S/pc.bin" "$S/pf.bin" 1 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x7f3a1c2e5008
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" "$S/pf.bin" "$S/pf.img"
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

# Where the QEMU stream starts: 92 + data_len (little-endian u32 at 20).
stream_start() {
	echo $((92 + $(od -An -tu4 -j20 -N4 "$1")))
}

@test "libvirt: inspect names the image, the domain and the machine" {
	run "$FREDCK" inspect "$S/pf.img"
	assert_success
	assert_output --partial "pf.img: libvirt (2 vCPUs, machine pc-i440fx-"
	assert_output --regexp "libvirt image +version 2, raw, running after restore"
	assert_output --regexp "domain +fredck-test \\(6c5f6a1e-8d6b-4b7e-9b3a-2f1d0c9e8a7b\\)"
}

@test "libvirt: an at-risk vCPU inside: check exits 4 with FK101; repair -o exits 1; re-check 0" {
	run "$FREDCK" check "$S/pf.img"
	assert_equal "$status" 4
	assert_output --partial FK101
	run "$FREDCK" repair "$S/pf.img" -o "$W/out.img"
	assert_equal "$status" 1
	run "$FREDCK" check "$W/out.img"
	assert_equal "$status" 0
}

@test "libvirt: header, XML and cookie are byte-identical; the stream inside loads in QEMU" {
	"$FREDCK" repair "$S/pf.img" -o "$W/out.img" >/dev/null || [ $? -eq 1 ]
	start=$(stream_start "$S/pf.img")
	assert_equal "$(stream_start "$W/out.img")" "$start"
	run cmp -n "$start" "$S/pf.img" "$W/out.img"
	assert_success
	tail -c +$((start + 1)) "$W/out.img" >"$W/stream.bin"
	run qemu_load_stream debian12 "$W/stream.bin" --machine pc --smp 2 --mem 64
	assert_success
}

@test "libvirt: the filter on standard input gives the same bytes, and names the format libvirt" {
	"$FREDCK" repair "$S/pf.img" -o "$W/file.img" >/dev/null || [ $? -eq 1 ]
	run bash -c '"$1" repair - -o - <"$2" >"$3"' _ "$FREDCK" "$S/pf.img" "$W/pipe.img"
	assert_equal "$status" 1
	run cmp "$W/file.img" "$W/pipe.img"
	assert_success
	run bash -c '"$1" -j check - <"$2"' _ "$FREDCK" "$S/pf.img"
	assert_equal "$status" 4
	assert_equal "$(jq -r '.inputs[0].format' <<<"$output")" libvirt
}

@test "libvirt: --in-place keeps the original as the backup, byte for byte" {
	cp "$S/pf.img" "$W/vm.img"
	run "$FREDCK" repair "$W/vm.img" --in-place
	assert_equal "$status" 1
	run cmp "$W/vm.img.orig" "$S/pf.img"
	assert_success
	run "$FREDCK" check "$W/vm.img"
	assert_equal "$status" 0
}

@test "libvirt: an unfinished image (LibvirtQemudPart) is refused: exit 8, nothing written" {
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" "$S/pf.bin" "$W/part.img" 0 LibvirtQemudPart
	run --separate-stderr "$FREDCK" repair "$W/part.img" -o "$W/out.img"
	assert_equal "$status" 8
	[[ "$stderr" == *"byte 0 (magic): an unfinished libvirt save image"* ]] || fail "$stderr"
	[ ! -e "$W/out.img" ]
}

# A libvirt image of format N whose stream is compressed by PROG, as
# libvirt pipes it through "PROG -c" (xz -3).
compressed_image() { # N PROG OUT
	local z
	case "$2" in
	xz) z="xz -3 -c" ;;
	*) z="$2 -c" ;;
	esac
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" /dev/null "$W/hdr" "$1"
	{ cat "$W/hdr"; $z <"$S/pf.bin"; } >"$3"
}

@test "libvirt: compressed images (gzip, bzip2, xz, lzop, zstd) are read: the same findings" {
	local n=1 prog
	for prog in gzip bzip2 xz lzop zstd; do
		compressed_image "$n" "$prog" "$W/$prog.img"
		run "$FREDCK" -j check "$W/$prog.img"
		assert_equal "$status" 4
		assert_equal "$(jq -r '.inputs[0].vcpus[1] | [.findings[0].code, .event_data.value] | @tsv' <<<"$output")" \
			"$(printf 'FK101\t0x00007f3a1c2e5008')"
		run "$FREDCK" inspect "$W/$prog.img"
		assert_output --regexp "libvirt image +version 2, $prog,"
		n=$((n + 1))
	done
}

@test "libvirt: a gzip image on standard input is read too" {
	compressed_image 1 gzip "$W/gzip.img"
	run bash -c '"$1" check - <"$2"' _ "$FREDCK" "$W/gzip.img"
	assert_equal "$status" 4
}

@test "libvirt: an lzop image on standard input is read too (decoded in process, no longer by lzop from the file)" {
	compressed_image 4 lzop "$W/lzop.img"
	run bash -c 'cat "$2" | "$1" check -' _ "$FREDCK" "$W/lzop.img"
	assert_equal "$status" 4
	assert_output --partial FK101
}

@test "libvirt: compressed images are repaired with the same compressor; the standard tool decompresses a stream QEMU loads" {
	local n=1 prog start
	for prog in gzip bzip2 xz lzop zstd; do
		compressed_image "$n" "$prog" "$W/$prog.img"
		run "$FREDCK" repair "$W/$prog.img" -o "$W/$prog.rep"
		assert_equal "$status" 1
		run "$FREDCK" -j check "$W/$prog.rep"
		assert_equal "$status" 0
		assert_equal "$(jq -r '.inputs[0].vcpus[1].exception.state' <<<"$output")" pending
		start=$(stream_start "$W/$prog.rep")
		run cmp -n "$start" "$W/$prog.img" "$W/$prog.rep"
		assert_success
		tail -c +$((start + 1)) "$W/$prog.rep" | "$prog" -dc >"$W/$prog.stream"
		n=$((n + 1))
	done
	# Every tool gives back the same repaired stream, and QEMU loads it.
	for prog in gzip bzip2 lzop zstd; do
		run cmp "$W/xz.stream" "$W/$prog.stream"
		assert_success
	done
	run qemu_load_stream debian12 "$W/xz.stream" --machine pc --smp 2 --mem 64
	assert_success
}

@test "libvirt: a compressed image on standard input is checked, not repaired (exit 12)" {
	compressed_image 1 gzip "$W/gzip.img"
	run --separate-stderr bash -c '"$1" repair - --in-place <"$2"' _ "$FREDCK" "$W/gzip.img"
	assert_equal "$status" 12
}

@test "libvirt: a truncated compressed stream is malformed: exit 8, the decompressed offset named" {
	local n=1 prog
	for prog in gzip bzip2 xz lzop zstd; do
		compressed_image "$n" "$prog" "$W/$prog.img"
		head -c 70000 "$W/$prog.img" >"$W/cut.img"
		run --separate-stderr "$FREDCK" check "$W/cut.img"
		assert_equal "$status" 8
		[[ "$stderr" == *"($prog-decompressed stream): byte "*"$prog data: truncated"* ]] ||
			fail "$prog: $stderr"
		n=$((n + 1))
	done
}

# fredck checks each zstd frame's content checksum itself (libzstd is told
# to skip it, so that the content is hashed once): a wrong one, in the last
# frame or in an earlier one, is still refused.
@test "libvirt zstd: a wrong content checksum, in the last frame or an earlier one, is malformed: exit 8" {
	local half=$(($(stat -c %s "$S/pf.bin") / 2)) size
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" /dev/null "$W/hdr" 5
	head -c "$half" "$S/pf.bin" | zstd -c >"$W/a.zst"
	tail -c +$((half + 1)) "$S/pf.bin" | zstd -c >"$W/b.zst"
	cat "$W/hdr" "$W/a.zst" "$W/b.zst" >"$W/good.img"
	run "$FREDCK" check "$W/good.img"
	assert_equal "$status" 4
	for which in a b; do
		cp "$W/$which.zst" "$W/bad.zst"
		size=$(stat -c %s "$W/bad.zst")
		# The frame's last byte is its checksum's highest.
		printf "\\$(printf %o $((0x$(tail -c 1 "$W/bad.zst" | od -An -tx1 | tr -d ' ') ^ 0x40)))" |
			dd of="$W/bad.zst" bs=1 seek=$((size - 1)) conv=notrunc status=none
		if [ "$which" = a ]; then cat "$W/hdr" "$W/bad.zst" "$W/b.zst"; else cat "$W/hdr" "$W/a.zst" "$W/bad.zst"; fi >"$W/bad.img"
		run zstd -t <(tail -c +$(($(stat -c %s "$W/hdr") + 1)) "$W/bad.img")
		assert_failure
		run --separate-stderr "$FREDCK" check "$W/bad.img"
		assert_equal "$status" 8
		[[ "$stderr" == *"zstd data: Restored data doesn't match checksum"* ]] || fail "$which: $stderr"
		run "$FREDCK" repair "$W/bad.img" -o "$W/out.img"
		assert_equal "$status" 8
		[ ! -e "$W/out.img" ] || fail "$which: written"
	done
}

@test "libvirt: data_len past the end of the file is malformed (exit 8, byte 20, data_len)" {
	head -c 1000 "$S/pf.img" >"$W/short.img"
	run --separate-stderr "$FREDCK" check "$W/short.img"
	assert_equal "$status" 8
	[[ "$stderr" == *"byte 20 (data_len)"* ]] || fail "$stderr"
}

@test "libvirt lzop: with standard input closed, the image is still read and repaired (lzop -c gets the tail as its stdin)" {
	compressed_image 4 lzop "$W/lzop.img"
	run bash -c '"$1" check "$2" <&-' _ "$FREDCK" "$W/lzop.img"
	assert_equal "$status" 4
	assert_output --partial FK101
	run bash -c '"$1" repair "$2" -o "$3" <&-' _ "$FREDCK" "$W/lzop.img" "$W/out.img"
	assert_equal "$status" 1
	run "$FREDCK" check "$W/out.img"
	assert_equal "$status" 0
}

@test "libvirt lzop: read without the lzop program (liblzo2); a repair needs it for the tail (lzop -c): an operational error naming the program, nothing written" {
	compressed_image 4 lzop "$W/lzop.img"
	mkdir "$W/bin"
	run --separate-stderr env PATH="$W/bin" "$FREDCK" check --json "$W/lzop.img"
	assert_equal "$status" 4
	assert_equal "$(jq -r '.inputs[0].vcpus[1].findings[0].code' <<<"$output")" FK101
	run --separate-stderr env PATH="$W/bin" "$FREDCK" repair "$W/lzop.img" -o "$W/out.img"
	assert_equal "$status" 12 # at risk (4), the repair failed (8)
	[[ "$stderr" == *"cannot run lzop: No such file or directory"* ]] || fail "$stderr"
	[[ "$stderr" != *"byte "* ]] || fail "reported as damaged data: $stderr"
	[ ! -e "$W/out.img" ]
}

# The image's lzop file from byte START: damage WHAT (flip, sum, cut, dst,
# method) in its first block or its header; the header checksum made right
# again for method, so that the method is what is wrong.
lzop_damage() { # IMG START WHAT
	python3 - "$@" <<'PY'
import struct, sys, zlib
path, start, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
b = bytearray(open(path, "rb").read())
h = start + 38  # lzop -c from standard input: no name, a 38-byte header
dst, src = struct.unpack(">II", b[h:h + 8])
if what == "flip":
    b[h + 12 + src // 2] ^= 0x10
elif what == "sum":
    b[h + 11] ^= 1
elif what == "cut":
    del b[h + 12 + src // 2:]
elif what == "dst":
    b[h:h + 4] = struct.pack(">I", (64 << 20) + 1)
elif what == "method":
    b[start + 15] = 4
    b[h - 4:h] = struct.pack(">I", zlib.adler32(bytes(b[start + 9:h - 4])))
open(path, "wb").write(b)
PY
}

@test "libvirt lzop: damaged lzop data is refused (exit 8), the image's byte and the field named in one line; a repair writes nothing" {
	local start what want h
	compressed_image 4 lzop "$W/good.img"
	start=$(stream_start "$W/good.img")
	h=$((start + 38))
	for what in flip sum cut dst method; do
		cp "$W/good.img" "$W/lzop.img"
		lzop_damage "$W/lzop.img" "$start" "$what"
		case $what in
		flip) want="lzop data: byte $((h + 12)) (a block's " ;;
		sum) want="lzop data: byte $((h + 12)) (a block's data): its Adler-32 is 0x" ;;
		cut) want="lzop data: truncated at byte $((h + 12)) (a block's compressed data): the input ends at byte " ;;
		dst) want="lzop data: byte $h (a block's uncompressed length): 67108865 bytes, more than lzop's limit of 64 MiB" ;;
		method) want="lzop data: byte $((start + 15)) (the header's method): 4, not one of lzop's LZO1X methods" ;;
		esac
		run --separate-stderr "$FREDCK" check "$W/lzop.img"
		assert_equal "$status" 8
		[ "$(wc -l <<<"$stderr")" -eq 1 ] || fail "$what: more than one line on stderr: $stderr"
		[[ "$stderr" == "fredck: $W/lzop.img (lzop-decompressed stream): byte "*"$want"* ]] ||
			fail "$what: $stderr"
		run --separate-stderr "$FREDCK" repair "$W/lzop.img" -o "$W/out.img"
		assert_equal "$status" 8
		[[ "$stderr" == *"$want"* ]] || fail "$what (repair): $stderr"
		[ ! -e "$W/out.img" ] || fail "$what: the repair wrote $W/out.img"
		# lzop -dc refuses it too.
		run bash -c 'tail -c +$(($2 + 1)) "$1" | lzop -dc >/dev/null' _ "$W/lzop.img" "$start"
		assert_failure
	done
}

# The libvirt hook of README.md, taken from it as it is printed there, with
# libvirt's save directory and the log moved under DIR.
readme_hook() { # DIR OUT
	awk '/^    #!\/bin\/sh$/ { on = 1 } on && !/^    / { exit } on { print substr($0, 5) }' \
		"$TOP_SRCDIR/README.md" |
		sed -e "s|/var/lib/libvirt/qemu/save|$1/save|g" -e "s|/var/log/fredck.log|$1/fredck.log|g" >"$2"
	grep -q 'fredck repair --in-place' "$2" || fail "no hook found in README.md: $(cat "$2")"
	chmod +x "$2"
}

@test "libvirt: the README's hook over three managed-save cycles of one domain: every start allowed, each save repaired, each original kept" {
	readme_hook "$W" "$W/qemu-hook"
	mkdir "$W/save"
	local n img=$W/save/dom.save
	local backups=("$img.orig" "$img.orig.1" "$img.orig.2")
	for n in 1 2 3; do
		# Three different at-risk saves (the fault address differs), as libvirt writes them.
		"$QEMU_PATCH" "$S/pc.bin" "$W/pf$n.bin" 1 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
			exception_nr=14 cr2=$((0x7f3a1c2e5008 + n * 4096))
		bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" "$W/pf$n.bin" "$W/save$n.img"
	done
	for n in 1 2 3; do
		cp "$W/save$n.img" "$img"
		run -4 "$FREDCK" check "$img"
		# libvirt starts the domain from its managed save: "prepare begin".
		PATH="$(dirname "$FREDCK"):$PATH" run "$W/qemu-hook" dom prepare begin -
		[ "$status" -eq 0 ] || fail "cycle $n: the hook refused the start: $(cat "$W/fredck.log")"
		run -0 "$FREDCK" check "$img"
		cmp "$W/save$n.img" "${backups[n - 1]}" ||
			fail "cycle $n: the original is not kept: $(ls -la "$W/save"; cat "$W/fredck.log")"
		# Restored: libvirt removes the managed save, and only it.
		rm "$img"
	done
	for n in 1 2 3; do
		cmp "$W/save$n.img" "${backups[n - 1]}" || fail "${backups[n - 1]} changed"
	done
	[ "$(find "$W/save" -type f | wc -l)" -eq 3 ] || fail "$(ls -la "$W/save")"
	# Another hook call with no managed save, and for another operation: nothing to do.
	PATH="$(dirname "$FREDCK"):$PATH" run -0 "$W/qemu-hook" dom prepare begin -
	PATH="$(dirname "$FREDCK"):$PATH" run -0 "$W/qemu-hook" dom release end -
}
