"""Shared pieces of the harness: medians of repeated runs, the machine's description, process-tree memory."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Figure:
    """One line of the results table: a measured value against its target."""

    key: str
    name: str
    measured: str
    target: str
    met: bool | None  # None: informative, no target
    detail: str = ""

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**missed**", None: "n/a"}[self.met]


def median_of(fn: Callable[[], float], runs: int, warmup: int = 1) -> tuple[float, list[float]]:
    """The median of `runs` values of `fn()` after `warmup` discarded calls."""
    for _ in range(warmup):
        fn()
    values = [fn() for _ in range(runs)]
    return statistics.median(values), values


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def memory_total_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def machine() -> dict[str, str]:
    import duckdb

    try:
        from importlib.metadata import version

        prefect_version = version("prefect")
    except Exception:  # pragma: no cover - prefect is a dependency
        prefect_version = "?"
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{memory_total_gib():.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "prefect": prefect_version,
    }


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants, summed (from /proc)."""
    children = _children_map()
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/statm").read_text().split()
            total += int(fields[1]) * PAGE_SIZE
        except OSError:
            pass
        stack.extend(children.get(current, []))
    return total


class TreeMemorySampler:
    """Samples the summed RSS of a process tree every `interval` seconds; `peak` is the largest sum."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class ProcessResult:
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    tree_peak_bytes: int
    maxrss_bytes: int  # the largest single process of the tree (GNU time's "Maximum resident set size")


def run_process(
    argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None, sample: bool = False
) -> ProcessResult:
    """Run a whole process; wall time, and (with `sample`) the peak of its tree's summed RSS."""
    time_v = Path("/usr/bin/time")
    command = [str(time_v), "-f", "MAXRSS_KB=%M", *argv] if time_v.exists() else list(argv)
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if sample:
        with TreeMemorySampler(proc.pid) as sampler:
            out, err = proc.communicate()
        peak = sampler.peak
    else:
        out, err = proc.communicate()
        peak = 0
    seconds = time.perf_counter() - start
    maxrss = 0
    kept = []
    for line in err.splitlines():
        if line.startswith("MAXRSS_KB="):
            maxrss = int(line.split("=", 1)[1]) * 1024
        else:
            kept.append(line)
    return ProcessResult(seconds, proc.returncode, out, "\n".join(kept), peak, maxrss)


def base_env(**extra: str) -> dict[str, str]:
    """The current environment without EIM_ settings, quiet Prefect, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EIM_")}
    env.update(DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING")
    env.update(extra)
    return env


def mib(n: float) -> str:
    return f"{n / 1024 / 1024:,.0f} MiB"
