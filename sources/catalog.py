"""The dataset catalog (`catalog.yaml`): a data file, validated on load with a clear error."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CATALOG_PATH = Path(__file__).with_name("catalog.yaml")

Publisher = Literal["nomis", "ons_api", "ons_web", "landregistry", "govuk"]
Cadence = Literal["monthly", "quarterly", "annual"]


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the file and the problem."""


class SeriesSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    unit: Literal["count", "percent", "gbp", "index", "ratio", "rank", "score"]
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


class DatasetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    publisher: Publisher
    title: str
    source_id: str
    cadence: Cadence
    load_policy: Literal["merge"]
    request_composites: bool = False
    # A regular expression matched against the titles of the ONS release calendar: the releases
    # that bring this dataset new data (the release watch polls it on those days).
    release: str | None = None
    query: dict[str, str] = {}
    series: tuple[SeriesSpec, ...]


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
