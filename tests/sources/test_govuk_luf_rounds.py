"""Levelling Up Fund rounds 1 and 2: the ODS lists, names matched to GSS codes through the names table,
fetched from a loopback server in the publisher's layout (GOV.UK Content API, then the attachment)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from sources import govuk
from sources.area_names import load_names_table, normalise
from sources.catalog import default_catalog
from sources.errors import PublisherFormatError
from sources.http import HttpConfig, make_client
from sources.replay.govuk import LUF_R1_COLUMNS, LUF_R2_COLUMNS, deterministic_ods

CONFIG = HttpConfig(timeout=2, attempts=2, retry_budget=2, backoff_initial=0, backoff_max=0)
R1_PAGE = "government/publications/levelling-up-fund-first-round-successful-bidders"
R1_FILE = "/media/61967c148fa8f50379269cc9/LUF_bidders_list.ods"
R2_PAGE = "government/publications/levelling-up-fund-round-2-successful-bidders"
R2_FILE = "/media/646b87038a7184000cae4ef2/LUF_R2_list_of_successful_bids.ods"


def round1_ods(*bids: tuple[str, str, object]) -> bytes:
    """Round 1's layout: row 0 blank, the header on row 1, spacer columns A and C."""
    header = [None, LUF_R1_COLUMNS[0], None, *LUF_R1_COLUMNS[1:]]
    return deterministic_ods({"Sheet1": [[], header, *([None, n, None, b, v] for n, b, v in bids)]})


def round2_ods(*bids: tuple[str, str, object, str], footnote: str | None = None) -> bytes:
    header = [None, LUF_R2_COLUMNS[0], None, *LUF_R2_COLUMNS[1:]]
    rows = [[], header, *([None, n, None, b, v, c] for n, b, v, c in bids)]
    if footnote:
        rows += [[], [None, footnote]]
    return deterministic_ods({"Successful bids": rows})


def serve(server: HTTPServer, page: str, path: str, body: bytes, title: str) -> None:
    item = {
        "title": title,
        "first_published_at": "2021-10-27T15:30:00.000+01:00",
        "public_updated_at": "2021-11-18T16:00:00.000+00:00",
        "details": {
            "attachments": [
                {"title": "Levelling Up Fund: prospectus", "url": "/media/0/prospectus.pdf"},
                {"title": title, "url": server.url_for(path), "content_type": govuk.ODS_TYPE},
            ]
        },
    }
    server.expect_request(f"/api/content/{page}").respond_with_json(item)
    server.expect_request(path).respond_with_data(body, content_type=govuk.ODS_TYPE)


def fetch_and_parse(server: HTTPServer, dataset: str, tmp_path: Path):
    spec = default_catalog().get(dataset)
    with make_client(CONFIG) as client:
        pages = govuk.fetch(
            client,
            CONFIG,
            base_url=server.url_for("/"),
            spec=spec,
            geography_codes=[],
            raw_dir=tmp_path,
            previous=lambda key: None,
        )
    assert pages[0].path.suffix == ".ods"
    return govuk.parse(spec, [page.path for page in pages])


def test_round1_short_names_are_matched_and_summed_by_area(httpserver: HTTPServer, tmp_path) -> None:
    body = round1_ods(
        ("Birmingham", "Bid one", 20_000_000),
        ("Bury", "Radcliffe (Civic and Enterprise Hub Development)", 20_000_000),
        ("Bury", "BuryMarket FlexiHall", 20_000_000),
        ("Wyre Forest", "Kidderminster", 17_300_000),
        ("Liverpool City Region", "Levelling Up for Recovery", 37_520_000),
    )
    serve(httpserver, R1_PAGE, R1_FILE, body, "Levelling Up Fund: first round successful bidders")

    frame = fetch_and_parse(httpserver, "luf_round1_bids", tmp_path).set_index("geography_code")

    assert frame["value"].to_dict() == {
        "E08000025": 20_000_000,
        "E08000002": 40_000_000,  # Bury's two bids
        "E07000239": 17_300_000,  # Wyre Forest, not Wyre (E07000128)
        "E47000004": 37_520_000,  # the combined authority keeps its own code
    }
    assert set(frame["series"]) == {"luf_allocation_round1"} and set(frame["period"]) == {"2021"}
    assert frame.loc["E08000002", "geography_name"] == "Bury" and set(frame["unit"]) == {"gbp"}


