#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""deps.py BUILDDIR SRCDIR: the layering rules of docs/design.md section 6,
checked on the objects the build made (which object calls or uses which,
from nm) and on the sources (which file knows KVM offsets).

Rules:
  1. Inside each folder of formats/ the objects form no circle: a reader
     core does not call its writer, nor a part its whole.
  2. formats/io/ and formats/kvm/ use no format's folder.
  3. A format's folder uses only itself, io/, kvm/ and the registry
     (format.o, fmt_error.o); reconstruct/ uses nothing of formats/.
     A container of another format's state uses that format's public
     reader too (CONTAINS): qcow2/ reads the QEMU streams inside a disk
     image through qemu/'s qemu_read.o and qemu_stream.o, and writes one
     out as a plain stream through qemu_write.o, nothing else.
  4. Only formats/kvm/ includes kvm_layout.h, and nothing outside it
     names an offset of a KVM structure (offsetof(struct kvm_...)).
Prints one line per breach and exits 1 if there is any."""
import os
import re
import subprocess
import sys

build, src = sys.argv[1], sys.argv[2]


def objects():
    """{object path: folder} for the members of libformats.a and
    libreconstruct.a.  An archive keeps only a member's base name, and an
    old build tree may hold stale objects of the same name elsewhere: the
    member is the file whose bytes are the archive's copy."""
    found = {}
    for lib in ("formats/libformats.a", "reconstruct/libreconstruct.a"):
        archive = os.path.join(build, lib)
        top = os.path.dirname(archive)
        if not os.path.exists(archive):
            # A tree of bare objects (the checker's own test): take them all.
            for root, _, files in os.walk(top):
                for f in files:
                    if f.endswith(".o"):
                        found[os.path.join(root, f)] = os.path.relpath(root, build)
            continue
        members = subprocess.run(["ar", "t", archive], check=True, capture_output=True,
                                 text=True).stdout.split()
        for m in members:
            body = subprocess.run(["ar", "p", archive, m], check=True, capture_output=True).stdout
            for root, _, files in os.walk(top):
                if m in files:
                    path = os.path.join(root, m)
                    with open(path, "rb") as fh:
                        if fh.read() == body:
                            found[path] = os.path.relpath(root, build)
                            break
    return found


def symbols(obj, defined):
    args = ["nm", "-g", "--defined-only" if defined else "--undefined-only", obj]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


objs = objects()
if not objs:
    sys.exit(f"deps.py: no objects under {build}/formats: build first")
owner = {}
for o in objs:
    for s in symbols(o, True):
        owner[s] = o
uses = {o: {owner[s] for s in symbols(o, False) if s in owner and owner[s] != o} for o in objs}
name = {o: os.path.relpath(o, build).replace("libformats_a-", "").replace("libreconstruct_a-", "")
        for o in objs}
breaches = []

# Rule 1: no circle inside a folder (depth-first search for a back edge).
for folder in sorted(set(objs.values())):
    inside = [o for o in objs if objs[o] == folder]
    state = {}

    def visit(o, path):
        state[o] = 1
        for u in sorted(uses[o]):
            if objs[u] != folder:
                continue
            if state.get(u) == 1:
                cycle = path[path.index(u):] + [u]
                breaches.append("circle in %s: %s" % (folder, " -> ".join(name[c] for c in cycle)))
            elif u not in state:
                visit(u, path + [u])
        state[o] = 2

    for o in sorted(inside):
        if o not in state:
            visit(o, [o])

# Rules 2 and 3: who may use whom.
REGISTRY = {"formats"}          # format.o, fmt_error.o
# folder: the objects of other format folders it may use (their public reader)
CONTAINS = {"formats/qcow2": {"formats/qemu/qemu_read.o", "formats/qemu/qemu_stream.o",
                               "formats/qemu/qemu_write.o", "formats/qemu/qemu_edit.o"}}
SHARED = {"formats/io", "formats/kvm"}
for o, used in uses.items():
    mine = objs[o]
    for u in sorted(used):
        theirs = objs[u]
        if theirs == mine:
            continue
        if mine == "reconstruct" and theirs != "reconstruct":
            ok = False
        elif mine in SHARED:
            ok = theirs in SHARED | {"reconstruct"} or name[u].endswith("fmt_error.o")
        elif mine == "formats":
            ok = True           # the registry knows every format
        else:
            ok = theirs in SHARED | REGISTRY | {"reconstruct"} or \
                name[u] in CONTAINS.get(mine, set())
        if not ok:
            breaches.append("%s uses %s" % (name[o], name[u]))

# Rule 4: KVM offsets in formats/kvm/ only.
for root, _, files in os.walk(os.path.join(src, "formats")):
    for f in files:
        if not f.endswith((".c", ".h")):
            continue
        path = os.path.join(root, f)
        rel = os.path.relpath(path, src)
        text = open(path, encoding="utf-8", errors="replace").read()
        if rel.startswith("formats/kvm/"):
            continue
        if "kvm_layout.h" in text:
            breaches.append("%s includes formats/kvm/kvm_layout.h" % rel)
        if re.search(r"offsetof\s*\(\s*struct\s+kvm_", text):
            breaches.append("%s names an offset of a KVM structure" % rel)

for b in breaches:
    print(b)
sys.exit(1 if breaches else 0)
