"""A fault-injecting replay server: the demo's ReplayServer with programmable faults per publisher.

`FaultyReplayServer.inject(fault, publisher, times=N)` makes the next N requests to that publisher
(its paths, see PUBLISHER_PATHS) misbehave; every other request is answered like the clean replay
server. Faults that act on the data table (truncated CSV, renamed column...) only apply to the
response that carries the table (TABLE_PATHS) and only when the clean answer is a 200.

`FAULTS` is the list the fault matrix runs and `docs/reliability.md` documents.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from sources.replay.reply import Reply
from sources.replay.server import ReplayServer

PUBLISHERS = ("nomis", "ons_api", "ons_web", "ons_datasets", "landregistry", "govuk", "els")
ALL = PUBLISHERS
CSV_PUBLISHERS = ("nomis", "ons_api", "landregistry", "els")

# One dataset per publisher, the one the fault matrix breaks.
DATASET_FOR = {
    "nomis": "business_counts",
    "ons_api": "regional_gdp",
    "ons_web": "cpi",
    "ons_datasets": "paye_rti",
    "landregistry": "house_prices",
    "govuk": "luf_priority_category",
    "els": "els_gdhi_per_head",
}

PUBLISHER_PATHS = {
    "nomis": re.compile(r"^/api/v01/dataset/"),
    "ons_api": re.compile(r"^/(v1/datasets|downloads/datasets)/"),
    "ons_web": re.compile(r"/timeseries/"),
    "ons_datasets": re.compile(r"^/(file$|employmentandlabourmarket/)"),
    "landregistry": re.compile(r"^/market-trend-data/"),
    "govuk": re.compile(r"^/(api/content|government/uploads)/"),
    "els": re.compile(r"^/els/"),
}
TABLE_PATHS = {
    "nomis": re.compile(r"^/api/v01/dataset/"),
    "ons_api": re.compile(r"^/downloads/datasets/"),
    "ons_web": re.compile(r"/timeseries/"),
    "ons_datasets": re.compile(r"^/file$"),
    "landregistry": re.compile(r"^/market-trend-data/"),
    "govuk": re.compile(r"^/government/uploads/"),
    "els": re.compile(r"^/els/.*\.csv$"),  # the indicator file, not its metadata (.json)
}
# The column a data fault breaks, per publisher (for govuk, a header in the spreadsheet).
VALUE_COLUMN = {
    "nomis": "OBS_VALUE",
    "ons_api": "V4_1",  # regional_gdp's observation column
    "ons_web": "value",
    "ons_datasets": "West Midlands",  # a column of the NUTS1 sheet (the table: names row and months)
    "landregistry": "AveragePrice",
    "govuk": "Category",
    "els": "observation",
}
COUNT_COLUMN = {"nomis": "OBS_VALUE", "landregistry": "SalesVolume"}
RATE_COLUMN = {"ons_web": "value", "landregistry": "12m%Change"}

CLIENT_TIMEOUT = 1.0  # EIM_HTTP_TIMEOUT of the matrix; the delay fault waits past it


# ---------------------------------------------------------------------------------------------------
# Table helpers: CSV (ELS's indicator files too), the ONS time-series JSON and the GOV.UK and ONS
# spreadsheets, each as header + rows.


def _csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _csv_body(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _edit_table(publisher: str, body: bytes, edit: Callable[[list[str], list[list[str]]], tuple]) -> bytes:
    """Apply `edit(header, rows) -> (header, rows)` to the publisher's table, whatever its format."""
    if publisher in CSV_PUBLISHERS:
        rows = _csv_rows(body)
        header, data = edit(rows[0], rows[1:])
        return _csv_body([header, *data])
    if publisher == "ons_web":
        document = json.loads(body)
        months = document.get("months", [])
        keys = list(months[0]) if months else ["date", "value"]
        header, data = edit(keys, [[str(m.get(k, "")) for k in keys] for m in months])
        document["months"] = [dict(zip(header, row, strict=False)) for row in data]
        return json.dumps(document).encode()
    if publisher == "govuk":
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(body))
        for sheet in book.worksheets:
            rows = [[("" if c is None else c) for c in row] for row in sheet.iter_rows(values_only=True)]
            at = next((i for i, r in enumerate(rows) if VALUE_COLUMN["govuk"] in [str(c) for c in r]), None)
            if at is None:
                continue
            header, data = edit([str(c) for c in rows[at]], [list(r) for r in rows[at + 1 :]])
            sheet.delete_rows(1, sheet.max_row)
            for row in [*rows[:at], header, *data]:
                sheet.append(list(row))
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    if publisher == "ons_datasets":
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(body))
        sheet = book["7. Employees (NUTS1)"]
        rows = [[("" if c is None else c) for c in row] for row in sheet.iter_rows(values_only=True)]
        codes, names, data = rows[5], [str(c) for c in rows[6]], [list(r) for r in rows[7:]]
        header, data = edit(names, data)
        if len(header) < len(names):  # a column dropped: its code goes with it
            gone = next(i for i, name in enumerate(names) if i >= len(header) or header[i] != name)
            codes = codes[:gone] + codes[gone + 1 :]
        sheet.delete_rows(1, sheet.max_row)
        for row in [*rows[:5], codes, header, *data]:
            sheet.append(list(row))
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    raise ValueError(publisher)


