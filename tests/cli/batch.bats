#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Batches: check and repair over many inputs and over trees (-r), with
# worker processes (-P), one JSON line per input (--ndjson), a summary on
# stderr, the exit bits OR-ed, and a malformed input that stops nothing.
# The mixed tree holds kvm-dir fixtures, QEMU streams made by real QEMU
# (Debian 12's 7.2, microvm: 66 KB), a libvirt image around one of them, a
# truncated stream and files that are no snapshot.  Without QEMU, the tests
# that need a stream say skipped.

load test_helper

setup_file() {
	qemu_setup_file debian12 || return 0
	S="$BATS_FILE_TMPDIR"
	qemu_make_stream debian12 "$S/clean.bin" --machine microvm --smp 2 --mem 2
	"$QEMU_PATCH" "$S/clean.bin" "$S/pf.bin" 1 'cr4=|0x1000000a0' efer=0xd01 \
		cr0=0x80050033 exception_nr=14 cr2=0x7f3a1c2e5008
	bash "$TOP_SRCDIR/tests/qemu/mklibvirt.sh" "$S/pf.bin" "$S/pf.img"
}

need_qemu() {
	[ -z "$QEMU_SKIP" ] || skip "$QEMU_SKIP"
}

# A tree of kvm-dirs only, in $WORK/t: 2 at risk, 1 clean, one nested deeper,
# a file and a directory that are no snapshot.
kvm_tree() {
	mkdir -p "$WORK/t/a" "$WORK/t/b/deeper" "$WORK/t/empty"
	cp -R "$FIXTURES/pf-lost-cap" "$WORK/t/a/"
	cp -R "$FIXTURES/clean" "$WORK/t/a/"
	cp -R "$FIXTURES/db-exact" "$WORK/t/b/deeper/"
	echo "not a snapshot" >"$WORK/t/b/README"
}

# The kvm tree, plus QEMU streams (clean, at risk), a libvirt image and a
# truncated stream (malformed: it starts like a stream).
mixed_tree() {
	kvm_tree
	mkdir -p "$WORK/t/qemu" "$WORK/t/bad"
	cp "$BATS_FILE_TMPDIR/clean.bin" "$BATS_FILE_TMPDIR/pf.bin" "$WORK/t/qemu/"
	cp "$BATS_FILE_TMPDIR/pf.img" "$WORK/t/a/"
	head -c 3000 "$BATS_FILE_TMPDIR/clean.bin" >"$WORK/t/bad/cut.bin"
}

# "STATUS PATH" of each NDJSON line of $output, paths below $WORK/t.
verdicts() {
	jq -r '"\(.status) \(.path | sub("^(.*/)?t/"; ""))"' <<<"$output"
}

@test "batch: -r over a tree of mixed formats with a malformed input: every input judged, exit 12" {
	need_qemu
	mixed_tree
	run --separate-stderr "$FREDCK" check -r --ndjson t
	assert_equal "$status" 12
	# In byte order of the paths: "b" before "bad", "pf-lost-cap" before "pf.img".
	assert_equal "$(verdicts)" "$(printf '%s\n' \
		'ok a/clean' 'at-risk a/pf-lost-cap' 'at-risk a/pf.img' 'at-risk b/deeper/db-exact' \
		'error bad/cut.bin' 'ok qemu/clean.bin' 'at-risk qemu/pf.bin')"
	# The formats, as each record says.
	assert_equal "$(jq -r 'select(.path | endswith("pf.img")) | .format' <<<"$output")" libvirt
	assert_equal "$(jq -r 'select(.path | endswith("pf.bin")) | .format' <<<"$output")" qemu
	assert_equal "$(jq -r 'select(.path | endswith("db-exact")) | .format' <<<"$output")" kvm-dir
	# The malformed input's record names the file, the offset and the field.
	err=$(jq -c 'select(.status == "error") | .error' <<<"$output")
	assert_equal "$(jq -r .path <<<"$err")" t/bad/cut.bin
	assert_equal "$(jq -r '.offset | type' <<<"$err")" number
	assert_equal "$(jq -r '.field | type' <<<"$err")" string
	assert_equal "$(jq -r 'select(.status == "error") | .exit_status' <<<"$output")" 8
	assert_stderr_contains "t/bad/cut.bin: byte " "7 inputs: 2 ok, 4 at risk, 0 repaired, 1 error"
}

