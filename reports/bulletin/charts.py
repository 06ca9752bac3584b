"""Bulletin charts: one spec in, an accessible SVG, a PNG, alt text and the CSV behind it out.

Style follows the Government Analysis Function (AF) guidance and the ONS chart style
(see `reference/peers-and-standards.md` section 4.3):

- the AF matplotlib style and categorical palette from the `afcharts` package, at most 4 colours;
  the highlighted series or category takes the first colour (dark blue);
- lines are labelled directly at their right end (no legend) and use varied line styles, so colour is
  never the only cue; the highlighted line is thicker and its label bold;
- bar charts are horizontal (area names readable) with the value axis from zero; the highlighted bar
  is dark blue with a bold label, the others a mid grey that keeps 3:1 contrast against white;
- no title or source inside the image (the page carries the title, subtitle and source): only axis
  tick labels, direct labels and value labels, written as real ``<text>`` in the SVG;
- missing values leave a gap in a line and no bar (a "missing" label instead), never a zero.

Every chart is rendered deterministically: a fixed figure size and dpi, a constant ``svg.hashsalt``,
no dates or software names in the SVG or PNG metadata, and no randomness, so that a rebuilt bulletin
is byte-identical. matplotlib is used through its object API (``Figure`` with an Agg canvas), never
pyplot, and the global backend is left alone; rcParams are global in matplotlib, so each render
applies the style inside ``rc_context`` under a lock.
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import io
import itertools
import json
import math
import os
import re
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from html import escape
from importlib import resources
from pathlib import Path
from typing import Literal

import matplotlib as mpl
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, MaxNLocator
from PIL import Image

from reports.bulletin import format as fmt

Kind = Literal["line", "bar"]
Unit = Literal["count", "percent", "gbp", "index", "ratio", "rank", "score"]

# --- colours -------------------------------------------------------------------------------------------
# Analysis Function categorical palette, "Data visualisation: colours in charts" section 4
# (https://analysisfunction.civilservice.gov.uk/policy-store/data-visualisation-colours-in-charts/):
# dark blue, turquoise, dark pink, orange, dark grey, light purple. Used only if afcharts is missing.
AF_CATEGORICAL_FALLBACK = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")


def _af_categorical() -> tuple[str, ...]:
    try:
        from afcharts.af_colours import get_af_colours

        return tuple(c.upper() for c in get_af_colours("categorical", number_of_colours=6))
    except Exception:  # afcharts not installed or its data file unreadable
        return AF_CATEGORICAL_FALLBACK


AF_CATEGORICAL = _af_categorical()
MAX_COLOURS = 4
# Line charts: the AF categorical palette in order, at most 4 colours (all >= 3:1 against white).
LINE_COLOURS = AF_CATEGORICAL[:MAX_COLOURS]
LINE_STYLES = ("solid", (0, (5, 2.5)), (0, (1, 1.6)), (0, (7, 2, 1.5, 2)))
# Bar charts: the AF "focus" idea (one dark blue bar, the rest grey), but with a grey dark enough for
# 3:1 contrast against white (the AF focus grey #BFBFBF is 1.8:1).
FOCUS_COLOUR = AF_CATEGORICAL[0]
OTHER_BAR_COLOUR = "#7A7A7A"
TEXT_COLOUR = "#1A1A1A"  # afcharts label colour (0.1, 0.1, 0.1)
GRID_COLOUR = "#D9D9D9"
ZERO_LINE_COLOUR = "#767676"
WHITE = "#FFFFFF"

# --- geometry ------------------------------------------------------------------------------------------
# 1 pt of the figure = 1 px of the SVG as displayed (the figure is 600 pt wide and shown 600 px wide);
# the PNG is the same figure at 2x (1200 px wide).
WIDTH_PX = 600
# The narrow layout, for a phone: drawn at the width it is shown (a 375 px screen less its margins),
# so its text is shown at FONT_SIZE px instead of being scaled down to ~7 px.
NARROW_WIDTH_PX = 340
LINE_HEIGHT_PX = 270
NARROW_LINE_HEIGHT_PX = 240
BAR_ROW_PX = 24
NARROW_BAR_ROW_PX = 22
BAR_EXTRA_PX = 56
PNG_DPI = 144  # 72 pt per inch x 2
FONT_SIZE = 13
LABEL_WRAP = 18  # characters per line of a direct label
NARROW_LABEL_WRAP = 11
SVG_FONT_FAMILY = "Arial, 'Helvetica Neue', Helvetica, 'DejaVu Sans', sans-serif"
HASH_SALT = "wm-economic-impact-monitor"
SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}

_LOCK = threading.RLock()


@dataclass(frozen=True)
class ChartSpec:
    """What to draw.

    ``data`` for a line chart has columns ``series``, ``x`` (period label), ``x_order`` (int) and
    ``value`` (float, NaN for missing); for a bar chart ``x`` (category label), ``x_order`` and
    ``value``. Bars are drawn top to bottom in ``x_order``. The source line belongs on the page, not
    in the image, so ``source`` is carried but never drawn.
    """

    id: str
    kind: Kind
    title: str
    subtitle: str
    unit: Unit
    decimals: int
    data: pd.DataFrame
    highlight: str | None = None
    source: str = ""
    width: int = WIDTH_PX  # as displayed, in px: WIDTH_PX, or NARROW_WIDTH_PX for a phone

    @property
    def narrow(self) -> bool:
        return self.width < WIDTH_PX


@dataclass(frozen=True)
class RenderedChart:
    id: str
    svg: str
    png: bytes
    alt: str
    csv: str


# --- validation and tidy data --------------------------------------------------------------------------
_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def _validate(spec: ChartSpec) -> None:
    if not _ID_RE.match(spec.id):
        raise ValueError(f"chart id {spec.id!r} must be file-safe: a letter then letters, digits, - or _")
    if spec.kind not in ("line", "bar"):
        raise ValueError(f"chart {spec.id}: unknown kind {spec.kind!r}")
    if spec.decimals < 0:
        raise ValueError(f"chart {spec.id}: decimals must be >= 0")
    needed = {"x", "x_order", "value"} | ({"series"} if spec.kind == "line" else set())
    missing = needed - set(spec.data.columns)
    if missing:
        raise ValueError(f"chart {spec.id}: data lacks column(s) {', '.join(sorted(missing))}")
    if spec.data.empty:
        raise ValueError(f"chart {spec.id}: no data")
    keys = ["series", "x"] if spec.kind == "line" else ["x"]
    if spec.data.duplicated(keys).any():
        raise ValueError(f"chart {spec.id}: duplicate {'/'.join(keys)} rows")
    if spec.kind == "line":
        names = _series_names(spec)
        if len(names) > MAX_COLOURS:
            raise ValueError(f"chart {spec.id}: {len(names)} lines; at most {MAX_COLOURS} are allowed")
        if spec.highlight is not None and spec.highlight not in names:
            raise ValueError(f"chart {spec.id}: highlight {spec.highlight!r} is not a series")
    elif spec.highlight is not None and spec.highlight not in set(spec.data["x"]):
        raise ValueError(f"chart {spec.id}: highlight {spec.highlight!r} is not a category")


def _value(v: object) -> float | None:
    if v is None or pd.isna(v):
        return None
    return float(v)


def _series_names(spec: ChartSpec) -> list[str]:
    """Series in drawing order: the highlighted one first, then the others as they first appear."""
    names = list(dict.fromkeys(str(s) for s in spec.data["series"]))
    if spec.highlight in names:
        names.remove(spec.highlight)
        names.insert(0, spec.highlight)
    return names


def _periods(spec: ChartSpec) -> list[tuple[int, str]]:
    """(x_order, label) for every period on the axis, in order."""
    pairs = spec.data[["x_order", "x"]].drop_duplicates().sort_values("x_order", kind="stable")
    out = [(int(o), str(x)) for o, x in pairs.itertuples(index=False)]
    if len({o for o, _ in out}) != len(out):
        raise ValueError(f"chart {spec.id}: one x_order has two x labels")
    return out


def _series_points(spec: ChartSpec, name: str) -> list[tuple[int, str, float | None]]:
    rows = spec.data[spec.data["series"].astype(str) == name].sort_values("x_order", kind="stable")
    triples = rows[["x_order", "x", "value"]].itertuples(index=False)
    return [(int(o), str(x), _value(v)) for o, x, v in triples]


def _categories(spec: ChartSpec) -> list[tuple[str, float | None]]:
    rows = spec.data.sort_values("x_order", kind="stable")
    return [(str(x), _value(v)) for x, v in rows[["x", "value"]].itertuples(index=False)]


def _published(v: float | None, decimals: int) -> float | None:
    """The value as published: rounded half-up to the given decimals."""
    return None if v is None else float(fmt.rounded(v, decimals))


def _show(v: float | None, spec: ChartSpec) -> str:
    """A value in ONS style; negatives with a true minus sign (also before £)."""
    if v is not None and fmt.rounded(v, spec.decimals) < 0:
        return "−" + fmt.value(-v, spec.unit, spec.decimals)
    return fmt.value(v, spec.unit, spec.decimals)


# --- colours in use ------------------------------------------------------------------------------------
def series_colours(spec: ChartSpec) -> dict[str, str]:
    """The colour of every line (by series) or bar (by category) the chart draws."""
    if spec.kind == "line":
        return {name: LINE_COLOURS[i] for i, name in enumerate(_series_names(spec))}
    if spec.highlight is None:
        return {x: FOCUS_COLOUR for x, _ in _categories(spec)}
    return {x: FOCUS_COLOUR if x == spec.highlight else OTHER_BAR_COLOUR for x, _ in _categories(spec)}


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of a #RRGGBB colour."""
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(a: str, b: str = WHITE) -> float:
    """WCAG contrast ratio between two #RRGGBB colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _label_colour(colour: str) -> str:
    """Direct labels are text: use the line's colour only where it meets 4.5:1 against white."""
    return colour if contrast_ratio(colour) >= 4.5 else TEXT_COLOUR


