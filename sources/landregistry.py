"""HM Land Registry UK House Price Index: the monthly full file, `UK-HPI-full-file-YYYY-MM.csv`.

The file for month M holds every area and month since 1968 (about 40 MB), republished in full each
month because recent months are revised. The newest file is found by probing back month by month
from the current month: a 404 means "not published yet", any other error fails. The file month is
the `version`; HMLR gives no release date in the file, so the `Last-Modified` date of the download
stands in as `release_date`.

`match` in a catalog series names the CSV column that holds its value, e.g. `{column: AveragePrice}`,
`{column: 12m%Change}` or `{column: SalesVolume}`. One row of the file gives one observation per series.

The file is read with DuckDB's CSV reader, typed explicitly, never loaded whole into pandas. Only
months from `FIRST_MONTH` onward and only areas with the GSS codes of local authorities, regions,
countries and the UK are kept (the file also has counties and older codes). An empty cell (sales
volumes lag about two months) is a missing value, never 0.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import io
from collections.abc import Callable
from pathlib import Path

import duckdb
import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sources.archive import ArchivedPage, fetch_page
from sources.catalog import DatasetSpec
from sources.errors import PublisherFormatError, PublisherHTTPError
from sources.http import HttpConfig
from sources.observations import refuse_duplicates

PUBLISHER = "landregistry"
FILE_PATH = "/market-trend-data/house-price-index-data/UK-HPI-full-file-{month}.csv"
MAX_PROBES = 12
FIRST_MONTH = "2015-01"  # recent history only: keeps each load a few hundred areas by ~10 years

# The documented header (HMLR "About the UK HPI", data tables). Every column must be there, in any
# order, so that a renamed column anywhere is looked at before its neighbours are trusted.
HEADLINE_COLUMNS = (
    "Date",
    "RegionName",
    "AreaCode",
    "AveragePrice",
    "Index",
    "IndexSA",
    "1m%Change",
    "12m%Change",
    "AveragePriceSA",
    "SalesVolume",
)
_PRICE_GROUP = ("Price", "Index", "1m%Change", "12m%Change")
DOCUMENTED_COLUMNS = (
    *HEADLINE_COLUMNS,
    *(
        f"{kind}{suffix}"
        for kind in ("Detached", "SemiDetached", "Terraced", "Flat")
        for suffix in _PRICE_GROUP
    ),
    *(f"Cash{suffix}" for suffix in (*_PRICE_GROUP, "SalesVolume")),
    *(f"Mortgage{suffix}" for suffix in (*_PRICE_GROUP, "SalesVolume")),
    *(f"{kind}{suffix}" for kind in ("FTB", "FOO") for suffix in _PRICE_GROUP),
    *(f"New{suffix}" for suffix in (*_PRICE_GROUP, "SalesVolume")),
    *(f"Old{suffix}" for suffix in (*_PRICE_GROUP, "SalesVolume")),
)
TEXT_COLUMNS = frozenset({"Date", "RegionName", "AreaCode"})
# Local authorities (E06 unitary, E07 district, E08 metropolitan, E09 London borough, W06, S12, N09),
# English regions (E12), the four countries (E92, W92, S92, N92) and the UK (K02).
# Councils, combined authorities (E47: the UKHPI publishes them, UNVERIFIED for the full file),
# regions, nations and the UK; counties and other groupings are dropped.
AREA_CODE_PATTERN = r"(E0[6-9]|W06|S12|N09|E47|E12|E92|W92|S92|N92|K02)\d{6}"
STATUS_OK = "ok"
STATUS_MISSING = "missing"
# The Arrow types of the query's result as their dtypes in sources.observations.OBSERVATION_DTYPES:
# VARCHAR "string", DOUBLE "Float64" (NULL as <NA>). period_date leaves DuckDB as TIMESTAMP_S, which
# pandas reads as datetime64[s] unmapped. So the frame is made in its final dtypes, converted once.
_PANDAS_TYPES = {pa.string(): pd.StringDtype(), pa.float64(): pd.Float64Dtype()}


def file_url(base_url: str, month: dt.date) -> str:
    return base_url.rstrip("/") + FILE_PATH.format(month=f"{month:%Y-%m}")


def _months_back(today: dt.date, count: int) -> list[dt.date]:
    index = today.year * 12 + today.month - 1
    return [dt.date((index - back) // 12, (index - back) % 12 + 1, 1) for back in range(count)]


def fetch(
    client: httpx.Client,
    config: HttpConfig,
    *,
    base_url: str,
    spec: DatasetSpec,
    geography_codes: list[str],
    raw_dir: Path,
    previous: Callable[[str], ArchivedPage | None],
    today: dt.date | None = None,
) -> list[ArchivedPage]:
    """Fetch the newest full file into the raw archive (one page); `geography_codes` is unused.

    The whole file is fetched whatever the areas, because HMLR publishes no per-area download of it.
    """
    for month in _months_back(today or dt.date.today(), MAX_PROBES):
        url = file_url(base_url, month)
        try:
            archived = fetch_page(
                client,
                config,
                url,
                {},
                raw_dir=raw_dir,
                publisher=PUBLISHER,
                dataset=spec.id,
                page=0,
                ext="csv",
                previous=previous,
            )
        except PublisherHTTPError as error:
            if error.status == 404:
                continue
            raise
        read_header(archived.path, spec.id)
        release = _date_of(archived.record.get("last_modified"))
        return [
            ArchivedPage(
                archived.path, {**archived.record, "version": f"{month:%Y-%m}", "release_date": release}
            )
        ]
    raise PublisherHTTPError(
        PUBLISHER,
        spec.id,
        f"no UK HPI full file in the last {MAX_PROBES} months: every month from "
        f"{_months_back(today or dt.date.today(), MAX_PROBES)[-1]:%Y-%m} answered 404",
        404,
    )


def _date_of(http_date: str | None) -> str | None:
    if not http_date:
        return None
    try:
        return email.utils.parsedate_to_datetime(http_date).date().isoformat()
    except (TypeError, ValueError):
        return None


def read_header(path: Path, dataset: str) -> list[str]:
    """The CSV header, after checking the body is the documented CSV with at least one row."""
    with open(path, "rb") as handle:
        head = handle.read(64 * 1024)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        # the 64 KiB cut may fall inside a multi-byte character; the header line is ASCII
        text = head.decode("utf-8-sig", errors="ignore")
    if text.lstrip()[:1] == "<":
        raise PublisherFormatError(PUBLISHER, dataset, "the response is an HTML page, not the full-file CSV")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise PublisherFormatError(PUBLISHER, dataset, "the response body is empty")
    header = next(csv.reader(io.StringIO(lines[0])))
    missing = [column for column in DOCUMENTED_COLUMNS if column not in header]
    if missing:
        unexpected = [column for column in header if column not in DOCUMENTED_COLUMNS]
        extra = f"; columns not in the documentation: {', '.join(unexpected)}" if unexpected else ""
        raise PublisherFormatError(
            PUBLISHER, dataset, f"the full file lacks the column(s) {', '.join(missing)}{extra}"
        )
    if len(set(header)) != len(header):
        raise PublisherFormatError(PUBLISHER, dataset, "the full file repeats a column name")
    if len(lines) < 2 or not any(line.strip() for line in lines[1:]):
        raise PublisherFormatError(PUBLISHER, dataset, "the full file has a header but no rows")
    return header


def parse(spec: DatasetSpec, paths: list[Path]) -> pd.DataFrame:
    """Tidy observations for the catalog's columns, from `FIRST_MONTH`, for GSS local/regional areas."""
    if len(paths) != 1:
        raise PublisherFormatError(PUBLISHER, spec.id, f"expected one full file, got {len(paths)}")
    path = paths[0]
    header = read_header(path, spec.id)
    value_columns = [_value_column(spec, series.name, series.match) for series in spec.series]
    if not value_columns:
        raise PublisherFormatError(PUBLISHER, spec.id, "the catalog names no series to read")
    columns = {
        name: "VARCHAR" if name in TEXT_COLUMNS or name not in value_columns else "DOUBLE" for name in header
    }
    selected = ", ".join(_identifier(column) for column in dict.fromkeys(value_columns))
    types = ", ".join(f"{_literal(name)}: {_literal(kind)}" for name, kind in columns.items())
    # DuckDB reads, filters and types the file, one row per area and month; the long frame is made
    # from those few rows in Arrow (see _observations). read_csv takes its options as constants, not
    # prepared parameters, hence the quoted literals.
    query = f"""
        WITH source AS (
            SELECT strptime("Date", '%d/%m/%Y')::DATE AS day, "AreaCode", "RegionName", {selected}
            FROM read_csv({_literal(str(path))}, header = true, auto_detect = false, delim = ',',
                          quote = '"', columns = {{{types}}})
            WHERE regexp_full_match("AreaCode", $pattern)
        ),
        in_range AS (
            SELECT date_trunc('month', day)::DATE AS period_date, * EXCLUDE (day) FROM source
            WHERE day >= $first::DATE
        )
        SELECT "AreaCode" AS geography_code, "RegionName" AS geography_name,
               strftime(period_date, '%Y-%m') AS period, period_date::TIMESTAMP_S AS period_date,
               {selected}
        FROM in_range
    """
    parameters = {"pattern": AREA_CODE_PATTERN, "first": f"{FIRST_MONTH}-01"}
    try:
        with duckdb.connect() as con:
            # Fetched as Arrow, not with .df(): .df() makes one Python object per string cell.
            wide = con.sql(query, params=parameters).to_arrow_table()
    except duckdb.Error as error:
        raise PublisherFormatError(
            PUBLISHER, spec.id, f"the full file cannot be read as the documented CSV: {error}"
        ) from None
    if wide.num_rows == 0:
        raise PublisherFormatError(
            PUBLISHER, spec.id, f"the full file has no rows for GSS areas from {FIRST_MONTH} onward"
        )
    for column in dict.fromkeys(value_columns):
        if pc.any(pc.invert(pc.is_finite(wide[column]))).as_py():
            # DuckDB reads "nan" and "inf" as numbers; the file documents a blank as its only missing value.
            raise PublisherFormatError(
                PUBLISHER, spec.id, "a value column holds NaN or infinity, not a number"
            )
    return _observations(spec, wide, value_columns)


