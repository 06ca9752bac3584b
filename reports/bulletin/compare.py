"""How the edition compares figures without misleading: ranks that say which way they run, gaps and
ranks on the precision printed, "the largest change" only when it is clear, and periods named as the
publisher defines them.

Assumptions, written down here because every table and sentence relies on them:

- A rank is taken over the values as printed (rounded to the indicator's decimals), so that two
  areas printed alike share a rank, and the monitor's own unrounded figure for a combined authority
  is not ranked against the publisher's rounded ones on a finer scale than the reader sees.
- A rank counts from the nearer end ("3rd lowest" claimant rate, "2nd highest" pay, never "8th
  lowest of 8"), from the better end where both are as near, and always says which end it counts
  from. Counts and ranks are never ranked (their size reflects an area's population); the
  registry's `ranked` flag says so.
- A gap to the UK is the difference of the two printed values, for the same reason.
- Published figures are already rounded, so a change between two of them is uncertain by a printed
  unit: one council's change is called the largest only when it exceeds the next by two printed
  units (by one for the monitor's own unrounded figures), never by less than the precision printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from reports.bulletin import format as fmt
from reports.bulletin.edition import AreaMeta, EditionData, Figure, IndicatorMeta

# The groups an area is ranked within, by its level: (edition attribute, how the text names them).
RANK_GROUPS = {
    "combined_authority": ("combined_authorities", "combined authorities"),
    "region": ("regions", "UK countries and regions"),
    "country": ("regions", "UK countries and regions"),
}


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class Rank:
    """A figure's place among its peers, counted from one end."""

    position: int
    of: int
    end: str  # "highest" or "lowest"
    tied: bool
    group: str

    @property
    def text(self) -> str:
        """'3rd lowest of 11 combined authorities', 'highest of 12 UK countries and regions'."""
        place = "" if self.position == 1 else f"{ordinal(self.position)} "
        joint = "joint " if self.tied else ""
        return f"{joint}{place}{self.end} of {self.of} {self.group}"

    @property
    def short(self) -> str:
        """'3rd lowest of 11': for a table whose heading names the group."""
        place = "" if self.position == 1 else f"{ordinal(self.position)} "
        return f"{'joint ' if self.tied else ''}{place}{self.end} of {self.of}"


def printed(value: float, decimals: int) -> Decimal:
    return fmt.rounded(value, decimals)


def rank(edition: EditionData, figure: Figure) -> Rank | None:
    """The figure's rank among the areas of its level (combined authorities, UK regions) for the
    same period, on printed values; None where a rank says nothing or there is nothing to rank."""
    indicator = figure.indicator
    group = RANK_GROUPS.get(figure.area.level)
    if not indicator.ranked or group is None or figure.value is None:
        return None
    peers: list[AreaMeta] = getattr(edition, group[0])
    values = [
        printed(other.value, indicator.decimals)
        for area in peers
        if (other := edition.figure(indicator.id, area.code)) is not None and other.period == figure.period
    ]
    if figure.area.code not in {a.code for a in peers} or len(values) < 2:
        return None
    mine = printed(figure.value, indicator.decimals)
    from_top = 1 + sum(v > mine for v in values)
    from_bottom = 1 + sum(v < mine for v in values)
    better = {"higher_is_better": "highest", "lower_is_better": "lowest"}.get(indicator.polarity)
    nearer = "highest" if from_top < from_bottom else "lowest" if from_bottom < from_top else better
    end = nearer or "highest"
    position = from_top if end == "highest" else from_bottom
    return Rank(position, len(values), end, sum(v == mine for v in values) > 1, group[1])


def gap_to_uk(figure: Figure) -> float | None:
    """The figure minus the UK's, both as printed; None where there is no UK figure or the gap of
    a count would only reflect population."""
    if figure.value is None or figure.uk_value is None or figure.indicator.unit == "count":
        return None
    decimals = figure.indicator.decimals
    return float(printed(figure.value, decimals) - printed(figure.uk_value, decimals))


def clear_leader(figures: list[Figure], measure: str) -> Figure | None:
    """The figure whose `measure` moved most, when that is clear at the precision printed: its
    printed size is not zero and exceeds the runner-up's by more than rounding could explain."""
    moved = [f for f in figures if getattr(f, measure) is not None]
    if not moved:
        return None
    ordered = sorted(moved, key=lambda f: abs(getattr(f, measure)), reverse=True)
    leader = ordered[0]
    decimals = leader.indicator.decimals
    unit = Decimal(1).scaleb(-decimals)
    size = abs(printed(getattr(leader, measure), decimals))
    if size == 0:
        return None
    if len(ordered) > 1:
        margin = Decimal(repr(abs(getattr(leader, measure)))) - Decimal(
            repr(abs(getattr(ordered[1], measure)))
        )
        # A change between two rounded values is itself uncertain by a printed unit, so two of them
        # must differ by two; the monitor's unrounded changes by one.
        needed = unit if all(f.basis == "computed" for f in ordered[:2]) else 2 * unit
        if margin < needed - Decimal("1e-9"):
            return None
    return leader


# DfE's academic years start in August (further education) or September (schools).
ACADEMIC_YEAR_STARTS = (8, 9)


def period_label(figure: Figure, *, article: bool = True) -> str:
    """A figure's period as its publisher defines it: 'the 12 months to June 2026' for a rolling
    Annual Population Survey year, 'April 2025 to March 2026' for an April-to-March year."""
    return indicator_period_label(figure.indicator, figure.period, article=article)


def indicator_period_label(indicator: IndicatorMeta, period: str, *, article: bool = True) -> str:
    """`period` of `indicator` as its publisher defines it (see `period_label`)."""
    if quarter := re.fullmatch(r"(\d{4})-Q([1-4])", period):  # a calendar quarter, as ONS names one
        year, number = int(quarter[1]), int(quarter[2])
        first, last = fmt.MONTHS[3 * number - 3], fmt.MONTHS[3 * number - 1]
        return f"{first} to {last} {year}"
    label = fmt.period_label(period)
    if indicator.cadence == "quarterly":
        return f"{'the ' if article else ''}12 months to {label}"
    if indicator.cadence == "annual" and period.isdigit():
        return years_label(int(period), indicator.year_starts, indicator.years, article=article)
    return label


def years_label(start: int, year_starts: int, years: int, *, article: bool = True) -> str:
    """A period of `years` years from `year_starts` of `start`, as its publishers name it: '2023';
    'the 2024/25 academic year' (from August or September); 'April 2024 to March 2025'; a pool of
    three years '2022 to 2024' or 'April 2020 to March 2023'."""
    end = start + years - (1 if year_starts == 1 else 0)
    if year_starts == 1:
        return str(start) if years == 1 else f"{start} to {end}"
    if year_starts in ACADEMIC_YEAR_STARTS and years == 1:
        return f"{'the ' if article else ''}{start}/{str(start + 1)[2:]} academic year"
    return f"{fmt.MONTHS[year_starts - 1]} {start} to {fmt.MONTHS[year_starts - 2]} {end}"
