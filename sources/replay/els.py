"""ONS Explore Local Statistics as the replay server serves it: `GET /els/<slug>/<slug>.csv` and
`.json`, in the real files' format (`sources.els`: the twelve columns, ISO 8601 periods, intervals
where the source has them, the metadata's shape for one indicator or several).

Values are ILLUSTRATIVE, set near the published levels of 2023-25 so the demo reads plausibly. They
are consistent as the publishers' are: a combined authority, the region, England and the UK are the
resident-weighted means of their parts (the councils, and the rest of each area beyond its named
parts), so the WMCA's row is what its councils' rows imply. Each series keeps its levels of
geography (GVA for councils and combined authorities only, R&D for regions and countries only...).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from functools import cache

from sources.catalog import default_catalog
from sources.els import EXPECTED_COLUMNS, YEARS_SHAPE
from sources.replay import samples
from sources.replay.reply import Reply

PREFIX = "/els/"
CSV_TYPE = "text/csv; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
GEOGRAPHY = {
    "E06": "Local Authority District",
    "E07": "Local Authority District",
    "E08": "Local Authority District",
    "E47": "Combined Authority or City Region",
    "E12": "Region",
    "E92": "Country",
    "W92": "Country",
    "S92": "Country",
    "N92": "Country",
    "K02": "Country",
}
COUNCILS = ("E06", "E07", "E08")
ALL = (*COUNCILS, "E47", "E12", "E92", "K02")
ENGLAND = (*COUNCILS, "E47", "E12", "E92")


@dataclass(frozen=True)
class Shape:
    """A series' illustrative path: its UK (or England) level in the latest period, the change a
    year, how far councils spread either side (a share of the level), the publication lag in
    years, the levels it is published for, and a 95% half-width for a council (survey series)."""

    measure: str
    unit: str
    level: float
    trend: float
    spread: float
    lag: int
    levels: tuple[str, ...]
    decimals: int
    half_width: float | None = None
    first_year: int = 2014


SHAPES = {
    # ONS's Annual Population Survey year, January to December: the Nomis emulation's counts for
    # the 12 months to December, so a combined authority's row is what its councils' counts give.
    "employment_rate_aps": Shape("Percentage", "%", 0.0, 0.0, 0.0, 0, ALL, 1, first_year=2015),
    "gva_per_hour": Shape("Pounds", "£", 39.0, 1.2, 0.14, 2, (*COUNCILS, "E47"), 1),
    "gva_per_filled_job": Shape("Pounds", "£", 62_000, 1_800, 0.14, 2, (*COUNCILS, "E47"), 0),
    "gdhi_per_head": Shape("Pounds", "£", 23_000, 900, 0.12, 2, ALL, 0),
    "rd_business_expenditure": Shape("Pounds", "£ million", 4_900, 150, 0.0, 1, ("E12", "E92", "K02"), 0),
    "rd_public_expenditure": Shape("Pounds", "£ million", 780, 25, 0.0, 3, ("E12", "E92", "K02"), 0),
    "travel_time_public_transport": Shape(
        "Minutes", "mins", 13.0, -0.1, 0.2, 6, (*COUNCILS, "E12", "E92"), 1
    ),
    "gigabit_coverage": Shape("Percentage", "%", 86.0, 8.0, 0.05, 0, ALL, 1, first_year=2020),
    "coverage_4g": Shape("Percentage", "%", 93.0, 1.5, 0.03, 0, ALL, 1, first_year=2020),
    "coverage_5g": Shape("Percentage", "%", 80.0, 9.0, 0.08, 0, ALL, 1, first_year=2021),
    "ks2_expected_standard": Shape("Percentage", "%", 61.0, 0.6, 0.06, 1, ENGLAND, 0),
    "gcse_english_maths": Shape("Percentage", "%", 65.0, 0.3, 0.07, 1, ENGLAND, 1),
    "persistent_absence": Shape("Percentage", "%", 20.0, -0.6, 0.12, 1, (*COUNCILS, "E12", "E92"), 1),
    "level_3_qualifications": Shape("Percentage", "%", 62.0, 0.6, 0.08, 2, ALL, 1, 3.0, 2022),
    "apprenticeship_starts": Shape(
        "Rate per 100,000 population", "Rate per 100,000 population", 960, -20, 0.15, 1, ENGLAND, 0
    ),
    "fe_participation": Shape(
        "Rate per 100,000 population", "Rate per 100,000 population", 5_900, -60, 0.15, 1, ENGLAND, 0
    ),
    "hle_male": Shape("Years", "yrs", 61.0, -0.2, 0.05, 2, ALL, 1, 1.4),
    "hle_female": Shape("Years", "yrs", 61.5, -0.25, 0.05, 2, ALL, 1, 1.4),
    "adult_obesity": Shape("Percentage", "%", 26.5, 0.3, 0.12, 1, ENGLAND, 1, 2.5),
    "cigarette_smokers": Shape("Percentage", "%", 13.5, -0.6, 0.2, 5, (*COUNCILS, "E92", "K02"), 1, 1.5),
    "preventable_cv_mortality": Shape(
        "Rate per 100,000 population",
        "Rate per 100,000 population",
        29.0,
        0.2,
        0.2,
        2,
        (*COUNCILS, "E12", "E92"),
        1,
        3.0,
    ),
    "happiness_mean": Shape(
        "Mean (Where 0 is 'not at all happy' and 10 is 'completely happy')",
        "Score out of 10",
        7.4,
        0.02,
        0.02,
        2,
        (*COUNCILS, "E12", "E92", "K02"),
        1,
        0.15,
    ),
    "engaged_with_arts": Shape(
        "Percentage", "%", 89.0, 0.3, 0.04, 2, (*COUNCILS, "E47", "E92"), 0, 2.0, 2021
    ),
    "visited_heritage_site": Shape(
        "Percentage", "%", 62.0, 1.0, 0.08, 2, (*COUNCILS, "E47", "E92"), 0, 3.0, 2021
    ),
    "first_time_buyer_sales": Shape(
        "Rate per 1,000 dwelling stock", "Rate per 1,000 dwelling stock", 11.0, -0.2, 0.15, 1, ALL, 1
    ),
    "net_additions_per_1000": Shape(
        "Net additional dwellings per 1,000 stock",
        "Net additional dwellings per 1,000 stock",
        9.0,
        0.1,
        0.3,
        1,
        (*COUNCILS, "E12", "E92"),
        0,
    ),
    "homicide_rate": Shape(
        "Homicide Offences (rate per million population)",
        "Rate per 1,000,000 population",
        10.5,
        -0.1,
        0.15,
        2,
        ("E12", "E92"),
        1,
    ),
}


def route(
    path: str, query: dict[str, str], *, today: dt.date, names: dict[str, str], members: dict
) -> Reply | None:
    """Answer `/els/<slug>/<slug>.csv` or `.json`, or None for a path this emulator does not handle."""
    if not path.startswith(PREFIX):
        return None
    parts = path[len(PREFIX) :].split("/")
    specs = _specs()
    if len(parts) != 2 or parts[0] not in specs or parts[1] not in (f"{parts[0]}.csv", f"{parts[0]}.json"):
        return Reply(404, b"404: Not Found")
    spec = specs[parts[0]]
    key = tuple(sorted(names.items())), tuple(sorted((k, tuple(v)) for k, v in members.items()))
    if parts[1].endswith(".json"):
        return Reply(200, metadata_json(spec.source_id, today), JSON_TYPE)
    return Reply(200, data_csv(spec.source_id, today, key), CSV_TYPE)


@cache
def _specs() -> dict:
    return {spec.source_id: spec for spec in default_catalog().datasets.values() if spec.publisher == "els"}


def metadata_json(slug: str, today: dt.date) -> bytes:
    """The file's metadata in ELS's shape: flat for one indicator, `shared` plus one entry per
    indicator for several."""
    spec = _specs()[slug]
    released = (today - dt.timedelta(days=40)).strftime("%d/%m/%Y")
    shared = {
        "prefix": None,
        "suffix": None,
        "subText": None,
        "experimentalStatistic": "F",
        "sourceDate": released,
        "sourceURL": f"https://github.com/ONSdigital/explore-local-statistics-data/tree/main/{slug}",
        "sourceOrg": "Office for National Statistics",
        "caveats": "Demonstration data: illustrative values in the format of ONS Explore Local Statistics.",
        "standardised": "T",
    }
    entries = {
        series.match["indicator"]: {
            "label": series.match["indicator"],
            "decimalPlaces": SHAPES[series.name].decimals,
            "subtitle": f"{series.match['indicator']} (illustrative)",
        }
        for series in spec.series
    }
    if len(entries) == 1:
        described = {**shared, **next(iter(entries.values()))}
    else:
        described = {"shared": shared, **entries}
    note = f"This file was last modified on {(today - dt.timedelta(days=35)).strftime('%d/%m/%Y')} at 09:30"
    return json.dumps({"_note": note, "ess-beta-metadata": described}, indent=2).encode()


def _period(shape: str, year: int) -> str:
    if years := YEARS_SHAPE.fullmatch(shape):
        day = "16" if years[1] == "11" else "01"  # Active Lives years run from mid-November
        return f"{year}-{years[1]}-{day}/P{years[2]}Y"
    return f"{year}-01-01"  # a snapshot each January (`date`)


@cache
def data_csv(slug: str, today: dt.date, key: tuple) -> bytes:
    names, members = dict(key[0]), {code: parts for code, parts in key[1]}
    spec = _specs()[slug]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPECTED_COLUMNS)
    for series in spec.series:
        shape = SHAPES[series.name]
        latest = today.year - shape.lag - 1
        for code, name in names.items():
            if code[:3] not in shape.levels:
                continue
            for year in range(shape.first_year, latest + 1):
                value = _value(series.name, shape, code, year, latest, members)
                half = _half_width(shape, code, year, members)
                writer.writerow(
                    [
                        code,
                        name,
                        GEOGRAPHY[code[:3]],
                        series.match["indicator"],
                        _period(series.match["period"], year),
                        f"{value:.{shape.decimals + 2}f}",
                        shape.measure,
                        shape.unit,
                        "" if half is None else f"{value - half:.{shape.decimals + 2}f}",
                        "" if half is None else f"{value + half:.{shape.decimals + 2}f}",
                        "",
                        "",
                    ]
                )
    return out.getvalue().encode()


def _value(series: str, shape: Shape, code: str, year: int, latest: int, members: dict) -> float:
    """A part's own value, or the resident-weighted mean of its parts' (a sum for a total in £m)."""
    if series == "employment_rate_aps":
        employed, residents = _aps_totals(code, dt.date(year, 12, 1), members)
        return round(employed / residents * 100, 1)
    if shape.unit == "£ million":
        return _total(series, shape, code, year, latest, members)
    parts = members.get(code)
    if parts:
        weights = [samples.residents_16_64(part, year) for part in parts]
        values = [_value(series, shape, part, year, latest, members) for part in parts]
        return sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights)
    tilt = shape.spread * (samples.unit_hash("els", series, code) - 0.6)  # most councils a little below
    drift = 0.4 * shape.trend * (samples.unit_hash("els-drift", series, code) - 0.5)
    noise = 0.2 * abs(shape.trend) * (samples.unit_hash("els-noise", series, code, str(year)) - 0.5)
    value = shape.level * (1 + tilt) + (shape.trend + drift) * (year - latest) + noise
    return min(value, 100.0) if shape.unit == "%" else value


def _total(series: str, shape: Shape, code: str, year: int, latest: int, members: dict) -> float:
    """A total in £ million: a region's from its share, England the sum of the English regions, the
    UK England's and the rest of the UK's (an eighth more)."""
    if code.startswith("E92"):
        return sum(_total(series, shape, f"E1200000{n}", year, latest, members) for n in range(1, 10))
    if code.startswith("K02"):
        return 1.125 * _total(series, shape, "E92000001", year, latest, members)
    share = 0.6 + 0.8 * samples.unit_hash("els-share", series, code)
    return shape.level * share + shape.trend * share * (year - latest)


def _aps_totals(code: str, end: dt.date, members: dict) -> tuple[int, int]:
    """The APS employment numerator and denominator of an area: its parts' totals, as on Nomis."""
    parts = members.get(code)
    if not parts:
        return samples.aps_counts(code, "45", end)
    totals = [_aps_totals(part, end, members) for part in parts]
    return sum(n for n, _ in totals), sum(d for _, d in totals)


def _half_width(shape: Shape, code: str, year: int, members: dict) -> float | None:
    """A survey's 95% half-width, narrower for a bigger area (by the square root of its residents)."""
    if shape.half_width is None:
        return None
    residents = samples.residents_16_64(code, year)
    parts = members.get(code)
    if parts:
        residents = sum(samples.residents_16_64(part, year) for part in parts)
    return shape.half_width * (200_000 / max(residents, 1)) ** 0.5
