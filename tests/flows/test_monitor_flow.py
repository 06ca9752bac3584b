"""The end-to-end flow under Prefect, against the demo's replay server on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from flows.settings import Settings
from sources.catalog import default_catalog
from sources.replay.server import ReplayServer
from warehouse import db
from warehouse.geography import load_area_file
from warehouse.snapshot import publication_behind

pytestmark = pytest.mark.slow


def behind(settings: Settings) -> str | None:
    return publication_behind(settings.warehouse_path, settings.snapshot_path, settings.parquet_dir)


async def _artifacts() -> dict[str, str]:
    """The latest artifact of each key, as operators see them in the Prefect UI."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        found = await client.read_artifacts()
    return {a.key: str(a.data) for a in sorted(found, key=lambda a: a.created) if a.key}


def test_flow_fetches_loads_models_and_renders(prefect_api: str, replay: ReplayServer) -> None:
    from flows.monitor import monitor_run

    state = monitor_run(return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert sorted(summary.loaded) == sorted(default_catalog().datasets)
    # The Parquet exports, written while the bulletin was built, are of the snapshot by the run's end.
    assert behind(Settings()) is None
    html = summary.bulletin.read_text()
    assert summary.bulletin == Settings().site_dir / "2026-10" / "index.html"
    assert "Demonstration data — not official statistics" in html
    for area in (
        "West Midlands Combined Authority",
        "Birmingham",
        "Coventry",
        "Dudley",
        "Sandwell",
        "Solihull",
        "Walsall",
        "Wolverhampton",
        "West Midlands (region)",
        "England",
        "United Kingdom",
    ):
        assert f'<th scope="row">{area}<' in html  # its name, then its end or the period beneath

    artifacts = asyncio.run(_artifacts())
    assert (
        "Main points" not in artifacts["bulletin-latest"]
        and "# West Midlands" in artifacts["bulletin-latest"]
    )
    assert "The claimant rate in the WMCA area" in artifacts["bulletin-latest"]
    assert "Claimant count, aged 16 and over" in artifacts["bulletin-headline-figures"]

    # A second run with nothing new upstream downloads no body and loads nothing.
    requests_before = len(replay.requests)
    again = monitor_run(return_state=True)
    assert again.is_completed()
    assert sorted(again.result().unchanged) == sorted(default_catalog().datasets)
    assert again.result().bulletin is None, "nothing new: no edition is rebuilt"
    assert [status for _, status in replay.responses[requests_before:] if status == 200] == []


def test_a_failing_dataset_fails_the_run_but_the_others_load(
    prefect_api: str, replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.monitor import monitor_run, run_summary
    from sources.replay import nomis as replay_module

    population = replay_module.NOMIS_DATASETS["NM_2002_1"]
    ages = population.dimensions[1]
    relabelled = (population.dimensions[0], replace(ages, labels={**ages.labels, "203": "Aged 16 - 24"}))
    monkeypatch.setitem(replay_module.NOMIS_DATASETS, "NM_2002_1", replace(population, dimensions=relabelled))
    state = monitor_run(return_state=True)

    assert state.is_failed()
    summary = run_summary(state)
    assert "population" not in summary.loaded and "claimant_count" in summary.loaded
    assert "C_AGE_NAME is 'Aged 16 - 24'" in summary.failed["population"]
    with db.connect(Settings().warehouse_path) as con:
        outcomes = con.execute("SELECT dataset, outcome FROM dataset_run ORDER BY dataset").fetchall()
        datasets = con.execute("SELECT DISTINCT dataset FROM observation").fetchall()
        error = con.execute("SELECT error FROM dataset_run WHERE outcome = 'failed'").fetchone()[0]
    assert ("population", "failed") in outcomes and ("claimant_count", "loaded") in outcomes
    assert ("population",) not in datasets
    assert "nomis / population" in error


def test_ingest_loads_every_dataset_then_downloads_no_body(
    prefect_api: str, eim_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.monitor import ingest_flow
    from sources.catalog import default_catalog

    with ReplayServer.serving(load_area_file("west-midlands"), today=dt.date(2026, 11, 27)) as server:
        for publisher, url in server.base_urls.items():
            monkeypatch.setenv(f"EIM_{publisher.upper()}_URL", url)
        monkeypatch.setenv("EIM_DEMO", "true")
        first = ingest_flow(return_state=True)
        assert first.is_completed(), first.message
        assert sorted(first.result().loaded) == sorted(default_catalog().datasets)
        publishers = {spec.publisher for spec in default_catalog().datasets.values()}
        assert len(default_catalog().datasets) >= 14 and len(publishers) == 7

        server.responses.clear()
        second = ingest_flow(return_state=True)
        assert second.is_completed(), second.message
        assert second.result().loaded == []
        assert sorted(second.result().unchanged) == sorted(default_catalog().datasets)
        bodies = [(path, status) for path, status in server.responses if status == 200]
        assert bodies == [], f"a second ingest downloaded bodies: {bodies}"
        # Each dataset's run and each 304 are recorded, all of them together at the end of the loop.
        with db.connect(Settings().warehouse_path) as con:
            runs = con.execute("SELECT dataset FROM dataset_run WHERE outcome = 'unchanged'").fetchall()
            confirmations = con.execute("SELECT count(*) FROM fetch_log WHERE status = 304").fetchone()[0]
        assert sorted(dataset for (dataset,) in runs) == sorted(default_catalog().datasets)
        assert confirmations == sum(1 for _, status in server.responses if status == 304) > 0


def test_the_export_run_beside_the_bulletin_has_no_timeout_prefect_would_warn_about() -> None:
    """Submitted to a worker thread, a task with a timeout makes Prefect print a warning on every run
    (it cannot interrupt a thread); the operator's output must stay free of it."""
    from flows.monitor import export_parquet

    assert export_parquet.timeout_seconds is None
