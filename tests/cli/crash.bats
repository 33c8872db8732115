#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Crash safety of repair --in-place (docs/design.md section 4): SIGKILL at every
# system call (tests/crash/kill-points.sh), also while a QEMU stream of
# 256 MiB is written; no space left (a small tmpfs) and a read-only file
# system (a read-only bind mount: root ignores permissions); mode and
# owner kept; temporary names created exclusively beside the target; a
# symlinked input repaired at its target; leftovers named by later runs.
#
# Each kill-point test prints its summary line as a TAP comment: the
# "kill points tried" figures.  Tests that need strace, QEMU, root or mount
# privileges say skipped with the reason where those are missing.
#
# FREDCK_CRASH_STRIDE=N tries one kill point in N only (default 1: all of
# them); scripts/test.sh sets it for the sanitizer pass and distcheck,
# which repeat these tests on the same code.

bats_require_minimum_version 1.5.0

setup_file() {
	qemu_setup_file debian12 || return 0
	S="$BATS_FILE_TMPDIR"
	qemu_make_stream debian12 "$S/pc.bin" --machine pc --smp 2 --mem 64
	at_risk "$S/pc.bin" "$S/pf.bin"
}

# A FRED vCPU 1 with an injected #PF: patch IN into OUT (as qemu.bats does).
at_risk() { # IN OUT
	"$QEMU_PATCH" "$1" "$2" 1 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x7f3a1c2e5008
}

load test_helper

# test_helper's setup, and this file's names.
setup() {
	WORK=$BATS_TEST_TMPDIR/work
	mkdir -p "$WORK" && cd "$WORK" || fail "cannot make $WORK"
	S="$BATS_FILE_TMPDIR"
	W="$BATS_TEST_TMPDIR"
	KP="$TOP_SRCDIR/tests/crash/kill-points.sh"
	MOUNTS=()
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
}

teardown() {
	local m
	# Mounts go even when the test failed; the most recent first.
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		m=${MOUNTS[i]}
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
}

need_strace() {
	command -v strace >/dev/null || skip "strace is not installed (scripts/install-deps.sh installs it)"
}

need_qemu() {
	[ -z "$QEMU_SKIP" ] || skip "$QEMU_SKIP"
}

# A small tmpfs of SIZE at DIR, or skip saying why it cannot be mounted.
mount_tmpfs() { # DIR SIZE
	local err
	mkdir -p "$1"
	err=$(mount -t tmpfs -o "size=$2" fredck-test "$1" 2>&1) ||
		skip "cannot mount a tmpfs (needs root and mount privileges): $err"
	MOUNTS+=("$1")
}

# DIR bind-mounted read-only onto itself, or skip saying why not.
mount_ro() { # DIR
	local err
	err=$(mount --bind "$1" "$1" 2>&1) ||
		skip "cannot bind-mount (needs root and mount privileges): $err"
	MOUNTS+=("$1")
	err=$(mount -o remount,ro,bind "$1" 2>&1) ||
		skip "cannot remount a bind mount read-only: $err"
	touch "$1/.probe" 2>/dev/null && skip "the read-only bind mount is still writable here"
	true
}

# Run kill-points.sh [--stride N] ARGS...: N (default 1) times
# FREDCK_CRASH_STRIDE; its summary line goes into the TAP output.
kill_points() {
	local stride=1
	if [ "$1" = --stride ]; then
		stride=$2
		shift 2
	fi
	run bash "$KP" --fredck "$FREDCK" --work "$W/kp" --stride $((stride * ${FREDCK_CRASH_STRIDE:-1})) "$@"
	echo "# ${lines[-1]}" >&3
	assert_success
	assert_output --regexp "; 0 failures; "
}

# After kill_points: every kill point was reached but at most the last
# few (the number of some system calls varies a little from run to run:
# a run may end before the N-th call of a name), and both outcomes were seen.
assert_points_reached() {
	local tried killed
	tried=$(sed -n 's/^[^:]*: \([0-9]*\) kill points.*/\1/p' <<<"$output")
	killed=$(sed -n 's/.*: killed \([0-9]*\),.*/\1/p' <<<"$output")
	[ -n "$tried" ] && [ -n "$killed" ] && [ $((tried - killed)) -le 3 ] ||
		fail "only $killed of $tried kill points were reached: $output"
	assert_output --regexp "input held the original [1-9][0-9]*, the repair [1-9]"
}

# ---- SIGKILL --------------------------------------------------------------

@test "crash: kvm-dir: SIGKILL at every system call of repair --in-place" {
	need_strace
	kill_points "$(fixture pf-lost-cap vm)"
	assert_points_reached
}

