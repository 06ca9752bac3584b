"""Everything an edition shows, assembled from its figures: the input of every renderer.

Numbers reach the page only through the ledger (`reports.bulletin.quotes`), so the JSON sidecar lists each
one with its indicator, area, period, unit, source dataset and vintage.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from reports.bulletin import compare, narrative, scorecard
from reports.bulletin import format as fmt
from reports.bulletin.charts import MAX_COLOURS, NARROW_WIDTH_PX, ChartSpec, RenderedChart, render_chart
from reports.bulletin.edition import SECTIONS, AreaMeta, EditionData, Figure, IndicatorMeta
from reports.bulletin.quotes import Ledger

TITLE = "Economic Impact Monitor"
# The edition's "Strengths and limitations", one paragraph each.
STRENGTHS_AND_LIMITATIONS = (
    "Estimates from surveys (the Annual Population Survey, ASHE, personal well-being) are subject to "
    "sampling error: where a confidence interval is available, a change or difference is called "
    "statistically significant only when it is larger than the 95% interval allows.",
    "PAYE Real Time Information is the earliest evidence here: its newest month is a flash estimate, "
    "revised at the next release as late payroll returns arrive, and the revision is listed under what "
    "changed in the next edition. The Annual Population Survey rates and the quarterly business "
    "births and deaths are official statistics in development; recent quarters are revised.",
    "Figures for combined authorities and the 3-LEP area are computed by this monitor from their "
    "councils' numerators and denominators; medians and index-based averages are shown only where the "
    "publisher computes them. Every figure can be traced to the publisher's response it came from: see "
    "the JSON file of this edition.",
)
GLOSSARY = (
    (
        "Since the White Paper (Levelling Up scorecard)",
        "The gap to the UK (or England) now against the gap in the last period that had ended before "
        "the Levelling Up White Paper (February 2022): narrowed or widened when its size moved by a "
        "printed unit or more; called significant only where all four estimates have 95% intervals "
        "and the change exceeds them.",
    ),
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
    "ons_datasets": "ONS",
    "landregistry": "HM Land Registry",
    "govuk": "GOV.UK",
    "els": "ONS Explore Local Statistics",
}
# What each section charts: (indicator, chart kind, which areas). An "index" is a line chart of
# each area's series relative to its own February 2020 (= 100), the pre-pandemic baseline; a
# "pair" charts the focus area's indicator beside a second one (named in place of the areas).
SECTION_CHARTS = {
    "labour_market": [
        ("claimant_rate", "line", "comparators"),
        ("payrolled_employees", "index", "comparators"),
    ],
    "pay": [("median_pay_residence", "bar", "combined_authorities")],
    "business": [("business_births", "pair", "business_deaths")],
    "output": [("gdp_per_head", "bar", "regions")],
    "prices": [("cpi_annual_rate", "line", "uk")],
}
# The headline dashboard, by topic: (indicator, the row's short name). The figure shown is the focus
# area's, else its region's (GDP per head, job adverts), else the UK's (inflation).
DASHBOARD = {
    "labour_market": (
        ("payrolled_employees", "Payrolled employees"),
        ("claimant_rate", "Claimant rate"),
        ("youth_claimant_rate_16_24", "Youth claimant rate, 16 to 24"),
        ("employment_rate", "Employment rate, 16 to 64"),
        ("unemployment_rate", "Unemployment rate"),
        ("inactivity_rate", "Inactivity rate, 16 to 64"),
    ),
    "pay": (
        ("median_monthly_pay", "Median monthly pay, payrolled employees"),
        ("median_pay_residence", "Median weekly pay, residents"),
    ),
    "business": (
        ("enterprises_per_10000", "Enterprises per 10,000 residents"),
        ("business_births", "Business births in the quarter"),
        ("jobs_density", "Jobs density"),
        ("online_job_adverts", "Online job adverts, index (February 2020 = 100)"),
    ),
    "output": (("gdp_per_head", "GDP per head"),),
    "prices": (
        ("cpi_annual_rate", "CPI inflation"),
        ("average_house_price", "Average house price"),
        ("house_price_annual_change", "House prices, annual change"),
    ),
}


def dashboard_labels() -> dict[str, str]:
    """Each headline indicator's short name, as the dashboard (and the email) call it."""
    return {indicator: label for rows in DASHBOARD.values() for indicator, label in rows}


