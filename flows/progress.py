"""A progress bar on the terminal for downloads: one line per dataset, bytes and pages.

Shown only on an interactive terminal and never under `--quiet` (EIM_QUIET), so logs, tests and
scheduled runs stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from sources.http import reporting_progress


@contextmanager
def download_progress(dataset: str, *, quiet: bool) -> Iterator[None]:
    if quiet or not sys.stderr.isatty():
        yield
        return
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(dataset, total=None)
        state = {"label": None, "done": 0, "pages": 0}

        def update(label: str, received: int, total: int | None) -> None:
            if label != state["label"] or received < state.get("last", 0):
                # A new request (the next page, the next document): bytes add up per dataset.
                state.update(label=label, base=state["done"], pages=state["pages"] + 1)
            state["last"] = received
            state["done"] = state["base"] + received
            expected = None if total is None else state["base"] + total
            progress.update(
                task,
                completed=state["done"],
                total=expected,
                description=f"{dataset} (request {state['pages']})",
            )

        with reporting_progress(update):
            yield
