"""The browser's charts as inline SVG made on the server: no chart library, no network.
Every mark carries a <title> (its text on hover) and, on the timeline, a link to the
annotation's row below (its text on click)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

COLORS = {
    "keystep": "#2f6f8f",
    "keystep_benchmark": "#6b9fb8",
    "atomic": "#c9782b",
    "commentary": "#8a4f9e",
    "narration": "#3f8f4f",
    "demonstration": "#b8434d",
}
LANES = ("keystep", "keystep_benchmark", "atomic", "narration", "commentary", "demonstration")
#: signal lanes (a value over time, drawn as a line under the annotation lanes) and their units
SIGNALS = {"speed": "m/s", "gaze yaw": "deg", "gaze pitch": "deg"}
SIGNAL_COLORS = {"speed": "#2b7a78", "gaze yaw": "#b5179e", "gaze pitch": "#7209b7"}


def bars(counts: Mapping[str, int], title: str, width: int = 420, bar: int = 18) -> str:
    """A horizontal bar chart of ``counts`` (largest first)."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if not items:
        return f'<p class="muted">{escape(title)}: none</p>'
    top = max(n for _, n in items) or 1
    h = bar * len(items) + 24
    label_w = 150
    out = [
        f'<svg class="plot" role="img" aria-label="{escape(title)}" width="{width}" height="{h}" '
        f'viewBox="0 0 {width} {h}"><text x="0" y="12" class="title">{escape(title)}</text>'
    ]
    for i, (k, n) in enumerate(items):
        y = 20 + i * bar
        w = max(1, (width - label_w - 50) * n / top)
        out.append(
            f'<g><title>{escape(k)}: {n:,}</title><text x="{label_w - 6}" y="{y + 12}" text-anchor="end">'
            f'{escape(k[:22])}</text><rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{bar - 5}" '
            f'class="bar"/><text x="{label_w + w + 4:.1f}" y="{y + 12}">{n:,}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def histogram(
    values: Sequence[float | None],
    title: str,
    scale: float = 1.0,
    bins: int = 20,
    width: int = 420,
    height: int = 150,
) -> str:
    """A histogram of ``values`` / ``scale`` in ``bins`` equal bins."""
    xs = [v / scale for v in values if v is not None]
    if not xs:
        return f'<p class="muted">{escape(title)}: none</p>'
    lo, hi = min(xs), max(xs)
    span = (hi - lo) or 1.0
    counts = [0] * bins
    for x in xs:
        counts[min(bins - 1, int((x - lo) / span * bins))] += 1
    top = max(counts)
    bw = (width - 20) / bins
    out = [
        f'<svg class="plot" role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><text x="0" y="12" class="title">{escape(title)}</text>'
    ]
    for i, n in enumerate(counts):
        h = (height - 45) * n / top if top else 0
        a, b = lo + span * i / bins, lo + span * (i + 1) / bins
        out.append(
            f'<g><title>{a:.1f} to {b:.1f}: {n:,}</title><rect x="{10 + i * bw:.1f}" '
            f'y="{height - 25 - h:.1f}" width="{bw - 1:.1f}" height="{h:.1f}" class="bar"/></g>'
        )
    out.append(
        f'<text x="10" y="{height - 8}">{lo:.1f}</text><text x="{width - 10}" y="{height - 8}" '
        f'text-anchor="end">{hi:.1f}</text></svg>'
    )
    return "".join(out)


