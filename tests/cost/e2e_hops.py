#!/usr/bin/env python3
"""make cost-e2e's report: one L2 PCISTB of 128 bytes, hop by hop, in L0
guest instructions.

Input: the L0 plugin's marker log (tests/cost/insn_window.c) of a nested
e2e run in cost mode (tests/e2e/run.sh with ZPCI_E2E_COST=N) and the L2
console.  L1 marks each cost row (tests/cost/mark.c: 0x7a5a1201 a
forwarded row starts, 0x7a5a1202 a stock row starts, 0x7a5a12ff it
ended); inside a row, every PCISTB that L2 issues enters the L1 QEMU's
HELPER(pcistb) at marker 0x7a5a4001 (tests/cost/qemu-markers.patch).  One
instruction's cycle is 4001 to the next 4001: the helper, the L1 QEMU's
service call (forwarded: libzpci 0x7a5a20xx and zpci_io 0x7a5a30xx
inside it; stock: sixteen memory_region_dispatch_write of 8 bytes), then
back in the L2 code that the L1 QEMU translated, up to the next PCISTB.

Figures are medians over the cycles of the row's dominant marker sequence
(a cycle with other markers, e.g. from another L1 thread, is counted
apart).  Fails (exit 1) if a row is missing, has fewer than 101 cycles,
or its dominant sequence is not the expected path (forwarded: claimed and
served by s390_pci_zpci_pcistb; stock: the 8-byte writes).

Usage: e2e_hops.py MARKERS --console L2CONSOLE --n N --out summary.json
"""
import argparse
import json
import re
import statistics
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import hops  # noqa: E402

