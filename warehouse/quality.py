"""Data-quality checks on the current observations (the latest vintage of every value).

`run_checks` runs every check for the datasets named, stores one row per dataset and check in
`quality_check` (migration 006) under one run id, and returns the results. The checks:

  required_columns  error    period, period_date, unit and status are set; the period agrees with its
                             date; a value is a finite number
  missing_values    error    a value is NULL only when its status marks it missing (Nomis `Q`, `missing`,
                             the ONS shorthand `x`, `..`, `c`, `z`), never with a normal status (`A`, `ok`);
                             and a value marked missing is NULL
  completeness      warning  every focus code has a row for the dataset's latest period, in each series
                             that covers the focus councils
  ranges            error    rate series (unit percent, name ending `_rate`, not a change) within 0-100;
                             counts not negative
  continuity        warning  no missing period (monthly / quarterly / annual, from the dataset's
                             cadence) inside the span of each series and area
  jump              warning  the latest period-on-period change is more than 4 standard deviations
                             from the series' own past changes for that area ("flagged")
  extreme_jump      blocker  more than 8 standard deviations, or a count changing by more than 50%:
                             blocks publishing until looked at (`eim bulletin --force` overrides)
  mass_revision     blocker  the dataset's newest vintage revises more than half of a series' earlier
                             values (at least 12 of them) by more than the series' own spread: a
                             rebased index, a changed definition or a shifted column, which the jump
                             checks cannot see because a uniform shift leaves every change alone

After the models are built, `run_model_checks` compares the monitor's totals with the publishers'
(stored under the name `indicators`):

  aggregate_totals  blocker  where a publisher publishes its own figure for a composite area (a
                             combined authority's row) that the monitor also builds from the
                             members, the two agree: counts within the publishers' rounding and
                             suppression (5 per member, or 0.5%), rates and ratios within one unit of
                             the printed precision; an indicator the registry marks `totals_differ`
                             is skipped, with the registry's reason
  containment       blocker  no count of a part exceeds its whole's: a member its composite's, the
                             focus area its region's, the region England's, England the UK's

A check that does not apply (no council coverage, unknown cadence, too little history) passes with
severity `info` and says why. `latest_checks` gives, for each dataset, the results of the newest run
that checked it; `blocking` lists the blocker failures among them, for the publication gate.
Nothing here imports Prefect.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import asdict, dataclass

import duckdb

from warehouse.db import query

SEVERITIES = ("info", "warning", "error", "blocker")
# Statuses that mean "the publisher gives no value": Nomis, ONS time series / Land Registry /
# GOV.UK, and the GSS symbols the ONS API uses (bare or in brackets).
MISSING_STATUSES = frozenset({"Q", "missing", "x", "..", "c", "z", "[x]", "[c]", "[z]"})
CADENCE_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}
# Series that are changes, not shares, and so may be negative (house price annual change, CPI).
CHANGE_MARKERS = ("change", "annual_rate")
Z_WARNING = 4.0
Z_BLOCKER = 8.0
COUNT_JUMP_BLOCKER = 0.5  # a count changing by more than half in one period
MIN_HISTORY = 6  # past changes needed before a z-score means anything
# The spread a z-score divides by is at least this share of the previous value, so that a series
# that grows almost perfectly steadily (population estimates) is not flagged for a change of a
# fraction of a per cent.
SD_FLOOR_RELATIVE = 0.005
EXAMPLES = 8  # how many offending rows a detail names
# Publishers revise the last few periods as a matter of course (Land Registry: about a year of house
# prices); what no routine release does is move most of a series' history by more than its own spread.
MASS_REVISION_SHARE = 0.5
MASS_REVISION_MIN_VALUES = 12
# The model's checks are stored under this name, beside the datasets'.
MODEL_CHECKS = "indicators"
# Publishers round each area's count (Nomis to 5 or 10) and suppress small ones: a composite's own
# figure may differ from the sum of its members' by this much per member, or by this share of it.
ROUNDING_PER_MEMBER = 5
TOTALS_RELATIVE = 0.005


@dataclass(frozen=True)
class CheckResult:
    dataset: str
    check: str
    severity: str
    passed: bool
    detail: str
    rows_affected: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


# The current observations of the datasets asked for (the latest vintage of every key): a temporary
# table `qc_current` that every check reads, dropped when they are done.
CURRENT = query("quality/current")
DROP_CURRENT = query("quality/drop_current")


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _by_dataset(rows: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["dataset"], []).append(row)
    return grouped


def _examples(items: list[str]) -> str:
    shown = "; ".join(items[:EXAMPLES])
    more = len(items) - EXAMPLES
    return shown + (f"; and {more} more" if more > 0 else "")


def _fmt(value: float | None) -> str:
    return "NULL" if value is None else f"{value:g}"


REQUIRED_COLUMNS = query("quality/required_columns")


def check_required_columns(con: duckdb.DuckDBPyConnection, datasets: list[str]) -> list[CheckResult]:
    rows = _rows(con, REQUIRED_COLUMNS)
    found = _by_dataset(rows)
    results = []
    for dataset in datasets:
        bad = found.get(dataset, [])
        if bad:
            detail = _examples(
                [f"{r['series']} {r['geography_code']} {r['period']}: {r['problem']}" for r in bad]
            )
            results.append(CheckResult(dataset, "required_columns", "error", False, detail, len(bad)))
        else:
            results.append(
                CheckResult(
                    dataset,
                    "required_columns",
                    "error",
                    True,
                    "period, period_date, unit and status set; periods agree with dates; values finite",
                )
            )
    return results


MISSING_VALUES = query("quality/missing_values")


def check_missing_values(con: duckdb.DuckDBPyConnection, datasets: list[str]) -> list[CheckResult]:
    rows = _rows(con, MISSING_VALUES, [sorted(MISSING_STATUSES)])
    found = _by_dataset(rows)
    results = []
    for dataset in datasets:
        bad = found.get(dataset, [])
        if bad:
            items = [
                f"{r['series']} {r['geography_code']} {r['period']}: value NULL with status {r['status']!r}"
                if r["value"] is None
                else f"{r['series']} {r['geography_code']} {r['period']}: value {_fmt(r['value'])} "
                f"with missing status {r['status']!r}"
                for r in bad
            ]
            results.append(CheckResult(dataset, "missing_values", "error", False, _examples(items), len(bad)))
        else:
            results.append(
                CheckResult(
                    dataset, "missing_values", "error", True, "values are NULL only where marked missing"
                )
            )
    return results


ABSENT_MEANS_NONE = query("quality/absent_means_none")


def _absent_means_none(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Datasets that list only the areas that have some: the registry treats an absent row as 0."""
    try:
        rows = con.execute(ABSENT_MEANS_NONE).fetchall()
    except duckdb.Error:  # no registry written yet
        return []
    return [row[0] for row in rows]