# The sections whose lead chart every email carries (the subscriber's own council's comes third).
EMAIL_CHART_SECTIONS = ("labour_market", "prices")
# The indicator of the chart of a subscriber's own council in the email.
AREA_CHART_INDICATOR = "claimant_rate"
# Each section's one compact table: its lead indicator for the councils, the focus area and the UK.
LEAD_INDICATOR = {
    "labour_market": "claimant_rate",
    "pay": "median_pay_residence",
    "business": "enterprises_per_10000",
    "prices": "average_house_price",
}
# The fewest years of both the area and its comparator a mission needs to be charted over time.
GAP_CHART_MIN_YEARS = 4
# Indicators with a table in the annex: those that exist for councils or the focus area.
TABLE_LEVELS = {"council", "combined_authority"}
# The one-off reference figures are in the Levelling Up Fund table, not a table of their own.
REFERENCE_ONLY = ("luf_priority_category", "imd_rank", "imd_2025_rank")
COMPUTED_MARK = "†"
COMPUTED_NOTE = f"{COMPUTED_MARK} Calculated by this monitor from its councils' figures."


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
    """A table as every renderer reads it. A row is {"area": row heading, "focus": bool, "cells":
    [str, ...]}, or {"group": heading} to open a group of rows (the dashboard's topics)."""

    id: str
    caption: str
    columns: list[str]
    rows: list[dict]
    notes: list[str] = field(default_factory=list)
    # How the HTML sets it: "words" for cells of text, left-aligned; "stack" for one block per row
    # on a phone (a table too wide to scroll through).
    css_class: str = ""
    # The PDF's column widths in per cent of the page, where the default (the first two columns
    # wide, the rest shared) does not suit: tables of words.
    pdf_widths: tuple[float, ...] | None = None

    @property
    def body_rows(self) -> list[dict]:
        return [row for row in self.rows if "group" not in row]


@dataclass
class Chart:
    number: int
    spec: ChartSpec
    rendered: RenderedChart
    narrow: RenderedChart
    source: str
    # Shown under a "show the chart" disclosure on the page (the scorecard's companion), drawn in full
    # in the PDF.
    folded: bool = False


@dataclass
class AreaChart:
    """What the chart of one council in its subscribers' email draws. It is drawn when a message
    needs it (`reports.delivery.mail`), from the data the edition publishes for it, not with the
    edition: most councils have no subscriber, and a month's edition should not wait for them."""

    area: str
    spec: ChartSpec
    source: str


@dataclass
class Section:
    id: str
    heading: str
    reading: list[str]
    charts: list[Chart]
    table: Table | None


@dataclass
class AnnexGroup:
    heading: str
    tables: list[Table]


@dataclass
class Content:
    title: str
    edition: EditionData
    info: BuildInfo
    main_points: list[str]
    dashboard: Table | None
    sections: list[Section]
    annex: list[AnnexGroup]
    area_charts: list[AreaChart]
    changes: dict[str, list[str]]
    sources: list[dict]
    glossary: tuple[tuple[str, str], ...]
    ledger: Ledger

    @property
    def period_label(self) -> str:
        return fmt.period_label(self.edition.period)

    @property
    def tables(self) -> list[Table]:
        """Every table of the edition, in the order it prints them (each has a CSV download)."""
        shown = [self.dashboard] + [s.table for s in self.sections]
        return [t for t in shown if t is not None] + [t for group in self.annex for t in group.tables]

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
            "uk": {"code": self.edition.uk.code, "name": self.edition.uk.name},
            "main_points": self.main_points,
            "figures": self.ledger.entries(),
            "sources": self.sources,
        }


def _date_words(day: dt.date) -> str:
    return f"{day.day} {fmt.MONTHS[day.month - 1]} {day.year}"


def _value_cell(ledger: Ledger, figure: Figure) -> str:
    mark = COMPUTED_MARK if figure.basis == "computed" and figure.area.level != "council" else ""
    return ledger.value(figure) + mark


SIGNIFICANT_MARK = "*"
SIGNIFICANCE_NOTE = (
    f"Survey estimates: a change on the year marked {SIGNIFICANT_MARK} is statistically significant "
    "(beyond its 95% confidence interval); an unmarked one is not, or has no interval."
)


def _year_cell(ledger: Ledger, figure: Figure, *, in_words: bool = False) -> str:
    """The change on the year as printed. A survey change says whether it is significant: in words
    (the dashboard, one row per indicator) or, in a table of one indicator, marked * when it is."""
    if figure.change_year is None:
        return fmt.MISSING
    text = ledger.signed(figure, "change_year")
    if figure.indicator.unit == "count" and figure.change_year_pct is not None:
        text += f" ({ledger.percent(figure, 'change_year_pct')})"
    if figure.indicator.survey and in_words and figure.significant_year is False:
        text += ", not significant"
    elif figure.indicator.survey and not in_words and figure.significant_year is True:
        text += SIGNIFICANT_MARK
    return text


def _notes(figures: list[Figure]) -> list[str]:
    """The notes a one-indicator table needs: the monitor's own figures, survey significance."""
    notes = []
    if any(f.basis == "computed" and f.area.level != "council" for f in figures):
        notes.append(COMPUTED_NOTE)
    if any(f.indicator.survey for f in figures):
        notes.append(SIGNIFICANCE_NOTE)
    return notes


# The pre-pandemic month the monitor measures the labour market's recovery from.
BASELINE = "2020-02"


def _since_feb2020(indicator: IndicatorMeta) -> bool:
    """The change since February 2020 is shown for the monthly labour-market indicators."""
    return indicator.section == "labour_market" and indicator.cadence == "monthly"


def _gap_cell(ledger: Ledger, figure: Figure, edition: EditionData) -> str:
    gap = compare.gap_to_uk(figure)
    return "" if gap is None or figure.area.code == edition.uk.code else ledger.signed(figure, "gap_uk", gap)


def _since_cell(ledger: Ledger, figure: Figure) -> str:
    if not _since_feb2020(figure.indicator) or figure.change_since_feb2020 is None:
        return ""
    return ledger.signed(figure, "change_since_feb2020")