# --- alt text and CSV ----------------------------------------------------------------------------------
def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def alt_text(spec: ChartSpec) -> str:
    """Plain-English description of the chart, from the same data it draws."""
    _validate(spec)
    return _line_alt(spec) if spec.kind == "line" else _bar_alt(spec)


def _line_alt(spec: ChartSpec) -> str:
    periods = _periods(spec)
    names = _series_names(spec)
    parts = [f"Line chart: {spec.subtitle.rstrip('.')}."]
    for name in names:
        points = _series_points(spec, name)
        present = [(x, v) for _, x, v in points if v is not None]
        if not present:
            parts.append(f"{name}: no data.")
            continue
        (first_x, first_v), (last_x, last_v) = present[0], present[-1]
        sentence = f"{name}: {_show(last_v, spec)} in {last_x}"
        if len(present) > 1:
            a, b = _published(first_v, spec.decimals), _published(last_v, spec.decimals)
            direction = "up from" if b > a else "down from" if b < a else "unchanged from"
            sentence += f", {direction} {_show(first_v, spec)} in {first_x}"
        sentence += _turning_point(present, spec)
        parts.append(sentence + ".")
        gaps = [x for _, x, v in points if v is None]
        absent = {x for _, x in periods} - {x for _, x, _ in points}
        gaps += [x for _, x in periods if x in absent]
        if gaps:
            ordered = [x for _, x in periods if x in set(gaps)]
            parts.append(f"{name} is missing for {_join(ordered)}.")
    return " ".join(parts)


