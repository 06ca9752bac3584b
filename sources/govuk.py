"""GOV.UK Content API: a statistics or publication page, then one of its spreadsheet attachments.

`GET {base}/api/content/{source_id}` returns the page as JSON with `details.attachments[]` (`title`,
`url`, `content_type`, `id`, `created_at`). Attachment URLs change on every update, so the attachment
is found on each run by its title: `query.attachment_title` in the catalog is a regular expression
matched whole and case-insensitive, and exactly one attachment must match. Both the content JSON and
the attachment are archived; the attachment is the data page returned. Its `version` is the page's
`public_updated_at` and its `release_date` the page's `first_published_at` (else `public_updated_at`).

Each catalog series says where its values are, in `match` (all values strings):

- `period`: the period the values describe, `YYYY` (required);
- `code_column`: regex for the header of the column with the area's GSS code (required, unless the
  file has no codes: `names_table` below);
- `value_column`: regex for the header of the column with the value (required);
- `sheet`: regex for the workbook sheet (default: the first sheet; ignored for a CSV attachment);
- `name_column`: regex for the header of the column with the area's name (optional);
- `filter_column`, `filter_value`: only rows whose `filter_column` cell matches `filter_value`
  (e.g. the round of a bid), both regexes (optional, together);
- `aggregate`: `single` (default; an area twice is an error) or `sum` (rows of the same area are
  added up, e.g. several bids; the sum is missing if any of its rows is);
- `value_pattern`: regex with one group that takes the number out of a text cell such as
  `Category 1` (optional).

Header regexes are matched whole and case-insensitive against the header cell with its whitespace
collapsed; exactly one column must match. The header row is the first of the top rows that has a
cell matching `code_column`, so title rows above a table are skipped. A mismatch fails naming the
columns (or sheets) found. Amounts may be written `£1,234,567`; an empty cell is a missing value.
Every area in the file is returned; rows with an empty code cell are skipped, any other code that is
not a GSS code fails.

UNVERIFIED: the exact sheet and column names of the IoD2019 "File 10" workbook and of the Levelling
Up Fund spreadsheets were not checked against live downloads; the catalog mapping carries them.

A file that names its areas without codes (the Levelling Up Fund rounds 1 and 2 lists, ODS
workbooks) has `names_table` instead of `code_column`: the name of a table in `sources/names/` (see
sources/area_names.py) that gives each name its GSS code; `name_column` is then required and finds the
header row. A row is a bid when its value cell is not empty (rows with a name and no value are notes,
such as the footnotes the `*` markers refer to). A name the table lacks fails, naming the name, the
dataset and the file: the table is extended by hand, never guessed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pandas as pd

from sources.archive import ArchivedPage, fetch_page
from sources.area_names import NamesTable, NamesTableError, load_names_table
from sources.catalog import CatalogError, DatasetSpec, SeriesSpec
from sources.errors import PublisherFormatError
from sources.http import HttpConfig
from sources.observations import period_start, to_frame

PUBLISHER = "govuk"
CONTENT_PATH = "/api/content/{path}"
ATTACHMENT_TITLE_KEY = "attachment_title"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODS_TYPE = "application/vnd.oasis.opendocument.spreadsheet"
SPREADSHEET_TYPES = {XLSX_TYPE: "xlsx", ODS_TYPE: "ods"}
CSV_TYPES = frozenset({"text/csv", "application/csv"})
ZIP_MAGIC = b"PK\x03\x04"  # xlsx and ODS workbooks are zip archives
HEADER_SEARCH_ROWS = 30
GSS_CODE = re.compile(r"[EWSNK]\d{8}")
REQUIRED_MATCH_KEYS = frozenset({"period", "value_column"})
OPTIONAL_MATCH_KEYS = frozenset(
    {
        "code_column",
        "names_table",
        "sheet",
        "name_column",
        "filter_column",
        "filter_value",
        "aggregate",
        "value_pattern",
    }
)
AGGREGATES = frozenset({"single", "sum"})
STATUS_OK = "ok"
STATUS_MISSING = "missing"


def content_url(base_url: str, source_id: str) -> str:
    return base_url.rstrip("/") + CONTENT_PATH.format(path=source_id.strip("/"))


def fetch(
    client: httpx.Client,
    config: HttpConfig,
    *,
    base_url: str,
    spec: DatasetSpec,
    geography_codes: list[str],
    raw_dir: Path,
    previous: Callable[[str], ArchivedPage | None],
) -> list[ArchivedPage]:
    """Fetch the content item, then the one attachment whose title matches; returns both pages,
    the attachment first.

    `geography_codes` is unused: an attachment covers every area and cannot be asked for fewer.
    """
    title_pattern = spec.query.get(ATTACHMENT_TITLE_KEY)
    if not title_pattern:
        raise CatalogError(f"dataset {spec.id}: a govuk dataset needs query.{ATTACHMENT_TITLE_KEY}")
    url = content_url(base_url, spec.source_id)
    content = _get_page(client, config, url, spec, raw_dir, previous, page=0, ext="json")
    item = read_content_item(content.path.read_bytes(), spec.id)
    attachment = pick_attachment(item, title_pattern, spec.id)
    attachment_url = str(httpx.URL(url).join(attachment["url"]))
    ext = attachment_format(attachment, spec.id)
    data = _get_page(client, config, attachment_url, spec, raw_dir, previous, page=1, ext=ext)
    check_attachment(data.path.read_bytes(), ext, spec.id)
    updated = item.get("public_updated_at")
    published = item.get("first_published_at") or updated
    return [
        ArchivedPage(data.path, {**data.record, "version": updated, "release_date": _date_part(published)}),
        content,
    ]


def _get_page(
    client: httpx.Client,
    config: HttpConfig,
    url: str,
    spec: DatasetSpec,
    raw_dir: Path,
    previous: Callable[[str], ArchivedPage | None],
    *,
    page: int,
    ext: str,
) -> ArchivedPage:
    return fetch_page(
        client,
        config,
        url,
        {},
        raw_dir=raw_dir,
        publisher=PUBLISHER,
        dataset=spec.id,
        page=page,
        ext=ext,
        previous=previous,
    )


def _date_part(timestamp: str | None) -> str | None:
    if not timestamp:
        return None
    try:
        return dt.date.fromisoformat(timestamp[:10]).isoformat()
    except ValueError:
        return None


def read_content_item(body: bytes, dataset: str) -> dict:
    """The content item JSON, checked to have a `details.attachments` list."""
    if body.lstrip()[:1] == b"<":
        raise PublisherFormatError(PUBLISHER, dataset, "the content API answered with an HTML page, not JSON")
    try:
        item = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PublisherFormatError(PUBLISHER, dataset, "the content API body is not JSON") from None
    attachments = item.get("details", {}).get("attachments") if isinstance(item, dict) else None
    if not isinstance(attachments, list):
        raise PublisherFormatError(PUBLISHER, dataset, "the content item has no details.attachments list")
    return item


def pick_attachment(item: dict, title_pattern: str, dataset: str) -> dict:
    """The one attachment whose title matches; none or several fail, naming the titles found."""
    attachments = [a for a in item["details"]["attachments"] if isinstance(a, dict)]
    chosen = [a for a in attachments if re.fullmatch(title_pattern, str(a.get("title", "")).strip(), re.I)]
    if len(chosen) != 1:
        which = "no attachment" if not chosen else f"{len(chosen)} attachments"
        titles = "; ".join(repr(a.get("title")) for a in (chosen or attachments)) or "none"
        raise PublisherFormatError(
            PUBLISHER, dataset, f"{which} titled /{title_pattern}/; the titles are: {titles}"
        )
    if not chosen[0].get("url"):
        raise PublisherFormatError(PUBLISHER, dataset, f"attachment {chosen[0]['title']!r} has no url")
    return chosen[0]


def attachment_format(attachment: dict, dataset: str) -> str:
    """`xlsx`, `ods` or `csv`, from the declared content type, else from the URL's extension."""
    content_type = str(attachment.get("content_type") or "").split(";")[0].strip().lower()
    extension = httpx.URL(attachment["url"]).path.rsplit(".", 1)[-1].lower()
    if content_type in SPREADSHEET_TYPES:
        return SPREADSHEET_TYPES[content_type]
    if not content_type and extension in SPREADSHEET_TYPES.values():
        return extension
    if content_type in CSV_TYPES or (not content_type and extension == "csv"):
        return "csv"
    raise PublisherFormatError(
        PUBLISHER,
        dataset,
        f"attachment {attachment.get('title')!r} is {content_type or extension!r}, "
        "not an xlsx, ODS or CSV file",
    )


