"""Data-quality checks: each fires on a crafted warehouse and passes on clean data."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from flows.settings import Settings
from sources.catalog import default_catalog
from warehouse import db
from warehouse.geography import load_area_file
from warehouse.quality import (
    MODEL_CHECKS,
    Z_BLOCKER,
    Z_WARNING,
    CheckResult,
    blocking,
    checks_exit_code,
    latest_checks,
)
from warehouse.quality import (
    run_checks as _run_checks,
)
from warehouse.snapshot import publish_snapshot

CADENCE = {dataset: spec.cadence for dataset, spec in default_catalog().datasets.items()}
LISTS_ONLY_SOME = [d for d, spec in default_catalog().datasets.items() if spec.lists_only_areas_with_some]
AREAS = load_area_file("west-midlands")
FOCUS = list(AREAS.by_code[AREAS.focus].members)
LOADED = ["claimant_count", "population"]


def run_checks(path: Path, datasets: list[str] = LOADED) -> dict[tuple[str, str], CheckResult]:
    with db.connect(path) as con:
        results = _run_checks(con, datasets, FOCUS, CADENCE, lists_only_areas_with_some=LISTS_ONLY_SOME)
    return {(r.dataset, r.check): r for r in results}


def alter(path: Path, sql: str, params: list | None = None) -> None:
    """Change the warehouse behind the loaders' back, as a bad body or a bug would."""
    con = duckdb.connect(str(path))
    try:
        con.execute(sql, params or [])
    finally:
        con.close()


def failures(results: dict[tuple[str, str], CheckResult]) -> set[tuple[str, str]]:
    return {key for key, result in results.items() if not result.passed}


# The fixture keeps the claimant count's year-ago month and its last three months only.
FIXTURE_GAP = ("claimant_count", "continuity")


def test_the_fixture_warehouse_passes_every_check_but_its_known_gap(loaded_settings: Settings) -> None:
    results = run_checks(loaded_settings.warehouse_path)
    checks = {
        "required_columns",
        "missing_values",
        "completeness",
        "ranges",
        "continuity",
        "jump",
        "extreme_jump",
        "mass_revision",
    }
    assert {key for key in results} == {(d, c) for d in LOADED for c in checks}
    assert failures(results) == {FIXTURE_GAP}
    assert results[FIXTURE_GAP].severity == "warning"
    assert "9 period(s) missing between 2025-10 and 2026-08" in results[FIXTURE_GAP].detail
    assert results["claimant_count", "completeness"].detail.startswith("all 7 focus codes present in 2026-10")
    # Dudley's 2026-08 value is NULL with Nomis status Q: missing as marked, not an error.
    assert results["claimant_count", "missing_values"].passed


