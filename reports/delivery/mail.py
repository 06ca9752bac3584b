"""Email delivery of a published edition: one multipart message per subscriber, logged so a re-run never
sends twice.

The message is built from the published edition folder alone (`site/<period>/`: figures.json,
index.html for the charts' titles and descriptions, and `data/figure-N.png` when the edition has them),
so an edition can be sent, or sent again to a late subscriber, long after it was rendered.

Delivery semantics: at most once. For each subscriber without a delivery row marked `sent` or `pending`:
connect (and log in) first, then record `pending` with the Message-ID, then hand the message to the SMTP
server, then record `sent`. Every failure whose outcome is known (the server refused, the connection
failed before the message was handed over) replaces `pending` with `failed` and its reason, and a later
run tries `failed` rows again. A row left `pending` means the process died between recording it and
recording the answer: the server may have accepted the message or not, and there is no way to ask. Such
rows are reported and *not* sent again unless the operator asks (`resend_pending=True`), in which case
the same Message-ID is reused so that receiving systems which drop duplicate Message-IDs can. The one
duplicate this does not prevent is SMTP's own (RFC 1047): a connection lost after the end of the message
data but before the server's reply is retried as a transient failure.

Secrets: the SMTP password and the unsubscribe secret are kept out of every repr and appear in no
error, log line or delivery row. Addresses appear in no log line or error either: server replies
are scrubbed (`reports.delivery.subscribers.scrub`) before they are stored or raised.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import stamina
from jinja2 import Environment, select_autoescape

from reports.bulletin import format as fmt
from reports.bulletin.layout import Paths, published_manifests
from reports.delivery.smtp import (
    MailError,
    PermanentMailError,
    SmtpConnection,
    SmtpSettings,
    TransientMailError,
)
from reports.delivery.subscribers import Subscriber, SubscriberStore
from reports.delivery.tokens import secret_bytes, unsubscribe_url

log = logging.getLogger(__name__)

DEMO_LINE = "Demonstration data — not official statistics"
_HEADING_RE = re.compile(r'<h3 id="(figure-\d+)-heading">(.*?)</h3>', re.S)
_DESC_RE = re.compile(r'<desc id="(figure-\d+)-desc">(.*?)</desc>', re.S)
_TAG_RE = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class MailConfig:
    """What sending the edition needs (`flows.settings.Settings.mail_config()` builds it)."""

    smtp: SmtpSettings
    mail_from: str
    unsubscribe_secret: str = field(repr=False)
    site_url: str
    send_rate_per_minute: float = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for transient failures of one message (stamina: exponential, jittered)."""

    attempts: int = 5
    timeout: float = 600.0
    wait_initial: float = 2.0
    wait_max: float = 60.0
    wait_jitter: float = 1.0


@dataclass
class SendSummary:
    edition: str
    sent: int = 0
    skipped: int = 0  # already sent by an earlier run
    pending: list[int] = field(default_factory=list)  # subscriber ids left pending by an interrupted run
    failed: list[tuple[int, str]] = field(default_factory=list)  # (subscriber id, reason without address)

    def describe(self) -> str:
        parts = [f"edition {self.edition}: {self.sent} sent", f"{self.skipped} already sent earlier"]
        if self.pending:
            parts.append(
                f"{len(self.pending)} left pending by an interrupted run, not sent again "
                f"(subscribers #{', #'.join(map(str, self.pending))})"
            )
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return "; ".join(parts)


def edition_url(site_url: str, period: str) -> str:
    return f"{site_url.rstrip('/')}/{period}/index.html"


# --- the message --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartImage:
    id: str
    title: str
    alt: str
    png: bytes | None


def _text(fragment: str) -> str:
    return " ".join(html.unescape(_TAG_RE.sub("", fragment)).split())


def edition_charts(edition_folder: Path) -> list[ChartImage]:
    """The edition's charts in order: title and description from index.html, PNG from data/<id>.png."""
    index = Path(edition_folder) / "index.html"
    page = index.read_text(encoding="utf-8") if index.exists() else ""
    descriptions = {m[1]: _text(m[2]) for m in _DESC_RE.finditer(page)}
    charts = []
    for match in _HEADING_RE.finditer(page):
        chart_id = match[1]
        png = Path(edition_folder) / "data" / f"{chart_id}.png"
        title = _text(match[2])
        charts.append(
            ChartImage(
                chart_id, title, descriptions.get(chart_id, title), png.read_bytes() if png.exists() else None
            )
        )
    return charts


