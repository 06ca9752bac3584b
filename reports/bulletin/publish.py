"""Publishing an edition: pin its snapshot, apply the publication gate, write its files whole.

Where each file goes: `reports.bulletin.layout`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from jinja2 import Environment, PackageLoader, select_autoescape

from reports.bulletin import format as fmt
from reports.bulletin.content import BuildInfo, Content, build_content
from reports.bulletin.edition import EditionData, file_sha256, latest_edition_period, read_edition
from reports.bulletin.layout import Paths, published_manifests, write_atomically
from reports.bulletin.render import render_files
from warehouse.db import WarehouseError, connect_read_only
from warehouse.quality import blocking

CADENCE_DAYS = {"monthly": 31, "quarterly": 92, "annual": 366}
SITE = Environment(
    loader=PackageLoader("reports.bulletin", "templates"), autoescape=select_autoescape(["j2"])
)


class PublishError(RuntimeError):
    """An edition cannot be built or rebuilt as asked; the message says why."""


@dataclass
class EditionResult:
    period: str
    published: bool
    folder: Path
    reasons: list[str] = field(default_factory=list)
    content: Content | None = None


def gate(edition: EditionData, today: dt.date, *, check_freshness: bool) -> list[str]:
    """Why the edition may not be published (empty when it may)."""
    reasons = []
    for indicator in edition.indicators.values():
        if not indicator.core:
            continue
        for area in [*edition.bulletin_areas, edition.region, edition.uk]:
            expected = area.level in indicator.levels and area.level != "country"
            if expected and edition.figure(indicator.id, area.code) is None:
                reasons.append(f"core indicator {indicator.id} is missing for {area.name}")
        for dataset in indicator.datasets if check_freshness else ():
            source = edition.sources.get(dataset)
            if source is None:
                reasons.append(f"core dataset {dataset} has never been loaded")
                continue
            changed = max(filter(None, [source.release_date, source.fetched_at.date()]))
            limit = 2 * CADENCE_DAYS[indicator.cadence]
            if (today - changed).days > limit:
                reasons.append(
                    f"core dataset {dataset} last changed on {changed.isoformat()}, more than twice its "
                    f"{indicator.cadence} cadence ago"
                )
    for figure in edition.figures.values():
        if figure.value is None:
            continue
        if (
            figure.indicator.unit == "percent"
            and figure.indicator.id.endswith("_rate")
            and not (0 <= figure.value <= 100)
        ):
            reasons.append(f"{figure.indicator.id} for {figure.area.name} is {figure.value}, outside 0-100")
        if figure.indicator.unit == "count" and figure.value < 0:
            reasons.append(f"{figure.indicator.id} for {figure.area.name} is negative ({figure.value})")
    return sorted(dict.fromkeys(reasons))


def quality_blockers(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Blocker quality checks stored in the pinned snapshot (an extreme jump blocks publishing)."""
    return [f"quality check failed: {reason}" for reason in blocking(con)]


def _pin(snapshot: Path, pinned: Path) -> None:
    pinned.parent.mkdir(parents=True, exist_ok=True)
    partial = pinned.with_name(f".{pinned.name}.next")
    shutil.copyfile(snapshot, partial)
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, pinned)


def _previous(paths: Paths, period: str) -> tuple[dict | None, dict | None]:
    """The newest published edition before `period`: its manifest and its figures.json."""
    earlier = [m for m in published_manifests(paths) if m["period"] < period]
    if not earlier:
        return None, None
    manifest = earlier[-1]
    sidecar = paths.site / manifest["period"] / "figures.json"
    return manifest, json.loads(sidecar.read_text()) if sidecar.exists() else None


@dataclass(frozen=True)
class _Pinned:
    """An edition as its pinned snapshot holds it, with the revisions since the previous edition,
    and that edition's manifest and figures (to say what changed)."""

    edition: EditionData
    previous_manifest: dict | None
    previous_figures: dict | None


def _read_pinned(paths: Paths, period: str, pinned: Path, con: duckdb.DuckDBPyConnection) -> _Pinned:
    previous_manifest, previous_figures = _previous(paths, period)
    since = dt.datetime.fromisoformat(previous_manifest["pinned_at"]) if previous_manifest else None
    edition = read_edition(con, period, snapshot_sha256=file_sha256(pinned), revisions_since=since)
    return _Pinned(edition, previous_manifest, previous_figures)


