#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The dynamic symbols libzpci.so defines must be exactly the C API.

  check_exports.py --lib libzpci.so --header include/zpci/zpci.h \
                   --map libzpci/libzpci.map [--cc gcc] [--nm nm] [--soname libzpci.so.1]

Declared API: the non-static functions the compiler sees declared in
zpci.h itself (gcc -aux-info; static inline helpers and zpci_rules.h are
not exported).  Exported: `nm -D --defined-only`.  Checks: the two sets
are equal, every export is a function (T) bound to a version node of the
map, the only absolute symbols are the map's version nodes, the SONAME.
Prints the counts; exit 1 with the differences on failure.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile


def declared(cc, header):
    inc = os.path.dirname(os.path.dirname(os.path.abspath(header)))
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "api.c")
        aux = os.path.join(d, "api.aux")
        with open(src, "w") as f:
            f.write("#include <zpci/%s>\n" % os.path.basename(header))
        subprocess.run([cc, "-std=gnu11", "-I", inc, "-fsyntax-only",
                        "-aux-info", aux, src], check=True)
        names = set()
        hdr = os.path.realpath(header)
        for line in open(aux):
            m = re.match(r"/\* (.*):\d+:\w+ \*/ (.*)$", line)
            if not m or os.path.realpath(m.group(1)) != hdr:
                continue
            decl = m.group(2)
            if decl.startswith("static"):
                continue
            f = re.search(r"\b(\w+) \(", decl)
            if f:
                names.add(f.group(1))
        return names


def version_nodes(mapfile):
    text = re.sub(r"/\*.*?\*/", "", open(mapfile).read(), flags=re.S)
    return set(re.findall(r"^\s*([A-Za-z_][\w.]*)\s*\{", text, flags=re.M))


def exported(nm, lib):
    out = subprocess.run([nm, "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        kind, name = parts[1], parts[2]
        ver = None
        if "@" in name:
            name, ver = re.split(r"@@?", name, maxsplit=1)
        syms.append((kind, name, ver))
    return syms


def soname(lib):
    out = subprocess.run(["readelf", "-d", lib], check=True,
                         capture_output=True, text=True).stdout
    m = re.search(r"Library soname: \[(.*?)\]", out)
    return m.group(1) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--header", required=True)
    ap.add_argument("--map", required=True)
    ap.add_argument("--cc", default="gcc")
    ap.add_argument("--nm", default="nm")
    ap.add_argument("--soname")
    a = ap.parse_args()

    api = declared(a.cc, a.header)
    nodes = version_nodes(a.map)
    syms = exported(a.nm, a.lib)
    bad = []
    absolute = {n for k, n, _ in syms if k == "A"}
    funcs = {n for k, n, _ in syms if k != "A"}
    for k, n, v in syms:
        if k == "A":
            continue
        if k != "T":
            bad.append("%s exported as %s, not a function" % (n, k))
        if v not in nodes:
            bad.append("%s has version %s, not one of %s" % (n, v, sorted(nodes)))
    if absolute - nodes:
        bad.append("absolute symbols that are no version node: %s" % sorted(absolute - nodes))
    for n in sorted(funcs - api):
        bad.append("exported but not declared in %s: %s" % (os.path.basename(a.header), n))
    for n in sorted(api - funcs):
        bad.append("declared in %s but not exported: %s" % (os.path.basename(a.header), n))
    if not api:
        bad.append("no function found in the header (aux-info parse failed?)")
    so = soname(a.lib)
    if a.soname and so != a.soname:
        bad.append("SONAME %s, expected %s" % (so, a.soname))
    print("libzpci exports: %d dynamic symbols defined (%d functions, version nodes %s), "
          "%d functions declared in %s, SONAME %s"
          % (len(syms), len(funcs), sorted(absolute), len(api),
             os.path.basename(a.header), so))
    for b in bad:
        print("FAIL: " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
