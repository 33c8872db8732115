#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Reruns are no-ops (issue 15, items 1 and 2): fredck's own backups
# (NAME.orig beside NAME, or the --backup suffix in use), its temporary
# names (.NAME.fredck-XXXXXX) and -O's DIR are never inputs of a search;
# a second and third `repair -r --in-place` over a mixed tree change
# nothing and exit 0; a backup named on the command line is read, but
# `--in-place` on it needs --force.

bats_require_minimum_version 1.5.0

setup_file() {
	qemu_setup_file debian12 || return 0
	S="$BATS_FILE_TMPDIR"
	qemu_make_stream debian12 "$S/pc.bin" --machine pc --smp 2 --mem 64
	"$QEMU_PATCH" "$S/pc.bin" "$S/pf.bin" 1 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x7f3a1c2e5008
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" /dev/null "$S/hdr" 5 # 5: zstd
	{ cat "$S/hdr"; zstd -q -c <"$S/pf.bin"; } >"$S/pf.zst.img"
}

load test_helper

MKFCSNAP=${MKFCSNAP:-${TOP_BUILDDIR:-$TOP_SRCDIR/_build}/tests/fc/mkfcsnap}
CHV_GEN=${CHV_GEN:-${TOP_BUILDDIR:-$TOP_SRCDIR/_build}/tests/chv/chv-gen}

# A tree of every format, each with an at-risk #PF a repair fixes whole.
mixed_tree() { # DIR
	local t=$1
	mkdir -p "$t/kvm" "$t/qemu" "$t/vmm"
	cp -R "$FIXTURES/pf-lost-cap" "$t/kvm/a"
	cp -R "$FIXTURES/pf-lost-nocap" "$t/kvm/b"
	"$MKFCSNAP" -e 14 v1.14 "$t/vmm/fc.snap" >/dev/null || fail "mkfcsnap failed"
	"$CHV_GEN" --layout=v53 "$t/vmm/chv" pf clean >/dev/null || fail "chv-gen failed"
	if [ -z "$QEMU_SKIP" ]; then
		cp "$BATS_FILE_TMPDIR/pf.bin" "$t/qemu/vm.save"
		cp "$BATS_FILE_TMPDIR/pf.zst.img" "$t/qemu/managed.img"
	fi
}

# snapshot_of DIR: every file's content and every path, to compare trees.
snapshot_of() {
	tree_sum "$1"
}

@test "rerun: three repair -r --in-place runs over a mixed tree: the 2nd and 3rd exit 0, no backup of a backup" {
	[ -x "$MKFCSNAP" ] && [ -x "$CHV_GEN" ] || fail "the generators are not built"
	local t=$WORK/tree
	mixed_tree "$t"
	cp -R "$t" "$WORK/pristine"
	run --separate-stderr "$FREDCK" repair -r --in-place "$t"
	[ "$status" -eq 1 ] || fail "first run: status $status: $stderr"
	snapshot_of "$t" >"$WORK/after1"
	run --separate-stderr "$FREDCK" repair -r --in-place "$t"
	[ "$status" -eq 0 ] || fail "second run: status $status: $output $stderr"
	[[ "$stderr" == *"backups skipped"* ]] || fail "the summary does not count the backups: $stderr"
	run --separate-stderr "$FREDCK" repair -r --in-place "$t"
	[ "$status" -eq 0 ] || fail "third run: status $status: $stderr"
	snapshot_of "$t" >"$WORK/after3"
	diff "$WORK/after1" "$WORK/after3" || fail "a rerun changed the tree"
	[ -z "$(find "$t" -name '*.orig.orig')" ] || fail "backups of backups: $(find "$t" -name '*.orig.orig')"
	# Each backup is its original, byte for byte.
	local b rel
	while IFS= read -r b; do
		rel=${b#"$t"/}
		if [ -d "$b" ]; then
			diff <(tree_sum "$b") <(tree_sum "$WORK/pristine/${rel%.orig}") || fail "$rel differs"
		else
			cmp "$b" "$WORK/pristine/${rel%.orig}" || fail "$rel differs from the original"
		fi
	done < <(find "$t" -name '*.orig' -prune)
	run -0 "$FREDCK" check -r "$t"
}

@test "rerun: fredck's temporary names and backups in a tree are skipped by check -r, counted, and listed with -v" {
	local t=$WORK/tree
	mkdir -p "$t"
	cp -R "$FIXTURES/clean" "$t/vm"
	cp -R "$FIXTURES/pf-lost-cap" "$t/vm.orig"
	cp -R "$FIXTURES/pf-lost-cap" "$t/.vm.fredck-Ab12Cd"
	run --separate-stderr "$FREDCK" check -r "$t"
	[ "$status" -eq 0 ] || fail "status $status: $output $stderr"
	[[ "$stderr" == *"1 input"*"1 backup skipped, 1 temporary skipped"* ]] || fail "$stderr"
	run --separate-stderr "$FREDCK" -v check -r "$t"
	[[ "$stderr" == *"skipped '$t/vm.orig': a backup fredck keeps"* ]] || fail "$stderr"
	[[ "$stderr" == *"skipped '$t/.vm.fredck-Ab12Cd': a temporary name of fredck's"* ]] || fail "$stderr"
	# A NAME.orig with no NAME beside it is not a backup: it is searched.
	rm -rf "$t/vm"
	run --separate-stderr "$FREDCK" check -r "$t"
	[ "$status" -eq 4 ] || fail "vm.orig alone was not read: $status $stderr"
}

@test "rerun: the --backup suffix in use is the one skipped" {
	local t=$WORK/tree
	mkdir -p "$t"
	cp -R "$FIXTURES/pf-lost-cap" "$t/vm"
	run -1 "$FREDCK" repair -r --in-place --backup=.bak "$t"
	[ -d "$t/vm.bak" ] || fail "no backup"
	run --separate-stderr "$FREDCK" repair -r --in-place --backup=.bak "$t"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ ! -e "$t/vm.bak.bak" ] || fail "the backup was repaired"
}

