"""Emulator of the HM Land Registry UK HPI full file, for the replay server and benchmarks.

The file for the month before last (relative to `today`) is the newest: it and earlier months answer
200, later months 404, as the real download does before publication. Every file has the full
documented column layout. The values are ILLUSTRATIVE, not official statistics, but they add up:
each council, the rest of the focus region, every other region and nation has its own price path
(the national cycle: the 2021-22 boom, the 2023 dip; its own trend; monthly noise and a seasonal
swing) and sales volumes (the spring 2020 stop, the 2021 stamp-duty rush, seasons and noise); a
combined authority, the focus region, England (its nine regions) and the UK (England and the three
nations) have the sum of their parts' sales and the sales-weighted average of their prices. The
latest two months of sales volume are left empty, as the real file leaves them while
registrations catch up.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import math
import re
from collections.abc import Mapping
from functools import lru_cache

from sources.landregistry import DOCUMENTED_COLUMNS, FILE_PATH
from sources.replay.reply import Reply
from sources.replay.samples import REST_PREFIX, unit_hash

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


# The national cycle: annual house price growth at these months (linear between them).
NATIONAL_GROWTH = (
    (dt.date(1968, 4, 1), 0.06),
    (dt.date(2016, 6, 1), 0.06),
    (dt.date(2017, 6, 1), 0.035),
    (dt.date(2019, 12, 1), 0.02),
    (dt.date(2020, 6, 1), 0.025),
    (dt.date(2021, 6, 1), 0.10),
    (dt.date(2022, 6, 1), 0.11),
    (dt.date(2023, 3, 1), 0.01),
    (dt.date(2023, 10, 1), -0.015),
    (dt.date(2024, 9, 1), 0.025),
    (dt.date(2025, 12, 1), 0.035),
)
# Sales relative to normal: the stop of spring 2020 and the stamp-duty rush of 2021.
SALES_SHOCKS = {
    dt.date(2020, 4, 1): 0.45,
    dt.date(2020, 5, 1): 0.5,
    dt.date(2020, 6, 1): 0.7,
    dt.date(2021, 3, 1): 1.5,
    dt.date(2021, 6, 1): 1.7,
    dt.date(2021, 7, 1): 0.8,
}
NATION_SALES = {"W92000004": 3500, "S92000003": 8000, "N92000002": 2000}


def _national_growth(month: dt.date) -> float:
    points = NATIONAL_GROWTH
    if month >= points[-1][0]:
        return points[-1][1]
    for (start, low), (end, high) in itertools.pairwise(points):
        if start <= month < end:
            return low + (high - low) * (month - start).days / (end - start).days
    return points[0][1]


@lru_cache(maxsize=4096)
def _price_path(code: str) -> dict[dt.date, float]:
    """A part's price index for every month from 1967 to 2040: the national cycle, the
    part's own trend, and noise."""
    trend = 0.02 * (unit_hash("hpi-trend", code) - 0.5)
    index, path = 1.0, {}
    # From a year before the first month a file holds: its changes look a year back.
    for month in _month_range(_shift(BENCHMARK_FIRST_MONTH, -12), dt.date(2040, 12, 1)):
        noise = 0.006 * (unit_hash("hpi-noise", code, month.isoformat()) - 0.5)
        index *= (1 + _national_growth(month) + trend) ** (1 / 12) * (1 + noise)
        path[month] = index
    return path


def _part_price(code: str, month: dt.date) -> float:
    """A part's average price: its level (of January 2015) along its path, with a seasonal swing."""
    level = 110_000 + 260_000 * unit_hash("hpi", code)
    path = _price_path(code)
    seasonal = 1 + 0.012 * math.sin(2 * math.pi * (month.month - 4) / 12)
    return level * path[month] / path[dt.date(2015, 1, 1)] * seasonal


def _part_sales(code: str, month: dt.date) -> float:
    if code in NATION_SALES:
        base = NATION_SALES[code]
    elif code.startswith("E12"):
        base = 5000 + 6000 * unit_hash("sales", code)
    elif code.startswith(REST_PREFIX):
        base = 3500 + 1000 * unit_hash("sales", code)
    else:
        base = 250 + 850 * unit_hash("sales", code)
    seasonal = 1 + 0.2 * math.sin(2 * math.pi * (month.month - 2) / 12)
    noise = 1 + 0.16 * (unit_hash("sales-noise", code, month.isoformat()) - 0.5)
    slowdown = 0.85 if month.year >= 2023 else 1.0
    return base * seasonal * noise * slowdown * SALES_SHOCKS.get(month, 1.0)