@test "batch: the findings of each input are in its record (FK101 for the libvirt image's vCPU 1)" {
	need_qemu
	mixed_tree
	run --separate-stderr -12 "$FREDCK" check -r --ndjson t
	assert_equal "$(jq -r 'select(.path | endswith("pf.img")) | .vcpus[1].findings[0].code' <<<"$output")" FK101
	assert_equal "$(jq -r 'select(.path | endswith("db-exact")) | .vcpus[0].findings[0].code' <<<"$output")" FK102
}

@test "batch: a tree of kvm-dirs: order by name, files and plain directories skipped, exit 4" {
	kvm_tree
	run --separate-stderr -4 "$FREDCK" check -r --ndjson "$WORK/t"
	assert_equal "$(verdicts)" "$(printf '%s\n' 'ok a/clean' 'at-risk a/pf-lost-cap' 'at-risk b/deeper/db-exact')"
}

@test "batch: --ndjson: one line per input, each a whole record with its time" {
	kvm_tree
	run --separate-stderr -4 "$FREDCK" check -r --ndjson -P 2 t
	assert_equal "${#lines[@]}" 3
	for line in "${lines[@]}"; do
		jq -e '.schema_version == 2 and .command == "check" and (.path | type) == "string"
			and (.status | type) == "string" and (.exit_status | type) == "number"
			and (.vcpus | type) == "array" and (.elapsed_us | type) == "number"
			and .elapsed_us >= 0 and .elapsed_us == (.elapsed_us | floor)' <<<"$line" >/dev/null || fail "bad record: $line"
	done
}

@test "batch: -P 1 and -P 2 print the same text, the same JSON and exit alike" {
	need_qemu
	mixed_tree
	run --separate-stderr -12 "$FREDCK" check -r -P 1 t
	one=$output
	run --separate-stderr -12 "$FREDCK" check -r -P 2 t
	assert_equal "$output" "$one"
	run --separate-stderr -12 "$FREDCK" check -r -j -P 1 t
	one=$output
	run --separate-stderr -12 "$FREDCK" check -r -j -P 2 t
	assert_equal "$output" "$one"
	run --separate-stderr -12 "$FREDCK" check -r --ndjson -P 1 t
	one=$(jq -c 'del(.elapsed_us)' <<<"$output")
	run --separate-stderr -12 "$FREDCK" check -r --ndjson -P 2 t
	assert_equal "$(jq -c 'del(.elapsed_us)' <<<"$output")" "$one"
}

@test "batch: -j with many inputs and workers is one document, inputs in order" {
	kvm_tree
	run --separate-stderr -4 "$FREDCK" check -r -j -P 3 t
	assert_equal "$(jqo '.inputs | length')" 3
	assert_equal "$(jqo '[.inputs[].path] | join(" ")')" "t/a/clean t/a/pf-lost-cap t/b/deeper/db-exact"
	assert_equal "$(jqo .command)" check
}

@test "batch: many inputs in workers: text in input order, the same as one by one" {
	local dirs
	dirs=$(fixtures all)
	# shellcheck disable=SC2086
	run --separate-stderr "$FREDCK" check -P 1 $dirs
	one=$output
	st=$status
	# shellcheck disable=SC2086
	run --separate-stderr "$FREDCK" check -P 4 $dirs
	assert_equal "$status" "$st"
	assert_equal "$output" "$one"
	[ "$st" -eq 4 ] || fail "expected exit 4, got $st"
}

@test "batch: the summary on stderr counts the inputs, and -q leaves it out" {
	kvm_tree
	run --separate-stderr -4 "$FREDCK" check -r t
	assert_stderr_contains "fredck check: 3 inputs: 1 ok, 2 at risk, 0 repaired, 0 errors ("
	run --separate-stderr -4 "$FREDCK" check -r -q t
	assert_equal "$stderr" ""
}

