"""Figures 1 and 2 (and the Prefect API's start-up), all in ONE Python process.

Run as `python -m benchmarks.flow_bench OUT.json --runs N`: Prefect's settings must be in the
environment before Prefect is imported, so the parent harness starts this module in a subprocess.
Each repeat: a fresh data directory, a cold `monitor_run` with the replay server one month back,
the same again with nothing new upstream (no-change), then one release: Nomis's calendar moved
forward one month (the claimant count's new month) while every other publisher stays put, and
`monitor_run` once more (update). Ratios are taken within each repeat. Before the update is timed
the replay server has already made the new bodies (as a publisher has them ready at 09:30): making
them is the emulator's work, not the monitor's.

Then the release watch (figure 2b): a cold run a month back, `release_watch` started on the
claimant count's release day, and the new month published at a random moment of the first polling
interval; the latency is from that moment to the new edition's folder appearing in the site.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from email.utils import format_datetime
from pathlib import Path


def _shift_month(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, min(day.day, 28))


def set_today(server, today: dt.date) -> None:
    """Move the replay server's calendar: its samples then follow `today` (attributes, not code)."""
    server.today = today
    server.nomis.today = today
    moment = dt.datetime.combine(today, dt.time(9, 30), tzinfo=dt.UTC)
    server.last_modified = format_datetime(moment, usegmt=True)


