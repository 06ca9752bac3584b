"""Read-only SQL for analysts: only reading statements, on a read-only connection to the snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.db import WarehouseError, connect_read_only

READING_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})


class QueryRefused(WarehouseError):
    """The SQL would change something, or is not SQL this command runs."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple]


def run_query(path: Path, sql: str) -> QueryResult:
    """Run one reading statement against the database at `path`, opened read-only."""
    parser = duckdb.connect(":memory:")
    try:
        statements = parser.extract_statements(sql)
    except duckdb.ParserException as error:
        raise QueryRefused(f"the SQL does not parse: {error}") from None
    finally:
        parser.close()
    if len(statements) != 1:
        raise QueryRefused(f"give exactly one statement, not {len(statements)}")
    statement = statements[0]
    if statement.type not in READING_STATEMENTS:
        raise QueryRefused(
            f"{statement.type.name} statements are refused: `eim query` only reads "
            "(SELECT, WITH ... SELECT, DESCRIBE, SHOW, EXPLAIN)"
        )
    with connect_read_only(path) as con:
        # Reading files outside the snapshot (or writing them with COPY) is not an analyst query.
        con.execute("SET enable_external_access = false")
        try:
            cursor = con.execute(sql)
        except duckdb.Error as error:
            raise WarehouseError(f"query failed: {error}") from None
        columns = [d[0] for d in cursor.description] if cursor.description else []
        return QueryResult(columns, cursor.fetchall())
