"""ONS website datasets published as spreadsheets: a landing page, then its current workbook.

`GET {base}{landing}` (the dataset's page, e.g. `/employmentandlabourmarket/.../datasets/
realtimeinformationstatisticsreferencetableseasonallyadjusted`) is HTML linking the current edition as
`/file?uri={landing}/current/<name>.xlsx`. The file name changes with every release (`rtisafeb2026.xlsx`,
`rtisamar2026.xlsx`), so it is found on each run: the first link to a `/current/…xlsx` that is not a
sample or guide (the page also links an "accessible" example workbook), or, for a dataset whose
editions sit in dated folders, the first matching the catalog's `query.link`. Both bodies are
archived; the workbook is the data page returned, its `release_date` the date of publication its
Index or Contents sheet states.

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

Layout `quarters_by_area` (Business demography, quarterly, low-level geographic breakdown; real bytes
checked: the Q2 2023 edition): sheets `Births <years>` and `Deaths <years>`, split by years that vary
between editions, so chosen by prefix (`match: {sheet_prefix: Births}`); row 1 the title, **row 4
`Geography` then quarters like `Q1 2022`**, then one row per area written `E08000025 : Birmingham`
(`UK : United Kingdom` for the UK), to the first empty row; `c` is a suppressed count. The
`Unspecified` row (births and deaths at mass-registration addresses, counted in the UK only) and
the GB and England-and-Wales rows are no area of the monitor; every other code must be a GSS code.
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
OPTIONAL_QUERY_KEYS = frozenset({"link"})
LAYOUTS = frozenset({"time_by_area", "quarters_by_area"})
# The data workbook's link on the landing page: by default the current edition's (`/current/…xlsx`);
# a dataset whose editions sit in dated folders names its file instead (`query.link`, a regex).
CURRENT_WORKBOOK = r"/current/[^\"']*\.xlsx"
NOT_THE_DATA = re.compile(r"example|methodology|guide|accessible|template", re.IGNORECASE)
ZIP_MAGIC = b"PK\x03\x04"
PUBLISHED_ON = re.compile(
    r"Date (?:of publication|published):\s*(\d{1,2})(?:st|nd|rd|th)? ([A-Z][a-z]+ \d{4})"
)
TITLE_ROW = 1  # rows numbered as in Excel
# `time_by_area` (PAYE RTI): the unit, the NUTS codes, `Date` and the area names, then the months.
UNITS_ROW, CODES_ROW, NAMES_ROW, FIRST_DATA_ROW = 4, 6, 7, 8
MONTH_LABEL = re.compile(r"([A-Z][a-z]+) (\d{4})")
SHEET_NUMBER = re.compile(r"(\d+)\. ")
# `quarters_by_area` (business demography, low-level geographic breakdown): `Geography` and the
# quarters on row 4, then one row per area written `E08000025 : Birmingham`; suppressed cells `c`.
QUARTERS_ROW, FIRST_AREA_ROW = 4, 5
QUARTER_LABEL = re.compile(r"Q([1-4]) (\d{4})")
AREA_LABEL = re.compile(r"(\S+) : (.+)")
GSS_CODE = re.compile(r"[EWSNK]\d{8}")
UK_LABEL = "UK"
# Rows that are no area of the monitor: Great Britain and England and Wales (no GSS code here), and
# the births and deaths at mass-registration addresses that ONS takes out of every area (in the UK
# total only).
NOT_AN_AREA = frozenset({"GB", "EW", "U99999999"})
SUPPRESSED = "c"
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
    keys = set(spec.query)
    if not QUERY_KEYS <= keys <= QUERY_KEYS | OPTIONAL_QUERY_KEYS or spec.query["layout"] not in LAYOUTS:
        raise CatalogError(
            f"{spec.id}: {PUBLISHER} datasets need query {sorted(QUERY_KEYS)} (and may have "
            f"{sorted(OPTIONAL_QUERY_KEYS)}), "
            f"layout one of {sorted(LAYOUTS)}"
        )
    return base_url.rstrip("/") + "/" + spec.query["landing"].strip("/")


def workbook_link(page: bytes, spec: DatasetSpec, url: str) -> str:
    """The data workbook's link on the landing page (the first that matches and is not a sample or
    guide), as written there, relative or absolute."""
    pattern = spec.query.get("link", CURRENT_WORKBOOK)
    found = re.findall(rf"""href=["']([^"']*{pattern})["']""", page.decode("utf-8", errors="replace"), re.I)
    links = [link for link in found if not NOT_THE_DATA.search(link)]
    if not links:
        raise PublisherFormatError(
            PUBLISHER,
            spec.id,
            f"the landing page {url} links no current .xlsx workbook (no href matching /{pattern}/): "
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
    """The date of publication its Index (RTI) or Contents (business demography) sheet states
    ("Date of publication: 17 February 2026", "Date published: 27th July 2023"), else None."""
    workbook = _open(path, spec)
    for sheet in ("Index", "Contents"):
        if sheet not in workbook.sheet_names:
            continue
        for row in workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False, nrows=10):
            if row and (m := PUBLISHED_ON.search(str(row[0]))):
                return dt.datetime.strptime(f"{m[1]} {m[2]}", "%d %B %Y").date().isoformat()
    return None


def _open(path: Path, spec: DatasetSpec) -> CalamineWorkbook:
    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises its own error types for a corrupt workbook
        raise PublisherFormatError(PUBLISHER, spec.id, f"the workbook cannot be read: {error}") from None


def parse(spec: DatasetSpec, paths: list[Path]) -> pd.DataFrame:
    """Tidy observations of every catalog series, as the dataset's layout reads them."""
    workbooks = [path for path in paths if path.suffix == ".xlsx"]  # the landing page is provenance
    if len(workbooks) != 1:
        raise PublisherFormatError(PUBLISHER, spec.id, f"expected one workbook, got {len(workbooks)}")
    workbook = _open(workbooks[0], spec)
    read = _time_by_area if spec.query["layout"] == "time_by_area" else _quarters_by_area
    return to_frame(read(spec, workbook))


