"""Publishers on loopback serving the fixtures of tests/fixtures/indicators, and warehouses built from them.

One loopback HTTP server (pytest-httpserver) answers at every publisher's real URL paths with the bytes
of the fixture files: Nomis CSV pages (`NomisFixtureServer`), the ONS CMD API walk (dataset JSON →
version JSON → V4 CSV), ONS time series JSON, the PAYE RTI dataset page and its workbook (built here
from `RTI_*`), the UK HPI full file and GOV.UK content items with their attachments (two xlsx
workbooks built here with openpyxl). `flows.steps` then fetches, parses, loads, builds the models and
publishes the snapshot that the tests query.

The warehouse of every dataset is built once per session (`indicator_settings`); the tests only read
its snapshot. Tests that change what the publishers serve build their own warehouse (`build_warehouse`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from openpyxl import Workbook
from pytest_httpserver import HTTPServer

from flows import steps
from flows.settings import Settings
from sources import ons_api
from sources.catalog import default_catalog
from sources.replay import els as els_replay
from sources.replay import ons_datasets as ons_replay
from sources.replay.govuk import (
    IMD_2025_COLUMNS,
    IMD_COLUMNS,
    LUF_BID_COLUMNS,
    LUF_R1_COLUMNS,
    LUF_R2_COLUMNS,
    ODS_TYPE,
    deterministic_ods,
    deterministic_xlsx,
)
from sources.replay.server import containment
from tests.conftest import FIXTURES, NomisFixtureServer, publish
from warehouse.geography import load_area_file
from warehouse.query import run_query

INDICATOR_FIXTURES = FIXTURES / "indicators"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Dataset id -> Nomis source id, for the eight Nomis datasets of sources/catalog.yaml.
NOMIS_SOURCES = {
    "claimant_count": "NM_162_1",
    "population": "NM_2002_1",
    "annual_population_survey": "NM_17_5",
    "ashe_residence": "NM_30_1",
    "ashe_workplace": "NM_99_1",
    "business_counts": "NM_142_1",
    "bres": "NM_189_1",
    "jobs_density": "NM_57_1",
}
# ONS CMD datasets: catalog id -> (CMD dataset id, title, release frequency, version, release date, CSV).
ONS_API_DATASETS = {
    "regional_gdp": (
        "regional-gdp-by-year",
        "Regional gross domestic product by year",
        "Annual",
        6,
        "2025-04-24T00:00:00.000Z",
        "cmd-regional-gdp.csv",
    ),
    "wellbeing": (
        "wellbeing-local-authority",
        "Personal well-being estimates by local authority",
        "Annual",
        4,
        "2024-10-30T00:00:00.000Z",
        "cmd-wellbeing.csv",
    ),
    "online_job_adverts": (
        "online-job-advert-estimates",
        "Online job advert estimates",
        "Monthly",
        52,
        "2026-11-12T00:00:00.000Z",
        "cmd-job-adverts.csv",
    ),
}
ONS_WEB_SERIES = {"cpi": "d7g7", "cpih": "l55o"}
TIMESERIES_PATH = "/economy/inflationandpriceindices/timeseries/{cdid}/mm23/data"
HPI_PATH = re.compile(r"/market-trend-data/house-price-index-data/UK-HPI-full-file-\d{4}-\d{2}\.csv")
UPLOADS = "/government/uploads/system/uploads/attachment_data/file"
IOD_PAGE = "government/statistics/english-indices-of-deprivation-2019"
IOD_FILE = f"{UPLOADS}/833995/File_10_-_IoD2019_Local_Authority_District_Summaries__lower-tier__.xlsx"
LUF_PAGE = "government/publications/levelling-up-fund-round-3-successful-bids"
LUF_FILE = f"{UPLOADS}/1150001/Levelling_Up_Fund_successful_bids_rounds_1_to_3.xlsx"
PRIORITY_PAGE = "government/publications/levelling-up-fund-round-2-updates-to-the-index-of-priority-places"
PRIORITY_FILE = f"{UPLOADS}/1062538/LUF_round_2_priority_category.csv"
IOD2025_PAGE = "government/statistics/english-indices-of-deprivation-2025"
IOD2025_FILE = (
    "/media/6917412ebc34c86ce4e6e7fc/"
    "File_10_-_IoD2025_Local_Authority_District_Summaries__lower-tier__v2.xlsx"
)
LUF_R1_PAGE = "government/publications/levelling-up-fund-first-round-successful-bidders"
LUF_R1_FILE = "/media/61967c148fa8f50379269cc9/LUF_bidders_list.ods"
LUF_R2_PAGE = "government/publications/levelling-up-fund-round-2-successful-bidders"
LUF_R2_FILE = "/media/646b87038a7184000cae4ef2/LUF_R2_list_of_successful_bids.ods"
ALL_DATASETS = (
    *NOMIS_SOURCES,
    *ONS_API_DATASETS,
    *ONS_WEB_SERIES,
    "paye_rti",
    "business_demography",
    "house_prices",
    "imd_2019_lad",
    "luf_allocations",
    "luf_priority_category",
    "imd_2025_lad",
    "luf_round1_bids",
    "luf_round2_bids",
    *(d for d, spec in default_catalog().datasets.items() if spec.publisher == "els"),
)

# IoD2019 File 10, sheet "IMD": rank of average score (1 = most deprived) for the WMCA councils.
IMD_RANKS = {
    "E08000025": ("Birmingham", 7),
    "E08000026": ("Coventry", 81),
    "E08000027": ("Dudley", 83),
    "E08000028": ("Sandwell", 12),
    "E08000029": ("Solihull", 200),
    "E08000030": ("Walsall", 25),
    "E08000031": ("Wolverhampton", 24),
}
# Levelling Up Fund successful bids (round, GSS code, lead applicant, bid, amount). Dudley and Solihull
# led no successful bid: they count as £0. Coventry's amount is written as text, "£12,000,000".
LUF_BIDS = (
    ("Round 1", "E08000025", "Birmingham", "Bid B1", 20_000_000),
    ("Round 2", "E08000025", "Birmingham", "Bid B2", 19_500_000),
    ("Round 3", "E08000025", "Birmingham", "Bid B3", 15_000_000),
    ("Round 2", "E08000026", "Coventry", "Bid C2", "£12,000,000"),
    ("Round 1", "E08000028", "Sandwell", "Bid S1", 10_000_000),
    ("Round 3", "E08000028", "Sandwell", "Bid S3", 8_000_000),
    ("Round 2", "E08000030", "Walsall", "Bid Wa2", 11_400_000),
    ("Round 1", "E08000031", "Wolverhampton", "Bid Wo1", 20_000_000),
    ("Round 2", "E08000031", "Wolverhampton", "Bid Wo2", 15_000_000),
)


# IoD 2025 File 10 v2, sheet "IMD": the real ranks of average score (of 296) of the WMCA councils.
IMD_2025_RANKS = {
    "E08000025": ("Birmingham", 5),
    "E08000026": ("Coventry", 57),
    "E08000027": ("Dudley", 103),
    "E08000028": ("Sandwell", 19),
    "E08000029": ("Solihull", 173),
    "E08000030": ("Walsall", 28),
    "E08000031": ("Wolverhampton", 23),
}
# Levelling Up Fund round 1 (area names) and round 2 (legal names, a `*` marker, a footnote row):
# (name, bid, amount). The same council's bids are summed; the combined authority's is no council's.
LUF_R1_LIST = (
    ("Birmingham", "Bid B1", 20_000_000),
    ("Sandwell", "Bid S1", 10_000_000),
    ("Wolverhampton", "Bid Wo1a", 12_000_000),
    ("Wolverhampton", "Bid Wo1b", 8_000_000),
    ("West Midlands Combined Authority", "Bid CA1", 30_000_000),
)
LUF_R2_LIST = (
    ("Birmingham City Council", "Bid B2", 19_500_000),
    ("Coventry City Council*", "Bid C2", "£12,000,000"),
    ("Walsall Metropolitan Borough Council", "Bid Wa2", 11_400_000),
    ("City of Wolverhampton Council", "Bid Wo2", 15_000_000),
)


def iod2025_workbook() -> bytes:
    workbook = Workbook()
    workbook.active.title = "Notes"
    sheet = workbook.create_sheet("IMD")
    sheet.append(IMD_2025_COLUMNS)
    for code, (name, rank) in IMD_2025_RANKS.items():
        sheet.append([code, name, 30_000 - 60 * rank, rank, 45 - rank / 10, rank, 0.2, rank])
    return deterministic_xlsx(workbook)


def luf_round_ods(columns: tuple[str, ...], bids: tuple[tuple[str, str, object], ...]) -> bytes:
    """The ODS layout of the round 1 and 2 lists: row 0 blank, spacer columns A and C."""
    rows: list[list[object]] = [[], [None, columns[0], None, *columns[1:]]]
    rows += [[None, name, None, bid, amount, "England"][: len(columns) + 2] for name, bid, amount in bids]
    rows += [[], [None, "* Bid submitted jointly"]]
    return deterministic_ods({"Sheet1": rows})


def content_item(base: str, page: str, title: str, path: str, kind: str) -> str:
    attachment = {"title": title, "url": base + path, "content_type": kind}
    item = {
        "base_path": f"/{page}",
        "first_published_at": "2023-01-19T17:00:00.000+00:00",
        "public_updated_at": "2023-05-22T15:00:00.000+01:00",
        "title": title,
        "details": {"attachments": [attachment]},
    }
    return json.dumps(item)


# PAYE RTI (sheets 7/8, 11/12, 15/16 of the reference tables): payrolled employees and median monthly
# pay for February 2020, October 2025, September 2026 and October 2026, in that order. Regions not
# listed have 2,000,000 employees and £2,400 every month; the WMCA area's published (NUTS2 UKG3)
# employees differ from its councils' sum by a few, as separately adjusted series do.
RTI_MONTHS = ("2020-02", "2025-10", "2026-09", "2026-10")
RTI_EMPLOYEES = {
    "E08000025": (450_000, 465_000, 469_500, 470_000),
    "E08000026": (158_000, 165_000, 166_800, 167_000),
    "E08000027": (136_000, 139_000, 139_900, 140_000),
    "E08000028": (140_000, 145_500, 146_800, 147_000),
    "E08000029": (94_000, 96_000, 96_900, 97_000),
    "E08000030": (115_000, 118_000, 118_900, 119_000),
    "E08000031": (114_000, 117_500, 118_400, 118_500),
    "E47000007": (1_207_001, 1_246_003, 1_257_199, 1_258_502),
    "E47000001": (1_300_000, 1_300_000, 1_300_000, 1_300_000),
    "E12000005": (2_550_000, 2_600_000, 2_618_000, 2_620_000),
    "K02000001": (29_000_000, 30_200_000, 30_290_000, 30_300_000),
}
RTI_MEDIAN_PAY = {
    "E08000025": (1_900, 2_300, 2_390, 2_400),
    "E08000026": (2_000, 2_400, 2_490, 2_500),
    "E08000027": (1_950, 2_350, 2_440, 2_450),
    "E08000028": (1_850, 2_240, 2_320, 2_330),
    "E08000029": (2_150, 2_600, 2_690, 2_700),
    "E08000030": (1_880, 2_290, 2_370, 2_380),
    "E08000031": (1_890, 2_300, 2_380, 2_390),
    "E47000007": (1_930, 2_330, 2_410, 2_420),
    "E12000005": (1_970, 2_380, 2_460, 2_470),
    "K02000001": (2_050, 2_500, 2_590, 2_600),
}
RTI_LANDING = ons_replay.RTI_LANDING
RTI_FILE = f"{RTI_LANDING}/current/rtisanov2026.xlsx"


def rti_workbook() -> bytes:
    months = [dt.date.fromisoformat(f"{month}-01") for month in RTI_MONTHS]

    def value(kind: str, gss: str, month: dt.date) -> int:
        table, other = (
            (RTI_EMPLOYEES, 2_000_000) if kind == "Payrolled employees" else (RTI_MEDIAN_PAY, 2_400)
        )
        return table[gss][months.index(month)] if gss in table else other

    return ons_replay.rti_workbook(dt.date(2026, 11, 1), months, value)


# Business demography, quarterly, low-level breakdown: births and deaths for Q3 2025, Q2 2026 and
# Q3 2026 (one sheet each, `Births 2025-2026`, `Deaths 2025-2026`), as (births, deaths).
DEMOGRAPHY_QUARTERS = ("Q3 2025", "Q2 2026", "Q3 2026")
DEMOGRAPHY_ROWS = {
    "UK : United Kingdom": ((68_000, 72_500, 70_100), (70_000, 75_000, 71_500)),
    "GB : Great Britain": ((65_000, 69_000, 67_000), (67_000, 71_500, 68_000)),
    "EW : England and Wales": ((62_000, 66_000, 64_000), (64_000, 68_000, 65_000)),
    "E92000001 : England": ((60_000, 64_000, 62_000), (62_000, 66_000, 63_000)),
    "E12000005 : West Midlands": ((8_000, 8_600, 8_300), (8_500, 8_900, 8_400)),
    "E08000025 : Birmingham": ((1_300, 1_450, 1_345), (1_400, 1_500, 1_380)),
    "E08000026 : Coventry": ((400, 420, 410), (420, 430, 425)),
    "E08000027 : Dudley": ((300, 310, 305), (310, 320, 300)),
    "E08000028 : Sandwell": ((350, 370, 360), (380, 390, 370)),
    "E08000029 : Solihull": ((200, 215, 210), (210, 220, 205)),
    "E08000030 : Walsall": ((280, 300, 290), (300, 310, 295)),
    "E08000031 : Wolverhampton": ((300, 320, 315), (320, 330, 310)),
    "U99999999 : Unspecified": ((1_500, 1_600, 1_550), (1_200, 1_300, 1_250)),
}
DEMOGRAPHY_LANDING = ons_replay.DEMOGRAPHY_LANDING
DEMOGRAPHY_FILE = f"{DEMOGRAPHY_LANDING}/quarter3julytoseptember2026/finalq32026lowlevelgeobreakdown.xlsx"


def demography_workbook() -> bytes:
    book = Workbook()
    contents = book.active
    contents.title = "Contents"
    contents.append(["Geographic Breakdown of Business demography, quarterly experimental statistics, UK"])
    contents.append(["This worksheet contains a contents table"])
    contents.append(["Source: Office for National Statistics"])
    contents.append(["Date published: 29th October 2026"])
    for kind, which in (("Births", 0), ("Deaths", 1)):
        sheet = book.create_sheet(f"{kind} 2025-2026")
        sheet.append(
            [
                f"Count of business {kind.lower()}, breakdown by district, counties and unitary authorities "
                "within region and country, Quarter 3 2025 to Quarter 3 2026"
            ]
        )
        sheet.append(["This worksheet contains one table"])
        sheet.append(["Units: Counts (control rounded to base 5)"])
        sheet.append(["Geography", *DEMOGRAPHY_QUARTERS])
        for label, counts in DEMOGRAPHY_ROWS.items():
            sheet.append([label, *counts[which]])
    return deterministic_xlsx(book)


def imd_workbook() -> bytes:
    """File 10 as published: a notes sheet first, then the IMD sheet with a title row above its table."""
    workbook = Workbook()
    workbook.active.title = "Notes"
    workbook.active.append(["English Indices of Deprivation 2019: local authority district summaries"])
    sheet = workbook.create_sheet("IMD")
    sheet.append(["Indices of Deprivation 2019: local authority district summaries"])
    sheet.append(IMD_COLUMNS)
    for code, (name, rank) in IMD_RANKS.items():
        sheet.append([code, name, 30_000 - 60 * rank, rank, 45 - rank / 10, rank, 0.2, rank])
    return deterministic_xlsx(workbook)


def luf_workbook() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Successful bids"
    sheet.append(["Levelling Up Fund: successful bids, rounds 1 to 3"])
    sheet.append([])
    sheet.append(LUF_BID_COLUMNS)
    for round_name, code, name, bid, amount in LUF_BIDS:
        sheet.append([round_name, code, name, bid, amount])
    return deterministic_xlsx(workbook)


@dataclass
class PublisherFixtureServer:
    """Every publisher's paths on one loopback server, answering with the indicator fixtures."""

    server: HTTPServer
    nomis: NomisFixtureServer = field(init=False)

    def __post_init__(self) -> None:
        self.nomis = NomisFixtureServer(self.server)

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def serve_nomis(self, source_id: str, fixture: str | None = None) -> None:
        self.nomis.serve(source_id, (INDICATOR_FIXTURES / (fixture or f"{source_id}.data.csv")).read_text())

    def serve_ons_api(self) -> None:
        for dataset, title, frequency, version, release, csv_name in ONS_API_DATASETS.values():
            values = {
                "{base}": self.url,
                "{dataset}": dataset,
                "{title}": title,
                "{frequency}": frequency,
                "{version}": str(version),
                "{release_date}": release,
            }
            for name, path in (
                ("ons-dataset.json", f"/v1/datasets/{dataset}"),
                ("ons-version.json", f"/v1/datasets/{dataset}/editions/time-series/versions/{version}"),
            ):
                text = (INDICATOR_FIXTURES / name).read_text()
                for key, value in values.items():
                    text = text.replace(key, value)
                self.server.expect_request(path).respond_with_data(text, content_type="application/json")
            self.server.expect_request(
                f"/downloads/datasets/{dataset}/editions/time-series/versions/{version}.csv"
            ).respond_with_data((INDICATOR_FIXTURES / csv_name).read_bytes(), content_type="text/csv")

    def serve_ons_web(self) -> None:
        for cdid in ONS_WEB_SERIES.values():
            self.server.expect_request(TIMESERIES_PATH.format(cdid=cdid)).respond_with_data(
                (INDICATOR_FIXTURES / f"timeseries-{cdid}-mm23.json").read_bytes(),
                content_type="application/json",
            )

    def serve_house_prices(self) -> None:
        # The connector probes back from the current month; the file answers whatever month it asks.
        self.server.expect_request(HPI_PATH).respond_with_data(
            (INDICATOR_FIXTURES / "UK-HPI-full-file-2026-09.csv").read_bytes(), content_type="text/csv"
        )

    def serve_ons_datasets(self) -> None:
        self.server.expect_request(RTI_LANDING).respond_with_data(
            f'<a href="/file?uri={RTI_FILE}">Current edition of this dataset (xlsx)</a>',
            content_type="text/html",
        )
        self.server.expect_request("/file", query_string={"uri": RTI_FILE}).respond_with_data(
            rti_workbook(), content_type=XLSX_TYPE
        )

    def serve_demography(self) -> None:
        self.server.expect_request(DEMOGRAPHY_LANDING).respond_with_data(
            f'<a href="/file?uri={DEMOGRAPHY_FILE}">Quarter 3 2026 edition (xlsx)</a>',
            content_type="text/html",
        )
        self.server.expect_request("/file", query_string={"uri": DEMOGRAPHY_FILE}).respond_with_data(
            demography_workbook(), content_type=XLSX_TYPE
        )

    def serve_govuk(self) -> None:
        for page, content, attachment, body, kind in (
            (IOD_PAGE, "content-iod2019.json", IOD_FILE, imd_workbook(), XLSX_TYPE),
            (LUF_PAGE, "content-luf-bids.json", LUF_FILE, luf_workbook(), XLSX_TYPE),
            (
                PRIORITY_PAGE,
                "content-luf-priority.json",
                PRIORITY_FILE,
                (INDICATOR_FIXTURES / "luf-priority.csv").read_bytes(),
                "text/csv",
            ),
        ):
            text = (INDICATOR_FIXTURES / content).read_text().replace("{base}", self.url)
            self.server.expect_request(f"/api/content/{page}").respond_with_data(
                text, content_type="application/json"
            )
            self.server.expect_request(attachment).respond_with_data(body, content_type=kind)
        for page, title, path, body, kind in (
            (
                IOD2025_PAGE,
                "File 10: local authority district summaries v2",
                IOD2025_FILE,
                iod2025_workbook(),
                XLSX_TYPE,
            ),
            (
                LUF_R1_PAGE,
                "LUF successful bidders",
                LUF_R1_FILE,
                luf_round_ods(LUF_R1_COLUMNS, LUF_R1_LIST),
                ODS_TYPE,
            ),
            (
                LUF_R2_PAGE,
                "LUF round 2 successful bids",
                LUF_R2_FILE,
                luf_round_ods(LUF_R2_COLUMNS, LUF_R2_LIST),
                ODS_TYPE,
            ),
        ):
            self.server.expect_request(f"/api/content/{page}").respond_with_data(
                content_item(self.url, page, title, path, kind), content_type="application/json"
            )
            self.server.expect_request(path).respond_with_data(body, content_type=kind)

    def serve_els(self) -> None:
        """Every ONS Explore Local Statistics file of the catalog, as the demo's emulation writes
        them for the West Midlands area set (its values are checked in test_indicator_values)."""
        for path, body, kind in els_files():
            self.server.expect_request(path).respond_with_data(body, content_type=kind)

    def serve_everything(self) -> None:
        for source_id in NOMIS_SOURCES.values():
            self.serve_nomis(source_id)
        self.serve_ons_api()
        self.serve_ons_web()
        self.serve_ons_datasets()
        self.serve_demography()
        self.serve_house_prices()
        self.serve_govuk()
        self.serve_els()


