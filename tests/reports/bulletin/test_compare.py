"""Comparisons that cannot mislead: rank wording from polarity, ranks and gaps on printed values,
'the largest change' only when it is clear, periods as publishers define them, and the survey rule
that a change is a rise or a fall only when it is statistically significant."""

from __future__ import annotations

import dataclasses

import pytest

from reports.bulletin import compare, narrative
from reports.bulletin.edition import AreaMeta, EditionData, Figure, IndicatorMeta
from reports.bulletin.quotes import Ledger

UK = AreaMeta("K02000001", "United Kingdom", "UK", "uk")
FOCUS = AreaMeta("E47000007", "West Midlands Combined Authority", "WMCA", "combined_authority")
REGION = AreaMeta("E12000005", "West Midlands", "West Midlands region", "region")
OTHER_CAS = [
    AreaMeta(f"E470000{n:02d}", f"Authority {n}", f"CA{n}", "combined_authority") for n in range(10, 20)
]
COUNCILS = [
    AreaMeta(f"E080000{n}", name, name, "council")
    for n, name in ((25, "Birmingham"), (26, "Coventry"), (27, "Dudley"))
]


def indicator(**changes) -> IndicatorMeta:
    names = ("Claimant Count, ONS/DWP via Nomis", "Mid-year population estimates, ONS via Nomis")
    base = IndicatorMeta(
        id="claimant_rate",
        title="Claimant rate",
        phrase="claimant rate",
        section="labour_market",
        core=True,
        unit="percent",
        polarity="lower_is_better",
        decimals=1,
        cadence="monthly",
        dataset="claimant_count",
        series="claimant_rate",
        aggregation="ratio",
        statistical_status="official",
        levels=("council", "combined_authority", "uk"),
        definition="",
        caveats=(),
        numerator_dataset="claimant_count",
        denominator_dataset="population",
        source_names=names,
        survey=False,
        ranked=True,
        year_starts=1,
        years=1,
        mission=None,
    )
    return dataclasses.replace(base, **changes)


def figure(meta: IndicatorMeta, area: AreaMeta, value: float | None, **changes) -> Figure:
    fields = {f.name: None for f in dataclasses.fields(Figure)}
    fields.update(indicator=meta, area=area, period="2026-10", value=value, basis="published", vintages="v1")
    fields.update(changes)
    return Figure(**fields)


def edition(figures: list[Figure]) -> EditionData:
    return EditionData(
        period="2026-10",
        snapshot_sha256="0" * 64,
        area_set_name="West Midlands",
        focus=FOCUS,
        region=REGION,
        england=UK,
        uk=UK,
        bulletin_areas=[FOCUS, *COUNCILS, REGION, UK],
        regions=[REGION],
        combined_authorities=[FOCUS, *OTHER_CAS],
        members={FOCUS.code: tuple(c.code for c in COUNCILS)},
        indicators={f.indicator.id: f.indicator for f in figures},
        figures={(f.indicator.id, f.area.code): f for f in figures},
        series={},
        sources={},
    )


def ranked(meta: IndicatorMeta, mine: float, others: list[float]) -> compare.Rank | None:
    figures = [figure(meta, FOCUS, mine)] + [
        figure(meta, a, v) for a, v in zip(OTHER_CAS, others, strict=False)
    ]
    return compare.rank(edition(figures), figures[0])


def test_a_low_claimant_rate_counts_from_the_lowest() -> None:
    rank = ranked(indicator(), 3.0, [2.0, 2.5, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0])
    assert rank.text == "3rd lowest of 11 combined authorities"


def test_a_rank_counts_from_the_nearer_end_never_nth_lowest_of_n() -> None:
    rank = ranked(indicator(), 9.0, [2.0, 2.5, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0])
    assert rank.text == "highest of 11 combined authorities"


def test_pay_counts_from_the_highest_and_a_neutral_tie_from_the_polarity_free_top() -> None:
    pay = indicator(id="pay", unit="gbp", polarity="higher_is_better", decimals=0)
    assert ranked(pay, 700, [800, 650, 600]).text == "2nd highest of 4 combined authorities"
    neutral = indicator(id="prices", polarity="neutral")
    assert ranked(neutral, 2.0, [1.0, 3.0]).text == "2nd highest of 3 combined authorities"


