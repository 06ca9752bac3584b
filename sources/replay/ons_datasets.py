"""ONS dataset pages and their workbooks, emulated: the PAYE RTI landing page and `rtisa<mon><yyyy>.xlsx`.

The workbook has the real layout (`sources.ons_datasets`: codes on row 6, names on row 7, months from
row 8, the UK column without a code) with the sheets the monitor reads and an Index. Values are
illustrative: levels anchored on the real February 2026 workbook's January 2026 figures, a path
through the pandemic dip, the councils adding up to the WMCA area (NUTS2 UKG3) exactly, the UK the
sum of its regions. The newest month is a flash estimate: next month's workbook revises it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from openpyxl import Workbook

from sources.ons_datasets import NUTS_AREAS
from sources.replay import samples
from sources.replay.govuk import deterministic_xlsx
from sources.replay.reply import Reply

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HTML_TYPE = "text/html; charset=utf-8"
RTI_LANDING = (
    "/employmentandlabourmarket/peopleinwork/earningsandworkinghours/datasets/"
    "realtimeinformationstatisticsreferencetableseasonallyadjusted"
)
FIRST_MONTH = dt.date(2014, 7, 1)
# January 2026, from the real workbook (sheets 7 and 15; WMCA area = the sum of its councils).
EMPLOYEES_JAN_2026 = {
    "E12000001": 1_124_025,
    "E12000002": 3_315_980,
    "E12000003": 2_400_492,
    "E12000004": 2_206_908,
    "E12000006": 2_899_544,
    "E12000007": 4_353_778,
    "E12000008": 4_272_234,
    "E12000009": 2_509_015,
    "W92000004": 1_311_423,
    "S92000003": 2_450_706,
    "N92000002": 818_662,
    "E08000025": 465_427,
    "E08000029": 96_612,
    "E08000026": 166_539,
    "E08000027": 139_483,
    "E08000028": 146_469,
    "E08000030": 118_576,
    "E08000031": 118_201,
    "E47000001": 1_296_383,
}
REST_OF_REGION_JAN_2026 = 2_615_834 - 1_251_306  # the West Midlands outside the WMCA area
MEDIAN_PAY_JAN_2026 = {
    "K02000001": 2588,
    "E12000001": 2447,
    "E12000002": 2486,
    "E12000003": 2429,
    "E12000004": 2475,
    "E12000005": 2467,
    "E12000006": 2644,
    "E12000007": 3031,
    "E12000008": 2728,
    "E12000009": 2483,
    "W92000004": 2462,
    "S92000003": 2612,
    "N92000002": 2443,
    "E47000001": 2476,
    "E47000007": 2414,
    "E08000025": 2382,
    "E08000029": 2699,
    "E08000026": 2486,
    "E08000027": 2448,
    "E08000028": 2331,
    "E08000030": 2372,
    "E08000031": 2375,
}
# Payrolled employees relative to January 2026: growth to 2020, the spring 2020 fall, the recovery.
EMPLOYEES_PATH = (
    (2014.5, 0.885),
    (2020.1, 0.962),
    (2020.4, 0.935),
    (2020.9, 0.94),
    (2021.8, 0.978),
    (2023.0, 0.995),
    (2024.6, 1.004),
    (2026.0, 1.0),
    (2030.0, 1.01),
)
PAY_PATH = (
    (2014.5, 0.618),
    (2020.0, 0.745),
    (2020.4, 0.74),
    (2021.5, 0.785),
    (2023.0, 0.872),
    (2024.0, 0.925),
    (2025.0, 0.965),
    (2026.0, 1.0),
    (2030.0, 1.16),
)
SHEETS = (
    ("7", "Employees (NUTS1)", "Payrolled employees", "Payrolled employees", ("region", "uk")),
    ("8", "Median pay (NUTS1)", "Median pay", "£ per month", ("region", "uk")),
    ("11", "Employees (NUTS2)", "Payrolled employees", "Payrolled employees", ("nuts2", "uk")),
    ("12", "Median pay (NUTS2)", "Median pay", "£ per month", ("nuts2", "uk")),
    ("15", "Employees (NUTS3)", "Payrolled employees", "Payrolled employees", ("nuts3", "uk")),
    ("16", "Median pay (NUTS3)", "Median pay", "£ per month", ("nuts3", "uk")),
)
WMCA_COUNCILS = ("E08000025", "E08000029", "E08000026", "E08000027", "E08000028", "E08000030", "E08000031")


def route(
    path: str, query: dict[str, str], *, today: dt.date, names: dict[str, str], base_url: str
) -> Reply | None:
    """The landing page or the current workbook, or None when the path is not one of these."""
    latest = samples.latest_claimant_month(today)  # RTI: labour-market day, as the claimant count
    release = samples.month_index(latest) + 1
    name = f"rtisa{samples.month_at(release).strftime('%b%Y').lower()}.xlsx"
    if path == RTI_LANDING:
        link = f"/file?uri={RTI_LANDING}/current/{name}"
        page = (
            "<!DOCTYPE html><html lang='en'><head><title>Earnings and employment from PAYE Real Time "
            "Information, seasonally adjusted</title></head><body><main>"
            f'<a href="/file?uri={RTI_LANDING}/current/accessibleexample{name}">Accessible example</a>'
            f'<a href="{link}">xlsx (illustrative)</a></main></body></html>'
        )
        return Reply(200, page.encode(), HTML_TYPE)
    if path == "/file" and query.get("uri") == f"{RTI_LANDING}/current/{name}":
        return Reply(200, workbook(latest), XLSX_TYPE)
    return None


def workbook(latest: dt.date) -> bytes:
    """The workbook released the month after `latest` (its newest month, a flash estimate)."""
    months = [
        samples.month_at(i) for i in range(samples.month_index(FIRST_MONTH), samples.month_index(latest) + 1)
    ]

    def value(kind: str, gss: str, month: dt.date) -> int:
        level = _employees if kind == "Payrolled employees" else _median_pay
        return level(gss, month, month == latest)

    return rti_workbook(samples.month_at(samples.month_index(latest) + 1), months, value)


def rti_workbook(
    release: dt.date, months: list[dt.date], value: Callable[[str, str, dt.date], float]
) -> bytes:
    """A workbook in the layout of the RTI reference tables: an Index naming the release and its date
    of publication, and the NUTS sheets the monitor reads, `value(kind, gss, month)` in each cell
    (kind "Payrolled employees" or "Median pay"); the newest month is named an early estimate."""
    book = Workbook(write_only=True)
    index = book.create_sheet("Index")
    index.append([f"Earnings and employment from Pay As You Earn Real Time Information, UK: {release:%B %Y}"])
    index.append([f"Date of publication: {_labour_market_day(release):%-d %B %Y}"])
    index.append(["Illustrative figures; not official statistics."])
    index.append(
        [f"1. Figures for {months[-1]:%B %Y} are early estimates and are more likely to be revised."]
    )
    for number, title, kind, units, levels in SHEETS:
        sheet = book.create_sheet(f"{number}. {title}")
        columns = [code for code in NUTS_AREAS if code and _level(code) in levels]
        columns.append("")  # the UK, last and without a code
        sheet.append([f"{number}. {kind} from PAYE RTI"])
        sheet.append(["All industries, seasonally adjusted"])
        sheet.append([])
        sheet.append(["Units", units])
        sheet.append([])
        sheet.append(["", *columns])
        sheet.append(["Date", *(NUTS_AREAS[code][1] for code in columns)])
        for month in months:
            sheet.append([f"{month:%B %Y}", *(value(kind, NUTS_AREAS[code][0], month) for code in columns)])
    return deterministic_xlsx(book)


def _level(code: str) -> str:
    return {0: "uk", 3: "region", 4: "nuts2", 5: "nuts3"}[len(code)]


def _employees(gss: str, month: dt.date, flash: bool) -> int:
    if gss == "K02000001":
        return sum(_employees(code, month, flash) for code in (*_regions(), "E12000005"))
    if gss == "E12000005":
        rest = _path(EMPLOYEES_PATH, "rest-of-wm", month, flash) * REST_OF_REGION_JAN_2026
        return _employees("E47000007", month, flash) + round(rest)
    if gss == "E47000007":
        return sum(_employees(code, month, flash) for code in WMCA_COUNCILS)
    return round(_path(EMPLOYEES_PATH, gss, month, flash) * EMPLOYEES_JAN_2026[gss])


def _median_pay(gss: str, month: dt.date, flash: bool) -> int:
    return round(_path(PAY_PATH, "pay" + gss, month, flash) * MEDIAN_PAY_JAN_2026[gss])


def _regions() -> list[str]:
    return [gss for code, (gss, _) in NUTS_AREAS.items() if len(code) == 3 and gss != "E12000005"]


def _path(points: tuple[tuple[float, float], ...], key: str, month: dt.date, flash: bool) -> float:
    """The shared path, an area's own drift (±1% over the series) and noise; a flash estimate a
    little off the figure next month's workbook gives for the same month."""
    x = month.year + (month.month - 1) / 12
    level = samples.interpolate(points, x)
    drift = 1 + (samples.unit_hash("rti-drift", key) - 0.5) * 0.02 * (x - 2026)
    noise = 1 + (samples.unit_hash("rti-noise", key, month.isoformat()) - 0.5) * 0.002
    revision = 1 + (samples.unit_hash("rti-flash", key, month.isoformat()) - 0.5) * 0.004 if flash else 1
    return level * drift * noise * revision


