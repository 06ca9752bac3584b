"""ONS website time-series connector against real HTTP servers on loopback.

No real time-series JSON is among the real samples (none was found in public repositories), so the
parser is checked against the hand-written fixture written from the documented structure.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources import ons_web
from sources.archive import ArchivedPage
from sources.catalog import DatasetSpec, load_catalog
from sources.errors import PublisherFormatError, PublisherHTTPError
from sources.http import HttpConfig, make_client
from sources.replay import ons as replay_ons
from tests.conftest import serve_emulator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ons"
CATALOG = load_catalog(FIXTURES / "catalog.yaml")
FAST = HttpConfig(timeout=2, attempts=2, retry_budget=2, backoff_initial=0, backoff_max=0)
CPI_PATH = "/economy/inflationandpriceindices/timeseries/d7g7/mm23/data"
TODAY = dt.date(2026, 11, 27)


def fixture() -> dict:
    return json.loads((FIXTURES / "timeseries-d7g7-mm23.json").read_text())


def fetch(
    server: HTTPServer, spec: DatasetSpec, raw_dir: Path, previous=lambda key: None
) -> list[ArchivedPage]:
    with make_client(FAST) as client:
        return ons_web.fetch(
            client,
            FAST,
            base_url=server.url_for("/"),
            spec=spec,
            geography_codes=["K02000001"],
            raw_dir=raw_dir,
            previous=previous,
        )


def fetch_and_parse(server: HTTPServer, body: dict | bytes, raw_dir: Path, spec: DatasetSpec | None = None):
    spec = spec or CATALOG.get("cpi")
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    server.expect_request(CPI_PATH).respond_with_data(data, content_type="application/json")
    pages = fetch(server, spec, raw_dir)
    return pages, ons_web.parse(spec, [page.path for page in pages])


def test_months_parse_to_exact_values_and_the_release_is_recorded(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    pages, frame = fetch_and_parse(httpserver, fixture(), tmp_path)

    assert pages[0].record["url"].endswith(CPI_PATH)
    assert pages[0].record["version"] is None
    assert pages[0].record["release_date"] == "2026-10-21"  # 23:00 UTC is midnight in London (BST)
    assert pages[0].record["next_release"] == "18 November 2026"
    assert list(frame["period"]) == ["2026-06", "2026-07", "2026-08", "2026-09"]
    assert list(frame["value"][[0, 1, 3]]) == [2.8, 2.9, 3.1]
    assert set(frame["geography_code"]) == {"K02000001"}
    assert set(frame["series"]) == {"cpi_annual_rate"}
    assert set(frame["unit"]) == {"percent"}


def test_an_empty_value_is_missing_not_zero(httpserver: HTTPServer, tmp_path: Path) -> None:
    _, frame = fetch_and_parse(httpserver, fixture(), tmp_path)

    august = frame[frame["period"] == "2026-08"].iloc[0]
    assert pd.isna(august["value"])
    assert august["status"] == "missing"
    assert list(frame["status"]) == ["A", "A", "missing", "A"]


@pytest.mark.parametrize(
    ("cadence", "periods", "values"),
    [("quarterly", ["2026-Q1", "2026-Q2"], [3.1, 2.9]), ("annual", ["2024", "2025"], [2.5, 3.4])],
)
def test_the_cadence_picks_the_array(
    httpserver: HTTPServer, tmp_path: Path, cadence: str, periods: list[str], values: list[float]
) -> None:
    spec = CATALOG.get("cpi").model_copy(update={"cadence": cadence})

    _, frame = fetch_and_parse(httpserver, fixture(), tmp_path, spec)

    assert list(frame["period"]) == periods
    assert list(frame["value"]) == values


def test_an_unchanged_series_costs_a_304_and_reuses_the_archived_page(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    body = json.dumps(fixture()).encode()
    conditional = []

    def handler(request: Request) -> Response:
        conditional.append(request.headers.get("If-Modified-Since"))
        if request.headers.get("If-Modified-Since"):
            return Response(status=304)
        return Response(body, headers={"Last-Modified": "Wed, 21 Oct 2026 06:00:00 GMT"})

    httpserver.expect_request(CPI_PATH).respond_with_handler(handler)
    spec = CATALOG.get("cpi")

    first = fetch(httpserver, spec, tmp_path)
    second = fetch(httpserver, spec, tmp_path, previous={first[0].record["request_key"]: first[0]}.get)

    assert conditional == [None, "Wed, 21 Oct 2026 06:00:00 GMT"]
    assert second[0].path == first[0].path
    assert second[0].record["status"] == 304
    assert second[0].record["release_date"] == "2026-10-21"


def test_an_html_page_with_status_200_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    page = b"<!DOCTYPE html>\n<html><head><title>Office for National Statistics</title></head></html>"

    with pytest.raises(PublisherFormatError, match=r"ons_web / cpi: the response is an HTML page"):
        fetch_and_parse(httpserver, page, tmp_path)


def test_a_changed_title_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = fixture()
    body["description"]["title"] = "CPI INDEX 00: ALL ITEMS 2015=100"

    with pytest.raises(
        PublisherFormatError, match=r"the series title is 'CPI INDEX 00.*meaning may have changed"
    ):
        fetch_and_parse(httpserver, body, tmp_path)


def test_another_cdid_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = fixture()
    body["description"]["cdid"] = "D7BT"

    with pytest.raises(PublisherFormatError, match="asked for CDID d7g7, the series is D7BT"):
        fetch_and_parse(httpserver, body, tmp_path)


def test_a_missing_description_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = fixture()
    del body["description"]

    with pytest.raises(PublisherFormatError, match=r"no description\.title"):
        fetch_and_parse(httpserver, body, tmp_path)


def test_an_empty_array_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = fixture()
    body["months"] = []

    with pytest.raises(PublisherFormatError, match="the time series has no months"):
        fetch_and_parse(httpserver, body, tmp_path)


def test_an_unknown_period_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = fixture()
    body["months"][0]["date"] = "2026 W26"

    with pytest.raises(PublisherFormatError, match="date '2026 W26' is not a monthly period"):
        fetch_and_parse(httpserver, body, tmp_path)


def test_a_value_that_is_not_a_number_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = fixture()
    body["months"][1]["value"] = "2,9"

    with pytest.raises(PublisherFormatError, match="the value '2,9' for '2026 JUL' is not a number"):
        fetch_and_parse(httpserver, body, tmp_path)


def test_a_404_names_the_publisher_and_dataset(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request(CPI_PATH).respond_with_data("Not found", status=404)

    with pytest.raises(PublisherHTTPError, match="ons_web / cpi: HTTP 404"):
        fetch(httpserver, CATALOG.get("cpi"), tmp_path)


def test_429_with_retry_after_then_200_recovers(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_ordered_request(CPI_PATH).respond_with_data(
        "", status=429, headers={"Retry-After": "0"}
    )

    started = time.monotonic()
    _, frame = fetch_and_parse(httpserver, fixture(), tmp_path)

    assert len(frame) == 4
    assert time.monotonic() - started < 1
    assert len(httpserver.log) == 2


def test_the_url_is_lowercase() -> None:
    spec = CATALOG.get("cpi").model_copy(update={"query": {"cdid": "D7G7", "topic": "/Economy/X/"}})

    assert (
        ons_web.data_url("https://www.ons.gov.uk/", spec)
        == "https://www.ons.gov.uk/economy/x/timeseries/d7g7/mm23/data"
    )


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    """The ONS emulator behind a loopback server; yields the server root URL."""
    with serve_emulator(replay_ons.route, today=TODAY, names={}) as root:
        yield root


@pytest.mark.parametrize("dataset_id", ["cpi", "cpih"])
def test_emulator_round_trip(emulator: str, tmp_path: Path, dataset_id: str) -> None:
    spec = CATALOG.get(dataset_id)
    with make_client(FAST) as client:
        pages = ons_web.fetch(
            client,
            FAST,
            base_url=emulator,
            spec=spec,
            geography_codes=[],
            raw_dir=tmp_path,
            previous=lambda key: None,
        )
    frame = ons_web.parse(spec, [page.path for page in pages])

    # On 27 November 2026 the October figure is out: it came on the third Wednesday, 18 November.
    assert frame["period"].iloc[-1] == "2026-10"
    assert pages[0].record["release_date"] == "2026-11-18"
    assert pages[0].record["next_release"] == "16 December 2026"
    assert frame["value"].notna().all()
    assert frame["value"].between(-1, 12).all()
    quarters = ons_web.parse(spec.model_copy(update={"cadence": "quarterly"}), [pages[0].path])
    assert quarters["period"].iloc[-1] == "2026-Q3"


def test_emulator_answers_404_for_an_unknown_series() -> None:
    reply = replay_ons.route(
        "/economy/inflationandpriceindices/timeseries/zzzz/mm23/data", {}, today=TODAY, names={}, base_url=""
    )

    assert reply is not None and reply.status == 404
