"""Editions of the bulletin built from the demo's data: contents, files, numbers, gate, rebuild."""

from __future__ import annotations

import csv
import datetime as dt
import html as html_lib
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import time_machine
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject
from typer.testing import CliRunner

from flows import steps
from flows.cli import app
from flows.settings import Settings
from reports.bulletin import scorecard
from reports.bulletin.content import SECTIONS
from reports.bulletin.publish import Paths, published_manifests, rebuild_edition
from tests.conftest import DEMO_TODAY, publish


def fresh_copy(demo_data_dir: Settings, tmp_path: Path) -> Settings:
    """A data directory of its own holding a copy of the demo snapshot."""
    data_dir = tmp_path / "data"
    (data_dir / "published").mkdir(parents=True)
    shutil.copy(demo_data_dir.snapshot_path, data_dir / "published" / "warehouse.duckdb")
    return demo_data_dir.model_copy(update={"data_dir": data_dir})


def pdf_text(path: Path) -> str:
    return " ".join(page.extract_text() for page in PdfReader(path).pages)


def test_an_edition_has_every_file(demo_edition: Path) -> None:
    names = {p.relative_to(demo_edition).as_posix() for p in demo_edition.rglob("*") if p.is_file()}
    assert {"index.html", "bulletin.pdf", "bulletin.md", "figures.json"} <= names
    charts = re.findall(r'href="data/(figure-\d+)\.csv"', (demo_edition / "index.html").read_text())
    assert len(charts) >= 6
    for chart in charts:
        assert f"data/{chart}.csv" in names
    assert (demo_edition / "bulletin.pdf").read_bytes().startswith(b"%PDF")
    assert (demo_edition.parent / "index.html").exists() and (demo_edition.parent / "feed.atom").exists()


def test_the_page_has_the_ons_structure(demo_edition: Path) -> None:
    html = (demo_edition / "index.html").read_text()
    headings = re.findall(r"<h2 id=\"([^\"]+)\">([^<]+)</h2>", html)
    assert [text for _, text in headings] == [
        "Contents",
        "Main points",
        "Headline indicators",
        *[heading for _, heading in SECTIONS],
        "What changed since the last edition",
        "Strengths and limitations",
        "Data sources",
        "Glossary",
        "Annex: tables for every indicator",
    ]
    assert "West Midlands Economic Impact Monitor: October 2026</h1>" in html
    for masthead in (
        "Edition 1 · Reference period: October 2026",
        "Date published: 27 November 2026",
        "Next edition: 21 December 2026",
        "Built from data snapshot",
        "Contact:",
    ):
        assert masthead in html
    assert "Demonstration data — not official statistics" in html
    assert "Levelling Up Fund allocation per head against need" in html
    assert "Levelling Up scorecard: the WMCA against the UK, mission by mission" in html
    assert "Every Levelling Up mission metric against the UK" in html
    assert "This is the first edition" in html


