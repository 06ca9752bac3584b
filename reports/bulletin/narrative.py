"""The words of an edition, written from its figures.

Templates over the figures, aware of each indicator's polarity: "rose"/"fell" describe direction,
"better"/"worse" only where the registry says which way is better. "Statistically significant" is
said only where confidence intervals support it, and survey changes that are not significant are
called so. Missing figures are said to be missing, never turned into 0. Every number a sentence
quotes comes through the ledger, so it is in the edition's JSON sidecar.
"""

from __future__ import annotations

from reports.bulletin import compare, scorecard
from reports.bulletin import format as fmt
from reports.bulletin.compare import period_label
from reports.bulletin.edition import EditionData, Figure
from reports.bulletin.quotes import Ledger
from warehouse.levelling_up import FundingGroup

# Indicators whose newest month is a flash estimate, revised at the publisher's next release.
FLASH_ESTIMATES = frozenset({"payrolled_employees", "median_monthly_pay"})
# Prices that turn a change in pay into a change in real terms.
DEFLATOR = "cpih_annual_rate"
SMALL_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def count_words(n: int) -> str:
    """ONS style: whole numbers below ten in words."""
    return SMALL_NUMBERS[n] if 0 <= n < len(SMALL_NUMBERS) else f"{n:,}"


def direction(figure: Figure, measure: str) -> str:
    raw = getattr(figure, measure)
    if raw is None:
        return "unknown"
    r = fmt.rounded(raw, figure.indicator.decimals)
    return "rose" if r > 0 else "fell" if r < 0 else "unchanged"


def judgement(figure: Figure, measure: str) -> str | None:
    """'better' or 'worse' for a change or gap, from the indicator's polarity; None if neutral."""
    raw = getattr(figure, measure)
    polarity = figure.indicator.polarity
    if raw is None or polarity == "neutral" or fmt.rounded(raw, figure.indicator.decimals) == 0:
        return None
    return "better" if (raw > 0) == (polarity == "higher_is_better") else "worse"


def place(figure: Figure) -> str:
    """How a sentence names an area: 'the WMCA area', 'the West Midlands region', 'the UK'."""
    area = figure.area
    if area.level in ("combined_authority", "lep_area"):
        return f"the {area.label} area"
    if area.level in ("region", "uk"):
        return f"the {area.label}"
    return area.label


def phrase(figure: Figure) -> str:
    return figure.indicator.phrase


def describes_movement(figure: Figure) -> bool:
    """Whether a sentence may say the figure rose or fell since its previous period: not for a
    survey estimate (its change on the year is judged against its interval instead) nor for a
    rolling-year estimate, whose quarter-on-quarter move shares nine months with the last one."""
    return not figure.indicator.survey and figure.indicator.cadence != "quarterly"


def interval(ledger: Ledger, figure: Figure) -> str:
    """' (95% confidence interval 67.1% to 70.9%)' for a survey estimate that has one."""
    if not figure.indicator.survey or figure.lower is None or figure.upper is None:
        return ""
    low, high = ledger.other(figure, "lower", figure.lower), ledger.other(figure, "upper", figure.upper)
    return f" (95% confidence interval {low} to {high})"


def level_and_change(ledger: Ledger, figure: Figure, measure: str = "change_period") -> str:
    """'The claimant rate in the WMCA area rose to 6.3% in October 2026'; a survey estimate's
    level with its interval, 'The employment rate ... was 69.0% (95% confidence interval ...)'."""
    subject = f"The {phrase(figure)} in {place(figure)}"
    level = ledger.value(figure)
    when = period_label(figure)
    if not describes_movement(figure):
        return f"{subject} was {level}{interval(ledger, figure)} in {when}"
    moved = direction(figure, measure)
    if moved in ("rose", "fell"):
        return f"{subject} {moved} to {level} in {when}"
    if moved == "unchanged":
        return f"{subject} was unchanged at {level} in {when}"
    return f"{subject} was {level} in {when}"


def against_uk(ledger: Ledger, figure: Figure, uk_label: str) -> str:
    """', 2.1 percentage points above the UK rate (3.8%)', with significance where known."""
    gap = compare.gap_to_uk(figure)
    if gap is None:
        return ""
    uk_text = ledger.other(figure, "uk_value", figure.uk_value)
    if fmt.rounded(gap, figure.indicator.decimals) == 0:
        return f", the same as {uk_label} ({uk_text})"
    side = "above" if gap > 0 else "below"
    text = f", {ledger.amount(figure, 'gap_uk', gap)} {side} {uk_label} ({uk_text})"
    if figure.significant_gap_uk is True:
        text += ", a statistically significant difference"
    elif figure.significant_gap_uk is False:
        text += ", a difference within the survey's margin of error"
    return text


