"""The analysts' snapshot: written aside and renamed, never blocking or half-seen, readable by old clients."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import duckdb
import pytest

from flows import steps
from flows.settings import Settings
from tests.conftest import FIXTURES, NomisFixtureServer
from tests.conftest import publish as publish_snapshot_and_parquet
from tests.fixture_publishers import fetch_and_load
from warehouse import snapshot as snapshot_module
from warehouse.docs import EXAMPLE_QUERIES

# Birmingham's claimant count in the latest month (2026-10), as the fixture has it and as revised.
LATEST_COUNT_SQL = (
    "SELECT value FROM indicator_summary "
    "WHERE indicator_id = 'claimant_count' AND geography_code = 'E08000025'"
)
# (Only Birmingham has 60,000 in the fixture.)
OLD_ROW = ",Claimant count,1,measure,0,1,20100,Value,60000,"
NEW_ROW = ",Claimant count,1,measure,0,1,20100,Value,60100,"
STATE_SQL = {
    "latest_count": LATEST_COUNT_SQL,
    "vintages": "SELECT count(*) FROM vintage",
    "observations": "SELECT count(*) FROM observation",
    "revisions": "SELECT count(*) FROM stg_observation_revision",
    "wmca_count": "SELECT value FROM indicator_summary "
    "WHERE indicator_id = 'claimant_count' AND geography_code = 'E47000007'",
}
OLD_STATE = {"latest_count": 60000.0, "vintages": 2, "revisions": 0}
NEW_STATE = {"latest_count": 60100.0, "vintages": 3, "revisions": 1}

# A reader in its own process, as an analyst's notebook or DBeaver is: it prints the state when it
# connects, waits for a line on stdin with its connection open, then prints the state again.
HOLDER = textwrap.dedent(
    """
    import json, sys
    import duckdb
    queries = json.loads(sys.argv[2])
    con = duckdb.connect(sys.argv[1], read_only=True)
    def state():
        return {k: con.execute(q).fetchone()[0] for k, q in queries.items()}
    print(json.dumps(state()), flush=True)
    sys.stdin.readline()
    print(json.dumps(state()), flush=True)
    con.close()
    """
)


def _state(con: duckdb.DuckDBPyConnection) -> dict:
    return {key: con.execute(sql).fetchone()[0] for key, sql in STATE_SQL.items()}


def _state_in_new_process(path: Path) -> dict:
    """A fresh reader in another process (in this process DuckDB would reuse the open instance)."""
    script = "import json, sys, duckdb\n" + (
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(json.dumps({k: con.execute(q).fetchone()[0] for k, q in json.loads(sys.argv[2]).items()}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), json.dumps(STATE_SQL)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def _rerun_with_a_revision(
    settings: Settings, nomis_server: NomisFixtureServer, publish: bool = True
) -> None:
    """A whole scheduled run again (load, build, publish), with one revised value upstream."""
    body = (FIXTURES / "nomis" / "NM_162_1.data.csv").read_text()
    assert body.count(OLD_ROW) == 1
    nomis_server.serve("NM_162_1", body.replace(OLD_ROW, NEW_ROW))
    steps.prepare_warehouse(settings)
    loaded = {}
    for dataset in ("claimant_count", "population"):
        loaded[dataset] = fetch_and_load(settings, dataset)
    assert (loaded["claimant_count"].rows_new, loaded["claimant_count"].unchanged) == (1, False)
    assert loaded["population"].unchanged
    steps.build(settings)
    if publish:
        publish_snapshot_and_parquet(settings)


def _subset(state: dict, expected: dict) -> dict:
    return {key: state[key] for key in expected}


def test_a_held_connection_keeps_the_old_state_and_a_new_one_sees_the_new(
    loaded_settings: Settings, nomis_server: NomisFixtureServer
) -> None:
    path = loaded_settings.snapshot_path
    analyst = duckdb.connect(str(path), read_only=True)
    try:
        before = _state(analyst)
        assert _subset(before, OLD_STATE) == OLD_STATE

        _rerun_with_a_revision(loaded_settings, nomis_server)

        # The open connection still reads the old file, complete and consistent.
        assert _state(analyst) == before
        # A new reader sees the new snapshot, complete.
        after = _state_in_new_process(path)
        assert _subset(after, NEW_STATE) == NEW_STATE
        assert after["observations"] == before["observations"] + 1
        assert after["wmca_count"] == before["wmca_count"] + 100
    finally:
        analyst.close()


def test_a_reader_in_another_process_does_not_block_the_run(
    loaded_settings: Settings, nomis_server: NomisFixtureServer
) -> None:
    """The analyst's lock is on the old file; the run writes a new one and renames it into place."""
    path = loaded_settings.snapshot_path
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), json.dumps(STATE_SQL)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        before = json.loads(holder.stdout.readline())
        assert _subset(before, OLD_STATE) == OLD_STATE

        _rerun_with_a_revision(loaded_settings, nomis_server)

        out, err = holder.communicate("go\n", timeout=60)
        assert holder.returncode == 0, err
        assert json.loads(out) == before
        assert _subset(_state_in_new_process(path), NEW_STATE) == NEW_STATE
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.communicate()


