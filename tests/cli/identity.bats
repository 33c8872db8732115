#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Identity through a run (issue 15, item 3): the input fredck opened is
# the one it reads, backs up and replaces.  fredck is paused at a chosen
# system call (strace's delay injection, after the temporary copy exists
# and before the commit) while the test replaces the path with another
# object or appends to it: fredck then commits nothing (exit 8, +4 for
# the vCPU left at risk), names the change, removes its temporary copy,
# makes no backup, and the object now at the path is left byte for byte.
# For a QEMU stream, a zstd-compressed libvirt image (whose writer reads
# the input a second time) and a kvm-dir.

bats_require_minimum_version 1.5.0

setup_file() {
	qemu_setup_file debian12 || return 0
	S="$BATS_FILE_TMPDIR"
	qemu_make_stream debian12 "$S/pc.bin" --machine pc --smp 2 --mem 64
	# Two at-risk streams that differ (the fault address): the input, and what replaces it.
	"$QEMU_PATCH" "$S/pc.bin" "$S/pf.bin" 1 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x7f3a1c2e5008
	"$QEMU_PATCH" "$S/pc.bin" "$S/pf2.bin" 1 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x7f3a1c2e6010
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" /dev/null "$S/hdr" 5 # 5: zstd
	{ cat "$S/hdr"; zstd -q -c <"$S/pf.bin"; } >"$S/pf.zst.img"
	{ cat "$S/hdr"; zstd -q -c <"$S/pf2.bin"; } >"$S/pf2.zst.img"
}

load test_helper

setup() {
	[ -x "$FREDCK" ] || fail "FREDCK=$FREDCK is not built"
	command -v strace >/dev/null || skip "strace is not installed"
	# LeakSanitizer cannot run under ptrace (a sanitizer build): ASan and UBSan still do.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	S="$BATS_FILE_TMPDIR"
	WORK=$BATS_TEST_TMPDIR/work
	mkdir -p "$WORK"
	cd "$WORK" || fail "no $WORK"
}

need_qemu() {
	[ -z "$QEMU_SKIP" ] || skip "$QEMU_SKIP"
}

# paused SYSCALL NAME CMD...: run CMD under strace with SYSCALL's first
# call held 3 s on its way out; return once fredck's temporary copy of
# NAME (.NAME.fredck-XXXXXX beside it) exists, with the run's pid in $pid.
paused() {
	local call=$1 name=$2
	shift 2
	strace -f -qq -o /dev/null -e trace="$call" -e inject="$call":delay_exit=3000000:when=1 \
		"$@" >"$WORK/out" 2>"$WORK/err" &
	pid=$!
	for _ in $(seq 300); do
		[ -n "$(find "$(dirname "$name")" -maxdepth 1 -name ".$(basename "$name").fredck-*")" ] && return 0
		sleep 0.01
	done
	wait "$pid" || true
	fail "fredck never made its temporary copy: $(cat "$WORK/err")"
}

# finished: wait for the paused run; its exit status in $status.
finished() {
	status=0
	wait "$pid" || status=$?
}

# refused TEXT: the run committed nothing and said TEXT; no temporary is left.
refused() {
	[ "$status" -eq 12 ] || fail "status $status (not 8 + 4): $(cat "$WORK/out" "$WORK/err")"
	grep -qF -- "$1" "$WORK/err" || fail "stderr does not say '$1': $(cat "$WORK/err")"
	grep -q "nothing was committed" "$WORK/err" || fail "$(cat "$WORK/err")"
	assert_no_leftovers "$WORK"
}

@test "identity: a QEMU stream replaced (mv) while repaired in place: nothing committed, the new file untouched, no backup" {
	need_qemu
	cp "$S/pf.bin" vm.save
	cp "$S/pf2.bin" new.save
	paused fsync "$WORK/vm.save" "$FREDCK" repair --in-place "$WORK/vm.save"
	mv new.save vm.save
	finished
	refused "vm.save: was replaced while fredck repaired it"
	cmp "$S/pf2.bin" vm.save || fail "the file put at the path was changed"
	[ ! -e vm.save.orig ] || fail "a backup was made: $(ls -la)"
	# Once nothing moves, the same repair goes through, its backup the file that was there.
	run -1 "$FREDCK" repair --in-place vm.save
	cmp "$S/pf2.bin" vm.save.orig
}

@test "identity: a QEMU stream appended to while repaired in place: refused (grew), left as it is" {
	need_qemu
	cp "$S/pf.bin" vm.save
	paused fsync "$WORK/vm.save" "$FREDCK" repair --in-place "$WORK/vm.save"
	printf 'appended' >>vm.save
	finished
	refused "vm.save: grew while fredck repaired it"
	cmp <(cat "$S/pf.bin"; printf appended) vm.save || fail "the appended file was changed"
	[ ! -e vm.save.orig ] || fail "a backup was made"
}

@test "identity: a QEMU stream replaced while the backup is linked: the last check refuses, the backup is removed" {
	need_qemu
	cp "$S/pf.bin" vm.save
	cp "$S/pf2.bin" new.save
	# Held on the way out of the backup's link: after the first comparison, before the rename.
	strace -f -qq -o /dev/null -e trace=linkat,link -e inject=linkat,link:delay_exit=3000000:when=1 \
		"$FREDCK" repair --in-place "$WORK/vm.save" >"$WORK/out" 2>"$WORK/err" &
	pid=$!
	for _ in $(seq 300); do
		[ -e vm.save.orig ] && break
		sleep 0.01
	done
	[ -e vm.save.orig ] || fail "no backup link was made: $(cat "$WORK/err")"
	mv new.save vm.save
	finished
	refused "vm.save: was replaced while fredck repaired it"
	cmp "$S/pf2.bin" vm.save
	[ ! -e vm.save.orig ] || fail "the backup of a commit that did not happen was left"
}

