#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/recompress.sh BEFORE AFTER [RUNS] [CODECS]: `fredck repair IMG -o OUT`
# of a compressed libvirt image, two binaries alternated in one loop so
# that both see the same load, RUNS (5) rounds, medians; beside them, the
# decompression alone (`TOOL -dc IMG-STREAM > /dev/null`), the floor the
# issue measures against (issue 19: at most 1.3x of it); wall clock and
# CPU seconds (GNU time: user + system).
#
# The stream is realistic guest memory, not random bytes: QEMU 7.2 (Debian
# 12, TCG) with 768 MiB of RAM backed by a file holding 700 MB of this
# machine's system files (a tar of /usr) and zeros, migrated to a file,
# a vCPU made at-risk by qemu-patch, then wrapped as libvirt does and
# compressed as libvirt runs the programs (`zstd -c`, `lzop -c`, `xz -3 -c`).
# CODECS: "zstd lzop" by default (xz -3 takes minutes to compress; gzip
# and bzip2 are `gzip -c` and `bzip2 -c`, as libvirt runs them).
# RAM_MIB (768) sets the guest's memory, of which 7/8 is system files.
# BEFORE "-": the new binary alone against the decompression (on a
# multi-GiB stream the old recompression takes too long to repeat).
# Machines are shared and noisy: read the ratios.
set -eu
A=$1 B=$2 RUNS=${3:-5} CODECS=${4:-zstd lzop}
TOP=$(cd "$(dirname "$0")/.." && pwd)
DIR=${BENCH_DIR:-/var/tmp/fredck-bench}
QEMU_PATCH=${QEMU_PATCH:-$TOP/_build/tests/qemu/qemu-patch}
RAM_MIB=${RAM_MIB:-768}
REAL_BYTES=$((RAM_MIB * 1048576 * 7 / 8))
STREAM="$DIR/stream-real-${RAM_MIB}m.bin"
PF="$DIR/stream-real-${RAM_MIB}m-pf.bin"
mkdir -p "$DIR"

if [ ! -s "$STREAM" ]; then
	echo "making a stream of $RAM_MIB MiB of realistic memory in $STREAM"
	{ tar -cf - /usr 2>/dev/null | head -c "$REAL_BYTES"; head -c $((RAM_MIB << 20)) /dev/zero; } |
		head -c $((RAM_MIB << 20)) >"$DIR/ram-real.img"
	# QEMU limits a migration to 32 MiB/s unless told otherwise.
	{ sleep 1; echo "migrate_set_parameter max-bandwidth 10G"; echo "migrate \"exec:cat > $STREAM\"";
		sleep $((40 + RAM_MIB / 32)); echo quit; } |
		qemu-system-x86_64 -accel tcg -machine pc,memory-backend=ram -smp 2 -m "${RAM_MIB}M" \
			-object memory-backend-file,id=ram,size="${RAM_MIB}M",mem-path="$DIR/ram-real.img",share=on \
			-nographic -nodefaults -S -monitor stdio >"$DIR/qemu-real.log" 2>&1 || true
	rm -f "$DIR/ram-real.img"
	[ -s "$STREAM" ] || { echo "no stream made (see $DIR/qemu-real.log)"; exit 1; }
fi
if [ ! -s "$PF" ]; then
	"$QEMU_PATCH" "$STREAM" "$PF" 1 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr=14 cr2=0x7f3a1c2e5008
fi
echo "stream: $(stat -c %s "$PF") bytes; runs: $RUNS"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
format_of() { case $1 in gzip) echo 1 ;; bzip2) echo 2 ;; xz) echo 3 ;; lzop) echo 4 ;; zstd) echo 5 ;; esac; }
compress() { case $1 in xz) xz -3 -c ;; *) "$1" -c ;; esac; }

for z in $CODECS; do
	IMG="$DIR/real-${RAM_MIB}m.$z.img"
	if [ ! -s "$IMG" ]; then
		bash "$TOP/tests/qemu/mklibvirt.sh" /dev/null "$DIR/hdr" "$(format_of "$z")"
		{ cat "$DIR/hdr"; compress "$z" <"$PF"; } >"$IMG.tmp"
		mv "$IMG.tmp" "$IMG"
	fi
	start=$((92 + $(od -An -tu4 -j20 -N4 "$IMG")))
	tail -c +$((start + 1)) "$IMG" >"$DIR/real.$z.$$.compressed"
	OUT="$DIR/recompress.$$.out"
	declare -A t=([dc]= [A]= [B]=) c=([dc]= [A]= [B]=)
	cat "$IMG" >/dev/null # warm the page cache
	for _ in $(seq "$RUNS"); do
		a=$(now)
		/usr/bin/time -o "$DIR/cpu.$$" -f "%U + %S" "$z" -dc <"$DIR/real.$z.$$.compressed" >/dev/null
		b=$(now)
		t[dc]+="$(echo "$b - $a" | bc) "
		c[dc]+="$(tail -1 "$DIR/cpu.$$" | bc) "
		for w in A B; do
			bin=${!w}
			[ "$bin" != - ] || continue
			rm -f "$OUT"
			a=$(now)
			st=0
			/usr/bin/time -o "$DIR/cpu.$$" -f "%U + %S" "$bin" repair "$IMG" -o "$OUT" \
				>/dev/null 2>&1 || st=$?
			b=$(now)
			[ "$st" -eq 1 ] || { echo "$bin: exit $st"; exit 1; }
			t[$w]+="$(echo "$b - $a" | bc) "
			c[$w]+="$(tail -1 "$DIR/cpu.$$" | bc) "
		done
	done
	rm -f "$OUT" "$DIR/real.$z.$$.compressed"
	mdc=$(printf '%s\n' ${t[dc]} | median)
	ma=$(printf '%s\n' ${t[A]} | median)
	mb=$(printf '%s\n' ${t[B]} | median)
	echo "$z: image $(stat -c %s "$IMG") bytes"
	echo "  $z -dc > /dev/null: median ${mdc}s  (${t[dc]})"
	[ "$A" = - ] || echo "  before (A):        median ${ma}s  (${t[A]})  $(echo "scale=2; $ma / $mdc" | bc)x of -dc"
	echo "  after (B):         median ${mb}s  (${t[B]})  $(echo "scale=2; $mb / $mdc" | bc)x of -dc"
	[ "$A" = - ] || echo "  after/before: $(echo "scale=3; $mb / $ma" | bc)"
	# CPU seconds (user + system): less at the mercy of other loads than the wall clock.
	cdc=$(printf '%s\n' ${c[dc]} | median)
	ca=$(printf '%s\n' ${c[A]} | median)
	cb=$(printf '%s\n' ${c[B]} | median)
	if [ "$A" = - ]; then
		echo "  CPU: $z -dc ${cdc}s  (${c[dc]}), after ${cb}s ($(echo "scale=2; $cb / $cdc" | bc)x)  (after: ${c[B]})"
	else
		echo "  CPU: $z -dc ${cdc}s, before ${ca}s ($(echo "scale=2; $ca / $cdc" | bc)x), after ${cb}s ($(echo "scale=2; $cb / $cdc" | bc)x)  (after: ${c[B]})"
	fi
	unset t c
done