def test_in_this_process_a_new_connection_sees_the_new_file_once_the_old_one_is_closed(
    loaded_settings: Settings, nomis_server: NomisFixtureServer
) -> None:
    """DuckDB reuses an open database instance for the same path within one process, so a
    notebook must close its old connection (not only open another) to see the new snapshot."""
    path = str(loaded_settings.snapshot_path)
    held = duckdb.connect(path, read_only=True)
    _rerun_with_a_revision(loaded_settings, nomis_server)
    second = duckdb.connect(path, read_only=True)
    assert _subset(_state(second), OLD_STATE) == OLD_STATE
    second.close()
    held.close()
    with duckdb.connect(path, read_only=True) as fresh:
        assert _subset(_state(fresh), NEW_STATE) == NEW_STATE


def _leftovers(target: Path) -> list[str]:
    """Files beside the snapshot that belong to it: a WAL, or a partial copy."""
    return sorted(p.name for p in target.parent.iterdir() if target.name in p.name and p != target)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publish_writes_aside_and_renames_into_place(
    loaded_settings: Settings, nomis_server: NomisFixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = loaded_settings.snapshot_path
    old_digest = _sha256(target)
    real_replace = os.replace
    seen: list[tuple[Path, Path]] = []

    def spy(src, dst, *args, **kwargs):
        src, dst = Path(src), Path(dst)
        seen.append((src, dst))
        # At the moment of the swap: the target still holds the old, whole file...
        assert _sha256(dst) == old_digest
        # ...and the new one is complete beside it, checkpointed (no WAL) and readable.
        assert src.parent == dst.parent and src != dst
        assert not src.with_name(src.name + ".wal").exists()
        assert _subset(_state_in_new_process(src), NEW_STATE) == NEW_STATE
        return real_replace(src, dst, *args, **kwargs)

    _rerun_with_a_revision(loaded_settings, nomis_server, publish=False)
    with monkeypatch.context() as patch:
        patch.setattr(snapshot_module.os, "replace", spy)
        snapshot_module.publish_snapshot(loaded_settings.warehouse_path, loaded_settings.snapshot_path)

    assert [dst for _src, dst in seen] == [target]
    partial = seen[0][0]
    assert not partial.exists()
    assert _leftovers(target) == []
    assert _subset(_state_in_new_process(target), NEW_STATE) == NEW_STATE


def test_a_failed_publish_leaves_the_old_snapshot(
    loaded_settings: Settings, nomis_server: NomisFixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = loaded_settings.snapshot_path
    old_digest = _sha256(target)

    def disk_full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    _rerun_with_a_revision(loaded_settings, nomis_server, publish=False)
    with monkeypatch.context() as patch, pytest.raises(OSError, match="No space left"):
        patch.setattr(snapshot_module.os, "fsync", disk_full)
        publish_snapshot_and_parquet(loaded_settings)
    assert _sha256(target) == old_digest
    assert _subset(_state_in_new_process(target), OLD_STATE) == OLD_STATE

    # The next successful publish clears what the failed one left behind.
    publish_snapshot_and_parquet(loaded_settings)
    assert _leftovers(target) == []
    assert _subset(_state_in_new_process(target), NEW_STATE) == NEW_STATE


def _storage_version(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()[0]


def test_a_warehouse_in_the_snapshot_format_is_published_as_a_copy_of_its_file(
    loaded_settings: Settings, nomis_server: NomisFixtureServer
) -> None:
    """New warehouses are written in the snapshot's format, so nothing is rewritten to publish one."""
    _rerun_with_a_revision(loaded_settings, nomis_server, publish=False)
    version = _storage_version(loaded_settings.warehouse_path)
    assert version.startswith(snapshot_module.SNAPSHOT_STORAGE_VERSION)
    snapshot_module.publish_snapshot(loaded_settings.warehouse_path, loaded_settings.snapshot_path)
    assert _sha256(loaded_settings.snapshot_path) == _sha256(loaded_settings.warehouse_path)
    assert _subset(_state_in_new_process(loaded_settings.snapshot_path), NEW_STATE) == NEW_STATE


def test_a_warehouse_in_another_format_is_rewritten_in_the_snapshot_s(tmp_path: Path) -> None:
    """A warehouse made before warehouses were written in the snapshot's format still publishes one
    that old clients can open, with every table."""
    warehouse, snapshot = tmp_path / "warehouse.duckdb", tmp_path / "published" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:  # DuckDB's own default format
        con.execute("CREATE TABLE example AS SELECT range AS n FROM range(3)")
    assert not _storage_version(warehouse).startswith(snapshot_module.SNAPSHOT_STORAGE_VERSION)

    snapshot_module.publish_snapshot(warehouse, snapshot)

    assert _storage_version(snapshot).startswith(snapshot_module.SNAPSHOT_STORAGE_VERSION)
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute("SELECT sum(n) FROM example").fetchone()[0] == 3
    assert _leftovers(snapshot) == []


# --- Old clients: DuckDB 1.4 / 1.5, as bundled by DBeaver, R and older notebooks --------------------

OLD_CLIENTS = ("1.4.5", "1.5.6")  # the newest 1.4.x (LTS) and 1.5.x on PyPI when this was written
CLIENT_CACHE = Path(tempfile.gettempdir()) / "eim-duckdb-old-clients"
UV = Path(sys.executable).with_name("uv")

READER = textwrap.dedent(
    """
    import json, sys
    import duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    out = {"version": duckdb.__version__}
    out["summary_count"] = con.execute("SELECT count(*) FROM indicator_summary").fetchone()[0]
    out["indicator"] = list(con.execute(
        "SELECT indicator_id, title, levels, caveats FROM indicator "
        "WHERE indicator_id = 'claimant_rate'").fetchone())
    out["summary"] = [[str(v) if v is not None else None for v in row] for row in con.execute(
        "SELECT indicator_id, geography_code, period, period_date, value, change_period, rank_region "
        "FROM indicator_summary ORDER BY indicator_id, geography_code").fetchall()]
    out["views"] = {v: con.execute(f"SELECT count(*) FROM {v}").fetchone()[0]
                    for v in ("stg_observation_latest", "stg_observation_revision")}
    out["examples"] = [con.execute(f"SELECT count(*) FROM ({q})").fetchone()[0]
                       for q in json.loads(sys.argv[2])]
    print(json.dumps(out))
    """
)


def _client_python(version: str) -> Path:
    """A cached virtualenv with duckdb==version; skips the test if it cannot be installed."""
    venv = CLIENT_CACHE / f"duckdb-{version}"
    python = venv / "bin" / "python"
    if python.exists():
        probe = subprocess.run(
            [str(python), "-c", "import duckdb; print(duckdb.__version__)"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return python
        shutil.rmtree(venv, ignore_errors=True)
    if not UV.exists():
        pytest.skip(f"uv is not installed beside {sys.executable}: cannot create old DuckDB clients")
    CLIENT_CACHE.mkdir(parents=True, exist_ok=True)
    building = CLIENT_CACHE / f".duckdb-{version}.{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": str(building)}
    for command in (
        [str(UV), "venv", "--quiet", "--python", sys.executable, str(building)],
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(building / "bin" / "python"),
            f"duckdb=={version}",
        ],
    ):
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
        except subprocess.TimeoutExpired:
            shutil.rmtree(building, ignore_errors=True)
            pytest.skip(f"installing duckdb=={version} with uv timed out (no package registry?)")
        if done.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            pytest.skip(
                f"cannot install duckdb=={version} with uv (no package registry?): {done.stderr.strip()}"
            )
    try:
        building.rename(venv)
    except OSError:  # another run built it meanwhile
        shutil.rmtree(building, ignore_errors=True)
    return python


def _read_with(python: Path | str, snapshot: Path) -> dict:
    queries = json.dumps([example.sql for example in EXAMPLE_QUERIES])
    done = subprocess.run(
        [str(python), "-c", READER, str(snapshot), queries], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{python} could not read the snapshot:\n{done.stderr}"
    return json.loads(done.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("version", OLD_CLIENTS)
def test_old_duckdb_clients_open_the_snapshot(loaded_settings: Settings, version: str) -> None:
    python = _client_python(version)
    snapshot = loaded_settings.snapshot_path
    with duckdb.connect(str(snapshot), read_only=True) as con:
        tags = con.execute(
            "SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()[0]
    assert tags.startswith(snapshot_module.SNAPSHOT_STORAGE_VERSION), tags

    current = _read_with(sys.executable, snapshot)
    old = _read_with(python, snapshot)

    assert old.pop("version") == version
    assert current.pop("version") == duckdb.__version__
    assert old == current
    assert old["summary_count"] > 0
    assert old["indicator"][0] == "claimant_rate" and "council" in old["indicator"][2]
