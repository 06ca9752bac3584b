"""Crash safety: `eim run` killed with SIGKILL at seeded points breaks nothing, and a re-run catches up.

Every run here is the real command line, `eim run --quiet`, in a subprocess, through Prefect: the
launcher of `crash_points.py` hooks one function (or `os.replace` onto one kind of path) to SIGKILL its
own process on the Nth call. Production code is not touched. One Prefect server for the module
(`prefect server start --no-services --no-ui`) serves every subprocess, so no run pays for an
ephemeral API start-up.

Each run starts from a copy of a data directory built a month earlier (so the run has new data to
fetch, load, model, snapshot, render, publish and send) against one replay server and one SMTP server
on loopback. Each copy gets three subscribers whose addresses carry a tag of that copy
(`alice+07@example.org`), so the messages of one kill point, across the killed run and its re-run,
are counted apart from the others.

After each kill: the warehouse (a copy of it, WAL included) opens and passes its error and blocker
checks with no observation of the base lost; the snapshot and the Parquet exports are each a complete
earlier state (the base's or the uninterrupted run's); every edition the site shows or links is whole.
Then a re-run must exit 0 and end in the uninterrupted run's state: the same indicator summary in the
snapshot and in the Parquet exports, the same editions published, the same editions listed in the
site index and the feed, and every subscriber sent the edition exactly once.

Email is at most once (`reports.delivery.mail`): a delivery is recorded `pending` before the message is handed
to the SMTP server and `sent` after. A subscriber whose delivery was in flight at the kill is left
`pending`, which no later run sends again without the operator (`eim send --resend-pending`); they got
the message once or not at all, depending on whether the kill came before or after the hand-over. The
suite expects exactly that for them, and one copy for everyone else; two copies is a failure anywhere.

Each kill point's outcome is written as JSON to $EIM_RELIABILITY_RESULTS/crash (default
/tmp/eim-reliability-results/crash) for `python -m tests.reliability.report`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree

import duckdb
import pytest

from tests.conftest import DEMO_TODAY, build_demo_data_dir
from tests.reliability.crash_points import LAUNCHER, STAGES, KillPoint, kill_points

if TYPE_CHECKING:
    from sources.replay.server import ReplayServer

pytestmark = pytest.mark.reliability
ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
RESULTS_DIR = Path(os.environ.get("EIM_RELIABILITY_RESULTS", "/tmp/eim-reliability-results")) / "crash"
SUMMARY_SQL = "SELECT * EXCLUDE (vintages) FROM {} ORDER BY ALL"
EDITION_FILES = ("index.html", "bulletin.pdf", "bulletin.md", "figures.json")
SUBSCRIBERS = ("alice", "bob", "carol")
RUN_TIMEOUT = 600

POINTS = kill_points()
if only := os.environ.get("EIM_RELIABILITY_POINTS"):  # e.g. "0,7,15": a quicker subset while debugging
    POINTS = [POINTS[int(i)] for i in only.split(",")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A Prefect server for every `eim run` of the module: its API URL and log. Yielded before the
    server is up (`_wait_for` waits), so that its start-up overlaps building the base data directory."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    with open(home / "server.log", "wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-services",
                "--no-ui",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield f"http://127.0.0.1:{port}/api", home / "server.log"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _wait_for(api: str, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError as error:
            if time.monotonic() > deadline:
                tail = log.read_text()[-3000:]
                raise RuntimeError(f"the Prefect server did not start ({error}): {tail}") from None
        time.sleep(0.5)


class Inbox:
    """An aiosmtpd handler keeping (recipient, edition period) of every message accepted."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        from email import message_from_bytes

        message_id = message_from_bytes(envelope.content)["Message-ID"] or ""
        period = re.search(r"eim-(\d{4}-\d{2})@", message_id)
        for recipient in envelope.rcpt_tos:
            self.received.append((recipient.lower(), period[1] if period else message_id))
        return "250 OK"

    def copies(self, tag: str) -> Counter:
        """Messages per (subscriber, edition) to the subscribers of one data directory."""
        suffix = f"+{tag}@example.org"
        return Counter((r.removesuffix(suffix), p) for r, p in list(self.received) if r.endswith(suffix))


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    from sources.replay.server import ReplayServer
    from warehouse.geography import load_area_file

    with ReplayServer.serving(load_area_file("west-midlands"), today=DEMO_TODAY) as server:
        yield server


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Last month's data directory, with last month's edition published, and its observations
    exported beside it (`base-observation.parquet`) to count rows lost."""
    from flows import steps

    last_month = DEMO_TODAY - dt.timedelta(days=31)
    data_dir = tmp_path_factory.mktemp("crash-base") / "data"
    settings = build_demo_data_dir(data_dir, today=last_month)
    result = steps.build_bulletin(settings, today=last_month)
    assert result.published, result.reasons
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        con.execute(f"COPY observation TO '{data_dir.parent / 'base-observation.parquet'}' (FORMAT parquet)")
    finally:
        con.close()
    return data_dir


@dataclasses.dataclass(frozen=True)
class Bench:
    """What every run of the module shares: servers, the base directory, where copies go."""

    replay: ReplayServer
    inbox: Inbox
    smtp_port: int
    api: str
    base_dir: Path
    root: Path

    def copy(self, tag: str) -> Path:
        """A copy of the base data directory with three subscribers of its own."""
        from reports.delivery.subscribers import SubscriberStore

        data_dir = self.root / tag / "data"
        shutil.copytree(self.base_dir, data_dir, symlinks=True)
        store = SubscriberStore(data_dir)
        for name in SUBSCRIBERS:
            store.add(f"{name}+{tag}@example.org")
        return data_dir

    def env(self, data_dir: Path, point: KillPoint | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EIM_", "PREFECT_"))}
        env.update({f"EIM_{p.upper()}_URL": url for p, url in self.replay.base_urls.items()})
        env.update(
            EIM_DATA_DIR=str(data_dir),
            EIM_DEMO="true",
            EIM_QUIET="true",
            EIM_HTTP_RETRIES="2",
            EIM_HTTP_TIMEOUT="10",
            EIM_HTTP_RETRY_BUDGET="5",
            EIM_SMTP_HOST="127.0.0.1",
            EIM_SMTP_PORT=str(self.smtp_port),
            EIM_SMTP_SECURITY="none",
            EIM_MAIL_FROM="Economic Impact Monitor <monitor@eim.example.org>",
            EIM_UNSUBSCRIBE_SECRET="crash-safety-unsubscribe-secret",
            EIM_SITE_URL="https://eim.example.org/",
            EIM_SEND_RATE_PER_MINUTE="60000",
            PREFECT_API_URL=self.api,
            PREFECT_HOME=str(self.root / "prefect"),
            PREFECT_LOGGING_LEVEL="WARNING",
            DO_NOT_TRACK="1",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PYTHONPATH=str(ROOT),
        )
        if point:
            env["EIM_TEST_KILL_POINT"] = json.dumps(point.as_json())
        return env

    def command(self) -> list[str]:
        return [sys.executable, "-c", LAUNCHER, "run", "--quiet"]

    def run(self, data_dir: Path, point: KillPoint | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(),
            env=self.env(data_dir, point),
            cwd=data_dir.parent,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )


def _tail(done: subprocess.CompletedProcess | tuple[str, str]) -> str:
    out, err = (done.stdout, done.stderr) if isinstance(done, subprocess.CompletedProcess) else done
    return (out[-1500:] + "\n" + err[-2500:]).strip()


def _rounded(rows: list[tuple]) -> list[tuple]:
    """Floats to 9 decimals: DuckDB's parallel sums may differ in the last bits from run to run."""
    return sorted(tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows)


