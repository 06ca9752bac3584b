"""The `eim` command line.

Commands import Prefect and the rendering stack only when they need them, so that `eim query` and
the other read-only commands start fast (tests/test_startup.py holds them to it).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import duckdb
import typer

from flows.settings import Settings, SettingsError, load_settings
from reports.delivery import subscribers
from sources.catalog import CatalogError, default_catalog
from warehouse import db
from warehouse.db import WarehouseError, connect_read_only, damaged
from warehouse.freshness import status_exit_code, status_report
from warehouse.geography import AreaFileError, load_area_file
from warehouse.lock import writer_lock
from warehouse.quality import checks_exit_code, latest_checks
from warehouse.query import run_query
from warehouse.status import dataset_status
from warehouse.summaries import area_indicators

app = typer.Typer(
    help="West Midlands Economic Impact Monitor: fetch ONS and government data, compute "
    "indicators, publish the bulletin.",
    no_args_is_help=True,
    add_completion=False,
    # Plain tracebacks and help: Rich's exception and help machinery costs a third of a second at
    # start-up, which the quick read-only commands should not pay.
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


DEMO_DATA_DIR = Path("data") / "demo"


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _output_format(value: str) -> OutputFormat:
    try:
        return OutputFormat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a format: give table, csv or json") from None


def _fail(message: str, code: int = 1) -> typer.Exit:
    """Print each line of `message` as an error (one per problem) and return the exit to raise."""
    for line in message.splitlines() or [""]:
        typer.echo(f"Error: {line}", err=True)
    return typer.Exit(code)


def _settings() -> Settings:
    """The settings, or exit 2 with one line per setting that cannot be used (no traceback)."""
    try:
        return load_settings()
    except SettingsError as error:
        for problem in error.problems:
            typer.echo(f"Error: {problem}", err=True)
        raise typer.Exit(2) from None


def _prepare_prefect_environment() -> None:
    """Ephemeral Prefect for one-off runs: no server needed, no telemetry, quiet consoles."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # The local API migrates its database on first use: on a busy 2-core machine that can pass
    # Prefect's 20 s default.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    if home := os.environ.get("PREFECT_HOME"):
        # Prefect creates its home but not the folders above it.
        os.makedirs(home, exist_ok=True)


def _run_flow(datasets: list[str] | None, *, render: bool = True) -> int:
    """Run a flow in-process; print one summary; 0 when every dataset loaded or was unchanged."""
    _prepare_prefect_environment()
    from flows.monitor import ingest_flow, monitor_run, run_summary

    chosen = monitor_run if render else ingest_flow
    try:
        state = chosen(datasets=datasets, return_state=True)
    except RuntimeError as error:
        typer.echo(f"Error: Prefect could not start its local API ({error}); nothing was changed.", err=True)
        return 1
    summary = run_summary(state)
    if summary is None:
        typer.echo(f"Error: the run failed: {state.message}", err=True)
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
            f"nothing was fetched ({', '.join(summary.failed)}) and nothing was published: the "
            "analysts' snapshot and the last bulletin are unchanged. Is this machine offline? "
            "`eim demo` runs the whole monitor against illustrative local samples.",
            err=True,
        )
        return 1
    for dataset, reason in summary.failed.items():
        typer.echo(f"Error: {dataset} failed: {reason}", err=True)
    return 1