def _keep(spec: DatasetSpec, records: dict, record: dict, sheet: str) -> None:
    """Add `record`; the same area and period in two sheets (or rows) must have the same value."""
    key = (record["series"], record["geography_code"], record["period"])
    held = records.setdefault(key, record)
    if held["value"] != record["value"]:
        raise PublisherFormatError(
            PUBLISHER,
            spec.id,
            f"{record['geography_name']} in {record['period']} is {held['value']} in one place and "
            f"{record['value']} in sheet {sheet!r}",
        )


def _time_by_area(spec: DatasetSpec, workbook: CalamineWorkbook) -> list[dict]:
    """Every series of its numbered sheets, for the areas of `NUTS_AREAS`, every month."""
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
            for record in _monthly_records(spec, series, name, rows):
                found.add(record["geography_code"])
                _keep(spec, records, record, name)
        missing = [f"{nuts or 'UK'} ({name})" for nuts, (gss, name) in NUTS_AREAS.items() if gss not in found]
        if missing:
            raise PublisherFormatError(
                PUBLISHER,
                spec.id,
                f"{', '.join(missing)} in none of sheets {', '.join(sheets)} for series {series.name}: "
                "the layout has moved",
            )
    return list(records.values())


def _monthly_records(spec: DatasetSpec, series: SeriesSpec, sheet: str, rows: list[list]) -> list[dict]:
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
            records.append(_observation(spec, series, gss, name, period, value))
    if not records:
        raise fail(FIRST_DATA_ROW, "no months: the first data row is empty")
    return records


