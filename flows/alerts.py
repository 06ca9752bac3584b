"""Notices to the operators: a failed or crashed run, a dataset failing twice in a row, an edition
kept back by the publication gate. Sent by email (the same SMTP settings as the subscribers' mail)
to EIM_ALERT_EMAIL, and logged, so they show in the Prefect UI as well.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

from flows.settings import Settings

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
        if settings.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=30,
                                    context=ssl.create_default_context())  # fmt: skip
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
        with smtp:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_user, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        logger.error("the alert could not be emailed via %s:%s: %s", settings.smtp_host,
                     settings.smtp_port, type(error).__name__)  # fmt: skip
        return False
    return True