@test "crash: kvm-dir: SIGKILL at every 3rd system call, then the same repair again finishes the job" {
	need_strace
	kill_points --stride 3 --rerun "$(fixture pf-lost-cap vm)"
	# No rerun refused: the backups killed runs had made were used.
	assert_output --regexp "refused \(backup exists\) 0;"
}

@test "crash: kvm-dir of 4 vCPUs, --no-backup: SIGKILL at every 5th system call" {
	need_strace
	kill_points --stride 5 "$(fixture multi vm)" -- --no-backup
}

@test "crash: QEMU stream: SIGKILL at every system call, then the same repair again" {
	need_strace
	need_qemu
	cp "$S/pf.bin" "$W/vm.bin"
	kill_points --rerun "$W/vm.bin"
	assert_points_reached
}

@test "crash: zstd-compressed libvirt image: SIGKILL at every system call" {
	need_strace
	need_qemu
	command -v zstd >/dev/null || skip "zstd is not installed"
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" /dev/null "$W/hdr" 5
	{ cat "$W/hdr"; zstd -q -c <"$S/pf.bin"; } >"$W/vm.img"
	kill_points "$W/vm.img" -- --backup=.before-fredck
	assert_points_reached
}

@test "crash: QEMU stream of 256 MiB: SIGKILL while it is written and verified" {
	need_strace
	need_qemu
	local avail
	avail=$(df -Pk "$W" | awk 'NR == 2 { print $4 }')
	[ "$avail" -gt $((1400 * 1024)) ] ||
		skip "less than 1400 MiB free in $W ($((avail / 1024)) MiB): the stream, its reference repair, a copy and a temporary need it"
	# Guest RAM of non-zero pages: every page goes into the stream.
	yes fredck-crash-test | head -c 256M >"$W/ram"
	qemu_make_stream debian12 "$W/big.bin" --machine pc --smp 2 --mem 256 --ram-file "$W/ram"
	rm "$W/ram"
	at_risk "$W/big.bin" "$W/vm.bin"
	rm "$W/big.bin"
	[ "$(stat -c %s "$W/vm.bin")" -gt $((256 << 20)) ] || fail "the stream is only $(stat -c %s "$W/vm.bin") bytes"
	# Every 12th system call from the temporary file's creation on: the
	# copy, the verification (4 MiB windows), the backup and the rename.
	kill_points --stride 12 --from O_EXCL "$W/vm.bin"
	# copy_file_range copies the stream in one call: kill it midway too.
	kill_points --spread 10 "$W/vm.bin"
	# The repair every kill was compared with loads in QEMU.
	run qemu_load_stream debian12 "$W/kp/ref/vm.bin" --machine pc --smp 2 --mem 256
	assert_success
}

# ---- SIGINT, SIGTERM, SIGHUP (issue 15, item 5) ---------------------------
# fredck's handler removes what it was writing, leaves the input untouched
# (or, when the signal came while the result was put in place, the repair
# and its backup: that step holds the signal), says so and exits 32.

@test "signals: kvm-dir: SIGINT at every 2nd system call of --in-place, SIGTERM of -o" {
	need_strace
	kill_points --stride 2 --signal INT "$(fixture pf-lost-cap vm)"
	assert_points_reached
	assert_output --regexp "temporary files left 0 "
	kill_points --stride 2 --signal TERM --output "$(fixture pf-lost-cap vm2)"
	assert_output --regexp "temporary files left 0 "
}

@test "signals: QEMU stream and zstd libvirt image: SIGHUP, SIGINT and SIGTERM at every 2nd system call" {
	need_strace
	need_qemu
	command -v zstd >/dev/null || skip "zstd is not installed"
	cp "$S/pf.bin" "$W/vm.bin"
	kill_points --stride 2 --signal HUP "$W/vm.bin"
	assert_points_reached
	kill_points --stride 2 --signal INT --output "$W/vm.bin"
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" /dev/null "$W/hdr" 5
	{ cat "$W/hdr"; zstd -q -c <"$S/pf.bin"; } >"$W/vm.img"
	kill_points --stride 2 --signal TERM "$W/vm.img"
	assert_points_reached
	kill_points --stride 2 --signal INT --output "$W/vm.img"
}

