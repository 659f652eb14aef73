#!/usr/bin/env python3
"""Make docs/performance.md's network table and plot from `node netsim` reports.

Usage: scripts/netsim_table.py REPORT.json... [--svg FILE]

Prints a Markdown table with one row per report (named by its file, sorted by node count) and, with --svg, writes an
SVG plot of block propagation (to 50%, 90% and 100% of the nodes, p50 over blocks, and to 90% at
p95) and transfer propagation to 90% (p50) against the number of nodes. The standard library only.
"""

import json
import os
import sys

COLUMNS = [
    ("report", lambda r: "`%s`" % r["_file"]),
    ("nodes", lambda r: str(r["nodes"])),
    ("links", lambda r: r.get("link_mode", "-")),
    ("hashing at", lambda r: ("yielding" if r.get("miners_yielding") else "nice 19") if r.get("miners_low_priority") else "nice 0"),
    ("blocks", lambda r: str(r["blocks"])),
    ("interval s", lambda r: "%.2f" % r["block_interval_s"]),
    ("block to 50% p50/p95 ms", lambda r: dist(r["block_to_50_ms"])),
    ("to 90% p50/p95 ms", lambda r: dist(r["block_to_90_ms"])),
    ("to 100% p50/p95 ms", lambda r: dist(r["block_to_100_ms"])),
    ("stale (implied)", lambda r: "%.3f (%.3f)" % (r["stale_rate"], r["expected_stale_rate"])),
    ("tx to 90% p50/p95 ms", lambda r: dist(r["tx_to_90_ms"])),
    ("tip switch p50/p95 ms", lambda r: switch(r.get("miner_tip_switch_ms"))),
    ("run-queue wait ms per CPU ms p50", lambda r: opt((r.get("contention") or {}).get("run_queue_wait_ms_per_cpu_ms"), lambda d: "%.1f" % d["p50"] if d.get("n") else "-")),
    ("B/node/block", lambda r: "%.0f" % r["bytes_per_node_per_block"]),
    ("block msgs/node/block", lambda r: opt(r.get("block_messages_per_node_per_block"), lambda v: "%.1f" % v)),
    ("B/node/tx", lambda r: "%.0f" % r["bytes_per_node_per_transfer"]),
    ("known peers p50 (min)", lambda r: book(r, "known")),
    ("outbound p50 (min)", lambda r: book(r, "outbound")),
    ("slot fill", lambda r: opt(r.get("outbound_slot_fill"), lambda v: "%.0f%%" % (100 * v))),
    ("idle CPU % p50", lambda r: "%.2f" % r["idle"]["cpu_percent"]["p50"]),
    ("idle RSS MiB p50", lambda r: "%.1f" % r["idle"]["rss_mib"]["p50"]),
    ("idle switches/s p50", lambda r: opt(r["idle"].get("switches_per_s"), lambda d: "%.0f" % d["p50"])),
    ("checks", lambda r: "ok" if r["ok"] else "FAILED"),
]


def opt(v, fmt):
    """fmt(v), or "-" for a figure an older report does not have."""
    return "-" if v is None else fmt(v)


def dist(d):
    if not d or not d.get("n"):
        return "-"
    return "%.0f / %.0f" % (d["p50"], d["p95"])


def switch(d):
    """The bucket bounds of a histogram summary: "<= p50 / <= p95", and the samples over 10 ms
    when the report counts them: "(k of n > 10)"."""
    if not d or not d.get("n"):
        return "-"
    s = "<= %g / <= %g" % (d["p50_at_most"], d["p95_at_most"])
    if "over_10_ms" in d:
        s += " (%d of %d > 10)" % (d["over_10_ms"], d["n"])
    return s


def book(r, key):
    samples = r.get("address_book") or []
    if not samples:
        return "-"
    last = samples[-1][key]
    return "%.0f (%.0f)" % (last["p50"], last["min"])


def table(reports):
    lines = ["| " + " | ".join(c[0] for c in COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]
    for r in reports:
        lines.append("| " + " | ".join(f(r) for _, f in COLUMNS) + " |")
    return "\n".join(lines)


SERIES = [
    ("block to 50% (p50)", "#1f77b4", lambda r: r["block_to_50_ms"]["p50"]),
    ("block to 90% (p50)", "#ff7f0e", lambda r: r["block_to_90_ms"]["p50"]),
    ("block to 90% (p95)", "#d62728", lambda r: r["block_to_90_ms"]["p95"]),
    ("block to 100% (p50)", "#2ca02c", lambda r: r["block_to_100_ms"]["p50"]),
    ("transfer to 90% (p50)", "#9467bd", lambda r: r["tx_to_90_ms"]["p50"]),
]


def svg(reports):
    w, h, left, right, top, bottom = 640, 380, 60, 190, 20, 50
    xs = [r["nodes"] for r in reports]
    ys = [f(r) for r in reports for _, _, f in SERIES]
    xmin, xmax = min(xs), max(xs)
    if xmin == xmax:
        xmin, xmax = xmin - 1, xmax + 1
    ymax = max(ys + [1]) * 1.1
    pw, ph = w - left - right, h - top - bottom

    def px(x):
        return left + (x - xmin) / (xmax - xmin) * pw

    def py(y):
        return top + ph - y / ymax * ph

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, top + ph, left + pw, top + ph),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, top, left, top + ph)]
    for i in range(6):
        y = ymax * i / 5
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (left, py(y), left + pw, py(y)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%.0f</text>' % (left - 4, py(y) + 4, y))
    for x in xs:
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (px(x), top + ph + 16, x))
    out.append('<text x="%.1f" y="%d" text-anchor="middle">nodes</text>' % (left + pw / 2, h - 10))
    out.append('<text x="14" y="%.1f" transform="rotate(-90 14 %.1f)" text-anchor="middle">ms</text>' % (top + ph / 2, top + ph / 2))
    for i, (name, color, f) in enumerate(SERIES):
        pts = " ".join("%.1f,%.1f" % (px(r["nodes"]), py(f(r))) for r in reports)
        out.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>' % (pts, color))
        for r in reports:
            out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (px(r["nodes"]), py(f(r)), color))
        ly = top + 14 + i * 18
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>' % (left + pw + 12, ly - 4, left + pw + 32, ly - 4, color))
        out.append('<text x="%d" y="%d">%s</text>' % (left + pw + 36, ly, name))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    files, svg_file = [], None
    it = iter(argv)
    for a in it:
        if a == "--svg":
            svg_file = next(it, None)
            if svg_file is None:
                sys.exit("--svg needs a file")
        else:
            files.append(a)
    if not files:
        sys.exit(__doc__)
    reports = []
    for f in files:
        with open(f) as fh:
            r = json.load(fh)
        r["_file"] = os.path.basename(f)
        reports.append(r)
    reports.sort(key=lambda r: (r["nodes"], r.get("link_mode", "")))
    print(table(reports))
    if svg_file:
        with open(svg_file, "w") as fh:
            fh.write(svg(reports))


if __name__ == "__main__":
    main(sys.argv[1:])
