"""`make bench`: measure every figure and write docs/performance.md.

python -m benchmarks [--quick] [--only flow,cli,hpi,memory,scale] [--out docs/performance.md]

With `--only`, the figures not run keep the values the report at `--out` already has (marked as
carried over, with the date they were measured).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import report
from benchmarks.common import ROOT, VENV_BIN, Figure, base_env, machine, mib, run_process
from benchmarks.report import TARGETS

SECTIONS = ("flow", "cli", "hpi", "memory", "scale")
# The flow figures are ratios of two runs seconds apart, and on a shared 2-core machine one repeat's
# update / cold ratio ranged from 35% to 53% within a single bench (2026-11-28): nine repeats give
# their median a steadier footing than five (about a minute more).
FLOW_REPEATS = 9
GB = 1_000_000_000


def _log(message: str) -> None:
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {message}", flush=True)


def _wall(data: dict, run: str) -> str:
    """A flow figure by the call's wall time: the median ratio, and the median times."""
    return f"{data[run + '_wall_ratio']:.1%} ({data[run + '_wall']:.1f} s / {data['cold_wall']:.1f} s)"


def bench_flow(runs: int) -> tuple[list[Figure], dict]:
    out = Path(tempfile.mkdtemp(prefix="eim-bench-")) / "flow.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.flow_bench", str(out), "--runs", str(runs), "--warmup", "1"],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    data = json.loads(out.read_text())
    nochange_ok = data["nochange_ratio"] <= 0.10 and data["nochange_bodies"] == 0
    loaded = sorted({d for r in data["runs"] for d in r["update_loaded"]})
    cold_runs = ", ".join(f"{r['cold']:.1f}" for r in data["runs"])
    figures = [
        Figure(
            "nochange",
            *[TARGETS["nochange"][0]],
            f"{data['nochange_ratio']:.1%} ({data['nochange']:.1f} s / {data['cold']:.1f} s); "
            f"{data['nochange_bodies']} bodies",
            TARGETS["nochange"][1],
            nochange_ok,
            f"`flows.monitor.monitor_run` in one process against the demo's replay server, {runs} repeats "
            f"after 1 warm-up, each in a fresh data directory; cold runs took {cold_runs} s. Durations are "
            "the flow run's own, as Prefect records it (Running to its final state, the UI's duration); "
            "the call's wall time adds the engine's set-up and teardown, chiefly joining Prefect's heartbeat "
            "thread, which sleeps in one-second steps: by wall time the no-change run is "
            f"{_wall(data, 'nochange')} and the update {_wall(data, 'update')}. "
            f"The no-change run downloaded at most {data['nochange_bodies']} bodies (200 responses on the "
            "replay server; 304s and the Land Registry probes' 404s are not bodies). Per repeat: "
            + ", ".join(f"{r['nochange'] / r['cold']:.1%}" for r in data["runs"])
            + ".",
        ),
        Figure(
            "prefect_start",
            TARGETS["prefect_start"][0],
            f"{data['prefect_start']:.1f} s (first call {data['prefect_first_call']:.1f} s, "
            f"second {data['prefect_second_call']:.2f} s)",
            TARGETS["prefect_start"][1],
            None,
            "A trivial flow called twice at the start of the benchmark process: the first call starts "
            "Prefect's ephemeral API (one measurement per `make bench`, not repeated); the flow figures "
            "above exclude it.",
        ),
        Figure(
            "update",
            TARGETS["update"][0],
            f"{data['update_ratio']:.1%} ({data['update']:.1f} s / {data['cold']:.1f} s)",
            TARGETS["update"][1],
            data["update_ratio"] <= 0.40,
            f"Cold run with the replay server's `today` at {data['months'][0]}, then only Nomis's calendar "
            f"moved to {data['months'][1]} (the claimant count's new month; the other publishers unchanged), "
            "the new bodies made by the replay server before the clock starts. Datasets that loaded "
            f"something new in the update: {', '.join(loaded) or 'none'}. The cold run asks Nomis for "
            "the claimant count's whole 85-month window (its older months and its newest 13), the update "
            "for the newest 13 only (`recent` in sources/catalog.yaml). A new month is a new edition: "
            "the update rebuilds the models, the snapshot (a copy of the warehouse's file) and its "
            "Parquet, and renders the whole bulletin (HTML, Markdown, JSON, CSVs and the Typst PDF); "
            "only the charts whose data changed are drawn again (the others come from the chart cache). "
            "Per repeat: " + ", ".join(f"{r['update'] / r['cold']:.1%}" for r in data["runs"]) + ".",
        ),
        Figure(
            "watch_latency",
            TARGETS["watch_latency"][0],
            f"{data['latency']:.1f} s median at a {data['poll_seconds']:.0f} s polling interval; at the "
            f"default 300 s: ≤ 300 s + {data['update']:.0f} s (the update above), "
            f"{150 + data['update']:.0f} s on average",
            TARGETS["watch_latency"][1],
            None,
            "`release_watch` on the claimant count's release day, after a cold run, with the new month "
            "published at a random moment of the first polling interval; latency from that moment to the "
            "edition's folder appearing in the site (sending follows; no subscribers here). Runs: "
            + ", ".join(
                f"{r['latency']:.1f} s (published {r['published_offset']:.1f} s in)"
                for r in data["latencies"]
            )
            + ". The latency is the wait for the next poll plus the update, so the default interval "
            "(`poll_seconds=300` in prefect.yaml) bounds it by 300 s plus the update.",
        ),
    ]
    return figures, data


