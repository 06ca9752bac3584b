"""IoD 2025 File 10 v2 (lower-tier council summaries) through the GOV.UK connector on loopback, with the
real WMCA IMD figures of ../shared/reference/timely-sources.md section 4-bis in the documented layout."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from pytest_httpserver import HTTPServer

from sources import govuk
from sources.catalog import default_catalog
from sources.errors import PublisherFormatError
from sources.http import HttpConfig, make_client
from sources.replay.govuk import IMD_2025_COLUMNS, deterministic_xlsx

CONFIG = HttpConfig(timeout=2, attempts=2, retry_budget=2, backoff_initial=0, backoff_max=0)
PAGE = "/api/content/government/statistics/english-indices-of-deprivation-2025"
FILE = (
    "/media/6917412ebc34c86ce4e6e7fc/"
    "File_10_-_IoD2025_Local_Authority_District_Summaries__lower-tier__v2.xlsx"
)
# Real IMD rows (code, name, average rank, rank of average rank, average score, rank of average score,
# proportion of LSOAs in the most deprived 10%, its rank), out of 296 councils.
WMCA_IMD = (
    ("E08000025", "Birmingham", 25089.35, 8, 38.115, 5, 0.4279, 2),
    ("E08000026", "Coventry", 20616.29, 61, 27.528, 57, 0.1773, 48),
    ("E08000027", "Dudley", 17942.87, 115, 23.174, 103, 0.1084, 89),
    ("E08000028", "Sandwell", 25389.96, 5, 33.772, 19, 0.1632, 54),
    ("E08000029", "Solihull", 12647.41, 204, 17.04, 173, 0.1343, 62),
    ("E08000030", "Walsall", 22512.04, 38, 31.732, 28, 0.2485, 27),
    ("E08000031", "Wolverhampton", 23727.39, 24, 32.552, 23, 0.2174, 32),
)
DOMAINS = ("Income", "Employment", "Education", "Health", "Crime", "Barriers", "Living", "IDACI", "IDAOPI")


def file10(columns: tuple[str, ...] = IMD_2025_COLUMNS) -> bytes:
    """Sheet 1 notes, then `IMD` and the nine domain sheets, each one header row over the councils."""
    workbook = Workbook()
    workbook.active.title = "Notes"
    workbook.active.append(["English Indices of Deprivation 2025: local authority district summaries"])
    sheet = workbook.create_sheet("IMD")
    sheet.append(columns)
    for row in WMCA_IMD:
        sheet.append(row)
    for domain in DOMAINS:
        workbook.create_sheet(domain).append([columns[0], columns[1], f"{domain} - Average score"])
    return deterministic_xlsx(workbook)


def serve(server: HTTPServer, body: bytes) -> None:
    server.expect_request(PAGE).respond_with_json(
        {
            "first_published_at": "2025-10-30T09:30:00.000+00:00",
            "public_updated_at": "2025-11-17T09:30:00.000+00:00",
            "details": {
                "attachments": [
                    {"title": "File 1: index of multiple deprivation", "url": "/media/1/File_1.xlsx"},
                    {
                        "title": "File 10: local authority district summaries (lower-tier) v2",
                        "url": server.url_for(FILE),
                        "content_type": govuk.XLSX_TYPE,
                    },
                    {
                        "title": "File 11: local authority district summaries (upper-tier) v2",
                        "url": "/media/11/File_11.xlsx",
                    },
                ]
            },
        }
    )
    server.expect_request(FILE).respond_with_data(body, content_type=govuk.XLSX_TYPE)


def fetch(server: HTTPServer, tmp_path: Path) -> list:
    with make_client(CONFIG) as client:
        return govuk.fetch(
            client,
            CONFIG,
            base_url=server.url_for("/"),
            spec=default_catalog().get("imd_2025_lad"),
            geography_codes=[],
            raw_dir=tmp_path,
            previous=lambda key: None,
        )


def test_rank_of_average_score_for_the_wmca_councils(httpserver: HTTPServer, tmp_path) -> None:
    serve(httpserver, file10())
    pages = fetch(httpserver, tmp_path)
    assert pages[0].record["release_date"] == "2025-10-30"
    assert pages[0].record["version"] == "2025-11-17T09:30:00.000+00:00"  # v2's reissue
    frame = govuk.parse(default_catalog().get("imd_2025_lad"), [pages[0].path]).set_index("geography_code")
    assert frame["value"].to_dict() == {
        "E08000025": 5,
        "E08000026": 57,
        "E08000027": 103,
        "E08000028": 19,  # its rank of average rank is 5: the column is the score's
        "E08000029": 173,
        "E08000030": 28,
        "E08000031": 23,
    }
    assert set(frame["period"]) == {"2025"} and set(frame["series"]) == {"imd_2025_rank_of_average_score"}
    assert frame.loc["E08000028", "geography_name"] == "Sandwell"


def test_header_variants_the_regex_allows(tmp_path) -> None:
    columns = tuple(c.replace("IMD - ", "IMD 2025 - ") for c in IMD_2025_COLUMNS)
    path = tmp_path / "file10.xlsx"
    path.write_bytes(file10(columns))
    frame = govuk.parse(default_catalog().get("imd_2025_lad"), [path])
    assert frame.set_index("geography_code").loc["E08000025", "value"] == 5


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (("(2024)", "(2023)"), r"sheet 'IMD': no header cell matches .*code \\\(2024\\\)"),
        (
            ("Rank of average score", "Rank of mean score"),
            r"sheet 'IMD': 0 columns match .*'IMD - Rank of mean score'",
        ),
    ],
)
def test_a_changed_header_fails_naming_the_sheet_and_the_headers(tmp_path, change, needle) -> None:
    path = tmp_path / "file10.xlsx"
    path.write_bytes(file10(tuple(c.replace(*change) for c in IMD_2025_COLUMNS)))
    with pytest.raises(PublisherFormatError, match=needle):
        govuk.parse(default_catalog().get("imd_2025_lad"), [path])


def test_a_v1_beside_v2_is_two_attachments_and_refused(httpserver: HTTPServer, tmp_path) -> None:
    httpserver.expect_request(PAGE).respond_with_json(
        {
            "public_updated_at": "2025-11-17T09:30:00Z",
            "details": {
                "attachments": [
                    {"title": "File 10: local authority district summaries (lower-tier)", "url": "/a.xlsx"},
                    {
                        "title": "File 10: local authority district summaries (lower-tier) v2",
                        "url": "/b.xlsx",
                    },
                ]
            },
        }
    )
    with pytest.raises(PublisherFormatError, match=r"2 attachments titled .*v2"):
        fetch(httpserver, tmp_path)