@pytest.fixture
def demo_copy(demo_data_dir: Settings, tmp_path: Path) -> Path:
    """A private copy of the demo warehouse (every dataset, years of history) to alter."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_data_dir.warehouse_path, path)
    return path


def test_every_check_passes_on_the_clean_demo_warehouse(demo_copy: Path) -> None:
    results = run_checks(demo_copy, list(CADENCE))
    assert failures(results) == set(), [results[k].detail for k in failures(results)]
    assert len(results) == 8 * len(CADENCE)
    # Checks that cannot apply say so rather than pass silently.
    assert results["cpi", "completeness"].severity == "info"
    assert "absence means none" in results["luf_allocations", "completeness"].detail
    with db.connect(demo_copy) as con:
        assert blocking(con) == []


def test_a_null_value_with_a_normal_status_is_an_error(loaded_settings: Settings) -> None:
    path = loaded_settings.warehouse_path
    alter(
        path,
        "UPDATE observation SET value = NULL WHERE series = 'claimant_count' "
        "AND geography_code = 'E08000025' AND period = '2026-09'",
    )
    result = run_checks(path)["claimant_count", "missing_values"]
    assert not result.passed and result.severity == "error" and result.rows_affected == 1
    assert "claimant_count E08000025 2026-09: value NULL with status 'A'" in result.detail


def test_a_value_with_a_missing_status_is_an_error(loaded_settings: Settings) -> None:
    path = loaded_settings.warehouse_path
    alter(path, "UPDATE observation SET value = 0 WHERE status = 'Q' AND series = 'claimant_rate'")
    result = run_checks(path)["claimant_count", "missing_values"]
    assert not result.passed
    assert "claimant_rate E08000027 2026-08: value 0 with missing status 'Q'" in result.detail


def test_a_missing_focus_area_is_a_warning_naming_it(loaded_settings: Settings) -> None:
    path = loaded_settings.warehouse_path
    alter(
        path,
        "DELETE FROM observation WHERE dataset = 'claimant_count' "
        "AND geography_code = 'E08000029' AND period = '2026-10'",
    )
    results = run_checks(path)
    result = results["claimant_count", "completeness"]
    assert not result.passed and result.severity == "warning" and result.rows_affected == 2
    assert result.detail == (
        "focus codes missing in 2026-10: claimant_count: E08000029; claimant_rate: E08000029"
    )
    assert results["population", "completeness"].passed


def test_a_rate_of_120_is_out_of_range(loaded_settings: Settings) -> None:
    path = loaded_settings.warehouse_path
    alter(
        path,
        "UPDATE observation SET value = 120 WHERE series = 'claimant_rate' "
        "AND geography_code = 'E08000026' AND period = '2026-10'",
    )
    result = run_checks(path)["claimant_count", "ranges"]
    assert not result.passed and result.severity == "error" and result.rows_affected == 1
    assert result.detail == "claimant_rate E08000026 2026-10: 120 outside 0-100"


def test_a_negative_count_is_out_of_range(loaded_settings: Settings) -> None:
    path = loaded_settings.warehouse_path
    alter(
        path,
        "UPDATE observation SET value = -5 WHERE series = 'population_16_64' "
        "AND geography_code = 'E08000026' AND period = '2024'",
    )
    results = run_checks(path)
    result = results["population", "ranges"]
    assert not result.passed and result.detail == "population_16_64 E08000026 2024: -5 is a negative count"
    assert results["claimant_count", "ranges"].passed


def test_a_change_series_may_be_negative(demo_copy: Path) -> None:
    alter(
        demo_copy,
        "UPDATE observation SET value = -12.5 WHERE series = 'house_price_annual_change' "
        "AND geography_code = 'E08000025' AND period = '2026-09'",
    )
    assert run_checks(demo_copy, ["house_prices"])["house_prices", "ranges"].passed


def test_a_gap_in_the_months_is_a_warning(loaded_settings: Settings) -> None:
    path = loaded_settings.warehouse_path
    alter(
        path,
        "DELETE FROM observation WHERE dataset = 'claimant_count' "
        "AND geography_code = 'E08000030' AND period = '2026-09'",
    )
    result = run_checks(path)["claimant_count", "continuity"]
    assert not result.passed and result.severity == "warning"
    # 20 series-areas miss the fixture's 9 months; Walsall's two series miss 2026-09 besides.
    assert result.rows_affected == 20 * 9 + 2


def test_a_gap_in_a_long_series_names_the_period(demo_copy: Path) -> None:
    alter(
        demo_copy,
        "DELETE FROM observation WHERE series = 'claimant_rate' "
        "AND geography_code = 'E08000031' AND period = '2024-03'",
    )
    result = run_checks(demo_copy, ["claimant_count"])["claimant_count", "continuity"]
    assert not result.passed and result.rows_affected == 1
    assert result.detail == "claimant_rate E08000031: 1 period(s) missing between 2024-02 and 2024-04"


def test_a_count_jumping_by_more_than_half_blocks_publishing(loaded_settings: Settings) -> None:
    path = loaded_settings.warehouse_path
    alter(
        path,
        "UPDATE observation SET value = 200000 WHERE series = 'claimant_count' "
        "AND geography_code = 'E08000025' AND period = '2026-10'",
    )
    results = run_checks(path)
    result = results["claimant_count", "extreme_jump"]
    assert not result.passed and result.severity == "blocker" and result.rows_affected == 1
    assert result.detail.startswith("extreme jump: blocks publishing: claimant_count E08000025 2026-10: ")
    assert "59000 -> 200000, +239%" in result.detail
    with db.connect(path) as con:
        assert blocking(con) == [f"claimant_count: {result.detail}"]
        assert checks_exit_code(latest_checks(con)) == 1


def _latest_rate(path: Path, geography: str) -> tuple[str, float, float, float, float]:
    """The latest claimant rate's period and previous value, and the mean and sd of past changes."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        changes = con.execute(
            """
            SELECT period, lag(value) OVER (ORDER BY period_date) AS previous,
                   value - lag(value) OVER (ORDER BY period_date) AS change
            FROM stg_observation_latest
            WHERE series = 'claimant_rate' AND geography_code = ? ORDER BY period_date
            """,
            [geography],
        ).fetchall()
    finally:
        con.close()
    past = [c[2] for c in changes[1:-1]]
    mean = sum(past) / len(past)
    sd = (sum((c - mean) ** 2 for c in past) / (len(past) - 1)) ** 0.5
    period, previous, _ = changes[-1]
    return period, previous, mean, max(sd, 0.005 * abs(previous)), len(past)


