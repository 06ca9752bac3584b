"""Emulators of the ONS API (CMD datasets, release calendar) and ONS website time series, for replay.

The values are ILLUSTRATIVE, not official statistics: deterministic patterns per area and period
(a level, a 2020 dip, a little wobble) so that every demo run gives the same figures. Periods and
release dates follow `today`, so the demo never goes stale. The formats are the publishers' as far
as they are documented (`../shared/reference/data-sources.md` sections 2.2 to 2.4); dimension codes
and labels of the three CMD datasets are UNVERIFIED inventions that match the catalog entries.

Paths: the ONS API under `/v1/...` (the demo sets the ONS API base URL to the server root + `/v1`),
CMD CSV downloads under `/downloads/datasets/...`, time series under `/{topic}/timeseries/...`.
Absolute links in the API's JSON point back at `base_url`, the replay server's root.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sources.replay import samples
from sources.replay.reply import Reply
from sources.replay.samples import unit_hash

EDITION = "time-series"
DATASET_ROUTE = re.compile(r"/v1/datasets/([a-z0-9-]+)(/editions(?:/([a-z0-9-]+)(?:/versions/(\d+))?)?)?")
DOWNLOAD_ROUTE = re.compile(r"/downloads/datasets/([a-z0-9-]+)/editions/([a-z0-9-]+)/versions/(\d+)\.csv")
RELEASES_ROUTE = "/v1/search/releases"
TIMESERIES_ROUTE = re.compile(r"/([a-z0-9/]+)/timeseries/([a-z0-9]+)/([a-z0-9]+)/data")
JSON_TYPE = "application/json; charset=utf-8"
CSV_TYPE = "text/csv; charset=utf-8"
LONDON = ZoneInfo("Europe/London")

REGIONS = (  # ITL1 code, GSS code, name
    ("TLC", "E12000001", "North East"),
    ("TLD", "E12000002", "North West"),
    ("TLE", "E12000003", "Yorkshire and The Humber"),
    ("TLF", "E12000004", "East Midlands"),
    ("TLG", "E12000005", "West Midlands"),
    ("TLH", "E12000006", "East of England"),
    ("TLI", "E12000007", "London"),
    ("TLJ", "E12000008", "South East"),
    ("TLK", "E12000009", "South West"),
    ("TLL", "W92000004", "Wales"),
    ("TLM", "S92000003", "Scotland"),
    ("TLN", "N92000002", "Northern Ireland"),
)
UK_CODE, UK_NAME = "K02000001", "United Kingdom"

# Rough levels of GDP per head in 2023 (£), to make the illustrative regions differ plausibly.
GDP_PER_HEAD_2023 = {
    "E12000001": 27_400,
    "E12000002": 32_200,
    "E12000003": 30_000,
    "E12000004": 29_900,
    "E12000005": 30_900,
    "E12000006": 33_900,
    "E12000007": 63_600,
    "E12000008": 39_200,
    "E12000009": 32_400,
    "W92000004": 27_400,
    "S92000003": 35_200,
    "N92000002": 30_600,
    UK_CODE: 37_700,
}
# Illustrative shape of the CPI annual rate: (year, month, rate) points joined by straight lines.
CPI_PATH = (
    (2015, 1, 0.3),
    (2016, 6, 0.5),
    (2017, 9, 3.0),
    (2019, 1, 1.8),
    (2020, 8, 0.2),
    (2021, 4, 1.5),
    (2021, 12, 5.4),
    (2022, 10, 11.1),
    (2023, 6, 7.9),
    (2024, 5, 2.0),
    (2024, 9, 1.7),
    (2025, 1, 3.0),
    (2025, 9, 3.8),
    (2026, 6, 2.8),
    (2027, 6, 2.4),
)
# Illustrative shape of the online job adverts index (February 2020 = 100), by months since then.
ADVERTS_PATH = (
    (-60, 100.0),
    (0, 100.0),
    (3, 45.0),
    (12, 95.0),
    (28, 140.0),
    (48, 105.0),
    (70, 85.0),
    (400, 85.0),
)
TIME_SERIES = {  # (cdid, dataset) -> (title, topic)
    ("d7g7", "mm23"): ("CPI ANNUAL RATE 00: ALL ITEMS 2015=100", "economy/inflationandpriceindices"),
    ("l55o", "mm23"): ("CPIH ANNUAL RATE 00: ALL ITEMS 2015=100", "economy/inflationandpriceindices"),
}


@dataclass(frozen=True)
class CmdVersion:
    title: str
    version: int
    release_date: dt.date
    header: list[str]
    rows: list[list[str]]

    def csv(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return out.getvalue().encode()


# Mean life satisfaction (0 to 10), April 2022 to March 2023, from the real ONS Explore Local
# Statistics excerpt (`reference/real-samples/els/personal-wellbeing-estimates.csv`): the levels the
# illustrative estimates vary around. Means are published for each area; none is a sum of others.
LIFE_SATISFACTION = {
    "E08000025": 7.24,
    "E08000026": 7.35,
    "E08000027": 7.44,
    "E08000028": 7.41,
    "E08000029": 7.60,
    "E08000030": 7.35,
    "E08000031": 7.25,
    "E12000005": 7.43,
    "E92000001": 7.44,
    "K02000001": 7.45,
}


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _cpi_release(month: dt.date) -> dt.date:
    """CPI for month M comes out on the third Wednesday of M+1 (illustrative rule)."""
    following = samples.month_at(samples.month_index(month) + 1)
    return _nth_weekday(following.year, following.month, calendar.WEDNESDAY, 3)


def latest_cpi_month(today: dt.date) -> dt.date:
    last_month = samples.month_at(samples.month_index(today) - 1)
    return (
        last_month if _cpi_release(last_month) <= today else samples.month_at(samples.month_index(today) - 2)
    )


def latest_gdp_year(today: dt.date) -> int:
    """Regional GDP for year Y comes out on 24 April of Y+2 (illustrative rule)."""
    return today.year - 2 if today >= dt.date(today.year, 4, 24) else today.year - 3


def latest_wellbeing_year_end(today: dt.date) -> int:
    """Well-being for April Y-1 to March Y comes out on 23 October of Y (illustrative rule)."""
    return today.year if today >= dt.date(today.year, 10, 23) else today.year - 1


def latest_adverts_month(today: dt.date) -> dt.date:
    """Online job adverts for month M come out on the 8th of M+1 (illustrative rule)."""
    return samples.month_at(samples.month_index(today) - (1 if today.day >= 8 else 2))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _regional_gdp(today: dt.date, names: dict[str, str]) -> CmdVersion:
    latest = latest_gdp_year(today)
    header = [
        "V4_1",
        "Data Marking",
        "calendar-years",
        "Time",
        "itl",
        "Geography",
        "unit-of-measure",
        "UnitOfMeasure",
        "sic-unofficial",
        "UnofficialStandardIndustrialClassification",
    ]
    areas = [*REGIONS, (UK_CODE, UK_CODE, UK_NAME)]
    rows = []
    for year in range(latest - 14, latest + 1):
        for code, gss, name in areas:
            per_head = GDP_PER_HEAD_2023[gss] * 1.035 ** (year - 2023) * (0.91 if year == 2020 else 1.0)
            per_head *= 1 + 0.02 * (unit_hash("gdp", gss, str(year)) - 0.5)
            total = per_head * (1_000_000 + 9_000_000 * unit_hash("people", gss)) / 1e6
            for unit, unit_label, value in (
                ("pounds-per-head", "£ per head", round(per_head)),
                ("pounds-million", "£ million, current prices", round(total)),
            ):
                rows.append(
                    [
                        _number(value),
                        "",
                        str(year),
                        str(year),
                        code,
                        name,
                        unit,
                        unit_label,
                        "A--T",
                        "A-T: All industries",
                    ]
                )
    return CmdVersion(
        "Regional gross domestic product by year", latest - 2018, dt.date(latest + 2, 4, 24), header, rows
    )


def _wellbeing(today: dt.date, names: dict[str, str]) -> CmdVersion:
    latest = latest_wellbeing_year_end(today)
    header = [
        "V4_3",
        "Data Marking",
        "Lower limit",
        "Upper limit",
        "yyyy-yy",
        "Time",
        "admin-geography",
        "Geography",
        "measure-of-wellbeing",
        "MeasureOfWellbeing",
        "wellbeing-estimate",
        "WellbeingEstimate",
    ]
    areas = {UK_CODE: UK_NAME, **{gss: name for _, gss, name in REGIONS}}
    # Combined authorities are not an ONS well-being geography; every other named area is.
    areas.update({code: name for code, name in names.items() if not code.startswith("E47")})
    large = {UK_CODE, "E92000001", *(gss for _, gss, _ in REGIONS)}
    rows = []
    for end in range(latest - 9, latest + 1):
        period = f"{end - 1}-{end % 100:02d}"
        for code, name in areas.items():
            for measure, label, base in (
                ("life-satisfaction", "Life satisfaction", 7.5),
                ("happiness", "Happiness", 7.4),
            ):
                row = [period, period, code, name, measure, label, "average-mean", "Average (mean)"]
                if code not in large and end < latest and unit_hash("wb-x", code, period, measure) < 0.04:
                    rows.append(["", "x", "", "", *row])
                    continue
                level = LIFE_SATISFACTION.get(code) if measure == "life-satisfaction" else None
                if level is None:
                    level = base + 0.4 * (unit_hash("wb", code, measure) - 0.5)
                value = level + 0.1 * (unit_hash("wb", code, period) - 0.5)
                value -= 0.2 if period == "2020-21" else 0.0
                half = 0.03 if code in large else 0.08 + 0.12 * unit_hash("wb-ci", code, period)
                rows.append([f"{value:.2f}", "", f"{value - half:.2f}", f"{value + half:.2f}", *row])
    return CmdVersion(
        "Personal well-being estimates by local authority",
        latest - 2019,
        dt.date(latest, 10, 23),
        header,
        rows,
    )


def _job_adverts(today: dt.date, names: dict[str, str]) -> CmdVersion:
    latest = samples.month_index(latest_adverts_month(today))
    base = samples.month_index(dt.date(2020, 2, 1))
    header = ["V4_0", "mmm-yy", "Time", "itl", "Geography", "adzuna-jobs-category", "AdzunaJobsCategory"]
    areas = [*REGIONS, (UK_CODE, UK_CODE, UK_NAME)]
    rows = []
    for index in range(latest - 59, latest + 1):
        label = samples.month_at(index).strftime("%b-%y")
        for code, gss, name in areas:
            for category, category_label, scale in (
                ("total", "Total", 1.0),
                ("it-computing", "IT / Computing", 0.8),
            ):
                level = (
                    samples.interpolate(ADVERTS_PATH, index - base)
                    * scale
                    * (0.9 + 0.2 * unit_hash("ads", gss))
                )
                value = round(level + 2 * (unit_hash("ads", gss, label, category) - 0.5), 1)
                rows.append([_number(value), label, label, code, name, category, category_label])
    release = samples.month_at(latest + 1).replace(day=8)
    return CmdVersion(
        "Online job advert estimates",
        latest - samples.month_index(dt.date(2024, 1, 1)) + 1,
        release,
        header,
        rows,
    )


CMD_DATASETS: dict[str, Callable[[dt.date, dict[str, str]], CmdVersion]] = {
    "regional-gdp-by-year": _regional_gdp,
    "wellbeing-local-authority": _wellbeing,
    "online-job-advert-estimates": _job_adverts,
}


def route(
    path: str, query: dict[str, str], *, today: dt.date, names: dict[str, str], base_url: str
) -> Reply | None:
    """The emulated answer for an ONS API / website path, or None when the path is not one of theirs."""
    base_url = base_url.rstrip("/")
    if path == RELEASES_ROUTE:
        return _releases(query, today)
    if m := DATASET_ROUTE.fullmatch(path):
        return _api(m[1], m[2], m[3], m[4], today, names, base_url)
    if m := DOWNLOAD_ROUTE.fullmatch(path):
        version = _version_of(m[1], m[2], m[3], today, names)
        return version if isinstance(version, Reply) else Reply(200, version.csv(), CSV_TYPE)
    if m := TIMESERIES_ROUTE.fullmatch(path):
        return _time_series(m[1], m[2], m[3], today)
    return None


def _version_of(
    dataset: str, edition: str, number: str, today: dt.date, names: dict[str, str]
) -> CmdVersion | Reply:
    if dataset not in CMD_DATASETS:
        return Reply(404, b"dataset not found\n")
    version = CMD_DATASETS[dataset](today, names)
    if edition != EDITION:
        return Reply(404, b"edition not found\n")
    if int(number) != version.version:
        return Reply(404, b"version not found\n")
    return version


def _json(document: object) -> Reply:
    return Reply(200, json.dumps(document, indent=2).encode(), JSON_TYPE)


def _api(
    dataset: str,
    editions: str | None,
    edition: str | None,
    number: str | None,
    today: dt.date,
    names: dict[str, str],
    base_url: str,
) -> Reply:
    if dataset not in CMD_DATASETS:
        return Reply(404, b"dataset not found\n")
    latest = CMD_DATASETS[dataset](today, names)
    dataset_url = f"{base_url}/v1/datasets/{dataset}"
    edition_url = f"{dataset_url}/editions/{EDITION}"
    latest_link = {"href": f"{edition_url}/versions/{latest.version}", "id": str(latest.version)}
    edition_document = {
        "edition": EDITION,
        "state": "published",
        "links": {
            "dataset": {"href": dataset_url, "id": dataset},
            "latest_version": latest_link,
            "self": {"href": edition_url},
            "versions": {"href": f"{edition_url}/versions"},
        },
    }
    if not editions:
        return _json(
            {
                "id": dataset,
                "title": latest.title,
                "state": "published",
                "links": {
                    "editions": {"href": f"{dataset_url}/editions"},
                    "latest_version": latest_link,
                    "self": {"href": dataset_url},
                },
            }
        )
    if edition is None:
        return _json({"items": [edition_document], "count": 1, "offset": 0, "limit": 20, "total_count": 1})
    if number is None:
        return _json(edition_document) if edition == EDITION else Reply(404, b"edition not found\n")
    version = _version_of(dataset, edition, number, today, names)
    if isinstance(version, Reply):
        return version
    body = version.csv()
    download = f"{base_url}/downloads/datasets/{dataset}/editions/{EDITION}/versions/{version.version}"
    pairs = version.header[1 + int(version.header[0].removeprefix("V4_")) :]
    return _json(
        {
            "id": f"{dataset}-{EDITION}-{version.version}",
            "dataset_id": dataset,
            "edition": EDITION,
            "version": version.version,
            "state": "published",
            "release_date": f"{version.release_date.isoformat()}T00:00:00.000Z",
            "dimensions": [
                {"id": code, "name": label.lower(), "label": label}
                for code, label in zip(pairs[::2], pairs[1::2], strict=True)
            ],
            "downloads": {"csv": {"href": f"{download}.csv", "size": str(len(body))}},
            "links": {
                "dataset": {"href": dataset_url, "id": dataset},
                "edition": {"href": edition_url, "id": EDITION},
                "self": {"href": f"{edition_url}/versions/{version.version}"},
            },
        }
    )


def _time_series(topic: str, cdid: str, dataset: str, today: dt.date) -> Reply:
    known = TIME_SERIES.get((cdid, dataset))
    if known is None or known[1] != topic:
        return Reply(
            404, b"<html><body><h1>404 Page not found</h1></body></html>", "text/html; charset=utf-8"
        )
    title = known[0]
    latest = samples.month_index(latest_cpi_month(today))
    first = samples.month_index(dt.date(2015, 1, 1))
    path = tuple((samples.month_index(dt.date(year, month, 1)), rate) for year, month, rate in CPI_PATH)
    rates = {}
    for index in range(first, latest + 1):
        month = samples.month_at(index)
        cpi = samples.interpolate(path, index)
        rate = cpi if cdid == "d7g7" else 0.85 * cpi + 0.5
        rates[month] = round(rate + 0.2 * (unit_hash("cpi", cdid, month.isoformat()) - 0.5), 1)
    months = [
        {
            "date": f"{m.year} {m.strftime('%b').upper()}",
            "value": f"{v:.1f}",
            "year": str(m.year),
            "month": m.strftime("%B"),
            "quarter": "",
        }
        for m, v in rates.items()
    ]
    quarters, years = [], []
    for year in range(2015, samples.month_at(latest).year + 1):
        for q in range(1, 5):
            values = [rates.get(dt.date(year, 3 * q - 2 + i, 1)) for i in range(3)]
            if None not in values:
                quarters.append(
                    {
                        "date": f"{year} Q{q}",
                        "value": f"{sum(values) / 3:.1f}",
                        "year": str(year),
                        "month": "",
                        "quarter": f"Q{q}",
                    }
                )
        values = [rates.get(dt.date(year, m, 1)) for m in range(1, 13)]
        if None not in values:
            years.append(
                {
                    "date": str(year),
                    "value": f"{sum(values) / 12:.1f}",
                    "year": str(year),
                    "month": "",
                    "quarter": "",
                }
            )
    released = _at_seven(_cpi_release(samples.month_at(latest)))
    next_release = _cpi_release(samples.month_at(latest + 1))
    return _json(
        {
            "description": {
                "title": title,
                "cdid": cdid.upper(),
                "datasetId": dataset.upper(),
                "unit": "%",
                "releaseDate": _utc_stamp(released),
                "nextRelease": f"{next_release.day} {next_release:%B %Y}",
            },
            "years": years,
            "quarters": quarters,
            "months": months,
        }
    )


def _at_seven(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(7, 0), tzinfo=LONDON)


def _utc_stamp(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as the ONS APIs write timestamps."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _calendar(start: dt.date, end: dt.date) -> Iterator[tuple[dt.datetime, str, str]]:
    """(release moment, title, uri) of the illustrative releases dated from start to end."""
    for index in range(samples.month_index(start) - 1, samples.month_index(end) + 1):
        month = samples.month_at(index)
        name = f"{month:%B} {month.year}"
        slug = f"{month:%B}{month.year}".lower()
        yield (
            _at_seven(_cpi_release(month)),
            f"Consumer price inflation, UK: {name}",
            f"/releases/consumerpriceinflationuk{slug}",
        )
        following = samples.month_at(index + 1)
        yield (
            _at_seven(_nth_weekday(following.year, following.month, calendar.TUESDAY, 2)),
            f"Labour market overview, UK: {following:%B} {following.year}",
            f"/releases/labourmarketoverviewuk{following:%B}{following.year}".lower(),
        )
        if following.month == 4:
            year = following.year - 2
            yield (
                dt.datetime.combine(dt.date(following.year, 4, 24), dt.time(9, 30), tzinfo=LONDON),
                f"Regional economic activity by gross domestic product, UK: 1998 to {year}",
                f"/releases/regionaleconomicactivitybygrossdomesticproductuk1998to{year}",
            )
        if following.month == 10:
            year = following.year
            yield (
                dt.datetime.combine(dt.date(year, 10, 23), dt.time(9, 30), tzinfo=LONDON),
                f"Personal well-being in the UK: April {year - 1} to March {year}",
                f"/releases/personalwellbeingintheukapril{year - 1}tomarch{year}",
            )


def _releases(query: dict[str, str], today: dt.date) -> Reply:
    try:
        start = dt.date.fromisoformat(query.get("fromDate", today.isoformat()))
        end = dt.date.fromisoformat(query.get("toDate", (today + dt.timedelta(days=90)).isoformat()))
        limit = int(query.get("limit", "10"))
        offset = int(query.get("offset", "0"))
    except ValueError as error:
        return Reply(400, f"invalid parameter: {error}".encode())
    kind = query.get("release-type", "type-upcoming")
    words = query.get("query", "").lower()
    chosen = sorted(
        (when, title, uri)
        for when, title, uri in _calendar(start, end)
        if start <= when.date() <= end and words in title.lower()
    )
    published = [(when.date() <= today) for when, _, _ in chosen]
    wanted = {"type-upcoming": False, "type-published": True}
    if kind not in {*wanted, "type-cancelled"}:
        return Reply(400, f"invalid release-type {kind!r}".encode())
    selected = [item for item, done in zip(chosen, published, strict=True) if wanted.get(kind) is done]
    page = selected[offset : offset + limit]
    return _json(
        {
            "took": 1,
            "limit": limit,
            "offset": offset,
            "breakdown": {
                "total": len(selected),
                "provisional": 0,
                "confirmed": published.count(False),
                "postponed": 0,
                "published": published.count(True),
                "cancelled": 0,
                "census": 0,
            },
            "releases": [
                {
                    "uri": uri,
                    "description": {
                        "title": title,
                        "summary": "",
                        "release_date": _utc_stamp(when),
                        "published": when.date() <= today,
                        "cancelled": False,
                        "finalised": True,
                        "postponed": False,
                        "census": False,
                        "national_statistic": True,
                    },
                    "date_changes": [],
                }
                for when, title, uri in page
            ],
        }
    )
