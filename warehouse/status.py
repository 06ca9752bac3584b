"""What the warehouse knows about each dataset: for `eim sources` and, later, `eim status`."""

from __future__ import annotations

import duckdb

from warehouse.db import query

DATASET_STATUS = query("status/dataset_status")


def dataset_status(con: duckdb.DuckDBPyConnection, datasets: list[str]) -> list[dict]:
    """One dict per dataset, in the order given; datasets never fetched have empty fields."""
    cursor = con.execute(DATASET_STATUS, [datasets])
    columns = [d[0] for d in cursor.description]
    by_dataset = {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}
    return [by_dataset[dataset] for dataset in datasets]