COMPLETENESS = query("quality/completeness")


def check_completeness(
    con: duckdb.DuckDBPyConnection,
    datasets: list[str],
    focus_codes: list[str],
    lists_only_areas_with_some: Collection[str] = (),
) -> list[CheckResult]:
    """Each series that covers the focus councils has every one of them in the dataset's latest period.

    Datasets where the publisher lists only the areas that have some (the registry's
    `absent_numerator_is_zero`, e.g. Levelling Up Fund allocations, or those the caller names from
    the catalog's `lists_only_areas_with_some`: the bid lists of rounds 1 and 2) are not expected to
    be complete.
    """
    if not focus_codes:
        return [CheckResult(d, "completeness", "info", True, "no focus codes given") for d in datasets]
    exempt = sorted({*_absent_means_none(con), *lists_only_areas_with_some})
    rows = _rows(con, COMPLETENESS, [focus_codes, exempt, focus_codes])
    found = _by_dataset(rows)
    results = []
    for dataset in datasets:
        series = found.get(dataset, [])
        if not series:
            detail = (
                "the publisher lists only areas that have some: absence means none"
                if dataset in exempt
                else "no series covers the focus councils"
            )
            results.append(CheckResult(dataset, "completeness", "info", True, detail))
            continue
        gaps = [s for s in series if s["missing"]]
        period = series[0]["period"]
        if gaps:
            items = [f"{s['series']}: {', '.join(s['missing'])}" for s in gaps]
            detail = f"focus codes missing in {period}: " + _examples(items)
            affected = sum(len(s["missing"]) for s in gaps)
            results.append(CheckResult(dataset, "completeness", "warning", False, detail, affected))
        else:
            detail = f"all {len(focus_codes)} focus codes present in {period} for {len(series)} series"
            results.append(CheckResult(dataset, "completeness", "warning", True, detail))
    return results


