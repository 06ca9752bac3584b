"""Emulator of the GOV.UK Content API and its attachment downloads, for the replay server.

`/api/content/{path}` answers with a content item whose `details.attachments[]` point at workbooks
under `{base_url}/government/uploads/system/uploads/attachment_data/file/NNN/<name>.xlsx`, served by
the same route, in the layout the catalog's `match` mapping describes. Only council-level areas have
rows (a combined authority, region or country is not in these files). The values are ILLUSTRATIVE,
not official statistics: deterministic per area, so every demo run gives the same figures, and the
workbooks are byte-for-byte stable so that an unchanged file is answered with a 304.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from openpyxl import Workbook

from sources.replay.reply import Reply
from sources.replay.samples import unit_hash

CONTENT_PREFIX = "/api/content/"
UPLOADS_PATH = "/government/uploads/system/uploads/attachment_data/file/{number}/{name}"
UPLOADS_ROUTE = re.compile(r"/government/uploads/system/uploads/attachment_data/file/(\d+)/([\w.-]+)")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COUNCIL_CODE = re.compile(r"(E0[6-9]|W06|S12|N09)\d{6}")
ENGLISH_COUNCIL_CODE = re.compile(r"E0[6-9]\d{6}")
LAD_COUNT_2019 = 317
ZIP_STAMP = (2020, 1, 1, 0, 0, 0)

# Roughly where the WMCA councils sit in the IoD2019 ranking (1 = most deprived); others are hashed.
IMD_RANKS = {
    "E08000025": 7,
    "E08000026": 81,
    "E08000027": 83,
    "E08000028": 12,
    "E08000029": 200,
    "E08000030": 25,
    "E08000031": 24,
}
LUF_ROUNDS = ("Round 1", "Round 2", "Round 3")

IMD_COLUMNS = (
    "Local Authority District code (2019)",
    "Local Authority District name (2019)",
    "IMD - Average rank",
    "IMD - Rank of average rank",
    "IMD - Average score",
    "IMD - Rank of average score",
    "IMD - Proportion of LSOAs in most deprived 10% nationally",
    "IMD - Rank of proportion of LSOAs in most deprived 10% nationally",
)
LUF_BID_COLUMNS = ("Round", "Local authority code", "Lead applicant", "Bid name", "Amount awarded (£)")
LUF_PRIORITY_COLUMNS = ("Local authority code", "Local authority", "Category")


@dataclass(frozen=True)
class Attachment:
    number: int
    name: str
    title: str
    build: Callable[[dict[str, str]], bytes] | None  # the workbook for the given areas; None: not served


@dataclass(frozen=True)
class ContentItem:
    title: str
    first_published_at: str
    public_updated_at: str
    attachments: tuple[Attachment, ...]


def imd_rank(code: str) -> int:
    return IMD_RANKS.get(code) or 1 + int((LAD_COUNT_2019 - 1) * unit_hash("imd", code))


def luf_bids(code: str) -> list[tuple[str, str, int]]:
    """(round, bid name, amount in £) for the area: up to one successful bid per round."""
    bids = []
    for number, round_name in enumerate(LUF_ROUNDS, start=1):
        draw = unit_hash("luf", code, round_name)
        if draw < 0.45:
            continue
        amount = int(round(4_000_000 + 16_000_000 * unit_hash("luf-amount", code, round_name), -3))
        bids.append((round_name, f"Illustrative regeneration scheme {number}", amount))
    return bids


def luf_priority_category(code: str) -> int:
    return 1 + int(3 * unit_hash("luf-priority", code))


def deterministic_xlsx(workbook: Workbook) -> bytes:
    """Save with fixed timestamps inside and in the zip: the same content gives the same bytes."""
    workbook.properties.creator = "wm-economic-impact-monitor replay"
    workbook.properties.created = dt.datetime(2020, 1, 1)
    raw = io.BytesIO()
    workbook.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps the save time; a fixed stamp keeps the bytes (and the ETag) stable
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2020-01-01T00:00:00Z", data)
            target.writestr(zipfile.ZipInfo(info.filename, date_time=ZIP_STAMP), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _councils(names: dict[str, str], pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    return sorted((code, name) for code, name in names.items() if pattern.fullmatch(code))


def imd_workbook(names: dict[str, str]) -> bytes:
    workbook = Workbook()
    notes = workbook.active
    notes.title = "Notes"
    notes.append(["English Indices of Deprivation 2019: local authority district summaries (ILLUSTRATIVE)"])
    sheet = workbook.create_sheet("IMD")
    sheet.append(IMD_COLUMNS)
    for code, name in _councils(names, ENGLISH_COUNCIL_CODE):
        rank = imd_rank(code)
        score = round(45 - 35 * rank / LAD_COUNT_2019, 3)
        sheet.append([code, name, round(30_000 - 60 * rank, 3), rank, score, rank, 0.2, rank])
    workbook.create_sheet("Income").append(["Local Authority District code (2019)", "Income - Average score"])
    return deterministic_xlsx(workbook)


def luf_bids_workbook(names: dict[str, str]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Successful bids"
    sheet.append(["Levelling Up Fund: successful bids, rounds 1 to 3 (ILLUSTRATIVE)"])
    sheet.append([])
    sheet.append(LUF_BID_COLUMNS)
    for code, name in _councils(names, COUNCIL_CODE):
        for round_name, bid, amount in luf_bids(code):
            sheet.append([round_name, code, name, bid, amount])
    return deterministic_xlsx(workbook)


def luf_priority_workbook(names: dict[str, str]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Priority categories"
    sheet.append(LUF_PRIORITY_COLUMNS)
    for code, name in _councils(names, COUNCIL_CODE):
        sheet.append([code, name, luf_priority_category(code)])
    return deterministic_xlsx(workbook)


CONTENT_ITEMS = {
    "government/statistics/english-indices-of-deprivation-2019": ContentItem(
        title="English indices of deprivation 2019",
        first_published_at="2019-09-26T09:30:00.000+01:00",
        public_updated_at="2019-09-26T09:30:00.000+01:00",
        attachments=(
            Attachment(
                833970,
                "File_1_-_IMD2019_Index_of_Multiple_Deprivation.xlsx",
                "File 1: index of multiple deprivation",
                None,
            ),
            Attachment(
                833995,
                "File_10_-_IoD2019_Local_Authority_District_Summaries__lower-tier__.xlsx",
                "File 10: local authority district summaries",
                imd_workbook,
            ),
        ),
    ),
    "government/publications/levelling-up-fund-round-3-successful-bids": ContentItem(
        title="Levelling Up Fund Round 3: successful bids",
        first_published_at="2023-11-20T14:00:00.000+00:00",
        public_updated_at="2023-11-20T14:00:00.000+00:00",
        attachments=(
            Attachment(
                1150001,
                "Levelling_Up_Fund_successful_bids_rounds_1_to_3.xlsx",
                "Levelling Up Fund: successful bids, rounds 1 to 3",
                luf_bids_workbook,
            ),
            Attachment(1150002, "LUF_round_3_explanatory_note.pdf", "Explanatory note", None),
        ),
    ),
    "government/publications/levelling-up-fund-round-2-updates-to-the-index-of-priority-places": ContentItem(
        title="Levelling Up Fund Round 2: updates to the index of priority places",
        first_published_at="2022-03-23T10:00:00.000+00:00",
        public_updated_at="2022-03-23T10:00:00.000+00:00",
        attachments=(
            Attachment(
                1062538,
                "Levelling_Up_Fund_round_2_-_list_of_local_authorites_by_priority_category.xlsx",
                "Levelling Up Fund Round 2: list of local authorities by priority category",
                luf_priority_workbook,
            ),
            Attachment(
                1062539,
                "LUF_round_2_index_of_priority_places_model.xlsx",
                "Levelling Up Fund Round 2: index of priority places model",
                None,
            ),
        ),
    ),
}


def content_json(path: str, base_url: str) -> bytes:
    item = CONTENT_ITEMS[path]
    attachments = [
        {
            "attachment_type": "file",
            "content_type": XLSX_TYPE if a.name.endswith(".xlsx") else "application/pdf",
            "created_at": item.public_updated_at,
            "filename": a.name,
            "id": str(a.number),
            "title": a.title,
            "url": base_url.rstrip("/") + UPLOADS_PATH.format(number=a.number, name=a.name),
        }
        for a in item.attachments
    ]
    document = {
        "base_path": f"/{path}",
        "content_id": f"{int(unit_hash('content', path) * 2**64):016x}",
        "document_type": "official_statistics" if "statistics" in path else "policy_paper",
        "first_published_at": item.first_published_at,
        "public_updated_at": item.public_updated_at,
        "title": item.title,
        "details": {"attachments": attachments},
    }
    return json.dumps(document, indent=2).encode()


@lru_cache(maxsize=16)
def _attachment_body(number: int, name: str, names: tuple[tuple[str, str], ...]) -> bytes | None:
    for item in CONTENT_ITEMS.values():
        for attachment in item.attachments:
            if attachment.number == number and attachment.name == name and attachment.build:
                return attachment.build(dict(names))
    return None


def route(
    path: str, query: dict[str, str], *, today: dt.date, names: dict[str, str], base_url: str
) -> Reply | None:
    """Answer a content item or an attachment download, or None for a path this emulator does not handle."""
    if path.startswith(CONTENT_PREFIX):
        content_path = path[len(CONTENT_PREFIX) :].strip("/")
        if content_path not in CONTENT_ITEMS:
            return Reply(404, b'{"error": {"code": "not_found"}}', "application/json")
        return Reply(200, content_json(content_path, base_url), "application/json; charset=utf-8")
    if m := UPLOADS_ROUTE.fullmatch(path):
        body = _attachment_body(int(m[1]), m[2], tuple(sorted(names.items())))
        if body is None:
            return Reply(404, b"<html><body>Page not found</body></html>", "text/html")
        return Reply(200, body, XLSX_TYPE)
    return None