def _summary(source: Path) -> list[tuple] | None:
    """The indicator summary of a snapshot file or of the exported indicator_summary.parquet."""
    if not source.exists():
        return None
    parquet = source.suffix == ".parquet"
    con = duckdb.connect(":memory:" if parquet else str(source), read_only=not parquet)
    try:
        table = f"read_parquet('{source}')" if parquet else "indicator_summary"
        return _rounded(con.execute(SUMMARY_SQL.format(table)).fetchall())
    finally:
        con.close()


def _listed(data_dir: Path) -> dict[str, list[str]]:
    """The edition periods site/index.html links and site/feed.atom carries, newest first."""
    site = data_dir / "site"
    index = (site / "index.html").read_text() if (site / "index.html").exists() else ""
    feed = (site / "feed.atom").read_text() if (site / "feed.atom").exists() else ""
    return {
        "index": re.findall(r'href="(\d{4}-\d{2})/index\.html"', index),
        "feed": re.findall(r"<id>[^<]*/(\d{4}-\d{2})/</id>", feed),
    }


def mail_state(bench: Bench, data_dir: Path, tag: str) -> dict[str, tuple[int, str | None]]:
    """Per subscriber: messages the SMTP server accepted, and the delivery log's status."""
    from reports.delivery.subscribers import SubscriberStore

    copies: Counter = Counter()
    for (name, _period), n in bench.inbox.copies(tag).items():
        copies[name] += n
    status = {d.email.split("+")[0]: d.status for d in SubscriberStore(data_dir).deliveries()}
    return {name: (copies[name], status.get(name)) for name in SUBSCRIBERS}


