"""Server-rendered SVG charts (no script, no CDN): bars for the largest namespaces, a line for growth,
columns of counts per day (a repository's pushes and pulls).

Each returns the parts a template draws; every text goes through the template's escaping. Colours come
from the theme (currentColor and Bootstrap's CSS variables), so both themes read.
"""

from __future__ import annotations

from dataclasses import dataclass

from web.templatetags.portus import human_size

WIDTH = 640
BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 200
LINE_HEIGHT = 200
PAD = 36
MAX_LABEL = 28


@dataclass
class Bar:
    label: str
    full_label: str
    value: int
    shared: int
    y: int
    width: float
    shared_width: float
    text: str


def bars(items: list[tuple[str, int, int]]) -> dict:
    """[(name, bytes, shared bytes)] → a horizontal bar chart, largest first."""
    items = sorted(items, key=lambda i: (-i[1], i[0]))
    top = max((value for _, value, _ in items), default=0) or 1
    span = WIDTH - LABEL_WIDTH - 90
    out = []
    for index, (name, value, shared) in enumerate(items):
        short = name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"
        out.append(Bar(label=short, full_label=name, value=value, shared=shared, y=index * (BAR_HEIGHT + BAR_GAP),
                       width=max(1.0, span * value / top), shared_width=span * min(shared, value) / top,
                       text=human_size(value)))
    return {"bars": out, "width": WIDTH, "height": max(1, len(out)) * (BAR_HEIGHT + BAR_GAP),
            "label_width": LABEL_WIDTH, "bar_height": BAR_HEIGHT}


def line(points: list[tuple[str, int]]) -> dict:
    """[(day label, bytes)] in order → a line chart with its polyline, axis labels and dots."""
    if not points:
        return {"points": "", "dots": [], "width": WIDTH, "height": LINE_HEIGHT, "ticks": []}
    top = max(value for _, value in points) or 1
    inner_w, inner_h = WIDTH - 2 * PAD - 40, LINE_HEIGHT - 2 * PAD
    step = inner_w / max(1, len(points) - 1)
    dots = []
    for index, (label, value) in enumerate(points):
        x = PAD + 40 + index * step
        y = PAD + inner_h - inner_h * value / top
        dots.append({"x": round(x, 1), "y": round(y, 1), "label": label, "text": human_size(value)})
    ticks = [{"y": round(PAD + inner_h - inner_h * f, 1), "text": human_size(int(top * f))} for f in (0, 0.5, 1)]
    return {"points": " ".join(f"{d['x']},{d['y']}" for d in dots), "dots": dots, "width": WIDTH,
            "height": LINE_HEIGHT, "ticks": ticks, "first": points[0][0], "last": points[-1][0],
            "left": PAD + 40, "right": WIDTH - PAD, "bottom": PAD + inner_h}


COLUMNS_HEIGHT = 120


@dataclass(frozen=True)
class CountSeries:
    key: str
    label: str
    color: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


def columns(days: list[str], series: list[CountSeries]) -> dict:
    """Counts per day (`days` oldest first, each series one count per day) → grouped columns, one group a
    day, in a viewBox the page stretches to its width (preserveAspectRatio="none"). The words (days, the
    peak) stay outside the SVG, in the page's own text, so they read at every width."""
    peak = max([1] + [max(s.counts, default=0) for s in series])
    slot = WIDTH / max(1, len(days))
    bar_w = max(1.0, (slot - 2) / max(1, len(series)))
    groups = []
    for index, day in enumerate(days):
        x = index * slot
        bars = []
        for offset, one in enumerate(series):
            value = one.counts[index]
            height = (COLUMNS_HEIGHT - 2) * value / peak
            bars.append({"key": one.key, "color": one.color, "value": value, "x": round(x + 1 + offset * bar_w, 1),
                         "y": round(COLUMNS_HEIGHT - height, 1), "width": round(bar_w, 1), "height": round(height, 1)})
        groups.append({"day": day, "bars": bars, "x": round(x, 1), "width": round(slot, 1)})
    marks = [days[0], days[len(days) // 2], days[-1]] if len(days) >= 3 else list(days)
    return {"groups": groups, "series": series, "width": WIDTH, "height": COLUMNS_HEIGHT, "peak": peak,
            "half": round(COLUMNS_HEIGHT / 2, 1), "marks": marks, "empty": not any(s.total for s in series)}
