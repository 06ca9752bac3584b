"""The Levelling Up scorecard: each White Paper mission's headline metric for the focus area against
the UK, and whether the gap has narrowed or widened since the White Paper.

Assumptions, written down here because the scorecard's words rely on them:

- The baseline is the latest period that had ended before February 2022, when the White Paper was
  published (2 February 2022): a calendar year 2021, an academic year 2020/21, a three-year pool
  2018 to 2020. A period ends when its last month does (`period_end`).
- The comparator is the UK, or England where the publisher gives no UK figure (schools, many
  health metrics are England-only); the table says which.
- Where no figure exists for the focus area (R&D, homicide, travel time are published for regions),
  its region stands in, named as such; where neither exists the mission is listed as having no
  figure, never dropped.
- A gap is the difference of the printed values; it "narrowed" when its size fell by at least one
  printed unit, "widened" when it grew by one, else it is "about the same". Its change is called
  statistically significant only where all four estimates have 95% intervals, and then when it
  exceeds the square root of the sum of their squared half-widths (independent samples: the UK's
  estimate includes the focus area's, so this errs towards calling a change significant less often).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from reports.bulletin import compare
from reports.bulletin import format as fmt
from reports.bulletin.edition import AreaMeta, EditionData, Figure, IndicatorMeta, SeriesPoint

# Formats a signed figure quoted about a figure, by the measure's name (`Ledger.signed`, recording it).
Quote = Callable[[str, float], str]
WHITE_PAPER_MONTH = dt.date(2022, 2, 1)  # "Levelling Up the United Kingdom", 2 February 2022
# The twelve missions, as the White Paper numbers them, and the metric that heads each one's row
# (the others of the mission, by the registry's `mission`, are in the annex), and its short name.
MISSIONS = {
    1: ("Living standards", "gva_per_hour", "Output per hour worked"),
    2: ("Research and development", "rd_public_expenditure", "Public R&D spending"),
    3: ("Transport", "travel_time_public_transport", "Travel time to work, public transport"),
    4: ("Digital connectivity", "gigabit_coverage", "Gigabit-capable broadband"),
    5: ("Schools", "ks2_expected_standard", "Expected standard at age 11"),
    6: ("Skills", "level_3_qualifications", "Qualified to level 3, aged 16 to 64"),
    7: ("Health", "hle_female", "Healthy life expectancy, women"),
    8: ("Well-being", "life_satisfaction", "Life satisfaction, out of 10"),
    9: ("Pride in place", "engaged_with_arts", "Adults engaged with the arts"),
    10: ("Housing", "first_time_buyer_sales", "First-time buyer mortgages per 1,000 homes"),
    11: ("Crime", "homicide_rate", "Homicides per million people"),
    12: ("Local leadership", None, None),
}
# Shorter names for a chart's line labels, where the mission's name would wrap on a phone.
CHART_LABELS = {2: "R&D", 4: "Digital", 1: "Living standards"}
NO_METRIC = {
    12: "None published (the mission is about devolution deals).",
}


@dataclass(frozen=True)
class GapTrend:
    """The focus area's (or region's) gap to the comparator now and at the White Paper baseline."""

    comparator: AreaMeta
    latest: SeriesPoint
    latest_comparator: SeriesPoint
    baseline: SeriesPoint | None
    baseline_comparator: SeriesPoint | None
    decimals: int

    @property
    def gap(self) -> float:
        return _printed_gap(self.latest, self.latest_comparator, self.decimals)

    @property
    def baseline_gap(self) -> float | None:
        if self.baseline is None or self.baseline_comparator is None:
            return None
        return _printed_gap(self.baseline, self.baseline_comparator, self.decimals)

    @property
    def direction(self) -> str | None:
        """'narrowed', 'widened' or 'about the same'; None without a baseline."""
        then = self.baseline_gap
        if then is None:
            return None
        unit = 10.0**-self.decimals
        moved = abs(self.gap) - abs(then)
        if moved <= -unit + 1e-9:
            return "narrowed"
        if moved >= unit - 1e-9:
            return "widened"
        return "about the same"

    @property
    def significant(self) -> bool | None:
        """Whether the gap's change exceeds what sampling explains; None without four intervals."""
        points = (self.latest, self.latest_comparator, self.baseline, self.baseline_comparator)
        if any(p is None or p.lower is None or p.upper is None for p in points) or self.baseline_gap is None:
            return None
        spread = math.sqrt(sum(((p.upper - p.lower) / 2) ** 2 for p in points))
        return abs(self.gap - self.baseline_gap) > spread


def _printed_gap(area: SeriesPoint, comparator: SeriesPoint, decimals: int) -> float:
    return float(compare.printed(area.value, decimals) - compare.printed(comparator.value, decimals))


