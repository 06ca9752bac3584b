"""ONS "Customise my data" (CMD) API: `/datasets/{id}` → latest version → its CSV download.

The walk follows the API's own absolute links: the dataset (or a pinned edition) names its latest
version, the version gives `release_date`, `version` and `downloads.csv.href`. The CSV is the whole
version in the "V4_n" layout: the value, n marker columns (e.g. `Data Marking`), then one code/label
column pair per dimension (e.g. `calendar-years,time,admin-geography,geography`).

The download is the whole dataset, not a selection, so `geography_codes` is not sent, and `parse`
keeps every geography of the catalog's series: the caller filters, and rankings need all regions.
ITL1 (and the older NUTS1) region codes are turned into GSS codes so that they join our areas.

The API is rate limited (120 requests / 10 s and 200 / min; going over blocks the client for a
minute), so every request to it first passes `throttle`, a moving window kept under both limits.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pandas as pd
from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from sources.archive import ArchivedPage, fetch_page
from sources.catalog import CatalogError, DatasetSpec, SeriesSpec
from sources.csvrows import strict_rows
from sources.errors import PublisherFormatError
from sources.http import HttpConfig
from sources.observations import period_start, unique_frame

PUBLISHER = "ons_api"
DATASET_PATH = "/datasets/{source_id}"
EDITION_PATH = "/datasets/{source_id}/editions/{edition}"
QUERY_KEYS = frozenset({"edition"})
LONDON = ZoneInfo("Europe/London")

# The ONS limits, with a margin for the publisher's clock and for requests made by other tools from
# the same address. A moving window (the `limits` library) lets a run's handful of requests go out
# at once and waits only when a burst would cross a limit; a fixed spacing would make every run pay
# ~0.3 s a request for nothing.
RATE_LIMITS = (RateLimitItemPerSecond(100, 10), RateLimitItemPerMinute(180))
_rate_window = MovingWindowRateLimiter(MemoryStorage())
_rate_lock = threading.Lock()

VALUE_COLUMN = re.compile(r"v4_(\d+)", re.IGNORECASE)
MARKER_COLUMN = re.compile(r"data ?markings?", re.IGNORECASE)
LOWER_COLUMN = re.compile(r"lower.*", re.IGNORECASE)
UPPER_COLUMN = re.compile(r"upper.*", re.IGNORECASE)
TIME_LABEL = "time"
GEOGRAPHY_LABEL = "geography"

# Shorthand from the GSS guidance on symbols in tables, bare or in brackets. Which of them CMD
# datasets use is UNVERIFIED; any other marker fails the dataset so a new kind is looked at first.
STATUS_MARKERS = {
    "x": "not available",
    "..": "not available",
    "c": "confidential",
    "u": "low reliability",
    "z": "not applicable",
    "[x]": "not available",
    "[c]": "confidential",
    "[u]": "low reliability",
    "[z]": "not applicable",
}
NORMAL_STATUS = "A"

# ITL1 regions (TL*) and the NUTS1 codes (UK*) older editions use, to GSS region / country codes.
REGION_GSS = {
    "C": "E12000001",
    "D": "E12000002",
    "E": "E12000003",
    "F": "E12000004",
    "G": "E12000005",
    "H": "E12000006",
    "I": "E12000007",
    "J": "E12000008",
    "K": "E12000009",
    "L": "W92000004",
    "M": "S92000003",
    "N": "N92000002",
}
GSS_FOR_CODE = {
    "UK": "K02000001",
    **{f"TL{letter}": gss for letter, gss in REGION_GSS.items()},
    **{f"UK{letter}": gss for letter, gss in REGION_GSS.items()},
}

ANNUAL = re.compile(r"(\d{4})")
FINANCIAL_YEAR = re.compile(r"(\d{4})[-/](\d{2})")
QUARTER_YEAR_FIRST = re.compile(r"(\d{4})[ -]?Q([1-4])", re.IGNORECASE)
QUARTER_FIRST = re.compile(r"Q([1-4])[ -](\d{4})", re.IGNORECASE)
MONTH_FORMATS = ("%b-%y", "%b %Y", "%B %Y", "%Y-%m")


@dataclass(frozen=True)
class CmdTable:
    """A CMD CSV read strictly: where the value, markers, limits and dimension pairs are."""

    header: list[str]
    rows: list[dict[str, str]]
    marker: str | None
    lower: str | None
    upper: str | None
    time: tuple[str, str]  # (code column, label column), e.g. ("calendar-years", "time")
    geography: tuple[str, str]  # e.g. ("admin-geography", "geography")


def throttle() -> None:
    """Wait until one more request to the ONS API stays within every limit of `RATE_LIMITS`."""
    while True:
        with _rate_lock:
            full = [limit for limit in RATE_LIMITS if not _rate_window.test(limit, PUBLISHER)]
            if not full:
                for limit in RATE_LIMITS:
                    _rate_window.hit(limit, PUBLISHER)
                return
            free_at = max(_rate_window.get_window_stats(limit, PUBLISHER).reset_time for limit in full)
        time.sleep(min(max(free_at - time.time(), 0.01), 1.0))


def decode_text(body: bytes, publisher: str, dataset: str) -> str:
    """UTF-8 text that is not an HTML page, or a PublisherFormatError saying which it is."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PublisherFormatError(publisher, dataset, "the body is not UTF-8 text") from None
    if not text.strip():
        raise PublisherFormatError(publisher, dataset, "the response body is empty")
    if text.lstrip()[:1] == "<":
        raise PublisherFormatError(
            publisher, dataset, "the response is an HTML page, not the documented format"
        )
    return text