def headline_rows(sidecar: dict, areas: tuple[str, ...] = ()) -> list[dict]:
    """Value figures of the subscriber's areas (in their order), then of the edition's focus area."""
    focus = sidecar["area"]["code"]
    latest: dict[tuple[str, str], dict] = {}
    for entry in sidecar.get("figures", []):
        if entry.get("measure") != "value":
            continue
        key = (entry["area"], entry["indicator"])
        if key not in latest or (entry.get("period") or "") > (latest[key].get("period") or ""):
            latest[key] = entry
    rows = []
    for area in dict.fromkeys([*areas, focus]):
        for (code, _), entry in latest.items():
            if code == area:
                rows.append(
                    {
                        "area": entry.get("area_name") or code,
                        "indicator": entry.get("title") or entry["indicator"],
                        "period": entry.get("period_label")
                        or (fmt.period_label(entry["period"]) if entry.get("period") else fmt.MISSING),
                        "value": entry.get("display") or fmt.MISSING,
                        "chosen": area in areas,
                    }
                )
    return rows


_HTML = Environment(autoescape=select_autoescape(default=True, default_for_string=True)).from_string(
    """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: Arial, sans-serif; color: #0b0c0c; max-width: 640px; margin: 0 auto;">
{% if demo %}<p style="background: #fff2cc; padding: 8px; border-left: 4px solid #b58800;">
<strong>{{ demo_line }}.</strong>
The figures below are illustrative samples.</p>{% endif %}
<h1 style="font-size: 24px;">{{ title }}: {{ label }}</h1>
<p>Edition {{ edition }}, published {{ published }}. <a href="{{ link }}">Read the full edition</a>.</p>
<h2 style="font-size: 20px;">Main points</h2>
<ul>{% for point in main_points %}<li>{{ point }}</li>{% endfor %}</ul>
{% if rows %}<h2 style="font-size: 20px;">Headline figures</h2>
<table style="border-collapse: collapse;" cellpadding="4">
<caption style="text-align: left;">Latest value of each indicator
{%- if chosen %}: your areas first{% endif %}</caption>
<thead><tr><th scope="col" align="left">Area</th><th scope="col" align="left">Indicator</th>
<th scope="col" align="left">Period</th><th scope="col" align="right">Value</th></tr></thead>
<tbody>{% for row in rows %}<tr style="border-top: 1px solid #b1b4b6;">
<td>{{ row.area }}</td><td>{{ row.indicator }}</td>
<td>{{ row.period }}</td><td align="right">{{ row.value }}</td></tr>
{% endfor %}</tbody></table>{% endif %}
{% if charts %}<h2 style="font-size: 20px;">Charts</h2>
{% for chart in charts %}<h3 style="font-size: 16px;">{{ chart.title }}</h3>
{% if chart.cid %}<p><img src="cid:{{ chart.cid }}" alt="{{ chart.alt }}" width="600"
 style="max-width: 100%; height: auto;"></p>
{% else %}<p>{{ chart.alt }}</p>{% endif %}{% endfor %}{% endif %}
<p><a href="{{ link }}">Read the full edition</a>, with every figure's source, the data behind each chart
and what changed since the last edition.</p>
<hr>
<p style="font-size: 14px;">You receive the {{ title }} because you subscribed to it.
<a href="{{ unsubscribe }}">Unsubscribe</a> with one click.</p>
</body></html>
"""
)


def _text_table(rows: list[dict]) -> list[str]:
    header = {"area": "Area", "indicator": "Indicator", "period": "Period", "value": "Value"}
    widths = {k: max(len(str(r[k])) for r in [header, *rows]) for k in header}
    lines = []
    for row in [header, *rows]:
        cells = [str(row[k]).ljust(widths[k]) for k in ("area", "indicator", "period")]
        lines.append("  ".join([*cells, str(row["value"]).rjust(widths["value"])]).rstrip())
    return lines


