"""Illustrative sample data for the demo, served in each publisher's exact format.

The values are ILLUSTRATIVE, not official statistics, but they add up as the real ones do: each
council's values are generated, and every aggregate the publisher also publishes (a combined
authority, the region, England, the UK) is the sum of its parts (counts) or the ratio of the sums
of its parts (rates). The region is the focus area's neighbourhood of named councils plus the rest
of the region, England the region plus the rest of England, the UK England plus the rest of the UK,
each "rest" a part of its own (`rest_code`). Rates that belong together are coherent: the
employment, inactivity and unemployed shares of residents aged 16 to 64 make 100%. The claimant
rate rises from March 2020 to about twice its later level and falls back over 2021 and 2022, as
the real series did; levels are anchored on published figures (the WMCA's claimant rate of about 5%
in 2024-25, 8% in 2020; the councils' employment, unemployment and pay from ONS Explore Local
Statistics). Deterministic, and periods follow today's date, so the demo never goes
stale.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from itertools import pairwise

# Rough orders of magnitude for the councils the packaged area files name; any other council gets
# a level derived from its code, so a custom area file still has a complete demo.
RESIDENTS_16_64 = {
    "E08000025": 745_000,
    "E08000026": 242_000,
    "E08000027": 196_000,
    "E08000028": 212_000,
    "E08000029": 131_000,
    "E08000030": 177_000,
    "E08000031": 171_000,
}
# The claimant rate (per cent of residents aged 16 to 64) once the pandemic had passed, 2024-25.
CLAIMANT_RATE = {
    "E08000025": 6.0,
    "E08000026": 3.4,
    "E08000027": 3.5,
    "E08000028": 4.7,
    "E08000029": 2.4,
    "E08000030": 4.2,
    "E08000031": 5.2,
}
# Anchors from the real ONS Explore Local Statistics excerpts (`reference/real-samples/els/`):
# the employment rate and the modelled unemployment rate of 2023, and full-time median weekly pay of
# 2025, for the WMCA's councils; each "rest" is set so that the region, England and the UK come out
# near their published levels (employment 75.2%, 76.0%, 75.7%; pay £620, £648, £643).
EMPLOYMENT_RATE = {
    "E08000025": 65.9,
    "E08000026": 71.9,
    "E08000027": 79.7,
    "E08000028": 69.8,
    "E08000029": 77.6,
    "E08000030": 73.5,
    "E08000031": 70.3,
}
UNEMPLOYMENT_RATE = {
    "E08000025": 7.2,
    "E08000026": 5.8,
    "E08000027": 3.7,
    "E08000028": 6.0,
    "E08000029": 3.7,
    "E08000030": 5.5,
    "E08000031": 6.2,
}
MEDIAN_WEEKLY_PAY_2025 = {
    "E08000025": 601.4,
    "E08000026": 648.4,
    "E08000027": 606.7,
    "E08000028": 567.5,
    "E08000029": 696.6,
    "E08000030": 587.9,
    "E08000031": 621.0,
}
REST_EMPLOYMENT_RATE = {"region": 79.0, "england": 76.2, "uk": 74.2}
REST_UNEMPLOYMENT_RATE = {"region": 3.2, "england": 3.6, "uk": 3.9}
REST_MEDIAN_WEEKLY_PAY_2025 = {"region": 632.0, "england": 652.0, "uk": 615.0}
# The parts of an area that are not named: its residents aged 16 to 64 and claimant rate. The West
# Midlands region outside the WMCA's neighbourhood, England outside the region, the UK outside England.
REST_PREFIX = "REST-"
REST_RESIDENTS_16_64 = {"region": 650_000, "england": 32_400_000, "uk": 6_800_000}
REST_CLAIMANT_RATE = {"region": 3.0, "england": 2.9, "uk": 2.6}


def rest_code(role: str, code: str) -> str:
    """The unnamed rest of area `code` (its `role`: region, england or uk) beyond its named parts."""
    return f"{REST_PREFIX}{role}-{code}"


def _rest_role(code: str) -> str | None:
    return code.removeprefix(REST_PREFIX).split("-", 1)[0] if code.startswith(REST_PREFIX) else None


def unit_hash(*parts: str) -> float:
    """A stable number in [0, 1) from the given strings."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def interpolate(points: tuple[tuple[float, float], ...], x: float) -> float:
    """The straight-line path through `points` (x ascending) at `x`, flat beyond the ends."""
    for (x0, y0), (x1, y1) in pairwise(points):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1] if x > points[-1][0] else points[0][1]


