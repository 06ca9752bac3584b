"""Email delivery against a real SMTP server on loopback (aiosmtpd), from a real published edition."""

from __future__ import annotations

import email
import json
import logging
import os
import shutil
import socket
import threading
import time
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from flows.settings import Settings
from reports.bulletin.layout import Paths
from reports.delivery.mail import DEMO_LINE, MailConfig, RetryPolicy, build_message, send_edition
from reports.delivery.smtp import MailError, SmtpSettings
from reports.delivery.subscribers import Subscriber, SubscriberStore
from reports.delivery.tokens import make_token

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
from aiosmtpd.smtp import AuthResult  # noqa: E402

SECRET = "test-unsubscribe-secret-0123456789"
PASSWORD = "hunter2-do-not-log-me"
SITE = "https://eim.example.org/monitor/"
FAST = RetryPolicy(attempts=12, timeout=30, wait_initial=0.1, wait_max=0.3, wait_jitter=0)
PERIOD = "2026-10"


# --- helpers shared with test_site_server --------------------------------------------------------------


class Collector:
    """An aiosmtpd handler keeping every envelope; it can answer 451 to the first N messages, or 550
    to chosen recipients."""

    def __init__(self, *, busy: int = 0, refuse: tuple[str, ...] = ()) -> None:
        self.envelopes: list = []
        self.busy = busy
        self.refuse = {r.lower() for r in refuse}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.busy > 0:
            self.busy -= 1
            return "451 4.3.0 Try again later"
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.content, policy=default_policy) for e in self.envelopes]

    def recipients(self) -> list[str]:
        return [r for e in self.envelopes for r in e.rcpt_tos]