@test "identity: a compressed libvirt image replaced while repaired in place: refused, the new image untouched" {
	need_qemu
	command -v zstd >/dev/null || skip "zstd is not installed"
	cp "$S/pf.zst.img" vm.img
	cp "$S/pf2.zst.img" new.img
	paused fsync "$WORK/vm.img" "$FREDCK" repair --in-place "$WORK/vm.img"
	mv new.img vm.img
	finished
	refused "vm.img: was replaced while fredck repaired it"
	cmp "$S/pf2.zst.img" vm.img
	[ ! -e vm.img.orig ] || fail "a backup was made"
}

@test "identity: -o of a compressed image replaced before the writer's second pass reads the image opened, not the new one" {
	need_qemu
	command -v zstd >/dev/null || skip "zstd is not installed"
	cp "$S/pf.zst.img" vm.img
	run -1 "$FREDCK" repair "$WORK/vm.img" -o "$WORK/want.img"
	cp "$S/pf2.zst.img" new.img
	# Held after the header is copied into the temporary output, before the stream is read again.
	paused copy_file_range "$WORK/out.img" "$FREDCK" repair "$WORK/vm.img" -o "$WORK/out.img"
	mv new.img vm.img
	finished
	[ "$status" -eq 1 ] || fail "status $status: $(cat "$WORK/err")"
	cmp want.img out.img || fail "the output is not the repair of the image that was opened"
	cmp "$S/pf2.zst.img" vm.img
	assert_no_leftovers "$WORK"
}

@test "identity: -o of a QEMU stream appended to during the run: exit 8, no output" {
	need_qemu
	cp "$S/pf.bin" vm.save
	paused fsync "$WORK/out.save" "$FREDCK" repair "$WORK/vm.save" -o "$WORK/out.save"
	printf 'appended' >>vm.save
	finished
	refused "vm.save: grew while fredck repaired it"
	[ ! -e out.save ] || fail "an output was written"
}

@test "identity: a kvm-dir replaced while repaired in place: refused, the new directory untouched, no backup" {
	fixture pf-lost-cap vm >/dev/null
	fixture pf-lost-nocap new >/dev/null
	tree_sum new >"$WORK/new.sum"
	paused fsync "$WORK/vm" "$FREDCK" repair --in-place "$WORK/vm"
	mv vm old && mv new vm
	finished
	refused "vm: was replaced while fredck repaired it"
	diff "$WORK/new.sum" <(tree_sum vm) || fail "the directory put at the path was changed"
	[ ! -e vm.orig ] || fail "a backup was made"
}

@test "identity: a kvm-dir whose vcpu0/events is replaced while repaired in place: refused, naming the file" {
	fixture pf-lost-cap vm >/dev/null
	fixture pf-lost-nocap other >/dev/null
	paused fsync "$WORK/vm" "$FREDCK" repair --in-place "$WORK/vm"
	cp other/vcpu0/events vm/vcpu0/events.new && mv vm/vcpu0/events.new vm/vcpu0/events
	finished
	refused "vm/vcpu0/events: was replaced while fredck repaired it"
	cmp other/vcpu0/events vm/vcpu0/events
	[ ! -e vm.orig ] || fail "a backup was made"
}

@test "identity: a file added to a kvm-dir while repaired in place: refused (changed), nothing lost" {
	fixture pf-lost-cap vm >/dev/null
	paused fsync "$WORK/vm" "$FREDCK" repair --in-place --no-backup "$WORK/vm"
	echo note >vm/NOTES
	finished
	refused "vm: changed while fredck repaired it"
	[ "$(cat vm/NOTES)" = note ] || fail "the file added was lost"
	cmp "$FIXTURES/pf-lost-cap/vcpu0/events" vm/vcpu0/events || fail "the events were replaced"
}

@test "identity: where no hard link can be made (protected_hardlinks, another user's file) the backup is a copy read from the opened file" {
	need_qemu
	[ "$(id -u)" -eq 0 ] || skip "needs root to run fredck as another user"
	[ "$(cat /proc/sys/fs/protected_hardlinks 2>/dev/null)" = 1 ] || skip "fs.protected_hardlinks is not 1"
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	# A directory the other user can reach (bats's own are private).
	local d
	d=$(mktemp -d /tmp/fredck-identity.XXXXXX)
	chmod 0777 "$d"
	cp "$S/pf.bin" "$d/vm.save"
	chmod 0644 "$d/vm.save"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$FREDCK" repair --in-place "$d/vm.save"
	local got=$status
	cmp "$S/pf.bin" "$d/vm.save.orig" && cmp_ok=1 || cmp_ok=0
	[ "$(stat -c %i "$d/vm.save.orig" 2>/dev/null)" != "$(stat -c %i "$d/vm.save")" ] && copy=1 || copy=0
	left=$(leftovers "$d")
	rm -rf "$d"
	[ "$got" -eq 1 ] || fail "status $got: $output"
	[ "$cmp_ok" -eq 1 ] || fail "the backup is not the original"
	[ "$copy" -eq 1 ] || fail "the backup is not a copy"
	[ -z "$left" ] || fail "temporaries left: $left"
}