def _turning_point(present: list[tuple[str, float]], spec: ChartSpec) -> str:
    """', peaking at 8.9% in May 2020' (or 'with a low of ...') when the series' highest (lowest)
    printed value lies strictly above (below) both its first and its last."""
    if len(present) < 3:
        return ""
    printed = [(x, v, _published(v, spec.decimals)) for x, v in present]
    ends = (printed[0][2], printed[-1][2])
    top = max(printed[1:-1], key=lambda p: p[2])
    bottom = min(printed[1:-1], key=lambda p: p[2])
    if top[2] > max(ends):
        return f", peaking at {_show(top[1], spec)} in {top[0]}"
    if bottom[2] < min(ends):
        return f", with a low of {_show(bottom[1], spec)} in {bottom[0]}"
    return ""


def _bar_alt(spec: ChartSpec) -> str:
    cats = _categories(spec)
    present = [(x, v) for x, v in cats if v is not None]
    missing = [x for x, v in cats if v is None]
    parts = [f"Bar chart: {spec.subtitle.rstrip('.')}."]
    if present:
        pub = {x: _published(v, spec.decimals) for x, v in present}
        top = max(pub.values())
        bottom = min(pub.values())
        highest = [x for x, _ in present if pub[x] == top]
        lowest = [x for x, _ in present if pub[x] == bottom]
        top_text = _show(next(v for x, v in present if x == highest[0]), spec)
        bottom_text = _show(next(v for x, v in present if x == lowest[0]), spec)
        if len(present) == 1:
            parts.append(f"{highest[0]}: {top_text}.")
        elif top == bottom:
            parts.append(f"All are {top_text}.")
        else:
            parts.append(f"Highest: {_join(highest)}, {top_text}. Lowest: {_join(lowest)}, {bottom_text}.")
        if spec.highlight is not None and spec.highlight in pub and len(present) > 1:
            value = pub[spec.highlight]
            rank = 1 + sum(1 for v in pub.values() if v > value)
            tied = sum(1 for v in pub.values() if v == value) > 1
            highlight_value = _show(next(v for x, v in present if x == spec.highlight), spec)
            parts.append(
                f"{spec.highlight}: {highlight_value}, {'joint ' if tied else ''}{_ordinal(rank)} highest "
                f"of {len(present)}."
            )
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        parts.append(f"{_join(missing)} {verb} missing (no bar drawn).")
    return " ".join(parts)


