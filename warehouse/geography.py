"""Areas from a data file: the focus area, its members and comparators, written to the warehouse.

`EIM_AREA` names a packaged file in `warehouse/areas/`; another area is a new file, not code.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from warehouse import db

AREAS = resources.files("warehouse") / "areas"
# A GSS code, or a local code for an area the ONS does not define (e.g. the WMCA 3-LEP area).
AREA_CODE = r"^([EKWSN]\d{8}|LOCAL-[A-Z0-9-]+)$"
Level = Literal["council", "combined_authority", "lep_area", "region", "country", "uk"]


class AreaFileError(ValueError):
    """The area file is missing or malformed; the message names the file and the problem."""


class Area(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=AREA_CODE)
    name: str = Field(min_length=1)
    short_name: str = ""
    level: Level
    members: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.short_name or self.name


class AreaSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    focus: str = Field(pattern=AREA_CODE)
    roles: dict[Literal["region", "england", "uk"], str]
    areas: tuple[Area, ...]
    rank_sets: dict[str, tuple[str, ...]] = {}
    bulletin_areas: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _codes_resolve(self) -> AreaSet:
        codes = [area.code for area in self.areas]
        duplicated = {code for code in codes if codes.count(code) > 1}
        if duplicated:
            raise ValueError(f"area codes listed twice: {', '.join(sorted(duplicated))}")
        known = set(codes)
        for role, code in [("focus", self.focus), *self.roles.items()]:
            if code not in known:
                raise ValueError(f"{role} area {code} is not in the areas list")
        for set_name, members in [*self.rank_sets.items(), ("bulletin_areas", self.bulletin_areas)]:
            unknown = set(members) - known
            if unknown:
                raise ValueError(f"{set_name} lists areas not in the list: {sorted(unknown)}")
        for area in self.areas:
            unknown = set(area.members) - known
            if unknown:
                raise ValueError(f"{area.code} has members not in the list: {sorted(unknown)}")
            nested = [m for m in area.members if self.by_code[m].members]
            if nested:
                raise ValueError(f"{area.code} has composite members: {nested}")
            if len(set(area.members)) != len(area.members):
                raise ValueError(f"{area.code} lists a member twice")
        return self

    @cached_property
    def by_code(self) -> dict[str, Area]:
        return {area.code: area for area in self.areas}

    def resolve(self, given: str) -> str:
        """The code of the area `given` names: its code, or a name or short name (any case) that only
        one area has (else the one whose name contains it). AreaFileError lists the matches of an
        ambiguous name, or the bulletin's areas for one that matches none."""
        text = given.strip()
        if text.upper() in self.by_code:
            return text.upper()
        matches = [a for a in self.areas if text.casefold() in (a.name.casefold(), a.label.casefold())]
        if not matches:
            matches = [a for a in self.areas if text.casefold() in a.name.casefold()]
        if len(matches) == 1:
            return matches[0].code
        if matches:
            found = ", ".join(f"{a.name} ({a.code})" for a in matches)
            raise AreaFileError(f"{given!r} could be any of {found}: give the code")
        shown = ", ".join(f"{self.by_code[c].label} ({c})" for c in self.bulletin)
        raise AreaFileError(
            f"{given!r} is not an area of this monitor ({self.name}): its bulletin areas are {shown}; "
            f'`eim query "SELECT code, name FROM area"` lists all {len(self.areas)}'
        )

    @property
    def bulletin(self) -> tuple[str, ...]:
        """The bulletin's table rows: as listed, or the focus, its members and the comparators."""
        if self.bulletin_areas:
            return self.bulletin_areas
        focus = self.by_code[self.focus]
        return (focus.code, *focus.members, *self.roles.values())

    @property
    def published_composite_codes(self) -> list[str]:
        """Composite areas with GSS codes, which some publishers compute themselves."""
        return [area.code for area in self.areas if area.members and not area.code.startswith("LOCAL-")]

    @property
    def fetch_codes(self) -> list[str]:
        """Areas the publishers are asked for: every area that is not computed from members."""
        return [area.code for area in self.areas if not area.members]


