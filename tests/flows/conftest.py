"""One Prefect test harness for the whole session: the few flow tests share its ~15 s start-up."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sources.replay.server import ReplayServer
from warehouse.geography import load_area_file


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield PREFECT_API_URL.value()


@pytest.fixture
def bare_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No EIM_ variable in any case, and a working directory of its own (for an eim.toml)."""
    for key in list(os.environ):
        if key.upper().startswith("EIM_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def replay(eim_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayServer]:
    """The demo's replay server (as of 27 November 2026), every publisher's base URL pointed at it."""
    with ReplayServer.serving(load_area_file("west-midlands"), today=dt.date(2026, 11, 27)) as server:
        for publisher, url in server.base_urls.items():
            monkeypatch.setenv(f"EIM_{publisher.upper()}_URL", url)
        monkeypatch.setenv("EIM_DEMO", "true")
        yield server