def load_json(body: bytes, publisher: str, dataset: str, what: str) -> dict[str, Any]:
    """A JSON object from a body, naming `what` (e.g. "the version document") when it is not one."""
    text = decode_text(body, publisher, dataset)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PublisherFormatError(publisher, dataset, f"{what} is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise PublisherFormatError(publisher, dataset, f"{what} is not a JSON object")
    return document


def london_date(stamp: object) -> str | None:
    """The Europe/London calendar date of an ISO timestamp (ONS gives UTC midnights), or None."""
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.date().isoformat()
    return moment.astimezone(LONDON).date().isoformat()


def read_table(body: bytes, dataset: str) -> CmdTable:
    """Parse a CMD CSV download strictly: V4_n, its n markers, then code/label pairs; full rows."""
    text = decode_text(body, PUBLISHER, dataset)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    table = _layout(header, dataset)
    rows = strict_rows(reader, header, PUBLISHER, dataset)
    return replace(table, rows=rows)


def _layout(header: list[str], dataset: str) -> CmdTable:
    if not header:
        raise PublisherFormatError(PUBLISHER, dataset, "the CSV's first line is empty, not a header")
    first = VALUE_COLUMN.fullmatch(header[0].strip())
    if not first:
        raise PublisherFormatError(
            PUBLISHER, dataset, f"the first CSV column is {header[0]!r}, not the documented V4_n value column"
        )
    if len(set(header)) != len(header):
        raise PublisherFormatError(PUBLISHER, dataset, f"the CSV header repeats a column name: {header}")
    extra_count = int(first[1])
    extras, dimensions = header[1 : 1 + extra_count], header[1 + extra_count :]
    marker = lower = upper = None
    for column in extras:
        if MARKER_COLUMN.fullmatch(column):
            marker = column
        elif LOWER_COLUMN.fullmatch(column):
            lower = column
        elif UPPER_COLUMN.fullmatch(column):
            upper = column
        else:
            raise PublisherFormatError(
                PUBLISHER, dataset, f"{header[0]} is followed by the unknown marker column {column!r}"
            )
    if len(extras) != extra_count or not dimensions or len(dimensions) % 2:
        raise PublisherFormatError(
            PUBLISHER,
            dataset,
            f"after {header[0]} and its {extra_count} marker column(s) the CSV should have code/label "
            f"column pairs, it has {dimensions}",
        )
    pairs = {
        label.lower(): (code, label) for code, label in zip(dimensions[::2], dimensions[1::2], strict=True)
    }
    for needed in (TIME_LABEL, GEOGRAPHY_LABEL):
        if needed not in pairs:
            raise PublisherFormatError(
                PUBLISHER, dataset, f"the CSV has no {needed} code/label column pair: {dimensions}"
            )
    return CmdTable(
        header=header,
        rows=[],
        marker=marker,
        lower=lower,
        upper=upper,
        time=pairs[TIME_LABEL],
        geography=pairs[GEOGRAPHY_LABEL],
    )


def read_layout(body: bytes, dataset: str) -> CmdTable:
    """Check only the header of a CSV download: cheap enough to refuse a bad body while fetching."""
    text = decode_text(body, PUBLISHER, dataset)
    header = next(csv.reader(io.StringIO(text.partition("\n")[0])), [])
    return _layout(header, dataset)


def to_period(code: str, cadence: str) -> str:
    """Our period (`YYYY`, `YYYY-Qn`, `YYYY-MM`) for a CMD time code; ValueError if it is not one.

    A financial year such as `2019-20` is stored as the year it starts in (`2019`). The cadence
    decides between that and a month such as `2019-12`.
    """
    code = code.strip()
    if cadence == "annual":
        if ANNUAL.fullmatch(code):
            return code
        if (m := FINANCIAL_YEAR.fullmatch(code)) and int(m[2]) == (int(m[1]) + 1) % 100:
            return m[1]
    elif cadence == "quarterly":
        if m := QUARTER_YEAR_FIRST.fullmatch(code):
            return f"{m[1]}-Q{m[2]}"
        if m := QUARTER_FIRST.fullmatch(code):
            return f"{m[2]}-Q{m[1]}"
    elif cadence == "monthly":
        for pattern in MONTH_FORMATS:
            try:
                return dt.datetime.strptime(code, pattern).strftime("%Y-%m")
            except ValueError:
                continue
    raise ValueError(f"time {code!r} is not a {cadence} period this parser knows")


def gss_code(code: str) -> str:
    return GSS_FOR_CODE.get(code.strip().upper(), code.strip())


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
    """Walk dataset → latest version → CSV, archiving each body; returns the CSV page.

    `geography_codes` is not used: the CSV download holds the whole version. All three pages are
    returned, the CSV first (so each has validators next time and an unchanged walk costs three
    304s); the CSV page's record carries the version number and its release date.
    """
    unknown = set(spec.query) - QUERY_KEYS
    if unknown:
        raise CatalogError(f"{spec.id}: {PUBLISHER} datasets take only {sorted(QUERY_KEYS)} in query")
    edition = spec.query.get("edition")
    path = EDITION_PATH if edition else DATASET_PATH
    start = base_url.rstrip("/") + path.format(source_id=spec.source_id, edition=edition)

    def fetch_one(url: str, page: int, ext: str) -> ArchivedPage:
        return _fetch_archived(
            client, config, url, spec=spec, raw_dir=raw_dir, previous=previous, page=page, ext=ext
        )

    what = f"edition {edition}" if edition else "the dataset document"
    parent_page = fetch_one(start, 1, "json")
    parent = load_json(parent_page.path.read_bytes(), PUBLISHER, spec.id, what)
    version_url = _href(parent, ("links", "latest_version", "href"), spec.id, what)
    version_page = fetch_one(version_url, 2, "json")
    version = load_json(version_page.path.read_bytes(), PUBLISHER, spec.id, "the version")
    csv_url = _href(version, ("downloads", "csv", "href"), spec.id, "the version")
    data = fetch_one(csv_url, 0, "csv")
    read_layout(data.path.read_bytes(), spec.id)
    number = version.get("version")
    extra = {
        "version": None if number is None else str(number),
        "release_date": london_date(version.get("release_date")),
    }
    return [ArchivedPage(data.path, {**data.record, **extra}), parent_page, version_page]


def _fetch_archived(
    client: httpx.Client,
    config: HttpConfig,
    url: str,
    *,
    spec: DatasetSpec,
    raw_dir: Path,
    previous: Callable[[str], ArchivedPage | None],
    page: int,
    ext: str,
) -> ArchivedPage:
    throttle()
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


def _href(document: dict[str, Any], keys: tuple[str, ...], dataset: str, what: str) -> str:
    node: Any = document
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, str) or not node.startswith(("http://", "https://")):
        raise PublisherFormatError(
            PUBLISHER, dataset, f"{what} has no absolute link at {'.'.join(keys)} (found {node!r})"
        )
    return node