def _content(paths: Paths, period: str, manifest: dict, pinned: _Pinned) -> Content:
    if pinned.edition.snapshot_sha256 != manifest["snapshot_sha256"]:
        raise PublishError(f"the pinned snapshot of {period} does not match its manifest: it was altered")
    info = BuildInfo(
        edition_number=manifest["edition"],
        published=dt.date.fromisoformat(manifest["published_on"]),
        next_edition=dt.date.fromisoformat(manifest["next_edition"]) if manifest["next_edition"] else None,
        demo=manifest["demo"],
        forced=manifest["forced"],
        gate_reasons=manifest["gate_reasons"],
        contact=manifest["contact"],
        previous_period=pinned.previous_manifest["period"] if pinned.previous_manifest else None,
    )
    return build_content(pinned.edition, info, pinned.previous_figures, paths.chart_cache)


def _write_folder(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    os.sync()


def _swap_into_site(paths: Paths, period: str, files: dict[str, bytes]) -> Path:
    """Write the edition beside the site, then point site/<period> at it in one atomic rename."""
    store = paths.site / ".editions"
    target = store / f"{period}-{time.time_ns()}"
    try:
        _write_folder(target, files)
    except OSError:
        shutil.rmtree(target, ignore_errors=True)  # a disk that filled up: no half edition kept
        raise
    link = paths.site / period
    pointer = paths.site / f".{period}.next"
    pointer.unlink(missing_ok=True)
    pointer.symlink_to(os.path.relpath(target, paths.site))
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link)  # a folder from before editions were linked
    os.replace(pointer, link)
    for old in store.glob(f"{period}-*"):
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return link


def build_edition(
    snapshot: Path,
    data_dir: Path,
    *,
    period: str | None = None,
    demo: bool,
    force: bool = False,
    today: dt.date | None = None,
    next_edition: dt.date | None = None,
    contact: str | None = None,
    site_url: str | None = None,
) -> EditionResult:
    """Build the edition for `period` (default: the newest month), publish it or keep it a draft."""
    paths = Paths(data_dir)
    today = today or dt.date.today()
    # A candidate pin: it replaces the published edition's pin only if this build is published, so
    # a refused draft never breaks `--rebuild` of the edition already out. Everything the build
    # reads comes from it, on one connection: the period, the figures and the quality checks.
    pinned = paths.data_dir / "editions" / ".candidate-snapshot.duckdb"
    if not snapshot.exists():
        raise WarehouseError(f"no warehouse at {snapshot}: run `eim run` (or `eim demo`) first")
    _pin(snapshot, pinned)
    try:
        with connect_read_only(pinned) as con:
            latest = latest_edition_period(con)
            period = period or latest
            if period > latest:
                raise PublishError(f"no data for {period} yet: the newest month in the snapshot is {latest}")
            # Read once, for the gate and the content alike (the gate does not look at the revisions).
            read = _read_pinned(paths, period, pinned, con)
            # A jump in the newest period says nothing about a backfilled month.
            blockers = quality_blockers(con) if period == latest else []
        with _disk_errors_as_publish_errors(period):
            paths.edition_dir(period).mkdir(parents=True, exist_ok=True)
            existing = [m for m in published_manifests(paths) if m["period"] != period]
            number = 1 + sum(1 for m in existing if m["period"] < period)
            reasons = sorted(
                dict.fromkeys(gate(read.edition, today, check_freshness=period == latest) + blockers)
            )
            manifest = {
                "period": period,
                "edition": number,
                "published_on": today.isoformat(),
                "next_edition": next_edition.isoformat() if next_edition else None,
                "snapshot_sha256": read.edition.snapshot_sha256,
                "pinned_at": dt.datetime.now(dt.UTC).isoformat(),
                "demo": demo,
                "forced": bool(reasons) and force,
                "gate_reasons": reasons,
                "contact": contact,
                "published": not reasons or force,
            }
            content = _content(paths, period, manifest, read)
            files = render_files(content)
            if reasons and not force:
                drafts = paths.drafts(period)
                shutil.rmtree(drafts, ignore_errors=True)
                _write_folder(drafts, files)
                os.replace(pinned, drafts / "snapshot.duckdb")
                (drafts / "REASONS.txt").write_text("Not published:\n" + "".join(f"- {r}\n" for r in reasons))
                write_atomically(paths.edition_dir(period) / "draft-manifest.json", _dump(manifest))
                return EditionResult(period, False, drafts, reasons, content)
            link = _swap_into_site(paths, period, files)
            os.replace(pinned, paths.pinned(period))
            write_atomically(paths.manifest(period), _dump(manifest))
            shutil.rmtree(paths.drafts(period), ignore_errors=True)
            write_site_index(paths, site_url)
            return EditionResult(period, True, link, reasons, content)
    finally:
        pinned.unlink(missing_ok=True)  # moved into place already when the build was published or kept