def _labour_market_day(month: dt.date) -> dt.date:
    """The third Tuesday of the month (illustrative rule)."""
    first = month.replace(day=1)
    return first + dt.timedelta(days=(1 - first.weekday()) % 7 + 14)


# --- business demography, quarterly: the low-level geographic breakdown ----------------------------

DEMOGRAPHY_LANDING = (
    "/businessindustryandtrade/business/activitysizeandlocation/datasets/"
    "businessdemographyquarterlyexperimentalstatisticslowlevelgeographicbreakdownuk"
)
FIRST_QUARTER = (2017, 1)
# Births in Q1 2022, from the real Q2 2023 edition (the WMCA councils, the region's rest, England's
# rest, the rest of the UK; the births ONS puts in its `Unspecified` row).
BIRTHS_Q1_2022 = {
    "E08000025": 2050,
    "E08000026": 675,
    "E08000027": 415,
    "E08000028": 525,
    "E08000029": 270,
    "E08000030": 410,
    "E08000031": 505,
}
REST_BIRTHS_Q1_2022 = {"region": 3820, "england": 80_265, "uk": 10_670}
UNSPECIFIED_BIRTHS_Q1_2022 = 1805
SEASON = {1: 1.15, 2: 1.0, 3: 0.82, 4: 0.88}
# Births and deaths relative to 2022, by year: the 2020 fall in births, the 2021 rebound, the
# deaths of 2022-23 as support schemes ended.
BIRTHS_PATH = ((2017.0, 0.96), (2020.1, 0.92), (2020.4, 0.78), (2021.0, 1.12), (2022.0, 1.0), (2023.5, 0.9))
DEATHS_PATH = ((2017.0, 0.82), (2020.0, 0.9), (2021.0, 0.88), (2022.0, 1.0), (2023.0, 1.08), (2025.0, 0.98))
REVISED_QUARTERS = 2  # an edition's newest quarters are early estimates, revised in the next ones