def _column_edit(column: str, change: Callable[[object], object]) -> Callable:
    def edit(header: list[str], rows: list[list]) -> tuple:
        at = header.index(column)
        for row in rows:
            if at < len(row) and str(row[at]).strip() not in ("", "None"):
                row[at] = change(row[at])
        return header, rows

    return edit


def _number(value: object) -> float:
    return float(str(value).replace(",", ""))


def rename_column(publisher: str, reply: Reply) -> Reply:
    column = VALUE_COLUMN[publisher]

    def edit(header, rows):
        return [f"{h}_renamed" if h == column else h for h in header], rows

    return _with_body(reply, _edit_table(publisher, reply.body, edit))


def drop_column(publisher: str, reply: Reply) -> Reply:
    column = VALUE_COLUMN[publisher]

    def edit(header, rows):
        at = header.index(column)
        return header[:at] + header[at + 1 :], [r[:at] + r[at + 1 :] for r in rows]

    return _with_body(reply, _edit_table(publisher, reply.body, edit))


def duplicate_rows(publisher: str, reply: Reply) -> Reply:
    def edit(header, rows):
        return header, [r for row in rows for r in (row, list(row))]

    return _with_body(reply, _edit_table(publisher, reply.body, edit))


def negative_counts(publisher: str, reply: Reply) -> Reply:
    edit = _column_edit(COUNT_COLUMN[publisher], lambda v: str(-abs(_number(v)) - 1))
    return _with_body(reply, _edit_table(publisher, reply.body, edit))


def rates_above_100(publisher: str, reply: Reply) -> Reply:
    edit = _column_edit(RATE_COLUMN[publisher], lambda v: str(abs(_number(v)) + 150))
    return _with_body(reply, _edit_table(publisher, reply.body, edit))


def empty_table(publisher: str, reply: Reply) -> Reply:
    return _with_body(reply, _edit_table(publisher, reply.body, lambda header, rows: (header, [])))


def cut_mid_row(publisher: str, reply: Reply) -> Reply:
    """The body cut part-way through a row, with a Content-Length that matches the cut body."""
    body = reply.body
    cut = int(len(body) * 0.6)
    while cut < len(body) - 1 and body[cut : cut + 1] in (b"\n", b","):
        cut += 1
    return _with_body(reply, body[: cut + 1])


def _with_body(reply: Reply, body: bytes, content_type: str | None = None, **headers: str) -> Reply:
    return Reply(reply.status, body, content_type or reply.content_type, {**reply.headers, **headers})


def status(code: int, retry_after: str | None = None) -> Callable[[str, Reply], Reply]:
    def apply(publisher: str, reply: Reply) -> Reply:
        headers = {"Retry-After": retry_after} if retry_after else {}
        return Reply(code, f"HTTP {code} (injected)".encode(), headers=headers)

    return apply


