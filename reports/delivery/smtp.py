"""The one SMTP client: the edition emails and the operators' alerts both send through it.

One session is opened when first needed (TLS or STARTTLS as configured, then the login) and reopened
after a failure. Failures are sorted by what the caller can do about them: `MailError` (configuration,
login, TLS: stop), `TransientMailError` (connection lost, timeout, 4xx: try again later) and
`PermanentMailError` (5xx for this recipient: give up on it). Every message is scrubbed of the
password and of the recipient's address before it is raised (`reports.delivery.subscribers.scrub`).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Literal

from reports.delivery.subscribers import scrub

SECURITY_MODES = ("none", "starttls", "tls")
Security = Literal["none", "starttls", "tls"]


class MailError(RuntimeError):
    """Sending cannot go on (configuration, login, TLS); the message names the host, never a secret."""

    def __init__(self, message: str, summary: object | None = None) -> None:
        super().__init__(message)
        self.summary = summary  # what an interrupted batch had done (`mail.SendSummary`)


class TransientMailError(Exception):
    """Worth trying again: connection refused or lost, a timeout, a 4xx reply. Message is scrubbed."""


class PermanentMailError(Exception):
    """Not worth trying again for this recipient: a 5xx reply. Message is scrubbed."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to reach the SMTP server (`flows.settings.Settings.smtp()` builds it)."""

    host: str
    port: int = 587
    security: Security = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a repr, so never in a log
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise MailError(f"EIM_SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}")

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def _reply_text(error: smtplib.SMTPResponseException) -> str:
    reply = error.smtp_error
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class SmtpConnection:
    """One SMTP session, opened when first needed and reopened after a failure."""

    def __init__(self, settings: SmtpSettings, mail_from: str) -> None:
        self.settings = settings
        self.mail_from = mail_from
        self.smtp: smtplib.SMTP | None = None

    def _clean(self, text: str, *addresses: str) -> str:
        if self.settings.password:
            text = text.replace(self.settings.password, "***")
        return scrub(text, *addresses)

    def open(self) -> smtplib.SMTP:
        if self.smtp is not None:
            return self.smtp
        settings, where = self.settings, self.settings.where
        context = ssl.create_default_context()
        smtp = None
        try:
            if settings.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    settings.host, settings.port, timeout=settings.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            smtp.ehlo()
            if settings.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.user:
                smtp.login(settings.user, settings.password or "")
        except smtplib.SMTPAuthenticationError as error:
            self._discard(smtp)
            raise MailError(
                f"the SMTP server {where} refused the login of user {settings.user!r}: "
                f"{error.smtp_code} {self._clean(_reply_text(error))}. Check EIM_SMTP_USER and "
                "EIM_SMTP_PASSWORD."
            ) from None
        except smtplib.SMTPNotSupportedError as error:
            self._discard(smtp)
            raise MailError(
                f"the SMTP server {where} does not support what EIM_SMTP_SECURITY="
                f"{settings.security} and EIM_SMTP_USER need: {self._clean(str(error))}"
            ) from None
        except ssl.SSLError as error:
            self._discard(smtp)
            raise MailError(f"TLS with the SMTP server {where} failed: {self._clean(str(error))}") from None
        except smtplib.SMTPResponseException as error:
            self._discard(smtp)
            reason = f"the SMTP server {where} answered {error.smtp_code} {self._clean(_reply_text(error))}"
            if 400 <= error.smtp_code < 500:
                raise TransientMailError(reason) from None
            raise MailError(reason) from None
        except (OSError, smtplib.SMTPException) as error:
            self._discard(smtp)
            reason = self._clean(str(error) or type(error).__name__)
            raise TransientMailError(f"could not reach the SMTP server {where}: {reason}") from None
        self.smtp = smtp
        return smtp

    def send(self, message: EmailMessage, recipient: str) -> None:
        smtp = self.open()
        where = self.settings.where
        try:
            smtp.send_message(message, from_addr=self.mail_from, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()), (0, b""))
            text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
            self._refused(code, f"recipient refused: {code} {self._clean(text, recipient)}")
        except smtplib.SMTPServerDisconnected as error:
            self.close()
            raise TransientMailError(
                f"the SMTP server {where} closed the connection: {self._clean(str(error), recipient)}"
            ) from None
        except smtplib.SMTPResponseException as error:
            self._refused(error.smtp_code, f"{error.smtp_code} {self._clean(_reply_text(error), recipient)}")
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            reason = self._clean(str(error) or type(error).__name__, recipient)
            raise TransientMailError(f"sending through {where} failed: {reason}") from None

    @staticmethod
    def _refused(code: int, reason: str) -> None:
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

    def __enter__(self) -> SmtpConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def send_one(settings: SmtpSettings, message: EmailMessage) -> None:
    """Send one message to its `To` address on a session of its own (the operators' alerts)."""
    with SmtpConnection(settings, str(message["From"])) as connection:
        connection.send(message, str(message["To"]))
