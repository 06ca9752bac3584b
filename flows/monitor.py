"""The monitor's end-to-end run: fetch → load → model → publish snapshot → render the bulletin
(with the snapshot's Parquet exports written alongside).

Each task wraps a plain function from `flows.steps`. A dataset whose publisher fails is recorded
and skipped, the others still load, and the run ends Failed so that operators see it.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import httpx
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, Failed, State

from flows import steps
from flows.alerts import send_alert
from flows.settings import load_settings
from reports.bulletin.publish import EditionResult
from sources.catalog import default_catalog
from sources.errors import PublisherError, PublisherUnreachable
from warehouse import db
from warehouse.load import LoadResult
from warehouse.lock import writer_lock
from warehouse.snapshot import publication_behind


def _transient(task, task_run, state) -> bool:
    """Retry a fetch only when a later attempt may help: not for malformed bodies or 404s."""
    try:
        state.result()
    except PublisherError as error:
        return error.transient and not isinstance(error, PublisherUnreachable)
    except Exception:
        return False
    return False


@task(
    retries=2,
    retry_delay_seconds=[30, 120],
    retry_condition_fn=_transient,
    timeout_seconds=900,
    cache_policy=NO_CACHE,
)
def fetch(dataset_id: str, last_fetched: dict[str, dict]) -> steps.FetchOutcome:
    return steps.fetch_dataset(load_settings(), dataset_id, last_fetched)


@task(timeout_seconds=900, cache_policy=NO_CACHE)
def load(outcome: steps.FetchOutcome) -> LoadResult:
    return steps.load_dataset(load_settings(), outcome, steps.parse_dataset(outcome))


@task(timeout_seconds=300, cache_policy=NO_CACHE)
def prepare() -> None:
    steps.prepare_warehouse(load_settings())


@task(timeout_seconds=600, cache_policy=NO_CACHE)
def build_models() -> list[str]:
    return steps.build(load_settings())


@task(timeout_seconds=300, cache_policy=NO_CACHE)
def publish_snapshot() -> Path:
    return steps.publish_analysts_snapshot(load_settings())


# No timeout: the run submits it to a worker thread (`_exporting_parquet`), where Prefect cannot
# interrupt it and warns that it cannot; it is a local DuckDB export with no network to wait on.
@task(cache_policy=NO_CACHE)
def export_parquet() -> Path:
    return steps.export_parquet(load_settings())


@task(retries=2, retry_delay_seconds=[60, 300], timeout_seconds=1800, cache_policy=NO_CACHE)
def send_bulletin(period: str) -> str:
    return steps.send_bulletin(load_settings(), period)


@task(retries=2, retry_delay_seconds=[60, 300], timeout_seconds=1800, cache_policy=NO_CACHE)
def complete_publication() -> str | None:
    return steps.complete_publication(load_settings())


@task(timeout_seconds=600, cache_policy=NO_CACHE)
def render_bulletin() -> EditionResult:
    """Build the newest edition; show it in the Prefect UI as artifacts (main points, headline table)."""
    result = steps.build_bulletin(load_settings())
    if result.content is not None:
        content = result.content
        state = "Published" if result.published else "Draft (not published)"
        lines = [f"# {content.title}: {content.period_label}", "", f"**{state}**: `{result.folder}`", ""]
        lines += [f"- {point}" for point in content.main_points]
        lines += [f"\n**Not published:** {reason}" for reason in result.reasons if not result.published]
        create_markdown_artifact(
            markdown="\n".join(lines), key="bulletin-latest", description=f"Edition {content.period_label}"
        )
        headline = [
            {"indicator": e["title"], "area": e["area_name"], "period": e["period"], "value": e["display"]}
            for e in content.ledger.entries()
            if e["measure"] == "value" and e["area"] == content.edition.focus.code
        ]
        create_table_artifact(table=headline, key="bulletin-headline-figures")
    return result


@dataclass
class RunSummary:
    loaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    unreachable_hosts: set[str] = field(default_factory=set)
    bulletin: Path | None = None

    def fail(self, dataset_id: str, error: PublisherError) -> None:
        self.failed[dataset_id] = str(error)
        if isinstance(error, PublisherUnreachable):
            self.unreachable_hosts.add(error.host)

    def describe(self) -> str:
        parts = [f"loaded {len(self.loaded)}", f"unchanged {len(self.unchanged)}"]
        if self.failed:
            parts.append(f"failed {len(self.failed)}")
        return ", ".join(parts)


@dataclass
class _Sweep:
    """One pass over the datasets: the fetch history, read once at its start, and the fetches that
    brought nothing new, recorded together at its end (`_sweep`)."""

    history: steps.FetchHistory
    confirmed: list[tuple[steps.FetchOutcome, LoadResult]] = field(default_factory=list)


@contextmanager
def _sweep() -> Iterator[_Sweep]:
    """A pass over the datasets; its confirmed fetches are recorded when it ends, however it ends:
    nothing needs those records before, and a transaction for each was most of a no-change run's
    time in the warehouse."""
    settings = load_settings()
    sweep = _Sweep(steps.read_fetch_history(settings))
    try:
        yield sweep
    finally:
        steps.record_unchanged_fetches(settings, sweep.confirmed)


def _fetch_and_load(dataset_id: str, summary: RunSummary, sweep: _Sweep) -> LoadResult | None:
    """One dataset; a failure is recorded (and alerted when it is the second in a row), never raised."""
    settings = load_settings()
    publisher = default_catalog().get(dataset_id).publisher
    host = httpx.URL(settings.base_url(publisher)).host
    try:
        if host in summary.unreachable_hosts:
            # The host did not answer earlier in this run; asking again only delays the report.
            raise PublisherUnreachable(publisher, dataset_id, host, "no answer earlier in this run")
        outcome = fetch(dataset_id, sweep.history.last_records(dataset_id))
        if (unchanged := steps.unchanged(outcome, sweep.history)) is not None:
            sweep.confirmed.append((outcome, unchanged))
            return unchanged
        return load(outcome)
    except PublisherError as error:
        get_run_logger().error("%s", error)
        steps.record_failure(settings, dataset_id, error)
        summary.fail(dataset_id, error)
        if steps.failing_twice(settings, dataset_id):
            send_alert(
                settings, f"{dataset_id} failed twice in a row", f"The last two attempts failed:\n{error}"
            )
        return None


def _ingest(wanted: list[str]) -> tuple[RunSummary, bool]:
    """Fetch and load each dataset (one failing publisher never stops the others), then model and
    publish the snapshot when something is new or a killed run left it behind. With the summary:
    whether the Parquet exports are due, for the caller to write when it suits it."""
    logger = get_run_logger()
    settings = load_settings()
    summary = RunSummary()
    with db.held_open(settings.warehouse_path):
        prepare()
        with _sweep() as sweep:
            for dataset_id in wanted:
                result = _fetch_and_load(dataset_id, summary, sweep)
                if result is None:
                    continue
                (summary.unchanged if result.unchanged else summary.loaded).append(dataset_id)
                logger.info(
                    "%s: %s",
                    dataset_id,
                    "unchanged" if result.unchanged else f"{result.rows_new} new or revised values",
                )
        behind = (
            None
            if summary.loaded
            else publication_behind(settings.warehouse_path, settings.snapshot_path, settings.parquet_dir)
        )
    if summary.loaded or behind == "snapshot":
        build_models()
        publish_snapshot()
    return summary, bool(summary.loaded) or behind is not None


@contextmanager
def _exporting_parquet(due: bool) -> Iterator[None]:
    """Write the Parquet exports from the snapshot while the block runs, and wait for them before it
    ends (inside the writer lock); their failure fails the run. The bulletin is built from its own
    pinned copy of the snapshot meanwhile, and the export is DuckDB's work, off Python's lock: it
    takes the second core instead of time on the first."""
    if not due:
        yield
        return
    export = export_parquet.submit()
    try:
        yield
    finally:
        export.wait()
    export.result()


def _publish_and_send(summary: RunSummary) -> None:
    """Build the newest edition; publish it if the gate allows (else alert), then email it."""
    settings = load_settings()
    edition = render_bulletin()
    summary.bulletin = edition.folder / "index.html"
    if not edition.published:
        for reason in edition.reasons:
            summary.failed[f"bulletin {edition.period}"] = f"edition kept as a draft: {reason}"
        send_alert(
            settings,
            f"edition {edition.period} kept as a draft",
            "The publication gate refused it:\n" + "\n".join(edition.reasons),
        )
        return
    get_run_logger().info("Edition %s published at %s", edition.period, summary.bulletin)
    get_run_logger().info("Email: %s", send_bulletin(edition.period))


def _alert_on_failure(flow, flow_run, state) -> None:
    send_alert(
        load_settings(),
        f"run {flow_run.name} of {flow.name} ended {state.type.value.lower()}",
        state.message or "",
    )


class RunFailed(Exception):
    """What a failed run's state carries: Prefect resolves a failed state's data into an exception
    (a worker's engine raises it), so the summary travels inside one rather than bare."""

    def __init__(self, summary: RunSummary) -> None:
        super().__init__("; ".join(summary.failed.values()))
        self.summary = summary


def _finish(summary: RunSummary) -> State:
    if summary.failed:
        return Failed(message="; ".join(summary.failed.values()), data=RunFailed(summary))
    return Completed(message=summary.describe(), data=summary)


def run_summary(state: State) -> RunSummary | None:
    """The summary of a finished run, failed or not; None when the run ended before it had one."""
    result = state.result(raise_on_failure=False)
    if isinstance(result, RunFailed):
        return result.summary
    return result if isinstance(result, RunSummary) else None


def _wanted(datasets: list[str] | None) -> list[str]:
    catalog = default_catalog()
    for dataset_id in datasets or []:
        catalog.get(dataset_id)  # an unknown dataset fails here, before anything is fetched
    return datasets or list(catalog.datasets)


@cache
def _freeze_long_lived_objects() -> None:
    """Python's full garbage collections walk every object the process holds, and a run's process
    holds hundreds of thousands for good (Prefect, pandas, DuckDB and the rest): ~0.3 s a pass,
    several passes in a cold run and, at moments that depend on what the process did before, half
    a no-change run. Frozen when the process's first run starts, they sit every later pass out;
    what runs create is collected as usual. Once per process and without a collection first (which
    would cost a pass itself): the freeze is never undone, and a frozen object is still freed when
    its last reference goes; only a reference cycle already garbage at that moment is kept."""
    gc.freeze()


ALERTS = {"on_failure": [_alert_on_failure], "on_crashed": [_alert_on_failure]}


@flow(name="eim-ingest", description="Fetch and load the catalog's datasets; publish the snapshot.", **ALERTS)
def ingest_flow(datasets: list[str] | None = None) -> State:
    _freeze_long_lived_objects()
    with writer_lock(load_settings().data_dir):
        summary, parquet_due = _ingest(_wanted(datasets))
        if parquet_due:
            export_parquet()
        return _finish(summary)


@flow(
    name="eim-run", description="Fetch, load, model, publish and send the Economic Impact Monitor.", **ALERTS
)
def monitor_run(datasets: list[str] | None = None) -> State:
    _freeze_long_lived_objects()
    settings = load_settings()
    with writer_lock(settings.data_dir):
        summary, parquet_due = _ingest(_wanted(datasets))
        with _exporting_parquet(parquet_due):
            # A bulletin when there is something new, or the newest month's edition was not built
            # from this snapshot (a first run, or a run killed before it published) and nothing failed.
            behind = not summary.loaded and not summary.failed and steps.edition_stale(settings)
            if settings.snapshot_path.exists() and (summary.loaded or behind):
                _publish_and_send(summary)
            elif done := complete_publication():
                get_run_logger().warning("Completed an interrupted publication: %s", done)
    return _finish(summary)


@flow(
    name="eim-release-watch",
    description="On release days, poll the datasets due until they change.",
    **ALERTS,
)
def release_watch(poll_seconds: float = 300, deadline_minutes: float = 240, day: str | None = None) -> State:
    """Poll the datasets whose releases the ONS calendar lists for today; each time new data lands,
    run the model → bulletin → send chain at once (a later landing the same day rebuilds the
    edition; subscribers already sent it are not sent it again). The chain is a direct call in this
    run, not an event: it must run under the writer lock the polling holds, and a test can watch it."""
    _freeze_long_lived_objects()
    logger = get_run_logger()
    settings = load_settings()
    due = steps.datasets_due(settings, dt.date.fromisoformat(day) if day else dt.date.today())
    if not due:
        logger.info("No release of a catalog dataset is due today.")
        return Completed(message="nothing due today")
    logger.info("Due today: %s", ", ".join(due))
    summary = RunSummary()
    deadline = time.monotonic() + deadline_minutes * 60
    with writer_lock(settings.data_dir):
        pending = list(due)
        prepare()
        while pending:
            landed = []
            with db.held_open(settings.warehouse_path), _sweep() as sweep:
                for dataset_id in list(pending):
                    result = _fetch_and_load(dataset_id, summary, sweep)
                    if result is not None and not result.unchanged:
                        landed.append(dataset_id)
                        pending.remove(dataset_id)
            if landed:  # publish now: a release due the same day that is late must not hold it back
                summary.loaded.extend(landed)
                build_models()
                publish_snapshot()
                with _exporting_parquet(due=True):
                    _publish_and_send(summary)
            if not pending or time.monotonic() + poll_seconds > deadline:
                break
            time.sleep(poll_seconds)
        summary.unchanged.extend(pending)
    if pending:
        logger.warning("Still unchanged at the deadline: %s", ", ".join(pending))
    return _finish(summary)
