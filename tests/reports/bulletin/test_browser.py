"""The published edition in a real browser: headless Chromium against the site served on loopback.

Needs Debian's `chromium` (/usr/bin/chromium) and the `playwright` Python package (its driver only:
the browser is the system's, so nothing is downloaded). Skipped when Chromium is absent on a
developer's machine; under CI (the `CI` variable set) a missing browser is a failure, not a skip.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
# The tallest the demo edition may be with its folded parts (annex, sources, glossary) closed.
MAX_HEIGHT = {1280: 7_000, 375: 12_000}
SMALLEST_CHART_TEXT_PX = 12
# What the page measures in the browser: its size, every shown chart's box, and every piece of
# chart text as rendered (its box, and its font size times the chart's scale on screen).
LAYOUT = """() => {
    const shown = [...document.querySelectorAll('figure svg')]
        .filter(s => s.getBoundingClientRect().width > 0);
    const texts = shown.flatMap(svg => {
        const box = svg.getBoundingClientRect();
        const scale = box.width / svg.viewBox.baseVal.width;
        return [...svg.querySelectorAll('text')].map(t => {
            const r = t.getBoundingClientRect();
            return {chart: svg.id, text: t.textContent.trim(),
                    px: parseFloat(getComputedStyle(t).fontSize) * scale,
                    outside: r.width > 0 && (r.left < box.left - 0.5 || r.right > box.right + 0.5 ||
                                             r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)};
        });
    });
    return {
        height: document.documentElement.scrollHeight,
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        figures: [...document.querySelectorAll('figure')].map(f =>
            [...f.querySelectorAll('svg')].filter(s => s.getBoundingClientRect().width > 0).map(s => s.id)),
        charts: shown.map(s => { const b = s.getBoundingClientRect();
                                 return {id: s.id, right: b.right, width: b.width, height: b.height}; }),
        texts: texts,
        openDetails: [...document.querySelectorAll('details[open]')].length,
    };
}"""


def _require_browser():
    """The playwright sync API, or a skip (developer machine) / failure (CI) naming what is missing."""
    in_ci = bool(os.environ.get("CI"))
    if not CHROMIUM.exists():
        if in_ci:
            pytest.fail(f"CI is set but {CHROMIUM} is missing: .ci/run must `apt-get install chromium`")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright import sync_api
    except ImportError:
        if in_ci:
            pytest.fail("CI is set but the playwright package is missing: it belongs in the dev extra")
        pytest.skip("the playwright package is not installed (it is in the dev extra)")
    return sync_api


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves the site folder (following the edition symlinks) and records every request."""

    log: list[tuple[str, int]]

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.log.append((self.path, int(code) if str(code).isdigit() else 0))

    def log_message(self, format: str, *args) -> None:
        pass


@dataclass
class Site:
    base: str
    log: list[tuple[str, int]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"


@pytest.fixture
def site(demo_edition: Path) -> Iterator[Site]:
    """The site folder (`demo_edition.parent`) on http://127.0.0.1:<free port>/."""
    log: list[tuple[str, int]] = []
    handler = type("Handler", (_QuietHandler,), {"log": log})
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(demo_edition.parent))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_address[1]}", log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Session:
    """What the browser did: console errors, failed requests, requests to other hosts."""

    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def browser(tmp_path: Path, site: Site):
    """A persistent Chromium context on a new, empty profile, and what it did.

    Every request the pages make is recorded. As a safety net, everything but loopback goes to a
    proxy that refuses connections, so nothing can leave the machine even if a request slipped past
    the recording. (Playwright's own request interception is not used: it also suppresses the
    favicon request a real browser makes, which test_no_favicon_request checks the pages prevent.)
    """
    sync_api = _require_browser()
    profile = tmp_path / "profile"
    profile.mkdir()
    session = Session()
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CHROMIUM_FLAGS, f"--proxy-server=http://127.0.0.1:{_refusing_port()}"],
            viewport=DESKTOP,
            service_workers="block",
        )
        loopback = urlsplit(site.base).netloc

        def request(r) -> None:
            session.requests.append(r.url)
            if urlsplit(r.url).scheme not in ("data", "blob") and urlsplit(r.url).netloc != loopback:
                session.foreign.append(r.url)

        context.on("console", lambda m: _console(session, m))
        context.on("weberror", lambda e: session.console_errors.append(f"uncaught: {e.error}"))
        context.on("request", request)
        context.on("requestfailed", lambda r: session.failed.append(f"{r.url}: {r.failure}"))
        context.on(
            "response", lambda r: r.status >= 400 and session.failed.append(f"{r.url}: HTTP {r.status}")
        )
        try:
            yield context, session
        finally:
            context.close()


