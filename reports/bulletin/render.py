"""Render an edition's content to its files: HTML, PDF, Markdown, JSON sidecar and CSVs.

Every file is byte-for-byte reproducible from the same snapshot and manifest: no clock (the PDF's
creation date is the edition's publication date), no randomness, no font that depends on the machine.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import json
import re
import tempfile
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from reports.bulletin import format as fmt
from reports.bulletin.charts import chart_csv, email_png
from reports.bulletin.content import (
    EMAIL_CHART_SECTIONS,
    STRENGTHS_AND_LIMITATIONS,
    Content,
    Section,
    date_words,
)

MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|])")


def markdown_escape(text: object) -> str:
    """Publisher strings as plain text in Markdown: no markup, no raw HTML."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("&", "&amp;")


CELL_BREAKS = re.compile(r"(, | \()")


def table_cell(text: object) -> Markup:
    """A table cell that may wrap between its parts ('−0.6 pp', 'not significant') but never
    inside a figure: browsers would otherwise break '+£16,706' after its sign."""
    parts = CELL_BREAKS.split(str(text))
    return Markup("").join(
        escape(part) if n % 2 else Markup('<span class="nb">{}</span>').format(part)
        for n, part in enumerate(parts)
        if part
    )


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("reports.bulletin", "templates"),
        autoescape=select_autoescape(["html", "j2"]) if autoescape else False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
    )
    env.filters["md"] = markdown_escape
    env.filters["cell"] = table_cell
    return env


HTML = _environment(autoescape=True)
MARKDOWN = _environment(autoescape=False)


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _table_csv(table) -> str:
    """A table as printed; a grouped table (the dashboard) gets its group as a first column."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    grouped = any("group" in row for row in table.rows)
    writer.writerow((["Topic"] if grouped else []) + table.columns)
    group = ""
    for row in table.rows:
        if "group" in row:
            group = row["group"]
            continue
        writer.writerow(([group] if grouped else []) + [row["area"], *row["cells"]])
    return out.getvalue()


def _size(n: int) -> str:
    return f"{max(1, round(n / 1024))} KB"


def _sources_by_indicator(content: Content) -> list[dict]:
    """Each indicator's definition and caveats."""
    rows: dict[str, dict] = {}
    for source in content.sources:
        rows.setdefault(
            source["indicator"],
            {
                "title": source["title"],
                "definition": source["definition"],
                "caveats": " ".join(source["caveats"]),
            },
        )
    return list(rows.values())


def _sources_table(content: Content) -> list[dict]:
    """One row per source, named as its publisher names it: the publisher's release date where it
    states one, the day this monitor fetched it, and the indicators drawn from it."""
    rows: dict[str, dict] = {}
    for source in content.sources:
        row = rows.setdefault(
            source["dataset"],
            {
                "name": source["source_name"],
                "released": source["release_date"] or "not stated by the publisher",
                "fetched": source["fetched"] or "not yet fetched",
                "indicators": [],
                "status": [],
                "produced_by": source.get("produced_by"),
            },
        )
        row["indicators"].append(source["title"])
        row["status"].append(source["statistical_status"])
    for row in rows.values():
        row["indicators"] = "; ".join(row["indicators"])
        row["status"] = "; ".join(dict.fromkeys(row["status"]))
    return list(rows.values())


def _charts_manifest(content: Content) -> str:
    """Every chart of the edition for the email: its section, title, description and source; the
    PNG drawn narrow for mail of the lead chart of each of EMAIL_CHART_SECTIONS; and, by area code,
    what each council's own chart draws (its data as a CSV), for a message that needs it."""

    def entry(chart, section: Section) -> dict:
        lead = section.id in EMAIL_CHART_SECTIONS and chart is section.charts[0]
        return {
            "id": chart.spec.id,
            "number": chart.number,
            "section": section.id,
            "title": chart.spec.title,
            "subtitle": chart.spec.subtitle,
            "alt": chart.rendered.alt,
            "source": chart.source,
            "email_png": f"data/email/{chart.spec.id}.png" if lead else None,
        }

    def to_draw(chart) -> dict:
        spec = chart.spec
        return {
            "id": spec.id,
            "title": spec.title,
            "subtitle": spec.subtitle,
            "source": chart.source,
            "unit": spec.unit,
            "decimals": spec.decimals,
            "highlight": spec.highlight,
            "width": spec.width,
            "csv": f"data/email/{spec.id}.csv",
        }

    manifest = {
        "charts": [entry(c, s) for s in content.sections for c in s.charts],
        "area_charts": {c.area: to_draw(c) for c in content.area_charts},
    }
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def _context(content: Content) -> dict:
    charts = [chart for section in content.sections for chart in section.charts]
    previous = content.info.previous_period
    return {
        "c": content,
        "published": date_words(content.info.published),
        "next_edition": date_words(content.info.next_edition),
        "previous_label": fmt.period_label(previous) if previous else "",
        "strengths": STRENGTHS_AND_LIMITATIONS,
        "chart_rows": {chart.spec.id: _csv_rows(chart.rendered.csv) for chart in charts},
        "csv_sizes": {chart.spec.id: _size(len(chart.rendered.csv.encode())) for chart in charts},
        "sources_by_indicator": _sources_by_indicator(content),
        "sources_table": _sources_table(content),
    }


