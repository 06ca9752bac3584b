"""The demo's illustrative data add up the way real statistics do, for every area and period:
rates that belong together, aggregates that contain their parts, and paths an economist would
recognise (the pandemic in the claimant count, house prices that move)."""

from __future__ import annotations

import statistics

import duckdb
import pytest

from flows.settings import Settings

WMCA = "E47000007"
AREAS = ("E08000025", "E08000026", WMCA, "E12000005", "E92000001", "K02000001")


@pytest.fixture(scope="module")
def con(demo_data_dir: Settings):
    connection = duckdb.connect(str(demo_data_dir.snapshot_path), read_only=True)
    yield connection
    connection.close()


def test_employment_inactivity_and_unemployment_make_a_whole(con) -> None:
    """Of residents aged 16 to 64: employed + inactive + unemployed = 100%, and the unemployment rate
    (of the economically active) is the unemployed share of the active share."""
    rows = con.execute(
        """
        SELECT e.geography_code, e.period, e.value, i.value, u.value
        FROM indicator_value e
        JOIN indicator_value i ON i.indicator_id = 'inactivity_rate' AND (i.geography_code, i.period)
                               = (e.geography_code, e.period)
        JOIN indicator_value u ON u.indicator_id = 'unemployment_rate' AND (u.geography_code, u.period)
                               = (e.geography_code, e.period)
        WHERE e.indicator_id = 'employment_rate' AND e.value IS NOT NULL
        """
    ).fetchall()
    assert len(rows) > 100
    for code, period, employed, inactive, unemployment_rate in rows:
        active = 100 - inactive
        unemployed = 100 - employed - inactive
        assert 0 < unemployed < 15, (code, period)
        # Published rates are rounded to 0.1: the identity holds to within their rounding.
        assert unemployed / active * 100 == pytest.approx(unemployment_rate, abs=0.35), (code, period)


@pytest.mark.parametrize(
    "indicator", ["claimant_count", "residents_16_64", "house_sales_volume", "employee_jobs", "enterprises"]
)
def test_counts_grow_from_council_to_the_uk(con, indicator: str) -> None:
    rows = con.execute(
        "SELECT period, geography_code, value FROM indicator_value WHERE indicator_id = ? "
        "AND value IS NOT NULL AND geography_code IN (SELECT unnest(?::VARCHAR[]))",
        [indicator, list(AREAS)],
    ).fetchall()
    by_period: dict[str, dict[str, float]] = {}
    for period, code, value in rows:
        by_period.setdefault(period, {})[code] = value
    chain = ("E08000025", WMCA, "E12000005", "E92000001", "K02000001")
    complete = [values for values in by_period.values() if set(chain) <= set(values)]
    assert complete, f"no period of {indicator} has every level"
    for values in complete:
        assert [values[c] for c in chain] == sorted(values[c] for c in chain), values


def test_the_claimant_rate_rose_in_the_pandemic_and_fell_back(con) -> None:
    yearly = dict(
        con.execute(
            "SELECT year(period_date), avg(value) FROM indicator_value WHERE indicator_id = 'claimant_rate' "
            "AND geography_code = ? GROUP BY 1",
            [WMCA],
        ).fetchall()
    )
    assert 7.0 <= yearly[2020] <= 9.0
    assert 4.0 <= yearly[2024] <= 5.5 and 4.0 <= yearly[2025] <= 5.5
    february, may = (
        con.execute(
            "SELECT value FROM indicator_value WHERE indicator_id = 'claimant_rate' AND geography_code = ? "
            "AND period = ?",
            [WMCA, period],
        ).fetchone()[0]
        for period in ("2020-02", "2020-05")
    )
    assert may > 1.8 * february


def test_house_prices_move_differently_by_area_and_month(con) -> None:
    changes = con.execute(
        "SELECT geography_code, list(value ORDER BY period_date) FROM indicator_value "
        "WHERE indicator_id = 'house_price_annual_change' AND period_date >= DATE '2020-01-01' "
        "AND geography_code IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1",
        [list(AREAS)],
    ).fetchall()
    series = {code: values for code, values in changes}
    assert all(statistics.pstdev(v) > 1.0 for v in series.values())  # the 2021-22 boom, the 2023 dip
    assert len({round(v[-1], 1) for v in series.values()}) > 3  # areas differ
    sales = con.execute(
        "SELECT count(DISTINCT change_year) FROM indicator_summary WHERE indicator_id = 'house_sales_volume'"
    ).fetchone()[0]
    assert sales > 3


def test_uk_and_england_house_prices_are_their_parts_average(con) -> None:
    prices = dict(
        con.execute(
            "SELECT geography_code, value FROM indicator_summary WHERE indicator_id = 'average_house_price' "
            "AND geography_code IN ('E92000001', 'K02000001')"
        ).fetchall()
    )
    assert 0.8 < prices["K02000001"] / prices["E92000001"] < 1.2
