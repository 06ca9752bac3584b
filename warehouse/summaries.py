"""Indicator summaries for one area, as analysts and `eim indicators` read them from the snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.db import WarehouseError, connect_read_only, query

AREA_SUMMARY = query("summaries/area_summary")
SECTION_ORDER = query("summaries/section_order")
FOCUS_AREA = query("summaries/focus_area")
AREA_EXISTS = query("summaries/area_exists")
AREA_LEVEL = query("summaries/area_level")
AREA_ROLES = query("summaries/area_roles")
AREA_SHORT_NAMES = query("summaries/area_short_names")
SECTIONS = ["labour_market", "pay", "business", "output", "prices", "levelling_up"]
# An indicator not published for an area is shown for the smallest area around it that has it
# (CPI for the UK, GDP per head for the region), marked by `value_area`, never passed off as its own.
WIDER_AREAS = {
    "council": ("region", "uk"),
    "combined_authority": ("region", "uk"),
    "lep_area": ("region", "uk"),
    "region": ("uk",),
    "country": ("uk",),
}


@dataclass(frozen=True)
class AreaIndicators:
    """What `eim indicators` shows for an area: its records, and how a table names the areas."""

    records: list[dict]
    names: dict[str, str]  # every area's short name (else its name), by code
    wider: dict[str, str]  # the region's and the UK's code -> "region", "UK"


def area_indicators(snapshot: Path, area: str | None = None) -> AreaIndicators:
    """Every indicator's latest figure and comparisons for `area` (default: the focus area), with the
    area names and roles a table needs, read in one opening of the snapshot."""
    with connect_read_only(snapshot) as con:
        records = _records(con, area)
        names = dict(con.execute(AREA_SHORT_NAMES).fetchall())
        roles = con.execute(AREA_ROLES).fetchall()
    wider = {code: "UK" if role == "uk" else role for role, code in roles if role in ("region", "uk")}
    return AreaIndicators(records, names, wider)


def _records(con: duckdb.DuckDBPyConnection, area: str | None) -> list[dict]:
    if area is None:
        focus = con.execute(FOCUS_AREA).fetchone()
        if focus is None:
            raise WarehouseError("the snapshot has no focus area yet: run `eim run` first")
        area = focus[0]
    elif not con.execute(AREA_EXISTS, [area]).fetchone():
        raise WarehouseError(f'unknown area {area!r}: `eim query "SELECT code, name FROM area"` lists them')
    level = con.execute(AREA_LEVEL, [area]).fetchone()[0]
    roles = dict(con.execute(AREA_ROLES).fetchall())
    by_area = {}
    for code in [area, *(roles[role] for role in WIDER_AREAS.get(level, ()) if role in roles)]:
        cursor = con.execute(AREA_SUMMARY, [code])
        columns = [d[0] for d in cursor.description]
        by_area[code] = {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}
    records = []
    for (indicator,) in con.execute(SECTION_ORDER, [SECTIONS]).fetchall():
        found = next((by_area[code][indicator] for code in by_area if indicator in by_area[code]), None)
        if found is not None:
            records.append({**found, "area": area, "value_area": found["area"]})
    return records