def year_change(ledger: Ledger, figure: Figure) -> str:
    """'; up 0.4 percentage points on a year earlier, a statistically significant change'. A survey
    estimate rises or falls only when the change is significant; otherwise it 'changed little'."""
    if figure.change_year is None:
        return ""
    moved = direction(figure, "change_year")
    if figure.indicator.survey and moved != "unchanged" and figure.significant_year is not True:
        amount = ledger.amount(figure, "change_year")
        change = f"{'up' if moved == 'rose' else 'down'} {amount}"
        if figure.significant_year is False:
            return f"; it changed little on a year earlier ({change}, not statistically significant)"
        return (
            f"; {change} on a year earlier, with no interval published to judge whether that is a real change"
        )
    if moved == "unchanged":
        text = "; unchanged on a year earlier"
    else:
        amount = ledger.amount(figure, "change_year")
        text = f"; {'up' if moved == 'rose' else 'down'} {amount} on a year earlier"
        if figure.indicator.unit in ("count", "gbp") and figure.change_year_pct is not None:
            text += f" ({ledger.percent(figure, 'change_year_pct')})"
    if figure.significant_year is True:
        text += ", a statistically significant change"
    elif figure.significant_year is False:
        text += ", not a statistically significant change"
    return text


def sentence(
    ledger: Ledger,
    edition: EditionData,
    indicator: str,
    area: str | None = None,
    *,
    measure: str = "change_period",
    with_year: bool = True,
) -> str | None:
    figure = edition.figure(indicator, area or edition.focus.code)
    if figure is None:
        return None
    text = level_and_change(ledger, figure, measure)
    if figure.area.code != edition.uk.code:
        text += against_uk(ledger, figure, "the UK")
    if with_year:
        text += year_change(ledger, figure)
    return text + "."


def count_sentence(ledger: Ledger, edition: EditionData, indicator: str, noun: str) -> str | None:
    figure = edition.figure(indicator, edition.focus.code)
    if figure is None:
        return None
    text = f"There were {ledger.value(figure)} {noun} in {place(figure)} in {period_label(figure)}"
    if note := flash_note(edition, figure):
        text += f" ({note})"
    if figure.change_year is not None:
        moved = direction(figure, "change_year")
        if moved == "unchanged":
            text += ", the same number as a year earlier"
        else:
            more = "more" if moved == "rose" else "fewer"
            text += (
                f", {ledger.amount(figure, 'change_year')} {more} than a year earlier "
                f"({ledger.percent(figure, 'change_year_pct')})"
            )
    return text + "."


def extremes(ledger: Ledger, edition: EditionData, indicator: str) -> str | None:
    """'Among the seven councils, Birmingham had the highest claimant rate (8.0%) and ...'."""
    figures = [f for a in edition.councils if (f := edition.figure(indicator, a.code)) is not None]
    if len(figures) < 2:
        return None
    figures.sort(key=lambda f: f.value)
    low, high = figures[0], figures[-1]
    return (
        f"Among the {count_words(len(figures))} councils, {high.area.label} had the highest "
        f"{phrase(high)} "
        f"({ledger.value(high)}) and {low.area.label} the lowest ({ledger.value(low)})."
    )


def significant_movements(
    ledger: Ledger, edition: EditionData, already: set[tuple[str, str]] = frozenset()
) -> list[str]:
    """Survey estimates whose change on the year is statistically significant, focus area first;
    `already` names (indicator, area) pairs another sentence has described."""
    found = []
    for indicator in edition.indicators.values():
        for area in [edition.focus, *edition.councils]:
            figure = edition.figure(indicator.id, area.code)
            if figure is None or figure.significant_year is not True or (indicator.id, area.code) in already:
                continue
            verdict = judgement(figure, "change_year")
            tail = (
                f", which is {'an improvement' if verdict == 'better' else 'a deterioration'}"
                if verdict
                else ""
            )
            found.append(
                f"In {place(figure)}, the {phrase(figure)} was {ledger.value(figure)} in "
                f"{period_label(figure)}, {'up' if figure.change_year > 0 else 'down'} "
                f"{ledger.amount(figure, 'change_year')} on a year earlier: a statistically significant "
                f"change{tail}."
            )
    return found


def biggest_council_move(ledger: Ledger, edition: EditionData, indicator: str) -> str | None:
    """The council whose figure moved most over the year, when that is clear at the precision
    printed (see `compare.clear_leader`); nothing otherwise."""
    figures = [f for a in edition.councils if (f := edition.figure(indicator, a.code)) is not None]
    figure = compare.clear_leader(figures, "change_year")
    if figure is None:
        return None
    return (
        f"{figure.area.label} saw the largest change in its {phrase(figure)} among the councils over "
        "the year, "
        f"{'up' if figure.change_year > 0 else 'down'} {ledger.amount(figure, 'change_year')} to "
        f"{ledger.value(figure)}."
    )


