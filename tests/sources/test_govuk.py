"""GOV.UK Content API connector (attachments found by title) against real HTTP servers on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources import govuk
from sources.archive import ArchivedPage
from sources.catalog import DatasetSpec, load_catalog
from sources.errors import PublisherFormatError
from sources.http import HttpConfig, make_client
from sources.replay import govuk as replay_govuk
from tests.conftest import serve_emulator

FIXTURES = Path(__file__).parents[1] / "fixtures" / "govuk"
CONFIG = HttpConfig(timeout=2, attempts=2, retry_budget=2, backoff_initial=0, backoff_max=0)
CATALOG = load_catalog(FIXTURES / "catalog.yaml")
IOD_CONTENT = "/api/content/government/statistics/english-indices-of-deprivation-2019"
IOD_FILE = (
    "/government/uploads/system/uploads/attachment_data/file/833995/"
    "File_10_-_IoD2019_Local_Authority_District_Summaries__lower-tier__.xlsx"
)
LUF_CONTENT = (
    "/api/content/government/publications/levelling-up-fund-round-2-updates-to-the-index-of-priority-places"
)
LUF_FILE = "/government/uploads/system/uploads/attachment_data/file/1062538/LUF_round_2_priority_category.csv"
NAMES = {
    "E08000025": "Birmingham",
    "E08000026": "Coventry",
    "E08000029": "Solihull",
    "E47000007": "West Midlands Combined Authority",
    "E12000005": "West Midlands",
}


def _iod_content(server: HTTPServer) -> str:
    return (FIXTURES / "content-iod2019.json").read_text().replace("{base}", server.url_for("/").rstrip("/"))


def _iod_workbook(columns: tuple[str, ...] = replay_govuk.IMD_COLUMNS) -> bytes:
    """File 10 as the catalog mapping expects it: a notes sheet first, a title row above the table."""
    workbook = Workbook()
    workbook.active.title = "Notes"
    sheet = workbook.create_sheet("IMD")
    sheet.append(["Indices of Deprivation 2019: local authority district summaries"])
    sheet.append(columns)
    sheet.append(["E08000025", "Birmingham", 21452.891, 7, 38.067, 7, 0.4313, 6])
    sheet.append(["E08000029", "Solihull", 13875.3, 191, 18.519, 200, 0.1304, 88])
    sheet.append([None, None, None, None, None, None, None, None])
    return replay_govuk.deterministic_xlsx(workbook)


def _fetch(server: HTTPServer, spec: DatasetSpec, raw_dir: Path, previous=None) -> list[ArchivedPage]:
    with make_client(CONFIG) as client:
        return govuk.fetch(
            client,
            CONFIG,
            base_url=server.url_for("/"),
            spec=spec,
            geography_codes=["E08000025"],
            raw_dir=raw_dir,
            previous=previous or (lambda key: None),
        )


def test_iod_rank_of_average_score_from_the_matching_attachment(httpserver: HTTPServer, tmp_path) -> None:
    spec = CATALOG.get("imd_2019_lad")
    httpserver.expect_request(IOD_CONTENT).respond_with_data(
        _iod_content(httpserver), content_type="application/json"
    )
    httpserver.expect_request(IOD_FILE).respond_with_data(_iod_workbook(), content_type=govuk.XLSX_TYPE)

    pages = _fetch(httpserver, spec, tmp_path)

    assert [page.path.suffix for page in pages] == [".xlsx", ".json"]  # the content item is provenance
    assert pages[0].record["version"] == "2019-09-26T09:30:00.000+01:00"
    assert pages[0].record["release_date"] == "2019-09-26"
    assert len(list((tmp_path / "govuk" / "imd_2019_lad").glob("*.json"))) == 1  # the content item too
    frame = govuk.parse(spec, [pages[0].path]).set_index("geography_code")
    assert frame.loc["E08000025", "value"] == 7
    assert frame.loc["E08000029", "value"] == 200
    assert frame.loc["E08000029", "geography_name"] == "Solihull"
    assert set(frame["period"]) == {"2019"} and set(frame["unit"]) == {"rank"}
    assert frame.loc["E08000025", "period_date"] == dt.datetime(2019, 1, 1)


def test_csv_attachment_with_text_categories_and_a_missing_value(httpserver: HTTPServer, tmp_path) -> None:
    spec = CATALOG.get("luf_priority_category")
    httpserver.expect_request(LUF_CONTENT).respond_with_data(
        (FIXTURES / "content-luf-priority.json").read_bytes(), content_type="application/json"
    )
    httpserver.expect_request(LUF_FILE).respond_with_data(
        (FIXTURES / "luf-priority.csv").read_bytes(), content_type="text/csv"
    )

    pages = _fetch(httpserver, spec, tmp_path)

    assert pages[0].path.suffix == ".csv"
    frame = govuk.parse(spec, [pages[0].path]).set_index("geography_code")
    assert frame.loc["E08000025", "value"] == 1  # written "Category 1"
    assert frame.loc["E08000029", "value"] == 3
    assert pd.isna(frame.loc["E08000026", "value"]) and frame.loc["E08000026", "status"] == "missing"
    assert frame.loc["E08000025", "geography_name"] == "Birmingham"
    assert set(frame["period"]) == {"2022"}


def _with_titles(server: HTTPServer, *titles: str) -> None:
    attachments = ",".join(
        f'{{"title": "{title}", "url": "/file/{n}.xlsx", "content_type": "{govuk.XLSX_TYPE}"}}'
        for n, title in enumerate(titles)
    )
    server.expect_request(IOD_CONTENT).respond_with_data(
        f'{{"public_updated_at": "2019-09-26T09:30:00Z", "details": {{"attachments": [{attachments}]}}}}',
        content_type="application/json",
    )


def test_an_attachment_title_matching_nothing_is_refused(httpserver: HTTPServer, tmp_path) -> None:
    _with_titles(
        httpserver, "File 1: index of multiple deprivation", "File 11: upper-tier local authority summaries"
    )
    with pytest.raises(
        PublisherFormatError, match=r"no attachment titled .*'File 11: upper-tier local authority"
    ):
        _fetch(httpserver, CATALOG.get("imd_2019_lad"), tmp_path)


def test_two_matching_attachments_are_refused(httpserver: HTTPServer, tmp_path) -> None:
    _with_titles(
        httpserver,
        "File 10: local authority district summaries",
        "File 10: local authority district summaries (revised)",
    )
    with pytest.raises(PublisherFormatError, match=r"2 attachments titled .*\(revised\)"):
        _fetch(httpserver, CATALOG.get("imd_2019_lad"), tmp_path)


def test_html_content_page_with_status_200_is_refused(httpserver: HTTPServer, tmp_path) -> None:
    httpserver.expect_request(IOD_CONTENT).respond_with_data(
        "<html><body>Sorry</body></html>", content_type="text/html"
    )
    with pytest.raises(PublisherFormatError, match=r"govuk / imd_2019_lad: .*HTML page"):
        _fetch(httpserver, CATALOG.get("imd_2019_lad"), tmp_path)


def test_html_attachment_with_status_200_is_refused(httpserver: HTTPServer, tmp_path) -> None:
    httpserver.expect_request(IOD_CONTENT).respond_with_data(
        _iod_content(httpserver), content_type="application/json"
    )
    httpserver.expect_request(IOD_FILE).respond_with_data(
        "<!DOCTYPE html><p>Moved</p>", content_type="text/html"
    )
    with pytest.raises(PublisherFormatError, match="the attachment is an HTML page"):
        _fetch(httpserver, CATALOG.get("imd_2019_lad"), tmp_path)


def test_a_renamed_column_is_refused_naming_the_columns_found(tmp_path) -> None:
    columns = tuple(
        c.replace("Rank of average score", "Rank of mean score") for c in replay_govuk.IMD_COLUMNS
    )
    path = tmp_path / "file10.xlsx"
    path.write_bytes(_iod_workbook(columns))
    with pytest.raises(PublisherFormatError, match=r"0 columns match .*'IMD - Rank of mean score'"):
        govuk.parse(CATALOG.get("imd_2019_lad"), [path])


def test_a_missing_sheet_is_refused_naming_the_sheets(tmp_path) -> None:
    workbook = Workbook()
    workbook.active.title = "Notes"
    path = tmp_path / "file10.xlsx"
    path.write_bytes(replay_govuk.deterministic_xlsx(workbook))
    with pytest.raises(PublisherFormatError, match="0 sheets match /IMD/; the sheets are: Notes"):
        govuk.parse(CATALOG.get("imd_2019_lad"), [path])


def test_an_empty_table_is_refused(tmp_path) -> None:
    path = tmp_path / "priority.csv"
    path.write_text("Local authority code,Local authority,Category\n,,\n")
    with pytest.raises(PublisherFormatError, match="no rows under its header"):
        govuk.parse(CATALOG.get("luf_priority_category"), [path])


def test_a_code_that_is_not_a_gss_code_is_refused(tmp_path) -> None:
    path = tmp_path / "priority.csv"
    path.write_text("Local authority code,Local authority,Category\nBirmingham,Birmingham,1\n")
    with pytest.raises(
        PublisherFormatError, match="'Birmingham' in 'Local authority code' is not a GSS code"
    ):
        govuk.parse(CATALOG.get("luf_priority_category"), [path])


def test_second_fetch_reuses_the_archived_attachment_on_304(httpserver: HTTPServer, tmp_path) -> None:
    body = _iod_workbook()

    def conditional(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"w1"':
            return Response(status=304)
        return Response(body, headers={"ETag": '"w1"'}, content_type=govuk.XLSX_TYPE)

    httpserver.expect_request(IOD_CONTENT).respond_with_data(
        _iod_content(httpserver), content_type="application/json"
    )
    httpserver.expect_request(IOD_FILE).respond_with_handler(conditional)
    spec = CATALOG.get("imd_2019_lad")
    first = _fetch(httpserver, spec, tmp_path)[0]

    second = _fetch(
        httpserver, spec, tmp_path, previous=lambda key: first if key == first.record["request_key"] else None
    )[0]

    assert second.record["status"] == 304
    assert second.path == first.path
    assert second.record["release_date"] == "2019-09-26"
    assert httpserver.log[-1][1].status_code == 304


def test_500_then_200_recovers(httpserver: HTTPServer, tmp_path) -> None:
    calls = []

    def flaky(request: Request) -> Response:
        calls.append(request.path)
        if len(calls) == 1:
            return Response("upstream error", status=500)
        return Response(_iod_content(httpserver), content_type="application/json")

    httpserver.expect_request(IOD_CONTENT).respond_with_handler(flaky)
    httpserver.expect_request(IOD_FILE).respond_with_data(_iod_workbook(), content_type=govuk.XLSX_TYPE)
    pages = _fetch(httpserver, CATALOG.get("imd_2019_lad"), tmp_path)
    assert len(calls) == 2
    assert govuk.parse(CATALOG.get("imd_2019_lad"), [pages[0].path])["value"].tolist() == [7, 200]


@contextmanager
def emulator(today: dt.date, names: dict[str, str]) -> Iterator[str]:
    """A loopback server answering through `replay_govuk.route`."""
    with serve_emulator(replay_govuk.route, today=today, names=names) as root:
        yield root


def test_emulator_round_trip(tmp_path) -> None:
    today = dt.date(2026, 11, 27)
    frames = {}
    with emulator(today, NAMES) as base_url, make_client(CONFIG) as client:
        assert replay_govuk.route("/elsewhere", {}, today=today, names=NAMES, base_url=base_url) is None
        for spec in CATALOG.datasets.values():
            pages = govuk.fetch(
                client,
                CONFIG,
                base_url=base_url,
                spec=spec,
                geography_codes=list(NAMES),
                raw_dir=tmp_path,
                previous=lambda key: None,
            )
            assert pages[0].record["version"] and pages[0].record["release_date"]
            frames[spec.id] = govuk.parse(spec, [page.path for page in pages])
    councils = {"E08000025", "E08000026", "E08000029"}
    for frame in frames.values():
        assert set(frame["geography_code"]) <= councils  # composite areas have no rows
    imd = frames["imd_2019_lad"].set_index("geography_code")["value"]
    assert imd.to_dict() == {"E08000025": 7, "E08000026": 81, "E08000029": 200}
    luf = frames["luf_allocations"].set_index(["series", "geography_code"])["value"]
    for code in councils:
        bids = replay_govuk.luf_bids(code)
        for number in (1, 2, 3):
            awarded = [amount for name, _, amount in bids if name == f"Round {number}"]
            assert luf.get((f"luf_allocation_round{number}", code)) == (sum(awarded) if awarded else None)
        if bids:
            assert luf[("luf_allocation_all_rounds", code)] == sum(amount for _, _, amount in bids)
    priority = frames["luf_priority_category"].set_index("geography_code")["value"]
    assert priority.to_dict() == {code: replay_govuk.luf_priority_category(code) for code in councils}
    assert set(frames["luf_allocations"]["period"]) == {"2021", "2023"}
