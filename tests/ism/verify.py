#!/usr/bin/env python3
"""Host check of make ism-check (tests/ism/run.sh), stage 1 of issue 16.

Compares the ISM model's statistics, taken by the host over QMP at four
points (ism-stats-probe.json after ism.ko bound, -tested.json after
zpci_ism_test.ko ran, -removed.json after both were unloaded, -reset.json
after the guest reset each function), with what
the driver issued: the probe's fixed command sequence, and the counts the
test module logged for each function (ism-test.txt "dev" lines: DMB
registrations, queries, events, moves split into 4 KiB pieces, bytes,
signals, failures, interrupts and events seen).  Writes summary.json and
verify.txt into the results directory; exit status 1 on any mismatch.
"""
import argparse
import json
import os
import re
import sys

FIDS = {"isma": 0x10, "ismb": 0x11, "ismc": 0x12}
CMDS = ["reg_sba", "reg_ieq", "read_gid", "add_vlan_id", "del_vlan_id",
        "set_vlan", "reset_vlan", "query_info", "query_rgid", "reg_dmb",
        "unreg_dmb", "signal_ieq", "unreg_sba", "unreg_ieq"]
# ism_dev_init: REG_SBA, REG_IEQ, READ_GID, ADD_VLAN_ID(0x1FFF), QUERY_INFO
PROBE = {"reg_sba": 1, "reg_ieq": 1, "read_gid": 1, "add_vlan_id": 1,
         "query_info": 1}
# ism_dev_exit (V2 capable): DEL_VLAN_ID, UNREG_IEQ, UNREG_SBA
REMOVE = {"del_vlan_id": 1, "unreg_ieq": 1, "unreg_sba": 1}
# the QUERY_RGIDs the test expects to fail (A asks for C, on another
# PCHID): the model answers them with a non-zero code
UNREACHABLE = {"isma": 1, "ismb": 0, "ismc": 0}
# smcd_mode_seen (the issue's, meant for L1 and L2) stays null until L2
# runs; L1's is smcd_l1_mode_seen
NOT_RUN = ["l2_probe_ok", "l2_probe_pcistb", "l2_probe_pcilg", "l2_irqs",
           "smcd_l2_bytes", "smcd_mode_seen", "stock_served", "l2_bar0_size"]


def sub(s, base):
    """The model's counters of snapshot s since snapshot base (None: s)."""
    if base is None:
        return s
    d = dict(s)
    for k, v in s.items():
        if isinstance(v, int) and not isinstance(v, bool) and k != "gid":
            d[k] = v - base.get(k, 0)
    d["cmds"] = {c: s["cmds"].get(c, 0) - base["cmds"].get(c, 0) for c in CMDS}
    return d


def cmds(s):
    return {c: s["cmds"].get(c, 0) for c in CMDS}


def delta(x, y, key):
    return y[key] - x[key]


