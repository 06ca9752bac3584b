"""The analysts' read-only snapshot, published by write-then-rename.

The copy is written beside the target and renamed over it, so an analyst's open connection keeps
the old, complete file and never blocks the writer, and a new connection sees the new, complete one.
It is in DuckDB's v1.4 storage format so that analysts' tools bundling DuckDB 1.4 or 1.5 can open it.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import duckdb

from warehouse import db

SNAPSHOT_STORAGE_VERSION = db.STORAGE_VERSION
DATABASE_STORAGE_VERSION = db.query("snapshot/database_storage_version")
LOADED_UP_TO = db.query("snapshot/loaded_up_to")


def publish_snapshot(warehouse: Path, snapshot: Path) -> Path:
    """Copy the warehouse to `snapshot`, whole and checkpointed, then rename it into place.

    A warehouse in the snapshot's storage format is copied as a file (a few milliseconds); one in
    another format (made before warehouses were written in it) is rewritten table by table into it.
    Call it with the warehouse closed in this process (`db.held_open` ended): the run holds the
    writer lock, so nothing else writes it meanwhile.
    """
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    partial = snapshot.with_name(f".{snapshot.name}.next")
    for leftover in (partial, partial.with_name(partial.name + ".wal")):
        leftover.unlink(missing_ok=True)
    if _checkpointed_storage_version(warehouse).startswith(SNAPSHOT_STORAGE_VERSION):
        shutil.copyfile(warehouse, partial)
    else:
        _rewrite(warehouse, partial)
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, snapshot)
    return snapshot


def _checkpointed_storage_version(warehouse: Path) -> str:
    """The warehouse's storage format, once everything written is in the file itself; "" if the
    file alone is not the whole warehouse (a write-ahead log is left beside it)."""
    with db.connect(warehouse) as con:
        con.execute("FORCE CHECKPOINT")
        version = con.execute(DATABASE_STORAGE_VERSION).fetchone()[0]
    return "" if warehouse.with_name(warehouse.name + ".wal").exists() else str(version or "")


def _rewrite(warehouse: Path, partial: Path) -> None:
    con = duckdb.connect(":memory:")
    try:
        con.execute("ATTACH ? AS source (READ_ONLY)", [str(warehouse)])
        con.execute(f"ATTACH '{partial}' AS snapshot (STORAGE_VERSION '{SNAPSHOT_STORAGE_VERSION}')")
        con.execute("COPY FROM DATABASE source TO snapshot")
        con.execute("DETACH snapshot")
        con.execute("DETACH source")
    finally:
        con.close()


# The tables analysts most often want outside DuckDB: Parquet is readable by any tool and version.
PARQUET_TABLES = (
    "indicator_summary",
    "indicator_value",
    "indicator",
    "area",
    "area_member",
    "stg_observation_latest",
    "stg_observation_revision",
)


# Beside the Parquet files: the newest load of the snapshot they were exported from, so that a run
# killed between swapping in the snapshot and swapping the Parquet link is caught up by the next.
PARQUET_STAMP = "EXPORTED_FROM.txt"


def loaded_up_to(con: duckdb.DuckDBPyConnection) -> str | None:
    """The newest load a warehouse or snapshot holds: what says whether two of them agree (None: no
    load yet)."""
    (newest,) = con.execute(LOADED_UP_TO).fetchone()
    return None if newest is None else str(newest)


def parquet_current(link: Path, snapshot_loaded_up_to: str | None) -> bool:
    """True when the Parquet link points at an export of the snapshot whose newest load is given."""
    stamp = link / PARQUET_STAMP
    return stamp.exists() and stamp.read_text() == snapshot_loaded_up_to


def publish_parquet(snapshot: Path, link: Path) -> Path:
    """Export the indicator tables to a new folder, then swing the `link` symlink to it atomically.

    A reader that resolved the old link keeps reading the old, complete files; older folders are
    removed once the link has moved (open files stay readable on POSIX until closed).
    """
    target = link.with_name(f"{link.name}-{time.time_ns()}")
    target.mkdir(parents=True)
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        for table in PARQUET_TABLES:
            con.execute(f"COPY (FROM {table}) TO '{target / table}.parquet' (FORMAT parquet)")
        (target / PARQUET_STAMP).write_text(str(loaded_up_to(con)))
    finally:
        con.close()
    pointer = link.with_name(f".{link.name}.next")
    pointer.unlink(missing_ok=True)
    pointer.symlink_to(target.name)
    os.replace(pointer, link)
    for old in link.parent.glob(f"{link.name}-*"):
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return link


def publication_behind(warehouse_path: Path, snapshot_path: Path, parquet_dir: Path) -> str | None:
    """What a killed run left behind the warehouse, for the next run to finish even if nothing is
    new: "snapshot" when the analysts' snapshot is older than the warehouse's newest load (killed
    between loading and publishing), "parquet" when the Parquet exports are not of the snapshot
    (killed between swapping in the snapshot and swapping the Parquet link), else None. A
    warehouse that holds no load yet has nothing to publish: None, so a first run that fetched
    nothing publishes no empty snapshot.

    Exports of the warehouse's newest load mean the snapshot holds it too (a snapshot is replaced
    only by a copy of the warehouse, before its exports are), so the snapshot is opened only when
    they lag. The warehouse is read on a short connection, which costs little while the run holds
    it open (`warehouse.db.held_open`)."""
    with db.connect(warehouse_path) as con:
        held = loaded_up_to(con)
    if held is None:
        return None
    if not snapshot_path.exists():
        return "snapshot"
    if parquet_current(parquet_dir, held):
        return None
    with db.connect_read_only(snapshot_path) as con:
        return "snapshot" if loaded_up_to(con) != held else "parquet"
