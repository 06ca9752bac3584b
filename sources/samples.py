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
    "E08000025": 745_000, "E08000026": 242_000, "E08000027": 196_000, "E08000028": 212_000,
    "E08000029": 131_000, "E08000030": 177_000, "E08000031": 171_000,
    "E12000005": 3_720_000, "E92000001": 36_100_000, "K02000001": 42_900_000,
}  # fmt: skip
CLAIMANT_RATE = {
    "E08000025": 8.1, "E08000026": 4.6, "E08000027": 4.7, "E08000028": 6.4, "E08000029": 3.2,
    "E08000030": 5.8, "E08000031": 7.2, "E12000005": 4.8, "E92000001": 4.0, "K02000001": 3.9,
}  # fmt: skip


def _unit_hash(*parts: str) -> float:
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
    base = RESIDENTS_16_64.get(code) or int(150_000 + 250_000 * _unit_hash("pop", code))
    return int(round(base * (1.004 ** (year - 2024)), -1))


def claimant_rate(code: str, month: dt.date) -> float:
    """Level for the area, doubled in spring 2020 then easing back, with a little wobble."""
    level = CLAIMANT_RATE.get(code) or 2.5 + 5.0 * _unit_hash("rate", code)
    months = (month.year - 2020) * 12 + month.month - 3
    shock = 0.0 if months < 0 else 0.9 * math.exp(-months / 14.0)
    wobble = 0.04 * math.sin(months / 2.0 + 7 * _unit_hash("phase", code))
    return level * (0.8 + shock) + wobble


def claimant_count(code: str, month: dt.date) -> int:
    year = month.year if month.month >= 7 else month.year - 1
    return int(round(claimant_rate(code, month) / 100 * residents_16_64(code, year), -1))
