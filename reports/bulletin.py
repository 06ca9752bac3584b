"""Render an edition of the bulletin to `site/<period>/index.html` from the published snapshot."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from reports import format as fmt
from reports.figures import EditionFigures, read_edition_figures
from reports.narrative import main_points

TITLE = "West Midlands Economic Impact Monitor"
SOURCES = (
    "Claimant count: DWP, published by ONS on Nomis (dataset NM_162_1).",
    "Residents aged 16 to 64: ONS mid-year population estimates on Nomis (dataset NM_2002_1).",
)

environment = Environment(
    loader=PackageLoader("reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def table_rows(edition: EditionFigures) -> list[dict]:
    rows = []
    for count in edition.for_indicator("claimant_count"):
        rate = edition.get("claimant_rate", count.area_code)
        cells = [
            fmt.value(count.value, "count", 0),
            fmt.change(count.change_period, "count", 0),
            fmt.change(count.change_year, "count", 0),
        ]
        if rate is None:
            cells += [fmt.MISSING] * 3
        else:
            cells += [
                fmt.value(rate.value, "percent", rate.decimals),
                fmt.change(rate.change_period, "percent", rate.decimals),
                fmt.change(rate.change_year, "percent", rate.decimals),
            ]
        rows.append(
            {
                "area": count.area_name,
                "focus": count.area_code == edition.focus_code,
                "cells": cells,
            }
        )
    return rows


def render_html(edition: EditionFigures, *, demo: bool, published: dt.date) -> str:
    focus = edition.get("claimant_count", edition.focus_code)
    return environment.get_template("bulletin.html.j2").render(
        title=TITLE,
        period_label=fmt.period_label(edition.period),
        published=f"{published.day} {fmt.MONTHS[published.month - 1]} {published.year}",
        demo=demo,
        focus_name=focus.area_name if focus else edition.focus_code,
        focus_label=focus.area_label if focus else edition.focus_code,
        main_points=main_points(edition),
        rows=table_rows(edition),
        sources=SOURCES,
    )


def render_bulletin(snapshot: Path, site_dir: Path, *, demo: bool, today: dt.date | None = None) -> Path:
    """Write the edition page; the file appears whole (written aside, then renamed)."""
    edition = read_edition_figures(snapshot)
    html = render_html(edition, demo=demo, published=today or dt.date.today())
    target = site_dir / edition.period / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".index.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(html)
    os.replace(partial, target)
    return target
