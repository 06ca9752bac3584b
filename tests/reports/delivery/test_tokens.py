"""Unsubscribe tokens: a subscriber's opaque reference signed with our secret; refused when altered,
forged or moved to another reference; old address-carrying links and retired secrets still verify."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from reports.delivery.smtp import MailError
from reports.delivery.subscribers import new_ref, normalise_address
from reports.delivery.tokens import InvalidToken, make_token, verify_legacy_token, verify_token

SECRET = "test-unsubscribe-secret-0123456789"
RETIRED = "retired-unsubscribe-secret-98765"


def make_legacy_token(email: str, secret: str) -> str:
    """A link as the monitor made them before subscriber references: the address and its HMAC
    (written out here, apart from the package's code, so the test checks the old format itself)."""
    address = normalise_address(email).encode()
    digest = hmac.new(secret.encode(), b"eim-unsubscribe-v1\x00" + address, hashlib.sha256).digest()
    return f"{_b64(address)}.{_b64(digest)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def test_a_token_carries_its_reference_and_cannot_be_forged_or_moved() -> None:
    ref, other_ref = new_ref(), new_ref()
    token = make_token(ref, SECRET)
    assert verify_token(token, [SECRET]) == ref
    subject, signature = token.split(".")
    _, other_signature = make_token(other_ref, SECRET).split(".")
    altered = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    for bad in (
        f"{other_ref}.{signature}",  # this signature on another reference
        f"{subject}.{other_signature}",
        f"{subject}.{altered}",
        make_token(ref, "another-secret-of-enough-length"),
        make_legacy_token("jo@example.org", SECRET),  # an old link is not a reference token
        "",
        "no-dot",
        "a.b.c",
        f"{subject}.",
        "<script>.x",
    ):
        with pytest.raises(InvalidToken):
            verify_token(bad, [SECRET])
    with pytest.raises(MailError, match="EIM_UNSUBSCRIBE_SECRET"):
        make_token(ref, "short")


def test_a_retired_secret_still_verifies_until_it_is_dropped() -> None:
    ref = new_ref()
    token = make_token(ref, RETIRED)
    assert verify_token(token, [SECRET, RETIRED]) == ref
    with pytest.raises(InvalidToken):
        verify_token(token, [SECRET])


def test_links_sent_before_references_still_name_their_address() -> None:
    token = make_legacy_token("Jo@Example.ORG", SECRET)
    assert verify_legacy_token(token, [SECRET]) == "Jo@example.org"
    with pytest.raises(InvalidToken):
        verify_legacy_token(token, [RETIRED])
    with pytest.raises(InvalidToken):
        verify_legacy_token(make_token(new_ref(), SECRET), [SECRET])
