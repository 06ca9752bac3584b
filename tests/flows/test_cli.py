"""The `eim` command line: query formats, refusals, unknown datasets, and a run with no network."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows import steps
from flows.cli import app
from flows.settings import Settings

runner = CliRunner()


def test_query_prints_json_and_csv(loaded_settings: Settings) -> None:
    sql = "SELECT code, name FROM area WHERE code IN ('E08000025', 'E08000026') ORDER BY code"
    as_json = runner.invoke(app, ["query", sql, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == [
        {"code": "E08000025", "name": "Birmingham"},
        {"code": "E08000026", "name": "Coventry"},
    ]
    as_csv = runner.invoke(app, ["query", sql, "-f", "csv"])
    assert list(csv.reader(io.StringIO(as_csv.output))) == [
        ["code", "name"],
        ["E08000025", "Birmingham"],
        ["E08000026", "Coventry"],
    ]
    as_table = runner.invoke(app, ["query", sql])
    assert "Birmingham" in as_table.output and as_table.exit_code == 0


def test_query_refuses_a_write_with_a_clear_error(loaded_settings: Settings) -> None:
    result = runner.invoke(app, ["query", "DELETE FROM observation"])
    assert result.exit_code == 1
    assert "DELETE statements are refused: `eim query` only reads" in result.output


def test_query_without_a_snapshot_says_what_to_do(eim_env: Path) -> None:
    result = runner.invoke(app, ["query", "SELECT 1"])
    assert result.exit_code == 1
    assert "run `eim run` (or `eim demo`) first" in result.output


def test_run_refuses_an_unknown_dataset_before_starting(eim_env: Path) -> None:
    result = runner.invoke(app, ["run", "--dataset", "not_a_dataset"])
    assert result.exit_code == 1
    assert "unknown dataset 'not_a_dataset'" in result.output


@pytest.mark.parametrize("command", ["run", "ingest"])
def test_full_refresh_reaches_the_run_s_settings(
    eim_env: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    import flows.cli

    seen = []
    monkeypatch.setenv("EIM_FULL_REFRESH", "false")  # and unset again after the test, whatever the CLI set
    monkeypatch.setattr(flows.cli, "_run_flow", lambda *a, **k: seen.append(Settings().full_refresh) or 0)
    assert runner.invoke(app, [command]).exit_code == 0
    assert runner.invoke(app, [command, "--full-refresh"]).exit_code == 0
    assert seen == [False, True]
    assert "--full-refresh" in runner.invoke(app, [command, "--help"]).output


def _observations(settings: Settings) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute("SELECT * FROM observation ORDER BY ALL").fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_run_without_network_fails_fast_and_changes_nothing(loaded_settings: Settings) -> None:
    bulletin = steps.render(loaded_settings)
    bulletin_digest = hashlib.sha256(bulletin.read_bytes()).hexdigest()
    snapshot_digest = hashlib.sha256(loaded_settings.snapshot_path.read_bytes()).hexdigest()
    observations = _observations(loaded_settings)

    env = {**os.environ, "EIM_HTTP_RETRIES": "3", "EIM_HTTP_RETRY_BUDGET": "10"}
    for publisher in ("NOMIS", "ONS_API", "ONS_WEB", "LANDREGISTRY", "GOVUK"):
        env[f"EIM_{publisher}_URL"] = f"http://{publisher.lower().replace('_', '-')}.invalid"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run"], env=env, capture_output=True, text=True, timeout=120
    )
    elapsed = time.monotonic() - started

    assert done.returncode == 1
    assert "could not reach govuk.invalid, landregistry.invalid, nomis.invalid" in done.stderr
    assert "`eim demo`" in done.stderr
    assert "Traceback" not in done.stderr
    assert elapsed < 60
    assert _observations(loaded_settings) == observations
    assert hashlib.sha256(bulletin.read_bytes()).hexdigest() == bulletin_digest
    assert hashlib.sha256(loaded_settings.snapshot_path.read_bytes()).hexdigest() == snapshot_digest


def test_sources_json_lists_every_catalog_dataset(loaded_settings: Settings) -> None:
    from sources.catalog import default_catalog

    result = runner.invoke(app, ["sources", "--json"])
    assert result.exit_code == 0, result.output
    records = {record["dataset"]: record for record in json.loads(result.output)}
    assert set(records) == set(default_catalog().datasets)
    for record in records.values():
        assert {
            "dataset",
            "publisher",
            "last_fetched",
            "last_changed",
            "latest_period",
            "rows",
            "status",
        } <= set(record)
    claimants = records["claimant_count"]
    assert (claimants["publisher"], claimants["latest_period"], claimants["rows"]) == ("nomis", "2026-10", 80)
    assert claimants["status"] == "loaded" and claimants["last_fetched"]
    assert records["cpi"]["status"] == "never run" and records["cpi"]["rows"] == 0


def test_indicators_json_for_the_focus_area(loaded_settings: Settings) -> None:
    result = runner.invoke(app, ["indicators", "--json"])
    assert result.exit_code == 0, result.output
    records = {record["indicator"]: record for record in json.loads(result.output)}
    rate = records["claimant_rate"]
    for key in (
        "indicator",
        "area",
        "period",
        "value",
        "unit",
        "change_period",
        "change_year",
        "gap_uk",
        "rank",
        "significant_year",
    ):
        assert key in rate
    assert rate["area"] == "E47000007" and rate["value_area"] == "E47000007"
    assert rate["period"] == "2026-10" and rate["unit"] == "percent"
    assert round(rate["value"], 4) == round(119_000 / 1_880_000 * 100, 4)


def test_indicators_for_an_unknown_area_is_a_clear_error(loaded_settings: Settings) -> None:
    result = runner.invoke(app, ["indicators", "--area", "E99999999"])
    assert result.exit_code == 1
    assert "unknown area 'E99999999'" in result.output


def test_status_exits_0_when_fresh_and_1_when_a_dataset_is_stale(loaded_settings: Settings) -> None:
    result = runner.invoke(app, ["status", "--json"])
    report = json.loads(result.output)
    by_dataset = {row["dataset"]: row for row in report["datasets"]}
    assert by_dataset["claimant_count"]["stale"] is False
    assert by_dataset["cpi"]["stale"] is True, "never loaded counts as stale"
    assert result.exit_code == 1


def test_checks_lists_the_latest_quality_checks(loaded_settings: Settings) -> None:
    result = runner.invoke(app, ["checks", "--json"])
    checks = json.loads(result.output)
    assert {c["dataset"] for c in checks} == {"claimant_count", "population", "indicators"}
    assert {"required_columns", "ranges", "completeness", "continuity"} <= {c["check"] for c in checks}
    assert {"aggregate_totals", "containment"} <= {c["check"] for c in checks if c["dataset"] == "indicators"}
    assert result.exit_code == 0


@pytest.mark.parametrize("value", ["xml", "JSON"])
def test_query_refuses_an_unknown_format_in_plain_words(eim_env: Path, value: str) -> None:
    result = runner.invoke(app, ["query", "SELECT 1", "--format", value])
    assert result.exit_code == 2
    assert (
        f"Invalid value for '--format' / '-f': '{value}' is not a format: give table, csv or json"
        in result.output
    )


def test_indicators_prints_values_rounded_to_each_indicator_s_decimals(loaded_settings: Settings) -> None:
    result = runner.invoke(app, ["indicators"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Indicators for WMCA (E47000007), latest period of each"
    assert " ".join(lines[1].split()) == "indicator period value on prev on year vs UK rank figure for"
    rate = next(line.split() for line in lines if line.startswith("claimant_rate "))
    assert rate[:3] == ["claimant_rate", "2026-10", f"{119_000 / 1_880_000 * 100:.1f}"]
    count = next(line.split() for line in lines if line.startswith("claimant_count "))
    assert count[2] == "119,000"
    assert max(len(line) for line in lines) <= 100


def test_indicators_opens_the_snapshot_once(
    loaded_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = []
    real_connect = duckdb.connect

    def connect(database: str = ":memory:", *args, **kwargs):
        opened.append(database)
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", connect)
    result = runner.invoke(app, ["indicators"])
    assert result.exit_code == 0, result.output
    assert opened == [str(loaded_settings.snapshot_path)]


@pytest.mark.parametrize("command", ["status", "sources", "checks", "indicators"])
def test_the_read_only_tables_fit_a_100_column_terminal(loaded_settings: Settings, command: str) -> None:
    from warehouse import db

    with db.connect(loaded_settings.warehouse_path) as con:  # a long error, as a failed run leaves
        con.execute(
            "INSERT INTO dataset_run (dataset, attempted_at, outcome, error) "
            "VALUES ('cpi', now(), 'failed', ?)",
            ["ons_web / cpi: could not reach ons_web.invalid after 4 attempts in 45 s: " + "x" * 120],
        )
    result = runner.invoke(app, [command])
    lines = result.output.splitlines()
    assert lines and max(len(line) for line in lines) <= 100, "\n".join(lines)
    assert not any(re.search(r"\d:\d\d:\d\d", line) for line in lines), "times to the minute"
    whole = runner.invoke(app, [command, "--json"]).output
    if command == "status":
        assert "x" * 120 in whole
        assert "  cpi: could not reach ons_web.invalid after 4 attempts in 45 s: xxx" in result.output
