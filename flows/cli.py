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


def _run_flow(datasets: list[str] | None, *, render: bool = True) -> int:
    """Run a flow in-process; print one summary; 0 when every dataset loaded or was unchanged."""
    _prepare_prefect_environment()
    from flows.monitor import RunSummary, ingest_flow, monitor_run

    chosen = monitor_run if render else ingest_flow
    state = chosen(datasets=datasets, return_state=True)
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


DatasetOption = Annotated[
    list[str] | None, typer.Option("--dataset", "-d", help="Only this dataset (repeatable).")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _start(dataset: list[str] | None, quiet: bool, *, render: bool) -> None:
    from flows.settings import load_settings
    from sources.catalog import CatalogError, default_catalog
    from warehouse.db import WarehouseError
    from warehouse.geography import AreaFileError, load_area_file

    if quiet:
        os.environ["EIM_QUIET"] = "true"
    try:
        for dataset_id in dataset or []:
            default_catalog().get(dataset_id)
        settings = load_settings()
        load_area_file(settings.area, settings.area_file)
        code = _run_flow(dataset, render=render)
    except (WarehouseError, CatalogError, AreaFileError) as error:
        raise _fail(str(error)) from None
    raise typer.Exit(code)


@app.command()
def run(dataset: DatasetOption = None, quiet: QuietOption = False) -> None:
    """Run the monitor once: fetch, load, model, publish the snapshot, render the bulletin."""
    _start(dataset, quiet, render=True)


@app.command()
def ingest(dataset: DatasetOption = None, quiet: QuietOption = False) -> None:
    """Fetch and load the catalog's datasets (or those named) and publish the analysts' snapshot."""
    _start(dataset, quiet, render=False)


@app.command()
def demo(quiet: QuietOption = False) -> None:
    """Run the monitor against illustrative samples served on loopback (no network needed)."""
    from flows.settings import load_settings
    from sources.replay import ReplayServer
    from warehouse.geography import AreaFileError, load_area_file

    settings = load_settings()
    try:
        areas = load_area_file(settings.area, settings.area_file)
    except AreaFileError as error:
        raise _fail(str(error)) from None
    names = {area.code: area.name for area in areas.areas}
    members = {area.code: area.members for area in areas.areas if area.members}
    try:
        server = ReplayServer(names=names, members=members, port=settings.demo_port)
    except OSError:
        # A fixed port keeps URLs, and so conditional requests, the same from one demo to the next.
        typer.echo(f"Port {settings.demo_port} is busy: serving on another port, so every body is "
                   "downloaded again.", err=True)  # fmt: skip
        server = ReplayServer(names=names, members=members)
    with server:
        for publisher, url in server.base_urls.items():
            os.environ[f"EIM_{publisher.upper()}_URL"] = url
        os.environ["EIM_DEMO"] = "true"
        typer.echo(f"Serving illustrative publisher samples for {areas.name} at {server.url}")
        _start(None, quiet, render=True)


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


@app.command()
def bulletin(
    period: Annotated[
        str | None, typer.Option("--period", "-p", help="Edition month, YYYY-MM (default: the newest).")
    ] = None,
    rebuild: Annotated[
        str | None,
        typer.Option(
            "--rebuild",
            help="Rebuild this published edition from its pinned snapshot and check it is identical.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Publish even if the publication checks fail (the edition says so)."),
    ] = False,
) -> None:
    """Build and publish an edition of the bulletin from the analysts' snapshot (or rebuild one)."""
    import re

    from flows import steps
    from flows.settings import load_settings
    from reports.publish import PublishError, rebuild_edition
    from warehouse.db import WarehouseError

    settings = load_settings()
    for value in (period, rebuild):
        if value is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
            raise _fail(f"invalid edition {value!r}: give a month as YYYY-MM, e.g. 2026-10")
    try:
        if rebuild:
            differences = rebuild_edition(settings.data_dir, rebuild)
            if differences:
                for name, problem in differences.items():
                    typer.echo(f"Error: {rebuild}/{name} {problem}", err=True)
                raise typer.Exit(1)
            typer.echo(
                f"Edition {rebuild} rebuilt from its pinned snapshot: HTML, Markdown and JSON identical."
            )
            return
        result = steps.build_bulletin(settings, period=period, force=force)
    except (PublishError, WarehouseError) as error:
        raise _fail(str(error)) from None
    if result.published:
        note = " (despite failing checks)" if result.reasons else ""
        typer.echo(f"Published edition {result.period}{note}: {result.folder / 'index.html'}")
        return
    typer.echo(
        f"Edition {result.period} kept as a draft in {result.folder}; not published because:", err=True
    )
    for reason in result.reasons:
        typer.echo(f"  - {reason}", err=True)
    typer.echo("The last published edition stays current. `--force` publishes anyway.", err=True)
    raise typer.Exit(1)


def _print_records(records: list[dict], as_json: bool, columns: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(records, default=str, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns)
    for record in records:
        table.add_row(*["" if record.get(c) is None else str(record.get(c)) for c in columns])
    Console().print(table)


def _open_status_database():
    """The live warehouse read-only when no run holds it, else the last published snapshot."""
    import duckdb

    from flows.settings import load_settings
    from warehouse.db import WarehouseError, connect_read_only

    settings = load_settings()
    try:
        duckdb.connect(str(settings.warehouse_path), read_only=True).close()
        return connect_read_only(settings.warehouse_path)
    except duckdb.IOException:
        typer.echo("(a run holds the warehouse: showing the last published snapshot)", err=True)
        return connect_read_only(settings.snapshot_path)
    except duckdb.Error as error:
        raise WarehouseError(str(error)) from None


@app.command()
def sources(as_json: JsonOption = False) -> None:
    """List every catalog dataset: publisher, last fetched and changed, latest period, rows, status."""
    from sources.catalog import default_catalog
    from warehouse.db import WarehouseError
    from warehouse.status import dataset_status

    catalog = default_catalog()
    try:
        with _open_status_database() as con:
            statuses = dataset_status(con, list(catalog.datasets))
    except WarehouseError as error:
        raise _fail(str(error)) from None
    records = [
        {"dataset": s["dataset"], "publisher": catalog.get(s["dataset"]).publisher,
         "title": catalog.get(s["dataset"]).title, **{k: v for k, v in s.items() if k != "dataset"}}
        for s in statuses
    ]  # fmt: skip
    columns = ["dataset", "publisher", "last_fetched", "last_changed", "latest_period", "rows", "status"]
    _print_records(records, as_json, columns)


@app.command()
def indicators(
    area: Annotated[
        str | None, typer.Option("--area", "-a", help="GSS code (default: the focus area).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Every indicator's latest value and comparisons for an area (default: the focus area)."""
    from flows.settings import load_settings
    from warehouse.db import WarehouseError
    from warehouse.summaries import indicator_records

    try:
        records = indicator_records(load_settings().snapshot_path, area)
    except WarehouseError as error:
        raise _fail(str(error)) from None
    columns = ["indicator", "value_area", "period", "value", "unit", "change_period", "change_year",
               "gap_uk", "rank", "significant_year"]  # fmt: skip
    _print_records(records, as_json, columns)


if __name__ == "__main__":
    app()
