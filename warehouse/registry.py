"""The indicator registry (`indicators.yaml`): validated, then written to the `indicator` table."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from warehouse import db

REGISTRY = resources.files("warehouse") / "indicators.yaml"
CADENCE_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}
SECTIONS = ("labour_market", "pay", "business", "output", "prices", "levelling_up")
# The units of an indicator, as sources.catalog names a series' (a test holds the two lists equal):
# `rate` is per some population (the title says which), `gbp_million` a total in millions of pounds.
Unit = Literal[
    "count", "percent", "gbp", "gbp_million", "index", "ratio", "rate", "rank", "score", "years", "minutes"
]
Level = Literal["council", "combined_authority", "lep_area", "region", "country", "uk"]


class RegistryError(ValueError):
    """The registry file is malformed; the message names the problem."""


class SeriesRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str
    series: str


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    phrase: str
    section: Literal[SECTIONS]  # type: ignore[valid-type]
    core: bool = False
    unit: Unit
    polarity: Literal["higher_is_better", "lower_is_better", "neutral"]
    decimals: int = Field(ge=0, le=4)
    cadence: Literal["monthly", "quarterly", "annual"]
    source: SeriesRef | None = None
    aggregation: Literal["sum", "ratio", "weighted_mean", "published"]
    numerator: SeriesRef | None = None
    denominator: SeriesRef | None = None
    weight: SeriesRef | None = None
    scale: float | None = None
    # The publisher lists only areas that have some (e.g. councils with a successful bid): an area
    # of the indicator's levels with no row has none, rather than a missing figure.
    absent_numerator_is_zero: bool = False
    statistical_status: Literal["accredited", "official", "in_development"]
    levels: tuple[Level, ...]
    definition: str
    caveats: tuple[str, ...] = ()
    # Each of `datasets_in_order()`'s sources as its publisher names it (from `source_names`).
    source_names: tuple[str, ...] = ()
    # A sample survey's estimate: a change is described as a rise or fall only when significant.
    survey: bool = False
    # Whether a rank among areas says anything; None means yes except for counts and ranks, whose
    # size only reflects an area's population (or is itself a rank).
    ranked: bool | None = None
    # The month a year of the indicator starts: 4 for April-to-March years.
    year_starts: int = Field(default=1, ge=1, le=12)
    # How many years one period spans: 3 for a three-year pool (healthy life expectancy).
    years: int = Field(default=1, ge=1, le=10)
    # ONS's own figure for combined authorities, for a calendar year (ONS Explore Local Statistics),
    # against which the monitor's figure for the 12 months to December is checked.
    ons_check: SeriesRef | None = None
    # The Levelling Up White Paper mission (1-12) the indicator measures, if any.
    mission: int | None = Field(default=None, ge=1, le=12)
    # Why the publisher's figure for a composite area may legitimately differ from the sum (or
    # ratio of sums) of its members: the totals check then skips the indicator and says why.
    totals_differ: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Indicator:
        parts = (self.numerator, self.denominator, self.scale)
        if self.aggregation == "ratio" and None in parts:
            raise ValueError(f"{self.id}: a ratio needs numerator, denominator and scale")
        if self.aggregation != "ratio" and parts != (None, None, None):
            raise ValueError(f"{self.id}: numerator/denominator/scale only apply to a ratio")
        if self.aggregation != "ratio" and self.source is None:
            raise ValueError(f"{self.id}: only a ratio can be computed without a source series")
        if (self.aggregation == "weighted_mean") != (self.weight is not None):
            raise ValueError(f"{self.id}: a weighted mean, and only a weighted mean, needs a weight")
        if len(self.source_names) != len(self.datasets_in_order()):
            raise ValueError(f"{self.id}: source_names lacks a name for one of {self.datasets_in_order()}")
        return self

    def datasets_in_order(self) -> tuple[str, ...]:
        """The datasets it is drawn from: its own series's, then the numerator's and the
        denominator's (or weight's), each once."""
        refs = (self.source, self.numerator, self.denominator or self.weight)
        return tuple(dict.fromkeys(ref.dataset for ref in refs if ref is not None))

    @property
    def is_ranked(self) -> bool:
        return self.ranked if self.ranked is not None else self.unit not in ("count", "rank")

    def datasets(self) -> set[str]:
        refs = (self.source, self.numerator, self.denominator, self.weight)
        return {ref.dataset for ref in refs if ref is not None}


@cache
def load_registry() -> dict[str, Indicator]:
    # libyaml's loader when PyYAML has it: the same safe loading, ~10 times faster than pure Python.
    text = REGISTRY.read_text(encoding="utf-8")
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    try:
        names = raw["source_names"]
        return {
            key: Indicator.model_validate({"id": key, **entry, "source_names": _names(entry, names)})
            for key, entry in raw["indicators"].items()
        }
    except (KeyError, TypeError, ValidationError) as error:
        raise RegistryError(f"indicator registry is malformed:\n{error}") from None


def _names(entry: dict, names: dict[str, str]) -> tuple[str, ...]:
    """The publisher's names of an entry's datasets, in `Indicator.datasets_in_order()`'s order."""
    refs = (entry.get("source"), entry.get("numerator"), entry.get("denominator") or entry.get("weight"))
    datasets = dict.fromkeys(ref["dataset"] for ref in refs if isinstance(ref, dict) and "dataset" in ref)
    missing = [d for d in datasets if d not in names]
    if missing:
        raise KeyError(f"source_names has no name for dataset {', '.join(missing)}")
    return tuple(names[d] for d in datasets)


def write_registry(con: duckdb.DuckDBPyConnection, registry: dict[str, Indicator]) -> None:
    """Replace the indicator table with the registry, in one statement, or none when it holds the
    registry already (every run writes it)."""
    rows = [
        [
            ind.id,
            ind.title,
            ind.section,
            ind.core,
            ind.unit,
            ind.polarity,
            ind.decimals,
            ind.cadence,
            CADENCE_MONTHS[ind.cadence],
            ind.source and ind.source.dataset,
            ind.source and ind.source.series,
            ind.aggregation,
            ind.numerator and ind.numerator.dataset,
            ind.numerator and ind.numerator.series,
            # A weighted mean's weight is its denominator: sum(w * x) / sum(w).
            (ind.denominator or ind.weight) and (ind.denominator or ind.weight).dataset,
            (ind.denominator or ind.weight) and (ind.denominator or ind.weight).series,
            ind.scale,
            ind.absent_numerator_is_zero,
            ind.statistical_status,
            list(ind.levels),
            ind.definition,
            list(ind.caveats),
            ind.phrase,
            list(ind.source_names),
            ind.survey,
            ind.is_ranked,
            ind.year_starts,
            ind.totals_differ,
            ind.years,
            ind.mission,
            ind.ons_check and ind.ons_check.dataset,
            ind.ons_check and ind.ons_check.series,
        ]
        for ind in registry.values()
    ]
    with db.transaction(con):
        db.replace_rows(con, "indicator", rows)
