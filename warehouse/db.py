"""The one place that knows where the warehouse is and how to open it.

Moving the warehouse to DuckLake or MotherDuck is a change here (and in settings), nothing else.
Writers open short-lived connections; analysts never open this file, only the published snapshot.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

MIGRATIONS = resources.files("warehouse") / "migrations"
# SQL the Python code runs, one query per file by concern (queries/<concern>/<name>.sql), so that a
# schema change is chased in the migrations, the models and these folders alone.
QUERIES = resources.files("warehouse") / "queries"
# New warehouses are written in DuckDB's v1.4 storage format, the one analysts' tools bundling DuckDB
# 1.4 or 1.5 can open: the published snapshot is then a copy of the file (`warehouse.snapshot`), not
# a rewrite of every table. A warehouse made before keeps its format until it is rebuilt.
STORAGE_VERSION = "v1.4.0"
MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


class WarehouseError(RuntimeError):
    """The warehouse cannot be used as asked; the message says why and what to do."""


def is_locked(error: duckdb.Error) -> bool:
    """True when DuckDB refused a file because another process holds it (not because it is damaged)."""
    return "lock" in str(error).lower()


def damaged(path: Path, error: duckdb.Error) -> WarehouseError:
    """A database file DuckDB cannot read (truncated, overwritten, not DuckDB): one line naming it.

    The warehouse and the analysts' snapshot are separate files, and a run replaces the snapshot only
    by a whole copy of a good warehouse, so damage to one leaves the other as it was."""
    reason = str(error).splitlines()[0].removeprefix("IO Error: ")
    return WarehouseError(
        f"{path} is damaged and cannot be read ({reason}); the other database files, the published "
        "snapshot among them, are untouched: restore this one from a backup, or move it away and "
        "run `eim run` to rebuild it from the raw archive"
    )


# A DuckDB file is three 4 KiB headers, then its blocks; DuckDB reads a block only when a query needs
# it, so a file cut short after its headers opens (and may migrate) and fails later, mid-run.
FILE_HEADERS_BYTES = 3 * 4096


def check_whole(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Raise `damaged` when the file ends before a block holding a table's saved data (a truncated
    copy), reading only the tables' storage metadata (~20 ms for the demo's warehouse)."""
    (block_size,) = con.execute(query("db/block_size")).fetchone()
    highest = -1
    for (table,) in con.execute(query("db/tables")).fetchall():
        (block,) = con.execute(query("db/highest_data_block"), [table]).fetchone()
        highest = max(highest, -1 if block is None else block)
    needed = FILE_HEADERS_BYTES + (highest + 1) * block_size
    actual = path.stat().st_size
    if actual < needed:
        reason = f"the file ends at {actual:,} bytes, its tables' data reach {needed:,}: truncated"
        raise damaged(path, duckdb.IOException(reason))


# Warehouses held open (and migrated) by this process: their short connections skip the migration
# check, a write transaction of its own on every connect.
_HELD: set[Path] = set()


@functools.cache
def query(name: str) -> str:
    """The text of `queries/<name>.sql` (e.g. "edition/figures"), read once per process."""
    return (QUERIES / f"{name}.sql").read_text(encoding="utf-8")


@contextmanager
def connect(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection with the schema migrated; closed (and checkpointed) on exit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), config={"storage_compatibility_version": STORAGE_VERSION})
    except duckdb.IOException as error:
        if is_locked(error):
            raise WarehouseError(
                f"the warehouse {path} is in use by another process (another `eim run`?); "
                "wait for it to finish and try again"
            ) from None
        raise damaged(path, error) from None
    try:
        if path not in _HELD:
            try:
                migrate(con)
            except (duckdb.SerializationException, duckdb.InternalException, duckdb.IOException) as error:
                raise damaged(path, error) from None
        yield con
    finally:
        con.close()


@contextmanager
def held_open(path: Path) -> Iterator[None]:
    """Keep the warehouse open while a run makes many short connections (its ingest loop).

    DuckDB reuses an open database for every `connect` to the same file in the process, so each
    short connection then costs about 2 ms instead of the ~20 ms of reading the catalog again; the
    checkpoint happens once, when this closes. Close it before anything attaches the file from a
    separate database (`warehouse.snapshot.publish_snapshot`).
    """
    with connect(path):
        if path in _HELD:  # held already by an enclosing call
            yield
            return
        _HELD.add(path)
        try:
            yield
        finally:
            _HELD.discard(path)


@contextmanager
def connect_read_only(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    if not path.exists():
        raise WarehouseError(f"no warehouse at {path}: run `eim run` (or `eim demo`) first")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as error:
        if is_locked(error):
            raise
        raise damaged(path, error) from None
    try:
        yield con
    finally:
        con.close()


def migration_files() -> list[tuple[int, str, str]]:
    found = []
    for entry in MIGRATIONS.iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match[1]), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet applied, in order, each in its own transaction."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migration "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migration").fetchall()}
    applied = []
    for version, name, sql in migration_files():
        if version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute(
                "INSERT INTO schema_migration VALUES (?, ?, ?)",
                [version, name, dt.datetime.now(dt.UTC)],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All of the block's writes or none; also one commit (a few ms each) instead of one per write."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list, *, verb: str = "INSERT") -> None:
    """Insert many rows with one statement: a statement per row costs milliseconds each."""
    if not rows:
        return
    placeholders = ", ".join(["(" + ", ".join(["?"] * len(rows[0])) + ")"] * len(rows))
    con.execute(f"{verb} INTO {table} VALUES {placeholders}", [value for row in rows for value in row])


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list) -> None:
    """Make `table` hold exactly `rows`, unless it holds them already: the tables every run writes
    (the areas, the indicator registry) are then left as they are instead of deleted and written
    again. Compared as values (sorted by their text, so a difference of order or of type shows as a
    difference and the table is written)."""
    held = sorted((list(row) for row in con.execute(f"FROM {table}").fetchall()), key=repr)
    if held == sorted((list(row) for row in rows), key=repr):
        return
    con.execute(f"DELETE FROM {table}")
    insert_rows(con, table, rows)


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT value FROM warehouse_meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO warehouse_meta VALUES (?, ?)", [key, value])