RANGES = query("quality/ranges")


def check_ranges(con: duckdb.DuckDBPyConnection, datasets: list[str]) -> list[CheckResult]:
    change_patterns = [f"%{marker}%" for marker in CHANGE_MARKERS]
    rows = _rows(con, RANGES, [change_patterns])
    found = _by_dataset(rows)
    results = []
    for dataset in datasets:
        bad = found.get(dataset, [])
        if bad:
            items = [
                f"{r['series']} {r['geography_code']} {r['period']}: {_fmt(r['value'])} "
                + ("outside 0-100" if r["unit"] == "percent" else "is a negative count")
                for r in bad
            ]
            results.append(CheckResult(dataset, "ranges", "error", False, _examples(items), len(bad)))
        else:
            results.append(
                CheckResult(dataset, "ranges", "error", True, "rates within 0-100, counts not negative")
            )
    return results


CONTINUITY = query("quality/continuity")


def check_continuity(
    con: duckdb.DuckDBPyConnection, datasets: list[str], cadence: dict[str, str]
) -> list[CheckResult]:
    steps = {d: CADENCE_MONTHS[cadence[d]] for d in datasets if cadence.get(d) in CADENCE_MONTHS}
    rows = _rows(con, CONTINUITY, [steps, steps])
    found = _by_dataset(rows)
    results = []
    for dataset in datasets:
        if cadence.get(dataset) == "one-off":
            results.append(CheckResult(dataset, "continuity", "info", True, "a one-off release: no sequence"))
            continue
        if dataset not in steps:
            detail = f"cadence {cadence.get(dataset)!r} unknown: continuity not checked"
            results.append(CheckResult(dataset, "continuity", "info", True, detail))
            continue
        gaps = found.get(dataset, [])
        if gaps:
            items = [
                f"{g['series']} {g['geography_code']}: {g['periods_missing']} period(s) missing between "
                f"{g['previous_period']} and {g['period']}"
                for g in gaps
            ]
            missing = sum(g["periods_missing"] for g in gaps)
            results.append(CheckResult(dataset, "continuity", "warning", False, _examples(items), missing))
        else:
            detail = f"no gap in the {cadence[dataset]} sequence of any series and area"
            results.append(CheckResult(dataset, "continuity", "warning", True, detail))
    return results


JUMPS = query("quality/jumps")


def _jump_text(row: dict) -> str:
    parts = [f"{_fmt(row['previous_value'])} -> {_fmt(row['value'])}"]
    if row["relative"] is not None:
        parts.append(f"{row['relative'] * 100:+.0f}%")
    parts.append(
        f"z {row['z']:+.1f}" if row["z"] is not None else f"z n/a ({row['history'] or 0} past changes)"
    )
    return f"{row['series']} {row['geography_code']} {row['period']}: " + ", ".join(parts)


