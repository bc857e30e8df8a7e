"""Charts drawn on the server as SVG: stacked bars per day and lines per day. No script, no library.

Every mark carries a <title> (its day, series and figure) so a pointer or a screen reader can read it, and the
chart is labelled for assistive technology; the table under each chart has the same figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT = 880, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 36
# Colour-blind-safe palette (Okabe-Ito), then greys.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000", "#999999",
           "#666666", "#BBBBBB", "#444444")


def nice_max(value: float) -> float:
    """A round number at least `value` for the top of the axis."""
    if value <= 0:
        return 1
    step = 10 ** (len(str(int(value))) - 1)
    for mult in (1, 2, 2.5, 5, 10):
        if value <= mult * step and float(mult * step).is_integer():
            return mult * step
    return 10 * step


def intervals(top: float) -> int:
    """How many gridline intervals divide `top` into round whole numbers (1, 2, 2.5 or 5 times a power of ten)."""
    def round_step(step: float) -> bool:
        return step.is_integer() and float(nice_max(step)) == step
    return next((n for n in (5, 4, 2) if round_step(top / n)), 1)


def _frame(label: str, top: float, unit: str, days: Sequence[str]) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{escape(label)}" class="chart">', f"<title>{escape(label)}</title>"]
    n = intervals(top)
    for i in range(n + 1):
        value = top * i / n
        y = TOP + plot_h - plot_h * i / n
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        text = f"{value:g}{unit}"
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{escape(text)}</text>')
    every = max(1, len(days) // 10)
    step = plot_w / max(1, len(days))
    for i, day in enumerate(days):
        if i % every == 0:
            x = LEFT + step * (i + 0.5)
            out.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" class="axis">'
                       f"{escape(day[5:])}</text>")
    return out


def stacked_bars(label: str, days: Sequence[str], series: Mapping[str, Sequence[float]]) -> str:
    """Bars per day, one colour a series stacked bottom up in the order given."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    top = nice_max(max(totals, default=0))
    out = _frame(label, top, "", days)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(days))
    bar = max(1.0, step * 0.8)
    for i, day in enumerate(days):
        y = TOP + plot_h
        x = LEFT + step * i + (step - bar) / 2
        for k, (name, values) in enumerate(series.items()):
            value = values[i]
            if not value:
                continue
            h = plot_h * value / top
            y -= h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                       f'fill="{PALETTE[k % len(PALETTE)]}" data-day="{day}" data-series="{escape(name)}" '
                       f'data-value="{value:g}"><title>{day} {escape(name)}: {value:g}</title></rect>')
    out.append("</svg>")
    return "".join(out)


def lines(label: str, days: Sequence[str], series: Mapping[str, Sequence[float | None]], unit: str = "") -> str:
    """A line per series across the days; a missing figure (None) breaks its line."""
    figures = [v for values in series.values() for v in values if v is not None]
    top = nice_max(max(figures, default=0))
    out = _frame(label, top, unit, days)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(days))
    for k, (name, values) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        points: list[str] = []
        for i, (day, value) in enumerate(zip(days, values, strict=True)):
            if value is None:
                if len(points) > 1:
                    out.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                               f'stroke-width="2"/>')
                points = []
                continue
            x, y = LEFT + step * (i + 0.5), TOP + plot_h - plot_h * value / top
            points.append(f"{x:.1f},{y:.1f}")
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}" data-day="{day}" '
                       f'data-series="{escape(name)}" data-value="{value:g}"><title>{day} {escape(name)}: '
                       f"{value:g}{escape(unit)}</title></circle>")
        if len(points) > 1:
            out.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2"/>')
    out.append("</svg>")
    return "".join(out)


def legend(names: Sequence[str]) -> list[tuple[str, str]]:
    """(name, colour) in the order the charts draw them."""
    return [(name, PALETTE[k % len(PALETTE)]) for k, name in enumerate(names)]