def duplicates(bench: Bench, tag: str) -> int:
    return sum(n - 1 for n in bench.inbox.copies(tag).values() if n > 1)


def published_state(data_dir: Path) -> dict:
    """What analysts and readers see; none of it depends on the date a run is made."""
    editions = sorted(
        (m["period"], m["published"], m["snapshot_sha256"] is not None)
        for m in (json.loads(p.read_text()) for p in data_dir.glob("editions/*/manifest.json"))
    )
    return {
        "summary": _summary(data_dir / "published" / "warehouse.duckdb"),
        "parquet": _summary(data_dir / "published" / "parquet" / "indicator_summary.parquet"),
        "editions": editions,
        "site": _listed(data_dir),
    }


def state_of(bench: Bench, data_dir: Path, tag: str) -> dict:
    """What a finished run leaves that must not depend on its having been interrupted."""
    return {**published_state(data_dir), "mail": mail_state(bench, data_dir, tag)}


def copy_warehouse(data_dir: Path, scratch: Path) -> Path:
    """A copy of the warehouse file and its WAL: checks must not open the live file a run may hold."""
    copy = scratch / "warehouse.duckdb"
    shutil.copy(data_dir / "warehouse.duckdb", copy)
    if (data_dir / "warehouse.duckdb.wal").exists():
        shutil.copy(data_dir / "warehouse.duckdb.wal", scratch / "warehouse.duckdb.wal")
    return copy


def rows_lost(con: duckdb.DuckDBPyConnection, base_dir: Path) -> int:
    """Observations of the base warehouse that are no longer in the warehouse `con` has open."""
    base = base_dir.parent / "base-observation.parquet"
    return con.execute(
        f"SELECT count(*) FROM (FROM read_parquet('{base}') EXCEPT FROM observation)"
    ).fetchone()[0]


