"""Every indicator of warehouse/indicators.yaml, checked against values worked out by hand.

The numbers come from tests/fixtures/indicators (Nomis CSV, ONS CMD and time series, UK HPI full file,
GOV.UK attachments), served on loopback and loaded by the real steps (`indicator_settings`). Each test
writes its arithmetic with the fixture's figures, in the docstring and in the expected values.

WMCA councils, in this order throughout: Birmingham E08000025, Coventry E08000026, Dudley E08000027,
Sandwell E08000028, Solihull E08000029, Walsall E08000030, Wolverhampton E08000031.
Residents aged 16-64 (NM_2002_1, c_age 203): 2025 750,000 + 240,000 + 200,000 + 210,000 + 130,000 +
180,000 + 170,000 = 1,880,000; 2024 745,000 + 238,000 + 198,000 + 208,000 + 129,000 + 179,000 +
168,000 = 1,865,000; UK 2025 42,000,000.
"""

from __future__ import annotations

import csv
import io
from math import sqrt
from typing import get_args

import pytest

from flows.settings import Settings
from sources import catalog
from sources.catalog import default_catalog
from tests.fixture_publishers import LoadedWarehouse, els_files, query, summary, value_at
from warehouse import registry
from warehouse.registry import load_registry

WMCA = "E47000007"
BIRMINGHAM, COVENTRY, DUDLEY, SANDWELL, SOLIHULL, WALSALL, WOLVERHAMPTON = (
    f"E080000{n}" for n in range(25, 32)
)
WM_REGION, UK = "E12000005", "K02000001"
RESIDENTS_2025 = 750_000 + 240_000 + 200_000 + 210_000 + 130_000 + 180_000 + 170_000  # 1,880,000
RESIDENTS_2024 = 745_000 + 238_000 + 198_000 + 208_000 + 129_000 + 179_000 + 168_000  # 1,865,000

# Each Explore Local Statistics indicator -> the area it is checked for: the WMCA where ONS publishes
# a combined-authority row, else the region, else Birmingham (smoking: councils and countries only).
ELS_AREAS = {
    indicator.id: WMCA
    if "combined_authority" in indicator.levels
    else WM_REGION
    if "region" in indicator.levels
    else BIRMINGHAM
    for indicator in load_registry().values()
    if indicator.source and indicator.source.dataset.startswith("els_")
}
# The indicator -> the areas whose figures a test below checks by hand (kept equal to the registry).
COVERED = {
    "claimant_count": (WMCA, BIRMINGHAM),
    "claimant_rate": (WMCA, BIRMINGHAM, UK),
    "youth_claimant_count": (WMCA,),
    "youth_claimant_count_16_24": (WMCA, BIRMINGHAM),
    "youth_claimant_rate_16_24": (WMCA, BIRMINGHAM, UK),
    "youth_claimant_rate": (WMCA, BIRMINGHAM, UK),
    "employment_rate": (WMCA, BIRMINGHAM),
    "unemployment_rate": (WMCA,),
    "inactivity_rate": (WMCA,),
    "median_pay_residence": (WMCA,),
    "median_pay_workplace": (WMCA, BIRMINGHAM),
    "enterprises": (WMCA,),
    "enterprises_per_10000": (WMCA, BIRMINGHAM, UK),
    "employee_jobs": (WMCA,),
    "jobs_density": (WMCA, BIRMINGHAM),
    "residents_16_64": (WMCA,),
    "gdp_per_head": (WM_REGION,),
    "cpi_annual_rate": (UK,),
    "cpih_annual_rate": (UK,),
    "average_house_price": (BIRMINGHAM,),
    "house_price_annual_change": (BIRMINGHAM,),
    "house_sales_volume": (WMCA, BIRMINGHAM),
    "imd_rank": (BIRMINGHAM, SOLIHULL),
    "imd_2025_rank": (BIRMINGHAM, SANDWELL),
    "luf_allocation_per_head": (WMCA, BIRMINGHAM, DUDLEY),
    "luf_priority_category": (BIRMINGHAM, COVENTRY, SOLIHULL),
    "life_satisfaction": (WMCA, BIRMINGHAM),
    "online_job_adverts": (WM_REGION,),
    "payrolled_employees": (WMCA, BIRMINGHAM, UK),
    "business_births": (WMCA, BIRMINGHAM, UK),
    "business_deaths": (WMCA, UK),
    "median_monthly_pay": (WMCA, SOLIHULL, UK),
    # The Levelling Up mission metrics of ONS Explore Local Statistics: the publisher's own figure,
    # checked against the served file in test_a_mission_metric_is_the_publishers_own_row.
    **{indicator: (area,) for indicator, area in ELS_AREAS.items()},
}


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-9, abs=1e-12)


def assert_changes(row: dict, *, period: str, value: float, previous: float, year_ago: float) -> None:
    """Latest period and value, and the absolute changes on the period and on the year."""
    assert row["period"] == period
    assert row["status"] == "ok"
    assert row["value"] == approx(value)
    assert row["change_period"] == approx(value - previous)
    assert row["change_year"] == approx(value - year_ago)


def assert_pct_changes(row: dict, *, value: float, previous: float, year_ago: float) -> None:
    assert row["change_period_pct"] == approx((value - previous) / previous * 100)
    assert row["change_year_pct"] == approx((value - year_ago) / year_ago * 100)


def assert_no_pct_changes(row: dict) -> None:
    assert row["change_period_pct"] is None and row["change_year_pct"] is None, "a rate changes in points"


# --- the registry and the catalog -----------------------------------------------------------------


def test_every_indicator_of_the_registry_is_checked_here() -> None:
    assert set(COVERED) == set(load_registry())
    assert len(COVERED) == 58  # 31, imd_2025_rank and 26 mission metrics of Explore Local Statistics


def test_the_registry_and_the_catalog_know_the_same_units() -> None:
    assert get_args(registry.Unit) == get_args(catalog.Unit)


def test_every_indicator_names_catalog_datasets_and_their_series() -> None:
    catalog = default_catalog()
    for indicator in load_registry().values():
        refs = {
            role: getattr(indicator, role)
            for role in ("source", "numerator", "denominator", "weight")
            if getattr(indicator, role, None) is not None
        }
        assert refs, indicator.id
        for role, ref in refs.items():
            spec = catalog.get(ref.dataset)  # raises for a dataset the catalog lacks
            assert ref.series in spec.series_names(), f"{indicator.id}.{role}: {ref}"


