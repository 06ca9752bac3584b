"""Email delivery of a published edition: one multipart message per subscriber, logged so a re-run never
sends twice.

The message is built from the published edition folder alone (`site/<period>/`: figures.json, and
data/charts.json with the charts drawn narrow for mail under data/email/), so an edition can be sent,
or sent again to a late subscriber, long after it was rendered. It is light enough for any inbox
(under 200 KB for two areas): at most three charts, each a 64-colour PNG drawn for a phone's width
(the labour market's lead chart, the prices chart and the subscriber's own council's), and a
headline table of the subscriber's areas beside the focus area and the UK.

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

import csv
import dataclasses
import datetime as dt
import functools
import io
import json
import logging
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pandas as pd
import stamina
from jinja2 import Environment, select_autoescape

from reports.bulletin import format as fmt
from reports.bulletin.charts import ChartSpec, email_png, render_chart
from reports.bulletin.content import EMAIL_CHART_SECTIONS, dashboard_labels
from reports.bulletin.layout import Paths, published_manifests
from reports.delivery.smtp import (
    MailError,
    PermanentMailError,
    SmtpConnection,
    SmtpSettings,
    TransientMailError,
)
from reports.delivery.subscribers import Subscriber, SubscriberStore, new_ref
from reports.delivery.tokens import secret_bytes, unsubscribe_url

log = logging.getLogger(__name__)

DEMO_LINE = "Demonstration data — not official statistics"
TEXT_WIDTH = 78  # the plain-text part's lines (RFC 5322 recommends at most 78 characters)
# The headline table: for each of the subscriber's areas (else the focus area), these indicators,
# each beside the focus area's and the UK's. The one-off reference figures (IMD rank, Levelling Up
# Fund category) are not monthly news and stay in the bulletin.
EMAIL_INDICATORS = (
    "claimant_rate",
    "youth_claimant_rate_16_24",
    "employment_rate",
    "unemployment_rate",
    "inactivity_rate",
    "median_pay_residence",
    "enterprises_per_10000",
    "average_house_price",
    "life_satisfaction",
)
MAX_TABLE_ROWS = 25
EMAIL_CHART_WIDTH_PX = 340  # as shown; the PNG is twice as wide for sharp screens


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
    source: str
    png: bytes | None


def _chart_image(folder: Path, entry: dict) -> ChartImage:
    png = folder / entry["email_png"]
    return ChartImage(
        entry["id"], entry["title"], entry["alt"], entry["source"], png.read_bytes() if png.exists() else None
    )


def edition_charts(edition_folder: Path, areas: tuple[str, ...] = ()) -> list[ChartImage]:
    """The charts a message carries: the lead chart of each of EMAIL_CHART_SECTIONS, then the
    chart of the first of `areas` that has one of its own. None for an edition without a charts
    manifest (`data/charts.json`)."""
    folder = Path(edition_folder)
    manifest_path = folder / "data" / "charts.json"
    if not manifest_path.exists():
        return []
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    charts = []
    for section in EMAIL_CHART_SECTIONS:
        lead = next((c for c in manifest.get("charts", []) if c.get("section") == section), None)
        if lead is not None:
            charts.append(_chart_image(folder, lead))
    own = next((manifest["area_charts"][a] for a in areas if a in manifest.get("area_charts", {})), None)
    if own is not None:
        charts.append(_own_area_chart(folder, own))
    return charts


@functools.lru_cache(maxsize=64)
def _draw_area_chart(csv_path: Path, stamp: int, fields: tuple[tuple[str, object], ...]) -> ChartImage:
    """A council's own chart, drawn from the data its edition published (once per process for
    each edition and council: every subscriber of the council gets the same bytes)."""
    meta = dict(fields)
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    order = {x: n for n, x in enumerate(dict.fromkeys(row["x"] for row in rows))}
    data = pd.DataFrame(
        [
            {
                "series": r["series"],
                "x": r["x"],
                "x_order": order[r["x"]],
                "value": float(r["value"]) if r["value"] else None,
            }
            for r in rows
        ],
        columns=["series", "x", "x_order", "value"],
    )
    spec = ChartSpec(
        id=str(meta["id"]),
        kind="line",
        title=str(meta["title"]),
        subtitle=str(meta["subtitle"]),
        unit=meta["unit"],
        decimals=int(meta["decimals"]),
        data=data,
        highlight=meta["highlight"],
        width=int(meta["width"]),
    )
    drawn = render_chart(spec)
    return ChartImage(spec.id, spec.title, drawn.alt, str(meta["source"]), email_png(drawn.png))


def _own_area_chart(folder: Path, entry: dict) -> ChartImage:
    path = folder / entry["csv"]
    fields = tuple(sorted((k, v) for k, v in entry.items() if k != "csv"))
    return _draw_area_chart(path, path.stat().st_mtime_ns, fields)


NOT_SIGNIFICANT = "not significant"  # the bulletin dashboard's words for a survey change within its interval


def headline_rows(sidecar: dict, areas: tuple[str, ...] = ()) -> list[dict]:
    """The headline table: for each of the subscriber's areas (the focus area when none is chosen),
    a group of EMAIL_INDICATORS rows, each with the area's latest value, period and change on the
    year beside the focus area's and the UK's values, at most MAX_TABLE_ROWS rows in all."""
    focus, uk = sidecar["area"]["code"], sidecar.get("uk", {}).get("code")
    entries = {(e["indicator"], e["area"], e["measure"]): e for e in sidecar.get("figures", [])}
    labels = dashboard_labels()
    rows: list[dict] = []
    for area in dict.fromkeys([*areas] or [focus]):
        group, name = [], None
        for indicator in EMAIL_INDICATORS:
            value = entries.get((indicator, area, "value"))
            if value is None:
                continue
            name = value.get("area_name") or area
            change = entries.get((indicator, area, "change_year"))
            beside = {
                code: entries.get((indicator, code, "value"), {}).get("display", "") for code in (focus, uk)
            }
            group.append(
                {
                    "indicator": labels.get(indicator, value.get("title") or indicator),
                    "period": value.get("period_label") or fmt.period_label(value.get("period") or ""),
                    "value": value["display"],
                    "change": change["display"] if change else "",
                    "note": NOT_SIGNIFICANT if change and change.get("significant") is False else "",
                    "focus": beside[focus] if area != focus else "",
                    "uk": beside[uk],
                }
            )
        if group and len(rows) + 1 + len(group) <= MAX_TABLE_ROWS:
            rows += [{"group": name, "chosen": area in areas}, *group]
    return rows


# Inline styles only (mail clients drop <style>); sizes in px, none below 14; one column that fits
# a phone, with side padding; the table narrow enough for 375 px (the period under each name).
_HTML = Environment(autoescape=select_autoescape(default=True, default_for_string=True)).from_string(
    """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{ subject }}</title></head>
