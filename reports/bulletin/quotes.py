"""The ledger of every number an edition quotes: text and tables take their numbers from here, so
the JSON sidecar holds each of them with its indicator, area, period, unit, source and vintage."""

from __future__ import annotations

from reports.bulletin import format as fmt
from reports.bulletin.edition import EditionData, Figure, Revision


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def period_text(figure: Figure) -> str:
    """How the text names a figure's period: APS rates cover the 12 months to their month."""
    label = fmt.period_label(figure.period)
    return f"the 12 months to {label}" if figure.indicator.cadence == "quarterly" else label


class Ledger:
    def __init__(self, edition: EditionData) -> None:
        self.edition = edition
        self._entries: dict[tuple[str, str, str, str], dict] = {}

    def _record(self, figure: Figure, measure: str, raw: float | int | bool | None, display: str) -> str:
        source = self.edition.sources.get(figure.indicator.dataset or "")
        key = (figure.indicator.id, figure.area.code, figure.period, measure)
        self._entries[key] = {
            "indicator": figure.indicator.id,
            "title": figure.indicator.title,
            "area": figure.area.code,
            "area_name": figure.area.name,
            "period": figure.period,
            "measure": measure,
            "value": raw,
            "display": display,
            "unit": "percentage points"
            if measure.startswith(("change", "gap"))
            and figure.indicator.unit == "percent"
            and not measure.endswith("_pct")
            else ("percent" if measure.endswith("_pct") else figure.indicator.unit),
            "source_dataset": figure.indicator.dataset,
            "basis": figure.basis,
            "vintages": figure.vintages.split(",") if figure.vintages else [],
            "release_date": source.release_date.isoformat() if source and source.release_date else None,
        }
        return display

    def value(self, figure: Figure) -> str:
        return self._record(
            figure,
            "value",
            figure.value,
            fmt.value(figure.value, figure.indicator.unit, figure.indicator.decimals),
        )

    def other(self, figure: Figure, measure: str, raw: float | None, unit: str | None = None) -> str:
        """A comparator quoted beside a figure (the UK's value, the previous period's value)."""
        unit = unit or figure.indicator.unit
        return self._record(figure, measure, raw, fmt.value(raw, unit, figure.indicator.decimals))

    def amount(self, figure: Figure, measure: str) -> str:
        """The size of a change or gap, unsigned, in words the sentence can use."""
        raw = getattr(figure, measure)
        unit = figure.indicator.unit
        if raw is None:
            return self._record(figure, measure, None, fmt.MISSING)
        size = abs(raw)
        if unit == "percent":
            display = f"{fmt.number(size, figure.indicator.decimals)} percentage points"
        else:
            display = fmt.value(size, unit, figure.indicator.decimals)
        return self._record(figure, measure, raw, display)

    def signed(self, figure: Figure, measure: str) -> str:
        """A signed change for a table cell: +1,500, −0.2 pp, +£35."""
        raw = getattr(figure, measure)
        return self._record(
            figure, measure, raw, fmt.change(raw, figure.indicator.unit, figure.indicator.decimals)
        )

    def percent(self, figure: Figure, measure: str) -> str:
        raw = getattr(figure, measure)
        return self._record(figure, measure, raw, fmt.percent_change(raw))

    def rank(self, figure: Figure) -> str:
        """'7th of 12': a rank with the number of areas ranked (1st is the highest value)."""
        if figure.rank is None:
            return ""
        return self._record(figure, "rank", figure.rank, f"{ordinal(figure.rank)} of {figure.rank_of}")

    def flag(self, figure: Figure, measure: str, raw: bool, display: str) -> str:
        """A yes/no fact quoted about a figure (e.g. that a change is now significant)."""
        return self._record(figure, measure, raw, display)

    def revision(self, revision: Revision, display: str) -> str:
        """A revised figure quoted as old → new, with the publisher's release."""
        self._entries[(revision.indicator.id, revision.area.code, revision.period, "revision")] = {
            "indicator": revision.indicator.id,
            "title": revision.indicator.title,
            "area": revision.area.code,
            "area_name": revision.area.name,
            "period": revision.period,
            "measure": "revision",
            "value": revision.new_value,
            "previous_value": revision.old_value,
            "display": display,
            "unit": revision.indicator.unit,
            "source_dataset": revision.indicator.dataset,
            "basis": "published",
            "vintages": [],
            "release_date": revision.release_date.isoformat() if revision.release_date else None,
        }
        return display

    def derived(self, name: str, description: str, raw: float, display: str, unit: str) -> str:
        """A number the text computes from quoted figures (e.g. an average), recorded as such."""
        self._entries[("~derived", name, "", "")] = {
            "indicator": None,
            "title": description,
            "area": None,
            "area_name": None,
            "period": None,
            "measure": name,
            "value": raw,
            "display": display,
            "unit": unit,
            "source_dataset": None,
            "basis": "derived",
            "vintages": [],
            "release_date": None,
        }
        return display

    def entries(self) -> list[dict]:
        order = {ind: n for n, ind in enumerate(self.edition.indicators)}
        return [self._entries[key] for key in sorted(self._entries, key=lambda k: (order.get(k[0], 99), k))]