def model_checks(check, dev, probe, tested, smc, removed, reset, base=None):
    """Per function: the model's statistics against what the driver issued
    (dev: the test module's "dev" lines by fid).  base: a snapshot taken
    before the probe (stage 2: L1 had the functions first), else the
    probe's counts are absolute.  Returns (probe_ok, MSIs in the test,
    the probe's PCISTB and PCILG on BAR 2)."""
    probe_ok = probe is not None and all(n in probe for n in FIDS)
    irqs_total = 0
    pcistb = pcilg = None
    for name, fid in FIDS.items():
        s0 = probe.get(name) if probe else None
        b = base.get(name) if base else None
        if s0 and base is not None:
            s0p = sub(s0, b) if b else None
        else:
            s0p = s0
        s1 = tested.get(name) if tested else None
        s2 = removed.get(name) if removed else None
        d = dev.get(fid)
        if s0 and s0p:
            want = {c: PROBE.get(c, 0) for c in CMDS}
            ok = check(cmds(s0p) == want, "%s probe: commands %s" % (name, cmds(s0p)))
            ok &= check(s0p["cmd_stores"] == 8 and s0p["cmd_loads"] == 30,
                        "%s probe: %d PCISTB + %d PCILG on BAR 2 (8 + 30 expected)"
                        % (name, s0p["cmd_stores"], s0p["cmd_loads"]))
            ok &= check(s0p["cmd_errors"] == 0 and s0["sba_registered"] and
                        s0["ieq_registered"] and s0["msi_enabled"] and
                        s0["vlans"] == 1 and s0["dmbs"] == [],
                        "%s probe: no error, SBA and IEQ registered, MSI enabled, "
                        "one VLAN id, no DMB" % name)
            probe_ok &= ok
            pcistb, pcilg = s0p["cmd_stores"], s0p["cmd_loads"]
        else:
            probe_ok = False
        if s0 and s1 and d:
            check(d["gid"] == s1["gid"], "%s: the driver's GID is the model's (%d)"
                  % (name, s1["gid"]))
            dc = {c: s1["cmds"][c] - s0["cmds"][c] for c in CMDS}
            want = {c: 0 for c in CMDS}
            want.update(reg_dmb=d["reg_dmb"], unreg_dmb=d["unreg_dmb"],
                        query_rgid=d["query_rgid"], signal_ieq=d["signal_ieq"])
            check(dc == want, "%s test: commands %s = issued %s" % (name, dc, want))
            ncmd = d["reg_dmb"] + d["unreg_dmb"] + d["query_rgid"] + d["signal_ieq"]
            # every one of these commands has a body: 2 PCISTB; reads:
            # the header, plus REG_DMB's token when it succeeded
            check(delta(s0, s1, "cmd_stores") == 2 * ncmd and
                  delta(s0, s1, "cmd_loads") == ncmd + d["reg_dmb"],
                  "%s test: %d PCISTB + %d PCILG on BAR 2 for %d commands"
                  % (name, delta(s0, s1, "cmd_stores"), delta(s0, s1, "cmd_loads"), ncmd))
            check(delta(s0, s1, "cmd_errors") == UNREACHABLE[name],
                  "%s test: %d failed commands (unreachable QUERY_RGID: %d)"
                  % (name, delta(s0, s1, "cmd_errors"), UNREACHABLE[name]))
            for mk, dk in (("moves", "move_pieces"), ("move_bytes", "move_bytes"),
                           ("move_signals", "move_signals"),
                           ("move_errors", "move_errors"),
                           ("events_out", "signal_ieq"), ("events_in", "events")):
                check(delta(s0, s1, mk) == d[dk], "%s test: model %s %d = driver %s %d"
                      % (name, mk, delta(s0, s1, mk), dk, d[dk]))
            irqs = delta(s0, s1, "irqs")
            check(irqs == d["irqs"] + d["events"],
                  "%s test: model MSIs %d = interrupts seen %d (DMB) + %d (event)"
                  % (name, irqs, d["irqs"], d["events"]))
            irqs_total += irqs
            check(s1["irqs_lost"] == 0 and s1["dmbs"] == [],
                  "%s test: no interrupt lost, no DMB left" % name)
        sm = smc.get(name) if smc else None
        if s1 and sm:
            # SMC-D between the test and the removal: every DMB smc.ko
            # registered is unregistered once smc.ko is gone
            dc = {c: sm["cmds"][c] - s1["cmds"][c] for c in CMDS}
            check(dc["reg_dmb"] == dc["unreg_dmb"] and sm["dmbs"] == [] and
                  sm["sba_registered"] and sm["ieq_registered"] and
                  sm["irqs_lost"] == 0 and
                  all(dc[c] == 0 for c in ("reg_sba", "reg_ieq", "unreg_sba", "unreg_ieq")),
                  "%s smc: %d DMBs registered and unregistered, %d moves, %d bytes, "
                  "%d MSIs, no DMB left" % (name, dc["reg_dmb"], delta(s1, sm, "moves"),
                                            delta(s1, sm, "move_bytes"), delta(s1, sm, "irqs")))
            s1 = sm
        if s1 and s2:
            dc = {c: s2["cmds"][c] - s1["cmds"][c] for c in CMDS}
            want = {c: REMOVE.get(c, 0) for c in CMDS}
            check(dc == want, "%s remove: commands %s" % (name, dc))
            check(not s2["sba_registered"] and not s2["ieq_registered"] and
                  s2["dmbs"] == [] and s2["vlans"] == 0 and
                  delta(s1, s2, "cmd_errors") == 0,
                  "%s remove: no SBA, IEQ, DMB or VLAN id left registered" % name)
        s3 = reset.get(name) if reset else None
        if s2 and s3:
            # the guest reset each function once (CLP disable + enable)
            check(delta(s2, s3, "resets") == 1 and
                  {c: s3["cmds"][c] - s2["cmds"][c] for c in CMDS} ==
                  {c: 0 for c in CMDS} and not s3["sba_registered"] and
                  not s3["ieq_registered"] and s3["dmbs"] == [],
                  "%s reset: the model saw one function reset, nothing registered"
                  % name)
        for tag, s in (("probe", s0), ("tested", s1), ("smc", sm), ("removed", s2),
                       ("reset", s3)):
            if s:
                check(s["dma_errors"] == 0 and s["cmd_unknown"] == 0 and
                      s["reset_dropped"] == 0,
                      "%s %s: no DMA error, no unknown command, no registration "
                      "dropped by a reset" % (name, tag))
    return probe_ok, irqs_total, pcistb, pcilg