def _dashboard(ledger: Ledger, edition: EditionData) -> Table | None:
    """One row per headline indicator, by topic: the latest figure, its change on the year, the UK,
    the gap, the rank among the combined authorities (or regions) and the change since February 2020."""
    rows: list[dict] = []
    computed = flash = False
    for section_id, heading in SECTIONS:
        group: list[dict] = []
        for indicator_id, label in DASHBOARD.get(section_id, ()):
            if indicator_id not in edition.indicators:
                continue
            figure = next(
                (
                    f
                    for area in (edition.focus, edition.region, edition.uk)
                    if (f := edition.figure(indicator_id, area.code)) is not None
                ),
                None,
            )
            if figure is None:
                continue
            computed |= figure.basis == "computed"
            is_flash = narrative.flash_note(edition, figure) is not None
            flash |= is_flash
            is_uk = figure.area.code == edition.uk.code
            rank = compare.rank(edition, figure)
            name = label if figure.area.code == edition.focus.code else f"{label} ({figure.area.label})"
            group.append(
                {
                    "area": name,
                    "focus": False,
                    "cells": [
                        compare.period_label(figure, article=False) + (" (flash)" if is_flash else ""),
                        _value_cell(ledger, figure),
                        _year_cell(ledger, figure, in_words=True),
                        ""
                        if is_uk or figure.uk_value is None
                        else ledger.other(figure, "uk_value", figure.uk_value),
                        _gap_cell(ledger, figure, edition),
                        ledger.rank(figure, rank, short=True) if rank else "",
                        _since_cell(ledger, figure),
                    ],
                }
            )
        if group:
            rows += [{"group": heading}, *group]
    if not rows:
        return None
    notes = [
        "Rank: among the English mayoral combined authorities (for a region, among the UK countries "
        "and regions), from the nearer end. Gaps and ranks compare values as printed. Counts are not "
        "ranked: their size reflects an area's population.",
        "Not significant: a survey estimate's change within its 95% confidence interval.",
    ]
    if flash:
        notes.append(
            "Flash: the newest month of PAYE Real Time Information, an early estimate that the next "
            "release revises."
        )
    if computed:
        notes.insert(0, COMPUTED_NOTE)
    return Table(
        id="table-dashboard",
        caption=f"Headline indicators for the {edition.focus.label} area, latest period",
        columns=[
            "Indicator",
            "Period",
            "Latest",
            "Change on the year",
            "UK",
            "Gap to the UK",
            "Rank",
            "Since Feb 2020",
        ],
        rows=rows,
        notes=notes,
    )


def _lead_table(ledger: Ledger, edition: EditionData, indicator: IndicatorMeta) -> Table | None:
    """A section's compact table: the lead indicator for the focus area, its councils and the UK."""
    areas = [edition.focus, *edition.councils, edition.uk]
    figures = [(a, edition.figure(indicator.id, a.code)) for a in areas]
    shown = [f for _, f in figures if f is not None]
    if not shown:
        return None
    monthly = _since_feb2020(indicator)
    rows = []
    for area, figure in figures:
        if figure is None:
            cells = [fmt.MISSING] * 3
        else:
            last = _since_cell(ledger, figure) if monthly else _gap_cell(ledger, figure, edition)
            cells = [_value_cell(ledger, figure), _year_cell(ledger, figure), last]
        rows.append({"area": area.label, "focus": area.code == edition.focus.code, "cells": cells})
    period = compare.period_label(shown[0], article=False)
    count = narrative.count_words(len(edition.councils))
    return Table(
        id=f"table-{indicator.id.replace('_', '-')}-councils",
        caption=(
            f"{indicator.title}, {period}: the {count} councils, the {edition.focus.label} area and the UK"
        ),
        columns=["Area", "Latest", "Change on the year", "Since Feb 2020" if monthly else "Gap to the UK"],
        rows=rows,
        notes=_notes(shown),
    )


def _table(ledger: Ledger, edition: EditionData, indicator: IndicatorMeta) -> Table | None:
    """An annex table: the indicator for every area the edition shows."""
    monthly = indicator.cadence == "monthly"
    rows, shown = [], []
    for area in edition.bulletin_areas:
        if area.level not in indicator.levels:
            continue
        figure = edition.figures.get((indicator.id, area.code))
        width = 5 if monthly else 4
        if figure is None or figure.value is None:
            rows.append({"area": area.name, "focus": area == edition.focus, "cells": [fmt.MISSING] * width})
            continue
        shown.append(figure)
        rank = compare.rank(edition, figure)
        cells = [compare.period_label(figure, article=False), _value_cell(ledger, figure)]
        if monthly:
            cells.append(
                ledger.signed(figure, "change_period") if figure.change_period is not None else fmt.MISSING
            )
        cells += [_year_cell(ledger, figure), ledger.rank(figure, rank, short=True) if rank else ""]
        rows.append({"area": area.name, "focus": area.code == edition.focus.code, "cells": cells})
    if not any(row["cells"][1] != fmt.MISSING for row in rows):
        return None
    columns = [
        "Area",
        "Period",
        "Latest",
        *(["Change on the month"] if monthly else []),
        "Change on the year",
        "Rank",
    ]
    return Table(
        id=f"table-{indicator.id.replace('_', '-')}",
        caption=f"{indicator.title}: the {edition.focus.label} area, its councils and comparators",
        columns=columns,
        rows=rows,
        notes=_notes(shown),
    )


