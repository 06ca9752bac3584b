"""ONS website time series: `{base}/{topic}/timeseries/{cdid}/{dataset}/data` (JSON, lowercase path).

One series per request, for the UK. The JSON holds `description.title` and the arrays `months`,
`quarters` and `years`, whose elements are `{date: "2026 JUL", value: "2.9", ...}`; the catalog's
cadence picks the array. A value is a string and an empty string means no value: it is kept as
missing with the status `missing`, never as 0.

The catalog's series gives the title the publisher must show (`labels.title`, a regex), so a CDID
that changes meaning fails loudly. `description.releaseDate` and `description.nextRelease` are
recorded when present; those field names are UNVERIFIED, so their absence is not an error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from sources.archive import ArchivedPage, fetch_page
from sources.catalog import CatalogError, DatasetSpec, SeriesSpec
from sources.errors import PublisherFormatError
from sources.http import HttpConfig
from sources.observations import period_start, to_frame
from sources.ons_api import load_json, london_date

PUBLISHER = "ons_web"
DATA_PATH = "/{topic}/timeseries/{cdid}/{dataset}/data"
QUERY_KEYS = frozenset({"cdid", "topic"})
GEOGRAPHY_CODE = "K02000001"
GEOGRAPHY_NAME = "United Kingdom"
ARRAY_FOR_CADENCE = {"monthly": "months", "quarterly": "quarters", "annual": "years"}
NORMAL_STATUS = "A"
MISSING_STATUS = "missing"

MONTH = re.compile(r"(\d{4}) ([A-Za-z]{3})")
QUARTER = re.compile(r"(\d{4}) Q([1-4])")
YEAR = re.compile(r"(\d{4})")


def data_url(base_url: str, spec: DatasetSpec) -> str:
    if set(spec.query) != QUERY_KEYS:
        raise CatalogError(f"{spec.id}: {PUBLISHER} datasets need exactly {sorted(QUERY_KEYS)} in query")
    path = DATA_PATH.format(
        topic=spec.query["topic"].strip("/"), cdid=spec.query["cdid"], dataset=spec.source_id
    )
    return base_url.rstrip("/") + path.lower()


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
    """Fetch one time series into the raw archive; `geography_codes` is unused (the series is the UK's)."""
    url = data_url(base_url, spec)
    archived = fetch_page(
        client,
        config,
        url,
        {},
        raw_dir=raw_dir,
        publisher=PUBLISHER,
        dataset=spec.id,
        page=0,
        ext="json",
        previous=previous,
    )
    description = read_series(archived.path.read_bytes(), spec)["description"]
    extra = {
        "version": None,
        "release_date": london_date(description.get("releaseDate")),
        "next_release": _text_or_none(description.get("nextRelease")),
    }
    return [ArchivedPage(archived.path, {**archived.record, **extra})]


def the_series(spec: DatasetSpec) -> SeriesSpec:
    if len(spec.series) != 1:
        raise CatalogError(f"{spec.id}: a {PUBLISHER} dataset is one time series, so it has one series")
    return spec.series[0]


def read_series(body: bytes, spec: DatasetSpec) -> dict[str, Any]:
    """The JSON document, checked: a description whose title the catalog expects, and the arrays."""
    series = the_series(spec)
    document = load_json(body, PUBLISHER, spec.id, "the time series")
    description = document.get("description")
    if not isinstance(description, dict) or not isinstance(description.get("title"), str):
        raise PublisherFormatError(PUBLISHER, spec.id, "the time series has no description.title")
    title = description["title"]
    pattern = series.labels.get("title")
    if pattern is not None and not re.fullmatch(pattern, title.strip(), flags=re.IGNORECASE):
        raise PublisherFormatError(
            PUBLISHER,
            spec.id,
            f"the series title is {title!r}, expected /{pattern}/: the CDID's meaning may have changed",
        )
    cdid = description.get("cdid")
    if isinstance(cdid, str) and cdid.lower() != spec.query["cdid"].lower():
        raise PublisherFormatError(
            PUBLISHER, spec.id, f"asked for CDID {spec.query['cdid']}, the series is {cdid}"
        )
    for name in ARRAY_FOR_CADENCE.values():
        if not isinstance(document.get(name, []), list):
            raise PublisherFormatError(PUBLISHER, spec.id, f"{name} is not a list")
    return document


def to_period(date: str, cadence: str) -> str:
    """Our period for an element's `date` ("2026 JUL", "2026 Q2", "2026"); ValueError otherwise."""
    date = date.strip()
    if cadence == "monthly" and (m := MONTH.fullmatch(date)):
        return dt.datetime.strptime(f"{m[1]} {m[2]}", "%Y %b").strftime("%Y-%m")
    if cadence == "quarterly" and (m := QUARTER.fullmatch(date)):
        return f"{m[1]}-Q{m[2]}"
    if cadence == "annual" and YEAR.fullmatch(date):
        return date
    raise ValueError(f"date {date!r} is not a {cadence} period this parser knows")


def parse(spec: DatasetSpec, paths: list[Path]) -> pd.DataFrame:
    """Tidy observations of the cadence's array; an empty value is kept as missing."""
    series = the_series(spec)
    array = ARRAY_FOR_CADENCE[spec.cadence]
    records = []
    for path in paths:
        document = read_series(path.read_bytes(), spec)
        elements = document.get(array) or []
        if not elements:
            raise PublisherFormatError(PUBLISHER, spec.id, f"the time series has no {array}")
        for element in elements:
            records.append(_observation(spec, series, element))
    frame = to_frame(records)
    duplicated = frame.duplicated(["series", "period"])
    if duplicated.any():
        raise PublisherFormatError(
            PUBLISHER, spec.id, f"the period {frame[duplicated].iloc[0].period} appears twice in {array}"
        )
    return frame


def _observation(spec: DatasetSpec, series: SeriesSpec, element: object) -> dict:
    if not isinstance(element, dict) or not isinstance(element.get("date"), str):
        raise PublisherFormatError(PUBLISHER, spec.id, f"an element has no date: {element!r}")
    raw = element.get("value")
    if not isinstance(raw, str):
        raise PublisherFormatError(
            PUBLISHER, spec.id, f"the value for {element['date']!r} is {raw!r}, not the documented string"
        )
    try:
        period = to_period(element["date"], spec.cadence)
    except ValueError as error:
        raise PublisherFormatError(
            PUBLISHER, spec.id, f"{error} in {ARRAY_FOR_CADENCE[spec.cadence]}"
        ) from None
    try:
        value = float(raw) if raw.strip() else None
    except ValueError:
        raise PublisherFormatError(
            PUBLISHER, spec.id, f"the value {raw!r} for {element['date']!r} is not a number"
        ) from None
    return {
        "dataset": spec.id,
        "series": series.name,
        "geography_code": GEOGRAPHY_CODE,
        "geography_name": GEOGRAPHY_NAME,
        "period": period,
        "period_date": period_start(period),
        "value": value,
        "status": NORMAL_STATUS if value is not None else MISSING_STATUS,
        "lower": None,
        "upper": None,
        "unit": series.unit,
    }


def _text_or_none(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
