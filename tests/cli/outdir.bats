#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# repair -O DIR writes what was repaired and resumes (issue 15, item 8):
# an input with nothing to repair is not copied (the summary counts it);
# an output already in DIR that holds the repair fredck would write is
# done (exit 0 for that input, "up to date"), a different one is an error
# naming it and is left alone; DIR inside the searched tree is never
# searched, so reruns never nest it; and a run killed (SIGKILL) mid-way is
# finished by running the same command again, the leftover temporaries
# named as always.  Real QEMU streams (Debian 12's 7.2), a zstd libvirt
# image around one, and kvm-dirs.

bats_require_minimum_version 1.5.0

setup_file() {
	qemu_setup_file debian12 || return 0
	S="$BATS_FILE_TMPDIR"
	qemu_make_stream debian12 "$S/clean.bin" --machine pc --smp 2 --mem 64
	"$QEMU_PATCH" "$S/clean.bin" "$S/pf.bin" 1 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x7f3a1c2e5008
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" /dev/null "$S/hdr" 5 # 5: zstd
	{ cat "$S/hdr"; zstd -q -c <"$S/pf.bin"; } >"$S/pf.zst.img"
}

load test_helper

setup() {
	[ -x "$FREDCK" ] || fail "FREDCK=$FREDCK is not built"
	[ -z "$QEMU_SKIP" ] || skip "$QEMU_SKIP"
	WORK=$BATS_TEST_TMPDIR/work
	mkdir -p "$WORK"
	cd "$WORK" || fail "cannot cd to $WORK"
}

# A tree in DIR: four inputs to repair (a zstd image, two kvm-dirs, a
# stream) and two clean ones (a kvm-dir, a stream).  In byte order:
# img/e.img, kvm/c, kvm/d (clean), kvm/f, qemu/a.bin, qemu/b.bin (clean).
tree() { # DIR
	local t=$1 s=$BATS_FILE_TMPDIR
	mkdir -p "$t/img" "$t/kvm" "$t/qemu"
	cp "$s/pf.zst.img" "$t/img/e.img"
	cp -R "$FIXTURES/pf-lost-cap" "$t/kvm/c"
	cp -R "$FIXTURES/clean" "$t/kvm/d"
	cp -R "$FIXTURES/db-exact" "$t/kvm/f"
	cp "$s/pf.bin" "$t/qemu/a.bin"
	cp "$s/clean.bin" "$t/qemu/b.bin"
}

# outputs DIR: tree_sum of DIR without fredck's temporary names in it.
outputs() {
	tree_sum "$1" | grep -v '\.fredck-'
}

# The SIGKILL at the K-th commit of a repaired copy (its renameat2, on
# entry), under strace; no worker processes (-P 1), so K counts the
# inputs in order.  A cancelling signal ignored by whoever started the
# suite stays the default for fredck (see kill-points.sh).
killed_at_commit() { # K FREDCK-ARGS...
	local k=$1 sig=""
	shift
	env --default-signal=INT true 2>/dev/null && sig="env --default-signal=INT,TERM,HUP"
	$sig strace -qq -o /dev/null -e trace=renameat2 -e inject="renameat2:signal=KILL:when=$k" \
		-- "$FREDCK" "$@" >/dev/null 2>&1
}

@test "outdir: -O inside the searched tree, killed at each commit: the same command finishes the job, the finished inputs are done" {
	command -v strace >/dev/null || skip "strace is not installed"
	# LeakSanitizer cannot run under ptrace (a sanitizer build).
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	tree ref-in
	run --separate-stderr -1 "$FREDCK" repair -r -P 1 -O "$WORK/ref" ref-in
	local k t st
	for k in 1 2 3 4; do
		t=$WORK/t$k
		tree "$t"
		st=0
		killed_at_commit "$k" repair -r -P 1 -O "$t/out" "$t" || st=$?
		[ "$st" -eq 137 ] || fail "kill point $k: the run was not killed (status $st)"
		# The inputs before the K-th commit are done, each output the whole repair.
		[ -n "$(find "$t/out" -name '.*.fredck-*')" ] || fail "kill point $k: no temporary left"
		run --separate-stderr "$FREDCK" repair -r -P 1 -O "$t/out" "$t"
		[ "$status" -eq 1 ] || fail "kill point $k: the rerun exited $status: $output $stderr"
		assert_stderr_contains "fredck repair: 6 inputs:" "$((5 - k)) repaired, 0 errors, 2 clean (not copied)" \
			"1 output directory skipped" "left by a fredck run that was killed"
		[ "$k" -eq 1 ] || assert_stderr_contains "$((k - 1)) already repaired (up to date)"
		[ "$k" -gt 1 ] || [[ "$stderr" != *"up to date"* ]] || fail "kill point 1: $stderr"
		# Once more: every input done, nothing written, exit 0.
		run --separate-stderr "$FREDCK" repair -r -P 1 -O "$t/out" "$t"
		[ "$status" -eq 0 ] || fail "kill point $k: the third run exited $status: $stderr"
		assert_stderr_contains "6 inputs: 6 ok, 0 at risk, 0 repaired, 0 errors, 2 clean (not copied), 4 already repaired (up to date), 1 output directory skipped"
		# DIR was never searched, so never nested; what it holds is the repair.
		[ -z "$(find "$t/out" -mindepth 1 -name out)" ] || fail "kill point $k: DIR nested: $(find "$t/out" -mindepth 1 -name out)"
		diff <(outputs "$WORK/ref") <(outputs "$t/out") || fail "kill point $k: the outputs differ from the reference"
		diff <(tree_sum ref-in) <(tree_sum "$t" | grep -v ' ./out') || fail "kill point $k: an input changed"
	done
}