ROW_FWD, ROW_STOCK, ROW_FLOOR, ROW_END = 0x7a5a1201, 0x7a5a1202, 0x7a5a1203, 0x7a5a12ff
ROWS = {ROW_FWD: "forwarded", ROW_STOCK: "stock", ROW_FLOOR: "floor"}
H_ENTRY = 0x7a5a4001
MIN_SAMPLES = 101
NAMES = {
    0x7a5a4001: "qemu: HELPER(pcistb) entry",
    0x7a5a4002: "qemu: BQL taken",
    0x7a5a4003: "qemu: pcistb_service_call entry",
    0x7a5a4004: "qemu: before s390_pci_zpci_claims",
    0x7a5a4005: "qemu: claimed, before s390_pci_zpci_pcistb",
    0x7a5a4006: "qemu: s390_pci_zpci_pcistb returned",
    0x7a5a4007: "qemu: stock path",
    0x7a5a400d: "qemu: stock rules and access checks done",
    0x7a5a400a: "qemu: stock source read done",
    0x7a5a400b: "qemu: before memory_region_dispatch_write",
    0x7a5a400c: "qemu: memory_region_dispatch_write returned",
    0x7a5a4008: "qemu: pcistb_service_call returned",
    0x7a5a4009: "qemu: BQL released, helper returns",
    0x7a5a2010: "lib: zpci_pcistb_guest entry",
    0x7a5a2011: "lib: before the source callback",
    0x7a5a2012: "lib: source callback returned",
    0x7a5a2001: "lib: ioctl",
    0x7a5a2002: "lib: ioctl returned",
    0x7a5a3001: "kmod: entry",
    0x7a5a3002: "kmod: copied in",
    0x7a5a3003: "kmod: checked",
    0x7a5a3004: "kmod: insn",
    0x7a5a3005: "kmod: insn done",
    0x7a5a3006: "kmod: ran",
    0x7a5a3007: "kmod: exit",
}
# what each hop is, for the table (from -> to)
HOP_TEXT = {
    (0x7a5a4001, 0x7a5a4002): "bql_lock()",
    (0x7a5a4002, 0x7a5a4003): "call pcistb_service_call",
    (0x7a5a4003, 0x7a5a4004): "service call: handle, function lookup, state, BAR checks",
    (0x7a5a4004, 0x7a5a4005): "s390_pci_zpci_claims()",
    (0x7a5a4005, 0x7a5a2010): "s390_pci_zpci_pcistb() up to libzpci (QEMU wrapper)",
    (0x7a5a2010, 0x7a5a2011): "libzpci: mutex, precheck (rules), stage_block",
    (0x7a5a2011, 0x7a5a2012): "guest source read (QEMU's zpci_io_read_source callback)",
    (0x7a5a2012, 0x7a5a2001): "libzpci: request header, up to the ioctl",
    (0x7a5a2001, 0x7a5a3001): "ioctl syscall + vfio dispatch (L1 kernel)",
    (0x7a5a3001, 0x7a5a3002): "zpci_io: copy-in",
    (0x7a5a3002, 0x7a5a3003): "zpci_io: header, rules, policy",
    (0x7a5a3003, 0x7a5a3004): "zpci_io: to the instruction",
    (0x7a5a3004, 0x7a5a3005): "zpci_io: the PCISTB (L1 -> L0 intercept)",
    (0x7a5a3005, 0x7a5a3006): "zpci_io: after it (unlock, counters)",
    (0x7a5a3006, 0x7a5a3007): "zpci_io: write-back, free",
    (0x7a5a3007, 0x7a5a2002): "return to user (L1 kernel)",
    (0x7a5a2002, 0x7a5a4006): "libzpci outcome + QEMU wrapper (status, cc)",
    (0x7a5a4006, 0x7a5a4008): "return from pcistb_service_call",
    (0x7a5a4008, 0x7a5a4009): "bql_unlock()",
    (0x7a5a4009, H_ENTRY): "TCG: back to L2, L2's loop, next PCISTB to the helper",
    (0x7a5a4004, 0x7a5a4007): "s390_pci_zpci_claims() (not claimed)",
    (0x7a5a4007, 0x7a5a400d): "stock rules, 16 memory_region_access_valid",
    (0x7a5a400d, 0x7a5a400a): "guest source read (s390_cpu_virt_mem_read)",
    (0x7a5a400a, 0x7a5a400b): "to the first write",
    (0x7a5a400b, 0x7a5a400c): "memory_region_dispatch_write (vfio pwrite, 8 B)",
    (0x7a5a400c, 0x7a5a400b): "loop to the next write",
    (0x7a5a400c, 0x7a5a4008): "counter, cc, return from pcistb_service_call",
    (0x7a5a4003, 0x7a5a4008): "service call: disabled handle, cc 3",
}


def name(mid):
    return NAMES.get(mid, "%08x" % mid)


def rows_of(log):
    """[(kind, [(id, counter), ...])] for every marked cost row."""
    out, cur, kind = [], None, None
    for mid, cnt in log:
        if mid in ROWS:
            cur, kind = [], ROWS[mid]
        elif mid == ROW_END:
            if cur is not None:
                out.append((kind, cur))
            cur = None
        elif cur is not None:
            cur.append((mid, cnt))
    return out


def cycles(row):
    """Split a row at every helper entry: [(ids, counters)] of complete
    cycles (from one entry to the next, that next one included)."""
    starts = [i for i, (mid, _) in enumerate(row) if mid == H_ENTRY]
    out = []
    for a, b in zip(starts, starts[1:]):
        seg = row[a:b + 1]
        out.append((tuple(m for m, _ in seg), [c for _, c in seg]))
    return out


def stat(v):
    return {"n": len(v), "median": statistics.median(v), "min": min(v), "max": max(v)}


