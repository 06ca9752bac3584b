"""Emulator of the GOV.UK Content API and its attachment downloads, for the replay server.

`/api/content/{path}` answers with a content item whose `details.attachments[]` point at workbooks
under `{base_url}/government/uploads/system/uploads/attachment_data/file/NNN/<name>.xlsx` or, as
GOV.UK's asset host now serves them, `{base_url}/media/<24 hex digits>/<name>`, served by the same
route, in the layout the catalog's `match` mapping describes. Only council-level areas have rows (a
combined authority, region or country is not in these files), except the Levelling Up Fund round 1
list, where a combined authority may lead a bid as in the real list. The values are ILLUSTRATIVE,
not official statistics, except the WMCA councils' IoD 2025 ranks (real, from
../shared/reference/timely-sources.md section 4-bis): deterministic per area, so every demo run gives
the same figures, and the workbooks are byte-for-byte stable so that an unchanged file is answered
with a 304.

The Levelling Up Fund round 1 and 2 lists are ODS workbooks in the publisher's layout (row 0 blank,
the header on row 1, empty spacer columns, no area codes: round 1 names the area, round 2 the lead
applicant's legal name, some with a `*` footnote marker). Their bids are `luf_bids`' rounds 1 and 2,
the same bids as the rounds 1 to 3 workbook's, so the demo's datasets agree.
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
from xml.sax.saxutils import escape, quoteattr

from openpyxl import Workbook

from sources.area_names import load_names_table
from sources.replay.reply import Reply
from sources.replay.samples import unit_hash

CONTENT_PREFIX = "/api/content/"
UPLOADS_PATH = "/government/uploads/system/uploads/attachment_data/file/{number}/{name}"
UPLOADS_ROUTE = re.compile(r"/government/uploads/system/uploads/attachment_data/file/(\d+)/([\w.-]+)")
MEDIA_PATH = "/media/{media}/{name}"
MEDIA_ROUTE = re.compile(r"/media/([0-9a-f]{24})/([\w.-]+)")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODS_TYPE = "application/vnd.oasis.opendocument.spreadsheet"
CONTENT_TYPES = {".xlsx": XLSX_TYPE, ".ods": ODS_TYPE, ".pdf": "application/pdf"}
COUNCIL_CODE = re.compile(r"(E0[6-9]|W06|S12|N09)\d{6}")
ENGLISH_COUNCIL_CODE = re.compile(r"E0[6-9]\d{6}")
LAD_COUNT_2019 = 317
LAD_COUNT_2024 = 296
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
# IoD 2025 File 10 v2, rank of average score (1 = most deprived, of 296): the real WMCA figures.
IMD_2025_RANKS = {
    "E08000025": 5,
    "E08000026": 57,
    "E08000027": 103,
    "E08000028": 19,
    "E08000029": 173,
    "E08000030": 28,
    "E08000031": 23,
}
LUF_ROUNDS = ("Round 1", "Round 2", "Round 3")
LUF_BID_CAP = 20_000_000  # most bids were capped at £20m; transport and package bids could go higher

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
IMD_2025_COLUMNS = tuple(
    column.replace("(2019)", "(2024)") for column in IMD_COLUMNS
)  # the header text UNVERIFIED beyond its first cell
LUF_BID_COLUMNS = ("Round", "Local authority code", "Lead applicant", "Bid name", "Amount awarded (£)")
LUF_R1_COLUMNS = ("Local Authority Name / Area", "Bid Name", "Bid Value")
LUF_R2_COLUMNS = ("Legal name of lead applicant organisation", "Bid Name", "Bid Value", "Country")
# How round 2 writes a lead applicant's legal name, by the kind of council its code says it is.
LEGAL_NAMES = {
    "E06": "{} Council",
    "E07": "{} District Council",
    "E08": "{} Metropolitan Borough Council",
    "E09": "London Borough of {}",
    "W06": "{} County Borough Council",
    "S12": "{} Council",
    "N09": "{} District Council",
}
COUNTRIES = {"E": "England", "W": "Wales", "S": "Scotland", "N": "Northern Ireland"}
ODS_MIMETYPE = ODS_TYPE.encode()
ODS_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)
ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
    f'manifest:media-type="{ODS_TYPE}"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)
LUF_PRIORITY_COLUMNS = ("Local authority code", "Local authority", "Category")


@dataclass(frozen=True)
class Attachment:
    number: int
    name: str
    title: str
    build: Callable[[dict[str, str]], bytes] | None  # the workbook for the given areas; None: not served
    media: str | None = None  # served under /media/<media>/ (the asset host's path), else under uploads

    @property
    def path(self) -> str:
        if self.media:
            return MEDIA_PATH.format(media=self.media, name=self.name)
        return UPLOADS_PATH.format(number=self.number, name=self.name)


@dataclass(frozen=True)
class ContentItem:
    title: str
    first_published_at: str
    public_updated_at: str
    attachments: tuple[Attachment, ...]


def imd_rank(code: str) -> int:
    return IMD_RANKS.get(code) or 1 + int((LAD_COUNT_2019 - 1) * unit_hash("imd", code))


def imd_2025_rank(code: str) -> int:
    return IMD_2025_RANKS.get(code) or 1 + int((LAD_COUNT_2024 - 1) * unit_hash("imd-2025", code))


def luf_bids(code: str) -> list[tuple[str, str, int]]:
    """(round, bid name, amount in whole £) for the area: up to one successful bid per round, two in
    five of them at the £20m cap, one in twenty a transport or package bid above it."""
    bids = []
    for number, round_name in enumerate(LUF_ROUNDS, start=1):
        draw = unit_hash("luf", code, round_name)
        if draw < 0.45:
            continue
        size = unit_hash("luf-amount", code, round_name)
        if size < 0.4:
            amount = LUF_BID_CAP
        elif size >= 0.95:
            amount = LUF_BID_CAP + int(30_000_000 * unit_hash("luf-package", code, round_name))
        else:
            amount = 2_000_000 + int((LUF_BID_CAP - 2_000_000) * (size - 0.4) / 0.55)
        bids.append((round_name, f"Illustrative regeneration scheme {number}", amount))
    return bids


def combined_authority_bids(code: str) -> list[tuple[str, str, int]]:
    """A combined authority's round 1 transport bid (as the Liverpool City Region's), for one in
    three of those the names table knows (those that existed in 2021)."""
    if code not in set(load_names_table("area_names").codes.values()):
        return []
    if unit_hash("luf-ca", code) >= 1 / 3:
        return []
    amount = LUF_BID_CAP + int(30_000_000 * unit_hash("luf-ca-amount", code))
    return [("Round 1", "Illustrative transport package", amount)]


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
    return _imd_summaries(names, 2019, IMD_COLUMNS, imd_rank, LAD_COUNT_2019, ("Income",))


def imd_2025_workbook(names: dict[str, str]) -> bytes:
    """File 10 v2: a notes sheet, then the IMD sheet with its header on the first row."""
    return _imd_summaries(
        names, 2025, IMD_2025_COLUMNS, imd_2025_rank, LAD_COUNT_2024, ("Income", "Employment")
    )


def _imd_summaries(
    names: dict[str, str],
    edition: int,
    columns: tuple[str, ...],
    rank_of: Callable[[str], int],
    councils_ranked: int,
    domains: tuple[str, ...],
) -> bytes:
    """A File 10 of the English Indices of Deprivation: notes, the IMD sheet (one row per council,
    its header on the first row), then a header-only sheet per further domain."""
    workbook = Workbook()
    notes = workbook.active
    notes.title = "Notes"
    notes.append(
        [f"English Indices of Deprivation {edition}: local authority district summaries (ILLUSTRATIVE)"]
    )
    sheet = workbook.create_sheet("IMD")
    sheet.append(columns)
    for code, name in _councils(names, ENGLISH_COUNCIL_CODE):
        rank = rank_of(code)
        score = round(45 - 35 * rank / councils_ranked, 3)
        sheet.append([code, name, round(30_000 - 60 * rank, 3), rank, score, rank, 0.2, rank])
    for domain in domains:
        workbook.create_sheet(domain).append([columns[0], f"{domain} - Average score"])
    return deterministic_xlsx(workbook)


def _ods_cell(value: object) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    text = escape(str(value))
    return f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'


def deterministic_ods(sheets: dict[str, list[list[object]]]) -> bytes:
    """An OpenDocument spreadsheet of the given sheets' rows (None: an empty cell), stored as the
    format requires (an uncompressed `mimetype` entry first) with fixed stamps: the same rows give
    the same bytes."""
    tables = "".join(
        f"<table:table table:name={quoteattr(name)}>"
        + "".join(
            "<table:table-row>" + "".join(_ods_cell(value) for value in row) + "</table:table-row>"
            if row
            else "<table:table-row><table:table-cell/></table:table-row>"
            for row in rows
        )
        + "</table:table>"
        for name, rows in sheets.items()
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {ODS_NAMESPACES} '
        f'office:version="1.2"><office:body><office:spreadsheet>{tables}'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        target.writestr(zipfile.ZipInfo("mimetype", date_time=ZIP_STAMP), ODS_MIMETYPE, zipfile.ZIP_STORED)
        for name, data in (("META-INF/manifest.xml", ODS_MANIFEST), ("content.xml", content)):
            target.writestr(zipfile.ZipInfo(name, date_time=ZIP_STAMP), data.encode(), zipfile.ZIP_DEFLATED)
    return out.getvalue()


def legal_name(code: str, name: str) -> str:
    return LEGAL_NAMES[code[:3]].format(name)


def _luf_round_rows(names: dict[str, str], round_name: str) -> list[tuple[str, str, str, int]]:
    """(code, name, bid, amount) of the round's bids, councils first, then combined authorities."""
    rows = []
    for code, name in _councils(names, COUNCIL_CODE):
        rows.extend((code, name, bid, amount) for r, bid, amount in luf_bids(code) if r == round_name)
    for code, name in sorted((c, n) for c, n in names.items() if c.startswith("E47")):
        rows.extend(
            (code, name, bid, amount) for r, bid, amount in combined_authority_bids(code) if r == round_name
        )
    return rows