@test "batch: plain inputs without -r, -P or --ndjson: no summary (as before)" {
	kvm_tree
	run --separate-stderr -4 "$FREDCK" check t/a/clean t/a/pf-lost-cap
	assert_equal "$stderr" ""
}

@test "batch: an unreadable input among others: its error, the others judged, exit 12" {
	kvm_tree
	run --separate-stderr -12 "$FREDCK" check --ndjson t/a/clean no-such-dir t/a/pf-lost-cap
	assert_equal "$(jq -r .status <<<"$output" | tr '\n' ' ')" "ok error at-risk "
	assert_stderr_contains "no-such-dir" "3 inputs: 1 ok, 1 at risk, 0 repaired, 1 error"
}

@test "batch: -r on a snapshot directory takes it as one input, not a tree" {
	dir=$(fixture pf-lost-cap)
	run --separate-stderr -4 "$FREDCK" check -r --ndjson "$dir"
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jqo .path)" "$dir"
}

@test "batch: without -r a directory that is no snapshot is an error (exit 8)" {
	kvm_tree
	run --separate-stderr -8 "$FREDCK" check t
	assert_stderr_contains "not a snapshot directory"
}

@test "batch: -r on a tree without snapshots is an error (exit 8), even with -q" {
	mkdir -p "$WORK/nothing/here"
	run --separate-stderr -8 "$FREDCK" check -r nothing
	assert_stderr_contains "nothing: no snapshot found in this directory or below it"
	run --separate-stderr -8 "$FREDCK" check -q -r nothing
	assert_stderr_contains "no snapshot found"
}

@test "batch: -r does not follow symbolic links inside the tree" {
	kvm_tree
	ln -s "$WORK/t/a/pf-lost-cap" "$WORK/t/link"
	ln -s "$WORK/t/a" "$WORK/t/b/loop"
	run --separate-stderr -4 "$FREDCK" check -r --ndjson t
	assert_equal "${#lines[@]}" 3
	refute_output --partial "t/link"
	refute_output --partial "loop"
}

@test "batch: -r with --format looks for that format only" {
	need_qemu
	mixed_tree
	run --separate-stderr -4 "$FREDCK" check -r --ndjson --format=kvm-dir t
	assert_equal "$(jq -r .format <<<"$output" | sort -u)" kvm-dir
	assert_equal "${#lines[@]}" 3
	run --separate-stderr -12 "$FREDCK" check -r --ndjson --format=qemu t
	assert_equal "$(jq -r .path <<<"$output" | tr '\n' ' ')" "t/bad/cut.bin t/qemu/clean.bin t/qemu/pf.bin "
}

@test "batch: -P takes a number from 1 to 1024: 0, x and 2000 are usage errors" {
	for n in 0 x 2000 -3; do
		run --separate-stderr -16 "$FREDCK" check -P "$n" "$(fixture clean)"
		assert_stderr_contains "--jobs takes a number"
	done
}

@test "batch: repair -r -O DIR writes each repair under its path in the tree, input untouched" {
	kvm_tree
	before=$(tree_sum t)
	run --separate-stderr -1 "$FREDCK" repair -r -O out -P 2 t
	assert_equal "$(tree_sum t)" "$before"
	[ -d out/a/pf-lost-cap/vcpu0 ] || fail "no out/a/pf-lost-cap: $(find out)"
	[ -d out/b/deeper/db-exact/vcpu0 ] || fail "no out/b/deeper/db-exact"
	# Nothing to repair in clean: -O does not copy it (issue 15, item 8).
	[ ! -e out/a/clean ] || fail "out/a/clean was copied"
	assert_stderr_contains "2 repaired, 0 errors, 1 clean (not copied)"
	run --separate-stderr -0 "$FREDCK" check -r out
	assert_stderr_contains "2 inputs: 2 ok, 0 at risk"
}

@test "batch: repair -O DIR with plain inputs puts each under its last component" {
	a=$(fixture pf-lost-cap)
	b=$(fixture db-exact)
	run --separate-stderr -1 "$FREDCK" repair -O "$WORK/o" "$a" "$b/"
	[ -d "$WORK/o/pf-lost-cap/vcpu0" ] || fail "no o/pf-lost-cap"
	[ -d "$WORK/o/db-exact/vcpu0" ] || fail "no o/db-exact"
	assert_only_events_differ "$a" "$WORK/o/pf-lost-cap"
}