def _refusing_port() -> int:
    """A loopback port nothing listens on (bound and released: connections to it are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _console(session: Session, message) -> None:
    if message.type != "error":
        return
    where = message.location.get("url", "") if message.location else ""
    session.console_errors.append(f"{message.text} ({where})")


def _favicon(line: str) -> bool:
    return "/favicon.ico" in line


def test_edition_in_chromium(browser, site: Site, demo_edition: Path, tmp_path: Path) -> None:
    context, session = browser
    period = demo_edition.name
    edition_url = site.url(f"{period}/index.html")
    shots = tmp_path / "screenshots"
    shots.mkdir()

    page = context.new_page()
    response = page.goto(edition_url, wait_until="load")
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(shots / "edition-1280.png"), full_page=True)

    # Every link on the page (site index, feed, PDF, Markdown, JSON, CSVs) answers 200.
    hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    targets = sorted({h.split("#")[0] for h in hrefs} - {edition_url})
    assert site.url("index.html") in targets and site.url("feed.atom") in targets, targets
    statuses = {url: context.request.get(url).status for url in targets}
    assert {u: s for u, s in statuses.items() if s != 200} == {}
    assert "<feed" in context.request.get(site.url("feed.atom")).text()

    index = context.new_page()
    index.goto(site.url("index.html"), wait_until="load")
    index.screenshot(path=str(shots / "site-index-1280.png"), full_page=True)
    index_links = index.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    assert edition_url in index_links and site.url("feed.atom") in index_links, index_links
    assert {u: context.request.get(u).status for u in index_links} == dict.fromkeys(index_links, 200)
    for shot in sorted(shots.iterdir()):
        print(f"screenshot: {shot}")

    assert session.console_errors == []
    assert session.failed == []
    assert [(p, code) for p, code in site.log if code not in (200, 304)] == []
    assert session.foreign == [], f"requests left the loopback server: {session.foreign}"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375px", "1280px"])
def test_edition_reads_at_phone_and_desktop_widths(
    browser, site: Site, demo_edition: Path, tmp_path: Path, viewport: dict
) -> None:
    """As a reader sees it: short enough with the annex folded, nothing scrolling sideways, one
    chart drawn for the width in each figure, no chart text clipped or smaller than 12 px."""
    context, _ = browser
    page = context.new_page()
    page.set_viewport_size(viewport)
    page.goto(site.url(f"{demo_edition.name}/index.html"), wait_until="load")
    layout = page.evaluate(LAYOUT)
    page.screenshot(path=str(tmp_path / f"edition-{viewport['width']}.png"), full_page=True)
    width = viewport["width"]

    assert layout["openDetails"] == 0, "the annex, sources and figure data start folded"
    assert layout["height"] <= MAX_HEIGHT[width], f"{layout['height']} px tall at {width} px"
    assert layout["scrollWidth"] <= layout["innerWidth"], f"horizontal scroll at {width} px"
    assert layout["figures"] and all(len(shown) == 1 for shown in layout["figures"]), layout["figures"]
    narrow = [shown[0].endswith("-narrow-svg") for shown in layout["figures"]]
    assert narrow == [width < 600] * len(narrow), "each figure shows the chart drawn for this width"
    assert [c for c in layout["charts"] if c["right"] > width + 0.5 or c["height"] <= 0] == []
    assert len(layout["texts"]) > 20, "the charts' text was not found"
    assert [t for t in layout["texts"] if t["outside"]] == [], "chart text runs outside its chart"
    small = [t for t in layout["texts"] if t["px"] < SMALLEST_CHART_TEXT_PX]
    assert small == [], f"chart text below {SMALLEST_CHART_TEXT_PX} px at {width} px"


def test_no_favicon_request(browser, site: Site, demo_edition: Path) -> None:
    context, session = browser
    page = context.new_page()
    page.goto(site.url(f"{demo_edition.name}/index.html"), wait_until="load")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    assert [p for p, _ in site.log if _favicon(p)] == []
    assert session.console_errors == []
