#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Plot throughput vs access size from zpci_bench's JSON output.

usage: bench/plot.py BENCH.json OUT.png

One line per benchmark family (dir/function/path), log-log axes.  Skipped
families (a path that cannot do the access) are named in the legend as
"n/a" instead of being drawn.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    try:
        with open(src) as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"plot.py: cannot read {src}: {e}")
    series, skipped = {}, {}
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration":
            continue
        family, _, size = b.get("run_name", b["name"]).rpartition("/")
        try:
            size = int(size)
        except ValueError:
            continue
        if b.get("error_occurred"):
            skipped[family] = b.get("error_message", "skipped")
            continue
        series.setdefault(family, []).append((size, b.get("bytes_per_second", 0) / 1e6))
    if not series:
        sys.exit(f"plot.py: no measured benchmarks in {src}")
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for family in sorted(series):
        pts = sorted(series[family])
        style = "--" if "fallback" in family else "-"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o",
                markersize=3, label=family)
    for family in sorted(skipped):
        ax.plot([], [], " ", label=f"{family}: n/a")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("access size (bytes)")
    ax.set_ylabel("throughput (MB/s)")
    ctx = data.get("context", {})
    ax.set_title(f"libzpci region path vs 8-byte fallback "
                 f"(backend {ctx.get('zpci_backend', '?')})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"plot.py: wrote {out}")


if __name__ == "__main__":
    main()
