"""The SMTP server turning away part way through a send batch (4xx, then 5xx), and the re-run."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.delivery.mail import send_edition
from reports.delivery.subscribers import SubscriberStore
from tests.reliability.local_faults import record
from tests.reports.delivery.test_mail import FAST, PERIOD, Collector, copy_published, mail_config, start_smtp

pytest.importorskip("aiosmtpd.controller")


@pytest.fixture
def published(demo_edition: Path, tmp_path: Path) -> Path:
    return copy_published(demo_edition, tmp_path / "data")


class TurningAway(Collector):
    """A server that takes the first message, then answers 451 to every DATA (a queue filling up)
    and 550 to every RCPT once `refuse_after` messages were offered: mid-batch, 4xx then 5xx."""

    def __init__(self, refuse_after: int) -> None:
        super().__init__()
        self.offered = 0
        self.refuse_after = refuse_after

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.offered += 1
        if self.offered > self.refuse_after:
            return "550 5.7.1 Service unavailable; client host blocked"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.envelopes:
            return "451 4.3.0 Queue full, try again later"
        self.envelopes.append(envelope)
        return "250 OK"


def test_a_server_turning_away_mid_batch_then_a_rerun_sends_the_rest_once(published: Path) -> None:
    store = SubscriberStore(published)
    addresses = ["first@example.org", "second@example.org", "third@example.org"]
    for address in addresses:
        store.add(address)
    handler = TurningAway(refuse_after=1 + FAST.attempts)  # the first, then the second's attempts
    controller = start_smtp(handler)
    try:
        summary = send_edition(published, PERIOD, mail_config(controller.port), policy=FAST)
    finally:
        controller.stop()
    first_states = {r.email: r for r in store.deliveries(PERIOD)}

    healthy = Collector()
    controller = start_smtp(healthy)
    try:
        again = send_edition(published, PERIOD, mail_config(controller.port), policy=FAST)
    finally:
        controller.stop()
    received = handler.recipients() + healthy.recipients()
    duplicates = len(received) - len(set(received))
    second, third = first_states["second@example.org"], first_states["third@example.org"]
    expected_451 = f"gave up after {FAST.attempts} attempts: 451 4.3.0 Queue full, try again later"
    as_expected = (
        summary.sent == 1
        and handler.recipients() == ["first@example.org"]
        and (second.status, second.last_error, second.attempts) == ("failed", expected_451, FAST.attempts)
        and third.status == "failed"
        and third.last_error.startswith("recipient refused: 550")
        and again.sent == 2
        and sorted(healthy.recipients()) == ["second@example.org", "third@example.org"]
        and {r.status for r in store.deliveries(PERIOD)} == {"sent"}
        and duplicates == 0
    )
    record(
        "smtp_4xx_then_5xx_mid_batch",
        as_expected=as_expected,
        observed=f"first run: {summary.sent} sent; second {second.status} ({second.last_error}); "
        f"third {third.status} ({third.last_error}); re-run: {again.sent} sent; "
        f"{duplicates} duplicate(s)",
    )
    assert summary.sent == 1 and handler.recipients() == ["first@example.org"]
    assert second.status == "failed"
    assert second.last_error == expected_451
    assert second.attempts == FAST.attempts
    assert third.status == "failed"
    assert third.last_error.startswith("recipient refused: 550")
    assert again.sent == 2 and sorted(healthy.recipients()) == ["second@example.org", "third@example.org"]
    assert {r.status for r in store.deliveries(PERIOD)} == {"sent"}
    assert duplicates == 0
