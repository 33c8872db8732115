#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# stream-matrix.sh [DIR] --- make a stream with every usable QEMU peer in
# every shape and mode, load each back into the same peer, and print the
# results as Markdown (the tables of tests/qemu/README.md come from here).
# Not a test: a record of what each QEMU version writes and accepts, to
# rerun when a peer changes (sid does, often).  Streams go to DIR (default:
# a temporary directory, removed at the end).  Needs perl (Debian: always
# there) to list the cpu subsections.

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/qemu-peer.sh
. "$here/qemu-peer.sh"

if [ $# -ge 1 ]; then
	dir=$1
	mkdir -p "$dir" || exit 1
else
	dir=$(mktemp -d "${TMPDIR:-/tmp}/stream-matrix.XXXXXX") || exit 1
	trap 'rm -rf "$dir"' EXIT
fi

# Milliseconds since the epoch (bash 5).
now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# The cpu subsections of each vCPU of stream FILE, "cpuN: cpu/a cpu/b".
# A cpu section starts with the 17-byte header 04 <sid> 03 "cpu" <be32
# instance> 00 00 00 0c; a subsection is 05 <len> "cpu/..." 00 00 00 01.
cpu_subsections() {
	perl -0777 -ne '
		while (/\x04....\x03cpu(....)\x00\x00\x00\x0c|\x05([\x05-\x7f])(cpu\/[a-z0-9_\/]+)\x00\x00\x00\x01/sg) {
			if (defined $1) { print "\n" if $n++; printf "cpu%d:", unpack("N", $1); }
			elsif (length($3) == ord($2)) { print " $3"; }
		}
		print "\n" if $n;' "$1"
}

# COMMAND 11 (SWITCHOVER_START: 08 000b 0000) right before the RAM END
# section (03 + be32 id) -- yes/no.
has_command11() {
	if LC_ALL=C grep -qaP '\x08\x00\x0b\x00\x00\x03\x00\x00\x00' "$1"; then echo yes; else echo no; fi
}

# The stream ends with the vmdesc JSON ("}") or not.
has_vmdesc() {
	if [ "$(tail -c 1 "$1" | od -An -tx1 | tr -d ' ')" = 7d ]; then echo yes; else echo no; fi
}

echo "## Peers"
echo
qemu_peer_list | while read -r p v; do
	echo "- $p: QEMU $v ($(qemu_run "$p" --version | sed -n '1s/.*(\(.*\))/\1/p'))"
done
for p in $QEMU_PEERS; do
	r=$(qemu_peer_skip_reason "$p")
	[ -z "$r" ] || echo "- $p: skipped: $r"
done
echo

echo "## Streams: make, then load back into the same peer (TCG, 64 MiB, paused)"
echo
echo "| peer | machine | smp | mode | size (bytes) | on disk | make ms | load ms | load | vmdesc | COMMAND 11 |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for p in $(qemu_peer_list | cut -d' ' -f1); do
	for machine in pc q35; do
		for smp in 1 2; do
			for mode in exec file mapped-ram suppress-vmdesc; do
				f="$dir/$p-$machine-$smp-$mode.bin"
				case "$mode" in
				suppress-vmdesc) opts=(--mode exec --suppress-vmdesc) ;;
				*) opts=(--mode "$mode") ;;
				esac
				t0=$(now_ms)
				if ! err=$(qemu_make_stream "$p" "$f" --machine "$machine" --smp "$smp" "${opts[@]}" 2>&1); then
					err=$(echo "$err" | head -n 1 | sed 's/^qemu_make_stream [^:]*: //')
					echo "| $p | $machine | $smp | $mode | — | — | $(($(now_ms) - t0)) | — | make failed: ${err//|/\\|} | — | — |"
					continue
				fi
				t1=$(now_ms)
				res=$(qemu_load_stream "$p" "$f" --machine "$machine" --smp "$smp" "${opts[@]}" 2>&1 | head -n 1)
				t2=$(now_ms)
				echo "| $p | $machine | $smp | $mode | $(stat -c %s "$f") | $(du -k "$f" | cut -f1) KiB | $((t1 - t0)) | $((t2 - t1)) | $res | $(has_vmdesc "$f") | $(has_command11 "$f") |"
			done
		done
	done
done
echo

echo "## cpu subsections per vCPU"
echo
echo "| peer | stream | subsections |"
echo "|---|---|---|"
for p in $(qemu_peer_list | cut -d' ' -f1); do
	for variant in "pc-2-exec" "q35-2-exec"; do
		f="$dir/$p-${variant%%-*}-2-exec.bin"
		[ -s "$f" ] || continue
		cpu_subsections "$f" | while read -r line; do
			echo "| $p | ${variant%%-*} -smp 2 | $line |"
		done
	done
	# FRED needs LKGS and WRMSRNS; XFD is what cpu/msr_xfd depends on.
	for cpu in max "max,+fred,+lkgs,+wrmsrns" "max,+xfd" "max,+amx-tile"; do
		f="$dir/$p-cpu-${cpu//[,+]/_}.bin"
		if qemu_make_stream "$p" "$f" --smp 1 --cpu "$cpu" 2>"$f.err"; then
			out=$(qemu_load_stream "$p" "$f" --smp 1 --cpu "$cpu" 2>&1)
			# QEMU's own words when it drops a feature TCG lacks.
			warn=$(echo "$out" | sed -n 's/.*warning: \(.*\)/\1/p' | sort -u | tr '\n' ';')
			echo "| $p | pc -cpu $cpu (load: $(echo "$out" | head -n 1)${warn:+; QEMU: $warn}) | $(cpu_subsections "$f") |"
		else
			echo "| $p | pc -cpu $cpu | make failed: $(tail -n 1 "$f.err" | sed 's/^ *//') |"
		fi
	done
	f="$dir/$p-run.bin"
	if qemu_make_stream "$p" "$f" --smp 1 --run-ms 300 2>"$f.err"; then
		res=$(qemu_load_stream "$p" "$f" --smp 1 2>&1 | head -n 1)
		echo "| $p | pc --run-ms 300 ($(stat -c %s "$f") bytes; load: $res) | $(cpu_subsections "$f") |"
	else
		echo "| $p | pc --run-ms 300 | make failed: $(tail -n 1 "$f.err") |"
	fi
done
