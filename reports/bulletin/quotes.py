"""The ledger of every number an edition quotes: text and tables take their numbers from here, so
the JSON sidecar holds each of them with its indicator, area, period, unit, source and vintage."""

from __future__ import annotations

from reports.bulletin import format as fmt
from reports.bulletin.compare import Rank, period_label
from reports.bulletin.edition import EditionData, Figure, Revision


class Ledger:
    def __init__(self, edition: EditionData) -> None:
        self.edition = edition
        self._entries: dict[tuple[str, str, str, str], dict] = {}

    def _release_date(self, datasets: tuple[str, ...]) -> str | None:
        """The publisher's release date of the first of `datasets` that states one."""
        for dataset in datasets:
            source = self.edition.sources.get(dataset)
            if source is not None and source.release_date is not None:
                return source.release_date.isoformat()
        return None

    def _record(self, figure: Figure, measure: str, raw: float | int | bool | None, display: str) -> str:
        datasets = figure.indicator.datasets
        key = (figure.indicator.id, figure.area.code, figure.period, measure)
        self._entries[key] = {
            "indicator": figure.indicator.id,
            "title": figure.indicator.title,
            "area": figure.area.code,
            "area_name": figure.area.name,
            "period": figure.period,
            "period_label": period_label(figure, article=False),
            "measure": measure,
            "value": raw,
            "display": display,
            "unit": "percentage points"
            if measure.startswith(("change", "gap"))
            and figure.indicator.unit == "percent"
            and not measure.endswith("_pct")
            else ("percent" if measure.endswith("_pct") else figure.indicator.unit),
            "source_dataset": datasets[0] if datasets else None,
            "source_datasets": list(datasets),
            "source_name": figure.indicator.source_name,
            "basis": figure.basis,
            "vintages": figure.vintages.split(",") if figure.vintages else [],
            "release_date": self._release_date(datasets),
        }
        if measure == "change_year" and figure.indicator.survey:
            # Whether the survey's change is beyond its interval (None: no interval published).
            self._entries[key]["significant"] = figure.significant_year
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

    def amount(self, figure: Figure, measure: str, raw: float | None = None) -> str:
        """The size of a change or gap, unsigned, in words the sentence can use ("down 0.3
        percentage points"); the ledger keeps it signed, as its direction word says."""
        raw = getattr(figure, measure) if raw is None else raw
        unit, decimals = figure.indicator.unit, figure.indicator.decimals
        if raw is None:
            return self._record(figure, measure, None, fmt.MISSING)
        size = abs(raw)
        if unit == "percent":
            words = f"{fmt.number(size, decimals)} percentage points"
        else:
            words = fmt.value(size, unit, decimals)
        self._record(figure, measure, raw, fmt.change(raw, unit, decimals))
        return words

    def signed(self, figure: Figure, measure: str, raw: float | None = None) -> str:
        """A signed change for a table cell: +1,500, −0.2 pp, +£35 (`raw` when not the figure's own
        field, e.g. a gap on printed values)."""
        raw = getattr(figure, measure) if raw is None else raw
        return self._record(
            figure, measure, raw, fmt.change(raw, figure.indicator.unit, figure.indicator.decimals)
        )

    def percent(self, figure: Figure, measure: str) -> str:
        raw = getattr(figure, measure)
        return self._record(figure, measure, raw, fmt.percent_change(raw))

    def real_change(self, figure: Figure, raw: float) -> str:
        """A change on the year in real terms (per cent, signed), worked out beside the figure."""
        return self._record(figure, "change_year_real_pct", raw, fmt.percent_change(raw))

    def rank(self, figure: Figure, rank: Rank, *, short: bool = False) -> str:
        """'3rd lowest of 11 combined authorities' (or '3rd lowest of 11' where the heading names
        the group), counted from the end the text names."""
        self._record(figure, "rank", rank.position, rank.text)
        self._entries[(figure.indicator.id, figure.area.code, figure.period, "rank")]["rank_from"] = rank.end
        return rank.short if short else rank.text

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