@test "signals: QEMU stream of 256 MiB: SIGINT and SIGTERM midway through -o and --in-place" {
	need_qemu
	local avail
	avail=$(df -Pk "$W" | awk 'NR == 2 { print $4 }')
	[ "$avail" -gt $((1400 * 1024)) ] ||
		skip "less than 1400 MiB free in $W ($((avail / 1024)) MiB)"
	yes fredck-signal-test | head -c 256M >"$W/ram"
	qemu_make_stream debian12 "$W/big.bin" --machine pc --smp 2 --mem 256 --ram-file "$W/ram"
	rm "$W/ram"
	at_risk "$W/big.bin" "$W/vm.bin"
	rm "$W/big.bin"
	kill_points --spread 10 --signal INT "$W/vm.bin"
	assert_output --regexp "temporary files left 0 "
	kill_points --spread 10 --signal TERM --output "$W/vm.bin"
	assert_output --regexp "temporary files left 0 "
}

@test "signals: SIGTERM to a batch (repair -r -P 2 --in-place): the workers stop too, nothing half made, exit 32" {
	need_strace
	local i t=$W/tree
	mkdir -p "$t"
	for i in 1 2 3 4 5 6; do cp -R "$FIXTURES/pf-lost-cap" "$t/vm$i"; done
	cp -R "$t" "$W/pristine"
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" # traced: no LSan
	# Each worker is slowed at every rename (300 ms), so the signal finds them busy.
	env --default-signal=TERM strace -f -qq -o /dev/null -e trace=renameat2,rename \
		-e inject=renameat2:delay_enter=300000 \
		"$FREDCK" repair -r -P 2 --in-place "$t" >"$W/out" 2>"$W/err" &
	local pid=$!
	sleep 1
	pkill -TERM -P "$pid" -x fredck || true
	local st=0
	wait "$pid" || st=$?
	[ "$st" -eq 32 ] || fail "status $st: $(cat "$W/err")"
	grep -q '^fredck: interrupted by SIGTERM' "$W/err" || fail "$(cat "$W/err")"
	[ "$(grep -c 'interrupted by' "$W/err")" -eq 1 ] || fail "more than one message: $(cat "$W/err")"
	sleep 0.5
	pgrep -f "repair -r -P 2 --in-place $t" >/dev/null && fail "a worker is still running"
	[ -z "$(find "$t" -name '.*fredck-*')" ] || fail "temporaries left: $(find "$t" -name '.*fredck-*')"
	# Each input is its original, or the repair with the original as its backup.
	for i in 1 2 3 4 5 6; do
		if diff -r "$W/pristine/vm$i" "$t/vm$i" >/dev/null; then
			[ ! -e "$t/vm$i.orig" ] || fail "vm$i is the original but has a backup"
		else
			diff -r "$W/pristine/vm$i" "$t/vm$i.orig" >/dev/null || fail "vm$i: no complete backup"
		fi
	done
}

# ---- no space, read-only ------------------------------------------------

@test "crash: no space left (tmpfs): a clear error naming the input, exit 12, nothing lost, no temporary left" {
	need_qemu
	mount_tmpfs "$W/small" 640k
	cp "$S/pf.bin" "$W/small/vm.bin"
	cp "$S/pf.bin" "$W/want.bin"
	run --separate-stderr "$FREDCK" repair --in-place "$W/small/vm.bin"
	assert_equal "$status" 12
	[[ "$stderr" == "fredck: $W/small/vm.bin: left unchanged; the repaired copy could not be made (.vm.bin.fredck-"??????": cannot "*"): No space left on device (ENOSPC)" ]] ||
		fail "$stderr"
	cmp "$W/want.bin" "$W/small/vm.bin"
	[ ! -e "$W/small/vm.bin.orig" ]
	assert_no_leftovers "$W/small"
}

@test "crash: no space left for a kvm-dir's events: exit 12, nothing lost, no temporary left" {
	mount_tmpfs "$W/small" 256k
	cp -R "$FIXTURES/pf-lost-cap" "$W/small/vm"
	tree_sum "$W/small/vm" >"$W/want.sum"
	dd if=/dev/zero of="$W/small/fill" bs=4k 2>/dev/null || true
	run --separate-stderr "$FREDCK" repair --in-place "$W/small/vm"
	assert_equal "$status" 12
	[[ "$stderr" == "fredck: $W/small/vm: left unchanged; the repaired copy could not be made (.vm.fredck-"*"/vcpu0/events: cannot write): No space left on device (ENOSPC)" ]] ||
		fail "$stderr"
	diff "$W/want.sum" <(tree_sum "$W/small/vm")
	[ ! -e "$W/small/vm.orig" ]
	assert_no_leftovers "$W/small"
}

