"""The subscriber store: who receives each edition by email, and what each of them was sent.

Addresses are personal data, so they live apart from everything the monitor publishes: one SQLite
file, `<data_dir>/subscribers/subscribers.sqlite3` (folder 0700, file 0600), never the warehouse, the
analysts' snapshot, the Parquet exports, the site or the feed. Nothing in this module logs, and no
message it returns or raises names an address (a cron job's captured output is a log too); only
`list_subscribers` and `deliveries`, which exist to show them to the operator, return addresses.

Two tables:
  subscribers  id, email (unique, compared without regard to case), areas (comma-separated GSS codes,
               the areas the subscriber wants first), subscribed_at, unsubscribed_at (set by an
               unsubscribe: the row stays, so a later CSV import does not subscribe them again), ref
               (a random reference, unique, that the unsubscribe links carry instead of the address;
               given to rows made before it existed when the store is first opened)
  deliveries   one row per (edition, subscriber): status sent / failed / pending, attempts,
               message_id, last_error (scrubbed of addresses), updated_at

`remove` erases a subscriber and their delivery rows (a request to be forgotten); `unsubscribe` only
stops the mail.

Address validation is a documented regular expression rather than a dependency: `ADDRESS_RE` accepts
the dot-atom form of RFC 5322 (`local@domain`: letters, digits and ``!#$%&'*+/=?^_`{|}~-`` in dot-
separated atoms) at a domain of at least two DNS labels (letters, digits, inner hyphens, a top-level
label that is not all digits). It rejects quoted local parts, IP-literal domains, comments and any
whitespace or control character (so no header injection). RFC 5321 limits apply: 64 characters before
the @, 254 in all. The domain's case is folded; the local part is kept as given.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import os
import re
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
TOP_LABEL = r"(?!\d+$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ADDRESS_RE = re.compile(rf"(?P<local>{ATOM}(?:\.{ATOM})*)@(?P<domain>(?:{LABEL}\.)+{TOP_LABEL})")
# Anything that looks like an address, for scrubbing error texts (broader than ADDRESS_RE on purpose).
ADDRESS_LIKE = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")
GSS_RE = re.compile(r"[EWSNK]\d{8}")
STATUSES = ("sent", "failed", "pending")

# The store's SQLite statements, one per file, as the warehouse keeps its own in warehouse/queries.
QUERIES = resources.files("reports.delivery") / "queries"


@functools.cache
def query(name: str) -> str:
    """The text of `queries/<name>.sql` beside this module (e.g. "schema"), read once per process."""
    return (QUERIES / f"{name}.sql").read_text(encoding="utf-8")


SCHEMA = query("schema")
SUBSCRIBER_COLUMNS = query("subscriber_columns")
ADD_REF_COLUMN = query("add_ref_column")
CREATE_REF_INDEX = query("create_ref_index")
SUBSCRIBERS_WITHOUT_REF = query("subscribers_without_ref")
SET_REF = query("set_ref")
SUBSCRIPTION_BY_EMAIL = query("subscription_by_email")
INSERT_SUBSCRIBER = query("insert_subscriber")
RESUBSCRIBE = query("resubscribe")
DELETE_SUBSCRIBER = query("delete_subscriber")
UNSUBSCRIBE_BY_EMAIL = query("unsubscribe_by_email")
EMAIL_BY_REF = query("email_by_ref")
UNSUBSCRIBE_BY_REF = query("unsubscribe_by_ref")
ACTIVE_SUBSCRIBERS = query("active_subscribers")
ALL_SUBSCRIBERS = query("all_subscribers")
SUBSCRIBER_BY_EMAIL = query("subscriber_by_email")
RECORD_DELIVERY = query("record_delivery")
ALL_DELIVERIES = query("all_deliveries")
EDITION_DELIVERIES = query("edition_deliveries")


class SubscriberError(ValueError):
    """An address, an area code or a file the store cannot accept; the message names no address."""


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    areas: tuple[str, ...] = ()
    subscribed_at: str = ""
    unsubscribed_at: str | None = None
    ref: str = ""  # what the unsubscribe links carry (see `new_ref`)

    @property
    def active(self) -> bool:
        return self.unsubscribed_at is None


@dataclass(frozen=True)
class AddResult:
    status: str  # "added", "duplicate" or "resubscribed"
    message: str


@dataclass
class ImportReport:
    added: int = 0
    duplicates: list[int] = field(default_factory=list)  # line numbers
    unsubscribed: list[int] = field(default_factory=list)  # left alone: they asked to stop
    invalid: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)

    def describe(self) -> list[str]:
        lines = [f"{self.added} added"]
        if self.duplicates:
            lines.append(f"{len(self.duplicates)} already subscribed (lines {_numbers(self.duplicates)})")
        if self.unsubscribed:
            lines.append(
                f"{len(self.unsubscribed)} unsubscribed earlier and not added again "
                f"(lines {_numbers(self.unsubscribed)}; `add` them one by one if they asked to return)"
            )
        lines.extend(f"line {n}: {reason}" for n, reason in self.invalid)
        return lines


@dataclass(frozen=True)
class Delivery:
    edition: str
    subscriber_id: int
    email: str | None
    status: str
    attempts: int
    message_id: str | None
    last_error: str | None
    updated_at: str


def _numbers(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def normalise_address(email: str) -> str:
    """The address as stored and signed: surrounding space removed, the domain in lower case.

    Raises SubscriberError (whose message does not repeat the address) when it is not valid.
    """
    if not isinstance(email, str):
        raise SubscriberError("not a valid address: not text")
    candidate = email.strip()
    if not candidate:
        raise SubscriberError("not a valid address: empty")
    if "@" not in candidate:
        raise SubscriberError("not a valid address: no @")
    match = ADDRESS_RE.fullmatch(candidate)
    if match is None:
        raise SubscriberError("not a valid address: not of the form name@domain.example")
    local, domain = match["local"], match["domain"].lower()
    if len(local) > 64:
        raise SubscriberError("not a valid address: more than 64 characters before the @")
    if len(local) + 1 + len(domain) > 254:
        raise SubscriberError("not a valid address: longer than 254 characters")
    return f"{local}@{domain}"


def parse_areas(areas: str | Iterable[str] | None) -> tuple[str, ...]:
    """GSS codes (e.g. E08000025) from a comma-separated text or a list, upper-cased, in order, once each."""
    if areas is None:
        return ()
    items = areas.split(",") if isinstance(areas, str) else list(areas)
    codes = []
    for item in items:
        code = str(item).strip().upper()
        if not code:
            continue
        if not GSS_RE.fullmatch(code):
            raise SubscriberError(
                f"{str(item).strip()[:20]!r} is not a GSS area code (a letter E, W, S, N or K and 8 digits, "
                "e.g. E08000025)"
            )
        codes.append(code)
    return tuple(dict.fromkeys(codes))


def scrub(text: str, *addresses: str) -> str:
    """An error text fit for the delivery log and logs: the given addresses and anything like one removed."""
    for address in addresses:
        if address:
            text = re.sub(re.escape(address), "<recipient>", text, flags=re.IGNORECASE)
    return ADDRESS_LIKE.sub("<address>", text)


def new_ref() -> str:
    """An opaque subscriber reference: 128 random bits, base64url (22 characters)."""
    return secrets.token_urlsafe(16)


def _give_refs(con: sqlite3.Connection) -> None:
    """Stores made before references existed: add the column, and a reference to every row."""
    columns = {row["name"] for row in con.execute(SUBSCRIBER_COLUMNS)}
    if "ref" not in columns:
        con.execute(ADD_REF_COLUMN)
        con.execute(CREATE_REF_INDEX)
    for (subscriber_id,) in con.execute(SUBSCRIBERS_WITHOUT_REF).fetchall():
        con.execute(SET_REF, (new_ref(), subscriber_id))


def store_path(data_dir: Path) -> Path:
    return Path(data_dir) / "subscribers" / "subscribers.sqlite3"


class SubscriberStore:
    """The subscriber SQLite file of one data directory. Each method opens and closes its connection."""

    def __init__(self, data_dir: Path) -> None:
        self.path = store_path(data_dir)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        new = not self.path.exists()
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            if new:
                os.chmod(self.path, 0o600)
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("PRAGMA busy_timeout = 30000")
            con.executescript(SCHEMA)
            _give_refs(con)
            yield con
        finally:
            con.close()

    # --- subscribers -------------------------------------------------------------------------------

    def add(self, email: str, areas: str | Iterable[str] | None = None) -> AddResult:
        """Subscribe an address (validated, domain lower-cased) with the areas it wants first.

        An address already subscribed is left as it is ("duplicate"); one that unsubscribed earlier is
        subscribed again ("resubscribed"): only an operator's explicit `add` does that, never an import.
        """
        address = normalise_address(email)
        codes = parse_areas(areas)
        with self.connect() as con:
            row = con.execute(SUBSCRIPTION_BY_EMAIL, (address,)).fetchone()
            if row is None:
                con.execute(INSERT_SUBSCRIBER, (address, ",".join(codes), _now(), new_ref()))
                shown = f" (areas first: {', '.join(codes)})" if codes else ""
                return AddResult("added", f"Subscribed{shown}.")
            if row["unsubscribed_at"] is not None:
                con.execute(RESUBSCRIBE, (",".join(codes), _now(), row["id"]))
                return AddResult("resubscribed", "Subscribed again (this address had unsubscribed).")
            return AddResult("duplicate", "Already subscribed: nothing changed.")

    def remove(self, email: str) -> bool:
        """Erase a subscriber and their delivery history; False when the address is not in the store."""
        address = normalise_address(email)
        with self.connect() as con:
            return con.execute(DELETE_SUBSCRIBER, (address,)).rowcount > 0

    def unsubscribe(self, email: str) -> bool:
        """Stop sending to an address (kept, marked unsubscribed); False when it was not subscribed."""
        address = normalise_address(email)
        with self.connect() as con:
            changed = con.execute(UNSUBSCRIBE_BY_EMAIL, (_now(), address)).rowcount
            return changed > 0

    def unsubscribe_ref(self, ref: str) -> str | None:
        """Stop sending to the subscriber of this reference; their address (to confirm, masked), or
        None when no subscriber has it (erased by `remove`)."""
        with self.connect() as con:
            row = con.execute(EMAIL_BY_REF, (ref,)).fetchone()
            if row is None:
                return None
            con.execute(UNSUBSCRIBE_BY_REF, (_now(), ref))
            return row["email"]

    def address_for_ref(self, ref: str) -> str | None:
        with self.connect() as con:
            row = con.execute(EMAIL_BY_REF, (ref,)).fetchone()
        return row["email"] if row else None

    def list_subscribers(self, *, include_unsubscribed: bool = False) -> list[Subscriber]:
        """Subscribers in the order they joined (active ones only unless asked)."""
        sql = ALL_SUBSCRIBERS if include_unsubscribed else ACTIVE_SUBSCRIBERS
        with self.connect() as con:
            rows = con.execute(sql).fetchall()
        return [_subscriber(row) for row in rows]

    def get(self, email: str) -> Subscriber | None:
        address = normalise_address(email)
        with self.connect() as con:
            row = con.execute(SUBSCRIBER_BY_EMAIL, (address,)).fetchone()
        return _subscriber(row) if row else None

    def import_csv(self, path: Path) -> ImportReport:
        """Add the addresses of a CSV file with a header `email` and, optionally, `areas`.

        Areas are GSS codes separated by commas or spaces inside the cell. Lines are numbered as in the
        file (the header is line 1). Nothing is added when the header is wrong.
        """
        report = ImportReport()
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            fields = [f.strip().lower() for f in reader.fieldnames or []]
            if "email" not in fields:
                raise SubscriberError(f"{Path(path).name} has no `email` column in its first line")
            reader.fieldnames = fields
            for row in reader:
                line = reader.line_num
                email = (row.get("email") or "").strip()
                if not email and not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                    continue  # a blank line
                try:
                    address = normalise_address(email)
                    codes = parse_areas(re.split(r"[,;\s]+", row.get("areas") or ""))
                except SubscriberError as error:
                    report.invalid.append((line, str(error)))
                    continue
                existing = self._find(address)
                if existing is not None:
                    (report.duplicates if existing.active else report.unsubscribed).append(line)
                    continue
                self.add(address, codes)
                report.added += 1
        return report

    def _find(self, address: str) -> Subscriber | None:
        with self.connect() as con:
            row = con.execute(SUBSCRIBER_BY_EMAIL, (address,)).fetchone()
        return _subscriber(row) if row else None

    # --- deliveries ---------------------------------------------------------------------------------

    def delivery_states(self, edition: str) -> dict[int, Delivery]:
        """This edition's delivery rows by subscriber id."""
        return {d.subscriber_id: d for d in self.deliveries(edition, with_addresses=False)}

    def record(
        self,
        edition: str,
        subscriber_id: int,
        status: str,
        *,
        message_id: str | None = None,
        error: str | None = None,
        attempts: int | None = None,
    ) -> None:
        """Create or update the (edition, subscriber) row. `error` must already be scrubbed."""
        if status not in STATUSES:
            raise ValueError(f"unknown delivery status {status!r}")
        with self.connect() as con:
            con.execute(
                RECORD_DELIVERY,
                (edition, subscriber_id, status, attempts, message_id, error, _now(), attempts),
            )

    def deliveries(self, edition: str | None = None, *, with_addresses: bool = True) -> list[Delivery]:
        """The delivery log (one edition or all), newest edition first: who got what."""
        sql, params = (EDITION_DELIVERIES, (edition,)) if edition else (ALL_DELIVERIES, ())
        with self.connect() as con:
            rows = con.execute(sql, params).fetchall()
        return [
            Delivery(
                edition=row["edition"],
                subscriber_id=row["subscriber_id"],
                email=row["email"] if with_addresses else None,
                status=row["status"],
                attempts=row["attempts"],
                message_id=row["message_id"],
                last_error=row["last_error"],
                updated_at=row["updated_at"],
            )
            for row in rows
        ]


