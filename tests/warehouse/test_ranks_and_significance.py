"""Ranks among the 12 UK regions and among combined authorities, and 95% significance, by hand.

Rank 1 is the highest value; tied values share a rank and the next rank skips (SQL `rank()`).
A change or gap is significant when |difference| > sqrt(h1^2 + h2^2), h being each estimate's 95%
half-width (the APS publishes it; a composite's comes from its members').
"""

from __future__ import annotations

from math import sqrt

import pytest

from flows.settings import Settings
from tests.fixture_publishers import query, summary

WMCA, GMCA, WYCA = "E47000007", "E47000001", "E47000003"
BIRMINGHAM, COVENTRY, SANDWELL = "E08000025", "E08000026", "E08000028"
UK = "K02000001"

# ONS regional GDP per head, 2023 (cmd-regional-gdp.csv), and the rank each must get.
GDP_2023_RANKS = {
    "E12000007": (66_812, 1),  # London
    "E12000008": (40_100, 2),  # South East
    "E12000006": (36_200, 3),  # East of England
    "S92000003": (35_900, 4),  # Scotland
    "E12000002": (33_700, 5),  # North West
    "E12000009": (33_200, 6),  # South West
    "E12000004": (32_496, 7),  # East Midlands, tied with ...
    "E12000005": (32_496, 7),  # ... the West Midlands
    "E12000003": (31_900, 9),  # Yorkshire and The Humber: 8 is skipped
    "W92000004": (28_900, 10),  # Wales
    "E12000001": (28_700, 11),  # North East
    "N92000002": (28_500, 12),  # Northern Ireland
}


def test_regions_rank_with_a_shared_rank_and_a_skipped_one(indicator_settings: Settings) -> None:
    rows = query(
        indicator_settings,
        "SELECT geography_code, value, rank_region, regions_ranked, rank_combined_authority "
        "FROM indicator_summary WHERE indicator_id = 'gdp_per_head' AND rank_region IS NOT NULL",
    )
    got = {r["geography_code"]: (r["value"], r["rank_region"]) for r in rows}
    assert got == GDP_2023_RANKS
    assert {r["regions_ranked"] for r in rows} == {12}
    assert {r["rank_combined_authority"] for r in rows} == {None}
    assert 8 not in {rank for _, rank in got.values()}
    uk = summary(indicator_settings, "gdp_per_head", UK)
    assert uk["rank_region"] is None, "the UK is not one of the regions"


def test_combined_authorities_rank_on_the_publishers_medians(indicator_settings: Settings) -> None:
    """NM_30_1 (ASHE residence), 2025: GMCA £700 > WMCA £680 > WYCA £650: ranks 1, 2, 3 of 3."""
    for area, value, rank in ((GMCA, 700, 1), (WMCA, 680, 2), (WYCA, 650, 3)):
        row = summary(indicator_settings, "median_pay_residence", area)
        assert (row["period"], row["value"]) == ("2025", value)
        assert (row["rank_combined_authority"], row["combined_authorities_ranked"]) == (rank, 3)
        assert row["rank_region"] is None


def test_a_combined_authority_with_a_missing_member_is_not_ranked(indicator_settings: Settings) -> None:
    """The fixtures have claimants only for the WMCA's councils: the other authorities are missing,
    so the WMCA's 119,000 is ranked 1 of 1 rather than against partial totals."""
    wmca = summary(indicator_settings, "claimant_count", WMCA)
    assert (wmca["rank_combined_authority"], wmca["combined_authorities_ranked"]) == (1, 1)
    gmca = query(
        indicator_settings,
        "SELECT value FROM indicator_value WHERE indicator_id = 'claimant_count' "
        f"AND geography_code = '{GMCA}'",
    )
    assert all(row["value"] is None for row in gmca)


# --- significance ---------------------------------------------------------------------------------


def test_employment_change_on_the_year_significant_and_not(indicator_settings: Settings) -> None:
    """Birmingham: 68.0 ± 2.0 against 64.0 ± 2.0 a year before: |4.0| > sqrt(2.0² + 2.0²) = 2.83 → True.
    Coventry: 76.0 ± 3.0 against 73.8 ± 3.0: |2.2| < sqrt(3.0² + 3.0²) = 4.24 → False."""
    birmingham = summary(indicator_settings, "employment_rate", BIRMINGHAM)
    assert birmingham["change_year"] == pytest.approx(4.0)
    assert abs(68.0 - 64.0) > sqrt(2.0**2 + 2.0**2)
    assert birmingham["significant_year"] is True

    coventry = summary(indicator_settings, "employment_rate", COVENTRY)
    assert coventry["change_year"] == pytest.approx(2.2)
    assert abs(76.0 - 73.8) < sqrt(3.0**2 + 3.0**2)
    assert coventry["significant_year"] is False


