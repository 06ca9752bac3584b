"""Parquet exports of the indicator tables: complete, readable without DuckDB's file format, swapped whole."""

from __future__ import annotations

import os

import pandas as pd

from flows import steps
from flows.settings import Settings
from tests.conftest import publish
from warehouse.query import run_query
from warehouse.snapshot import PARQUET_TABLES, publication_behind


def behind(settings: Settings) -> str | None:
    return publication_behind(settings.warehouse_path, settings.snapshot_path, settings.parquet_dir)


def test_every_indicator_table_is_exported_with_every_row(loaded_settings: Settings) -> None:
    folder = loaded_settings.parquet_dir
    assert folder.is_symlink()
    for table in PARQUET_TABLES:
        frame = pd.read_parquet(folder / f"{table}.parquet")
        (count,) = run_query(loaded_settings.snapshot_path, f"SELECT count(*) FROM {table}").rows[0]
        assert len(frame) == count, table
    summary = pd.read_parquet(folder / "indicator_summary.parquet")
    wmca = summary[(summary.indicator_id == "claimant_count") & (summary.geography_code == "E47000007")]
    assert wmca.value.tolist() == [119_000]


def test_a_reader_of_the_old_export_keeps_complete_files(loaded_settings: Settings) -> None:
    old = os.path.realpath(loaded_settings.parquet_dir)
    held = open(os.path.join(old, "indicator_value.parquet"), "rb")  # noqa: SIM115 - held on purpose
    try:
        publish(loaded_settings)
        new = os.path.realpath(loaded_settings.parquet_dir)
        assert new != old
        assert len(held.read()) > 0, "an analyst's open file stays readable after the swap"
    finally:
        held.close()
    assert not os.path.exists(old), "older exports are removed once the link has moved"
    assert sorted(p.name for p in loaded_settings.parquet_dir.parent.glob("parquet*")) == [
        "parquet",
        os.path.basename(new),
    ]


def test_an_export_of_an_older_snapshot_is_caught_up(loaded_settings: Settings) -> None:
    """A run killed between loading and publishing, then between swapping in the snapshot and
    swapping the Parquet link: each time the next run knows what is left to do."""
    import duckdb

    from warehouse.snapshot import publish_snapshot

    assert behind(loaded_settings) is None
    con = duckdb.connect(str(loaded_settings.warehouse_path))
    try:  # a later load, then only the snapshot published
        con.execute("UPDATE vintage SET loaded_at = loaded_at + INTERVAL 1 DAY WHERE dataset = 'population'")
    finally:
        con.close()
    assert behind(loaded_settings) == "snapshot"
    publish_snapshot(loaded_settings.warehouse_path, loaded_settings.snapshot_path)
    assert behind(loaded_settings) == "parquet"

    steps.export_parquet(loaded_settings)

    assert behind(loaded_settings) is None
