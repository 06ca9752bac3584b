"""The release watch: on a release day it polls the datasets due until new data lands, then
publishes the new edition without anyone acting; and operators are alerted when a run fails."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from flows.settings import Settings
from sources.replay.server import ReplayServer

pytestmark = pytest.mark.slow
RELEASE_DAY = "2026-12-08"  # the replay calendar's "Labour market overview, UK: December 2026"


def _publish_next_month(server: ReplayServer) -> None:
    """The publisher's new month appears: the replay server's clock moves to after the release."""
    later = dt.date(2026, 12, 16)
    server.today = later
    server.nomis.today = later


def test_a_release_mid_watch_produces_the_new_edition(prefect_api: str, replay: ReplayServer) -> None:
    """The claimant count and PAYE RTI (labour-market day's two monthly releases) land mid-watch and
    are published at once, although the APS, due the same day, never changes and keeps the watch
    polling until its deadline."""
    from flows.monitor import ingest_flow, release_watch, run_summary

    assert ingest_flow(return_state=True).is_completed()
    edition = Settings().site_dir / "2026-11" / "index.html"
    appeared: list[float] = []
    stop = threading.Event()

    def watch_the_site() -> None:
        while not stop.wait(0.2):
            if edition.exists():
                appeared.append(time.monotonic())
                return

    watcher = threading.Thread(target=watch_the_site)
    watcher.start()
    timer = threading.Timer(2.0, _publish_next_month, [replay])
    timer.start()
    try:
        state = release_watch(poll_seconds=1, deadline_minutes=0.5, day=RELEASE_DAY, return_state=True)
        ended = time.monotonic()
    finally:
        timer.cancel()
        stop.set()
        watcher.join()
    summary = run_summary(state)
    assert summary.loaded == ["claimant_count", "paye_rti"]
    assert summary.unchanged == ["annual_population_survey"]
    assert edition.exists(), summary.failed
    assert summary.bulletin == edition
    assert "November 2026" in edition.read_text()
    assert appeared and ended - appeared[0] > 10, "the edition waited for the deadline"


def test_nothing_due_means_nothing_fetched(prefect_api: str, replay: ReplayServer) -> None:
    from flows.monitor import release_watch

    state = release_watch(day="2026-12-01", return_state=True)
    assert state.is_completed() and state.message == "nothing due today"
    assert all("/releases" in path for path in replay.requests)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def operators_inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A loopback SMTP server, and the monitor's mail settings pointed at it with an operators' address."""
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("EIM_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("EIM_SMTP_PORT", str(port))
        monkeypatch.setenv("EIM_SMTP_SECURITY", "none")
        monkeypatch.setenv("EIM_MAIL_FROM", "monitor@example.org")
        monkeypatch.setenv("EIM_ALERT_EMAIL", "operators@example.org")
        yield inbox
    finally:
        controller.stop()


def _alerts(inbox: Inbox) -> dict[str, str]:
    """Subject -> body of every message to the operators."""
    alerts = {}
    for raw in inbox.messages:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        if message["To"] == "operators@example.org":
            alerts[str(message["Subject"])] = message.get_body(("plain",)).get_content()
    return alerts


def test_a_failed_run_alerts_the_operators(
    prefect_api: str, replay: ReplayServer, operators_inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.monitor import ingest_flow

    monkeypatch.setenv("EIM_NOMIS_URL", "http://127.0.0.1:9")  # nothing listens: Nomis fails
    for _ in range(2):
        assert ingest_flow(datasets=["claimant_count"], return_state=True).is_failed()
    subjects = list(_alerts(operators_inbox))
    assert any("claimant_count failed twice in a row" in s for s in subjects), subjects
    assert any("ended failed" in s for s in subjects), subjects


def test_an_edition_kept_back_by_the_gate_alerts_the_operators(
    prefect_api: str, replay: ReplayServer, operators_inbox: Inbox
) -> None:
    """One dataset alone cannot make an edition: the gate keeps it as a draft and says why, by email."""
    from flows.monitor import monitor_run

    state = monitor_run(datasets=["claimant_count"], return_state=True)
    assert state.is_failed()
    drafts = {s: b for s, b in _alerts(operators_inbox).items() if "kept as a draft" in s}
    assert len(drafts) == 1, list(_alerts(operators_inbox))
    ((subject, body),) = drafts.items()
    period = re.search(r"edition (\d{4}-\d{2}) kept as a draft", subject).group(1)
    assert not (Settings().site_dir / period).exists()
    reasons = (Settings().data_dir / "drafts" / period / "REASONS.txt").read_text().splitlines()[1:]
    assert reasons and body.startswith("The publication gate refused it:")
    assert all(reason.removeprefix("- ") in body for reason in reasons), (body, reasons)
