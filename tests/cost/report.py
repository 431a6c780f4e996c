#!/usr/bin/env python3
"""make cost's report: the plugin's marker log -> summary.json.

Fails (exit 1) when the plugin's calibration is off (two adjacent markers
must be 1 instruction apart; the known loop exactly 2002), when a measured
call has fewer than 101 samples, or when an expected window is missing.
Figures are medians of the samples (instructions of the L1 guest,
counted exactly by tests/cost/insn_window.c).
"""
import argparse
import json
import statistics
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import hops  # noqa: E402

CAL = {"adjacent": (0x7a5a1001, 0x7a5a1002, 1), "loop2002": (0x7a5a1010, 0x7a5a1011, 2002)}
# zpci_cost.cpp's measurements: marker 0x7a5a1100 + k .. 0x7a5a1180 + k
CALLS = {
    0: "emu_pcistg_8",
    1: "emu_pcilg_8",
    2: "emu_pcistb_128",
    3: "emu_pcistb_guest_4k",
    4: "getppid",
    5: "emu_pcistb_guest_4k_wide",
}
MIN_SAMPLES = 101


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rows = hops.load(a.log)
    bad = []
    cal = {}
    h = hops.hops(rows)
    for name, (x, y, want) in CAL.items():
        v = h.get((x, y), [])
        if len(v) < MIN_SAMPLES:
            bad.append("calibration %s: %d samples" % (name, len(v)))
            continue
        med = statistics.median(v)
        cal[name] = {"want": want, "median": med, "min": min(v), "n": len(v)}
        if med != want or min(v) != want:
            bad.append("calibration %s: median %g min %d, want %d" % (name, med, min(v), want))
    sc = hops.windows(rows, {"getppid": (0x7a5a1020, 0x7a5a1021)})
    calls = {}
    pairs = {name: (0x7a5a1100 + k, 0x7a5a1180 + k) for k, name in CALLS.items()}
    for name, v in hops.windows(rows, pairs).items():
        if len(v) < MIN_SAMPLES:
            bad.append("%s: %d samples (want >= %d)" % (name, len(v), MIN_SAMPLES))
            continue
        q = statistics.quantiles(v, n=4)
        calls[name] = {"median": statistics.median(v), "min": min(v), "max": max(v),
                       "n": len(v), "iqr_pct": round(100.0 * (q[2] - q[0]) / statistics.median(v), 2)}
    summary = {
        "unit": "L1 guest instructions (TCG plugin count, exact)",
        "calibration": cal,
        "calls": calls,
        "getppid_selftest": hops.stat(sc["getppid"]) if sc["getppid"] else None,
        # the names; null = not measured by this run
        "emu_single_insn": calls.get("emu_pcistg_8", {}).get("median"),
        "raw_1op_4k": None,
        "ism_vfio_pci_4k": None,
        "batch_marginal_4k": None,
        "batch_64k": None,
        "ism_vfio_pci_64k": None,
        "pinned_pages_single": None,
        "e2e_strict_insn_ratio": None,
        "e2e_wide_insn_ratio": None,
        "spread_pct": max((c["iqr_pct"] for c in calls.values()), default=None),
        "not_measured": ["raw_1op_4k", "ism_vfio_pci_4k", "batch_marginal_4k", "batch_64k",
                         "ism_vfio_pci_64k", "pinned_pages_single", "e2e_strict_insn_ratio",
                         "e2e_wide_insn_ratio"],
        "errors": bad,
    }
    with open(a.out, "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    for k, c in sorted(calls.items()):
        print("cost: %-22s median %7g  min %7d  max %7d  n %d  iqr %.2f%%" % (k, c["median"], c["min"], c["max"], c["n"], c["iqr_pct"]))
    for b in bad:
        print("cost: ERROR " + b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