def period_end(indicator: IndicatorMeta, period: str) -> dt.date:
    """The first day after `period` of `indicator`: a year from its `year_starts` month, a pool of
    `years` years, a month, or a quarter."""
    if period.isdigit():
        return dt.date(int(period) + indicator.years, indicator.year_starts, 1)
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", period):
        index = int(m[1]) * 12 + 3 * int(m[2])
    else:
        year, month = map(int, period.split("-"))
        index = year * 12 + month
    return dt.date(index // 12, index % 12 + 1, 1)


def shown_figure(edition: EditionData, indicator_id: str) -> Figure | None:
    """The focus area's figure, else its region's (for metrics published for regions only)."""
    return edition.figure(indicator_id, edition.focus.code) or edition.figure(
        indicator_id, edition.region.code
    )


def comparator_of(edition: EditionData, figure: Figure) -> AreaMeta | None:
    if figure.uk_value is not None:
        return edition.uk
    return edition.england if figure.england_value is not None else None


def gap_trend(edition: EditionData, figure: Figure) -> GapTrend | None:
    """The figure's gap to the UK (or England) now and at the White Paper baseline; None without a
    comparator or, for a count, where a gap says nothing."""
    comparator = comparator_of(edition, figure)
    indicator = figure.indicator
    if comparator is None or indicator.unit in ("count", "gbp_million"):
        return None
    mine = {
        p.period: p
        for p in edition.mission_series.get((indicator.id, figure.area.code), [])
        if p.value is not None
    }
    theirs = {
        p.period: p
        for p in edition.mission_series.get((indicator.id, comparator.code), [])
        if p.value is not None
    }
    if figure.period not in mine or figure.period not in theirs:
        return None
    before = [p for p in mine if p in theirs and period_end(indicator, p) <= WHITE_PAPER_MONTH]
    baseline = max(before, key=lambda p: mine[p].period_date, default=None)
    return GapTrend(
        comparator,
        mine[figure.period],
        theirs[figure.period],
        mine.get(baseline) if baseline else None,
        theirs.get(baseline) if baseline else None,
        indicator.decimals,
    )


def _unquoted(indicator: IndicatorMeta) -> Quote:
    return lambda _measure, raw: fmt.change(raw, indicator.unit, indicator.decimals)


def gap_words(trend: GapTrend, indicator: IndicatorMeta, quote: Quote | None = None) -> str:
    """'−1.4 years (worse)': the gap, signed, and which side of the comparator is the better one.
    `quote` formats (and may record) a signed figure by its measure name."""
    measure = "gap_uk" if trend.comparator.level == "uk" else "gap_england"
    signed = (quote or _unquoted(indicator))(measure, trend.gap)
    if trend.gap == 0 or indicator.polarity == "neutral":
        return signed
    ahead = (trend.gap > 0) == (indicator.polarity == "higher_is_better")
    return f"{signed} ({'better' if ahead else 'worse'})"


def trend_words(trend: GapTrend, indicator: IndicatorMeta, quote: Quote | None = None) -> str:
    """'narrowed: −2.1 in 2018 to 2020 (not significant)', or why there is no comparison."""
    if trend.direction is None:
        return "no figure before the White Paper"
    then = (quote or _unquoted(indicator))("gap_at_white_paper_baseline", trend.baseline_gap)
    when = compare.indicator_period_label(indicator, trend.baseline.period, article=False)
    significance = {True: " (significant)", False: " (not significant)"}.get(trend.significant, "")
    if trend.direction == "about the same":
        return f"about the same: {then} in {when}{significance}"
    return f"{trend.direction}: {then} in {when}{significance}"


def tally(edition: EditionData) -> dict[str, int]:
    """Of the missions with a headline figure and a comparator: how many are better or worse than
    it, and how many gaps narrowed or widened since the White Paper (significantly, of those)."""
    counts = dict.fromkeys(("missions", "better", "worse", "narrowed", "widened", "significant"), 0)
    for _, indicator_id, _ in MISSIONS.values():
        figure = shown_figure(edition, indicator_id) if indicator_id in edition.indicators else None
        trend = gap_trend(edition, figure) if figure is not None else None
        if trend is None or figure.indicator.polarity == "neutral":
            continue
        counts["missions"] += 1
        if trend.gap != 0:
            ahead = (trend.gap > 0) == (figure.indicator.polarity == "higher_is_better")
            counts["better" if ahead else "worse"] += 1
        if trend.direction in ("narrowed", "widened"):
            counts[trend.direction] += 1
            counts["significant"] += bool(trend.significant)
    return counts