def build_message(
    edition_folder: Path,
    subscriber: Subscriber,
    *,
    mail_from: str,
    site_url: str,
    unsubscribe_secret: str,
    message_id: str | None = None,
) -> EmailMessage:
    """The email of one published edition for one subscriber: plain text and HTML, charts inline.

    `edition_folder` is `site/<period>` of a published edition. Demonstration editions say so in the
    subject and the body. The unsubscribe link and List-Unsubscribe headers carry the subscriber's token.
    """
    folder = Path(edition_folder)
    sidecar = json.loads((folder / "figures.json").read_text(encoding="utf-8"))
    period = sidecar["period"]
    demo = bool(sidecar.get("demonstration_data"))
    label = fmt.period_label(period)
    title = sidecar.get("title") or "Economic Impact Monitor"
    subject = f"{title}: {label} (edition {sidecar.get('edition', '')})"
    if demo:
        subject = f"[{DEMO_LINE}] {subject}"
    link = edition_url(site_url, period)
    unsubscribe = unsubscribe_url(site_url, subscriber.ref, unsubscribe_secret)
    rows = headline_rows(sidecar, subscriber.areas)
    charts = edition_charts(folder)
    domain = mail_from.rsplit("@", 1)[-1].strip(">").strip() or "localhost"
    published = sidecar.get("published") or ""
    published_words = published
    if published:
        day = dt.date.fromisoformat(published)
        published_words = f"{day.day} {fmt.MONTHS[day.month - 1]} {day.year}"

    text = []
    if demo:
        text += [f"{DEMO_LINE.upper()}. The figures below are illustrative samples.", ""]
    text += [f"{title}: {label}", f"Edition {sidecar.get('edition', '')}, published {published_words}.", ""]
    text += [f"Read the full edition: {link}", "", "MAIN POINTS", ""]
    text += [f"* {point}" for point in sidecar.get("main_points", [])]
    if rows:
        chosen = any(r["chosen"] for r in rows)
        text += ["", "HEADLINE FIGURES" + (" (your areas first)" if chosen else ""), "", *_text_table(rows)]
    if charts:
        text += ["", "CHARTS", ""]
        text += [f"* {chart.title}: {chart.alt}" for chart in charts]
    text += [
        "",
        f"Every figure's source, the data behind each chart and what changed since the last edition: {link}",
        "",
        "--",
        f"You receive the {title} because you subscribed to it.",
        f"Unsubscribe: {unsubscribe}",
        "",
    ]

    cids = {chart.id: make_msgid(idstring=chart.id, domain=domain)[1:-1] for chart in charts if chart.png}
    page = _HTML.render(
        subject=subject,
        demo=demo,
        demo_line=DEMO_LINE,
        title=title,
        label=label,
        edition=sidecar.get("edition", ""),
        published=published_words,
        link=link,
        main_points=sidecar.get("main_points", []),
        rows=rows,
        chosen=any(r["chosen"] for r in rows),
        charts=[{"title": c.title, "alt": c.alt, "cid": cids.get(c.id)} for c in charts],
        unsubscribe=unsubscribe,
    )

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = mail_from
    message["To"] = subscriber.email
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = message_id or make_msgid(idstring=f"eim-{period}", domain=domain)
    message["List-Id"] = f"{title} <eim.{domain}>"
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n".join(text))
    message.add_alternative(page, subtype="html")
    html_part = message.get_payload()[1]
    for chart in charts:
        if chart.png:
            html_part.add_related(
                chart.png,
                maintype="image",
                subtype="png",
                cid=f"<{cids[chart.id]}>",
                filename=f"{chart.id}.png",
                disposition="inline",
            )
    return message


# --- sending ------------------------------------------------------------------------------------------


class _RateLimit:
    def __init__(self, per_minute: float, sleep: Callable[[float], None]) -> None:
        self.interval = 60.0 / per_minute if per_minute and per_minute > 0 else 0.0
        self.sleep = sleep
        self.next_at = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if self.next_at > now:
            self.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


def newest_published_period(data_dir: Path) -> str:
    manifests = published_manifests(Paths(Path(data_dir)))
    if not manifests:
        raise MailError("no edition has been published yet: nothing to send")
    return manifests[-1]["period"]


def unsent_subscribers(data_dir: Path, period: str) -> int:
    """How many active subscribers have no delivery row for this edition (never tried)."""
    store = SubscriberStore(Path(data_dir))
    states = store.delivery_states(period)
    return sum(1 for subscriber in store.list_subscribers() if subscriber.id not in states)


