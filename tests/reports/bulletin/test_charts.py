"""Bulletin charts: deterministic bytes, accessible inline SVG, alt text and CSV from the same data."""

from __future__ import annotations

import hashlib
import io
import math
import re
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from reports.bulletin import charts
from reports.bulletin import format as fmt
from reports.bulletin.charts import (
    LINE_COLOURS,
    NARROW_WIDTH_PX,
    OTHER_BAR_COLOUR,
    ChartSpec,
    build_figure,
    contrast_ratio,
    render_chart,
    series_colours,
    time_ticks,
)

ROOT = Path(__file__).resolve().parents[3]
SVG_NS = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
NAN = math.nan


def line_spec() -> ChartSpec:
    months = ["Jan 2026", "Feb 2026", "Mar 2026", "Apr 2026"]
    series = {
        "UK": [4.0, 4.0, 4.04, 3.95],
        "WMCA": [5.8, 6.0, NAN, 6.24],
        "England": [4.1, 4.1, 4.1, 4.05],
    }
    rows = [
        {"series": name, "x": months[i], "x_order": i, "value": v}
        for name, values in series.items()
        for i, v in enumerate(values)
    ]
    return ChartSpec(
        id="figure-1-claimant-rate",
        kind="line",
        title="Claimant rate in WMCA rises to 6.2%",
        subtitle="Claimant count rate, WMCA, England and UK, January to April 2026",
        unit="percent",
        decimals=1,
        data=pd.DataFrame(rows),
        highlight="WMCA",
        source="Source: ONS, claimant count (NM_162_1)",
    )


def bar_spec() -> ChartSpec:
    areas = ["Birmingham", "Coventry", "Dudley", "Sandwell", "Solihull"]
    return ChartSpec(
        id="figure-2-claimant-count",
        kind="bar",
        title="Birmingham has the most claimants",
        subtitle="Claimant count, WMCA councils, April 2026",
        unit="count",
        decimals=0,
        data=pd.DataFrame(
            {"x": areas, "x_order": range(5), "value": [60125.0, 12040.0, NAN, 15500.4, 4210.0]}
        ),
        highlight="Coventry",
    )


def gbp_bar_spec() -> ChartSpec:
    return ChartSpec(
        id="figure-3-pay",
        kind="bar",
        title="Pay is highest in Solihull",
        subtitle="Median weekly pay, full-time workers, 2025",
        unit="gbp",
        decimals=0,
        data=pd.DataFrame({"x": ["Solihull", "Walsall"], "x_order": [0, 1], "value": [812.4, 640.0]}),
    )


