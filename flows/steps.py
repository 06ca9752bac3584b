"""The steps of a run as plain functions (no Prefect): each joins sources, warehouse and reports.

Prefect tasks in `flows.monitor` wrap these; tests call them directly.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pandas as pd
import yaml
from cronsim import CronSim

from flows.progress import download_progress
from flows.settings import Settings
from reports.bulletin.publish import (
    EditionResult,
    Paths,
    build_edition,
    published_manifests,
    site_index_current,
    write_site_index,
)
from sources import els, govuk, landregistry, nomis, ons_api, ons_datasets, ons_web
from sources.archive import ArchivedPage
from sources.catalog import default_catalog
from sources.errors import PublisherError, PublisherFormatError
from sources.http import make_client
from sources.ons_releases import latest_release_date, upcoming_releases
from warehouse import db
from warehouse.geography import AreaSet, load_area_file, write_areas
from warehouse.load import (
    FetchHistory,
    LoadResult,
    fetch_history,
    load_vintage,
    record_run,
    record_unchanged,
    record_unchanged_runs,
)
from warehouse.modelling import build_models
from warehouse.quality import run_checks, run_model_checks
from warehouse.registry import load_registry, write_registry
from warehouse.snapshot import loaded_up_to, publish_parquet, publish_snapshot

logger = logging.getLogger(__name__)

DATA_MODE_KEY = "data_mode"
# One module per publisher, each with `fetch(client, config, *, base_url, spec, geography_codes,
# raw_dir, previous, ...) -> list[ArchivedPage]` and `parse(spec, paths) -> DataFrame`.
PUBLISHERS = {
    "nomis": nomis,
    "ons_api": ons_api,
    "ons_web": ons_web,
    "ons_datasets": ons_datasets,
    "landregistry": landregistry,
    "govuk": govuk,
    "els": els,
}


@dataclass(frozen=True)
class FetchOutcome:
    dataset: str
    publisher: str
    pages: list[ArchivedPage]


def areas_for(settings: Settings) -> AreaSet:
    return load_area_file(settings.area, settings.area_file)


def export_parquet(settings: Settings) -> Path:
    return publish_parquet(settings.snapshot_path, settings.parquet_dir)


def complete_publication(settings: Settings) -> str | None:
    """Finish what a run killed after publishing its edition left undone: the site index and feed
    list every published edition, and every active subscriber not yet sent the newest edition gets
    it (at most once each: a delivery left pending by the kill is reported, not resent). None when
    nothing was published yet or nothing was left to do."""
    from reports.delivery.mail import unsent_subscribers

    paths = Paths(settings.data_dir)
    manifests = published_manifests(paths)
    if not manifests:
        return None
    done = []
    if not site_index_current(paths):
        write_site_index(paths, settings.site_url)
        done.append("site index and feed completed")
    period = manifests[-1]["period"]
    if settings.smtp_host and unsent_subscribers(settings.data_dir, period):
        done.append(f"edition {period}: {send_bulletin(settings, period)}")
    return "; ".join(done) or None


def edition_stale(settings: Settings) -> bool:
    """True when the newest month's edition was not built from the current snapshot."""
    from reports.bulletin.edition import file_sha256, latest_edition_period
    from reports.bulletin.publish import Paths

    if not settings.snapshot_path.exists():
        return False
    paths = Paths(settings.data_dir)
    with db.connect_read_only(settings.snapshot_path) as con:
        period = latest_edition_period(con)
    current = file_sha256(settings.snapshot_path)
    for manifest in (paths.manifest(period), paths.edition_dir(period) / "draft-manifest.json"):
        if manifest.exists() and json.loads(manifest.read_text())["snapshot_sha256"] == current:
            return False  # already published, or already refused, from exactly this snapshot
    return True


def failing_twice(settings: Settings, dataset: str) -> bool:
    """True when the dataset's last two attempts both failed: an alert is due."""
    with db.connect(settings.warehouse_path) as con:
        outcomes = [
            row[0]
            for row in con.execute(
                "SELECT outcome FROM dataset_run WHERE dataset = ? ORDER BY attempted_at DESC LIMIT 2",
                [dataset],
            ).fetchall()
        ]
    return outcomes == ["failed", "failed"]


def send_bulletin(settings: Settings, period: str) -> str:
    """Email a published edition to its subscribers, when sending is configured; a summary line."""
    from reports.delivery.mail import send_edition

    if not settings.smtp_host:
        return "not sent: EIM_SMTP_HOST is not set"
    return send_edition(settings.data_dir, period, settings.mail_config()).describe()


