"""Strict reading of a publisher's CSV rows, shared by the CSV parsers."""

from __future__ import annotations

from collections.abc import Iterator

from sources.errors import PublisherFormatError


def strict_rows(reader: Iterator[list[str]], header: list[str], publisher: str, dataset: str) -> list[dict]:
    """Every row after the header as a dict; a row with a field too many or too few (a body cut or
    garbled) fails naming its line, blank lines are skipped, and a table with no rows fails."""
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
        rows.append(dict(zip(header, values, strict=True)))
    if not rows:
        raise PublisherFormatError(publisher, dataset, "the CSV has a header but no rows")
    return rows
