"""`eim site serve` against hostile clients on loopback: idle and slow clients are cut, the number of
connections is bounded, and every HTML page carries a policy that allows the page alone."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reports.delivery.site_server import CONTENT_SECURITY_POLICY, make_server
from tests.reports.delivery import test_mail as mail_tests
from tests.reports.delivery.test_mail import SECRET
from tests.reports.delivery.test_site_server import request

published = mail_tests.published
TIMEOUT = 1.0


@pytest.fixture
def strict(published: Path) -> Iterator[int]:
    """The site served with a one-second request timeout and room for four connections."""
    server = make_server(
        published / "site", published, "127.0.0.1", 0, SECRET, timeout=TIMEOUT, max_connections=4
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server closes the connection (EOF or reset) within `within` seconds."""
    sock.settimeout(within)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


def test_idle_connections_are_closed_after_the_timeout(strict: int) -> None:
    idle = [socket.create_connection(("127.0.0.1", strict)) for _ in range(4)]
    started = time.monotonic()
    try:
        assert all(_closed_by_server(s, TIMEOUT * 4) for s in idle)
    finally:
        for s in idle:
            s.close()
    assert time.monotonic() - started < TIMEOUT * 5
    response, _ = request(strict, "GET", "/")
    assert response.status == 200, "the server serves again once the idle clients are cut"


def test_a_client_trickling_its_headers_is_cut_at_the_deadline(strict: int) -> None:
    slow = socket.create_connection(("127.0.0.1", strict))
    started = time.monotonic()
    cut = False
    try:
        slow.sendall(b"GET / HTTP/1.1\r\n")
        for _ in range(int(TIMEOUT * 8)):
            time.sleep(TIMEOUT / 2)  # each byte well within the idle timeout
            try:
                slow.sendall(b"X")
            except OSError:
                cut = True
                break
            slow.settimeout(0.01)
            try:
                if slow.recv(1) == b"":
                    cut = True
                    break
            except TimeoutError:
                pass
            except OSError:
                cut = True
                break
    finally:
        slow.close()
    assert cut, "a client sending a byte every half-timeout was never cut"
    assert time.monotonic() - started < TIMEOUT * 4


def test_connections_beyond_the_bound_get_a_503_and_are_closed(strict: int) -> None:
    held = [socket.create_connection(("127.0.0.1", strict)) for _ in range(4)]
    try:
        time.sleep(0.2)  # let the server accept all four
        extra = socket.create_connection(("127.0.0.1", strict))
        extra.settimeout(TIMEOUT * 2)
        reply = extra.recv(4096)
        assert reply.startswith(b"HTTP/1.1 503"), reply
        assert _closed_by_server(extra, TIMEOUT * 2)
        extra.close()
    finally:
        for s in held:
            s.close()


def test_every_html_page_carries_the_content_security_policy(strict: int, published: Path) -> None:
    period = next(p.name for p in (published / "site").iterdir() if p.name[:1].isdigit())
    for path in ("/", f"/{period}/", "/unsubscribe?token=bad"):
        response, _ = request(strict, "GET", path)
        assert response.getheader("Content-Security-Policy") == CONTENT_SECURITY_POLICY, path
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert response.getheader("Referrer-Policy") == "no-referrer"
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY and "script-src" not in CONTENT_SECURITY_POLICY
