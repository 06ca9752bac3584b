"""ONS website datasets published as spreadsheets: a landing page, then its current workbook.

`GET {base}{landing}` (the dataset's page, e.g. `/employmentandlabourmarket/.../datasets/
realtimeinformationstatisticsreferencetableseasonallyadjusted`) is HTML linking the current edition as
`/file?uri={landing}/current/<name>.xlsx`. The file name changes with every release (`rtisafeb2026.xlsx`,
`rtisamar2026.xlsx`), so it is found on each run: the first link to a `/current/…xlsx` that is not a
sample or guide (the page also links an "accessible" example workbook). Both bodies are archived; the
workbook is the data page returned, its `release_date` the Index sheet's "Date of publication".

Layout `time_by_area` (PAYE Real Time Information, seasonally adjusted; real bytes checked: the
February 2026 workbook): sheets named `<n>. <title>`; row 1 the title (`7. Payrolled employees from
PAYE RTI`), row 4 `Units | <unit>`, **row 6 the areas' NUTS codes, row 7 `Date` then their names**,
data from row 8, one row per month labelled like `January 2026`, to the first row with an empty
label. The UK column has no code and the name `UK`. Each catalog series lists its sheets by number
(`match: {sheets: "7,11,15"}`) and the title and unit they must show (`labels: {title, units}`).

The NUTS codes are the old ones (UKG, not TLG) even in 2026. Only areas that are exactly an area of
the monitor are read (`NUTS_AREAS`), each checked against the name the workbook gives it: NUTS2
`UKG3` "West Midlands (county)" is the seven councils of the West Midlands Combined Authority and
NUTS3 `UKG31`…`UKG39` are each one of them. An area in several sheets (the UK) must agree.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pandas as pd
from python_calamine import CalamineWorkbook

from sources.archive import ArchivedPage, fetch_page
from sources.catalog import CatalogError, DatasetSpec, SeriesSpec
from sources.errors import PublisherFormatError
from sources.http import HttpConfig
from sources.observations import period_start, to_frame

PUBLISHER = "ons_datasets"
QUERY_KEYS = frozenset({"landing", "layout"})
LAYOUTS = frozenset({"time_by_area"})
WORKBOOK_LINK = re.compile(r"""href=["']([^"']*/current/[^"']*\.xlsx)["']""", re.IGNORECASE)
NOT_THE_DATA = re.compile(r"example|methodology|guide|accessible|template", re.IGNORECASE)
ZIP_MAGIC = b"PK\x03\x04"
PUBLISHED_ON = re.compile(r"Date of publication:\s*(\d{1,2} [A-Z][a-z]+ \d{4})")
# Rows of a `time_by_area` sheet, numbered as in Excel.
TITLE_ROW, UNITS_ROW, CODES_ROW, NAMES_ROW, FIRST_DATA_ROW = 1, 4, 6, 7, 8
MONTH_LABEL = re.compile(r"([A-Z][a-z]+) (\d{4})")
SHEET_NUMBER = re.compile(r"(\d+)\. ")
NORMAL_STATUS, MISSING_STATUS = "A", "missing"
# NUTS code as the workbook writes it -> (GSS code, the name the workbook must give it).
NUTS_AREAS: dict[str, tuple[str, str]] = {
    "": ("K02000001", "UK"),
    "UKC": ("E12000001", "North East"),
    "UKD": ("E12000002", "North West"),
    "UKE": ("E12000003", "Yorkshire and The Humber"),
    "UKF": ("E12000004", "East Midlands"),
    "UKG": ("E12000005", "West Midlands"),
    "UKH": ("E12000006", "East"),
    "UKI": ("E12000007", "London"),
    "UKJ": ("E12000008", "South East"),
    "UKK": ("E12000009", "South West"),
    "UKL": ("W92000004", "Wales"),
    "UKM": ("S92000003", "Scotland"),
    "UKN": ("N92000002", "Northern Ireland"),
    "UKD3": ("E47000001", "Greater Manchester"),
    "UKG3": ("E47000007", "West Midlands (county)"),
    "UKG31": ("E08000025", "Birmingham"),
    "UKG32": ("E08000029", "Solihull"),
    "UKG33": ("E08000026", "Coventry"),
    "UKG36": ("E08000027", "Dudley"),
    "UKG37": ("E08000028", "Sandwell"),
    "UKG38": ("E08000030", "Walsall"),
    "UKG39": ("E08000031", "Wolverhampton"),
}


