#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make-seeds.sh BUILDDIR OUTDIR: the seed corpora of the fuzz targets, one
# directory per target under OUTDIR, from the test fixtures:
#   kvmdir   every real-kernel fixture (tests/fixtures/kvm) and the bundled
#            example, packed by kvmdir-pack;
#   qemu     real QEMU 7.2 streams (microvm: 66 KB; pc), clean and turned
#            at-risk by tests/qemu/qemu-patch (#PF, #DB, #NM with
#            cpu/msr_xfd, a lost error code, cpu/error_code, nested, an
#            unknown described subsection), with and without description;
#   libvirt  some of those wrapped by tests/qemu/mklibvirt.sh, raw, gzip, bzip2 and lzop;
#   filter   the qemu seeds (file mode against the stream filter);
#   firecracker  state files of tests/fc/mkfcsnap (it needs no QEMU);
#   fc_bitcode   the Firecracker v1.15/v1.16 files of tests/fc/bitcode
#            (written by the real bitcode crate), but the 32-vCPU ones;
#   qcow2    qcow2 images (512-byte, 4 KiB and 16 KiB extended-L2 clusters,
#            refcount_bits 8, version 2) into which QEMU saved the at-risk
#            microvm stream (savevm), and one with a disk-only snapshot too;
#   chv      Cloud Hypervisor state.json files from tests/chv/chv-gen, both
#            layouts, at-risk and repaired vCPUs (it needs no QEMU).
# Without QEMU the qemu and libvirt directories stay empty and the reason
# is printed on stderr.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
out=$2
mkdir -p "$out/kvmdir" "$out/qemu" "$out/libvirt" "$out/firecracker" "$out/chv" "$out/filter" \
	"$out/fc_bitcode" "$out/qcow2"

# firecracker: tests/fc/mkfcsnap, a versionize, a bincode 1 and a bincode 2
# release, each with a #PF, #DB and #NM at risk, and a bitcode-like file.
for rel in v1.0 v1.7 v1.10 v1.14; do
	for e in 14 1 7; do
		"$build/tests/fc/mkfcsnap" -n 2 -e "$e" -x 0x60007 "$rel" "$out/firecracker/$rel-$e"
	done
done
"$build/tests/fc/mkfcsnap" bitcode "$out/firecracker/bitcode"
for f in "$top"/tests/fc/bitcode/*.snap; do
	case $f in *-pf-32.snap) continue ;; esac
	cp "$f" "$out/fc_bitcode/"
done

for d in "$top"/tests/fixtures/kvm/*/ "$top"/examples/broken-vm/; do
	[ -d "$d/vcpu0" ] || continue
	"$build/tests/fuzz/kvmdir-pack" "$d" >"$out/kvmdir/$(basename "$d")"
done

chv_tmp=$(mktemp -d "${TMPDIR:-/tmp}/fredck-chv-seeds.XXXXXX")
for layout in v39 v53 v38 v29; do
	for kinds in "pf db" nm pf:pending; do
		"$build/tests/chv/chv-gen" --layout="$layout" "$chv_tmp/s" $kinds
		cp "$chv_tmp/s/state.json" "$out/chv/$layout-${kinds//[ :]/-}"
		rm -rf "$chv_tmp/s"
	done
done
"$build/tests/chv/chv-gen" --layout=v53 --nested=0 --no-xfd "$chv_tmp/s" pf nm
cp "$chv_tmp/s/state.json" "$out/chv/v53-nested"
rm -rf "$chv_tmp"

# shellcheck source=../qemu/qemu-peer.sh
. "$top/tests/qemu/qemu-peer.sh"
reason=$(qemu_peer_skip_reason debian12)
if [ -n "$reason" ]; then
	echo "make-seeds: no QEMU seeds: $reason" >&2
	exit 0
