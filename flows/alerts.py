"""Notices to the operators: a failed or crashed run, a dataset failing twice in a row, an edition
kept back by the publication gate. Sent by email to EIM_ALERT_EMAIL through the same SMTP client and
settings as the subscribers' mail (`reports.delivery.smtp`), and logged, so they show in the Prefect
UI as well.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage

from flows.settings import Settings
from reports.delivery.smtp import MailError, PermanentMailError, TransientMailError, send_one

logger = logging.getLogger(__name__)


def send_alert(settings: Settings, subject: str, body: str) -> bool:
    """Email the operators; False (and a log line) when alerts are not configured or sending fails."""
    logger.warning("ALERT: %s", subject)
    if not (settings.alert_email and settings.smtp_host and settings.mail_from):
        logger.warning("alert not emailed: set EIM_ALERT_EMAIL, EIM_SMTP_HOST and EIM_MAIL_FROM")
        return False
    message = EmailMessage()
    message["Subject"] = f"[Economic Impact Monitor] {subject}"
    message["From"] = settings.mail_from
    message["To"] = settings.alert_email
    message.set_content(body)
    try:
        send_one(settings.smtp(), message)
    except (MailError, TransientMailError, PermanentMailError) as error:
        logger.error("the alert could not be emailed: %s", error)
        return False
    return True
