"""A static accessibility and self-containment audit of a bulletin page (WCAG 2.2 AA basics).

`audit_html(html)` returns one line per problem found, each starting with the source line it was
found on (``line 12: ...``); an empty list means the page passed. It uses only the standard
library's `html.parser`, so it runs wherever the monitor does.

What it checks, and the WCAG 2.2 success criterion behind it:

* the document: `<html lang>` (3.1.1), a non-empty `<title>` (2.4.2), a viewport that does not block
  zooming (1.4.4), unique ids (4.1.1 as was; ids referenced by ARIA must be unambiguous);
* structure: exactly one `<h1>`, headings that never skip a level going down (1.3.1, 2.4.6);
  every `<table>` has a non-empty `<caption>`, every `<th>` a valid `scope` (1.3.1);
* names: every `<img>` a non-empty `alt` (1.1.1); every outermost inline `<svg>` `role="img"` and an
  accessible name (`aria-labelledby` pointing at existing ids, `aria-label`, or a `<title>` child);
  every `<a>` text (2.4.4); every `aria-labelledby`/`aria-describedby` and in-page `href="#..."`
  pointing at an id that exists;
* no scripting: no `<script>`, no `on*` handler attribute, no `javascript:` URL;
* contrast: text colour against background >= 4.5:1 for every CSS rule in the page's `<style>`
  elements and inline `style` attributes that declares a colour or a background (1.4.3), the other
  side taken from the same rule when it declares it, else from the `body` rule (default black on
  #ffffff); SVG `<text>` >= 4.5:1 (3:1 when large) against white; colours of SVG data marks (paths,
  rects, lines, ... with a fill or stroke that is not white or none) >= 3:1 against white (1.4.11).
  Axis furniture (matplotlib's tick and axis groups, stroke-only spines) and anything with a class
  or id naming it a grid, axis or spine is decoration, not data, and is not held to 3:1;
* self-containment: no resource (`src`, `href` of `<link>`, `srcset`, `poster`, `data`, `action`,
  `xlink:href`, CSS `url()` and `@import`) outside the page's own folder; no `<link rel=stylesheet>`
  at all (the page carries its styles); `<a href>` may reach the site's own files (one level up, as
  the edition's links to the site index and feed do) but not another host or an absolute path.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

TEXT_CONTRAST = 4.5
LARGE_TEXT_CONTRAST = 3.0
GRAPHICS_CONTRAST = 3.0
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "param",
    "source",
    "track",
    "wbr",
}
SVG_SHAPES = {"path", "rect", "line", "polyline", "polygon", "circle", "ellipse", "use"}
# Content drawn only where it is referenced (by <use>, clip-path, fill="url(...)").
SVG_REFERENCED = {
    "defs",
    "clippath",
    "mask",
    "marker",
    "pattern",
    "symbol",
    "lineargradient",
    "radialgradient",
}
URL_ATTRS = {"href", "src", "xlink:href", "action", "formaction"}
TH_SCOPES = {"row", "col", "rowgroup", "colgroup"}
RESOURCE_ATTRS = {"src", "srcset", "poster", "data", "action", "formaction", "xlink:href", "background"}
# matplotlib's axis furniture: tick marks, gridlines and tick labels live in these groups.
DECORATION_ID = re.compile(r"(^|[-_.])(matplotlib\.axis_\d+|[xy]tick_\d+|grid\w*|spines?\w*|axis\w*)$", re.I)
DECORATION_CLASS = re.compile(r"\b(grid\w*|axis\w*|spines?|tick\w*|decoration)\b", re.I)
MATPLOTLIB_PATCH_ID = re.compile(r"(^|[-_.])patch_\d+$")
EXTERNAL_URL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", re.I)
CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.I | re.S)

# CSS named colours likely to appear in a bulletin; anything else must be written as hex or rgb().
NAMED_COLOURS = {
    "white": "#ffffff",
    "black": "#000000",
    "red": "#ff0000",
    "green": "#008000",
    "blue": "#0000ff",
    "yellow": "#ffff00",
    "orange": "#ffa500",
    "purple": "#800080",
    "grey": "#808080",
    "gray": "#808080",
    "silver": "#c0c0c0",
    "maroon": "#800000",
    "navy": "#000080",
    "teal": "#008080",
    "olive": "#808000",
    "lime": "#00ff00",
    "aqua": "#00ffff",
    "cyan": "#00ffff",
    "fuchsia": "#ff00ff",
    "magenta": "#ff00ff",
    "darkgrey": "#a9a9a9",
    "darkgray": "#a9a9a9",
    "lightgrey": "#d3d3d3",
    "lightgray": "#d3d3d3",
    "dimgrey": "#696969",
    "dimgray": "#696969",
    "whitesmoke": "#f5f5f5",
    "gainsboro": "#dcdcdc",
}
NOT_A_COLOUR = {"none", "transparent", "inherit", "initial", "unset", "revert", "currentcolor", "auto"}

RGB = tuple[int, int, int]


# --- colour ---------------------------------------------------------------------------------------------
class ColourError(ValueError):
    pass


def parse_colour(value: str) -> tuple[RGB, float] | None:
    """(rgb, alpha) of a CSS colour; None for none/transparent/inherit...; ColourError when unreadable."""
    v = value.strip().lower().removesuffix("!important").strip()
    if not v or v in NOT_A_COLOUR:
        return None
    v = NAMED_COLOURS.get(v, v)
    if v.startswith("#"):
        h = v[1:]
        if re.fullmatch(r"[0-9a-f]{3,4}", h):
            h = "".join(c * 2 for c in h)
        if not re.fullmatch(r"[0-9a-f]{6}([0-9a-f]{2})?", h):
            raise ColourError(value)
        alpha = int(h[6:8], 16) / 255 if len(h) == 8 else 1.0
        return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)), alpha
    m = re.fullmatch(r"rgba?\(([^)]*)\)", v)
    if m:
        parts = [p for p in re.split(r"[\s,/]+", m.group(1).strip()) if p]
        if len(parts) not in (3, 4):
            raise ColourError(value)

        def channel(p: str) -> int:
            return round(float(p[:-1]) * 2.55) if p.endswith("%") else round(float(p))

        try:
            rgb = (channel(parts[0]), channel(parts[1]), channel(parts[2]))
            alpha = 1.0
            if len(parts) == 4:
                alpha = float(parts[3][:-1]) / 100 if parts[3].endswith("%") else float(parts[3])
        except ValueError as exc:
            raise ColourError(value) from exc
        return rgb, alpha
    raise ColourError(value)


def blend(rgb: RGB, alpha: float, under: RGB = WHITE) -> RGB:
    """The colour seen when `rgb` at opacity `alpha` is painted over `under`."""
    a = max(0.0, min(1.0, alpha))
    return (
        round(rgb[0] * a + under[0] * (1 - a)),
        round(rgb[1] * a + under[1] * (1 - a)),
        round(rgb[2] * a + under[2] * (1 - a)),
    )


def relative_luminance(rgb: RGB) -> float:
    """WCAG 2.x relative luminance."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (x / 255 for x in rgb)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: RGB, b: RGB) -> float:
    """WCAG contrast ratio, 1 to 21."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def hex_of(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _background_colour(value: str) -> str | None:
    """The colour token of a `background` shorthand (None when it only sets an image or nothing)."""
    v = CSS_URL.sub(" ", value)
    for token in re.findall(r"#[0-9a-fA-F]+|rgba?\([^)]*\)|[a-zA-Z]+", v):
        low = token.lower()
        if token.startswith("#") or low.startswith("rgb") or low in NAMED_COLOURS or low in NOT_A_COLOUR:
            return token
    return None


# --- CSS ------------------------------------------------------------------------------------------------
@dataclass
class CssRule:
    selector: str
    declarations: dict[str, str]
    line: int


def parse_declarations(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for decl in text.split(";"):
        name, sep, value = decl.partition(":")
        if sep and name.strip():
            out[name.strip().lower()] = value.strip()
    return out


def parse_css(css: str, line: int = 1) -> tuple[list[CssRule], list[str]]:
    """Style rules (recursing into @media/@supports blocks) and the targets of any @import."""
    rules: list[CssRule] = []
    imports: list[str] = []
    css = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), css, flags=re.S)
    i, n = 0, len(css)
    while i < n:
        brace = css.find("{", i)
        semi = css.find(";", i)
        if semi != -1 and (brace == -1 or semi < brace) and css[i:semi].strip().startswith("@"):
            statement = css[i:semi].strip()
            if statement.lower().startswith("@import"):
                target = CSS_URL.search(statement)
                quoted = re.search(r"@import\s+(['\"])(.*?)\1", statement, re.I)
                imports.append(target.group(2) if target else quoted.group(2) if quoted else statement)
            i = semi + 1
            continue
        if brace == -1:
            break
        prelude = css[i:brace].strip()
        depth, j = 1, brace + 1
        while j < n and depth:
            depth += {"{": 1, "}": -1}.get(css[j], 0)
            j += 1
        body = css[brace + 1 : j - 1]
        here = line + css.count("\n", 0, brace)
        if prelude.lower().startswith(("@media", "@supports", "@layer", "@container")):
            inner_rules, inner_imports = parse_css(body, here)
            rules += inner_rules
            imports += inner_imports
        elif not prelude.startswith("@"):
            rules.append(CssRule(" ".join(prelude.split()), parse_declarations(body), here))
        i = j
    return rules, imports


# --- document tree --------------------------------------------------------------------------------------
@dataclass(eq=False)
class Node:
    tag: str
    attrs: dict[str, str]
    line: int
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # text directly inside, in order

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def text_content(self) -> str:
        parts = list(self.text)
        for child in self.children:
            parts.append(child.text_content())
        return " ".join(" ".join(parts).split())


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, 1)
        self.stack = [self.root]
        self.styles: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(
            tag, {k: (v if v is not None else "") for k, v in attrs}, self.getpos()[0], self.stack[-1]
        )
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for k in range(len(self.stack) - 1, 0, -1):
            if self.stack[k].tag == tag:
                del self.stack[k:]
                return

    def handle_data(self, data: str) -> None:
        node = self.stack[-1]
        node.text.append(data)
        if node.tag == "style":
            self.styles.append((data, self.getpos()[0]))


def parse_html(html: str) -> tuple[Node, list[tuple[str, int]]]:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root, builder.styles


# --- the audit ------------------------------------------------------------------------------------------
def audit_html(html: str) -> list[str]:
    """Every accessibility or self-containment problem found in the page; empty when it passes."""
    root, styles = parse_html(html)
    nodes = list(root.walk())[1:]
    problems: list[tuple[int, str]] = []

    def problem(line: int, message: str) -> None:
        problems.append((line, message))

    ids: dict[str, int] = {}
    for node in nodes:
        if "id" in node.attrs:
            ident = node.attrs["id"]
            if not ident.strip():
                problem(node.line, f"<{node.tag}> has an empty id")
            elif ident in ids:
                problem(node.line, f'id "{ident}" is used more than once (first on line {ids[ident]})')
            else:
                ids[ident] = node.line
    by_id = {n.attrs["id"]: n for n in reversed(nodes) if n.attrs.get("id")}

    _check_document(nodes, problem)
    _check_headings(nodes, problem)
    _check_tables(nodes, problem)
    _check_names(nodes, by_id, problem)
    _check_scripting(nodes, problem)
    _check_links(nodes, by_id, problem)
    _check_css_contrast(nodes, styles, problem)
    _check_svg_colours(nodes, problem)
    return [f"line {line}: {message}" for line, message in sorted(problems, key=lambda p: p[0])]


def _check_document(nodes: list[Node], problem) -> None:
    html_el = next((n for n in nodes if n.tag == "html"), None)
    if html_el is None or not html_el.attrs.get("lang", "").strip():
        problem(html_el.line if html_el else 1, "<html> has no lang attribute")
    titles = [n for n in nodes if n.tag == "title" and not any(a.tag == "svg" for a in n.ancestors())]
    if not titles or not titles[0].text_content():
        problem(titles[0].line if titles else 1, "the page has no <title>")
    for meta in (n for n in nodes if n.tag == "meta" and n.attrs.get("name", "").lower() == "viewport"):
        content = meta.attrs.get("content", "").lower().replace(" ", "")
        scale = re.search(r"maximum-scale=([\d.]+)", content)
        if "user-scalable=no" in content or "user-scalable=0" in content or (scale and float(scale[1]) < 2):
            problem(meta.line, "the viewport meta tag stops the reader zooming")


def _check_headings(nodes: list[Node], problem) -> None:
    headings = [n for n in nodes if re.fullmatch(r"h[1-6]", n.tag)]
    h1s = [n for n in headings if n.tag == "h1"]
    if len(h1s) != 1:
        where = ", ".join(str(n.line) for n in h1s) or "none"
        problem(h1s[1].line if len(h1s) > 1 else 1, f"expected exactly one <h1>, found {len(h1s)} ({where})")
    previous = 0
    for h in headings:
        level = int(h.tag[1])
        if level > previous + 1:
            before = f"<h{previous}>" if previous else "the start of the page"
            problem(h.line, f'<{h.tag}> "{h.text_content()[:60]}" skips a level after {before}')
        previous = level
        if not h.text_content():
            problem(h.line, f"<{h.tag}> is empty")


def _check_tables(nodes: list[Node], problem) -> None:
    def owner(n: Node) -> Node | None:
        return next((a for a in n.ancestors() if a.tag == "table"), None)

    captions = {id(owner(n)): n for n in nodes if n.tag == "caption"}
    for table in (n for n in nodes if n.tag == "table"):
        caption = captions.get(id(table))
        if caption is None:
            problem(table.line, "<table> has no <caption>")
        elif not caption.text_content():
            problem(caption.line, "<table> has an empty <caption>")
    for th in (n for n in nodes if n.tag == "th"):
        scope = th.attrs.get("scope", "").strip().lower()
        if scope not in TH_SCOPES:
            what = f'an invalid scope "{scope}"' if scope else "no scope"
            problem(th.line, f'<th> "{th.text_content()[:40]}" has {what}')


def _svg_name(svg: Node, by_id: dict[str, Node]) -> str:
    if svg.attrs.get("aria-label", "").strip():
        return svg.attrs["aria-label"].strip()
    refs = svg.attrs.get("aria-labelledby", "").split()
    if refs and all(r in by_id for r in refs):
        return " ".join(by_id[r].text_content() for r in refs).strip()
    title = next((c for c in svg.children if c.tag == "title"), None)
    return title.text_content() if title else ""


def _check_names(nodes: list[Node], by_id: dict[str, Node], problem) -> None:
    for n in nodes:
        if n.tag == "img" and not n.attrs.get("alt", "").strip():
            problem(n.line, f'<img src="{n.attrs.get("src", "")[:60]}"> has no alt text')
        if n.tag == "svg" and not any(a.tag == "svg" for a in n.ancestors()):
            label = n.attrs.get("id", "") or f"on line {n.line}"
            if n.attrs.get("role") != "img":
                problem(n.line, f'<svg> {label} has no role="img"')
            missing = [r for r in n.attrs.get("aria-labelledby", "").split() if r not in by_id]
            if missing:
                problem(
                    n.line, f"<svg> {label}: aria-labelledby points at missing id(s) {', '.join(missing)}"
                )
            if not _svg_name(n, by_id):
                problem(
                    n.line, f"<svg> {label} has no accessible name (aria-labelledby, aria-label or <title>)"
                )
        if n.tag == "a":
            name = (
                n.text_content()
                or " ".join(c.attrs.get("alt", "") for c in n.walk() if c.tag == "img").strip()
                or n.attrs.get("aria-label", "").strip()
                or " ".join(
                    by_id[r].text_content() for r in n.attrs.get("aria-labelledby", "").split() if r in by_id
                )
                or n.attrs.get("title", "").strip()
            )
            if not name:
                problem(n.line, f'<a href="{n.attrs.get("href", "")}"> has no text')
        for attr in ("aria-labelledby", "aria-describedby"):
            if n.tag == "svg" and attr == "aria-labelledby":
                continue  # reported above with the svg's name
            missing = [r for r in n.attrs.get(attr, "").split() if r not in by_id]
            if missing:
                problem(n.line, f"<{n.tag}> {attr} points at missing id(s) {', '.join(missing)}")


def _check_scripting(nodes: list[Node], problem) -> None:
    for n in nodes:
        if n.tag == "script":
            problem(n.line, "<script> element (the page must work without scripts)")
        for attr, value in n.attrs.items():
            if attr.startswith("on"):
                problem(n.line, f"<{n.tag}> has an event handler attribute {attr}")
            if attr in URL_ATTRS and value.strip().lower().startswith("javascript:"):
                problem(n.line, f"<{n.tag}> {attr} is a javascript: URL")


def _leaves_folder(url: str, levels_up_allowed: int) -> bool:
    """True when a URL reaches outside the page's folder (or more than `levels_up_allowed` above it)."""
    path = url.split("#", 1)[0].split("?", 1)[0]
    if not path:
        return False
    if EXTERNAL_URL.match(url) or path.startswith("/"):
        return True
    normal = posixpath.normpath(path)
    return normal.split("/").count("..") > levels_up_allowed