def bench_cli(runs: int, data_dir: Path) -> list[Figure]:
    eim = str(VENV_BIN / "eim")
    env = base_env(EIM_DATA_DIR=str(data_dir), PREFECT_HOME=str(data_dir.parent / "prefect-home-cli"))
    # Python's default: the warm-up leaves the bytecode of what it imports, which later runs use.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    commands = {
        "baseline": [sys.executable, "-c", "import duckdb"],
        "cli_query": [eim, "query", "select 1"],
        "cli_status": [eim, "status"],
    }
    seconds: dict[str, list[float]] = {k: [] for k in commands}
    for repeat in range(runs + 1):
        for key, argv in commands.items():  # interleaved, so drift affects all three alike
            result = run_process(argv, env=env, cwd=data_dir.parent)
            if key != "baseline" and result.returncode not in (0, 1):
                raise RuntimeError(f"{argv} failed ({result.returncode}): {result.stderr[-2000:]}")
            if repeat:
                seconds[key].append(result.seconds)
    base = statistics.median(seconds["baseline"])
    figures = []
    for key in ("cli_query", "cli_status"):
        med = statistics.median(seconds[key])
        ratio = statistics.median(s / b for s, b in zip(seconds[key], seconds["baseline"], strict=True))
        figures.append(
            Figure(
                key,
                TARGETS[key][0],
                f"{ratio:.1f}× ({med:.2f} s / {base:.2f} s)",
                TARGETS[key][1],
                ratio <= 3.0,
                f"Whole processes timed from the harness (subprocess), {runs} runs after 1 warm-up, "
                "against a data directory with a published snapshot, with Python's default of keeping "
                "bytecode (PYTHONDONTWRITEBYTECODE removed if the environment sets it; "
                "`make install` also compiles the dependencies' bytecode). Runs: "
                + ", ".join(f"{s:.2f}" for s in seconds[key])
                + " s.",
            )
        )
    return figures


