#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# A file that becomes shorter while fredck reads it (issue 14, item 4): a
# regular file is read through mapped windows, and a page past the new end
# faults (SIGBUS).  That must be an error for that input ("the file became
# shorter while fredck read it"), never a death by signal: the batch goes
# on and reports the others.
#
# Each mmap is slowed down by strace (delay_exit) so that the truncation
# lands while a window is mapped, and the run is repeated.

bats_require_minimum_version 1.5.0

setup_file() {
	qemu_setup_file debian12 || return 0
	S="$BATS_FILE_TMPDIR"
	yes fredck-shrink-test | head -c 128M >"$S/ram"
	qemu_make_stream debian12 "$S/big.bin" --machine pc --smp 2 --mem 128 --ram-file "$S/ram"
	rm -f "$S/ram"
	qemu_make_stream debian12 "$S/small.bin" --machine pc --smp 2 --mem 64
}

load test_helper

setup() {
	[ -x "$FREDCK" ] || fail "FREDCK=$FREDCK is not built"
	[ -z "$QEMU_SKIP" ] || skip "$QEMU_SKIP"
	command -v strace >/dev/null || skip "strace is not installed"
	# LeakSanitizer cannot run under ptrace (a sanitizer build): ASan and UBSan still do.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	S="$BATS_FILE_TMPDIR"
	WORK=$BATS_TEST_TMPDIR/work
	mkdir -p "$WORK"
}

@test "shrink: a stream truncated under check -r -P 1 is an error record; no signal death; the others are reported" {
	local try sigbus=0
	for try in 1 2 3; do
		rm -rf "$WORK/tree"
		mkdir -p "$WORK/tree"
		cp "$S/small.bin" "$WORK/tree/a.bin"
		cp "$S/big.bin" "$WORK/tree/b.bin"
		cp "$S/small.bin" "$WORK/tree/c.bin"
		fixture pf-lost-cap tree/d >/dev/null
		# 200 ms on the way out of every mmap after libc's own, so that
		# b.bin is read a 4 MiB window every 200 ms; it is truncated a
		# second after fredck opened it to read it (bsrc's own open, not a
		# probe's), while a window of it is mapped.
		rm -f "$WORK/strace.log"
		strace -f -qq -o "$WORK/strace.log" -e trace=mmap,openat \
			-e inject=mmap:delay_exit=200000:when=20+ \
			"$FREDCK" check -r -P 1 --ndjson "$WORK/tree" >"$WORK/out" 2>"$WORK/err" &
		pid=$!
		# Wait for the walk to be a few windows into b.bin (its descriptor's
		# mappings at offsets past the first window), then cut it short.
		fd=""
		for _ in $(seq 600); do
			fd=$(sed -n 's/.*b\.bin", O_RDONLY|O_CLOEXEC) = \([0-9]*\)$/\1/p' \
				"$WORK/strace.log" 2>/dev/null | tail -n 1)
			[ -n "$fd" ] && grep -Eq "PROT_READ, MAP_PRIVATE, $fd, 0x[0-9a-f]{7}" \
				"$WORK/strace.log" && break
			sleep 0.1
		done
		truncate -s 2M "$WORK/tree/b.bin"
		status=0
		wait "$pid" || status=$?
		grep -q -- '--- SIGBUS' "$WORK/strace.log" && sigbus=$((sigbus + 1))
		[ "$status" -lt 128 ] || fail "try $try: fredck died of a signal (status $status): $(cat "$WORK/err")"
		(( status & 8 )) || fail "try $try: status $status: the shrinking file was not an error"
		[ "$(wc -l <"$WORK/out")" -eq 4 ] || fail "try $try: not four records: $(cat "$WORK/out") $(cat "$WORK/err")"
		jq -se 'map(select(.path | endswith("tree/b.bin"))) | length == 1 and .[0].status == "error"' \
			"$WORK/out" >/dev/null || fail "try $try: b.bin: $(cat "$WORK/out")"
		grep -q 'b.bin: the file became shorter while fredck read it' "$WORK/err" ||
			fail "try $try: $(cat "$WORK/err")"
		jq -se 'map(select(.status == "error")) | length == 1' "$WORK/out" >/dev/null ||
			fail "try $try: another input failed: $(cat "$WORK/out")"
	done
	# The fault itself, not only the check before each window, was met.
	[ "$sigbus" -gt 0 ] || fail "no try faulted: the timing did not reach a mapped window"
	echo "# $sigbus of 3 tries faulted (SIGBUS) and were reported as errors" >&3
}
