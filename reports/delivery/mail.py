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

Secrets: the SMTP password and the unsubscribe secret are read from `SecretStr` only where they are
used and appear in no error, log line or delivery row. Addresses appear in no log line or error either:
server replies are scrubbed (`reports.delivery.subscribers.scrub`) before they are stored or raised.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import hmac
import html
import json
import logging
import re
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import stamina
from jinja2 import Environment, select_autoescape

from reports.bulletin import format as fmt
from reports.delivery.subscribers import (
    Subscriber,
    SubscriberError,
    SubscriberStore,
    normalise_address,
    scrub,
)

log = logging.getLogger(__name__)

DEMO_LINE = "Demonstration data — not official statistics"
TOKEN_CONTEXT = b"eim-unsubscribe-v1\x00"
SECURITY_MODES = ("none", "starttls", "tls")
MIN_SECRET_LENGTH = 16
_HEADING_RE = re.compile(r'<h3 id="(figure-\d+)-heading">(.*?)</h3>', re.S)
_DESC_RE = re.compile(r'<desc id="(figure-\d+)-desc">(.*?)</desc>', re.S)
_TAG_RE = re.compile(r"<[^>]+>")


class MailError(RuntimeError):
    """Sending cannot go on (configuration, login, TLS); the message names the host, never a secret."""

    def __init__(self, message: str, summary: SendSummary | None = None) -> None:
        super().__init__(message)
        self.summary = summary


class InvalidToken(ValueError):
    """An unsubscribe token that was not made with our secret for the address it carries."""


class TransientMailError(Exception):
    """Worth trying again: connection refused or lost, a timeout, a 4xx reply. Message is scrubbed."""


class PermanentMailError(Exception):
    """Not worth trying again for this recipient: a 5xx reply. Message is scrubbed."""


@dataclass(frozen=True)
class MailConfig:
    """What sending needs; `from_settings` reads it from `flows.settings.Settings`."""

    smtp_host: str
    mail_from: str
    unsubscribe_secret: object  # SecretStr or str
    site_url: str
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_user: str | None = None
    smtp_password: object | None = None  # SecretStr or str
    send_rate_per_minute: float = 60.0
    timeout: float = 30.0

    def __repr__(self) -> str:  # the secrets never reach a log through a repr
        return (
            f"MailConfig(smtp_host={self.smtp_host!r}, smtp_port={self.smtp_port!r}, "
            f"smtp_security={self.smtp_security!r}, smtp_user={self.smtp_user!r}, site_url={self.site_url!r})"
        )

    @classmethod
    def from_settings(cls, settings: object) -> MailConfig:
        missing = [
            f"EIM_{name.upper()}"
            for name in ("smtp_host", "mail_from", "unsubscribe_secret", "site_url")
            if not getattr(settings, name, None)
        ]
        if missing:
            raise MailError(f"sending needs {', '.join(missing)} to be set")
        return cls(
            smtp_host=settings.smtp_host,
            smtp_port=settings.smtp_port,
            smtp_security=str(settings.smtp_security),
            smtp_user=settings.smtp_user or None,
            smtp_password=settings.smtp_password,
            mail_from=settings.mail_from,
            unsubscribe_secret=settings.unsubscribe_secret,
            site_url=settings.site_url,
            send_rate_per_minute=settings.send_rate_per_minute,
        )


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


# --- unsubscribe tokens -------------------------------------------------------------------------------


