"""How fresh each dataset and the bulletin are: for `eim status`, cron jobs and monitoring.

Read-only and fast: it needs a DuckDB connection (the live warehouse read-only, or the published
snapshot), the catalog's publisher and cadence per dataset, and the data directory for the
bulletin's manifests and delivery log. Nothing here imports Prefect or the rendering stack.

Per dataset:
  last_success    the newest run that did not fail (loaded or unchanged)
  last_changed    when a new vintage was last loaded (new or revised values arrived)
  latest_period   the newest period held
  next_expected   an estimate: last_changed + one cadence (monthly 31 days, quarterly 92, annual
                  366); empty for a one-off release (IoD 2019, the Levelling Up Fund rounds).
                  Publishers' release calendars are not consulted, so treat it as "about when"
  stale           last_changed is more than twice the cadence ago (62 / 184 / 732 days), or the
                  dataset has never been loaded; the same rule as the publication gate
  last_outcome, failures_in_a_row, last_error   from `dataset_run`

For the bulletin: the last published edition and its date (data/editions/*/manifest.json), a newer
draft the gate kept back, and the last email send from the delivery log
(data/subscribers/subscribers.sqlite3, table `deliveries` or `delivery`) when there is one.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path

import duckdb

from warehouse.db import query
from warehouse.status import dataset_status

CADENCE_DAYS = {"monthly": 31, "quarterly": 92, "annual": 366}
STALE_FACTOR = 2
NEXT_EXPECTED_BASIS = "estimated: last change + one cadence (release calendars not consulted)"
DELIVERY_DB = Path("subscribers") / "subscribers.sqlite3"
DELIVERY_TABLES = ("deliveries", "delivery")
# Columns a delivery log may use for the time of a send and its edition, in order of preference.
SEND_TIME_COLUMNS = ("sent_at", "updated_at", "delivered_at", "created_at", "timestamp")
SEND_PERIOD_COLUMNS = ("edition", "period")

FAILURE_STREAKS = query("freshness/failure_streaks")
DELIVERY_LOG_TABLES = query("freshness/delivery_log_tables")


def _date(value: dt.datetime | dt.date | None) -> dt.date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, dt.datetime) else value


def dataset_freshness(
    con: duckdb.DuckDBPyConnection, catalog: Mapping[str, tuple[str, str]], today: dt.date
) -> list[dict]:
    """One dict per catalog dataset (in catalog order); `catalog` maps dataset -> (publisher, cadence)."""
    datasets = list(catalog)
    streaks = dict(con.execute(FAILURE_STREAKS).fetchall())
    report = []
    for status in dataset_status(con, datasets):
        dataset = status["dataset"]
        publisher, cadence = catalog[dataset]
        cadence_days = CADENCE_DAYS.get(cadence)
        changed = _date(status["last_changed"])
        age = (today - changed).days if changed else None
        if changed is None:
            stale, next_expected = True, None
        elif cadence_days is None:
            stale, next_expected = False, None
        else:
            stale = age > STALE_FACTOR * cadence_days
            next_expected = changed + dt.timedelta(days=cadence_days)
        last_outcome = status["status"]
        if last_outcome == "failed":
            state = "failed"
        elif changed is None:
            state = "never loaded"
        else:
            state = "stale" if stale else "ok"
        report.append(
            {
                "dataset": dataset,
                "publisher": publisher,
                "cadence": cadence,
                "state": state,
                "last_success": status["last_success"],
                "last_changed": status["last_changed"],
                "age_days": age,
                "latest_period": status["latest_period"],
                "next_expected": next_expected,
                "next_expected_basis": NEXT_EXPECTED_BASIS if next_expected else None,
                "overdue": bool(next_expected and today > next_expected),
                "stale": stale,
                "stale_after_days": STALE_FACTOR * cadence_days if cadence_days else None,
                "last_outcome": last_outcome,
                "failures_in_a_row": streaks.get(dataset, 0),
                "last_error": status["last_error"] if last_outcome == "failed" else None,
                "previous_error": status["last_error"] if last_outcome != "failed" else None,
            }
        )
    return report


def _manifests(data_dir: Path, name: str) -> list[dict]:
    found = []
    for path in sorted((data_dir / "editions").glob(f"*/{name}")):
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # a manifest being written or damaged: the next look will see it
    return sorted(found, key=lambda m: str(m.get("period", "")))


def last_send(data_dir: Path) -> dict | None:
    """The newest send in the delivery log, or None when there is no log (or no delivery table yet).

    The log is `reports.delivery.subscribers`' SQLite store: table `deliveries` (edition, status, updated_at);
    a table named `delivery`, and other names for its time and edition columns, are read too.
    Gives the time of the newest sent message, its edition, and that edition's counts by status.
    """
    path = data_dir / DELIVERY_DB
    if not path.exists():
        return None
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        tables = {row[0] for row in con.execute(DELIVERY_LOG_TABLES)}
        table = next((t for t in DELIVERY_TABLES if t in tables), None)
        if table is None:
            return None
        # Not in .sql files: these statements are built from the table and column names this log turns
        # out to have (DELIVERY_TABLES, SEND_TIME_COLUMNS, SEND_PERIOD_COLUMNS), known only at run time.
        columns = [row[1] for row in con.execute(f'PRAGMA table_info("{table}")').fetchall()]
        when = next((c for c in SEND_TIME_COLUMNS if c in columns), None)
        if when is None:
            return None
        edition = next((c for c in SEND_PERIOD_COLUMNS if c in columns), None)
        sent_only = "AND status = 'sent'" if "status" in columns else ""
        edition_sql = f'"{edition}"' if edition else "NULL"
        row = con.execute(
            f'SELECT "{when}", {edition_sql} FROM "{table}" '
            f'WHERE "{when}" IS NOT NULL {sent_only} ORDER BY "{when}" DESC LIMIT 1'
        ).fetchone()
        counts: dict[str, int] = {}
        if row is not None and edition and "status" in columns:
            counts = dict(
                con.execute(
                    f'SELECT status, count(*) FROM "{table}" WHERE "{edition}" = ? GROUP BY status', [row[1]]
                ).fetchall()
            )
    except sqlite3.Error:
        return None
    finally:
        con.close()
    if row is None:
        return {"sent_at": None, "period": None, "counts": {}}
    return {"sent_at": row[0], "period": row[1], "counts": counts}


def bulletin_status(data_dir: Path) -> dict:
    """The last published edition and its date, a newer draft if the gate kept one back, the last send."""
    published = [m for m in _manifests(data_dir, "manifest.json") if m.get("published")]
    last = published[-1] if published else None
    drafts = _manifests(data_dir, "draft-manifest.json")
    newer_draft = next(
        (d for d in reversed(drafts) if last is None or str(d.get("period", "")) > last["period"]), None
    )
    return {
        "last_edition": last["period"] if last else None,
        "last_edition_number": last.get("edition") if last else None,
        "last_published_on": last.get("published_on") if last else None,
        "last_forced": bool(last.get("forced")) if last else None,
        "next_edition": last.get("next_edition") if last else None,
        "draft_period": newer_draft.get("period") if newer_draft else None,
        "draft_reasons": list(newer_draft.get("gate_reasons") or []) if newer_draft else [],
        "last_send": last_send(data_dir),
    }


def status_report(
    con: duckdb.DuckDBPyConnection,
    catalog: Mapping[str, tuple[str, str]],
    today: dt.date,
    data_dir: Path,
) -> dict:
    """Everything `eim status` shows: each dataset's freshness and the bulletin's state."""
    return {
        "today": today,
        "datasets": dataset_freshness(con, catalog, today),
        "bulletin": bulletin_status(data_dir),
    }


def status_exit_code(report: dict | list[dict]) -> int:
    """0 when all is well; 1 when any dataset is stale (or never loaded) or its last run failed."""
    datasets = report["datasets"] if isinstance(report, dict) else report
    return int(any(d["stale"] or d["last_outcome"] == "failed" for d in datasets))