def after_kill(bench: Bench, data_dir: Path) -> dict:
    """What a killed run left: problems found, rows lost, and the two analyst-facing summaries (judged
    later against the base's and the uninterrupted run's)."""
    from sources.catalog import default_catalog
    from warehouse import db
    from warehouse.geography import load_area_file
    from warehouse.quality import run_checks
    from warehouse.snapshot import PARQUET_TABLES

    problems, lost = [], None
    areas = load_area_file("west-midlands")
    catalog = default_catalog()
    with tempfile.TemporaryDirectory() as scratch:
        try:
            with db.connect(copy_warehouse(data_dir, Path(scratch))) as con:
                datasets = [r[0] for r in con.execute("SELECT DISTINCT dataset FROM observation").fetchall()]
                cadence = {dataset: catalog.get(dataset).cadence for dataset in datasets}
                results = run_checks(con, datasets, list(areas.by_code[areas.focus].members), cadence)
                lost = rows_lost(con, bench.base_dir)
            problems += [
                f"warehouse check {r.check} of {r.dataset} fails: {r.detail}"
                for r in results
                if not r.passed and r.severity in ("error", "blocker")
            ]
        except duckdb.Error as error:
            problems.append(f"the warehouse does not open: {error}")
    parquet = data_dir / "published" / "parquet"
    reader = duckdb.connect()
    try:
        for table in PARQUET_TABLES:
            try:
                reader.execute(f"SELECT count(*) FROM read_parquet('{parquet / table}.parquet')").fetchall()
            except duckdb.Error as error:
                problems.append(f"published/parquet/{table}.parquet cannot be read: {error}")
    finally:
        reader.close()
    problems += site_problems(data_dir)
    return {
        "problems": problems,
        "rows_lost": lost,
        "snapshot": _summary(data_dir / "published" / "warehouse.duckdb"),
        "parquet": _summary(parquet / "indicator_summary.parquet"),
    }


def site_problems(data_dir: Path) -> list[str]:
    """Any edition the site shows (a dated entry) or links (index, feed) that is not whole."""
    site = data_dir / "site"
    shown = {entry.name for entry in site.iterdir() if re.fullmatch(r"\d{4}-\d{2}", entry.name)}
    listed = _listed(data_dir)
    problems = []
    for period in sorted(shown | set(listed["index"]) | set(listed["feed"])):
        folder = site / period
        if not folder.is_dir():
            problems.append(f"site/{period} is linked but does not resolve to a folder")
            continue
        problems += [
            f"site/{period}/{name} is missing" for name in EDITION_FILES if not (folder / name).is_file()
        ]
        try:
            json.loads((folder / "figures.json").read_text())
        except (OSError, ValueError) as error:
            problems.append(f"site/{period}/figures.json is not whole: {error}")
    if (site / "feed.atom").exists():
        try:
            ElementTree.fromstring((site / "feed.atom").read_bytes())
        except ElementTree.ParseError as error:
            problems.append(f"site/feed.atom is not whole: {error}")
    return problems


def pending_names(data_dir: Path) -> list[str]:
    from reports.delivery.subscribers import SubscriberStore

    return sorted(
        d.email.split("+")[0] for d in SubscriberStore(data_dir).deliveries() if d.status == "pending"
    )


def kill_and_rerun(bench: Bench, point: KillPoint) -> dict:
    started = time.monotonic()
    tag = point.id[:2]
    data_dir = bench.copy(tag)
    killed = bench.run(data_dir, point)
    if killed.returncode != -signal.SIGKILL:
        return {"killed": False, "returncode": killed.returncode, "output": _tail(killed)}
    left = after_kill(bench, data_dir)
    pending = pending_names(data_dir)
    rerun = bench.run(data_dir)
    with tempfile.TemporaryDirectory() as scratch:
        con = duckdb.connect(str(copy_warehouse(data_dir, Path(scratch))))
        try:
            lost = rows_lost(con, bench.base_dir)
        finally:
            con.close()
    return {
        "killed": True,
        "after_kill": left,
        "pending": pending,
        "rerun": rerun.returncode,
        "rerun_output": _tail(rerun),
        "state": state_of(bench, data_dir, tag),
        "duplicates": duplicates(bench, tag),
        "rows_lost_after_rerun": lost,
        "seconds": round(time.monotonic() - started),
    }


