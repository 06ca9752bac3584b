"""Freshness for `eim status`: fresh, stale and failed datasets, the bulletin, and the exit code."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from flows.settings import Settings
from warehouse import db
from warehouse.freshness import (
    NEXT_EXPECTED_BASIS,
    bulletin_status,
    dataset_freshness,
    last_send,
    status_exit_code,
    status_report,
)
from warehouse.load import record_run

CATALOG = {"claimant_count": ("nomis", "monthly"), "population": ("nomis", "annual")}


def _changed(settings: Settings) -> dt.date:
    with db.connect_read_only(settings.warehouse_path) as con:
        return con.execute("SELECT max(loaded_at) FROM vintage").fetchone()[0].date()


def _freshness(settings: Settings, today: dt.date, catalog: dict = CATALOG) -> dict[str, dict]:
    with db.connect_read_only(settings.warehouse_path) as con:
        return {row["dataset"]: row for row in dataset_freshness(con, catalog, today)}


def test_fresh_datasets_exit_zero(loaded_settings: Settings) -> None:
    changed = _changed(loaded_settings)
    rows = _freshness(loaded_settings, changed + dt.timedelta(days=10))
    claimant = rows["claimant_count"]
    assert claimant["state"] == "ok" and not claimant["stale"] and claimant["age_days"] == 10
    assert claimant["latest_period"] == "2026-10"
    assert claimant["last_outcome"] == "loaded" and claimant["last_error"] is None
    assert claimant["last_success"] is not None and claimant["failures_in_a_row"] == 0
    assert claimant["next_expected"] == changed + dt.timedelta(days=31)
    assert claimant["next_expected_basis"] == NEXT_EXPECTED_BASIS and not claimant["overdue"]
    assert rows["population"]["next_expected"] == changed + dt.timedelta(days=366)
    assert status_exit_code(list(rows.values())) == 0


@pytest.mark.parametrize(("days", "stale"), [(62, False), (63, True)])
def test_a_dataset_is_stale_after_twice_its_cadence(
    loaded_settings: Settings, days: int, stale: bool
) -> None:
    rows = _freshness(loaded_settings, _changed(loaded_settings) + dt.timedelta(days=days))
    claimant = rows["claimant_count"]
    assert claimant["stale"] is stale and claimant["state"] == ("stale" if stale else "ok")
    assert claimant["overdue"] and claimant["stale_after_days"] == 62
    assert not rows["population"]["stale"]  # annual: 732 days
    assert status_exit_code(list(rows.values())) == int(stale)


def test_a_dataset_never_loaded_is_stale(loaded_settings: Settings) -> None:
    catalog = {**CATALOG, "cpi": ("ons_web", "monthly")}
    rows = _freshness(loaded_settings, _changed(loaded_settings), catalog)
    assert rows["cpi"]["state"] == "never loaded" and rows["cpi"]["stale"]
    assert rows["cpi"]["last_changed"] is None and rows["cpi"]["next_expected"] is None
    assert status_exit_code(list(rows.values())) == 1


def test_a_failed_last_run_exits_one_and_counts_failures_in_a_row(loaded_settings: Settings) -> None:
    today = _changed(loaded_settings)
    with db.connect(loaded_settings.warehouse_path) as con:
        record_run(con, "claimant_count", "failed", error="nomis: HTTP 503")
    rows = _freshness(loaded_settings, today)
    claimant = rows["claimant_count"]
    assert claimant["state"] == "failed" and claimant["last_outcome"] == "failed"
    assert claimant["last_error"] == "nomis: HTTP 503" and claimant["failures_in_a_row"] == 1
    assert not claimant["stale"]  # the data are recent; the run is what failed
    assert status_exit_code(list(rows.values())) == 1

    with db.connect(loaded_settings.warehouse_path) as con:
        record_run(con, "claimant_count", "failed", error="nomis: truncated page")
    assert _freshness(loaded_settings, today)["claimant_count"]["failures_in_a_row"] == 2

    with db.connect(loaded_settings.warehouse_path) as con:
        record_run(con, "claimant_count", "unchanged")
    rows = _freshness(loaded_settings, today)
    claimant = rows["claimant_count"]
    assert claimant["state"] == "ok" and claimant["failures_in_a_row"] == 0
    assert claimant["last_error"] is None and claimant["previous_error"] == "nomis: truncated page"
    assert status_exit_code(list(rows.values())) == 0


def _manifest(data_dir: Path, period: str, name: str = "manifest.json", **fields: object) -> None:
    folder = data_dir / "editions" / period
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "period": period,
        "edition": 1,
        "published_on": "2026-11-21",
        "published": True,
        "forced": False,
        "next_edition": "2026-12-21",
        "gate_reasons": [],
    }
    (folder / name).write_text(json.dumps({**record, **fields}))


def test_bulletin_with_no_editions_and_no_delivery_log(tmp_path: Path) -> None:
    status = bulletin_status(tmp_path)
    assert status["last_edition"] is None and status["last_published_on"] is None
    assert status["draft_period"] is None and status["last_send"] is None


def test_bulletin_last_edition_and_a_newer_draft(tmp_path: Path) -> None:
    _manifest(tmp_path, "2026-08", edition=1, published_on="2026-10-21")
    _manifest(tmp_path, "2026-09", edition=2, published_on="2026-11-21")
    _manifest(
        tmp_path,
        "2026-10",
        "draft-manifest.json",
        published=False,
        gate_reasons=["claimant_count: extreme jump: blocks publishing: ..."],
    )
    status = bulletin_status(tmp_path)
    assert status["last_edition"] == "2026-09" and status["last_edition_number"] == 2
    assert status["last_published_on"] == "2026-11-21" and status["last_forced"] is False
    assert status["draft_period"] == "2026-10"
    assert status["draft_reasons"] == ["claimant_count: extreme jump: blocks publishing: ..."]


def test_the_delivery_log_may_not_exist_yet(tmp_path: Path) -> None:
    assert last_send(tmp_path) is None
    log = tmp_path / "subscribers" / "subscribers.sqlite3"
    log.parent.mkdir()
    with sqlite3.connect(log) as con:
        con.execute("CREATE TABLE subscribers (email TEXT)")
    con.close()
    assert last_send(tmp_path) is None  # the database, but no delivery table yet
    with sqlite3.connect(log) as con:
        con.execute(
            "CREATE TABLE deliveries (edition TEXT, subscriber_id INTEGER, status TEXT, updated_at TEXT)"
        )
    con.close()
    assert last_send(tmp_path) == {"sent_at": None, "period": None, "counts": {}}
    with sqlite3.connect(log) as con:
        con.executemany(
            "INSERT INTO deliveries VALUES (?, ?, ?, ?)",
            [
                ("2026-08", 1, "sent", "2026-10-21T09:31:00+00:00"),
                ("2026-09", 1, "sent", "2026-11-21T09:31:00+00:00"),
                ("2026-09", 2, "failed", "2026-11-21T09:32:00+00:00"),
            ],
        )
    con.close()
    assert last_send(tmp_path) == {
        "sent_at": "2026-11-21T09:31:00+00:00",
        "period": "2026-09",
        "counts": {"sent": 1, "failed": 1},
    }


def test_a_delivery_table_of_another_shape_is_read_too(tmp_path: Path) -> None:
    log = tmp_path / "subscribers" / "subscribers.sqlite3"
    log.parent.mkdir()
    with sqlite3.connect(log) as con:
        con.execute("CREATE TABLE delivery (period TEXT, sent_at TEXT)")
        con.execute("INSERT INTO delivery VALUES ('2026-09', '2026-11-21T09:31:00+00:00')")
    con.close()
    assert last_send(tmp_path) == {"sent_at": "2026-11-21T09:31:00+00:00", "period": "2026-09", "counts": {}}


def test_status_report_puts_it_together(loaded_settings: Settings) -> None:
    _manifest(loaded_settings.data_dir, "2026-10")
    today = _changed(loaded_settings) + dt.timedelta(days=1)
    with db.connect_read_only(loaded_settings.warehouse_path) as con:
        report = status_report(con, CATALOG, today, loaded_settings.data_dir)
    assert report["today"] == today
    assert [d["dataset"] for d in report["datasets"]] == list(CATALOG)
    assert report["bulletin"]["last_edition"] == "2026-10"
    assert status_exit_code(report) == 0
    json.dumps(report, default=str)  # `eim status --json` can print it


def test_a_one_off_release_has_no_next_date_and_never_goes_stale(loaded_settings: Settings) -> None:
    from sources.catalog import default_catalog

    assert {d for d, spec in default_catalog().datasets.items() if spec.cadence == "one-off"} == {
        "imd_2019_lad",
        "imd_2025_lad",
        "luf_allocations",
        "luf_priority_category",
        "luf_round1_bids",
        "luf_round2_bids",
    }
    catalog = {**CATALOG, "population": ("nomis", "one-off")}
    rows = _freshness(loaded_settings, _changed(loaded_settings) + dt.timedelta(days=3000), catalog)
    population = rows["population"]
    assert population["next_expected"] is None and not population["stale"] and not population["overdue"]