def test_employment_gap_to_the_uk_significant_and_not(indicator_settings: Settings) -> None:
    """UK 75.0 ± 0.3. Birmingham |68.0 - 75.0| = 7.0 > sqrt(2.0² + 0.3²) = 2.02 → True.
    Coventry |76.0 - 75.0| = 1.0 < sqrt(3.0² + 0.3²) = 3.01 → False. The UK is not compared to itself."""
    birmingham = summary(indicator_settings, "employment_rate", BIRMINGHAM)
    assert birmingham["gap_uk"] == pytest.approx(-7.0)
    assert birmingham["significant_gap_uk"] is True
    coventry = summary(indicator_settings, "employment_rate", COVENTRY)
    assert coventry["gap_uk"] == pytest.approx(1.0)
    assert coventry["significant_gap_uk"] is False
    assert summary(indicator_settings, "employment_rate", UK)["significant_gap_uk"] is None


def test_composite_intervals_decide_the_wmcas_significance(indicator_settings: Settings) -> None:
    """WMCA employment: 1,338,400 / 1,880,000 = 71.1915% in 2026-06 against 1,293,000 / 1,880,000 =
    68.7766% in 2025-06, each ± h = sqrt(sum((den_i x h_i)^2)) / 1,880,000 = 1.1745 (same denominators
    and half-widths both years): |2.4149| > sqrt(2) x 1.1745 = 1.661 → True; gap to the UK's 75.0 ± 0.3:
    |-3.8085| > sqrt(1.1745² + 0.3²) = 1.212 → True.
    WMCA inactivity: 444,300 / 1,880,000 = 23.6330% against 463,500 / 1,880,000 = 24.6543%, h =
    sqrt((750,000 x 2.0)^2 + (240,000 x 2.8)^2 + (200,000 x 3.0)^2 + (210,000 x 3.1)^2 + (130,000 x 3.5)^2
    + (180,000 x 3.3)^2 + (170,000 x 3.4)^2) / 1,880,000 = 1.1131 both years: |-1.0213| < 1.574 → False.
    """
    dens = [750_000, 240_000, 200_000, 210_000, 130_000, 180_000, 170_000]

    def half_width(hs: list[float]) -> float:
        return sqrt(sum((d * h) ** 2 for d, h in zip(dens, hs, strict=True))) / sum(dens)

    h_employment = half_width([2.0, 3.0, 3.5, 3.4, 4.0, 3.6, 3.8])
    employment = summary(indicator_settings, "employment_rate", WMCA)
    change = (1_338_400 - 1_293_000) / 1_880_000 * 100
    assert employment["change_year"] == pytest.approx(change)
    assert abs(change) > sqrt(2) * h_employment
    assert employment["significant_year"] is True
    gap = 1_338_400 / 1_880_000 * 100 - 75.0
    assert abs(gap) > sqrt(h_employment**2 + 0.3**2)
    assert employment["significant_gap_uk"] is True

    h_inactivity = half_width([2.0, 2.8, 3.0, 3.1, 3.5, 3.3, 3.4])
    inactivity = summary(indicator_settings, "inactivity_rate", WMCA)
    change = (444_300 - 463_500) / 1_880_000 * 100
    assert inactivity["change_year"] == pytest.approx(change)
    assert abs(change) < sqrt(2) * h_inactivity
    assert inactivity["significant_year"] is False


def test_survey_means_significance(indicator_settings: Settings) -> None:
    """Life satisfaction. Sandwell 7.45 (7.34-7.56) against 7.10 (6.98-7.22): |0.35| > sqrt(0.11² +
    0.12²) = 0.163 → True. Birmingham 7.38 (7.25-7.51) against 7.41 (7.29-7.53): |0.03| < 0.177 → False;
    against the UK's 7.45 (7.44-7.46): |0.07| < sqrt(0.13² + 0.01²) = 0.130 → False."""
    sandwell = summary(indicator_settings, "life_satisfaction", SANDWELL)
    assert sandwell["change_year"] == pytest.approx(0.35)
    assert sandwell["significant_year"] is True
    birmingham = summary(indicator_settings, "life_satisfaction", BIRMINGHAM)
    assert birmingham["significant_year"] is False
    assert birmingham["significant_gap_uk"] is False


def test_no_significance_without_intervals(indicator_settings: Settings) -> None:
    """Claimant figures are counts from administrative data: no interval, so no verdict (NULL)."""
    for indicator in ("claimant_rate", "claimant_count", "youth_claimant_rate"):
        row = summary(indicator_settings, indicator, WMCA)
        assert row["significant_year"] is None and row["significant_gap_uk"] is None, indicator
