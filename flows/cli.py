"""The `eim` command line.

Commands import Prefect and the rendering stack only when they need them, so that `eim query` and
the other read-only commands start fast.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from enum import StrEnum
from typing import Annotated

import typer

app = typer.Typer(
    help="West Midlands Economic Impact Monitor: fetch ONS and government data, compute "
    "indicators, publish the bulletin.",
    no_args_is_help=True,
    add_completion=False,
)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def _prepare_prefect_environment() -> None:
    """Ephemeral Prefect for one-off runs: no server needed, no telemetry, quiet consoles."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    if home := os.environ.get("PREFECT_HOME"):
        # Prefect creates its home but not the folders above it.
        os.makedirs(home, exist_ok=True)


def _run_flow(datasets: list[str] | None) -> int:
    """Run the flow in-process; print one summary; 0 when every dataset loaded or was unchanged."""
    _prepare_prefect_environment()
    from flows.monitor import RunSummary, monitor_run

    state = monitor_run(datasets=datasets, return_state=True)
    summary = state.result(raise_on_failure=False)
    if not isinstance(summary, RunSummary):
        typer.echo(f"Error: the run failed: {summary}", err=True)
        return 1
    if state.is_completed():
        typer.echo(f"Run complete: {summary.describe()}.")
    if summary.bulletin:
        typer.echo(f"Bulletin: {summary.bulletin}")
    if not summary.failed:
        return 0
    if summary.unreachable_hosts and all("could not reach" in r for r in summary.failed.values()):
        typer.echo(
            f"Error: could not reach {', '.join(sorted(summary.unreachable_hosts))}; "
            f"nothing was fetched ({', '.join(summary.failed)}) and the warehouse and the last "
            "bulletin are unchanged. Is this machine offline? `eim demo` runs the whole monitor "
            "against illustrative local samples.",
            err=True,
        )
        return 1
    for dataset, reason in summary.failed.items():
        typer.echo(f"Error: {dataset} failed: {reason}", err=True)
    return 1


@app.command()
def run(
    dataset: Annotated[
        list[str] | None, typer.Option("--dataset", "-d", help="Only this dataset (repeatable).")
    ] = None,
) -> None:
    """Run the monitor once: fetch, load, model, publish the snapshot, render the bulletin."""
    from sources.catalog import CatalogError, default_catalog
    from warehouse.db import WarehouseError
    from warehouse.geography import AreaFileError

    try:
        for dataset_id in dataset or []:
            default_catalog().get(dataset_id)
        code = _run_flow(dataset)
    except (WarehouseError, CatalogError, AreaFileError) as error:
        raise _fail(str(error)) from None
    raise typer.Exit(code)


@app.command()
def demo() -> None:
    """Run the monitor against illustrative samples served on loopback (no network needed)."""
    from flows.settings import load_settings
    from sources.replay import ReplayServer
    from warehouse.geography import AreaFileError, load_area_file

    settings = load_settings()
    try:
        areas = load_area_file(settings.area)
    except AreaFileError as error:
        raise _fail(str(error)) from None
    names = {area.code: area.name for area in areas.areas}
    members = {area.code: area.members for area in areas.areas if area.members}
    with ReplayServer(names=names, members=members) as server:
        for publisher, url in server.base_urls.items():
            os.environ[f"EIM_{publisher.upper()}_URL"] = url
        os.environ["EIM_DEMO"] = "true"
        typer.echo(f"Serving illustrative publisher samples at {server.url}")
        run(dataset=None)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="One SELECT (or WITH, DESCRIBE, SHOW, EXPLAIN).")],
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="How to print the result.")
    ] = OutputFormat.table,
) -> None:
    """Run read-only SQL against the analysts' snapshot of the warehouse and print the result."""
    from flows.settings import load_settings
    from warehouse.db import WarehouseError
    from warehouse.query import run_query

    try:
        result = run_query(load_settings().snapshot_path, sql)
    except WarehouseError as error:
        raise _fail(str(error)) from None
    if output is OutputFormat.json:
        records = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        typer.echo(json.dumps(records, default=str, indent=2))
    elif output is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*["" if v is None else str(v) for v in row])
        Console().print(table)


if __name__ == "__main__":
    app()