QUARTER_FOLDERS = {1: "januarytomarch", 2: "apriltojune", 3: "julytoseptember", 4: "octobertodecember"}
UNSPECIFIED = "U99999999 : Unspecified"


def latest_demography_quarter(today: dt.date) -> tuple[int, int]:
    """The newest quarter out: quarter Q comes out on the 28th of the month after it (illustrative)."""
    year, quarter = today.year, (today.month - 1) // 3 + 1
    while _demography_release((year, quarter)) > today:
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return year, quarter


def _demography_release(quarter: tuple[int, int]) -> dt.date:
    following = samples.month_at(samples.month_index(dt.date(quarter[0], 3 * quarter[1], 1)) + 1)
    return following.replace(day=28)


def demography_route(
    path: str, query: dict[str, str], *, today: dt.date, names: dict[str, str], members: dict
) -> Reply | None:
    """The dataset page, or its newest edition's workbook, or None when the path is neither."""
    year, quarter = latest_demography_quarter(today)
    name = f"finalq{quarter}{year}lowlevelgeobreakdown.xlsx"
    folder = f"{DEMOGRAPHY_LANDING}/quarter{quarter}{QUARTER_FOLDERS[quarter]}{year}"
    if path == DEMOGRAPHY_LANDING:
        page = (
            "<!DOCTYPE html><html lang='en'><head><title>Business demography, quarterly experimental "
            "statistics, low-level geographic breakdown, UK</title></head><body><main>"
            f'<a href="/file?uri={folder}/{name}">Quarter {quarter} {year} edition (xlsx, illustrative)'
            "</a></main></body></html>"
        )
        return Reply(200, page.encode(), HTML_TYPE)
    if path == "/file" and query.get("uri") == f"{folder}/{name}":
        return Reply(200, demography_workbook((year, quarter), names, members), XLSX_TYPE)
    return None


