"""Every fault of `faults.FAULTS` against every publisher, through the plain steps (no Prefect).

Each case starts from a copy of a clean demo data directory with a published edition, breaks one
dataset of one publisher, then does what the flow does: fetch and load that dataset and one dataset
of another publisher, recording a PublisherError as a failed run; rebuild the models, the snapshot
and the edition only when something loaded. The observed outcome must be the fault's `expected` one:
"recovered", "failed cleanly" (nothing changed) or "loaded, flagged, edition blocked". Outcomes go
to a results folder that `python -m tests.reliability.report` turns into docs/reliability.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from flows import steps
from flows.settings import Settings
from sources import ons_api
from sources.catalog import default_catalog
from sources.errors import PublisherError
from tests.conftest import DEMO_TODAY, publish
from tests.reliability.faults import (
    BLOCKED,
    DATASET_FOR,
    FAILED,
    FAULTS,
    PUBLISHERS,
    RECOVERED,
    Fault,
    FaultyReplayServer,
)
from tests.reliability.local_faults import LOCAL_FAULTS, LOCAL_FAULTS_BY_NAME
from warehouse.geography import load_area_file

# Long (every fault against every publisher): run by `make reliability`, not by `make test`.
pytestmark = pytest.mark.reliability

RESULTS_DIR = Path(os.environ.get("EIM_RELIABILITY_RESULTS", "/tmp/eim-reliability-results"))
DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


def _cases() -> Iterator:
    for fault in FAULTS:
        for publisher in PUBLISHERS:
            if publisher not in fault.publishers:
                continue
            yield pytest.param(fault, publisher, id=f"{fault.name}-{publisher}")


@pytest.fixture(scope="session")
def server() -> Iterator[FaultyReplayServer]:
    with FaultyReplayServer.serving(load_area_file("west-midlands"), today=DEMO_TODAY) as replay:
        yield replay


@pytest.fixture(scope="session")
def clean_dir(tmp_path_factory: pytest.TempPathFactory, server: FaultyReplayServer) -> Path:
    """A demo data directory with every dataset loaded, the snapshot and one edition published.

    Loaded from the same server (same port) the faults come from, so that a clean answer is a 304
    and a recovered fetch leaves the dataset unchanged.
    """
    data_dir = tmp_path_factory.mktemp("reliability-clean") / "data"
    with pytest.MonkeyPatch.context() as patch:
        settings = _use(patch, server, data_dir, fast=False)
        steps.prepare_warehouse(settings)
        for dataset in default_catalog().datasets:
            outcome = steps.fetch_dataset(
                settings, dataset, steps.read_fetch_history(settings).last_records(dataset)
            )
            steps.load_dataset(settings, outcome, steps.parse_dataset(outcome))
        steps.build(settings)
        publish(settings)
        result = steps.build_bulletin(settings, today=DEMO_TODAY)
    assert result.published, result.reasons
    return data_dir


def _use(
    patch: pytest.MonkeyPatch, server: FaultyReplayServer, data_dir: Path, fast: bool = True
) -> Settings:
    """The EIM_ environment of a demo run against `server`, with the matrix's fast HTTP settings."""
    for key in list(os.environ):
        if key.startswith("EIM_"):
            patch.delenv(key)
    patch.chdir(data_dir.parent)
    patch.setattr(ons_api, "RATE_LIMITS", ())  # no waiting on loopback
    env = {f"EIM_{p.upper()}_URL": url for p, url in server.base_urls.items()}
    env.update(EIM_DATA_DIR=str(data_dir), EIM_DEMO="true", EIM_QUIET="true")
    if fast:
        env.update(EIM_HTTP_RETRIES="3", EIM_HTTP_RETRY_BUDGET="3", EIM_HTTP_TIMEOUT="1")
    for key, value in env.items():
        patch.setenv(key, value)
    return Settings()