def recorded_seconds(state) -> float:
    """The flow run's own duration as Prefect records it (the UI's duration): from the run entering
    Running to its final state. The call's wall time adds the engine's set-up and teardown, chiefly
    joining its heartbeat thread, which sleeps in one-second steps (0-1 s, whatever the run did)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    return (run.end_time - run.start_time).total_seconds()


def warm(server) -> None:
    """Ask the replay server for every URL the runs have asked for, so that it has the bodies of
    its new calendar ready; the answers are not counted."""
    import httpx

    with httpx.Client(base_url=server.url, timeout=120) as client:
        for path in dict.fromkeys(server.requests):
            client.get(path)
    server.responses.clear()


def release_day_after(day: dt.date, dataset: str = "claimant_count") -> dt.date:
    """The first day after `day` on which the replay calendar lists a release of `dataset`."""
    from flows import steps
    from flows.settings import load_settings

    for offset in range(1, 62):
        candidate = day + dt.timedelta(days=offset)
        if dataset in steps.datasets_due(load_settings(), candidate):
            return candidate
    raise RuntimeError(f"no release of {dataset} in the replay calendar within two months of {day}")


def watch_latency(server, before: dt.date, data_dir: Path, poll_seconds: float, rng: random.Random) -> dict:
    """Release-to-published latency of the release watch at `poll_seconds`."""
    from flows.monitor import monitor_run, release_watch, run_summary
    from flows.settings import load_settings

    set_today(server, before)
    os.environ["EIM_DATA_DIR"] = str(data_dir)
    monitor_run(return_state=True)
    day = release_day_after(before)
    # The emulated Nomis shows a claimant month from the 15th (sources/replay/samples.py), a few days after
    # the calendar's release day: the moment of publication is the timer's, so the date only needs
    # to be one on which the new month shows.
    later = day.replace(day=16)
    server.nomis.today = later  # the bodies of the release made ready off the clock, then withdrawn
    warm(server)
    server.nomis.today = before
    published_at: list[float] = []

    def publish() -> None:
        server.nomis.today = later
        published_at.append(time.perf_counter())

    site = load_settings().site_dir
    earlier = {p.name for p in site.glob("20*")}
    appeared: list[float] = []
    stop = threading.Event()

    def watch_the_site() -> None:  # the edition is public once its folder is swapped into the site
        while not stop.wait(0.05):
            if {p.name for p in site.glob("20*")} - earlier:
                appeared.append(time.perf_counter())
                return

    offset = rng.uniform(0, poll_seconds)
    timer = threading.Timer(offset, publish)
    watcher = threading.Thread(target=watch_the_site)
    watcher.start()
    timer.start()
    try:
        # The APS is due the same day and does not change: the watch polls on until its deadline,
        # after the claimant count's edition is out, which is what is timed.
        state = release_watch(
            poll_seconds=poll_seconds,
            deadline_minutes=3 * poll_seconds / 60,
            day=day.isoformat(),
            return_state=True,
        )
    finally:
        timer.cancel()
        stop.set()
        watcher.join()
    summary = run_summary(state)
    if summary is None or "claimant_count" not in summary.loaded or not published_at or not appeared:
        raise RuntimeError(f"the release watch did not publish the new month: {state.message}")
    return {
        "latency": appeared[0] - published_at[0],
        "published_offset": offset,
        "release_day": day.isoformat(),
        "loaded": sorted(summary.loaded),
        "editions": sorted(p.name for p in site.glob("20*")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--datasets", nargs="*", default=None, help="only these datasets (tests)")
    parser.add_argument("--latency-runs", type=int, default=3, help="release-watch latency runs")
    parser.add_argument("--poll-seconds", type=float, default=20.0, help="the watch's polling interval")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="eim-bench-flow-"))
    os.environ.update(
        PREFECT_HOME=str(work / "prefect-home"),
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="ERROR",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="90",
    )
    for key in [k for k in os.environ if k.startswith("EIM_")]:
        del os.environ[key]
    os.chdir(work)

    from prefect import flow

    from flows.monitor import RunSummary, monitor_run
    from flows.settings import load_settings
    from sources.replay.server import ReplayServer
    from warehouse.geography import load_area_file

    @flow(name="eim-bench-noop")
    def noop() -> int:
        return 1

    started = time.perf_counter()
    noop()  # the first flow call starts the ephemeral API
    first_noop = time.perf_counter() - started
    started = time.perf_counter()
    noop()
    second_noop = time.perf_counter() - started

    today = dt.date.today()
    before = _shift_month(today, -1)
    results: list[dict] = []
    with ReplayServer.serving(load_area_file("west-midlands"), today=before) as server:
        for publisher, url in server.base_urls.items():
            os.environ[f"EIM_{publisher.upper()}_URL"] = url
        os.environ.update(EIM_DEMO="true", EIM_QUIET="true")

        def run() -> tuple[float, float, RunSummary, int]:
            server.responses.clear()
            start = time.perf_counter()
            state = monitor_run(datasets=args.datasets, return_state=True)
            wall = time.perf_counter() - start
            summary = state.result(raise_on_failure=False)
            bodies = sum(1 for _, status in server.responses if status == 200)
            if not isinstance(summary, RunSummary):
                raise RuntimeError(f"the run failed: {summary}")
            return recorded_seconds(state), wall, summary, bodies

        for repeat in range(args.warmup + args.runs):
            set_today(server, before)
            os.environ["EIM_DATA_DIR"] = str(work / f"data-{repeat}")
            cold, cold_wall, cold_summary, cold_bodies = run()
            again, again_wall, again_summary, again_bodies = run()
            server.nomis.today = today
            warm(server)
            update, update_wall, update_summary, update_bodies = run()
            if repeat < args.warmup:
                continue
            results.append(
                {
                    "cold": cold,
                    "nochange": again,
                    "update": update,
                    "cold_wall": cold_wall,
                    "nochange_wall": again_wall,
                    "update_wall": update_wall,
                    "cold_bodies": cold_bodies,
                    "nochange_bodies": again_bodies,
                    "update_bodies": update_bodies,
                    "cold_loaded": len(cold_summary.loaded),
                    "nochange_loaded": len(again_summary.loaded),
                    "update_loaded": sorted(update_summary.loaded),
                    "failed": {**cold_summary.failed, **again_summary.failed, **update_summary.failed},
                }
            )
        snapshot = str(load_settings().snapshot_path)
        latencies = [
            watch_latency(server, before, work / f"watch-{i}", args.poll_seconds, random.Random(i))
            for i in range(args.latency_runs)
        ]

    med = statistics.median
    report = {
        "prefect_start": first_noop - second_noop,
        "prefect_first_call": first_noop,
        "prefect_second_call": second_noop,
        "runs": results,
        "cold": med(r["cold"] for r in results),
        "nochange": med(r["nochange"] for r in results),
        "update": med(r["update"] for r in results),
        "nochange_ratio": med(r["nochange"] / r["cold"] for r in results),
        "update_ratio": med(r["update"] / r["cold"] for r in results),
        "cold_wall": med(r["cold_wall"] for r in results),
        "nochange_wall": med(r["nochange_wall"] for r in results),
        "update_wall": med(r["update_wall"] for r in results),
        "nochange_wall_ratio": med(r["nochange_wall"] / r["cold_wall"] for r in results),
        "update_wall_ratio": med(r["update_wall"] / r["cold_wall"] for r in results),
        "nochange_bodies": max(r["nochange_bodies"] for r in results),
        "poll_seconds": args.poll_seconds,
        "latencies": latencies,
        "latency": med(r["latency"] for r in latencies) if latencies else None,
        "snapshot": snapshot,
        "data_dir": str(Path(snapshot).parents[1]),
        "months": [f"{before:%Y-%m-%d}", f"{today:%Y-%m-%d}"],
    }
    args.out.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