def _csv_number(v: float | None, decimals: int) -> str:
    return "" if v is None else f"{fmt.rounded(v, decimals):.{decimals}f}"


def chart_csv(spec: ChartSpec) -> str:
    """The data behind the chart: tidy, rounded as published, missing values empty."""
    _validate(spec)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if spec.kind == "line":
        writer.writerow(["series", "x", "value"])
        for name in _series_names(spec):
            for _, x, v in _series_points(spec, name):
                writer.writerow([name, x, _csv_number(v, spec.decimals)])
    else:
        writer.writerow(["x", "value"])
        for x, v in _categories(spec):
            writer.writerow([x, _csv_number(v, spec.decimals)])
    return buf.getvalue()


# --- style ---------------------------------------------------------------------------------------------
def _afcharts_rc() -> dict[str, object]:
    """The afcharts matplotlib style sheet as rcParams ({} if afcharts is not installed)."""
    try:
        path = resources.files("afcharts") / "afcharts.mplstyle"
        with resources.as_file(path) as p:
            return dict(mpl.rc_params_from_file(str(p), use_default_template=False, fail_on_error=True))
    except Exception:
        return {}


_FALLBACK_RC: dict[str, object] = {
    # The afcharts style sheet (1.2.0), restated for when the package is missing.
    "axes.edgecolor": "#CCCCCC",
    "axes.labelcolor": TEXT_COLOUR,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.spines.left": False,
    "axes.axisbelow": True,
    "axes.grid": True,
    "grid.linestyle": "-",
    "grid.linewidth": 0.6,
    "lines.linewidth": 2,
    "xtick.color": "#CCCCCC",
    "xtick.labelcolor": TEXT_COLOUR,
    "ytick.color": "#CCCCCC",
    "ytick.labelcolor": TEXT_COLOUR,
    "legend.frameon": False,
}

_RC: dict[str, object] = {
    **(_afcharts_rc() or _FALLBACK_RC),
    # Ours: DejaVu Sans ships with matplotlib, so layout and PNG bytes do not depend on installed fonts.
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": FONT_SIZE,
    "text.color": TEXT_COLOUR,
    "grid.color": GRID_COLOUR,
    "axes.prop_cycle": mpl.cycler(color=list(LINE_COLOURS)),
    "axes.unicode_minus": True,
    "svg.fonttype": "none",  # real <text>, not glyph paths: no images of text
    "svg.hashsalt": HASH_SALT,
    "svg.image_inline": True,
    "path.simplify": False,
    "figure.dpi": 72,
    "savefig.dpi": 72,
    "savefig.facecolor": WHITE,
    "savefig.edgecolor": WHITE,
    "savefig.transparent": False,
    "savefig.bbox": "standard",
    "savefig.pad_inches": 0.0,
    "figure.facecolor": WHITE,
    "axes.facecolor": WHITE,
}


@contextmanager
def _style() -> Iterator[None]:
    with _LOCK, mpl.rc_context(_RC):
        yield


# --- drawing -------------------------------------------------------------------------------------------
def _tick_text(v: float, unit: str, decimals: int) -> str:
    text = f"{abs(v):,.{decimals}f}"
    if unit == "gbp":
        text = f"£{text}"
    elif unit == "percent":
        text = f"{text}%"
    return f"−{text}" if v < 0 and float(text.strip("£%").replace(",", "")) != 0 else text


def _fix_ticks(axis, lo: float, hi: float, unit: str) -> None:
    """Round-number ticks within [lo, hi], labelled with no more decimals than they need."""
    ticks = [float(t) for t in MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)]
    ticks = [t for t in ticks if lo - 1e-9 <= t <= hi + 1e-9]
    decimals = next(
        (d for d in range(0, 6) if all(abs(t - round(t, d)) < 1e-9 for t in ticks)),
        6,
    )
    labels = [_tick_text(0.0 if abs(t) < 1e-12 else t, unit, decimals) for t in ticks]
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FixedFormatter(labels))


def _nice_limits(lo: float, hi: float) -> tuple[float, float]:
    """Round-number limits around [lo, hi] from the tick locator."""
    if lo == hi:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    ticks = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    return float(min(ticks[0], lo)), float(max(ticks[-1], hi))


def _new_figure(width_px: int, height_px: int) -> Figure:
    fig = Figure(figsize=(width_px / 72, height_px / 72), dpi=72, facecolor=WHITE)
    FigureCanvasAgg(fig)
    return fig


_MONTH_LABEL = re.compile(r"^(?P<month>[A-Z][a-z]+) (?P<year>\d{4})$")


