"""Unsubscribe tokens: bound to one address by our secret, refused when altered, forged or moved."""

from __future__ import annotations

import pytest

from reports.delivery.smtp import MailError
from reports.delivery.tokens import InvalidToken, make_token, verify_token

SECRET = "test-unsubscribe-secret-0123456789"


def test_a_token_carries_its_address_and_cannot_be_forged_or_moved() -> None:
    token = make_token("Jo@Example.ORG", SECRET)
    assert verify_token(token, SECRET) == "Jo@example.org"
    other = make_token("sam@example.org", SECRET)
    address, signature = token.split(".")
    other_address, other_signature = other.split(".")
    altered = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    for bad in (
        f"{other_address}.{signature}",  # jo's signature on sam's address
        f"{address}.{other_signature}",
        f"{address}.{altered}",
        make_token("jo@example.org", "another-secret-of-enough-length"),
        "",
        "no-dot",
        "a.b.c",
        f"{address}.",
        "<script>.x",
    ):
        with pytest.raises(InvalidToken):
            verify_token(bad, SECRET)
    with pytest.raises(MailError, match="EIM_UNSUBSCRIBE_SECRET"):
        make_token("jo@example.org", "short")