def test_the_snapshot_holds_every_indicator_for_the_areas_checked(indicator_settings: Settings) -> None:
    rows = query(indicator_settings, "SELECT indicator_id, geography_code, value FROM indicator_summary")
    have = {(r["indicator_id"], r["geography_code"]) for r in rows if r["value"] is not None}
    for indicator, areas in COVERED.items():
        for area in areas:
            assert (indicator, area) in have, f"{indicator} has no value for {area}"


# --- labour market: claimants ---------------------------------------------------------------------


def test_claimant_count(indicator_settings: Settings) -> None:
    """WMCA, the sum of its councils (NM_162_1, age 0, measure 1):
    2026-10: 60,000 + 12,000 + 9,000 + 13,000 + 4,000 + 10,000 + 11,000 = 119,000
    2026-09: 59,000 + 11,900 + 8,900 + 12,800 + 3,950 + 9,900 + 10,800 = 117,250
    2025-10: 58,000 + 11,500 + 8,700 + 12,600 + 3,900 + 9,700 + 10,600 = 115,000
    Changes 1,750 (1.4925...%) and 4,000 (3.478...%). Birmingham, published: 60,000 / 59,000 / 58,000.
    """
    wmca = summary(indicator_settings, "claimant_count", WMCA)
    assert wmca["basis"] == "computed"
    assert_changes(wmca, period="2026-10", value=119_000, previous=117_250, year_ago=115_000)
    assert_pct_changes(wmca, value=119_000, previous=117_250, year_ago=115_000)
    assert wmca["change_year_pct"] == approx(4_000 / 115_000 * 100)
    assert wmca["gap_uk"] is None and wmca["gap_england"] is None, "gaps between counts are NULL"

    birmingham = summary(indicator_settings, "claimant_count", BIRMINGHAM)
    assert birmingham["basis"] == "published"
    assert_changes(birmingham, period="2026-10", value=60_000, previous=59_000, year_ago=58_000)
    assert_pct_changes(birmingham, value=60_000, previous=59_000, year_ago=58_000)
    assert birmingham["gap_uk"] is None


def test_wmca_claimant_count_matches_the_publishers_own_wmca_figure(indicator_settings: Settings) -> None:
    """Nomis publishes E47000007 itself (request_composites: true): 119,000 / 117,250 / 115,000 in the
    fixture, and its rate 6.3 / 6.2 / 6.1, which our 119,000 / 1,880,000 = 6.33% etc. round to."""
    published = query(
        indicator_settings,
        "SELECT series, period, value FROM stg_observation_latest WHERE dataset = 'claimant_count' "
        f"AND geography_code = '{WMCA}' AND series IN ('claimant_count', 'claimant_rate')",
    )
    by_key = {(r["series"], r["period"]): r["value"] for r in published}
    for period, count in (("2026-10", 119_000), ("2026-09", 117_250), ("2025-10", 115_000)):
        ours = value_at(indicator_settings, "claimant_count", WMCA, period)
        assert ours["basis"] == "computed"
        assert ours["value"] == by_key["claimant_count", period] == count
        rate = value_at(indicator_settings, "claimant_rate", WMCA, period)["value"]
        assert rate == approx(count / RESIDENTS_2025 * 100)
        assert round(rate, 1) == by_key["claimant_rate", period]


def test_claimant_rate(indicator_settings: Settings) -> None:
    """WMCA: claimants over residents 16-64 as in force (mid-2025 for every month from 2025-01):
    119,000 / 1,880,000 = 6.3298%, 117,250 / 1,880,000 = 6.2367%, 115,000 / 1,880,000 = 6.1170%;
    UK (published) 3.8%, England 3.9%. Birmingham, published: 8.0 / 7.9 / 7.8; gap to the UK 4.2.
    """
    wmca = summary(indicator_settings, "claimant_rate", WMCA)
    value = 119_000 / RESIDENTS_2025 * 100
    assert_changes(
        wmca,
        period="2026-10",
        value=value,
        previous=117_250 / RESIDENTS_2025 * 100,
        year_ago=115_000 / RESIDENTS_2025 * 100,
    )
    assert_no_pct_changes(wmca)
    assert wmca["gap_uk"] == approx(value - 3.8)
    assert wmca["gap_england"] == approx(value - 3.9)
    # An average of the councils' published rates would be (8.0+5.0+4.5+6.2+3.1+5.6+6.5)/7 = 5.557%.
    assert wmca["value"] != approx((8.0 + 5.0 + 4.5 + 6.2 + 3.1 + 5.6 + 6.5) / 7)

    birmingham = summary(indicator_settings, "claimant_rate", BIRMINGHAM)
    assert birmingham["basis"] == "published"
    assert_changes(birmingham, period="2026-10", value=8.0, previous=7.9, year_ago=7.8)
    assert birmingham["gap_uk"] == approx(8.0 - 3.8)
    assert summary(indicator_settings, "claimant_rate", UK)["gap_uk"] == 0


def test_youth_claimant_count(indicator_settings: Settings) -> None:
    """WMCA (NM_162_1, age 11):
    2026-10: 12,000 + 2,400 + 1,500 + 2,200 + 600 + 1,700 + 1,900 = 22,300
    2026-09: 11,800 + 2,350 + 1,480 + 2,150 + 590 + 1,680 + 1,880 = 21,930
    2025-10: 11,500 + 2,300 + 1,450 + 2,100 + 580 + 1,650 + 1,850 = 21,430
    """
    wmca = summary(indicator_settings, "youth_claimant_count", WMCA)
    assert_changes(wmca, period="2026-10", value=22_300, previous=21_930, year_ago=21_430)
    assert_pct_changes(wmca, value=22_300, previous=21_930, year_ago=21_430)
    assert wmca["gap_uk"] is None


