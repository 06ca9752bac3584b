"""The PDF paginates like a publication: no table is split, so no caption stays alone at a page's
foot and no row is left alone on a page; figures keep their titles."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

from pypdf import PdfReader

TABLE = re.compile(r"<table[^>]*>\s*<caption>(.*?)</caption>(.*?)</table>", re.S)
ROW_HEADING = re.compile(r'<th scope="row">([^<]+)')


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", html_lib.unescape(text))


def _tables(page: str) -> list[tuple[str, list[str]]]:
    """(caption, row headings) of every table the edition has in its PDF (not the charts' data)."""
    main = re.sub(r"<figure.*?</figure>", " ", page, flags=re.S)
    return [
        (_squash(caption), [_squash(r) for r in ROW_HEADING.findall(body)])
        for caption, body in TABLE.findall(main)
    ]


def test_every_table_is_whole_on_the_page_of_its_caption(demo_edition: Path) -> None:
    pages = [_squash(page.extract_text()) for page in PdfReader(demo_edition / "bulletin.pdf").pages]
    tables = _tables((demo_edition / "index.html").read_text())
    assert len(tables) > 20
    split = []
    for caption, rows in tables:
        where = [n for n, text in enumerate(pages) if caption in text]
        assert where, f"caption {caption!r} is not in the PDF"
        text = pages[where[0]]
        position = text.index(caption) + len(caption)
        for row in rows:  # every row, in order, after the caption and on its page
            found = text.find(row, position)
            if found < 0:
                split.append((caption, row, where[0] + 1))
                break
            position = found + len(row)
    assert split == [], "tables split across pages (caption, first row not on its page, page)"


def test_figures_keep_their_titles(demo_edition: Path) -> None:
    pages = [_squash(page.extract_text()) for page in PdfReader(demo_edition / "bulletin.pdf").pages]
    titles = re.findall(r'<h3 id="figure-\d+-heading">(.*?)</h3>', (demo_edition / "index.html").read_text())
    sources = re.findall(r'<p class="source">(.*?)</p>', (demo_edition / "index.html").read_text())
    assert len(titles) == len(sources) >= 6
    for title, source in zip(titles, sources, strict=True):
        page = next(text for text in pages if _squash(title) in text)
        assert _squash(source).rstrip(".") in page, f"{title!r} and its source are on different pages"
