"""A replay server on loopback that answers like the publishers, for the demo and the tests.

It serves the illustrative samples of `sources.replay.samples` in each publisher's exact format
(column names, status markers, paging, ETag / 304), so the real fetch code runs unchanged against
it: only the base URLs differ. Each publisher is emulated in a module of its own beside this one.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import threading
from collections import OrderedDict
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sources import nomis
from sources.replay import els, govuk, landregistry, ons, ons_datasets, samples
from sources.replay.nomis import NomisEmulator
from sources.replay.reply import Reply

EMULATORS = (ons.route, ons_datasets.route, govuk.route)


REPLY_CACHE_SIZE = 128


@functools.lru_cache(maxsize=REPLY_CACHE_SIZE)
def entity_tag(body: bytes) -> str:
    """A strong ETag from the body; cached, since the same cached body is answered again and again."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def containment(area_set: object) -> dict[str, tuple[str, ...]]:
    """What the region, England and the UK are made of, so that every aggregate is the sum of its
    parts: the region is the councils of the focus area's neighbourhood (the focus area and every
    named area sharing a council with it) and the rest of the region; England the region and the
    rest of England; the UK England and the rest of the UK."""
    by_code = {area.code: area for area in area_set.areas}
    focus = set(by_code[area_set.focus].members)
    near = [a for a in area_set.areas if a.members and focus & set(a.members)]
    councils = tuple(dict.fromkeys(m for area in near for m in area.members))
    roles = area_set.roles
    if not councils or not {"region", "england", "uk"} <= set(roles):
        return {}
    region, england, uk = roles["region"], roles["england"], roles["uk"]
    return {
        region: (*councils, samples.rest_code("region", region)),
        england: (region, samples.rest_code("england", england)),
        uk: (england, samples.rest_code("uk", uk)),
    }


class ReplayServer:
    """Serve every publisher's format on 127.0.0.1; `base_urls` maps publisher -> URL."""

    def __init__(
        self,
        *,
        names: dict[str, str],
        members: dict[str, tuple[str, ...]] | None = None,
        today: dt.date | None = None,
        nomis_page_limit: int = nomis.GUEST_PAGE_LIMIT,
        port: int = 0,
    ) -> None:
        self.today = today or dt.date.today()
        self.names = names
        self.members = members or {}
        self.nomis = NomisEmulator(self.today, names, self.members, nomis_page_limit)
        self.requests: list[str] = []
        self.responses: list[tuple[str, int]] = []  # (path, status): what a test can check
        self._replies: OrderedDict[tuple, Reply] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.last_modified = format_datetime(
            dt.datetime.combine(self.today, dt.time(9, 30), tzinfo=dt.UTC), usegmt=True
        )
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @classmethod
    def serving(cls, area_set: object, **kwargs: object) -> ReplayServer:
        """A server for every area of an area set (a `warehouse.geography.AreaSet`, taken by its
        `areas` so that sources need not import the warehouse): names, and members to sum."""
        areas = area_set.areas
        names = {area.code: area.name for area in areas}
        members = {area.code: area.members for area in areas if area.members}
        return cls(names=names, members={**members, **containment(area_set)}, **kwargs)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_urls(self) -> dict[str, str]:
        return {
            "nomis": self.url,
            "ons_api": self.url + "/v1",
            "ons_web": self.url,
            "ons_datasets": self.url,
            "landregistry": self.url,
            "govuk": self.url,
            "els": self.url + els.PREFIX.rstrip("/"),
        }

    def route(self, path: str, query: dict[str, str]) -> Reply:
        """The reply for a request; built once per request and calendar day, as a publisher's CDN
        would serve it, so that a revalidation answered 304 costs what it costs a real publisher."""
        key = (path, tuple(sorted(query.items())), self.today, self.nomis.today, self.url)
        with self._cache_lock:
            if key in self._replies:
                self._replies.move_to_end(key)
                return self._replies[key]
        reply = self._build_reply(path, query)
        with self._cache_lock:
            self._replies[key] = reply
            while len(self._replies) > REPLY_CACHE_SIZE:
                self._replies.popitem(last=False)
        return reply

    def _build_reply(self, path: str, query: dict[str, str]) -> Reply:
        if m := re.fullmatch(r"/api/v01/dataset/(NM_\d+_\d+)\.data\.csv", path):
            return self.nomis.reply(m[1], query)
        houses = landregistry.route(
            path, query, today=self.today, names=self.names, members=self.members, base_url=self.url
        )
        if houses is not None:
            return houses
        demography = ons_datasets.demography_route(
            path, query, today=self.today, names=self.names, members=self.members
        )
        if demography is not None:
            return demography
        local_statistics = els.route(path, query, today=self.today, names=self.names, members=self.members)
        if local_statistics is not None:
            return local_statistics
        for emulator in EMULATORS:
            reply = emulator(path, query, today=self.today, names=self.names, base_url=self.url)
            if reply is not None:
                return reply
        return Reply(404, b"Not found")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                server.requests.append(self.path)
                reply = server.route(parts.path, query)
                headers = dict(reply.headers)
                if reply.status == 200:
                    etag = entity_tag(reply.body)
                    headers.update({"ETag": etag, "Last-Modified": server.last_modified})
                    if self.headers.get("If-None-Match") == etag:
                        reply = Reply(304)
                server.responses.append((parts.path, reply.status))
                self.send_response(reply.status)
                if reply.status != 304:
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(reply.body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if reply.status != 304:
                    self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the demo prints its own progress."""

        return Handler

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