def _subscriber(row: sqlite3.Row) -> Subscriber:
    areas = tuple(a for a in (row["areas"] or "").split(",") if a)
    return Subscriber(
        row["id"], row["email"], areas, row["subscribed_at"], row["unsubscribed_at"], row["ref"] or ""
    )


# --- plain functions over a data directory, for the command line ----------------------------------------


def add(data_dir: Path, email: str, areas: str | Iterable[str] | None = None) -> AddResult:
    """Subscribe `email` (areas: GSS codes, shown first in their mail). See SubscriberStore.add."""
    return SubscriberStore(data_dir).add(email, areas)


def remove(data_dir: Path, email: str) -> bool:
    """Erase `email` and its delivery history from the store; False if it was not there."""
    return SubscriberStore(data_dir).remove(email)


def list_subscribers(data_dir: Path, *, include_unsubscribed: bool = False) -> list[Subscriber]:
    """Every active subscriber (and unsubscribed ones when asked), oldest first."""
    return SubscriberStore(data_dir).list_subscribers(include_unsubscribed=include_unsubscribed)


def import_csv(data_dir: Path, path: Path) -> ImportReport:
    """Add every valid new address of a CSV (`email`, optional `areas`); what was added and why not."""
    return SubscriberStore(data_dir).import_csv(path)


def unsubscribe(data_dir: Path, email: str) -> bool:
    """Stop mail to `email` (the row stays, so an import does not subscribe it again)."""
    return SubscriberStore(data_dir).unsubscribe(email)


def deliveries(data_dir: Path, edition: str | None = None) -> list[Delivery]:
    """The delivery log with addresses, for the operator: one edition or all."""
    return SubscriberStore(data_dir).deliveries(edition)
