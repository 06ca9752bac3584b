"""Illustrative sample data for the demo, served in each publisher's exact format.

The values are ILLUSTRATIVE, not official statistics: a deterministic pattern per area (a level,
the 2020 pandemic jump and a slow return) so that every run of the demo gives the same figures.
Periods follow today's date, so the demo never goes stale.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

# Rough orders of magnitude for the areas the packaged area files name; any other area gets a
# level derived from its code, so a custom area file still has a complete demo.
RESIDENTS_16_64 = {
    "E08000025": 745_000,
    "E08000026": 242_000,
    "E08000027": 196_000,
    "E08000028": 212_000,
    "E08000029": 131_000,
    "E08000030": 177_000,
    "E08000031": 171_000,
    "E12000005": 3_720_000,
    "E92000001": 36_100_000,
    "K02000001": 42_900_000,
}
CLAIMANT_RATE = {
    "E08000025": 8.1,
    "E08000026": 4.6,
    "E08000027": 4.7,
    "E08000028": 6.4,
    "E08000029": 3.2,
    "E08000030": 5.8,
    "E08000031": 7.2,
    "E12000005": 4.8,
    "E92000001": 4.0,
    "K02000001": 3.9,
}


def unit_hash(*parts: str) -> float:
    """A stable number in [0, 1) from the given strings."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def latest_claimant_month(today: dt.date) -> dt.date:
    """The claimant count for month M comes out in the middle of month M+1."""
    back = 1 if today.day >= 15 else 2
    month_index = today.year * 12 + today.month - 1 - back
    return dt.date(month_index // 12, month_index % 12 + 1, 1)


def latest_population_year(today: dt.date) -> int:
    """Mid-year estimates for year Y come out in the summer of Y+1."""
    return today.year - 1 if today.month >= 8 else today.year - 2


def residents_16_64(code: str, year: int) -> int:
    base = RESIDENTS_16_64.get(code) or int(150_000 + 250_000 * unit_hash("pop", code))
    return int(round(base * (1.004 ** (year - 2024)), -1))


def claimant_rate(code: str, month: dt.date) -> float:
    """Level for the area, doubled in spring 2020 then easing back, with a little wobble."""
    level = CLAIMANT_RATE.get(code) or 2.5 + 5.0 * unit_hash("rate", code)
    months = (month.year - 2020) * 12 + month.month - 3
    shock = 0.0 if months < 0 else 0.9 * math.exp(-months / 14.0)
    wobble = 0.04 * math.sin(months / 2.0 + 7 * unit_hash("phase", code))
    return level * (0.8 + shock) + wobble


def claimant_count(code: str, month: dt.date) -> int:
    year = month.year if month.month >= 7 else month.year - 1
    return int(round(claimant_rate(code, month) / 100 * residents_16_64(code, year), -1))


def quarter_ends(today: dt.date, count: int = 16) -> list[dt.date]:
    """APS periods: 12-month windows ending in March, June, September, December, ~4 months late."""
    index = today.year * 12 + today.month - 1 - 4
    index -= (index % 12 + 1) % 3
    return [dt.date((i) // 12, i % 12 + 1, 1) for i in range(index - 3 * (count - 1), index + 1, 3)]


def residents_18_24(code: str, year: int) -> int:
    return int(round(residents_16_64(code, year) * (0.14 + 0.04 * unit_hash("young", code)), -1))


def residents_all_ages(code: str, year: int) -> int:
    return int(round(residents_16_64(code, year) / (0.60 + 0.04 * unit_hash("all", code)), -1))


def youth_claimant_count(code: str, month: dt.date) -> int:
    return int(round(claimant_count(code, month) * (0.17 + 0.03 * unit_hash("youth", code)), -1))


def aps_rate(code: str, variable: str, period: dt.date) -> float:
    """APS rates in per cent: employment ~62-78, unemployment ~3-9, inactivity ~18-33."""
    base = {"45": 62.0, "83": 3.0, "111": 18.0}[variable]
    spread = {"45": 16.0, "83": 6.0, "111": 15.0}[variable]
    months = (period.year - 2020) * 12 + period.month
    return base + spread * unit_hash("aps", variable, code) + 0.6 * math.sin(months / 5 + unit_hash(code))


def median_weekly_pay(code: str, year: int, place: str) -> float:
    """Gross weekly pay of full-time workers, £: around £600-£800, growing ~5% a year."""
    level = 600 + 200 * unit_hash("pay", place, code)
    return round(level * 1.05 ** (year - 2024), 1)


def enterprises(code: str, year: int) -> int:
    return int(round(residents_16_64(code, year) * (0.045 + 0.02 * unit_hash("ent", code)), -1))


def employees(code: str, year: int) -> int:
    return int(round(residents_16_64(code, year) * (0.65 + 0.25 * unit_hash("bres", code)), -3))


def total_jobs(code: str, year: int) -> int:
    return int(round(employees(code, year) * 1.16, -3))