def luf_round1_ods(names: dict[str, str]) -> bytes:
    """Round 1 as published: row 0 blank, spacer columns A and C, the area's own name."""
    rows: list[list[object]] = [[], [None, LUF_R1_COLUMNS[0], None, *LUF_R1_COLUMNS[1:]]]
    for _, name, bid, amount in _luf_round_rows(names, "Round 1"):
        rows.append([None, name, None, bid, amount])
    return deterministic_ods({"LUF bidders list": rows})


def luf_round2_ods(names: dict[str, str]) -> bytes:
    """Round 2 as published: the lead applicant's legal name, every third one with a `*` marker,
    and the footnote the markers refer to below the table."""
    rows: list[list[object]] = [[], [None, LUF_R2_COLUMNS[0], None, *LUF_R2_COLUMNS[1:]]]
    for number, (code, name, bid, amount) in enumerate(_luf_round_rows(names, "Round 2")):
        marker = "*" if number % 3 == 0 else ""
        rows.append([None, legal_name(code, name) + marker, None, bid, amount, COUNTRIES[code[0]]])
    rows += [[], [None, "* Illustrative footnote: a bid submitted jointly with neighbouring councils"]]
    return deterministic_ods({"Successful bids": rows})


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
    "government/statistics/english-indices-of-deprivation-2025": ContentItem(
        title="English indices of deprivation 2025",
        first_published_at="2025-10-30T09:30:00.000+00:00",
        public_updated_at="2025-11-17T09:30:00.000+00:00",
        attachments=(
            Attachment(
                1,
                "File_1_IoD2025_Index_of_Multiple_Deprivation.xlsx",
                "File 1: index of multiple deprivation",
                None,
            ),
            Attachment(
                10,
                "File_10_-_IoD2025_Local_Authority_District_Summaries__lower-tier__v2.xlsx",
                "File 10: local authority district summaries (lower-tier) v2",
                imd_2025_workbook,
                media="6917412ebc34c86ce4e6e7fc",
            ),
            Attachment(
                11,
                "File_11_-_IoD2025_Local_Authority_District_Summaries__upper-tier__v2.xlsx",
                "File 11: local authority district summaries (upper-tier) v2",
                None,
                media="6917414ab49cc44345161802",
            ),
        ),
    ),
    "government/publications/levelling-up-fund-first-round-successful-bidders": ContentItem(
        title="Levelling Up Fund: first round successful bidders",
        first_published_at="2021-10-27T15:30:00.000+01:00",
        public_updated_at="2021-11-18T16:00:00.000+00:00",
        attachments=(
            Attachment(
                1,
                "LUF_bidders_list.ods",
                "Levelling Up Fund: first round successful bidders",
                luf_round1_ods,
                media="61967c148fa8f50379269cc9",
            ),
        ),
    ),
    "government/publications/levelling-up-fund-round-2-successful-bidders": ContentItem(
        title="Levelling Up Fund: round 2 successful bidders",
        first_published_at="2023-01-19T17:00:00.000+00:00",
        public_updated_at="2023-05-22T15:00:00.000+01:00",
        attachments=(
            Attachment(
                1,
                "LUF_R2_list_of_successful_bids.ods",
                "Levelling Up Fund round 2: list of successful bids",
                luf_round2_ods,
                media="646b87038a7184000cae4ef2",
            ),
            Attachment(
                2,
                "LUF_round_2_technical_note.pdf",
                "Levelling Up Fund round 2: technical note",
                None,
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
            "content_type": CONTENT_TYPES[a.name[a.name.rindex(".") :]],
            "created_at": item.public_updated_at,
            "filename": a.name,
            "id": str(a.number),
            "title": a.title,
            "url": base_url.rstrip("/") + a.path,
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
def _attachment_body(path: str, names: tuple[tuple[str, str], ...]) -> bytes | None:
    for item in CONTENT_ITEMS.values():
        for attachment in item.attachments:
            if attachment.path == path and attachment.build:
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
    if UPLOADS_ROUTE.fullmatch(path) or MEDIA_ROUTE.fullmatch(path):
        body = _attachment_body(path, tuple(sorted(names.items())))
        if body is None:
            return Reply(404, b"<html><body>Page not found</body></html>", "text/html")
        return Reply(200, body, CONTENT_TYPES[path[path.rindex(".") :]])
    return None