def check_attachment(body: bytes, ext: str, dataset: str) -> None:
    if body.lstrip()[:1] == b"<":
        raise PublisherFormatError(PUBLISHER, dataset, f"the attachment is an HTML page, not the {ext} file")
    if ext in SPREADSHEET_TYPES.values() and not body.startswith(ZIP_MAGIC):
        raise PublisherFormatError(PUBLISHER, dataset, f"the attachment is not an {ext} workbook")
    if not body.strip():
        raise PublisherFormatError(PUBLISHER, dataset, "the attachment is empty")


def parse(spec: DatasetSpec, paths: list[Path]) -> pd.DataFrame:
    """Tidy observations from the attachment, one series at a time as its `match` describes."""
    paths = [path for path in paths if path.suffix != ".json"]  # the content item is provenance
    if len(paths) != 1:
        raise PublisherFormatError(PUBLISHER, spec.id, f"expected one attachment, got {len(paths)}")
    path = paths[0]
    check_attachment(path.read_bytes(), path.suffix.lstrip("."), spec.id)
    workbook = _Workbook(path, spec.id)
    records = []
    for series in spec.series:
        records.extend(_series_records(spec, series, workbook))
    if not records:
        raise PublisherFormatError(PUBLISHER, spec.id, "the attachment has no rows for any series")
    return to_frame(records)