def datasets_due(settings: Settings, day: dt.date) -> list[str]:
    """Catalog datasets whose release (by the ONS release calendar) falls on `day`."""
    with make_client(settings.http_config()) as client:
        releases = [
            release
            for kind in ("type-upcoming", "type-published")
            for release in upcoming_releases(
                client,
                settings.http_config(),
                base_url=settings.base_url("ons_api"),
                from_date=day,
                to_date=day,
                release_type=kind,
            )
        ]
    titles = [r.title for r in releases if not r.cancelled and r.release_date.date() == day]
    return [
        dataset_id
        for dataset_id, spec in default_catalog().datasets.items()
        if spec.release and any(re.search(spec.release, title) for title in titles)
    ]


def focus_codes(settings: Settings) -> list[str]:
    """The councils of the focus area: every check of completeness expects them."""
    areas = areas_for(settings)
    return list(areas.by_code[areas.focus].members)


def prepare_warehouse(settings: Settings) -> None:
    """Migrate, refuse to mix demo and real data, and write the areas and indicator registry.

    A data directory takes the kind of its first run that loads something: a run that loaded
    nothing (a first `eim run` offline) leaves it free for `eim demo`, and the reverse."""
    # Spool files of downloads a killed run never finished: nothing refers to them.
    shutil.rmtree(settings.raw_dir / ".incoming", ignore_errors=True)
    mode = "demo" if settings.demo else "live"
    with db.connect(settings.warehouse_path) as con:
        held = db.get_meta(con, DATA_MODE_KEY)
        if held != mode and (held is None or loaded_up_to(con) is None):
            db.set_meta(con, DATA_MODE_KEY, mode)
        elif held != mode:
            raise db.WarehouseError(
                f"the data directory {settings.data_dir} holds {held} data and this is a {mode} run; "
                "use another EIM_DATA_DIR (or delete this one) so that demonstration figures and "
                "real ones never mix"
            )
        write_areas(con, areas_for(settings))
        write_registry(con, load_registry())


def read_fetch_history(settings: Settings) -> FetchHistory:
    """Earlier fetches and the vintages held, for every dataset: read once per run (or per round of
    the release watch), not once per dataset."""
    with db.connect(settings.warehouse_path) as con:
        return fetch_history(con)


def fetch_dataset(settings: Settings, dataset_id: str, last_fetched: Mapping[str, dict]) -> FetchOutcome:
    """Fetch one dataset into the raw archive, conditionally on what was fetched last time
    (`last_fetched`: the dataset's newest good record of each request, `FetchHistory.last_records`)."""
    spec = default_catalog().get(dataset_id)

    def previous(request_key: str) -> ArchivedPage | None:
        record = last_fetched.get(request_key)
        if record is None:
            return None
        path = settings.raw_dir / record["raw_path"]
        return ArchivedPage(path, record) if path.exists() else None

    options = {}
    if spec.publisher == "nomis":
        uid = settings.nomis_uid.get_secret_value() if settings.nomis_uid else None
        options = {"uid": uid, "page_size": settings.nomis_page_size, "full_refresh": settings.full_refresh}
    areas = areas_for(settings)
    codes = areas.fetch_codes + (areas.published_composite_codes if spec.request_composites else [])
    with make_client(settings.http_config()) as client, download_progress(dataset_id, quiet=settings.quiet):
        pages = PUBLISHERS[spec.publisher].fetch(
            client,
            settings.http_config(),
            base_url=settings.base_url(spec.publisher),
            spec=spec,
            geography_codes=codes,
            raw_dir=settings.raw_dir,
            previous=previous,
            **options,
        )
        downloaded = any(page.record.get("status") == 200 for page in pages)  # not all 304s
        if spec.release and downloaded and not any(page.record.get("release_date") for page in pages):
            released = _calendar_release_date(settings, client, spec.release)
            if released is not None:
                pages = [
                    ArchivedPage(p.path, {**p.record, "release_date": released.isoformat()}) for p in pages
                ]
    return FetchOutcome(dataset_id, spec.publisher, pages)


def _calendar_release_date(settings: Settings, client: httpx.Client, title_pattern: str) -> dt.date | None:
    """The date of the release that brought a dataset's newest figures, from the ONS release
    calendar, for a publisher whose data state none (Nomis). The calendar only adds provenance:
    when it cannot be read the data still load, with no release date, and the run says why."""
    try:
        return latest_release_date(
            client,
            settings.http_config(),
            base_url=settings.base_url("ons_api"),
            title_pattern=title_pattern,
            on_or_before=dt.date.today(),
        )
    except PublisherError as error:
        logger.warning("no release date from the ONS release calendar (%s): loading without one", error)
        return None


def unchanged(outcome: FetchOutcome, history: FetchHistory) -> LoadResult | None:
    """The result of a fetch that brought again the bodies of a vintage loaded before (nothing new
    upstream); None when there is something to load. Nothing is written here: the run records
    such fetches together (`record_unchanged_fetches`)."""
    vintage_id = history.vintage_confirmed(outcome.dataset, [page.sha256 for page in outcome.pages])
    if vintage_id is None:
        return None
    return LoadResult(outcome.dataset, vintage_id, 0, 0, unchanged=True)


