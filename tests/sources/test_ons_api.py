"""ONS CMD API connector against real HTTP servers on loopback (pytest-httpserver, the emulator)."""

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

from sources import ons_api
from sources.archive import ArchivedPage
from sources.catalog import DatasetSpec, load_catalog
from sources.errors import PublisherFormatError
from sources.http import HttpConfig, make_client
from sources.replay import ons as replay_ons
from tests.conftest import serve_emulator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ons"
REAL_SAMPLES = Path(__file__).resolve().parents[3] / "shared/reference/real-samples"
CATALOG = load_catalog(FIXTURES / "catalog.yaml")
FAST = HttpConfig(timeout=2, attempts=2, retry_budget=2, backoff_initial=0, backoff_max=0)
REAL_API = "https://api.beta.ons.gov.uk"
REAL_DOWNLOAD = "https://download.beta.ons.gov.uk"
DATASET_PATH = "/v1/datasets/regional-gdp-by-year"
VERSION_PATH = "/v1/datasets/regional-gdp-by-year/editions/time-series/versions/6"
CSV_PATH = "/downloads/datasets/regional-gdp-by-year/editions/time-series/versions/6.csv"
TODAY = dt.date(2026, 11, 27)
NAMES = {
    "E47000007": "West Midlands Combined Authority",
    "E08000025": "Birmingham",
    "E08000026": "Coventry",
    "E08000027": "Dudley",
    "E08000028": "Sandwell",
    "E08000029": "Solihull",
    "E08000030": "Walsall",
    "E08000031": "Wolverhampton",
    "E12000005": "West Midlands (region)",
    "E92000001": "England",
    "K02000001": "United Kingdom",
}
REGION_CODES = {f"E1200000{i}" for i in range(1, 10)} | {"W92000004", "S92000003", "N92000002"}


@pytest.fixture(autouse=True)
def no_spacing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ons_api, "RATE_LIMITS", ())


def on_server(text: str, server: HTTPServer) -> str:
    """A fixture's absolute ONS links, pointed at the loopback server with their paths unchanged."""
    root = server.url_for("").rstrip("/")
    return text.replace(REAL_API, root).replace(REAL_DOWNLOAD, root)


def serve_dataset(server: HTTPServer, csv_body: bytes, *, dataset: str = "regional-gdp-by-year") -> None:
    for name, path in (("cmd-dataset.json", DATASET_PATH), ("cmd-version.json", VERSION_PATH)):
        text = on_server((FIXTURES / name).read_text(), server).replace("regional-gdp-by-year", dataset)
        server.expect_request(path.replace("regional-gdp-by-year", dataset)).respond_with_data(
            text, content_type="application/json"
        )
    server.expect_request(CSV_PATH.replace("regional-gdp-by-year", dataset)).respond_with_data(
        csv_body, content_type="text/csv"
    )


def fetch(
    server: HTTPServer, spec: DatasetSpec, raw_dir: Path, previous=lambda key: None
) -> list[ArchivedPage]:
    with make_client(FAST) as client:
        return ons_api.fetch(
            client,
            FAST,
            base_url=server.url_for("/v1"),
            spec=spec,
            geography_codes=list(NAMES),
            raw_dir=raw_dir,
            previous=previous,
        )


