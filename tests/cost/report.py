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
    10: "raw_1op_4k",
    11: "batch_64k",
    12: "raw_pcistg_8",
}
# calls that only exist from ABI 3 on (the device feature)
OPTIONAL = {"raw_1op_4k", "batch_64k", "raw_pcistg_8"}
# zpci_cost.cpp --peer (7.x kernel)
PEER_CALLS = {
    6: "ism_vfio_pci_4k",
    7: "ism_vfio_pci_64k",
    8: "vfio_pci_pwrite_4",
    9: "vfio_pci_pwrite_8",
}
MIN_SAMPLES = 101
NAMES = {
    0x7a5a2001: "lib: ioctl", 0x7a5a2002: "lib: ioctl returned",
    0x7a5a2010: "lib: pcistb_guest", 0x7a5a2011: "lib: source read",
    0x7a5a2012: "lib: source done",
    0x7a5a3001: "kmod: entry", 0x7a5a3002: "kmod: copied in",
    0x7a5a3003: "kmod: checked", 0x7a5a3004: "kmod: insn", 0x7a5a3005: "kmod: insn done",
    0x7a5a3006: "kmod: ran", 0x7a5a3007: "kmod: exit",
}


def name_of(mid):
    if 0x7a5a1100 <= mid < 0x7a5a1180:
        return "call start"
    if 0x7a5a1180 <= mid < 0x7a5a1200:
        return "call end"
    return NAMES.get(mid, "%08x" % mid)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--peer", help="marker log of the peers' boot")
    ap.add_argument("--e2e", help="summary.json of the nested e2e run under icount")
    ap.add_argument("--stats", help="`zpci stats --json` after the C API calls")
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

    def measure(rows, table):
        pairs = {name: (0x7a5a1100 + k, 0x7a5a1180 + k) for k, name in table.items()}
        for name, v in hops.windows(rows, pairs).items():
            if not v and name in OPTIONAL:
                continue
            if len(v) < MIN_SAMPLES:
                bad.append("%s: %d samples (want >= %d)" % (name, len(v), MIN_SAMPLES))
                continue
            q = statistics.quantiles(v, n=4)
            calls[name] = {"median": statistics.median(v), "min": min(v), "max": max(v),
                           "n": len(v), "iqr_pct": round(100.0 * (q[2] - q[0]) / statistics.median(v), 2)}

    measure(rows, CALLS)
    # where the instructions of a call go: the markers of libzpci and
    # zpci_io inside its window (built with ZPCI_COST_MARKERS)
    hops_of = {}
    for k, name in CALLS.items():
        bd, n = hops.breakdown(rows, 0x7a5a1100 + k, 0x7a5a1180 + k)
        if n >= MIN_SAMPLES and len(bd) > 1:
            hops_of[name] = {"samples": n, "hops": [
                {"from": name_of(a), "to": name_of(b), "median": statistics.median(v)}
                for a, b, v in bd]}
    if a.peer:
        try:
            measure(hops.load(a.peer), PEER_CALLS)
        except OSError as e:
            bad.append("peer marker log: %s" % e)
    summary = {
        "unit": "L1 guest instructions (TCG plugin count, exact)",
        "calibration": cal,
        "calls": calls,
        "hops": hops_of,
        "getppid_selftest": hops.stat(sc["getppid"]) if sc["getppid"] else None,
        # the names; null = not measured by this run
        "emu_single_insn": calls.get("emu_pcistg_8", {}).get("median"),
        "raw_1op_4k": calls.get("raw_1op_4k", {}).get("median"),
        "ism_vfio_pci_4k": calls.get("ism_vfio_pci_4k", {}).get("median"),
        "batch_marginal_4k": None,
        "batch_64k": calls.get("batch_64k", {}).get("median"),
        "ism_vfio_pci_64k": calls.get("ism_vfio_pci_64k", {}).get("median"),
        "pinned_pages_single": None,
        "e2e_strict_insn_ratio": None,
        "e2e_wide_insn_ratio": None,
        "e2e_ratio_rounds": None,
        "spread_pct": max((c["iqr_pct"] for c in calls.values()), default=None),
        "not_measured": [],
        "errors": bad,
    }
    if "raw_1op_4k" in calls and "batch_64k" in calls:
        # 16 ops against 1: what each further 4 KiB op of a request costs
        summary["batch_marginal_4k"] = round(
            (calls["batch_64k"]["median"] - calls["raw_1op_4k"]["median"]) / 15, 1)
    if a.stats:
        try:
            st = json.load(open(a.stats))
            funcs = st if isinstance(st, list) else st.get("functions", [])
            summary["pinned_pages_single"] = sum(
                (f.get("stats") or {}).get("pinned_pages", 0) for f in funcs)
            summary["single_calls_counted"] = sum(
                (f.get("stats") or {}).get("batches", 0) for f in funcs)
        except (OSError, ValueError) as e:
            bad.append("stats: %s" % e)
    if a.e2e:
        e = json.load(open(a.e2e))
        if e.get("clock") != "icount":
            bad.append("e2e summary was not measured under icount (clock %r)" % e.get("clock"))
        else:
            sp = e.get("speedup_4k") or {}
            summary["e2e_strict_insn_ratio"] = sp.get("strict")
            summary["e2e_wide_insn_ratio"] = sp.get("wide")
            summary["e2e_ratio_rounds"] = e.get("speedup_4k_rounds")
    summary["not_measured"] = sorted(k for k, v in summary.items()
                                     if v is None and k not in ("getppid_selftest", "e2e_ratio_rounds"))
    if summary.get("pinned_pages_single") is not None and not summary.get("single_calls_counted"):
        bad.append("zpci stats counted no request of the C API calls")
    with open(a.out, "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    for k, c in sorted(calls.items()):
        print("cost: %-22s median %7g  min %7d  max %7d  n %d  iqr %.2f%%" % (k, c["median"], c["min"], c["max"], c["n"], c["iqr_pct"]))
    for name, h in sorted(hops_of.items()):
        print("cost: %s, hop by hop (median of %d):" % (name, h["samples"]))
        for x in h["hops"]:
            print("cost:   %-20s -> %-20s %7g" % (x["from"], x["to"], x["median"]))
    for b in bad:
        print("cost: ERROR " + b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
