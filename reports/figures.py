"""Read the figures an edition quotes from the published snapshot (read only)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from warehouse.db import WarehouseError, connect_read_only

HEADLINE_INDICATORS = ("claimant_count", "claimant_rate")


@dataclass(frozen=True)
class Figure:
    indicator_id: str
    title: str
    unit: str
    decimals: int
    polarity: str
    area_code: str
    area_name: str
    area_label: str
    level: str
    period: str
    value: float | None
    change_period: float | None
    change_period_pct: float | None
    change_year: float | None
    change_year_pct: float | None
    gap_uk: float | None
    uk_value: float | None
    basis: str


@dataclass(frozen=True)
class EditionFigures:
    period: str
    focus_code: str
    figures: list[Figure]

    def get(self, indicator_id: str, area_code: str) -> Figure | None:
        for figure in self.figures:
            if figure.indicator_id == indicator_id and figure.area_code == area_code:
                return figure
        return None

    def for_indicator(self, indicator_id: str) -> list[Figure]:
        return [f for f in self.figures if f.indicator_id == indicator_id]


QUERY = """
SELECT s.indicator_id, i.title, i.unit, i.decimals, i.polarity,
       a.code, a.name, a.short_name, a.level, s.period, s.value,
       s.change_period, s.change_period_pct, s.change_year, s.change_year_pct,
       s.gap_uk, s.uk_value, s.basis
FROM indicator_summary s
JOIN indicator i USING (indicator_id)
JOIN area a ON a.code = s.geography_code
JOIN area_set b ON b.code = a.code AND b.set_name = 'bulletin'
WHERE s.indicator_id IN ? AND s.period = ?
ORDER BY i.indicator_id, b.sort_order
"""


def read_edition_figures(snapshot: Path) -> EditionFigures:
    with connect_read_only(snapshot) as con:
        focus = con.execute("SELECT code FROM area_role WHERE role = 'focus'").fetchone()
        if focus is None:
            raise WarehouseError("the snapshot has no focus area: run `eim run` first")
        latest = con.execute(
            "SELECT max(period) FROM indicator_summary "
            "WHERE indicator_id = 'claimant_count' AND geography_code = ?",
            [focus[0]],
        ).fetchone()[0]
        if latest is None:
            raise WarehouseError("the snapshot holds no claimant count for the focus area yet")
        rows = con.execute(QUERY, [list(HEADLINE_INDICATORS), latest]).fetchall()
    return EditionFigures(latest, focus[0], [Figure(*row) for row in rows])
