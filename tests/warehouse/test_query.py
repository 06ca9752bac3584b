"""`eim query`'s engine: reading works, anything that writes is refused, nothing changes."""

from __future__ import annotations

import hashlib

import pytest

from flows.settings import Settings
from warehouse.query import QueryRefused, run_query


def test_select_reads_the_snapshot(loaded_settings: Settings) -> None:
    result = run_query(
        loaded_settings.snapshot_path,
        "SELECT count(*) AS n FROM area_member WHERE composite_code = 'E47000007'",
    )
    assert result.columns == ["n"] and result.rows == [(7,)]


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM observation",
        "INSERT INTO area_role VALUES ('x', 'y')",
        "DROP TABLE observation",
        "UPDATE observation SET value = 0",
        "CREATE TABLE t (x INTEGER)",
        "COPY observation TO 'out.csv'",
        "ATTACH 'other.duckdb' AS other",
        "SELECT 1; DELETE FROM observation",
    ],
)
def test_writes_are_refused_and_nothing_changes(loaded_settings: Settings, sql: str) -> None:
    before = hashlib.sha256(loaded_settings.snapshot_path.read_bytes()).hexdigest()
    with pytest.raises(QueryRefused):
        run_query(loaded_settings.snapshot_path, sql)
    assert hashlib.sha256(loaded_settings.snapshot_path.read_bytes()).hexdigest() == before


def test_reading_other_files_is_refused(loaded_settings: Settings) -> None:
    with pytest.raises(Exception, match="disabled by configuration"):
        run_query(loaded_settings.snapshot_path, "SELECT * FROM read_csv('/etc/hostname')")