def test_ranks_are_taken_on_printed_values() -> None:
    """6.04 (the monitor's unrounded figure) and 6.0 (a publisher's) print alike: a joint rank."""
    rank = ranked(indicator(), 6.04, [6.0, 7.0])
    assert rank.text == "joint lowest of 3 combined authorities"


def test_counts_and_ranks_are_not_ranked() -> None:
    assert ranked(indicator(unit="count", ranked=False), 100, [200, 300]) is None


def test_a_gap_to_the_uk_compares_printed_values() -> None:
    meta = indicator()
    assert compare.gap_to_uk(figure(meta, FOCUS, 5.249, uk_value=3.05)) == pytest.approx(2.1)
    assert compare.gap_to_uk(figure(indicator(unit="count"), FOCUS, 100, uk_value=1000)) is None


def test_the_largest_change_is_named_only_when_clear_at_the_printed_precision() -> None:
    meta = indicator()
    rounding = [figure(meta, c, 5.0, change_year=d) for c, d in zip(COUNCILS, (-0.1, 0.0, 0.0), strict=True)]
    assert compare.clear_leader(rounding, "change_year") is None  # 0.1 apart: within rounding
    clear = [figure(meta, c, 5.0, change_year=d) for c, d in zip(COUNCILS, (-0.4, 0.1, 0.0), strict=True)]
    assert compare.clear_leader(clear, "change_year").area.label == "Birmingham"
    unrounded = [
        figure(meta, c, 5.0, change_year=d, basis="computed")
        for c, d in zip(COUNCILS, (0.26, 0.14, 0.0), strict=True)
    ]
    assert compare.clear_leader(unrounded, "change_year").area.label == "Birmingham"
    close = [
        figure(meta, c, 5.0, change_year=d, basis="computed")
        for c, d in zip(COUNCILS, (0.26, 0.22, 0.0), strict=True)
    ]
    assert compare.clear_leader(close, "change_year") is None


def test_periods_as_the_publisher_defines_them() -> None:
    aps = indicator(cadence="quarterly")
    wellbeing = indicator(cadence="annual", year_starts=4)
    assert compare.period_label(figure(aps, FOCUS, 1.0, period="2026-06")) == "the 12 months to June 2026"
    assert (
        compare.period_label(figure(aps, FOCUS, 1.0, period="2026-06"), article=False)
        == "12 months to June 2026"
    )
    assert compare.period_label(figure(wellbeing, FOCUS, 1.0, period="2025")) == "April 2025 to March 2026"
    assert compare.period_label(figure(indicator(cadence="annual"), FOCUS, 1.0, period="2025")) == "2025"
    assert compare.period_label(figure(indicator(), FOCUS, 1.0)) == "October 2026"
    # A revision names its period the same way.
    assert compare.indicator_period_label(aps, "2026-03", article=False) == "12 months to March 2026"


def aps_employment_rate() -> IndicatorMeta:
    """The Annual Population Survey's employment rate: a survey estimate over a rolling year."""
    return indicator(
        id="employment_rate",
        phrase="employment rate",
        polarity="higher_is_better",
        cadence="quarterly",
        survey=True,
    )


def _sentence(meta: IndicatorMeta, **changes) -> str:
    focus = figure(meta, FOCUS, 70.3, lower=69.1, upper=71.4, uk_value=75.7, **changes)
    uk = figure(meta, UK, 75.7)
    data = edition([focus, uk])
    return narrative.sentence(Ledger(data), data, meta.id)


def test_a_survey_change_that_is_not_significant_changed_little() -> None:
    aps = aps_employment_rate()
    text = _sentence(
        aps, change_period=-0.3, change_year=-0.6, significant_year=False, significant_gap_uk=True
    )
    assert (
        "changed little on a year earlier (down 0.6 percentage points, not statistically significant)" in text
    )
    assert "(95% confidence interval 69.1% to 71.4%)" in text
    assert "rose" not in text and "fell" not in text  # not even the rolling quarter's move


def test_a_significant_survey_change_rose_or_fell() -> None:
    aps = aps_employment_rate()
    text = _sentence(aps, change_period=0.2, change_year=1.9, significant_year=True)
    assert "up 1.9 percentage points on a year earlier, a statistically significant change" in text
    assert "changed little" not in text and "rose" not in text


def test_an_administrative_count_rises_and_falls_without_intervals() -> None:
    text = _sentence(indicator(), change_period=0.2, change_year=0.4)
    assert text.startswith("The claimant rate in the WMCA area rose to 70.3% in October 2026")
