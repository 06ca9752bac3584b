"""Revisions and idempotent reloads, through the real fetch → parse → load → build → publish steps.

One warehouse for the module, taken through three stages in its fixture, each stage's published
indicator tables kept for the tests:
1. the claimant (NM_162_1) and population (NM_2002_1) fixtures loaded and the models built;
2. the same bodies fetched again (Nomis answers 304 to the ETag), loaded again (as a run does, and
   once more forcing the parsed frame through the loader) and the models rebuilt;
3. Nomis revises Birmingham's October 2026 claimants from 60,000 to 60,600 and its rate from 8.0 to
   8.1; the new body is fetched, loaded and the models rebuilt.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest

from flows import steps
from flows.settings import Settings
from tests.fixture_publishers import build_and_publish, build_warehouse, load, loopback_server, query

DATASETS = ("claimant_count", "population")
BIRMINGHAM, WMCA = "E08000025", "E47000007"
MARTS = ("indicator_value", "indicator_summary")


@dataclass
class History:
    settings: Settings
    first: dict[str, list[dict]]
    reloaded: dict[str, list[dict]]
    revised: dict[str, list[dict]]
    reload_results: dict
    forced_results: dict
    revision_results: dict
    observations: list[int]


def published_state(settings: Settings) -> dict[str, list[dict]]:
    state = {table: query(settings, f"SELECT * FROM {table} ORDER BY ALL") for table in MARTS}
    state["observation"] = query(settings, "SELECT * FROM observation ORDER BY ALL")
    return state


def revise(body: str, changes: dict[tuple[str, str, str, str], str]) -> str:
    """The Nomis CSV with OBS_VALUE changed for (DATE, GEOGRAPHY_CODE, AGE, MEASURE) keys."""
    rows = list(csv.DictReader(io.StringIO(body)))
    for row in rows:
        key = (row["DATE"], row["GEOGRAPHY_CODE"], row["AGE"], row["MEASURE"])
        if key in changes:
            row["OBS_VALUE"] = changes.pop(key)
    assert not changes, f"rows not found: {changes}"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> History:
    with loopback_server() as publishers:
        publishers.serve_nomis("NM_162_1")
        publishers.serve_nomis("NM_2002_1")
        settings = build_warehouse(tmp_path_factory.mktemp("revisions") / "data", publishers.url, DATASETS)
        first = published_state(settings)

        reload_results = load(settings, DATASETS)
        forced_results = {}
        for dataset in DATASETS:
            outcome = steps.fetch_dataset(
                settings, dataset, steps.read_fetch_history(settings).last_records(dataset)
            )
            forced_results[dataset] = steps.load_dataset(settings, outcome, steps.parse_dataset(outcome))
        build_and_publish(settings)
        reloaded = published_state(settings)

        publishers.nomis.bodies["NM_162_1"] = revise(
            publishers.nomis.bodies["NM_162_1"],
            {("2026-10", BIRMINGHAM, "0", "1"): "60600", ("2026-10", BIRMINGHAM, "0", "2"): "8.1"},
        )
        revision_results = load(settings, ["claimant_count"])
        build_and_publish(settings)
        revised = published_state(settings)
    return History(
        settings,
        first,
        reloaded,
        revised,
        reload_results,
        forced_results,
        revision_results,
        [len(first["observation"]), len(reloaded["observation"]), len(revised["observation"])],
    )


def row(state: dict, indicator: str, area: str, period: str) -> dict:
    (found,) = [
        r
        for r in state["indicator_value"]
        if (r["indicator_id"], r["geography_code"], r["period"]) == (indicator, area, period)
    ]
    return found


def test_loading_the_same_bodies_again_changes_no_row(history: History) -> None:
    for dataset in DATASETS:
        assert history.reload_results[dataset].unchanged, dataset
        assert history.forced_results[dataset].unchanged, dataset
    assert history.observations[0] == history.observations[1]
    for table in MARTS:
        assert history.reloaded[table] == history.first[table], table
        assert len(history.first[table]) > 0


def test_a_revised_value_is_a_new_row_beside_the_old_one(history: History) -> None:
    """Two values changed, so two new observation rows; the old ones stay."""
    result = history.revision_results["claimant_count"]
    assert not result.unchanged and result.rows_new == 2
    assert history.observations[2] == history.observations[1] + 2
    held = [
        (r["series"], r["value"])
        for r in history.revised["observation"]
        if (r["geography_code"], r["period"]) == (BIRMINGHAM, "2026-10")
        and r["dataset"] == "claimant_count"
        and r["series"] in ("claimant_count", "claimant_rate")
    ]
    assert sorted(held) == [
        ("claimant_count", 60_000),
        ("claimant_count", 60_600),
        ("claimant_rate", 8.0),
        ("claimant_rate", 8.1),
    ]


def test_the_revision_view_shows_old_and_new(history: History) -> None:
    revisions = query(
        history.settings,
        "SELECT dataset, series, geography_code, period, old_value, new_value, old_vintage_id, "
        "new_vintage_id FROM stg_observation_revision ORDER BY series",
    )
    assert [
        (r["dataset"], r["series"], r["geography_code"], r["period"], r["old_value"], r["new_value"])
        for r in revisions
    ] == [
        ("claimant_count", "claimant_count", BIRMINGHAM, "2026-10", 60_000, 60_600),
        ("claimant_count", "claimant_rate", BIRMINGHAM, "2026-10", 8.0, 8.1),
    ]
    assert all(r["old_vintage_id"] != r["new_vintage_id"] for r in revisions)
    assert revisions[0]["new_vintage_id"] == history.revision_results["claimant_count"].vintage_id


def test_indicators_take_the_revised_value(history: History) -> None:
    """Birmingham 60,000 → 60,600, so the WMCA's October 2026 total 119,000 → 119,600, its rate
    119,600 / 1,880,000 = 6.3617% and its change on the month 119,600 - 117,250 = 2,350."""
    assert row(history.first, "claimant_count", WMCA, "2026-10")["value"] == 119_000
    assert row(history.revised, "claimant_count", BIRMINGHAM, "2026-10")["value"] == 60_600
    assert row(history.revised, "claimant_rate", BIRMINGHAM, "2026-10")["value"] == pytest.approx(8.1)
    assert row(history.revised, "claimant_count", WMCA, "2026-10")["value"] == 119_600
    assert row(history.revised, "claimant_rate", WMCA, "2026-10")["value"] == pytest.approx(
        119_600 / 1_880_000 * 100
    )
    assert row(history.revised, "claimant_count", WMCA, "2026-09")["value"] == 117_250, "others unchanged"
    (summary,) = [
        r
        for r in history.revised["indicator_summary"]
        if (r["indicator_id"], r["geography_code"]) == ("claimant_count", WMCA)
    ]
    assert summary["change_period"] == 2_350
    assert summary["change_year"] == 119_600 - 115_000