def check_jumps(con: duckdb.DuckDBPyConnection, datasets: list[str]) -> list[CheckResult]:
    rows = _rows(con, JUMPS, [MIN_HISTORY, SD_FLOOR_RELATIVE, SD_FLOOR_RELATIVE])
    flagged: dict[str, list[dict]] = {}
    extreme: dict[str, list[dict]] = {}
    for row in rows:
        z = abs(row["z"]) if row["z"] is not None else 0.0
        relative = abs(row["relative"]) if row["relative"] is not None else 0.0
        if z > Z_BLOCKER or (row["unit"] == "count" and relative > COUNT_JUMP_BLOCKER):
            extreme.setdefault(row["dataset"], []).append(row)
        elif z > Z_WARNING:
            flagged.setdefault(row["dataset"], []).append(row)
    compared = {d: sum(1 for r in rows if r["dataset"] == d) for d in datasets}
    scored = {d: sum(1 for r in rows if r["dataset"] == d and r["z"] is not None) for d in datasets}
    results = []
    for dataset in datasets:
        if not compared[dataset]:
            detail = "no series has two periods with values: nothing to compare"
            results.append(CheckResult(dataset, "jump", "info", True, detail))
            results.append(CheckResult(dataset, "extreme_jump", "info", True, detail))
            continue
        basis = (
            f"{compared[dataset]} latest changes compared, {scored[dataset]} against at least "
            f"{MIN_HISTORY} past changes"
        )
        warn = flagged.get(dataset, [])
        if warn:
            detail = "flagged: " + _examples([_jump_text(r) for r in warn])
            results.append(CheckResult(dataset, "jump", "warning", False, detail, len(warn)))
        else:
            results.append(CheckResult(dataset, "jump", "warning", True, f"no |z| > {Z_WARNING:g}; {basis}"))
        block = extreme.get(dataset, [])
        if block:
            detail = "extreme jump: blocks publishing: " + _examples([_jump_text(r) for r in block])
            results.append(CheckResult(dataset, "extreme_jump", "blocker", False, detail, len(block)))
        else:
            detail = f"no |z| > {Z_BLOCKER:g} and no count changing by more than 50%; {basis}"
            results.append(CheckResult(dataset, "extreme_jump", "blocker", True, detail))
    return results


# Per series of each dataset: the values held before the newest vintage, and how many of them that
# vintage moved by more than the series' spread (the standard deviation of the values held, across
# periods and areas; at least half a per cent of the old value so that a flat series is not flagged
# for a rounding change).
MASS_REVISIONS = query("quality/mass_revisions")


def check_revisions(con: duckdb.DuckDBPyConnection, datasets: list[str]) -> list[CheckResult]:
    rows = _rows(con, MASS_REVISIONS, [datasets, SD_FLOOR_RELATIVE])
    by_dataset = _by_dataset(rows)
    results = []
    for dataset in datasets:
        series = [r for r in by_dataset.get(dataset, []) if r["held"] >= MASS_REVISION_MIN_VALUES]
        if not series:
            detail = f"no series has {MASS_REVISION_MIN_VALUES} earlier values: nothing to compare"
            results.append(CheckResult(dataset, "mass_revision", "info", True, detail))
            continue
        mass = [r for r in series if r["revised"] > MASS_REVISION_SHARE * r["held"]]
        if mass:
            items = [
                f"{r['series']}: {r['revised']} of {r['held']} earlier values moved by more than the series' "
                f"spread ({_fmt(r['sd'])}), e.g. {r['example']}"
                for r in mass
            ]
            detail = "mass revision: blocks publishing: " + _examples(items)
            rows_affected = sum(r["revised"] for r in mass)
            results.append(CheckResult(dataset, "mass_revision", "blocker", False, detail, rows_affected))
        else:
            revised = sum(r["revised"] for r in series)
            detail = (
                f"{revised} of {sum(r['held'] for r in series)} earlier values revised by more than their "
                f"series' spread; no series more than {MASS_REVISION_SHARE:.0%}"
            )
            results.append(CheckResult(dataset, "mass_revision", "blocker", True, detail))
    return results


AGGREGATE_TOTALS = query("quality/aggregate_totals")
CONTAINMENT = query("quality/containment")
ONS_COMBINED_AUTHORITIES = query("quality/ons_combined_authorities")


def _allowed(row: dict) -> float:
    """How far a publisher's figure for a composite may be from the monitor's sum of its members."""
    if row["unit"] == "count":
        return max(ROUNDING_PER_MEMBER * row["members"], TOTALS_RELATIVE * abs(row["published"]))
    return 10.0 ** -row["decimals"]


