"""HM Land Registry UK HPI connector against real HTTP servers on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources import landregistry
from sources.archive import ArchivedPage
from sources.catalog import DatasetSpec, load_catalog
from sources.errors import PublisherFormatError, PublisherHTTPError
from sources.http import HttpConfig, make_client
from sources.observations import OBSERVATION_DTYPES
from sources.replay import landregistry as replay_landregistry
from tests.conftest import serve_emulator

FIXTURES = Path(__file__).parents[1] / "fixtures" / "landregistry"
CONFIG = HttpConfig(timeout=2, attempts=2, retry_budget=2, backoff_initial=0, backoff_max=0)
TODAY = dt.date(2026, 11, 27)
FILE = "/market-trend-data/house-price-index-data/UK-HPI-full-file-{}.csv"
NAMES = {
    "E08000025": "Birmingham",
    "E08000026": "Coventry",
    "E47000007": "West Midlands Combined Authority",
    "E12000005": "West Midlands",
}


@pytest.fixture(scope="module")
def spec() -> DatasetSpec:
    return load_catalog(FIXTURES / "catalog.yaml").get("house_prices")


def _fetch(server: HTTPServer, spec: DatasetSpec, raw_dir: Path, previous=None) -> list[ArchivedPage]:
    with make_client(CONFIG) as client:
        return landregistry.fetch(
            client,
            CONFIG,
            base_url=server.url_for("/"),
            spec=spec,
            geography_codes=["E08000025"],
            raw_dir=raw_dir,
            previous=previous or (lambda key: None),
            today=TODAY,
        )


def _not_yet(server: HTTPServer, *months: str) -> None:
    for month in months:
        server.expect_request(FILE.format(month)).respond_with_data("<Error>NoSuchKey</Error>", status=404)


def test_probes_back_past_404s_and_parses_exact_values(httpserver: HTTPServer, spec, tmp_path) -> None:
    _not_yet(httpserver, "2026-11", "2026-10")
    body = (FIXTURES / "UK-HPI-full-file-2026-09.csv").read_bytes()
    httpserver.expect_request(FILE.format("2026-09")).respond_with_data(
        body, content_type="text/csv", headers={"Last-Modified": "Wed, 18 Nov 2026 09:30:00 GMT"}
    )

    pages = _fetch(httpserver, spec, tmp_path)

    assert len(pages) == 1
    assert pages[0].record["version"] == "2026-09"
    assert pages[0].record["release_date"] == "2026-11-18"
    assert pages[0].path.read_bytes() == body
    frame = landregistry.parse(spec, [pages[0].path]).set_index(["series", "geography_code", "period"])
    # December 2014 is before FIRST_MONTH and the county E10000034 is not a kept area
    assert sorted(frame.index.get_level_values("geography_code").unique()) == [
        "E08000025",
        "E12000005",
        "E92000001",
        "N09000003",
    ]
    assert sorted(frame.index.get_level_values("period").unique()) == ["2026-07", "2026-08", "2026-09"]
    assert frame.loc[("average_house_price", "E08000025", "2026-08"), "value"] == 230127.5
    assert frame.loc[("house_price_annual_change", "E08000025", "2026-09"), "value"] == 2.87
    assert frame.loc[("house_sales_volume", "E08000025", "2026-07"), "value"] == 912
    assert frame.loc[("house_sales_volume", "E92000001", "2026-07"), "unit"] == "count"
    lagging = frame.loc[("house_sales_volume", "E08000025", "2026-09")]
    assert pd.isna(lagging["value"]) and lagging["status"] == "missing"
    assert frame.loc[("average_house_price", "N09000003", "2026-09"), "geography_name"] == "Belfast, East"
    assert frame.loc[("average_house_price", "E12000005", "2026-09"), "period_date"] == dt.datetime(
        2026, 9, 1
    )


def test_second_fetch_reuses_the_archived_file_on_304(httpserver: HTTPServer, spec, tmp_path) -> None:
    body = (FIXTURES / "UK-HPI-full-file-2026-09.csv").read_bytes()

    def conditional(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(body, headers={"ETag": '"v1"'}, content_type="text/csv")

    _not_yet(httpserver, "2026-11", "2026-10")
    httpserver.expect_request(FILE.format("2026-09")).respond_with_handler(conditional)
    first = _fetch(httpserver, spec, tmp_path)[0]

    second = _fetch(
        httpserver, spec, tmp_path, previous=lambda key: first if key == first.record["request_key"] else None
    )[0]

    assert second.record["status"] == 304
    assert second.path == first.path
    assert second.record["version"] == "2026-09"
    assert httpserver.log[-1][1].status_code == 304


def test_html_body_with_status_200_is_refused(httpserver: HTTPServer, spec, tmp_path) -> None:
    _not_yet(httpserver, "2026-11")
    httpserver.expect_request(FILE.format("2026-10")).respond_with_data(
        "<!DOCTYPE html><html><body>Service unavailable</body></html>", content_type="text/html"
    )
    with pytest.raises(PublisherFormatError, match=r"landregistry / house_prices: .*HTML page"):
        _fetch(httpserver, spec, tmp_path)


def test_parse_returns_the_observation_dtypes_in_area_month_series_order(spec) -> None:
    frame = landregistry.parse(spec, [FIXTURES / "UK-HPI-full-file-2026-09.csv"])

    assert frame.dtypes.to_dict() == OBSERVATION_DTYPES
    assert list(frame.columns) == list(OBSERVATION_DTYPES)
    assert frame.index.equals(pd.RangeIndex(len(frame)))
    assert frame[["lower", "upper"]].isna().all().all()
    positions = {series.name: position for position, series in enumerate(spec.series)}
    keys = list(zip(frame["geography_code"], frame["period"], frame["series"].map(positions), strict=True))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    ("line", "old", "new", "period"),
    [(3, "Birmingham", "Birmingham again", "2026-08"), (2, "01/07/2026", "15/07/2026", "2026-07")],
    ids=["the same day", "another day of the month"],
)
def test_a_row_given_twice_is_refused_naming_it(spec, tmp_path, line, old, new, period) -> None:
    lines = (FIXTURES / "UK-HPI-full-file-2026-09.csv").read_text().splitlines(keepends=True)
    path = tmp_path / "twice.csv"
    path.write_text("".join(lines) + lines[line].replace(old, new))
    with pytest.raises(
        PublisherFormatError, match=rf"duplicated rows, e\.g\. average_house_price for E08000025 in {period}"
    ):
        landregistry.parse(spec, [path])


def test_two_series_of_one_name_are_refused_naming_the_first_repeat(spec) -> None:
    first, second, third = spec.series
    twice = spec.model_copy(
        update={"series": (first, second, second.model_copy(update={"unit": "index"}), third)}
    )
    with pytest.raises(
        PublisherFormatError, match=r"e\.g\. house_price_annual_change for E08000025 in 2026-07"
    ):
        landregistry.parse(twice, [FIXTURES / "UK-HPI-full-file-2026-09.csv"])


def test_a_column_read_by_two_series_gives_both(spec) -> None:
    first = spec.series[0]
    both = spec.model_copy(update={"series": (*spec.series, first.model_copy(update={"name": "again"}))})
    frame = landregistry.parse(both, [FIXTURES / "UK-HPI-full-file-2026-09.csv"])
    by_series = frame.set_index(["geography_code", "period", "series"])["value"]
    assert by_series[("E08000025", "2026-08", "again")] == 230127.5
    assert list(frame["series"][:4]) == [*(series.name for series in spec.series), "again"]


def test_no_series_is_refused(spec) -> None:
    with pytest.raises(PublisherFormatError, match="names no series"):
        landregistry.parse(
            spec.model_copy(update={"series": ()}), [FIXTURES / "UK-HPI-full-file-2026-09.csv"]
        )


def test_renamed_column_is_refused_naming_it(spec, tmp_path) -> None:
    text = (FIXTURES / "UK-HPI-full-file-2026-09.csv").read_text()
    path = tmp_path / "renamed.csv"
    path.write_text(text.replace("SalesVolume,Detached", "Sales Volume,Detached", 1))
    with pytest.raises(PublisherFormatError, match=r"lacks the column\(s\) SalesVolume; .*Sales Volume"):
        landregistry.parse(spec, [path])


def test_empty_table_is_refused(spec, tmp_path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(",".join(landregistry.DOCUMENTED_COLUMNS) + "\n")
    with pytest.raises(PublisherFormatError, match="header but no rows"):
        landregistry.parse(spec, [path])


def test_a_non_number_in_a_value_column_is_refused(spec, tmp_path) -> None:
    text = (FIXTURES / "UK-HPI-full-file-2026-09.csv").read_text()
    path = tmp_path / "bad.csv"
    path.write_text(text.replace(",230127.5,", ",n/a,", 1))
    with pytest.raises(PublisherFormatError, match="cannot be read as the documented CSV"):
        landregistry.parse(spec, [path])


@pytest.mark.parametrize("number", ["nan", "inf"])
def test_nan_or_infinity_in_a_value_column_is_refused(spec, tmp_path, number: str) -> None:
    text = (FIXTURES / "UK-HPI-full-file-2026-09.csv").read_text()
    path = tmp_path / "nan.csv"
    path.write_text(text.replace(",230127.5,", f",{number},", 1))
    with pytest.raises(PublisherFormatError, match="holds NaN or infinity"):
        landregistry.parse(spec, [path])


def test_500_then_200_recovers(httpserver: HTTPServer, spec, tmp_path) -> None:
    body = (FIXTURES / "UK-HPI-full-file-2026-09.csv").read_bytes()
    calls = []

    def flaky(request: Request) -> Response:
        calls.append(request.path)
        if len(calls) == 1:
            return Response("busy", status=500)
        return Response(body, content_type="text/csv")

    httpserver.expect_request(FILE.format("2026-11")).respond_with_handler(flaky)
    pages = _fetch(httpserver, spec, tmp_path)
    assert len(calls) == 2
    assert pages[0].record["version"] == "2026-11"


def test_an_error_other_than_404_while_probing_fails(httpserver: HTTPServer, spec, tmp_path) -> None:
    httpserver.expect_request(FILE.format("2026-11")).respond_with_data("Forbidden", status=403)
    with pytest.raises(PublisherHTTPError, match="HTTP 403") as caught:
        _fetch(httpserver, spec, tmp_path)
    assert caught.value.status == 403


def test_twelve_404s_fail_naming_the_months(httpserver: HTTPServer, spec, tmp_path) -> None:
    for back in range(landregistry.MAX_PROBES):
        index = TODAY.year * 12 + TODAY.month - 1 - back
        _not_yet(httpserver, f"{index // 12}-{index % 12 + 1:02d}")
    with pytest.raises(PublisherHTTPError, match=r"no UK HPI full file in the last 12 months.*2025-12"):
        _fetch(httpserver, spec, tmp_path)
    assert len(httpserver.log) == landregistry.MAX_PROBES


@contextmanager
def emulator(today: dt.date, names: dict[str, str]) -> Iterator[str]:
    """A loopback server answering through `replay_landregistry.route`."""
    with serve_emulator(replay_landregistry.route, today=today, names=names) as root:
        yield root


def test_emulator_round_trip(tmp_path) -> None:
    catalog = load_catalog(FIXTURES / "catalog.yaml")
    with emulator(TODAY, NAMES) as base_url, make_client(CONFIG) as client:
        assert (
            replay_landregistry.route("/elsewhere", {}, today=TODAY, names=NAMES, base_url=base_url) is None
        )
        for spec in catalog.datasets.values():
            pages = landregistry.fetch(
                client,
                CONFIG,
                base_url=base_url,
                spec=spec,
                geography_codes=list(NAMES),
                raw_dir=tmp_path,
                previous=lambda key: None,
                today=TODAY,
            )
            frame = landregistry.parse(spec, [page.path for page in pages])
    assert pages[0].record["version"] == "2026-09"  # the month before last, after two 404 probes
    codes = set(frame["geography_code"])
    assert {"E08000025", "E08000026", "E12000005", "E92000001", "K02000001", "W92000004"} <= codes
    assert "E47000007" in codes  # combined authorities are kept: the index publishes them
    assert frame["period"].min() == landregistry.FIRST_MONTH and frame["period"].max() == "2026-09"
    volumes = frame[(frame["series"] == "house_sales_volume") & (frame["geography_code"] == "E08000025")]
    assert volumes.set_index("period").loc[["2026-08", "2026-09"], "status"].tolist() == [
        "missing",
        "missing",
    ]
    assert volumes.set_index("period").loc["2026-07", "value"] > 0
    prices = frame[frame["series"] == "average_house_price"].set_index(["geography_code", "period"])
    expected = replay_landregistry.average_price("E08000025", dt.date(2026, 9, 1))
    assert prices.loc[("E08000025", "2026-09"), "value"] == round(expected)


def test_benchmark_sized_file_has_the_real_layout_and_size() -> None:
    body = replay_landregistry.full_file_csv(TODAY, {}, rows_target=2_000)
    lines = body.decode().splitlines()
    assert lines[0].split(",") == list(landregistry.DOCUMENTED_COLUMNS)
    assert len(lines) - 1 >= 2_000
    assert lines[1].startswith("01/04/1968,")