def render_files(content: Content) -> dict[str, bytes]:
    """Every file of the edition, by path relative to the edition's folder."""
    context = _context(content)
    html = HTML.get_template("bulletin.html.j2").render(context)
    markdown = MARKDOWN.get_template("bulletin.md.j2").render(context)
    sidecar = json.dumps(content.sidecar(), indent=2, ensure_ascii=False, default=str) + "\n"
    files = {
        "index.html": html.encode(),
        "bulletin.md": markdown.encode(),
        "figures.json": sidecar.encode(),
    }
    for section in content.sections:
        for chart in section.charts:
            files[f"data/{chart.spec.id}.csv"] = chart.rendered.csv.encode()
            files[f"data/{chart.spec.id}.png"] = chart.rendered.png  # for the PDF and reuse
        if section.id in EMAIL_CHART_SECTIONS and section.charts:
            lead = section.charts[0]
            files[f"data/email/{lead.spec.id}.png"] = email_png(lead.narrow.png)
    for chart in content.area_charts:
        files[f"data/email/{chart.spec.id}.csv"] = chart_csv(chart.spec).encode()
    files["data/charts.json"] = _charts_manifest(content).encode()
    for table in content.tables:
        files[f"data/{table.id}.csv"] = _table_csv(table).encode()
    files["bulletin.pdf"] = _render_pdf(content, context)
    return files


PDF_TEMPLATE = "bulletin.typ"


def _fonts() -> Path:
    """DejaVu Sans as matplotlib ships it, the charts' own font: the PDF is set in it whatever the
    machine has installed (system fonts are ignored), so it is the same on every machine."""
    matplotlib = importlib.util.find_spec("matplotlib")
    if matplotlib is None or not matplotlib.submodule_search_locations:
        raise RuntimeError("matplotlib is not installed: its DejaVu Sans font sets the PDF")
    return Path(matplotlib.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf"


def _table(table) -> dict:
    return {
        "caption": table.caption,
        "columns": table.columns,
        "rows": table.rows,
        "notes": table.notes,
        "widths": [f"{w}%" for w in table.pdf_widths] if table.pdf_widths else None,
        "words": "words" in table.css_class,  # cells of text, aligned left
    }


def _pdf_document(content: Content, context: dict) -> dict:
    """The edition as the PDF's template reads it: values only (the template has the words), with
    each chart as the name of its PNG file."""
    sections = []
    for section in content.sections:
        charts = [
            {
                "heading": f"Figure {chart.number}: {chart.spec.title}",
                "subtitle": chart.spec.subtitle,
                "file": f"{chart.spec.id}.png",
                "alt": chart.rendered.alt,
                "source": chart.source,
            }
            for chart in section.charts
        ]
        sections.append(
            {
                "heading": section.heading,
                "reading": section.reading,
                "charts": charts,
                "tables": [_table(section.table)] if section.table else [],
            }
        )
    sources = {
        "caption": "Sources: the publisher's release and when this monitor fetched it",
        "columns": ["Source", "Released", "Fetched", "Indicators", "Status"],
        "rows": [
            {
                "area": s["name"] + (f" (produced by {s['produced_by']})" if s["produced_by"] else ""),
                "focus": False,
                "cells": [s["released"], s["fetched"], s["indicators"], s["status"]],
            }
            for s in context["sources_table"]
        ],
        "notes": [],
    }
    info = content.info
    return {
        "title": content.title,
        "period_label": content.period_label,
        "demo": info.demo,
        "forced": info.forced,
        "gate_reasons": info.gate_reasons,
        "edition_number": info.edition_number,
        "published": context["published"],
        "next_edition": context["next_edition"],
        "snapshot": content.edition.snapshot_sha256[:12],
        "focus": content.edition.focus.name,
        "contact": info.contact,
        "main_points": content.main_points,
        "dashboard": _table(content.dashboard) if content.dashboard else None,
        "sections": sections,
        "annex": [{"heading": g.heading, "tables": [_table(t) for t in g.tables]} for g in content.annex],
        "definitions": context["sources_by_indicator"],
        "previous": context["previous_label"] or None,
        "changes": content.changes,
        "strengths": STRENGTHS_AND_LIMITATIONS,
        "sources": sources,
        "glossary": [list(entry) for entry in content.glossary],
    }


def _render_pdf(content: Content, context: dict) -> bytes:
    """The bulletin as a tagged PDF (PDF/UA-1), typeset by Typst from `templates/bulletin.typ`.

    Its creation date is the edition's publication date, so the same edition gives the same bytes.
    """
    import typst  # imported here: only the PDF needs it

    published = dt.datetime.combine(content.info.published, dt.time(), tzinfo=dt.UTC)
    document = json.dumps(_pdf_document(content, context), ensure_ascii=False, default=str)
    with tempfile.TemporaryDirectory(prefix="eim-pdf-") as folder:
        root = Path(folder)
        template = root / PDF_TEMPLATE
        template.write_bytes((resources.files("reports.bulletin") / "templates" / PDF_TEMPLATE).read_bytes())
        for section in content.sections:
            for chart in section.charts:
                (root / f"{chart.spec.id}.png").write_bytes(chart.rendered.png)
        return typst.compile(
            str(template),
            root=str(root),
            font_paths=[str(_fonts())],
            ignore_system_fonts=True,
            sys_inputs={"edition": document},
            pdf_standards=["ua-1"],
            timestamp=int(published.timestamp()),
        )