DatasetOption = Annotated[
    list[str] | None,
    typer.Option("--dataset", "-d", metavar="DATASET", help="Only this dataset (repeatable)."),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
FullRefreshOption = Annotated[
    bool,
    typer.Option(
        "--full-refresh",
        help="Ask for every dataset's whole window, also the older months of those otherwise asked "
        "for their recent months only (the claimant count), e.g. after a publisher revised its history.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _start(dataset: list[str] | None, quiet: bool, *, render: bool, full_refresh: bool = False) -> None:

    if quiet:
        os.environ["EIM_QUIET"] = "true"
    if full_refresh:
        os.environ["EIM_FULL_REFRESH"] = "true"
    try:
        for dataset_id in dataset or []:
            default_catalog().get(dataset_id)
        settings = _settings()
        load_area_file(settings.area, settings.area_file)
        # Held for the whole run, so a second `eim run` is refused at once, before Prefect starts.
        with writer_lock(settings.data_dir):
            if settings.warehouse_path.exists():
                # A damaged warehouse stops here in one line, not in the flow's logs.
                with db.connect(settings.warehouse_path) as con:
                    db.check_whole(con, settings.warehouse_path)
            code = _run_flow(dataset, render=render)
    except (WarehouseError, CatalogError, AreaFileError) as error:
        raise _fail(str(error)) from None
    raise typer.Exit(code)


@app.command(short_help="Fetch, load, model, publish the snapshot and bulletin.")
def run(
    dataset: DatasetOption = None, quiet: QuietOption = False, full_refresh: FullRefreshOption = False
) -> None:
    """Run the monitor once: fetch, load, model, publish the snapshot, render the bulletin."""
    _start(dataset, quiet, render=True, full_refresh=full_refresh)


@app.command(short_help="Fetch and load datasets; publish the snapshot.")
def ingest(
    dataset: DatasetOption = None, quiet: QuietOption = False, full_refresh: FullRefreshOption = False
) -> None:
    """Fetch and load the catalog's datasets (or those named) and publish the analysts' snapshot."""
    _start(dataset, quiet, render=False, full_refresh=full_refresh)


@app.command(short_help="Run the whole monitor on illustrative local samples.")
def demo(quiet: QuietOption = False) -> None:
    """Run the monitor against illustrative samples served on loopback (no network needed).

    Its data go to data/demo/ unless EIM_DATA_DIR (or `data_dir` in eim.toml) says otherwise, so the
    demo and runs against the real publishers never share a warehouse.
    """
    from sources.replay.server import ReplayServer

    settings = _settings()
    if "data_dir" not in settings.model_fields_set:
        os.environ["EIM_DATA_DIR"] = str(DEMO_DATA_DIR)
        settings = _settings()
        typer.echo(
            f"Demo data directory: {DEMO_DATA_DIR} (set EIM_DATA_DIR for another; "
            f"`EIM_DATA_DIR={DEMO_DATA_DIR} eim status` looks at it)"
        )
    try:
        areas = load_area_file(settings.area, settings.area_file)
    except AreaFileError as error:
        raise _fail(str(error)) from None
    try:
        server = ReplayServer.serving(areas, port=settings.demo_port)
    except OSError:
        # A fixed port keeps URLs, and so conditional requests, the same from one demo to the next.
        typer.echo(
            f"Port {settings.demo_port} is busy: serving on another port, so every body is downloaded again.",
            err=True,
        )
        server = ReplayServer.serving(areas)
    with server:
        for publisher, url in server.base_urls.items():
            os.environ[f"EIM_{publisher.upper()}_URL"] = url
        os.environ["EIM_DEMO"] = "true"
        typer.echo(f"Serving illustrative publisher samples for {areas.name} at {server.url}")
        _start(None, quiet, render=True)


@app.command(short_help="Read-only SQL against the analysts' snapshot.")
def query(
    sql: Annotated[str, typer.Argument(metavar="SQL", help="One SELECT (or WITH, DESCRIBE, SHOW, EXPLAIN).")],
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--format", "-f", metavar="table|csv|json", parser=_output_format, help="How to print the result."
        ),
    ] = OutputFormat.table,
) -> None:
    """Run read-only SQL against the analysts' snapshot of the warehouse and print the result."""

    try:
        result = run_query(_settings().snapshot_path, sql)
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
        _print_table(result.columns, [["" if v is None else str(v) for v in row] for row in result.rows])


@app.command(short_help="Build and publish an edition (or rebuild one).")
def bulletin(
    period: Annotated[
        str | None,
        typer.Option(
            "--period", "-p", metavar="YYYY-MM", help="Edition month, YYYY-MM (default: the newest)."
        ),
    ] = None,
    rebuild: Annotated[
        str | None,
        typer.Option(
            "--rebuild",
            metavar="YYYY-MM",
            help="Rebuild this published edition from its pinned snapshot and check it is identical.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Publish even if the publication checks fail (the edition says so)."),
    ] = False,
) -> None:
    """Build and publish an edition of the bulletin from the analysts' snapshot (or rebuild one)."""

    from flows import steps
    from reports.bulletin.publish import PublishError, rebuild_edition

    settings = _settings()
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


TABLE_WIDTH = 100  # the read-only commands' tables fit a 100-column terminal; --json has it all


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"  # to the minute: seconds and zones are in --json
    return str(value)


def _print_records(records: list[dict], as_json: bool, columns: list[str], *, fit: bool = False) -> None:
    """`records` as JSON, or as a table of `columns`; with `fit`, the last column is cut to keep the
    table within TABLE_WIDTH (and a line says so)."""
    if as_json:
        typer.echo(json.dumps(records, default=str, indent=2))
        return
    rows = [[_cell(record.get(c)) for c in columns] for record in records]
    if fit and rows:
        widths = [max([len(column), *(len(row[i]) for row in rows)]) for i, column in enumerate(columns[:-1])]
        room = max(TABLE_WIDTH - sum(widths) - 2 * len(widths), len(columns[-1]))
        if any(len(row[-1]) > room for row in rows):
            for row in rows:
                row[-1] = row[-1] if len(row[-1]) <= room else row[-1][: room - 1] + "…"
            _print_table(columns, rows)
            typer.echo(f"(long {columns[-1]} cells cut to fit; `--json` shows them whole)")
            return
    _print_table(columns, rows)


def _print_table(columns: list[str], rows: list[list[str]]) -> None:
    """Columns padded to their widest cell under a rule, as psql prints them. Plain text rather than
    Rich's tables: Rich costs a fifth of a second at start-up, a third of what the quick read-only
    commands may spend."""
    widths = [max([len(column), *(len(row[i]) for row in rows)]) for i, column in enumerate(columns)]
    lines = [columns, ["-" * width for width in widths], *rows]
    for line in lines:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


@contextmanager
def _open_status_database() -> Iterator[duckdb.DuckDBPyConnection]:
    """The live warehouse read-only when no run holds it, else the last published snapshot; a file
    DuckDB cannot read, on opening or on a query, is a one-line WarehouseError naming it."""
    settings = _settings()
    path = settings.warehouse_path
    if not path.exists():
        raise WarehouseError(f"no warehouse at {path}: run `eim run` (or `eim demo`) first")
    try:
        # Opened once (~15 ms each time), and used as it is: a connection closes itself on `with` exit.
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as error:
        if not db.is_locked(error):
            raise damaged(path, error) from None
        typer.echo("(a run holds the warehouse: showing the last published snapshot)", err=True)
        path = settings.snapshot_path
        with connect_read_only(path) as snapshot, _reading(path):
            yield snapshot
        return
    except duckdb.Error as error:
        raise damaged(path, error) from None
    with con, _reading(path):
        yield con


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    try:
        yield
    except duckdb.Error as error:
        raise damaged(path, error) from None


@app.command(short_help="Every dataset: last fetched and changed, rows, status.")
def sources(as_json: JsonOption = False) -> None:
    """List every catalog dataset: publisher, last fetched and changed, latest period, rows, status."""

    catalog = default_catalog()
    try:
        with _open_status_database() as con:
            statuses = dataset_status(con, list(catalog.datasets))
    except WarehouseError as error:
        raise _fail(str(error)) from None
    records = [
        {
            "dataset": s["dataset"],
            "publisher": catalog.get(s["dataset"]).publisher,
            "title": catalog.get(s["dataset"]).title,
            **{k: v for k, v in s.items() if k != "dataset"},
        }
        for s in statuses
    ]
    # last_fetched and the title are in --json: the table fits 100 columns.
    columns = ["dataset", "publisher", "last_changed", "latest_period", "rows", "status"]
    _print_records(records, as_json, columns, fit=True)


@app.command(short_help="Latest values and comparisons for an area.")
def indicators(
    area: Annotated[
        str | None, typer.Option("--area", "-a", metavar="CODE", help="GSS code (default: the focus area).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Every indicator's latest value and comparisons for an area (default: the focus area)."""

    try:
        found = area_indicators(_settings().snapshot_path, area)
    except WarehouseError as error:
        raise _fail(str(error)) from None
    records, names, wider = found.records, found.names, found.wider
    if as_json:  # full precision, every column
        _print_records(records, True, [])
        return
    if not records:
        typer.echo("No indicator values for this area yet.")
        return
    area_code = records[0]["area"]
    typer.echo(f"Indicators for {names.get(area_code, area_code)} ({area_code}), latest period of each")
    _print_table(
        ["indicator", "period", "value", "on prev", "on year", "vs UK", "rank", "figure for"],
        [
            [
                record["indicator"],
                record["period"],
                _rounded(record["value"], record["decimals"]),
                _rounded(record["change_period"], record["decimals"], signed=True),
                _rounded(record["change_year"], record["decimals"], signed=True),
                _rounded(record["gap_uk"], record["decimals"], signed=True),
                # A rank among fewer than two areas (a figure only one combined authority has) says nothing.
                f"{record['rank']}/{record['rank_of']}"
                if record["rank"] is not None and record["rank_of"] > 1
                else "",
                "" if record["value_area"] == area_code else wider.get(record["value_area"], ""),
            ]
            for record in records
        ],
    )
    typer.echo(
        "Rounded to each indicator's decimals. on prev / on year: the change on the previous period\n"
        "and on a year earlier; vs UK: the gap to the UK; rank: among the regions or the combined\n"
        "authorities, 1 = highest; figure for: a wider area's figure where this one has none.\n"
        "`--json` gives full precision and the units."
    )


def _rounded(value: float | None, decimals: int, *, signed: bool = False) -> str:
    if value is None:
        return ""
    if round(value, decimals) == 0:
        return f"{0:.{decimals}f}"  # no "+0.0" or "-0.0"
    return f"{value:{'+' if signed else ''},.{decimals}f}"


@app.command(short_help="Freshness of datasets and bulletin (exit 1: stale).")
def status(as_json: JsonOption = False) -> None:
    """Freshness of every dataset and of the bulletin, with each dataset's last run and error.

    Exit codes, for cron and monitoring: 0 every dataset fresh and its last run good; 1 a dataset
    is stale or never loaded, or its last run failed; 2 the settings or the warehouse cannot be read.
    """

    catalog = {d: (spec.publisher, spec.cadence) for d, spec in default_catalog().datasets.items()}
    settings = _settings()
    try:
        with _open_status_database() as con:
            report = status_report(con, catalog, dt.date.today(), settings.data_dir)
    except WarehouseError as error:
        raise _fail(str(error), 2) from None
    if as_json:
        typer.echo(json.dumps(report, default=str, indent=2))
        raise typer.Exit(status_exit_code(report))
    # cadence, last_changed and failures_in_a_row are in --json, and the errors listed below it,
    # so that the table fits 100 columns.
    columns = ["dataset", "state", "last_success", "latest_period", "next_expected"]
    _print_records(report["datasets"], False, columns)
    failing = [d for d in report["datasets"] if d["last_outcome"] == "failed" and d["last_error"]]
    if failing:
        typer.echo("Last errors (`--json` has them whole):")
    for d in failing:
        # The line names the dataset already: its error need not repeat it.
        error = d["last_error"].removeprefix(f"{d['publisher']} / {d['dataset']}: ")
        line = f"  {d['dataset']}: {error}"
        typer.echo(line if len(line) <= TABLE_WIDTH else line[: TABLE_WIDTH - 1] + "…")
    bulletin = report["bulletin"]
    if bulletin["last_edition"]:
        forced = " (forced)" if bulletin["last_forced"] else ""
        typer.echo(
            f"Last edition: {bulletin['last_edition']} (no. {bulletin['last_edition_number']}), "
            f"published {bulletin['last_published_on']}{forced}"
        )
    else:
        typer.echo("Last edition: none published yet")
    if bulletin["draft_period"]:
        typer.echo(f"Draft kept back: {bulletin['draft_period']}: " + "; ".join(bulletin["draft_reasons"]))
    send = bulletin["last_send"]
    typer.echo(
        f"Last send: {send['sent_at']} ({send['period']})" if send and send["sent_at"] else "Last send: none"
    )
    typer.echo("next_expected is an estimate: last change + one cadence.")
    raise typer.Exit(status_exit_code(report))


@app.command(short_help="Latest data-quality checks (exit 1: one failed).")
def checks(as_json: JsonOption = False) -> None:
    """The latest data-quality checks of every dataset, and a count of those that failed.

    Exit codes: 0 no error or blocker check failed (warnings do not fail); 1 one did; 2 the settings
    or the warehouse cannot be read.
    """

    try:
        with _open_status_database() as con:
            results = latest_checks(con)
    except WarehouseError as error:
        raise _fail(str(error), 2) from None
    if not results and not as_json:
        typer.echo("No quality checks recorded yet: they run after each load (`eim ingest`).", err=True)
    columns = ["dataset", "check", "severity", "passed", "rows_affected", "detail"]
    _print_records(results, as_json, columns, fit=True)
    if results and not as_json:
        failed = [c for c in results if not c["passed"]]
        by_severity = ", ".join(
            f"{sum(c['severity'] == s for c in failed)} {s}"
            for s in ("blocker", "error", "warning", "info")
            if any(c["severity"] == s for c in failed)
        )
        typer.echo(f"{len(results)} checks, {len(failed)} failed" + (f" ({by_severity})" if failed else ""))
    raise typer.Exit(checks_exit_code(results))


subscribers_app = typer.Typer(help="The people who get each edition by email.", no_args_is_help=True)
site_app = typer.Typer(help="Serve the published site and the unsubscribe page.", no_args_is_help=True)
mail_app = typer.Typer(help="Look at an edition's email before it is sent.", no_args_is_help=True)
app.add_typer(subscribers_app, name="subscribers")
app.add_typer(mail_app, name="mail")
app.add_typer(site_app, name="site")


def _check_edition(edition: str | None) -> None:

    if edition is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", edition):
        raise _fail(f"invalid edition {edition!r}: give a month as YYYY-MM, e.g. 2026-10")


def _resolve_areas(settings: Settings, areas: str) -> tuple[str, ...]:
    """`--areas` as GSS codes: each comma-separated item a code or a name of the area set."""
    area_set = load_area_file(settings.area, settings.area_file)
    return tuple(area_set.resolve(item) for item in areas.split(",") if item.strip())


@subscribers_app.command("add")
def subscribers_add(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The subscriber's address.")],
    areas: Annotated[
        str | None,
        typer.Option(
            "--areas",
            metavar="AREA[,AREA...]",
            help="Areas shown first in their email: GSS codes or names, e.g. E08000025,Coventry.",
        ),
    ] = None,
) -> None:
    """Subscribe an address to every new edition."""

    settings = _settings()
    try:
        if areas is not None:
            areas = ",".join(_resolve_areas(settings, areas))
        result = subscribers.add(settings.data_dir, email, areas)
    except (subscribers.SubscriberError, AreaFileError) as error:
        raise _fail(str(error)) from None
    typer.echo(result.message)


@subscribers_app.command("remove", short_help="Erase an address and its delivery history.")
def subscribers_remove(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The address to erase.")],
) -> None:
    """Erase an address and its delivery history (to stop mail but keep the record: they unsubscribe)."""

    try:
        removed = subscribers.remove(_settings().data_dir, email)
    except subscribers.SubscriberError as error:
        raise _fail(str(error)) from None
    if not removed:
        raise _fail("no such subscriber")
    typer.echo("Removed, with its delivery history.")


@subscribers_app.command("list")
def subscribers_list(
    everyone: Annotated[bool, typer.Option("--all", help="Include those who unsubscribed.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List subscribers: address, areas, when they joined (and left)."""

    records = [
        {
            "id": s.id,
            "email": s.email,
            "areas": ",".join(s.areas),
            "subscribed_at": s.subscribed_at,
            "unsubscribed_at": s.unsubscribed_at,
        }
        for s in subscribers.list_subscribers(_settings().data_dir, include_unsubscribed=everyone)
    ]
    _print_records(records, as_json, ["id", "email", "areas", "subscribed_at", "unsubscribed_at"])


@subscribers_app.command("import", short_help="Subscribe the valid new addresses of a CSV file.")
def subscribers_import(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="CSV with a header `email` and optionally `areas`.", exists=True),
    ],
) -> None:
    """Subscribe every valid new address of a CSV file; report duplicates and invalid lines by number."""

    try:
        report = subscribers.import_csv(_settings().data_dir, file)
    except (subscribers.SubscriberError, UnicodeDecodeError, csv.Error) as error:
        raise _fail(f"{file}: {error}") from None
    for line in report.describe():
        typer.echo(line)
    if report.invalid:
        raise typer.Exit(1)


@app.command(short_help="Email the edition to subscribers not yet sent it.")
def send(
    edition: Annotated[
        str | None, typer.Argument(metavar="YYYY-MM", help="Edition month (default: the newest).")
    ] = None,
    resend_pending: Annotated[
        bool,
        typer.Option(
            "--resend-pending",
            help="Also send to subscribers left 'pending' by an interrupted run (they may get it twice).",
        ),
    ] = False,
) -> None:
    """Email a published edition to every subscriber who has not had it yet (never twice)."""
    from reports.delivery.mail import MailError, send_edition

    _check_edition(edition)
    settings = _settings()
    try:
        summary = send_edition(
            settings.data_dir, edition, settings.mail_config(), resend_pending=resend_pending
        )
    except MailError as error:
        if error.summary is not None:
            typer.echo(error.summary.describe(), err=True)
        raise _fail(str(error)) from None
    typer.echo(summary.describe())
    for subscriber_id, reason in summary.failed:
        typer.echo(f"Error: subscriber #{subscriber_id}: {reason}", err=True)
    if summary.failed:
        raise typer.Exit(1)


@mail_app.command("preview", short_help="Write the message an edition would send; send nothing.")
def mail_preview(
    edition: Annotated[
        str | None, typer.Argument(metavar="YYYY-MM", help="Edition month (default: the newest).")
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", metavar="ADDRESS", help="A subscriber's address: their areas and unsubscribe link."
        ),
    ] = None,
    areas: Annotated[
        str | None,
        typer.Option(
            "--areas",
            metavar="AREA[,AREA...]",
            help="Areas shown first (GSS codes or names); default: the subscriber's, else the focus area.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="FILE.eml", help="Where to write it (default: mail-preview-YYYY-MM.eml)."
        ),
    ] = None,
) -> None:
    """Write the exact message that `eim send` would hand to the SMTP server, as an .eml file any
    mail program opens, and say what is in it. Nothing is sent and nothing is recorded."""
    from reports.delivery.mail import MailError, preview_message

    _check_edition(edition)
    settings = _settings()
    needed = {
        "EIM_MAIL_FROM": settings.mail_from,
        "EIM_SITE_URL": settings.site_url,
        "EIM_UNSUBSCRIBE_SECRET": settings.unsubscribe_secret,
    }
    if missing := [name for name, value in needed.items() if not value]:
        raise _fail(f"the message needs {', '.join(missing)} (as sending does)", code=2)
    try:
        chosen = _resolve_areas(settings, areas) if areas is not None else None
        preview = preview_message(
            settings.data_dir,
            edition,
            mail_from=settings.mail_from,
            site_url=settings.site_url,
            unsubscribe_secret=settings.unsubscribe_secret.get_secret_value(),
            address=to,
            areas=chosen,
        )
    except (MailError, AreaFileError) as error:
        raise _fail(str(error)) from None
    raw = preview.message.as_bytes()
    target = out or Path(f"mail-preview-{preview.period}.eml")
    try:
        target.write_bytes(raw)
    except OSError as error:
        raise _fail(f"cannot write {target}: {error.strerror}") from None
    charts = sum(1 for part in preview.message.walk() if part.get_content_type() == "image/png")
    subscriber = preview.subscriber
    whom = "the subscriber" if subscriber.id else "a reader who is not a subscriber"
    shown = ", ".join(subscriber.areas) or "the focus area"
    typer.echo(
        f"Wrote {target}: {len(raw) / 1024:.0f} KB, {charts} chart{'s' * (charts != 1)}, the message "
        f"{whom} {subscriber.email} (areas: {shown}) would get. Nothing was sent."
    )


@app.command(short_help="Who got which edition, and any error.")
def deliveries(
    edition: Annotated[
        str | None, typer.Argument(metavar="YYYY-MM", help="Edition month (default: every edition).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Who got which edition: status (sent, failed, pending), attempts, Message-ID, last error."""

    _check_edition(edition)
    records = [asdict(d) for d in subscribers.deliveries(_settings().data_dir, edition)]
    columns = ["edition", "email", "status", "attempts", "message_id", "last_error", "updated_at"]
    _print_records(records, as_json, columns)


@site_app.command("serve", short_help="Serve the site and the unsubscribe page.")
def site_serve(
    port: Annotated[
        int, typer.Option("--port", "-p", min=0, max=65535, metavar="PORT", help="Port (0: any free port).")
    ] = 8000,
    host: Annotated[
        str, typer.Option("--host", metavar="HOST", help="Address to listen on (behind a proxy: 127.0.0.1).")
    ] = "127.0.0.1",
) -> None:
    """Serve the published site and the unsubscribe page (put a TLS reverse proxy in front of it)."""
    from reports.delivery.site_server import make_server
    from reports.delivery.smtp import MailError

    settings = _settings()
    if settings.unsubscribe_secret is None:
        raise _fail("set EIM_UNSUBSCRIBE_SECRET (the key of the unsubscribe links) before serving the site")
    try:
        secret = settings.unsubscribe_secret.get_secret_value()
        server = make_server(
            settings.site_dir,
            settings.data_dir,
            host,
            port,
            secret,
            previous_secrets=settings.previous_unsubscribe_secrets(),
        )
    except (MailError, OSError, ValueError) as error:
        raise _fail(str(error)) from None
    bound_host, bound_port = server.server_address[:2]
    typer.echo(f"Serving {settings.site_dir} at http://{bound_host}:{bound_port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    app()