def packaged_area_names() -> list[str]:
    return sorted(
        entry.name.removesuffix(".yaml") for entry in AREAS.iterdir() if entry.name.endswith(".yaml")
    )


def _read_yaml(source: str, text: str) -> dict:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise AreaFileError(f"area file {source} is not valid YAML:\n{error}") from None
    if not isinstance(raw, dict):
        raise AreaFileError(f"area file {source}: expected a mapping at the top level")
    return raw


def _with_includes(raw: dict, source: str) -> dict:
    """Merge `include:`d common files (areas and rank sets) under the file's own entries."""
    includes = raw.pop("include", [])
    if not isinstance(includes, list):
        raise AreaFileError(f"area file {source}: `include` must be a list of names")
    listed = [area for area in raw.get("areas") or [] if isinstance(area, dict)]
    codes = [area.get("code") for area in listed]
    if twice := sorted({str(c) for c in codes if codes.count(c) > 1}):
        raise AreaFileError(f"area file {source} lists an area code more than once: {', '.join(twice)}")
    own = {area.get("code"): area for area in listed}
    merged_areas, rank_sets = [], {}
    for name in includes:
        common = AREAS / "common" / f"{name}.yaml"
        if not common.is_file():
            raise AreaFileError(f"area file {source} includes {name!r}, which is not a packaged file")
        included = _read_yaml(f"common/{name}.yaml", common.read_text(encoding="utf-8"))
        merged_areas += [a for a in included.get("areas", []) if a.get("code") not in own]
        rank_sets.update(included.get("rank_sets", {}))
    raw["areas"] = merged_areas + list(own.values())
    raw["rank_sets"] = {**rank_sets, **(raw.get("rank_sets") or {})}
    return raw


@lru_cache(maxsize=16)
def load_area_file(name: str | None = None, path: Path | None = None) -> AreaSet:
    """Load a packaged area file by name, or a custom one by path (which may include common files)."""
    if path is None:
        name = name or "west-midlands"
        if name not in packaged_area_names():
            raise AreaFileError(
                f"unknown area {name!r}; packaged areas: {', '.join(packaged_area_names())} "
                "(or set EIM_AREA_FILE to a file of your own)"
            )
        source, text = f"{name}.yaml", (AREAS / f"{name}.yaml").read_text(encoding="utf-8")
    else:
        try:
            source, text = str(path), path.read_text(encoding="utf-8")
        except OSError as error:
            raise AreaFileError(f"cannot read area file {path}: {error}") from None
    try:
        return AreaSet.model_validate(_with_includes(_read_yaml(source, text), source))
    except ValidationError as error:
        raise AreaFileError("\n".join(_problems(source, error))) from None


def _problems(source: str, error: ValidationError) -> list[str]:
    """One line per problem: the file, where in it (key path, list items counted from 1), what is wrong."""
    lines = []
    for item in error.errors(include_url=False):
        where = "".join(f"[{p + 1}]" if isinstance(p, int) else f".{p}" for p in item["loc"]).lstrip(".")
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "not a key an area file may have"
        elif item["type"] == "string_pattern_mismatch":
            message = f"{item['input']!r} is not a GSS code (e.g. E08000025) or a LOCAL- code"
        lines.append(f"area file {source}: {where or 'the file'}: {message}")
    return lines


def write_areas(con: duckdb.DuckDBPyConnection, area_set: AreaSet) -> None:
    """Replace the area tables with this area set, in one transaction (one statement per table,
    and none for a table that holds these rows already: every run writes them)."""
    areas = [
        (area.code, area.name, area.label, area.level, bool(area.members), order)
        for order, area in enumerate(area_set.areas)
    ]
    members = [(area.code, member) for area in area_set.areas for member in area.members]
    roles = [("focus", area_set.focus), *area_set.roles.items()]
    sets = [
        (set_name, code, order)
        for set_name, codes in [*area_set.rank_sets.items(), ("bulletin", area_set.bulletin)]
        for order, code in enumerate(codes)
    ]
    with db.transaction(con):
        for table, rows in (
            ("area", areas),
            ("area_member", members),
            ("area_role", roles),
            ("area_set", sets),
        ):
            db.replace_rows(con, table, rows)