def _check_links(nodes: list[Node], by_id: dict[str, Node], problem) -> None:
    def resource(n: Node, attr: str, url: str) -> None:
        url = url.strip()
        if url.lower().startswith(("data:", "#", "javascript:")):
            return
        if EXTERNAL_URL.match(url) or url.startswith("/"):
            problem(n.line, f'<{n.tag}> {attr}="{url}" loads an external resource')
        elif _leaves_folder(url, 0):
            problem(n.line, f'<{n.tag}> {attr}="{url}" loads a file outside the page\'s folder')

    for n in nodes:
        for attr, value in n.attrs.items():
            if attr in RESOURCE_ATTRS:
                urls = [part.strip().split()[0] for part in value.split(",") if part.strip()]
                for url in urls if attr == "srcset" else [value]:
                    resource(n, attr, url)
            if attr == "style":
                for m in CSS_URL.finditer(value):
                    resource(n, "style url()", m.group(2))
        href = n.attrs.get("href")
        if href is None:
            continue
        href = href.strip()
        if n.tag == "link":
            rel = n.attrs.get("rel", "").lower().split()
            if "stylesheet" in rel:
                problem(n.line, f'<link rel="stylesheet" href="{href}">: styles must be inline in the page')
            elif not href.lower().startswith("data:") and (EXTERNAL_URL.match(href) or href.startswith("/")):
                problem(n.line, f'<link rel="{" ".join(rel)}" href="{href}"> points outside the site')
            elif set(rel) & {"icon", "preload", "prefetch", "modulepreload", "manifest"}:
                resource(n, "href", href)
        elif n.tag in ("a", "area"):
            if href.startswith("#"):
                target = href[1:]
                if target and target not in by_id:
                    problem(n.line, f'<{n.tag} href="{href}"> points at a missing id')
            elif href.lower().startswith(("mailto:", "tel:", "javascript:")):
                pass
            elif EXTERNAL_URL.match(href) or href.startswith("/"):
                problem(n.line, f'<{n.tag} href="{href}"> leaves the site')
            elif _leaves_folder(href, 1):
                problem(n.line, f'<{n.tag} href="{href}"> reaches outside the site')
    for n in nodes:
        if n.tag != "style":
            continue
        _, imports = parse_css(n.text_content(), n.line)
        for target in imports:
            problem(n.line, f'@import "{target}": styles must be inline in the page')
        for m in CSS_URL.finditer(" ".join(n.text)):
            url = m.group(2).strip()
            if not url.lower().startswith(("data:", "#")) and (
                EXTERNAL_URL.match(url) or url.startswith("/") or _leaves_folder(url, 0)
            ):
                problem(n.line, f'CSS url("{url}") loads an external resource')