def month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def month_at(index: int) -> dt.date:
    """The first day of the month `index` months after January of year 0 (`month_index`'s inverse)."""
    return dt.date(index // 12, index % 12 + 1, 1)


def latest_claimant_month(today: dt.date) -> dt.date:
    """The claimant count for month M comes out in the middle of month M+1."""
    back = 1 if today.day >= 15 else 2
    month_index = today.year * 12 + today.month - 1 - back
    return dt.date(month_index // 12, month_index % 12 + 1, 1)


def latest_population_year(today: dt.date) -> int:
    """Mid-year estimates for year Y come out in the summer of Y+1."""
    return today.year - 1 if today.month >= 8 else today.year - 2


def residents_16_64(code: str, year: int) -> int:
    role = _rest_role(code)
    if role is not None:
        base = REST_RESIDENTS_16_64[role] * (0.95 + 0.1 * unit_hash("pop", code))
    else:
        # An unnamed district (E07) is smaller than a unitary or metropolitan council.
        low, spread = (45_000, 70_000) if code.startswith("E07") else (150_000, 250_000)
        base = RESIDENTS_16_64.get(code) or int(low + spread * unit_hash("pop", code))
    growth = 1.003 + 0.004 * unit_hash("growth", code)
    return int(round(base * growth ** (year - 2024), -1))


def pandemic_factor(month: dt.date) -> float:
    """The claimant rate relative to its 2024-25 level: 0.85 before March 2020, up to 1.9 by May
    2020 as furlough and Universal Credit claims rose, held through the winter, then easing back
    to the later level over 2021 and 2022."""
    months = (month.year - 2020) * 12 + month.month - 1  # 0 is January 2020
    if months < 2:
        return 0.85
    if months <= 4:
        return 0.85 + (1.9 - 0.85) * (months - 1) / 3
    if months <= 13:
        return 1.9 - 0.05 * (months - 4) / 9
    return 1.0 + 0.85 * math.exp(-(months - 13) / 8.0)


def claimant_rate(code: str, month: dt.date) -> float:
    """The area's later level, through the pandemic's rise and fall, with its own drift since 2023
    and a little month-to-month noise."""
    role = _rest_role(code)
    if role is not None:
        level = REST_CLAIMANT_RATE[role] * (0.95 + 0.1 * unit_hash("rate", code))
    else:
        level = CLAIMANT_RATE.get(code) or 2.5 + 4.0 * unit_hash("rate", code)
    years_since_2023 = max(0.0, (month.year - 2023) + (month.month - 1) / 12)
    drift = 1 + (unit_hash("drift", code) - 0.5) * 0.06 * years_since_2023
    noise = 1 + 0.02 * (unit_hash("noise", code, month.isoformat()) - 0.5)
    return level * pandemic_factor(month) * drift * noise


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


def residents_16_17(code: str, year: int) -> int:
    return int(round(residents_16_64(code, year) * (0.034 + 0.008 * unit_hash("teen", code)), -1))


def residents_all_ages(code: str, year: int) -> int:
    return int(round(residents_16_64(code, year) / (0.60 + 0.04 * unit_hash("all", code)), -1))


def youth_claimant_count(code: str, month: dt.date) -> int:
    return int(round(claimant_count(code, month) * (0.17 + 0.03 * unit_hash("youth", code)), -1))


def claimant_count_16_17(code: str, month: dt.date) -> int:
    """Few 16- and 17-year-olds can claim: about 1% of all claimants, to the nearest 5 as Nomis rounds."""
    return int(5 * round(claimant_count(code, month) * (0.008 + 0.004 * unit_hash("teen", code)) / 5))


def _anchored(
    code: str, anchors: dict[str, float], rest: dict[str, float], low: float, spread: float
) -> float:
    """An area's anchored level: its published figure, its rest's, or one derived from its code."""
    role = _rest_role(code)
    if role is not None:
        return rest[role]
    return anchors.get(code) or low + spread * unit_hash("anchor", str(low), code)


def unemployment_share_of_active(code: str, period: dt.date) -> float:
    """Of the economically active, the share unemployed: the area's 2023 rate, a little higher in
    2020-21, with the survey's sampling noise."""
    months = (period.year - 2020) * 12 + period.month
    pandemic = 0.012 * math.exp(-abs(months - 12) / 10)
    sampling = 0.008 * (unit_hash("unemployed-sample", code, period.isoformat()) - 0.5)
    level = _anchored(code, UNEMPLOYMENT_RATE, REST_UNEMPLOYMENT_RATE, 3.0, 4.0) / 100
    return level + pandemic + 0.002 * math.sin(months / 4) + sampling


def economically_active_share(code: str, period: dt.date) -> float:
    """Of residents aged 16 to 64, the share in work or looking for it: what the area's 2023
    employment rate implies, with the survey's sampling noise from one estimate to the next."""
    months = (period.year - 2020) * 12 + period.month
    employed = _anchored(code, EMPLOYMENT_RATE, REST_EMPLOYMENT_RATE, 68.0, 12.0) / 100
    unemployed = _anchored(code, UNEMPLOYMENT_RATE, REST_UNEMPLOYMENT_RATE, 3.0, 4.0) / 100
    sampling = 0.008 * (unit_hash("active-sample", code, period.isoformat()) - 0.5)
    return employed / (1 - unemployed) + 0.004 * math.sin(months / 5 + 6 * unit_hash("ap", code)) + sampling


def aps_rate(code: str, variable: str, period: dt.date) -> float:
    """APS rates in per cent, coherent for the area: the employment rate and the inactivity rate
    of residents aged 16 to 64 and the unemployed share of them make 100; the unemployment rate is
    of the economically active (variables 45, 111 and 83)."""
    active = economically_active_share(code, period)
    unemployed = unemployment_share_of_active(code, period)
    return {
        "45": active * (1 - unemployed) * 100,
        "111": (1 - active) * 100,
        "83": unemployed * 100,
    }[variable]


def aps_counts(code: str, variable: str, end: dt.date) -> tuple[int, int]:
    """An area's APS numerator and denominator for the 12 months to `end`, as Nomis publishes them
    (to the nearest hundred): the unemployment rate is of the economically active, the employment
    and inactivity rates of all residents aged 16 to 64 (variables 83, 45 and 111)."""
    people = residents_16_64(code, end.year)
    share = economically_active_share(code, end) if variable == "83" else 1.0
    denominator = int(round(people * share, -2))
    return int(round(denominator * aps_rate(code, variable, end) / 100, -2)), denominator


def median_weekly_pay(code: str, year: int, place: str) -> float:
    """Gross weekly pay of full-time workers, £: the area's 2025 level where they live, growing
    ~5% a year; where they work within a few per cent of it (commuters earn either side)."""
    level = _anchored(code, MEDIAN_WEEKLY_PAY_2025, REST_MEDIAN_WEEKLY_PAY_2025, 560.0, 160.0)
    if place == "workplace":
        level *= 0.96 + 0.08 * unit_hash("pay-workplace", code)
    return round(level * 1.05 ** (year - 2025), 1)


def enterprises(code: str, year: int) -> int:
    return int(round(residents_16_64(code, year) * (0.045 + 0.02 * unit_hash("ent", code)), -1))


def employees(code: str, year: int) -> int:
    return int(round(residents_16_64(code, year) * (0.65 + 0.25 * unit_hash("bres", code)), -3))


def total_jobs(code: str, year: int) -> int:
    return int(round(employees(code, year) * 1.16, -3))
