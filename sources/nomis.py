"""Nomis (ONS labour-market statistics, run by Durham University): `/api/v01/dataset/{ID}.data.csv`.

Queries use GSS geography codes. As a guest a call returns at most 25,000 rows, and an oversized
query comes back with HTTP 200 and a silently short body, so every page's row count is checked
against `RECORD_COUNT` and the next page is asked for with `recordOffset`. `OBS_STATUS` is kept
beside the value: `Q` means missing, and its value is stored as missing, never as 0.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sources.archive import ArchivedPage, fetch_page
from sources.catalog import DatasetSpec, SeriesSpec
from sources.csvrows import strict_rows, strict_values
from sources.errors import PublisherFormatError
from sources.http import HttpConfig, request_key
from sources.observations import OBSERVATION_DTYPES, add_sums, period_start, to_frame

PUBLISHER = "nomis"
DATA_PATH = "/api/v01/dataset/{source_id}.data.csv"
GUEST_PAGE_LIMIT = 25_000
KEY_PAGE_LIMIT = 100_000

REQUIRED_COLUMNS = (
    "DATE",
    "DATE_NAME",
    "GEOGRAPHY_CODE",
    "GEOGRAPHY_NAME",
    "MEASURES",
    "OBS_VALUE",
    "OBS_STATUS",
    "RECORD_OFFSET",
    "RECORD_COUNT",
)
# Verified in the Nomis documentation and nomisr output; any other marker fails the dataset so
# that a new kind of suppression is looked at before it reaches a bulletin.
STATUS_MARKERS = {
    "A": "Normal Value",
    "Q": "These figures are missing",
}
MISSING_STATUSES = frozenset({"Q"})
# What an observation is made of, besides the columns that decide its series.
OBSERVATION_COLUMNS = (
    "DATE",
    "GEOGRAPHY_CODE",
    "GEOGRAPHY_NAME",
    "OBS_VALUE",
    "OBS_STATUS",
    "OBS_STATUS_NAME",
)


@dataclass(frozen=True)
class PageExtent:
    """Where a page sits in the whole result: what paging needs, without building its rows."""

    rows: int
    record_count: int
    record_offset: int


def _open_csv(body: bytes, dataset: str) -> tuple[Iterator[list[str]], list[str]]:
    """A reader past the documented header of one page; fails on HTML, empty or truncated bodies."""
    text = _decode(body, dataset)
    if text.lstrip()[:1] == "<":
        raise PublisherFormatError(PUBLISHER, dataset, "the response is an HTML page, not the documented CSV")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise PublisherFormatError(PUBLISHER, dataset, "the response body is empty")
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise PublisherFormatError(PUBLISHER, dataset, f"the CSV lacks the column(s) {', '.join(missing)}")
    if not text.endswith("\n"):
        raise PublisherFormatError(PUBLISHER, dataset, "the CSV body is truncated mid-row")
    return reader, header


def read_page(body: bytes, dataset: str, columns: Collection[str] | None = None) -> list[dict[str, str]]:
    """One page's rows, strictly: the documented header and full rows; with `columns`, each row
    holds only those of them the page has.

    Arrow's CSV reader splits the page (a claimant-count page is 25,000 rows of 40 columns, and
    Python's csv module took most of the parse); a page it refuses is read again by the csv module,
    whose strict reading names the line at fault.
    """
    reader, header = _open_csv(body, dataset)
    kept = [name for name in dict.fromkeys(header) if columns is None or name in columns]
    table = _arrow_page(body, header, kept)
    if table is None:
        rows = strict_rows(reader, header, PUBLISHER, dataset)
        return rows if columns is None else [{name: row[name] for name in kept} for row in rows]
    values = [table[name].to_pylist() for name in kept]
    return [dict(zip(kept, row, strict=True)) for row in zip(*values, strict=True)]


def _arrow_page(body: bytes, header: list[str], kept: list[str]) -> pa.Table | None:
    """The `kept` columns of a page as Arrow reads them, every field a string; None when Arrow
    refuses the page, finds no row, or the header repeats a name (the csv module reads those)."""
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                include_columns=kept,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowException:
        return None
    if table.num_rows == 0 or len(set(header)) != len(header):
        return None
    return table


def page_extent(body: bytes, dataset: str, *, confirmed: bool = False) -> PageExtent:
    """One page checked strictly (header, full rows, consistent RECORD_* columns) for paging.

    A `confirmed` page is one a 304 said is unchanged: the archive's copy of it passed these checks
    when it was fetched, so its rows are counted by lines (every run reads it again, and a strict
    read of a no-change run's pages cost ~0.3 s). Only when a quoted field could span lines does it
    take the strict read.
    """
    if confirmed and (extent := _counted_extent(body, dataset)) is not None:
        return extent
    reader, header = _open_csv(body, dataset)
    if header_only(body):  # a query no row matches; whether that may be so is for the caller to say
        return PageExtent(rows=0, record_count=0, record_offset=0)
    values = strict_values(reader, header, PUBLISHER, dataset)
    count_at, offset_at = header.index("RECORD_COUNT"), header.index("RECORD_OFFSET")
    try:
        counts = {int(row[count_at]) for row in values}
        offset = int(values[0][offset_at])
    except ValueError:
        raise PublisherFormatError(
            PUBLISHER, dataset, "RECORD_COUNT or RECORD_OFFSET is not a whole number"
        ) from None
    if len(counts) != 1:
        raise PublisherFormatError(PUBLISHER, dataset, "RECORD_COUNT differs between rows")
    return PageExtent(rows=len(values), record_count=counts.pop(), record_offset=offset)


def header_only(body: bytes) -> bool:
    """A page of the header alone: the answer to a query that matched no row."""
    return b"\n" not in body.strip()


def _counted_extent(body: bytes, dataset: str) -> PageExtent | None:
    """The extent of an already-checked page from its first data row and its count of lines; None
    when a line holds an odd number of quotes (a quoted field running onto the next line)."""
    lines = [line for line in body.split(b"\n") if line.strip(b"\r")]
    if len(lines) < 2 or any(line.count(b'"') % 2 for line in lines):
        return None
    header, first = csv.reader([_decode(lines[0], dataset), _decode(lines[1], dataset)])
    try:
        return PageExtent(
            rows=len(lines) - 1,
            record_count=int(first[header.index("RECORD_COUNT")]),
            record_offset=int(first[header.index("RECORD_OFFSET")]),
        )
    except (ValueError, IndexError):
        return None


def _decode(body: bytes, dataset: str) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PublisherFormatError(PUBLISHER, dataset, "the body is not UTF-8 text") from None


def page_limit(uid: str | None, override: int | None) -> int:
    if override:
        return override
    return KEY_PAGE_LIMIT if uid else GUEST_PAGE_LIMIT


def fetch(
    client: httpx.Client,
    config: HttpConfig,
    *,
    base_url: str,
    spec: DatasetSpec,
    geography_codes: list[str],
    raw_dir: Path,
    previous: Callable[[str], ArchivedPage | None],
    uid: str | None = None,
    page_size: int | None = None,
    full_refresh: bool = False,
    on_page: Callable[[int, int], None] | None = None,
) -> list[ArchivedPage]:
    """Fetch every page of a dataset into the raw archive; checks each page against RECORD_COUNT.

    `previous(request_key)` returns the last archived page for a request, whose validators are
    sent so that an unchanged page costs a 304 and no body. A dataset with a recent window
    (`DatasetSpec.recent`) is asked for its newest periods only, unless `full_refresh` or its older
    periods were last confirmed too long ago (`_older_periods_due`).
    """
    url = base_url.rstrip("/") + DATA_PATH.format(source_id=spec.source_id)
    geography = ",".join(geography_codes)
    full = full_refresh or _older_periods_due(spec, previous, url, geography)
    limit = page_limit(uid, page_size)
    parts: list[tuple[list[ArchivedPage], int]] = []
    for query in spec.request_queries(full=full):
        parts.append(
            _fetch_request(
                client,
                config,
                url,
                {**query, "geography": geography},
                spec=spec,
                raw_dir=raw_dir,
                previous=previous,
                first_page=sum(len(pages) for pages, _ in parts),
                uid=uid,
                limit=limit,
                on_page=on_page,
            )
        )
    if len(parts) == 2:
        _check_older_periods(spec, parts)
    return [page for pages, _ in parts for page in pages]


def _fetch_request(
    client: httpx.Client,
    config: HttpConfig,
    url: str,
    params: dict[str, str],
    *,
    spec: DatasetSpec,
    raw_dir: Path,
    previous: Callable[[str], ArchivedPage | None],
    first_page: int,
    uid: str | None,
    limit: int,
    on_page: Callable[[int, int], None] | None,
) -> tuple[list[ArchivedPage], int]:
    """Every page of one request, paged by `recordOffset`; with the count of rows they hold."""
    pages: list[ArchivedPage] = []
    offset = 0
    while True:
        paged = {**params, "recordOffset": str(offset)} if offset else params
        archived = fetch_page(
            client,
            config,
            url,
            paged,
            raw_dir=raw_dir,
            publisher=PUBLISHER,
            dataset=spec.id,
            page=first_page + len(pages),
            ext="csv",
            previous=previous,
            secret_params={"uid": uid} if uid else None,
        )
        confirmed = archived.record["status"] == 304
        page = page_extent(archived.path.read_bytes(), spec.id, confirmed=confirmed)
        _check_page(page, spec.id, offset, limit)
        pages.append(archived)
        offset += page.rows
        if on_page:
            on_page(offset, page.record_count)
        if offset >= page.record_count:
            return pages, offset


def _check_older_periods(spec: DatasetSpec, parts: list[tuple[list[ArchivedPage], int]]) -> None:
    """The older periods may come back empty only when the dataset has no more periods than its
    recent window holds. Otherwise Nomis did not read the range `latestMINUSn-latestMINUSm` as
    documented for `latestMINUSn-latest` (UNVERIFIED for two relative ends), and the fetch fails
    rather than load a dataset without its history."""
    (_, older_rows), (newest_pages, _) = parts
    if older_rows or spec.recent is None:
        return
    dates = {
        row["DATE"] for page in newest_pages for row in read_page(page.path.read_bytes(), spec.id, {"DATE"})
    }
    if len(dates) >= spec.recent.months:
        older = spec.request_queries(full=True)[0]["time"]
        raise PublisherFormatError(
            PUBLISHER,
            spec.id,
            f"time={older} returned no rows although the newest {spec.recent.months} periods are all "
            "there: the older periods are missing; fetch again, and if it persists, remove `recent` "
            "from the dataset in the catalog",
        )


def _older_periods_due(
    spec: DatasetSpec, previous: Callable[[str], ArchivedPage | None], url: str, geography: str
) -> bool:
    """Whether a fetch of a dataset with a recent window must ask for its older periods too: they
    were never fetched for these areas, or last confirmed `full_refresh_days` ago or more."""
    if spec.recent is None:
        return True
    older = spec.request_queries(full=True)[0]
    last = previous(request_key(url, {**older, "geography": geography}))
    confirmed_at = last.record.get("confirmed_at") if last else None
    if confirmed_at is None:
        return True
    age = dt.datetime.now(dt.UTC) - confirmed_at
    return age >= dt.timedelta(days=spec.recent.full_refresh_days)


def _check_page(page: PageExtent, dataset: str, offset: int, limit: int) -> None:
    if page.record_offset != offset:
        raise PublisherFormatError(
            PUBLISHER, dataset, f"asked for rows from {offset}, got rows from {page.record_offset}"
        )
    expected = min(limit, page.record_count - offset)
    if page.rows != expected:
        raise PublisherFormatError(
            PUBLISHER,
            dataset,
            f"short page: {page.rows} rows from offset {offset} where RECORD_COUNT "
            f"{page.record_count} and the page limit {limit} promise {expected}",
        )


def parse(spec: DatasetSpec, paths: list[Path]) -> pd.DataFrame:
    """Turn the pages of one fetch into tidy observations, checking codes, labels and statuses.

    A series whose `match` lists several codes for one dimension (`"119,120,121"`) is the sum of
    those rows, and missing if any of them is. A series with an `interval` takes its confidence
    interval from the row the interval names.

    A dataset of plain series (one code per dimension, no interval rows: the claimant count, read
    again at every release) is read column by column (`_parse_columns`); anything that reading
    cannot vouch for is left to the row-by-row reading (`_parse_rows`), which names the first fault.
    """
    frame = _parse_columns(spec, paths)
    frame = frame if frame is not None else _parse_rows(spec, paths)
    return add_sums(frame, spec.sums, normal="A", missing="Q")


def _bodies_with_rows(paths: list[Path]) -> Iterator[bytes]:
    """The pages' bodies, one at a time; header-only pages passed the fetch's checks as the answer
    to a query no row matched, and hold no observation."""
    for path in paths:
        if not header_only(body := path.read_bytes()):
            yield body


def _deciding_columns(spec: DatasetSpec) -> list[str]:
    """The columns that decide a row's series: its codes and the labels checked against them."""
    return sorted({c for s in spec.series for c in (*s.match, *(s.interval or {}), *s.labels)})


def _parse_rows(spec: DatasetSpec, paths: list[Path]) -> pd.DataFrame:
    records: dict[tuple[str, str, str], dict] = {}
    parts: dict[tuple[str, str, str], set[tuple]] = {}
    spreads: dict[tuple[str, str, str], float | None] = {}
    # A row's series depends only on its codes and labels, which a few combinations cover: each
    # combination is matched and its labels checked once, not once per area and period.
    deciding = _deciding_columns(spec)
    decided: dict[tuple, tuple[SeriesSpec, bool]] = {}
    for body in _bodies_with_rows(paths):
        for row in read_page(body, spec.id, {*deciding, *OBSERVATION_COLUMNS}):
            signature = tuple(map(row.get, deciding))
            if signature not in decided:
                decided[signature] = _series_for(spec, row)
            series, is_interval = decided[signature]
            observation = _observation(spec, series, row)
            key = (series.name, row["GEOGRAPHY_CODE"], row["DATE"])
            if is_interval:
                if key in spreads:
                    _duplicate(spec, key)
                spreads[key] = observation["value"]
                continue
            part = tuple(map(row.get, series.match))
            if part in parts.setdefault(key, set()):
                _duplicate(spec, key)
            parts[key].add(part)
            held = records.get(key)
            if held is None:
                records[key] = observation
            elif held["value"] is None or observation["value"] is None:
                missing_status = held["status"] if held["value"] is None else observation["status"]
                held.update(value=None, status=missing_status)
            else:
                held["value"] += observation["value"]
    by_name = {series.name: series for series in spec.series}
    combinations = {series.name: _combinations(series) for series in spec.series}
    for key, record in records.items():
        series = by_name[key[0]]
        expected = combinations[key[0]]
        if len(parts[key]) != expected:
            raise PublisherFormatError(
                PUBLISHER,
                spec.id,
                f"{key[0]} for {key[1]} in {key[2]} sums {len(parts[key])} of its {expected} rows",
            )
        if series.interval:
            _apply_interval(record, series, spreads.get(key))
    return to_frame(list(records.values()))


# A value both Python's float() and Arrow's cast read, to the same (correctly rounded) double.
_PLAIN_NUMBER = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
_SEPARATOR = "\x1f"


def _parse_columns(spec: DatasetSpec, paths: list[Path]) -> pd.DataFrame | None:
    """`_parse_rows`'s frame, row for row, made with Arrow's kernels instead of a Python loop over
    rows; None whenever a row would need a closer look (an unmatched code, a label, status or value
    out of the ordinary, a repeated row, a page Arrow refuses), so that `_parse_rows` raises on it.
    """
    if not paths or any(s.interval or _combinations(s) != 1 for s in spec.series):
        return None
    deciding = _deciding_columns(spec)
    columns = sorted({*deciding, *OBSERVATION_COLUMNS})
    tables = []
    for body in _bodies_with_rows(paths):
        _, header = _open_csv(body, spec.id)
        table = _arrow_page(body, header, columns)
        if table is None or table.column_names != columns:
            return None
        tables.append(table)
    if not tables:
        return None
    table = pa.concat_tables(tables)
    column = {name: table[name].combine_chunks() for name in columns}
    if any(pc.any(pc.match_substring(column[c], _SEPARATOR)).as_py() for c in deciding):
        return None
    signatures = pc.dictionary_encode(pc.binary_join_element_wise(*(column[c] for c in deciding), _SEPARATOR))
    try:
        found = [
            _series_for(spec, dict(zip(deciding, s.split(_SEPARATOR), strict=True)))[0]
            for s in signatures.dictionary.to_pylist()
        ]
    except PublisherFormatError:
        return None
    status = column["OBS_STATUS"]
    if not pc.all(pc.is_in(status, pa.array(list(STATUS_MARKERS)))).as_py():
        return None
    missing = pc.is_in(status, pa.array(list(MISSING_STATUSES)))
    if not pc.all(
        pc.match_substring_regex(pc.filter(column["OBS_VALUE"], pc.invert(missing)), _PLAIN_NUMBER)
    ).as_py():
        return None
    values = pc.if_else(
        missing,
        pa.scalar(None, pa.float64()),
        pc.cast(pc.if_else(missing, "0", column["OBS_VALUE"]), pa.float64()),
    )
    periods = pc.dictionary_encode(column["DATE"])
    try:
        starts = [_period_start(period) for period in periods.dictionary.to_pylist()]
    except ValueError:
        return None
    series = pa.array([s.name for s in found]).take(signatures.indices)
    keys = pc.binary_join_element_wise(series, column["GEOGRAPHY_CODE"], column["DATE"], _SEPARATOR)
    if pc.count_distinct(keys).as_py() != table.num_rows:
        return None
    frame = pd.DataFrame(
        {
            "dataset": spec.id,
            "series": series.to_numpy(zero_copy_only=False),
            "geography_code": column["GEOGRAPHY_CODE"].to_numpy(zero_copy_only=False),
            "geography_name": column["GEOGRAPHY_NAME"].to_numpy(zero_copy_only=False),
            "period": column["DATE"].to_numpy(zero_copy_only=False),
            "period_date": pa.array(starts, pa.date32()).take(periods.indices).to_numpy(zero_copy_only=False),
            "value": values.to_numpy(zero_copy_only=False),
            "status": status.to_numpy(zero_copy_only=False),
            "lower": None,
            "upper": None,
            "unit": pa.array([s.unit for s in found]).take(signatures.indices).to_numpy(zero_copy_only=False),
        },
        columns=list(OBSERVATION_DTYPES),
    )
    frame["period_date"] = pd.to_datetime(frame["period_date"])
    return frame.astype(OBSERVATION_DTYPES)


def _duplicate(spec: DatasetSpec, key: tuple[str, str, str]) -> None:
    raise PublisherFormatError(PUBLISHER, spec.id, f"duplicated rows, e.g. {key[0]} for {key[1]} in {key[2]}")


def _combinations(series: SeriesSpec) -> int:
    count = 1
    for code in series.match.values():
        count *= len(code.split(","))
    return count


def _apply_interval(record: dict, series: SeriesSpec, spread: float | None) -> None:
    value = record["value"]
    if value is None or spread is None:
        return
    half_width = spread if series.interval_kind == "half_width" else 1.96 * spread / 100 * value
    record["lower"], record["upper"] = value - half_width, value + half_width


def _matches(row: dict[str, str], match: dict[str, str]) -> bool:
    return all(row.get(column) in codes.split(",") for column, codes in match.items())


def _series_for(spec: DatasetSpec, row: dict[str, str]) -> tuple[SeriesSpec, bool]:
    """The series a row belongs to, and whether it is that series' interval row."""
    for series in spec.series:
        is_interval = bool(series.interval) and _matches(row, {**series.match, **series.interval})
        if not is_interval and not _matches(row, series.match):
            continue
        for column, pattern in series.labels.items():
            if is_interval and column in {f"{c}_NAME" for c in series.interval}:
                continue
            label = row.get(column)
            if label is None or not re.fullmatch(pattern, label, flags=re.IGNORECASE):
                raise PublisherFormatError(
                    PUBLISHER,
                    spec.id,
                    f"{column} is {label!r} for series {series.name}, expected /{pattern}/: "
                    "the code's meaning may have changed",
                )
        return series, is_interval
    codes = {column: row.get(column) for s in spec.series for column in s.match}
    raise PublisherFormatError(PUBLISHER, spec.id, f"a row matches no catalog series: {codes}")


# A page repeats a few dozen periods over thousands of rows.
_period_start = lru_cache(maxsize=1024)(period_start)


def _observation(spec: DatasetSpec, series: SeriesSpec, row: dict[str, str]) -> dict:
    status = row["OBS_STATUS"]
    if status not in STATUS_MARKERS:
        raise PublisherFormatError(
            PUBLISHER,
            spec.id,
            f"unknown OBS_STATUS {status!r} ({row.get('OBS_STATUS_NAME', '')!r}) "
            f"for {row['GEOGRAPHY_CODE']} in {row['DATE']}",
        )
    value = None
    if status not in MISSING_STATUSES:
        try:
            value = float(row["OBS_VALUE"])
        except ValueError:
            raise PublisherFormatError(
                PUBLISHER,
                spec.id,
                f"OBS_VALUE {row['OBS_VALUE']!r} is not a number for {row['GEOGRAPHY_CODE']} "
                f"in {row['DATE']}",
            ) from None
    try:
        start = _period_start(row["DATE"])
    except ValueError:
        raise PublisherFormatError(
            PUBLISHER, spec.id, f"DATE {row['DATE']!r} is not a period this parser knows"
        ) from None
    return {
        "dataset": spec.id,
        "series": series.name,
        "geography_code": row["GEOGRAPHY_CODE"],
        "geography_name": row["GEOGRAPHY_NAME"],
        "period": row["DATE"],
        "period_date": start,
        "value": value,
        "status": status,
        "lower": None,
        "upper": None,
        "unit": series.unit,
    }
