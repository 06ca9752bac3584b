"""ONS Explore Local Statistics (ELS): the data behind the service, one folder per indicator file.

ONS publishes it as the public repository `ONSdigital/explore-local-statistics-data` (OGL v3); a
program reads the raw files of its `main` branch: `GET {base}/{slug}/{slug}.csv` (tidy rows) and
`GET {base}/{slug}/{slug}.json` (metadata), each conditionally and archived unchanged. One catalog
dataset is one file (`source_id` is its slug); one file may hold several indicators (male and female
healthy life expectancy), each a catalog series matched by its `indicator` column.

Real bytes checked (`../shared/reference/real-samples/els/`, 34 files of upstream commit 4972c588):
- the CSV columns are `EXPECTED_COLUMNS`, not always in that order (`personal-wellbeing-estimates.csv`
  puts `measure` before `observation`); some files start with a UTF-8 byte-order mark;
  names with commas are quoted; rows for every geography level (councils, combined authorities,
  regions, countries, the UK) are mixed, each with its GSS code;
- `period` is ISO 8601: a year interval `2023-01-01/P1Y`, an April-to-March year `2024-04-01/P1Y`, a
  pool of three years `2022-01-01/P3Y` (2022 to 2024: start, then duration), a month
  `2025-12-01/P1M`, or a bare date `2026-01-01` (a coverage snapshot, the ASHE reference date);
- `lci_95`/`uci_95` are empty where no interval is published; `status` is `c` for a suppressed
  value (exports, FDI), otherwise mostly empty; an area may appear at two geography levels with
  the same code and figure (a combined authority that is also an ITL2 area).

Each series declares the period shape it must have (`match.period`): `MM/PnY` (intervals of n years
starting in month MM, stored as the starting year `YYYY`: the registry's `year_starts` and `years`
say how to label it), `P1M` (stored `YYYY-MM`) or `date` (a reference date, stored as its month
`YYYY-MM`). A row of another shape fails loudly, naming the file, the line and the period: a silent
change of meaning would otherwise move a figure into the wrong year.

The metadata file (`_note` "This file was last modified on 18/06/2026 at 17:05", then
`ess-beta-metadata`: label, subtitle, decimal places, source organisation, URL and date, caveats,
experimental status; in a file of several indicators, `shared` and one entry per indicator that
overrides it) is read by `metadata`; its source date is
the vintage's release date and its modification time, as written, the vintage's version.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pandas as pd

from sources.archive import ArchivedPage, fetch_page
from sources.catalog import DatasetSpec, SeriesSpec
from sources.errors import PublisherFormatError
from sources.http import HttpConfig
from sources.observations import period_start, to_frame

PUBLISHER = "els"
EXPECTED_COLUMNS = (
    "areacd",
    "areanm",
    "geography",
    "indicator",
    "period",
    "observation",
    "measure",
    "unit",
    "lci_95",
    "uci_95",
    "status",
    "notes",
)
METADATA_KEY = "ess-beta-metadata"
SHARED_KEY = "shared"
MODIFIED_NOTE = re.compile(r"last modified on (\d{2})/(\d{2})/(\d{4}) at (\d{2}):(\d{2})")
GSS_CODE = re.compile(r"[EWSNK]\d{8}")
YEARS_SHAPE = re.compile(r"(\d{2})/P(\d)Y")  # the catalog's `match.period` for year intervals
ISO_YEARS = re.compile(r"(\d{4})-(\d{2})-(\d{2})/P(\d)Y")
ISO_MONTH = re.compile(r"(\d{4})-(\d{2})-01/P1M")
ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
SUPPRESSED = "c"
NORMAL_STATUS, MISSING_STATUS = "A", "missing"


def file_url(base_url: str, spec: DatasetSpec, ext: str) -> str:
    slug = spec.source_id
    return f"{base_url.rstrip('/')}/{slug}/{slug}.{ext}"


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
    """Fetch the indicator file and its metadata; returns both, the data first, its record carrying
    the source date (`release_date`), the metadata's modification time (`version`) and what it says
    of each series (`series_metadata`, as `metadata` reads it).

    `geography_codes` is unused: a file covers every area and cannot be asked for fewer."""
    pages = [
        fetch_page(
            client,
            config,
            file_url(base_url, spec, ext),
            {},
            raw_dir=raw_dir,
            publisher=PUBLISHER,
            dataset=spec.id,
            page=page,
            ext=ext,
            previous=previous,
        )
        for page, ext in enumerate(("csv", "json"))
    ]
    described = metadata(spec, [page.path for page in pages])
    data, notes = pages
    stated = {
        "release_date": described["source_date"],
        "version": described["modified"],
        "series_metadata": described["series"],  # read once here, stored at load
    }
    return [ArchivedPage(data.path, {**data.record, **stated}), notes]


def _one(spec: DatasetSpec, paths: list[Path], suffix: str) -> Path:
    found = [path for path in paths if path.suffix == suffix]
    if len(found) != 1:
        raise PublisherFormatError(PUBLISHER, spec.id, f"expected one {suffix} file, got {len(found)}")
    return found[0]


def metadata(spec: DatasetSpec, paths: list[Path]) -> dict:
    """The file's metadata: `modified` (its `_note`'s time, as written), `source_date` (ISO date or
    None), and `series`: each catalog series's label, subtitle, decimal places, source organisation
    and URL, caveats and experimental status (an indicator's own entry overriding the shared one)."""
    path = _one(spec, paths, ".json")
    name = f"{spec.source_id}.json"
    try:
        raw = json.loads(path.read_bytes().decode("utf-8-sig"))
        described = raw[METADATA_KEY]
        if not isinstance(described, dict):
            raise TypeError(f"{METADATA_KEY} is not an object")
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise PublisherFormatError(
            PUBLISHER, spec.id, f"{name} is not ELS metadata (no {METADATA_KEY} object): {error}"
        ) from None
    note = MODIFIED_NOTE.search(str(raw.get("_note", "")))
    # Kept as written, not parsed: the note is informational and real files carry typos in it
    # ("last modified on 81/12/2025").
    modified = f"{note[1]}/{note[2]}/{note[3]} {note[4]}:{note[5]}" if note else None
    series = {}
    for entry in spec.series:
        indicator = entry.match["indicator"]
        if SHARED_KEY not in described:  # a file of one indicator: its metadata, flat
            own, shared = {}, described
        else:
            own, shared = described.get(indicator), described[SHARED_KEY]
        if not isinstance(own, dict) or not isinstance(shared, dict):
            known = [key for key in described if key != SHARED_KEY]
            raise PublisherFormatError(
                PUBLISHER, spec.id, f"{name} describes no indicator {indicator!r}; it describes {known}"
            )
        merged = {**shared, **{key: value for key, value in own.items() if value is not None}}
        series[entry.name] = {
            "indicator": indicator,
            "label": merged.get("label"),
            "subtitle": merged.get("subtitle"),
            "decimal_places": merged.get("decimalPlaces"),
            "source_org": merged.get("sourceOrg"),
            "source_url": merged.get("sourceURL"),
            "source_date": _day(merged.get("sourceDate"), spec, name),
            "caveats": merged.get("caveats"),
            "experimental": merged.get("experimentalStatistic") == "T",
        }
    dates = sorted(filter(None, (entry["source_date"] for entry in series.values())))
    return {
        "modified": modified,
        "source_date": dates[-1] if dates else None,
        "series": series,
    }


def _day(text: object, spec: DatasetSpec, name: str) -> str | None:
    """`19/02/2026` as an ISO date, the latest of several (`05/02/2026|28/11/2025`, a file drawn
    from two releases); None when the file gives none."""
    if text in (None, ""):
        return None
    try:
        return max(
            dt.datetime.strptime(part.strip(), "%d/%m/%Y").date() for part in str(text).split("|")
        ).isoformat()
    except ValueError:
        raise PublisherFormatError(
            PUBLISHER, spec.id, f"{name}: sourceDate {text!r} is not a date like 19/02/2026"
        ) from None


def parse(spec: DatasetSpec, paths: list[Path]) -> pd.DataFrame:
    """Tidy observations of every catalog series, every area with a GSS code, every period."""
    path = _one(spec, paths, ".csv")
    name = f"{spec.source_id}.csv"
    try:
        text = path.read_bytes().decode("utf-8-sig")  # some files start with a byte-order mark
    except UnicodeDecodeError as error:
        raise PublisherFormatError(PUBLISHER, spec.id, f"{name} is not UTF-8 text: {error}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = tuple(next(reader, ()))
    if sorted(header) != sorted(EXPECTED_COLUMNS):
        added = [c for c in header if c not in EXPECTED_COLUMNS]
        lost = [c for c in EXPECTED_COLUMNS if c not in header]
        raise PublisherFormatError(
            PUBLISHER,
            spec.id,
            f"{name} has columns {list(header)}; expected {list(EXPECTED_COLUMNS)} in any order "
            f"(new: {added or 'none'}, missing: {lost or 'none'}, else one twice)",
        )
    by_indicator = {series.match["indicator"]: series for series in spec.series}
    records: dict[tuple[str, str, str], dict] = {}
    seen, listed = set(), set()
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise PublisherFormatError(
                PUBLISHER, spec.id, f"{name} line {line} has {len(row)} fields, not {len(header)}"
            )
        cells = dict(zip(header, row, strict=True))
        series = by_indicator.get(cells["indicator"])
        if series is None or not GSS_CODE.fullmatch(cells["areacd"]):
            continue  # another indicator of the file, or an area without a GSS code
        seen.add(series.name)
        record = _observation(spec, series, cells, name, line)
        key = (series.name, record["geography_code"], record["period"])
        if (*key, cells["geography"]) in listed:
            raise PublisherFormatError(
                PUBLISHER,
                spec.id,
                f"{name} line {line}: duplicated rows, e.g. {series.name} for {cells['areacd']} "
                f"({cells['geography']}) in {cells['period']}",
            )
        listed.add((*key, cells["geography"]))
        # An area may be listed at two geography levels (Greater Manchester as a combined authority
        # and as an ITL2 area): the same figure twice is one observation; two figures are an error.
        held = records.setdefault(key, record)
        if (held["value"], held["lower"], held["upper"]) != (
            record["value"],
            record["lower"],
            record["upper"],
        ):
            raise PublisherFormatError(
                PUBLISHER,
                spec.id,
                f"{name} line {line}: {cells['areanm']} ({cells['areacd']}, {cells['geography']}) has "
                f"{record['value']} in {cells['period']}, another row {held['value']}",
            )
    missing = [s.match["indicator"] for s in spec.series if s.name not in seen]
    if missing:
        raise PublisherFormatError(
            PUBLISHER, spec.id, f"{name} has no rows for indicator {', '.join(map(repr, missing))}"
        )
    return to_frame(list(records.values()))


def _observation(spec: DatasetSpec, series: SeriesSpec, cells: dict, name: str, line: int) -> dict:
    def fail(problem: str) -> PublisherFormatError:
        return PublisherFormatError(PUBLISHER, spec.id, f"{name} line {line} ({cells['areanm']}): {problem}")

    for column in ("measure", "unit"):
        pattern = series.labels.get(column)
        if pattern is not None and not re.fullmatch(pattern, cells[column], flags=re.IGNORECASE):
            raise fail(f"the {column} is {cells[column]!r}, expected /{pattern}/ for series {series.name}")
    period = warehouse_period(series.match["period"], cells["period"])
    if period is None:
        raise fail(f"the period {cells['period']!r} is not of the shape {series.match['period']!r}")
    value, lower, upper = (_number(cells[c], c, fail) for c in ("observation", "lci_95", "uci_95"))
    if cells["status"] not in ("", SUPPRESSED) and value is None:
        raise fail(f"status {cells['status']!r} with no value")
    return {
        "dataset": spec.id,
        "series": series.name,
        "geography_code": cells["areacd"],
        "geography_name": cells["areanm"],
        "period": period,
        "period_date": period_start(period),
        "value": value,
        "status": NORMAL_STATUS if value is not None else MISSING_STATUS,
        "lower": lower,
        "upper": upper,
        "unit": series.unit,
    }


def _number(text: str, column: str, fail: Callable[[str], PublisherFormatError]) -> float | None:
    if text in ("", SUPPRESSED):
        return None
    try:
        return float(text)
    except ValueError:
        raise fail(f"{column} is {text!r}, not a number") from None


def warehouse_period(shape: str, iso: str) -> str | None:
    """An ELS period as the warehouse writes periods, if it has the declared shape, else None:
    `MM/PnY` → the starting year `YYYY`; `P1M` → `YYYY-MM`; `date` → the date's month `YYYY-MM`."""
    if years := YEARS_SHAPE.fullmatch(shape):
        m = ISO_YEARS.fullmatch(iso)
        return m[1] if m and m[2] == years[1] and m[4] == years[2] else None
    if shape == "P1M":
        m = ISO_MONTH.fullmatch(iso)
        return f"{m[1]}-{m[2]}" if m else None
    if shape == "date":
        m = ISO_DATE.fullmatch(iso)
        return f"{m[1]}-{m[2]}" if m else None
    raise ValueError(f"unknown ELS period shape {shape!r}: expected MM/PnY, P1M or date")
