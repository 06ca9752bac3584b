"""Numbers in ONS style: thousands separators, rates to one decimal place, £, signed changes.

Rounding is half-up on the decimal value, as published tables do, not Python's half-to-even.
"""

from __future__ import annotations

import calendar
from decimal import ROUND_HALF_UP, Decimal

MISSING = "missing"
MONTHS = calendar.month_name[1:]


def rounded(value: float, decimals: int) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def number(value: float | None, decimals: int = 0) -> str:
    if value is None:
        return MISSING
    return f"{rounded(value, decimals):,.{decimals}f}"


def value(value: float | None, unit: str, decimals: int) -> str:
    if value is None:
        return MISSING
    if unit == "percent":
        return f"{number(value, decimals)}%"
    if unit == "gbp":
        return f"£{number(value, decimals)}"
    if unit == "gbp_million":
        return f"£{number(value, decimals)}m"
    if unit in UNIT_WORDS:
        return f"{number(value, decimals)} {UNIT_WORDS[unit]}"
    return number(value, decimals)


# Units written after the number ("58.2 years"); rates per population carry their base in the title.
UNIT_WORDS = {"years": "years", "minutes": "min"}


def change(delta: float | None, unit: str, decimals: int) -> str:
    """A signed change: percentage points for rates, the unit's own terms otherwise."""
    if delta is None:
        return MISSING
    r = rounded(delta, decimals)
    sign = "+" if r > 0 else "−" if r < 0 else ""
    magnitude = value(
        float(abs(r)), unit if unit in ("gbp", "gbp_million", *UNIT_WORDS) else "count", decimals
    )
    return f"{sign}{magnitude}{' pp' if unit == 'percent' else ''}"


FLASH_NOTE = "a flash estimate, revised next month"


def percent_change(pct: float | None) -> str:
    if pct is None:
        return ""
    r = rounded(pct, 1)
    sign = "+" if r > 0 else "−" if r < 0 else ""
    return f"{sign}{abs(r):.1f}%"


def period_label(period: str) -> str:
    """`2026-10` → `October 2026`, `2026-Q3` → `Q3 2026`; a year is left as it is."""
    if len(period) == 7 and period[4] == "-" and period[5:].isdigit():
        return f"{MONTHS[int(period[5:]) - 1]} {period[:4]}"
    if len(period) == 7 and period[4:6] == "-Q":
        return f"{period[5:]} {period[:4]}"
    return period
