#!/usr/bin/env python3
"""Plot the scale figures of bench/suite.sh as a hand-written SVG (standard library only).

Usage: python3 bench/plot.py SCALE_CSV OUT_SVG [--subtitle TEXT]

SCALE_CSV has a header and the columns mode,size,round,stored,valid_p99_ms,valid_rps,...
(mode is "memory" or "data-dir"). Each point is the median over the rounds of one mode and
size. Two panels: revoke p99 latency (ms) and revoke throughput (req/s) against the number of
stored tokens on a log x axis (10k to 1M, widened if the data go beyond), one series per mode.
"""

import csv
import math
import statistics
import sys
from xml.sax.saxutils import escape

SERIES = [
    # mode in the CSV, legend label, colour, marker
    ("memory", "in memory", "#1f77b4", "circle"),
    ("data-dir", "--data-dir", "#d62728", "square"),
]
PANELS = [
    # column, panel title, y axis label, number format
    ("valid_p99_ms", "Revoke p99 latency", "p99 latency (ms)", "ms"),
    ("valid_rps", "Revoke throughput", "throughput (req/s)", "rps"),
]
WIDTH, HEIGHT = 1000, 470
TOP, BOTTOM = 92, 70  # room for the title and legend / for the x axis labels
LEFT, RIGHT, GAP = 84, 24, 96  # outer margins and the space between the two panels


def read(path):
    """{(mode, column): {size: [values...]}} from the scale CSV (empty cells skipped)."""
    out = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                size = int(float(row["size"]))
            except (KeyError, ValueError):
                continue
            for column, *_ in PANELS:
                text = (row.get(column) or "").strip()
                try:
                    value = float(text)
                except ValueError:
                    continue
                if math.isfinite(value):
                    out.setdefault((row["mode"], column), {}).setdefault(size, []).append(value)
    return out


def nice_ceiling(value):
    """A round number at or above value (1, 2, 2.5, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power * 1.0000001:
            return step * power
    return 10 * power


def size_label(n):
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def number(value, kind):
    if kind == "rps":
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def text(x, y, content, size=12, anchor="middle", weight="normal", fill="#222", extra=""):
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'font-weight="{weight}" fill="{fill}"{extra}>{escape(content)}</text>'
    )


def marker(kind, x, y, colour):
    if kind == "square":
        return (
            f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}" '
            f'stroke="white" stroke-width="1"/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}" stroke="white" stroke-width="1"/>'


def panel(data, column, title, ylabel, kind, x0, width):
    """The SVG elements of one panel whose plot area starts at x0 and is width wide."""
    y0, height = TOP, HEIGHT - TOP - BOTTOM
    medians = {}
    for mode, *_ in SERIES:
        by_size = data.get((mode, column), {})
        medians[mode] = sorted((s, statistics.median(v)) for s, v in by_size.items() if v)
    sizes = [s for pts in medians.values() for s, _ in pts]
    lo = min([10_000] + sizes)
    hi = max([1_000_000] + sizes)
    lmin, lmax = math.log10(lo), math.log10(hi)
    if lmax - lmin < 1e-9:
        lmax = lmin + 1
    top_value = max([v for pts in medians.values() for _, v in pts] + [0])
    ymax = nice_ceiling(top_value * 1.15)

    def px(size):
        return x0 + (math.log10(size) - lmin) / (lmax - lmin) * width

    def py(value):
        return y0 + height - value / ymax * height

    out = [f'<g class="panel" data-column="{escape(column)}">']
    out.append(f'<rect x="{x0}" y="{y0}" width="{width}" height="{height}" fill="#fafafa" stroke="#999"/>')
    # y grid and labels: five steps from 0
    for i in range(6):
        value = ymax * i / 5
        y = py(value)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + width}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        tick = f"{value:,.0f}" if kind == "rps" else f"{round(value, 6):g}"
        out.append(text(x0 - 8, y + 4, tick, size=11, anchor="end"))
    # x axis: decades labelled, 2..9 times a decade as minor ticks
    decade = math.floor(lmin)
    while decade <= math.ceil(lmax):
        for mult in range(1, 10):
            n = mult * 10 ** decade
            if n < lo * 0.999 or n > hi * 1.001:
                continue
            x = px(n)
            bottom = y0 + height
            if mult == 1:
                out.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{bottom}" stroke="#d0d0d0"/>')
                out.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 6}" stroke="#444"/>')
                out.append(text(x, bottom + 20, size_label(n), size=12))
            else:
                out.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 3}" stroke="#444"/>')
        decade += 1
    out.append(text(x0 + width / 2, y0 - 10, title, size=14, weight="bold"))
    out.append(text(x0 + width / 2, y0 + height + 44, "stored tokens (log scale)", size=12))
    ly = y0 + height / 2
    out.append(text(x0 - 62, ly, ylabel, size=12, extra=f' transform="rotate(-90 {x0 - 62:.1f} {ly:.1f})"'))
    # the series: a line through the medians, a marker and its value at each point
    for mode, _label, colour, shape in SERIES:
        pts = medians[mode]
        if len(pts) > 1:
            path = " ".join(f"{px(s):.1f},{py(v):.1f}" for s, v in pts)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for s, v in pts:
            out.append(marker(shape, px(s), py(v), colour))
            label_y = py(v) - 9 if mode == "memory" else py(v) + 18
            out.append(text(px(s), label_y, number(v, kind), size=10, fill=colour,
                            extra=' stroke="white" stroke-width="3" paint-order="stroke"'))
    out.append("</g>")
    return out


def render(data, subtitle):
    width = (WIDTH - LEFT - RIGHT - GAP) / 2
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="Helvetica, Arial, sans-serif">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        text(WIDTH / 2, 26, "revspec reference server: revoking valid tokens as the store grows",
             size=17, weight="bold"),
    ]
    if subtitle:
        out.append(text(WIDTH / 2, 46, subtitle, size=12, fill="#555"))
    # legend, centred under the title
    lx = WIDTH / 2 - 110
    for i, (_mode, label, colour, shape) in enumerate(SERIES):
        x = lx + i * 130
        out.append(f'<line x1="{x}" y1="64" x2="{x + 26}" y2="64" stroke="{colour}" stroke-width="2"/>')
        out.append(marker(shape, x + 13, 64, colour))
        out.append(text(x + 32, 68, label, size=12, anchor="start"))
    for i, (column, title, ylabel, kind) in enumerate(PANELS):
        out.extend(panel(data, column, title, ylabel, kind, LEFT + i * (width + GAP), width))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    args = list(argv[1:])
    subtitle = ""
    if "--subtitle" in args:
        i = args.index("--subtitle")
        if i + 1 >= len(args):
            sys.exit("--subtitle needs a value")
        subtitle = args[i + 1]
        del args[i : i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    data = read(args[0])
    if not data:
        sys.exit(f"{args[0]}: no scale data")
    with open(args[1], "w") as f:
        f.write(render(data, subtitle))


if __name__ == "__main__":
    main(sys.argv)