# The day the ELS files are written for: fixed, so the fixture's periods never move.
ELS_TODAY = dt.date(2026, 11, 1)


def els_files() -> list[tuple[str, bytes, str]]:
    """(path, body, content type) of every ELS file, as served under `/els`."""
    areas = load_area_file("west-midlands", None)
    names = {area.code: area.name for area in areas.areas}
    members = {area.code: area.members for area in areas.areas if area.members}
    members = {**members, **containment(areas)}
    files = []
    for spec in default_catalog().datasets.values():
        if spec.publisher != "els":
            continue
        for ext in ("csv", "json"):
            path = f"/els/{spec.source_id}/{spec.source_id}.{ext}"
            reply = els_replay.route(path, {}, today=ELS_TODAY, names=names, members=members)
            files.append((path, reply.body, reply.content_type))
    return files


@contextmanager
def loopback_server() -> Iterator[PublisherFixtureServer]:
    """A pytest-httpserver server of its own (a session or module fixture cannot use `httpserver`)."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield PublisherFixtureServer(server)
    finally:
        server.clear()
        server.stop()


def settings_for(data_dir: Path, base_url: str, area: str = "west-midlands") -> Settings:
    """Settings as `eim run` reads them, from EIM_ variables only, every publisher on the loopback server."""
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith("EIM_"):
                patch.delenv(key)
        patch.chdir(data_dir.parent)  # no stray eim.toml
        patch.setenv("EIM_DATA_DIR", str(data_dir))
        patch.setenv("EIM_AREA", area)
        for name in ("NOMIS_URL", "ONS_WEB_URL", "LANDREGISTRY_URL", "GOVUK_URL"):
            patch.setenv(f"EIM_{name}", base_url)
        patch.setenv("EIM_ONS_API_URL", f"{base_url}/v1")
        patch.setenv("EIM_ELS_URL", f"{base_url}/els")
        patch.setenv("EIM_HTTP_RETRIES", "2")
        patch.setenv("EIM_HTTP_TIMEOUT", "5")
        patch.setenv("EIM_HTTP_RETRY_BUDGET", "2")
        return Settings()


def fetch_and_load(settings: Settings, dataset: str) -> steps.LoadResult:
    """What a run does for one dataset: fetch it, then record the fetch if it brought nothing new,
    else parse and load it."""
    history = steps.read_fetch_history(settings)
    outcome = steps.fetch_dataset(settings, dataset, history.last_records(dataset))
    if (unchanged := steps.unchanged(outcome, history)) is not None:
        return steps.record_unchanged_fetches(settings, [(outcome, unchanged)])[0]
    return steps.load_dataset(settings, outcome, steps.parse_dataset(outcome))


def load(settings: Settings, datasets: Iterable[str]) -> dict[str, steps.LoadResult]:
    """Fetch, parse and load each dataset as a run does (an unchanged fetch is recorded, not parsed)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ons_api, "RATE_LIMITS", ())  # no waiting on loopback
        return {dataset: fetch_and_load(settings, dataset) for dataset in datasets}


