#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""binary-subsections.py --- the subsections of the x86 `cpu` vmstate as a
running qemu-system-x86_64 holds them in memory: the producer's own tables,
read where its source cannot be had (QEMU 11.1: tests/qemu/README.md).

    binary-subsections.py [--source LABEL] PID
    binary-subsections.py --vmdesc NAME[,NAME...] PID

PID is a qemu-system-x86_64 started paused (`-S`); it is only read
(/proc/PID/mem), never written or stopped.  Prints the same lines as
derive-subsections.py (NAME, PARENT, VERSION, SIZE, SOURCE), in the order
QEMU writes them, so the two can be compared line for line.  --vmdesc
prints instead the device-description entries QEMU writes for the named
subsections (vmstate.c's JSON: vmsd_name, version, fields with name,
array_len, type, size; nested subsections), one JSON object per line: how
tests/qemu/fred-host-11.1.json was made.

How: the string "cpu" and each "cpu/..." name are found in the program's
memory, then the VMStateDescription whose .name points at "cpu" (the one
that also has a .subsections list of descriptions named "cpu/...").  A
description's .fields and .subsections are told apart by shape (an array
of fields starts with a pointer to a field name; a subsection list with a
pointer to a description), so the walk needs no debug symbols and does not
depend on where a QEMU release put its struct members.  Each VMStateField
is decoded with the layout of include/migration/vmstate.h that its
measured stride says (LAYOUTS below); the main fields adding up to the
1817 bytes of every stream is the check that the layout was right.
"""
import argparse
import json
import re
import struct
import sys

VMS_POINTER = 0x2
VMS_ARRAY = 0x4
VMS_STRUCT = 0x8
VMS_VARRAY_INT32 = 0x10
VMS_BUFFER = 0x20
VMS_ARRAY_OF_POINTER = 0x40
VMS_VARRAY_UINT16 = 0x80
VMS_VBUFFER = 0x100
VMS_MULTIPLY = 0x200
VMS_VARRAY_UINT8 = 0x400
VMS_VARRAY_UINT32 = 0x800
# Where VMStateField's members are, by the struct's size.  104: 7.2 to 10.x
# (name, err_hint, offset, size, start, int num, num_offset, size_offset,
# info, flags, vmsd...).  96: 11.1, measured in the 11.1.3 binary (no
# err_hint; num after num_offset and size_offset); the main fields then add
# up to 1817 bytes, the size every 11.1.3 stream shows.
LAYOUTS = {
    104: {"size": 24, "num": 40, "info": 64, "flags": 72, "vmsd": 80},
    96: {"size": 16, "num": 48, "info": 56, "flags": 64, "vmsd": 72},
}

VARIABLE = VMS_VARRAY_INT32 | VMS_VARRAY_UINT16 | VMS_VARRAY_UINT8 | VMS_VARRAY_UINT32 | VMS_VBUFFER


class Memory:
    """The program's file-backed mappings and the anonymous ones after them."""

    def __init__(self, pid):
        self.regions = []
        exe = None
        with open("/proc/%d/maps" % pid) as maps:
            lines = maps.read().splitlines()
        for line in lines:
            parts = line.split()
            if len(parts) >= 6 and parts[5].endswith("qemu-system-x86_64"):
                exe = parts[5]
        mem = open("/proc/%d/mem" % pid, "rb", buffering=0)
        prev_exe = False
        for line in lines:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            mine = len(parts) >= 6 and parts[5] == exe
            # the .bss follows the last file mapping, anonymous
            if "r" in parts[1] and (mine or (prev_exe and len(parts) < 6)):
                try:
                    mem.seek(lo)
                    self.regions.append((lo, mem.read(hi - lo)))
                except OSError:
                    pass
            prev_exe = mine
        if not self.regions:
            raise SystemExit("pid %d: no qemu-system-x86_64 mapping" % pid)

    def read(self, addr, n):
        for lo, data in self.regions:
            if lo <= addr and addr + n <= lo + len(data):
                return data[addr - lo:addr - lo + n]
        return None

    def q(self, addr):
        b = self.read(addr, 8)
        return struct.unpack("<Q", b)[0] if b else None

    def i(self, addr):
        b = self.read(addr, 4)
        return struct.unpack("<i", b)[0] if b else None

    def string(self, addr):
        """A NUL-terminated printable name at addr, else None."""
        b = self.read(addr, 1) if addr else None
        if b is None:
            return None
        out = bytearray()
        while len(out) < 128:
            c = self.read(addr + len(out), 1)
            if not c or c == b"\0":
                break
            out += c
        if not out or not re.fullmatch(rb"[\x21-\x7e]+", bytes(out)):
            return None
        return out.decode()

    def find(self, needle):
        for lo, data in self.regions:
            for m in re.finditer(re.escape(needle), data):
                yield lo + m.start()