def analyse(kind, row):
    cyc = cycles(row)
    if not cyc:
        return None, ["%s row: no PCISTB cycle (no marker 0x7a5a4001: not the cost QEMU?)" % kind]
    seqs = {}
    for ids, cnts in cyc:
        seqs.setdefault(ids, []).append(cnts)
    key, samples = max(seqs.items(), key=lambda kv: len(kv[1]))
    errs = []
    if kind == "forwarded" and not (0x7a5a4005 in key and 0x7a5a4006 in key):
        errs.append("forwarded row: the dominant cycle was not served by s390_pci_zpci_pcistb "
                    "(%s)" % " ".join("%x" % m for m in key))
    if kind == "floor" and 0x7a5a4004 in key:
        errs.append("floor row: the dominant cycle went past the handle check (%s)" %
                    " ".join("%x" % m for m in key))
    if kind == "stock" and 0x7a5a4007 not in key:
        errs.append("stock row: the dominant cycle did not take the stock path (%s)" %
                    " ".join("%x" % m for m in key))
    if len(samples) < MIN_SAMPLES:
        errs.append("%s row: %d cycles of the dominant sequence (at least %d)" % (
            kind, len(samples), MIN_SAMPLES))
    hoplist = []
    for i, (a, b) in enumerate(zip(key, key[1:])):
        v = [s[i + 1] - s[i] for s in samples]
        hoplist.append({"from": name(a), "to": name(b), "what": HOP_TEXT.get((a, b), ""),
                        **stat(v)})
    totals = [s[-1] - s[0] for s in samples]
    res = {
        "cycles": len(cyc),
        "dominant_cycles": len(samples),
        "other_sequences": {" ".join("%x" % m for m in k): len(v)
                            for k, v in seqs.items() if k != key},
        "sequence": [name(m) for m in key],
        "hops": hoplist,
        "total": stat(totals),
        "sum_of_hop_medians": sum(h["median"] for h in hoplist),
    }
    # the helper alone (entry to BQL released) and what is outside it
    if 0x7a5a4009 in key:
        j = key.index(0x7a5a4009)
        res["helper"] = stat([s[j] - s[0] for s in samples])
        res["outside_helper"] = stat([s[-1] - s[j] for s in samples])
    if kind == "forwarded" and 0x7a5a2010 in key and 0x7a5a4006 in key:
        a, b = key.index(0x7a5a2010), key.index(0x7a5a4006)
        res["libzpci_call_to_qemu_return"] = stat([s[b] - s[a] for s in samples])
    if kind == "forwarded" and 0x7a5a2001 in key and 0x7a5a2002 in key:
        a, b = key.index(0x7a5a2001), key.index(0x7a5a2002)
        res["ioctl"] = stat([s[b] - s[a] for s in samples])
    if kind == "stock":
        w = [i for i, m in enumerate(key) if m == 0x7a5a400b]
        res["vfio_writes"] = len(w)
        res["vfio_write"] = stat([s[i + 1] - s[i] for s in samples for i in w])
        res["vfio_writes_sum"] = stat([sum(s[i + 1] - s[i] for i in w) for s in samples])
    return res, errs


