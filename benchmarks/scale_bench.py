"""Figure 6: the monitor over every English council and combined authority, against the West Midlands.

Each area set has a replay server of its own, in a process of its own, so that neither the emulators'
CPU nor the bodies they hold count against the monitor: the emulators regenerate every body on every
request (Nomis pages through the whole table once per page), which for 300 areas costs more than
the monitor itself, and a real publisher's serving time is not the monitor's cost either. The servers
keep each body once made; the warm-up repeat makes them all, so the timed runs are served from memory.

- Duration: one worker process (`python -m benchmarks.scale_bench worker ...`) starts Prefect's
  ephemeral API, then runs `monitor_run` cold (a fresh data directory each time) for each area set in
  turn, alternating which goes first; the ratio is taken within each repeat, then the median.
- Memory: `eim run` as a whole process, cold (fresh data directory and PREFECT_HOME), for each area
  set, with the summed RSS of its process tree sampled from /proc (as figure 5 does).

`python -m benchmarks --only scale` writes figure 6 into docs/performance.md;
`python -m benchmarks.scale_bench measure --runs N` prints the raw numbers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from benchmarks.common import ROOT, VENV_BIN, ProcessResult, base_env, run_process
from sources.replay.reply import Reply
from sources.replay.server import ReplayServer

AREAS = ("west-midlands", "england")


class CachingReplayServer(ReplayServer):
    """A replay server that makes each body once: its `today` never moves within a benchmark."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._replies: dict[tuple[str, tuple[tuple[str, str], ...]], Reply] = {}

    def route(self, path: str, query: dict[str, str]) -> Reply:
        key = (path, tuple(sorted(query.items())))
        if key not in self._replies:
            self._replies[key] = super().route(path, query)
        return self._replies[key]


def serve(area: str) -> None:
    """Serve `area`'s replay samples until stdin closes; the first stdout line is the base URLs."""
    from warehouse.geography import load_area_file

    with CachingReplayServer.serving(load_area_file(area), today=dt.date.today()) as server:
        print(json.dumps(server.base_urls), flush=True)
        sys.stdin.read()


@contextmanager
def replay_process(area: str) -> Iterator[dict[str, str]]:
    """A `serve` subprocess for `area`; yields its base URLs and stops it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.scale_bench", "serve", area],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:
            raise RuntimeError(f"the replay server for {area} did not start (exit code {proc.wait()})")
        yield json.loads(line)
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _point_at(urls: dict[str, str]) -> None:
    for publisher, url in urls.items():
        os.environ[f"EIM_{publisher.upper()}_URL"] = url


def worker(out: Path, runs: int, warmup: int, servers: dict[str, dict[str, str]]) -> None:
    """Time cold `monitor_run`s of each area set in this one process, after Prefect's API is up."""
    work = Path(tempfile.mkdtemp(prefix="eim-bench-scale-"))
    os.environ.update(
        PREFECT_HOME=str(work / "prefect-home"),
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="ERROR",
        # As `eim` does (flows/cli.py): on a busy 2-core machine the API takes longer than Prefect's 20 s.
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="90",
    )
    for key in [k for k in os.environ if k.startswith("EIM_")]:
        del os.environ[key]
    os.environ.update(EIM_DEMO="true", EIM_QUIET="true")
    os.chdir(work)

    from prefect import flow

    from flows.monitor import RunSummary, monitor_run

    @flow(name="eim-bench-noop")
    def noop() -> int:
        return 1

    noop()  # the first flow call starts the ephemeral API: not part of any run's time

    def run(area: str, data_dir: Path) -> dict:
        os.environ.update(EIM_AREA=area, EIM_DATA_DIR=str(data_dir))
        _point_at(servers[area])
        start = time.perf_counter()
        state = monitor_run(return_state=True)
        seconds = time.perf_counter() - start
        summary = state.result(raise_on_failure=False)
        if not isinstance(summary, RunSummary):
            raise RuntimeError(f"the {area} run failed: {summary}")
        return {"seconds": seconds, "loaded": len(summary.loaded), "failed": summary.failed}

    repeats = []
    for repeat in range(warmup + runs):
        # Alternating the order spreads any drift (other work on the machine, a warming cache) evenly.
        order = list(servers) if repeat % 2 == 0 else list(reversed(servers))
        results = {}
        for area in order:
            data_dir = work / f"data-{area}-{repeat}"
            results[area] = run(area, data_dir)
            shutil.rmtree(data_dir, ignore_errors=True)
        if repeat >= warmup:
            repeats.append(results)
    out.write_text(json.dumps({"repeats": repeats}, indent=2))