@test "crash: read-only file system: a clear error, exit 12, nothing changed (QEMU stream and kvm-dir)" {
	need_qemu
	mkdir "$W/ro"
	cp "$S/pf.bin" "$W/ro/vm.bin"
	cp -R "$FIXTURES/pf-lost-cap" "$W/ro/vm"
	tree_sum "$W/ro" >"$W/want.sum"
	mount_ro "$W/ro"
	run --separate-stderr "$FREDCK" repair --in-place "$W/ro/vm.bin"
	assert_equal "$status" 12
	assert_equal "$stderr" "fredck: $W/ro/vm.bin: left unchanged; the repaired copy could not be made ($W/ro: cannot create a temporary file): Read-only file system (EROFS)"
	run --separate-stderr "$FREDCK" repair --in-place "$W/ro/vm"
	assert_equal "$status" 12
	assert_equal "$stderr" "fredck: $W/ro/vm: left unchanged; the repaired copy could not be made ($W/ro: cannot create a temporary directory): Read-only file system (EROFS)"
	diff "$W/want.sum" <(tree_sum "$W/ro")
}

# ---- mode, owner, exclusive temporaries, symlinks ----------------------

@test "crash: --in-place keeps the input's mode and owner (QEMU stream and kvm-dir, another uid:gid)" {
	need_qemu
	[ "$(id -u)" -eq 0 ] || skip "giving a file to another owner needs root"
	cp "$S/pf.bin" "$W/vm.bin"
	cp -R "$FIXTURES/pf-lost-cap" "$W/vm"
	chown -R 4321:8765 "$W/vm.bin" "$W/vm"
	chmod 0640 "$W/vm.bin" "$W/vm/vcpu0/events"
	chmod 0750 "$W/vm"
	run "$FREDCK" repair --in-place "$W/vm.bin" "$W/vm"
	assert_equal "$status" 1
	assert_equal "$(stat -c '%a %u:%g' "$W/vm.bin" "$W/vm.bin.orig")" "$(printf '640 4321:8765\n640 4321:8765')"
	assert_equal "$(stat -c '%a %u:%g' "$W/vm" "$W/vm.orig" "$W/vm/vcpu0/events")" \
		"$(printf '750 4321:8765\n750 4321:8765\n640 4321:8765')"
	run "$FREDCK" check "$W/vm.bin" "$W/vm"
	assert_equal "$status" 0
}

