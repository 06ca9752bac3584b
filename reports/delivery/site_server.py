"""A small web server for the published site and the unsubscribe endpoint (stdlib http.server).

  GET  /, /<period>/, /<period>/<file>, /feed.atom   the site's files (site/<period> is a link into
                                                     site/.editions/, followed); no directory listings,
                                                     no hidden paths, nothing outside the site folder
  GET  /unsubscribe?token=...                        a confirmation page with a button (a link checker
                                                     or mail scanner fetching the link changes nothing)
  POST /unsubscribe?token=...  (or token=... in the form body)
                                                     unsubscribes; a body List-Unsubscribe=One-Click
                                                     (RFC 8058, urlencoded or multipart) is the mail
                                                     client's one-click request and is handled the same

Hardening: every HTML response carries a Content-Security-Policy that allows the page itself and
nothing else (an edition is self-contained: inline SVG charts and styles, no script, no remote
resource) and may not be framed. A connection that sends nothing for `timeout` seconds, or has not
sent its request line and headers `timeout` seconds after connecting, is closed; at most
`max_connections` are served at once (the next gets a 503 and is closed), request headers are bounded
by http.server (64 KiB a line, 100 lines) and bodies by MAX_BODY.

A token that was altered, cut short or made with another secret gets a 400 page. Pages use relative links
only, so the server works behind a reverse proxy that mounts it under a prefix. Request logs name the
path without its query string, so neither tokens nor addresses reach a log.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Sequence
from email import message_from_bytes
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from reports.delivery.subscribers import SubscriberStore, scrub, store_path
from reports.delivery.tokens import InvalidToken, secret_bytes, verify_legacy_token, verify_token

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".css": "text/css; charset=utf-8",
}
MAX_CONNECTIONS = 64
REQUEST_TIMEOUT = 10.0  # seconds: idle, and for the whole of the request line and headers
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HTML_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Referrer-Policy": "no-referrer"}
PAGE_HEADERS = {**HTML_HEADERS, "Cache-Control": "no-store"}
PAGE = """<!DOCTYPE html>
<html lang="en-GB">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body {{ font-family: Arial, sans-serif; max-width: 40em; margin: 2em auto; padding: 0 1em;
color: #0b0c0c; }}
button {{ font-size: 1.1em; padding: 0.5em 1em; background: #00703c; color: #fff; border: 0; }}</style>
</head>
<body>
<main>
<h1>{title}</h1>
{body}
<p><a href="./">All editions</a></p>
</main>
</body>
</html>
"""


def _mask(address: str) -> str:
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}…@{domain}"


def _page(title: str, body: str) -> bytes:
    """A page: `title` is escaped here; `body` is HTML whose every variable part the caller escaped."""
    return PAGE.format(title=html.escape(title), body=body).encode()


def _form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The fields of an urlencoded or multipart/form-data body (first value of each)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded" or (not kind and b"=" in body):
        parsed = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}
    if kind == "multipart/form-data":
        message = message_from_bytes(
            f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body, policy=HTTP
        )
        fields = {}
        if message.is_multipart():
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if name and name not in fields:
                    payload = part.get_payload(decode=True) or b""
                    fields[str(name)] = payload.decode("utf-8", "replace").strip()
        return fields
    return {}


class SiteHandler(BaseHTTPRequestHandler):
    server_version = "eim-site"
    sys_version = ""
    site_root: Path
    store: SubscriberStore
    secrets: tuple[str, ...]  # the current secret first, then the retired ones still accepted
    timeout = REQUEST_TIMEOUT  # the socket's: a read that waits longer ends the connection

    def handle_one_request(self) -> None:
        # Each request of a kept-alive connection gets its own deadline for its line and headers.
        self.server.arm_deadline(self.connection)
        super().handle_one_request()

    def parse_request(self) -> bool:
        parsed = super().parse_request()  # reads the headers
        # The request line and headers have been read: the deadline for them no longer applies.
        self.server.clear_deadline(self.connection)
        return parsed

    # --- logging without tokens or addresses --------------------------------------------------------

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urllib.parse.urlsplit(self.path).path if hasattr(self, "path") else "-"
        status = code.value if isinstance(code, HTTPStatus) else code
        log.info("%s %s %s", getattr(self, "command", "-"), scrub(path), status)

    def log_message(self, format: str, *args: object) -> None:
        text = format % args if args else format
        log.info("%s", scrub(re.sub(r"\?\S*", "?…", text)))

    # --- responses ----------------------------------------------------------------------------------

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _html(self, status: int, title: str, body: str) -> None:
        self._send(status, _page(title, body), "text/html; charset=utf-8", PAGE_HEADERS)

    def _not_found(self) -> None:
        self._html(404, "Page not found", "<p>There is no page at this address.</p>")

    # --- routing ------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path.rstrip("/") == "/unsubscribe":
            self._unsubscribe_form(url.query)
        else:
            self._static(url)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path.rstrip("/") != "/unsubscribe":
            self._send(405, b"Method not allowed\n", "text/plain; charset=utf-8", {"Allow": "GET, HEAD"})
            return
        length = self.headers.get("Content-Length")
        if length is None and self.headers.get("Transfer-Encoding"):
            self._send(411, b"Length required\n", "text/plain; charset=utf-8")
            return
        try:
            size = int(length or 0)
        except ValueError:
            size = -1
        if size < 0 or size > MAX_BODY:
            self._send(413, b"Request body too large\n", "text/plain; charset=utf-8")
            return
        body = self.rfile.read(size) if size else b""
        fields = _form_fields(self.headers.get("Content-Type", ""), body)
        query = urllib.parse.parse_qs(url.query)
        token = (query.get("token") or [fields.get("token", "")])[0]
        one_click = fields.get("List-Unsubscribe", "").strip() == "One-Click"
        self._unsubscribe(token, one_click=one_click)

    # --- the site -----------------------------------------------------------------------------------

    def _static(self, url: urllib.parse.SplitResult) -> None:
        path = urllib.parse.unquote(url.path)
        if "\x00" in path or "\\" in path or not path.startswith("/"):
            self._not_found()
            return
        parts = [p for p in path.split("/") if p]
        if any(p.startswith(".") for p in parts):  # "..", ".editions", ".2026-10.next"
            self._not_found()
            return
        candidate = self.site_root.joinpath(*parts)
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            self._not_found()
            return
        if not resolved.is_relative_to(self.site_root):
            self._not_found()
            return
        if resolved.is_dir():
            if not path.endswith("/"):
                # Relative, so it holds behind a proxy that mounts the site under a prefix.
                target = urllib.parse.quote(parts[-1]) + "/" + (f"?{url.query}" if url.query else "")
                self._send(301, b"", "text/plain; charset=utf-8", {"Location": target})
                return
            resolved = resolved / "index.html"
            if not resolved.is_file():
                self._not_found()  # never a directory listing
                return
        if not resolved.is_file():
            self._not_found()
            return
        content_type = CONTENT_TYPES.get(resolved.suffix.lower(), "application/octet-stream")
        headers = {"Cache-Control": "public, max-age=300"}
        if resolved.suffix.lower() in (".html", ".htm"):
            headers.update(HTML_HEADERS)
        self._send(200, resolved.read_bytes(), content_type, headers)

    # --- unsubscribing ------------------------------------------------------------------------------

    def _invalid(self) -> None:
        self._html(
            400,
            "This unsubscribe link is not valid",
            "<p>The link may have been altered or cut short when it was copied. Nothing has changed.</p>"
            "<p>Use the unsubscribe link at the foot of the most recent email, whole, or reply to that "
            "email to ask to be taken off the list.</p>",
        )

    def _subscriber(self, token: str) -> tuple[str | None, str | None]:
        """(reference, None) for a token of ours, (None, address) for one of the links sent before
        references existed; InvalidToken otherwise."""
        try:
            return verify_token(token, self.secrets), None
        except InvalidToken:
            return None, verify_legacy_token(token, self.secrets)

    def _unsubscribe_form(self, query: str) -> None:
        token = (urllib.parse.parse_qs(query).get("token") or [""])[0]
        try:
            ref, address = self._subscriber(token)
        except InvalidToken:
            self._invalid()
            return
        address = address or self.store.address_for_ref(ref)
        if address is None:
            self._gone()
            return
        self._html(
            200,
            "Unsubscribe from the Economic Impact Monitor",
            "<p>Stop sending the Economic Impact Monitor to "
            f"<strong>{html.escape(_mask(address))}</strong>?</p>"
            '<form method="post" action="unsubscribe">'
            f'<input type="hidden" name="token" value="{html.escape(token, quote=True)}">'
            '<button type="submit">Unsubscribe</button></form>',
        )

    def _gone(self) -> None:
        self._html(
            200,
            "You are not on the list",
            "<p>This address is no longer on the Economic Impact Monitor's list: no more editions will "
            "be sent to it.</p>",
        )

    def _unsubscribe(self, token: str, *, one_click: bool) -> None:
        try:
            ref, address = self._subscriber(token)
        except InvalidToken:
            self._invalid()
            return
        try:
            if ref is not None:
                address = self.store.unsubscribe_ref(ref)
            else:
                self.store.unsubscribe(address)
        except Exception as error:  # the store is unavailable: say so, log no address
            log.error(
                "could not record an unsubscribe: %s",
                scrub(type(error).__name__ + ": " + str(error), address),
            )
            self._html(
                503,
                "Please try again",
                "<p>Your request could not be recorded just now. Please try again in a few minutes.</p>",
            )
            return
        if address is None:
            self._gone()
            return
        log.info("an unsubscribe was recorded%s", " (one-click)" if one_click else "")
        self._html(
            200,
            "You are unsubscribed",
            f"<p>No more editions will be sent to <strong>{html.escape(_mask(address))}</strong>.</p>"
            "<p>The bulletin stays on this site and in its Atom feed.</p>",
        )


def make_server(
    site_dir: Path,
    data_dir: Path,
    host: str,
    port: int,
    unsubscribe_secret: str,
    *,
    previous_secrets: Sequence[str] = (),
    timeout: float = REQUEST_TIMEOUT,
    max_connections: int = MAX_CONNECTIONS,
) -> SiteServer:
    """A bound, not yet serving server (port 0: any free port; see `server.server_address`)."""
    for secret in (unsubscribe_secret, *previous_secrets):
        secret_bytes(secret)  # refuse to start without usable secrets
    site_root = Path(site_dir).resolve()
    if not site_root.is_dir():
        raise FileNotFoundError(f"no site at {site_dir}: publish an edition first")
    if store_path(Path(data_dir)).parent.resolve().is_relative_to(site_root):
        raise ValueError("the subscriber store must not lie inside the site folder")
    handler = type(
        "BoundSiteHandler",
        (SiteHandler,),
        {
            "site_root": site_root,
            "store": SubscriberStore(Path(data_dir)),
            "secrets": (unsubscribe_secret, *previous_secrets),
        },
    )
    return SiteServer((host, port), handler, timeout=timeout, max_connections=max_connections)


class SiteServer(ThreadingHTTPServer):
    """A thread per connection, at most `max_connections` at once, and a deadline for each
    connection's request line and headers (so a client sending a byte at a time is cut too)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, *, timeout: float, max_connections: int):
        super().__init__(address, handler)
        handler.timeout = timeout
        self.request_timeout = timeout
        self.slots = threading.BoundedSemaphore(max_connections)
        self.deadlines: dict[socket.socket, float] = {}
        self.deadlines_lock = threading.Lock()
        self.closed = threading.Event()
        self.reaper = threading.Thread(target=self._reap, name="eim-site-deadlines", daemon=True)
        self.reaper.start()

    def process_request(self, request: socket.socket, client_address: tuple) -> None:
        if not self.slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\nRetry-After: 5\r\n\r\n"
                )
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: socket.socket, client_address: tuple) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.clear_deadline(request)
            self.slots.release()

    def arm_deadline(self, request: socket.socket) -> None:
        with self.deadlines_lock:
            self.deadlines[request] = time.monotonic() + self.request_timeout

    def clear_deadline(self, request: socket.socket) -> None:
        with self.deadlines_lock:
            self.deadlines.pop(request, None)

    def server_close(self) -> None:
        self.closed.set()
        super().server_close()

    def _reap(self) -> None:
        while not self.closed.wait(min(1.0, self.request_timeout / 4)):
            now = time.monotonic()
            with self.deadlines_lock:
                late = [r for r, deadline in self.deadlines.items() if deadline < now]
                for request in late:
                    del self.deadlines[request]
            for request in late:
                with contextlib.suppress(OSError):
                    request.shutdown(socket.SHUT_RDWR)  # the handler's read returns; it closes
