"""The skeleton bulletin: figures, main points, escaping, and an atomic write."""

from __future__ import annotations

import datetime as dt
import re

import duckdb

from flows import steps
from flows.settings import Settings
from reports import format as fmt
from reports.bulletin import render_html
from reports.figures import read_edition_figures


def test_page_shows_every_area_with_its_figures(loaded_settings: Settings) -> None:
    page = steps.render(loaded_settings, today=dt.date(2026, 11, 18))
    assert page == loaded_settings.site_dir / "2026-10" / "index.html"
    html = page.read_text()

    assert '<html lang="en-GB">' in html and html.count("<h1>") == 1
    assert "October 2026" in html and "18 November 2026" in html
    assert "Demonstration data" not in html
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th>\s*((?:<td[^>]*>[^<]*</td>)+)', html))
    cells = {area: re.findall(r"<td[^>]*>([^<]*)</td>", tds) for area, tds in rows.items()}
    assert cells["West Midlands Combined Authority"] == ["119,000", "+1,500", "+4,000", "6.3%",
                                                          "+0.1 pp", "+0.2 pp"]  # fmt: skip
    assert cells["Birmingham"] == ["60,000", "+1,000", "+2,000", "8.0%", "+0.1 pp", "+0.3 pp"]
    assert cells["Coventry"] == ["12,000", "−100", "+500", "5.0%", "0.0 pp", "+0.2 pp"]
    assert cells["United Kingdom"] == ["1,700,000", "+10,000", "+50,000", "3.8%", "0.0 pp", "+0.1 pp"]
    assert len(cells) == 11


def test_main_points_quote_the_figures(loaded_settings: Settings) -> None:
    html = steps.render(loaded_settings).read_text()
    assert (
        "The claimant rate in the WMCA area rose to 6.3% in October 2026, 2.5 percentage points "
        "above the UK rate (3.8%)."
    ) in html
    assert (
        "There were 119,000 claimants aged 16 and over in the WMCA area in October 2026, 4,000 "
        "more than a year earlier (+3.5%)."
    ) in html
    assert ("Among the seven councils, Birmingham had the highest claimant rate (8.0%) and Solihull "
            "the lowest (3.1%).") in html  # fmt: skip


def test_demo_edition_says_so(loaded_settings: Settings) -> None:
    edition = read_edition_figures(loaded_settings.snapshot_path)
    html = render_html(edition, demo=True, published=dt.date(2026, 11, 18))
    assert "Demonstration data — not official statistics" in html


def test_publisher_strings_are_escaped(loaded_settings: Settings) -> None:
    con = duckdb.connect(str(loaded_settings.snapshot_path))
    con.execute("UPDATE area SET name = '<script>alert(1)</script> Walsall' WHERE code = 'E08000030'")
    con.close()
    html = steps.render(loaded_settings).read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Walsall" in html


def test_a_rerender_replaces_the_page_whole(loaded_settings: Settings) -> None:
    first = steps.render(loaded_settings, today=dt.date(2026, 11, 18))
    second = steps.render(loaded_settings, today=dt.date(2026, 11, 18))
    assert first == second
    assert [p.name for p in first.parent.iterdir()] == ["index.html"]


def test_ons_number_style() -> None:
    assert fmt.number(1234567.5) == "1,234,568"
    assert fmt.value(6.25, "percent", 1) == "6.3%"  # half-up, not half-to-even
    assert fmt.change(-0.04, "percent", 1) == "0.0 pp"
    assert fmt.change(-1500, "count", 0) == "−1,500"
    assert fmt.value(None, "count", 0) == "missing"
    assert fmt.period_label("2026-10") == "October 2026"
