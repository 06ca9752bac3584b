"""Everything an edition shows, assembled from its figures: the input of every renderer.

Numbers reach the page only through the ledger (`reports.bulletin.quotes`), so the JSON sidecar lists each
one with its indicator, area, period, unit, source dataset and vintage.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reports.bulletin import format as fmt
from reports.bulletin import narrative
from reports.bulletin.charts import ChartSpec, RenderedChart, render_chart
from reports.bulletin.edition import SECTIONS, AreaMeta, EditionData, IndicatorMeta
from reports.bulletin.quotes import Ledger, period_text

TITLE = "Economic Impact Monitor"
UNCERTAINTY_LINE = (
    "Estimates from surveys (the Annual Population Survey, ASHE, personal well-being) are subject to "
    "sampling error: where a confidence interval is available, a change or difference is called "
    "statistically significant only when it is larger than the 95% interval allows."
)
GLOSSARY = (
    (
        "Claimant count",
        "People claiming Jobseeker's Allowance plus Universal Credit claimants who "
        "are required to seek work; an administrative count, not a survey estimate.",
    ),
    (
        "Confidence interval",
        "The range within which the true value is expected to lie 95 times in "
        "100, given the survey's sampling error.",
    ),
    (
        "Economic inactivity",
        "People aged 16 to 64 who are neither in work nor looking for and "
        "available for work: students, carers, the long-term sick, early retirees.",
    ),
    (
        "Percentage point (pp)",
        "The difference between two percentages: a rate rising from 4.0% to "
        "4.5% rises by 0.5 percentage points.",
    ),
    (
        "Statistically significant",
        "A change or difference larger than sampling error alone would plausibly produce, at the 95% level.",
    ),
    (
        "Vintage",
        "One fetch of a dataset from its publisher; a revised figure is a new vintage, and "
        "the figure it replaced is kept.",
    ),
    (
        "WMCA 3-LEP area",
        "The 19 councils of the three former Local Enterprise Partnerships around "
        "the WMCA, each counted once (Lichfield sat in two).",
    ),
)
STATUS_LABELS = {
    "accredited": "Accredited official statistics",
    "official": "Official statistics",
    "in_development": "Official statistics in development",
}
PUBLISHER_NAMES = {
    "nomis": "ONS / Nomis",
    "ons_api": "ONS API",
    "ons_web": "ONS",
    "landregistry": "HM Land Registry",
    "govuk": "GOV.UK",
}
# What each section charts: (indicator, chart kind, which areas).
SECTION_CHARTS = {
    "labour_market": [("claimant_rate", "line", "comparators"), ("employment_rate", "bar", "bulletin")],
    "pay": [("median_pay_residence", "bar", "bulletin")],
    "business": [("enterprises_per_10000", "bar", "bulletin"), ("online_job_adverts", "line", "region")],
    "output": [("gdp_per_head", "bar", "regions")],
    "prices": [("cpi_annual_rate", "line", "uk"), ("house_price_annual_change", "line", "comparators")],
    "levelling_up": [("luf_allocation_per_head", "bar", "councils")],
}
# Indicators with a table in their section: those that exist for councils or the focus area.
TABLE_LEVELS = {"council", "combined_authority"}


@dataclass
class BuildInfo:
    """Facts about the build, kept in the edition's manifest so that a rebuild repeats them."""

    edition_number: int
    published: dt.date
    next_edition: dt.date | None
    demo: bool
    forced: bool = False
    gate_reasons: list[str] = field(default_factory=list)
    contact: str | None = None
    previous_period: str | None = None


@dataclass
class Table:
    id: str
    caption: str
    indicator: IndicatorMeta
    columns: list[str]
    rows: list[dict]  # {"area": name, "focus": bool, "cells": [str, ...]}


@dataclass
class Chart:
    number: int
    spec: ChartSpec
    rendered: RenderedChart
    source: str


@dataclass
class Section:
    id: str
    heading: str
    reading: list[str]
    charts: list[Chart]
    tables: list[Table]