def parse(spec: DatasetSpec, paths: list[Path]) -> pd.DataFrame:
    """Tidy observations of the catalog's series from CSV downloads; other rows are skipped.

    Every series must match at least one row, so a renamed code fails instead of vanishing.
    """
    records = []
    for path in (p for p in paths if p.suffix == ".csv"):  # the JSON documents of the walk are skipped
        table = read_table(path.read_bytes(), spec.id)
        _check_columns(spec, table)
        for row in table.rows:
            series = _series_for(spec, row)
            if series is not None:
                records.append(_observation(spec, series, table, row))
    found = {record["series"] for record in records}
    for series in spec.series:
        if series.name not in found:
            raise PublisherFormatError(
                PUBLISHER, spec.id, f"no row has the codes {series.match} of series {series.name}"
            )
    return unique_frame(records, PUBLISHER, spec.id)


def _check_columns(spec: DatasetSpec, table: CmdTable) -> None:
    for series in spec.series:
        missing = [c for c in [*series.match, *series.labels] if c not in table.header]
        if missing:
            raise PublisherFormatError(
                PUBLISHER,
                spec.id,
                f"the CSV lacks the column(s) {', '.join(missing)} that series {series.name} uses; "
                f"it has {table.header}",
            )


def _series_for(spec: DatasetSpec, row: dict[str, str]) -> SeriesSpec | None:
    for series in spec.series:
        if all(row[column] == code for column, code in series.match.items()):
            for column, pattern in series.labels.items():
                if not re.fullmatch(pattern, row[column], flags=re.IGNORECASE):
                    raise PublisherFormatError(
                        PUBLISHER,
                        spec.id,
                        f"{column} is {row[column]!r} for series {series.name}, expected /{pattern}/: "
                        "the code's meaning may have changed",
                    )
            return series
    return None


