"""Main points written from the figures: templates aware of each indicator's polarity."""

from __future__ import annotations

from reports import format as fmt
from reports.figures import EditionFigures

SMALL_NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _count_words(n: int) -> str:
    """ONS style: whole numbers below ten in words."""
    return SMALL_NUMBERS[n] if 0 <= n < len(SMALL_NUMBERS) else f"{n:,}"


def _direction(delta: float | None, decimals: int) -> str | None:
    if delta is None:
        return None
    r = fmt.rounded(delta, decimals)
    return "rose" if r > 0 else "fell" if r < 0 else "unchanged"


def main_points(edition: EditionFigures) -> list[str]:
    points = []
    month = fmt.period_label(edition.period)
    rate = edition.get("claimant_rate", edition.focus_code)
    if rate and rate.value is not None:
        direction = _direction(rate.change_period, rate.decimals)
        level = fmt.value(rate.value, "percent", rate.decimals)
        if direction in ("rose", "fell"):
            opening = f"The claimant rate in the {rate.area_label} area {direction} to {level}"
        elif direction == "unchanged":
            opening = f"The claimant rate in the {rate.area_label} area was unchanged at {level}"
        else:
            opening = f"The claimant rate in the {rate.area_label} area was {level}"
        sentence = f"{opening} in {month}"
        if rate.gap_uk is not None and rate.uk_value is not None:
            gap = fmt.rounded(rate.gap_uk, rate.decimals)
            if gap == 0:
                sentence += f", the same as the UK rate ({fmt.value(rate.uk_value, 'percent', 1)})"
            else:
                side = "above" if gap > 0 else "below"
                sentence += (
                    f", {fmt.number(abs(rate.gap_uk), rate.decimals)} percentage points {side} "
                    f"the UK rate ({fmt.value(rate.uk_value, 'percent', rate.decimals)})"
                )
        points.append(sentence + ".")
    count = edition.get("claimant_count", edition.focus_code)
    if count and count.value is not None:
        sentence = (
            f"There were {fmt.number(count.value)} claimants aged 16 and over in the "
            f"{count.area_label} area in {month}"
        )
        if count.change_year is not None:
            r = fmt.rounded(count.change_year, 0)
            if r == 0:
                sentence += ", the same number as a year earlier"
            else:
                more = "more" if r > 0 else "fewer"
                sentence += (
                    f", {fmt.number(abs(count.change_year))} {more} than a year earlier "
                    f"({fmt.percent_change(count.change_year_pct)})"
                )
        points.append(sentence + ".")
    councils = [
        f for f in edition.for_indicator("claimant_rate") if f.level == "council" and f.value is not None
    ]
    if len(councils) >= 2:
        councils.sort(key=lambda f: f.value)
        lowest, highest = councils[0], councils[-1]
        points.append(
            f"Among the {_count_words(len(councils))} councils, {highest.area_label} had the highest "
            f"claimant rate ({fmt.value(highest.value, 'percent', highest.decimals)}) and "
            f"{lowest.area_label} the lowest ({fmt.value(lowest.value, 'percent', lowest.decimals)})."
        )
    return points