@test "batch: repair -O DIR again: an equal output is done, a different one an error naming it, nothing overwritten" {
	kvm_tree
	run --separate-stderr -1 "$FREDCK" repair -r -O out t
	rm -rf out/b
	sums=$(tree_sum out)
	# pf-lost-cap's output holds its repair: done (0); db-exact's is gone: repaired (1).
	run --separate-stderr -1 "$FREDCK" repair -r -O out t
	assert_stderr_contains "1 repaired, 0 errors, 1 clean (not copied), 1 already repaired (up to date)"
	assert_output --partial "up to date: out/a/pf-lost-cap already holds this repair"
	[ -d out/b/deeper/db-exact/vcpu0 ] || fail "the input whose output was free was not repaired"
	# An output that differs from the repair: an error naming it (8, +4 at
	# risk), left as it is; the others are done.
	printf 'x' >>out/a/pf-lost-cap/vcpu0/events
	sums=$(tree_sum out)
	run --separate-stderr "$FREDCK" repair -r -O out t
	assert_equal "$status" 12
	assert_stderr_contains "fredck: out/a/pf-lost-cap: exists and differs from the repair of 't/a/pf-lost-cap'"
	assert_stderr_contains "0 repaired, 1 error, 1 clean (not copied), 1 already repaired (up to date)"
	assert_equal "$(tree_sum out)" "$sums"
	assert_no_leftovers out out/a out/b/deeper
}

@test "batch: repair -r --in-place with workers: each repaired, each backup kept" {
	kvm_tree
	run --separate-stderr -1 "$FREDCK" repair -r --in-place -P 2 t
	[ -d t/a/pf-lost-cap.orig ] || fail "no backup of pf-lost-cap"
	[ -d t/b/deeper/db-exact.orig ] || fail "no backup of db-exact"
	[ ! -e t/a/clean.orig ] || fail "clean was rewritten"
	run --separate-stderr -0 "$FREDCK" check t/a/pf-lost-cap t/b/deeper/db-exact
}

