#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# A FIFO, a socket or a device node where a snapshot holds a regular file
# (a kvm-dir member, a Firecracker state file, Cloud Hypervisor's
# state.json) is malformed input: exit 8 at once, naming the path and what
# it is, nothing opened that could block.  In a batch the others are still
# reported.

load test_helper

MKFCSNAP=${MKFCSNAP:-${TOP_BUILDDIR:-$TOP_SRCDIR/_build}/tests/fc/mkfcsnap}
CHV_GEN=${CHV_GEN:-${TOP_BUILDDIR:-$TOP_SRCDIR/_build}/tests/chv/chv-gen}

# special KIND PATH: make a FIFO, a socket or a character device at PATH.
special() {
	rm -f "$2"
	case $1 in
	fifo) mkfifo "$2" ;;
	socket) python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$2" ;;
	device) mknod "$2" c 1 3 2>/dev/null || skip "mknod needs root (CAP_MKNOD)" ;;
	esac
}

# quick_exit8 WHAT CMD...: CMD ends within 5 s (a hang would be killed at
# 10 s), with status 8 and an error naming WHAT.
quick_exit8() {
	local what=$1 start end
	shift
	start=$(date +%s%N)
	run --separate-stderr timeout 10 "$@"
	end=$(date +%s%N)
	[ "$status" -ne 124 ] || fail "$* hung"
	[ "$status" -eq 8 ] || fail "status $status, want 8: $stderr"
	(( (end - start) / 1000000 < 5000 )) || fail "took $(( (end - start) / 1000000 )) ms"
	[[ "$stderr" == *"$what"* ]] || fail "the error does not name $what: $stderr"
	[[ "$stderr" == *"not a regular file"* ]] || fail "the error does not say why: $stderr"
}

@test "kvm-dir: a FIFO, a socket, a device node as a member is exit 8 at once" {
	local kind member
	for kind in fifo socket device; do
		for member in xcrs msrs events; do
			d=$(fixture multi "m-$kind-$member")
			special "$kind" "$d/vcpu1/$member"
			quick_exit8 "vcpu1/$member" "$FREDCK" check "$d"
			quick_exit8 "vcpu1/$member" "$FREDCK" repair "$d" -o "$WORK/out-$kind-$member"
			[ ! -e "$WORK/out-$kind-$member" ] || fail "an output was written"
		done
	done
}

@test "Firecracker: a FIFO, a socket, a device node as the state file is exit 8 at once" {
	local kind
	for kind in fifo socket device; do
		special "$kind" "$WORK/vm.$kind"
		quick_exit8 "vm.$kind" "$FREDCK" check --format=firecracker "$WORK/vm.$kind"
		quick_exit8 "vm.$kind" "$FREDCK" inspect --format=firecracker "$WORK/vm.$kind"
	done
}

@test "Cloud Hypervisor: a FIFO, a socket, a device node as state.json is exit 8 at once" {
	local kind
	[ -x "$CHV_GEN" ] || fail "CHV_GEN=$CHV_GEN is not built (make check builds it)"
	for kind in fifo socket device; do
		"$CHV_GEN" --layout=v53 "$WORK/chv-$kind" clean || fail "chv-gen failed"
		special "$kind" "$WORK/chv-$kind/state.json"
		quick_exit8 "state.json" "$FREDCK" check "$WORK/chv-$kind"
		quick_exit8 "state.json" "$FREDCK" check --format=cloud-hypervisor \
			"$WORK/chv-$kind/state.json"
	done
}

@test "a FIFO given as the input without --format is refused at once, not read" {
	special fifo "$WORK/input"
	run --separate-stderr timeout 10 "$FREDCK" check "$WORK/input"
	[ "$status" -ne 124 ] || fail "check hung on a FIFO"
	[ "$status" -eq 8 ] || fail "status $status: $stderr"
}

@test "check -r -P 2 --ndjson over a tree with a FIFO inside a snapshot reports every other input" {
	local n
	mkdir -p "$WORK/tree"
	for n in a b c d; do fixture multi "tree/$n" >/dev/null; done
	fixture pf-lost-cap tree/e >/dev/null
	special fifo "$WORK/tree/b/vcpu1/xcrs"
	run --separate-stderr timeout 20 "$FREDCK" check -r -P 2 --ndjson "$WORK/tree"
	[ "$status" -ne 124 ] || fail "the batch hung"
	(( status & 8 )) || fail "status $status: the FIFO was not an error"
	[ "$(wc -l <<<"$output")" -eq 5 ] || fail "not one record per input: $output"
	jq -se 'map(select(.path | endswith("tree/b"))) | length == 1 and .[0].status == "error"' \
		<<<"$output" >/dev/null || fail "b is not an error record: $output"
	[[ "$stderr" == *"tree/b/vcpu1/xcrs"*"a FIFO, not a regular file"* ]] || fail "$stderr"
	for n in a c d e; do
		jq -se --arg n "tree/$n" 'map(select(.path | endswith($n))) |
			length == 1 and .[0].status == "at-risk"' <<<"$output" >/dev/null ||
			fail "$n not reported: $output"
	done
}

@test "a read error (EIO) in a snapshot's file is reported as such, with its errno, never as a wrong size" {
	command -v strace >/dev/null || skip "strace is not installed"
	# LeakSanitizer cannot run under ptrace (a sanitizer build): ASan and UBSan still do.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	local member
	for member in vcpu1/xcrs vcpu1/msrs vcpu1/events; do
		d=$(fixture multi "eio-${member%%/*}-${member##*/}")
		run --separate-stderr strace -qq -o /dev/null -P "$d/$member" -e trace=read \
			-e inject=read:error=EIO "$FREDCK" check "$d"
		[ "$status" -eq 8 ] || fail "$member: status $status: $stderr"
		[[ "$stderr" == "fredck: $d/$member: cannot read: Input/output error (EIO)" ]] ||
			fail "$member: $stderr"
	done
	# The same for a Firecracker state file and a Cloud Hypervisor state.json.
	[ -x "$CHV_GEN" ] || fail "CHV_GEN=$CHV_GEN is not built"
	"$CHV_GEN" --layout=v53 "$WORK/chv" clean || fail "chv-gen failed"
	run --separate-stderr strace -qq -o /dev/null -P "$WORK/chv/state.json" -e trace=read \
		-e inject=read:error=EIO "$FREDCK" check "$WORK/chv"
	[ "$status" -eq 8 ] || fail "state.json: status $status: $stderr"
	[[ "$stderr" == *"state.json: cannot read: Input/output error (EIO)" ]] || fail "$stderr"
	[ -x "$MKFCSNAP" ] || fail "MKFCSNAP=$MKFCSNAP is not built"
	"$MKFCSNAP" v1.14 "$WORK/fc.snap" >/dev/null || fail "mkfcsnap failed"
	run --separate-stderr strace -qq -o /dev/null -P "$WORK/fc.snap" -e trace=read \
		-e inject=read:error=EIO "$FREDCK" check --format=firecracker "$WORK/fc.snap"
	[ "$status" -eq 8 ] || fail "fc.snap: status $status: $stderr"
	[[ "$stderr" == *"fc.snap: cannot read: Input/output error (EIO)" ]] || fail "$stderr"
}
