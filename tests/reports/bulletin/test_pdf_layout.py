"""The PDF paginates like a publication: no table is split, so no caption stays alone at a page's
foot and no row is left alone on a page; figures keep their titles."""

from __future__ import annotations

import html as html_lib
import itertools
import re
import subprocess
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


MARGIN_PT = 51.02  # the PDF's top and bottom margins, 18 mm; the footer sits in the bottom one


def _fill(pdf: Path) -> list[tuple[float, str]]:
    """Each page's share of its body height in use (down to its lowest line of text), and its
    first line of text."""
    layout = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True)
    word = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>')
    pages = []
    for height, body in re.findall(
        r'<page width="[\d.]+" height="([\d.]+)">(.*?)</page>', layout.stdout, re.S
    ):
        bottom_margin = float(height) - MARGIN_PT
        words = [(float(t), float(x), float(b), html_lib.unescape(w)) for x, t, b, w in word.findall(body)]
        text = [w for w in words if w[2] <= bottom_margin]
        lowest = max(w[2] for w in text)
        top = min(w[0] for w in text)
        first_line = " ".join(w[3] for w in sorted(w for w in text if w[0] <= top + 2))
        pages.append(((lowest - MARGIN_PT) / (bottom_margin - MARGIN_PT), first_line))
    return pages


def test_no_page_is_less_than_half_full_unless_a_section_ends_there(demo_edition: Path) -> None:
    page = (demo_edition / "index.html").read_text()
    sections = [
        html_lib.unescape(h) for h in re.findall(r'<h2 id="[^"]+">([^<]+)</h2>', page) if h != "Contents"
    ]
    pages = _fill(demo_edition / "bulletin.pdf")
    assert len(pages) > 5
    sparse = [
        (number, f"{used:.0%}", following)
        for number, ((used, _), (_, following)) in enumerate(itertools.pairwise(pages), start=1)
        if used < 0.5 and following not in sections
    ]
    assert sparse == [], "pages under half full that no section ends (page, share used, next page's top)"