def _short_month(label: str) -> str:
    """'October 2026' -> 'Oct 2026'; any other label as it is."""
    match = _MONTH_LABEL.match(label)
    return f"{match['month'][:3]} {match['year']}" if match else label


def time_ticks(labels: list[str], axes_px: float) -> list[tuple[int, str]]:
    """(index, text) of the period axis's ticks, for a plot `axes_px` wide: the first and the last
    period always ('Jan 2020', 'Oct 2026'), and between them year starts labelled by year (quarter
    starts, labelled by month, over two years or less), every one if they fit without touching,
    else every second, third... Non-monthly axes take every period that fits the same way."""
    n = len(labels)
    if n == 1:
        return [(0, _short_month(labels[0]))]
    months = [_MONTH_LABEL.match(label) for label in labels]
    ends = [(0, _short_month(labels[0])), (n - 1, _short_month(labels[-1]))]
    if all(months):
        starts = ("January", "April", "July", "October") if n <= 25 else ("January",)
        inner = [
            (i, _short_month(labels[i]) if n <= 25 else months[i]["year"])
            for i in range(1, n - 1)
            if months[i]["month"] in starts
        ]
    else:
        inner = [(i, labels[i]) for i in range(1, n - 1)]
    per_period = axes_px / (n - 1)

    def fits(ticks: list[tuple[int, str]]) -> bool:
        spans = [(i * per_period, len(text) * FONT_SIZE * 0.62) for i, text in ticks]
        return all(b[0] - a[0] >= (a[1] + b[1]) / 2 + 10 for a, b in itertools.pairwise(spans))

    for step in range(1, len(inner) + 1):
        ticks = [ends[0], *inner[step - 1 :: step], ends[1]]
        if fits(ticks):
            return ticks
        # Dropping the tick nearest the last period may be all it takes.
        if len(ticks) > 2 and fits(ticks[:-2] + ticks[-1:]):
            return ticks[:-2] + ticks[-1:]
    return ends


def _spread(ys: list[float], gaps: list[float]) -> list[float]:
    """Nudge label positions apart (keeping their order) so that labels i and j are at least
    (gaps[i] + gaps[j]) / 2 apart."""
    order = sorted(range(len(ys)), key=lambda i: (ys[i], i))
    placed = [ys[i] for i in order]
    need = [gaps[i] for i in order]
    for _ in range(100):
        moved = False
        for k in range(1, len(placed)):
            overlap = (need[k] + need[k - 1]) / 2 - (placed[k] - placed[k - 1])
            if overlap > 1e-9:
                placed[k - 1] -= overlap / 2
                placed[k] += overlap / 2
                moved = True
        if not moved:
            break
    out = [0.0] * len(ys)
    for k, i in enumerate(order):
        out[i] = placed[k]
    return out


def _width(texts, renderer) -> float:
    return max((t.get_window_extent(renderer).width for t in texts), default=0.0)


def _place_axes(fig: Figure, ax, *, left: float, right: float, bottom: float, top: float) -> None:
    """Set the plot area from margins in pixels (= points)."""
    w, h = fig.get_size_inches() * fig.dpi
    ax.set_position((left / w, bottom / h, 1 - (left + right) / w, 1 - (bottom + top) / h))