def flash_note(edition: EditionData, figure: Figure) -> str | None:
    """'a flash estimate, revised next month' for the newest month of a series whose publisher
    revises it at the next release (PAYE RTI); None otherwise."""
    if figure.indicator.id not in FLASH_ESTIMATES:
        return None
    source = edition.sources.get(figure.indicator.datasets[0])
    newest = source.newest_period_date if source is not None else None
    return fmt.FLASH_NOTE if newest is not None and figure.period == f"{newest:%Y-%m}" else None


def real_pay_sentence(ledger: Ledger, edition: EditionData, indicator: str) -> str | None:
    """The focus area's pay, its growth on a year, and that growth in real terms against CPIH of
    the same month (only where CPIH for that month is published)."""
    pay = edition.figure(indicator, edition.focus.code)
    if pay is None or pay.change_year_pct is None:
        return None
    note = flash_note(edition, pay)
    text = (
        f"The {phrase(pay)} in {place(pay)} was {ledger.value(pay)} in {period_label(pay)}"
        f"{f' ({note})' if note else ''}, {ledger.percent(pay, 'change_year_pct')} on a year earlier"
    )
    cpih = edition.figure(DEFLATOR, edition.uk.code)
    if cpih is not None and cpih.period == pay.period and cpih.value is not None:
        real = ((1 + pay.change_year_pct / 100) / (1 + cpih.value / 100) - 1) * 100
        text += (
            f": {ledger.real_change(pay, real)} in real terms, after CPIH inflation of {ledger.value(cpih)}"
        )
    return text + "."


def births_and_deaths(ledger: Ledger, edition: EditionData) -> str | None:
    """Business births and deaths in the focus area's newest quarter, each against the same quarter
    a year earlier beside the UK's change (the comparison the original monitor made), and the net."""
    focus, uk = edition.focus.code, edition.uk.code
    births, deaths = edition.figure("business_births", focus), edition.figure("business_deaths", focus)
    if births is None or deaths is None or births.period != deaths.period:
        return None

    def change(figure: Figure) -> str:
        if figure.change_year_pct is None:
            return ""
        theirs = edition.figure(figure.indicator.id, uk)
        versus = (
            f"; UK {ledger.percent(theirs, 'change_year_pct')}"
            if theirs is not None and theirs.period == figure.period and theirs.change_year_pct is not None
            else ""
        )
        return f" ({ledger.percent(figure, 'change_year_pct')} on a year earlier{versus})"

    text = (
        f"In {period_label(births)}, {place(births)} had {ledger.value(births)} business births"
        f"{change(births)} and {ledger.value(deaths)} business deaths{change(deaths)}"
    )
    net = births.value - deaths.value
    if net:
        more = "births than deaths" if net > 0 else "deaths than births"
        text += f": {ledger.other(births, 'births_less_deaths', abs(net))} more {more}"
    return text + " (official statistics in development)."


def main_points(ledger: Ledger, edition: EditionData) -> list[str]:
    """Five to eight sentences: the newest evidence first (PAYE RTI, the claimant count), then the
    other headline figures, then significant and large movements."""
    candidates = [
        count_sentence(ledger, edition, "payrolled_employees", "payrolled employees"),
        real_pay_sentence(ledger, edition, "median_monthly_pay"),
        sentence(ledger, edition, "claimant_rate", with_year=False),
        count_sentence(ledger, edition, "claimant_count", "claimants aged 16 and over"),
        sentence(ledger, edition, "employment_rate"),
        *significant_movements(ledger, edition, {("employment_rate", edition.focus.code)})[:2],
        biggest_council_move(ledger, edition, "claimant_rate"),
        sentence(ledger, edition, "cpi_annual_rate", edition.uk.code, with_year=False),
    ]
    points = [c for c in candidates if c]
    seen: set[str] = set()
    return [p for p in points if not (p in seen or seen.add(p))][:8]


def section_reading(ledger: Ledger, edition: EditionData, section: str) -> list[str]:
    """Two or three sentences for a section, from its indicators."""
    focus, region, uk = edition.focus.code, edition.region.code, edition.uk.code
    plans = {
        "labour_market": [
            sentence(ledger, edition, "youth_claimant_rate_16_24", with_year=True),
        ],
        "pay": [
            sentence(ledger, edition, "median_pay_residence"),
            _ranked(ledger, edition, "median_pay_residence", focus),
        ],
        "business": [
            sentence(ledger, edition, "enterprises_per_10000"),
            births_and_deaths(ledger, edition),
        ],
        "output": [
            sentence(ledger, edition, "gdp_per_head", region),
            _ranked(ledger, edition, "gdp_per_head", region),
        ],
        "prices": [
            sentence(ledger, edition, "cpi_annual_rate", uk, with_year=False),
            sentence(ledger, edition, "cpih_annual_rate", uk, with_year=False),
            sentence(ledger, edition, "house_price_annual_change", focus, with_year=False)
            or sentence(ledger, edition, "house_price_annual_change", region, with_year=False),
        ],
        "levelling_up": [
            mission_tally(ledger, edition),
            funding_and_need(ledger, edition),
        ],
    }
    return [text for text in plans.get(section, []) if text]