def timeline(
    events: Iterable[tuple[Any, ...]],
    duration: float | None,
    at: float | None = None,
    width: int = 1000,
    lane: int = 26,
    signals: Iterable[tuple[str, float, float | None]] = (),
) -> str:
    """A take's annotations as lanes on one time axis: intervals as bars, moments as marks;
    each mark links to its row (#ev-N) and shows its text on hover. The svg's data-x0,
    data-x1 and data-end (and each mark's data-start) let the take page's player move a
    play head (the hidden line .playhead) and seek. ``signals`` are (lane, take second,
    value) rows (the lanes of :data:`SIGNALS`, e.g. the wearer's speed and gaze angles),
    each lane drawn as a line under the annotation lanes."""
    events = list(events)
    series: dict[str, list[tuple[float, float]]] = {}
    for name, t, v in signals:
        if t is not None and v is not None:
            series.setdefault(name, []).append((t, v))
    end: float = max([duration or 0.0] + [e[2] or e[1] or 0.0 for e in events] + [1.0])
    lanes = [s for s in LANES if any(e[0] == s for e in events)] + sorted({e[0] for e in events} - set(LANES))
    signal_lanes = [s for s in SIGNALS if s in series] + sorted(set(series) - set(SIGNALS))
    label_w = 130
    h = 30 + lane * max(1, len(lanes) + len(signal_lanes))

    def x(t: float) -> float:
        return label_w + (width - label_w - 10) * max(0.0, t) / end

    out = [
        f'<svg class="timeline" role="img" aria-label="annotations on one time axis" width="{width}" '
        f'height="{h}" viewBox="0 0 {width} {h}" data-x0="{label_w}" data-x1="{width - 10}" data-end="{end!r}">'
    ]
    for i, s in enumerate(lanes):
        y = 20 + i * lane
        out.append(
            f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" class="lane">{escape(s)}</text>'
            f'<line x1="{label_w}" x2="{width - 10}" y1="{y + 10}" y2="{y + 10}" class="axis"/>'
        )
    for n, (source, start, stop, text) in enumerate(events):
        if start is None:
            continue
        y = 20 + lanes.index(source) * lane
        color = COLORS.get(source, "#555")
        tip = escape(
            f"{source} {start:.1f}s" + (f"-{stop:.1f}s" if stop is not None else "") + f": {text or ''}"
        )
        if stop is not None:
            mark = (
                f'<rect x="{x(start):.1f}" y="{y + 2}" width="{max(2.0, x(stop) - x(start)):.1f}" '
                f'height="16" fill="{color}" class="span"/>'
            )
        else:
            mark = f'<circle cx="{x(start):.1f}" cy="{y + 10}" r="4.5" fill="{color}" class="point"/>'
        out.append(
            f'<a href="#ev-{n}" class="mark" data-source="{escape(source)}" data-start="{start!r}" '
            f'data-ev="{n}"><title>{tip}</title>{mark}</a>'
        )
    for i, name in enumerate(signal_lanes):
        out.append(_signal_lane(name, series[name], 20 + (len(lanes) + i) * lane, lane, x, label_w, width))
    for k in range(0, 11):
        t = end * k / 10
        out.append(f'<text x="{x(t):.1f}" y="{h - 2}" text-anchor="middle" class="tick">{t:.0f}s</text>')
    if at is not None:
        out.append(f'<line x1="{x(at):.1f}" x2="{x(at):.1f}" y1="10" y2="{h - 12}" class="cursor"/>')
    out.append(
        f'<line x1="{label_w}" x2="{label_w}" y1="10" y2="{h - 12}" class="playhead" visibility="hidden"/>'
    )
    out.append("</svg>")
    return "".join(out)