def _chart_areas(edition: EditionData, which: str) -> list[AreaMeta]:
    return {
        "comparators": [edition.focus, edition.region, edition.uk],
        "bulletin": [a for a in edition.bulletin_areas if a.level not in ("country",)],
        "councils": edition.councils,
        "combined_authorities": edition.combined_authorities,
        "regions": edition.regions,
        "region": [edition.region, edition.uk],
        "uk": [edition.uk],
    }[which]


def _chart(
    edition: EditionData, number: int, indicator: IndicatorMeta, kind: str, which: str, cache: Path | None
) -> Chart | None:
    chart_id = f"figure-{number}"
    if kind == "pair":
        second = edition.indicators.get(which)
        spec = _pair_spec(edition, chart_id, indicator, second) if second else None
    else:
        areas = _chart_areas(edition, which)
        if which not in ("regions", "combined_authorities"):  # the UK regions include the nations
            areas = [a for a in areas if a.level in indicator.levels]
        focus = edition.region if which in ("regions", "region") else edition.focus
        if which == "uk":
            focus = edition.uk
        spec = _chart_spec(edition, chart_id, indicator, kind, which, areas, focus)
    if spec is None:
        return None
    narrow = replace(spec, id=f"{spec.id}-narrow", width=NARROW_WIDTH_PX)
    source = f"Source: {indicator.source_name}"
    return Chart(number, spec, render_chart(spec, cache), render_chart(narrow, cache), source)


def _area_charts(edition: EditionData) -> list[AreaChart]:
    """For each council, its claimant rate beside the focus area's and the UK's since 2020, for
    the narrow chart of a subscriber's own area in the email (not on the page)."""
    indicator = edition.indicators.get(AREA_CHART_INDICATOR)
    if indicator is None:
        return []
    charts = []
    for council in edition.councils:
        areas = [council, edition.focus, edition.uk]
        chart_id = f"area-{council.code}-{indicator.id.replace('_', '-')}"
        spec = _chart_spec(edition, chart_id, indicator, "line", "councils", areas, council)
        if spec is not None and spec.highlight is not None:
            spec = replace(spec, width=NARROW_WIDTH_PX)
            charts.append(AreaChart(council.code, spec, f"Source: {indicator.source_name}"))
    return charts


def _chart_spec(
    edition: EditionData,
    chart_id: str,
    indicator: IndicatorMeta,
    kind: str,
    which: str,
    areas: list[AreaMeta],
    focus: AreaMeta,
) -> ChartSpec | None:
    """What a chart of `indicator` over `areas` draws, `focus` highlighted; None without data."""
    if kind == "index":
        return _index_spec(edition, chart_id, indicator, areas, focus)
    if kind == "line":
        points = [
            (area.label, p, value)
            for area in areas
            for p, _, value in edition.series.get((indicator.id, area.code), [])
        ]
        if not points:
            return None
        data, periods = _line_data(points)
        latest = {a.label: edition.figure(indicator.id, a.code) for a in areas}
        first, last = fmt.period_label(periods[0]), fmt.period_label(periods[-1])
        subtitle = f"{indicator.title}, {first} to {last}"
        title = _line_title(indicator, focus, latest, edition)
    else:
        figures = [(a, edition.figure(indicator.id, a.code)) for a in areas]
        figures = [(a, f) for a, f in figures if f is not None or a.level == "council"]
        if not any(f for _, f in figures):
            return None
        # Largest first, so the bars read as the ranking; missing ones last.
        figures.sort(key=lambda pair: (pair[1] is None, -(pair[1].value if pair[1] else 0)))
        data = pd.DataFrame(
            [
                {"x": _bar_label(a, which), "x_order": n, "value": f.value if f else None}
                for n, (a, f) in enumerate(figures)
            ],
            columns=["x", "x_order", "value"],
        )
        shown = [f for _, f in figures if f]
        periods = sorted({f.period for f in shown})
        when = (
            compare.period_label(shown[-1], article=False)
            if len(periods) == 1
            else ", ".join(
                compare.period_label(f, article=False) for f in {f.period: f for f in shown}.values()
            )
        )
        subtitle = f"{indicator.title}, {when}"
        top = max(shown, key=lambda f: f.value)
        title = f"{_bar_label(top.area, which)} has the highest {indicator.phrase} of the {BAR_GROUPS[which]}"
    return ChartSpec(
        id=chart_id,
        kind=kind,
        title=title,
        subtitle=subtitle,
        unit=indicator.unit,
        decimals=indicator.decimals,
        data=data,
        highlight=_highlight(data, kind, focus, which),
    )


