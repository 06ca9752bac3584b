"""The dataset catalog (`catalog.yaml`): a data file, validated on load with a clear error."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CATALOG_PATH = Path(__file__).with_name("catalog.yaml")

Publisher = Literal["nomis", "ons_api", "ons_web", "ons_datasets", "landregistry", "govuk", "els"]
# The units of a series and of an indicator: `rate` is per some population (the title says which),
# `gbp_million` a total in millions of pounds.
Unit = Literal[
    "count", "percent", "gbp", "gbp_million", "index", "ratio", "rate", "rank", "score", "years", "minutes"
]
# "one-off": a release not repeated on a schedule (IoD 2019, the Levelling Up Fund rounds); never stale.
Cadence = Literal["monthly", "quarterly", "annual", "one-off"]


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the file and the problem."""


class SeriesSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    unit: Unit
    match: dict[str, str]
    labels: dict[str, str] = {}
    # Nomis: the row that carries this series' sampling uncertainty (same codes, these overridden),
    # as a 95% half-width (APS "Confidence") or a coefficient of variation in per cent (ASHE).
    interval: dict[str, str] = {}
    interval_kind: Literal["half_width", "cv_percent"] | None = None

    @model_validator(mode="after")
    def _interval_complete(self) -> SeriesSpec:
        if bool(self.interval) != bool(self.interval_kind):
            raise ValueError(f"series {self.name}: interval and interval_kind go together")
        return self

    @field_validator("labels")
    @classmethod
    def _labels_compile(cls, labels: dict[str, str]) -> dict[str, str]:
        for column, pattern in labels.items():
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"label pattern for {column} is not a regex: {error}") from None
        return labels


class SumSpec(BaseModel):
    """A series that is the sum of other series of its dataset (two age bands, say), for every area
    and period; missing unless every part has a value there, never a partial sum. Parts keep their
    rows, unlike those of a Nomis series whose `match` lists several codes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    of: tuple[str, ...] = Field(min_length=2)


FULL_WINDOW = re.compile(r"^latestMINUS(\d+)-latest$")
# A month holds 28 days at least: a full refresh at most this often leaves no month between a
# recent window and the one before it, however many releases a pause of the monitor skipped.
DAYS_PER_MONTH_AT_LEAST = 28


class RecentWindow(BaseModel):
    """At a release, ask a Nomis dataset for its newest `months` periods only; ask for the whole
    `time` window again once the older periods were last confirmed `full_refresh_days` ago.

    The older periods are then asked for on their own (`latestMINUS{n}-latestMINUS{months}`), so a
    run with nothing new confirms both parts with 304s. The load policy must be `merge`, which keeps
    the older values a recent vintage does not repeat."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    months: int = Field(ge=2)
    full_refresh_days: int = Field(ge=1)


class DatasetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    publisher: Publisher
    title: str
    source_id: str
    cadence: Cadence
    load_policy: Literal["merge"]
    request_composites: bool = False
    # The publisher lists only the areas that have some (successful bids): a council without a row
    # has none, so the completeness check does not expect every council.
    lists_only_areas_with_some: bool = False
    # A regular expression matched against the titles of the ONS release calendar: the releases
    # that bring this dataset new data (the release watch polls it on those days).
    release: str | None = None
    query: dict[str, str] = {}
    recent: RecentWindow | None = None
    series: tuple[SeriesSpec, ...]
    sums: tuple[SumSpec, ...] = ()

    @model_validator(mode="after")
    def _sums_of_own_series(self) -> DatasetSpec:
        units = {series.name: series.unit for series in self.series}
        for total in self.sums:
            if self.publisher != "nomis":
                raise ValueError(f"dataset {self.id}: `sums` are read for Nomis datasets only")
            if total.name in units:
                raise ValueError(f"dataset {self.id}: sum {total.name} is also a series")
            unknown = [part for part in total.of if part not in units]
            if unknown:
                raise ValueError(f"dataset {self.id}: sum {total.name} adds unknown series {unknown}")
            if len({units[part] for part in total.of}) != 1:
                raise ValueError(f"dataset {self.id}: sum {total.name} adds series of different units")
        return self

    def series_names(self) -> list[str]:
        """The names of every series the dataset's observations carry, its sums included."""
        return [series.name for series in self.series] + [total.name for total in self.sums]

    @model_validator(mode="after")
    def _recent_window_fits(self) -> DatasetSpec:
        if self.recent is None:
            return self
        window = FULL_WINDOW.match(self.query.get("time", ""))
        if self.publisher != "nomis" or window is None:
            raise ValueError(
                f"dataset {self.id}: `recent` needs a Nomis query whose time is latestMINUSn-latest"
            )
        if int(window[1]) < self.recent.months:
            raise ValueError(f"dataset {self.id}: the recent window is not shorter than the whole window")
        most = DAYS_PER_MONTH_AT_LEAST * (self.recent.months - 1)
        if self.recent.full_refresh_days > most:
            raise ValueError(
                f"dataset {self.id}: full_refresh_days {self.recent.full_refresh_days} could leave a "
                f"month unasked between two recent windows of {self.recent.months} months; at most {most}"
            )
        return self

    def request_queries(self, *, full: bool) -> list[dict[str, str]]:
        """The queries of one fetch: the whole window, or (with `recent`) its older periods and its
        newest ones, or the newest ones alone when `full` is False."""
        if self.recent is None:
            return [self.query]
        window = FULL_WINDOW.match(self.query["time"])
        months = self.recent.months
        newest = {**self.query, "time": f"latestMINUS{months - 1}-latest"}
        if not full:
            return [newest]
        return [{**self.query, "time": f"latestMINUS{window[1]}-latestMINUS{months}"}, newest]


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    datasets: dict[str, DatasetSpec]

    def get(self, dataset_id: str) -> DatasetSpec:
        try:
            return self.datasets[dataset_id]
        except KeyError:
            known = ", ".join(sorted(self.datasets))
            raise CatalogError(f"unknown dataset {dataset_id!r}; the catalog has: {known}") from None


def load_catalog(path: Path | None = None) -> Catalog:
    path = path or CATALOG_PATH
    try:
        # libyaml's loader when PyYAML has it: the same safe loading, ~10 times faster than pure Python
        # (the read-only commands read the catalog at every start).
        text = path.read_text(encoding="utf-8")
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as error:
        raise CatalogError(f"cannot read catalog {path}: {error}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("datasets"), dict):
        raise CatalogError(f"catalog {path}: expected a mapping with a 'datasets' mapping")
    for dataset_id, spec in raw["datasets"].items():
        if isinstance(spec, dict):
            spec.setdefault("id", dataset_id)
    try:
        return Catalog.model_validate(raw)
    except ValidationError as error:
        raise CatalogError(f"catalog {path} is malformed:\n{error}") from None


@cache
def default_catalog() -> Catalog:
    return load_catalog()