def build_and_publish(settings: Settings) -> None:
    steps.build(settings)
    publish(settings)


def build_warehouse(data_dir: Path, base_url: str, datasets: Iterable[str], area: str = "west-midlands"):
    settings = settings_for(data_dir, base_url, area)
    steps.prepare_warehouse(settings)
    load(settings, datasets)
    build_and_publish(settings)
    return settings


@dataclass(frozen=True)
class LoadedWarehouse:
    settings: Settings
    nomis_requests: list[dict[str, str]]  # the query of every Nomis request, in order


@pytest.fixture(scope="session")
def indicator_warehouse(tmp_path_factory) -> LoadedWarehouse:
    """Every dataset of the catalog loaded from the indicator fixtures, models built, snapshot published."""
    with loopback_server() as publishers:
        publishers.serve_everything()
        settings = build_warehouse(
            tmp_path_factory.mktemp("indicators") / "data", publishers.url, ALL_DATASETS
        )
        return LoadedWarehouse(settings, list(publishers.nomis.requests))


@pytest.fixture(scope="session")
def indicator_settings(indicator_warehouse: LoadedWarehouse) -> Settings:
    return indicator_warehouse.settings


def query(settings: Settings, sql: str) -> list[dict]:
    result = run_query(settings.snapshot_path, sql)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def summary(settings: Settings, indicator: str, area: str) -> dict:
    (row,) = query(
        settings,
        f"SELECT * FROM indicator_summary WHERE indicator_id = '{indicator}' AND geography_code = '{area}'",
    )
    return row


def value_at(settings: Settings, indicator: str, area: str, period: str) -> dict:
    (row,) = query(
        settings,
        f"SELECT * FROM indicator_value WHERE indicator_id = '{indicator}' AND geography_code = '{area}' "
        f"AND period = '{period}'",
    )
    return row
