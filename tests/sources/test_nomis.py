"""The Nomis connector against a real HTTP server on loopback serving the documented CSV."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from sources import nomis
from sources.catalog import default_catalog
from sources.errors import PublisherFormatError, PublisherHTTPError, PublisherUnreachable
from sources.http import make_client
from tests.conftest import FAST_HTTP, FIXTURES, REAL_SAMPLES, NomisFixtureServer

GEOGRAPHIES = [
    "E08000025",
    "E08000026",
    "E08000027",
    "E08000028",
    "E08000029",
    "E08000030",
    "E08000031",
    "E12000005",
    "E92000001",
    "K02000001",
]


def fetch(server: NomisFixtureServer, raw_dir: Path, dataset: str = "claimant_count", **options):
    spec = default_catalog().get(dataset)
    with make_client(FAST_HTTP) as client:
        return nomis.fetch(
            client,
            FAST_HTTP,
            base_url=server.url,
            spec=spec,
            geography_codes=GEOGRAPHIES,
            raw_dir=raw_dir,
            previous=options.pop("previous", lambda key: None),
            **options,
        )


def test_parses_values_and_keeps_q_as_missing(nomis_server: NomisFixtureServer, tmp_path: Path) -> None:
    nomis_server.serve_fixture("NM_162_1")
    pages = fetch(nomis_server, tmp_path)
    frame = nomis.parse(default_catalog().get("claimant_count"), [p.path for p in pages])

    assert len(frame) == 80
    row = frame[
        (frame.series == "claimant_count")
        & (frame.geography_code == "E08000025")
        & (frame.period == "2026-10")
    ].iloc[0]
    assert row.value == 60000 and row.status == "A" and row.unit == "count"
    assert str(row.period_date.date()) == "2026-10-01"
    missing = frame[(frame.geography_code == "E08000027") & (frame.period == "2026-08")]
    assert set(missing.status) == {"Q"}
    assert missing.value.isna().all(), "a Q value must be missing, never 0"
    rate = frame[
        (frame.series == "claimant_rate")
        & (frame.geography_code == "E08000028")
        & (frame.period == "2026-10")
    ].value.iloc[0]
    assert math.isclose(rate, 6.2)


def test_requests_gss_codes_and_catalog_dimensions(nomis_server: NomisFixtureServer, tmp_path: Path) -> None:
    nomis_server.serve_fixture("NM_162_1")
    fetch(nomis_server, tmp_path)
    sent = nomis_server.requests[0]
    assert sent["geography"] == ",".join(GEOGRAPHIES)
    assert (sent["gender"], sent["age"], sent["measure"], sent["measures"]) == (
        "0",
        "0,10,11",
        "1,2",
        "20100",
    )


def test_pages_with_record_offset(nomis_server: NomisFixtureServer, tmp_path: Path) -> None:
    nomis_server.page_limit = 30
    nomis_server.serve_fixture("NM_162_1")
    pages = fetch(nomis_server, tmp_path, page_size=30)

    # A first fetch asks for the older periods (none in the fixture) and then the newest 13 months.
    assert [(r["time"], r.get("recordOffset")) for r in nomis_server.requests] == [
        ("latestMINUS84-latestMINUS13", None),
        ("latestMINUS12-latest", None),
        ("latestMINUS12-latest", "30"),
        ("latestMINUS12-latest", "60"),
    ]
    assert len(pages) == 4
    frame = nomis.parse(default_catalog().get("claimant_count"), [p.path for p in pages])
    assert len(frame) == 80 and not frame.duplicated(["series", "geography_code", "period"]).any()


def test_short_page_is_detected(nomis_server: NomisFixtureServer, tmp_path: Path) -> None:
    # The server silently caps pages at 25 rows while the client expects the guest limit of 30.
    nomis_server.page_limit = 25
    nomis_server.serve_fixture("NM_162_1")
    with pytest.raises(PublisherFormatError, match=r"claimant_count: short page: 25 rows .* RECORD_COUNT 80"):
        fetch(nomis_server, tmp_path, page_size=30)


def _with_row_changed(line: int, change) -> str:
    lines = (FIXTURES / "nomis" / "NM_162_1.data.csv").read_text().splitlines(keepends=True)
    lines[line] = change(lines[line])
    return "".join(lines)


def test_a_row_whose_record_count_differs_is_refused(
    nomis_server: NomisFixtureServer, tmp_path: Path
) -> None:
    nomis_server.serve("NM_162_1", _with_row_changed(5, lambda row: row.replace(",80\n", ",81\n")))
    with pytest.raises(PublisherFormatError, match="claimant_count: RECORD_COUNT differs between rows"):
        fetch(nomis_server, tmp_path)


def test_a_row_with_a_field_missing_is_refused(nomis_server: NomisFixtureServer, tmp_path: Path) -> None:
    nomis_server.serve("NM_162_1", _with_row_changed(7, lambda row: row.split(",", 1)[1]))
    with pytest.raises(
        PublisherFormatError, match=r"claimant_count: CSV line 8 has .* fields, the header has"
    ):
        fetch(nomis_server, tmp_path)


def test_html_page_with_status_200_is_refused(httpserver, tmp_path: Path) -> None:
    httpserver.expect_request("/api/v01/dataset/NM_162_1.data.csv").respond_with_data(
        "<!DOCTYPE html><html><body>Service unavailable</body></html>", content_type="text/html"
    )
    with pytest.raises(PublisherFormatError, match=r"nomis / claimant_count: .*HTML page"):
        fetch(NomisFixtureServer(httpserver), tmp_path)


def test_missing_column_is_refused(nomis_server: NomisFixtureServer, tmp_path: Path) -> None:
    body = (FIXTURES / "nomis" / "NM_162_1.data.csv").read_text().replace("OBS_STATUS,", "OBS_STAT,", 1)
    nomis_server.serve("NM_162_1", body)
    with pytest.raises(PublisherFormatError, match=r"lacks the column.*OBS_STATUS"):
        fetch(nomis_server, tmp_path)


def test_truncated_body_is_refused(nomis_server: NomisFixtureServer, tmp_path: Path) -> None:
    body = (FIXTURES / "nomis" / "NM_162_1.data.csv").read_text()
    nomis_server.serve("NM_162_1", body[: len(body) // 2])
    with pytest.raises(PublisherFormatError, match="claimant_count"):
        fetch(nomis_server, tmp_path)


def test_unknown_status_marker_is_refused(nomis_server: NomisFixtureServer, tmp_path: Path) -> None:
    body = (FIXTURES / "nomis" / "NM_162_1.data.csv").read_text().replace(",A,Normal Value,", ",Z,Odd,", 1)
    nomis_server.serve("NM_162_1", body)
    pages = fetch(nomis_server, tmp_path)
    with pytest.raises(PublisherFormatError, match="unknown OBS_STATUS 'Z'"):
        nomis.parse(default_catalog().get("claimant_count"), [p.path for p in pages])


def test_changed_code_meaning_is_refused(nomis_server: NomisFixtureServer, tmp_path: Path) -> None:
    body = (FIXTURES / "nomis" / "NM_2002_1.data.csv").read_text().replace("Aged 16 - 64", "Aged 16 - 24")
    nomis_server.serve("NM_2002_1", body)
    pages = fetch(nomis_server, tmp_path, dataset="population")
    with pytest.raises(PublisherFormatError, match=r"C_AGE_NAME is 'Aged 16 - 24'.*meaning may have changed"):
        nomis.parse(default_catalog().get("population"), [p.path for p in pages])


def test_not_found_is_not_retried(httpserver, tmp_path: Path) -> None:
    httpserver.expect_oneshot_request("/api/v01/dataset/NM_162_1.data.csv").respond_with_data("no", 404)
    with pytest.raises(PublisherHTTPError, match="HTTP 404") as raised:
        fetch(NomisFixtureServer(httpserver), tmp_path)
    assert not raised.value.transient
    assert len(httpserver.log) == 1


def test_key_is_sent_but_never_recorded(nomis_server: NomisFixtureServer, tmp_path: Path) -> None:
    nomis_server.serve_fixture("NM_162_1")
    pages = fetch(nomis_server, tmp_path, uid="0xSECRETKEY")
    assert nomis_server.requests[0]["uid"] == "0xSECRETKEY"
    assert "SECRETKEY" not in repr(pages[0].record)
    assert "SECRETKEY" not in (tmp_path / "nomis" / "claimant_count" / "fetches.jsonl").read_text()


def test_unchanged_page_costs_a_304_and_reuses_the_archive(
    nomis_server: NomisFixtureServer, tmp_path: Path
) -> None:
    nomis_server.serve_fixture("NM_162_1")
    first = fetch(nomis_server, tmp_path)
    by_key = {page.record["request_key"]: page for page in first}
    second = fetch(nomis_server, tmp_path, previous=by_key.get)

    assert second[0].record["status"] == 304
    assert second[0].path == first[0].path
    assert second[0].sha256 == first[0].sha256


def test_archive_keeps_the_body_unchanged(nomis_server: NomisFixtureServer, tmp_path: Path) -> None:
    nomis_server.serve_fixture("NM_2002_1")
    (page,) = fetch(nomis_server, tmp_path, dataset="population")
    assert page.path.read_text() == (FIXTURES / "nomis" / "NM_2002_1.data.csv").read_text()
    assert page.path.name == f"{page.sha256}.csv"
    assert page.record["url"].endswith("/api/v01/dataset/NM_2002_1.data.csv")


def test_connection_refused_names_the_host(tmp_path: Path) -> None:
    spec = default_catalog().get("population")
    with (
        make_client(FAST_HTTP) as client,
        pytest.raises(PublisherUnreachable, match=r"could not reach 127\.0\.0\.1"),
    ):
        nomis.fetch(
            client,
            FAST_HTTP,
            base_url="http://127.0.0.1:9",
            spec=spec,
            geography_codes=GEOGRAPHIES,
            raw_dir=tmp_path,
            previous=lambda key: None,
        )


def test_the_real_nomis_sample_uses_the_column_names_the_parser_expects(httpserver, tmp_path: Path) -> None:
    """Real bytes (a `select=` extract): same column names and status labels as our fixtures; being a
    column subset without RECORD_COUNT, it is refused loudly, since a short page could not be detected."""
    sample = REAL_SAMPLES / "nomis-claimant-select.csv"
    if not sample.exists():
        pytest.skip(f"the real samples folder is absent ({REAL_SAMPLES}): run with ../shared beside the repo")
    header = sample.read_text().splitlines()[0].split(",")
    ours = (FIXTURES / "nomis" / "NM_162_1.data.csv").read_text().splitlines()[0].split(",")
    assert set(header) - {"OBS_STATUS_NAME"} <= set(ours) | {"GENDER_NAME", "AGE_NAME", "MEASURE_NAME"}
    assert {"DATE_NAME", "GEOGRAPHY_CODE", "OBS_VALUE"} <= set(header)
    assert "Normal Value" in sample.read_text() and nomis.STATUS_MARKERS["A"] == "Normal Value"
    httpserver.expect_request("/api/v01/dataset/NM_162_1.data.csv").respond_with_data(
        sample.read_bytes(), content_type="text/csv"
    )
    with pytest.raises(PublisherFormatError, match=r"lacks the column.*RECORD_COUNT"):
        fetch(NomisFixtureServer(httpserver), tmp_path)


def test_a_confirmed_page_is_counted_by_lines_with_the_strict_read_s_result() -> None:
    body = (FIXTURES / "nomis" / "NM_162_1.data.csv").read_bytes()
    quoted = body.replace(b",Birmingham,", b',"Birmingham, City of",')
    spanning = body.replace(b",Birmingham,", b',"Birmingham\nCity",')
    for page in (body, quoted, spanning):
        assert nomis.page_extent(page, "claimant_count", confirmed=True) == nomis.page_extent(
            page, "claimant_count"
        )
    assert nomis.page_extent(body, "claimant_count", confirmed=True) == nomis.PageExtent(80, 80, 0)
    assert nomis._counted_extent(spanning, "claimant_count") is None, (
        "a field spanning lines is read strictly"
    )


def test_a_second_fetch_answered_by_304s_pages_as_the_first(
    nomis_server: NomisFixtureServer, tmp_path: Path
) -> None:
    nomis_server.page_limit = 30
    nomis_server.serve_fixture("NM_162_1")
    first = fetch(nomis_server, tmp_path, page_size=30)
    by_key = {page.record["request_key"]: page for page in first}
    again = fetch(nomis_server, tmp_path, page_size=30, previous=by_key.get)

    assert [page.record["status"] for page in again] == [304, 304, 304, 304]
    assert [page.path for page in again] == [page.path for page in first]


def _csv_module_rows(body: bytes) -> list[dict[str, str]]:
    import csv
    import io

    reader = csv.reader(io.StringIO(body.decode("utf-8-sig")))
    header = next(reader)
    return [dict(zip(header, values, strict=True)) for values in reader if values]


def _odd_but_valid_pages() -> dict[str, bytes]:
    """The claimant-count fixture as CSV allows it to be written: quoting, line ends, a BOM..."""
    body = (FIXTURES / "nomis" / "NM_162_1.data.csv").read_bytes()
    return {
        "as published": body,
        "quoted comma": body.replace(b",Birmingham,", b',"Birmingham, City of",'),
        "quote inside a quoted field": body.replace(b",Birmingham,", b',"The ""Birmingham"" area",'),
        "field spanning lines": body.replace(b",Birmingham,", b',"Birmingham\nCity",'),
        "CRLF line ends": body.replace(b"\n", b"\r\n"),
        "byte-order mark": b"\xef\xbb\xbf" + body,
        "blank lines": body.replace(b"\n", b"\n\n", 3),
        "empty fields": body.replace(b",Normal Value,", b",,"),
    }


def test_a_page_reads_as_python_s_csv_module_reads_it() -> None:
    for name, page in _odd_but_valid_pages().items():
        assert nomis.read_page(page, "claimant_count") == _csv_module_rows(page), name
        wanted = {"GEOGRAPHY_NAME", "OBS_VALUE", "NOT_A_COLUMN"}
        assert nomis.read_page(page, "claimant_count", wanted) == [
            {"GEOGRAPHY_NAME": row["GEOGRAPHY_NAME"], "OBS_VALUE": row["OBS_VALUE"]}
            for row in _csv_module_rows(page)
        ], name


def _pages_of(settings, dataset: str) -> list[Path]:
    from warehouse.db import connect_read_only

    with connect_read_only(settings.warehouse_path) as con:
        rows = con.execute(
            "SELECT raw_path FROM fetch_log WHERE dataset = ? AND status = 200 ORDER BY fetched_at, page",
            [dataset],
        ).fetchall()
    return [settings.raw_dir / raw_path for (raw_path,) in rows]


NOMIS_DATASETS = [d for d, spec in default_catalog().datasets.items() if spec.publisher == "nomis"]


@pytest.mark.parametrize("dataset", NOMIS_DATASETS)
def test_the_columnar_reading_makes_the_row_by_row_frame(demo_data_dir, dataset: str) -> None:
    spec = default_catalog().get(dataset)
    pages = _pages_of(demo_data_dir, dataset)
    columnar = nomis._parse_columns(spec, pages)
    plain = not any(s.interval or nomis._combinations(s) != 1 for s in spec.series)
    assert (columnar is not None) == plain, "plain series are read column by column, others row by row"
    if columnar is not None:
        pd.testing.assert_frame_equal(columnar, nomis._parse_rows(spec, pages), check_exact=True)


def test_the_columnar_reading_makes_the_row_by_row_frame_of_odd_but_valid_pages(tmp_path: Path) -> None:
    variants = _odd_but_valid_pages()
    body = variants["as published"]
    variants["exponent and negative zero"] = body.replace(b",60000,", b",6.0E4,", 1).replace(
        b",6.2,", b",-0,", 1
    )
    spec = default_catalog().get("claimant_count")
    for name, page in variants.items():
        path = tmp_path / f"{len(name)}.csv"
        path.write_bytes(page)
        columnar = nomis._parse_columns(spec, [path])
        assert columnar is not None, name
        pd.testing.assert_frame_equal(columnar, nomis._parse_rows(spec, [path]), check_exact=True, obj=name)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ((b",A,Normal Value,", b",Z,Odd,"), "unknown OBS_STATUS 'Z'"),
        ((b",60000,", b",60 000,"), "OBS_VALUE '60 000' is not a number"),
        ((b",60000,", b",1_000,"), None),  # Python's float() reads it; so must the parse
        ((b",60000,", b",,"), "OBS_VALUE '' is not a number"),
        ((b"Total", b"Male"), "GENDER_NAME is 'Male'"),
        ((b"\n2026-10,", b"\n2026-13,"), "DATE '2026-13' is not a period"),
    ],
)
def test_a_row_the_columnar_reading_cannot_vouch_for_is_read_row_by_row(
    tmp_path: Path, change: tuple[bytes, bytes], error: str | None
) -> None:
    body = (FIXTURES / "nomis" / "NM_162_1.data.csv").read_bytes()
    assert change[0] in body
    path = tmp_path / "page.csv"
    path.write_bytes(body.replace(*change, 1))
    spec = default_catalog().get("claimant_count")
    assert nomis._parse_columns(spec, [path]) is None
    if error is None:
        pd.testing.assert_frame_equal(nomis.parse(spec, [path]), nomis._parse_rows(spec, [path]))
    else:
        with pytest.raises(PublisherFormatError, match=error):
            nomis.parse(spec, [path])


def test_a_repeated_row_is_named_by_the_row_by_row_reading(tmp_path: Path) -> None:
    lines = (FIXTURES / "nomis" / "NM_162_1.data.csv").read_bytes().splitlines(keepends=True)
    path = tmp_path / "page.csv"
    path.write_bytes(b"".join([*lines, lines[3]]))
    spec = default_catalog().get("claimant_count")
    assert nomis._parse_columns(spec, [path]) is None
    with pytest.raises(PublisherFormatError, match="duplicated rows"):
        nomis.parse(spec, [path])


def _youth_page(tmp_path: Path, teen_status: str = "A", *, teens: bool = True) -> Path:
    """A page of one area and month: aged 16-17 and 18-24 claimant counts (the catalog's sum)."""
    header = (
        "DATE,DATE_NAME,GEOGRAPHY_NAME,GEOGRAPHY_CODE,GENDER,GENDER_NAME,AGE,AGE_NAME,MEASURE,"
        "MEASURE_NAME,MEASURES,MEASURES_NAME,OBS_VALUE,OBS_STATUS,OBS_STATUS_NAME,RECORD_OFFSET,RECORD_COUNT"
    )
    rows = [("11", "Aged 18-24", "2300", "A")] + ([("10", "Aged 16-17", "35", teen_status)] if teens else [])
    lines = [header] + [
        f"2026-10,October 2026,Coventry,E08000026,0,Total,{age},{name},1,Claimant count,20100,Value,"
        f"{value if status == 'A' else ''},{status},{nomis.STATUS_MARKERS[status]},{n},{len(rows)}"
        for n, (age, name, value, status) in enumerate(rows)
    ]
    path = tmp_path / "page.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _sum_16_24(frame: pd.DataFrame) -> pd.Series:
    (row,) = frame[frame.series == "claimant_count_16_24"].itertuples()
    return row


def test_a_catalog_sum_adds_its_parts_rows_without_taking_them(tmp_path: Path) -> None:
    frame = nomis.parse(default_catalog().get("claimant_count"), [_youth_page(tmp_path)])
    total = _sum_16_24(frame)
    assert (total.value, total.status, total.unit, total.geography_name) == (2335, "A", "count", "Coventry")
    assert str(total.period_date.date()) == "2026-10-01"
    assert set(frame.series) == {"youth_claimant_count", "claimant_count_16_17", "claimant_count_16_24"}
    assert frame[frame.series == "youth_claimant_count"].value.tolist() == [2300], "the part keeps its row"


@pytest.mark.parametrize("teens", ["missing value", "no row"])
def test_a_catalog_sum_is_missing_never_partial(tmp_path: Path, teens: str) -> None:
    page = _youth_page(tmp_path, "Q") if teens == "missing value" else _youth_page(tmp_path, teens=False)
    total = _sum_16_24(nomis.parse(default_catalog().get("claimant_count"), [page]))
    assert pd.isna(total.value) and total.status == "Q"


@pytest.mark.parametrize(
    ("sums", "error"),
    [
        ([{"name": "all_ages", "of": ["claimant_count", "nonexistent"]}], "adds unknown series"),
        ([{"name": "mixed", "of": ["claimant_count", "claimant_rate"]}], "series of different units"),
        ([{"name": "claimant_rate", "of": ["claimant_count", "youth_claimant_count"]}], "is also a series"),
    ],
)
def test_a_catalog_sum_must_add_series_of_its_dataset_and_unit(sums: list, error: str) -> None:
    from pydantic import ValidationError

    from sources.catalog import DatasetSpec

    spec = default_catalog().get("claimant_count")
    with pytest.raises(ValidationError, match=error):
        DatasetSpec.model_validate({**spec.model_dump(), "sums": sums})