def l2_rows(console):
    """ZE2E: C <fid> <name> <mode> <n> <ns> lines (cost rows) and ZE2E: N
    <fid> <n> <ns> lines (the floor) of the L2 console."""
    out = []
    try:
        text = open(console, errors="replace").read()
    except OSError:
        return out
    for m in re.finditer(r"ZE2E: C (\d+) (\S+) (\S+) (\d+) (\d+)", text):
        fid, nm, mode, n, ns = m.groups()
        out.append({"fid": int(fid), "function": nm, "mode": mode, "n": int(n), "ns": int(ns),
                    "per_pcistb": int(ns) / int(n)})
    for m in re.finditer(r"ZE2E: N (\d+) (\d+) (\d+)", text):
        fid, n, ns = m.groups()
        if int(n):
            out.append({"fid": int(fid), "function": "floor", "mode": "floor", "n": int(n),
                        "ns": int(ns), "per_pcistb": int(ns) / int(n)})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("markers")
    ap.add_argument("--console", required=True, help="the L2 console (ZE2E: C lines)")
    ap.add_argument("--n", type=int, required=True, help="PCISTBs per cost row")
    ap.add_argument("--clock", default="", help="clock.txt of the e2e results")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    log = hops.load(a.markers)
    errs = []
    summary = {"unit": "L0 guest instructions", "pcistb_bytes": 128, "rows_requested_n": a.n}
    got = {}
    for kind, row in rows_of(log):
        if kind in got:
            errs.append("more than one %s row" % kind)
            continue
        res, e = analyse(kind, row)
        errs += e
        if res:
            got[kind] = res
    for kind in ("forwarded", "stock", "floor"):
        if kind not in got:
            errs.append("no %s cost row in the marker log" % kind)
    summary.update(got)
    l2 = l2_rows(a.console)
    summary["l2_rows"] = l2
    for kind in ("forwarded", "stock"):
        if not any(r["mode"] == kind and r["function"] == "strict" and r["n"] == a.n for r in l2):
            errs.append("no L2 line 'ZE2E: C ... strict %s %d ...'" % (kind, a.n))
    if not any(r["mode"] == "floor" and r["n"] >= a.n for r in l2):
        errs.append("no L2 line 'ZE2E: N <fid> <n >= %d> ...' (the floor row)" % a.n)
    if a.clock and open(a.clock).read().strip() != "icount":
        errs.append("the e2e run's clock is not icount (%s)" % a.clock)
    if "forwarded" in got and "stock" in got:
        f, s = got["forwarded"]["total"]["median"], got["stock"]["total"]["median"]
        summary["ratio_stock_over_forwarded"] = s / f if f else None
        summary["forwarded_target_8x"] = s / 8
    # what L2's own code adds between two PCISTBs over the floor's raw
    # asm loop (Linux's __zpci_store_block and ze2e's loop, as translated
    # by the L1 QEMU), and the helper's share of the floor
    if "forwarded" in got and "floor" in got and "outside_helper" in got["floor"]:
        summary["l2_store_block_over_raw_loop"] = (
            got["forwarded"]["outside_helper"]["median"] - got["floor"]["outside_helper"]["median"])
    summary["failures"] = errs
    with open(a.out, "w") as fo:
        json.dump(summary, fo, indent=1)
    for kind in ("forwarded", "stock", "floor"):
        r = got.get(kind)
        if not r:
            continue
        print("== %s 128-byte PCISTB: %d cycles (%d of the dominant sequence)" % (
            kind, r["cycles"], r["dominant_cycles"]))
        for h in r["hops"]:
            if kind == "stock" and h["what"].startswith(("memory_region_dispatch", "loop")):
                continue
            print("  %-62s %8g  (min %d, max %d)" % (h["what"] or "%s -> %s" % (h["from"], h["to"]),
                                                  h["median"], h["min"], h["max"]))
        if kind == "stock":
            print("  %-62s %8g  (x %d, sum median %g)" % (
                "one 8-byte write (dispatch, pooled)", r["vfio_write"]["median"],
                r["vfio_writes"], r["vfio_writes_sum"]["median"]))
        print("  %-62s %8g  (sum of hop medians %g)" % ("TOTAL per PCISTB (median)",
                                                        r["total"]["median"],
                                                        r["sum_of_hop_medians"]))
    for r in l2:
        print("L2 row fid %d %s %s: %d PCISTBs, %.0f per PCISTB (L2 ktime)" % (
            r["fid"], r["function"], r["mode"], r["n"], r["per_pcistb"]))
    if "l2_store_block_over_raw_loop" in summary:
        print("L2's __zpci_store_block + loop over the floor's raw loop: %g" % (
            summary["l2_store_block_over_raw_loop"]))
    if "ratio_stock_over_forwarded" in summary:
        print("stock/forwarded = %.2fx (8x needs forwarded <= %.0f)" % (
            summary["ratio_stock_over_forwarded"], summary["forwarded_target_8x"]))
    for e in errs:
        print("FAIL: " + e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