@pytest.fixture
def settings(
    clean_dir: Path, server: FaultyReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    data_dir = tmp_path / "data"
    shutil.copytree(clean_dir, data_dir, symlinks=True)
    server.clear()
    server.log.applied.clear()
    yield _use(monkeypatch, server, data_dir)
    server.clear()
    shutil.rmtree(data_dir, ignore_errors=True)


def observations(settings: Settings, dataset: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute("SELECT * FROM observation WHERE dataset = ? ORDER BY ALL", [dataset]).fetchall()
    finally:
        con.close()


def tree_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, following the site's links to edition folders."""
    digests = {}
    for root, _dirs, files in os.walk(folder, followlinks=True):
        for name in files:
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            digests[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def file_digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def last_run(settings: Settings, dataset: str) -> tuple | None:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(
            "SELECT * FROM dataset_run WHERE dataset = ? ORDER BY 2 DESC LIMIT 1", [dataset]
        ).fetchone()
    finally:
        con.close()


def ingest_one(settings: Settings, dataset: str) -> tuple[str, str]:
    """What the flow's fetch and load tasks do for one dataset: (loaded|unchanged|failed|crashed, detail)."""
    try:
        history = steps.read_fetch_history(settings)
        outcome = steps.fetch_dataset(settings, dataset, history.last_records(dataset))
        if (unchanged := steps.unchanged(outcome, history)) is not None:
            steps.record_unchanged_fetches(settings, [(outcome, unchanged)])
            return "unchanged", ""
        result = steps.load_dataset(settings, outcome, steps.parse_dataset(outcome))
        return ("unchanged" if result.unchanged else "loaded"), f"{result.rows_new} new rows"
    except PublisherError as error:
        steps.record_failure(settings, dataset, error)
        return "failed", str(error)
    except Exception as error:  # not a PublisherError: the flow would crash instead of recording it
        return "crashed", f"{type(error).__name__}: {error}"


def record(fault: Fault, publisher: str, outcome: str, reason: str, rows_lost: int) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    entry = {
        "fault": fault.name,
        "publisher": publisher,
        "dataset": DATASET_FOR[publisher],
        "expected": fault.expected,
        "outcome": outcome,
        "reason": reason,
        "rows_lost": rows_lost,
    }
    (RESULTS_DIR / f"{fault.name}__{publisher}.json").write_text(json.dumps(entry, indent=1))


@pytest.mark.slow
@pytest.mark.parametrize(("fault", "publisher"), list(_cases()))
def test_fault(fault: Fault, publisher: str, settings: Settings, server: FaultyReplayServer) -> None:
    dataset = DATASET_FOR[publisher]
    other = "cpi" if publisher != "ons_web" else "business_counts"
    before = observations(settings, dataset)
    other_before = observations(settings, other)
    snapshot_before = file_digest(settings.snapshot_path)
    site_before = tree_digest(settings.site_dir)
    period = json.loads(next(settings.data_dir.glob("editions/*/manifest.json")).read_text())["period"]

    server.inject(fault, publisher)
    status, detail = ingest_one(settings, dataset)
    server.clear()
    other_status, other_detail = ingest_one(settings, other)
    assert server.log.applied, "the fault was never applied"

    edition = None
    if "loaded" in (status, other_status):  # the flow rebuilds only when something new loaded
        steps.build(settings)
        publish(settings)
        edition = steps.build_bulletin(settings, today=DEMO_TODAY)

    after = observations(settings, dataset)
    rows_lost = len(set(before) - set(after))
    if status == "crashed":
        outcome, reason = f"crashed ({detail.split(':')[0]})", detail
    elif status == "failed":
        outcome, reason = FAILED, detail
    elif status == "unchanged":
        outcome, reason = RECOVERED, "loaded unchanged after retrying"
    elif edition is not None and not edition.published:
        outcome, reason = BLOCKED, "; ".join(edition.reasons)
    else:
        outcome, reason = "loaded and published", detail
    record(fault, publisher, outcome, re.sub(r"http://127\.0\.0\.1:\d+", "<replay>", reason), rows_lost)

    # Whatever happened: no value lost, the other publisher's dataset unaffected.
    assert rows_lost == 0
    assert other_status in ("unchanged", "loaded"), other_detail
    assert observations(settings, other) == other_before
    assert outcome == fault.expected, reason

    if outcome == FAILED:
        assert f"{publisher} / {dataset}:" in detail
        assert last_run(settings, dataset)[2] == "failed"
        assert after == before
        assert file_digest(settings.snapshot_path) == snapshot_before
        assert tree_digest(settings.site_dir) == site_before
    elif outcome == RECOVERED:
        assert after == before
        assert file_digest(settings.snapshot_path) == snapshot_before
        assert tree_digest(settings.site_dir) == site_before
    else:  # loaded, flagged, edition blocked: the published edition untouched and still reproducible
        assert edition is not None and not edition.published
        assert edition.period == period
        assert tree_digest(settings.site_dir) == site_before


@pytest.mark.slow
def test_a_blocked_draft_keeps_the_published_edition_reproducible(
    settings: Settings, server: FaultyReplayServer
) -> None:
    from reports.bulletin.publish import rebuild_edition
    from tests.reliability.faults import FAULTS_BY_NAME

    period = json.loads(next(settings.data_dir.glob("editions/*/manifest.json")).read_text())["period"]
    assert rebuild_edition(settings.data_dir, period) == {}
    server.inject(FAULTS_BY_NAME["negative_counts"], "nomis")
    assert ingest_one(settings, "business_counts")[0] == "loaded"
    steps.build(settings)
    publish(settings)
    edition = steps.build_bulletin(settings, today=DEMO_TODAY)
    assert not edition.published and edition.period == period
    assert rebuild_edition(settings.data_dir, period) == {}


def test_doc_lists_exactly_the_fault_matrix() -> None:
    """docs/reliability.md has one row per fault and publisher of the code's FAULTS, no more."""
    rows = set()
    for line in DOC.read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 5 and cells[1] in PUBLISHERS:
            rows.add((cells[0], cells[1]))
    assert rows == {(f.name, p) for f in FAULTS for p in PUBLISHERS}


def test_doc_lists_every_disk_and_mail_fault_as_expected() -> None:
    """docs/reliability.md has one row per fault of LOCAL_FAULTS, each last seen as expected."""
    rows = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] in LOCAL_FAULTS_BY_NAME:
            rows[cells[0]] = cells[3]
    assert rows == {fault.name: "as expected" for fault in LOCAL_FAULTS}