@test "outdir: clean inputs are not copied; an equal output is done (exit 0); a different one is an error naming it" {
	cp "$BATS_FILE_TMPDIR"/{pf.bin,clean.bin,pf.zst.img} .
	run --separate-stderr -1 "$FREDCK" repair -O o pf.bin clean.bin pf.zst.img
	[ -f o/pf.bin ] && [ -f o/pf.zst.img ] || fail "the repairs were not written: $(ls o)"
	[ ! -e o/clean.bin ] || fail "the clean stream was copied"
	assert_output --partial "nothing written (nothing to repair: not copied)"
	assert_stderr_contains "3 inputs: 1 ok, 0 at risk, 2 repaired, 0 errors, 1 clean (not copied)"
	# The same again: both outputs already hold their repair.
	run --separate-stderr -0 "$FREDCK" repair -O o pf.bin clean.bin pf.zst.img
	assert_output --partial "up to date: o/pf.bin already holds this repair; nothing written"
	assert_output --partial "up to date: o/pf.zst.img already holds this repair"
	assert_stderr_contains "3 ok, 0 at risk, 0 repaired, 0 errors, 1 clean (not copied), 2 already repaired (up to date)"
	run --separate-stderr -0 "$FREDCK" repair -O o --json pf.bin
	assert_equal "$(jq -c '.inputs[0] | [.status, .exit_status, .output.written, .output.up_to_date]' <<<"$output")" \
		'["up-to-date",0,null,"o/pf.bin"]'
	# One byte of the stream's output changed: an error naming it (8, and 4:
	# its vCPU is still at risk); nothing is overwritten, nothing left over.
	printf '\x01' | dd of=o/pf.bin bs=1 seek=200 conv=notrunc status=none
	cp o/pf.bin changed.bin
	run --separate-stderr -12 "$FREDCK" repair -O o pf.bin
	assert_stderr_contains "fredck: o/pf.bin: exists and differs from the repair of 'pf.bin'; fredck never overwrites"
	cmp o/pf.bin changed.bin || fail "the different output was overwritten"
	assert_no_leftovers o
	# An output of another kind (a directory where the repair is a file) differs too.
	rm o/pf.zst.img && mkdir o/pf.zst.img
	run --separate-stderr -12 "$FREDCK" repair -O o pf.zst.img
	assert_stderr_contains "o/pf.zst.img: exists and differs"
	assert_no_leftovers o
}

@test "outdir: -O inside the searched tree, three runs: never nested, the 2nd and 3rd exit 0; DIR the searched directory itself is a usage error" {
	tree t
	local run
	for run in 1 2 3; do
		run --separate-stderr "$FREDCK" repair -r -O t/out t
		[ "$status" -eq $((run == 1 ? 1 : 0)) ] || fail "run $run: status $status: $stderr"
		[ -z "$(find t/out -mindepth 1 -name out)" ] || fail "run $run: nested: $(find t/out -mindepth 1 -name out)"
		[ "$(find t/out -type f -name '*.bin' | wc -l)" -eq 1 ] || fail "run $run: $(find t/out)"
	done
	assert_stderr_contains "6 inputs:" "4 already repaired (up to date), 1 output directory skipped"
	run --separate-stderr -16 "$FREDCK" repair -r -O t t
	assert_stderr_contains "-O 't' is a directory -r searches"
	run --separate-stderr -16 "$FREDCK" repair -r -O "$WORK/t/" t
}
