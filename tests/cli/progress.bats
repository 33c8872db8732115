#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Progress that moves and says what it does (issue 15, item 9), on a real
# terminal: tmux runs fredck in a pane of its own (a private server), and
# everything fredck draws there is logged (pipe-pane), every redraw of the
# line included.  The input: a real QEMU 7.2 stream with a vCPU at risk,
# padded to 1 GiB with zero-page records (tests/qemu/qemu-pad).  Its copy
# is slowed down (strace delays each copy_file_range by 0.25 s) so that the
# line is redrawn between the steps of the copy whatever the disk's speed.
#
# Checked: during repair -o the amount of the copy changes at least twice,
# the phases appear by name (reading, copying, verifying), each line names
# the input as given, the temporary name never appears; -o - gives the
# total of a file input; nothing at all reaches standard error when it is
# a pipe, nor on the terminal with -q, nor from batch workers (-P 2).

bats_require_minimum_version 1.5.0

setup_file() {
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	export TOP_SRCDIR
	export QEMU_PATCH=${QEMU_PATCH:-$TOP_SRCDIR/_build/tests/qemu/qemu-patch}
	export QEMU_PAD=${QEMU_PAD:-${TOP_BUILDDIR:-$TOP_SRCDIR/_build}/tests/qemu/qemu-pad}
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	SKIP_REASON=$(qemu_peer_skip_reason debian12)
	command -v tmux >/dev/null || SKIP_REASON="tmux is not installed (scripts/install-deps.sh)"
	command -v strace >/dev/null || SKIP_REASON="strace is not installed (scripts/install-deps.sh)"
	export SKIP_REASON
	[ -z "$SKIP_REASON" ] || return 0
	S="$BATS_FILE_TMPDIR"
	qemu_make_stream debian12 "$S/small.bin" --machine pc --smp 2 --mem 64
	"$QEMU_PATCH" "$S/small.bin" "$S/pf.bin" 1 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x7f3a1c2e5008
	"$QEMU_PAD" "$S/pf.bin" "$S/big.bin" $((1 << 30))
	rm -f "$S/small.bin"
}

load test_helper

setup() {
	[ -x "$FREDCK" ] || fail "FREDCK=$FREDCK is not built"
	[ -z "$SKIP_REASON" ] || skip "$SKIP_REASON"
	# LeakSanitizer cannot run under ptrace (a sanitizer build).
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	WORK=$BATS_TEST_TMPDIR/work
	mkdir -p "$WORK"
	cd "$WORK" || fail "cannot cd to $WORK"
	BIG=$WORK/big.bin
	ln "$BATS_FILE_TMPDIR/big.bin" "$BIG" 2>/dev/null || cp "$BATS_FILE_TMPDIR/big.bin" "$BIG"
}

teardown() {
	[ ! -S "${WORK:-/nonexistent}/tmux.sock" ] ||
		tmux -S "$WORK/tmux.sock" kill-server 2>/dev/null || true
}

# on_terminal COMMAND: run COMMAND (a shell command line) in a tmux pane
# 200 columns wide and put in $WORK/pane what was drawn on it, each redraw
# of the progress line ("\r\033[K") on a line of its own.  COMMAND starts
# only once the pane is logged, and its exit status is in $WORK/status.
on_terminal() {
	local cmd=$1 sock=$WORK/tmux.sock
	rm -f "$WORK/go" "$WORK/done" "$WORK/raw" "$WORK/status"
	cat >"$WORK/pane.sh" <<-EOF
		while [ ! -e '$WORK/go' ]; do sleep 0.05; done
		cd '$WORK' && { $cmd; }
		echo \$? >'$WORK/status'
		touch '$WORK/done'
		sleep 0.5
	EOF
	tmux -f /dev/null -S "$sock" new-session -d -x 200 -y 40 "bash '$WORK/pane.sh'"
	tmux -S "$sock" pipe-pane -o "cat >>'$WORK/raw'"
	touch "$WORK/go"
	for _ in $(seq 1200); do
		[ -e "$WORK/done" ] && break
		sleep 0.1
	done
	[ -e "$WORK/done" ] || fail "'$cmd' did not finish within 2 minutes"
	sleep 0.3 # what pipe-pane still holds
	tmux -S "$sock" kill-server 2>/dev/null || true
	sed 's/\r\x1b\[K/\n/g; s/\r$//' "$WORK/raw" >"$WORK/pane"
}

