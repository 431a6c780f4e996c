#!/usr/bin/env python3
"""make cost's report: the plugins' marker logs -> summary.json.

The main boot (Debian 6.12) gives the top-level figures; the peer boot
(Debian sid's 7.x), with --peer, gives the peers' ism_vfio_pci_* and the
object same_kernel_7x: zpci_io's raw requests and the peers counted on
one kernel in one boot.  Fails (exit 1) when a boot's calibration is off
(two adjacent markers must be 1 instruction apart; the known loop exactly
2002), when a measured call has fewer than 101 samples or is missing, or
when a figure of same_kernel_7x is missing: a missing figure is an error
and null, never estimated.  Figures are medians of the samples
(instructions of the L1 guest, counted exactly by
tests/cost/insn_window.c).
"""
import argparse
import json
import statistics
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import hops  # noqa: E402

CAL = {"adjacent": (0x7a5a1001, 0x7a5a1002, 1), "loop2002": (0x7a5a1010, 0x7a5a1011, 2002)}
# zpci_cost.cpp's measurements: marker 0x7a5a1100 + k .. 0x7a5a1180 + k
# --phase emu (6.12 boot): libzpci's C API, and getppid
EMU_CALLS = {
    0: "emu_pcistg_8",
    1: "emu_pcilg_8",
    2: "emu_pcistb_128",
    3: "emu_pcistb_guest_4k",
    4: "getppid",
    5: "emu_pcistb_guest_4k_wide",
}
# --phase raw (both boots): zpci_io's requests and the ioctl floor
RAW_CALLS = {
    10: "raw_1op_4k",
    11: "batch_64k",
    12: "raw_pcistg_8",
    13: "feature_probe",
}
CALLS = {**EMU_CALLS, **RAW_CALLS}
# --peer (7.x boot): upstream's ism-vfio-pci and vfio-pci
PEER_CALLS = {
    6: "ism_vfio_pci_4k",
    7: "ism_vfio_pci_64k",
    8: "vfio_pci_pwrite_4",
    9: "vfio_pci_pwrite_8",
    14: "ism_vfio_pci_pwrite_0",
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


def calibrate(rows, where, bad):
    """The plugin's calibration (cost-selftest) in one boot's log."""
    cal = {}
    h = hops.hops(rows)
    for name, (x, y, want) in CAL.items():
        v = h.get((x, y), [])
        if len(v) < MIN_SAMPLES:
            bad.append("%s calibration %s: %d samples" % (where, name, len(v)))
            continue
        med = statistics.median(v)
        cal[name] = {"want": want, "median": med, "min": min(v), "n": len(v)}
        if med != want or min(v) != want:
            bad.append("%s calibration %s: median %g min %d, want %d" % (where, name, med, min(v), want))
    return cal


def measure(rows, table, where, bad):
    """{name: stats} of every call in table; a call with fewer than
    MIN_SAMPLES windows is an error (never a figure)."""
    calls = {}
    pairs = {name: (0x7a5a1100 + k, 0x7a5a1180 + k) for k, name in table.items()}
    for name, v in hops.windows(rows, pairs).items():
        if len(v) < MIN_SAMPLES:
            bad.append("%s %s: %d samples (want >= %d)" % (where, name, len(v), MIN_SAMPLES))
            continue
        q = statistics.quantiles(v, n=4)
        calls[name] = {"median": statistics.median(v), "min": min(v), "max": max(v),
                       "n": len(v), "iqr_pct": round(100.0 * (q[2] - q[0]) / statistics.median(v), 2)}
    return calls


def hops_of(rows, table):
    """Where the instructions of a call go: the markers of libzpci and
    zpci_io inside its window (built with ZPCI_COST_MARKERS)."""
    out = {}
    for k, name in table.items():
        bd, n = hops.breakdown(rows, 0x7a5a1100 + k, 0x7a5a1180 + k)
        if n >= MIN_SAMPLES and len(bd) > 1:
            out[name] = {"samples": n, "hops": [
                {"from": name_of(a), "to": name_of(b), "median": statistics.median(v)}
                for a, b, v in bd]}
    return out


def kernel_of(path, where, bad):
    """The guest kernel, from cost.sh's first line ("mode M, kernel K")."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("mode ") and ", kernel " in line:
                    return line.split(", kernel ", 1)[1].strip()
    except OSError as e:
        bad.append("%s: %s" % (where, e))
        return None
    bad.append("%s: no kernel line in %s" % (where, path))
    return None


def getppid_of(rows, where, bad):
    v = hops.windows(rows, {"getppid": (0x7a5a1020, 0x7a5a1021)})["getppid"]
    if len(v) < MIN_SAMPLES:
        bad.append("%s getppid (cost-selftest): %d samples" % (where, len(v)))
        return None
    return hops.stat(v)


def median_of(calls, name):
    c = calls.get(name)
    return c["median"] if c else None


def same_kernel(rows, text, bad):
    """zpci_io's requests and the peers in the one 7.x boot."""
    where = "peer boot"
    cal = calibrate(rows, where, bad)
    calls = measure(rows, {**RAW_CALLS, **PEER_CALLS}, where, bad)
    gp = getppid_of(rows, where, bad)
    sk = {
        "kernel": kernel_of(text, where, bad) if text else None,
        "calibration": cal,
        "calls": calls,
        "hops": hops_of(rows, RAW_CALLS),
        "getppid": gp["median"] if gp else None,
        "getppid_selftest": gp,
        "spread_pct": max((c["iqr_pct"] for c in calls.values()), default=None),
    }
    if not text:
        bad.append("%s: no cost.txt given (--peer-text): kernel unknown" % where)
    for name in list(RAW_CALLS.values()) + list(PEER_CALLS.values()):
        sk[name] = median_of(calls, name)
    if sk["raw_1op_4k"] and sk["ism_vfio_pci_4k"]:
        sk["raw_1op_4k_per_ism_vfio_pci_4k"] = round(sk["raw_1op_4k"] / sk["ism_vfio_pci_4k"], 3)
    if sk["batch_64k"] and sk["ism_vfio_pci_64k"]:
        sk["batch_64k_x3_per_ism_vfio_pci_64k"] = round(3 * sk["batch_64k"] / sk["ism_vfio_pci_64k"], 3)
    missing = sorted(k for k, v in sk.items() if v is None)
    if missing:
        bad.append("%s: figures missing: %s" % (where, ", ".join(missing)))
    return sk, calls


def print_calls(prefix, calls, hop_table, getppid=None):
    """One boot's calls, then where the instructions of each go."""
    for k, c in sorted(calls.items()):
        print("cost: %s%-*s median %7g  min %7d  max %7d  n %d  iqr %.2f%%" % (
            prefix, 22 - len(prefix), k, c["median"], c["min"], c["max"], c["n"], c["iqr_pct"]))
    if getppid is not None:
        print("cost: %sgetppid%s median %7s" % (prefix, " " * (15 - len(prefix)), getppid))
    for name, h in sorted(hop_table.items()):
        print("cost: %s%s, hop by hop (median of %d):" % (prefix, name, h["samples"]))
        for x in h["hops"]:
            print("cost:   %-20s -> %-20s %7g" % (x["from"], x["to"], x["median"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--text", help="cost.txt of the main boot (its kernel)")
    ap.add_argument("--peer", help="marker log of the peers' boot (7.x)")
    ap.add_argument("--peer-text", help="cost.txt of the peers' boot (its kernel)")
    ap.add_argument("--e2e", help="summary.json of the nested e2e run under icount")
    ap.add_argument("--stats", help="`zpci stats --json` after the C API calls")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rows = hops.load(a.log)
    bad = []
    cal = calibrate(rows, "main boot", bad)
    calls = measure(rows, CALLS, "main boot", bad)
    sk = None
    if a.peer:
        try:
            sk, peer_calls = same_kernel(hops.load(a.peer), a.peer_text, bad)
            # the peers' own calls, as before, next to the 6.12 ones
            calls.update({k: v for k, v in peer_calls.items() if k in PEER_CALLS.values()})
        except OSError as e:
            bad.append("peer marker log: %s" % e)
    summary = {
        "unit": "L1 guest instructions (TCG plugin count, exact)",
        "kernel": kernel_of(a.text, "main boot", bad) if a.text else None,
        "calibration": cal,
        "calls": calls,
        "hops": hops_of(rows, CALLS),
        "getppid_selftest": getppid_of(rows, "main boot", bad),
        # the names (the main boot's kernel, 6.12, except the
        # peers' ism_vfio_pci_*: 7.x); null = not measured by this run
        "emu_single_insn": median_of(calls, "emu_pcistg_8"),
        "raw_1op_4k": median_of(calls, "raw_1op_4k"),
        "ism_vfio_pci_4k": median_of(calls, "ism_vfio_pci_4k"),
        "batch_marginal_4k": None,
        "batch_64k": median_of(calls, "batch_64k"),
        "ism_vfio_pci_64k": median_of(calls, "ism_vfio_pci_64k"),
        "pinned_pages_single": None,
        "e2e_strict_insn_ratio": None,
        "e2e_wide_insn_ratio": None,
        "e2e_ratio_rounds": None,
        "e2e_ratio_with_clock_cost": None,
        # zpci_io and the peers on one kernel in one boot (7.x)
        "same_kernel_7x": sk,
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
            # the same rows with L2's clock reads left in every repetition
            summary["e2e_ratio_with_clock_cost"] = e.get("speedup_4k_raw")
    summary["not_measured"] = sorted(k for k, v in summary.items()
                                     if v is None and k not in ("getppid_selftest", "e2e_ratio_rounds",
                                                                "e2e_ratio_with_clock_cost"))
    if summary.get("pinned_pages_single") is not None and not summary.get("single_calls_counted"):
        bad.append("zpci stats counted no request of the C API calls")
    with open(a.out, "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    print("cost: main boot, kernel %s" % summary["kernel"])
    print_calls("", calls, summary["hops"])
    if sk:
        print("cost: same kernel, one boot: %s" % sk["kernel"])
        print_calls("7x ", sk["calls"], sk["hops"], sk["getppid"])
        for k in ("raw_1op_4k_per_ism_vfio_pci_4k", "batch_64k_x3_per_ism_vfio_pci_64k"):
            print("cost: 7x %s %s" % (k, sk.get(k)))
    for b in bad:
        print("cost: ERROR " + b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
