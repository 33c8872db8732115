#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/qcow2-vs-plain.sh [GiB] [RUNS]: `fredck check` of a VM state kept
# inside a qcow2 image (an internal snapshot: read through the snapshot's
# L1 and L2 tables) against `fredck check` of the same VM's state as a plain
# migration stream (issue 18: within 1.2x).
#
# One paused TCG VM of real QEMU (Debian 12's 7.2), its RAM backed by a
# file of random bytes (every page a PAGE record: the worst case), first
# saves itself into a 64 KiB-cluster qcow2 image (HMP savevm), then
# migrates to a file, so that both hold the same RAM and devices.  Timing is by
# wall clock over RUNS alternating runs with a warm page cache; medians and
# their ratio are printed, and the peak RSS of both (GNU time).
set -eu
GIB=${1:-4}
RUNS=${2:-5}
TOP=$(cd "$(dirname "$0")/.." && pwd)
FREDCK=${FREDCK:-$TOP/_build/fredck}
WORK=${BENCH_DIR:-/var/tmp/fredck-bench}
mkdir -p "$WORK"
STREAM="$WORK/qcow2-plain-${GIB}g.bin"
IMAGE="$WORK/qcow2-${GIB}g.qcow2"

if [ ! -s "$STREAM" ] || ! qemu-img snapshot -l "$IMAGE" 2>/dev/null | grep -q big; then
	echo "making a ${GIB} GiB stream in $STREAM and the same state in $IMAGE"
	rm -f "$STREAM" "$IMAGE"
	head -c $((GIB << 30)) /dev/urandom >"$WORK/ram.img"
	qemu-img create -q -f qcow2 -o cluster_size=65536 "$IMAGE" 16M
	{
		# savevm first: after a migration the source's disks are inactive
		# ("is writable but does not support snapshots").
		sleep 1
		echo "savevm big"
		sleep $((GIB * 30))
		echo "migrate \"exec:cat > $STREAM\""
		sleep $((GIB * 20))
		echo quit
	} | qemu-system-x86_64 -accel tcg -machine pc,memory-backend=ram -smp 2 -m "${GIB}G" \
		-object memory-backend-file,id=ram,size="${GIB}G",mem-path="$WORK/ram.img",share=on \
		-drive "file=$IMAGE,format=qcow2,if=none,id=disk" \
		-nographic -nodefaults -S -monitor stdio >"$WORK/qemu-qcow2.log" 2>&1 || true
	rm -f "$WORK/ram.img"
	[ -s "$STREAM" ] || { echo "no stream made (see $WORK/qemu-qcow2.log)"; exit 1; }
	qemu-img snapshot -l "$IMAGE" | grep -q big || { echo "no snapshot (see $WORK/qemu-qcow2.log)"; exit 1; }
fi
ls -l "$STREAM" "$IMAGE"
qemu-img snapshot -l "$IMAGE"

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
now() { date +%s.%N; }
# Exit 0 (clean) or 4 (at risk) only: an error would time nothing.
checked() { "$FREDCK" check -q "$1" >/dev/null || [ $? -eq 4 ] || { echo "check $1 failed"; exit 1; }; }
t_plain=() t_qcow2=()
cat "$STREAM" "$IMAGE" >/dev/null # warm the page cache
for _ in $(seq "$RUNS"); do
	a=$(now); checked "$STREAM"; b=$(now)
	t_plain+=("$(echo "$b - $a" | bc)")
	a=$(now); checked "$IMAGE@big"; b=$(now)
	t_qcow2+=("$(echo "$b - $a" | bc)")
done
mp=$(printf '%s\n' "${t_plain[@]}" | median)
mq=$(printf '%s\n' "${t_qcow2[@]}" | median)
rss_p=$( { /usr/bin/time -f %M "$FREDCK" check -q "$STREAM" >/dev/null; } 2>&1 | tail -1)
rss_q=$( { /usr/bin/time -f %M "$FREDCK" check -q "$IMAGE@big" >/dev/null; } 2>&1 | tail -1)
echo "stream: $(stat -c %s "$STREAM") bytes; image: $(stat -c %s "$IMAGE") bytes; runs: $RUNS"
echo "fredck check STREAM:     median ${mp}s  (${t_plain[*]})"
echo "fredck check IMAGE@big:  median ${mq}s  (${t_qcow2[*]})"
echo "ratio qcow2/plain: $(echo "scale=3; $mq / $mp" | bc)"
echo "fredck peak RSS: plain ${rss_p} KiB, qcow2 ${rss_q} KiB"