def _pair_spec(
    edition: EditionData, chart_id: str, first: IndicatorMeta, second: IndicatorMeta
) -> ChartSpec | None:
    """The focus area's two indicators of one unit over time (business births and deaths)."""
    focus = edition.focus
    points = [
        (_pair_name(indicator), p, value)
        for indicator in (first, second)
        for p, _, value in edition.series.get((indicator.id, focus.code), [])
    ]
    latest = [edition.figure(i.id, focus.code) for i in (first, second)]
    if not points or None in latest:
        return None
    data, periods = _line_data(points)
    mine, other = latest
    side = "more" if mine.value > other.value else "fewer" if mine.value < other.value else "as many"
    title = (
        f"The {focus.label} area had {side} {_pair_name(first).lower()} than {_pair_name(second).lower()} "
        f"in {compare.period_label(mine, article=False)}"
    )
    return ChartSpec(
        id=chart_id,
        kind="line",
        title=title,
        subtitle=(
            f"{_pair_name(first)} and {_pair_name(second).lower()} in the {focus.label} area, by quarter, "
            f"{fmt.period_label(periods[0])} to {fmt.period_label(periods[-1])}"
        ),
        unit=first.unit,
        decimals=first.decimals,
        data=data,
        highlight=_pair_name(first),
    )


def _line_data(points: list[tuple[str, str, float | None]]) -> tuple[pd.DataFrame, list[str]]:
    """A line chart's data from (series, period, value) points, and its periods in order."""
    periods = sorted({p for _, p, _ in points})
    order = {p: n for n, p in enumerate(periods)}
    data = pd.DataFrame(
        [
            {"series": series, "x": fmt.period_label(p), "x_order": order[p], "value": value}
            for series, p, value in points
        ],
        columns=["series", "x", "x_order", "value"],
    )
    return data, periods


def _pair_name(indicator: IndicatorMeta) -> str:
    """A pair's series by its noun: 'Business births in the quarter' -> 'Business births'."""
    return indicator.title.removesuffix(" in the quarter")


def _index_spec(
    edition: EditionData, chart_id: str, indicator: IndicatorMeta, areas: list[AreaMeta], focus: AreaMeta
) -> ChartSpec | None:
    """Each area's series from February 2020 as an index of its February 2020 value (= 100), so that
    areas of any size compare; an area without a February 2020 figure is left out."""
    indexed, latest = [], {}
    for area in areas:
        points = [(p, v) for p, _, v in edition.series.get((indicator.id, area.code), []) if p >= BASELINE]
        if not points or points[0][0] != BASELINE or not points[0][1]:
            continue
        base = points[0][1]
        indexed += [(area.label, p, None if v is None else v / base * 100) for p, v in points]
        latest[area.label] = indexed[-1][2]
    mine, uk = latest.get(focus.label), latest.get(edition.uk.label)
    if mine is None:
        return None
    data, periods = _line_data(indexed)
    title = f"The {indicator.phrase} relative to February 2020"
    if uk is not None and focus.code != edition.uk.code and fmt.rounded(mine, 1) != fmt.rounded(uk, 1):
        grew = "grown" if min(mine, uk) >= 100 else "changed"
        title = (
            f"The {indicator.phrase} has {grew} {'more' if mine > uk else 'less'} in the {focus.label} "
            "area than in the UK since February 2020"
        )
    return ChartSpec(
        id=chart_id,
        kind="line",
        title=title,
        subtitle=(
            f"{indicator.title}, index (February 2020 = 100), {fmt.period_label(periods[0])} to "
            f"{fmt.period_label(periods[-1])}"
        ),
        unit="index",
        decimals=1,
        data=data,
        highlight=_highlight(data, "line", focus, "comparators"),
    )


# How a bar chart's title names the areas it shows.
BAR_GROUPS = {
    "bulletin": "areas shown",
    "councils": "councils",
    "regions": "UK countries and regions",
    "combined_authorities": "combined authorities",
}


def _bar_label(area: AreaMeta, which: str) -> str:
    """A bar's name: a combined authority by its place ('Greater Manchester', not 'GMCA'), since a
    chart of all of them is read by people who do not know every acronym."""
    if which == "combined_authorities":
        return area.name.removesuffix(" Combined Authority").removesuffix(" Mayoral")
    return area.label


def _highlight(data: pd.DataFrame, kind: str, focus: AreaMeta, which: str) -> str | None:
    name = focus.label if kind == "line" else _bar_label(focus, which)
    return name if name in set(data["series" if kind == "line" else "x"]) else None


def _line_title(indicator: IndicatorMeta, focus: AreaMeta, latest: dict, edition: EditionData) -> str:
    mine, uk = latest.get(focus.label), latest.get(edition.uk.label)
    if focus.code == edition.uk.code or mine is None or uk is None:
        name = indicator.phrase[0].upper() + indicator.phrase[1:]
        return f"{name} over time"
    side = "above" if mine.value > uk.value else "below" if mine.value < uk.value else "level with"
    whose = f"{focus.label}'s" if focus.level == "council" else f"The {focus.label}'s"
    return f"{whose} {indicator.phrase} is {side} the UK's"