def test_youth_claimant_rate(indicator_settings: Settings) -> None:
    """Residents 18-24 = sum of single years 18..24 (NM_2002_1 c_age 119..125), mid-2025:
    Birmingham 21,000 + 20,500 + 20,000 + 19,500 + 19,000 + 18,500 + 18,000 = 136,500
    Coventry 6,600 + 6,400 + 6,200 + 6,000 + 5,800 + 5,600 + 5,400 = 42,000
    Dudley 7 x 3,000 (3,300 ... 2,700) = 21,000; Sandwell 7 x 3,500 = 24,500; Solihull 7 x 1,800 =
    12,600; Walsall 7 x 2,700 = 18,900; Wolverhampton 7 x 2,600 = 18,200
    WMCA 136,500 + 42,000 + 21,000 + 24,500 + 12,600 + 18,900 + 18,200 = 273,700
    WMCA rate 22,300 / 273,700 = 8.1476%; 21,930 / 273,700; 21,430 / 273,700.
    Birmingham 12,000 / 136,500 = 8.7912%. UK 330,000 / (7 x 800,000) = 5.8929%.
    """
    youth_wmca = 136_500 + 42_000 + 21_000 + 24_500 + 12_600 + 18_900 + 18_200
    assert youth_wmca == 273_700
    uk_rate = 330_000 / 5_600_000 * 100
    wmca = summary(indicator_settings, "youth_claimant_rate", WMCA)
    assert wmca["basis"] == "computed"
    assert_changes(
        wmca,
        period="2026-10",
        value=22_300 / youth_wmca * 100,
        previous=21_930 / youth_wmca * 100,
        year_ago=21_430 / youth_wmca * 100,
    )
    assert_no_pct_changes(wmca)
    assert wmca["gap_uk"] == approx(22_300 / youth_wmca * 100 - uk_rate)

    birmingham = summary(indicator_settings, "youth_claimant_rate", BIRMINGHAM)
    assert birmingham["basis"] == "computed", "computed for every area, not Nomis's rate"
    assert birmingham["value"] == approx(12_000 / 136_500 * 100)
    assert birmingham["change_year"] == approx((12_000 - 11_500) / 136_500 * 100)
    assert summary(indicator_settings, "youth_claimant_rate", UK)["value"] == approx(uk_rate)


def test_youth_claimant_count_16_24(indicator_settings: Settings) -> None:
    """Aged 16-17 (NM_162_1, age 10) plus aged 18-24 (age 11), WMCA:
    2026-10: 16-17 150 + 30 + 20 + 30 + 10 + 25 + 25 = 290; 290 + 22,300 = 22,590
    2026-09: 145 + 30 + 20 + 25 + 10 + 25 + 20 = 275; 275 + 21,930 = 22,205
    2025-10: 140 + 25 + 15 + 25 + 10 + 20 + 20 = 255; 255 + 21,430 = 21,685
    Birmingham 2026-10: 150 + 12,000 = 12,150; 2025-10: 140 + 11,500 = 11,640.
    """
    wmca = summary(indicator_settings, "youth_claimant_count_16_24", WMCA)
    assert_changes(wmca, period="2026-10", value=22_590, previous=22_205, year_ago=21_685)
    assert_pct_changes(wmca, value=22_590, previous=22_205, year_ago=21_685)
    birmingham = summary(indicator_settings, "youth_claimant_count_16_24", BIRMINGHAM)
    assert birmingham["value"] == 12_150
    assert birmingham["change_year"] == 12_150 - 11_640


def test_youth_claimant_rate_16_24(indicator_settings: Settings) -> None:
    """Residents 16-24 = single years 16..24 (NM_2002_1 c_age 117..125), mid-2025: ages 16 and 17
    Birmingham 21,500 + 21,200; Coventry 6,200 + 6,100; Dudley 2 x 3,100; Sandwell 2 x 3,600;
    Solihull 2 x 1,900; Walsall 2 x 2,800; Wolverhampton 2 x 2,700, so WMCA 273,700 (ages 18-24)
    + 42,700 + 12,300 + 6,200 + 7,200 + 3,800 + 5,600 + 5,400 = 356,900; Birmingham 136,500 +
    42,700 = 179,200; UK 5,600,000 + 790,000 + 780,000 = 7,170,000.
    WMCA rate 22,590 / 356,900; Birmingham 12,150 / 179,200; UK (330,000 + 4,000) / 7,170,000.
    """
    residents_wmca = 273_700 + 42_700 + 12_300 + 6_200 + 7_200 + 3_800 + 5_600 + 5_400
    assert residents_wmca == 356_900
    uk_rate = 334_000 / 7_170_000 * 100
    wmca = summary(indicator_settings, "youth_claimant_rate_16_24", WMCA)
    assert wmca["basis"] == "computed"
    assert_changes(
        wmca,
        period="2026-10",
        value=22_590 / residents_wmca * 100,
        previous=22_205 / residents_wmca * 100,
        year_ago=21_685 / residents_wmca * 100,
    )
    assert wmca["gap_uk"] == approx(22_590 / residents_wmca * 100 - uk_rate)
    birmingham = summary(indicator_settings, "youth_claimant_rate_16_24", BIRMINGHAM)
    assert birmingham["value"] == approx(12_150 / 179_200 * 100)
    assert summary(indicator_settings, "youth_claimant_rate_16_24", UK)["value"] == approx(uk_rate)


# --- labour market: PAYE Real Time Information (tests/fixture_publishers.py RTI_*) ------------------


def test_payrolled_employees(indicator_settings: Settings) -> None:
    """WMCA = its seven councils (NUTS3 UKG31...UKG39) summed, not NUTS2 UKG3's published figure:
    2026-10: 470,000 + 167,000 + 140,000 + 147,000 + 97,000 + 119,000 + 118,500 = 1,258,500
    2026-09: 469,500 + 166,800 + 139,900 + 146,800 + 96,900 + 118,900 + 118,400 = 1,257,200
    2025-10: 465,000 + 165,000 + 139,000 + 145,500 + 96,000 + 118,000 + 117,500 = 1,246,000
    2020-02: 450,000 + 158,000 + 136,000 + 140,000 + 94,000 + 115,000 + 114,000 = 1,207,000
    """
    wmca = summary(indicator_settings, "payrolled_employees", WMCA)
    assert wmca["basis"] == "computed"
    assert_changes(wmca, period="2026-10", value=1_258_500, previous=1_257_200, year_ago=1_246_000)
    assert_pct_changes(wmca, value=1_258_500, previous=1_257_200, year_ago=1_246_000)
    assert wmca["change_since_feb2020"] == approx(1_258_500 - 1_207_000)
    birmingham = summary(indicator_settings, "payrolled_employees", BIRMINGHAM)
    assert (birmingham["value"], birmingham["basis"]) == (470_000, "published")
    assert birmingham["change_year"] == 470_000 - 465_000
    uk = summary(indicator_settings, "payrolled_employees", UK)
    assert_changes(uk, period="2026-10", value=30_300_000, previous=30_290_000, year_ago=30_200_000)


