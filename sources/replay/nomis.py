"""Nomis emulated: `/api/v01/dataset/{ID}.data.csv` with its exact columns, status markers and
`recordOffset` paging, over the illustrative samples of `sources.replay.samples`."""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sources.replay import samples
from sources.replay.reply import Reply

DIMENSION_SUFFIXES = ("", "_NAME", "_CODE", "_TYPE", "_TYPECODE", "_SORTORDER")
TRAILING_COLUMNS = (
    "MEASURES",
    "MEASURES_NAME",
    "OBS_VALUE",
    "OBS_STATUS",
    "OBS_STATUS_NAME",
    "OBS_CONF",
    "OBS_CONF_NAME",
    "URN",
    "RECORD_OFFSET",
    "RECORD_COUNT",
)
MEASURES_LABELS = {
    "20100": "Value",
    "20599": "Variable",
    "21001": "Numerator",
    "21002": "Denominator",
    "21003": "Confidence",
    "20701": "Confidence",
}
MONTH_NAMES = calendar.month_name[1:]


@dataclass(frozen=True)
class Dimension:
    name: str  # e.g. GENDER
    query: str  # the query parameter that selects it, e.g. gender
    labels: dict[str, str]  # code -> label


Value = Callable[["NomisEmulator", str, dict[str, str], str, str], float | None]


@dataclass(frozen=True)
class NomisDataset:
    dimensions: tuple[Dimension, ...]
    periods: Callable[[dt.date], list[str]]
    value: Value


def _months(today: dt.date) -> list[str]:
    latest = samples.latest_claimant_month(today)
    index = latest.year * 12 + latest.month - 1
    return [f"{i // 12}-{i % 12 + 1:02d}" for i in range(index - 119, index + 1)]


def _years(latest: Callable[[dt.date], int]) -> Callable[[dt.date], list[str]]:
    return lambda today: [str(y) for y in range(latest(today) - 14, latest(today) + 1)]


def _quarters(today: dt.date) -> list[str]:
    return [f"{d:%Y-%m}" for d in samples.quarter_ends(today)]


def _population_year(emulator: NomisEmulator, month: dt.date) -> int:
    return min(month.year, samples.latest_population_year(emulator.today))


def _claimants(emulator: NomisEmulator, code: str, dims: dict[str, str], measure: str, period: str) -> float:
    month = dt.date.fromisoformat(period + "-01")
    counts = {
        "0": samples.claimant_count,
        "10": samples.claimant_count_16_17,
        "11": samples.youth_claimant_count,
    }[dims["AGE"]]
    count = emulator.total(code, lambda c: counts(c, month))
    if dims["MEASURE"] == "1":
        return count
    residents = {
        "0": samples.residents_16_64,
        "10": samples.residents_16_17,
        "11": samples.residents_18_24,
    }[dims["AGE"]]
    year = _population_year(emulator, month)
    return round(count / emulator.total(code, lambda c: residents(c, year)) * 100, 1)


def _population(emulator: NomisEmulator, code: str, dims: dict[str, str], measure: str, period: str) -> float:
    year, age = int(period), dims["C_AGE"]
    if age == "200":
        return emulator.total(code, lambda c: samples.residents_all_ages(c, year))
    if age == "203":
        return emulator.total(code, lambda c: samples.residents_16_64(c, year))
    if age in ("117", "118"):  # ages 16 and 17, about half the band each
        share = 0.48 + 0.04 * samples.unit_hash("age", age)
        return emulator.total(code, lambda c: int(samples.residents_16_17(c, year) * share))
    share = 0.13 + 0.02 * samples.unit_hash("age", age)  # single years 18-24 split the band unevenly
    return emulator.total(code, lambda c: int(samples.residents_18_24(c, year) * share))


def _aps(emulator: NomisEmulator, code: str, dims: dict[str, str], measure: str, period: str) -> float:
    end = dt.date.fromisoformat(period + "-01")
    variable = dims["VARIABLE"]

    def denominator(c: str) -> int:
        return samples.aps_counts(c, variable, end)[1]

    def numerator(c: str) -> int:
        return samples.aps_counts(c, variable, end)[0]

    num, den = emulator.total(code, numerator), emulator.total(code, denominator)
    if measure == "21001":
        return num
    if measure == "21002":
        return den
    rate = num / den * 100
    if measure == "20599":
        return round(rate, 1)
    # A 95% half-width from a sample of about one in 300 residents.
    return round(1.96 * (rate * (100 - rate) / max(den / 300, 1)) ** 0.5, 1)


