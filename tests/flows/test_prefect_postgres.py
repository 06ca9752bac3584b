"""The scheduled set-up on PostgreSQL: a Prefect server whose database is a PostgreSQL cluster,
`prefect.yaml` deployed to it, and a process worker that runs the `ingest` deployment to completion.

Everything runs as separate processes, as an operator would start them; the publishers are the
demo's replay server on loopback. The session's `prefect_api` harness is not used: it is SQLite.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import duckdb
import httpx
import pytest
import yaml

from sources.catalog import default_catalog
from sources.replay.server import ReplayServer
from tests.flows.postgres import (
    PostgresCluster,
    PostgresUnavailable,
    free_port,
    locate_postgres,
    postgres_cluster,
)
from warehouse.geography import load_area_file

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

PROJECT = Path(__file__).resolve().parents[2]
POOL = "local-process"
DEPLOYMENT = "eim-ingest/ingest"
pytestmark = pytest.mark.slow


def _env(prefect_home: Path, **extra: str) -> dict[str, str]:
    """A subprocess environment built from scratch for Prefect and the monitor: the test session's
    own PREFECT_ and EIM_ variables (set by the conftests) point at other servers and folders."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PREFECT_", "EIM_"))}
    env.update(PREFECT_HOME=str(prefect_home), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return {**env, **extra}


@contextmanager
def _process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Run `command` with its output in `log`; on exit stop it and everything it started."""
    with log.open("ab") as out:
        # A session of its own, so that stopping it also stops the worker's flow-run process.
        proc = subprocess.Popen(
            command, cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


@pytest.fixture
def postgres() -> Iterator[PostgresCluster]:
    try:
        install = locate_postgres()
    except PostgresUnavailable as missing:
        if os.environ.get("EIM_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{missing} (EIM_REQUIRE_POSTGRES=1: this run must test Prefect on PostgreSQL)")
        pytest.skip(str(missing))
    with postgres_cluster(install, "prefect") as cluster:
        yield cluster


@pytest.fixture
def prefect_home(tmp_path: Path) -> Path:
    home = tmp_path / "prefect-home"
    home.mkdir()
    return home


@pytest.fixture
def prefect_server(postgres: PostgresCluster, prefect_home: Path, tmp_path: Path) -> Iterator[str]:
    """`prefect server start` on a free loopback port, its database the cluster's `prefect`; the API URL."""
    port = free_port()
    log = tmp_path / "prefect-server.log"
    env = _env(
        prefect_home,
        PREFECT_API_DATABASE_CONNECTION_URL=postgres.url("prefect"),
        PREFECT_SERVER_UI_ENABLED="false",
        # The scheduler would add the deployments' cron runs; one near now could reach the worker first.
        PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",
    )
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with _process(command, env, log) as server:
        api = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 120
        while not _healthy(api):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Prefect server did not become healthy at {api}:\n{_tail(log)}")
            time.sleep(0.5)
        yield api


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def replay_urls() -> Iterator[dict[str, str]]:
    """The demo's replay server (as of 27 November 2026); every publisher's EIM_ URL setting."""
    with ReplayServer.serving(load_area_file("west-midlands"), today=dt.date(2026, 11, 27)) as server:
        yield {f"EIM_{publisher.upper()}_URL": url for publisher, url in server.base_urls.items()}


async def _create_pool(api: str) -> None:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.actions import WorkPoolCreate

    async with PrefectClient(api) as client:
        await client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))


async def _start_run(api: str) -> UUID:
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api) as client:
        deployment = await client.read_deployment_by_name(DEPLOYMENT)
        return (await client.create_flow_run_from_deployment(deployment.id)).id


async def _finished_run(api: str, flow_run_id: UUID) -> tuple[FlowRun, list[str]]:
    """The flow run and its logs, oldest first, as lines."""
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    async with PrefectClient(api) as client:
        flow_run = await client.read_flow_run(flow_run_id)
        logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    return flow_run, [f"{log.timestamp:%H:%M:%S} {log.name}: {log.message}" for log in logs]


def test_a_worker_runs_a_deployment_on_a_postgres_backed_server(
    postgres: PostgresCluster,
    prefect_server: str,
    prefect_home: Path,
    replay_urls: dict[str, str],
    tmp_path: Path,
) -> None:
    api = prefect_server
    declared = yaml.safe_load((PROJECT / "prefect.yaml").read_text())["deployments"]

    asyncio.run(_create_pool(api))
    deploy = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        cwd=PROJECT,
        env=_env(prefect_home, PREFECT_API_URL=api, PWD=str(PROJECT)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    # The server keeps its state in PostgreSQL, not in a SQLite file of its own.
    stored = postgres.query("prefect", "select name from deployment order by name")
    assert [row[0] for row in stored] == sorted(spec["name"] for spec in declared)
    assert not (prefect_home / "prefect.db").exists()

    flow_run_id = asyncio.run(_start_run(api))
    data_dir = tmp_path / "data"
    worker_env = _env(
        prefect_home,
        PREFECT_API_URL=api,
        EIM_DATA_DIR=str(data_dir),
        EIM_DEMO="true",
        EIM_QUIET="true",
        **replay_urls,
    )
    worker_log = tmp_path / "worker.log"
    # --run-once polls once and, given a --limit, waits for the runs it took before it exits.
    worker_command = ["worker", "start", "--pool", POOL, "--run-once", "--limit", "1"]
    with _process([sys.executable, "-m", "prefect", *worker_command], worker_env, worker_log) as worker:
        try:
            worker.wait(timeout=300)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker did not finish the run within 300 s:\n{_tail(worker_log)}")

    flow_run, logs = asyncio.run(_finished_run(api, flow_run_id))
    assert flow_run.state is not None and flow_run.state.is_completed(), (
        f"flow run ended {flow_run.state!r}\n--- worker log ---\n{_tail(worker_log)}\n"
        "--- flow-run logs ---\n" + "\n".join(logs[-60:])
    )
    assert flow_run.work_pool_name == POOL
    assert flow_run.infrastructure_pid, "the run was not started by the process worker"

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        counts = dict(con.execute("select dataset, count(*) from observation group by dataset").fetchall())
    missing = [dataset for dataset in default_catalog().datasets if not counts.get(dataset)]
    assert not missing, f"no observations loaded for {missing}"

    recorded = postgres.query(
        "prefect",
        "select d.name, fr.state_type from flow_run fr join deployment d on d.id = fr.deployment_id "
        f"where fr.id = '{flow_run_id}'",
    )
    assert recorded == [["ingest", "COMPLETED"]]
