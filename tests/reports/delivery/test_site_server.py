"""The site server: static files safely, unsubscribe pages and RFC 8058 one-click; and no address leaks."""

from __future__ import annotations

import base64
import http.client
import logging
import shutil
import threading
import urllib.parse
from pathlib import Path

import pytest

from reports.delivery.mail import send_edition
from reports.delivery.site_server import make_server
from reports.delivery.subscribers import SubscriberStore
from reports.delivery.tokens import make_token
from tests.reports.delivery import test_mail as mail_tests
from tests.reports.delivery.test_mail import (
    FAST,
    PERIOD,
    SECRET,
    Collector,
    copy_published,
    mail_config,
    ours,
    publish_next_edition,
    start_smtp,
)
from tests.reports.delivery.test_tokens import make_legacy_token

# Fixtures shared with the mail tests.
published = mail_tests.published


@pytest.fixture
def served(published: Path):
    """The published data directory, served on 127.0.0.1 (any free port) in a thread."""
    server = make_server(published / "site", published, "127.0.0.1", 0, SECRET)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield published, server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def token_for(store: SubscriberStore, email: str) -> str:
    """The token of the links sent to `email`: its subscriber's reference, signed."""
    return make_token(store.get(email).ref, SECRET)


def request(port: int, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, body=body or None, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response, data


def test_the_site_is_served_with_its_content_types(served) -> None:
    _, port = served
    for path, kind in (
        ("/", "text/html; charset=utf-8"),
        (f"/{PERIOD}/", "text/html; charset=utf-8"),
        (f"/{PERIOD}/index.html", "text/html; charset=utf-8"),
        (f"/{PERIOD}/figures.json", "application/json"),
        (f"/{PERIOD}/bulletin.pdf", "application/pdf"),
        (f"/{PERIOD}/data/figure-1.csv", "text/csv; charset=utf-8"),
        ("/feed.atom", "application/atom+xml; charset=utf-8"),
    ):
        response, body = request(port, "GET", path)
        assert response.status == 200, path
        assert response.getheader("Content-Type") == kind, path
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert body
    response, _ = request(port, "GET", f"/{PERIOD}")
    assert response.status == 301 and response.getheader("Location") == f"{PERIOD}/"  # relative: proxy-safe
    response, body = request(port, "HEAD", "/feed.atom")
    assert response.status == 200 and body == b""


def test_no_listing_no_hidden_paths_no_traversal(served) -> None:
    data_dir, port = served
    (data_dir / "site" / "escape").symlink_to(data_dir / "subscribers", target_is_directory=True)
    SubscriberStore(data_dir).add("jo@example.org")
    for path in (
        f"/{PERIOD}/data/",  # a folder without index.html: no listing
        "/.editions/",
        f"/.{PERIOD}.next",
        "/../editions/2026-10/manifest.json",
        "/%2e%2e/editions/2026-10/manifest.json",
        "/..%2f..%2fetc/passwd",
        "/escape/subscribers.sqlite3",  # a link out of the site
        "/%00",
        "/nothing-here",
    ):
        response, body = request(port, "GET", path)
        assert response.status == 404, path
        assert b"SQLite" not in body and b"Index of" not in body
    response, _ = request(port, "PUT", f"/{PERIOD}/index.html")
    assert response.status in (405, 501)
    response, _ = request(port, "POST", f"/{PERIOD}/index.html")
    assert response.status == 405


def test_a_forged_or_altered_token_is_refused(served) -> None:
    data_dir, port = served
    store = SubscriberStore(data_dir)
    store.add("jo@example.org")
    store.add("sam@example.org")
    token = token_for(store, "jo@example.org")
    ref, signature = token.split(".")
    sam_ref = store.get("sam@example.org").ref
    sam = base64.urlsafe_b64encode(b"sam@example.org").rstrip(b"=").decode()
    forged_secret = make_token(ref, "somebody-else's-secret-1234")
    for bad in (
        f"{ref}.{signature[:-1]}",
        f"{sam_ref}.{signature}",  # jo's signature on sam's reference
        f"{sam}.{signature}",  # on sam's address, in the form of the old links
        make_legacy_token("jo@example.org", "somebody-else's-secret-1234"),
        forged_secret,
        "",
        "<script>alert(1)</script>",
    ):
        query = urllib.parse.urlencode({"token": bad})
        for method, body, headers in (
            ("GET", b"", {}),
            ("POST", b"List-Unsubscribe=One-Click", {"Content-Type": "application/x-www-form-urlencoded"}),
        ):
            response, page = request(port, method, f"/unsubscribe?{query}", body, headers)
            assert response.status == 400, (method, bad)
            assert b"This unsubscribe link is not valid" in page
            assert b"<script>" not in page
    assert [s.email for s in store.list_subscribers()] == ["jo@example.org", "sam@example.org"]


def test_get_asks_first_and_the_form_post_unsubscribes(served) -> None:
    data_dir, port = served
    store = SubscriberStore(data_dir)
    store.add("jo@example.org")
    token = token_for(store, "jo@example.org")
    response, page = request(port, "GET", f"/unsubscribe?token={token}")
    assert response.status == 200
    assert b'<form method="post" action="unsubscribe">' in page and b"<button" in page
    assert f'value="{token}"'.encode() in page
    assert response.getheader("Cache-Control") == "no-store"
    assert response.getheader("Referrer-Policy") == "no-referrer"
    assert store.list_subscribers() != []  # a GET (a link scanner) changes nothing
    form = urllib.parse.urlencode({"token": token}).encode()
    response, page = request(
        port, "POST", "/unsubscribe", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 200 and b"You are unsubscribed" in page
    assert store.list_subscribers() == []


def test_one_click_multipart_post_unsubscribes(served) -> None:
    data_dir, port = served
    store = SubscriberStore(data_dir)
    store.add("jo@example.org")
    boundary = "---FormBoundaryjWmhtjORrn"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    token = token_for(store, "jo@example.org")
    response, _ = request(
        port,
        "POST",
        f"/unsubscribe?token={token}",
        body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status == 200
    assert store.list_subscribers() == []


def test_unsubscribing_through_the_server_stops_the_next_edition(served, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    data_dir, port = served
    store = SubscriberStore(data_dir)
    store.add("jo@example.org")
    store.add("sam@example.net")
    handler = Collector()
    controller = start_smtp(handler)
    try:
        first = send_edition(data_dir, PERIOD, mail_config(controller.port), policy=FAST)
        assert first.sent == 2
        jo_message = next(m for m in handler.messages() if m["To"] == "jo@example.org")
        link = jo_message["List-Unsubscribe"].strip().strip("<>")
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]
        # What a mail client does for RFC 8058 one-click: POST the List-Unsubscribe URL.
        response, _ = request(
            port,
            "POST",
            f"/unsubscribe?token={token}",
            b"List-Unsubscribe=One-Click",
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status == 200
        publish_next_edition(data_dir)
        handler.envelopes.clear()
        second = send_edition(data_dir, None, mail_config(controller.port), policy=FAST)
    finally:
        controller.stop()
    assert (second.edition, second.sent) == ("2026-11", 1)
    assert handler.recipients() == ["sam@example.net"]
    text = ours(caplog)
    assert "jo@" not in text and "sam@" not in text and token not in text


def test_no_address_reaches_the_warehouse_snapshot_parquet_site_feed_or_logs(
    demo_data_dir, demo_edition: Path, tmp_path: Path, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    data_dir = copy_published(demo_edition, tmp_path / "data")
    shutil.copy(demo_data_dir.warehouse_path, data_dir / "warehouse.duckdb")
    shutil.copytree(demo_data_dir.parquet_dir, data_dir / "published" / "parquet")
    addresses = ["Private.Person@Example.org", "second.reader@example.net"]
    store = SubscriberStore(data_dir)
    for address in addresses:
        store.add(address, "E08000025")
    handler = Collector(refuse=("second.reader@example.net",))
    controller = start_smtp(handler)
    server = make_server(data_dir / "site", data_dir, "127.0.0.1", 0, SECRET)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        send_edition(data_dir, PERIOD, mail_config(controller.port), policy=FAST)
        port = server.server_address[1]
        token = token_for(store, addresses[0])
        request(port, "GET", f"/unsubscribe?token={token}")
        request(port, "POST", f"/unsubscribe?token={token}", b"List-Unsubscribe=One-Click")
        request(port, "GET", "/feed.atom")
    finally:
        controller.stop()
        server.shutdown()
        server.server_close()
    assert store.list_subscribers()[0].email == "second.reader@example.net"
    needles = set()
    for address in addresses:
        normal = address.rsplit("@", 1)[0] + "@" + address.rsplit("@", 1)[1].lower()
        needles |= {address.lower().encode(), normal.split("@")[0].lower().encode()}
        needles.add(base64.urlsafe_b64encode(normal.encode()).rstrip(b"=")[:16])  # the token's address part
    checked = []
    for path in sorted(data_dir.rglob("*")):
        if path.is_dir() or data_dir / "subscribers" in path.parents:
            continue
        content = path.read_bytes().lower()
        checked.append(path.relative_to(data_dir).as_posix())
        for needle in needles:
            assert needle.lower() not in content, f"{needle!r} found in {path}"
    assert "warehouse.duckdb" in checked and "published/warehouse.duckdb" in checked
    assert any(p.startswith("published/parquet/") and p.endswith(".parquet") for p in checked)
    assert "site/feed.atom" in checked and "site/index.html" in checked
    assert any(p.startswith("site/.editions/") for p in checked)
    text = ours(caplog).lower()
    for needle in needles:
        assert needle.decode().lower() not in text


def test_the_link_names_no_address_and_a_previous_secret_or_an_old_link_still_unsubscribes(
    published: Path,
) -> None:
    store = SubscriberStore(published)
    for address in ("jo@example.org", "sam@example.org", "kim@example.org"):
        store.add(address)
    retired = "a-retired-unsubscribe-secret-0001"
    server = make_server(published / "site", published, "127.0.0.1", 0, SECRET, previous_secrets=[retired])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        current = token_for(store, "jo@example.org")
        # The address, plain or encoded, not two letters a random token holds one time in sixty.
        assert "jo@example" not in current
        assert base64.urlsafe_b64encode(b"jo@example.org")[:8].decode() not in current
        signed_before_rotation = make_token(store.get("sam@example.org").ref, retired)
        sent_before_references = make_legacy_token("kim@example.org", SECRET)
        for token in (current, signed_before_rotation, sent_before_references):
            response, page = request(
                port, "POST", f"/unsubscribe?token={token}", b"List-Unsubscribe=One-Click"
            )
            assert response.status == 200 and b"You are unsubscribed" in page, token
        assert store.list_subscribers() == []
        store.remove("jo@example.org")
        response, page = request(port, "POST", f"/unsubscribe?token={current}", b"List-Unsubscribe=One-Click")
        assert response.status == 200 and b"no longer on the Economic Impact Monitor" in page
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