def _ashe(place: str) -> Value:
    def value(emulator: NomisEmulator, code: str, dims: dict[str, str], measure: str, period: str) -> float:
        # A composite's median, illustratively its parts' medians weighted by their residents.
        year = int(period)
        parts = emulator.leaves(code)
        weights = [samples.residents_16_64(c, year) for c in parts]
        pay = sum(w * samples.median_weekly_pay(c, year, place) for c, w in zip(parts, weights, strict=True))
        pay /= sum(weights)
        return round(pay, 1) if measure == "20100" else round(2.0 + 4 * samples.unit_hash("cv", code), 1)

    return value


def _annual(count: Callable[[str, int], int]) -> Value:
    def value(emulator: NomisEmulator, code: str, dims: dict[str, str], measure: str, period: str) -> float:
        return emulator.total(code, lambda c: count(c, int(period)))

    return value


def _jobs_density(
    emulator: NomisEmulator, code: str, dims: dict[str, str], measure: str, period: str
) -> float:
    year = int(period)
    jobs = emulator.total(code, lambda c: samples.total_jobs(c, year))
    if dims["ITEM"] == "1":
        return jobs
    return round(jobs / emulator.total(code, lambda c: samples.residents_16_64(c, year)), 2)


GENDER = Dimension("GENDER", "gender", {"0": "Total"})
ASHE_DIMENSIONS = (
    Dimension("SEX", "sex", {"8": "Full Time Workers"}),
    Dimension("ITEM", "item", {"2": "Median"}),
    Dimension("PAY", "pay", {"1": "Weekly pay - gross"}),
)
NOMIS_DATASETS = {
    "NM_162_1": NomisDataset(
        dimensions=(
            GENDER,
            Dimension("AGE", "age", {"0": "All categories: Age 16+", "10": "Aged 16-17", "11": "Aged 18-24"}),
            Dimension(
                "MEASURE",
                "measure",
                {
                    "1": "Claimant count",
                    "2": "Claimants as a proportion of residents aged 16-64",
                },
            ),
        ),
        periods=_months,
        value=_claimants,
    ),
    "NM_2002_1": NomisDataset(
        dimensions=(
            GENDER,
            Dimension(
                "C_AGE",
                "c_age",
                {
                    "200": "All Ages",
                    "203": "Aged 16 - 64",
                    **{str(101 + age): f"Age {age}" for age in range(16, 25)},
                },
            ),
        ),
        periods=_years(samples.latest_population_year),
        value=_population,
    ),
    "NM_17_5": NomisDataset(
        dimensions=(
            Dimension(
                "VARIABLE",
                "variable",
                {
                    "45": "Employment rate - aged 16-64",
                    "83": "Unemployment rate - aged 16+",
                    "111": "% who are economically inactive - aged 16-64",
                },
            ),
        ),
        periods=_quarters,
        value=_aps,
    ),
    "NM_30_1": NomisDataset(ASHE_DIMENSIONS, _years(lambda t: t.year - 1), _ashe("residence")),
    "NM_99_1": NomisDataset(ASHE_DIMENSIONS, _years(lambda t: t.year - 1), _ashe("workplace")),
    "NM_142_1": NomisDataset(
        dimensions=(
            Dimension("INDUSTRY", "industry", {"37748736": "Total"}),
            Dimension("EMPLOYMENT_SIZEBAND", "employment_sizeband", {"0": "Total"}),
            Dimension("LEGAL_STATUS", "legal_status", {"0": "Total"}),
        ),
        periods=_years(lambda t: t.year),
        value=_annual(samples.enterprises),
    ),
    "NM_189_1": NomisDataset(
        dimensions=(
            Dimension("INDUSTRY", "industry", {"37748736": "Total"}),
            Dimension("EMPLOYMENT_STATUS", "employment_status", {"1": "Employees"}),
            Dimension("MEASURE", "measure", {"1": "Count"}),
        ),
        periods=_years(lambda t: t.year - 2),
        value=_annual(samples.employees),
    ),
    "NM_57_1": NomisDataset(
        dimensions=(Dimension("ITEM", "item", {"1": "Total jobs", "3": "Jobs density"}),),
        periods=_years(lambda t: t.year - 2),
        value=_jobs_density,
    ),
}