def wrong_content_type(publisher: str, reply: Reply) -> Reply:
    return _with_body(reply, reply.body, "image/png")


HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Service unavailable</title></head><body><h1>We are "
    b"carrying out maintenance</h1><p>Please try again later.</p></body></html>"
)


def html_page(publisher: str, reply: Reply) -> Reply:
    return Reply(200, HTML_PAGE, "text/html; charset=utf-8")


def corrupt_gzip(publisher: str, reply: Reply) -> Reply:
    return _with_body(
        reply, b"\x1f\x8b\x08\x00garbage, not a gzip stream" * 20, **{"Content-Encoding": "gzip"}
    )


# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    publishers: tuple[str, ...]
    transient: bool  # recovers within the retry budget when it lasts fewer requests than the budget
    expected: str  # what the monitor should do: recovered | failed cleanly | loaded, flagged, edition blocked
    reply: Callable[[str, Reply], Reply] | None = None  # rewrites the clean reply
    wire: str | None = None  # delay | reset | short_body: misbehaviour on the connection
    table_only: bool = False  # only the response carrying the data table, and only a clean 200
    times: int = 1000  # how many matching requests it lasts in the matrix


RECOVERED = "recovered"
FAILED = "failed cleanly"
BLOCKED = "loaded, flagged, edition blocked"
NOT_APPLICABLE = "not applicable"

FAULTS: list[Fault] = [
    Fault(
        "http_429_retry_after",
        "429 Too Many Requests with Retry-After: 1, once",
        ALL,
        True,
        RECOVERED,
        reply=status(429, "1"),
        times=1,
    ),
    Fault(
        "http_429_no_retry_after",
        "429 Too Many Requests without Retry-After, once",
        ALL,
        True,
        RECOVERED,
        reply=status(429),
        times=1,
    ),
    Fault(
        "http_500_once", "500 Internal Server Error, once", ALL, True, RECOVERED, reply=status(500), times=1
    ),
    Fault("http_502_twice", "502 Bad Gateway, twice", ALL, True, RECOVERED, reply=status(502), times=2),
    Fault("http_503_once", "503 Service Unavailable, once", ALL, True, RECOVERED, reply=status(503), times=1),
    Fault(
        "http_503_persistent",
        "503 on every request (outlasts the retry budget)",
        ALL,
        False,
        FAILED,
        reply=status(503),
    ),
    Fault(
        "http_429_persistent",
        "429 with Retry-After: 1 on every request",
        ALL,
        False,
        FAILED,
        reply=status(429, "1"),
    ),
    Fault("http_404", "404 Not Found on every request", ALL, False, FAILED, reply=status(404)),
    Fault(
        "delay_past_timeout",
        "answer 0.8 s after the client's read timeout, once",
        ALL,
        True,
        RECOVERED,
        wire="delay",
        times=1,
    ),
    Fault(
        "delay_persistent",
        "every answer later than the client's read timeout",
        ALL,
        False,
        FAILED,
        wire="delay",
    ),
    Fault(
        "connection_reset",
        "headers with a Content-Length, half the body, then a TCP reset, once",
        ALL,
        True,
        RECOVERED,
        wire="reset",
        times=1,
    ),
    Fault(
        "connection_reset_persistent",
        "a TCP reset mid-body on every request",
        ALL,
        False,
        FAILED,
        wire="reset",
    ),
    Fault(
        "short_body",
        "fewer bytes than the Content-Length promises, then close, once",
        ALL,
        True,
        RECOVERED,
        wire="short_body",
        times=1,
    ),
    Fault(
        "csv_cut_mid_row",
        "the table cut mid-row, with a matching Content-Length",
        ALL,
        False,
        FAILED,
        reply=cut_mid_row,
        table_only=True,
    ),
    # The same bytes as the loaded vintage: recognised as unchanged, whatever the Content-Type says.
    Fault(
        "wrong_content_type",
        "the (unchanged) table served as image/png",
        ALL,
        False,
        RECOVERED,
        reply=wrong_content_type,
        table_only=True,
    ),
    Fault(
        "html_200",
        "an HTML maintenance page with status 200 instead of the table",
        ALL,
        False,
        FAILED,
        reply=html_page,
        table_only=True,
    ),
    Fault(
        "corrupt_gzip",
        "Content-Encoding: gzip with a body that is not gzip",
        ALL,
        False,
        FAILED,
        reply=corrupt_gzip,
        table_only=True,
    ),
    Fault(
        "renamed_column", "the value column renamed", ALL, False, FAILED, reply=rename_column, table_only=True
    ),
    Fault(
        "missing_column", "the value column missing", ALL, False, FAILED, reply=drop_column, table_only=True
    ),
    Fault(
        "duplicated_rows",
        "every data row served twice",
        ALL,
        False,
        FAILED,
        reply=duplicate_rows,
        table_only=True,
    ),
    Fault(
        "negative_counts",
        "every count negative",
        tuple(COUNT_COLUMN),
        False,
        BLOCKED,
        reply=negative_counts,
        table_only=True,
    ),
    Fault(
        "rates_above_100",
        "every percentage rate 150 points higher (above 100)",
        tuple(RATE_COLUMN),
        False,
        BLOCKED,
        reply=rates_above_100,
        table_only=True,
    ),
    Fault(
        "empty_table",
        "the table with its header and no rows",
        ALL,
        False,
        FAILED,
        reply=empty_table,
        table_only=True,
    ),
]
FAULTS_BY_NAME = {fault.name: fault for fault in FAULTS}


