"""The shared HTTP client against a real loopback server: retries, Retry-After, timeouts, resets."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from werkzeug import Response

from sources.errors import PublisherHTTPError, PublisherUnreachable
from sources.http import USER_AGENT, HttpConfig, Validators, get, make_client, reporting_progress

FAST = HttpConfig(timeout=1, attempts=3, retry_budget=5, backoff_initial=0, backoff_max=0)


def _get(url: str, config: HttpConfig = FAST, **kwargs):
    with make_client(config) as client:
        return get(client, config, url, {}, publisher="test", dataset="ds", **kwargs)


def test_sends_a_descriptive_user_agent(httpserver) -> None:
    httpserver.expect_request("/x", headers={"User-Agent": USER_AGENT}).respond_with_data("ok")
    assert _get(httpserver.url_for("/x")).body == b"ok"
    assert USER_AGENT.startswith("wm-economic-impact-monitor/")


def test_429_waits_as_long_as_retry_after_says(httpserver) -> None:
    httpserver.expect_ordered_request("/x").respond_with_data("slow down", 429, headers={"Retry-After": "1"})
    httpserver.expect_ordered_request("/x").respond_with_data("ok")
    started = time.monotonic()
    assert _get(httpserver.url_for("/x")).body == b"ok"
    assert time.monotonic() - started >= 1.0


def test_5xx_is_retried_within_the_budget_then_fails_naming_the_status(httpserver) -> None:
    httpserver.expect_request("/x").respond_with_data("down", 503)
    with pytest.raises(PublisherHTTPError, match=r"test / ds: HTTP 503 from localhost after retrying"):
        _get(httpserver.url_for("/x"))
    assert len(httpserver.log) == FAST.attempts


def test_a_retry_after_past_the_ceiling_gives_up_at_once(httpserver) -> None:
    httpserver.expect_request("/x").respond_with_data(
        "come back tomorrow", 429, headers={"Retry-After": "86400"}
    )
    with pytest.raises(PublisherHTTPError, match="HTTP 429"):
        _get(httpserver.url_for("/x"))
    assert len(httpserver.log) == 1


def test_other_4xx_are_not_retried(httpserver) -> None:
    httpserver.expect_request("/x").respond_with_data("gone", 410)
    with pytest.raises(PublisherHTTPError, match="HTTP 410") as raised:
        _get(httpserver.url_for("/x"))
    assert not raised.value.transient and len(httpserver.log) == 1


def test_a_server_slower_than_the_timeout_is_unreachable(httpserver) -> None:
    def slow(request):
        time.sleep(1.5)
        return Response("late")

    httpserver.expect_request("/x").respond_with_handler(slow)
    config = HttpConfig(timeout=0.3, attempts=2, retry_budget=3, backoff_initial=0, backoff_max=0)
    with pytest.raises(PublisherUnreachable, match=r"could not reach localhost \(ReadTimeout"):
        _get(httpserver.url_for("/x"), config)


def test_a_connection_reset_mid_body_is_retried_then_reported() -> None:
    """A raw socket server that promises 1,000 bytes, sends 10 and closes: every attempt."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    attempts = []

    def serve() -> None:
        for _ in range(FAST.attempts):
            conn, _ = listener.accept()
            conn.recv(65536)
            attempts.append(1)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    with pytest.raises(PublisherUnreachable, match="RemoteProtocolError"):
        _get(f"http://127.0.0.1:{port}/x")
    thread.join(5)
    listener.close()
    assert len(attempts) == FAST.attempts


def test_conditional_request_gets_a_304(httpserver) -> None:
    httpserver.expect_request("/x", headers={"If-None-Match": '"v1"'}).respond_with_data("", 304)
    fetched = _get(httpserver.url_for("/x"), validators=Validators(etag='"v1"'))
    assert fetched.not_modified


def test_large_bodies_stream_to_a_spool_file_with_progress(httpserver, tmp_path: Path) -> None:
    body = b"x" * 300_000
    httpserver.expect_request("/big").respond_with_data(body)
    seen: list[tuple[int, int | None]] = []
    with reporting_progress(lambda label, done, total: seen.append((done, total))):
        fetched = _get(httpserver.url_for("/big"), spool_dir=tmp_path)
    assert fetched.body is None and fetched.spooled.read_bytes() == body
    assert fetched.size == len(body) and seen[-1] == (len(body), len(body)) and len(seen) > 1