def test_median_monthly_pay(indicator_settings: Settings) -> None:
    """A median is never summed or averaged: the WMCA's is NUTS2 UKG3's published £2,420 (its
    councils' mean would be £2,450); on a year +£90 (+3.8627%); UK £2,600, so the gap is -£180."""
    wmca = summary(indicator_settings, "median_monthly_pay", WMCA)
    assert wmca["basis"] == "published"
    assert_changes(wmca, period="2026-10", value=2_420, previous=2_410, year_ago=2_330)
    assert_pct_changes(wmca, value=2_420, previous=2_410, year_ago=2_330)
    assert wmca["gap_uk"] == approx(2_420 - 2_600)
    solihull = summary(indicator_settings, "median_monthly_pay", SOLIHULL)
    assert (solihull["value"], solihull["change_year"]) == (2_700, 100)
    assert summary(indicator_settings, "median_monthly_pay", UK)["value"] == 2_600


# --- business demography, quarterly (tests/fixture_publishers.py DEMOGRAPHY_ROWS) --------------------


def test_business_births(indicator_settings: Settings) -> None:
    """WMCA = its seven councils summed, the `Unspecified` row in no area:
    2026-Q3: 1,345 + 410 + 305 + 360 + 210 + 290 + 315 = 3,235
    2026-Q2: 1,450 + 420 + 310 + 370 + 215 + 300 + 320 = 3,385
    2025-Q3: 1,300 + 400 + 300 + 350 + 200 + 280 + 300 = 3,130 (the same quarter a year earlier)
    """
    wmca = summary(indicator_settings, "business_births", WMCA)
    assert wmca["basis"] == "computed"
    assert_changes(wmca, period="2026-Q3", value=3_235, previous=3_385, year_ago=3_130)
    assert_pct_changes(wmca, value=3_235, previous=3_385, year_ago=3_130)
    birmingham = summary(indicator_settings, "business_births", BIRMINGHAM)
    assert (birmingham["value"], birmingham["change_year"]) == (1_345, 1_345 - 1_300)
    uk = summary(indicator_settings, "business_births", UK)
    assert_changes(uk, period="2026-Q3", value=70_100, previous=72_500, year_ago=68_000)
    assert (
        query(indicator_settings, "SELECT count(*) AS n FROM observation WHERE geography_code = 'U99999999'")[
            0
        ]["n"]
        == 0
    )


def test_business_deaths(indicator_settings: Settings) -> None:
    """2026-Q3: 1,380 + 425 + 300 + 370 + 205 + 295 + 310 = 3,285; 2026-Q2: 1,500 + 430 + 320 + 390 +
    220 + 310 + 330 = 3,500; 2025-Q3: 1,400 + 420 + 310 + 380 + 210 + 300 + 320 = 3,340."""
    wmca = summary(indicator_settings, "business_deaths", WMCA)
    assert_changes(wmca, period="2026-Q3", value=3_285, previous=3_500, year_ago=3_340)
    assert_pct_changes(wmca, value=3_285, previous=3_500, year_ago=3_340)
    uk = summary(indicator_settings, "business_deaths", UK)
    assert (uk["value"], uk["change_year"]) == (71_500, 71_500 - 70_000)


# --- labour market: APS rates with confidence intervals -------------------------------------------


def composite_half_width(denominators: list[float], half_widths: list[float]) -> float:
    """sqrt(sum((den_i * h_i)^2)) / sum(den_i)."""
    return sqrt(sum((d * h) ** 2 for d, h in zip(denominators, half_widths, strict=True))) / sum(denominators)


APS_DEN_16_64 = [750_000, 240_000, 200_000, 210_000, 130_000, 180_000, 170_000]  # every quarter


def test_employment_rate(indicator_settings: Settings) -> None:
    """WMCA (NM_17_5 variable 45; numerators 21001 over denominators 21002, the 1,880,000 above):
    2026-06: 510,000 + 182,400 + 150,000 + 147,000 + 104,000 + 126,000 + 119,000 = 1,338,400 → 71.1915%
    2026-03: 508,000 + 180,000 + 149,000 + 146,000 + 103,000 + 125,000 + 118,000 = 1,329,000 → 70.6915%
    2025-06: 480,000 + 177,000 + 148,000 + 145,000 + 102,000 + 124,000 + 117,000 = 1,293,000 → 68.7766%
    95% half-width: sqrt((750,000 x 2.0)^2 + (240,000 x 3.0)^2 + (200,000 x 3.5)^2 + (210,000 x 3.4)^2
    + (130,000 x 4.0)^2 + (180,000 x 3.6)^2 + (170,000 x 3.8)^2) / 1,880,000 = 1.1745 points.
    UK (published) 75.0. Birmingham, published: 68.0 ± 2.0, 67.7 in 2026-03, 64.0 in 2025-06.
    """
    value = 1_338_400 / 1_880_000 * 100
    wmca = summary(indicator_settings, "employment_rate", WMCA)
    assert_changes(
        wmca,
        period="2026-06",
        value=value,
        previous=1_329_000 / 1_880_000 * 100,
        year_ago=1_293_000 / 1_880_000 * 100,
    )
    assert_no_pct_changes(wmca)
    assert wmca["gap_uk"] == approx(value - 75.0)
    half_width = composite_half_width(APS_DEN_16_64, [2.0, 3.0, 3.5, 3.4, 4.0, 3.6, 3.8])
    assert half_width == pytest.approx(1.17453, abs=1e-5)
    assert wmca["lower"] == approx(value - half_width)
    assert wmca["upper"] == approx(value + half_width)

    birmingham = summary(indicator_settings, "employment_rate", BIRMINGHAM)
    assert birmingham["basis"] == "published"
    assert_changes(birmingham, period="2026-06", value=68.0, previous=67.7, year_ago=64.0)
    assert (birmingham["lower"], birmingham["upper"]) == (approx(66.0), approx(70.0))
    assert birmingham["gap_uk"] == approx(68.0 - 75.0)