def check_aggregate_totals(con: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    rows = _rows(con, AGGREGATE_TOTALS)
    exempt = sorted({f"{r['indicator_id']} ({r['totals_differ']})" for r in rows if r["totals_differ"]})
    compared = [r for r in rows if not r["totals_differ"]]
    if not compared:
        detail = "no publisher publishes a composite area's figure that the monitor also computes"
        return [CheckResult(MODEL_CHECKS, "aggregate_totals", "info", True, detail)]
    wrong = [r for r in compared if abs(r["published"] - r["computed"]) > _allowed(r) + 1e-9]
    skipped = f"; not compared: {'; '.join(exempt)}" if exempt else ""
    if not wrong:
        indicators = len({r["indicator_id"] for r in compared})
        detail = (
            f"{len(compared)} published composite figures of {indicators} indicators agree with the sums "
            f"of their members{skipped}"
        )
        return [CheckResult(MODEL_CHECKS, "aggregate_totals", "blocker", True, detail)]
    items = [
        f"{r['indicator_id']}, {r['area_name']}, {r['period']}: the publisher's {_fmt(r['published'])}, "
        f"the monitor's {_fmt(round(r['computed'], 6))} from its {r['members']} members"
        for r in sorted(wrong, key=lambda r: r["period"], reverse=True)
    ]
    detail = "the publisher's totals disagree with their parts: blocks publishing: " + _examples(items)
    return [CheckResult(MODEL_CHECKS, "aggregate_totals", "blocker", False, detail + skipped, len(wrong))]


def check_containment(con: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    rows = _rows(con, CONTAINMENT)
    if not rows:
        detail = "no count of a part exceeds its whole's (members, the focus area, region, England, UK)"
        return [CheckResult(MODEL_CHECKS, "containment", "blocker", True, detail)]
    items = [
        f"{r['indicator_id']}, {r['period']}: {r['part_name']} {_fmt(r['part_value'])} > "
        f"{r['whole_name']} {_fmt(r['whole_value'])}"
        for r in rows
    ]
    detail = "a part's count exceeds its whole's: blocks publishing: " + _examples(items)
    return [CheckResult(MODEL_CHECKS, "containment", "blocker", False, detail, len(rows))]


def check_ons_combined_authorities(con: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    """The monitor's figure for a combined authority, built from its councils, against ONS's own
    figure for it (Explore Local Statistics). ONS's is a direct survey estimate, the monitor's a
    ratio of its councils' estimates: they may differ, but not by more than ONS's 95% interval (or,
    without one, its printed precision); beyond that the monitor's aggregate is wrong and blocks."""
    rows = _rows(con, ONS_COMBINED_AUTHORITIES)
    if not rows:
        detail = "no combined-authority figure of ONS's to compare with the monitor's own"
        return [CheckResult(MODEL_CHECKS, "ons_combined_authorities", "info", True, detail)]

    def allowed(r: dict) -> tuple[float, float]:
        if r["ons_lower"] is not None and r["ons_upper"] is not None:
            return r["ons_lower"], r["ons_upper"]
        half = 10.0 ** -r["decimals"] / 2
        return r["ons_value"] - half, r["ons_value"] + half

    def describe(r: dict) -> str:
        low, high = allowed(r)
        return (
            f"{r['indicator_id']}, {r['area_name']}, {r['period']}: ONS {_fmt(r['ons_value'])} "
            f"({_fmt(round(low, 6))} to {_fmt(round(high, 6))}), the monitor "
            f"{_fmt(round(r['computed'], 6))}, a difference of "
            f"{_fmt(round(r['computed'] - r['ons_value'], 6))}"
        )

    outside = [r for r in rows if not allowed(r)[0] - 1e-9 <= r["computed"] <= allowed(r)[1] + 1e-9]
    exempt = [r for r in outside if r["totals_differ"]]
    wrong = [r for r in outside if not r["totals_differ"]]
    newest = max(rows, key=lambda r: r["period"])
    if not wrong:
        detail = (
            f"{len(rows)} combined-authority figures of ONS's compared: the monitor's are within ONS's "
            f"intervals; the newest: {describe(newest)}"
        )
        if exempt:
            detail += "; outside, with the registry's reason: " + _examples([describe(r) for r in exempt])
        return [CheckResult(MODEL_CHECKS, "ons_combined_authorities", "blocker", True, detail)]
    items = [describe(r) for r in sorted(wrong, key=lambda r: r["period"], reverse=True)]
    detail = (
        "the monitor's combined-authority figures fall outside ONS's own: blocks publishing: "
        + _examples(items)
    )
    return [CheckResult(MODEL_CHECKS, "ons_combined_authorities", "blocker", False, detail, len(wrong))]


def run_model_checks(con: duckdb.DuckDBPyConnection, *, now: dt.datetime | None = None) -> list[CheckResult]:
    """Check the built models (`indicator_value`) against the publishers' own totals and store
    the results under MODEL_CHECKS; run after every build."""
    results = [*check_aggregate_totals(con), *check_containment(con), *check_ons_combined_authorities(con)]
    _store(con, results, now)
    return results


INSERT_RESULTS = query("quality/insert_results")


def _store(con: duckdb.DuckDBPyConnection, results: list[CheckResult], now: dt.datetime | None) -> None:
    run_id = uuid.uuid4().hex
    checked_at = now or dt.datetime.now(dt.UTC)
    con.executemany(
        INSERT_RESULTS,
        [
            [run_id, checked_at, r.dataset, r.check, r.severity, r.passed, r.detail, r.rows_affected]
            for r in results
        ],
    )


def run_checks(
    con: duckdb.DuckDBPyConnection,
    datasets: list[str],
    focus_codes: list[str],
    cadence: dict[str, str],
    *,
    lists_only_areas_with_some: Collection[str] = (),
    now: dt.datetime | None = None,
) -> list[CheckResult]:
    """Check the current observations of `datasets`, store the results under one run id, return them.

    `focus_codes` are the codes every council-level series must cover (the focus area's members);
    `cadence` maps a dataset to monthly / quarterly / annual (the catalog's cadence);
    `lists_only_areas_with_some` names the datasets whose publisher lists only the areas that have
    some (the catalog's flag), which the completeness check does not expect to cover every council.
    Needs a read-write connection with the schema migrated (`warehouse.db.connect`).
    """
    datasets = list(dict.fromkeys(datasets))
    con.execute(CURRENT, [datasets])
    try:
        results = [
            *check_required_columns(con, datasets),
            *check_missing_values(con, datasets),
            *check_completeness(con, datasets, list(focus_codes), lists_only_areas_with_some),
            *check_ranges(con, datasets),
            *check_continuity(con, datasets, cadence),
            *check_jumps(con, datasets),
            *check_revisions(con, datasets),
        ]
    finally:
        con.execute(DROP_CURRENT)
    order = {d: i for i, d in enumerate(datasets)}
    results.sort(key=lambda r: order[r.dataset])
    _store(con, results, now)
    return results


HAS_CHECK_TABLE = query("quality/has_check_table")


def _has_table(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute(HAS_CHECK_TABLE).fetchone() is not None


LATEST_CHECKS = query("quality/latest_checks")


def latest_checks(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """For each dataset, the results of the newest run that checked it (none before migration 006)."""
    if not _has_table(con):
        return []
    return _rows(con, LATEST_CHECKS)


def blocking(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Blocker failures among the latest checks, as reasons an edition may not be published."""
    return [
        f"{row['dataset']}: {row['detail']}"
        for row in latest_checks(con)
        if row["severity"] == "blocker" and not row["passed"]
    ]


def checks_exit_code(checks: list[dict]) -> int:
    """For `eim checks`: 0 when no error or blocker failed, 1 otherwise (warnings do not fail)."""
    return int(any(not c["passed"] and c["severity"] in ("error", "blocker") for c in checks))
