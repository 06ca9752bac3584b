"""The monitor's totals against the publisher's: a combined authority's published figure agrees
with the sum of its members', no part's count exceeds its whole's, and a disagreement holds the
edition back as a draft, named."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from flows import steps
from flows.settings import Settings
from tests.conftest import DEMO_TODAY, publish
from warehouse import db
from warehouse.quality import MODEL_CHECKS, blocking, run_model_checks

WMCA, REGION = "E47000007", "E12000005"


@pytest.fixture
def demo(demo_data_dir: Settings, tmp_path: Path) -> Settings:
    data_dir = tmp_path / "data"
    shutil.copytree(demo_data_dir.data_dir, data_dir, symlinks=True)
    return demo_data_dir.model_copy(update={"data_dir": data_dir})


def _publisher_says(settings: Settings, series: str, code: str, period: str, change: str) -> None:
    """A new vintage in which the publisher's row for `code` reads `value <change>`."""
    with duckdb.connect(str(settings.warehouse_path)) as con:
        dataset = con.execute(
            "SELECT dataset FROM observation WHERE series = ? LIMIT 1", [series]
        ).fetchone()[0]
        con.execute(
            "INSERT INTO vintage (vintage_id, dataset, publisher, fetched_at, loaded_at, pages, "
            "rows_received, rows_new) VALUES ('totals-test', ?, 'test', now(), now(), 1, 1, 1)",
            [dataset],
        )
        con.execute(
            "INSERT INTO observation SELECT dataset, series, geography_code, geography_name, period, "
            f"period_date, value {change}, status, lower, upper, unit, 'totals-test' "
            "FROM stg_observation_latest "
            "WHERE series = ? AND geography_code = ? AND period = ?",
            [series, code, period],
        )


def _checks(settings: Settings) -> dict[str, object]:
    with db.connect(settings.warehouse_path) as con:
        return {r.check: r for r in run_model_checks(con)}


def test_the_demo_passes_both_checks(demo: Settings) -> None:
    checks = _checks(demo)
    assert checks["aggregate_totals"].passed and checks["aggregate_totals"].severity == "blocker"
    assert "agree with the sums of their members" in checks["aggregate_totals"].detail
    assert checks["containment"].passed


def test_a_published_total_that_disagrees_with_its_parts_fails_and_holds_the_edition(demo: Settings) -> None:
    _publisher_says(demo, "claimant_count", WMCA, "2026-10", "+ 900")
    steps.build(demo)
    publish(demo)
    with db.connect(demo.warehouse_path) as con:
        reasons = blocking(con)
    assert any(
        reason.startswith(f"{MODEL_CHECKS}: the publisher's totals disagree with their parts")
        and "claimant_count, West Midlands Combined Authority, 2026-10" in reason
        for reason in reasons
    ), reasons
    result = steps.build_bulletin(demo, today=DEMO_TODAY)
    assert not result.published
    assert (demo.data_dir / "drafts" / "2026-10" / "REASONS.txt").read_text().count("totals disagree") == 1


def test_counts_within_the_publishers_rounding_pass(demo: Settings) -> None:
    _publisher_says(demo, "claimant_count", WMCA, "2026-10", "+ 10")  # 7 members: up to 35 allowed
    steps.build(demo)
    assert _checks(demo)["aggregate_totals"].passed


def test_a_rate_more_than_one_printed_unit_off_fails(demo: Settings) -> None:
    _publisher_says(demo, "claimant_rate", WMCA, "2026-10", "+ 0.3")
    steps.build(demo)
    result = _checks(demo)["aggregate_totals"]
    assert not result.passed and "claimant_rate, West Midlands Combined Authority, 2026-10" in result.detail


def test_a_part_larger_than_its_whole_fails_containment(demo: Settings) -> None:
    """The old demo's fault: the region's house sales below the sum of the WMCA's councils'."""
    with duckdb.connect(str(demo.warehouse_path)) as con:
        period = con.execute(
            "SELECT max(period) FROM observation WHERE series = 'house_sales_volume' AND value IS NOT NULL"
        ).fetchone()[0]
    _publisher_says(demo, "house_sales_volume", REGION, period, "* 0.2")
    steps.build(demo)
    result = _checks(demo)["containment"]
    assert not result.passed
    assert f"house_sales_volume, {period}: West Midlands Combined Authority" in result.detail


def test_an_indicator_the_registry_exempts_is_skipped_with_its_reason(demo: Settings) -> None:
    _publisher_says(demo, "claimant_count", WMCA, "2026-10", "+ 900")
    steps.build(demo)
    with db.connect(demo.warehouse_path) as con:
        con.execute(
            "UPDATE indicator SET totals_differ = 'test: the publisher adds a hidden part' "
            "WHERE indicator_id = 'claimant_count'"
        )
        result = {r.check: r for r in run_model_checks(con)}["aggregate_totals"]
    assert result.passed
    assert "not compared: claimant_count (test: the publisher adds a hidden part)" in result.detail


def test_the_monitors_combined_authority_figures_fall_within_onss_own(demo: Settings) -> None:
    """ONS's combined-authority employment rates (Explore Local Statistics, January to December)
    against the monitor's own from its councils' survey counts for the 12 months to December."""
    check = _checks(demo)["ons_combined_authorities"]
    assert check.passed and check.severity == "blocker"
    assert "combined-authority figures of ONS's compared" in check.detail
    assert "employment_rate" in check.detail


def test_an_aggregate_outside_onss_interval_fails_naming_both_and_holds_the_edition(demo: Settings) -> None:
    with duckdb.connect(str(demo.warehouse_path)) as con:
        (year,) = con.execute(
            "SELECT max(period) FROM observation WHERE series = 'employment_rate_aps' AND geography_code = ?",
            [WMCA],
        ).fetchone()
    _publisher_says(demo, "employment_rate_aps", WMCA, year, "- 3")  # ONS's figure three points lower
    steps.build(demo)
    publish(demo)
    check = _checks(demo)["ons_combined_authorities"]
    assert not check.passed and check.rows_affected == 1
    assert f"employment_rate, West Midlands Combined Authority, {year}: ONS" in check.detail
    assert "blocks publishing" in check.detail
    with db.connect(demo.warehouse_path) as con:
        assert any("outside ONS's own" in reason for reason in blocking(con))
    assert not steps.build_bulletin(demo, today=DEMO_TODAY).published