def parse_test(lines):
    """zpci_ism_test's "dev" lines by fid and its RESULT line."""
    dev, result = {}, {}
    for line in lines:
        m = re.search(r"zpci_ism_test: dev (.*)", line)
        if m:
            f = dict(w.split("=", 1) for w in m.group(1).split())
            dev[int(f.pop("fid"), 16)] = {k: int(v, 0) for k, v in f.items()}
        m = re.search(r"zpci_ism_test: RESULT (.*)", line)
        if m:
            result = {k: int(v) for k, v in
                      (w.split("=", 1) for w in m.group(1).split())}
    return dev, result


def region_stats(path):
    """zpci_io's counters by fid from `zpci stats --json` (L1)."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    fns = data if isinstance(data, list) else data.get("functions", [])
    return {fn["fid"]: fn["stats"] for fn in fns if "stats" in fn and "fid" in fn}


# what L1's QEMU 10.2 may print for the forwarded functions (info_report)
L2_QEMU_OK = re.compile(r"^qemu-system-s390x: -device vfio-pci,host=[0-9a-f:.]+,id=f\d+: "
                        r"info: f\d+: no MSI-X, plugged for the zPCI I/O region, "
                        r"MSI through its doorbell$")


def main_l2(a):
    """Stage 2: L2's ism.ko, test module and SMC-D through zpci_io and
    QEMU 10.2 (tests/ism/run-l2.sh)."""
    res = a.results
    l2 = os.path.join(res, "l2")
    errors, notes = [], []

    def check(ok, what):
        (notes if ok else errors).append(("ok: " if ok else "FAIL: ") + what)
        return ok

    def load(tag):
        p = os.path.join(res, "ism-stats-l2-%s.json" % tag)
        if not os.path.exists(p):
            check(False, "no %s (L2 did not get that far)" % os.path.basename(p))
            return None
        with open(p) as f:
            return json.load(f)

    base, probe, tested = load("pre-probe"), load("probe"), load("tested")
    smc, removed = load("smc"), load("removed")
    con = []
    # the last L2 boot (an earlier one that died before the script
    # started is retried: its console stays in l2-console.log)
    p = os.path.join(l2, "l2-final-console.log")
    if os.path.exists(p):
        con = open(p, errors="replace").read().splitlines()
    check(bool(con), "L2 console (l2/l2-final-console.log)")
    attempts = read_text(os.path.join(l2, "l2-attempts.txt")).strip()
    kv = {}
    for line in con:
        m = re.search(r"ZISM-L2: ([a-z0-9_]+)=(.*)$", line)
        if m:
            kv[m.group(1)] = m.group(2).strip()
    dev, result = parse_test([l for l in con if "ZISM-TEST: " in l])
    check(result.get("fail") == 0 and result.get("pass", 0) > 0,
          "L2 zpci_ism_test: %s" % (result or "no RESULT line"))
    probe_ok, irqs, pcistb, pcilg = model_checks(
        check, dev, probe, tested, smc, removed, None, base=base)
    check(irqs > 0, "L2: %d MSIs of the model reached L2's driver" % irqs)
    if probe and tested:
        out = sum(delta(probe[n], tested[n], "move_bytes") for n in FIDS)
        into = sum(delta(probe[n], tested[n], "dmb_bytes") for n in FIDS)
        check(out == into and out > 0, "fabric (L2): %d bytes moved, %d landed in DMBs"
              % (out, into))

    # zpci_io's counters in L1: the probe is 8 PCISTB + 30 PCILG per
    # function, one region request per L2 instruction; in every step the
    # region's instructions are the model's (BAR 2 commands, BAR 0 moves)
    rs = {t: region_stats(os.path.join(l2, "stats-%s.json" % t))
          for t in ("pre-probe", "probe", "tested", "smc", "removed")}
    r_pcistb = r_pcilg = None
    probe_region_ok = True
    steps = (("pre-probe", "probe", base, probe), ("probe", "tested", probe, tested),
             ("tested", "smc", tested, smc), ("smc", "removed", smc, removed))
    for name, fid in FIDS.items():
        for t0, t1, m0, m1 in steps:
            r0, r1 = rs.get(t0), rs.get(t1)
            if not (r0 and r1 and fid in r0 and fid in r1 and m0 and m1):
                check(False, "%s %s: zpci_io counters or model statistics missing" % (name, t1))
                probe_region_ok = False
                continue
            d = {k: r1[fid][k] - r0[fid][k] for k in
                 ("pcistb_ops", "pcistg_ops", "pcilg_ops", "batches", "errors")}
            mst = delta(m0[name], m1[name], "cmd_stores") + delta(m0[name], m1[name], "moves")
            mld = delta(m0[name], m1[name], "cmd_loads")
            # zpci_io counts an instruction that ended with cc != 0 as an
            # error, not as an op: here the failed moves (stale token)
            merr = delta(m0[name], m1[name], "move_errors")
            ok = check(d["batches"] == mst + mld and d["pcistg_ops"] == 0 and
                       d["errors"] == merr and d["pcistb_ops"] == mst - merr and
                       d["pcilg_ops"] == mld,
                       "%s %s: zpci_io %d requests: %d PCISTB + %d PCILG + %d PCISTG done, "
                       "%d failed; the model %d PCISTB (BAR 2 + moves, %d failed moves), "
                       "%d PCILG" % (name, t1, d["batches"], d["pcistb_ops"], d["pcilg_ops"],
                                     d["pcistg_ops"], d["errors"], mst, merr, mld))
            if t1 == "probe":
                probe_region_ok &= check(ok and d["pcistb_ops"] == 8 and d["pcilg_ops"] == 30
                                         and d["errors"] == 0,
                                         "%s probe: zpci_io 8 PCISTB + 30 PCILG, no error" % name)
                if r_pcistb is None or (d["pcistb_ops"], d["pcilg_ops"]) != (8, 30):
                    r_pcistb, r_pcilg = d["pcistb_ops"], d["pcilg_ops"]

    # the move across levels: L1's own function (ismd, fid 0x13, L1's
    # ism.ko) into a DMB of isma's in L2 (seed 1) and back (seed 2)
    xl2 = [l.split("zpci_ism_xl: ", 1)[1] for l in con
           if "ZISM-XL: " in l and "zpci_ism_xl: " in l]
    xl1 = [l.split("zpci_ism_xl: ", 1)[1]
           for l in read_text(os.path.join(l2, "xl-l1.txt")).splitlines()
           if "zpci_ism_xl: " in l]
    xl_ok = check(any(l.startswith("ok: move 4093 B of seed 1 ") for l in xl1) and
                  any(l.startswith("ok: check seed 1:") for l in xl2) and
                  any(l.startswith("ok: move 4093 B of seed 2 ") for l in xl2) and
                  any(l.startswith("ok: check seed 2:") for l in xl1) and
                  not any(l.startswith("FAIL") for l in xl1 + xl2),
                  "across levels: L1's function moved 4093 B into L2's DMB and L2's "
                  "back into L1's, each with its interrupt and every byte (%s | %s)"
                  % ("; ".join(xl1[1:]), "; ".join(xl2[1:])))
    t, sm = tested.get("ismd") if tested else None, smc.get("ismd") if smc else None
    if t and sm:
        # 4093 B at DMB offset 5: two PCISTBs (split at 4 KiB)
        xl_ok &= check(delta(t, sm, "moves") == 2 and delta(t, sm, "move_bytes") == 4093 and
                       delta(t, sm, "dmb_bytes") == 4093 and delta(t, sm, "irqs") == 1 and
                       # L1 registered its DMB before L2 booted
                       t["cmds"]["reg_dmb"] == 1 and len(t["dmbs"]) == 1 and
                       sm["cmds"]["unreg_dmb"] - t["cmds"]["unreg_dmb"] == 1 and
                       sm["dmbs"] == [] and
                       sm["dma_errors"] == 0 and sm["irqs_lost"] == 0,
                       "ismd (L1's) in the model: 4093 B moved out in 2 PCISTBs, 4093 B landed "
                       "in its DMB, 1 MSI, its DMB registered before L2 and unregistered")
    else:
        xl_ok = check(False, "ismd's statistics (L1's function) missing")

    bars = {kv[k] for k in kv if k.endswith("_bar0")}
    bar0 = int(bars.pop()) if len(bars) == 1 else None
    check(bar0 == 1 << 48, "L2 sees BAR 0 of %s bytes (2^48 expected)" % bar0)

    # stock QEMU (zpci-io=off) on an ISM function
    rc = read_text(os.path.join(l2, "stock-probe.rc")).strip()
    slog = read_text(os.path.join(l2, "stock-probe.log"))
    m = re.search(r"qemu-system-s390x: (.*)", slog)
    stock_reason = m.group(1).strip() if m else None
    stock_served = rc == "0"
    check(rc != "" and not stock_served and stock_reason is not None,
          "stock QEMU (zpci-io=off) refuses the ISM function: exit %s, %s" % (rc, stock_reason))

    # SMC-D in L2
    gids = {st["gid"] for st in (probe or {}).values()}
    smcd_bytes = int(kv.get("smcd_l2_bytes") or 0)
    smcd_gid = int(kv.get("smcd_my_gid") or "0", 0)
    smcd_mode = kv.get("smcd_mode_seen") == "1" and smcd_gid in gids
    check(smcd_bytes >= 1 << 20, "SMC-D in L2: %d bytes with a matching hash" % smcd_bytes)
    check(smcd_mode, "SMC-D in L2: smc_diag mode SMCD, my_gid 0x%016x is a model GID"
          % smcd_gid)

    # every level: statuses, kernel reports, QEMU output
    check(any("ZISM-L2: status 0" in l for l in con), "L2 status 0")
    ere = [l for l in read_text(os.path.join(os.path.dirname(__file__), "..", "vm",
                                             "kernel-reports.ere")).splitlines() if l]
    rep = re.compile("|".join("(?:%s)" % e for e in ere)) if ere else None
    l2rep = [l for l in con if rep and re.search(r"\[ *[0-9]+\.[0-9]{6}\] ", l) and rep.search(l)]
    check(not l2rep, "no kernel report on L2's console%s" % (": " + l2rep[0] if l2rep else ""))
    qlog = [l for l in read_text(os.path.join(l2, "l2-qemu.log")).splitlines() if l.strip()]
    qbad = [l for l in qlog if not L2_QEMU_OK.match(l)]
    check(not qbad, "L2's QEMU printed nothing but the plug lines%s"
          % (": " + qbad[0] if qbad else ""))
    check(read_text(os.path.join(l2, "l2-qemu.rc")).strip() == "0", "L2's QEMU exit 0")
    check(a.guest_status == "0", "L1 status %s" % a.guest_status)
    check(a.qemu_clean == "1", "L0 QEMU printed nothing")
    check(a.console_clean == "1", "no kernel report on L1's console")

    passed = not errors
    summary = {
        "pass": passed,
        "l2_probe_ok": bool(probe_ok and probe_region_ok and kv.get("bound") == "3"),
        "l2_functions": int(kv.get("bound", "0") or 0),
        "l2_probe_pcistb": r_pcistb,
        "l2_probe_pcilg": r_pcilg,
        "l2_probe_model_pcistb": pcistb,
        "l2_probe_model_pcilg": pcilg,
        "l2_irqs": irqs,
        "l2_moves_bytes_verified": result.get("bytes_verified") if passed else 0,
        "l2_test_checks": result.get("pass"),
        "l2_probe_ms": int(kv["probe_ms"]) if "probe_ms" in kv else None,
        "l2_test_ms": int(kv["test_ms"]) if "test_ms" in kv else None,
        "smcd_l2_bytes": smcd_bytes if passed else 0,
        "smcd_mode_seen": smcd_mode,
        "smcd_l2_gid": smcd_gid,
        "smcd_l2_ms": int(kv["smcd_ms"]) if "smcd_ms" in kv else None,
        "l1_l2_move_ok": bool(xl_ok),
        "stock_served": stock_served,
        "stock_refusal": stock_reason,
        "l2_bar0_size": bar0,
        "l2_attempts": int(attempts) if attempts.isdigit() else None,
        "host_checks": len(notes) + len(errors),
        "host_checks_failed": len(errors),
        "phase_times": [t.strip() for t in a.phase_times.split(";") if t.strip()],
    }
    with open(os.path.join(res, "summary-l2.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    # the issue's fields of stage 2 into stage 1's summary.json (make
    # ism-check), when it is there: filled, no longer listed as not run
    s1 = os.path.join(os.path.dirname(os.path.abspath(res)), "ism", "summary.json")
    if os.path.exists(s1):
        with open(s1) as f:
            d = json.load(f)
        for k in NOT_RUN:
            d[k] = summary[k]
        # the smcd_mode_seen is for both levels
        d["smcd_mode_seen"] = bool(summary["smcd_mode_seen"] and d.get("smcd_l1_mode_seen"))
        d["not_run"] = []
        d["l2_pass"] = passed
        d["l2_summary"] = os.path.join(os.path.basename(os.path.abspath(res)),
                                       "summary-l2.json")
        with open(s1, "w") as f:
            json.dump(d, f, indent=1)
            f.write("\n")
    with open(os.path.join(res, "verify-l2.txt"), "w") as f:
        f.write("\n".join(notes + errors) + "\n")
    for e in errors:
        print("verify: " + e, file=sys.stderr)
    print("verify: %d host checks (L2), %d failed" % (len(notes) + len(errors), len(errors)),
          file=sys.stderr)
    return 0 if passed else 1


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--guest-status", default="none")
    ap.add_argument("--qemu-clean", default="0")
    ap.add_argument("--console-clean", default="0")
    ap.add_argument("--l2", action="store_true", help="stage 2 (tests/ism/run-l2.sh)")
    ap.add_argument("--phase-times", default="")
    a = ap.parse_args()
    if a.l2:
        return main_l2(a)
    res = a.results
    errors, notes = [], []

    def check(ok, what):
        (notes if ok else errors).append(("ok: " if ok else "FAIL: ") + what)
        return ok

    def load(tag):
        p = os.path.join(res, "ism-stats-%s.json" % tag)
        if not os.path.exists(p):
            check(False, "no %s (the guest did not get that far)" % os.path.basename(p))
            return None
        with open(p) as f:
            return json.load(f)

    probe, tested, removed = load("probe"), load("tested"), load("removed")
    smc, reset = load("smc"), load("reset")

    kv = {}
    p = os.path.join(res, "ism-stage1.txt")
    if os.path.exists(p):
        for line in open(p):
            k, _, v = line.strip().partition("=")
            if k:
                kv[k] = v
    check(bool(kv), "guest results ism-stage1.txt")

    p = os.path.join(res, "ism-test.txt")
    dev, result = parse_test(open(p).read().splitlines() if os.path.exists(p) else [])
    check(result.get("fail") == 0 and result.get("pass", 0) > 0,
          "zpci_ism_test: %s" % (result or "no RESULT line"))

    probe_ok, irqs_total, pcistb, pcilg = model_checks(
        check, dev, probe, tested, smc, removed, reset)
    # what left A landed somewhere in the fabric
    if probe and tested:
        out = sum(delta(probe[n], tested[n], "move_bytes") for n in FIDS)
        into = sum(delta(probe[n], tested[n], "dmb_bytes") for n in FIDS)
        check(out == into and out > 0, "fabric: %d bytes moved, %d landed in DMBs" % (out, into))

    check(kv.get("resets") == str(len(FIDS)), "the guest reset %s of %d functions"
          % (kv.get("resets"), len(FIDS)))
    check(a.guest_status == "0", "guest status %s" % a.guest_status)
    check(a.qemu_clean == "1", "QEMU printed nothing")
    check(a.console_clean == "1", "no kernel report on the console")
    # SMC-D in L1 (stage 3): >= 4 MiB through an AF_SMC socket whose
    # smc_diag mode is SMC-D, with one of the model's GIDs
    gids = {st["gid"] for st in (probe or {}).values()}
    smcd_bytes = int(kv.get("smcd_l1_bytes") or 0)
    smcd_gid = int(kv.get("smcd_my_gid") or "0", 0)
    smcd_mode = kv.get("smcd_mode_seen") == "1" and smcd_gid in gids
    check(smcd_bytes >= 4 << 20, "SMC-D in L1: %d bytes with a matching hash" % smcd_bytes)
    check(smcd_mode, "SMC-D in L1: smc_diag mode SMCD, my_gid 0x%016x is a model GID"
          % smcd_gid)
    bar0 = [int(kv[k]) for k in kv if k.endswith("_bar0")]
    passed = not errors
    summary = {
        "pass": passed,
        "l1_probe_ok": bool(probe_ok and kv.get("bound") == "3"),
        "l1_functions": int(kv.get("bound", "0") or 0),
        "l1_probe_pcistb": pcistb,
        "l1_probe_pcilg": pcilg,
        "l1_bar0_size": bar0[0] if bar0 and len(set(bar0)) == 1 else None,
        "moves_bytes_verified": result.get("bytes_verified") if passed else 0,
        "l1_irqs": irqs_total,
        "l1_test_checks": result.get("pass"),
        "host_checks": len(notes) + len(errors),
        "host_checks_failed": len(errors),
        "l1_probe_ms": int(kv["probe_ms"]) if "probe_ms" in kv else None,
        "l1_test_ms": int(kv["test_ms"]) if "test_ms" in kv else None,
    }
    summary["smcd_l1_bytes"] = smcd_bytes if passed else 0
    summary["smcd_l1_mode_seen"] = smcd_mode
    summary["smcd_l1_gid"] = smcd_gid
    summary["smcd_l1_ms"] = int(kv["smcd_ms"]) if "smcd_ms" in kv else None
    for k in NOT_RUN:
        summary[k] = None
    summary["not_run"] = NOT_RUN
    with open(os.path.join(res, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    with open(os.path.join(res, "verify.txt"), "w") as f:
        f.write("\n".join(notes + errors) + "\n")
    for e in errors:
        print("verify: " + e, file=sys.stderr)
    print("verify: %d host checks, %d failed" % (len(notes) + len(errors), len(errors)),
          file=sys.stderr)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
