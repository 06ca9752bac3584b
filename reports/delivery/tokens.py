"""Unsubscribe tokens: the subscriber's opaque reference and an HMAC over it, so a link names no
address (it lands in proxy and server logs), cannot be forged, and `eim site serve` can act on it
without a session.

    token = <ref> "." base64url(HMAC-SHA256(secret, "eim-unsubscribe-v2\\0" + ref))

Policy (RFC 8058 one-click unsubscribe must keep working for every message still in an inbox):
tokens do not expire. A link stops working when its subscriber is erased (`eim subscribers remove`)
or when the secret that signed it is retired: to rotate, set the new secret as
EIM_UNSUBSCRIBE_SECRET and list the old one in EIM_UNSUBSCRIBE_PREVIOUS_SECRETS, which are accepted
for verification only; drop an old secret once no message signed with it should still be acted on.

Links sent before references existed carry the address itself:
    base64url(address) "." base64url(HMAC-SHA256(secret, "eim-unsubscribe-v1\0" + address))
They are still accepted, so that those messages can unsubscribe too, and never made again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Sequence

from reports.delivery.smtp import MailError
from reports.delivery.subscribers import SubscriberError, normalise_address

TOKEN_CONTEXT = b"eim-unsubscribe-v2\x00"
LEGACY_CONTEXT = b"eim-unsubscribe-v1\x00"
MIN_SECRET_LENGTH = 16
REF_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


class InvalidToken(ValueError):
    """An unsubscribe token that was not made with one of our secrets."""


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


def _signature(secret: str, context: bytes, subject: str) -> bytes:
    return hmac.new(secret_bytes(secret), context + subject.encode(), hashlib.sha256).digest()


def make_token(ref: str, secret: str) -> str:
    """The unsubscribe token of the subscriber whose reference is `ref`."""
    if not REF_RE.fullmatch(ref):
        raise ValueError("not a subscriber reference")
    return f"{ref}.{_b64(_signature(secret, TOKEN_CONTEXT, ref))}"


def _split(token: str) -> tuple[str, bytes]:
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 1024:
        raise InvalidToken("the token is malformed")
    subject, signature = token.split(".")
    return subject, _unb64(signature)


def _signed_by_one_of(signature: bytes, secrets: Sequence[str], context: bytes, subject: str) -> bool:
    return any(hmac.compare_digest(_signature(s, context, subject), signature) for s in secrets)


def verify_token(token: str, secrets: Sequence[str]) -> str:
    """The subscriber reference a token carries, when one of `secrets` (current first) signed it."""
    ref, signature = _split(token)
    if not REF_RE.fullmatch(ref) or not _signed_by_one_of(signature, secrets, TOKEN_CONTEXT, ref):
        raise InvalidToken("the token's signature does not match")
    return ref


def verify_legacy_token(token: str, secrets: Sequence[str]) -> str:
    """The address a link sent before references existed carries, when one of `secrets` signed it."""
    encoded, signature = _split(token)
    try:
        address = _unb64(encoded).decode("utf-8")
        normalised = normalise_address(address)
    except (UnicodeDecodeError, SubscriberError):
        raise InvalidToken("the token does not carry an address") from None
    if normalised != address or not _signed_by_one_of(signature, secrets, LEGACY_CONTEXT, address):
        raise InvalidToken("the token's signature does not match")
    return address


def unsubscribe_url(site_url: str, ref: str, secret: str) -> str:
    return f"{site_url.rstrip('/')}/unsubscribe?token={make_token(ref, secret)}"