@dataclass
class Content:
    title: str
    edition: EditionData
    info: BuildInfo
    main_points: list[str]
    sections: list[Section]
    levelling_up_metrics: Table | None
    funding_table: Table | None
    changes: dict[str, list[str]]
    sources: list[dict]
    glossary: tuple[tuple[str, str], ...]
    ledger: Ledger

    @property
    def period_label(self) -> str:
        return fmt.period_label(self.edition.period)

    def tables_of(self, section: Section) -> list[Table]:
        """The tables a section shows, in order: the levelling-up section leads with the mission
        metrics and the funding table."""
        extra = [self.levelling_up_metrics, self.funding_table] if section.id == "levelling_up" else []
        return [table for table in extra if table is not None] + section.tables

    def sidecar(self) -> dict:
        """The machine-readable edition: every number quoted, with its source and vintage."""
        return {
            "title": self.title,
            "edition": self.info.edition_number,
            "period": self.edition.period,
            "published": self.info.published.isoformat(),
            "next_edition": self.info.next_edition.isoformat() if self.info.next_edition else None,
            "snapshot_sha256": self.edition.snapshot_sha256,
            "demonstration_data": self.info.demo,
            "published_despite_gate": self.info.forced,
            "gate_reasons": self.info.gate_reasons,
            "area": {"code": self.edition.focus.code, "name": self.edition.focus.name},
            "main_points": self.main_points,
            "figures": self.ledger.entries(),
            "sources": self.sources,
        }


def _date_words(day: dt.date) -> str:
    return f"{day.day} {fmt.MONTHS[day.month - 1]} {day.year}"


def _table(ledger: Ledger, edition: EditionData, indicator: IndicatorMeta) -> Table | None:
    rows = []
    for area in edition.bulletin_areas:
        figure = edition.figures.get((indicator.id, area.code))
        if area.level not in indicator.levels:
            continue
        if figure is None:
            rows.append({"area": area.name, "focus": area == edition.focus, "cells": [fmt.MISSING] * 5})
            continue
        missing = figure.value is None
        rows.append(
            {
                "area": area.name,
                "focus": area.code == edition.focus.code,
                "cells": [
                    period_text(figure) if not missing else fmt.MISSING,
                    ledger.value(figure),
                    fmt.MISSING if missing else ledger.signed(figure, "change_period"),
                    fmt.MISSING if missing else ledger.signed(figure, "change_year"),
                    ledger.rank(figure) if figure.rank is not None else "",
                ],
            }
        )
    if not any(row["cells"][1] != fmt.MISSING for row in rows):
        return None
    return Table(
        id=f"table-{indicator.id.replace('_', '-')}",
        caption=f"{indicator.title}: the {edition.focus.label} area, its councils and comparators",
        indicator=indicator,
        columns=["Area", "Period", "Latest", "Change on period", "Change on year", "Rank"],
        rows=rows,
    )


def _chart_areas(edition: EditionData, which: str) -> list[AreaMeta]:
    return {
        "comparators": [edition.focus, edition.region, edition.uk],
        "bulletin": [a for a in edition.bulletin_areas if a.level not in ("country",)],
        "councils": edition.councils,
        "regions": edition.regions,
        "region": [edition.region, edition.uk],
        "uk": [edition.uk],
    }[which]


def _chart(
    edition: EditionData, number: int, indicator: IndicatorMeta, kind: str, which: str, cache: Path | None
) -> Chart | None:
    areas = _chart_areas(edition, which)
    if which != "regions":  # the 12 UK regions include Wales, Scotland and Northern Ireland
        areas = [a for a in areas if a.level in indicator.levels]
    focus = edition.region if which in ("regions", "region") else edition.focus
    if which == "uk":
        focus = edition.uk
    if kind == "line":
        rows = []
        periods = sorted({p for a in areas for p, _, _ in edition.series.get((indicator.id, a.code), [])})
        order = {p: n for n, p in enumerate(periods)}
        for area in areas:
            for p, _, value in edition.series.get((indicator.id, area.code), []):
                rows.append(
                    {"series": area.label, "x": fmt.period_label(p), "x_order": order[p], "value": value}
                )
        if not rows:
            return None
        data = pd.DataFrame(rows, columns=["series", "x", "x_order", "value"])
        latest = {a.label: edition.figure(indicator.id, a.code) for a in areas}
        first, last = fmt.period_label(periods[0]), fmt.period_label(periods[-1])
        subtitle = f"{indicator.title}, {', '.join(a.label for a in areas)}, {first} to {last}"
        title = _line_title(indicator, focus, latest, edition)
    else:
        figures = [(a, edition.figure(indicator.id, a.code)) for a in areas]
        figures = [(a, f) for a, f in figures if f is not None or a.level == "council"]
        if not any(f for _, f in figures):
            return None
        data = pd.DataFrame(
            [
                {"x": a.label, "x_order": n, "value": f.value if f else None}
                for n, (a, f) in enumerate(figures)
            ],
            columns=["x", "x_order", "value"],
        )
        shown = [f for _, f in figures if f]
        periods = sorted({f.period for f in shown})
        subtitle = f"{indicator.title}, {period_text(shown[-1]) if len(periods) == 1 else ', '.join(periods)}"
        top = max(shown, key=lambda f: f.value)
        title = f"{top.area.label} has the highest {indicator.phrase} of the areas shown"
    spec = ChartSpec(
        id=f"figure-{number}",
        kind=kind,
        title=title,
        subtitle=subtitle,
        unit=indicator.unit,
        decimals=indicator.decimals,
        data=data,
        highlight=focus.label if focus.label in set(data["series" if kind == "line" else "x"]) else None,
    )
    source = f"Source: {', '.join(_source_name(edition, d) for d in indicator.datasets)}"
    return Chart(number, spec, render_chart(spec, cache), source)