@test "batch: repair --ndjson: one record per input with its output" {
	kvm_tree
	run --separate-stderr -1 "$FREDCK" repair -r -O out --ndjson t
	assert_equal "$(jq -r '"\(.status) \(.output.not_copied) \(.output.written // "-" | sub(".*/out/"; "out/"))"' <<<"$output")" \
		"$(printf '%s\n' 'ok true -' 'repaired false out/a/pf-lost-cap' 'repaired false out/b/deeper/db-exact')"
	assert_stderr_contains "3 inputs: 1 ok, 0 at risk, 2 repaired, 0 errors, 1 clean (not copied)"
	# Again: each repair is up to date.
	run --separate-stderr -0 "$FREDCK" repair -r -O out --ndjson t
	assert_equal "$(jq -r '"\(.status) \(.exit_status) \(.output.up_to_date // "-" | sub(".*/out/"; "out/"))"' <<<"$output")" \
		"$(printf '%s\n' 'ok 0 -' 'up-to-date 0 out/a/pf-lost-cap' 'up-to-date 0 out/b/deeper/db-exact')"
	# The JSON document counts them too.
	run --separate-stderr -0 "$FREDCK" repair -r -O out --json t
	assert_equal "$(jq -c '.summary | [.inputs, .ok, .not_copied, .up_to_date, .output_dirs_skipped]' <<<"$output")" \
		"[3,3,1,2,0]"
}

@test "batch: repair -o with -r, or -o with -O, is a usage error" {
	kvm_tree
	run --separate-stderr -16 "$FREDCK" repair -r -o x t
	assert_stderr_contains "with -r use -O DIR"
	run --separate-stderr -16 "$FREDCK" repair -o x -O y t/a/clean
	assert_stderr_contains "exclude each other"
}

@test "batch: a malformed stream among kvm-dirs in repair -r -O: error for it alone" {
	need_qemu
	mixed_tree
	run --separate-stderr "$FREDCK" repair -r -O out -P 2 t
	assert_equal "$(( status & 8 ))" 8
	assert_equal "$(( status & 1 ))" 1
	[ ! -e out/bad/cut.bin ] || fail "the malformed input was written"
	[ -f out/qemu/pf.bin ] || fail "the QEMU stream at risk was not repaired"
	[ -f out/a/pf.img ] || fail "the libvirt image was not repaired"
	run --separate-stderr -0 "$FREDCK" check out/qemu/pf.bin out/a/pf.img
}

# The workers of fredck process PID, one per line.
workers_of() {
	pgrep -P "$1" || true
}

@test "batch: a worker killed under its input: that input is an error record, the others go on" {
	need_qemu
	command -v pgrep >/dev/null || skip "pgrep not found"
	cp "$BATS_FILE_TMPDIR/clean.bin" "$BATS_FILE_TMPDIR/pf.bin" "$WORK/"
	mkfifo "$WORK/stuck"
	# The worker that takes the FIFO blocks opening it; it is then killed.
	"$FREDCK" check --ndjson -P 2 --format=qemu clean.bin stuck pf.bin >out 2>err &
	pid=$!
	victim=
	# Opening a FIFO blocks in the kernel's wait_for_partner, before any
	# descriptor exists: that is how the worker holding it is known.
	for _ in $(seq 100); do
		for w in $(workers_of "$pid"); do
			grep -q partner "/proc/$w/wchan" 2>/dev/null && victim=$w
		done
		[ -n "$victim" ] && break
		sleep 0.1
	done
	# Whatever happens, no worker is left blocked on the FIFO.
	[ -n "$victim" ] || { exec 3<>"$WORK/stuck"; wait "$pid"; fail "no worker blocked on the FIFO"; }
	kill -9 "$victim"
	st=0
	wait "$pid" || st=$?
	# 8 and 128 for the lost input, 4 for pf.bin.
	assert_equal "$st" $((128 | 8 | 4))
	run cat out
	assert_equal "$(jq -r '"\(.status) \(.path)"' out | tr '\n' ' ')" "ok clean.bin error stuck at-risk pf.bin "
	assert_equal "$(jq -r 'select(.path == "stuck") | .error.message' out)" \
		"stuck: internal error: the worker reading it died of signal 9 (Killed)"
	run cat err
	assert_output --partial "3 inputs: 1 ok, 1 at risk, 0 repaired, 1 error"
}

@test "batch: -r finds Cloud Hypervisor and Firecracker snapshots too, and repairs them into -O DIR" {
	local chv_gen=${CHV_GEN:-$TOP_SRCDIR/_build/tests/chv/chv-gen}
	local mkfcsnap=${TOP_BUILDDIR:-$TOP_SRCDIR/_build}/tests/fc/mkfcsnap
	[ -x "$chv_gen" ] && [ -x "$mkfcsnap" ] || skip "chv-gen or mkfcsnap not built (make check builds them)"
	kvm_tree
	mkdir -p t/chv t/fc
	"$chv_gen" --layout=v39 t/chv/vm pf >/dev/null || fail "chv-gen failed"
	"$mkfcsnap" -e 14 v1.14 t/fc/snap.bin >/dev/null || fail "mkfcsnap failed"
	run --separate-stderr -4 "$FREDCK" check -r --ndjson -P 2 t
	assert_equal "$(jq -r '"\(.format) \(.status) \(.path)"' <<<"$output")" "$(printf '%s\n' \
		'kvm-dir ok t/a/clean' 'kvm-dir at-risk t/a/pf-lost-cap' 'kvm-dir at-risk t/b/deeper/db-exact' \
		'cloud-hypervisor at-risk t/chv/vm' 'firecracker at-risk t/fc/snap.bin')"
	run --separate-stderr -1 "$FREDCK" repair -r -O out -P 2 t
	run --separate-stderr -0 "$FREDCK" check out/chv/vm out/fc/snap.bin
	# Firecracker does not enable the payload capability: auto drops the #PF.
	run -1 "$FREDCK" diff t/fc/snap.bin out/fc/snap.bin
	assert_line --regexp '^  exception.state +injected -> none$'
}