def _scorecard(ledger: Ledger, edition: EditionData) -> Table:
    """One row per White Paper mission: its headline metric for the focus area (or its region)
    against the UK (or England), the gap, its trend since the White Paper and the rank."""
    rows = []
    for number, (name, indicator_id, short) in scorecard.MISSIONS.items():
        indicator = edition.indicators.get(indicator_id) if indicator_id else None
        figure = scorecard.shown_figure(edition, indicator_id) if indicator else None
        heading = f"{number}. {name}"
        if figure is None:
            why = scorecard.NO_METRIC.get(number, "no figure for the area or its region in this edition")
            rows.append({"area": heading, "focus": False, "cells": [why, "", "", "", "", ""]})
            continue
        rows.append(
            {"area": heading, "focus": False, "cells": _mission_cells(ledger, edition, figure, short)}
        )
    return Table(
        id="table-levelling-up-scorecard",
        caption=f"Levelling Up scorecard: the {edition.focus.label} against the UK, mission by mission",
        columns=[
            "Mission",
            "Headline metric",
            edition.focus.label,
            "UK",
            "Gap",
            "Since the White Paper",
            "Rank",
        ],
        rows=rows,
        css_class="stack words",
        pdf_widths=(12, 22, 8, 8, 11, 24, 15),
        notes=["‡ England's (no UK figure). Rank: among combined authorities or regions. Terms: glossary."],
    )


def _gap_chart(edition: EditionData, number: int, cache: Path | None) -> Chart | None:
    """Mission headline metrics for the focus area relative to the UK's (or England's), the
    comparator = 100, by the year each period starts: of the metrics where higher is better with
    four years or more of both, the (at most four, for legibility) with the longest series."""
    candidates = []
    for mission, (name, indicator_id, _) in scorecard.MISSIONS.items():
        indicator = edition.indicators.get(indicator_id) if indicator_id else None
        figure = edition.figure(indicator_id, edition.focus.code) if indicator else None
        comparator = scorecard.comparator_of(edition, figure) if figure else None
        if comparator is None or indicator.polarity != "higher_is_better" or indicator.cadence != "annual":
            continue
        series = [
            edition.mission_series.get((indicator_id, a), []) for a in (edition.focus.code, comparator.code)
        ]
        mine, theirs = ({p.period[:4]: p.value for p in points if p.value} for points in series)
        years = sorted(set(mine) & set(theirs))
        if len(years) >= GAP_CHART_MIN_YEARS:
            label = scorecard.CHART_LABELS.get(mission, name)
            relative = [(label, year, mine[year] / theirs[year] * 100) for year in years]
            candidates.append((mission, indicator_id, relative))
    longest = sorted(candidates, key=lambda c: (-len(c[2]), c[0]))[:MAX_COLOURS]
    chosen = sorted(longest)
    if len(chosen) < 2:
        return None
    points = [point for _, _, relative in chosen for point in relative]
    latest = {relative[-1][0]: relative[-1][2] for _, _, relative in chosen}
    charted = [indicator_id for _, indicator_id, _ in chosen]
    data, years = _line_data(points)
    below = sum(value < 100 for value in latest.values())
    spec = ChartSpec(
        id=f"figure-{number}",
        kind="line",
        title=(
            f"The {edition.focus.label} area was below the UK or England in its latest year on {below} of "
            f"the {len(latest)} missions charted"
        ),
        subtitle=(
            f"Headline metric of each mission, {edition.focus.label} as a share of the UK (England where "
            f"the UK has no figure) = 100, by the year each period starts, {years[0]} to {years[-1]}"
        ),
        unit="index",
        decimals=1,
        data=data,
    )
    narrow = replace(spec, id=f"{spec.id}-narrow", width=NARROW_WIDTH_PX)
    names = dict.fromkeys(n for i in charted for n in edition.indicators[i].source_names)
    source = f"Source: {'; '.join(names)}"
    return Chart(number, spec, render_chart(spec, cache), render_chart(narrow, cache), source, folded=True)


def _mission_cells(
    ledger: Ledger, edition: EditionData, figure: Figure, name: str | None = None
) -> list[str]:
    indicator = figure.indicator
    trend = scorecard.gap_trend(edition, figure)

    def quote(measure: str, raw: float) -> str:
        return ledger.signed(figure, measure, raw)

    metric = f"{name or indicator.title}, {compare.period_label(figure, article=False)}"
    if figure.area.code != edition.focus.code:
        metric += " (region)" if figure.area.code == edition.region.code else f" ({figure.area.label})"
    comparator = scorecard.comparator_of(edition, figure)
    if comparator is None:
        versus = fmt.MISSING
    elif comparator.code == edition.uk.code:
        versus = ledger.other(figure, "uk_value", figure.uk_value)
    else:
        versus = ledger.other(figure, "england_value", figure.england_value) + " ‡"
    rank = compare.rank(edition, figure)
    return [
        metric,
        _value_cell(ledger, figure),
        versus,
        scorecard.gap_words(trend, indicator, quote) if trend else "",
        scorecard.trend_words(trend, indicator, quote) if trend else "",
        _rank_cell(ledger, figure, rank),
    ]


def _rank_cell(ledger: Ledger, figure: Figure, rank: compare.Rank | None) -> str:
    """'2nd highest of 8' among combined authorities (the column says so), '… of 12 regions'."""
    if rank is None:
        return ""
    text = ledger.rank(figure, rank, short=True)
    return text if figure.area.level == "combined_authority" else f"{text} regions"