@contextmanager
def _disk_errors_as_publish_errors(period: str) -> Iterator[None]:
    """A write that fails (a full disk) as one PublishError naming the file."""
    try:
        yield
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        raise PublishError(
            f"could not write edition {period}: {error.strerror or error}{where}. An edition goes on the "
            "site whole or not at all: free some space and run `eim bulletin` again"
        ) from None


def rebuild_edition(data_dir: Path, period: str) -> dict[str, str]:
    """Rebuild a published edition from its pinned snapshot; the differing files (none if identical)."""
    paths = Paths(data_dir)
    if not paths.manifest(period).exists():
        known = ", ".join(m["period"] for m in published_manifests(paths)) or "none"
        raise PublishError(f"edition {period} has not been published; published editions: {known}")
    manifest = json.loads(paths.manifest(period).read_text())
    with connect_read_only(paths.pinned(period)) as con:
        read = _read_pinned(paths, period, paths.pinned(period), con)
    files = render_files(_content(paths, period, manifest, read))
    published = paths.site / period
    differences = {}
    for name, data in files.items():
        current = published / name
        if not current.exists():
            differences[name] = "missing from the published edition"
        elif current.read_bytes() != data:
            differences[name] = "differs"
    return differences


def _dump(record: dict) -> bytes:
    return (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()


def site_index_current(paths: Paths) -> bool:
    """True when the site index and the feed both link every published edition."""
    index, feed = paths.site / "index.html", paths.site / "feed.atom"
    if not (index.exists() and feed.exists()):
        return False
    pages = index.read_text(), feed.read_text()
    return all(f"{m['period']}/index.html" in page for m in published_manifests(paths) for page in pages)


def write_site_index(paths: Paths, site_url: str | None = None) -> None:
    """The list of editions (newest first) and the Atom feed, each written whole."""
    editions = []
    for manifest in reversed(published_manifests(paths)):
        sidecar = paths.site / manifest["period"] / "figures.json"
        details = json.loads(sidecar.read_text()) if sidecar.exists() else {}
        editions.append(
            {
                **manifest,
                "label": fmt.period_label(manifest["period"]),
                "title": details.get("title", ""),
                "main_points": details.get("main_points", []),
            }
        )
    html = SITE.get_template("site_index.html.j2").render(editions=editions)
    write_atomically(paths.site / "index.html", html.encode())
    write_atomically(paths.site / "feed.atom", _feed(editions, site_url))


def _feed(editions: list[dict], site_url: str | None) -> bytes:
    from feedgen.feed import FeedGenerator  # only the publisher needs it

    base = (site_url or "http://localhost/").rstrip("/") + "/"
    feed = FeedGenerator()
    title = editions[0]["title"] if editions else "Economic Impact Monitor"
    feed.id(base)
    feed.title(title)
    feed.link(href=base, rel="alternate")
    feed.link(href=base + "feed.atom", rel="self")
    feed.language("en-GB")
    feed.generator("wm-economic-impact-monitor")
    newest = max((e["published_on"] for e in editions), default="2000-01-01")
    feed.updated(dt.datetime.fromisoformat(newest + "T09:30:00+00:00"))
    for edition in reversed(editions):  # feedgen lists entries newest first when added oldest first
        entry = feed.add_entry()
        entry.id(f"{base}{edition['period']}/")
        demo = "[Demonstration data] " if edition["demo"] else ""
        entry.title(f"{demo}{edition['title']}: {edition['label']} (edition {edition['edition']})")
        entry.link(href=f"{base}{edition['period']}/index.html")
        stamp = dt.datetime.fromisoformat(edition["published_on"] + "T09:30:00+00:00")
        entry.published(stamp)
        entry.updated(stamp)
        summary = " ".join(edition["main_points"][:3])
        entry.summary(("Demonstration data — not official statistics. " if edition["demo"] else "") + summary)
    return feed.atom_str(pretty=True)
