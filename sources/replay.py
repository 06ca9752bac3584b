"""A replay server on loopback that answers like the publishers, for the demo and the tests.

It serves the illustrative samples of `sources.samples` in each publisher's exact format (column
names, status markers, paging, ETag / 304), so the real fetch code runs unchanged against it: only
the base URLs differ.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sources import nomis, samples
from sources.emulation import Reply

DIMENSION_SUFFIXES = ("", "_NAME", "_CODE", "_TYPE", "_TYPECODE", "_SORTORDER")
TRAILING_COLUMNS = (
    "MEASURES", "MEASURES_NAME", "OBS_VALUE", "OBS_STATUS", "OBS_STATUS_NAME",
    "OBS_CONF", "OBS_CONF_NAME", "URN", "RECORD_OFFSET", "RECORD_COUNT",
)  # fmt: skip


@dataclass(frozen=True)
class Dimension:
    name: str  # e.g. GENDER
    query: str  # the query parameter that selects it, e.g. gender
    labels: dict[str, str]  # code -> label


@dataclass(frozen=True)
class NomisDataset:
    dimensions: tuple[Dimension, ...]
    periods: Callable[[dt.date], list[str]]
    value: Callable[[str, dict[str, str], str, dt.date], float | None]


def _months(today: dt.date) -> list[str]:
    latest = samples.latest_claimant_month(today)
    index = latest.year * 12 + latest.month - 1
    return [f"{i // 12}-{i % 12 + 1:02d}" for i in range(index - 119, index + 1)]


def _years(today: dt.date) -> list[str]:
    latest = samples.latest_population_year(today)
    return [str(y) for y in range(latest - 14, latest + 1)]


def _claimant_value(code: str, dims: dict[str, str], period: str, today: dt.date) -> float:
    month = dt.date.fromisoformat(period + "-01")
    count = samples.claimant_count(code, month)
    if dims["MEASURE"] == "1":
        return count
    population_year = min(month.year, samples.latest_population_year(today))
    return round(count / samples.residents_16_64(code, population_year) * 100, 1)


def _population_value(code: str, dims: dict[str, str], period: str, today: dt.date) -> float:
    return samples.residents_16_64(code, int(period))


NOMIS_DATASETS = {
    "NM_162_1": NomisDataset(
        dimensions=(
            Dimension("GENDER", "gender", {"0": "Total"}),
            Dimension("AGE", "age", {"0": "All categories: Age 16+"}),
            Dimension(
                "MEASURE",
                "measure",
                {
                    "1": "Claimant count",
                    "2": "Claimants as a proportion of residents aged 16-64",
                },
            ),
        ),
        periods=_months,
        value=_claimant_value,
    ),
    "NM_2002_1": NomisDataset(
        dimensions=(
            Dimension("GENDER", "gender", {"0": "Total"}),
            Dimension("C_AGE", "c_age", {"203": "Aged 16 - 64"}),
        ),
        periods=_years,
        value=_population_value,
    ),
}
MEASURES_LABELS = {"20100": "Value"}
MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _select_periods(expression: str, periods: list[str]) -> list[str]:
    """Nomis `time`: `latest`, `latestMINUSn`, ranges `a-b` of those or of explicit periods."""

    def resolve(token: str) -> int:
        if token == "latest":
            return len(periods) - 1
        if m := re.fullmatch(r"latestMINUS(\d+)", token):
            return len(periods) - 1 - int(m[1])
        return periods.index(token)

    chosen: list[str] = []
    for part in expression.split(","):
        bounds = re.fullmatch(r"(latest(?:MINUS\d+)?|[\d-]+?)-(latest(?:MINUS\d+)?|[\d-]+)", part)
        if bounds:
            start, end = max(resolve(bounds[1]), 0), resolve(bounds[2])
            chosen.extend(periods[start : end + 1])
        else:
            chosen.append(periods[resolve(part)])
    return chosen


def _period_name(period: str) -> str:
    if len(period) == 7:
        return f"{MONTH_NAMES[int(period[5:]) - 1]} {period[:4]}"
    return period


class NomisEmulator:
    def __init__(self, today: dt.date, names: dict[str, str], page_limit: int) -> None:
        self.today = today
        self.names = names
        self.page_limit = page_limit

    def rows(self, source_id: str, query: dict[str, str]) -> Iterator[list[str]]:
        spec = NOMIS_DATASETS[source_id]
        geographies = query["geography"].split(",")
        unknown = [g for g in geographies if g not in self.names]
        if unknown:
            raise LookupError(f"unknown geography {', '.join(unknown)}")
        choices = []
        for dim in spec.dimensions:
            codes = query.get(dim.query, next(iter(dim.labels))).split(",")
            for code in codes:
                if code not in dim.labels:
                    raise LookupError(f"unknown {dim.query} code {code}")
            choices.append([(dim, code) for code in codes])
        measures = query.get("measures", "20100").split(",")
        periods = _select_periods(query.get("time", "latest"), spec.periods(self.today))
        for p_order, period in enumerate(periods):
            for g_order, code in enumerate(geographies):
                for combo in _product(choices):
                    for measure in measures:
                        dims = {dim.name: c for dim, c in combo}
                        value = spec.value(code, dims, period, self.today)
                        row = [period, _period_name(period), period, "date", "0", str(p_order)]
                        row += [str(2013265900 + g_order), self.names[code], code,
                                "areas", "0", str(g_order)]  # fmt: skip
                        for dim, c in combo:
                            row += [c, dim.labels[c], c, dim.name.lower(), "0", c]
                        row += [measure, MEASURES_LABELS[measure], _number(value), "A",
                                "Normal Value", "F", "Free (free for publication)", ""]  # fmt: skip
                        yield row

    def reply(self, source_id: str, query: dict[str, str]) -> Reply:
        if source_id not in NOMIS_DATASETS:
            return Reply(404, b"Dataset not found")
        try:
            all_rows = list(self.rows(source_id, query))
        except (LookupError, ValueError) as error:
            return Reply(400, str(error).encode())
        offset = int(query.get("recordOffset", "0"))
        page = all_rows[offset : offset + self.page_limit]
        spec = NOMIS_DATASETS[source_id]
        header = [f"DATE{s}" for s in DIMENSION_SUFFIXES]
        header += [f"GEOGRAPHY{s}" for s in DIMENSION_SUFFIXES]
        for dim in spec.dimensions:
            header += [f"{dim.name}{s}" for s in DIMENSION_SUFFIXES]
        header += TRAILING_COLUMNS
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for index, row in enumerate(page, start=offset):
            row[-1:] = [f"{source_id}-{index}", str(index), str(len(all_rows))]
            writer.writerow(row)
        return Reply(200, out.getvalue().encode(), "text/csv; charset=utf-8")


def _product(choices: list[list]) -> Iterator[tuple]:
    if not choices:
        yield ()
        return
    for first in choices[0]:
        for rest in _product(choices[1:]):
            yield (first, *rest)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(value)


class ReplayServer:
    """Serve the publishers' formats on 127.0.0.1; `base_urls` maps publisher -> URL."""

    def __init__(
        self,
        *,
        names: dict[str, str],
        today: dt.date | None = None,
        nomis_page_limit: int = nomis.GUEST_PAGE_LIMIT,
    ) -> None:
        self.today = today or dt.date.today()
        self.nomis = NomisEmulator(self.today, names, nomis_page_limit)
        self.requests: list[str] = []
        self.last_modified = format_datetime(
            dt.datetime.combine(self.today, dt.time(9, 30), tzinfo=dt.UTC), usegmt=True
        )
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_urls(self) -> dict[str, str]:
        return {"nomis": self.url}

    def route(self, path: str, query: dict[str, str]) -> Reply:
        if m := re.fullmatch(r"/api/v01/dataset/(NM_\d+_\d+)\.data\.csv", path):
            return self.nomis.reply(m[1], query)
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
                    etag = '"' + hashlib.sha256(reply.body).hexdigest()[:32] + '"'
                    headers.update({"ETag": etag, "Last-Modified": server.last_modified})
                    if self.headers.get("If-None-Match") == etag:
                        reply = Reply(304)
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