def test_unemployment_rate(indicator_settings: Settings) -> None:
    """WMCA (variable 83; unemployed over economically active):
    2026-06: (43,200 + 9,500 + 7,900 + 9,300 + 3,240 + 7,980 + 8,820 = 89,940)
           / (540,000 + 190,000 + 158,000 + 155,000 + 108,000 + 133,000 + 126,000 = 1,410,000) = 6.3787%
    2026-03: (44,000 + 9,400 + 7,850 + 9,200 + 3,220 + 7,950 + 8,800 = 90,420)
           / (535,000 + 188,000 + 157,000 + 154,000 + 107,000 + 132,000 + 125,000 = 1,398,000) = 6.4678%
    2025-06: (45,000 + 9,200 + 7,800 + 9,100 + 3,200 + 7,900 + 8,700 = 90,900)
           / (520,000 + 186,000 + 155,000 + 152,000 + 106,000 + 130,000 + 124,000 = 1,373,000) = 6.6205%
    Half-widths 1.2, 1.5, 1.6, 1.7, 1.2, 1.8, 1.9 weighted by the 2026-06 denominators. UK 4.4.
    """
    value = 89_940 / 1_410_000 * 100
    wmca = summary(indicator_settings, "unemployment_rate", WMCA)
    assert_changes(
        wmca,
        period="2026-06",
        value=value,
        previous=90_420 / 1_398_000 * 100,
        year_ago=90_900 / 1_373_000 * 100,
    )
    assert wmca["gap_uk"] == approx(value - 4.4)
    half_width = composite_half_width(
        [540_000, 190_000, 158_000, 155_000, 108_000, 133_000, 126_000], [1.2, 1.5, 1.6, 1.7, 1.2, 1.8, 1.9]
    )
    assert wmca["upper"] - wmca["lower"] == approx(2 * half_width)
    assert wmca["lower"] == approx(value - half_width)


def test_inactivity_rate(indicator_settings: Settings) -> None:
    """WMCA (variable 111; inactive 16-64 over residents 16-64, 1,880,000 each quarter):
    2026-06: 195,000 + 48,000 + 40,000 + 50,400 + 23,400 + 45,000 + 42,500 = 444,300 → 23.6330%
    2026-03: 200,000 + 48,500 + 40,500 + 50,700 + 23,700 + 45,200 + 42,700 = 451,300 → 24.0053%
    2025-06: 210,000 + 49,000 + 41,000 + 51,000 + 24,000 + 45,500 + 43,000 = 463,500 → 24.6543%
    Half-widths 2.0, 2.8, 3.0, 3.1, 3.5, 3.3, 3.4. UK 21.2.
    """
    value = 444_300 / 1_880_000 * 100
    wmca = summary(indicator_settings, "inactivity_rate", WMCA)
    assert_changes(
        wmca,
        period="2026-06",
        value=value,
        previous=451_300 / 1_880_000 * 100,
        year_ago=463_500 / 1_880_000 * 100,
    )
    assert wmca["gap_uk"] == approx(value - 21.2)
    half_width = composite_half_width(APS_DEN_16_64, [2.0, 2.8, 3.0, 3.1, 3.5, 3.3, 3.4])
    assert (wmca["lower"], wmca["upper"]) == (approx(value - half_width), approx(value + half_width))


# --- pay: medians the publisher computes -----------------------------------------------------------


def test_median_pay_residence_is_the_publishers_wmca_figure(indicator_settings: Settings) -> None:
    """NM_30_1 publishes the WMCA itself: £680 in 2025, £660 in 2024 (change £20, 3.0303%); UK £730
    (gap -£50). Its CV of 2.0% gives a 95% half-width of 1.96 x 2.0 / 100 x 680 = £26.656."""
    wmca = summary(indicator_settings, "median_pay_residence", WMCA)
    assert wmca["basis"] == "published"
    assert_changes(wmca, period="2025", value=680, previous=660, year_ago=660)
    assert_pct_changes(wmca, value=680, previous=660, year_ago=660)
    assert wmca["gap_uk"] == approx(680 - 730)
    assert (wmca["lower"], wmca["upper"]) == (approx(680 - 26.656), approx(680 + 26.656))


def test_the_wmca_is_asked_of_nomis_only_where_the_catalog_requests_composites(
    indicator_warehouse: LoadedWarehouse,
) -> None:
    """ASHE (sex=8) and the claimant count (age=0,11) have request_composites: true; business counts
    (employment_sizeband=0) and population (c_age=...) do not: the WMCA is summed from its councils."""
    requests = indicator_warehouse.nomis_requests

    def geographies(parameter: str) -> list[list[str]]:
        found = [r["geography"].split(",") for r in requests if parameter in r]
        assert found, parameter
        return found

    for parameter in ("sex", "age"):
        assert all(WMCA in codes and BIRMINGHAM in codes for codes in geographies(parameter))
    for parameter in ("employment_sizeband", "c_age"):
        assert all(WMCA not in codes and BIRMINGHAM in codes for codes in geographies(parameter))


def test_median_pay_workplace(indicator_settings: Settings) -> None:
    """NM_99_1: WMCA £690 (2025) and £675 (2024): +£15, 2.2222%; UK £730. Birmingham £700, £690."""
    wmca = summary(indicator_settings, "median_pay_workplace", WMCA)
    assert wmca["basis"] == "published"
    assert_changes(wmca, period="2025", value=690, previous=675, year_ago=675)
    assert wmca["change_year_pct"] == approx(15 / 675 * 100)
    assert wmca["gap_uk"] == approx(690 - 730)
    birmingham = summary(indicator_settings, "median_pay_workplace", BIRMINGHAM)
    assert_changes(birmingham, period="2025", value=700, previous=690, year_ago=690)
    assert birmingham["gap_uk"] == approx(-30)


# --- business -------------------------------------------------------------------------------------