def _mission_metrics(ledger: Ledger, edition: EditionData) -> list[Table]:
    """Every mission metric of the registry, mission by mission, for the annex: three tables (missions
    1 and 2, 3 to 6, 7 to 12) of about ten rows, so that each fits a page of the PDF with its heading."""
    tables = []
    for first, last, table_id in (
        (1, 2, "table-levelling-up-missions"),
        (3, 6, "table-levelling-up-missions-3-6"),
        (7, 12, "table-levelling-up-missions-7-12"),
    ):
        rows = []
        for indicator in sorted(
            (i for i in edition.indicators.values() if i.mission and first <= i.mission <= last),
            key=lambda i: (i.mission, i.title),
        ):
            figure = scorecard.shown_figure(edition, indicator.id)
            heading = f"{indicator.mission}. {scorecard.MISSIONS[indicator.mission][0]}"
            if figure is None:
                cells = [indicator.title, fmt.MISSING, *[""] * 6]
            else:
                _, *compared = _mission_cells(ledger, edition, figure)
                period = compare.period_label(figure, article=False)
                cells = [indicator.title, figure.area.label, period, *compared]
            rows.append({"area": heading, "focus": False, "cells": cells})
        if rows:
            tables.append(
                Table(
                    id=table_id,
                    caption=f"Every Levelling Up mission metric against the UK: missions {first} to {last}",
                    columns=[
                        "Mission",
                        "Metric",
                        "Area",
                        "Period",
                        "Value",
                        "UK",
                        "Gap",
                        "Since the White Paper",
                        "Rank",
                    ],
                    rows=rows,
                    notes=["‡ England's: no UK figure is published."],
                    css_class="words",
                    pdf_widths=(10, 19, 8, 9, 9, 9, 9, 15, 12),
                )
            )
    return tables


def _funding_table(ledger: Ledger, edition: EditionData) -> Table | None:
    rows = []
    for area in edition.councils:
        money = edition.figure("luf_allocation_per_head", area.code)
        category = edition.figure("luf_priority_category", area.code)
        imd = edition.figure("imd_rank", area.code)
        imd_2025 = edition.figure("imd_2025_rank", area.code)
        if money is None and category is None and imd is None and imd_2025 is None:
            continue
        rows.append(
            {
                "area": area.name,
                "focus": False,
                "cells": [
                    ledger.value(category) if category else fmt.MISSING,
                    ledger.value(imd) if imd else fmt.MISSING,
                    ledger.value(imd_2025) if imd_2025 else fmt.MISSING,
                    _rank_move(ledger, area, imd, imd_2025),
                    ledger.value(money) if money else fmt.MISSING,
                ],
            }
        )
    if not rows:
        return None
    return Table(
        id="table-levelling-up-fund",
        caption="Levelling Up Fund allocation per head against need, by council (reference figures)",
        columns=[
            "Council",
            "Priority category",
            "IMD 2019 rank",
            "IMD 2025 rank",
            "Places moved",
            "Allocation per head",
        ],
        rows=rows,
        notes=[
            "Priority category: the Levelling Up Fund's own measure of need, 1 being the most in need. "
            "IMD 2019 rank: the council's rank of average score in the English Indices of Deprivation "
            "2019, 1 being the most deprived of 317. Allocation per head: rounds 1 to 3 of the Fund, "
            "per resident. IMD 2025 rank: the same among the 296 councils of 2024 (File 10, version 2). "
            "Ranks are relative and the two indices' methods and council boundaries differ, so a "
            "change of rank is not a measured change in deprivation (MHCLG's caveat). Places moved: "
            "towards the most deprived (a lower rank) or away from it.",
        ],
    )


def _funding_by_round(ledger: Ledger, edition: EditionData) -> Table | None:
    """Levelling Up Fund money per resident by round and in total, by priority category, across
    England's councils this monitor follows and across the focus area's: each group's awards over
    its residents (the population estimate in force at each round)."""
    funding = edition.funding
    if funding is None:
        return None
    rows = []
    for scope, where in (("england", "England"), (funding.focus, edition.focus.label)):
        rows.append({"group": where})
        for category in (1, 2, 3, None):
            cells = []
            for round_name in ROUND_COLUMNS:
                group = funding.group(scope, category, round_name)
                cells.append(
                    fmt.MISSING
                    if group.per_head is None
                    else ledger.derived(
                        f"luf_per_head_{scope}_{round_name}_category_{category or 'all'}",
                        f"Levelling Up Fund {round_name} per resident, {where}, category {category or 'all'}",
                        group.per_head,
                        fmt.value(group.per_head, "gbp", 0),
                        "gbp",
                    )
                )
            label = f"Category {category}" if category else "All councils"
            councils = funding.group(scope, category).councils_counted
            counted = ledger.derived(
                f"luf_councils_{scope}_category_{category or 'all'}",
                f"Councils of {where} in priority category {category or 'any'} with a population estimate",
                councils,
                str(councils),
                "count",
            )
            rows.append({"area": f"{label} ({counted})", "focus": False, "cells": cells})
    return Table(
        id="table-levelling-up-fund-rounds",
        caption="Levelling Up Fund money per resident by round and priority category",
        columns=["Councils (how many)", "Round 1", "Round 2", "Round 3", "Rounds 1 to 3"],
        rows=rows,
        notes=[
            "Each group's awards over its residents, never an average of councils' figures; a council "
            "with no successful bid counts £0. England: the English councils this monitor follows (set "
            "EIM_AREA=england for all of them). Priority categories of round 2 (1 is most need). Each "
            "round over the population estimate of its year and the total over the latest, so the "
            "rounds need not add up to the total."
        ],
    )