def _quarters_by_area(spec: DatasetSpec, workbook: CalamineWorkbook) -> list[dict]:
    """Every series from the sheets named with its prefix (split by years: `Births 2017-2019`,
    `Births 2020`...), for the UK, the countries, regions and councils, every quarter."""
    records: dict[tuple[str, str, str], dict] = {}
    for series in spec.series:
        prefix = series.match.get("sheet_prefix", "")
        sheets = [name for name in workbook.sheet_names if prefix and name.startswith(f"{prefix} ")]
        if not sheets:
            raise PublisherFormatError(
                PUBLISHER,
                spec.id,
                f"no sheet named {prefix!r} and years for series {series.name}; the sheets are "
                f"{workbook.sheet_names}",
            )
        for name in sheets:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            for record in _quarterly_records(spec, series, name, rows):
                _keep(spec, records, record, name)
    return list(records.values())


def _quarterly_records(spec: DatasetSpec, series: SeriesSpec, sheet: str, rows: list[list]) -> list[dict]:
    def fail(row: int, problem: str) -> PublisherFormatError:
        return PublisherFormatError(PUBLISHER, spec.id, f"sheet {sheet!r} row {row}: {problem}")

    def cell(row: int, column: int) -> object:
        line = rows[row - 1] if len(rows) >= row else []
        return line[column] if len(line) > column else ""

    pattern = series.labels.get("title")
    title = str(cell(TITLE_ROW, 0)).strip()
    if pattern is not None and not re.fullmatch(pattern, title, flags=re.IGNORECASE):
        raise fail(TITLE_ROW, f"the title is {title!r}, expected /{pattern}/ for series {series.name}")
    header = [str(c).strip() for c in (rows[QUARTERS_ROW - 1] if len(rows) >= QUARTERS_ROW else [])]
    if not header or header[0] != "Geography":
        raise fail(
            QUARTERS_ROW, f"expected 'Geography' then the quarters, found {header[:3]}: the layout has moved"
        )
    quarters = []
    for column, label in enumerate(header[1:], start=1):
        if not label:
            continue
        if not (m := QUARTER_LABEL.fullmatch(label)):
            raise fail(QUARTERS_ROW, f"column {column + 1} is {label!r}, not a quarter like 'Q1 2022'")
        quarters.append((column, f"{m[2]}-Q{m[1]}"))
    records = []
    for row in range(FIRST_AREA_ROW, len(rows) + 1):
        label = str(cell(row, 0)).strip()
        if not label:
            break
        if not (m := AREA_LABEL.fullmatch(label)):
            raise fail(row, f"{label!r} is not an area written 'E08000025 : Birmingham'")
        code, name = m[1], m[2].strip()
        if code in NOT_AN_AREA:
            continue
        if code == UK_LABEL:
            code = "K02000001"
        elif not GSS_CODE.fullmatch(code):
            raise fail(row, f"{code!r} is not a GSS code (the row {label!r})")
        for column, period in quarters:
            raw = cell(row, column)
            if raw == SUPPRESSED or raw == "":
                value = None
            elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
                value = float(raw)
            else:
                raise fail(row, f"{name} has {raw!r} in column {column + 1}, not a count or {SUPPRESSED!r}")
            records.append(_observation(spec, series, code, name, period, value))
    if not records:
        raise fail(FIRST_AREA_ROW, "no areas: the first row under the header is empty")
    if not any(record["geography_code"] == "K02000001" for record in records):
        raise fail(FIRST_AREA_ROW, "no 'UK : United Kingdom' row: the layout has moved")
    return records


def _observation(
    spec: DatasetSpec, series: SeriesSpec, code: str, name: str, period: str, value: float | None
) -> dict:
    return {
        "dataset": spec.id,
        "series": series.name,
        "geography_code": code,
        "geography_name": name,
        "period": period,
        "period_date": period_start(period),
        "value": value,
        "status": NORMAL_STATUS if value is not None else MISSING_STATUS,
        "lower": None,
        "upper": None,
        "unit": series.unit,
    }