def test_the_scorecard_has_a_row_for_every_mission_none_dropped(demo_edition: Path) -> None:
    """Twelve rows, in the White Paper's order; the mission without a published metric is listed
    as such; each row with a comparator says how its gap moved since the White Paper."""
    html = (demo_edition / "index.html").read_text()
    table = html[html.index('<table id="table-levelling-up-scorecard"') :]
    table = table[: table.index("</table>")]
    headings = re.findall(r'<th scope="row">(\d+\. [^<]+)</th>', table)
    assert [h.split(".")[0] for h in headings] == [str(n) for n in range(1, 13)]
    assert "12. Local leadership</th><td" in table and "None published" in table
    assert table.count("narrowed") + table.count("widened") + table.count("about the same") >= 3
    with open(demo_edition / "data" / "table-levelling-up-scorecard.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["Mission", "Headline metric", "WMCA"] and len(rows) == 13


def test_five_to_eight_main_points(demo_edition: Path) -> None:
    sidecar = json.loads((demo_edition / "figures.json").read_text())
    assert 5 <= len(sidecar["main_points"]) <= 8
    first, second, third = sidecar["main_points"][:3]
    # The newest evidence leads: PAYE RTI's flash month, then the claimant count.
    assert (
        first.startswith("There were 1,") and "payrolled employees in the WMCA area in October 2026" in first
    )
    assert second.startswith("The median monthly pay of payrolled employees in the WMCA area was £")
    assert "in real terms, after CPIH inflation of" in second
    assert third.startswith("The claimant rate in the WMCA area")


def test_every_quoted_figure_names_its_source_and_vintage(demo_edition: Path) -> None:
    sidecar = json.loads((demo_edition / "figures.json").read_text())
    quoted = [e for e in sidecar["figures"] if e["basis"] != "derived"]
    assert quoted and all(e["indicator"] and e["area"] and e["period"] and e["unit"] for e in quoted)
    assert all(e["vintages"] for e in quoted if e["measure"] == "value")
    assert {e["source_dataset"] for e in quoted} >= {"claimant_count", "annual_population_survey", "cpi"}
    assert sidecar["demonstration_data"] is True and len(sidecar["snapshot_sha256"]) == 64


def test_significance_is_claimed_only_where_intervals_support_it(demo_edition: Path) -> None:
    sidecar = json.loads((demo_edition / "figures.json").read_text())
    flags = {(e["indicator"], e["area"]): e for e in sidecar["figures"] if e["measure"] == "value"}
    for point in sidecar["main_points"]:
        if "statistically significant" in point and "not a statistically" not in point:
            assert any(
                i in point.lower()
                for i in ("employment", "unemployment", "inactivity", "pay", "satisfaction")
            )
    claimant = flags[("claimant_rate", "E47000007")]
    assert claimant and "significant" not in sidecar["main_points"][0]


def test_the_markdown_and_pdf_carry_the_same_edition(demo_edition: Path) -> None:
    markdown = (demo_edition / "bulletin.md").read_text()
    assert markdown.startswith("# West Midlands Economic Impact Monitor: October 2026")
    assert "Demonstration data — not official statistics" in markdown
    sidecar = json.loads((demo_edition / "figures.json").read_text())
    first_point = sidecar["main_points"][0].split(",")[0]
    assert first_point in markdown
    text = pdf_text(demo_edition / "bulletin.pdf")
    assert "Demonstration data" in text and "Main points" in text


def test_the_pdf_carries_every_section_figure_and_table(demo_edition: Path) -> None:
    """The PDF has a print stylesheet and layout of its own: it must still leave nothing out."""
    html = (demo_edition / "index.html").read_text()
    reader = PdfReader(demo_edition / "bulletin.pdf")
    squashed = re.sub(r"\s+", "", " ".join(page.extract_text() for page in reader.pages))
    headings = [h for h in re.findall(r'<h[23] id="[^"]+">([^<]+)</h[23]>', html) if h != "Contents"]
    captions = [c for c in re.findall(r"<caption>([^<]+)</caption>", html) if not c.startswith("Data for")]
    points = json.loads((demo_edition / "figures.json").read_text())["main_points"]
    assert len([h for h in headings if h.startswith("Figure ")]) >= 6 and len(captions) >= 20
    for line in headings + captions + points:
        assert re.sub(r"\s+", "", html_lib.unescape(line)) in squashed, f"{line!r} is not in the PDF"
    images = {
        ref.idnum
        for page in reader.pages
        for ref in page["/Resources"].get("/XObject", {}).values()
        if ref.get_object()["/Subtype"] == "/Image"
    }
    assert len(images) == len(re.findall(r"<figure ", html))


def test_the_pdf_charts_are_the_published_pngs_pixel_for_pixel(demo_edition: Path) -> None:
    """Each chart is in the PDF at its PNG's full size, with no mask, decoding to exactly the PNG's
    pixels: nothing is resampled or lost on the way."""
    from PIL import Image

    pngs = sorted((demo_edition / "data").glob("figure-*.png"))
    assert len(pngs) >= 6
    charts = {}
    for png in pngs:
        image = Image.open(png)
        charts[(image.size, image.tobytes())] = png.name
    embedded = set()
    for page in PdfReader(demo_edition / "bulletin.pdf").pages:
        for ref in page["/Resources"].get("/XObject", {}).values():
            image = ref.get_object()
            if image["/Subtype"] != "/Image":
                continue
            space = image["/ColorSpace"]
            components = 3 if space == "/DeviceRGB" else space[1].get_object()["/N"]  # or ICC-based
            assert "/SMask" not in image and components == 3
            pixels = ((image["/Width"], image["/Height"]), image.get_data())
            assert pixels in charts, "an image in the PDF is not any chart's PNG"
            embedded.add(charts[pixels])
    assert embedded == {png.name for png in pngs}


def _structure(node, found: Counter, alts: list[str]) -> None:
    node = node.get_object()
    if not isinstance(node, DictionaryObject):
        return
    if "/S" in node:
        found[node["/S"]] += 1
        if node["/S"] == "/Figure":
            alts.append(str(node.get("/Alt", "")))
    kids = node.get("/K")
    for kid in kids if isinstance(kids, ArrayObject) else [kids] if kids is not None else []:
        _structure(kid, found, alts)


def test_the_pdf_is_tagged_for_assistive_technology(demo_edition: Path) -> None:
    """PDF/UA-1, as public-sector documents must be accessible: its language and title, and a
    structure tree with the page's headings, every table with header cells, and every chart a
    figure with its alternative text."""
    reader = PdfReader(demo_edition / "bulletin.pdf")
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB" and root["/MarkInfo"]["/Marked"]
    assert root["/ViewerPreferences"]["/DisplayDocTitle"]
    assert reader.metadata.title == "West Midlands Economic Impact Monitor: October 2026"
    assert "<pdfuaid:part>1</pdfuaid:part>" in root["/Metadata"].get_object().get_data().decode()
    found: Counter = Counter()
    alts: list[str] = []
    _structure(root["/StructTreeRoot"], found, alts)
    html = (demo_edition / "index.html").read_text()
    assert found["/H1"] == 1
    assert found["/H2"] == html.count("<h2 ") - 1  # all but the page's contents list
    assert found["/Table"] == found["/THead"] == html.count("<table") - html.count("<caption>Data for")
    assert found["/TH"] >= 5 * found["/Table"]
    charts_alt = [
        html_lib.unescape(a) for a in re.findall(r'<desc id="figure-\d+-desc">([^<]+)</desc>', html)
    ]
    assert len(charts_alt) == html.count("<figure ") and alts == charts_alt


def test_the_pdf_is_dated_by_the_edition_not_the_clock(demo_edition: Path) -> None:
    """Its creation date is the publication date, so a rebuild gives the same bytes."""
    info = PdfReader(demo_edition / "bulletin.pdf").metadata
    assert info["/CreationDate"] == info["/ModDate"] == f"D:{DEMO_TODAY:%Y%m%d}000000Z"


def test_the_site_index_and_feed_list_the_edition(demo_edition: Path) -> None:
    index = (demo_edition.parent / "index.html").read_text()
    assert 'href="2026-10/index.html"' in index and "Demonstration data" in index
    feed = (demo_edition.parent / "feed.atom").read_text()
    assert "<entry>" in feed and "[Demonstration data]" in feed and "2026-10/index.html" in feed


def test_a_rebuild_from_the_pinned_snapshot_is_identical(demo_data_dir: Settings, tmp_path: Path) -> None:
    settings = fresh_copy(demo_data_dir, tmp_path)
    assert steps.build_bulletin(settings, today=DEMO_TODAY).published
    # The analysts' snapshot moves on; the edition's pinned copy does not.
    con = duckdb.connect(str(settings.snapshot_path))
    con.execute("UPDATE indicator_summary SET value = value + 1")
    con.close()
    assert rebuild_edition(settings.data_dir, "2026-10") == {}
    result = CliRunner().invoke(
        app, ["bulletin", "--rebuild", "2026-10"], env={"EIM_DATA_DIR": str(settings.data_dir)}
    )
    assert result.exit_code == 0 and "identical" in result.output


def test_a_failing_gate_keeps_a_draft_and_the_last_edition(demo_data_dir: Settings, tmp_path: Path) -> None:
    settings = fresh_copy(demo_data_dir, tmp_path)
    assert steps.build_bulletin(settings, period="2026-09", today=DEMO_TODAY).published
    con = duckdb.connect(str(settings.snapshot_path))
    for mart in ("indicator_value", "indicator_summary"):  # as the models leave a value never published
        con.execute(
            f"DELETE FROM {mart} WHERE indicator_id = 'employment_rate' AND geography_code = 'E08000026'"
        )
    con.close()

    result = steps.build_bulletin(settings, today=DEMO_TODAY)

    assert not result.published
    assert "core indicator employment_rate is missing for Coventry" in result.reasons
    assert (settings.data_dir / "drafts" / "2026-10" / "REASONS.txt").read_text().startswith("Not published:")
    assert not (settings.site_dir / "2026-10").exists()
    assert [m["period"] for m in published_manifests(Paths(settings.data_dir))] == ["2026-09"]
    assert "2026-10" not in (settings.site_dir / "index.html").read_text()
    cli = CliRunner().invoke(
        app, ["bulletin"], env={"EIM_DATA_DIR": str(settings.data_dir), "EIM_DEMO": "true"}
    )
    assert cli.exit_code == 1 and "kept as a draft" in cli.output and "--force" in cli.output

    forced = steps.build_bulletin(settings, force=True, today=DEMO_TODAY)
    assert forced.published
    html = (settings.site_dir / "2026-10" / "index.html").read_text()
    assert "Published despite failing the publication checks" in html
    assert "Edition 2 ·" in html and "Compared with the edition for September 2026" in html


def test_the_demo_keeps_working_a_year_later(tmp_path: Path) -> None:
    """The clock moved a year ahead: the samples follow it, so the gate finds nothing stale."""
    from tests.conftest import build_demo_data_dir

    later = DEMO_TODAY + dt.timedelta(days=365)
    with time_machine.travel(dt.datetime.combine(later, dt.time(10), tzinfo=dt.UTC), tick=True):
        assert dt.date.today() == later
        settings = build_demo_data_dir(tmp_path / "data", today=later)
        result = steps.build_bulletin(settings)
    assert result.published, result.reasons
    assert result.period == "2027-10"


def test_publisher_strings_are_escaped_everywhere(demo_data_dir: Settings, tmp_path: Path) -> None:
    settings = fresh_copy(demo_data_dir, tmp_path)
    con = duckdb.connect(str(settings.snapshot_path))
    con.execute("UPDATE area SET short_name = '<script>alert(1)</script>' WHERE code = 'E47000007'")
    con.close()
    result = steps.build_bulletin(settings, today=DEMO_TODAY)
    edition = result.folder
    html = (edition / "index.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    markdown = (edition / "bulletin.md").read_text()
    assert "<script>" not in markdown and "\\<script\\>" in markdown
    feed = (settings.site_dir / "feed.atom").read_text()
    assert "<script>" not in feed and "&lt;script&gt;" in feed
    assert "<script>alert(1)</script>" in pdf_text(edition / "bulletin.pdf")


def test_publisher_strings_are_text_not_markup_in_the_pdf(demo_data_dir: Settings, tmp_path: Path) -> None:
    """The PDF's template reads the edition as data: Typst markup in a publisher's string is printed."""
    settings = fresh_copy(demo_data_dir, tmp_path)
    name = '#panic("injected") *b* $x$ ] //'
    con = duckdb.connect(str(settings.snapshot_path))
    con.execute("UPDATE area SET short_name = ? WHERE code = 'E47000007'", [name])
    con.close()
    result = steps.build_bulletin(settings, today=DEMO_TODAY)
    assert name in pdf_text(result.folder / "bulletin.pdf")


def test_an_invalid_period_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bulletin", "--period", "2026-13"], env={"EIM_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1 and "invalid edition '2026-13'" in result.output


def test_what_changed_lists_a_revised_figure(demo_data_dir: Settings, tmp_path: Path) -> None:
    """A value the publisher revised after the last edition appears as old → new in the next one."""
    data_dir = tmp_path / "data"
    shutil.copytree(demo_data_dir.data_dir, data_dir, symlinks=True)
    settings = demo_data_dir.model_copy(update={"data_dir": data_dir})
    assert steps.build_bulletin(settings, period="2026-09", today=DEMO_TODAY).published
    with duckdb.connect(str(settings.warehouse_path)) as con:
        old = con.execute(
            "SELECT value FROM stg_observation_latest WHERE series = 'claimant_count' "
            "AND geography_code = 'E08000025' AND period = '2026-09'"
        ).fetchone()[0]
        con.execute(
            "INSERT INTO vintage (vintage_id, dataset, publisher, fetched_at, loaded_at, pages, "
            "rows_received, rows_new) "
            "VALUES ('revision-test', 'claimant_count', 'nomis', now(), now(), 1, 1, 1)"
        )
        con.execute(
            "INSERT INTO observation SELECT dataset, series, geography_code, geography_name, period, "
            "period_date, value + 250, status, lower, upper, unit, 'revision-test' FROM observation "
            "WHERE series = 'claimant_count' AND geography_code = 'E08000025' AND period = '2026-09' LIMIT 1"
        )
    steps.build(settings)
    publish(settings)
    result = steps.build_bulletin(settings, today=DEMO_TODAY)
    html = (result.folder / "index.html").read_text()
    changes = html[html.index('id="changes"') : html.index('id="strengths"')]
    assert "Claimant count, aged 16 and over, Birmingham, September 2026: revised from" in changes
    assert f"{old:,.0f} to {old + 250:,.0f}" in changes
    sidecar = json.loads((result.folder / "figures.json").read_text())
    revision = next(e for e in sidecar["figures"] if e["measure"] == "revision")
    assert (revision["previous_value"], revision["value"]) == (old, old + 250)


def test_the_newest_month_of_paye_rti_is_labelled_a_flash_estimate(demo_edition: Path) -> None:
    html = html_lib.unescape((demo_edition / "index.html").read_text())
    dashboard = html[
        html.index('id="table-dashboard"') : html.index("</table>", html.index('id="table-dashboard"'))
    ]
    assert dashboard.count("October 2026 (flash)") == 2, "payrolled employees and their median pay"
    points = html[html.index('id="main-points"') : html.index('id="headline-indicators"')]
    assert points.count("(a flash estimate, revised next month)") == 2


def test_a_flash_estimate_revised_next_month_is_listed_under_what_changed(
    demo_data_dir: Settings, tmp_path: Path
) -> None:
    """Next month's workbook revises the flash estimate; the edition after lists the revision, and
    a month that is no longer the newest is not called a flash estimate."""
    from sources.replay.server import ReplayServer
    from warehouse.geography import load_area_file

    data_dir = tmp_path / "data"
    shutil.copytree(demo_data_dir.data_dir, data_dir, symlinks=True)
    settings = demo_data_dir.model_copy(update={"data_dir": data_dir})
    assert steps.build_bulletin(settings, period="2026-09", today=DEMO_TODAY).published
    later = DEMO_TODAY + dt.timedelta(days=31)
    with ReplayServer.serving(load_area_file("west-midlands"), today=later) as server:
        settings = settings.model_copy(update={"ons_web_url": server.url})
        history = steps.read_fetch_history(settings)
        outcome = steps.fetch_dataset(settings, "paye_rti", history.last_records("paye_rti"))
        assert steps.load_dataset(settings, outcome, steps.parse_dataset(outcome)).rows_new > 0
    steps.build(settings)
    publish(settings)
    with duckdb.connect(str(settings.snapshot_path), read_only=True) as con:
        old, new = con.execute(
            "SELECT old_value, new_value FROM stg_observation_revision WHERE series = 'payrolled_employees' "
            "AND geography_code = 'E08000025' AND period = '2026-10' ORDER BY revised_at DESC LIMIT 1"
        ).fetchone()
    assert old != new, "the flash estimate for October 2026 was revised"
    result = steps.build_bulletin(settings, period="2026-10", today=later)
    html = html_lib.unescape((result.folder / "index.html").read_text())
    changes = html[html.index('id="changes"') : html.index('id="strengths"')]
    assert (
        "Payrolled employees (PAYE Real Time Information), Birmingham, October 2026: revised from" in changes
    )
    assert f"{old:,.0f} to {new:,.0f}" in changes
    assert "October 2026 (flash)" not in html, "November 2026 is the newest month now"


def test_the_scorecard_gap_chart_is_folded_under_it_with_its_data(demo_edition: Path) -> None:
    """Mission metrics relative to the UK (= 100) over time, at most four lines, under a disclosure
    after the scorecard; its data is downloadable like every figure's."""
    html = (demo_edition / "index.html").read_text()
    section = html[html.index('<section aria-labelledby="levelling_up">') :]
    section = section[: section.index("</section>")]
    fold = re.search(
        r'<details class="fold"><summary>Show figure (\d+): the gaps over time</summary>', section
    )
    assert fold, "no folded gap chart in the Levelling Up section"
    number = fold[1]
    with open(demo_edition / "data" / f"figure-{number}.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    lines = {row["series"] for row in rows}
    assert 2 <= len(lines) <= 4
    names = {name for name, _, _ in scorecard.MISSIONS.values()} | set(scorecard.CHART_LABELS.values())
    assert lines <= names
    assert all(80 < float(row["value"]) < 125 for row in rows if row["value"])


def test_the_funding_table_sets_imd_2025_beside_2019_with_the_places_moved(demo_edition: Path) -> None:
    with open(demo_edition / "data" / "table-levelling-up-fund.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 7
    for row in rows:
        moved = int(row["IMD 2025 rank"]) - int(row["IMD 2019 rank"])
        expected = (
            "none" if moved == 0 else f"{abs(moved)} {'towards most deprived' if moved < 0 else 'away'}"
        )
        assert row["Places moved"] == expected, row


def test_the_funding_by_round_table_is_the_functions_figures(demo_edition: Path) -> None:
    """Per resident by round and category, England's councils and the WMCA's, as
    `warehouse.levelling_up.funding_against_need` computes them from the edition's snapshot."""
    from reports.bulletin import format as fmt
    from warehouse.levelling_up import funding_against_need

    with open(demo_edition / "data" / "table-levelling-up-fund-rounds.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    snapshot = next((demo_edition.parents[1] / "published").glob("*.duckdb"), None) or next(
        demo_edition.parents[1].rglob("warehouse.duckdb")
    )
    with duckdb.connect(str(snapshot), read_only=True) as con:
        funding = funding_against_need(con)
    expected = funding.group("england", 1, "total").per_head
    (row,) = [
        r for r in rows if r["Topic"] == "England" and r["Councils (how many)"].startswith("Category 1 ")
    ]
    assert row["Rounds 1 to 3"] == fmt.value(expected, "gbp", 0)
    assert len(rows) == 8 and {r["Topic"] for r in rows} == {"England", "WMCA"}