def ours(caplog) -> str:
    """Captured log lines, less the loopback SMTP server's own protocol log (which shows envelopes)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_smtp(handler: Collector, port: int | None = None, **kwargs):
    controller = aiosmtpd_controller.Controller(
        handler, hostname="127.0.0.1", port=port or free_port(), **kwargs
    )
    controller.start()
    return controller


def mail_config(
    port: int, *, user: str | None = None, password: str | None = None, **overrides
) -> MailConfig:
    values = {
        "smtp": SmtpSettings("127.0.0.1", port, "none", user=user, password=password, timeout=5),
        "mail_from": "Economic Impact Monitor <monitor@eim.example.org>",
        "unsubscribe_secret": SECRET,
        "site_url": SITE,
        "send_rate_per_minute": 60_000,
    }
    return MailConfig(**{**values, **overrides})


def copy_published(demo_edition: Path, target: Path) -> Path:
    """A copy of the demo edition's data directory (the site's edition link kept)."""
    shutil.copytree(demo_edition.parent.parent, target, symlinks=True)
    return target


def publish_next_edition(data_dir: Path, period: str = "2026-11") -> Path:
    """A second published edition (a copy of the first under the next month), for 'next edition' tests."""
    site = data_dir / "site"
    target = site / ".editions" / f"{period}-1"
    shutil.copytree((site / PERIOD).resolve(), target)
    sidecar = json.loads((target / "figures.json").read_text())
    sidecar.update(period=period, edition=sidecar["edition"] + 1)
    (target / "figures.json").write_text(json.dumps(sidecar))
    (site / period).symlink_to(os.path.relpath(target, site))
    manifest = json.loads((data_dir / "editions" / PERIOD / "manifest.json").read_text())
    manifest.update(period=period, edition=manifest["edition"] + 1)
    (data_dir / "editions" / period).mkdir(parents=True)
    (data_dir / "editions" / period / "manifest.json").write_text(json.dumps(manifest))
    return site / period


@pytest.fixture
def published(demo_edition: Path, tmp_path: Path) -> Path:
    """A data directory of its own holding the published demo edition (its charts' PNGs included)."""
    return copy_published(demo_edition, tmp_path / "data")


@pytest.fixture
def smtp():
    handler = Collector()
    controller = start_smtp(handler)
    yield handler, controller.port
    controller.stop()


# --- the message ----------------------------------------------------------------------------------------


def test_the_message_has_text_html_inline_charts_and_one_click_unsubscribe(published: Path) -> None:
    folder = published / "site" / PERIOD
    subscriber = Subscriber(7, "jo@example.org", ("E08000026",), ref="Qk0VdC9vXzY1b2VxR1lCbw")
    message = build_message(
        folder,
        subscriber,
        mail_from="Monitor <monitor@eim.example.org>",
        site_url=SITE,
        unsubscribe_secret=SECRET,
    )
    parsed = email.message_from_bytes(message.as_bytes(), policy=default_policy)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["To"] == "jo@example.org"
    assert parsed["Subject"].startswith(f"[{DEMO_LINE}] West Midlands Economic Impact Monitor: October 2026")
    assert parsed["Message-ID"].endswith("@eim.example.org>")
    token = make_token(subscriber.ref, SECRET)
    assert "jo@" not in parsed["List-Unsubscribe"]
    assert parsed["List-Unsubscribe"] == f"<https://eim.example.org/monitor/unsubscribe?token={token}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    text = parsed.get_body(("plain",)).get_content()
    page = parsed.get_body(("html",)).get_content()
    link = "https://eim.example.org/monitor/2026-10/index.html"
    sidecar = json.loads((folder / "figures.json").read_text())
    for body in (text, page):
        assert link in body
        assert DEMO_LINE.lower() in body.lower()
        assert "unsubscribe?token=" + token in body
        assert sidecar["main_points"][0].split(",")[0] in body.replace("&#39;", "'")
    # The subscriber's area, its figures beside the focus area's and the UK's.
    table = text.split("HEADLINE FIGURES")[1]
    assert "COVENTRY" in table and "WMCA" in table.splitlines()[2]
    assert "12 months to June 2026" in table  # survey periods as the bulletin names them
    assert "Coventry" in page

    # Three charts: the labour market's lead chart, the prices chart, and Coventry's own.
    images = [p for p in parsed.walk() if p.get_content_type() == "image/png"]
    email_pngs = published / "site" / PERIOD / "data" / "email"
    manifest = json.loads((published / "site" / PERIOD / "data" / "charts.json").read_text())
    leads = [c for c in manifest["charts"] if c["email_png"]]
    assert [c["section"] for c in leads] == ["labour_market", "prices"], "each section's lead chart only"
    lead = [email_pngs / f"{c['id']}.png" for c in leads]
    assert [image.get_content() for image in images[:2]] == [p.read_bytes() for p in lead]
    # Coventry's own chart is drawn for the message from the data its edition published.
    assert (email_pngs / "area-E08000026-claimant-rate.csv").exists()
    assert len(images) == 3 and images[2].get_content().startswith(b"\x89PNG\r\n\x1a\n")
    related = next(p for p in parsed.walk() if p.get_content_type() == "multipart/related")
    assert related.get_payload()[0].get_content_type() == "text/html"
    for image in images:
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in page
        assert image.get_content_disposition() == "inline"
    assert "Coventry&#39;s claimant rate" in page and "Source: Claimant Count, ONS/DWP via Nomis" in page
    assert 'alt="Line chart: Claimant rate' in page


# --- sending --------------------------------------------------------------------------------------------


def test_send_delivers_each_edition_once(published: Path, smtp) -> None:
    handler, port = smtp
    store = SubscriberStore(published)
    store.add("jo@example.org", "E08000025")
    store.add("sam@example.net")
    summary = send_edition(published, None, mail_config(port), policy=FAST)
    assert (summary.edition, summary.sent, summary.skipped, summary.failed) == (PERIOD, 2, 0, [])
    assert sorted(handler.recipients()) == ["jo@example.org", "sam@example.net"]
    for message in handler.messages():
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # Everyone gets the two lead charts; jo, who chose Birmingham, also Birmingham's own.
        charts = 3 if message["To"] == "jo@example.org" else 2
        assert len([p for p in message.walk() if p.get_content_type() == "image/png"]) == charts
    rows = store.deliveries(PERIOD)
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1), ("sent", 1)]
    assert {r.message_id for r in rows} == {m["Message-ID"].strip() for m in handler.messages()}

    again = send_edition(published, PERIOD, mail_config(port), policy=FAST)
    assert (again.sent, again.skipped) == (0, 2)
    assert len(handler.envelopes) == 2

    store.add("late@example.org")  # a late subscriber gets the edition on the next run, alone
    late = send_edition(published, PERIOD, mail_config(port), policy=FAST)
    assert (late.sent, late.skipped) == (1, 2)
    assert handler.recipients()[-1] == "late@example.org"


