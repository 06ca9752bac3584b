"""ONS dataset pages and their workbooks (PAYE RTI): the real February 2026 workbook, the demo's
emulation over loopback, and every layout fault failing loudly with the warehouse unchanged."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from flows import steps
from flows.settings import Settings
from sources import ons_datasets
from sources.catalog import default_catalog
from sources.errors import PublisherFormatError
from sources.http import make_client
from sources.replay import ons_datasets as emulation
from tests.conftest import FAST_HTTP, REAL_SAMPLES
from tests.reliability.test_bad_input import digest_tree

RTI_WORKBOOK = REAL_SAMPLES / "ons-xlsx" / "rtisafeb2026.xlsx"
SPEC = default_catalog().get("paye_rti")
LANDING = emulation.RTI_LANDING


def value(frame, series: str, code: str, period: str) -> float:
    (found,) = frame[
        (frame.series == series) & (frame.geography_code == code) & (frame.period == period)
    ].value.tolist()
    return found


@pytest.fixture(scope="module")
def real_frame():
    if not RTI_WORKBOOK.exists():
        pytest.skip(f"the real PAYE RTI workbook is not here ({RTI_WORKBOOK}): ../shared is absent")
    return ons_datasets.parse(SPEC, [RTI_WORKBOOK])


def test_the_real_workbook_gives_the_published_figures(real_frame) -> None:
    """Figures read off the February 2026 release (sheets 7, 8, 11, 15, 16)."""
    assert value(real_frame, "payrolled_employees", "E12000005", "2026-01") == 2_615_834  # West Midlands
    assert value(real_frame, "payrolled_employees", "K02000001", "2026-01") == 30_278_600
    assert value(real_frame, "payrolled_employees", "E08000025", "2026-01") == 465_427  # Birmingham
    assert value(real_frame, "payrolled_employees", "E47000007", "2026-01") == 1_251_306  # UKG3
    assert value(real_frame, "payrolled_employees", "E12000005", "2014-07") == 2_296_733
    assert value(real_frame, "median_monthly_pay", "K02000001", "2026-01") == 2_588
    assert value(real_frame, "median_monthly_pay", "E12000005", "2026-01") == 2_467
    assert value(real_frame, "median_monthly_pay", "E08000029", "2026-01") == 2_699  # Solihull UKG32
    assert value(real_frame, "median_monthly_pay", "E47000007", "2026-01") == 2_414
    months = sorted(set(real_frame.period))
    assert (months[0], months[-1], len(months)) == ("2014-07", "2026-01", 139)


def test_the_real_councils_add_up_to_the_wmca_area_within_a_few_employees(real_frame) -> None:
    councils = ("E08000025", "E08000026", "E08000027", "E08000028", "E08000029", "E08000030", "E08000031")
    for period in ("2020-02", "2026-01"):
        total = sum(value(real_frame, "payrolled_employees", c, period) for c in councils)
        assert abs(total - value(real_frame, "payrolled_employees", "E47000007", period)) <= 7


def test_the_real_workbook_states_its_publication_date() -> None:
    if not RTI_WORKBOOK.exists():
        pytest.skip(f"the real PAYE RTI workbook is not here ({RTI_WORKBOOK}): ../shared is absent")
    assert ons_datasets._published_on(RTI_WORKBOOK, SPEC) == "2026-02-17"


def _fetch(base_url: str, raw_dir: Path):
    with make_client(FAST_HTTP) as client:
        return ons_datasets.fetch(
            client,
            FAST_HTTP,
            base_url=base_url,
            spec=SPEC,
            geography_codes=[],
            raw_dir=raw_dir,
            previous=lambda key: None,
        )


def test_the_workbook_is_found_from_the_landing_page_and_archived(httpserver, tmp_path: Path) -> None:
    body = emulation.workbook(dt.date(2026, 9, 1))
    page = (
        f'<a href="/file?uri={LANDING}/current/accessibleexamplertisaoct2026.xlsx">Accessible</a>'
        f'<a href="/file?uri={LANDING}/current/rtisaoct2026.xlsx">xlsx</a>'
    )
    httpserver.expect_request(LANDING).respond_with_data(page, content_type="text/html")
    httpserver.expect_request(
        "/file", query_string={"uri": f"{LANDING}/current/rtisaoct2026.xlsx"}
    ).respond_with_data(body, content_type=emulation.XLSX_TYPE)
    workbook, landing = _fetch(httpserver.url_for(""), tmp_path)
    assert workbook.path.read_bytes() == body and workbook.path.suffix == ".xlsx"
    assert workbook.record["params"] == {"uri": f"{LANDING}/current/rtisaoct2026.xlsx"}
    assert workbook.record["release_date"] == "2026-10-20"  # the third Tuesday, as the Index says
    assert landing.path.suffix == ".html"
    frame = ons_datasets.parse(SPEC, [workbook.path, landing.path])
    assert sorted(set(frame.period))[-1] == "2026-09"


def test_a_landing_page_without_a_workbook_link_names_the_page(httpserver, tmp_path: Path) -> None:
    page = f'<a href="/file?uri={LANDING}/current/accessibleexample.xlsx">Accessible</a><p>Moved.</p>'
    httpserver.expect_request(LANDING).respond_with_data(page, content_type="text/html")
    with pytest.raises(PublisherFormatError, match=r"the landing page http://.*links no current \.xlsx"):
        _fetch(httpserver.url_for(""), tmp_path)


def _edited(tmp_path: Path, sheet: str, edit) -> Path:
    book = load_workbook(io.BytesIO(emulation.workbook(dt.date(2026, 9, 1))))
    edit(book[sheet])
    path = tmp_path / "edited.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.insert_rows(1), r"sheet '15\. Employees \(NUTS3\)' row 1: the title is ''"),
        (
            lambda s: s.insert_rows(5),
            r"sheet '15\. Employees \(NUTS3\)' row 7: expected the area codes on row 6",
        ),
        (
            lambda s: s.cell(7, next(c.column for c in s[6] if c.value == "UKG33"), "Walsall"),
            r"row 7: UKG33 is named 'Walsall', expected 'Coventry'",
        ),
        (lambda s: s.cell(9, 1, "Febuary 2026"), r"row 9: 'Febuary 2026' is not a month"),
        (lambda s: s.cell(10, 2, "[x]"), r"row 10: .* has '\[x\]', not a number"),
        (lambda s: s.delete_cols(s.max_column), r"row 6: no UK column"),
        (
            lambda s: [setattr(s.cell(row, 2), "value", None) for row in (6, 7)],
            r"UKG31 \(Birmingham\) in none of sheets 7, 11, 15 for series payrolled_employees",
        ),
        (
            lambda s: s.cell(4, 2, "£ per month"),
            r"row 4: the units is '£ per month', expected /Payrolled employees/",
        ),
    ],
)
def test_a_layout_that_moved_fails_naming_the_sheet_and_row(tmp_path: Path, edit, message: str) -> None:
    with pytest.raises(PublisherFormatError, match=message):
        ons_datasets.parse(SPEC, [_edited(tmp_path, "15. Employees (NUTS3)", edit)])


def test_a_missing_sheet_lists_the_sheets_found(tmp_path: Path) -> None:
    book = load_workbook(io.BytesIO(emulation.workbook(dt.date(2026, 9, 1))))
    book["16. Median pay (NUTS3)"].title = "16. Median pay"
    book.remove(book["16. Median pay"])
    path = tmp_path / "edited.xlsx"
    book.save(path)
    with pytest.raises(PublisherFormatError, match=r"no sheet numbered '16' for series median_monthly_pay"):
        ons_datasets.parse(SPEC, [path])


def test_an_area_in_two_sheets_must_agree(tmp_path: Path) -> None:
    path = _edited(tmp_path, "11. Employees (NUTS2)", lambda s: s.cell(8, s.max_column, 1))
    with pytest.raises(
        PublisherFormatError, match=r"UK in 2014-07 is .* in sheet '11\. Employees \(NUTS2\)'"
    ):
        ons_datasets.parse(SPEC, [path])


def test_a_failed_fetch_leaves_the_warehouse_and_snapshot_unchanged(
    demo_data_dir: Settings, eim_env: Path, httpserver
) -> None:
    shutil.copytree(demo_data_dir.data_dir, eim_env, symlinks=True)
    httpserver.expect_request(LANDING).respond_with_data(
        "<p>This page has moved.</p>", content_type="text/html"
    )
    settings = Settings(ons_web_url=httpserver.url_for(""), demo=True)
    before = digest_tree(eim_env / "warehouse.duckdb"), digest_tree(settings.snapshot_path)
    with pytest.raises(PublisherFormatError, match=r"links no current \.xlsx workbook"):
        steps.fetch_dataset(settings, "paye_rti", steps.read_fetch_history(settings).last_records("paye_rti"))
    assert (digest_tree(eim_env / "warehouse.duckdb"), digest_tree(settings.snapshot_path)) == before


# --- business demography, quarterly: the low-level geographic breakdown ------------------------------

DEMOGRAPHY_WORKBOOK = REAL_SAMPLES / "ons-xlsx" / "finalq22023lowlevelgeobreakdown.xlsx"
DEMOGRAPHY = default_catalog().get("business_demography")


@pytest.fixture(scope="module")
def real_demography():
    if not DEMOGRAPHY_WORKBOOK.exists():
        pytest.skip(f"the real business demography workbook is not here ({DEMOGRAPHY_WORKBOOK})")
    return ons_datasets.parse(DEMOGRAPHY, [DEMOGRAPHY_WORKBOOK])


def test_the_real_breakdown_gives_the_published_counts(real_demography) -> None:
    """Rows of the Q2 2023 edition's `Births 2022-2023` sheet, and its year-split sheets joined."""
    births = "business_births"
    assert value(real_demography, births, "E12000005", "2022-Q1") == 8_670  # West Midlands
    assert value(real_demography, births, "E08000025", "2022-Q1") == 2_050  # Birmingham
    assert value(real_demography, births, "E08000025", "2023-Q2") == 1_430
    assert value(real_demography, births, "E08000026", "2022-Q1") == 675  # Coventry
    assert value(real_demography, births, "K02000001", "2022-Q1") == 101_410  # 'UK : United Kingdom'
    assert value(real_demography, births, "E08000025", "2017-Q1") == 1_755  # from `Births 2017-2019`
    assert value(real_demography, "business_deaths", "E08000025", "2022-Q1") == 1_890
    quarters = sorted(set(real_demography.period))
    assert (quarters[0], quarters[-1], len(quarters)) == ("2017-Q1", "2023-Q2", 26)