def record_unchanged_fetches(
    settings: Settings, confirmed: Sequence[tuple[FetchOutcome, LoadResult]]
) -> list[LoadResult]:
    """Record the provenance of fetches that brought nothing new (each with the result `unchanged`
    gave it), and a run of each dataset, in one transaction."""
    if not confirmed:
        return []
    fetches = {o.dataset: (r.vintage_id, [page.record for page in o.pages]) for o, r in confirmed}
    with db.connect(settings.warehouse_path) as con, db.transaction(con):
        results = record_unchanged(con, fetches)
        record_unchanged_runs(con, results)
    return results


def parse_dataset(outcome: FetchOutcome) -> pd.DataFrame:
    spec = default_catalog().get(outcome.dataset)
    frame = PUBLISHERS[spec.publisher].parse(spec, [page.path for page in outcome.pages])
    if frame.empty:
        raise PublisherFormatError(outcome.publisher, outcome.dataset, "no observations")
    return frame


def series_metadata(outcome: FetchOutcome) -> list[dict]:
    """What the publisher says of each series, where its fetch read a file describing them (ONS
    Explore Local Statistics: `series_metadata` on its data page's record); none for the others."""
    described = _first([page.record for page in outcome.pages], "series_metadata") or {}
    return [
        {"series": name, **{k: v for k, v in entry.items() if k != "indicator"}}
        for name, entry in described.items()
    ]


def load_dataset(settings: Settings, outcome: FetchOutcome, frame: pd.DataFrame) -> LoadResult:
    """Load a parsed vintage (one already held is recorded as unchanged)."""
    records = [page.record for page in outcome.pages]
    with db.connect(settings.warehouse_path) as con:
        result = load_vintage(
            con,
            dataset=outcome.dataset,
            publisher=outcome.publisher,
            fetch_records=records,
            observations=frame,
            release_date=_first(records, "release_date"),
            version=_first(records, "version"),
            series_metadata=series_metadata(outcome),
        )
        record_run(
            con,
            outcome.dataset,
            "unchanged" if result.unchanged else "loaded",
            vintage_id=result.vintage_id,
            rows_new=result.rows_new,
        )
        if not result.unchanged:  # the same bodies as last time: the stored checks still hold
            spec = default_catalog().get(outcome.dataset)
            run_checks(
                con,
                [outcome.dataset],
                focus_codes(settings),
                {outcome.dataset: spec.cadence},
                lists_only_areas_with_some=[outcome.dataset] if spec.lists_only_areas_with_some else [],
            )
    return result


def _first(records: list[dict], key: str) -> str | None:
    """The publisher's own release date or version, from the first page that states it."""
    return next((r[key] for r in records if r.get(key)), None)


def record_failure(settings: Settings, dataset_id: str, error: Exception) -> None:
    with db.connect(settings.warehouse_path) as con:
        record_run(con, dataset_id, "failed", error=str(error))


def build(settings: Settings) -> list[str]:
    """Build the models, then check them against the publishers' own totals (a failure there
    holds back the next edition, as the datasets' blocker checks do)."""
    with db.connect(settings.warehouse_path) as con:
        built = build_models(con)
        run_model_checks(con)
        return built


def publish_analysts_snapshot(settings: Settings) -> Path:
    return publish_snapshot(settings.warehouse_path, settings.snapshot_path)


PREFECT_YAML = Path(__file__).resolve().parents[1] / "prefect.yaml"
EDITION_DEPLOYMENT = "monthly-bulletin"


def next_edition_date(after: dt.date) -> dt.date | None:
    """The next scheduled edition, from the schedule in prefect.yaml (the one place schedules live)."""
    try:
        deployments = yaml.safe_load(PREFECT_YAML.read_text())["deployments"]
    except (OSError, KeyError, TypeError):
        return None
    for deployment in deployments:
        if deployment.get("name") == EDITION_DEPLOYMENT:
            schedule = deployment["schedules"][0]
            start = dt.datetime.combine(after, dt.time(23, 59), tzinfo=ZoneInfo(schedule["timezone"]))
            return next(CronSim(schedule["cron"], start)).date()
    return None


def build_bulletin(
    settings: Settings,
    *,
    period: str | None = None,
    force: bool = False,
    today: dt.date | None = None,
) -> EditionResult:
    """Build and publish (or keep as a draft) the edition for `period`, default the newest month."""
    today = today or dt.date.today()
    return build_edition(
        settings.snapshot_path,
        settings.data_dir,
        period=period,
        demo=settings.demo,
        force=force,
        today=today,
        next_edition=next_edition_date(today),
        contact=settings.contact,
        site_url=settings.site_url,
    )


def render(settings: Settings, today: dt.date | None = None) -> Path:
    """Build the newest edition; its page on the site (or the draft's, if the gate refused it)."""
    return build_bulletin(settings, today=today).folder / "index.html"
