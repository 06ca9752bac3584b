"""Figure 3: the UK HPI full file streams. `parse` against a bare DuckDB read and pandas + DuckDB.

Each reader runs in a subprocess of its own (`python -m benchmarks.hpi_bench worker MODE PATH`), which
times its own work (after its imports) and reports its own peak resident memory (`peak_rss_bytes`).
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("parse", "duckdb", "pandas")
CACHE = Path(tempfile.gettempdir()) / "eim-bench-hpi"


def _names() -> dict[str, str]:
    from warehouse.geography import load_area_file

    return {a.code: a.name for a in load_area_file("west-midlands").areas}


def hpi_file(rows: int, today: dt.date, cache: Path = CACHE) -> Path:
    """A UK HPI full file of at least `rows` rows in the real layout, generated once and kept."""
    from sources.replay.landregistry import full_file_csv

    path = cache / f"UK-HPI-full-file-{today:%Y-%m}-{rows}.csv"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(full_file_csv(today, _names(), rows_target=rows))
        partial.rename(path)
    return path


def _spec():
    from sources.catalog import default_catalog

    return next(s for s in default_catalog().datasets.values() if s.publisher == "landregistry")


def _columns(spec) -> tuple[list[str], list[str]]:
    from sources.landregistry import _value_column

    values = [_value_column(spec, s.name, s.match) for s in spec.series]
    return ["Date", "AreaCode", "RegionName"], values


def work(mode: str, path: Path) -> int:
    """Read the file one way; returns the rows it produced."""
    import duckdb

    spec = _spec()
    text, values = _columns(spec)
    if mode == "parse":
        from sources import landregistry

        return len(landregistry.parse(spec, [path]))
    if mode == "duckdb":
        from sources.landregistry import read_header

        header = read_header(path, spec.id)
        types = ", ".join(
            f"'{c}': '{'DOUBLE' if c in values else 'VARCHAR'}'" for c in header
        )  # same explicit typing as parse()
        selected = ", ".join(f'"{c}"' for c in text + values)
        with duckdb.connect() as con:
            con.execute(
                f"CREATE TABLE hpi AS SELECT {selected} FROM read_csv('{path}', header = true, "
                f"auto_detect = false, delim = ',', quote = '\"', columns = {{{types}}})"
            )
            return con.execute("SELECT count(*) FROM hpi").fetchone()[0]
    if mode == "pandas":
        import pandas as pd

        frame = pd.read_csv(path, usecols=text + values, dtype={c: "string" for c in text})
        with duckdb.connect() as con:
            con.register("frame", frame)
            con.execute("CREATE TABLE hpi AS SELECT * FROM frame")
            return con.execute("SELECT count(*) FROM hpi").fetchone()[0]
    raise ValueError(mode)


def worker(mode: str, path: Path) -> None:
    import duckdb  # noqa: F401  (imports are not part of the timing)
    import pandas  # noqa: F401

    import sources.landregistry  # noqa: F401

    start = time.perf_counter()
    rows = work(mode, path)
    seconds = time.perf_counter() - start
    print(json.dumps({"mode": mode, "seconds": seconds, "rows": rows, "peak_bytes": peak_rss_bytes()}))


def peak_rss_bytes() -> int:
    """This process's peak resident memory. Linux keeps ru_maxrss across exec, so a worker started by
    a large parent would report the parent's size: the kernel's high-water mark of this process
    image (VmHWM) is read instead, where there is one."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kib) * 1024


def run_worker(mode: str, path: Path) -> dict:
    """One reader in a fresh subprocess: its own time and peak memory."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.hpi_bench", "worker", mode, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "worker":
        worker(sys.argv[2], Path(sys.argv[3]))
    else:
        sys.exit("usage: python -m benchmarks.hpi_bench worker MODE PATH")