def _line_title(indicator: IndicatorMeta, focus: AreaMeta, latest: dict, edition: EditionData) -> str:
    mine, uk = latest.get(focus.label), latest.get(edition.uk.label)
    if focus.code == edition.uk.code or mine is None or uk is None:
        name = indicator.phrase[0].upper() + indicator.phrase[1:]
        return f"{name} over time"
    side = "above" if mine.value > uk.value else "below" if mine.value < uk.value else "level with"
    return f"The {focus.label}'s {indicator.phrase} is {side} the UK's"


def _source_name(edition: EditionData, dataset: str) -> str:
    source = edition.sources.get(dataset)
    publisher = PUBLISHER_NAMES.get(source.publisher, source.publisher) if source else "unknown"
    return f"{publisher} ({dataset})"


def _levelling_up_metrics(ledger: Ledger, edition: EditionData) -> Table | None:
    """The White Paper mission metrics the warehouse has: the focus area (or its region) and the UK."""
    rows = []
    for indicator_id, mission in (
        ("median_pay_residence", "Mission 1: pay"),
        ("employment_rate", "Mission 1: employment"),
        ("gdp_per_head", "Mission 1: productivity (GDP per head)"),
        ("life_satisfaction", "Mission 8: well-being"),
    ):
        figure = edition.figure(indicator_id, edition.focus.code) or edition.figure(
            indicator_id, edition.region.code
        )
        if figure is None:
            continue
        uk = figure.uk_value
        rows.append(
            {
                "area": mission,
                "focus": False,
                "cells": [
                    figure.area.label,
                    period_text(figure),
                    ledger.value(figure),
                    ledger.other(figure, "uk_value", uk) if uk is not None else fmt.MISSING,
                    {True: "yes", False: "no"}.get(figure.significant_gap_uk, "no interval"),
                ],
            }
        )
    if not rows:
        return None
    return Table(
        id="table-levelling-up-missions",
        caption="Levelling Up White Paper mission metrics against the UK",
        indicator=edition.indicators["median_pay_residence"],
        columns=["Metric", "Area", "Period", "Value", "UK", "Gap significant?"],
        rows=rows,
    )


def _funding_table(ledger: Ledger, edition: EditionData) -> Table | None:
    rows = []
    for area in edition.councils:
        money = edition.figure("luf_allocation_per_head", area.code)
        category = edition.figure("luf_priority_category", area.code)
        imd = edition.figure("imd_rank", area.code)
        if money is None and category is None and imd is None:
            continue
        rows.append(
            {
                "area": area.name,
                "focus": False,
                "cells": [
                    ledger.value(category) if category else fmt.MISSING,
                    ledger.value(imd) if imd else fmt.MISSING,
                    ledger.value(money) if money else fmt.MISSING,
                ],
            }
        )
    if not rows:
        return None
    return Table(
        id="table-levelling-up-fund",
        caption="Levelling Up Fund allocation per head against need, by council",
        indicator=edition.indicators["luf_allocation_per_head"],
        columns=[
            "Council",
            "Priority category (1 = most need)",
            "IMD 2019 rank (1 = most deprived)",
            "Allocation per head, rounds 1 to 3",
        ],
        rows=rows,
    )