def test_enterprises(indicator_settings: Settings) -> None:
    """NM_142_1, WMCA: 2025 40,000 + 11,000 + 10,500 + 9,000 + 8,500 + 8,000 + 7,000 = 94,000;
    2024 39,000 + 10,800 + 10,400 + 8,900 + 8,400 + 7,900 + 6,900 = 92,300; +1,700 = 1.8418%."""
    wmca = summary(indicator_settings, "enterprises", WMCA)
    assert_changes(wmca, period="2025", value=94_000, previous=92_300, year_ago=92_300)
    assert_pct_changes(wmca, value=94_000, previous=92_300, year_ago=92_300)
    assert wmca["gap_uk"] is None


def test_enterprises_per_10000(indicator_settings: Settings) -> None:
    """WMCA 94,000 / 1,880,000 x 10,000 = 500.0; 2024 92,300 / 1,865,000 x 10,000 = 494.906.
    UK 2,800,000 / 42,000,000 x 10,000 = 666.667 (gap -166.667). Birmingham 40,000 / 750,000 x 10,000
    = 533.333."""
    wmca = summary(indicator_settings, "enterprises_per_10000", WMCA)
    assert_changes(
        wmca,
        period="2025",
        value=94_000 / RESIDENTS_2025 * 10_000,
        previous=92_300 / RESIDENTS_2024 * 10_000,
        year_ago=92_300 / RESIDENTS_2024 * 10_000,
    )
    assert wmca["value"] == approx(500.0)
    assert wmca["gap_uk"] == approx(500.0 - 2_800_000 / 42_000_000 * 10_000)
    assert summary(indicator_settings, "enterprises_per_10000", BIRMINGHAM)["value"] == approx(
        40_000 / 750_000 * 10_000
    )
    assert summary(indicator_settings, "enterprises_per_10000", UK)["value"] == approx(
        2_800_000 / 42_000_000 * 10_000
    )


def test_employee_jobs(indicator_settings: Settings) -> None:
    """NM_189_1, WMCA: 2025 520,000 + 160,000 + 115,000 + 130,000 + 110,000 + 100,000 + 95,000 =
    1,230,000; 2024 515,000 + 158,000 + 114,000 + 129,000 + 109,000 + 99,000 + 94,000 = 1,218,000."""
    wmca = summary(indicator_settings, "employee_jobs", WMCA)
    assert_changes(wmca, period="2025", value=1_230_000, previous=1_218_000, year_ago=1_218_000)
    assert_pct_changes(wmca, value=1_230_000, previous=1_218_000, year_ago=1_218_000)
    assert wmca["gap_uk"] is None


def test_jobs_density(indicator_settings: Settings) -> None:
    """NM_57_1 total jobs over residents 16-64. WMCA 2025: (600,000 + 190,000 + 140,000 + 150,000 +
    140,000 + 120,000 + 110,000 = 1,450,000) / 1,880,000 = 0.77128; 2024: (595,000 + 185,000 + 135,000
    + 145,000 + 135,000 + 115,000 + 105,000 = 1,415,000) / 1,865,000 = 0.75871. UK (published) 0.87.
    Birmingham keeps Nomis's density, 0.80 both years."""
    wmca = summary(indicator_settings, "jobs_density", WMCA)
    assert wmca["basis"] == "computed"
    assert_changes(
        wmca,
        period="2025",
        value=1_450_000 / RESIDENTS_2025,
        previous=1_415_000 / RESIDENTS_2024,
        year_ago=1_415_000 / RESIDENTS_2024,
    )
    assert_no_pct_changes(wmca)
    assert wmca["gap_uk"] == approx(1_450_000 / RESIDENTS_2025 - 0.87)
    birmingham = summary(indicator_settings, "jobs_density", BIRMINGHAM)
    assert birmingham["basis"] == "published"
    assert_changes(birmingham, period="2025", value=0.8, previous=0.8, year_ago=0.8)


def test_residents_16_64(indicator_settings: Settings) -> None:
    """WMCA 1,880,000 (2025) and 1,865,000 (2024): +15,000, 0.80429%."""
    wmca = summary(indicator_settings, "residents_16_64", WMCA)
    assert_changes(wmca, period="2025", value=1_880_000, previous=1_865_000, year_ago=1_865_000)
    assert_pct_changes(wmca, value=1_880_000, previous=1_865_000, year_ago=1_865_000)
    assert wmca["gap_uk"] is None


def test_online_job_adverts(indicator_settings: Settings) -> None:
    """ONS CMD (ITL1 TLG → E12000005): 85.9 in Oct-26, 87.3 in Sep-26, 82.0 in Oct-25; UK 90.1.
    Changes -1.4 (-1.6037%) and +3.9 (4.7561%); gap -4.2. The IT/Computing row is another series."""
    region = summary(indicator_settings, "online_job_adverts", WM_REGION)
    assert_changes(region, period="2026-10", value=85.9, previous=87.3, year_ago=82.0)
    assert_pct_changes(region, value=85.9, previous=87.3, year_ago=82.0)
    assert region["gap_uk"] == approx(85.9 - 90.1)


# --- output and prices ----------------------------------------------------------------------------


def test_gdp_per_head(indicator_settings: Settings) -> None:
    """ONS CMD regional GDP: West Midlands (TLG) £32,496 in 2023, £31,250 in 2022: +£1,246 (3.9872%);
    UK £38,471: gap -£5,975."""
    region = summary(indicator_settings, "gdp_per_head", WM_REGION)
    assert region["basis"] == "published"
    assert_changes(region, period="2023", value=32_496, previous=31_250, year_ago=31_250)
    assert_pct_changes(region, value=32_496, previous=31_250, year_ago=31_250)
    assert region["gap_uk"] == approx(32_496 - 38_471)


@pytest.mark.parametrize(
    ("indicator", "latest", "previous", "year_ago"),
    [("cpi_annual_rate", 2.8, 3.1, 3.6), ("cpih_annual_rate", 3.2, 3.5, 3.9)],
)
def test_inflation(indicator_settings: Settings, indicator, latest, previous, year_ago) -> None:
    """MM23 time series (D7G7, L55O), months array: 2026 OCT, 2026 SEP and 2025 OCT. CPI's empty
    2026 AUG value is missing, not 0. UK only: the gap to itself is 0, changes are in points."""
    uk = summary(indicator_settings, indicator, UK)
    assert_changes(uk, period="2026-10", value=latest, previous=previous, year_ago=year_ago)
    assert_no_pct_changes(uk)
    assert uk["gap_uk"] == 0
    if indicator == "cpi_annual_rate":
        assert value_at(indicator_settings, indicator, UK, "2026-08")["status"] == "missing"