def test_the_unspecified_row_and_the_uk_aggregates_without_codes_are_no_area(real_demography) -> None:
    codes = set(real_demography.geography_code)
    assert "U99999999" not in codes and not any(c in codes for c in ("GB", "EW", "UK"))
    # The councils add up to less than the UK: the Unspecified births count in the UK total only.
    q1 = real_demography[
        (real_demography.series == "business_births") & (real_demography.period == "2022-Q1")
    ]
    parts = q1[q1.geography_code.str[:3].isin(["E06", "E07", "E08", "E09", "W06", "S12", "N09"])].value.sum()
    assert parts + 1_805 <= 101_410


def test_the_real_breakdown_states_its_publication_date() -> None:
    if not DEMOGRAPHY_WORKBOOK.exists():
        pytest.skip(f"the real business demography workbook is not here ({DEMOGRAPHY_WORKBOOK})")
    assert ons_datasets._published_on(DEMOGRAPHY_WORKBOOK, DEMOGRAPHY) == "2023-07-27"


def _demography(tmp_path: Path, edit=None, sheet: str = "Births 2022-2026") -> Path:
    from sources.replay.server import ReplayServer
    from warehouse.geography import load_area_file

    server = ReplayServer.serving(load_area_file("west-midlands"), today=dt.date(2026, 11, 27))
    body = emulation.demography_workbook((2026, 3), server.names, server.members)
    path = tmp_path / "breakdown.xlsx"
    if edit is None:
        path.write_bytes(body)
        return path
    book = load_workbook(io.BytesIO(body))
    edit(book[sheet])
    book.save(path)
    return path


