"""Crash safety: a run killed with SIGKILL at seeded points leaves nothing broken, and a re-run catches up.

A launcher (`LAUNCHER`, run with `python -c`) monkeypatches one function (or `os.replace` for one kind
of target) to SIGKILL its own process on the Nth call, then runs the monitor. Production code is not
touched. To stay within minutes on two cores the kill points run a Prefect-free launcher mode that
does exactly what `flows.monitor.monitor_run` does with the plain steps ("steps" mode); the real
`eim run` (Prefect, subprocess) is used for the concurrency tests and one kill point ("cli" mode).

Each run starts from a copy of a data directory built a month earlier (so the run has new data to
load, model, snapshot and publish) against a replay server of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from tests.conftest import DEMO_TODAY, build_demo_data_dir

# Long (subprocess runs at 24 kill points): run by `make reliability`, not by `make test`.
pytestmark = [pytest.mark.slow, pytest.mark.reliability]
ROOT = Path(__file__).resolve().parents[2]
SEED = 20261127
SUMMARY_SQL = "SELECT * EXCLUDE (vintages) FROM indicator_summary ORDER BY ALL"
EDITION_FILES = ("index.html", "bulletin.pdf", "bulletin.md", "figures.json")

LAUNCHER = r"""
import datetime as dt, json, os, re, signal, sys

point = json.loads(os.environ.get("EIM_TEST_KILL_POINT") or "null")
calls = 0


def maybe_kill():
    global calls
    calls += 1
    if calls == point["n"]:
        sys.stdout.flush(); sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


class KillingConnection:
    def __init__(self, con):
        self._con = con

    def execute(self, *args, **kwargs):
        maybe_kill()
        return self._con.execute(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)


def patch_everywhere(original, replacement):
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "") == "__main__":
            continue
        for name, value in list(getattr(module, "__dict__", {}).items()):
            if value is original:
                setattr(module, name, replacement)


import flows.steps, reports.publish, reports.render, sources.archive, warehouse.load, warehouse.models  # noqa
import warehouse.snapshot  # noqa
from sources import govuk, landregistry, nomis, ons_api, ons_web  # noqa
ons_api.MIN_REQUEST_INTERVAL = 0

if point and point["kind"] == "replace":
    real_replace = os.replace
    def killing_replace(src, dst, *a, **k):
        hit = re.search(point["pattern"], str(dst))
        if hit and point.get("when") != "after":
            maybe_kill()
        real_replace(src, dst, *a, **k)
        if hit and point.get("when") == "after":
            maybe_kill()
    os.replace = killing_replace
elif point:
    module_name, attr = point["target"].rsplit(".", 1)
    module = sys.modules[module_name]
    original = getattr(module, attr)
    if point["kind"] == "call":
        def wrapper(*a, _original=original, **k):
            maybe_kill()
            return _original(*a, **k)
    else:  # "execute": every statement the function runs on the connection it is given
        def wrapper(con, *a, _original=original, **k):
            return _original(KillingConnection(con), *a, **k)
    patch_everywhere(original, wrapper)

if sys.argv[1] == "cli":
    from flows.cli import app
    app(sys.argv[2:], prog_name="eim")
else:
    from flows import steps
    from flows.settings import load_settings
    from sources.catalog import default_catalog
    from sources.errors import PublisherError

    settings = load_settings()
    today = dt.date.fromisoformat(os.environ["EIM_TEST_TODAY"])
    steps.prepare_warehouse(settings)
    loaded, failed = [], []
    for dataset in default_catalog().datasets:
        try:
            outcome = steps.fetch_dataset(settings, dataset)
            if steps.already_loaded(settings, outcome):
                steps.load_dataset(settings, outcome, None)
                continue
            result = steps.load_dataset(settings, outcome, steps.parse_dataset(outcome))
        except PublisherError as error:
            steps.record_failure(settings, dataset, error)
            failed.append(dataset)
            continue
        if not result.unchanged:
            loaded.append(dataset)
    if loaded or steps.snapshot_stale(settings):
        steps.build(settings)
        steps.publish(settings)
    behind = steps.edition_stale(settings) and not failed
    if settings.snapshot_path.exists() and (loaded or behind):
        edition = steps.build_bulletin(settings, today=today)
        print("edition", edition.period, edition.published, edition.reasons)
    print("loaded", loaded, "failed", failed)
    sys.exit(1 if failed else 0)