def demography_workbook(edition: tuple[int, int], names: dict[str, str], members: dict) -> bytes:
    """The low-level breakdown of the edition for quarter `edition`: Contents (with its date of
    publication), then births and deaths by area, each split over two sheets by years, in the real
    layout; the UK, Great Britain, England and Wales, England, the regions and councils named in
    `names`, and the Unspecified row. Every total is the sum of its parts (and the UK's includes the
    Unspecified births and deaths, as ONS's does)."""
    quarters = []
    year, quarter = FIRST_QUARTER
    while (year, quarter) <= edition:
        quarters.append((year, quarter))
        year, quarter = (year, quarter + 1) if quarter < 4 else (year + 1, 1)
    recent = set(quarters[-REVISED_QUARTERS:])
    released = _demography_release(edition)
    book = Workbook(write_only=True)
    contents = book.create_sheet("Contents")
    contents.append(
        [
            "Geographic Breakdown of Business demography, quarterly experimental statistics, UK: "
            f"Quarter 1 2017 to Quarter {edition[1]} {edition[0]}"
        ]
    )
    contents.append(["This worksheet contains a contents table"])
    contents.append(
        ["Source: Office for National Statistics (illustrative figures, not official statistics)"]
    )
    contents.append([f"Date published: {released.day}th {released:%B %Y}"])
    areas = [c for c in names if c[:3] in ("E12", "E06", "E07", "E08", "E09")]
    split = [q for q in quarters if q[0] < 2022], [q for q in quarters if q[0] >= 2022]
    for kind, label in (("Births", "births"), ("Deaths", "deaths")):
        for part in split:
            if not part:
                continue
            years = f"{part[0][0]}-{part[-1][0]}" if part[0][0] != part[-1][0] else str(part[0][0])
            sheet = book.create_sheet(f"{kind} {years}")
            sheet.append(
                [
                    f"Count of business {label}, breakdown by district, counties and unitary authorities "
                    f"within region and country, Quarter {part[0][1]} {part[0][0]} to Quarter {part[-1][1]} "
                    f"{part[-1][0]}"
                ]
            )
            sheet.append(["This worksheet contains one table"])
            sheet.append(["Units: Counts (control rounded to base 5)"])
            sheet.append(["Geography", *(f"Q{q} {y}" for y, q in part)])

            def count(code: str, q: tuple[int, int], kind: str = kind) -> int:
                return _total(code, q, kind, members, q in recent, edition)

            england = [count("E92000001", q) for q in part]
            rows = [
                ("UK : United Kingdom", [count("K02000001", q) for q in part]),
                ("GB : Great Britain", [5 * round(count("K02000001", q) * 0.965 / 5) for q in part]),
                ("EW : England and Wales", [5 * round(e * 1.04 / 5) for e in england]),
                ("E92000001 : England", england),
                *((f"{c} : {names[c]}", [count(c, q) for q in part]) for c in areas),
                (UNSPECIFIED, [_leaf("unspecified", q, kind, q in recent, edition) for q in part]),
            ]
            for label_cell, values in rows:
                sheet.append([label_cell, *values])
    return deterministic_xlsx(book)


def _total(code: str, q: tuple[int, int], kind: str, members: dict, early: bool, edition: tuple) -> int:
    """An area's count: the sum of its parts where the area set says what it is made of; the UK's
    also counts the Unspecified births and deaths, as ONS's total does."""
    if code in members:
        value = sum(_total(part, q, kind, members, early, edition) for part in members[code])
    else:
        value = _leaf(code, q, kind, early, edition)
    return value + (_leaf("unspecified", q, kind, early, edition) if code == "K02000001" else 0)


def _leaf(code: str, q: tuple[int, int], kind: str, early: bool, edition: tuple) -> int:
    """One area's (or rest's) count: its Q1 2022 level, the season, the year's path, noise; an
    early estimate a little off the value later editions give."""
    if code == "unspecified":
        base = UNSPECIFIED_BIRTHS_Q1_2022
    elif code.startswith(samples.REST_PREFIX):
        base = REST_BIRTHS_Q1_2022[code.removeprefix(samples.REST_PREFIX).split("-", 1)[0]]
    elif code.startswith("E12"):
        base = 4000 + 8000 * samples.unit_hash("bd-region", code)
    else:
        base = BIRTHS_Q1_2022.get(code) or 150 + 550 * samples.unit_hash("bd", code)
    if kind == "Deaths":
        base *= 0.9 + 0.25 * samples.unit_hash("bd-deaths", code)
    x = q[0] + (q[1] - 1) / 4
    level = (
        samples.interpolate(BIRTHS_PATH if kind == "Births" else DEATHS_PATH, x) * SEASON[q[1]] / SEASON[1]
    )
    noise = 1 + (samples.unit_hash("bd-noise", kind, code, str(q)) - 0.5) * 0.12
    revision = (
        1 + (samples.unit_hash("bd-rev", kind, code, str(q), str(edition)) - 0.5) * 0.06 if early else 1
    )
    return 5 * round(base * level * noise * revision / 5)