def _observations(spec: DatasetSpec, wide: pa.Table, value_columns: list[str]) -> pd.DataFrame:
    """The tidy frame of `wide` (one row per area and month): one row per series of each, ordered by
    area, month and the series' place in the catalog, refusing an observation given twice.

    Made here rather than in SQL: DuckDB's UNPIVOT, join and ORDER BY of every observation cost more
    than sorting the wide rows (a third as many with three series) and repeating them in Arrow.
    """
    names = [series.name for series in spec.series]
    wide = wide.take(pc.sort_indices(wide, [("geography_code", "ascending"), ("period_date", "ascending")]))
    rows, width = wide.num_rows, len(value_columns)
    # Observation i*width + j is series j of wide row i: wide rows repeated, series cycled, and the
    # value columns laid end to end so that series j of row i sits at j*rows + i.
    row_of = np.repeat(np.arange(rows), width)
    position = np.tile(np.arange(width), rows)
    stacked = pa.concat_arrays([chunk for column in value_columns for chunk in wide[column].chunks])
    value = stacked.take(pa.array(position * rows + row_of))
    size = rows * width
    long = pa.table(
        {
            "dataset": pa.repeat(spec.id, size),
            "series": pa.array(names, pa.string()).take(position),
            "geography_code": wide["geography_code"].take(row_of),
            "geography_name": wide["geography_name"].take(row_of),
            "period": wide["period"].take(row_of),
            "period_date": wide["period_date"].take(row_of),
            "value": value,
            "status": pc.if_else(pc.is_valid(value), STATUS_OK, STATUS_MISSING),
            "lower": pa.nulls(size, pa.float64()),
            "upper": pa.nulls(size, pa.float64()),
            "unit": pa.array([series.unit for series in spec.series], pa.string()).take(position),
        }
    )
    if len(set(names)) == len(names) and not _repeats_a_month(wide):
        return long.to_pandas(types_mapper=_PANDAS_TYPES.get)
    # Some observation is there twice. Rows of a repeated month are in wide-row-then-series order here;
    # sorted by area, month and series position, as the frame is when nothing repeats, so that the
    # example named is the first repeat in that order.
    keys = long.append_column("position", pa.array(position))
    ordered = long.take(
        pc.sort_indices(
            keys,
            [("geography_code", "ascending"), ("period_date", "ascending"), ("position", "ascending")],
        )
    )
    return refuse_duplicates(ordered.to_pandas(types_mapper=_PANDAS_TYPES.get), PUBLISHER, spec.id)


def _repeats_a_month(wide: pa.Table) -> bool:
    """Whether two rows of `wide`, sorted by area and month, are for the same area and month."""
    if wide.num_rows < 2:
        return False
    code, month = wide["geography_code"], wide["period_date"]
    same = pc.and_(
        pc.equal(code.slice(1), code.slice(0, len(code) - 1)),
        pc.equal(month.slice(1), month.slice(0, len(month) - 1)),
    )
    return pc.any(same).as_py()


def _value_column(spec: DatasetSpec, series: str, match: dict[str, str]) -> str:
    column = match.get("column")
    if set(match) != {"column"} or column not in DOCUMENTED_COLUMNS or column in TEXT_COLUMNS:
        raise PublisherFormatError(
            PUBLISHER,
            spec.id,
            f"series {series}: match must be {{column: <a numeric full-file column>}}, got {match}",
        )
    return column


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
