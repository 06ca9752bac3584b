"""The subscriber store: validation, duplicates, imports, unsubscribes and the delivery log."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from reports.delivery import subscribers
from reports.delivery.subscribers import (
    SubscriberError,
    SubscriberStore,
    normalise_address,
    parse_areas,
    scrub,
)


@pytest.fixture
def store(tmp_path: Path) -> SubscriberStore:
    return SubscriberStore(tmp_path / "data")


def test_the_store_is_its_own_private_sqlite_file(tmp_path: Path, store: SubscriberStore) -> None:
    store.add("jo@example.org")
    path = tmp_path / "data" / "subscribers" / "subscribers.sqlite3"
    assert store.path == path
    assert path.read_bytes().startswith(b"SQLite format 3")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["subscribers"]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Jo.Bloggs@Example.ORG", "Jo.Bloggs@example.org"),
        ("  a+news@sub.example.co.uk ", "a+news@sub.example.co.uk"),
        ("o'neil@xn--bcher-kva.example", "o'neil@xn--bcher-kva.example"),
    ],
)
def test_addresses_are_validated_and_their_domain_lower_cased(given: str, stored: str) -> None:
    assert normalise_address(given) == stored


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "no-at-sign.example.org",
        "two@@example.org",
        "jo@localhost",
        "jo@example.123",
        "jo@-example.org",
        ".jo@example.org",
        "jo..b@example.org",
        '"quoted"@example.org',
        "jo@[192.0.2.1]",
        "jo@example.org\r\nBcc: victim@example.net",
        "jo bloggs@example.org",
        "x" * 65 + "@example.org",
        "jo@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".org",
    ],
)
def test_invalid_addresses_are_refused_without_repeating_them(bad: str, store: SubscriberStore) -> None:
    with pytest.raises(SubscriberError) as caught:
        store.add(bad)
    assert "not a valid address" in str(caught.value)
    if bad.strip():
        assert bad.strip() not in str(caught.value)


def test_areas_are_gss_codes(store: SubscriberStore) -> None:
    assert parse_areas("e08000025, E08000026,E08000025") == ("E08000025", "E08000026")
    assert parse_areas(None) == ()
    for bad in ("Birmingham", "E0800002", "X08000025", "E08000025;DROP"):
        with pytest.raises(SubscriberError, match="not a GSS area code"):
            store.add("jo@example.org", bad)
    assert store.list_subscribers() == []


def test_add_list_duplicates_remove(store: SubscriberStore) -> None:
    first = store.add("Jo@Example.org", "E08000025,E08000026")
    assert first.status == "added"
    again = store.add("jo@EXAMPLE.ORG")
    assert again.status == "duplicate"
    assert "Already subscribed" in again.message
    assert "jo@" not in (first.message + again.message).lower()
    store.add("sam@example.net")
    listed = store.list_subscribers()
    assert [(s.email, s.areas) for s in listed] == [
        ("Jo@example.org", ("E08000025", "E08000026")),
        ("sam@example.net", ()),
    ]
    assert store.remove("JO@example.org") is True
    assert store.remove("JO@example.org") is False
    assert [s.email for s in store.list_subscribers()] == ["sam@example.net"]


def test_unsubscribe_stops_mail_and_an_import_does_not_undo_it(
    tmp_path: Path, store: SubscriberStore
) -> None:
    store.add("jo@example.org")
    assert store.unsubscribe("Jo@Example.org") is True
    assert store.unsubscribe("jo@example.org") is False  # already
    assert store.list_subscribers() == []
    assert store.list_subscribers(include_unsubscribed=True)[0].unsubscribed_at
    sheet = tmp_path / "again.csv"
    sheet.write_text("email\njo@example.org\n")
    report = store.import_csv(sheet)
    assert report.added == 0
    assert report.unsubscribed == [2]
    assert store.list_subscribers() == []
    assert store.add("jo@example.org").status == "resubscribed"  # the operator's explicit choice
    assert [s.email for s in store.list_subscribers()] == ["jo@example.org"]


def test_import_reports_added_duplicates_and_invalid_lines_by_number(
    tmp_path: Path, store: SubscriberStore
) -> None:
    store.add("existing@example.org")
    sheet = tmp_path / "subscribers.csv"
    sheet.write_text(
        "Email,Areas\n"  # line 1: header, in any case
        "ana@example.org,E08000025\n"  # 2
        "EXISTING@example.org,\n"  # 3 duplicate
        "not-an-address,\n"  # 4 invalid
        "\n"  # 5 blank: ignored
        'bo@example.org,"E08000026, E08000027"\n'  # 6
        "cy@example.org,Birmingham\n"  # 7 invalid area
        "ana@example.org,\n",  # 8 duplicate within the file
        encoding="utf-8",
    )
    report = subscribers.import_csv(tmp_path / "data", sheet)
    assert report.added == 2
    assert report.duplicates == [3, 8]
    assert [n for n, _ in report.invalid] == [4, 7]
    assert "not a valid address" in report.invalid[0][1]
    assert "GSS" in report.invalid[1][1]
    described = "\n".join(report.describe())
    assert "2 added" in described and "lines 3, 8" in described and "line 4:" in described
    assert "example.org" not in described
    emails = {s.email: s.areas for s in subscribers.list_subscribers(tmp_path / "data")}
    assert emails["bo@example.org"] == ("E08000026", "E08000027")


def test_import_needs_an_email_column(tmp_path: Path, store: SubscriberStore) -> None:
    sheet = tmp_path / "wrong.csv"
    sheet.write_text("address\nana@example.org\n")
    with pytest.raises(SubscriberError, match="no `email` column"):
        store.import_csv(sheet)


def test_the_delivery_log_has_one_row_per_edition_and_subscriber(store: SubscriberStore) -> None:
    store.add("jo@example.org")
    (jo,) = store.list_subscribers()
    store.record("2026-10", jo.id, "pending", message_id="<1@x>", attempts=1)
    store.record("2026-10", jo.id, "failed", error="451 try later", attempts=2)
    store.record("2026-10", jo.id, "sent", attempts=3)
    (row,) = store.deliveries("2026-10")
    assert (row.status, row.attempts, row.message_id, row.last_error) == ("sent", 3, "<1@x>", None)
    assert row.email == "jo@example.org"
    assert store.delivery_states("2026-10")[jo.id].email is None
    with pytest.raises(ValueError):
        store.record("2026-10", jo.id, "bounced")
    store.remove("jo@example.org")
    assert store.deliveries() == []  # erasure takes the history with it


def test_scrub_removes_addresses_from_error_texts() -> None:
    text = "550 5.1.1 <Jo@Example.org>: Recipient address rejected; also seen: other@host.example"
    cleaned = scrub(text, "jo@example.org")
    assert "example.org" not in cleaned.lower().replace("<recipient>", "")
    assert "other@host.example" not in cleaned
    assert cleaned.startswith("550 5.1.1 <<recipient>>")


def test_a_store_made_before_references_gives_every_subscriber_one(tmp_path: Path) -> None:
    import sqlite3

    from reports.delivery.subscribers import SubscriberStore, store_path

    path = store_path(tmp_path)
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as con:
        con.executescript(
            "CREATE TABLE subscribers (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE "
            "COLLATE NOCASE, areas TEXT NOT NULL DEFAULT '', subscribed_at TEXT NOT NULL, "
            "unsubscribed_at TEXT);"
            "INSERT INTO subscribers (email, subscribed_at) VALUES ('jo@example.org', '2026-01-01'), "
            "('sam@example.org', '2026-01-02');"
        )
    con.close()
    store = SubscriberStore(tmp_path)
    refs = [s.ref for s in store.list_subscribers()]
    assert len(refs) == 2 and len(set(refs)) == 2 and all(len(r) == 22 for r in refs)
    assert [s.ref for s in store.list_subscribers()] == refs, "given once, then kept"
    assert store.unsubscribe_ref(refs[0]) == "jo@example.org"
    assert [s.email for s in store.list_subscribers()] == ["sam@example.org"]