def _draw_line(spec: ChartSpec) -> Figure:
    width, height = spec.width, NARROW_LINE_HEIGHT_PX if spec.narrow else LINE_HEIGHT_PX
    fig = _new_figure(width, height)
    ax = fig.add_axes((0.1, 0.1, 0.7, 0.85))
    renderer = fig.canvas.get_renderer()
    periods = _periods(spec)
    position = {o: i for i, (o, _) in enumerate(periods)}
    colours = series_colours(spec)
    values = [float(v) for v in spec.data["value"] if _value(v) is not None]
    lo, hi = _nice_limits(min(values), max(values)) if values else (0.0, 1.0)
    ends: list[tuple[int, float]] = []  # (last x, last value) of each labelled series
    labels = []
    for i, name in enumerate(_series_names(spec)):
        points = {position[o]: v for o, _, v in _series_points(spec, name)}
        xs = list(range(len(periods)))
        ys = [points.get(x) for x in xs]
        emphasis = name == spec.highlight
        ax.plot(
            xs,
            [math.nan if y is None else y for y in ys],  # NaN: a gap, never a zero
            color=colours[name],
            linestyle=LINE_STYLES[i],
            linewidth=3.0 if emphasis else 2.0,
            solid_capstyle="butt",
            dash_capstyle="butt",
            gid=f"line-{i}",
        )
        # A point with no neighbour would vanish from a gapped line: mark it.
        lonely = [
            x
            for x in xs
            if ys[x] is not None and (x == 0 or ys[x - 1] is None) and (x == len(xs) - 1 or ys[x + 1] is None)
        ]
        if lonely:
            ax.plot(
                lonely,
                [ys[x] for x in lonely],
                linestyle="none",
                marker="o",
                markersize=6 if emphasis else 5,
                color=colours[name],
                gid=f"point-{i}",
            )
        last = max((x for x in xs if ys[x] is not None), default=None)
        if last is None:
            continue
        ends.append((last, float(ys[last])))
        labels.append(
            ax.annotate(
                textwrap.fill(name, NARROW_LABEL_WRAP if spec.narrow else LABEL_WRAP),
                xy=(last, float(ys[last])),
                xytext=(8, 0),
                textcoords="offset points",
                va="center",
                ha="left",
                color=_label_colour(colours[name]),
                fontweight="bold" if emphasis else "normal",
                linespacing=1.1,
                annotation_clip=False,
                gid=f"label-{i}",
            )
        )
    ax.set_ylim(lo, hi)
    ax.set_xlim(-0.3, len(periods) - 1 + 0.3)
    _fix_ticks(ax.yaxis, lo, hi, spec.unit)
    ax.tick_params(axis="x", length=4)
    ax.tick_params(axis="y", length=0)
    # Margins: y tick labels on the left, direct labels on the right, one line of period labels below.
    left = _width(ax.get_yticklabels(), renderer) + 10
    label_space = max((_width([t], renderer) + 8 for t in labels), default=0.0)
    right = max(12.0, label_space - (width - left) * 0.3 / (len(periods) + 0.6) + 6)
    bottom = FONT_SIZE * 1.3 + 14
    _place_axes(fig, ax, left=left, right=right, bottom=bottom, top=FONT_SIZE)
    # The first and last periods, and as many year (or quarter) starts between as fit.
    axes_px = ax.get_position().width * width
    ticks = time_ticks([x for _, x in periods], axes_px)
    ax.xaxis.set_major_locator(FixedLocator([i for i, _ in ticks]))
    ax.xaxis.set_major_formatter(FixedFormatter([text for _, text in ticks]))
    # No period label may run off the image: widen the margins to hold the first and the last.
    tick_labels = ax.get_xticklabels()
    first_label, last_label = tick_labels[0], tick_labels[-1]
    overflow_right = last_label.get_window_extent(renderer).x1 - (width - 2)
    overflow_left = 2 - first_label.get_window_extent(renderer).x0
    if overflow_right > 0 or overflow_left > 0:
        right += max(0.0, overflow_right)
        left += max(0.0, overflow_left)
        _place_axes(fig, ax, left=left, right=right, bottom=bottom, top=FONT_SIZE)
    # Direct labels nudged apart where they would overlap, now that the plot height is known.
    per_px = (hi - lo) / (ax.get_position().height * height)
    gaps = [(t.get_text().count("\n") + 1) * FONT_SIZE * 1.2 * per_px for t in labels]
    for text, (last, _), y_label in zip(labels, ends, _spread([y for _, y in ends], gaps), strict=True):
        text.xy = (last, y_label)
    return fig