def test_a_server_down_then_up_is_retried_and_delivers_once(published: Path) -> None:
    SubscriberStore(published).add("jo@example.org")
    handler, port = Collector(), free_port()
    started: list = []
    timer = threading.Timer(1.0, lambda: started.append(start_smtp(handler, port)))
    timer.start()
    try:
        began = time.monotonic()
        summary = send_edition(published, PERIOD, mail_config(port), policy=FAST)
        assert time.monotonic() - began >= 0.9
    finally:
        timer.join()
        for controller in started:
            controller.stop()
    assert (summary.sent, summary.failed) == (1, [])
    assert handler.recipients() == ["jo@example.org"]
    (row,) = SubscriberStore(published).deliveries(PERIOD)
    assert row.status == "sent" and row.attempts > 1 and row.last_error is None


def test_a_4xx_reply_is_retried_and_a_5xx_reply_is_recorded(published: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    store = SubscriberStore(published)
    store.add("busy@example.org")
    store.add("gone@example.org")
    handler = Collector(busy=1, refuse=("gone@example.org",))
    controller = start_smtp(handler)
    try:
        summary = send_edition(published, PERIOD, mail_config(controller.port), policy=FAST)
    finally:
        controller.stop()
    assert summary.sent == 1
    assert handler.recipients() == ["busy@example.org"]
    states = {r.email: r for r in store.deliveries(PERIOD)}
    assert states["busy@example.org"].status == "sent" and states["busy@example.org"].attempts == 2
    gone = states["gone@example.org"]
    assert gone.status == "failed" and gone.attempts == 1
    assert gone.last_error.startswith("recipient refused: 550")
    assert "gone@" not in gone.last_error
    ((subscriber_id, reason),) = summary.failed
    assert subscriber_id == gone.subscriber_id and "gone@" not in reason
    assert "example.org" not in ours(caplog)


def test_a_refused_login_names_the_host_not_the_password(published: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    SubscriberStore(published).add("jo@example.org")
    seen: list = []

    def refuse(server, session, envelope, mechanism, auth_data):
        seen.append(mechanism)
        return AuthResult(success=False, handled=False)

    handler = Collector()
    controller = start_smtp(handler, authenticator=refuse, auth_require_tls=False)
    try:
        config = mail_config(controller.port, user="operator", password=PASSWORD)
        with pytest.raises(MailError) as caught:
            send_edition(published, PERIOD, config, policy=FAST)
    finally:
        controller.stop()
    message = str(caught.value)
    assert seen, "the server was asked to authenticate"
    assert f"127.0.0.1:{controller.port}" in message
    assert "refused the login" in message and "operator" in message
    assert PASSWORD not in message and PASSWORD not in repr(config)
    assert PASSWORD not in caplog.text  # not even in the test server's own log
    assert handler.envelopes == []
    (row,) = SubscriberStore(published).deliveries(PERIOD)
    assert row.status == "failed" and PASSWORD not in row.last_error
    assert caught.value.summary is not None and caught.value.summary.sent == 0


def test_an_interrupted_send_is_not_repeated_unless_asked(published: Path, smtp) -> None:
    handler, port = smtp
    store = SubscriberStore(published)
    store.add("jo@example.org")
    (jo,) = store.list_subscribers()
    store.record(PERIOD, jo.id, "pending", message_id="<crashed@eim.example.org>", attempts=1)
    summary = send_edition(published, PERIOD, mail_config(port), policy=FAST)
    assert (summary.sent, summary.pending) == (0, [jo.id])
    assert "left pending by an interrupted run" in summary.describe()
    assert handler.envelopes == []
    resent = send_edition(published, PERIOD, mail_config(port), policy=FAST, resend_pending=True)
    assert resent.sent == 1
    assert (
        handler.messages()[0]["Message-ID"].strip() == "<crashed@eim.example.org>"
    )  # the same message again


def test_the_rate_limit_spaces_messages(published: Path, smtp) -> None:
    handler, port = smtp
    store = SubscriberStore(published)
    for name in ("a", "b", "c"):
        store.add(f"{name}@example.org")
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        time.sleep(seconds)

    send_edition(published, PERIOD, mail_config(port, send_rate_per_minute=120), policy=FAST, sleep=pause)
    assert len(handler.envelopes) == 3
    assert len(pauses) == 2 and all(0 < p <= 0.5 for p in pauses)


def test_only_published_editions_are_sent(published: Path, smtp) -> None:
    _, port = smtp
    with pytest.raises(MailError, match="2031-01 has not been published"):
        send_edition(published, "2031-01", mail_config(port), policy=FAST)


def test_settings_from_the_environment(eim_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MailError, match="EIM_SMTP_HOST, EIM_MAIL_FROM, EIM_UNSUBSCRIBE_SECRET, EIM_SITE_URL"):
        Settings().mail_config()
    for key, value in {
        "SMTP_HOST": "smtp.example.org",
        "SMTP_PORT": "465",
        "SMTP_SECURITY": "tls",
        "SMTP_USER": "operator",
        "SMTP_PASSWORD": PASSWORD,
        "MAIL_FROM": "monitor@example.org",
        "UNSUBSCRIBE_SECRET": SECRET,
        "SITE_URL": SITE,
        "SEND_RATE_PER_MINUTE": "30",
    }.items():
        monkeypatch.setenv(f"EIM_{key}", value)
    config = Settings().mail_config()
    assert config.smtp == SmtpSettings("smtp.example.org", 465, "tls", user="operator", password=PASSWORD)
    assert config.send_rate_per_minute == 30
    assert PASSWORD not in repr(config) and SECRET not in repr(config) and PASSWORD not in repr(Settings())


def test_a_run_completes_a_publication_killed_before_its_feed_and_mail(
    published: Path, smtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed after the edition's manifest: the next run writes the feed and sends the mail."""
    from flows import steps
    from flows.settings import load_settings
    from reports.bulletin.publish import site_index_current

    handler, port = smtp
    for name, value in {
        "DATA_DIR": str(published),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": "none",
        "MAIL_FROM": "monitor@eim.example.org",
        "SITE_URL": SITE,
        "UNSUBSCRIBE_SECRET": SECRET,
        "SEND_RATE_PER_MINUTE": "60000",
    }.items():
        monkeypatch.setenv(f"EIM_{name}", value)
    store = SubscriberStore(published)
    store.add("jo@example.org")
    store.add("sam@example.net")
    (published / "site" / "feed.atom").unlink()
    assert not site_index_current(Paths(published))

    done = steps.complete_publication(load_settings())

    assert done.startswith("site index and feed completed; edition 2026-10: ")
    assert site_index_current(Paths(published))
    assert sorted(handler.recipients()) == ["jo@example.org", "sam@example.net"]
    assert steps.complete_publication(load_settings()) is None  # nothing left: nothing sent twice
    assert len(handler.envelopes) == 2