class Geography:
    """Which parts every area of the file is made of: named composites by their members, the focus
    region by its named councils and its rest, England by its nine regions, the UK by England and
    the three nations; anything else is a part of its own."""

    def __init__(self, members: Mapping[str, tuple[str, ...]]) -> None:
        self.members = {code: parts for code, parts in members.items() if not code.startswith("LOCAL-")}
        self.members["E92000001"] = tuple(REGIONS)
        self.members["K02000001"] = ("E92000001", *NATION_SALES)

    def parts(self, code: str) -> list[str]:
        members = self.members.get(code)
        return [leaf for member in members for leaf in self.parts(member)] if members else [code]

    def sales(self, code: str, month: dt.date) -> int:
        return round(sum(_part_sales(part, month) for part in self.parts(code)))

    def price(self, code: str, month: dt.date) -> float:
        parts = self.parts(code)
        weights = [_part_sales(part, month) for part in parts]
        return sum(w * _part_price(p, month) for p, w in zip(parts, weights, strict=True)) / sum(weights)


def average_price(code: str, month: dt.date, geography: Geography | None = None) -> float:
    """The average price of an area in a month (of its parts, sales-weighted, for an aggregate)."""
    return (geography or Geography({})).price(code, month)


def _row(
    geography: Geography, code: str, name: str, month: dt.date, newest: dt.date, first: dt.date
) -> list[str]:
    price = geography.price(code, month)
    base = geography.price(code, dt.date(2015, 1, 1))
    month_ago = geography.price(code, _shift(month, -1))
    year_ago = geography.price(code, _shift(month, -12))
    sales = geography.sales(code, month)
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
        "SalesVolume": "" if lagging else str(sales),
    }
    for group, factor in GROUP_PRICE_FACTORS.items():
        values[f"{group}Price"] = f"{price * factor:.0f}"
        values[f"{group}Index"] = values["Index"]
        values[f"{group}1m%Change"] = values["1m%Change"]
        values[f"{group}12m%Change"] = values["12m%Change"]
    for group, share in GROUP_SALES_SHARES.items():
        values[f"{group}SalesVolume"] = "" if lagging else str(int(sales * share))
    return [values[column] for column in DOCUMENTED_COLUMNS]


def full_file_csv(
    today: dt.date,
    names: dict[str, str],
    rows_target: int | None = None,
    members: Mapping[str, tuple[str, ...]] | None = None,
) -> bytes:
    """The newest full file as of `today`: the named areas, the regions, the nations and the UK.

    With `rows_target` (for benchmarks) history goes back to 1968 and filler county areas (E10 codes,
    which the parser drops, as the real file's counties are dropped) are added until the file has at
    least that many rows, which makes it about the size of the real one at 140,000 rows.
    """
    return _build(latest_file_month(today), names, rows_target, Geography(members or {}))


@lru_cache(maxsize=4)
def _served_file(
    newest: dt.date, names: tuple[tuple[str, str], ...], members: tuple[tuple[str, tuple[str, ...]], ...]
) -> bytes:
    """The demo asks for the same small file on every run: build it once per process."""
    return _build(newest, dict(names), None, Geography(dict(members)))


def _build(newest: dt.date, names: dict[str, str], rows_target: int | None, geography: Geography) -> bytes:
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
            writer.writerow(_row(geography, code, name, month, newest, first))
    return out.getvalue().encode()


def route(
    path: str,
    query: dict[str, str],
    *,
    today: dt.date,
    names: dict[str, str],
    base_url: str,
    members: Mapping[str, tuple[str, ...]] | None = None,
) -> Reply | None:
    """Answer a full-file download, or None for a path this emulator does not handle."""
    m = FILE_ROUTE.fullmatch(path)
    if not m:
        return None
    if not 1 <= int(m[2]) <= 12 or dt.date(int(m[1]), int(m[2]), 1) > latest_file_month(today):
        return Reply(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
    body = _served_file(
        dt.date(int(m[1]), int(m[2]), 1), tuple(sorted(names.items())), tuple(sorted((members or {}).items()))
    )
    return Reply(200, body, "text/csv")
