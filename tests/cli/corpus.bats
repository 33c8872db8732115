#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The generated malformed-input corpus (tests/malformed/mkcorpus.sh): for
# each format, every case must end with exit 8 and an error naming the
# file, the byte offset and the field; repair -o must write nothing and
# repair --in-place must change nothing; each run is bounded in time (a
# hang guard, not a performance test) and, outside sanitizer builds, in
# address space.  The counts per format are printed.

bats_require_minimum_version 1.5.0

setup_file() {
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	TOP_BUILDDIR=${TOP_BUILDDIR:-$TOP_SRCDIR/_build}
	export TOP_SRCDIR TOP_BUILDDIR
	export QEMU_PATCH=${QEMU_PATCH:-$TOP_SRCDIR/_build/tests/qemu/qemu-patch}
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	local S="$BATS_FILE_TMPDIR" fred=('cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033)
	QEMU_SKIP=$(qemu_peer_skip_reason debian12)
	export QEMU_SKIP
	cp -r "$TOP_SRCDIR/tests/fixtures/kvm/pf-lost-cap" "$TOP_SRCDIR/tests/fixtures/kvm/multi" \
		"$TOP_SRCDIR/tests/fixtures/kvm/nested" "$S/"
	if [ -z "$QEMU_SKIP" ]; then
		qemu_make_stream debian12 "$S/base.bin" --machine microvm --smp 2 --mem 2
		qemu_make_stream debian12 "$S/base-nodesc.bin" --machine microvm --smp 2 --mem 2 \
			--suppress-vmdesc
		"$QEMU_PATCH" "$S/base.bin" "$S/q.bin" 0 "${fred[@]}" exception_nr=14 cr2=0x5000
		"$QEMU_PATCH" "$S/base-nodesc.bin" "$S/qn.bin" 0 "${fred[@]}" exception_nr=14 cr2=0x5000
		bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" "$S/q.bin" "$S/lv.img" 0
		gzip -c "$S/q.bin" >"$S/q.gz"
		bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" "$S/q.gz" "$S/lvgz.img" 1
		MKFCSNAP=$TOP_BUILDDIR/tests/fc/mkfcsnap CHV_GEN=$TOP_BUILDDIR/tests/chv/chv-gen \
			bash "$TOP_SRCDIR/tests/malformed/mkcorpus.sh" "$S/corpus" "$S/pf-lost-cap" \
			"$S/q.bin" "$S/qn.bin" "$S/lv.img" "$S/lvgz.img" >"$S/counts"
	else
		MKFCSNAP=$TOP_BUILDDIR/tests/fc/mkfcsnap CHV_GEN=$TOP_BUILDDIR/tests/chv/chv-gen \
			bash "$TOP_SRCDIR/tests/malformed/mkcorpus.sh" "$S/corpus" "$S/pf-lost-cap" \
			>"$S/counts"
	fi
}

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	FREDCK=${FREDCK:-$TOP_SRCDIR/_build/fredck}
	S="$BATS_FILE_TMPDIR"
	W="$BATS_TEST_TMPDIR"
	# Address space: sanitizer builds reserve terabytes of it, so only the
	# others are limited (1 GiB, far above what any case needs).
	LIMIT=(prlimit --as=1073741824)
	if ldd "$FREDCK" 2>/dev/null | grep -q libasan; then LIMIT=(); fi
}

# Run fredck ARGS under the bounds; status in $rc, stderr in $err.
bounded() {
	err=$(timeout 60 "${LIMIT[@]}" "$FREDCK" "$@" 2>&1 >/dev/null) && rc=0 || rc=$?
}

# One case: every promise, or the reasons it broke (on stdout).
check_case() { # FORMAT WHY PATH SHAPE INDEX [FIELD] (every third also --in-place)
	local fmt=$1 why=$2 path=$3 shape=$4 field=${6:-} base out sum
	base=$(basename "$path")
	bounded check --format="$fmt" "$path"
	[ "$rc" -eq 8 ] || { echo "$why: check exit $rc: ${err:0:200}"; return; }
	if [ "$shape" = file ]; then
		[[ "$err" == "fredck: $path/"*": "* ]] ||
			{ echo "$why: the error does not name the file: $err"; return; }
	else
		[[ "$err" == "fredck: $path"*": byte "[0-9]*" ("*"): "* ]] ||
			{ echo "$why: the error does not name file, offset and field: $err"; return; }
	fi
	[ -z "$field" ] || [[ "$err" == *": byte "[0-9]*" $field"* ]] ||
		{ echo "$why: the error does not name the field $field: $err"; return; }
	out="$W/out-$base"
	bounded repair --format="$fmt" "$path" -o "$out"
	[ "$rc" -eq 8 ] || { echo "$why: repair -o exit $rc: $err"; return; }
	[ ! -e "$out" ] || { echo "$why: repair -o wrote $out"; rm -rf "$out"; return; }
	[ $(($5 % 3)) -eq 0 ] || return 0
	sum=$(find "$path" -type f -exec sha1sum {} + | sort | sha1sum)
	bounded repair --format="$fmt" --in-place "$path"
	[ "$rc" -eq 8 ] || { echo "$why: repair --in-place exit $rc: $err"; return; }
	[ "$(find "$path" -type f -exec sha1sum {} + | sort | sha1sum)" = "$sum" ] ||
		{ echo "$why: --in-place changed the input"; return; }
	[ -z "$(find "$(dirname "$path")" -maxdepth 1 -name ".$base.fredck-*" -o -maxdepth 1 -name "$base.orig")" ] ||
		{ echo "$why: --in-place left a temporary or a backup"; return; }
}

run_corpus() { # FORMAT MINIMUM
	local fmt=$1 min=$2 n=0 bad f why path shape field
	: >"$W/bad"
	while IFS=$'\t' read -r f why path shape field; do
		[ "$f" = "$fmt" ] || continue
		n=$((n + 1))
		check_case "$fmt" "$why" "$path" "$shape" "$n" "$field" >>"$W/bad"
	done <"$S/corpus/manifest"
	echo "# $fmt: $n cases, $(grep -c . "$W/bad") failed" >&3
	bad=$(cat "$W/bad")
	[ -z "$bad" ] || fail "$bad"
	[ "$n" -ge "$min" ] || fail "only $n $fmt cases"
}

@test "corpus: kvm-dir: every case exit 8, file, offset and field named, nothing written" {
	run_corpus kvm-dir 250
}

@test "corpus: QEMU stream: every case exit 8, file, offset and field named, nothing written" {
	[ -z "$QEMU_SKIP" ] || skip "$QEMU_SKIP"
	run_corpus qemu 300
}

@test "corpus: Firecracker state file: every case exit 8, file, offset and field named, nothing written" {
	run_corpus firecracker 500
}

@test "corpus: Cloud Hypervisor snapshot: every case exit 8, file, offset and JSON path named, nothing written" {
	run_corpus cloud-hypervisor 150
}

@test "corpus: libvirt image: every case exit 8, file, offset and field named, nothing written" {
	[ -z "$QEMU_SKIP" ] || skip "$QEMU_SKIP"
	run_corpus libvirt 150
}
