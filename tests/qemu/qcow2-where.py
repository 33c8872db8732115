#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""qcow2-where.py IMAGE NAME: where the structures of internal snapshot
NAME (an id or a name, QEMU's rule: ids first) lie in the qcow2 IMAGE, one
"key value" line each, byte offsets in decimal, for tests that damage
them on purpose (tests/cli/qcow2.bats).  Written from QEMU's
docs/interop/qcow2.txt, apart from fredck's reader, so that the two check
each other:

  cluster_size, extended_l2 (0|1), snapshots_offset
  entry        the snapshot's table entry
  l1           the snapshot's L1 table
  l1_entry     the L1 entry of the VM state's first cluster
  l1_entry2    the next L1 entry (0 when the state needs one)
  l2           the L2 table l1_entry points to
  l2_entry     the L2 entry of the state's first cluster
  data         the state's first cluster
  state_size   bytes of VM state
"""
import struct
import sys

path, want = sys.argv[1], sys.argv[2]
f = open(path, "rb")


def at(off, n):
    f.seek(off)
    b = f.read(n)
    if len(b) != n:
        sys.exit("qcow2-where: %s: %d bytes at %d: the file ends first" % (path, n, off))
    return b


h = at(0, 104)
magic, version = struct.unpack(">4sI", h[:8])
if magic != b"QFI\xfb":
    sys.exit("qcow2-where: %s is not a qcow2 image" % path)
cluster_bits, = struct.unpack(">I", h[20:24])
size, = struct.unpack(">Q", h[24:32])
nb, snap_off = struct.unpack(">IQ", h[60:72])
incompat = struct.unpack(">Q", h[72:80])[0] if version >= 3 else 0
ext = 1 if incompat & (1 << 4) else 0
cs = 1 << cluster_bits
l2_bits = cluster_bits - (4 if ext else 3)
esize = 16 if ext else 8

off = snap_off
snaps = []
for i in range(nb):
    off = (off + 7) & ~7
    e = at(off, 40)
    l1_off, l1_size, id_len, name_len = struct.unpack(">QIHH", e[:16])
    vm32, extra = struct.unpack(">II", e[32:40])
    x = at(off + 40, extra)
    vm = struct.unpack(">Q", x[:8])[0] if extra >= 8 else vm32
    disk = struct.unpack(">Q", x[8:16])[0] if extra >= 16 else size
    sid = at(off + 40 + extra, id_len).decode("latin-1")
    name = at(off + 40 + extra + id_len, name_len).decode("latin-1")
    snaps.append(dict(entry=off, l1=l1_off, vm=vm, disk=disk, id=sid, name=name))
    off += 40 + extra + id_len + name_len
matches = [s for s in snaps if s["id"] == want] or [s for s in snaps if s["name"] == want]
if not matches:
    sys.exit("qcow2-where: no snapshot %s in %s" % (want, path))
found = matches[0]

shift = cluster_bits + l2_bits
first = (found["disk"] + (1 << shift) - 1) >> shift
l1_entry = found["l1"] + 8 * first
l2 = struct.unpack(">Q", at(l1_entry, 8))[0] & 0x00fffffffffffe00
l2_entry = l2 + 0
data = struct.unpack(">Q", at(l2_entry, 8))[0] & 0x00fffffffffffe00
more = found["vm"] > (1 << shift)
print("cluster_size", cs)
print("extended_l2", ext)
print("snapshots_offset", snap_off)
print("entry", found["entry"])
print("l1", found["l1"])
print("l1_entry", l1_entry)
print("l1_entry2", l1_entry + 8 if more else 0)
print("l2", l2)
print("l2_entry", l2_entry)
print("data", data)
print("state_size", found["vm"])
