"""Unsubscribe tokens: an HMAC over the subscriber's address, so a link cannot be forged or reused
for another address, and `eim site serve` can act on it without a session."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from reports.delivery.smtp import MailError
from reports.delivery.subscribers import SubscriberError, normalise_address

TOKEN_CONTEXT = b"eim-unsubscribe-v1\x00"
MIN_SECRET_LENGTH = 16


class InvalidToken(ValueError):
    """An unsubscribe token that was not made with our secret for the address it carries."""


def secret_bytes(secret: str | None) -> bytes:
    """The HMAC key; MailError when the secret is missing or too short to be one."""
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
        raise MailError(
            f"EIM_UNSUBSCRIBE_SECRET must be set to at least {MIN_SECRET_LENGTH} random characters"
        )
    return secret.encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise InvalidToken("the token is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("the token is not base64url") from None


def make_token(email: str, secret: str) -> str:
    """base64url(address) + "." + base64url(HMAC-SHA256(secret, address)), over the normalised address."""
    address = normalise_address(email)
    digest = hmac.new(secret_bytes(secret), TOKEN_CONTEXT + address.encode(), hashlib.sha256).digest()
    return f"{_b64(address.encode())}.{_b64(digest)}"


def verify_token(token: str, secret: str) -> str:
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
    expected = hmac.new(secret_bytes(secret), TOKEN_CONTEXT + address.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _unb64(signature)):
        raise InvalidToken("the token's signature does not match")
    return address


def unsubscribe_url(site_url: str, email: str, secret: str) -> str:
    return f"{site_url.rstrip('/')}/unsubscribe?token={make_token(email, secret)}"