def test_the_demo_breakdown_adds_up_and_is_found_from_its_landing_page(httpserver, tmp_path: Path) -> None:
    frame = ons_datasets.parse(DEMOGRAPHY, [_demography(tmp_path)])
    q3 = frame[(frame.series == "business_births") & (frame.period == "2026-Q3")].set_index("geography_code")
    councils = ("E08000025", "E08000026", "E08000027", "E08000028", "E08000029", "E08000030", "E08000031")
    assert (
        sum(q3.value[c] for c in councils)
        < q3.value["E12000005"]
        < q3.value["E92000001"]
        < q3.value["K02000001"]
    )
    page = (
        f'<a href="/file?uri={emulation.DEMOGRAPHY_LANDING}/quarter3julytoseptember2026/'
        'finalq32026lowlevelgeobreakdown.xlsx">xlsx</a>'
    )
    httpserver.expect_request(emulation.DEMOGRAPHY_LANDING).respond_with_data(page, content_type="text/html")
    httpserver.expect_request("/file").respond_with_data(
        _demography(tmp_path).read_bytes(), content_type=emulation.XLSX_TYPE
    )
    with make_client(FAST_HTTP) as client:
        workbook, _ = ons_datasets.fetch(
            client,
            FAST_HTTP,
            base_url=httpserver.url_for(""),
            spec=DEMOGRAPHY,
            geography_codes=[],
            raw_dir=tmp_path / "raw",
            previous=lambda key: None,
        )
    assert workbook.record["params"]["uri"].endswith("/finalq32026lowlevelgeobreakdown.xlsx")
    assert workbook.record["release_date"] == "2026-10-28"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.insert_rows(1), r"sheet 'Births 2022-2026' row 1: the title is ''"),
        (lambda s: s.insert_rows(4), r"row 4: expected 'Geography' then the quarters"),
        (lambda s: s.cell(4, 3, "2022 Q2"), r"row 4: column 3 is '2022 Q2', not a quarter"),
        (lambda s: s.cell(9, 1, "E08000025 Birmingham"), r"row 9: 'E08000025 Birmingham' is not an area"),
        (lambda s: s.cell(9, 1, "X123 : Nowhere"), r"row 9: 'X123' is not a GSS code"),
        (lambda s: s.cell(9, 2, "[x]"), r"row 9: .* has '\[x\]' in column 2, not a count or 'c'"),
        (lambda s: s.delete_rows(5), r"sheet 'Births 2022-2026' row 5: no 'UK : United Kingdom' row"),
    ],
)
def test_a_breakdown_that_moved_fails_naming_the_sheet_and_row(tmp_path: Path, edit, message: str) -> None:
    with pytest.raises(PublisherFormatError, match=message):
        ons_datasets.parse(DEMOGRAPHY, [_demography(tmp_path, edit)])