class _Workbook:
    """The sheets of an xlsx or ODS attachment (or the one table of a CSV), read once each, as text
    grids."""

    def __init__(self, path: Path, dataset: str) -> None:
        self.path = path
        self.dataset = dataset
        self.is_csv = path.suffix.lower() == ".csv"
        self._sheets: dict[str, pd.DataFrame] = {}
        try:
            self.sheet_names = ["csv"] if self.is_csv else pd.ExcelFile(path, engine="calamine").sheet_names
        except Exception as error:  # calamine raises its own error types for a corrupt workbook
            raise PublisherFormatError(PUBLISHER, dataset, f"the workbook cannot be read: {error}") from None

    def sheet(self, pattern: str | None) -> tuple[str, pd.DataFrame]:
        if self.is_csv or pattern is None:
            name = self.sheet_names[0]
        else:
            found = [n for n in self.sheet_names if re.fullmatch(pattern, n.strip(), re.I)]
            if len(found) != 1:
                raise PublisherFormatError(
                    PUBLISHER,
                    self.dataset,
                    f"{len(found)} sheets match /{pattern}/; the sheets are: {', '.join(self.sheet_names)}",
                )
            name = found[0]
        if name not in self._sheets:
            self._sheets[name] = self._read(name)
        return name, self._sheets[name]

    def _read(self, name: str) -> pd.DataFrame:
        try:
            if self.is_csv:
                return pd.read_csv(
                    self.path, header=None, dtype=object, keep_default_na=False, encoding="utf-8-sig"
                )
            return pd.read_excel(self.path, sheet_name=name, header=None, dtype=object, engine="calamine")
        except Exception as error:  # pandas and calamine raise many types for a malformed file
            raise PublisherFormatError(
                PUBLISHER, self.dataset, f"sheet {name!r} cannot be read: {error}"
            ) from None


def _text(cell: object) -> str:
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return ""
    return " ".join(str(cell).split())


def _series_records(spec: DatasetSpec, series: SeriesSpec, workbook: _Workbook) -> list[dict]:
    match = _checked_match(spec, series)
    sheet_name, grid = workbook.sheet(match.get("sheet"))
    where = f"series {series.name}, sheet {sheet_name!r}"
    names_table = _names_table(spec, match["names_table"]) if "names_table" in match else None
    key_column = match["name_column"] if names_table else match["code_column"]
    header_row = _header_row(spec, grid, key_column, where)
    header = [_text(cell) for cell in grid.iloc[header_row]]
    key_at = _column(spec, header, key_column, where)
    value_at = _column(spec, header, match["value_column"], where)
    name_at = _column(spec, header, match["name_column"], where) if "name_column" in match else None
    filter_at = _column(spec, header, match["filter_column"], where) if "filter_column" in match else None
    period = match["period"]
    start = period_start(period)
    values: dict[str, list[float | None]] = {}
    names: dict[str, str] = {}
    table_rows = 0
    for row in grid.iloc[header_row + 1 :].itertuples(index=False):
        key = _text(row[key_at])
        if names_table:
            code = _bidder_code(spec, names_table, key, _text(row[value_at]), where, workbook.path)
        else:
            code = key
            if code and not GSS_CODE.fullmatch(code):
                raise PublisherFormatError(
                    PUBLISHER, spec.id, f"{where}: {code!r} in {header[key_at]!r} is not a GSS code"
                )
        if not code:
            continue
        table_rows += 1
        if filter_at is not None and not re.fullmatch(match["filter_value"], _text(row[filter_at]), re.I):
            continue
        values.setdefault(code, []).append(
            _number(spec, row[value_at], match.get("value_pattern"), where, code)
        )
        names.setdefault(code, _text(row[name_at]) if name_at is not None else "")
    if not table_rows:
        raise PublisherFormatError(PUBLISHER, spec.id, f"{where}: the table has no rows under its header")
    aggregate = match.get("aggregate", "single")
    records = []
    for code, found in values.items():
        if aggregate == "single" and len(found) > 1:
            raise PublisherFormatError(PUBLISHER, spec.id, f"{where}: {code} appears {len(found)} times")
        value = None if None in found else sum(found)
        records.append(
            {
                "dataset": spec.id,
                "series": series.name,
                "geography_code": code,
                "geography_name": names[code] or None,
                "period": period,
                "period_date": start,
                "value": value,
                "status": STATUS_MISSING if value is None else STATUS_OK,
                "lower": None,
                "upper": None,
                "unit": series.unit,
            }
        )
    return records


