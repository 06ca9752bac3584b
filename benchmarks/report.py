"""The figures, their targets, and docs/performance.md."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from benchmarks.common import ROOT, Figure

DOC = ROOT / "docs" / "performance.md"

# key -> (name, target). Every key has a row in docs/performance.md, measured or not.
TARGETS: dict[str, tuple[str, str]] = {
    "nochange": ("1. No-change re-run / cold run (flow duration)", "≤ 10% and 0 bodies (200s) downloaded"),
    "prefect_start": ("1b. Prefect ephemeral API start-up (first flow call − second)", "reported, no target"),
    "update": ("2. One new release / cold run (flow duration)", "≤ 40%"),
    "watch_latency": ("2b. Release watch: release-to-published latency", "reported, no target"),
    "hpi_1x": ("3a. HPI 1x (~150k rows): parse throughput / bare DuckDB read_csv", "≥ 80%"),
    "hpi_10x": ("3b. HPI 10x (~1.5M rows): parse throughput / bare DuckDB read_csv", "≥ 80%"),
    "hpi_memory": ("3c. HPI parse peak memory, 10x / 1x", "< 1.5×"),
    "cli_query": ('4a. `eim query "select 1"` / `python -c "import duckdb"` (whole processes)', "≤ 3×"),
    "cli_status": ('4b. `eim status` / `python -c "import duckdb"` (whole processes)', "≤ 3×"),
    "memory": ("5. Cold run (`eim demo`) peak resident memory, whole process tree", "< 1 GB"),
    "scale": ("6a. Every English council and combined authority / the West Midlands (flow duration)", "≤ 2×"),
    "scale_memory": (
        "6b. Every English council and combined authority: peak resident memory, process tree",
        "< 1.5 GB",
    ),
}
VERDICTS = {"met": True, "**missed**": False, "n/a": None}


def missing(key: str, why: str) -> Figure:
    name, target = TARGETS[key]
    return Figure(key, name, "not measured", target, None, why)


def carried_over(keys: list[str], path: Path = DOC) -> list[Figure]:
    """The rows of `keys` as the report at `path` has them, so that a partial run (`--only`) keeps them."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    when = next((line.split()[1] for line in lines if line.startswith("Measured ")), "an earlier run")
    figures = []
    for key in keys:
        name, target = TARGETS[key]
        row = next((line for line in lines if line.startswith(f"| {name} |")), "")
        cells = row.removeprefix("| ").removesuffix(" |").split(" | ")
        # A figure renamed or retargeted since has no row to carry: its old value answers another question.
        if len(cells) != 4 or cells[2] != target or cells[1] == "not measured":
            continue
        measured, verdict = cells[1], cells[3]
        detail = next((line for line in lines if line.startswith(f"- **{name}**: ")), "")
        detail = detail.removeprefix(f"- **{name}**: ")
        if not detail.startswith("(Carried over from "):  # carried twice: it keeps the date it was measured
            detail = f"(Carried over from {when}.) {detail}"
        figures.append(Figure(key, name, measured, target, VERDICTS[verdict], detail))
    return figures


def render(
    figures: list[Figure],
    machine: dict[str, str],
    command: str,
    details: list[str],
    notes: list[str],
    elapsed: float,
) -> str:
    by_key = {f.key: f for f in figures}
    rows = [by_key.get(key) or missing(key, "not run") for key in TARGETS]
    lines = [
        "# Performance",
        "",
        "Written by the benchmark harness (`benchmarks/`); do not edit by hand. Reproduce with:",
        "",
        "```bash",
        command,
        "```",
        "",
        f"Measured {dt.datetime.now():%Y-%m-%d %H:%M} in {elapsed / 60:.1f} minutes on: "
        + ", ".join(f"{k} {v}" for k, v in machine.items())
        + ".",
        "",
        "Every figure is the median of the runs stated below, after a warm-up, and compares two",
        "things measured in the same run (a ratio): one machine's absolute timings say little about",
        "another's.",
        "",
        "| Figure | Measured | Target | Verdict |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {f.name} | {f.measured} | {f.target} | {f.verdict} |" for f in rows]
    lines += ["", "## Details", ""]
    lines += [f"- **{f.name}**: {f.detail}" for f in rows if f.detail]
    lines += details
    if notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def write(text: str, path: Path = DOC) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
