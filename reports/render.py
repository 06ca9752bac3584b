"""Render an edition's content to its files: HTML, PDF, Markdown, JSON sidecar and CSVs.

HTML, Markdown and JSON are byte-for-byte reproducible from the same snapshot and manifest (no
clock, no randomness); the PDF embeds its own creation metadata, so only its content is.
"""

from __future__ import annotations

import csv
import functools
import gc
import hashlib
import io
import json
import logging
import re
import struct

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from reports import format as fmt
from reports.content import UNCERTAINTY_LINE, Content, date_words

MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|])")


def markdown_escape(text: object) -> str:
    """Publisher strings as plain text in Markdown: no markup, no raw HTML."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("&", "&amp;")


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]) if autoescape else False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
    )
    env.filters["md"] = markdown_escape
    return env


HTML = _environment(autoescape=True)
MARKDOWN = _environment(autoescape=False)


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _table_csv(table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([row["area"], *row["cells"]])
    return out.getvalue()


def _size(n: int) -> str:
    return f"{max(1, round(n / 1024))} KB"


def _sources_by_indicator(content: Content) -> list[dict]:
    rows: dict[str, dict] = {}
    for source in content.sources:
        row = rows.setdefault(source["indicator"], {
            "title": source["title"], "sources": [], "released": [], "status": source["statistical_status"],
            "caveats": " ".join(source["caveats"]),
        })  # fmt: skip
        row["sources"].append(f"{source['publisher'] or 'not yet fetched'} ({source['dataset']})")
        row["released"].append(
            source["release_date"]
            or (f"fetched {source['fetched']}" if source["fetched"] else "not yet fetched")
        )
    for row in rows.values():
        row["sources"] = "; ".join(dict.fromkeys(row["sources"]))
        row["released"] = "; ".join(dict.fromkeys(row["released"]))
    return list(rows.values())


def _context(content: Content, *, pdf: bool) -> dict:
    charts = [chart for section in content.sections for chart in section.charts]
    previous = content.info.previous_period
    return {
        "c": content,
        "pdf": pdf,
        "published": date_words(content.info.published),
        "next_edition": date_words(content.info.next_edition),
        "previous_label": fmt.period_label(previous) if previous else "",
        "uncertainty": UNCERTAINTY_LINE,
        "chart_rows": {chart.spec.id: _csv_rows(chart.rendered.csv) for chart in charts},
        "csv_sizes": {chart.spec.id: _size(len(chart.rendered.csv.encode())) for chart in charts},
        "sources_by_indicator": _sources_by_indicator(content),
    }


def render_files(content: Content) -> dict[str, bytes]:
    """Every file of the edition, by path relative to the edition's folder."""
    html = HTML.get_template("bulletin.html.j2").render(_context(content, pdf=False))
    markdown = MARKDOWN.get_template("bulletin.md.j2").render(_context(content, pdf=False))
    sidecar = json.dumps(content.sidecar(), indent=2, ensure_ascii=False, default=str) + "\n"
    files = {
        "index.html": html.encode(),
        "bulletin.md": markdown.encode(),
        "figures.json": sidecar.encode(),
    }
    for section in content.sections:
        for chart in section.charts:
            files[f"data/{chart.spec.id}.csv"] = chart.rendered.csv.encode()
            files[f"data/{chart.spec.id}.png"] = chart.rendered.png  # for email and reuse
        for table in section.tables:
            files[f"data/{table.id}.csv"] = _table_csv(table).encode()
    for table in (content.levelling_up_metrics, content.funding_table):
        if table is not None:
            files[f"data/{table.id}.csv"] = _table_csv(table).encode()
    files["bulletin.pdf"] = render_pdf(content)
    return files