def _draw_bar(spec: ChartSpec) -> Figure:
    cats = _categories(spec)
    row = NARROW_BAR_ROW_PX if spec.narrow else BAR_ROW_PX
    fig = _new_figure(spec.width, BAR_EXTRA_PX + row * len(cats))
    ax = fig.add_axes((0.3, 0.1, 0.6, 0.85))
    renderer = fig.canvas.get_renderer()
    colours = series_colours(spec)
    values = [v for _, v in cats if v is not None]
    # The value axis always includes zero; bars run from zero.
    lo, hi = min([0.0, *values]), max([0.0, *values])
    if lo == hi:
        hi = 1.0
    lo, hi = _nice_limits(lo, hi)  # the axis's last tick at or beyond the largest bar
    value_labels = []
    for i, (x, v) in enumerate(cats):
        if v is None:
            ax.annotate(
                fmt.MISSING,
                xy=(0, i),
                xytext=(5, 0),
                textcoords="offset points",
                va="center",
                ha="left",
                color=TEXT_COLOUR,
                fontstyle="italic",
                gid=f"missing-{i}",
            )
            continue
        ax.barh(i, v, height=0.68, color=colours[x], linewidth=0, gid=f"bar-{i}")
        value_labels.append(
            ax.annotate(
                _show(v, spec),
                xy=(v, i),
                xytext=(5 if v >= 0 else -5, 0),
                textcoords="offset points",
                va="center",
                ha="left" if v >= 0 else "right",
                color=TEXT_COLOUR,
                fontweight="bold" if x == spec.highlight else "normal",
                annotation_clip=False,
                gid=f"value-{i}",
            )
        )
    ax.set_ylim(len(cats) - 0.5, -0.5)  # first category at the top
    ax.set_xlim(lo, hi)
    ax.yaxis.set_major_locator(FixedLocator(list(range(len(cats)))))
    ax.yaxis.set_major_formatter(FixedFormatter([x for x, _ in cats]))
    for label, (x, _) in zip(ax.get_yticklabels(), cats, strict=True):
        if x == spec.highlight:
            label.set_fontweight("bold")
    _fix_ticks(ax.xaxis, lo, hi, spec.unit)
    ax.grid(axis="x", visible=True, color=GRID_COLOUR, linewidth=0.6)
    ax.grid(axis="y", visible=False)
    for side in ("left", "bottom", "top", "right"):
        ax.spines[side].set_visible(False)
    ax.axvline(0, color=ZERO_LINE_COLOUR, linewidth=1, gid="zero-line")
    ax.tick_params(axis="both", length=0)
    # Margins: category names, then room for value labels that stick out beyond the bars' extremes.
    negative = [t for t in value_labels if t.xy[0] < 0]
    positive = [t for t in value_labels if t.xy[0] >= 0]
    overhang = _width(negative, renderer) + 10 if negative else 0.0
    ax.tick_params(axis="y", pad=4 + overhang)  # category names clear of negative value labels
    left = _width(ax.get_yticklabels(), renderer) + 10 + overhang
    tick_overhang = _width(ax.get_xticklabels()[-1:], renderer) / 2 + 4
    right = max(_width(positive, renderer) + 10, tick_overhang)
    _place_axes(fig, ax, left=left, right=right, bottom=FONT_SIZE * 1.3 + 10, top=6)
    return fig


def build_figure(spec: ChartSpec) -> Figure:
    """The matplotlib Figure for a spec (for tests and inspection). Call inside ``chart_style()``
    if you will save it; ``render_chart`` does that for you."""
    _validate(spec)
    with _style():
        return _draw_line(spec) if spec.kind == "line" else _draw_bar(spec)


chart_style = _style


# --- SVG post-processing -------------------------------------------------------------------------------
_ID_ATTR = re.compile(r'\bid="([^"]+)"')


