#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Print a compact markdown table from zpci_bench's JSON output.

usage: bench/table.py BENCH.json [--metric throughput|insns|calls]
                      [--only REGEX]

One row per size, one column per benchmark family (dir/function/path).
Benchmarks that were skipped (e.g. the fallback path cannot write the ISM
DMB space) show "n/a" and their reason is listed under the table.
"""
import argparse
import json
import re
import signal
import sys


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:g} {unit}"
        n /= 1024
    return f"{n:g}"


def rate(bps):
    if bps >= 1e9:
        return f"{bps / 1e9:.2f} GB/s"
    if bps >= 1e6:
        return f"{bps / 1e6:.1f} MB/s"
    return f"{bps / 1e3:.1f} kB/s"


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"table.py: cannot read {path}: {e}")


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` is fine
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json")
    ap.add_argument("--metric", choices=("throughput", "insns", "calls"),
                    default="throughput")
    ap.add_argument("--only", metavar="REGEX",
                    help="only families matching REGEX, e.g. 'strict[+]sys'")
    args = ap.parse_args()
    try:
        only = re.compile(args.only) if args.only else None
    except re.error as e:
        sys.exit(f"table.py: bad --only: {e}")
    data = load(args.json)
    rows, cols, cells, errors = set(), [], {}, {}
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration":
            continue
        name = b.get("run_name", b["name"])
        family, _, size = name.rpartition("/")
        try:
            size = int(size)
        except ValueError:
            continue
        if only and not only.search(family):
            continue
        rows.add(size)
        if family not in cols:
            cols.append(family)
        if b.get("error_occurred"):
            cells[(family, size)] = "n/a"
            errors[family] = b.get("error_message", "skipped")
        elif args.metric == "throughput":
            cells[(family, size)] = rate(b.get("bytes_per_second", 0))
        else:
            v = b.get(args.metric)
            cells[(family, size)] = "?" if v is None else f"{v:g}"
    if not rows:
        sys.exit("table.py: no benchmarks in " + args.json)
    ctx = data.get("context", {})
    print(f"Backend: {ctx.get('zpci_backend', '?')}, host: {ctx.get('host_name', '?')}, "
          f"{ctx.get('num_cpus', '?')} CPUs, metric: {args.metric}")
    print()
    print("| size | " + " | ".join(cols) + " |")
    print("|---:|" + "---:|" * len(cols))
    for size in sorted(rows):
        print(f"| {human_bytes(size)} | " +
              " | ".join(cells.get((c, size), "") for c in cols) + " |")
    if errors:
        print()
        for fam, msg in errors.items():
            print(f"- {fam}: n/a: {msg}")


if __name__ == "__main__":
    main()