"""


def kill_points() -> list[dict]:
    """At least 20 seeded points over fetch, archive, load, model, snapshot, render and publish."""
    rng = random.Random(SEED)
    points = []
    for n in sorted(rng.sample(range(1, 30), 4)):
        points.append({"stage": "fetch", "kind": "call", "target": "sources.archive.fetch_page", "n": n})
    for n in sorted(rng.sample(range(1, 12), 2)):
        points.append({"stage": "fetch", "kind": "replace", "pattern": r"/raw/", "n": n})
    for n in sorted(rng.sample(range(2, 30), 4)):
        points.append({"stage": "load", "kind": "execute", "target": "warehouse.load.load_vintage", "n": n})
    for n in sorted(rng.sample(range(1, 6), 3)):
        points.append(
            {"stage": "model", "kind": "execute", "target": "warehouse.models.build_models", "n": n}
        )
    points += [
        {"stage": "snapshot", "kind": "call", "target": "warehouse.snapshot.publish_snapshot", "n": 1},
        {"stage": "snapshot", "kind": "replace", "pattern": r"published/warehouse\.duckdb$", "n": 1},
        {"stage": "snapshot", "kind": "replace", "pattern": r"published/warehouse\.duckdb$", "n": 1,
         "when": "after"},
        {"stage": "snapshot", "kind": "replace", "pattern": r"published/parquet$", "n": 1},
        {"stage": "render", "kind": "call", "target": "reports.render.render_files", "n": 1},
        {"stage": "publish", "kind": "replace", "pattern": r"editions/[\d-]+/snapshot\.duckdb$", "n": 1},
        {"stage": "publish", "kind": "call", "target": "reports.publish._swap_into_site", "n": 1},
        {"stage": "publish", "kind": "replace", "pattern": r"site/\d{4}-\d{2}$", "n": 1},
        {"stage": "publish", "kind": "replace", "pattern": r"site/\d{4}-\d{2}$", "n": 1, "when": "after"},
        {"stage": "publish", "kind": "replace", "pattern": r"manifest\.json$", "n": 1},
        {"stage": "publish", "kind": "replace", "pattern": r"site/(index\.html|feed\.atom)$",
         "n": rng.randint(1, 2)},
    ]  # fmt: skip
    for i, point in enumerate(points):
        point["id"] = f"{i:02d}-{point['stage']}-{point.get('target', point.get('pattern'))}-{point['n']}"
    return points


POINTS = kill_points()
if only := os.environ.get("EIM_RELIABILITY_POINTS"):  # e.g. "0,7,15": a quicker subset while debugging
    POINTS = [POINTS[int(i)] for i in only.split(",")]


@pytest.fixture(scope="module")
def replay() -> Iterator[object]:
    from sources.replay import ReplayServer
    from warehouse.geography import load_area_file

    areas = load_area_file("west-midlands")
    names = {a.code: a.name for a in areas.areas}
    members = {a.code: a.members for a in areas.areas if a.members}
    with ReplayServer(names=names, members=members, today=DEMO_TODAY) as server:
        yield server


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Last month's data directory, with last month's edition published."""
    from flows import steps

    last_month = DEMO_TODAY - dt.timedelta(days=31)
    data_dir = tmp_path_factory.mktemp("crash-base") / "data"
    settings = build_demo_data_dir(data_dir, today=last_month)
    result = steps.build_bulletin(settings, today=last_month)
    assert result.published, result.reasons
    return data_dir


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prefect-home")