<body style="margin: 0; padding: 0; background: #ffffff;">
<div style="font-family: Arial, Helvetica, sans-serif; font-size: 16px; line-height: 1.45; color: #0b0c0c;
 max-width: 640px; margin: 0 auto; padding: 12px 16px;">
{% if demo %}<p style="background: #fff2cc; padding: 8px; border-left: 4px solid #b58800;">
<strong>{{ demo_line }}.</strong> The figures below are illustrative samples.</p>{% endif %}
<h1 style="font-size: 24px; line-height: 1.25; margin: 8px 0;">{{ title }}: {{ label }}</h1>
<p>Edition {{ edition }}, published {{ published }}.
<a href="{{ link }}" style="color: #1d70b8;">Read the full edition</a>.</p>
<h2 style="font-size: 20px; margin: 20px 0 8px;">Main points</h2>
<ul style="padding-left: 20px; margin: 0;">{% for point in main_points %}
<li style="margin-bottom: 6px;">{{ point }}</li>{% endfor %}</ul>
{% if rows %}<h2 style="font-size: 20px; margin: 20px 0 8px;">Headline figures</h2>
<table role="table" style="border-collapse: collapse; width: 100%; font-size: 14px;">
<caption style="text-align: left; padding-bottom: 6px;">Latest value, change on the year, and the
{{ focus_label }} and the UK beside it</caption>
<thead><tr><th scope="col" align="left" style="padding: 4px 4px 4px 0;">Indicator</th>
<th scope="col" align="right" style="padding: 4px;">Latest</th>
<th scope="col" align="right" style="padding: 4px;">On the year</th>
<th scope="col" align="right" style="padding: 4px;">{{ focus_label }}</th>
<th scope="col" align="right" style="padding: 4px 0 4px 4px;">UK</th></tr></thead>
<tbody>{% for row in rows %}{% if "group" in row %}<tr><th scope="rowgroup" colspan="5" align="left"
 style="background: #12436d; color: #ffffff; padding: 4px 6px;">{{ row.group }}</th></tr>
{% else %}<tr style="border-top: 1px solid #b1b4b6;">
<th scope="row" align="left" style="font-weight: normal; padding: 4px 4px 4px 0;">{{ row.indicator }}<br>
<span style="color: #505a5f;">{{ row.period }}</span></th>
<td align="right" style="padding: 4px 3px; white-space: nowrap;"><strong>{{ row.value }}</strong></td>
<td align="right" style="padding: 4px 3px;"><span style="white-space: nowrap;">{{ row.change }}</span>
{%- if row.note %}<br><span style="color: #505a5f;">{{ row.note }}</span>{% endif %}</td>
<td align="right" style="padding: 4px 3px; white-space: nowrap;">{{ row.focus }}</td>
<td align="right" style="padding: 4px 0 4px 3px; white-space: nowrap;">{{ row.uk }}</td></tr>
{% endif %}{% endfor %}</tbody></table>{% endif %}
{% for chart in charts %}<h2 style="font-size: 18px; margin: 20px 0 6px;">{{ chart.title }}</h2>
{% if chart.cid %}<p style="margin: 0;"><img src="cid:{{ chart.cid }}" alt="{{ chart.alt }}"
 width="{{ chart_width }}" style="display: block; max-width: 100%; height: auto;"></p>
{% else %}<p>{{ chart.alt }}</p>{% endif %}
<p style="font-size: 14px; color: #505a5f; margin: 4px 0 0;">{{ chart.source }}</p>{% endfor %}
<p><a href="{{ link }}" style="color: #1d70b8;">Read the full edition</a>, with every chart and table,
every figure's source and what changed since the last edition.</p>
<hr style="border: 0; border-top: 1px solid #b1b4b6;">
<p style="font-size: 14px;">You receive the {{ title }} because you subscribed to it.
<a href="{{ unsubscribe }}" style="color: #1d70b8;">Unsubscribe</a> with one click.</p>
</div></body></html>
"""
)


def _wrap(text: str, indent: str = "", first: str = "") -> list[str]:
    return textwrap.wrap(
        text, TEXT_WIDTH, initial_indent=first or indent, subsequent_indent=indent, break_on_hyphens=False
    ) or [first.rstrip()]


def _text_table(rows: list[dict], focus_label: str) -> list[str]:
    """The headline table in at most TEXT_WIDTH columns: each indicator and its period on one line,
    its figures on the next."""
    widths = {"value": 10, "change": 14, "focus": 10, "uk": 10}  # the row's figures, right-aligned
    head = f"{'':4}{'Latest':>{widths['value']}}{'On the year':>{widths['change']}}"
    head += f"{focus_label[: widths['focus'] - 1]:>{widths['focus']}}{'UK':>{widths['uk']}}"
    lines = [head]
    for row in rows:
        if "group" in row:
            lines += ["", row["group"].upper()]
            continue
        note = f" (change {row['note']})" if row["note"] else ""
        lines += _wrap(f"{row['indicator']}, {row['period']}{note}", indent="    ", first="  ")
        figures = "".join(f"{row[k]:>{w}}" for k, w in widths.items())
        lines.append(f"{'':4}{figures}")
    return lines


def _short(name: str) -> str:
    """'West Midlands Combined Authority' -> 'WMCA': a column heading's width."""
    words = name.replace("Combined Authority", "CA").split()
    return "".join(w[0] for w in words[:-1]) + words[-1] if words[-1] == "CA" else name


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
    charts = edition_charts(folder, subscriber.areas)
    focus_label = sidecar.get("area", {}).get("label") or _short(sidecar["area"]["name"])
    domain = mail_from.rsplit("@", 1)[-1].strip(">").strip() or "localhost"
    published = sidecar.get("published") or ""
    published_words = published
    if published:
        day = dt.date.fromisoformat(published)
        published_words = f"{day.day} {fmt.MONTHS[day.month - 1]} {day.year}"

    text = []
    if demo:
        text += [*_wrap(f"{DEMO_LINE.upper()}. The figures below are illustrative samples."), ""]
    text += [
        *_wrap(f"{title}: {label}"),
        f"Edition {sidecar.get('edition', '')}, published {published_words}.",
        "",
    ]
    text += ["Read the full edition:", link, "", "MAIN POINTS", ""]
    for point in sidecar.get("main_points", []):
        text += _wrap(point, indent="  ", first="* ")
    if rows:
        text += ["", "HEADLINE FIGURES", "", *_text_table(rows, focus_label)]
    if charts:
        text += ["", "CHARTS", ""]
        for chart in charts:
            text += _wrap(f"{chart.title}: {chart.alt} {chart.source}", indent="  ", first="* ")
    text += [
        "",
        *_wrap("Every chart and table, every figure's source and what changed since the last edition:"),
        link,
        "",
        "--",
        *_wrap(f"You receive the {title} because you subscribed to it."),
        "Unsubscribe:",
        unsubscribe,
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
        focus_label=focus_label,
        chart_width=EMAIL_CHART_WIDTH_PX,
        charts=[{"title": c.title, "alt": c.alt, "source": c.source, "cid": cids.get(c.id)} for c in charts],
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


@dataclass(frozen=True)
class Preview:
    period: str
    message: EmailMessage
    subscriber: Subscriber


def preview_message(
    data_dir: Path,
    period: str | None,
    *,
    mail_from: str,
    site_url: str,
    unsubscribe_secret: str,
    address: str | None = None,
    areas: tuple[str, ...] | None = None,
) -> Preview:
    """The message `send_edition` would hand over for `period` (default: the newest published
    edition): to the subscriber of `address` when there is one (their chosen areas unless `areas`
    says otherwise), else to a subscriber of `areas` who is not in the store. Nothing is sent or
    recorded."""
    period = period or newest_published_period(data_dir)
    folder = Paths(Path(data_dir)).site / period
    if not (folder / "figures.json").exists():
        raise MailError(f"edition {period} is not published: nothing to preview")
    known = SubscriberStore(Path(data_dir)).get(address) if address else None
    # Someone not in the store gets a reference of no subscriber: their unsubscribe link is inert.
    subscriber = known or Subscriber(0, address or "subscriber@example.org", (), ref=new_ref())
    if areas is not None:
        subscriber = dataclasses.replace(subscriber, areas=areas)
    message = build_message(
        folder, subscriber, mail_from=mail_from, site_url=site_url, unsubscribe_secret=unsubscribe_secret
    )
    return Preview(period, message, subscriber)


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
