"""The static accessibility audit: each rule on small pages, failing and passing, then the real pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.accessibility import audit_html, contrast, parse_colour, parse_css

STYLE = "body { color: #0b0c0c; background: #ffffff; } a { color: #1d70b8; }"


def page(body: str, *, head: str = "", style: str = STYLE, lang: str = ' lang="en-GB"') -> str:
    """A minimal page that passes the audit, with `body` after its one h1."""
    return (
        f'<!DOCTYPE html>\n<html{lang}>\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Test page</title>\n{head}<style>\n{style}\n</style>\n</head>\n"
        f"<body>\n<h1>Test page</h1>\n{body}\n</body>\n</html>\n"
    )


def svg(inner: str, attrs: str = 'role="img" aria-labelledby="c-title"') -> str:
    return (
        f'<figure><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" {attrs}>'
        f'<title id="c-title">A chart</title>{inner}</svg></figure>'
    )


# (rule, a page that breaks it, the words expected in the problem, a page that keeps it)
CASES = [
    ("html lang", page("", lang=""), "no lang attribute", page("")),
    ("html lang empty", page("", lang=' lang=""'), "no lang attribute", page("", lang=' lang="cy"')),
    ("one h1", page("<h1>Again</h1>"), "exactly one <h1>", page("<h2>Next</h2>")),
    (
        "no h1",
        page("").replace("<h1>Test page</h1>", "<h2>Test page</h2>"),
        "exactly one <h1>",
        page(""),
    ),
    (
        "heading levels",
        page("<h2>A</h2><h4>Too deep</h4>"),
        '<h4> "Too deep" skips a level after <h2>',
        page("<h2>A</h2><h3>B</h3><h4>C</h4><h2>Back up is fine</h2>"),
    ),
    (
        "table caption",
        page('<table><tr><th scope="col">A</th></tr></table>'),
        "<table> has no <caption>",
        page('<table><caption>Data</caption><tr><th scope="col">A</th></tr></table>'),
    ),
    (
        "empty caption",
        page('<table><caption> </caption><tr><th scope="col">A</th></tr></table>'),
        "empty <caption>",
        page('<table><caption>Data</caption><tr><th scope="col">A</th></tr></table>'),
    ),
    (
        "th scope",
        page("<table><caption>Data</caption><tr><th>A</th></tr></table>"),
        '<th> "A" has no scope',
        page('<table><caption>Data</caption><tr><th scope="row">A</th></tr></table>'),
    ),
    (
        "th scope value",
        page('<table><caption>Data</caption><tr><th scope="column">A</th></tr></table>'),
        'invalid scope "column"',
        page('<table><caption>Data</caption><tr><th scope="colgroup">A</th></tr></table>'),
    ),
    (
        "img alt",
        page('<img src="chart.png">'),
        "has no alt text",
        page('<img src="chart.png" alt="Line chart of the claimant rate">'),
    ),
    (
        "img alt empty",
        page('<img src="chart.png" alt=" ">'),
        "has no alt text",
        page('<img src="data:image/png;base64,AAAA" alt="A chart">'),
    ),
    ("svg role", page(svg("", attrs='aria-labelledby="c-title"')), 'has no role="img"', page(svg(""))),
    (
        "svg name",
        page('<svg xmlns="http://www.w3.org/2000/svg" role="img"><rect width="1" height="1"/></svg>'),
        "has no accessible name",
        page('<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="A chart"></svg>'),
    ),
    (
        "svg labelledby target",
        page(svg("", attrs='role="img" aria-labelledby="nowhere"')),
        "aria-labelledby points at missing id(s) nowhere",
        page('<svg xmlns="http://www.w3.org/2000/svg" role="img"><title>Named by its title</title></svg>'),
    ),
    (
        "unique ids",
        page('<p id="x">One</p><p id="x">Two</p>'),
        'id "x" is used more than once',
        page('<p id="x">One</p><p id="y">Two</p>'),
    ),
    ("link text", page('<a href="data/a.csv"></a>'), "has no text", page('<a href="data/a.csv">Data</a>')),
    (
        "link text from img alt or aria-label",
        page('<a href="a.csv"><img src="i.png" alt=""></a>'),
        "has no text",
        page('<a href="a.csv" aria-label="Download"><img src="i.png" alt="CSV"></a>'),
    ),
    (
        "in-page link target",
        page('<a href="#missing">Skip</a>'),
        'href="#missing"> points at a missing id',
        page('<a href="#main">Skip</a><main id="main"></main>'),
    ),
    ("script", page("<script>alert(1)</script>"), "<script> element", page("<noscript>n/a</noscript>")),
    ("on* handler", page('<p onclick="go()">Hi</p>'), "event handler attribute onclick", page("<p>Hi</p>")),
    (
        "javascript url",
        page('<a href="javascript:go()">Go</a>'),
        "javascript: URL",
        page('<a href="bulletin.pdf">Go</a>'),
    ),
    (
        "css text contrast",
        page("", style=STYLE + " .source { color: #949494; }"),
        ".source: text #949494 on #ffffff has contrast 3.03:1",
        page("", style=STYLE + " .source { color: #505a5f; }"),
    ),
    (
        "css text contrast on own background",
        page("", style=STYLE + " .notice { background: #1d70b8 url(data:,x); color: #0b0c0c; }"),
        ".notice: text #0b0c0c on #1d70b8",
        page("", style=STYLE + " .notice { background: #1d70b8; color: #ffffff; }"),
    ),
    (
        "css background against body text",
        page("", style=STYLE + " tr.focus { background-color: #505a5f; }"),
        "tr.focus: text #0b0c0c on #505a5f",
        page("", style=STYLE + " tr.focus { background-color: #f3f2f1; }"),
    ),
    (
        "css contrast inside @media",
        page("", style=STYLE + " @media print { a { color: rgb(200, 200, 200); } }"),
        "a: text #c8c8c8 on #ffffff",
        page("", style=STYLE + " @media print { a { color: rgb(0 0 0); } }"),
    ),
    (
        "inline style contrast",
        page('<p style="color: #aaaaaa">Faint</p>'),
        "<p style>: text #aaaaaa",
        page('<p style="color: #3d3d3d">Dark</p>'),
    ),
    (
        "body colours",
        page("", style="body { color: #777777; background: #ffffff; }"),
        "body: text #777777 on #ffffff has contrast 4.48:1",
        page("", style="body { color: #767676; background: #ffffff; }"),
    ),
    (
        "svg data mark contrast",
        page(svg('<g id="bar-1"><path d="M0 0H10V10z" style="fill: #bfbfbf"/></g>')),
        "<path> in bar-1 fill #bfbfbf has contrast 1.84:1 against white, below 3.0:1 for a data mark",
        page(svg('<g id="bar-1"><path d="M0 0H10V10z" style="fill: #7a7a7a"/></g>')),
    ),
    (
        "svg line stroke contrast",
        page(svg('<polyline points="0,0 5,5" fill="none" stroke="#a285d1" stroke-opacity="0.5"/>')),
        "<polyline> stroke #d0c2e8",
        page(svg('<polyline points="0,0 5,5" fill="none" stroke="#28a197"/>')),
    ),
    (
        "svg colour inherited from group",
        page(svg('<g style="fill: #ffbf47"><rect width="5" height="5"/></g>')),
        "<rect> fill #ffbf47 has contrast 1.64:1",
        page(svg('<g style="fill: #12436d"><rect width="5" height="5"/></g>')),
    ),
    (
        "svg text contrast",
        page(svg('<text x="1" y="1" style="font-size: 13px; fill: #28a197">WMCA</text>')),
        'text "WMCA" in #28a197 has contrast 3.17:1 against white, below 4.5:1',
        page(svg('<text x="1" y="1" style="font-size: 24px; fill: #28a197">Large WMCA</text>')),
    ),
    (
        "external stylesheet",
        page("", head='<link rel="stylesheet" href="https://cdn.example.com/x.css">\n'),
        "styles must be inline",
        page(
            "", head='<link rel="alternate" type="application/atom+xml" href="../feed.atom" title="Feed">\n'
        ),
    ),
    (
        "external image",
        page('<img src="http://example.com/a.png" alt="A">'),
        'src="http://example.com/a.png" loads an external resource',
        page('<img src="figures/a.png" alt="A">'),
    ),
    (
        "protocol-relative image",
        page('<img src="//example.com/a.png" alt="A">'),
        "loads an external resource",
        page('<img src="./a.png" alt="A">'),
    ),
    (
        "resource outside the folder",
        page('<img src="../logo.png" alt="A">'),
        "outside the page's folder",
        page('<img src="img/../logo.png" alt="A">'),
    ),
    (
        "css @import",
        page("", style='@import url("https://fonts.example.com/f.css");\n' + STYLE),
        '@import "https://fonts.example.com/f.css"',
        page("", style=STYLE),
    ),
    (
        "css url()",
        page("", style=STYLE + " .logo { background-image: url(https://example.com/l.png); }"),
        'CSS url("https://example.com/l.png")',
        page("", style=STYLE + " .logo { background-image: url(data:image/png;base64,AAAA); }"),
    ),
    (
        "svg xlink:href",
        page(svg('<image xlink:href="https://example.com/a.png" width="5" height="5"/>')),
        "loads an external resource",
        page(svg('<path id="m" d="M0 0"/><use xlink:href="#m" style="fill: #12436d"/>')),
    ),
    (
        "link leaving the site",
        page('<a href="https://www.ons.gov.uk/">ONS</a>'),
        "leaves the site",
        page('<a href="../index.html">All editions</a> <a href="../feed.atom">Atom feed</a>'),
    ),
    (
        "link above the site",
        page('<a href="../../secrets.txt">Up</a>'),
        "reaches outside the site",
        page('<a href="data/figure-1.csv">Data</a> <a href="mailto:stats@example.org">Email</a>'),
    ),
    (
        "viewport zoom",
        page("", head='<meta name="viewport" content="user-scalable=no">\n'),
        "zooming",
        page(""),
    ),
]


@pytest.mark.parametrize(("rule", "bad", "expected", "good"), CASES, ids=[c[0] for c in CASES])
def test_rule_fails_and_passes(rule: str, bad: str, expected: str, good: str) -> None:
    problems = audit_html(bad)
    assert any(expected in p for p in problems), f"{rule}: expected {expected!r} in {problems}"
    assert audit_html(good) == []


def test_a_clean_page_has_no_problems() -> None:
    assert audit_html(page("<h2>A</h2><p>Text</p>")) == []


def test_problems_name_their_line() -> None:
    problems = audit_html(page("<p>one</p>\n<p>two</p>\n<h3>Three</h3>"))
    assert problems == ['line 15: <h3> "Three" skips a level after <h1>']


def test_chart_axis_furniture_is_not_a_data_mark() -> None:
    """Gridlines, tick marks and spines (matplotlib's groups) are decoration: light grey is fine."""
    furniture = (
        '<g id="figure-1-matplotlib.axis_1"><g id="figure-1-xtick_1"><g id="figure-1-line2d_1">'
        '<path d="M0 0L0 4" style="stroke: #d9d9d9"/></g></g></g>'
        '<g id="figure-1-patch_3"><path d="M0 9L9 9" style="fill: none; stroke: #cccccc"/></g>'
        '<g id="figure-1-patch_1"><path d="M0 0H9V9z" style="fill: #ffffff"/></g>'
        '<defs><clipPath id="clip"><rect width="9" height="9"/></clipPath></defs>'
    )
    assert audit_html(page(svg(furniture))) == []
    # ... but a filled patch is a mark (a bar drawn without an id of its own).
    bar = '<g id="figure-1-patch_7"><path d="M0 0H9V9z" style="fill: #d9d9d9"/></g>'
    assert any("fill #d9d9d9" in p for p in audit_html(page(svg(bar))))


def test_colour_helpers() -> None:
    assert parse_colour("#FFF") == ((255, 255, 255), 1.0)
    assert parse_colour("rgba(0, 0, 0, 0.5)") == ((0, 0, 0), 0.5)
    assert parse_colour("none") is None
    assert round(contrast((0x1D, 0x70, 0xB8), (255, 255, 255)), 2) == 5.17
    rules, imports = parse_css("/* a { color: red } */ @import 'x.css'; @media screen { p { color: #000 } }")
    assert [(r.selector, r.declarations) for r in rules] == [("p", {"color": "#000"})]
    assert imports == ["x.css"]


def test_unreadable_colour_is_reported() -> None:
    problems = audit_html(page("", style=STYLE + " .x { color: hsl(0 0% 60%); }"))
    assert problems == ["line 8: .x: cannot read the colour color: hsl(0 0% 60%)"]


# --- the real pages -------------------------------------------------------------------------------------
def test_the_edition_passes_the_audit(demo_edition: Path) -> None:
    assert audit_html((demo_edition / "index.html").read_text(encoding="utf-8")) == []


def test_the_site_index_passes_the_audit(demo_edition: Path) -> None:
    assert audit_html((demo_edition.parent / "index.html").read_text(encoding="utf-8")) == []