# slowed COMMAND-ARGS...: the command line that runs fredck with each
# copy_file_range delayed by 0.25 s.
slowed() {
	echo "strace -qq -o /dev/null -e trace=copy_file_range" \
		"-e inject=copy_file_range:delay_exit=250000 -- '$FREDCK' $*"
}

# amounts PHASE: the distinct amounts of PHASE's lines in $WORK/pane, in order.
amounts() {
	sed -n "s/^fredck: .*: $1 \([0-9.]* of [0-9.]* GiB\).*/\1/p" "$WORK/pane" | uniq
}

@test "progress: repair -o of a 1 GiB stream on a terminal: the copy moves, the phases are named, so is the input, never the temporary" {
	on_terminal "$(slowed repair "'$BIG'" -o out.bin) >/dev/null"
	[ "$(cat "$WORK/status")" = 1 ] || fail "status $(cat "$WORK/status"): $(cat "$WORK/pane")"
	# The copy's amount changes at least twice, against the file's total.
	[ "$(amounts copying | wc -l)" -ge 3 ] ||
		fail "the copy did not move: $(amounts copying | tr '\n' ',') in: $(cat "$WORK/pane")"
	amounts copying | grep -qv '^1\.0 of 1\.0 GiB' || fail "no amount below the total"
	amounts copying | grep -q ' of 1\.0 GiB$' || fail "no total of 1.0 GiB"
	grep -q "^fredck: $BIG: reading [0-9.]* of 1\.0 GiB" "$WORK/pane" || fail "no reading: $(cat "$WORK/pane")"
	grep -q "^fredck: $BIG: verifying [0-9.]* of 1\.0 GiB" "$WORK/pane" || fail "no verifying: $(cat "$WORK/pane")"
	# Every progress line names the input as given; no line names the temporary.
	! grep -q 'fredck-' "$WORK/pane" || fail "the temporary name was shown: $(grep 'fredck-' "$WORK/pane")"
	! grep -E '^fredck: .* (of [0-9.]+ GiB|GiB \()' "$WORK/pane" | grep -v "^fredck: $BIG: " ||
		fail "a progress line does not name the input"
	run -0 "$FREDCK" check -q out.bin
}

@test "progress: repair -o - of a file shows its total; from a pipe, the amount alone" {
	on_terminal "'$FREDCK' repair '$BIG' -o - >/dev/null"
	[ "$(cat "$WORK/status")" = 1 ] || fail "status $(cat "$WORK/status"): $(cat "$WORK/pane")"
	[ "$(amounts copying | wc -l)" -ge 1 ] || fail "no total with -o -: $(cat "$WORK/pane")"
	on_terminal "cat '$BIG' | '$FREDCK' repair - -o - >/dev/null"
	[ "$(cat "$WORK/status")" = 1 ] || fail "status $(cat "$WORK/status"): $(cat "$WORK/pane")"
	grep -Eq '^fredck: standard input: copying [0-9.]+ (MiB|GiB)$' "$WORK/pane" ||
		fail "no amount through a pipe: $(cat "$WORK/pane")"
}

@test "progress: nothing on standard error when it is a pipe, nor on a terminal with -q, nor from workers (-P 2)" {
	# Standard error a pipe: nothing at all (the report is on standard output).
	"$FREDCK" repair "$BIG" -o pipe.bin 2>&1 >/dev/null | cat >err
	[ ! -s err ] || fail "standard error, a pipe, got: $(cat -v err)"
	[ -f pipe.bin ] || fail "no repair written"
	# -q on a terminal: not a byte drawn (the report goes to /dev/null).
	on_terminal "'$FREDCK' -q repair '$BIG' -o quiet.bin >/dev/null"
	[ "$(cat "$WORK/status")" = 1 ] || fail "status $(cat "$WORK/status")"
	[ ! -s "$WORK/raw" ] || fail "-q drew on the terminal: $(cat -v "$WORK/raw")"
	# Two workers, one terminal: no progress line, only the summary.
	ln "$BIG" big2.bin
	on_terminal "'$FREDCK' check -P 2 '$BIG' big2.bin >/dev/null"
	[ "$(cat "$WORK/status")" = 4 ] || fail "status $(cat "$WORK/status")"
	! grep -Eq 'reading|GiB' "$WORK/pane" || fail "a worker drew progress: $(cat "$WORK/pane")"
	grep -q '^fredck check: 2 inputs: 0 ok, 2 at risk' "$WORK/pane" || fail "no summary: $(cat "$WORK/pane")"
}
