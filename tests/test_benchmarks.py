"""The benchmark harness's pieces run on tiny inputs; docs/performance.md lists every figure and target.

The full benchmark (`make bench`) takes many minutes and is never run here.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import pytest

from benchmarks import common, hpi_bench, report
from benchmarks.common import Figure

ROOT = Path(__file__).resolve().parents[1]


def test_median_of_discards_the_warmup() -> None:
    calls = iter([100.0, 3.0, 1.0, 2.0])
    median, values = common.median_of(lambda: next(calls), runs=3, warmup=1)
    assert median == 2.0
    assert values == [3.0, 1.0, 2.0]


def test_machine_description() -> None:
    described = common.machine()
    assert described["cores"] == str(os.cpu_count())
    assert described["memory"].endswith("GiB")
    assert {"python", "duckdb", "prefect"} <= set(described)


def test_process_tree_memory_and_timing() -> None:
    assert common.tree_rss_bytes(os.getpid()) > 10 * 1024 * 1024
    result = common.run_process([sys.executable, "-c", "x = bytearray(50_000_000)"], sample=True)
    assert result.returncode == 0
    assert result.seconds > 0
    assert result.tree_peak_bytes > 0 or result.maxrss_bytes > 0


@pytest.fixture(scope="module")
def tiny_hpi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's own small full file (recent months, few areas), not the benchmark's large one."""
    from sources.replay.landregistry import full_file_csv

    path = tmp_path_factory.mktemp("hpi") / "UK-HPI-full-file.csv"
    path.write_bytes(full_file_csv(dt.date(2026, 11, 27), {"E08000025": "Birmingham"}))
    return path


@pytest.mark.parametrize("mode", hpi_bench.MODES)
def test_hpi_readers_run_on_a_tiny_file(tiny_hpi: Path, mode: str) -> None:
    assert hpi_bench.work(mode, tiny_hpi) > 0


def test_hpi_worker_reports_time_rows_and_peak(tiny_hpi: Path) -> None:
    result = hpi_bench.run_worker("duckdb", tiny_hpi)
    assert result["rows"] > 0 and result["seconds"] > 0 and result["peak_bytes"] > 0


def test_render_lists_every_figure_with_its_target() -> None:
    figures = [Figure("nochange", report.TARGETS["nochange"][0], "5.0%", report.TARGETS["nochange"][1], True)]
    text = report.render(figures, common.machine(), "make bench", [], [], 1.0)
    for name, target in report.TARGETS.values():
        assert name in text and target in text
    assert "not measured" in text  # figures not run still have their row


def test_performance_doc_lists_every_figure_with_its_target() -> None:
    doc = (ROOT / "docs" / "performance.md").read_text()
    for name, target in report.TARGETS.values():
        row = next((line for line in doc.splitlines() if line.startswith(f"| {name} |")), None)
        assert row is not None, f"docs/performance.md has no row for {name}"
        assert f"| {target} |" in row
    assert "make bench" in doc
    for described in ("cores", "memory", "python", "duckdb", "prefect"):
        assert described in doc


def test_a_partial_run_carries_over_the_figures_it_did_not_measure(tmp_path: Path) -> None:
    name, target = report.TARGETS["memory"]
    previous = report.render(
        [Figure("memory", name, "800 MiB median", target, True, "Five runs.")], {}, "make bench", [], [], 60.0
    )
    doc = tmp_path / "performance.md"
    doc.write_text(previous)
    carried = {f.key: f for f in report.carried_over(["memory", "nochange"], doc)}
    assert set(carried) == {"memory"}  # `nochange` was not measured: nothing to carry
    assert carried["memory"].measured == "800 MiB median" and carried["memory"].met is True
    detail = carried["memory"].detail
    assert detail.startswith("(Carried over from ") and detail.endswith("Five runs.")
    # Carried again, it keeps the date it was measured rather than the later report's.
    doc.write_text(report.render(list(carried.values()), {}, "make bench", [], [], 1.0))
    again = report.carried_over(["memory"], doc)[0]
    assert again.detail == detail
    doc.write_text(previous.replace(f"| {target} |", "| < 2 GB |"))
    # Retargeted since: the old value answers another question.
    assert report.carried_over(["memory"], doc) == []


def test_scale_replay_server_makes_each_body_once() -> None:
    from benchmarks.scale_bench import CachingReplayServer

    with CachingReplayServer(names={"E08000025": "Birmingham"}, today=dt.date(2026, 11, 27)) as server:
        query = {"geography": "E08000025", "time": "latest"}
        first = server.route("/api/v01/dataset/NM_162_1.data.csv", query)
        assert first.status == 200
        assert server.route("/api/v01/dataset/NM_162_1.data.csv", dict(query)) is first


def test_scale_replay_process_serves_its_area_set() -> None:
    import httpx

    from benchmarks.scale_bench import replay_process

    with replay_process("west-midlands") as urls:
        response = httpx.get(
            urls["nomis"] + "/api/v01/dataset/NM_162_1.data.csv",
            params={"geography": "E47000007", "time": "latest"},
        )
        assert response.status_code == 200 and "E47000007" in response.text


def test_a_worker_reports_its_own_peak_not_its_parent_s(tiny_hpi: Path) -> None:
    ballast = bytearray(600_000_000)  # a parent far larger than the worker (~150 MiB)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touched, so resident
    result = hpi_bench.run_worker("duckdb", tiny_hpi)
    assert result["peak_bytes"] < len(ballast) / 2
