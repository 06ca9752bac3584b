"""Claimant indicators from the fixtures, checked against values worked out by hand.

WMCA, October 2026: counts 60,000 + 12,000 + 9,000 + 13,000 + 4,000 + 10,000 + 11,000 = 119,000;
residents aged 16-64 (mid-2025) 750,000 + 240,000 + 200,000 + 210,000 + 130,000 + 180,000 +
170,000 = 1,880,000; rate 119,000 / 1,880,000 = 6.3297872...%.
September 2026: 117,500 claimants, rate 6.25%. October 2025: 115,000 claimants (rate 6.1170213%).
"""

from __future__ import annotations

import math

import pytest

from flows.settings import Settings
from warehouse.query import run_query


def summary(settings: Settings, indicator: str, area: str) -> dict:
    result = run_query(
        settings.snapshot_path,
        f"SELECT * FROM indicator_summary WHERE indicator_id = '{indicator}' AND geography_code = '{area}'",
    )
    (row,) = result.rows
    return dict(zip(result.columns, row, strict=True))


def test_wmca_count_is_the_sum_of_its_councils(loaded_settings: Settings) -> None:
    row = summary(loaded_settings, "claimant_count", "E47000007")
    assert row["period"] == "2026-10" and row["basis"] == "computed"
    assert row["value"] == 119_000
    assert row["change_period"] == 1_500
    assert row["change_year"] == 4_000
    assert math.isclose(row["change_year_pct"], 4_000 / 115_000 * 100)
    assert row["gap_uk"] is None, "a gap between counts of areas of different size means nothing"


def test_wmca_rate_is_total_claimants_over_total_residents(loaded_settings: Settings) -> None:
    row = summary(loaded_settings, "claimant_rate", "E47000007")
    assert math.isclose(row["value"], 119_000 / 1_880_000 * 100)
    assert math.isclose(row["change_period"], 119_000 / 1_880_000 * 100 - 6.25)
    assert math.isclose(row["change_year"], (119_000 - 115_000) / 1_880_000 * 100)
    assert math.isclose(row["gap_uk"], 119_000 / 1_880_000 * 100 - 3.8)
    assert row["change_period_pct"] is None, "a rate's change is in percentage points only"
    # An average of the councils' published rates would give 5.5571...%, not 6.33%.
    assert not math.isclose(row["value"], (8.0 + 5.0 + 4.5 + 6.2 + 3.1 + 5.6 + 6.5) / 7)


def test_councils_keep_the_publishers_figures(loaded_settings: Settings) -> None:
    row = summary(loaded_settings, "claimant_rate", "E08000028")
    assert row["basis"] == "published"
    assert row["value"] == pytest.approx(6.2)
    assert row["change_period"] == pytest.approx(0.1)
    assert row["change_year"] == pytest.approx(0.2)


def test_a_composite_is_missing_when_a_member_is_missing(loaded_settings: Settings) -> None:
    # Dudley's August 2026 count is Q in the fixture: the WMCA total for that month is missing.
    result = run_query(
        loaded_settings.snapshot_path,
        "SELECT value, status FROM indicator_value WHERE indicator_id = 'claimant_count' "
        "AND geography_code = 'E47000007' AND period = '2026-08'",
    )
    assert result.rows == [(None, "missing")]
    dudley = run_query(
        loaded_settings.snapshot_path,
        "SELECT value, status FROM indicator_value WHERE indicator_id = 'claimant_count' "
        "AND geography_code = 'E08000027' AND period = '2026-08'",
    )
    assert dudley.rows == [(None, "missing")]