def _names_table(spec: DatasetSpec, table: str) -> NamesTable:
    try:
        return load_names_table(table)
    except NamesTableError as error:
        raise CatalogError(f"dataset {spec.id}: {error}") from None


def _bidder_code(
    spec: DatasetSpec, table: NamesTable, name: str, value: str, where: str, path: Path
) -> str | None:
    """The GSS code of the row's named area; None for a row that is not a bid (no value)."""
    if not value:
        return None
    if not name:
        raise PublisherFormatError(
            PUBLISHER, spec.id, f"{where} of {path}: a value of {value!r} with no name beside it"
        )
    code = table.code_for(name)
    if code is None:
        raise PublisherFormatError(
            PUBLISHER,
            spec.id,
            f"{spec.title}: the name {name!r} ({where} of {path}) is not in the names table "
            f"{table.path.name}; add it there with its GSS code, or the area it is credited to and why",
        )
    return code


def _checked_match(spec: DatasetSpec, series: SeriesSpec) -> dict[str, str]:
    match = series.match
    missing = REQUIRED_MATCH_KEYS - set(match)
    unknown = set(match) - REQUIRED_MATCH_KEYS - OPTIONAL_MATCH_KEYS
    problems = []
    if missing:
        problems.append(f"lacks {', '.join(sorted(missing))}")
    if unknown:
        problems.append(f"has unknown key(s) {', '.join(sorted(unknown))}")
    if ("code_column" in match) == ("names_table" in match):
        problems.append("needs code_column or names_table, not both")
    if "names_table" in match and "name_column" not in match:
        problems.append("needs name_column with names_table")
    if ("filter_column" in match) != ("filter_value" in match):
        problems.append("needs filter_column and filter_value together")
    if match.get("aggregate", "single") not in AGGREGATES:
        problems.append(f"aggregate must be one of {', '.join(sorted(AGGREGATES))}")
    if "period" in match and not re.fullmatch(r"\d{4}", match["period"]):
        problems.append("period must be a year, YYYY")
    if problems:
        raise CatalogError(f"dataset {spec.id}, series {series.name}: match {'; '.join(problems)}")
    return match


def _header_row(spec: DatasetSpec, grid: pd.DataFrame, key_pattern: str, where: str) -> int:
    for index in range(min(HEADER_SEARCH_ROWS, len(grid))):
        if any(re.fullmatch(key_pattern, _text(cell), re.I) for cell in grid.iloc[index]):
            return index
    top = [_text(cell) for cell in grid.iloc[0]] if len(grid) else []
    raise PublisherFormatError(
        PUBLISHER,
        spec.id,
        f"{where}: no header cell matches /{key_pattern}/ in the top {HEADER_SEARCH_ROWS} rows; "
        f"the first row is: {', '.join(repr(t) for t in top if t) or 'empty'}",
    )


def _column(spec: DatasetSpec, header: list[str], pattern: str, where: str) -> int:
    found = [index for index, name in enumerate(header) if re.fullmatch(pattern, name, re.I)]
    if len(found) != 1:
        raise PublisherFormatError(
            PUBLISHER,
            spec.id,
            f"{where}: {len(found)} columns match /{pattern}/; the columns are: "
            f"{', '.join(repr(name) for name in header if name)}",
        )
    return found[0]


def _number(spec: DatasetSpec, cell: object, pattern: str | None, where: str, code: str) -> float | None:
    if isinstance(cell, bool):
        raise PublisherFormatError(
            PUBLISHER, spec.id, f"{where}: {code} has the value {cell!r}, not a number"
        )
    if isinstance(cell, int | float):
        return None if isinstance(cell, float) and math.isnan(cell) else float(cell)
    text = _text(cell)
    if not text:
        return None
    if pattern:
        m = re.fullmatch(pattern, text, re.I)
        if not m:
            raise PublisherFormatError(
                PUBLISHER, spec.id, f"{where}: {code} has {text!r}, which /{pattern}/ does not match"
            )
        text = m[1]
    try:
        return float(text.replace("£", "").replace(",", "").strip())
    except ValueError:
        raise PublisherFormatError(
            PUBLISHER, spec.id, f"{where}: {code} has {text!r}, not a number"
        ) from None