def _check_css_contrast(nodes: list[Node], styles: list[tuple[str, int]], problem) -> None:
    rules: list[CssRule] = []
    for css, line in styles:
        found, _ = parse_css(css, line)
        rules += found
    # Inline style attributes on HTML elements (SVG paint is checked with the SVG marks).
    for n in nodes:
        if "style" in n.attrs and n.tag != "svg" and not any(a.tag == "svg" for a in n.ancestors()):
            rules.append(CssRule(f"<{n.tag} style>", parse_declarations(n.attrs["style"]), n.line))

    def colour_of(rule: CssRule, prop: str) -> tuple[RGB, float] | None:
        value = rule.declarations.get(prop)
        if value is None and prop == "background-color" and "background" in rule.declarations:
            value = _background_colour(rule.declarations["background"])
        if value is None:
            return None
        try:
            return parse_colour(value)
        except ColourError:
            problem(rule.line, f"{rule.selector}: cannot read the colour {prop}: {value}")
            return None

    page_fg, page_bg = BLACK, WHITE
    for rule in rules:
        if re.fullmatch(r"(html|body|:root)(\s*,\s*(html|body|:root))*", rule.selector):
            fg, bg = colour_of(rule, "color"), colour_of(rule, "background-color")
            if bg:
                page_bg = blend(bg[0], bg[1], page_bg)
            if fg:
                page_fg = blend(fg[0], fg[1], page_bg)
    for rule in rules:
        if not ({"color", "background", "background-color"} & rule.declarations.keys()):
            continue
        fg, bg = colour_of(rule, "color"), colour_of(rule, "background-color")
        if fg is None and bg is None:
            continue
        background = blend(bg[0], bg[1], page_bg) if bg else page_bg
        text = blend(fg[0], fg[1], background) if fg else page_fg
        ratio = contrast(text, background)
        if ratio < TEXT_CONTRAST:
            problem(
                rule.line,
                f"{rule.selector}: text {hex_of(text)} on {hex_of(background)} has contrast "
                f"{ratio:.2f}:1, below {TEXT_CONTRAST}:1",
            )