def judge(point: KillPoint, raw: dict, reference: dict, base: dict) -> dict:
    """A kill point's outcome against the base's and the uninterrupted run's states."""
    result = {"id": point.id, "stage": point.stage, "what": point.what, "killed": raw.get("killed")}
    if "error" in raw:
        return {**result, "detail": f"the test's own run failed: {raw['error']}"}
    if not raw["killed"]:
        return {**result, "detail": f"exit code {raw['returncode']}: {raw['output']}"}
    left = raw["after_kill"]
    problems = list(left["problems"])
    for part, key in (("snapshot", "summary"), ("parquet", "parquet")):
        if left[part] not in (base[key], reference[key]):
            problems.append(f"the {part} is neither the base's nor the uninterrupted run's")
    expected = dict(reference)
    # At most once: whoever was in flight at the kill stays pending, with the message once or not at all.
    mail = raw["state"]["mail"]
    for name in raw["pending"]:
        if mail[name][1] == "pending" and mail[name][0] <= 1:
            expected["mail"] = {**expected["mail"], name: mail[name]}
    differs = sorted(part for part in expected if raw["state"][part] != expected[part])
    lost = [n for n in (left["rows_lost"], raw["rows_lost_after_rerun"]) if n is not None]
    return {
        **result,
        "consistent": not problems,
        "problems": problems,
        "rerun": raw["rerun"],
        "state_equal": raw["rerun"] == 0 and not differs,
        "differs": differs,
        "mail": {name: list(v) for name, v in mail.items()},
        "pending": raw["pending"],
        "duplicates": raw["duplicates"],
        "rows_lost": max(lost) if lost else None,
        "rerun_output": raw["rerun_output"],
        "seconds": raw["seconds"],
    }


def reference_run(bench: Bench) -> dict:
    """The uninterrupted run, with an analyst's connection held open on the snapshot throughout."""
    data_dir = bench.copy("ref")
    analyst = duckdb.connect(str(data_dir / "published" / "warehouse.duckdb"), read_only=True)
    try:
        held = analyst.execute(SUMMARY_SQL.format("indicator_summary")).fetchall()
        started = time.monotonic()
        done = bench.run(data_dir)
        seconds = round(time.monotonic() - started)
        still = analyst.execute(SUMMARY_SQL.format("indicator_summary")).fetchall()
    finally:
        analyst.close()
    return {
        "returncode": done.returncode,
        "output": _tail(done),
        "held_unchanged": still == held,
        "seconds": seconds,
        "state": state_of(bench, data_dir, "ref"),
        "duplicates": duplicates(bench, "ref"),
    }


def two_runs_together(bench: Bench) -> dict:
    """The real CLI twice on one data directory, started at once."""
    data_dir = bench.copy("two")
    env = bench.env(data_dir)
    runs = [
        subprocess.Popen(
            bench.command(),
            env=env,
            cwd=data_dir.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=RUN_TIMEOUT) for run in runs]
    return {
        "codes": [run.returncode for run in runs],
        "outputs": [_tail(o) for o in outputs],
        "problems": site_problems(data_dir),
        "state": state_of(bench, data_dir, "two"),
        "duplicates": duplicates(bench, "two"),
    }


def _write_result(result: dict) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{result['id']}.json").write_text(json.dumps(result, indent=1, default=str))