@test "rerun: a backup named on the command line is read; --in-place on it needs --force" {
	local t=$WORK/tree
	mkdir -p "$t"
	cp -R "$FIXTURES/pf-lost-cap" "$t/vm"
	run -1 "$FREDCK" repair --in-place "$t/vm"
	run -4 "$FREDCK" check "$t/vm.orig"
	run -16 --separate-stderr "$FREDCK" repair --in-place "$t/vm.orig"
	[[ "$stderr" == *"is a backup fredck keeps"*"--force"* ]] || fail "$stderr"
	run -1 "$FREDCK" repair --in-place --force "$t/vm.orig"
}

@test "rerun: -O DIR inside the searched tree is never searched" {
	local t=$WORK/tree
	mkdir -p "$t"
	cp -R "$FIXTURES/pf-lost-cap" "$t/vm"
	run -1 "$FREDCK" repair -r -O "$t/out" "$t"
	[ -d "$t/out/vm" ] || fail "no output"
	# Run again into the same DIR (an interrupted run resumed, say): DIR's
	# content is fredck's output, not a snapshot to repair into itself.
	run --separate-stderr "$FREDCK" -v repair -r -O "$t/out" "$t"
	[ ! -e "$t/out/out" ] || fail "-O's own directory was searched: $(find "$t/out")"
	[[ "$stderr" == *"skipped '$t/out': the output directory (-O)"* ]] || fail "$stderr"
}

@test "rerun: three repair -r --in-place runs over a mixed tree whose inputs have older backups of other content: originals go to NAME.orig.1, reruns exit 0" {
	[ -x "$MKFCSNAP" ] && [ -x "$CHV_GEN" ] || fail "the generators are not built"
	local t=$WORK/tree p rel
	mixed_tree "$t"
	cp -R "$t" "$WORK/pristine"
	# What a domain saved, repaired, restored and saved again leaves: a
	# backup of an earlier original beside each input (here: other content).
	while IFS= read -r p; do
		if [ -d "$p" ]; then
			mkdir "$p.orig" && echo earlier >"$p.orig/NOTE"
		else
			echo earlier >"$p.orig"
		fi
	done < <(cd "$t" && find "$PWD" \( -name a -o -name b -o -name fc.snap -o -name chv \
		-o -name vm.save -o -name managed.img \) -prune)
	find "$t" -name '*.orig' | LC_ALL=C sort >"$WORK/earlier"
	run --separate-stderr "$FREDCK" repair -r --in-place "$t"
	[ "$status" -eq 1 ] || fail "first run: status $status: $stderr"
	snapshot_of "$t" >"$WORK/after1"
	for _ in 2 3; do
		run --separate-stderr "$FREDCK" repair -r --in-place "$t"
		[ "$status" -eq 0 ] || fail "rerun: status $status: $output $stderr"
	done
	snapshot_of "$t" >"$WORK/after3"
	diff "$WORK/after1" "$WORK/after3" || fail "a rerun changed the tree"
	[ -z "$(find "$t" -name '*.orig.*.orig*' -o -name '*.orig.orig*' -o -name '*.orig.2')" ] ||
		fail "backups of backups: $(find "$t" -name '*.orig*')"
	# The earlier backups are as they were; each original is its NAME.orig.1.
	while IFS= read -r p; do
		if [ -d "$p" ]; then
			[ "$(cat "$p/NOTE")" = earlier ] && [ "$(ls "$p")" = NOTE ] || fail "$p changed"
		else
			[ "$(cat "$p")" = earlier ] || fail "$p changed"
		fi
	done <"$WORK/earlier"
	[ "$(find "$t" -name '*.orig.1' | wc -l)" -eq 5 ] || fail "$(find "$t" -name '*.orig*')"
	while IFS= read -r p; do
		rel=${p#"$t"/}
		if [ -d "$p" ]; then
			diff <(tree_sum "$p") <(tree_sum "$WORK/pristine/${rel%.orig.1}") || fail "$rel differs"
		else
			cmp "$p" "$WORK/pristine/${rel%.orig.1}" || fail "$rel differs from the original"
		fi
	done < <(find "$t" -name '*.orig.1' -prune)
	run -0 "$FREDCK" check -r "$t"
}
