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

    charts = page.evaluate(
        """() => [...document.querySelectorAll('figure svg')].map(s => {
            const b = s.getBoundingClientRect();
            return {id: s.id, width: b.width, height: b.height};
        })"""
    )
    assert len(charts) >= 1, "no chart (figure svg) on the page"
    assert [c for c in charts if c["width"] <= 0 or c["height"] <= 0] == [], charts
    page.screenshot(path=str(shots / "edition-1280.png"), full_page=True)

    # Every link on the page (site index, feed, PDF, Markdown, JSON, CSVs) answers 200.
    hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    targets = sorted({h.split("#")[0] for h in hrefs} - {edition_url})
    assert site.url("index.html") in targets and site.url("feed.atom") in targets, targets
    statuses = {url: context.request.get(url).status for url in targets}
    assert {u: s for u, s in statuses.items() if s != 200} == {}
    assert "<feed" in context.request.get(site.url("feed.atom")).text()

    # A phone-sized viewport, loaded afresh: nothing scrolls sideways and every chart fits.
    phone = context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(edition_url, wait_until="load")
    layout = phone.evaluate(
        """() => ({
            scrollWidth: document.documentElement.scrollWidth,
            innerWidth: window.innerWidth,
            wide: [...document.querySelectorAll('figure svg')]
                .map(s => ({id: s.id, box: s.getBoundingClientRect()}))
                .map(c => ({id: c.id, right: c.box.right, height: c.box.height}))
                .filter(c => c.right > window.innerWidth + 0.5 || c.height <= 0),
        })"""
    )
    phone.screenshot(path=str(shots / "edition-375.png"), full_page=True)
    index = context.new_page()
    index.goto(site.url("index.html"), wait_until="load")
    index.screenshot(path=str(shots / "site-index-1280.png"), full_page=True)
    index_links = index.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    assert edition_url in index_links and site.url("feed.atom") in index_links, index_links
    assert {u: context.request.get(u).status for u in index_links} == dict.fromkeys(index_links, 200)
    for shot in sorted(shots.iterdir()):
        print(f"screenshot: {shot}")

    assert layout["scrollWidth"] <= layout["innerWidth"], f"horizontal scroll at 375 px: {layout}"
    assert layout["wide"] == [], f"charts wider than a 375 px viewport: {layout['wide']}"

    assert session.console_errors == []
    assert session.failed == []
    assert [(p, code) for p, code in site.log if code not in (200, 304)] == []
    assert session.foreign == [], f"requests left the loopback server: {session.foreign}"


def test_no_favicon_request(browser, site: Site, demo_edition: Path) -> None:
    context, session = browser
    page = context.new_page()
    page.goto(site.url(f"{demo_edition.name}/index.html"), wait_until="load")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    assert [p for p, _ in site.log if _favicon(p)] == []
    assert session.console_errors == []