def landing_url(base_url: str, spec: DatasetSpec) -> str:
    if set(spec.query) != QUERY_KEYS or spec.query["layout"] not in LAYOUTS:
        raise CatalogError(
            f"{spec.id}: {PUBLISHER} datasets need query {sorted(QUERY_KEYS)}, "
            f"layout one of {sorted(LAYOUTS)}"
        )
    return base_url.rstrip("/") + "/" + spec.query["landing"].strip("/")


def workbook_link(page: bytes, spec: DatasetSpec, url: str) -> str:
    """The current workbook's link on the landing page, as written there (relative or absolute)."""
    text = page.decode("utf-8", errors="replace")
    links = [link for link in WORKBOOK_LINK.findall(text) if not NOT_THE_DATA.search(link)]
    if not links:
        raise PublisherFormatError(
            PUBLISHER,
            spec.id,
            f"the landing page {url} links no current .xlsx workbook (no href to /current/….xlsx): "
            "the page may have moved or changed its layout",
        )
    return links[0]


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
    """Fetch the landing page, then the workbook it links; returns both, the workbook first.

    `geography_codes` is unused: a workbook covers every area and cannot be asked for fewer."""
    url = landing_url(base_url, spec)
    landing = _get(client, config, url, spec, raw_dir, previous, page=0, ext="html")
    link = httpx.URL(url).join(workbook_link(landing.path.read_bytes(), spec, url))
    # The file is named in the query (`/file?uri=…`): sent as parameters, which httpx would otherwise
    # replace with the empty ones of a plain page.
    workbook_url = str(link.copy_with(query=None))
    data = _get(
        client, config, workbook_url, spec, raw_dir, previous, page=1, ext="xlsx", params=dict(link.params)
    )
    body = data.path.read_bytes()
    if not body.startswith(ZIP_MAGIC):
        raise PublisherFormatError(PUBLISHER, spec.id, f"{link} is not an xlsx workbook")
    return [ArchivedPage(data.path, {**data.record, "release_date": _published_on(data.path, spec)}), landing]


def _get(
    client: httpx.Client,
    config: HttpConfig,
    url: str,
    spec: DatasetSpec,
    raw_dir: Path,
    previous: Callable[[str], ArchivedPage | None],
    *,
    page: int,
    ext: str,
    params: dict[str, str] | None = None,
) -> ArchivedPage:
    return fetch_page(
        client,
        config,
        url,
        params or {},
        raw_dir=raw_dir,
        publisher=PUBLISHER,
        dataset=spec.id,
        page=page,
        ext=ext,
        previous=previous,
    )


def _published_on(path: Path, spec: DatasetSpec) -> str | None:
    """The Index sheet's "Date of publication: 17 February 2026" as an ISO date, else None."""
    workbook = _open(path, spec)
    if "Index" not in workbook.sheet_names:
        return None
    for row in workbook.get_sheet_by_name("Index").to_python(skip_empty_area=False, nrows=10):
        if row and (m := PUBLISHED_ON.search(str(row[0]))):
            return dt.datetime.strptime(m[1], "%d %B %Y").date().isoformat()
    return None


def _open(path: Path, spec: DatasetSpec) -> CalamineWorkbook:
    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises its own error types for a corrupt workbook
        raise PublisherFormatError(PUBLISHER, spec.id, f"the workbook cannot be read: {error}") from None