def _paint(node: Node, prop: str) -> str | None:
    """A fill or stroke declared on this node (style beats the presentation attribute)."""
    style = parse_declarations(node.attrs.get("style", ""))
    return style.get(prop, node.attrs.get(prop))


def _opacity(node: Node, prop: str) -> float:
    style = parse_declarations(node.attrs.get("style", ""))
    value = style.get(prop, node.attrs.get(prop, "1")).strip()
    try:
        return float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        return 1.0


def _is_decoration(node: Node) -> bool:
    for n in (node, *node.ancestors()):
        if n.tag == "svg":
            return False
        if n.tag in SVG_REFERENCED:
            return True
        if DECORATION_ID.search(n.attrs.get("id", "")) or DECORATION_CLASS.search(n.attrs.get("class", "")):
            return True
        # a matplotlib spine: a stroke-only outline in a patch_N group
        if (
            MATPLOTLIB_PATCH_ID.search(n.attrs.get("id", ""))
            and (_paint(node, "fill") or "").strip() == "none"
        ):
            return True
    return False


def _effective_paint(node: Node, prop: str) -> tuple[str | None, float]:
    """The node's fill or stroke (inherited through its groups) and its total opacity."""
    value = None
    opacity = _opacity(node, f"{prop}-opacity")
    for n in (node, *node.ancestors()):
        if value is None:
            value = _paint(n, prop)
        opacity *= _opacity(n, "opacity")
        if n.tag == "svg":
            break
    if value is None and prop == "fill":
        value = "#000000"  # SVG's initial fill
    return value, opacity


