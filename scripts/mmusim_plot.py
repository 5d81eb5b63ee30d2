#!/usr/bin/env python3
"""mmusim plots with matplotlib (docs/plots.md): PNG and SVG, byte-identical for the same input.

  mmusim plot cdf STATS.json [STATS.json ...] -o OUT
      latency CDFs: one line per tb.faults.KIND.latency and tb.flush.KIND.latency with samples
      (the "cdf" points of `mmusim run --json`, schema mmusim.stats version 2 or later)
  mmusim plot xy TABLE.csv --x COL --y COL [--series COL ...] -o OUT
      COL against COL from a CSV with a header row (sweep.csv, or any table), one line per
      value of the series columns

OUT ending in .png or .svg writes that file; any other OUT writes OUT.png and OUT.svg.
Columns whose names start with "-" are given as --x=--cores.
Exit codes: 0 written, 2 bad input or matplotlib missing.
"""
import argparse
import csv
import json
import math
import os
import re
import sys

EXIT_BAD_INPUT = 2
LATENCY = re.compile(r"^tb\.(faults|flush)\.([A-Za-z0-9_]+)\.latency$")


def fail(message):
    print(f"mmusim plot: error: {message}", file=sys.stderr)
    sys.exit(EXIT_BAD_INPUT)


def pyplot():
    try:
        import matplotlib
    except ImportError:
        fail(f"matplotlib is not installed for {sys.executable}: install python3-matplotlib "
             "(scripts/setup.sh), or set MMUSIM_PYTHON to a python3 that imports matplotlib")
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "mmusim"  # stable element ids in the SVG
    import matplotlib.pyplot as plt
    return plt


def save(plt, fig, out):
    targets = [out] if os.path.splitext(out)[1] in (".png", ".svg") else [out + ".png", out + ".svg"]
    for target in targets:
        try:
            if target.endswith(".svg"):
                fig.savefig(target, format="svg", metadata={"Date": None})  # no timestamp
            else:
                fig.savefig(target, format="png", dpi=100)
        except OSError as e:
            fail(f"-o {target}: {e.strerror}")
        print(target)
    plt.close(fig)


def load_stats(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        fail(f"{path}: {e.strerror}")
    except json.JSONDecodeError as e:
        fail(f"{path}: not JSON: {e}")
    if doc.get("schema") != "mmusim.stats" or doc.get("schema_version", 0) < 2:
        fail(f"{path}: not mmusim.stats JSON of schema version 2 or later (mmusim run --json)")
    return doc


def cdf_command(args):
    plt = pyplot()
    panels = {"faults": [], "flush": []}
    for path in args.stats:
        doc = load_stats(path)
        tag = f"{os.path.basename(path)}: " if len(args.stats) > 1 else ""
        for name, entry in doc["stats"].items():
            m = LATENCY.match(name)
            if m and entry.get("cdf"):
                panels[m.group(1)].append((tag + m.group(2), entry["cdf"]))
    used = [(title, lines) for title, lines in (("page faults", panels["faults"]), ("TLB flushes", panels["flush"])) if lines]
    if not used:
        fail("nothing to plot: no tb.faults.KIND.latency or tb.flush.KIND.latency has samples in "
             + ", ".join(args.stats))
    fig, axes = plt.subplots(len(used), 1, figsize=(8, 3.6 * len(used)), squeeze=False)
    for ax, (title, lines) in zip(axes[:, 0], used):
        low = min(points[0][0] for _, points in lines)
        high = max(points[-1][0] for _, points in lines)
        styles = ["-", "--", "-.", ":"]
        for i, (label, points) in enumerate(lines):
            # From 0 below the first sample to 1 at the last, held to the panel's largest latency.
            xs = [points[0][0]] + [v for v, _ in points] + [high]
            ys = [0.0] + [f for _, f in points] + [1.0]
            ax.step(xs, ys, where="post", linestyle=styles[i // 10 % len(styles)], label=label)
            ax.plot([v for v, _ in points], [f for _, f in points], "o", markersize=3,
                    color=ax.lines[-1].get_color())
        if low > 0 and high / low > 50:
            ax.set_xscale("log")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("latency (simulated cycles)")
        ax.set_ylabel("fraction of samples ≤ x")
        ax.set_title(f"{title}: latency CDF per kind")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small", loc="lower right")
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    save(plt, fig, args.output)


def number(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def xy_command(args):
    try:
        with open(args.table, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            columns = reader.fieldnames or []
            rows = list(reader)
    except OSError as e:
        fail(f"{args.table}: {e.strerror}")
    for col in [args.x, args.y] + args.series:
        if col not in columns:
            fail(f"{args.table}: no column '{col}' (columns: {', '.join(columns)})")
    plt = pyplot()
    rows = [r for r in rows if number(r[args.y]) is not None and r[args.x] != ""]
    numeric_x = all(number(r[args.x]) is not None for r in rows)
    categories = []
    for r in rows:
        if r[args.x] not in categories:
            categories.append(r[args.x])
    series = {}
    for r in rows:
        label = ", ".join(f"{c}={r[c]}" for c in args.series)
        x = number(r[args.x]) if numeric_x else categories.index(r[args.x])
        series.setdefault(label, []).append((x, number(r[args.y])))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, points in series.items():
        points.sort(key=lambda p: p[0])
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label or None)
    if not numeric_x:
        ax.set_xticks(range(len(categories)))
        ax.set_xticklabels(categories)
    if not rows:
        ax.text(0.5, 0.5, f"no rows with a value of {args.y}", ha="center", va="center", transform=ax.transAxes)
    if args.logx and numeric_x:
        ax.set_xscale("log")
    if args.logy:
        ax.set_yscale("log")
    ax.set_xlabel(args.x)
    ax.set_ylabel(args.y)
    ax.set_title(args.title or f"{args.y} against {args.x}")
    ax.grid(True, alpha=0.3)
    if args.series and rows:
        ax.legend(fontsize="small")
    fig.tight_layout()
    save(plt, fig, args.output)


def main():
    parser = argparse.ArgumentParser(prog="mmusim plot", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.split("\n")[2:]))
    sub = parser.add_subparsers(dest="command", required=True)
    cdf = sub.add_parser("cdf", help="latency CDFs per kind from mmusim run --json files")
    cdf.add_argument("stats", nargs="+", help="STATS.json files")
    cdf.add_argument("-o", "--output", required=True, help="OUT.png, OUT.svg or OUT (both)")
    cdf.add_argument("--title", default="")
    cdf.set_defaults(run=cdf_command)
    xy = sub.add_parser("xy", help="a column against a column of a CSV table, one line per series")
    xy.add_argument("table", help="a CSV file with a header row (e.g. a sweep's sweep.csv)")
    xy.add_argument("--x", required=True, help="column on the x axis")
    xy.add_argument("--y", required=True, help="column on the y axis (rows without a number are left out)")
    xy.add_argument("--series", action="append", default=[], help="column whose values make separate lines (repeatable)")
    xy.add_argument("--logx", action="store_true", help="logarithmic x axis")
    xy.add_argument("--logy", action="store_true", help="logarithmic y axis")
    xy.add_argument("--title", default="")
    xy.add_argument("-o", "--output", required=True, help="OUT.png, OUT.svg or OUT (both)")
    xy.set_defaults(run=xy_command)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