def test_a_suppressed_count_is_missing_not_zero(tmp_path: Path) -> None:
    suppressed = []

    def suppress(sheet) -> None:
        suppressed.append(sheet.cell(9, 1).value.split(" : ")[0])
        sheet.cell(9, 2, "c")

    frame = ons_datasets.parse(DEMOGRAPHY, [_demography(tmp_path, suppress)])
    births = frame[(frame.series == "business_births") & (frame.period == "2022-Q1")]
    (row,) = births[births.geography_code == suppressed[0]].itertuples()
    assert pd.isna(row.value) and row.status == "missing"


def test_a_later_edition_revises_the_newest_quarters_only(tmp_path: Path) -> None:
    from sources.replay.server import ReplayServer
    from warehouse.geography import load_area_file

    server = ReplayServer.serving(load_area_file("west-midlands"), today=dt.date(2026, 11, 27))
    frames = []
    for edition in ((2026, 2), (2026, 3)):
        path = tmp_path / f"{edition[1]}.xlsx"
        path.write_bytes(emulation.demography_workbook(edition, server.names, server.members))
        frame = ons_datasets.parse(DEMOGRAPHY, [path])
        frames.append(frame[frame.geography_code == "E08000025"].set_index(["series", "period"]).value)
    earlier, later = frames
    assert earlier[("business_births", "2026-Q2")] != later[("business_births", "2026-Q2")], "revised"
    assert earlier[("business_births", "2025-Q4")] == later[("business_births", "2025-Q4")], "settled"