ROUND_COLUMNS = ("round1", "round2", "round3", "total")


def _rank_move(ledger: Ledger, area: AreaMeta, before: Figure | None, after: Figure | None) -> str:
    """'3 towards most deprived', '12 away', 'none': IMD 2019 to IMD 2025 rank of average score."""
    if before is None or after is None:
        return fmt.MISSING
    moved = int(after.value - before.value)
    words = "none" if moved == 0 else f"{abs(moved)} {'towards most deprived' if moved < 0 else 'away'}"
    return ledger.derived(
        f"imd_rank_moved_{area.code}",
        f"{area.name}: IMD 2025 rank of average score less IMD 2019's (negative: nearer most deprived)",
        moved,
        words,
        "rank",
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
            now = compare.period_label(figure, article=False)
            then = old.get("period_label") or fmt.period_label(old["period"])
            value = ledger.value(figure)
            changes["new"].append(
                f"{indicator.title}: now {now} ({value}), last edition {then} ({old['display']})."
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
        rank = compare.rank(edition, figure) if figure is not None else None
        if rank is not None and old_rank is not None and rank.text != old_rank["display"]:
            changes["flipped"].append(
                f"{indicator.title}: now {ledger.rank(figure, rank)}, was {old_rank['display']}."
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
        period = compare.indicator_period_label(revision.indicator, revision.period, article=False)
        changes["revised"].append(
            f"{revision.indicator.title}, {revision.area.name}, {period}: "
            f"revised from {old} to {new} (publisher's release of {when}{released})."
        )
    return changes


def _sources(edition: EditionData) -> list[dict]:
    used = []
    for indicator in edition.indicators.values():
        for dataset, name in zip(indicator.datasets, indicator.source_names, strict=True):
            source = edition.sources.get(dataset)
            used.append(
                {
                    "indicator": indicator.id,
                    "title": indicator.title,
                    "source_name": name,
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
                    **_producer(edition, dataset, indicator),
                }
            )
    return used


def _producer(edition: EditionData, dataset: str, indicator: IndicatorMeta) -> dict:
    """Who produced the statistics a republisher (ONS Explore Local Statistics) serves, and where
    they publish them; nothing for the other publishers, which produce their own."""
    described = edition.producers.get((dataset, indicator.series or ""))
    if described is None or not described.organisation:
        return {}
    organisations = " and ".join(dict.fromkeys(described.organisation.split("|")))
    pages = [url for url in (described.url or "").split("|") if url]
    return {"produced_by": organisations, "producer_url": pages[0] if pages else None}


def build_content(
    edition: EditionData, info: BuildInfo, previous: dict | None = None, chart_cache: Path | None = None
) -> Content:
    """Everything an edition says, from its pinned snapshot; `chart_cache` keeps drawn charts so
    that an unchanged one is not drawn again next month."""
    ledger = Ledger(edition)
    main_points = narrative.main_points(ledger, edition)
    sections, annex, number = [], [], 0
    for section_id, heading in SECTIONS:
        charts = []
        for indicator_id, kind, which in SECTION_CHARTS.get(section_id, []):
            if indicator_id not in edition.indicators:
                continue
            chart = _chart(edition, number + 1, edition.indicators[indicator_id], kind, which, chart_cache)
            if chart is not None:
                number += 1
                charts.append(chart)
        lead = LEAD_INDICATOR.get(section_id)
        if section_id == "levelling_up":
            table = _scorecard(ledger, edition)
            if (gaps := _gap_chart(edition, number + 1, chart_cache)) is not None:
                number += 1
                charts.append(gaps)
        else:
            table = (
                _lead_table(ledger, edition, edition.indicators[lead]) if lead in edition.indicators else None
            )
        reading = narrative.section_reading(ledger, edition, section_id)
        sections.append(Section(section_id, heading, reading, charts, table))
        tables = [
            table
            for indicator in edition.in_section(section_id)
            if set(indicator.levels) & TABLE_LEVELS
            and indicator.id not in REFERENCE_ONLY
            and (table := _table(ledger, edition, indicator)) is not None
        ]
        if section_id == "levelling_up":
            funding = [_funding_table(ledger, edition), _funding_by_round(ledger, edition)]
            tables[:0] = [*_mission_metrics(ledger, edition), *(t for t in funding if t is not None)]
        if tables:
            annex.append(AnnexGroup(heading, tables))
    return Content(
        title=f"{edition.area_set_name} {TITLE}",
        edition=edition,
        info=info,
        main_points=main_points,
        dashboard=_dashboard(ledger, edition),
        sections=sections,
        annex=annex,
        area_charts=_area_charts(edition),
        changes=_changes(ledger, edition, previous),
        sources=_sources(edition),
        glossary=GLOSSARY,
        ledger=ledger,
    )


def date_words(day: dt.date | None) -> str:
    return _date_words(day) if day else "not scheduled"
