"""An edition's figures, read from its pinned snapshot (read only).

Everything the bulletin says comes from here: the registry, the areas, each indicator's latest
figure and comparisons for every area the edition shows (as they stood at the edition's month),
the series behind the charts, each dataset's vintage, and the revisions since the last edition.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from warehouse.db import WarehouseError, query
from warehouse.levelling_up import LevellingUpFunding, funding_against_need

SECTIONS = (
    ("labour_market", "Labour market"),
    ("pay", "Pay"),
    ("business", "Business and jobs"),
    ("output", "Output"),
    ("prices", "Prices and housing"),
    ("levelling_up", "Levelling Up"),
)
# The indicator whose latest month names an edition: the monthly labour-market release.
EDITION_INDICATOR = "claimant_count"
CHART_START = dt.date(2020, 1, 1)


@dataclass(frozen=True)
class IndicatorMeta:
    id: str
    title: str
    phrase: str
    section: str
    core: bool
    unit: str
    polarity: str
    decimals: int
    cadence: str
    dataset: str | None
    series: str | None
    aggregation: str
    statistical_status: str
    levels: tuple[str, ...]
    definition: str
    caveats: tuple[str, ...]
    numerator_dataset: str | None
    denominator_dataset: str | None
    source_names: tuple[str, ...]  # the publisher's name of each of `datasets`
    survey: bool
    ranked: bool
    year_starts: int
    years: int  # how many years one period spans (3: a three-year pool)
    mission: int | None  # the Levelling Up mission it measures

    @property
    def datasets(self) -> tuple[str, ...]:
        found = (self.dataset, self.numerator_dataset, self.denominator_dataset)
        return tuple(dict.fromkeys(d for d in found if d))

    @property
    def source_name(self) -> str:
        """How the bulletin cites it: 'Claimant Count, ONS/DWP via Nomis; mid-year ...'."""
        return "; ".join(self.source_names)


@dataclass(frozen=True)
class AreaMeta:
    code: str
    name: str
    label: str
    level: str


@dataclass(frozen=True)
class Figure:
    """One indicator for one area at its latest period in the edition, with its comparisons."""

    indicator: IndicatorMeta
    area: AreaMeta
    period: str
    value: float | None
    lower: float | None
    upper: float | None
    previous_period: str | None
    previous_value: float | None
    change_period: float | None
    change_period_pct: float | None
    year_ago_period: str | None
    change_year: float | None
    change_year_pct: float | None
    change_since_feb2020: float | None
    england_value: float | None
    uk_value: float | None
    gap_england: float | None
    gap_uk: float | None
    significant_year: bool | None
    significant_gap_uk: bool | None
    basis: str
    vintages: str


@dataclass(frozen=True)
class SeriesPoint:
    """One period of an indicator for one area, with its 95% interval where published."""

    period: str
    period_date: dt.date
    value: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class SeriesProducer:
    """Who produced a series the publisher republishes (ELS: "Office for National Statistics",
    several joined by "|"), its page, and whether the publisher calls it experimental."""

    organisation: str | None
    url: str | None
    experimental: bool


@dataclass(frozen=True)
class SourceVintage:
    dataset: str
    publisher: str
    vintage_id: str
    fetched_at: dt.datetime
    release_date: dt.date | None
    version: str | None
    url: str
    newest_period_date: dt.date | None


@dataclass(frozen=True)
class Revision:
    indicator: IndicatorMeta
    area: AreaMeta
    period: str
    old_value: float | None
    new_value: float | None
    revised_at: dt.datetime
    release_date: dt.date | None
    version: str | None


@dataclass
class EditionData:
    period: str
    snapshot_sha256: str
    area_set_name: str
    focus: AreaMeta
    region: AreaMeta
    england: AreaMeta
    uk: AreaMeta
    bulletin_areas: list[AreaMeta]
    regions: list[AreaMeta]
    combined_authorities: list[AreaMeta]
    members: dict[str, tuple[str, ...]]
    indicators: dict[str, IndicatorMeta]
    figures: dict[tuple[str, str], Figure]
    series: dict[tuple[str, str], list[tuple[str, dt.date, float | None]]]
    sources: dict[str, SourceVintage]
    revisions: list[Revision] = field(default_factory=list)
    # The mission indicators' whole series for the focus area, region, England and the UK.
    mission_series: dict[tuple[str, str], list[SeriesPoint]] = field(default_factory=dict)
    # Levelling Up Fund per head by priority category, for England's councils and the focus area's.
    funding: LevellingUpFunding | None = None
    # What the publisher says of a series, by (dataset, series), where it says anything (ELS).
    producers: dict[tuple[str, str], SeriesProducer] = field(default_factory=dict)

    def figure(self, indicator: str, area: str) -> Figure | None:
        figure = self.figures.get((indicator, area))
        return figure if figure is not None and figure.value is not None else None

    def in_section(self, section: str) -> list[IndicatorMeta]:
        return [i for i in self.indicators.values() if i.section == section]

    @property
    def councils(self) -> list[AreaMeta]:
        return [a for a in self.bulletin_areas if a.code in self.members.get(self.focus.code, ())]


REGISTRY = query("edition/registry")
MISSION_SERIES = query("edition/mission_series")
SERIES_METADATA = query("edition/series_metadata")
FIGURES = query("edition/figures")
SERIES = query("edition/series")
SOURCES = query("edition/sources")
REVISIONS = query("edition/revisions")
LATEST_PERIOD = query("edition/latest_period")
NEWEST_PERIOD_DATE = query("edition/newest_period_date")
AREAS = query("edition/areas")
AREA_ROLES = query("edition/area_roles")
AREA_SETS = query("edition/area_sets")
AREA_MEMBERS = query("edition/area_members")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def latest_edition_period(con: duckdb.DuckDBPyConnection) -> str:
    """The newest month of the edition indicator for the focus area: the edition to build."""
    row = con.execute(LATEST_PERIOD, [EDITION_INDICATOR]).fetchone()
    if row is None or row[0] is None:
        raise WarehouseError(
            "the snapshot holds no claimant count for the focus area yet: run `eim ingest` first"
        )
    return row[0]


def _figures_query(con: duckdb.DuckDBPyConnection, as_of: dt.date, shown: list[str]) -> tuple[str, list]:
    """FIGURES from the summary as it stood at `as_of`; that is the summary table itself when the
    snapshot holds no period after `as_of` (the newest edition's case), which saves the macro's
    ranks and comparisons over every value (~50 ms of each edition)."""
    (newest,) = con.execute(NEWEST_PERIOD_DATE).fetchone()
    if newest is None or newest <= as_of:
        return FIGURES.format(summary="indicator_summary"), [shown]
    return FIGURES.format(summary="indicator_summary_as_of(?)"), [as_of, shown]


def _none_if_nan(value: object) -> object:
    return None if isinstance(value, float) and math.isnan(value) else value


def read_edition(
    con: duckdb.DuckDBPyConnection,
    period: str,
    *,
    snapshot_sha256: str,
    revisions_since: dt.datetime | None,
) -> EditionData:
    """Every figure of the edition for `period` (YYYY-MM), as it stood at that month, from the
    snapshot `con` reads (whose file's digest is `snapshot_sha256`)."""
    try:
        as_of = dt.date.fromisoformat(period + "-01")
    except ValueError:
        raise WarehouseError(f"invalid edition period {period!r}: expected YYYY-MM") from None
    section_ids = [s for s, _ in SECTIONS]
    areas = {
        code: AreaMeta(code, name, short, level) for code, name, short, level in con.execute(AREAS).fetchall()
    }
    roles = dict(con.execute(AREA_ROLES).fetchall())
    sets: dict[str, list[str]] = {}
    for set_name, code in con.execute(AREA_SETS).fetchall():
        sets.setdefault(set_name, []).append(code)
    members: dict[str, tuple[str, ...]] = {}
    for composite, member in con.execute(AREA_MEMBERS).fetchall():
        members[composite] = (*members.get(composite, ()), member)
    indicators = {}
    for row in con.execute(REGISTRY, [section_ids]).fetchall():
        # The registry query's columns are IndicatorMeta's fields in order; lists become tuples.
        meta = IndicatorMeta(*(tuple(v) if isinstance(v, list) else v for v in row))
        indicators[meta.id] = meta
    shown = list(
        dict.fromkeys(
            sets.get("bulletin", []) + sets.get("regions", []) + sets.get("combined_authorities", [])
        )
    )
    figures = {}
    for row in con.execute(*_figures_query(con, as_of, shown)).fetchall():
        indicator, area = indicators[row[0]], areas[row[1]]
        figures[(indicator.id, area.code)] = Figure(indicator, area, *map(_none_if_nan, row[2:]))
    series: dict[tuple[str, str], list[tuple[str, dt.date, float | None]]] = {}
    for indicator, area, p, period_date, value in con.execute(SERIES, [shown, CHART_START, as_of]).fetchall():
        series.setdefault((indicator, area), []).append((p, period_date, value))
    comparators = [roles[role] for role in ("focus", "region", "england", "uk") if roles.get(role)]
    mission_series: dict[tuple[str, str], list[SeriesPoint]] = {}
    for indicator, area, *point in con.execute(MISSION_SERIES, [comparators, as_of]).fetchall():
        mission_series.setdefault((indicator, area), []).append(SeriesPoint(*map(_none_if_nan, point)))
    sources = {row[0]: SourceVintage(*row) for row in con.execute(SOURCES).fetchall()}
    revisions = []
    if revisions_since is not None:
        for indicator, area, p, old, new, revised_at, release, version in con.execute(
            REVISIONS, [sets.get("bulletin", []), revisions_since, section_ids]
        ).fetchall():
            revisions.append(
                Revision(indicators[indicator], areas[area], p, old, new, revised_at, release, version)
            )
    if roles.get("focus") is None:
        raise WarehouseError("the snapshot has no focus area: run `eim ingest` first")
    return EditionData(
        period=period,
        snapshot_sha256=snapshot_sha256,
        area_set_name=_area_set_name(areas[roles["focus"]]),
        focus=areas[roles["focus"]],
        region=areas[roles["region"]],
        england=areas[roles["england"]],
        uk=areas[roles["uk"]],
        bulletin_areas=[areas[c] for c in sets.get("bulletin", [])],
        regions=[areas[c] for c in sets.get("regions", [])],
        combined_authorities=[areas[c] for c in sets.get("combined_authorities", [])],
        members=members,
        indicators=indicators,
        figures=figures,
        series=series,
        mission_series=mission_series,
        funding=funding_against_need(con),
        producers={
            (dataset, series): SeriesProducer(org, url, experimental)
            for dataset, series, org, url, experimental in con.execute(SERIES_METADATA).fetchall()
        },
        sources=sources,
        revisions=revisions,
    )


def _area_set_name(focus: AreaMeta) -> str:
    """'West Midlands Combined Authority' -> 'West Midlands': the name on the masthead."""
    return focus.name.removesuffix(" Combined Authority").removesuffix(" Mayoral")