def bench_hpi(runs: int) -> list[Figure]:
    from benchmarks.hpi_bench import MODES, hpi_file, run_worker

    today = dt.date.today()
    results: dict[str, dict[str, list[dict]]] = {}
    files: dict[str, Path] = {}
    for size, rows in (("1x", 150_000), ("10x", 1_500_000)):
        _log(f"HPI {size}: generating (cached) file of {rows:,} rows")
        files[size] = hpi_file(rows, today)
        results[size] = {m: [] for m in MODES}
        for repeat in range(runs + 1):
            for mode in MODES:
                result = run_worker(mode, files[size])
                if repeat:
                    results[size][mode].append(result)
    figures = []
    med = statistics.median
    for size in ("1x", "10x"):
        mb = files[size].stat().st_size / 1e6
        t = {m: med(r["seconds"] for r in results[size][m]) for m in MODES}
        peak = {m: med(r["peak_bytes"] for r in results[size][m]) for m in MODES}
        rows_in = results[size]["duckdb"][0]["rows"]
        ratio = t["duckdb"] / t["parse"]
        figures.append(
            Figure(
                f"hpi_{size}",
                TARGETS[f"hpi_{size}"][0],
                f"{ratio:.0%} ({mb / t['parse']:.0f} vs {mb / t['duckdb']:.0f} MB/s)",
                TARGETS[f"hpi_{size}"][1],
                ratio >= 0.80,
                f"{rows_in:,} rows, {mb:.0f} MB. Median of {runs} subprocess runs after 1 warm-up: "
                f"`parse` {t['parse']:.2f} s (peak {mib(peak['parse'])}), bare DuckDB `read_csv` into a "
                f"table {t['duckdb']:.2f} s (peak {mib(peak['duckdb'])}), pandas `read_csv` + DuckDB "
                f"insert {t['pandas']:.2f} s (peak {mib(peak['pandas'])}; pandas throughput "
                f"{t['duckdb'] / t['pandas']:.0%} of bare DuckDB). `parse` returns "
                f"{results[size]['parse'][0]['rows']:,} tidy observations.",
            )
        )
    p1 = med(r["peak_bytes"] for r in results["1x"]["parse"])
    p10 = med(r["peak_bytes"] for r in results["10x"]["parse"])
    figures.append(
        Figure(
            "hpi_memory",
            TARGETS["hpi_memory"][0],
            f"{p10 / p1:.2f}× ({mib(p10)} / {mib(p1)})",
            TARGETS["hpi_memory"][1],
            p10 / p1 < 1.5,
            "Peak resident memory (VmHWM) of the subprocess running `parse`, including the "
            "interpreter and its imports (pandas, DuckDB).",
        )
    )
    return figures


def bench_memory(runs: int) -> list[Figure]:
    peaks, single, walls = [], [], []
    for _ in range(runs):
        work = Path(tempfile.mkdtemp(prefix="eim-bench-mem-"))
        env = base_env(
            EIM_DATA_DIR=str(work / "data"), PREFECT_HOME=str(work / "prefect-home"), EIM_DEMO_PORT="0"
        )
        result = run_process([str(VENV_BIN / "eim"), "demo", "--quiet"], env=env, cwd=work, sample=True)
        if result.returncode not in (0, 1):
            raise RuntimeError(f"eim demo failed ({result.returncode}): {result.stderr[-2000:]}")
        peaks.append(result.tree_peak_bytes)
        single.append(result.maxrss_bytes)
        walls.append(result.seconds)
    worst = max(peaks)
    return [
        Figure(
            "memory",
            TARGETS["memory"][0],
            f"{mib(statistics.median(peaks))} median, {mib(worst)} worst",
            TARGETS["memory"][1],
            worst < GB,
            f"`eim demo` as a whole process, {runs} runs, each with its own fresh EIM_DATA_DIR and "
            "PREFECT_HOME (so each is cold, including Prefect's start-up). The process tree's summed RSS "
            "sampled every 50 ms from /proc; the largest single process (GNU time's maximum resident "
            f"set size) was {mib(statistics.median(single))} (median). Wall time per cold run as a whole "
            f"process: {statistics.median(walls):.1f} s (median).",
        )
    ]