def select_periods(expression: str, periods: list[str]) -> list[str]:
    """Nomis `time`: `latest`, `latestMINUSn`, ranges `a-b` of those or of explicit periods, where
    `latestMINUSn` is the n-th available period before the newest. A bound before the first period
    selects nothing before it."""

    def resolve(token: str) -> int:
        if token == "latest":
            return len(periods) - 1
        if m := re.fullmatch(r"latestMINUS(\d+)", token):
            return len(periods) - 1 - int(m[1])
        return periods.index(token)

    chosen: list[str] = []
    for part in expression.split(","):
        bounds = re.fullmatch(r"(latest(?:MINUS\d+)?|[\d-]+?)-(latest(?:MINUS\d+)?|[\d-]+)", part)
        if bounds:
            start, end = max(resolve(bounds[1]), 0), resolve(bounds[2])
            chosen.extend(periods[start : end + 1] if end >= 0 else [])
        elif (index := resolve(part)) >= 0:
            chosen.append(periods[index])
    return chosen


def _period_name(period: str) -> str:
    if len(period) == 7:
        return f"{MONTH_NAMES[int(period[5:]) - 1]} {period[:4]}"
    return period


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(value)


class NomisEmulator:
    def __init__(
        self, today: dt.date, names: dict[str, str], members: dict[str, tuple[str, ...]], page_limit: int
    ) -> None:
        self.today = today
        self.names = names
        self.members = members
        self.page_limit = page_limit

    def leaves(self, code: str) -> list[str]:
        """The areas with values of their own that `code` is made of (itself, if it is one)."""
        members = self.members.get(code)
        return [leaf for member in members for leaf in self.leaves(member)] if members else [code]

    def total(self, code: str, value: Callable[[str], float]) -> float:
        """A composite area's figure is its parts' total, as the publisher computes it."""
        return sum(value(leaf) for leaf in self.leaves(code))

    def rows(self, source_id: str, query: dict[str, str]) -> Iterator[list[str]]:
        spec = NOMIS_DATASETS[source_id]
        geographies = query["geography"].split(",")
        unknown = [g for g in geographies if g not in self.names]
        if unknown:
            raise LookupError(f"unknown geography {', '.join(unknown)}")
        choices = []
        for dim in spec.dimensions:
            codes = query.get(dim.query, next(iter(dim.labels))).split(",")
            for code in codes:
                if code not in dim.labels:
                    raise LookupError(f"unknown {dim.query} code {code}")
            choices.append([(dim, code) for code in codes])
        measures = query.get("measures", "20100").split(",")
        periods = select_periods(query.get("time", "latest"), spec.periods(self.today))
        for p_order, period in enumerate(periods):
            for g_order, code in enumerate(geographies):
                for combo in itertools.product(*choices):
                    for measure in measures:
                        dims = {dim.name: c for dim, c in combo}
                        value = spec.value(self, code, dims, measure, period)
                        row = [period, _period_name(period), period, "date", "0", str(p_order)]
                        row += [str(2013265900 + g_order), self.names[code], code, "areas", "0", str(g_order)]
                        for dim, c in combo:
                            row += [c, dim.labels[c], c, dim.name.lower(), "0", c]
                        row += [
                            measure,
                            MEASURES_LABELS[measure],
                            _number(value),
                            "A",
                            "Normal Value",
                            "F",
                            "Free (free for publication)",
                            "",
                        ]
                        yield row

    def reply(self, source_id: str, query: dict[str, str]) -> Reply:
        if source_id not in NOMIS_DATASETS:
            return Reply(404, b"Dataset not found")
        try:
            all_rows = list(self.rows(source_id, query))
        except (LookupError, ValueError) as error:
            return Reply(400, str(error).encode())
        offset = int(query.get("recordOffset", "0"))
        page = all_rows[offset : offset + self.page_limit]
        spec = NOMIS_DATASETS[source_id]
        header = [f"DATE{s}" for s in DIMENSION_SUFFIXES]
        header += [f"GEOGRAPHY{s}" for s in DIMENSION_SUFFIXES]
        for dim in spec.dimensions:
            header += [f"{dim.name}{s}" for s in DIMENSION_SUFFIXES]
        header += TRAILING_COLUMNS
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for index, row in enumerate(page, start=offset):
            row[-1:] = [f"{source_id}-{index}", str(index), str(len(all_rows))]
            writer.writerow(row)
        return Reply(200, out.getvalue().encode(), "text/csv; charset=utf-8")