def _root(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _ids(svg: str) -> set[str]:
    return {el.get("id") for el in _root(svg).iter() if el.get("id")}


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def _png_chunks(png: bytes) -> list[bytes]:
    chunks, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        chunks.append(png[pos + 4 : pos + 8])
        pos += 12 + length
    return chunks


def _digest(chart) -> str:
    return hashlib.sha256(
        chart.svg.encode() + chart.png + chart.alt.encode() + chart.csv.encode()
    ).hexdigest()


# --- determinism ---------------------------------------------------------------------------------------
def test_the_same_spec_gives_the_same_bytes_twice() -> None:
    for spec in (line_spec(), bar_spec()):
        first, second = render_chart(spec), render_chart(spec)
        assert first.svg == second.svg
        assert first.png == second.png
        assert first == second


@pytest.mark.slow
def test_the_same_spec_gives_the_same_bytes_in_a_new_process() -> None:
    code = (
        "from reports.bulletin.charts import render_chart\n"
        "from tests.reports.bulletin.test_charts import line_spec, bar_spec, _digest\n"
        "print(_digest(render_chart(line_spec())), _digest(render_chart(bar_spec())))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    here = f"{_digest(render_chart(line_spec()))} {_digest(render_chart(bar_spec()))}"
    assert out.stdout.strip() == here


def test_rendering_in_threads_gives_the_same_bytes_as_in_turn() -> None:
    specs = [line_spec(), bar_spec(), gbp_bar_spec()] * 2
    in_turn = [render_chart(s) for s in specs]
    with ThreadPoolExecutor(max_workers=3) as pool:
        threaded = list(pool.map(render_chart, specs))
    assert threaded == in_turn


def test_a_cached_chart_is_the_drawn_chart_and_is_not_drawn_again(tmp_path: Path, monkeypatch) -> None:
    drawn = {spec.id: render_chart(spec) for spec in (line_spec(), bar_spec())}
    for spec in (line_spec(), bar_spec()):
        assert render_chart(spec, tmp_path) == drawn[spec.id]
    assert len(list(tmp_path.glob("*.json"))) == 2

    def no_drawing(spec):
        raise AssertionError(f"{spec.id} was drawn again")

    monkeypatch.setattr(charts, "_draw", no_drawing)
    for spec in (line_spec(), bar_spec()):
        assert render_chart(spec, tmp_path) == drawn[spec.id]


def test_a_chart_whose_data_or_words_change_is_drawn_again(tmp_path: Path) -> None:
    spec = line_spec()
    render_chart(spec, tmp_path)
    revised = spec.data.copy()
    revised.loc[revised.index[-1], "value"] = 6.25
    for changed in (replace(spec, data=revised), replace(spec, title="Claimant rate in WMCA rises to 6.3%")):
        assert render_chart(changed, tmp_path) == render_chart(changed)
    assert len(list(tmp_path.glob("*.json"))) == 3


def test_an_unreadable_cache_entry_is_drawn_again(tmp_path: Path) -> None:
    spec = bar_spec()
    render_chart(spec, tmp_path)
    (entry,) = tmp_path.glob("*.json")
    entry.write_text("{not json")
    assert render_chart(spec, tmp_path) == render_chart(spec)


def test_each_chart_renders_quickly() -> None:
    for spec in (line_spec(), bar_spec()):
        render_chart(spec)  # warm caches (fonts)
        start = time.perf_counter()
        render_chart(spec)
        assert time.perf_counter() - start < 1.0  # ~0.1 s on a 2-core machine; generous for CI


# --- the SVG -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [line_spec, bar_spec])
def test_svg_is_an_accessible_self_contained_inline_element(make) -> None:
    spec = make()
    chart = render_chart(spec)
    svg = chart.svg
    assert svg.startswith("<svg ")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg
    root = _root(svg)  # well-formed XML
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("role") == "img"
    assert float(root.get("width")) <= 600
    assert root.get("viewBox")

    title, desc = root.find(f"{SVG_NS}title"), root.find(f"{SVG_NS}desc")
    assert next(iter(root)) is title  # the accessible name comes first
    assert title.text == spec.title
    assert desc.text == chart.alt
    assert root.get("aria-labelledby").split() == [title.get("id"), desc.get("id")]

    assert not list(root.iter(f"{SVG_NS}script"))
    assert not list(root.iter(f"{SVG_NS}image")) and not list(root.iter(f"{SVG_NS}foreignObject"))
    for el in root.iter():
        for key, val in el.attrib.items():
            assert not key.lower().startswith("on"), f"event handler {key}"
            if key in ("href", XLINK_HREF, "src"):
                assert val.startswith("#"), f"external reference {val}"
            assert "url(" not in val or "url(#" in val
    assert "http" not in re.sub(r'xmlns(:\w+)?="[^"]+"', "", svg)
    assert "<metadata" not in svg and "Matplotlib v" not in svg

    ids = _ids(svg)
    assert ids and all(i.startswith(f"{spec.id}-") for i in ids)
    for ref in re.findall(r'href="#([^"]+)"', svg) + re.findall(r"url\(#([^)]+)\)", svg):
        assert ref in ids, f"dangling reference #{ref}"
    # matplotlib's stylesheet is scoped to this chart, so it cannot restyle the rest of the page
    for style in root.iter(f"{SVG_NS}style"):
        assert style.text.lstrip().startswith(f"#{spec.id}-svg ")


def test_two_charts_on_one_page_share_no_ids() -> None:
    assert not _ids(render_chart(line_spec()).svg) & _ids(render_chart(bar_spec()).svg)


def test_labels_are_real_text_with_no_title_or_source_in_the_image() -> None:
    line = render_chart(line_spec())
    texts = {t.text for t in _root(line.svg).iter(f"{SVG_NS}text")}
    assert {"WMCA", "England", "UK"} <= texts  # direct labels, no legend
    assert {"Jan 2026", "Apr 2026"} <= texts
    assert line_spec().title not in texts and not any("Source" in (t or "") for t in texts)
    bar_texts = {t.text for t in _root(render_chart(bar_spec()).svg).iter(f"{SVG_NS}text")}
    assert {"Birmingham", "Coventry", "Dudley", "60,125", "missing"} <= bar_texts
    fig = build_figure(line_spec())
    assert fig.axes[0].get_legend() is None


# --- alt text and CSV ----------------------------------------------------------------------------------
def test_line_alt_text_names_latest_values_and_direction() -> None:
    assert render_chart(line_spec()).alt == (
        "Line chart: Claimant count rate, WMCA, England and UK, January to April 2026. "
        "WMCA: 6.2% in Apr 2026, up from 5.8% in Jan 2026. WMCA is missing for Mar 2026. "
        "UK: 4.0% in Apr 2026, unchanged from 4.0% in Jan 2026. "
        "England: 4.1% in Apr 2026, unchanged from 4.1% in Jan 2026."
    )


def test_bar_alt_text_names_highest_lowest_focus_and_missing() -> None:
    assert render_chart(bar_spec()).alt == (
        "Bar chart: Claimant count, WMCA councils, April 2026. "
        "Highest: Birmingham, 60,125. Lowest: Solihull, 4,210. "
        "Coventry: 12,040, 3rd highest of 4. "
        "Dudley is missing (no bar drawn)."
    )
    assert render_chart(gbp_bar_spec()).alt == (
        "Bar chart: Median weekly pay, full-time workers, 2025. "
        "Highest: Solihull, £812. Lowest: Walsall, £640."
    )


def test_line_direction_down() -> None:
    spec = line_spec()
    data = spec.data.copy()
    data.loc[(data["series"] == "WMCA") & (data["x_order"] == 3), "value"] = 5.1
    alt = render_chart(ChartSpec(**{**spec.__dict__, "data": data})).alt
    assert "WMCA: 5.1% in Apr 2026, down from 5.8% in Jan 2026, peaking at 6.0% in Feb 2026." in alt


def test_line_alt_names_a_trough_between_the_ends() -> None:
    spec = line_spec()
    data = spec.data.copy()
    data.loc[(data["series"] == "England") & (data["x_order"] == 2), "value"] = 3.2
    alt = render_chart(ChartSpec(**{**spec.__dict__, "data": data})).alt
    assert (
        "England: 4.1% in Apr 2026, unchanged from 4.1% in Jan 2026, with a low of 3.2% in Mar 2026." in alt
    )
    # A series that only rises has neither.
    assert "UK: 4.0% in Apr 2026, unchanged from 4.0% in Jan 2026." in alt


def test_csv_is_the_data_rounded_as_published_with_missing_empty() -> None:
    assert render_chart(line_spec()).csv == (
        "series,x,value\n"
        "WMCA,Jan 2026,5.8\nWMCA,Feb 2026,6.0\nWMCA,Mar 2026,\nWMCA,Apr 2026,6.2\n"
        "UK,Jan 2026,4.0\nUK,Feb 2026,4.0\nUK,Mar 2026,4.0\nUK,Apr 2026,4.0\n"
        "England,Jan 2026,4.1\nEngland,Feb 2026,4.1\nEngland,Mar 2026,4.1\nEngland,Apr 2026,4.1\n"
    )
    assert render_chart(bar_spec()).csv == (
        "x,value\nBirmingham,60125\nCoventry,12040\nDudley,\nSandwell,15500\nSolihull,4210\n"
    )
    assert render_chart(gbp_bar_spec()).csv == "x,value\nSolihull,812\nWalsall,640\n"


# --- missing values are not zero -----------------------------------------------------------------------
def test_a_missing_bar_is_not_drawn_as_zero() -> None:
    spec = bar_spec()
    chart = render_chart(spec)
    bar_groups = [i for i in _ids(chart.svg) if re.fullmatch(rf"{spec.id}-bar-\d+", i)]
    assert sorted(bar_groups) == [f"{spec.id}-bar-{i}" for i in (0, 1, 3, 4)]  # Dudley (2) has no bar
    ax = build_figure(spec).axes[0]
    widths = [p.get_width() for p in ax.patches]
    assert len(widths) == len(spec.data) - 1
    assert all(w > 0 for w in widths)
    assert "Dudley is missing" in chart.alt


def test_a_missing_point_is_a_gap_in_the_line() -> None:
    ax = build_figure(line_spec()).axes[0]
    wmca = next(line for line in ax.get_lines() if line.get_gid() == "line-0")
    ys = list(wmca.get_ydata())
    assert ys[:2] == [5.8, 6.0] and math.isnan(ys[2]) and ys[3] == 6.24
    # the isolated latest point still shows, as a marker
    point = next(line for line in ax.get_lines() if line.get_gid() == "point-0")
    assert list(point.get_ydata()) == [6.24]


# --- colour and axes -----------------------------------------------------------------------------------
def test_every_colour_used_has_3_to_1_contrast_against_white() -> None:
    for spec in (line_spec(), bar_spec(), gbp_bar_spec()):
        colours = set(series_colours(spec).values())
        assert len(colours) <= 4
        for colour in colours:
            assert contrast_ratio(colour, "#FFFFFF") >= 3.0, colour
    for colour in (*LINE_COLOURS, OTHER_BAR_COLOUR):
        assert contrast_ratio(colour) >= 3.0, colour


def test_contrast_ratio_matches_wcag() -> None:
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast_ratio("#FFFFFF", "#FFFFFF") == pytest.approx(1.0)
    assert contrast_ratio("#767676") == pytest.approx(4.54, abs=0.01)


def test_colours_drawn_are_the_colours_declared() -> None:
    line = line_spec()
    assert series_colours(line) == {"WMCA": "#12436D", "UK": "#28A197", "England": "#801650"}
    ax = build_figure(line).axes[0]
    drawn = {ln.get_gid(): ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("line-")}
    assert [drawn[f"line-{i}"].get_color().upper() for i in range(3)] == ["#12436D", "#28A197", "#801650"]
    # colour is not the only cue: each line has its own style, and the highlight is thicker
    assert drawn["line-0"].get_linewidth() > drawn["line-1"].get_linewidth()
    root = _root(render_chart(line).svg)
    styles = [root.find(f".//*[@id='{line.id}-line-{i}']/{SVG_NS}path").get("style") for i in range(3)]
    dashes = [re.search(r"stroke-dasharray: ([^;]+)", s) for s in styles]
    assert dashes[0] is None  # solid
    assert dashes[1] and dashes[2] and dashes[1].group(1) != dashes[2].group(1)
    svg = render_chart(bar_spec()).svg.lower()
    assert svg.count("fill: #12436d") == 1  # the one highlighted bar
    assert "fill: #7a7a7a" in svg


def test_bar_value_axis_starts_at_zero() -> None:
    for spec in (bar_spec(), gbp_bar_spec()):
        ax = build_figure(spec).axes[0]
        lo, hi = ax.get_xlim()
        assert lo == 0.0 and hi >= spec.data["value"].max()
        assert ax.get_xticks()[0] == 0.0
    negative = ChartSpec(
        id="figure-4-change",
        kind="bar",
        title="Claimants fall in two areas",
        subtitle="Change in claimant count, April 2026",
        unit="count",
        decimals=0,
        data=pd.DataFrame({"x": ["A", "B", "C"], "x_order": [0, 1, 2], "value": [-120.0, 40.0, -15.0]}),
    )
    lo, hi = build_figure(negative).axes[0].get_xlim()
    assert lo <= -120 and hi >= 40


# --- the PNG -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [line_spec, bar_spec])
def test_png_is_600px_at_2x_without_software_or_date(make) -> None:
    chart = render_chart(make())
    width, height = _png_size(chart.png)
    assert width == 1200
    root = _root(chart.svg)
    assert height == round(2 * float(root.get("height")))
    assert b"tEXt" not in _png_chunks(chart.png) and b"Software" not in chart.png


@pytest.mark.parametrize("make", [line_spec, bar_spec])
def test_png_is_matplotlibs_image_without_its_opaque_alpha(make) -> None:
    """8-bit RGB, so that the PDF can embed the PNG's rows as they are, and pixel for pixel what
    matplotlib draws (its own PNG is RGBA, opaque everywhere)."""
    from PIL import Image, ImageChops

    spec = make()
    png = render_chart(spec).png
    assert png[24:26] == bytes([8, 2])  # IHDR: bit depth 8, colour type 2 (truecolour, no alpha)
    with charts.chart_style():
        fig = build_figure(spec)
        matplotlib_png = io.BytesIO()
        fig.savefig(matplotlib_png, format="png", dpi=charts.PNG_DPI)
    theirs = Image.open(matplotlib_png)
    assert theirs.mode == "RGBA" and theirs.getchannel("A").getextrema() == (255, 255)
    ours = Image.open(io.BytesIO(png))
    assert ours.mode == "RGB" and ours.size == theirs.size and ours.info["dpi"] == theirs.info["dpi"]
    assert ImageChops.difference(ours, theirs.convert("RGB")).getbbox() is None


# --- validation ----------------------------------------------------------------------------------------
def test_bad_specs_are_refused() -> None:
    spec = line_spec()
    five = pd.DataFrame(
        [{"series": f"S{i}", "x": "2024", "x_order": 0, "value": 1.0} for i in range(5)],
    )
    with pytest.raises(ValueError, match="at most 4"):
        render_chart(ChartSpec(**{**spec.__dict__, "data": five, "highlight": None}))
    with pytest.raises(ValueError, match="not a series"):
        render_chart(ChartSpec(**{**spec.__dict__, "highlight": "Mars"}))
    with pytest.raises(ValueError, match="file-safe"):
        render_chart(ChartSpec(**{**spec.__dict__, "id": "figure 1/claimants"}))
    with pytest.raises(ValueError, match="lacks column"):
        render_chart(ChartSpec(**{**bar_spec().__dict__, "data": pd.DataFrame({"x": ["A"], "value": [1.0]})}))


def test_palette_comes_from_afcharts_and_matches_the_fallback() -> None:
    from reports.bulletin import charts

    assert charts.AF_CATEGORICAL == charts.AF_CATEGORICAL_FALLBACK  # the hard-coded copy is current
    pytest.importorskip("afcharts")
    style = charts._afcharts_rc()
    assert style["axes.grid"] is True and style["axes.spines.top"] is False


def test_a_time_axis_labels_its_first_and_last_periods_and_year_starts_between() -> None:
    months = [f"{m} {y}" for y in range(2020, 2027) for m in fmt.MONTHS][:82]  # Jan 2020 to Oct 2026
    wide = time_ticks(months, 480)
    assert wide[0] == (0, "Jan 2020") and wide[-1] == (81, "Oct 2026")
    # Every year start that fits; January 2026 would touch "Oct 2026", so it is left out.
    assert [text for _, text in wide[1:-1]] == ["2021", "2022", "2023", "2024", "2025"]
    assert all(months[i].startswith("January") for i, _ in wide[1:-1])
    narrow = time_ticks(months, 200)
    assert narrow[0] == (0, "Jan 2020") and narrow[-1] == (81, "Oct 2026")
    assert all(months[i].startswith("January") for i, _ in narrow[1:-1])
    assert len(narrow) < len(wide)
    # Two years or less: quarter starts.
    quarters = time_ticks(months[:24], 480)
    assert all(months[i].split()[0] in ("January", "April", "July", "October") for i, _ in quarters[1:-1])


def test_a_narrow_chart_is_drawn_at_its_own_width() -> None:
    spec = line_spec()
    narrow = render_chart(ChartSpec(**{**spec.__dict__, "id": "narrow", "width": NARROW_WIDTH_PX}))
    assert f'width="{NARROW_WIDTH_PX}"' in narrow.svg[: narrow.svg.index(">")]
    assert "font-size: 13px" in narrow.svg


def test_a_bar_axis_reaches_past_the_largest_bar() -> None:
    fig = build_figure(gbp_bar_spec())
    values = [v for v in gbp_bar_spec().data["value"] if v == v]
    assert fig.axes[0].get_xlim()[1] >= max(values)
    assert max(fig.axes[0].get_xticks()) >= max(values)