def fetch_and_parse(server: HTTPServer, spec: DatasetSpec, csv_body: bytes, raw_dir: Path):
    serve_dataset(server, csv_body, dataset=spec.source_id)
    return ons_api.parse(spec, [page.path for page in fetch(server, spec, raw_dir)])


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_walks_dataset_version_and_csv_and_parses_exact_values(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    serve_dataset(httpserver, fixture_bytes("cmd-regional-gdp.csv"))
    spec = CATALOG.get("regional_gdp")

    pages = fetch(httpserver, spec, tmp_path)
    frame = ons_api.parse(spec, [page.path for page in pages])

    assert [page.path.suffix for page in pages] == [".csv", ".json", ".json"]
    assert pages[0].record["version"] == "6"
    assert pages[0].record["release_date"] == "2025-04-24"
    assert pages[0].record["url"].endswith(CSV_PATH)
    assert pages[0].path.read_bytes() == fixture_bytes("cmd-regional-gdp.csv")
    rows = {(r.geography_code, r.period): r for r in frame.itertuples()}
    assert len(frame) == 5  # the £ million row is another series, not in the catalog
    assert rows["E12000005", "2023"].value == 32496
    assert rows["E12000005", "2023"].geography_name == "West Midlands"
    assert rows["E12000005", "2022"].value == 31250
    assert rows["E12000007", "2023"].value == 66812
    assert rows["K02000001", "2023"].value == 38471
    assert set(frame["status"]) == {"A", "x"}
    assert set(frame["unit"]) == {"gbp"}
    assert str(rows["E12000005", "2023"].period_date.date()) == "2023-01-01"


def test_a_marked_empty_value_is_missing_not_zero(httpserver: HTTPServer, tmp_path: Path) -> None:
    frame = fetch_and_parse(
        httpserver, CATALOG.get("regional_gdp"), fixture_bytes("cmd-regional-gdp.csv"), tmp_path
    )

    northern_ireland = frame[frame["geography_code"] == "N92000002"].iloc[0]
    assert northern_ireland["status"] == "x"
    assert pd.isna(northern_ireland["value"])


def test_limits_financial_years_and_gss_codes(httpserver: HTTPServer, tmp_path: Path) -> None:
    frame = fetch_and_parse(
        httpserver, CATALOG.get("wellbeing"), fixture_bytes("cmd-wellbeing.csv"), tmp_path
    )

    rows = {(r.geography_code, r.period): r for r in frame.itertuples()}
    assert len(frame) == 4  # the happiness row is not a catalog series
    birmingham = rows["E08000025", "2023"]
    assert (birmingham.value, birmingham.lower, birmingham.upper) == (7.38, 7.25, 7.51)
    assert rows["E08000025", "2022"].value == 7.41
    assert rows["E12000005", "2023"].value == 7.52
    assert rows["E08000028", "2023"].status == "x"


def test_monthly_times_and_itl_codes(httpserver: HTTPServer, tmp_path: Path) -> None:
    frame = fetch_and_parse(
        httpserver, CATALOG.get("online_job_adverts"), fixture_bytes("cmd-job-adverts.csv"), tmp_path
    )

    assert sorted(zip(frame["geography_code"], frame["period"], frame["value"], strict=True)) == [
        ("E12000005", "2026-09", 87.3),
        ("E12000005", "2026-10", 85.9),
        ("K02000001", "2026-10", 90.1),
    ]


def test_a_pinned_edition_is_walked_from_the_edition(httpserver: HTTPServer, tmp_path: Path) -> None:
    serve_dataset(httpserver, fixture_bytes("cmd-regional-gdp.csv"))
    httpserver.expect_request(f"{DATASET_PATH}/editions/time-series").respond_with_data(
        on_server((FIXTURES / "cmd-edition.json").read_text(), httpserver), content_type="application/json"
    )
    spec = CATALOG.get("regional_gdp").model_copy(update={"query": {"edition": "time-series"}})

    pages = fetch(httpserver, spec, tmp_path)

    assert pages[0].record["version"] == "6"
    assert httpserver.log[0][0].path == f"{DATASET_PATH}/editions/time-series"


def test_an_unchanged_csv_costs_a_304_and_reuses_the_archived_page(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    body = fixture_bytes("cmd-regional-gdp.csv")
    conditional = []

    def csv_handler(request: Request) -> Response:
        conditional.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"v6"':
            return Response(status=304, headers={"ETag": '"v6"'})
        return Response(body, headers={"ETag": '"v6"'}, content_type="text/csv")

    for name, path in (("cmd-dataset.json", DATASET_PATH), ("cmd-version.json", VERSION_PATH)):
        httpserver.expect_request(path).respond_with_data(
            on_server((FIXTURES / name).read_text(), httpserver)
        )
    httpserver.expect_request(CSV_PATH).respond_with_handler(csv_handler)
    spec = CATALOG.get("regional_gdp")

    first = fetch(httpserver, spec, tmp_path)
    held = {page.record["request_key"]: page for page in first}
    second = fetch(httpserver, spec, tmp_path, previous=held.get)

    assert conditional == [None, '"v6"']
    assert second[0].path == first[0].path
    assert second[0].record["status"] == 304
    assert second[0].record["sha256"] == first[0].record["sha256"]
    assert second[0].record["version"] == "6"
    assert ons_api.parse(spec, [second[0].path]).equals(ons_api.parse(spec, [first[0].path]))


def test_an_html_page_with_status_200_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    serve_dataset(httpserver, b"<!DOCTYPE html><html><body>Service unavailable</body></html>")

    with pytest.raises(PublisherFormatError, match=r"ons_api / regional_gdp: .*HTML page"):
        fetch(httpserver, CATALOG.get("regional_gdp"), tmp_path)


def test_an_html_dataset_document_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request(DATASET_PATH).respond_with_data(
        "<html>Maintenance</html>", content_type="text/html"
    )

    with pytest.raises(PublisherFormatError, match="HTML page"):
        fetch(httpserver, CATALOG.get("regional_gdp"), tmp_path)


def test_a_version_without_a_csv_download_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    version = json.loads(on_server((FIXTURES / "cmd-version.json").read_text(), httpserver))
    del version["downloads"]["csv"]
    httpserver.expect_request(DATASET_PATH).respond_with_data(
        on_server((FIXTURES / "cmd-dataset.json").read_text(), httpserver)
    )
    httpserver.expect_request(VERSION_PATH).respond_with_json(version)

    with pytest.raises(PublisherFormatError, match=r"no absolute link at downloads\.csv\.href"):
        fetch(httpserver, CATALOG.get("regional_gdp"), tmp_path)


def test_a_renamed_column_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = fixture_bytes("cmd-regional-gdp.csv").replace(b"unit-of-measure,", b"measure-unit,", 1)

    with pytest.raises(PublisherFormatError, match=r"lacks the column.*unit-of-measure"):
        fetch_and_parse(httpserver, CATALOG.get("regional_gdp"), body, tmp_path)


def test_a_missing_code_label_pair_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    lines = fixture_bytes("cmd-regional-gdp.csv").decode().splitlines()
    cut = [",".join(line.split(",")[:5]) for line in lines[:2]]  # "Geography" label column gone

    with pytest.raises(PublisherFormatError, match="code/label column pairs"):
        fetch_and_parse(httpserver, CATALOG.get("regional_gdp"), ("\n".join(cut) + "\n").encode(), tmp_path)


def test_a_body_without_the_v4_value_column_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = fixture_bytes("cmd-regional-gdp.csv").replace(b"V4_1,", b"Value,", 1)

    with pytest.raises(PublisherFormatError, match="not the documented V4_n value column"):
        fetch_and_parse(httpserver, CATALOG.get("regional_gdp"), body, tmp_path)


def test_an_empty_table_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    header = fixture_bytes("cmd-regional-gdp.csv").split(b"\n")[0] + b"\n"

    with pytest.raises(PublisherFormatError, match="a header but no rows"):
        fetch_and_parse(httpserver, CATALOG.get("regional_gdp"), header, tmp_path)


def test_an_empty_body_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    with pytest.raises(PublisherFormatError, match="body is empty"):
        fetch_and_parse(httpserver, CATALOG.get("regional_gdp"), b"", tmp_path)


def test_an_unknown_marker_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = fixture_bytes("cmd-regional-gdp.csv").replace(b",x,", b",zz,")

    with pytest.raises(PublisherFormatError, match=r"unknown Data Marking 'zz' for N92000002 at '2023'"):
        fetch_and_parse(httpserver, CATALOG.get("regional_gdp"), body, tmp_path)


def test_an_empty_value_without_a_marker_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = fixture_bytes("cmd-regional-gdp.csv").replace(b",x,", b",,")

    with pytest.raises(PublisherFormatError, match="V4_1 is empty with no marker for N92000002"):
        fetch_and_parse(httpserver, CATALOG.get("regional_gdp"), body, tmp_path)


def test_an_unknown_period_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = fixture_bytes("cmd-job-adverts.csv").replace(b"Sep-26,Sep-26", b"2026-W39,2026-W39")

    with pytest.raises(PublisherFormatError, match=r"time '2026-W39' is not a monthly period"):
        fetch_and_parse(httpserver, CATALOG.get("online_job_adverts"), body, tmp_path)


def test_a_changed_label_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = fixture_bytes("cmd-regional-gdp.csv").replace("£ per head".encode(), b"Index 2019=100")

    with pytest.raises(
        PublisherFormatError, match="UnitOfMeasure is 'Index 2019=100' for series gdp_per_head"
    ):
        fetch_and_parse(httpserver, CATALOG.get("regional_gdp"), body, tmp_path)


def test_a_series_matching_no_row_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = fixture_bytes("cmd-regional-gdp.csv").replace(b"pounds-per-head", b"gbp-per-head")

    with pytest.raises(PublisherFormatError, match=r"no row has the codes .* of series gdp_per_head"):
        fetch_and_parse(httpserver, CATALOG.get("regional_gdp"), body, tmp_path)


def test_429_with_retry_after_then_200_recovers(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_ordered_request(DATASET_PATH).respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "0"}
    )
    serve_dataset(httpserver, fixture_bytes("cmd-regional-gdp.csv"))

    started = time.monotonic()
    pages = fetch(httpserver, CATALOG.get("regional_gdp"), tmp_path)

    assert pages[0].record["version"] == "6"
    assert time.monotonic() - started < 1
    assert [request.path for request, _ in httpserver.log].count(DATASET_PATH) == 2


@pytest.mark.parametrize(
    ("code", "cadence", "period"),
    [
        ("2017", "annual", "2017"),
        ("2019-20", "annual", "2019"),
        ("Jan-17", "monthly", "2017-01"),
        ("Sep-16", "monthly", "2016-09"),
        ("2019-12", "monthly", "2019-12"),
        ("2023 Q1", "quarterly", "2023-Q1"),
        ("Q4-2023", "quarterly", "2023-Q4"),
    ],
)
def test_time_codes_become_our_periods(code: str, cadence: str, period: str) -> None:
    assert ons_api.to_period(code, cadence) == period


@pytest.mark.parametrize(
    ("code", "cadence"), [("2019-12", "annual"), ("2023", "monthly"), ("2023-W01", "quarterly")]
)
def test_a_time_code_of_another_cadence_is_not_guessed(code: str, cadence: str) -> None:
    with pytest.raises(ValueError, match=f"not a {cadence} period"):
        ons_api.to_period(code, cadence)


def test_itl1_and_nuts1_codes_map_to_gss_regions() -> None:
    itl = {f"TL{letter}" for letter in "CDEFGHIJKLMN"}

    assert {ons_api.gss_code(code) for code in itl} == REGION_CODES
    assert ons_api.gss_code("TLG") == ons_api.gss_code("UKG") == "E12000005"
    assert ons_api.gss_code("K02000001") == "K02000001"
    assert ons_api.gss_code("E08000025") == "E08000025"


def test_requests_wait_only_when_a_burst_would_cross_a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from limits import RateLimitItemPerSecond

    monkeypatch.setattr(
        ons_api, "RATE_LIMITS", (RateLimitItemPerSecond(3, 1), RateLimitItemPerSecond(100, 10))
    )
    started = time.monotonic()
    for _ in range(3):
        ons_api.throttle()
    burst = time.monotonic() - started
    ons_api.throttle()  # the fourth within a second waits for the first to leave the window
    fourth = time.monotonic() - started

    assert burst < 0.5
    assert fourth >= 0.9


def real_sample(name: str) -> bytes:
    path = REAL_SAMPLES / name
    if not path.exists():
        pytest.skip(f"real publisher samples not found at {REAL_SAMPLES} (absent on a fresh clone)")
    return path.read_bytes()


def test_the_real_mid_year_population_csv_parses(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = real_sample("ons-cmd-mid-year-pop-est.csv")
    version = "/v1/datasets/mid-year-pop-est/editions/time-series/versions/4"
    download = "/downloads/datasets/mid-year-pop-est/editions/time-series/versions/4.csv"
    httpserver.expect_request("/v1/datasets/mid-year-pop-est").respond_with_json(
        {
            "id": "mid-year-pop-est",
            "links": {"latest_version": {"href": httpserver.url_for(version), "id": "4"}},
        }
    )
    httpserver.expect_request(version).respond_with_json(
        {
            "version": 4,
            "release_date": "2018-06-28T00:00:00.000Z",
            "downloads": {"csv": {"href": httpserver.url_for(download)}},
        }
    )
    httpserver.expect_request(download).respond_with_data(body, content_type="text/csv")
    spec = DatasetSpec.model_validate(
        {
            "id": "population_by_sex",
            "publisher": "ons_api",
            "title": "Mid-year population estimates",
            "source_id": "mid-year-pop-est",
            "cadence": "annual",
            "load_policy": "merge",
            "series": [
                {
                    "name": "population_all",
                    "unit": "count",
                    "match": {"mid-year-pop-age": "total", "mid-year-pop-sex": "0"},
                    "labels": {"age": "Total", "sex": "All"},
                },
                {
                    "name": "population_male",
                    "unit": "count",
                    "match": {"mid-year-pop-age": "total", "mid-year-pop-sex": "1"},
                    "labels": {"age": "Total", "sex": "Male"},
                },
            ],
        }
    )

    pages = fetch(httpserver, spec, tmp_path)
    frame = ons_api.parse(spec, [page.path for page in pages])

    assert pages[0].record["version"] == "4"
    assert pages[0].record["release_date"] == "2018-06-28"
    assert sorted(
        zip(frame["series"], frame["geography_code"], frame["period"], frame["value"], strict=True)
    ) == [
        ("population_all", "E06000004", "2017", 196487),
        ("population_male", "E06000001", "2017", 45361),
        ("population_male", "E06000004", "2017", 96793),
    ]
    assert set(frame["geography_name"]) == {"Stockton-on-Tees", "Hartlepool"}
    assert set(frame["status"]) == {"A"}


def test_the_real_observation_time_labels_are_months() -> None:
    document = json.loads(real_sample("ons-cmd-cpih01-observations.json"))
    labels = [item["dimensions"]["time"]["label"] for item in document["observations"]]

    periods = [ons_api.to_period(label, "monthly") for label in labels]

    assert periods[:3] == ["2016-09", "2017-09", "2015-09"]
    assert "2005-05" in periods and "2018-03" in periods
    assert len(set(periods)) == len(labels)


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    """The ONS emulator behind a loopback server; yields the server root URL."""
    with serve_emulator(replay_ons.route, today=TODAY, names=NAMES) as root:
        yield root


def fetch_from_emulator(root: str, dataset_id: str, raw_dir: Path):
    spec = CATALOG.get(dataset_id)
    with make_client(FAST) as client:
        pages = ons_api.fetch(
            client,
            FAST,
            base_url=root + "/v1",
            spec=spec,
            geography_codes=list(NAMES),
            raw_dir=raw_dir,
            previous=lambda key: None,
        )
    return pages, ons_api.parse(spec, [page.path for page in pages])


def test_emulator_round_trip_regional_gdp(emulator: str, tmp_path: Path) -> None:
    pages, frame = fetch_from_emulator(emulator, "regional_gdp", tmp_path)

    assert pages[0].record["url"].startswith(emulator + "/downloads/datasets/regional-gdp-by-year/")
    assert pages[0].record["release_date"] == "2026-04-24"
    assert pages[0].record["version"] == "6"
    latest = frame[frame["period"] == "2024"]
    assert set(latest["geography_code"]) == REGION_CODES | {"K02000001"}
    assert frame["period"].max() == "2024"
    assert (latest["value"] > 20_000).all()


def test_emulator_round_trip_wellbeing(emulator: str, tmp_path: Path) -> None:
    pages, frame = fetch_from_emulator(emulator, "wellbeing", tmp_path)

    assert pages[0].record["release_date"] == "2026-10-23"
    latest = frame[frame["period"] == "2025"]  # April 2025 to March 2026
    expected = {code for code in NAMES if not code.startswith("E47")} | REGION_CODES
    assert set(latest["geography_code"]) == expected
    assert latest["value"].notna().all()
    assert latest["lower"].lt(latest["value"]).all() and latest["upper"].gt(latest["value"]).all()
    assert frame[frame["status"] == "x"]["value"].isna().all()


def test_emulator_round_trip_online_job_adverts(emulator: str, tmp_path: Path) -> None:
    pages, frame = fetch_from_emulator(emulator, "online_job_adverts", tmp_path)

    assert pages[0].record["release_date"] == "2026-11-08"
    assert frame["period"].max() == "2026-10"
    assert set(frame[frame["period"] == "2026-10"]["geography_code"]) == REGION_CODES | {"K02000001"}
    assert frame["value"].notna().all()


def test_emulator_is_deterministic_and_ignores_other_paths() -> None:
    def body(path: str) -> bytes:
        reply = replay_ons.route(path, {}, today=TODAY, names=NAMES, base_url="http://x")
        assert reply is not None and reply.status == 200
        return reply.body

    download = "/downloads/datasets/wellbeing-local-authority/editions/time-series/versions/7.csv"
    assert body(download) == body(download)
    assert (
        replay_ons.route("/api/v01/dataset/NM_1_1.data.csv", {}, today=TODAY, names=NAMES, base_url="")
        is None
    )
    missing = replay_ons.route("/v1/datasets/no-such-thing", {}, today=TODAY, names=NAMES, base_url="")
    assert missing is not None and missing.status == 404
