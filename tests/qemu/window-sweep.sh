#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# window-sweep.sh --- move one place of a real QEMU stream (a cpu section's
# start, a footer, the end-of-file marker, the description's start) across
# a window edge of fredck's byte source, one alignment after another, and
# check that every way of reading the padded stream gives the verdict the
# unpadded stream gets (tests/cli/window.bats runs it; by hand too).
#
#   window-sweep.sh FREDCK QEMU_PAD BASE OFFSET EDGE RANGE...
#
# OFFSET is the place's offset in BASE (qemu-pad BASE --where); it is moved
# to EDGE + d for every d of each RANGE, FROM:TO:STEP, by inserting zero-page
# records before it (qemu-pad).  The ways of reading (MODES, default all):
#   file        fredck check FILE                 (a mapped window)
#   stdin       fredck check - < FILE             (a regular file on fd 0)
#   filter      fredck repair - -o - < FILE       (read into the buffer)
#   pipe        cat FILE | fredck check -
#   pipefilter  cat FILE | fredck repair - -o -
# check is compared by exit status and report (the input's name aside),
# the filter by exit status, report and output: the unpadded output with
# the same records inserted, byte for byte.
#
# Prints one line per disagreement and a summary; exits 1 if any.
# Environment: SWEEP_JOBS (parallel alignments, default 2), MODES, and
# PIPE_EVERY (default 8): the two pipe modes run on every PIPE_EVERY-th
# alignment only -- a pipe's reads end wherever the writer's writes did, so
# its windows do not start at the edges swept, and these modes cost the most.

set -u
[ $# -ge 6 ] || { echo "usage: window-sweep.sh FREDCK QEMU_PAD BASE OFFSET EDGE RANGE..." >&2; exit 2; }
F=$1 PAD=$2 BASE=$3 OFF=$4 EDGE=$5
shift 5
RANGES=("$@")
MODES=${MODES:-file stdin filter pipe pipefilter}
PIPE_EVERY=${PIPE_EVERY:-8}
JOBS=${SWEEP_JOBS:-2}
T=$(mktemp -d "${TMPDIR:-/tmp}/window-sweep.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT

PAD_AT=$("$PAD" "$BASE" --where | sed -n 's/^pad //p')
[ -n "$PAD_AT" ] || { echo "window-sweep: qemu-pad cannot read $BASE" >&2; exit 2; }

# The report without the input's name (the first word of the first line).
report() { sed '1s/^[^ ]* //'; }

# The unpadded verdicts.
"$F" check "$BASE" >"$T/ref.check" 2>/dev/null
REF_CHECK=$?
report <"$T/ref.check" >"$T/ref.check.n"
"$F" repair - -o - <"$BASE" >"$T/ref.out" 2>"$T/ref.err"
REF_FILTER=$?

# check_mode NAME STATUS OUTFILE W D: compare a check run with the reference.
check_mode() {
	if [ "$2" != "$REF_CHECK" ]; then
		echo "d=$5 $1: exit $2, unpadded $REF_CHECK: $(head -c 200 "$4/err" | tr '\n' ' ')"
	elif ! report <"$3" | cmp -s - "$T/ref.check.n"; then
		echo "d=$5 $1: the report differs from the unpadded stream's"
	fi
}

# filter_mode NAME STATUS W D BYTES: the filter's status, report and output.
filter_mode() {
	local at=$((PAD_AT + $5))
	if [ "$2" != "$REF_FILTER" ]; then
		echo "d=$4 $1: exit $2, unpadded $REF_FILTER: $(head -c 200 "$3/err" | tr '\n' ' ')"
	elif ! cmp -s "$3/err" "$T/ref.err"; then
		echo "d=$4 $1: the report differs from the unpadded stream's"
	elif [ "$REF_FILTER" -le 1 ] && { ! cmp -s -n "$at" "$3/out" "$3/p.bin" ||
		! cmp -s -i "$at:$PAD_AT" "$3/out" "$T/ref.out"; }; then
		echo "d=$4 $1: the output is not the unpadded output with the records inserted"
	fi
}

# One alignment d, in work directory W.
one() {
	local d=$1 w=$2 bytes st mode
	bytes=$((EDGE + d - OFF))
	"$PAD" "$BASE" "$w/p.bin" "$bytes" || { echo "d=$d: qemu-pad failed"; return; }
	for mode in $MODES; do
		case $mode in
		pipe*) [ $((d % PIPE_EVERY)) -eq 0 ] || continue ;;
		esac
		case $mode in
		file) "$F" check "$w/p.bin" >"$w/out" 2>"$w/err" ;;
		stdin) "$F" check - <"$w/p.bin" >"$w/out" 2>"$w/err" ;;
		pipe) cat "$w/p.bin" | "$F" check - >"$w/out" 2>"$w/err" ;;
		filter) "$F" repair - -o - <"$w/p.bin" >"$w/out" 2>"$w/err" ;;
		pipefilter) cat "$w/p.bin" | "$F" repair - -o - >"$w/out" 2>"$w/err" ;;
		esac
		st=$?
		case $mode in
		file | stdin | pipe) check_mode "$mode" "$st" "$w/out" "$w" "$d" ;;
		*) filter_mode "$mode" "$st" "$w" "$d" "$bytes" ;;
		esac
	done
}

# Every d of the ranges, worker k of JOBS taking every JOBS-th one.
alignments() {
	local r from to step d
	for r in "${RANGES[@]}"; do
		IFS=: read -r from to step <<<"$r"
		for ((d = from; d <= to; d += step)); do
			echo "$d"
		done
	done | sort -n -u
}

alignments >"$T/all"
for ((k = 0; k < JOBS; k++)); do
	mkdir -p "$T/w$k"
	(
		n=0
		while read -r d; do
			[ $((n++ % JOBS)) -eq "$k" ] && one "$d" "$T/w$k"
		done <"$T/all"
	) >"$T/w$k.log" &
done
wait
cat "$T"/w*.log | sort -t= -k2 -n >"$T/bad"
total=$(wc -l <"$T/all")
bad=$(sed 's/ .*//' "$T/bad" | sort -u | wc -l)
cat "$T/bad"
echo "swept $total alignments ($MODES): $bad with a disagreement; unpadded: check exit $REF_CHECK, filter exit $REF_FILTER"
[ "$bad" -eq 0 ]