fi
patch=$build/tests/qemu/qemu-patch
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fredck-seeds.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
qemu_make_stream debian12 "$tmp/micro.bin" --machine microvm --smp 2 --mem 2
qemu_make_stream debian12 "$tmp/micro-nodesc.bin" --machine microvm --smp 1 --mem 2 --suppress-vmdesc
fred=('cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033)
for base in micro micro-nodesc; do
	cp "$tmp/$base.bin" "$out/qemu/$base-clean"
	"$patch" "$tmp/$base.bin" "$out/qemu/$base-pf" 0 "${fred[@]}" exception_nr=14 cr2=0x7f3a1c2e5008
	"$patch" "$tmp/$base.bin" "$out/qemu/$base-pf-ec" 0 "${fred[@]}" exception_nr=14 has_error_code=1
	"$patch" "$tmp/$base.bin" "$out/qemu/$base-db" 0 "${fred[@]}" exception_nr=1 dr6=0xffff0ff1
	"$patch" "$tmp/$base.bin" "$out/qemu/$base-nm" 0 "${fred[@]}" exception_nr=7 xcr0=0x60007 \
		'+sub:cpu/msr_xfd=00000000000400000000000000040000'
	"$patch" "$tmp/$base.bin" "$out/qemu/$base-ec" 0 "${fred[@]}" exception_nr=14 has_error_code=1 \
		'+sub:cpu/error_code=00000006'
	"$patch" "$tmp/$base.bin" "$out/qemu/$base-nested" 0 "${fred[@]}" exception_nr=14 'hflags=|0x200000'
	"$patch" "$tmp/$base.bin" "$out/qemu/$base-pending" 0 "${fred[@]}" exception_nr=14 \
		'+sub:cpu/exception_info=0100010000000000040000'
done
"$patch" "$tmp/micro.bin" "$out/qemu/micro-unknown-sub" 1 "${fred[@]}" exception_nr=14 \
	'+sub:cpu/not_a_real_one=0102030405'

for s in micro-pf micro-db micro-nodesc-nm; do
	bash "$top/tests/qemu/mklibvirt.sh" "$out/qemu/$s" "$out/libvirt/$s-raw" 0
done
gzip -c "$out/qemu/micro-pf" >"$tmp/pf.gz"
bash "$top/tests/qemu/mklibvirt.sh" "$tmp/pf.gz" "$out/libvirt/micro-pf-gzip" 1
# Small blocks, so that the repair keeps a compressed prefix (formats/io/splice.c):
# gzip with a sync flush (pigz's empty stored blocks) and bzip2 in two streams.
python3 -c 'import sys, zlib
d = open(sys.argv[1], "rb").read()
c = zlib.compressobj(6, zlib.DEFLATED, 31)
o = b"".join(c.compress(d[i:i + 4096]) + c.flush(zlib.Z_SYNC_FLUSH) for i in range(0, len(d), 4096))
sys.stdout.buffer.write(o + c.flush())' "$out/qemu/micro-pf" >"$tmp/pf-sync.gz"
bash "$top/tests/qemu/mklibvirt.sh" "$tmp/pf-sync.gz" "$out/libvirt/micro-pf-gzip-sync" 1
{ head -c 40000 "$out/qemu/micro-pf" | bzip2 -c; tail -c +40001 "$out/qemu/micro-pf" | bzip2 -c; } \
	>"$tmp/pf.bz2"
bash "$top/tests/qemu/mklibvirt.sh" "$tmp/pf.bz2" "$out/libvirt/micro-pf-bzip2" 2
# lzop as libvirt runs it (lzop -c), and two lzop files one after the other.
if command -v lzop >/dev/null; then
	lzop -c <"$out/qemu/micro-pf" >"$tmp/pf.lzo"
	bash "$top/tests/qemu/mklibvirt.sh" "$tmp/pf.lzo" "$out/libvirt/micro-pf-lzop" 4
	{ head -c 40000 "$out/qemu/micro-pf" | lzop -c; tail -c +40001 "$out/qemu/micro-pf" | lzop -c; } \
		>"$tmp/pf2.lzo"
	bash "$top/tests/qemu/mklibvirt.sh" "$tmp/pf2.lzo" "$out/libvirt/micro-pf-lzop2" 4
else
	echo "make-seeds: no lzop seeds: the lzop program is not installed" >&2
fi
cp "$out"/qemu/* "$out/filter/"

command -v qemu-img >/dev/null || { echo "make-seeds: no qcow2 seeds: qemu-img is not installed" >&2; exit 0; }
for l in c512:cluster_size=512 c4k:cluster_size=4096 x16k:cluster_size=16384,extended_l2=on \
	r8:cluster_size=4096,refcount_bits=8 v2:cluster_size=4096,compat=0.10; do
	qemu-img create -q -f qcow2 -o "${l#*:}" "$out/qcow2/${l%%:*}" 1M
	qemu_savevm debian12 "$out/qemu/micro-pf" "$out/qcow2/${l%%:*}" s1 --machine microvm --smp 2 --mem 2
done
qemu-img create -q -f qcow2 -o cluster_size=4096 "$out/qcow2/two" 1M
qemu-img snapshot -c disk "$out/qcow2/two"
qemu_savevm debian12 "$out/qemu/micro-nodesc-nm" "$out/qcow2/two" s2 --machine microvm --smp 1 --mem 2
