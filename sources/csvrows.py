"""Strict reading of a publisher's CSV rows, shared by the CSV parsers."""

from __future__ import annotations

from collections.abc import Iterator

from sources.errors import PublisherFormatError


def strict_values(
    reader: Iterator[list[str]], header: list[str], publisher: str, dataset: str
) -> list[list[str]]:
    """Every row after the header as its list of fields; a row with a field too many or too few (a
    body cut or garbled) fails naming its line, blank lines are skipped, and a table with no rows
    fails."""
    rows = []
    for line_number, values in enumerate(reader, start=2):
        if not values:
            continue
        if len(values) != len(header):
            raise PublisherFormatError(
                publisher,
                dataset,
                f"CSV line {line_number} has {len(values)} fields, the header has {len(header)}",
            )
        rows.append(values)
    if not rows:
        raise PublisherFormatError(publisher, dataset, "the CSV has a header but no rows")
    return rows


def strict_rows(reader: Iterator[list[str]], header: list[str], publisher: str, dataset: str) -> list[dict]:
    """`strict_values`, each row as a dict by the header's names."""
    rows = strict_values(reader, header, publisher, dataset)
    return [dict(zip(header, values, strict=True)) for values in rows]