def test_round2_legal_names_stars_and_footnotes(httpserver: HTTPServer, tmp_path) -> None:
    body = round2_ods(
        (
            "Oldham Metropolitan Borough Council",
            "Green Technology and Innovation Network",
            20_000_000,
            "England",
        ),
        ("Lancaster City Council*", "Eden Project North", 50_000_000, "England"),
        ("City of Wolverhampton Council", "City Learning Quarter", 20_000_000, "England"),
        ("Allerdale Borough Council", "Workington Gateway", 9_586_777, "England"),
        ("Lancashire County Council", "Levelling Up East Lancashire", "£49,602,741", "England"),
        ("Belfast City Council", "Illustrative Belfast bid", 12_000_000, "Northern Ireland"),
        footnote="* Bid submitted jointly with neighbouring authorities",
    )
    serve(httpserver, R2_PAGE, R2_FILE, body, "Levelling Up Fund round 2: list of successful bids")

    frame = fetch_and_parse(httpserver, "luf_round2_bids", tmp_path).set_index("geography_code")

    assert frame["value"].to_dict() == {
        "E08000004": 20_000_000,
        "E07000121": 50_000_000,
        "E08000031": 20_000_000,
        "E06000063": 9_586_777,  # Allerdale, abolished in 2023: Cumberland
        "E10000017": 49_602_741,  # a county council: the county's code, no district's
        "N09000003": 12_000_000,
    }
    assert set(frame["period"]) == {"2023"}


def test_an_unknown_name_fails_naming_it_the_round_and_the_file(httpserver: HTTPServer, tmp_path) -> None:
    body = round2_ods(
        ("Birmingham City Council", "Bid", 20_000_000, "England"),
        ("Wyre Forrest District Council", "Misspelt", 5_000_000, "England"),
    )
    serve(httpserver, R2_PAGE, R2_FILE, body, "Levelling Up Fund round 2: list of successful bids")

    with pytest.raises(PublisherFormatError) as raised:
        fetch_and_parse(httpserver, "luf_round2_bids", tmp_path)
    message = str(raised.value)
    assert "'Wyre Forrest District Council'" in message
    assert "Levelling Up Fund round 2" in message and "luf_allocation_round2" in message
    assert ".ods" in message and "area_names.csv" in message


def test_a_value_without_a_name_is_refused(tmp_path) -> None:
    path = tmp_path / "r1.ods"
    path.write_bytes(round1_ods(("Birmingham", "Bid", 20_000_000), ("", "Orphan bid", 3_000_000)))
    with pytest.raises(PublisherFormatError, match="a value of '3000000' with no name beside it"):
        govuk.parse(default_catalog().get("luf_round1_bids"), [path])


def test_a_renamed_column_is_refused_naming_the_columns_found(tmp_path) -> None:
    path = tmp_path / "r1.ods"
    rows = [
        [],
        [None, "Local Authority Name / Area", None, "Bid Name", "Amount"],
        [None, "Bury", None, "B", 1],
    ]
    path.write_bytes(deterministic_ods({"Sheet1": rows}))
    with pytest.raises(
        PublisherFormatError, match=r"0 columns match /Bid Value/; the columns are: .*'Amount'"
    ):
        govuk.parse(default_catalog().get("luf_round1_bids"), [path])


def test_an_xlsx_body_declared_as_ods_is_refused(httpserver: HTTPServer, tmp_path) -> None:
    serve(
        httpserver,
        R1_PAGE,
        R1_FILE,
        b"<html>Sorry</html>",
        "Levelling Up Fund: first round successful bidders",
    )
    with pytest.raises(PublisherFormatError, match="the attachment is an HTML page, not the ods file"):
        fetch_and_parse(httpserver, "luf_round1_bids", tmp_path)


def test_normalising_keeps_places_apart() -> None:
    assert normalise("Oldham Metropolitan Borough Council") == normalise("Oldham")
    assert normalise("Peterborough City Council") == "peterborough"  # "borough" is part of the name
    assert normalise("Wyre Borough Council") != normalise("Wyre Forest District Council")
    assert normalise("London Borough of Tower Hamlets") == normalise("Tower Hamlets")
    assert normalise("Kingston upon Hull, City of") == normalise("Kingston upon Hull City Council")
    assert normalise("King’s Lynn & West Norfolk*") == normalise("Kings Lynn and West Norfolk")


def test_the_names_table_comes_from_the_real_boundary_file() -> None:
    """Every council code of the table is a 2023 district, county or combined authority of the real
    boundary file, or a region for a bidder that is no council's (skipped where the file is absent)."""
    source = (
        Path(__file__).parents[3] / "shared/reference/real-samples/geo/ukhpi-ons-geographies-2023.geojson"
    )
    if not source.exists():
        pytest.skip(f"{source} is not here (a fresh clone without ../shared)")
    real = {
        f["properties"]["code"]: f["properties"]["name"] for f in json.loads(source.read_text())["features"]
    }
    table = load_names_table("area_names")
    assert set(table.codes.values()) <= set(real)
    assert table.code_for("Wyre") == "E07000128" and table.code_for("Wyre Forest") == "E07000239"
    wmca = {"Birmingham", "Coventry", "Dudley", "Sandwell", "Solihull", "Walsall", "Wolverhampton"}
    assert {real[table.code_for(name)] for name in wmca} == wmca
