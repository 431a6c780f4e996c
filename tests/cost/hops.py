#!/usr/bin/env python3
"""Turn insn_window.c's marker log into per-hop instruction counts.

Input lines: "<id hex> <instruction counter>", in execution order (one
vCPU).  A hop is a pair of consecutive markers (a -> b); its cost is the
counter difference.  For every hop seen, prints and stores the number of
samples, the median, min and max; and for every window (an id that
opens and one that closes it, with any markers between) the total.

Usage: hops.py LOG [--names names.json] [--json out.json]
"""
import argparse
import json
import statistics
import sys


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            mid, cnt = line.split()
            rows.append((int(mid, 16), int(cnt)))
    return rows


def hops(rows):
    out = {}
    for (a, ca), (b, cb) in zip(rows, rows[1:]):
        out.setdefault((a, b), []).append(cb - ca)
    return out


def windows(rows, pairs):
    """pairs: {name: (open_id, close_id)} -> {name: [totals]}"""
    res = {name: [] for name in pairs}
    for name, (o, c) in pairs.items():
        start = None
        for mid, cnt in rows:
            if mid == o:
                start = cnt
            elif mid == c and start is not None:
                res[name].append(cnt - start)
                start = None
    return res


def breakdown(rows, open_id, close_id):
    """The markers between open_id and close_id, hop by hop: a list of
    (from id, to id, [costs]) for the most common sequence of markers
    inside the window (samples with another sequence, e.g. an interrupt
    handler's, are left out), and how many samples had it."""
    seqs = {}
    cur = None
    for mid, cnt in rows:
        if mid == open_id:
            cur = [(mid, cnt)]
        elif cur is not None:
            cur.append((mid, cnt))
            if mid == close_id:
                key = tuple(m for m, _ in cur)
                seqs.setdefault(key, []).append([b - a for (_, a), (_, b) in zip(cur, cur[1:])])
                cur = None
    if not seqs:
        return [], 0
    key, samples = max(seqs.items(), key=lambda kv: len(kv[1]))
    out = []
    for i, (a, b) in enumerate(zip(key, key[1:])):
        out.append((a, b, [s[i] for s in samples]))
    return out, len(samples)


def stat(v):
    return {"n": len(v), "median": statistics.median(v), "min": min(v), "max": max(v)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--names", help="json {hex id: name}")
    ap.add_argument("--windows", help="json {name: [open hex id, close hex id]}")
    ap.add_argument("--json")
    a = ap.parse_args()
    rows = load(a.log)
    names = {}
    if a.names:
        names = {int(k, 16): v for k, v in json.load(open(a.names)).items()}
    nm = lambda i: names.get(i, "%06x" % i)
    res = {"hops": {}, "windows": {}}
    for (x, y), v in sorted(hops(rows).items(), key=lambda kv: -len(kv[1])):
        res["hops"]["%s -> %s" % (nm(x), nm(y))] = stat(v)
    if a.windows:
        pairs = {k: (int(v[0], 16), int(v[1], 16)) for k, v in json.load(open(a.windows)).items()}
        for k, v in windows(rows, pairs).items():
            if v:
                res["windows"][k] = stat(v)
    for k, s in res["hops"].items():
        print("hop %-50s n=%-5d median %-8g min %-8d max %d" % (k, s["n"], s["median"], s["min"], s["max"]))
    for k, s in res["windows"].items():
        print("window %-47s n=%-5d median %-8g min %-8d max %d" % (k, s["n"], s["median"], s["min"], s["max"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