def render_pdf(content: Content) -> bytes:
    # Font-subsetting notices are about WeasyPrint's internals, not the edition.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)

    html = HTML.get_template("bulletin.html.j2").render(_context(content, pdf=True))
    # Importing WeasyPrint and rendering allocate enough to set off several full garbage
    # collections, each walking every object the process already holds (modules, data frames, the
    # edition's content): up to a second, a fifth of the render, when `build_bulletin` runs. None of
    # those objects is the render's garbage, so they sit it out. Where a monitor run froze them for
    # good, the few made since stay in: unfreezing here would undo that freeze.
    frozen_by_caller = gc.get_freeze_count() > 0
    if not frozen_by_caller:
        gc.freeze()
    try:
        # Imported here: it is slow to import and only the PDF needs it.
        from weasyprint import HTML as WeasyHTML

        images = _chart_images(content)
        return WeasyHTML(string=html, url_fetcher=_chart_fetcher(content)).write_pdf(cache=images)
    finally:
        if not frozen_by_caller:
            gc.unfreeze()


def _chart_fetcher(content: Content):
    """WeasyPrint's fetcher for the template's `chart:<id>` images, and for nothing else.

    The PNGs go to WeasyPrint as they are, not as base64 data URIs that would make the page ten
    times longer to parse and be decoded again; no other URL is fetched, and a chart that cannot be
    served stops the render rather than leaving a gap in the PDF. A chart `_chart_images` has
    already made into a PDF image is not fetched at all.
    """
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    pngs = {f"chart:{chart.spec.id}": chart.rendered.png for s in content.sections for chart in s.charts}

    class ChartFetcher(URLFetcher):
        def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
            return URLFetcherResponse(url, pngs[url], {"Content-Type": "image/png"})

    return ChartFetcher(fail_on_errors=True)


def _chart_images(content: Content) -> dict:
    """WeasyPrint's image cache, primed by URL with every chart whose PNG rows can go into the PDF
    as they are (see `_png_rows`); any other chart is fetched and converted by WeasyPrint. The
    primed images have WeasyPrint's default image options (no dpi cap, no re-compression), which
    is all `render_pdf` asks for."""
    embedded_png = _embedded_png_class()
    images: dict = {}
    for section in content.sections:
        for chart in section.charts:
            rows = _png_rows(chart.rendered.png)
            if rows is not None:
                url = f"chart:{chart.spec.id}"
                images[url] = embedded_png(url, chart.rendered.png, rows, images)
    return images


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_rows(png: bytes) -> bytes | None:
    """The compressed rows (the IDAT data) of an 8-bit RGB, non-interlaced PNG with no transparent
    colour, or None for any other PNG.

    Those rows are what a PDF image with PNG predictors holds, as they are: an RGB chart goes into
    the PDF without being decoded. (An RGBA one could not: the PDF wants its alpha on its own.)
    """
    if not png.startswith(PNG_SIGNATURE):
        return None
    rows = []
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(png):
        length, kind = struct.unpack_from(">I4s", png, pos)
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            _width, _height, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", data)
            if (depth, colour, interlace) != (8, 2, 0):
                return None
        elif kind == b"tRNS":
            return None
        elif kind == b"IDAT":
            rows.append(data)
        elif kind == b"IEND":
            return b"".join(rows) or None
        pos += length + 12  # length, type, data and CRC
    return None


@functools.cache
def _embedded_png_class() -> type:
    from PIL import Image
    from weasyprint.images import RasterImage

    class EmbeddedPNG(RasterImage):
        """A chart whose PNG rows become its PDF image as they are.

        WeasyPrint decodes a PNG and encodes it again only to take compressed rows back out of the
        copy: a fifth of the bulletin's render for its charts. The rows it would get decode to the
        same pixels; for the charts, which Pillow wrote with the same settings, they are the same
        bytes, so the PDF is too.
        """

        def __init__(self, url: str, png: bytes, rows: bytes, cache: dict) -> None:
            header_only = Image.open(io.BytesIO(png))  # the pixels are never decoded
            image_id = hashlib.md5(url.encode(), usedforsecurity=False).hexdigest()  # WeasyPrint's id
            super().__init__(header_only, image_id, png, cache=cache)
            self._rows = rows

        def _get_png_data(self, pillow_image) -> bytes:
            return self._rows

    return EmbeddedPNG
