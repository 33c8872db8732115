#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""derive-subsections.py --- the subsections of QEMU's x86 `cpu` vmstate,
read from QEMU's own target/i386/machine.c, with the byte size each one has
in a migration stream.

    derive-subsections.py [--source LABEL] [--define NAME=VALUE...] MACHINE_C

MACHINE_C is target/i386/machine.c inside an unpacked QEMU source tree
(`apt-get source qemu`): the constants of array lengths (CPU_NB_REGS,
MAX_GP_COUNTERS, KVM_STATE_NESTED_VMX_VMCS_SIZE, XEN_NR_VIRQS...) are read
from that tree's headers; --define gives or overrides one.  The build it
models is qemu-system-x86_64 with KVM: TARGET_X86_64 and CONFIG_KVM
defined, so "#ifndef TARGET_X86_64" subsections (cpu/efer32) are left out
as that binary leaves them out.

Prints one line per subsection, depth first in the order QEMU writes them
(vmstate_subsection_save walks each .subsections list in order):

    NAME <TAB> PARENT <TAB> VERSION <TAB> SIZE <TAB> SOURCE:LINE

PARENT is the vmstate whose subsection it is: `cpu`, another subsection,
or a struct's vmstate reached through a field (cpu/kvm_nested_state, the
struct behind cpu/nested_state's pointer: its subsections come inside
cpu/nested_state's body, after its fields).  SIZE is the bytes of the
subsection's own fields (subsection header and nested subsections not
counted); "var:FIELD" where a field's length is read from the state.

