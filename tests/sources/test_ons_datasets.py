"""ONS dataset pages and their workbooks (PAYE RTI): the real February 2026 workbook, the demo's
emulation over loopback, and every layout fault failing loudly with the warehouse unchanged."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

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