@pytest.mark.parametrize(
    ("z", "check", "severity"),
    [(Z_WARNING + 1.5, "jump", "warning"), (Z_BLOCKER + 4, "extreme_jump", "blocker")],
)
def test_a_jump_against_the_series_own_history(demo_copy: Path, z: float, check: str, severity: str) -> None:
    period, previous, mean, sd, history = _latest_rate(demo_copy, "E08000026")
    assert history >= 24
    value = previous + mean + z * sd
    alter(
        demo_copy,
        "UPDATE observation SET value = ? WHERE series = 'claimant_rate' "
        "AND geography_code = 'E08000026' AND period = ?",
        [value, period],
    )
    results = run_checks(demo_copy, ["claimant_count"])
    result = results["claimant_count", check]
    assert not result.passed and result.severity == severity and result.rows_affected == 1
    assert f"claimant_rate E08000026 {period}: " in result.detail
    assert f"z +{z:.1f}" in result.detail
    if check == "jump":
        assert result.detail.startswith("flagged: ")
        assert results["claimant_count", "extreme_jump"].passed
    else:
        assert result.detail.startswith("extreme jump: blocks publishing: ")
        assert results["claimant_count", "jump"].passed


def new_vintage(path: Path, dataset: str, shift_sql: str) -> None:
    """A later vintage of `dataset` restating every value of its latest one through `shift_sql`."""
    alter(
        path,
        f"""
        INSERT INTO vintage (vintage_id, dataset, publisher, fetched_at, loaded_at, pages, rows_received,
                             rows_new)
        SELECT 'crafted', dataset, publisher, fetched_at, loaded_at, 1, 0, 0 FROM vintage
        WHERE dataset = '{dataset}' ORDER BY load_seq DESC LIMIT 1;
        INSERT INTO observation
        SELECT o.* REPLACE ({shift_sql} AS value, 'crafted' AS vintage_id)
        FROM observation o JOIN vintage v ON v.vintage_id = o.vintage_id
        WHERE o.dataset = '{dataset}'
        QUALIFY row_number() OVER (PARTITION BY o.series, o.geography_code, o.period
                                   ORDER BY v.load_seq DESC) = 1""",
    )