def test_average_house_price(indicator_settings: Settings) -> None:
    """UK HPI, Birmingham: £229,402 (Sep 2026), £230,127.5 (Aug 2026), £223,000 (Sep 2025):
    -£725.5 (-0.31526%), +£6,402 (2.8709%); UK £270,000: gap -£40,598."""
    birmingham = summary(indicator_settings, "average_house_price", BIRMINGHAM)
    assert_changes(birmingham, period="2026-09", value=229_402, previous=230_127.5, year_ago=223_000)
    assert_pct_changes(birmingham, value=229_402, previous=230_127.5, year_ago=223_000)
    assert birmingham["gap_uk"] == approx(229_402 - 270_000)


def test_house_price_annual_change(indicator_settings: Settings) -> None:
    """UK HPI 12m%Change, Birmingham: 2.87 (Sep 2026), 3.05 (Aug 2026), 4.1 (Sep 2025); UK 2.5."""
    birmingham = summary(indicator_settings, "house_price_annual_change", BIRMINGHAM)
    assert_changes(birmingham, period="2026-09", value=2.87, previous=3.05, year_ago=4.1)
    assert_no_pct_changes(birmingham)
    assert birmingham["gap_uk"] == approx(2.87 - 2.5)


def test_house_sales_volume(indicator_settings: Settings) -> None:
    """Sales volumes lag: September 2026 is empty for every area, so the latest is August 2026.
    WMCA Aug 2026: 900 + 300 + 320 + 250 + 220 + 230 + 200 = 2,420; Jul 2026: 880 + 290 + 310 + 240 +
    210 + 225 + 195 = 2,350; Aug 2025: 850 + 280 + 300 + 230 + 200 + 220 + 190 = 2,270."""
    wmca = summary(indicator_settings, "house_sales_volume", WMCA)
    assert_changes(wmca, period="2026-08", value=2_420, previous=2_350, year_ago=2_270)
    assert_pct_changes(wmca, value=2_420, previous=2_350, year_ago=2_270)
    assert wmca["gap_uk"] is None
    assert value_at(indicator_settings, "house_sales_volume", WMCA, "2026-09")["status"] == "missing"
    birmingham = summary(indicator_settings, "house_sales_volume", BIRMINGHAM)
    assert_changes(birmingham, period="2026-08", value=900, previous=880, year_ago=850)


# --- levelling up ---------------------------------------------------------------------------------


def test_imd_rank(indicator_settings: Settings) -> None:
    """IoD2019 File 10, sheet IMD, "IMD - Rank of average score": Birmingham 7, Solihull 200."""
    birmingham = summary(indicator_settings, "imd_rank", BIRMINGHAM)
    assert (birmingham["period"], birmingham["value"], birmingham["basis"]) == ("2019", 7, "published")
    assert birmingham["change_year"] is None and birmingham["gap_uk"] is None
    assert summary(indicator_settings, "imd_rank", SOLIHULL)["value"] == 200


def test_imd_2025_rank(indicator_settings: Settings) -> None:
    """IoD 2025 File 10 v2, sheet IMD, rank of average score (real): Birmingham 5, Sandwell 19."""
    birmingham = summary(indicator_settings, "imd_2025_rank", BIRMINGHAM)
    assert (birmingham["period"], birmingham["value"], birmingham["basis"]) == ("2025", 5, "published")
    assert summary(indicator_settings, "imd_2025_rank", SANDWELL)["value"] == 19


def test_luf_priority_category(indicator_settings: Settings) -> None:
    """LUF round 2 CSV: Birmingham "Category 1" → 1, Coventry "Category 2" → 2, Solihull "3" → 3."""
    for area, category in ((BIRMINGHAM, 1), (COVENTRY, 2), (SOLIHULL, 3)):
        row = summary(indicator_settings, "luf_priority_category", area)
        assert (row["period"], row["value"]) == ("2022", category)


def test_luf_allocation_per_head(indicator_settings: Settings) -> None:
    """All rounds' awards by lead council over residents of all ages (mid-2023, in force for 2023):
    Birmingham 20,000,000 + 19,500,000 + 15,000,000 = 54,500,000 / 1,130,000 = £48.23
    Coventry "£12,000,000" / 340,000; Dudley no bid: £0 / 320,000 = £0; Sandwell 10,000,000 + 8,000,000
    = 18,000,000; Solihull £0; Walsall 11,400,000; Wolverhampton 20,000,000 + 15,000,000 = 35,000,000
    WMCA (54,500,000 + 12,000,000 + 0 + 18,000,000 + 0 + 11,400,000 + 35,000,000 = 130,900,000)
       / (1,130,000 + 340,000 + 320,000 + 335,000 + 214,000 + 283,000 + 260,000 = 2,882,000) = £45.42
    """
    awards = 54_500_000 + 12_000_000 + 0 + 18_000_000 + 0 + 11_400_000 + 35_000_000
    residents = 1_130_000 + 340_000 + 320_000 + 335_000 + 214_000 + 283_000 + 260_000
    wmca = summary(indicator_settings, "luf_allocation_per_head", WMCA)
    assert (wmca["period"], wmca["basis"]) == ("2023", "computed")
    assert wmca["value"] == approx(130_900_000 / 2_882_000) == approx(awards / residents)
    assert summary(indicator_settings, "luf_allocation_per_head", BIRMINGHAM)["value"] == approx(
        54_500_000 / 1_130_000
    )
    dudley = summary(indicator_settings, "luf_allocation_per_head", DUDLEY)
    assert (dudley["value"], dudley["status"]) == (0, "ok"), "a council without a bid counts £0"
    assert summary(indicator_settings, "luf_allocation_per_head", COVENTRY)["value"] == approx(
        12_000_000 / 340_000
    )


