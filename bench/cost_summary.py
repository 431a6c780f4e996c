#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The cost figures of a guest benchmark run (zpci_vm_bench's cost/*).

usage: cost_summary.py BENCH_JSON [--write]

Reads the Google Benchmark JSON of tests/vm/guest/zpci_vm_bench.cpp and
prints the figures issue 18 names, per call:

  emu_single_insn     zpci_pcistb_guest() of 128 bytes through the C API on
                      the borrowed fd: what QEMU does per intercepted guest
                      PCISTB (the nested e2e forwards 128-byte PCISTBs);
                      the other one-instruction calls are in emu_calls
  raw_1op_4k          one prebuilt 1-op request (4 KiB PCISTB), bare ioctl
  batch_marginal_4k   (batch_256x4k - batch_1x4k) / 255: one more 4 KiB op
  batch_64k           one request of 16 x 4 KiB
  pinned_pages_single pages the driver pinned over the single-op loop
                      (netlink ZPCI_NL_S_PINNED_PAGES), must be 0
  floors              getppid, a PROBE of the feature, a SET refused at
                      argsz, a refused BAR pwrite, a 4-byte BAR pwrite

Under ZPCI_VM_ICOUNT=1 a benchmark's real_time is L0 guest instructions
(context.zpci_clock == "icount"); in wall mode the same figures are ns
and only relative.  --write adds them to BENCH_JSON's context as
"zpci_cost" and writes cost-summary.json beside it.
"""
import json
import pathlib
import sys


def per_call(bench):
    out = {}
    for b in bench.get("benchmarks", []):
        name = b.get("name", "")
        if not name.startswith("cost/") or b.get("run_type") == "aggregate":
            continue
        key = name.split("/")[1]
        out[key] = b
    return out


def summary(d):
    c = per_call(d)
    t = {k: round(v["real_time"]) for k, v in c.items() if "error_occurred" not in v}
    ctx = d.get("context", {})
    s = {
        "clock": ctx.get("zpci_clock", "unknown"),
        "unit": ctx.get("zpci_time_unit", "ns"),
        "guest_kernel": ctx.get("guest_kernel", ""),
    }

    def put(key, src):
        if src in t:
            s[key] = t[src]

    put("emu_single_insn", "capi_guest_128")
    s["emu_calls"] = {k: t[k] for k in sorted(t) if k.startswith("capi_")}
    put("raw_1op_4k", "raw_1op_4k")
    put("raw_1op_128", "raw_1op_128")
    put("raw_pcistg8", "raw_pcistg8")
    put("raw_pcilg8", "raw_pcilg8")
    if "batch_256x4k" in t and "batch_1x4k" in t:
        s["batch_marginal_4k"] = round((t["batch_256x4k"] - t["batch_1x4k"]) / 255)
    if "raw_256xpcistg8" in t and "raw_pcistg8" in t:
        s["batch_marginal_pcistg8"] = round((t["raw_256xpcistg8"] - t["raw_pcistg8"]) / 255)
    put("batch_64k", "batch_64k")
    put("batch_256x4k", "batch_256x4k")
    p = c.get("pinned_pages_single")
    if p is not None and "pinned_pages" in p:
        s["pinned_pages_single"] = int(p["pinned_pages"])
    s["floors"] = {k: t[k] for k in ("getppid", "feature_probe", "refused_argsz",
                                     "bar_pwrite_refused", "bar_pwrite4") if k in t}
    if "emu_single_insn" in s and "raw_1op_128" in t:
        s["library_share_128"] = s["emu_single_insn"] - t["raw_1op_128"]
    if "raw_1op_4k" in t and "feature_probe" in t:
        s["driver_share_4k"] = t["raw_1op_4k"] - t["feature_probe"]
    targets = {
        "emu_single_insn": ("<=", 1300),
        "batch_marginal_4k": ("<=", 200),
        "pinned_pages_single": ("==", 0),
    }
    met = {}
    for k, (op, v) in targets.items():
        if k in s:
            met[k] = s[k] <= v if op == "<=" else s[k] == v
    s["targets"] = {k: f"{op} {v}" for k, (op, v) in targets.items()}
    s["met"] = met
    return s


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = pathlib.Path(argv[1])
    d = json.loads(path.read_text())
    s = summary(d)
    if "--write" in argv[2:]:
        d.setdefault("context", {})["zpci_cost"] = s
        path.write_text(json.dumps(d, indent=1))
        (path.parent / "cost-summary.json").write_text(json.dumps(s, indent=1, sort_keys=True) + "\n")
    print(json.dumps(s, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
