"""Shared fixtures. Prefect's home, telemetry and logging are set before anything imports Prefect."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

_PREFECT_HOME = tempfile.mkdtemp(prefix="eim-prefect-home-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"

from werkzeug import Request, Response  # noqa: E402

from flows.settings import Settings  # noqa: E402
from sources.http import HttpConfig  # noqa: E402
from sources.replay.nomis import select_periods  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
REAL_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "real-samples"
FAST_HTTP = HttpConfig(timeout=2, attempts=2, retry_budget=2, backoff_initial=0, backoff_max=0)


@pytest.fixture
def eim_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean EIM_ environment with its own data directory; returns that directory."""
    for key in list(os.environ):
        if key.startswith("EIM_"):
            monkeypatch.delenv(key)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("EIM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("EIM_HTTP_RETRIES", "2")
    monkeypatch.setenv("EIM_HTTP_TIMEOUT", "2")
    monkeypatch.setenv("EIM_HTTP_RETRY_BUDGET", "2")
    monkeypatch.chdir(tmp_path)  # no stray eim.toml from the project folder
    return data_dir


class NomisFixtureServer:
    """Serves CSV fixtures at the real Nomis path, paged by `recordOffset` like the API does; a
    `time` query selects among the fixture's periods, the available periods as far as it knows."""

    def __init__(self, httpserver, page_limit: int = 25_000) -> None:
        self.httpserver = httpserver
        self.page_limit = page_limit
        self.bodies: dict[str, str] = {}
        self.requests: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return self.httpserver.url_for("").rstrip("/")

    def serve(self, source_id: str, body: str) -> None:
        self.bodies[source_id] = body
        path = f"/api/v01/dataset/{source_id}.data.csv"
        self.httpserver.expect_request(path).respond_with_handler(
            lambda request: self._page(source_id, request)
        )

    def serve_fixture(self, source_id: str) -> None:
        self.serve(source_id, (FIXTURES / "nomis" / f"{source_id}.data.csv").read_text())

    def _page(self, source_id: str, request: Request) -> Response:
        self.requests.append(dict(request.args))
        header, *rows = list(csv.reader(io.StringIO(self.bodies[source_id])))
        if "time" in request.args:
            date = header.index("DATE")
            chosen = set(select_periods(request.args["time"], sorted({row[date] for row in rows})))
            if len(selected := [row for row in rows if row[date] in chosen]) < len(rows):
                rows = selected
                _renumber(header, rows)
        offset = int(request.args.get("recordOffset", 0))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows[offset : offset + self.page_limit])
        body = out.getvalue().encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, content_type="text/csv", headers={"ETag": etag})


def _renumber(header: list[str], rows: list[list[str]]) -> None:
    """RECORD_OFFSET and RECORD_COUNT of the rows a query selected, as Nomis numbers them."""
    offset_at, count_at = header.index("RECORD_OFFSET"), header.index("RECORD_COUNT")
    for index, row in enumerate(rows):
        row[offset_at], row[count_at] = str(index), str(len(rows))


@pytest.fixture
def nomis_server(httpserver) -> Iterator[NomisFixtureServer]:
    yield NomisFixtureServer(httpserver)


@pytest.fixture
def fixture_settings(eim_env: Path, nomis_server: NomisFixtureServer, monkeypatch) -> Settings:
    """Settings pointing the real code at the Nomis fixture server."""
    nomis_server.serve_fixture("NM_162_1")
    nomis_server.serve_fixture("NM_2002_1")
    monkeypatch.setenv("EIM_NOMIS_URL", nomis_server.url)
    return Settings()


def publish(settings: Settings) -> None:
    """What a run publishes once the models are built, in its order: the analysts' snapshot, then
    its Parquet exports (the flow writes those beside the bulletin)."""
    from flows import steps

    steps.publish_analysts_snapshot(settings)
    steps.export_parquet(settings)


@pytest.fixture
def loaded_settings(fixture_settings: Settings) -> Settings:
    """A warehouse loaded from the fixtures, its models built and its snapshot published."""
    from flows import steps

    steps.prepare_warehouse(fixture_settings)
    for dataset in ("claimant_count", "population"):
        outcome = steps.fetch_dataset(
            fixture_settings, dataset, steps.read_fetch_history(fixture_settings).last_records(dataset)
        )
        steps.load_dataset(fixture_settings, outcome, steps.parse_dataset(outcome))
    steps.build(fixture_settings)
    publish(fixture_settings)
    return fixture_settings


# A warehouse of every catalog dataset, built once per session from tests/fixtures/indicators.
from tests.fixture_publishers import indicator_settings, indicator_warehouse  # noqa: E402, F401

DEMO_TODAY = dt.date(2026, 11, 27)


def build_demo_data_dir(data_dir: Path, today: dt.date = DEMO_TODAY, area: str = "west-midlands") -> Settings:
    """A data directory loaded from the demo's replay server through the real steps (no Prefect)."""
    from flows import steps
    from sources import ons_api
    from sources.catalog import default_catalog
    from sources.replay.server import ReplayServer
    from warehouse.geography import load_area_file

    with (
        ReplayServer.serving(load_area_file(area), today=today) as server,
        pytest.MonkeyPatch.context() as patch,
    ):
        for key in list(os.environ):
            if key.startswith("EIM_"):
                patch.delenv(key)
        patch.chdir(data_dir.parent)
        patch.setattr(ons_api, "RATE_LIMITS", ())  # no waiting on loopback
        env = {f"EIM_{p.upper()}_URL": url for p, url in server.base_urls.items()}
        env.update(EIM_DATA_DIR=str(data_dir), EIM_DEMO="true", EIM_AREA=area, EIM_QUIET="true")
        for key, value in env.items():
            patch.setenv(key, value)
        settings = Settings()
        steps.prepare_warehouse(settings)
        for dataset in default_catalog().datasets:
            outcome = steps.fetch_dataset(
                settings, dataset, steps.read_fetch_history(settings).last_records(dataset)
            )
            steps.load_dataset(settings, outcome, steps.parse_dataset(outcome))
        steps.build(settings)
        publish(settings)
    return settings


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Every dataset loaded from the demo's samples (as of DEMO_TODAY); the snapshot published."""
    return build_demo_data_dir(tmp_path_factory.mktemp("demo") / "data")


@pytest.fixture(scope="session")
def demo_edition(demo_data_dir: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A published edition of the demo data, in a data directory of its own: site/<period>."""
    import shutil

    from flows import steps

    data_dir = tmp_path_factory.mktemp("demo-edition") / "data"
    (data_dir / "published").mkdir(parents=True)
    shutil.copy(demo_data_dir.snapshot_path, data_dir / "published" / "warehouse.duckdb")
    settings = demo_data_dir.model_copy(update={"data_dir": data_dir})
    result = steps.build_bulletin(settings, today=DEMO_TODAY)
    assert result.published, result.reasons
    return result.folder


@contextmanager
def serve_emulator(route, *, today: dt.date, names: dict[str, str]) -> Iterator[str]:
    """One publisher emulator (`sources.replay_*.route`) behind a loopback server; yields its root URL."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            reply = route(parts.path, query, today=today, names=names, base_url=root)
            status, body = (reply.status, reply.body) if reply else (404, b"not a path of this emulator")
            self.send_response(status)
            self.send_header("Content-Type", reply.content_type if reply else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    root = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield root
    finally:
        server.shutdown()
        server.server_close()