def _changes(ledger: Ledger, edition: EditionData, previous: dict | None) -> dict[str, list[str]]:
    """New periods, revised figures and changed significance or ranks since the last edition."""
    changes: dict[str, list[str]] = {"new": [], "revised": [], "flipped": []}
    if previous is None:
        return changes
    before = {(f["indicator"], f["area"], f["measure"]): f for f in previous.get("figures", [])}
    for indicator in edition.indicators.values():
        figure = edition.figure(indicator.id, edition.focus.code)
        old = before.get((indicator.id, edition.focus.code, "value"))
        if figure is not None and old is not None and old["period"] != figure.period:
            changes["new"].append(
                f"{indicator.title}: now {period_text(figure)} ({ledger.value(figure)}), "
                f"last edition {old['period']} ({old['display']})."
            )
        for measure, label in (
            ("significant_year", "change on the year"),
            ("significant_gap_uk", "gap to the UK"),
        ):
            was = before.get((indicator.id, edition.focus.code, measure))
            now = getattr(figure, measure) if figure else None
            if was is not None and now is not None and was["value"] != now:
                ledger.flag(figure, measure, now, "significant" if now else "not significant")
                changes["flipped"].append(
                    f"{indicator.title}: the {label} is now {'' if now else 'not '}statistically significant."
                )
        old_rank = before.get((indicator.id, edition.focus.code, "rank"))
        if figure is not None and old_rank is not None and figure.rank != old_rank["value"]:
            changes["flipped"].append(
                f"{indicator.title}: rank {ledger.rank(figure)}, was {old_rank['display']}."
            )
    for revision in edition.revisions:
        figure = edition.figures.get((revision.indicator.id, revision.area.code))
        if figure is None:
            continue
        unit, decimals = revision.indicator.unit, revision.indicator.decimals
        old = fmt.value(revision.old_value, unit, decimals)
        new = fmt.value(revision.new_value, unit, decimals)
        ledger.revision(revision, f"{old} → {new}")
        released = f", {revision.version}" if revision.version else ""
        when = (
            revision.release_date.isoformat()
            if revision.release_date
            else revision.revised_at.date().isoformat()
        )
        changes["revised"].append(
            f"{revision.indicator.title}, {revision.area.name}, {fmt.period_label(revision.period)}: "
            f"revised from {old} to {new} (publisher's release of {when}{released})."
        )
    return changes


def _sources(edition: EditionData) -> list[dict]:
    used = []
    for indicator in edition.indicators.values():
        for dataset in indicator.datasets:
            source = edition.sources.get(dataset)
            used.append(
                {
                    "indicator": indicator.id,
                    "title": indicator.title,
                    "dataset": dataset,
                    "publisher": PUBLISHER_NAMES.get(source.publisher, source.publisher) if source else None,
                    "url": source.url if source else None,
                    "release_date": source.release_date.isoformat()
                    if source and source.release_date
                    else None,
                    "version": source.version if source else None,
                    "fetched": source.fetched_at.date().isoformat() if source else None,
                    "vintage": source.vintage_id if source else None,
                    "statistical_status": STATUS_LABELS[indicator.statistical_status],
                    "definition": indicator.definition,
                    "caveats": list(indicator.caveats),
                }
            )
    return used


def build_content(
    edition: EditionData, info: BuildInfo, previous: dict | None = None, chart_cache: Path | None = None
) -> Content:
    """Everything an edition says, from its pinned snapshot; `chart_cache` keeps drawn charts so
    that an unchanged one is not drawn again next month."""
    ledger = Ledger(edition)
    main_points = narrative.main_points(ledger, edition)
    sections, number = [], 0
    for section_id, heading in SECTIONS:
        charts = []
        for indicator_id, kind, which in SECTION_CHARTS.get(section_id, []):
            if indicator_id not in edition.indicators:
                continue
            chart = _chart(edition, number + 1, edition.indicators[indicator_id], kind, which, chart_cache)
            if chart is not None:
                number += 1
                charts.append(chart)
        tables = [
            table
            for indicator in edition.in_section(section_id)
            if set(indicator.levels) & TABLE_LEVELS
            and indicator.id not in ("luf_priority_category", "imd_rank")
            and (table := _table(ledger, edition, indicator)) is not None
        ]
        reading = narrative.section_reading(ledger, edition, section_id)
        sections.append(Section(section_id, heading, reading, charts, tables))
    return Content(
        title=f"{edition.area_set_name} {TITLE}",
        edition=edition,
        info=info,
        main_points=main_points,
        sections=sections,
        levelling_up_metrics=_levelling_up_metrics(ledger, edition),
        funding_table=_funding_table(ledger, edition),
        changes=_changes(ledger, edition, previous),
        sources=_sources(edition),
        glossary=GLOSSARY,
        ledger=ledger,
    )


def date_words(day: dt.date | None) -> str:
    return _date_words(day) if day else "not scheduled"
