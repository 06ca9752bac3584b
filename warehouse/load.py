"""Loading a fetched vintage: provenance, then only the values that are new or revised.

Loads are idempotent: a vintage is identified by the sha256 of its bodies, so loading the same
bodies twice changes nothing, and a value equal to the one already held is not stored again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from warehouse import db
from warehouse.db import query

VINTAGE_EXISTS = query("load/vintage_exists")
FETCH_HISTORY = query("load/fetch_history")
VINTAGE_IDS = query("load/vintage_ids")
INSERT_VINTAGE = query("load/insert_vintage")
INSERT_NEW_OBSERVATIONS = query("load/insert_new_observations").format(
    latest_for_dataset=query("load/latest_for_dataset")
)
SET_ROWS_NEW = query("load/set_rows_new")
INSERT_DATASET_RUN = query("load/insert_dataset_run")


@dataclass(frozen=True)
class LoadResult:
    dataset: str
    vintage_id: str
    rows_received: int
    rows_new: int
    unchanged: bool


def vintage_id_for(dataset: str, page_sha256s: Sequence[str]) -> str:
    return hashlib.sha256(f"{dataset}:{','.join(page_sha256s)}".encode()).hexdigest()


def vintage_exists(con: duckdb.DuckDBPyConnection, vintage_id: str) -> bool:
    return bool(con.execute(VINTAGE_EXISTS, [vintage_id]).fetchone())


@dataclass(frozen=True)
class FetchHistory:
    """What a run needs of earlier fetches, read once for every dataset: the newest good (200)
    fetch record of each dataset's requests, whose validators go with the next request (with
    `confirmed_at`, when a fetch last brought or confirmed that body), the vintages held (a fetch
    that brings exactly one of them brought nothing new), and each dataset's newest vintage with
    the bodies it was loaded from."""

    records: dict[str, dict[str, dict]]  # dataset -> request key -> record
    vintages: frozenset[str]
    newest: dict[str, tuple[str, frozenset[str]]]  # dataset -> (vintage id, sha256 of its bodies)

    def last_records(self, dataset: str) -> dict[str, dict]:
        return self.records.get(dataset, {})

    def vintage_confirmed(self, dataset: str, page_sha256s: Sequence[str]) -> str | None:
        """`confirmed_vintage` by what was read of the warehouse at the start of the run."""
        return confirmed_vintage(dataset, page_sha256s, self.vintages.__contains__, self.newest.get(dataset))


def confirmed_vintage(
    dataset: str,
    page_sha256s: Sequence[str],
    held: Callable[[str], bool],
    newest: tuple[str, frozenset[str]] | None,
) -> str | None:
    """The loaded vintage a fetch brought again; None when it brought something new.

    That is the vintage of exactly these bodies (`held` says whether a vintage id is loaded) or the
    dataset's newest vintage (its id and its bodies' sha256) when that was loaded from every one of
    them: the first fetch of a recent window after a full fetch brings the full vintage's newest
    part, whose values are all held already (merge), so loading it would add a vintage and no value."""
    own = vintage_id_for(dataset, page_sha256s)
    if held(own):
        return own
    if newest is not None and set(page_sha256s) <= newest[1]:
        return newest[0]
    return None


NEWEST_VINTAGES = query("load/newest_vintages")


def newest_vintages(
    con: duckdb.DuckDBPyConnection, dataset: str | None = None
) -> dict[str, tuple[str, frozenset[str]]]:
    """Each dataset's (or one dataset's) newest vintage: its id and the sha256 of its bodies."""
    rows = con.execute(NEWEST_VINTAGES, {"dataset": dataset}).fetchall()
    return {d: (vintage_id, frozenset(shas)) for d, vintage_id, shas in rows}


def fetch_history(con: duckdb.DuckDBPyConnection) -> FetchHistory:
    rows = con.execute(FETCH_HISTORY).fetchall()
    keys = ("request_key", "etag", "last_modified", "sha256", "raw_path", "confirmed_at")
    records: dict[str, dict[str, dict]] = {}
    for dataset, *fields in rows:
        records.setdefault(dataset, {})[fields[0]] = dict(zip(keys, fields, strict=True))
    vintages = frozenset(vintage for (vintage,) in con.execute(VINTAGE_IDS).fetchall())
    return FetchHistory(records, vintages, newest_vintages(con))


def _fetch_rows(vintage_id: str, records: Sequence[dict]) -> list[list]:
    return [
        [
            r["publisher"],
            r["dataset"],
            vintage_id,
            r["page"],
            r["url"],
            json.dumps(r["params"], sort_keys=True),
            r["request_key"],
            r["status"],
            r.get("etag"),
            r.get("last_modified"),
            r.get("content_type"),
            r["bytes"],
            r["sha256"],
            r["raw_path"],
            r["fetched_at"],
        ]
        for r in records
    ]


def record_unchanged(
    con: duckdb.DuckDBPyConnection, fetches: Mapping[str, tuple[str, Sequence[dict]]]
) -> list[LoadResult]:
    """Nothing new upstream for these datasets (dataset -> the loaded vintage their fetch brought
    again, and the fetch's records): keep the provenance of each fetch (304s included) and load
    nothing. One statement for them all: a no-change run confirms every dataset, and a statement
    each cost more than the check itself."""
    results, rows = [], []
    for dataset, (vintage_id, records) in fetches.items():
        if not vintage_exists(con, vintage_id):
            raise ValueError(f"{dataset}: vintage {vintage_id[:12]} was never loaded")
        rows += _fetch_rows(vintage_id, records)
        results.append(LoadResult(dataset, vintage_id, 0, 0, unchanged=True))
    db.insert_rows(con, "fetch_log", rows, verb="INSERT OR IGNORE")
    return results


def load_vintage(
    con: duckdb.DuckDBPyConnection,
    *,
    dataset: str,
    publisher: str,
    fetch_records: Sequence[dict],
    observations: pd.DataFrame,
    release_date: dt.date | None = None,
    version: str | None = None,
    series_metadata: Sequence[dict] = (),
) -> LoadResult:
    """Store one vintage in a single transaction: all of it, or nothing. `series_metadata`: what
    the publisher says of each series in this vintage (`series_metadata` table columns but the
    vintage id), where it says anything."""
    vintage_id = vintage_id_for(dataset, [r["sha256"] for r in fetch_records])
    if set(observations["dataset"].unique()) - {dataset}:
        raise ValueError(f"observations for {dataset} contain rows of another dataset")
    con.execute("BEGIN TRANSACTION")
    try:
        held = confirmed_vintage(
            dataset,
            [r["sha256"] for r in fetch_records],
            lambda v: vintage_exists(con, v),
            newest_vintages(con, dataset).get(dataset),
        )
        if held is not None:
            [result] = record_unchanged(con, {dataset: (held, fetch_records)})
            con.execute("COMMIT")
            return result
        fetched_at = max(r["fetched_at"] for r in fetch_records)
        con.execute(
            INSERT_VINTAGE,
            [
                vintage_id,
                dataset,
                publisher,
                fetched_at,
                dt.datetime.now(dt.UTC),
                release_date,
                version,
                len(fetch_records),
                len(observations),
            ],
        )
        db.insert_rows(con, "fetch_log", _fetch_rows(vintage_id, fetch_records), verb="INSERT OR IGNORE")
        con.register("staged_observation", observations)
        try:
            rows_new = con.execute(
                INSERT_NEW_OBSERVATIONS, {"dataset": dataset, "vintage_id": vintage_id}
            ).fetchone()[0]
        finally:
            con.unregister("staged_observation")
        con.execute(SET_ROWS_NEW, [rows_new, vintage_id])
        db.insert_rows(
            con, "series_metadata", [_metadata_row(vintage_id, dataset, m) for m in series_metadata]
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return LoadResult(dataset, vintage_id, len(observations), rows_new, unchanged=False)


SERIES_METADATA_COLUMNS = (
    "series",
    "label",
    "subtitle",
    "decimal_places",
    "source_org",
    "source_url",
    "source_date",
    "caveats",
    "experimental",
)


def _metadata_row(vintage_id: str, dataset: str, described: dict) -> list:
    return [vintage_id, dataset, *(described.get(column) for column in SERIES_METADATA_COLUMNS)]


def record_run(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    outcome: str,
    *,
    vintage_id: str | None = None,
    rows_new: int | None = None,
    error: str | None = None,
) -> None:
    con.execute(INSERT_DATASET_RUN, [dataset, dt.datetime.now(dt.UTC), outcome, vintage_id, rows_new, error])


def record_unchanged_runs(con: duckdb.DuckDBPyConnection, results: Sequence[LoadResult]) -> None:
    """`record_run` of "unchanged" for each of `results`, in one statement."""
    now = dt.datetime.now(dt.UTC)
    rows = [[r.dataset, now, "unchanged", r.vintage_id, r.rows_new, None] for r in results]
    db.insert_rows(con, "dataset_run", rows)
