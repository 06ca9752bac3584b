"""The tidy frame every parser returns: one row per observation, with explicit types."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import pandas as pd

OBSERVATION_DTYPES = {
    "dataset": "string",
    "series": "string",
    "geography_code": "string",
    "geography_name": "string",
    "period": "string",
    "period_date": "datetime64[s]",
    "value": "Float64",
    "status": "string",
    "lower": "Float64",
    "upper": "Float64",
    "unit": "string",
}
OBSERVATION_COLUMNS = list(OBSERVATION_DTYPES)

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
YEAR = re.compile(r"^(\d{4})$")
QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def period_start(period: str) -> dt.date:
    """First day of a period written `YYYY-MM`, `YYYY-Qn` or `YYYY`; ValueError otherwise."""
    if m := MONTH.match(period):
        return dt.date(int(m[1]), int(m[2]), 1)
    if m := QUARTER.match(period):
        return dt.date(int(m[1]), 3 * int(m[2]) - 2, 1)
    if m := YEAR.match(period):
        return dt.date(int(m[1]), 1, 1)
    raise ValueError(f"unrecognised period {period!r}")


def add_sums(frame: pd.DataFrame, sums: Sequence, *, normal: str, missing: str) -> pd.DataFrame:
    """`frame` with each catalog sum (`sources.catalog.SumSpec`) added: for every area and period
    where a part has a row, the parts' total with status `normal`, or missing with status `missing`
    unless every part has a value there."""
    if not sums:
        return frame
    added = [frame]
    for total in sums:
        parts = frame[frame["series"].isin(total.of)]
        grouped = parts.groupby(["geography_code", "period"], sort=False)
        summed = grouped.first()  # the name, period start and unit the parts share
        complete = grouped["series"].nunique() == len(total.of)
        summed["value"] = grouped["value"].sum(min_count=len(total.of)).where(complete)
        summed["status"] = summed["value"].isna().map({True: missing, False: normal})
        summed["series"], summed["lower"], summed["upper"] = total.name, pd.NA, pd.NA
        added.append(summed.reset_index()[OBSERVATION_COLUMNS])
    return pd.concat(added, ignore_index=True).astype(frame.dtypes.to_dict())


def to_frame(records: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=OBSERVATION_COLUMNS)
    frame["period_date"] = pd.to_datetime(frame["period_date"])
    return frame.astype(OBSERVATION_DTYPES)


def unique_frame(records: list[dict], publisher: str, dataset: str) -> pd.DataFrame:
    """The tidy frame of `records`, refusing two rows for the same series, area and period."""
    return refuse_duplicates(to_frame(records), publisher, dataset)


def refuse_duplicates(frame: pd.DataFrame, publisher: str, dataset: str) -> pd.DataFrame:
    """`frame` itself, or a PublisherFormatError naming a series, area and period it holds twice."""
    from sources.errors import PublisherFormatError

    duplicated = frame.duplicated(["series", "geography_code", "period"])
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise PublisherFormatError(
            publisher,
            dataset,
            f"duplicated rows, e.g. {first.series} for {first.geography_code} in {first.period}",
        )
    return frame