def _font_is_large(node: Node) -> bool:
    size, bold = 16.0, False
    for n in (node, *node.ancestors()):
        style = parse_declarations(n.attrs.get("style", ""))
        fs = style.get("font-size", n.attrs.get("font-size"))
        fw = style.get("font-weight", n.attrs.get("font-weight"))
        if fs and size == 16.0:
            m = re.match(r"([\d.]+)\s*(px|pt)?", fs)
            if m:
                size = float(m[1]) * (4 / 3 if m[2] == "pt" else 1)
        if fw and not bold:
            bold = fw.strip() in ("bold", "bolder") or (fw.strip().isdigit() and int(fw) >= 700)
        if n.tag == "svg":
            break
    return size >= 24 or (bold and size >= 18.66)


def _check_svg_colours(nodes: list[Node], problem) -> None:
    reported: set[tuple[str, str, int]] = set()
    for n in nodes:
        if not any(a.tag == "svg" for a in n.ancestors()):
            continue
        svg = next(a for a in n.ancestors() if a.tag == "svg")
        figure = svg.attrs.get("id", f"on line {svg.line}")
        if (
            n.tag in ("text", "tspan")
            and n.text_content()
            and not any(a.tag == "text" for a in n.ancestors())
        ):
            value, opacity = _effective_paint(n, "fill")
            try:
                paint = parse_colour(value) if value else None
            except ColourError:
                problem(n.line, f"<svg> {figure}: cannot read the text colour {value}")
                continue
            if paint is None:
                continue
            seen = blend(paint[0], paint[1] * opacity)
            needed = LARGE_TEXT_CONTRAST if _font_is_large(n) else TEXT_CONTRAST
            ratio = contrast(seen, WHITE)
            key = ("text", hex_of(seen), svg.line)
            if ratio < needed and key not in reported:
                reported.add(key)
                problem(
                    n.line,
                    f'<svg> {figure}: text "{n.text_content()[:30]}" in {hex_of(seen)} has contrast '
                    f"{ratio:.2f}:1 against white, below {needed}:1",
                )
        if n.tag not in SVG_SHAPES or _is_decoration(n):
            continue
        for prop in ("fill", "stroke"):
            value, opacity = _effective_paint(n, prop)
            if value is None or value.strip().lower().startswith("url("):
                continue
            try:
                paint = parse_colour(value)
            except ColourError:
                problem(n.line, f"<svg> {figure}: cannot read the {prop} colour {value}")
                continue
            if paint is None:
                continue
            seen = blend(paint[0], paint[1] * opacity)
            if seen == WHITE:
                continue  # backgrounds and knock-outs
            ratio = contrast(seen, WHITE)
            key = (prop, hex_of(seen), svg.line)
            if ratio < GRAPHICS_CONTRAST and key not in reported:
                reported.add(key)
                mark = n.parent.attrs.get("id") if n.parent and n.parent.tag == "g" else None
                what = f"<{n.tag}>" + (f" in {mark}" if mark else "")
                problem(
                    n.line,
                    f"<svg> {figure}: {what} {prop} {hex_of(seen)} has contrast {ratio:.2f}:1 against "
                    f"white, below {GRAPHICS_CONTRAST}:1 for a data mark",
                )