def _observation(spec: DatasetSpec, series: SeriesSpec, table: CmdTable, row: dict[str, str]) -> dict:
    value_column = table.header[0]
    geography = gss_code(row[table.geography[0]])
    time_code = row[table.time[0]]
    where = f"for {geography} at {time_code!r}"
    marker = row[table.marker].strip() if table.marker else ""
    if marker and marker not in STATUS_MARKERS:
        raise PublisherFormatError(PUBLISHER, spec.id, f"unknown {table.marker} {marker!r} {where}")
    text = row[value_column].strip()
    if not text and not marker:
        raise PublisherFormatError(PUBLISHER, spec.id, f"{value_column} is empty with no marker {where}")
    try:
        period = to_period(time_code, spec.cadence)
        value = _number(row, value_column)
        lower = _number(row, table.lower)
        upper = _number(row, table.upper)
    except ValueError as error:
        raise PublisherFormatError(PUBLISHER, spec.id, f"{error} {where}") from None
    return {
        "dataset": spec.id,
        "series": series.name,
        "geography_code": geography,
        "geography_name": row[table.geography[1]],
        "period": period,
        "period_date": period_start(period),
        "value": value,
        "status": marker or NORMAL_STATUS,
        "lower": lower,
        "upper": upper,
        "unit": series.unit,
    }


def _number(row: dict[str, str], column: str | None) -> float | None:
    if column is None or not row[column].strip():
        return None
    try:
        return float(row[column])
    except ValueError:
        raise ValueError(f"{column} {row[column]!r} is not a number") from None