def parse(spec: DatasetSpec, paths: list[Path]) -> pd.DataFrame:
    """Tidy observations of every catalog series, for the areas of `NUTS_AREAS`, every month."""
    workbooks = [path for path in paths if path.suffix == ".xlsx"]  # the landing page is provenance
    if len(workbooks) != 1:
        raise PublisherFormatError(PUBLISHER, spec.id, f"expected one workbook, got {len(workbooks)}")
    workbook = _open(workbooks[0], spec)
    by_number = {m[1]: name for name in workbook.sheet_names if (m := SHEET_NUMBER.match(name))}
    records: dict[tuple[str, str, str], dict] = {}
    for series in spec.series:
        sheets = series.match.get("sheets", "").split(",")
        found: set[str] = set()
        for number in sheets:
            if number not in by_number:
                raise PublisherFormatError(
                    PUBLISHER,
                    spec.id,
                    f"no sheet numbered {number!r} for series {series.name}; the sheets are "
                    f"{workbook.sheet_names}",
                )
            name = by_number[number]
            # Rows as Excel numbers them: calamine would otherwise start at the first row in use.
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            for record in _sheet_records(spec, series, name, rows):
                found.add(record["geography_code"])
                key = (record["series"], record["geography_code"], record["period"])
                held = records.setdefault(key, record)
                if held["value"] != record["value"]:
                    raise PublisherFormatError(
                        PUBLISHER,
                        spec.id,
                        f"{record['geography_name']} in {record['period']} is {held['value']} in one sheet "
                        f"and {record['value']} in sheet {name!r}",
                    )
        missing = [f"{nuts or 'UK'} ({name})" for nuts, (gss, name) in NUTS_AREAS.items() if gss not in found]
        if missing:
            raise PublisherFormatError(
                PUBLISHER,
                spec.id,
                f"{', '.join(missing)} in none of sheets {', '.join(sheets)} for series {series.name}: "
                "the layout has moved",
            )
    return to_frame(list(records.values()))


def _sheet_records(spec: DatasetSpec, series: SeriesSpec, sheet: str, rows: list[list]) -> list[dict]:
    def fail(row: int, problem: str) -> PublisherFormatError:
        return PublisherFormatError(PUBLISHER, spec.id, f"sheet {sheet!r} row {row}: {problem}")

    def cell(row: int, column: int) -> str:
        line = rows[row - 1] if len(rows) >= row else []
        return str(line[column]).strip() if len(line) > column else ""

    for label, row, column in (("title", TITLE_ROW, 0), ("units", UNITS_ROW, 1)):
        pattern = series.labels.get(label)
        text = SHEET_NUMBER.sub("", cell(row, column), count=1)
        if pattern is not None and not re.fullmatch(pattern, text, flags=re.IGNORECASE):
            raise fail(row, f"the {label} is {text!r}, expected /{pattern}/ for series {series.name}")
    if cell(NAMES_ROW, 0) != "Date" or cell(CODES_ROW, 0) != "":
        raise fail(
            NAMES_ROW,
            f"expected the area codes on row {CODES_ROW} and 'Date' then the area names on row "
            f"{NAMES_ROW}, found {cell(CODES_ROW, 0)!r} and {cell(NAMES_ROW, 0)!r} in column A: the "
            "layout has moved",
        )
    columns = []
    for column in range(1, len(rows[CODES_ROW - 1])):
        code, name = cell(CODES_ROW, column), cell(NAMES_ROW, column)
        if code not in NUTS_AREAS or not name:
            continue
        gss, expected = NUTS_AREAS[code]
        if name != expected:
            raise fail(
                NAMES_ROW, f"{code or 'the column without a code'} is named {name!r}, expected {expected!r}"
            )
        columns.append((column, gss, name))
    if not any(gss == "K02000001" for _, gss, _ in columns):
        raise fail(CODES_ROW, "no UK column (no code, named 'UK'): the layout has moved")
    records, months = [], set()
    for row in range(FIRST_DATA_ROW, len(rows) + 1):
        label = cell(row, 0)
        if not label:
            break
        if label in months:
            raise fail(row, f"{label!r} appears twice")
        months.add(label)
        if not (m := MONTH_LABEL.fullmatch(label)):
            raise fail(row, f"{label!r} is not a month like 'January 2026'")
        try:
            period = dt.datetime.strptime(f"{m[1]} {m[2]}", "%B %Y").strftime("%Y-%m")
        except ValueError:
            raise fail(row, f"{label!r} is not a month like 'January 2026'") from None
        for column, gss, name in columns:
            raw = rows[row - 1][column] if len(rows[row - 1]) > column else ""
            if raw == "" or raw is None:
                value = None
            elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
                value = float(raw)
            else:
                raise fail(row, f"{name} has {raw!r}, not a number")
            records.append(
                {
                    "dataset": spec.id,
                    "series": series.name,
                    "geography_code": gss,
                    "geography_name": name,
                    "period": period,
                    "period_date": period_start(period),
                    "value": value,
                    "status": NORMAL_STATUS if value is not None else MISSING_STATUS,
                    "lower": None,
                    "upper": None,
                    "unit": series.unit,
                }
            )
    if not records:
        raise fail(FIRST_DATA_ROW, "no months: the first data row is empty")
    return records
