"""ONS dataset pages and their workbooks, emulated: the PAYE RTI landing page and `rtisa<mon><yyyy>.xlsx`.

The workbook has the real layout (`sources.ons_datasets`: codes on row 6, names on row 7, months from
row 8, the UK column without a code) with the sheets the monitor reads and an Index. Values are
illustrative: levels anchored on the real February 2026 workbook's January 2026 figures, a path
through the pandemic dip, the councils adding up to the WMCA area (NUTS2 UKG3) exactly, the UK the
sum of its regions. The newest month is a flash estimate: next month's workbook revises it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

from openpyxl import Workbook

from sources.ons_datasets import NUTS_AREAS
from sources.replay import samples
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
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


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