def _secret_bytes(secret: object) -> bytes:
    value = secret.get_secret_value() if hasattr(secret, "get_secret_value") else secret
    if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
        raise MailError(
            f"EIM_UNSUBSCRIBE_SECRET must be set to at least {MIN_SECRET_LENGTH} random characters"
        )
    return value.encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise InvalidToken("the token is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("the token is not base64url") from None


def make_token(email: str, secret: object) -> str:
    """base64url(address) + "." + base64url(HMAC-SHA256(secret, address)), over the normalised address."""
    address = normalise_address(email)
    digest = hmac.new(_secret_bytes(secret), TOKEN_CONTEXT + address.encode(), hashlib.sha256).digest()
    return f"{_b64(address.encode())}.{_b64(digest)}"


def verify_token(token: str, secret: object) -> str:
    """The address a token was made for; InvalidToken when it was altered, forged or made for another."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 1024:
        raise InvalidToken("the token is malformed")
    encoded, signature = token.split(".")
    try:
        address = _unb64(encoded).decode("utf-8")
        normalised = normalise_address(address)
    except (UnicodeDecodeError, SubscriberError):
        raise InvalidToken("the token does not carry an address") from None
    if normalised != address:
        raise InvalidToken("the token's address is not in normal form")
    expected = hmac.new(_secret_bytes(secret), TOKEN_CONTEXT + address.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _unb64(signature)):
        raise InvalidToken("the token's signature does not match")
    return address


def unsubscribe_url(site_url: str, email: str, secret: object) -> str:
    return f"{site_url.rstrip('/')}/unsubscribe?token={make_token(email, secret)}"


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
                rows.append({
                    "area": entry.get("area_name") or code,
                    "indicator": entry.get("title") or entry["indicator"],
                    "period": fmt.period_label(entry["period"]) if entry.get("period") else fmt.MISSING,
                    "value": entry.get("display") or fmt.MISSING,
                    "chosen": area in areas,
                })  # fmt: skip
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
    unsubscribe_secret: object,
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
    unsubscribe = unsubscribe_url(site_url, subscriber.email, unsubscribe_secret)
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


def _reply_text(error: smtplib.SMTPResponseException) -> str:
    reply = error.smtp_error
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class _Connection:
    """One SMTP session, opened when first needed and reopened after a failure."""

    def __init__(self, config: MailConfig) -> None:
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.config.smtp_host}:{self.config.smtp_port}"

    def _password(self) -> str:
        secret = self.config.smtp_password
        value = secret.get_secret_value() if hasattr(secret, "get_secret_value") else secret
        return value or ""

    def _clean(self, text: str, *addresses: str) -> str:
        password = self._password()
        if password:
            text = text.replace(password, "***")
        return scrub(text, *addresses)

    def open(self) -> smtplib.SMTP:
        if self.smtp is not None:
            return self.smtp
        config = self.config
        if config.smtp_security not in SECURITY_MODES:
            raise MailError(f"EIM_SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}")
        context = ssl.create_default_context()
        smtp = None
        try:
            if config.smtp_security == "tls":
                smtp = smtplib.SMTP_SSL(
                    config.smtp_host, config.smtp_port, timeout=config.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout)
            smtp.ehlo()
            if config.smtp_security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if config.smtp_user:
                smtp.login(config.smtp_user, self._password())
        except smtplib.SMTPAuthenticationError as error:
            self._discard(smtp)
            raise MailError(
                f"the SMTP server {self.where} refused the login of user {config.smtp_user!r}: "
                f"{error.smtp_code} {self._clean(_reply_text(error))}. Check EIM_SMTP_USER and "
                "EIM_SMTP_PASSWORD."
            ) from None
        except smtplib.SMTPNotSupportedError as error:
            self._discard(smtp)
            raise MailError(
                f"the SMTP server {self.where} does not support what EIM_SMTP_SECURITY="
                f"{config.smtp_security} and EIM_SMTP_USER need: {self._clean(str(error))}"
            ) from None
        except ssl.SSLError as error:
            self._discard(smtp)
            raise MailError(
                f"TLS with the SMTP server {self.where} failed: {self._clean(str(error))}"
            ) from None
        except smtplib.SMTPResponseException as error:
            self._discard(smtp)
            reason = (
                f"the SMTP server {self.where} answered {error.smtp_code} {self._clean(_reply_text(error))}"
            )
            if 400 <= error.smtp_code < 500:
                raise TransientMailError(reason) from None
            raise MailError(reason) from None
        except (OSError, smtplib.SMTPException) as error:
            self._discard(smtp)
            reason = self._clean(str(error) or type(error).__name__)
            raise TransientMailError(f"could not reach the SMTP server {self.where}: {reason}") from None
        self.smtp = smtp
        return smtp

    def send(self, message: EmailMessage, recipient: str) -> None:
        smtp = self.open()
        try:
            smtp.send_message(message, from_addr=self.config.mail_from, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()), (0, b""))
            text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
            self._refused(code, f"recipient refused: {code} {self._clean(text, recipient)}")
        except smtplib.SMTPServerDisconnected as error:
            self.close()
            raise TransientMailError(
                f"the SMTP server {self.where} closed the connection: {self._clean(str(error), recipient)}"
            ) from None
        except smtplib.SMTPResponseException as error:
            self._refused(error.smtp_code, f"{error.smtp_code} {self._clean(_reply_text(error), recipient)}")
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            reason = self._clean(str(error) or type(error).__name__, recipient)
            raise TransientMailError(f"sending through {self.where} failed: {reason}") from None

    def _refused(self, code: int, reason: str) -> None:
        if 400 <= code < 500:
            raise TransientMailError(reason) from None
        raise PermanentMailError(reason) from None

    @staticmethod
    def _discard(smtp: smtplib.SMTP | None) -> None:
        if smtp is None:
            return
        with contextlib.suppress(OSError):
            smtp.close()

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            self._discard(smtp)


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
    from reports.bulletin.publish import Paths, published_manifests

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
    settings: object,
    *,
    policy: RetryPolicy | None = None,
    resend_pending: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> SendSummary:
    """Send a published edition (default: the newest) to every active subscriber not yet sent it.

    `settings` is a `flows.settings.Settings` (or a `MailConfig`). Subscribers whose row for this
    edition is `sent` are skipped, so running this twice sends nothing the second time; rows left
    `pending` by an interrupted run are reported, not resent, unless `resend_pending` (see the module
    docstring). Transient failures are retried with backoff per `policy`; a 5xx reply marks that
    subscriber `failed` and the run goes on. A failed login or TLS set-up stops the run with MailError
    (its `summary` says what was done), naming the SMTP host, never the password.
    """
    from reports.bulletin.publish import Paths

    config = settings if isinstance(settings, MailConfig) else MailConfig.from_settings(settings)
    _secret_bytes(config.unsubscribe_secret)  # fail before sending anything
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
    connection = _Connection(config)
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


__all__ = [
    "DEMO_LINE",
    "InvalidToken",
    "MailConfig",
    "MailError",
    "RetryPolicy",
    "SendSummary",
    "build_message",
    "edition_charts",
    "headline_rows",
    "make_token",
    "send_edition",
    "unsubscribe_url",
    "verify_token",
]
