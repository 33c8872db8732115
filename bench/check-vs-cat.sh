#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/check-vs-cat.sh [GiB] [RUNS]: how fast `fredck check` reads a big
# QEMU migration stream, against `cat FILE > /dev/null` (docs/design.md section
# 7: within 1.05x of cat, in memory that does not grow with the stream).
#
# The stream is made by real QEMU (Debian 12's 7.2, TCG): its RAM is backed
# by a file of random bytes, so every page is a PAGE record (the worst case:
# nothing is a zero page).  Timing is by wall clock over RUNS alternating
# runs with a warm page cache; the medians and their ratio are printed, and
# the peak RSS of fredck (GNU time).  Machines are shared and noisy: read
# the ratio, not the absolute figures.
#
# ANALYZE_MIGRATION=PATH/scripts/analyze-migration.py (from `apt-get source
# qemu`, never committed) adds QEMU's own stream parser to the comparison,
# 3 runs of it (it is slow) against the median of fredck check.
set -eu
GIB=${1:-2}
RUNS=${2:-7}
TOP=$(cd "$(dirname "$0")/.." && pwd)
FREDCK=${FREDCK:-$TOP/_build/fredck}
WORK=${BENCH_DIR:-/var/tmp/fredck-bench}
mkdir -p "$WORK"
STREAM="$WORK/stream-${GIB}g.bin"

if [ ! -s "$STREAM" ]; then
	echo "making a ${GIB} GiB stream in $STREAM"
	head -c $((GIB << 30)) /dev/urandom >"$WORK/ram.img"
	# shellcheck source=../tests/qemu/qemu-peer.sh
	. "$TOP/tests/qemu/qemu-peer.sh"
	# The RAM: a shared file mapping of the random bytes.
	{ sleep 1; echo "migrate \"exec:cat > $STREAM\""; sleep $((GIB * 20)); echo quit; } |
		qemu-system-x86_64 -accel tcg -machine pc,memory-backend=ram -smp 2 -m "${GIB}G" \
			-object memory-backend-file,id=ram,size="${GIB}G",mem-path="$WORK/ram.img",share=on \
			-nographic -nodefaults -S -monitor stdio >"$WORK/qemu.log" 2>&1 || true
	rm -f "$WORK/ram.img"
	[ -s "$STREAM" ] || { echo "no stream made (see $WORK/qemu.log)"; exit 1; }
fi
ls -l "$STREAM"

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
now() { date +%s.%N; }
t_cat=() t_fredck=() t_filter=() t_pipe=() t_fnull=()
cat "$STREAM" >/dev/null # warm the page cache
for _ in $(seq "$RUNS"); do
	a=$(now); cat "$STREAM" >/dev/null; b=$(now)
	t_cat+=("$(echo "$b - $a" | bc)")
	a=$(now); "$FREDCK" check -q "$STREAM" >/dev/null; b=$(now)
	t_fredck+=("$(echo "$b - $a" | bc)")
	# The filter writes to a pipe: its fair baseline is cat through a pipe.
	a=$(now); cat "$STREAM" | cat >/dev/null; b=$(now)
	t_pipe+=("$(echo "$b - $a" | bc)")
	a=$(now); "$FREDCK" repair - -o - <"$STREAM" 2>/dev/null | cat >/dev/null; b=$(now)
	t_filter+=("$(echo "$b - $a" | bc)")
	# The issue's measure: the filter straight to /dev/null, against cat < FILE.
	a=$(now); "$FREDCK" repair - -o - <"$STREAM" 2>/dev/null >/dev/null; b=$(now)
	t_fnull+=("$(echo "$b - $a" | bc)")
done
mfn=$(printf '%s\n' "${t_fnull[@]}" | median)
mp=$(printf '%s\n' "${t_pipe[@]}" | median)
mfl=$(printf '%s\n' "${t_filter[@]}" | median)
mc=$(printf '%s\n' "${t_cat[@]}" | median)
mf=$(printf '%s\n' "${t_fredck[@]}" | median)
rss=$( { /usr/bin/time -f %M "$FREDCK" check -q "$STREAM" >/dev/null; } 2>&1 | tail -1)
/usr/bin/time -o "$WORK/rss" -f %M "$FREDCK" repair - -o - <"$STREAM" >/dev/null 2>/dev/null || true
rss_filter=$(cat "$WORK/rss")
echo "stream: $(stat -c %s "$STREAM") bytes; runs: $RUNS"
echo "cat > /dev/null:  median ${mc}s  (${t_cat[*]})"
echo "fredck check:     median ${mf}s  (${t_fredck[*]})"
echo "ratio fredck/cat: $(echo "scale=3; $mf / $mc" | bc)"
echo "cat FILE | cat:       median ${mp}s  (${t_pipe[*]})"
echo "repair - -o - | cat: median ${mfl}s  (${t_filter[*]})"
echo "ratio filter/(cat | cat): $(echo "scale=3; $mfl / $mp" | bc)"
echo "repair - -o - <FILE >/dev/null: median ${mfn}s  (${t_fnull[*]})"
echo "throughput filter/cat (cat time / filter time): $(echo "scale=3; $mc / $mfn" | bc)"
echo "fredck peak RSS:  check ${rss} KiB, filter ${rss_filter} KiB"

if [ -n "${ANALYZE_MIGRATION:-}" ]; then
	t_am=()
	for _ in 1 2 3; do
		a=$(now); python3 "$ANALYZE_MIGRATION" -f "$STREAM" >/dev/null; b=$(now)
		t_am+=("$(echo "$b - $a" | bc)")
	done
	mam=$(printf '%s\n' "${t_am[@]}" | median)
	echo "analyze-migration.py: median ${mam}s  (${t_am[*]})"
	echo "ratio analyze-migration.py/fredck check: $(echo "scale=2; $mam / $mf" | bc)"
fi