def memory_run(area: str, urls: dict[str, str]) -> ProcessResult:
    """`eim run` for `area` as a whole cold process, its process tree's memory sampled."""
    work = Path(tempfile.mkdtemp(prefix="eim-bench-scale-mem-"))
    env = base_env(
        EIM_AREA=area,
        EIM_DATA_DIR=str(work / "data"),
        PREFECT_HOME=str(work / "prefect-home"),
        EIM_DEMO="true",
        **{f"EIM_{publisher.upper()}_URL": url for publisher, url in urls.items()},
    )
    result = run_process([str(VENV_BIN / "eim"), "run", "--quiet"], env=env, cwd=work, sample=True)
    # Exit code 1 also means "a dataset failed, the rest ran"; a run that published no snapshot did not
    # do the work whose memory is measured.
    published = (work / "data" / "published" / "warehouse.duckdb").exists()
    shutil.rmtree(work, ignore_errors=True)
    if result.returncode not in (0, 1) or not published:
        raise RuntimeError(f"eim run ({area}) failed ({result.returncode}): {result.stderr[-2000:]}")
    return result


def _counts(area: str) -> dict[str, int]:
    from warehouse.geography import load_area_file

    areas = load_area_file(area).areas
    return {
        "areas": len(areas),
        "councils": sum(a.level == "council" for a in areas),
        "combined_authorities": sum(a.level == "combined_authority" for a in areas),
    }


def measure(runs: int, warmup: int = 1, memory_runs: int | None = None) -> dict:
    """Both measurements against one pair of replay servers; the raw numbers, for the report."""
    out = Path(tempfile.mkdtemp(prefix="eim-bench-scale-")) / "scale.json"
    with ExitStack() as stack:
        servers = {area: stack.enter_context(replay_process(area)) for area in AREAS}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.scale_bench",
                "worker",
                str(out),
                "--runs",
                str(runs),
                "--warmup",
                str(warmup),
                "--servers",
                json.dumps(servers),
            ],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        memory: dict[str, list[dict]] = {area: [] for area in AREAS}
        for _ in range(runs if memory_runs is None else memory_runs):
            for area in AREAS:
                result = memory_run(area, servers[area])
                memory[area].append(
                    {
                        "tree_peak_bytes": result.tree_peak_bytes,
                        "maxrss_bytes": result.maxrss_bytes,
                        "seconds": result.seconds,
                        "returncode": result.returncode,
                    }
                )
    repeats = json.loads(out.read_text())["repeats"]
    seconds = {area: [r[area]["seconds"] for r in repeats] for area in AREAS}
    return {
        "runs": runs,
        "warmup": warmup,
        "areas": {area: _counts(area) for area in AREAS},
        "seconds": seconds,
        "median": {area: statistics.median(values) for area, values in seconds.items()},
        "ratio": statistics.median(r["england"]["seconds"] / r["west-midlands"]["seconds"] for r in repeats),
        "failed": {area: sorted({k for r in repeats for k in r[area]["failed"]}) for area in AREAS},
        "loaded": {area: max(r[area]["loaded"] for r in repeats) for area in AREAS},
        "memory": memory,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve_args = sub.add_parser("serve", help="serve an area set's replay samples until stdin closes")
    serve_args.add_argument("area", choices=AREAS)
    worker_args = sub.add_parser("worker", help="time cold monitor runs in this process")
    worker_args.add_argument("out", type=Path)
    worker_args.add_argument("--runs", type=int, default=5)
    worker_args.add_argument("--warmup", type=int, default=1)
    worker_args.add_argument("--servers", required=True, help="JSON: area -> publisher -> base URL")
    measure_args = sub.add_parser("measure", help="both measurements; prints the raw numbers as JSON")
    measure_args.add_argument("--runs", type=int, default=5)
    measure_args.add_argument("--warmup", type=int, default=1)
    measure_args.add_argument("--memory-runs", type=int, default=None, help="default: --runs")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.area)
    elif args.command == "worker":
        worker(args.out, args.runs, args.warmup, json.loads(args.servers))
    else:
        print(json.dumps(measure(args.runs, args.warmup, args.memory_runs), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