def _signal_lane(
    name: str, points: list[tuple[float, float]], y: float, lane: int, x: Any, label_w: int, width: int
) -> str:
    """One signal lane: its label, a line of its values scaled to the lane (low at the
    bottom), and its range on hover."""
    lo, hi = min(v for _, v in points), max(v for _, v in points)
    span = (hi - lo) or 1.0
    top, bottom = y + 1, y + lane - 5

    def yy(v: float) -> float:
        return bottom - (bottom - top) * (v - lo) / span

    unit = SIGNALS.get(name, "")
    tip = escape(f"{name}: {lo:.2f} to {hi:.2f} {unit}".rstrip())
    line = " ".join(f"{x(t):.1f},{yy(v):.1f}" for t, v in sorted(points))
    color = SIGNAL_COLORS.get(name, "#555")
    return (
        f'<g class="signal" data-lane="{escape(name)}"><title>{tip}</title>'
        f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" class="lane">{escape(name)}</text>'
        f'<line x1="{label_w}" x2="{width - 10}" y1="{bottom:.1f}" y2="{bottom:.1f}" class="axis"/>'
        f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="1.2"/>'
        f'<text x="{label_w - 8}" y="{y + 24}" text-anchor="end" class="tick">{lo:.1f} to {hi:.1f} '
        f"{escape(unit)}</text>"
        "</g>"
    )


def top_down_path(
    points: Sequence[tuple[float, float, float]],
    at: float | None = None,
    size: int = 360,
    title: str = "trajectory from above",
) -> str:
    """A take's trajectory seen from above: (take second, x, y) points in metres as one
    line, x to the right and y up at one scale on both axes, the start as a circle, the end
    as a square, a scale bar, and (with ``at``) the position at that take second."""
    pts = [(t, px, py) for t, px, py in points if px is not None and py is not None]
    if len(pts) < 2:
        return f'<p class="muted">{escape(title)}: no trajectory</p>'
    xs, ys = [p[1] for p in pts], [p[2] for p in pts]
    x0, y0 = min(xs), min(ys)
    extent = max(max(xs) - x0, max(ys) - y0, 0.5)
    pad = 24
    k = (size - 2 * pad) / extent
    cx = pad + ((size - 2 * pad) - (max(xs) - x0) * k) / 2
    cy = pad + ((size - 2 * pad) - (max(ys) - y0) * k) / 2

    def px_(v: float) -> float:
        return cx + (v - x0) * k

    def py_(v: float) -> float:
        return size - (cy + (v - y0) * k)

    line = " ".join(f"{px_(a):.1f},{py_(b):.1f}" for _, a, b in pts)
    bar = _nice(extent / 4)
    (t0, sx, sy), (t1, ex, ey) = pts[0], pts[-1]
    out = [
        f'<svg class="plot path" role="img" aria-label="{escape(title)}" width="{size}" height="{size + 16}" '
        f'viewBox="0 0 {size} {size + 16}"><text x="0" y="12" class="title">{escape(title)}</text>',
        f'<polyline points="{line}" fill="none" stroke="#2b7a78" stroke-width="1.5" class="route"/>',
        f'<g><title>start {t0:.1f}s</title><circle cx="{px_(sx):.1f}" cy="{py_(sy):.1f}" r="5" '
        f'fill="#3f8f4f" class="start"/></g>',
        f'<g><title>end {t1:.1f}s</title><rect x="{px_(ex) - 4.5:.1f}" y="{py_(ey) - 4.5:.1f}" width="9" '
        f'height="9" fill="#b8434d" class="end"/></g>',
        f'<line x1="{pad}" x2="{pad + bar * k:.1f}" y1="{size + 6}" y2="{size + 6}" class="scale" '
        f'stroke="#333" stroke-width="2"/><text x="{pad + bar * k + 6:.1f}" y="{size + 10}" class="tick">'
        f"{bar:g} m</text>",
    ]
    if at is not None:
        near = min(pts, key=lambda p: abs(p[0] - at))
        out.append(
            f'<g><title>{at:.1f}s</title><circle cx="{px_(near[1]):.1f}" cy="{py_(near[2]):.1f}" r="6" '
            f'fill="none" stroke="#a4262c" stroke-width="2" class="cursor"/></g>'
        )
    out.append("</svg>")
    return "".join(out)


def _nice(v: float) -> float:
    """The largest of 1, 2, 5 times a power of ten not above ``v``."""
    e = 10.0 ** math.floor(math.log10(v))
    return max(m * e for m in (1, 2, 5) if m * e <= v)
