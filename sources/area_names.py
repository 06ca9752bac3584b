"""Area names to GSS codes, for publishers' files that name areas without codes (the Levelling Up Fund
rounds 1 and 2 lists).

A names table is a CSV under `sources/names/` with the columns `name,code,note` (lines starting with
`#` are comments saying where the rows came from). Names are compared after `normalise`, which drops
what describes a council's type rather than its place ("Oldham Metropolitan Borough Council" and
"Oldham" are one name); after that only an exact match counts, so "Wyre" never matches "Wyre Forest".
Two rows that normalise alike must give one code, or the table is refused.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

NAMES_DIR = Path(__file__).with_name("names")
COLUMNS = ["name", "code", "note"]
GSS_CODE = re.compile(r"[EWSNK]\d{8}")
# Longest first: "Metropolitan Borough Council" must go before "Borough Council" and "Council".
TYPE_SUFFIXES = (
    "metropolitan borough council",
    "metropolitan district council",
    "county borough council",
    "mayoral combined authority",
    "combined county authority",
    "combined authority",
    "borough council",
    "district council",
    "county council",
    "city council",
    "council",
    ", city of",
    ", county of",
)
TYPE_PREFIXES = (
    "council of the ",
    "metropolitan borough of ",
    "royal borough of ",
    "london borough of ",
    "borough of ",
    "city of ",
    "the ",
)


class NamesTableError(ValueError):
    """A names table that cannot be read or that gives one name two codes."""


def normalise(name: str) -> str:
    """The place a council's name names: case-folded, footnote stars and punctuation variants
    evened out, its type words removed."""
    text = name.replace("*", " ").replace("’", "").replace("'", "").replace("&", " and ").replace("-", " ")
    text = re.sub(r"\bst\.", "st", text.casefold())
    text = " ".join(text.split())
    # Repeated: "London Borough of City of London" names the City of London, as "City of London" does.
    while prefix := next((p for p in TYPE_PREFIXES if text.startswith(p) and len(text) > len(p)), None):
        text = text[len(prefix) :]
    while suffix := next((s for s in TYPE_SUFFIXES if _ends_with_words(text, s)), None):
        text = text[: -len(suffix)].rstrip(" ,")
    return text


def _ends_with_words(text: str, suffix: str) -> bool:
    """Whole words only: "Peterborough Council" does not end with "borough council"."""
    if not text.endswith(suffix) or len(text) <= len(suffix):
        return False
    return suffix.startswith(",") or text[-len(suffix) - 1] == " "


@dataclass(frozen=True)
class NamesTable:
    path: Path
    codes: dict[str, str]  # normalised name -> GSS code

    def code_for(self, name: str) -> str | None:
        return self.codes.get(normalise(name))


@cache
def load_names_table(table: str) -> NamesTable:
    path = NAMES_DIR / f"{table}.csv"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise NamesTableError(f"names table {table!r} cannot be read: {error}") from None
    rows = csv.reader(line for line in text.splitlines() if line.strip() and not line.startswith("#"))
    header = next(rows, None)
    if header != COLUMNS:
        raise NamesTableError(f"names table {path}: the header must be {','.join(COLUMNS)}, not {header}")
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    for number, row in enumerate(rows, start=2):
        if len(row) != len(COLUMNS) or not GSS_CODE.fullmatch(row[1]):
            raise NamesTableError(f"names table {path}: row {number} {row} is not name, GSS code, note")
        key = normalise(row[0])
        if codes.setdefault(key, row[1]) != row[1]:
            raise NamesTableError(
                f"names table {path}: {row[0]!r} ({row[1]}) and {names[key]!r} ({codes[key]}) "
                "are one name once normalised"
            )
        names.setdefault(key, row[0])
    return NamesTable(path, codes)