def _ranked(ledger: Ledger, edition: EditionData, indicator: str, area: str) -> str | None:
    """'The WMCA area's median pay was the 4th highest of 11 combined authorities.'"""
    figure = edition.figure(indicator, area)
    rank = compare.rank(edition, figure) if figure is not None else None
    if rank is None:
        return None
    where = place(figure)
    return f"{where[0].upper()}{where[1:]}'s {phrase(figure)} was the {ledger.rank(figure, rank)}."


def mission_tally(ledger: Ledger, edition: EditionData) -> str | None:
    """'Of the 10 missions with a figure, the WMCA area does better than the UK on 3 and worse on
    7; since the White Paper, its gap has narrowed on 4 and widened on 2 (1 significantly).'"""
    counts = scorecard.tally(edition)
    if not counts["missions"]:
        return None

    def quoted(name: str, description: str) -> str:
        return ledger.derived(
            f"levelling_up_missions_{name}", description, counts[name], str(counts[name]), "count"
        )

    missions = quoted("missions", "Levelling Up missions with a headline figure and a UK or England figure")
    better = quoted("better", "Missions whose headline figure is better than the UK's (or England's)")
    worse = quoted("worse", "Missions whose headline figure is worse than the UK's (or England's)")
    narrowed = quoted("narrowed", "Missions whose gap to the UK narrowed since the White Paper baseline")
    widened = quoted("widened", "Missions whose gap to the UK widened since the White Paper baseline")
    significant = quoted("significant", "Of those, changes of the gap that are statistically significant")
    return (
        f"Of {missions} missions with a comparable figure, the {edition.focus.label} area (or its region) "
        f"is ahead of the UK or England on {better} and behind on {worse}; since the White Paper the "
        f"gap has narrowed on {narrowed}, widened on {widened} ({significant} significantly)."
    )


def funding_and_need(ledger: Ledger, edition: EditionData) -> str | None:
    """Has Levelling Up Fund money gone to the councils most in need? Rounds 1 to 3 per resident by
    priority category, each category's awards over its residents (never a mean of councils' rates),
    across England's councils the warehouse holds and across the focus area's."""
    funding = edition.funding
    if funding is None:
        return None
    england = {c: funding.group("england", c) for c in (1, 2, 3)}
    focus = {c: funding.group(funding.focus, c) for c in (1, 2, 3)}
    if any(g.per_head is None for g in england.values()):
        return None

    def per_head(scope: str, category: int, group: FundingGroup) -> str:
        where = "England" if scope == "england" else edition.focus.label
        return ledger.derived(
            f"luf_per_head_{scope}_category_{category}",
            f"Levelling Up Fund rounds 1 to 3 per resident, priority category {category}, councils of "
            f"{where} the monitor follows ({group.councils_counted})",
            group.per_head,
            fmt.value(group.per_head, "gbp", 0),
            "gbp",
        )

    councils = funding.group("england", None).councils_counted
    counted = ledger.derived(
        "luf_councils_counted_england",
        "English councils with a Levelling Up Fund priority category and a population estimate here",
        councils,
        str(councils),
        "count",
    )
    amounts = [per_head("england", c, g) for c, g in england.items()]
    text = (
        "Levelling Up Fund rounds 1 to 3, per resident by priority category 1, 2 and 3 (1 is most "
        f"need): {amounts[0]}, {amounts[1]} and {amounts[2]} across the {counted} English councils "
        "this monitor follows"
    )
    verdicts = [f"{_more_or_less(england)} than the least in need in England"]
    if all(g.per_head is not None and g.councils for g in focus.values()):
        mine = [per_head(funding.focus, c, g) for c, g in focus.items()]
        text += f"; {mine[0]}, {mine[1]} and {mine[2]} in the {edition.focus.label} area"
        verdicts.append(f"{_more_or_less(focus)} in the {edition.focus.label} area")
    return f"{text}. The councils most in need got {', '.join(verdicts)}."


def _more_or_less(groups: dict[int, FundingGroup]) -> str:
    most, least = groups[1].per_head, groups[3].per_head
    return "more" if most > least else "less" if most < least else "as much"