def test_life_satisfaction(indicator_settings: Settings) -> None:
    """ONS well-being (2023-24 → 2023): Birmingham 7.38 (7.25-7.51), 2022-23 7.41; UK 7.45 (7.44-7.46).
    WMCA: councils' means weighted by residents 16-64 in force (mid-2023 for 2023, mid-2022 for 2022):
    2023 (7.38 x 740,000 + 7.50 x 236,000 + 7.45 x 196,000 + 7.45 x 206,000 + 7.70 x 128,000
          + 7.30 x 178,000 + 7.25 x 166,000) / 1,850,000 = 7.41330
    2022 (7.41 x 735,000 + 7.48 x 234,000 + 7.44 x 195,000 + 7.10 x 204,000 + 7.65 x 127,000
          + 7.33 x 177,000 + 7.28 x 165,000) / 1,837,000 = 7.38488
    Half-width sqrt(sum((w_i x h_i)^2)) / sum(w_i), h = (upper - lower) / 2 of each council.
    """
    weights_2023 = [740_000, 236_000, 196_000, 206_000, 128_000, 178_000, 166_000]
    scores_2023 = [7.38, 7.50, 7.45, 7.45, 7.70, 7.30, 7.25]
    weights_2022 = [735_000, 234_000, 195_000, 204_000, 127_000, 177_000, 165_000]
    scores_2022 = [7.41, 7.48, 7.44, 7.10, 7.65, 7.33, 7.28]
    mean_2023 = sum(w * x for w, x in zip(weights_2023, scores_2023, strict=True)) / 1_850_000
    mean_2022 = sum(w * x for w, x in zip(weights_2022, scores_2022, strict=True)) / 1_837_000
    assert (mean_2023, mean_2022) == (pytest.approx(7.41330, abs=1e-5), pytest.approx(7.38488, abs=1e-5))
    half_widths = [
        (7.51 - 7.25) / 2,
        (7.64 - 7.36) / 2,
        (7.60 - 7.30) / 2,
        (7.56 - 7.34) / 2,
        (7.88 - 7.52) / 2,
        (7.46 - 7.14) / 2,
        (7.41 - 7.09) / 2,
    ]
    half_width = composite_half_width(weights_2023, half_widths)

    wmca = summary(indicator_settings, "life_satisfaction", WMCA)
    assert_changes(wmca, period="2023", value=mean_2023, previous=mean_2022, year_ago=mean_2022)
    assert (wmca["lower"], wmca["upper"]) == (approx(mean_2023 - half_width), approx(mean_2023 + half_width))
    assert wmca["gap_uk"] == approx(mean_2023 - 7.45)

    birmingham = summary(indicator_settings, "life_satisfaction", BIRMINGHAM)
    assert birmingham["basis"] == "published"
    assert_changes(birmingham, period="2023", value=7.38, previous=7.41, year_ago=7.41)
    assert (birmingham["lower"], birmingham["upper"]) == (approx(7.25), approx(7.51))
    assert birmingham["gap_uk"] == approx(7.38 - 7.45)


def test_a_composite_sums_its_members_in_code_order(indicator_settings: Settings, tmp_path) -> None:
    """Floating-point addition depends on its order, and the engine's order varies between runs (it
    changed a composite's last digits between two builds of the same data). With members whose sum
    in one order differs from another, stored in reverse code order, the WMCA's claimant count must
    be their sum from Birmingham to Wolverhampton, whatever order the engine meets them in."""
    import shutil
    from functools import reduce
    from operator import add

    import duckdb

    from warehouse.modelling import build_models

    members = [BIRMINGHAM, COVENTRY, DUDLEY, SANDWELL, SOLIHULL, WALSALL, WOLVERHAMPTON]
    values = [0.1, 0.2, 0.3, 1e16, 1.0, 1.0, -1e16]
    in_code_order = reduce(add, values)
    assert in_code_order != reduce(add, reversed(values)), "the test needs an order-sensitive sum"
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(indicator_settings.warehouse_path, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        where = (
            "dataset = 'claimant_count' AND series = 'claimant_count' AND period = '2026-10' "
            "AND geography_code IN (SELECT unnest($members))"
        )
        rows = con.execute(f"SELECT * FROM observation WHERE {where}", {"members": members}).fetchall()
        columns = [d[0] for d in con.description]
        assert sorted(r[columns.index("geography_code")] for r in rows) == members
        con.execute(f"DELETE FROM observation WHERE {where}", {"members": members})
        for row in sorted(rows, key=lambda r: r[columns.index("geography_code")], reverse=True):
            row = list(row)
            row[columns.index("value")] = values[members.index(row[columns.index("geography_code")])]
            con.execute(f"INSERT INTO observation VALUES ({', '.join('?' * len(row))})", row)
        build_models(con)
        (wmca,) = con.execute(
            "SELECT value FROM indicator_value WHERE indicator_id = 'claimant_count' "
            "AND geography_code = ? AND period = '2026-10'",
            [WMCA],
        ).fetchone()
    assert wmca == in_code_order


@pytest.mark.parametrize("indicator_id", sorted(ELS_AREAS))
def test_a_mission_metric_is_the_publishers_own_row(indicator_settings: Settings, indicator_id: str) -> None:
    """The latest period's figure is the served file's row for the area, as published, read here
    with the csv module from the bytes the fixture server sends (ISO period `YYYY-MM-DD/PnY` -> the
    starting year; a bare date -> its month)."""
    indicator = load_registry()[indicator_id]
    spec = default_catalog().get(indicator.source.dataset)
    (series,) = [s for s in spec.series if s.name == indicator.source.series]
    (body,) = [body for path, body, _ in els_files() if path.endswith(f"/{spec.source_id}.csv")]
    rows = [
        r
        for r in csv.DictReader(io.StringIO(body.decode()))
        if r["indicator"] == series.match["indicator"] and r["areacd"] == ELS_AREAS[indicator_id]
    ]
    newest = max(rows, key=lambda r: r["period"])
    period = (
        newest["period"][:4]
        if "/P" in newest["period"] and "P1M" not in newest["period"]
        else newest["period"][:7]
    )
    found = summary(indicator_settings, indicator_id, ELS_AREAS[indicator_id])
    assert found["basis"] == "published"
    assert (found["period"], found["value"]) == (period, approx(float(newest["observation"])))
    if newest["lci_95"]:
        assert (found["lower"], found["upper"]) == (
            approx(float(newest["lci_95"])),
            approx(float(newest["uci_95"])),
        )