def bench_scale(runs: int) -> list[Figure]:
    from benchmarks.scale_bench import measure

    data = measure(runs)
    wm, en = data["median"]["west-midlands"], data["median"]["england"]
    failed = {area: datasets for area, datasets in data["failed"].items() if datasets}
    peaks = {area: [r["tree_peak_bytes"] for r in results] for area, results in data["memory"].items()}
    largest = statistics.median(r["maxrss_bytes"] for r in data["memory"]["england"])
    exited_1 = sum(r["returncode"] == 1 for results in data["memory"].values() for r in results)
    worst, wm_peaks = max(peaks["england"]), peaks["west-midlands"]

    def described(area: str) -> str:
        size = data["areas"][area]
        return (
            f"`EIM_AREA={area}` ({size['areas']} areas: {size['councils']} councils, "
            f"{size['combined_authorities']} combined authorities)"
        )

    def runs_of(area: str) -> str:
        return ", ".join(f"{s:.1f}" for s in data["seconds"][area]) + " s"

    outcome = f"Failures: {failed}." if failed else "Every run loaded every dataset and published."
    if exited_1:
        memory_outcome = f"{exited_1} of these runs exited 1 (a dataset or the gate failed; each published)."
    else:
        memory_outcome = "Every run exited 0."
    return [
        Figure(
            "scale",
            TARGETS["scale"][0],
            f"{data['ratio']:.2f}× ({en:.1f} s / {wm:.1f} s)",
            TARGETS["scale"][1],
            data["ratio"] <= 2.0 and not failed,
            f"`monitor_run` cold (a fresh data directory each run) in one process after Prefect's API is up: "
            f"{described('england')} against {described('west-midlands')}, with the same focus and bulletin, "
            f"so that only the areas differ. {runs} repeats after 1 warm-up, the two alternating which runs "
            f"first; the ratio is per repeat, then the median. England {runs_of('england')}; West Midlands "
            f"{runs_of('west-midlands')}. Each area set has its own replay server, in a process of its own, "
            "which keeps every body it has made (the warm-up makes them all): the emulators' work grows with "
            f"the areas and is not the monitor's. {outcome}",
        ),
        Figure(
            "scale_memory",
            TARGETS["scale_memory"][0],
            f"{mib(statistics.median(peaks['england']))} median, {mib(worst)} worst",
            TARGETS["scale_memory"][1],
            worst < 1.5 * GB,
            f"`eim run` with `EIM_AREA=england` as a whole process, {len(peaks['england'])} runs, each cold "
            "(fresh EIM_DATA_DIR and PREFECT_HOME, so Prefect's start-up is included), against the replay "
            "server above, which is outside the measured tree. The process tree's summed RSS sampled every "
            f"50 ms from /proc; the largest single process was {mib(largest)} (median). "
            f"`EIM_AREA=west-midlands`, interleaved: {mib(statistics.median(wm_peaks))} median, "
            f"{mib(max(wm_peaks))} worst. {memory_outcome}",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 runs per figure instead of 5 (development)")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 5, --quick 3)")
    parser.add_argument(
        "--flow-runs",
        type=int,
        default=None,
        help=f"repeats of the flow figures (default {FLOW_REPEATS}, --quick 3)",
    )
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated: {','.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, default=report.DOC)
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 5)
    flow_runs = args.flow_runs or (3 if args.quick else max(runs, FLOW_REPEATS))
    only = [s for s in args.only.split(",") if s]
    started = time.perf_counter()
    figures: list[Figure] = []
    notes: list[str] = []
    data_dir: Path | None = None

    if "flow" in only:
        _log(f"flow: cold / no-change / update, {flow_runs} runs + warm-up (a few minutes)")
        flow_figures, data = bench_flow(flow_runs)
        figures += flow_figures
        data_dir = Path(data["data_dir"])
    if "cli" in only:
        if data_dir is None:
            _log("cli: building a demo data directory with tests.conftest.build_demo_data_dir")
            from tests.conftest import build_demo_data_dir

            data_dir = Path(tempfile.mkdtemp(prefix="eim-bench-cli-")) / "data"
            build_demo_data_dir(data_dir)
        _log("cli: start-up of whole processes")
        figures += bench_cli(runs, data_dir)
    if "hpi" in only:
        _log("hpi: large full files")
        figures += bench_hpi(runs)
    if "memory" in only:
        _log(f"memory: {runs} cold `eim demo` runs")
        figures += bench_memory(runs)
    if "scale" in only:
        _log(f"scale: england and west-midlands, {runs} cold runs each + warm-up, {runs} `eim run`s each")
        figures += bench_scale(runs)
    not_run = [key for key in TARGETS if key not in {f.key for f in figures}]
    figures += report.carried_over(not_run, args.out)
    for key in not_run:
        if key not in {f.key for f in figures}:
            figures.append(report.missing(key, f"not run: `--only {args.only}`"))
    if runs < 5:
        notes.append(f"Development run: {runs} runs per figure (`--quick` / `--runs`), not the 5 required.")
    notes.append(
        "The flow figures time `monitor_run` calls inside one process after Prefect's API is up; "
        "ratios are per repeat (update / cold and no-change / cold of the same repeat), then the median."
    )
    command = "make bench   # = .venv/bin/python -m benchmarks" + ("" if runs == 5 else f" --runs {runs}")
    text = report.render(figures, machine(), command, [], notes, time.perf_counter() - started)
    path = report.write(text, args.out)
    _log(f"wrote {path} in {(time.perf_counter() - started) / 60:.1f} min")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
