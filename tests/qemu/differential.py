#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""differential.py: file mode and the stream filter must give one verdict.

    differential.py FREDCK corpus MANIFEST
    differential.py FREDCK flips COUNT SEED STREAM...

For each input, `fredck -j repair IN -o OUT` (file mode) and
`fredck -j repair - -o - <IN >OUT` (the filter) run; they must agree on
the exit status, and on every vCPU (index, at risk, finding codes, repair
action and reason, rebuilt event data).  Whenever the filter fails (exit
status with bit 8) its output must not be a complete stream (complete(),
below), so that the destination's load fails; whenever it succeeds its
output must be complete and, where file mode wrote a copy, the same bytes.

corpus: every qemu and libvirt case of a tests/malformed/mkcorpus.sh
manifest.  flips: COUNT single-bit flips (seeded, so a failure can be
replayed), spread over the STREAMs, each in the stream's device, cpu and
description region (from the first FULL section after the RAM to the
end); a stream without description is repaired with --force every other
time, so that the scan's edits are compared too.

Prints one line per disagreement, then a summary line; exits 1 on any.
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile


def complete(data):
    """A complete stream ends with the end-of-file marker (00) right after
    a section footer (7e, be32 section id) and then, when it has one, the
    description record (06, be32 length, JSON to the very end)."""
    end = len(data)
    k = data.rfind(b"\x06", 0, end - 5)
    while k >= 0:
        n = int.from_bytes(data[k + 1:k + 5], "big")
        if n == end - k - 5 and data[k + 5:k + 6] == b"{":
            try:
                json.loads(data[k + 5:].decode("utf-8"))
                end = k
                break
            except ValueError:
                pass
        k = data.rfind(b"\x06", 0, k)
    return end >= 6 and data[end - 1] == 0 and data[end - 6] == 0x7E


def report_of(text):
    """The JSON document among fredck's lines (the filter's goes to stderr)."""
    for line in text.splitlines():
        if line.startswith('{"schema_version"'):
            return json.loads(line)["inputs"][0]
    return None


def verdict(rep):
    """What must agree: per vCPU, in index order."""
    if rep is None:
        return None
    out = []
    for v in rep.get("vcpus", []):
        r = v.get("repair", {})
        ed = v.get("event_data") or {}
        out.append((v["index"], v["at_risk"], tuple(f["code"] for f in v["findings"]),
                    r.get("action"), r.get("reason"), ed.get("value")))
    return out


def run_both(fredck, path, scratch, extra):
    fout = os.path.join(scratch, "file.out")
    pout = os.path.join(scratch, "filter.out")
    for p in (fout, pout):
        if os.path.exists(p):
            os.unlink(p)
    f = subprocess.run([fredck, "-j", "repair", *extra, path, "-o", fout],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    with open(path, "rb") as src, open(pout, "wb") as dst:
        p = subprocess.run([fredck, "-j", "repair", *extra, "-", "-o", "-"], stdin=src,
                           stdout=dst, stderr=subprocess.PIPE, timeout=120)
    fdata = open(fout, "rb").read() if os.path.exists(fout) else None
    pdata = open(pout, "rb").read()
    return (f.returncode, report_of(f.stdout.decode("utf-8", "replace")), fdata,
            p.returncode, report_of(p.stderr.decode("utf-8", "replace")), pdata)


def compare(fredck, path, scratch, extra, label):
    frc, frep, fdata, prc, prep, pdata = run_both(fredck, path, scratch, extra)
    problems = []
    if frc != prc:
        problems.append("exit %d in file mode, %d through the filter" % (frc, prc))
    if verdict(frep) != verdict(prep):
        problems.append("vCPUs differ: file %s, filter %s" % (verdict(frep), verdict(prep)))
    if prc & 8 and complete(pdata):
        problems.append("the filter failed (exit %d) but its output is complete" % prc)
    if not prc & 8 and not complete(pdata):
        problems.append("the filter succeeded (exit %d) with an incomplete output" % prc)
    if not prc & 8 and fdata is not None and fdata != pdata:
        problems.append("file mode and the filter wrote different bytes")
    for p in problems:
        print("DISAGREE %s: %s" % (label, p))
    return frc, bool(problems)


def device_region(data):
    """From the first FULL section after the RAM's last end-of-section."""
    m = re.search(rb"\x00{7}\x10\x7e\x00\x00\x00[\x00-\xff]\x04", data)
    if not m:
        sys.exit("differential.py: no device section after the RAM")
    return m.end() - 1


def run_corpus(fredck, manifest, scratch):
    cases = bad = 0
    statuses = {}
    base = os.path.dirname(manifest)
    for line in open(manifest):
        fmt, name, path = line.rstrip("\n").split("\t")[:3]
        if fmt not in ("qemu", "libvirt"):
            continue
        if not os.path.isabs(path):
            path = os.path.join(base, path)
        rc, failed = compare(fredck, path, scratch, [], "%s/%s" % (fmt, name))
        statuses[rc] = statuses.get(rc, 0) + 1
        cases += 1
        bad += failed
    return cases, bad, statuses


def run_flips(fredck, count, seed, streams, scratch):
    rng = random.Random(seed)
    srcs = [(s, open(s, "rb").read()) for s in streams]
    statuses = {}
    bad = 0
    path = os.path.join(scratch, "flip.bin")
    for i in range(count):
        name, data = srcs[i % len(srcs)]
        start = device_region(data)
        off = rng.randrange(start, len(data))
        bit = rng.randrange(8)
        buf = bytearray(data)
        buf[off] ^= 1 << bit
        with open(path, "wb") as out:
            out.write(buf)
        # No description (the stream does not end with its JSON): --force every other time.
        extra = ["--force"] if not data.endswith(b"}") and (i // len(srcs)) % 2 else []
        label = "%s byte %d bit %d%s" % (os.path.basename(name), off, bit,
                                         " --force" if extra else "")
        rc, failed = compare(fredck, path, scratch, extra, label)
        statuses[rc] = statuses.get(rc, 0) + 1
        bad += failed
    return count, bad, statuses


def main():
    fredck, mode = sys.argv[1], sys.argv[2]
    # Memory, where there is some: file mode fsyncs what it writes.
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=shm) as scratch:
        if mode == "corpus":
            n, bad, st = run_corpus(fredck, sys.argv[3], scratch)
        elif mode == "flips":
            n, bad, st = run_flips(fredck, int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:],
                                   scratch)
        else:
            sys.exit(__doc__)
    print("%s: %d inputs, %d disagreements; exit statuses %s" %
          (mode, n, bad, ", ".join("%d: %d" % kv for kv in sorted(st.items()))))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
