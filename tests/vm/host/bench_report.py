#!/usr/bin/python3
"""Chart and table of the guest benchmark (zpci_vm_bench's JSON).

    tests/vm/host/bench_report.py build/vm/results/patched/bench.json \
        --png build/vm/results/patched/bench.png \
        --md build/vm/results/patched/bench.md

Benchmarks are named <function>/<path>/<size>; paths: region_single,
region_batch, bar_8byte, bar_whole.  Errored benchmarks (e.g. the BAR paths
on the ISM-like function, whose BAR 2 refuses PCISTG) appear as "n/a" with
the reason.  All figures come from QEMU TCG (an emulated s390x on an x86-64
host): compare paths with each other, never with hardware.
"""
import argparse
import json
import sys

PATHS = ["region_single", "region_batch", "bar_8byte", "bar_whole"]
LABELS = {
    "region_single": "region, 1 op/call",
    "region_batch": "region, batched",
    "bar_8byte": "vfio BAR pwrite, 8 B/call",
    "bar_whole": "vfio BAR pwrite, whole buffer",
}
TCG_NOTE = ("QEMU TCG figures (emulated s390x guest on an x86-64 host): "
            "relative comparison of paths only")


def human_size(n):
    return "%d KiB" % (n // 1024) if n >= 1024 else "%d B" % n


def human_rate(v):
    for unit, div in (("GB/s", 1e9), ("MB/s", 1e6), ("kB/s", 1e3)):
        if v >= div:
            return "%.1f %s" % (v / div, unit)
    return "%.0f B/s" % v


def human_calls(v):
    if v >= 1e6:
        return "%.2fM" % (v / 1e6)
    if v >= 1e3:
        return "%.1fk" % (v / 1e3)
    return "%.0f" % v


def load(path):
    with open(path) as f:
        doc = json.load(f)
    rows = {}
    for b in doc.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        parts = b["name"].split("/")
        if len(parts) < 3 or parts[1] not in PATHS:
            continue
        func, path, size = parts[0], parts[1], int(parts[2])
        if b.get("error_occurred"):
            rows[(func, path, size)] = {"error": b.get("error_message", "error")}
        else:
            rows[(func, path, size)] = {
                "bps": float(b.get("bytes_per_second", 0.0)),
                "calls": float(b.get("calls", 0.0)),
                "cpb": float(b.get("calls_per_buffer", 0.0)),
            }
    return doc.get("context", {}), rows


def table(context, rows):
    funcs = sorted({k[0] for k in rows}, key=lambda f: (f != "strict", f))
    sizes = sorted({k[2] for k in rows})
    out = ["### zPCI write paths in the s390x test guest (%s)" % TCG_NOTE, ""]
    ctx = ", ".join("%s: %s" % (k, context[k]) for k in
                    ("guest_kernel", "strict", "ism") if k in context)
    if ctx:
        out += [ctx, ""]
    for func in funcs:
        out.append("**%s function** — bytes/s (calls/s)" % func)
        out.append("")
        present = [p for p in PATHS if any((func, p, s) in rows for s in sizes)]
        out.append("| size | " + " | ".join(LABELS[p] for p in present) + " |")
        out.append("|---:|" + "---:|" * len(present))
        reasons = set()
        for s in sizes:
            cells = []
            for p in present:
                r = rows.get((func, p, s))
                if r is None:
                    cells.append("")
                elif "error" in r:
                    cells.append("n/a")
                    reasons.add("%s: %s" % (LABELS[p], r["error"]))
                else:
                    cells.append("%s (%s)" % (human_rate(r["bps"]), human_calls(r["calls"])))
            out.append("| %s | %s |" % (human_size(s), " | ".join(cells)))
        for why in sorted(reasons):
            out.append("")
            out.append("n/a — " + why)
        out.append("")
    return "\n".join(out)


def chart(rows, png):
    try:
        import matplotlib
    except ImportError:
        sys.exit("bench_report: no matplotlib for %s (Debian: apt install "
                 "python3-matplotlib, run with /usr/bin/python3)" % sys.executable)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    funcs = sorted({k[0] for k in rows}, key=lambda f: (f != "strict", f))
    fig, axes = plt.subplots(1, len(funcs), figsize=(6.5 * len(funcs), 4.8), squeeze=False)
    for ax, func in zip(axes[0], funcs):
        for p in PATHS:
            pts = sorted((s, r["bps"] / 1e6) for (f, pp, s), r in rows.items()
                         if f == func and pp == p and "error" not in r)
            if pts:
                ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=LABELS[p])
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("buffer size (bytes)")
        ax.set_ylabel("MB/s")
        ax.set_title("%s function" % func)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(TCG_NOTE, fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json")
    ap.add_argument("--png")
    ap.add_argument("--md")
    a = ap.parse_args()
    context, rows = load(a.json)
    if not rows:
        sys.exit("bench_report: no zpci_vm_bench results in %s" % a.json)
    md = table(context, rows)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md + "\n")
    else:
        print(md)
    if a.png:
        chart(rows, a.png)


if __name__ == "__main__":
    main()