@pytest.fixture(scope="module")
def runs(
    prefect_server: tuple[str, Path],
    smtp: tuple[Inbox, int],
    replay: ReplayServer,
    base_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict:
    """Every subprocess run of the module, two at a time (two cores): the uninterrupted run, the two
    runs started together, and each kill point followed by a re-run; then each kill point judged."""
    _wait_for(*prefect_server)
    bench = Bench(
        replay, smtp[0], smtp[1], prefect_server[0], base_dir, tmp_path_factory.mktemp("crash-runs")
    )
    base = published_state(base_dir)
    started = time.monotonic()
    jobs: dict[str, Callable[[], dict]] = {
        "reference": lambda: reference_run(bench),
        "together": lambda: two_runs_together(bench),
    }
    # Late kill points first: they are the longest, and the pool's tail is shorter for it.
    for point in reversed(POINTS):
        jobs[point.id] = lambda point=point: kill_and_rerun(bench, point)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {key: pool.submit(job) for key, job in jobs.items()}
        raw = {"reference": futures.pop("reference").result(), "together": futures.pop("together").result()}
        for key, future in futures.items():  # one kill point's hang or crash fails that point only
            error = future.exception()
            raw[key] = {"error": f"{type(error).__name__}: {error}"} if error else future.result()
    reference = raw["reference"]["state"]
    if len(POINTS) == len(kill_points()):
        shutil.rmtree(RESULTS_DIR, ignore_errors=True)
    results = {
        "reference": raw["reference"],
        "together": raw["together"],
        "base": base,
        "elapsed": time.monotonic() - started,
    }
    for point in POINTS:
        results[point.id] = judge(point, raw[point.id], reference, base)
        _write_result(results[point.id])
    print(
        f"\ncrash safety: {len(jobs)} jobs in {results['elapsed']:.0f} s; one uninterrupted `eim run` "
        f"took {raw['reference']['seconds']} s"
    )
    return results


def test_at_least_twenty_kill_points_over_every_stage() -> None:
    points = kill_points()
    assert len(points) >= 20
    assert {p.stage for p in points} == set(STAGES)
    assert len({p.id for p in points}) == len(points)


@pytest.mark.slow
@pytest.mark.parametrize("point", [pytest.param(p, id=p.id) for p in POINTS])
def test_kill_point(point: KillPoint, runs: dict) -> None:
    result = runs[point.id]
    assert result["killed"], f"the kill point was never reached: {result['detail']}"
    assert result["consistent"], result["problems"]
    assert result["rows_lost"] == 0
    assert result["duplicates"] == 0, f"a subscriber got the edition twice: {result['mail']}"
    assert result["rerun"] == 0, result["rerun_output"]
    assert result["state_equal"], (
        f"the re-run did not reach the uninterrupted run's state: {result['differs']} differ; "
        f"mail (copies, status) {result['mail']}, left pending by the kill {result['pending']}"
    )


@pytest.mark.slow
def test_the_uninterrupted_run_publishes_and_sends_once(runs: dict) -> None:
    reference = runs["reference"]
    assert reference["returncode"] == 0, reference["output"]
    state, base = reference["state"], runs["base"]
    assert state["summary"] != base["summary"], "the run had nothing new to load"
    assert len(state["editions"]) == len(base["editions"]) + 1 and state["editions"][-1][1]
    assert state["site"]["index"] == state["site"]["feed"] == [e[0] for e in reversed(state["editions"])]
    assert state["parquet"] == state["summary"]
    assert state["mail"] == {name: (1, "sent") for name in SUBSCRIBERS}
    assert reference["duplicates"] == 0


@pytest.mark.slow
def test_an_analyst_connection_held_on_the_snapshot_through_a_run(runs: dict) -> None:
    """The reference run replaced the snapshot under an open read-only connection: the run was not
    blocked, and the analyst kept reading the old, complete file."""
    assert runs["reference"]["returncode"] == 0, runs["reference"]["output"]
    assert runs["reference"]["held_unchanged"]


@pytest.mark.slow
def test_two_eim_runs_started_together(runs: dict) -> None:
    """One runs, the other refuses clearly without a traceback; the result is the uninterrupted run's."""
    together = runs["together"]
    for code, output in zip(together["codes"], together["outputs"], strict=True):
        assert "Traceback" not in output, output
        if code != 0:
            assert "another run is writing" in output, output
    assert 0 in together["codes"], together["outputs"]
    assert not together["problems"], together["problems"]
    assert together["duplicates"] == 0
    assert together["state"] == runs["reference"]["state"]


def test_doc_lists_exactly_the_kill_points() -> None:
    """docs/reliability.md has one crash-safety row per kill point of the code, no more."""
    text = DOC.read_text()
    assert "## Crash safety" in text
    section = text.split("## Crash safety", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1].strip().strip("`") for line in section.splitlines() if line.startswith("| ")]
    assert rows[1:] == [p.id for p in kill_points()]  # rows[0] is the header
