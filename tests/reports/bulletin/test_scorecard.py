"""The Levelling Up scorecard's logic: the White Paper baseline, the gap's direction and its
significance, and how periods of every shape end and are named."""

from __future__ import annotations

import dataclasses
import datetime as dt

from reports.bulletin import compare, scorecard
from reports.bulletin.edition import SeriesPoint
from tests.reports.bulletin.test_compare import FOCUS, UK, edition, figure, indicator
from warehouse.registry import load_registry

HLE = indicator(
    id="hle_female",
    unit="years",
    polarity="higher_is_better",
    cadence="annual",
    years=3,
    mission=7,
    decimals=1,
)


def point(period: str, value: float, half: float | None = None) -> SeriesPoint:
    start = dt.date(int(period[:4]), 1, 1)
    low, high = (None, None) if half is None else (value - half, value + half)
    return SeriesPoint(period, start, value, low, high)


def trend_of(mine: list[SeriesPoint], uk: list[SeriesPoint], meta=HLE) -> scorecard.GapTrend | None:
    latest = mine[-1]
    shown = figure(meta, FOCUS, latest.value, period=latest.period, uk_value=uk[-1].value)
    data = dataclasses.replace(
        edition([shown]), mission_series={(meta.id, FOCUS.code): mine, (meta.id, UK.code): uk}
    )
    return scorecard.gap_trend(data, shown)


def test_a_three_year_pool_ends_after_its_third_year_and_reads_as_a_range() -> None:
    assert scorecard.period_end(HLE, "2019") == dt.date(2022, 1, 1)  # 2019 to 2021
    assert compare.years_label(2022, 1, 3) == "2022 to 2024"
    assert compare.years_label(2020, 4, 3) == "April 2020 to March 2023"
    assert compare.years_label(2024, 9, 1) == "the 2024/25 academic year"
    assert compare.years_label(2024, 4, 1) == "April 2024 to March 2025"
    monthly = indicator(cadence="monthly")
    assert scorecard.period_end(monthly, "2022-01") == dt.date(2022, 2, 1)
    assert scorecard.period_end(monthly, "2021-Q4") == dt.date(2022, 1, 1)


def test_the_baseline_is_the_last_period_ended_before_february_2022() -> None:
    """The pool 2019 to 2021 ended before the White Paper; 2020 to 2022 did not."""
    mine = [point("2018", 59.0), point("2019", 59.5), point("2020", 60.0), point("2022", 60.9)]
    uk = [point("2018", 61.0), point("2019", 61.8), point("2020", 62.0), point("2022", 62.3)]
    trend = trend_of(mine, uk)
    assert trend.baseline.period == "2019"
    assert (trend.gap, trend.baseline_gap) == (-1.4, -2.3)
    assert trend.direction == "narrowed" and trend.significant is None  # no intervals
    assert scorecard.trend_words(trend, HLE) == "narrowed: −2.3 years in 2019 to 2021"
    assert scorecard.gap_words(trend, HLE) == "−1.4 years (worse)"


def test_a_gap_that_moved_less_than_a_printed_unit_is_about_the_same() -> None:
    trend = trend_of([point("2019", 60.0), point("2022", 60.04)], [point("2019", 62.0), point("2022", 62.0)])
    assert trend.direction == "about the same"


def test_significance_needs_four_intervals_and_a_change_beyond_them() -> None:
    wide = trend_of(
        [point("2019", 59.0, 1.0), point("2022", 60.0, 1.0)],
        [point("2019", 62.0, 0.1), point("2022", 62.0, 0.1)],
    )
    assert wide.direction == "narrowed" and wide.significant is False  # 1.0 < sqrt(2.02)
    narrow = trend_of(
        [point("2019", 58.0, 0.3), point("2022", 60.0, 0.3)],
        [point("2019", 62.0, 0.1), point("2022", 62.0, 0.1)],
    )
    assert narrow.significant is True  # 2.0 > sqrt(0.2)
    assert scorecard.trend_words(narrow, HLE).endswith("(significant)")


def test_no_figure_before_the_white_paper_is_said_so() -> None:
    trend = trend_of([point("2022", 60.0)], [point("2022", 62.0)])
    assert trend.direction is None
    assert scorecard.trend_words(trend, HLE) == "no figure before the White Paper"


def test_every_mission_has_a_row_and_each_headline_measures_its_mission() -> None:
    registry = load_registry()
    assert sorted(scorecard.MISSIONS) == list(range(1, 13))
    for number, (_, headline, _) in scorecard.MISSIONS.items():
        if headline is None:
            assert number in scorecard.NO_METRIC
        else:
            assert registry[headline].mission == number, headline
    covered = {i.mission for i in registry.values() if i.mission}
    assert (
        len(covered) >= 10
        and len([i for i in registry.values() if i.source and i.source.dataset.startswith("els_")]) >= 25
    )