@dataclass
class _Armed:
    fault: Fault
    publisher: str
    remaining: int
    applied: int = 0


@dataclass
class FaultLog:
    applied: list[tuple[str, str, str]] = field(default_factory=list)  # (fault, publisher, path)


class FaultyReplayServer(ReplayServer):
    """The replay server, plus `inject(fault, publisher, times)`; thread-safe."""

    def __init__(self, **kwargs: object) -> None:
        self._armed: list[_Armed] = []
        self._lock = threading.Lock()
        self.log = FaultLog()
        super().__init__(**kwargs)

    def inject(self, fault: Fault, publisher: str, times: int | None = None) -> None:
        with self._lock:
            self._armed.append(_Armed(fault, publisher, fault.times if times is None else times))

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def _take(self, path: str, clean: Reply) -> Fault | None:
        with self._lock:
            for armed in self._armed:
                if armed.remaining <= 0 or not PUBLISHER_PATHS[armed.publisher].search(path):
                    continue
                if armed.fault.table_only and not (
                    TABLE_PATHS[armed.publisher].search(path) and clean.status == 200
                ):
                    continue
                armed.remaining -= 1
                armed.applied += 1
                self.log.applied.append((armed.fault.name, armed.publisher, path))
                return armed.fault
        return None

    def publisher_of(self, path: str) -> str | None:
        return next((p for p, pattern in PUBLISHER_PATHS.items() if pattern.search(path)), None)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                server.requests.append(self.path)
                reply = server.route(parts.path, query)
                fault = server._take(parts.path, reply)
                if fault is not None and fault.reply is not None:
                    reply = fault.reply(server.publisher_of(parts.path), reply)
                headers = dict(reply.headers)
                if reply.status == 200:
                    etag = '"' + hashlib.sha256(reply.body).hexdigest()[:32] + '"'
                    headers.update({"ETag": etag, "Last-Modified": server.last_modified})
                    if self.headers.get("If-None-Match") == etag and fault is None:
                        reply = Reply(304)
                server.responses.append((parts.path, reply.status))
                wire = fault.wire if fault is not None else None
                if wire == "delay":
                    time.sleep(CLIENT_TIMEOUT + 0.8)
                body = reply.body if reply.status != 304 else b""
                self.send_response(reply.status)
                if reply.status != 304:
                    self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                if wire in ("reset", "short_body"):
                    self.send_header("Connection", "close")
                self.end_headers()
                if wire == "reset":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    # SO_LINGER 0: close sends RST rather than FIN.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                if wire == "short_body":
                    self.wfile.write(body[: max(len(body) - 100, len(body) // 2)])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        return Handler
