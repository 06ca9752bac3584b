"""Emulator of the HM Land Registry UK HPI full file, for the replay server and benchmarks.

The file for the month before last (relative to `today`) is the newest: it and earlier months answer
200, later months 404, as the real download does before publication. Every file has the full
documented column layout. The values are ILLUSTRATIVE, not official statistics: a deterministic
level per area, steady growth with a seasonal wobble, and the latest two months of sales volume
left empty, as the real file leaves them while registrations catch up.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from functools import lru_cache

from sources.landregistry import DOCUMENTED_COLUMNS, FILE_PATH
from sources.replay.reply import Reply
from sources.replay.samples import unit_hash

FILE_ROUTE = re.compile(re.escape(FILE_PATH).replace(r"\{month\}", r"(\d{4})-(\d{2})"))
REGIONS = {
    "E12000001": "North East",
    "E12000002": "North West",
    "E12000003": "Yorkshire and The Humber",
    "E12000004": "East Midlands",
    "E12000005": "West Midlands",
    "E12000006": "East of England",
    "E12000007": "London",
    "E12000008": "South East",
    "E12000009": "South West",
}
NATIONS = {
    "E92000001": "England",
    "W92000004": "Wales",
    "S92000003": "Scotland",
    "N92000002": "Northern Ireland",
    "K02000001": "United Kingdom",
}
FIRST_MONTH = dt.date(2015, 1, 1)
BENCHMARK_FIRST_MONTH = dt.date(1968, 4, 1)  # the real file starts in 1968 for a few areas
SALES_LAG_MONTHS = 2
# Property-type, funding and buyer groups as shares of the headline price: rough national shape.
GROUP_PRICE_FACTORS = {
    "Detached": 1.6,
    "SemiDetached": 0.95,
    "Terraced": 0.8,
    "Flat": 0.7,
    "Cash": 0.95,
    "Mortgage": 1.03,
    "FTB": 0.83,
    "FOO": 1.15,
    "New": 1.25,
    "Old": 0.98,
}
GROUP_SALES_SHARES = {"Cash": 0.3, "Mortgage": 0.7, "New": 0.1, "Old": 0.9}


def latest_file_month(today: dt.date) -> dt.date:
    """The UK HPI for month M comes out in month M+2 (around the 20th working day)."""
    return _shift(dt.date(today.year, today.month, 1), -2)


def _shift(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_range(first: dt.date, last: dt.date) -> list[dt.date]:
    start, end = first.year * 12 + first.month - 1, last.year * 12 + last.month - 1
    return [dt.date(i // 12, i % 12 + 1, 1) for i in range(start, end + 1)]


def average_price(code: str, month: dt.date) -> float:
    """Level for the area in January 2015, about 4% a year growth, a small seasonal swing."""
    level = 110_000 + 260_000 * unit_hash("hpi", code)
    months = (month.year - 2015) * 12 + month.month - 1
    seasonal = 1 + 0.012 * math.sin(2 * math.pi * (month.month - 4) / 12)
    return level * (1.0033**months) * seasonal


def sales_volume(code: str, month: dt.date) -> int:
    base = 9000 if code[:3] in {"E92", "K02"} else 3000 if code.startswith("E12") else 400
    scale = 1 + 4 * unit_hash("sales", code)
    return int(base * scale * (1 + 0.2 * math.sin(2 * math.pi * (month.month - 2) / 12)))


def _row(code: str, name: str, month: dt.date, newest: dt.date, first: dt.date) -> list[str]:
    price = average_price(code, month)
    base = average_price(code, dt.date(2015, 1, 1))
    month_ago = average_price(code, _shift(month, -1))
    year_ago = average_price(code, _shift(month, -12))
    lagging = (newest.year - month.year) * 12 + newest.month - month.month < SALES_LAG_MONTHS
    values = {
        "Date": f"{month:%d/%m/%Y}",
        "RegionName": name,
        "AreaCode": code,
        "AveragePrice": f"{price:.0f}",
        "Index": f"{price / base * 100:.2f}",
        "IndexSA": f"{price / base * 100 * 1.001:.2f}",
        # the real file leaves the change columns empty for an area's first month
        "1m%Change": "" if month == first else f"{(price / month_ago - 1) * 100:.2f}",
        "12m%Change": ""
        if month.year * 12 + month.month - 12 < first.year * 12 + first.month
        else f"{(price / year_ago - 1) * 100:.2f}",
        "AveragePriceSA": f"{price * 1.001:.0f}",
        "SalesVolume": "" if lagging else str(sales_volume(code, month)),
    }
    for group, factor in GROUP_PRICE_FACTORS.items():
        values[f"{group}Price"] = f"{price * factor:.0f}"
        values[f"{group}Index"] = values["Index"]
        values[f"{group}1m%Change"] = values["1m%Change"]
        values[f"{group}12m%Change"] = values["12m%Change"]
    for group, share in GROUP_SALES_SHARES.items():
        values[f"{group}SalesVolume"] = "" if lagging else str(int(sales_volume(code, month) * share))
    return [values[column] for column in DOCUMENTED_COLUMNS]


def full_file_csv(today: dt.date, names: dict[str, str], rows_target: int | None = None) -> bytes:
    """The newest full file as of `today`: the named areas, the regions, the nations and the UK.

    With `rows_target` (for benchmarks) history goes back to 1968 and filler county areas (E10 codes,
    which the parser drops, as the real file's counties are dropped) are added until the file has at
    least that many rows, which makes it about the size of the real one at 140,000 rows.
    """
    return _build(latest_file_month(today), names, rows_target)


@lru_cache(maxsize=4)
def _served_file(newest: dt.date, names: tuple[tuple[str, str], ...]) -> bytes:
    """The demo asks for the same small file on every run: build it once per process."""
    return _build(newest, dict(names), None)


def _build(newest: dt.date, names: dict[str, str], rows_target: int | None) -> bytes:
    gss_names = {code: name for code, name in names.items() if not code.startswith("LOCAL-")}
    areas = {**gss_names, **REGIONS, **NATIONS}
    first = BENCHMARK_FIRST_MONTH if rows_target else FIRST_MONTH
    months = _month_range(first, newest)
    if rows_target:
        filler = max(0, math.ceil((rows_target - len(areas) * len(months)) / len(months)))
        areas.update({f"E10{n:06d}": f"Illustrative county {n}" for n in range(1, filler + 1)})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DOCUMENTED_COLUMNS)
    for month in months:
        for code, name in areas.items():
            writer.writerow(_row(code, name, month, newest, first))
    return out.getvalue().encode()


def route(
    path: str, query: dict[str, str], *, today: dt.date, names: dict[str, str], base_url: str
) -> Reply | None:
    """Answer a full-file download, or None for a path this emulator does not handle."""
    m = FILE_ROUTE.fullmatch(path)
    if not m:
        return None
    if not 1 <= int(m[2]) <= 12 or dt.date(int(m[1]), int(m[2]), 1) > latest_file_month(today):
        return Reply(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
    body = _served_file(dt.date(int(m[1]), int(m[2]), 1), tuple(sorted(names.items())))
    return Reply(200, body, "text/csv")