class Walker:
    def __init__(self, mem):
        self.mem = mem
        self.stride = None

    def is_desc(self, addr):
        return self.mem.string(self.mem.q(addr) or 0) is not None

    def members(self, desc):
        """(fields, subsections) of the description at desc."""
        fields = subs = None
        for off in range(8, 256, 8):
            p = self.mem.q(desc + off)
            if not p or p == desc:
                continue
            first = self.mem.q(p)
            if first is None:
                continue
            if fields is None and self.mem.string(first) is not None:
                fields = p
            elif subs is None and first and self.is_desc(first) and \
                    self.mem.string(self.mem.q(first)).startswith(self.name(desc)):
                subs = p
        return fields, subs

    def name(self, desc):
        return self.mem.string(self.mem.q(desc))

    def measure_stride(self, fields):
        for k in range(8, 512, 8):
            if self.mem.string(self.mem.q(fields + k) or 0) is not None:
                return k
        raise SystemExit("cannot measure the VMStateField stride")

    def field_list(self, fields):
        out, a = [], fields
        while True:
            name = self.mem.q(a)
            if not name:
                return out
            out.append(a)
            a += self.stride

    def size(self, desc, nested):
        """Bytes of a description's fields; struct descriptions met go to nested."""
        fields, _ = self.members(desc)
        total = 0
        for f in self.field_list(fields) if fields else []:
            m = self.mem
            at = self.layout
            size, num, info = m.q(f + at["size"]), m.i(f + at["num"]), m.q(f + at["info"])
            flags, vmsd = m.i(f + at["flags"]), m.q(f + at["vmsd"])
            fname = m.string(m.q(f))
            if flags & VARIABLE:
                raise Variable(fname)
            n = num if flags & VMS_ARRAY else 1
            info_name = m.string(m.q(info) or 0) if info else None
            if flags & VMS_STRUCT or info_name == "tmp":
                _, sub = self.members(vmsd)
                if sub and vmsd not in nested:
                    nested.append(vmsd)
                elem = self.size(vmsd, nested)
            else:
                elem = size
            total += n * elem
        return total

    def walk(self, desc, out):
        _, subs = self.members(desc)
        while subs and self.mem.q(subs):
            sub = self.mem.q(subs)
            nested = []
            try:
                size = str(self.size(sub, nested))
            except Variable as v:
                size = "var:%s" % v.field
            out.append((self.name(sub), self.name(desc), version_of(self.mem, sub), size))
            for s in nested:
                self.walk(s, out)
            self.walk(sub, out)
            subs += 8


    def describe(self, desc):
        """desc as QEMU's device description has it (plain fields only)."""
        m, at = self.mem, self.layout
        fields = []
        f_arr, subs = self.members(desc)
        for f in self.field_list(f_arr) if f_arr else []:
            flags = m.i(f + at["flags"])
            if flags & (VMS_STRUCT | VARIABLE | VMS_POINTER):
                raise SystemExit("%s: only plain fields are described here" % self.name(desc))
            field = {"name": m.string(m.q(f))}
            if flags & VMS_ARRAY:
                field["array_len"] = m.i(f + at["num"])
            field["type"] = m.string(m.q(m.q(f + at["info"])))
            field["size"] = m.q(f + at["size"])
            fields.append(field)
        out = {"vmsd_name": self.name(desc), "version": version_of(m, desc), "fields": fields}
        nested = []
        while subs and m.q(subs):
            nested.append(self.describe(m.q(subs)))
            subs += 8
        if nested:
            out["subsections"] = nested
        return out

    def find_sub(self, desc, name):
        _, subs = self.members(desc)
        while subs and self.mem.q(subs):
            sub = self.mem.q(subs)
            if self.name(sub) == name:
                return sub
            found = self.find_sub(sub, name)
            if found:
                return found
            subs += 8
        return None


class Variable(Exception):
    def __init__(self, field):
        super().__init__(field)
        self.field = field


def find_cpu(mem, walker):
    """The VMStateDescription named "cpu": the one whose .subsections list
    starts with cpu/exception_info's (first in that list since 2.12)."""
    for s in mem.find(b"cpu/exception_info\0"):
        for desc in mem.find(struct.pack("<Q", s)):
            for subs in mem.find(struct.pack("<Q", desc)):
                for cpu in mem.find(struct.pack("<Q", subs)):
                    cpu -= cpu % 8
                    for start in range(cpu - 256, cpu, 8):
                        if walker.name(start) == "cpu":
                            return start
    raise SystemExit("no vmstate named cpu with cpu/ subsections")


def version_of(mem, desc):
    """.version_id: the first int after the name pointer and the two bools
    (unmigratable, early_setup), at 12 in every layout since 7.2."""
    return mem.i(desc + 12)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pid", type=int)
    ap.add_argument("--source", default="binary")
    ap.add_argument("--vmdesc", help="comma-separated subsection names")
    opts = ap.parse_args()
    mem = Memory(opts.pid)
    w = Walker(mem)
    cpu = find_cpu(mem, w)
    fields, _ = w.members(cpu)
    w.stride = w.measure_stride(fields)
    if w.stride not in LAYOUTS:
        raise SystemExit("VMStateField stride %d: a layout this script does not know" % w.stride)
    w.layout = LAYOUTS[w.stride]
    if opts.vmdesc:
        for name in opts.vmdesc.split(","):
            sub = w.find_sub(cpu, name)
            if not sub:
                raise SystemExit("no subsection %s" % name)
            print(json.dumps(w.describe(sub)))
        return 0
    print("# main fields of cpu version %d: %d bytes (VMStateField stride %d)"
          % (version_of(mem, cpu), w.size(cpu, []), w.stride))
    rows = []
    w.walk(cpu, rows)
    for name, parent, version, size in rows:
        print("%s\t%s\t%d\t%s\t%s" % (name, parent, version, size, opts.source))
    return 0


if __name__ == "__main__":
    sys.exit(main())