def env_for(replay, data_dir: Path, prefect_home: Path, point: dict | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EIM_")}
    env.update({f"EIM_{p.upper()}_URL": url for p, url in replay.base_urls.items()})
    env.update(EIM_DATA_DIR=str(data_dir), EIM_DEMO="true", EIM_QUIET="true", EIM_HTTP_RETRIES="2",
               EIM_HTTP_TIMEOUT="10", EIM_HTTP_RETRY_BUDGET="5", EIM_TEST_TODAY=DEMO_TODAY.isoformat(),
               PREFECT_HOME=str(prefect_home), PREFECT_LOGGING_LEVEL="WARNING", DO_NOT_TRACK="1",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONPATH=str(ROOT))  # fmt: skip
    if point:
        env["EIM_TEST_KILL_POINT"] = json.dumps(point)
    return env


def launch(mode: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", LAUNCHER, *mode], env=env, cwd=env["EIM_DATA_DIR"].rsplit("/", 1)[0],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _rounded(rows: list[tuple]) -> list[tuple]:
    """Floats to 9 decimals: DuckDB's parallel sums may differ in the last bits from run to run."""
    return sorted(tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows)


def state_of(data_dir: Path) -> dict:
    """What a finished run leaves: the indicator summary of the snapshot and the published editions."""
    con = duckdb.connect(str(data_dir / "published" / "warehouse.duckdb"), read_only=True)
    try:
        summary = _rounded(con.execute(SUMMARY_SQL).fetchall())
    finally:
        con.close()
    editions = sorted(
        (m["period"], m["published"], m["snapshot_sha256"] is not None)
        for m in (json.loads(p.read_text()) for p in data_dir.glob("editions/*/manifest.json"))
    )
    return {"summary": summary, "editions": editions}


def check_consistent(data_dir: Path, base_summary: list, reference: dict) -> None:
    """After a kill: warehouse opens and passes its checks, snapshot complete, no half edition on the site."""
    from warehouse import db
    from warehouse.quality import run_checks

    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "warehouse.duckdb"
        shutil.copy(data_dir / "warehouse.duckdb", copy)
        wal = data_dir / "warehouse.duckdb.wal"
        if wal.exists():
            shutil.copy(wal, Path(scratch) / "warehouse.duckdb.wal")
        with db.connect(copy) as con:
            datasets = [r[0] for r in con.execute("SELECT DISTINCT dataset FROM observation").fetchall()]
            results = run_checks(con, datasets, [], {})
            blockers = [r for r in results if r.severity == "blocker" and not r.passed]
            assert not blockers, blockers
    snapshot = data_dir / "published" / "warehouse.duckdb"
    if snapshot.exists():
        con = duckdb.connect(str(snapshot), read_only=True)
        try:
            summary = _rounded(con.execute(SUMMARY_SQL).fetchall())
        finally:
            con.close()
        assert summary in (base_summary, reference["summary"]), "the snapshot is neither before nor after"
    site = data_dir / "site"
    for entry in site.iterdir():
        if entry.name.startswith(".") or not entry.name[:4].isdigit():
            continue
        assert entry.is_dir(), f"{entry} does not resolve to a folder"
        for name in EDITION_FILES:
            assert (entry / name).is_file(), f"{entry / name} missing"
        json.loads((entry / "figures.json").read_text())


@pytest.fixture(scope="module")
def reference(replay, base_dir: Path, prefect_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    data_dir = tmp_path_factory.mktemp("crash-reference") / "data"
    shutil.copytree(base_dir, data_dir, symlinks=True)
    done = launch(["steps"], env_for(replay, data_dir, prefect_home))
    assert done.returncode == 0, done.stdout + done.stderr
    return state_of(data_dir)


def _kill_and_rerun(replay, base_dir: Path, prefect_home: Path, root: Path, point: dict) -> dict:
    data_dir = root / point["id"][:2] / "data"
    shutil.copytree(base_dir, data_dir, symlinks=True)
    killed = launch(["steps"], env_for(replay, data_dir, prefect_home, point))
    rerun = None
    if killed.returncode == -signal.SIGKILL:
        snapshot = {"ok": True}
        try:
            check_consistent(data_dir, BASE_SUMMARY[0], REFERENCE[0])
        except AssertionError as error:
            snapshot = {"ok": False, "error": str(error)}
        rerun = launch(["steps"], env_for(replay, data_dir, prefect_home))
        after = state_of(data_dir) if rerun.returncode == 0 else None
        return {"killed": True, "consistent": snapshot, "rerun": rerun.returncode,
                "rerun_output": rerun.stdout[-2000:] + rerun.stderr[-2000:], "state": after}  # fmt: skip
    return {"killed": False, "returncode": killed.returncode, "output": killed.stderr[-2000:]}


BASE_SUMMARY: list = []
REFERENCE: list = []


@pytest.fixture(scope="module")
def kill_results(replay, base_dir: Path, prefect_home: Path, reference: dict, tmp_path_factory) -> dict:
    """Every kill point, two at a time (two cores), each followed by a re-run."""
    BASE_SUMMARY[:] = [state_of(base_dir)["summary"]]
    REFERENCE[:] = [reference]
    root = tmp_path_factory.mktemp("crash-kills")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            p["id"]: pool.submit(_kill_and_rerun, replay, base_dir, prefect_home, root, p) for p in POINTS
        }
        results = {key: future.result() for key, future in futures.items()}
    results["_elapsed"] = time.monotonic() - started
    return results


def test_at_least_twenty_kill_points_over_every_stage() -> None:
    assert len(kill_points()) >= 20
    assert {p["stage"] for p in kill_points()} == {"fetch", "load", "model", "snapshot", "render", "publish"}


def _marks(point: dict) -> list:
    return []


@pytest.mark.parametrize("point", [pytest.param(p, id=p["id"], marks=_marks(p)) for p in POINTS])
def test_kill_point(point: dict, kill_results: dict, reference: dict) -> None:
    result = kill_results[point["id"]]
    assert result["killed"], f"the kill point was never reached: {result}"
    assert result["consistent"]["ok"], result["consistent"].get("error")
    assert result["rerun"] == 0, result["rerun_output"]
    assert result["state"] == reference, "the re-run did not catch up with an uninterrupted run"


def test_an_analyst_connection_held_on_the_snapshot_through_a_run(
    replay, base_dir: Path, prefect_home: Path, reference: dict, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(base_dir, data_dir, symlinks=True)
    analyst = duckdb.connect(str(data_dir / "published" / "warehouse.duckdb"), read_only=True)
    try:
        held = analyst.execute(SUMMARY_SQL).fetchall()
        done = launch(["steps"], env_for(replay, data_dir, prefect_home))
        assert done.returncode == 0, done.stdout + done.stderr
        assert analyst.execute(SUMMARY_SQL).fetchall() == held  # the old, complete file, still readable
    finally:
        analyst.close()
    assert state_of(data_dir) == reference


def test_two_eim_runs_started_together(
    replay, base_dir: Path, prefect_home: Path, reference: dict, tmp_path: Path
) -> None:
    """The real CLI twice on one data directory: one runs, the other waits or refuses clearly."""
    if dt.date.today() != DEMO_TODAY:
        pytest.skip("`eim run` dates its edition today; the reference run is dated DEMO_TODAY")
    data_dir = tmp_path / "data"
    shutil.copytree(base_dir, data_dir, symlinks=True)
    env = env_for(replay, data_dir, prefect_home)
    command = [sys.executable, "-c", LAUNCHER, "cli", "run", "--quiet"]
    runs = [subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]  # fmt: skip
    outputs = [run.communicate(timeout=600) for run in runs]
    codes = [run.returncode for run in runs]
    for (_out, err), code in zip(outputs, codes, strict=True):
        assert "Traceback" not in err, err[-3000:]
        if code != 0:
            assert "in use by another process" in err or "Error:" in err, err[-3000:]
    assert 0 in codes, outputs
    check_consistent(data_dir, state_of(base_dir)["summary"], reference)
    assert state_of(data_dir) == reference