Written for the macros machine.c uses (tests/qemu/README.md says how to run
it); an unknown VMSTATE_ macro is an error, never a guess.
"""
import argparse
import os
import re
import sys

# Bytes of one element of each scalar VMSTATE_ type (include/migration/vmstate.h;
# UINTTL is 64-bit on qemu-system-x86_64).
SCALAR = {
    "BOOL": 1, "INT8": 1, "UINT8": 1, "U8": 1,
    "INT16": 2, "UINT16": 2, "U16": 2,
    "INT32": 4, "UINT32": 4, "U32": 4,
    "INT64": 8, "UINT64": 8, "U64": 8, "UINTTL": 8,
}

DEFINED = {"TARGET_X86_64", "CONFIG_KVM"}


def strip_comments(text):
    """Comments out, line numbers kept (a comment's newlines stay)."""
    def keep_newlines(m):
        return "\n" * m.group(0).count("\n")
    text = re.sub(r"/\*.*?\*/", keep_newlines, text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def eval_condition(expr):
    """An #if expression over defined() of the names of DEFINED."""
    expr = re.sub(r"defined\s*\(?\s*(\w+)\s*\)?",
                  lambda m: "1" if m.group(1) in DEFINED else "0", expr)
    expr = expr.replace("&&", " and ").replace("||", " or ")
    expr = re.sub(r"!(?!=)", " not ", expr)
    expr = re.sub(r"\b[A-Za-z_]\w*\b",
                  lambda m: m.group(0) if m.group(0) in ("and", "or", "not") else "0", expr)
    return bool(eval(expr, {"__builtins__": {}}))


def preprocess(text):
    """Lines inside a false #if become empty; directives themselves too."""
    out, stack = [], []  # stack of (this branch active, some branch taken)
    for line in text.split("\n"):
        d = re.match(r"\s*#\s*(ifdef|ifndef|if|elif|else|endif)\b(.*)", line)
        active = all(a for a, _ in stack)
        if not d:
            out.append(line if active else "")
            continue
        kind, arg = d.group(1), d.group(2).strip()
        if kind in ("ifdef", "ifndef", "if"):
            if kind == "ifdef":
                c = arg in DEFINED
            elif kind == "ifndef":
                c = arg not in DEFINED
            else:
                c = eval_condition(arg)
            stack.append((c, c))
        elif kind == "elif":
            taken = stack[-1][1]
            c = not taken and eval_condition(arg)
            stack[-1] = (c, taken or c)
        elif kind == "else":
            stack[-1] = (not stack[-1][1], True)
        else:
            stack.pop()
        out.append("")
    return "\n".join(out)


def matching(text, i, open_ch, close_ch):
    """Index just past the bracket that closes the one at text[i]."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == open_ch:
            depth += 1
        elif text[j] == close_ch:
            depth -= 1
            if depth == 0:
                return j + 1
    raise ValueError("unbalanced %s at offset %d" % (open_ch, i))


def split_args(s):
    """Top-level comma-separated arguments of a macro call."""
    args, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        args.append(cur.strip())
    return args


def local_macros(raw):
    """machine.c's own function-like #defines (VMSTATE_BND_REGS...)."""
    macros = {}
    joined = raw.replace("\\\n", " ")
    for m in re.finditer(r"^\s*#\s*define\s+(\w+)\(([^)]*)\)\s*(.*)$", joined, re.M):
        params = [p.strip() for p in m.group(2).split(",") if p.strip()]
        macros[m.group(1)] = (params, m.group(3).strip())
    return macros


class Constants:
    """Integer constants: --define, then the headers of the source tree."""

    def __init__(self, machine_c, defines):
        self.values = dict(defines)
        root = os.path.abspath(os.path.join(os.path.dirname(machine_c), "..", ".."))
        self.headers = []
        for sub in ("target/i386", "include", "linux-headers/asm-x86", "linux-headers/linux"):
            d = os.path.join(root, sub)
            for dirpath, _, files in os.walk(d):
                self.headers += [os.path.join(dirpath, f) for f in files if f.endswith(".h")]

    def get(self, name):
        if name not in self.values:
            self.values[name] = self.lookup(name)
        return self.values[name]

    def lookup(self, name):
        pat = re.compile(r"^\s*#\s*define\s+%s\s+(.+?)\s*$" % re.escape(name), re.M)
        for h in sorted(self.headers):
            with open(h, errors="replace") as f:
                m = pat.search(strip_comments(f.read()))
            if m:
                return self.eval(m.group(1))
        raise KeyError("constant %s: not in the source tree's headers; give --define" % name)

    def eval(self, expr):
        expr = re.sub(r"\b(0x[0-9a-fA-F]+|\d+)[uUlL]*\b", r"\1", expr)
        expr = re.sub(r"\b[A-Za-z_]\w*\b", lambda m: str(self.get(m.group(0))), expr)
        return int(eval(expr, {"__builtins__": {}}))


class Machine:
    def __init__(self, path, defines):
        with open(path) as f:
            raw = f.read()
        self.macros = local_macros(raw)
        self.text = preprocess(strip_comments(raw))
        self.consts = Constants(path, defines)
        self.vmsds = self.descriptions()

    def line_of(self, offset):
        return self.text.count("\n", 0, offset) + 1

    def descriptions(self):
        """Every VMStateDescription of the file, by C identifier."""
        found = {}
        for m in re.finditer(r"VMStateDescription\s+(\w+)\s*=\s*\{", self.text):
            end = matching(self.text, m.end() - 1, "{", "}")
            body = self.text[m.end():end - 1]
            d = {"line": self.line_of(m.start()), "fields": [], "subsections": []}
            name = re.search(r"\.name\s*=\s*\"([^\"]*)\"", body)
            d["name"] = name.group(1) if name else m.group(1)
            ver = re.search(r"\.version_id\s*=\s*(\w+)", body)
            d["version"] = int(ver.group(1)) if ver else 0
            f = re.search(r"\.fields\s*=\s*\([^)]*\)\s*\{", body)
            if f:
                fend = matching(body, f.end() - 1, "{", "}")
                d["fields"] = self.field_calls(body[f.end():fend - 1])
            s = re.search(r"\.subsections\s*=\s*\([^)]*\)\s*\{", body)
            if s:
                send = matching(body, s.end() - 1, "{", "}")
                d["subsections"] = re.findall(r"&\s*(\w+)", body[s.end():send - 1])
            found[m.group(1)] = d
        return found

    @staticmethod
    def field_calls(fields):
        """The field entries: `MACRO(args)` calls or `{ ... }` literals."""
        calls, i = [], 0
        while i < len(fields):
            m = re.compile(r"\s*(\w+)\s*\(|\s*\{").match(fields, i)
            if not m:
                i += 1
                continue
            if m.group(0).strip() == "{":
                end = matching(fields, m.end() - 1, "{", "}")
                calls.append(("{", fields[m.end():end - 1]))
            else:
                end = matching(fields, m.end() - 1, "(", ")")
                calls.append((m.group(1), fields[m.end():end - 1]))
            i = end
        return [c for c in calls if c[0] != "VMSTATE_END_OF_LIST"]

    def expand(self, name, args):
        """One level of a machine.c macro: the call it stands for."""
        params, body = self.macros[name]
        for p, a in zip(params, split_args(args)):
            body = re.sub(r"\b%s\b" % re.escape(p), a, body)
        m = re.match(r"(\w+)\s*\((.*)\)\s*$", body, re.S)
        if m:
            return m.group(1), m.group(2)
        return "{", body.strip().lstrip("{").rstrip("}")

    def vmsd_size(self, ident, nested):
        """Bytes of a vmstate's fields; nested collects struct vmstates met."""
        return sum(self.field_size(c, a, nested) for c, a in self.vmsds[ident]["fields"])

    def field_size(self, macro, args, nested):
        if macro in self.macros:
            return self.field_size(*self.expand(macro, args), nested)
        a = split_args(args)
        if macro == "{":  # a literal VMStateField: a struct (VMSTATE_SEGMENT)
            vmsd = re.search(r"\.vmsd\s*=\s*&\s*(\w+)", args)
            if not vmsd:
                raise ValueError("field literal without .vmsd: %s" % args)
            return self.vmsd_size(vmsd.group(1), nested)
        m = re.match(r"VMSTATE_(\w+?)(_V|_SUB_ARRAY|_ARRAY|_2DARRAY)?$", macro)
        if m and m.group(1) in SCALAR:
            elem, kind = SCALAR[m.group(1)], m.group(2) or ""
            if kind in ("", "_V"):
                return elem
            if kind == "_ARRAY":
                return elem * self.consts.eval(a[2])
            if kind == "_SUB_ARRAY":
                return elem * self.consts.eval(a[3])
            return elem * self.consts.eval(a[2]) * self.consts.eval(a[3])
        if macro == "VMSTATE_STRUCT_ARRAY":  # field, state, n, version, vmsd, type
            return self.consts.eval(a[2]) * self.vmsd_size(a[4], nested)
        if macro == "VMSTATE_STRUCT_SUB_ARRAY":  # field, state, start, num, version, vmsd, type
            return self.consts.eval(a[3]) * self.vmsd_size(a[5], nested)
        if macro == "VMSTATE_STRUCT_POINTER":  # field, state, vmsd, type
            nested.append(a[2])
            return self.vmsd_size(a[2], nested)
        if macro == "VMSTATE_WITH_TMP":  # state, tmp type, vmsd
            return self.vmsd_size(a[2], nested)
        if "VARRAY" in macro or "VBUFFER" in macro:
            raise VariableSize(a[0])
        raise ValueError("unknown field macro %s(%s)" % (macro, args))

    def walk(self, ident, parent, out):
        """ident's subsections, depth first, in the order QEMU writes them."""
        for sub in self.vmsds[ident]["subsections"]:
            d, nested = self.vmsds[sub], []
            try:
                size = str(self.vmsd_size(sub, nested))
            except VariableSize as v:
                size = "var:%s" % v.field
            out.append((d["name"], self.vmsds[parent]["name"] if parent else "cpu",
                        d["version"], size, d["line"]))
            for struct in nested:  # the struct's subsections sit inside this body
                self.walk(struct, struct, out)
            self.walk(sub, sub, out)


class VariableSize(Exception):
    def __init__(self, field):
        super().__init__(field)
        self.field = field


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("machine_c")
    ap.add_argument("--source", help="what to name the source as (default: the path)")
    ap.add_argument("--define", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--main", action="store_true",
                    help="also print the size of the cpu vmstate's own fields")
    opts = ap.parse_args()
    defines = dict((d.split("=", 1)[0], int(d.split("=", 1)[1], 0)) for d in opts.define)
    mc = Machine(opts.machine_c, defines)
    cpu = next(k for k, d in mc.vmsds.items() if d["name"] == "cpu")
    rows = []
    mc.walk(cpu, None, rows)
    source = opts.source or opts.machine_c
    if opts.main:
        print("# main fields of cpu version %d: %d bytes"
              % (mc.vmsds[cpu]["version"], mc.vmsd_size(cpu, [])))
    for name, parent, version, size, line in rows:
        print("%s\t%s\t%d\t%s\t%s:%d" % (name, parent, version, size, source, line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
