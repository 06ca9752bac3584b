"""The email as its subscriber gets it: light (under 200 KB with two areas), three charts at most,
a headline table of at most 25 rows, plain text within 78 columns, and legible on a 375 px phone."""

from __future__ import annotations

import base64
import email
import re
from email.policy import default as default_policy
from pathlib import Path

import pytest

from reports.delivery.mail import MAX_TABLE_ROWS, build_message
from reports.delivery.subscribers import Subscriber
from tests.reports.bulletin.test_browser import CHROMIUM, CHROMIUM_FLAGS, PHONE, _require_browser

MAX_MESSAGE_BYTES = 200 * 1024
MAX_LINE_CHART_PNG_BYTES = 30 * 1024
TWO_AREAS = Subscriber(3, "sam@example.org", ("E08000026", "E08000025"), ref="c2FtLXJlZi0wMTIzNDU2Nzg5")


def _message(edition: Path, subscriber: Subscriber = TWO_AREAS) -> email.message.EmailMessage:
    message = build_message(
        edition,
        subscriber,
        mail_from="Monitor <monitor@eim.example.org>",
        site_url="https://eim.example.org/monitor/",
        unsubscribe_secret="test-unsubscribe-secret-0123456789",
    )
    return email.message_from_bytes(message.as_bytes(), policy=default_policy)


def test_the_message_for_two_areas_is_under_200_kb_with_three_light_charts(demo_edition: Path) -> None:
    message = _message(demo_edition)
    size = len(message.as_bytes())
    images = [p.get_content() for p in message.walk() if p.get_content_type() == "image/png"]
    print(f"message for two areas: {size / 1024:.0f} KB, charts {[len(i) // 1024 for i in images]} KB")
    assert size <= MAX_MESSAGE_BYTES
    assert len(images) == 3
    assert all(len(image) < MAX_LINE_CHART_PNG_BYTES for image in images)
    # Palette PNGs (colour type 3), drawn for a phone's width at 2x.
    assert all(image[25] == 3 for image in images)


def test_the_headline_table_has_the_chosen_areas_and_no_one_off_reference_figures(demo_edition: Path) -> None:
    page = _message(demo_edition).get_body(("html",)).get_content()
    rows = re.findall(r"<tr\b", page.split("<tbody>")[1].split("</tbody>")[0])
    assert 0 < len(rows) <= MAX_TABLE_ROWS
    groups = re.findall(r'scope="rowgroup"[^>]*>([^<]+)</th>', page)
    assert groups == ["Coventry", "Birmingham"]
    assert "Index of Multiple Deprivation" not in page and "priority category" not in page.lower()
    # Survey changes in the bulletin dashboard's words, periods as it names them.
    assert "not significant" in page and "12 months to June 2026" in page
    # A subscriber who chose no area gets the focus area's figures.
    anyone = _message(demo_edition, Subscriber(4, "al@example.org", (), ref="YWwtcmVmLTAxMjM0NTY3ODk"))
    assert re.findall(r'scope="rowgroup"[^>]*>([^<]+)</th>', anyone.get_body(("html",)).get_content()) == [
        "West Midlands Combined Authority"
    ]


def test_the_plain_text_wraps_at_78_columns(demo_edition: Path) -> None:
    text = _message(demo_edition).get_body(("plain",)).get_content()
    long = [line for line in text.splitlines() if len(line) > 78 and not re.fullmatch(r"https?://\S+", line)]
    assert long == []
    assert "HEADLINE FIGURES" in text and "COVENTRY" in text


@pytest.mark.slow
def test_the_html_part_reads_on_a_375_px_phone(demo_edition: Path, tmp_path: Path) -> None:
    """Rendered in Chromium with its inline charts: nothing wider than the screen, no text under 14 px."""
    sync_api = _require_browser()
    message = _message(demo_edition)
    page = message.get_body(("html",)).get_content()
    for part in message.walk():
        if part.get_content_type() == "image/png":
            data = base64.b64encode(part.get_content()).decode()
            page = page.replace(f"cid:{part['Content-ID'].strip('<>')}", f"data:image/png;base64,{data}")
    (tmp_path / "message.html").write_text(page, encoding="utf-8")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            view = browser.new_page(viewport=PHONE)
            view.goto((tmp_path / "message.html").as_uri())
            layout = view.evaluate(
                """() => ({
                    scrollWidth: document.documentElement.scrollWidth,
                    innerWidth: window.innerWidth,
                    images: [...document.images].map(i => ({w: i.getBoundingClientRect().width,
                                                           loaded: i.complete && i.naturalWidth > 0})),
                    smallest: Math.min(...[...document.querySelectorAll('body *')]
                        .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
                        .map(e => parseFloat(getComputedStyle(e).fontSize))),
                })"""
            )
            view.screenshot(path=str(tmp_path / "message-375.png"), full_page=True)
        finally:
            browser.close()
    print(f"screenshot: {tmp_path / 'message-375.png'}")
    assert layout["scrollWidth"] <= layout["innerWidth"], layout
    assert len(layout["images"]) == 3 and all(i["loaded"] and i["w"] <= 343 for i in layout["images"])
    assert layout["smallest"] >= 14