@test "crash: temporaries are created exclusively (O_EXCL, mkdir) in the target's directory, also through a symlink" {
	need_strace
	need_qemu
	mkdir "$W/store" "$W/links"
	cp "$S/pf.bin" "$W/store/vm.bin"
	cp -R "$FIXTURES/pf-lost-cap" "$W/store/vm"
	ln -s "$W/store/vm.bin" "$W/links/vm.bin"
	ln -s "$W/store/vm" "$W/links/vm"
	# (LeakSanitizer cannot run under ptrace: off for this traced run.)
	# -P 1: the two inputs in fredck's own process, the one strace follows
	# (with more CPUs than one, several inputs go to worker processes).
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -qq -o "$W/trace" -e trace=openat,mkdir "$FREDCK" repair -P 1 --in-place \
		"$W/links/vm.bin" "$W/links/vm" >/dev/null || true
	run grep -F '.fredck-' "$W/trace"
	# The stream's temporary file: O_CREAT|O_EXCL, beside the target.
	assert_line --regexp "^openat\(AT_FDCWD, \"$W/store/\.vm\.bin\.fredck-[A-Za-z0-9]{6}\", O_RDWR\|O_CREAT\|O_EXCL\|O_CLOEXEC, 0600\) = [0-9]+$"
	# The kvm-dir's temporary tree and its backup's: mkdir, beside the target.
	[ "$(grep -cE "^mkdir\(\"$W/store/\.vm\.fredck-[A-Za-z0-9]{6}\", 0700\) = 0$" <<<"$output")" -eq 2 ] ||
		fail "expected two temporary directories made in $W/store: $output"
	# Nothing temporary was made beside the links.
	refute_output --partial "$W/links/"
	run "$FREDCK" check "$W/links/vm.bin" "$W/links/vm"
	assert_equal "$status" 0
}

@test "crash: a symlinked QEMU stream is repaired at its target; the link stays a link, the backup is beside the target" {
	need_qemu
	mkdir "$W/store"
	cp "$S/pf.bin" "$W/store/vm.bin"
	ln -s store/vm.bin "$W/link.bin"
	run "$FREDCK" repair --in-place "$W/link.bin"
	assert_equal "$status" 1
	assert_output --partial "wrote $W/store/vm.bin (original kept as $W/store/vm.bin.orig)"
	[ -L "$W/link.bin" ] && [ "$(readlink "$W/link.bin")" = store/vm.bin ]
	[ ! -e "$W/link.bin.orig" ]
	cmp "$S/pf.bin" "$W/store/vm.bin.orig"
	run "$FREDCK" check "$W/link.bin"
	assert_equal "$status" 0
}

# ---- after a kill: leftovers, backups ------------------------------------

@test "crash: a leftover temporary name is named by check and repair, and never removed by them" {
	local vm
	vm=$(fixture pf-lost-cap vm)
	mkdir "$WORK/.vm.fredck-Ab12Cd"
	touch "$WORK/.vm.fredck-Zz99Yy" "$WORK/.vm.fredck-toolong1" "$WORK/.other.fredck-Ab12Cd"
	run --separate-stderr "$FREDCK" check "$vm"
	assert_equal "$status" 4
	assert_stderr_contains "fredck: warning: $WORK/.vm.fredck-Ab12Cd: left by a fredck run that was killed (or is still running); nothing needs it: remove it" \
		"$WORK/.vm.fredck-Zz99Yy: left by"
	[[ "$stderr" != *toolong1* && "$stderr" != *other* ]] || fail "$stderr"
	run --separate-stderr "$FREDCK" repair --in-place "$vm"
	assert_equal "$status" 1
	assert_stderr_contains "$WORK/.vm.fredck-Ab12Cd: left by" "$WORK/.vm.fredck-Zz99Yy: left by"
	[ -d "$WORK/.vm.fredck-Ab12Cd" ] && [ -f "$WORK/.vm.fredck-Zz99Yy" ]
}

@test "crash: a backup that already holds the input by hard links (a killed run's) or byte for byte is kept; any other backup stays, the original numbered beside it" {
	local vm
	vm=$(fixture pf-lost-cap vm)
	tree_sum "$vm" >"$W/orig.sum"
	cp -al "$vm" "$vm.orig"
	run "$FREDCK" repair --in-place "$vm"
	assert_equal "$status" 1
	assert_output --partial "(original kept as $vm.orig)"
	diff "$W/orig.sum" <(tree_sum "$vm.orig")
	# A copy of the same bytes is the same original: kept as the backup too.
	vm=$(fixture pf-lost-cap vm2)
	cp -a "$vm" "$vm.orig"
	run "$FREDCK" repair --in-place "$vm"
	assert_equal "$status" 1
	assert_output --partial "(original kept as $vm.orig)"
	[ ! -e "$vm.orig.1" ]
	# A clone that lacks a file is another tree: kept, the original goes beside it.
	vm=$(fixture pf-lost-cap vm3)
	tree_sum "$vm" >"$W/orig3.sum"
	cp -al "$vm" "$vm.orig"
	rm "$vm.orig/FIXTURE"
	run "$FREDCK" repair --in-place "$vm"
	assert_equal "$status" 1
	assert_output --partial "(original kept as $vm.orig.1)"
	diff "$W/orig3.sum" <(tree_sum "$vm.orig.1")
	[ ! -e "$vm.orig/FIXTURE" ]
}

@test "crash: a QEMU stream whose backup is a hard link to it (a killed run's) or a copy of it is repaired, that kept as the backup; another backup stays" {
	need_qemu
	cp "$S/pf.bin" "$W/vm.bin"
	ln "$W/vm.bin" "$W/vm.bin.orig"
	run "$FREDCK" repair --in-place "$W/vm.bin"
	assert_equal "$status" 1
	cmp "$S/pf.bin" "$W/vm.bin.orig"
	# A copy of the same bytes is the same original: it is the backup, none is added.
	cp "$S/pf.bin" "$W/other.bin"
	cp "$S/pf.bin" "$W/other.bin.orig"
	run "$FREDCK" repair --in-place "$W/other.bin"
	assert_equal "$status" 1
	cmp "$S/pf.bin" "$W/other.bin.orig"
	[ ! -e "$W/other.bin.orig.1" ]
	# A backup of other bytes is another original: kept, this one numbered beside it.
	cp "$S/pf.bin" "$W/third.bin"
	head -c 4096 "$S/pf.bin" >"$W/third.bin.orig"
	run "$FREDCK" repair --in-place "$W/third.bin"
	assert_equal "$status" 1
	assert_output --partial "(original kept as $W/third.bin.orig.1)"
	cmp "$S/pf.bin" "$W/third.bin.orig.1"
	cmp <(head -c 4096 "$S/pf.bin") "$W/third.bin.orig"
}