def _prefix_ids(svg: str, prefix: str) -> str:
    ids = set(_ID_ATTR.findall(svg))

    def fix(name: str) -> str:
        return name if name.startswith(prefix + "-") else f"{prefix}-{name}"

    svg = _ID_ATTR.sub(lambda m: f'id="{fix(m.group(1))}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{fix(m.group(1))})" if m.group(1) in ids else m[0], svg)
    svg = re.sub(
        r'((?:xlink:)?href)="#([^"]+)"',
        lambda m: f'{m.group(1)}="#{fix(m.group(2))}"' if m.group(2) in ids else m[0],
        svg,
    )
    return svg


def _finish_svg(raw: str, spec: ChartSpec, alt: str) -> str:
    svg = raw[raw.index("<svg") :]  # drop the XML declaration and DOCTYPE
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = _prefix_ids(svg, spec.id)
    root = f"{spec.id}-svg"
    # matplotlib's one stylesheet rule is `*{...}`, which inline would restyle the whole page: scope it.
    svg = re.sub(r"\*\s*\{", f"#{root} *{{", svg, count=1)
    svg = re.sub(r"font-family: [^;\"]+", f"font-family: {SVG_FONT_FAMILY}", svg)
    open_end = svg.index(">")
    opening = svg[:open_end]
    width = re.search(r'width="([\d.]+)pt"', opening)
    height = re.search(r'height="([\d.]+)pt"', opening)
    if not (width and height):
        raise RuntimeError("unexpected SVG header from matplotlib")
    w, h = float(width.group(1)), float(height.group(1))
    scale = spec.width / w
    opening = opening.replace(width.group(0), f'width="{spec.width}"')
    opening = opening.replace(height.group(0), f'height="{round(h * scale):d}"')
    opening += (
        f' id="{root}" role="img" aria-labelledby="{spec.id}-title {spec.id}-desc"'
        ' style="max-width: 100%; height: auto"'
    )
    a11y = (
        f'\n <title id="{spec.id}-title">{escape(spec.title, quote=False)}</title>'
        f'\n <desc id="{spec.id}-desc">{escape(alt, quote=False)}</desc>'
    )
    return opening + ">" + a11y + svg[open_end + 1 :].rstrip() + "\n"


# --- cache -------------------------------------------------------------------------------------------
# A new month changes a few charts of an edition; the others are drawn from the same data as last
# month's. Drawing is deterministic (same spec, same bytes), so a chart is kept under a key made of
# everything that decides its bytes: the spec, this module's code, matplotlib's version and the font
# files it resolves. Entries not used for CACHE_DAYS are removed; the folder is disposable.
CACHE_DAYS = 60


@functools.cache
def _renderer_fingerprint() -> str:
    from matplotlib import font_manager

    with _style():
        families = mpl.rcParams["font.family"]
        font = font_manager.findfont(font_manager.FontProperties(family=families), fallback_to_default=True)
    parts = [Path(__file__).read_bytes(), mpl.__version__.encode(), font.encode()]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def _cache_key(spec: ChartSpec) -> str:
    digest = hashlib.sha256(_renderer_fingerprint().encode())
    fields = {k: v for k, v in asdict(spec).items() if k != "data"}
    digest.update(json.dumps(fields, sort_keys=True).encode())
    digest.update(json.dumps([list(spec.data.columns), [str(t) for t in spec.data.dtypes]]).encode())
    digest.update(pd.util.hash_pandas_object(spec.data, index=True).to_numpy().tobytes())
    return digest.hexdigest()


def _read_cached(path: Path) -> RenderedChart | None:
    try:
        held = json.loads(path.read_text(encoding="utf-8"))
        chart = RenderedChart(**{**held, "png": base64.b64decode(held["png"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None  # absent, or unreadable: drawn again
    os.utime(path)  # kept while in use
    return chart


def _write_cached(cache: Path, path: Path, chart: RenderedChart) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    held = {**asdict(chart), "png": base64.b64encode(chart.png).decode()}
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=".", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(held, handle)
    os.replace(tmp, path)
    stale = time.time() - CACHE_DAYS * 86_400
    for entry in cache.glob("*.json"):
        if entry.stat().st_mtime < stale:
            entry.unlink(missing_ok=True)


# --- entry point ---------------------------------------------------------------------------------------
def render_chart(spec: ChartSpec, cache: Path | None = None) -> RenderedChart:
    """Render one chart to SVG and PNG with its alt text and CSV. Same spec, same bytes: with a
    `cache` folder, a spec drawn before is read back rather than drawn again."""
    _validate(spec)
    if cache is None:
        return _draw(spec)
    path = cache / f"{_cache_key(spec)}.json"
    chart = _read_cached(path)
    if chart is None:
        chart = _draw(spec)
        _write_cached(cache, path, chart)
    return chart


def _png(fig: Figure) -> bytes:
    """The figure as an 8-bit RGB PNG at 2x.

    matplotlib's own PNG carries an alpha channel that is opaque everywhere (the figure has a white
    face). Without it the file is smaller, and the PDF holds the chart as colour alone, with no mask.
    """
    raw = io.BytesIO()
    fig.savefig(raw, format="rgba", dpi=PNG_DPI)
    width, height = (round(inches * PNG_DPI) for inches in fig.get_size_inches())
    if len(raw.getbuffer()) != width * height * 4:
        raise ValueError(f"chart rendered at an unexpected size, not {width} x {height} px")
    image = Image.frombytes("RGBA", (width, height), raw.getvalue())
    if image.getchannel("A").getextrema() != (255, 255):
        raise ValueError("chart is not opaque: dropping its alpha channel would change it")
    out = io.BytesIO()
    # Pillow writes no text chunks unless asked: no software name or date to make rebuilds differ.
    image.convert("RGB").save(out, format="png", dpi=(PNG_DPI, PNG_DPI))
    return out.getvalue()


# An email's chart: the narrow layout (legible on a phone at its own size) with its colours
# reduced to a palette. Charts are flat colours and anti-aliased edges, so 64 colours without
# dithering look the same and weigh a quarter as much.
EMAIL_PALETTE_COLOURS = 64


def email_png(png: bytes) -> bytes:
    """A chart's PNG reduced to a palette of EMAIL_PALETTE_COLOURS, for mail: same pixels to the
    eye, a quarter of the bytes, and the same bytes for the same chart."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    reduced = image.quantize(
        colors=EMAIL_PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    out = io.BytesIO()
    reduced.save(out, format="png", optimize=True, dpi=image.info.get("dpi", (PNG_DPI, PNG_DPI)))
    return out.getvalue()


def _draw(spec: ChartSpec) -> RenderedChart:
    alt = alt_text(spec)
    with _style():
        fig = _draw_line(spec) if spec.kind == "line" else _draw_bar(spec)
        try:
            svg_buf = io.StringIO()
            fig.savefig(svg_buf, format="svg", metadata=SVG_METADATA)
            png = _png(fig)
        finally:
            fig.clear()
    return RenderedChart(
        id=spec.id,
        svg=_finish_svg(svg_buf.getvalue(), spec, alt),
        png=png,
        alt=alt,
        csv=chart_csv(spec),
    )