def send_edition(
    data_dir: Path,
    period: str | None,
    config: MailConfig,
    *,
    policy: RetryPolicy | None = None,
    resend_pending: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> SendSummary:
    """Send a published edition (default: the newest) to every active subscriber not yet sent it.

    Subscribers whose row for this
    edition is `sent` are skipped, so running this twice sends nothing the second time; rows left
    `pending` by an interrupted run are reported, not resent, unless `resend_pending` (see the module
    docstring). Transient failures are retried with backoff per `policy`; a 5xx reply marks that
    subscriber `failed` and the run goes on. A failed login or TLS set-up stops the run with MailError
    (its `summary` says what was done), naming the SMTP host, never the password.
    """
    secret_bytes(config.unsubscribe_secret)  # fail before sending anything
    if not config.site_url:
        raise MailError("sending needs EIM_SITE_URL: every message links to the edition and to unsubscribe")
    period = period or newest_published_period(data_dir)
    folder = Paths(Path(data_dir)).site / period
    manifest = Paths(Path(data_dir)).manifest(period)
    if not (folder / "figures.json").exists() or not manifest.exists():
        raise MailError(f"edition {period} has not been published: nothing to send")
    if not json.loads(manifest.read_text()).get("published"):
        raise MailError(f"edition {period} was kept as a draft: nothing to send")

    policy = policy or RetryPolicy()
    store = SubscriberStore(Path(data_dir))
    states = store.delivery_states(period)
    summary = SendSummary(period)
    connection = SmtpConnection(config.smtp, config.mail_from)
    limiter = _RateLimit(config.send_rate_per_minute, sleep)
    domain = config.mail_from.rsplit("@", 1)[-1].strip(">").strip() or "localhost"
    try:
        for subscriber in store.list_subscribers():
            state = states.get(subscriber.id)
            if state is not None and state.status == "sent":
                summary.skipped += 1
                continue
            if state is not None and state.status == "pending" and not resend_pending:
                summary.pending.append(subscriber.id)
                continue
            message_id = (state.message_id if state and state.status == "pending" else None) or make_msgid(
                idstring=f"eim-{period}", domain=domain
            )
            message = build_message(
                folder,
                subscriber,
                mail_from=config.mail_from,
                site_url=config.site_url,
                unsubscribe_secret=config.unsubscribe_secret,
                message_id=message_id,
            )
            limiter.wait()
            attempts = state.attempts if state else 0
            try:
                for attempt in stamina.retry_context(
                    on=TransientMailError,
                    attempts=policy.attempts,
                    timeout=policy.timeout,
                    wait_initial=policy.wait_initial,
                    wait_max=policy.wait_max,
                    wait_jitter=policy.wait_jitter,
                ):
                    with attempt:
                        attempts += 1
                        try:
                            connection.open()
                            store.record(
                                period, subscriber.id, "pending", message_id=message_id, attempts=attempts
                            )
                            connection.send(message, subscriber.email)
                        except TransientMailError as error:
                            store.record(
                                period,
                                subscriber.id,
                                "failed",
                                error=f"{error} (will retry)",
                                attempts=attempts,
                            )
                            log.info(
                                "edition %s, subscriber #%d: transient failure, retrying",
                                period,
                                subscriber.id,
                            )
                            raise
                store.record(period, subscriber.id, "sent", message_id=message_id, attempts=attempts)
                summary.sent += 1
                log.info("edition %s: sent to subscriber #%d", period, subscriber.id)
            except TransientMailError as error:
                reason = f"gave up after {attempts} attempts: {error}"
                store.record(period, subscriber.id, "failed", error=reason, attempts=attempts)
                summary.failed.append((subscriber.id, reason))
                log.warning("edition %s, subscriber #%d: %s", period, subscriber.id, reason)
            except PermanentMailError as error:
                store.record(period, subscriber.id, "failed", error=str(error), attempts=attempts)
                summary.failed.append((subscriber.id, str(error)))
                log.warning("edition %s, subscriber #%d: %s", period, subscriber.id, error)
            except MailError as error:
                store.record(period, subscriber.id, "failed", error=str(error), attempts=attempts)
                summary.failed.append((subscriber.id, str(error)))
                error.summary = summary
                raise
    finally:
        connection.close()
    return summary