def test_a_vintage_shifting_a_series_history_is_a_mass_revision(demo_copy: Path) -> None:
    """A uniform shift leaves every period-on-period change alone; only the revision check sees it."""
    new_vintage(
        demo_copy, "house_prices", "CASE WHEN o.series LIKE '%change%' THEN o.value + 150 ELSE o.value END"
    )
    results = run_checks(demo_copy, ["house_prices"])
    result = results["house_prices", "mass_revision"]
    assert not result.passed and result.severity == "blocker"
    assert result.detail.startswith("mass revision: blocks publishing: ")
    with db.connect(demo_copy) as con:
        changes = con.execute(
            "SELECT count(*) FROM observation WHERE vintage_id = 'crafted' "
            "AND series LIKE '%change%' AND value IS NOT NULL"
        ).fetchone()[0]
        assert blocking(con) == [f"house_prices: {result.detail}"]
    assert result.rows_affected == changes
    assert results["house_prices", "extreme_jump"].passed  # the jumps alone would have let it through


def test_routine_revisions_of_recent_periods_are_not_a_mass_revision(demo_copy: Path) -> None:
    # A publisher restating the last year by a little, as Land Registry does each month.
    recent = "CASE WHEN o.period_date >= DATE '2025-09-01' THEN o.value * 1.01 ELSE o.value END"
    new_vintage(demo_copy, "house_prices", recent)
    result = run_checks(demo_copy, ["house_prices"])["house_prices", "mass_revision"]
    assert result.passed, result.detail
    assert "no series more than 50%" in result.detail


def test_latest_checks_keep_each_dataset_newest_run(loaded_settings: Settings) -> None:
    path = loaded_settings.warehouse_path
    with db.connect(path) as con:  # each load of the fixture already ran its dataset's checks
        runs, rows = con.execute("SELECT count(DISTINCT run_id), count(*) FROM quality_check").fetchone()
    alter(
        path,
        "UPDATE observation SET value = 200000 WHERE series = 'claimant_count' "
        "AND geography_code = 'E08000025' AND period = '2026-10'",
    )
    run_checks(path)
    with db.connect(path) as con:
        assert len(blocking(con)) == 1
    alter(
        path,
        "UPDATE observation SET value = 60000 WHERE series = 'claimant_count' "
        "AND geography_code = 'E08000025' AND period = '2026-10'",
    )
    run_checks(path, ["claimant_count"])  # a later load re-checks only its own dataset
    with db.connect(path) as con:
        latest = latest_checks(con)
        assert blocking(con) == []
        stored = con.execute("SELECT count(DISTINCT run_id), count(*) FROM quality_check").fetchone()
    assert stored == (runs + 2, rows + 24)
    # Each dataset's newest run, and the model's (its totals, checked at every build).
    assert {row["dataset"] for row in latest} == {*LOADED, MODEL_CHECKS}
    assert len({row["run_id"] for row in latest}) == 3
    assert latest[0]["dataset"] == "claimant_count" and latest[0]["severity"] == "blocker"
    assert checks_exit_code(latest) == 0  # the fixture's gap is only a warning


def test_the_snapshot_carries_the_checks_for_the_gate(loaded_settings: Settings, tmp_path: Path) -> None:
    path = loaded_settings.warehouse_path
    alter(
        path,
        "UPDATE observation SET value = 200000 WHERE series = 'claimant_count' "
        "AND geography_code = 'E08000025' AND period = '2026-10'",
    )
    run_checks(path)
    snapshot = publish_snapshot(path, tmp_path / "published" / "warehouse.duckdb")
    with db.connect_read_only(snapshot) as con:
        assert len(blocking(con)) == 1


def test_a_warehouse_without_the_table_has_no_checks(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    try:
        assert latest_checks(con) == [] and blocking(con) == []
    finally:
        con.close()


def test_a_one_off_release_is_not_checked_for_gaps_in_a_sequence(loaded_settings: Settings) -> None:
    from warehouse.quality import CURRENT, check_continuity

    with db.connect(loaded_settings.warehouse_path) as con:
        con.execute(CURRENT, [["population"]])  # the current observations, as run_checks reads them
        (result,) = check_continuity(con, ["population"], {"population": "one-off"})
    assert (result.check, result.severity, result.passed) == ("continuity", "info", True)
    assert result.detail == "a one-off release: no sequence"
