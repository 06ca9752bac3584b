"""A dataset fetched by its recent window (`recent` in the catalog): the claimant count asks for its
newest 13 months at a release and for the whole window at a full refresh."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from flows import steps
from flows.settings import Settings
from sources import nomis
from sources.archive import ArchivedPage
from sources.catalog import CatalogError, default_catalog, load_catalog
from sources.errors import PublisherFormatError
from sources.http import make_client
from sources.replay.server import ReplayServer
from tests.conftest import FAST_HTTP, FIXTURES, NomisFixtureServer
from warehouse import db
from warehouse.geography import load_area_file

CLAIMANT = default_catalog().get("claimant_count")
OLDER, NEWEST = "latestMINUS84-latestMINUS13", "latestMINUS12-latest"
RELEASE_MONTH = dt.date(2026, 10, 20)
NEXT_RELEASE_MONTH = dt.date(2026, 11, 20)


def test_the_claimant_count_asks_for_its_older_periods_and_its_newest_13_months() -> None:
    full, recent = CLAIMANT.request_queries(full=True), CLAIMANT.request_queries(full=False)

    assert [q["time"] for q in full] == [OLDER, NEWEST]
    assert [q["time"] for q in recent] == [NEWEST]
    assert all(
        {k: v for k, v in q.items() if k != "time"}
        == {k: v for k, v in CLAIMANT.query.items() if k != "time"}
        for q in full + recent
    )
    other = default_catalog().get("annual_population_survey")
    assert other.recent is None and other.request_queries(full=False) == [other.query]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (
            lambda d: d.update(publisher="ons_web", sums=[]),
            "needs a Nomis query whose time is latestMINUSn-latest",
        ),
        (lambda d: d["query"].update(time="latest"), "needs a Nomis query whose time is latestMINUSn-latest"),
        (lambda d: d["query"].update(time="latestMINUS12-latest"), "not shorter than the whole window"),
        (lambda d: d["recent"].update(full_refresh_days=400), "could leave a month unasked .* at most 336"),
    ],
)
def test_a_recent_window_that_cannot_work_is_refused(tmp_path: Path, change, needle: str) -> None:
    raw = yaml.safe_load(Path("sources/catalog.yaml").read_text())
    change(raw["datasets"]["claimant_count"])
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(CatalogError, match=needle):
        load_catalog(path)


# Against the fixture server: the mode of a fetch follows when the older periods were confirmed.


def _fetch(
    server: NomisFixtureServer, raw_dir: Path, previous=lambda key: None, **options
) -> list[ArchivedPage]:
    with make_client(FAST_HTTP) as client:
        return nomis.fetch(
            client,
            FAST_HTTP,
            base_url=server.url,
            spec=CLAIMANT,
            geography_codes=["E08000025"],
            raw_dir=raw_dir,
            previous=previous,
            **options,
        )


def _times(pages: list[ArchivedPage]) -> list[str]:
    """The `time` each page was asked for, as its provenance record states."""
    return list(dict.fromkeys(page.record["params"]["time"] for page in pages))


def _confirmed(pages: list[ArchivedPage], at: dt.datetime) -> dict[str, ArchivedPage]:
    """`previous` as a run builds it from the fetch log: each request's page, confirmed `at`."""
    return {p.record["request_key"]: ArchivedPage(p.path, {**p.record, "confirmed_at": at}) for p in pages}


def test_older_periods_confirmed_lately_are_not_asked_for(
    nomis_server: NomisFixtureServer, tmp_path: Path
) -> None:
    nomis_server.serve_fixture("NM_162_1")
    first = _fetch(nomis_server, tmp_path)
    assert [r["time"] for r in nomis_server.requests] == [OLDER, NEWEST]
    assert _times(first) == [OLDER, NEWEST]

    nomis_server.requests.clear()
    again = _fetch(
        nomis_server, tmp_path, _confirmed(first, dt.datetime.now(dt.UTC) - dt.timedelta(days=90)).get
    )

    assert [r["time"] for r in nomis_server.requests] == [NEWEST]
    assert [p.record["status"] for p in again] == [304]
    assert _times(again) == [NEWEST]


@pytest.mark.parametrize(("days_ago", "forced"), [(91, False), (0, True)])
def test_older_periods_are_asked_for_again_when_due_or_forced(
    nomis_server: NomisFixtureServer, tmp_path: Path, days_ago: int, forced: bool
) -> None:
    nomis_server.serve_fixture("NM_162_1")
    first = _fetch(nomis_server, tmp_path)
    nomis_server.requests.clear()
    at = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    again = _fetch(nomis_server, tmp_path, _confirmed(first, at).get, full_refresh=forced)

    assert [r["time"] for r in nomis_server.requests] == [OLDER, NEWEST]
    assert _times(again) == [OLDER, NEWEST]


def _months(body: str, count: int) -> str:
    """The fixture's newest month as `count` consecutive months ending with it (RECORD_* renumbered)."""
    header, *rows = list(csv.reader(io.StringIO(body)))
    date = header.index("DATE")
    newest = [row for row in rows if row[date] == "2026-10"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    months = pd.period_range(end="2026-10", periods=count, freq="M")
    made = [
        [*row[:date], str(m), m.strftime("%B %Y"), str(m), *row[date + 3 :]] for m in months for row in newest
    ]
    for index, row in enumerate(made):
        row[header.index("RECORD_OFFSET")], row[header.index("RECORD_COUNT")] = str(index), str(len(made))
    writer.writerows(made)
    return out.getvalue()


def test_no_older_periods_behind_a_full_recent_window_fails_loudly(
    nomis_server: NomisFixtureServer, tmp_path: Path
) -> None:
    # Thirteen months and nothing before them: what a publisher that misread the older range would send.
    nomis_server.serve("NM_162_1", _months((FIXTURES / "nomis" / "NM_162_1.data.csv").read_text(), 13))
    with pytest.raises(PublisherFormatError, match=f"time={OLDER} returned no rows although the newest 13"):
        _fetch(nomis_server, tmp_path)


def test_a_dataset_younger_than_its_recent_window_has_no_older_periods(
    nomis_server: NomisFixtureServer, tmp_path: Path
) -> None:
    nomis_server.serve("NM_162_1", _months((FIXTURES / "nomis" / "NM_162_1.data.csv").read_text(), 12))
    pages = _fetch(nomis_server, tmp_path)
    frame = nomis.parse(CLAIMANT, [p.path for p in pages])

    assert nomis.header_only(pages[0].path.read_bytes())
    assert frame.period.nunique() == 12


# Against the replay server's Nomis, which has every month: what a run does with the warehouse.


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer.serving(load_area_file("west-midlands"), today=RELEASE_MONTH) as server:
        yield server


def _settings(monkeypatch: pytest.MonkeyPatch, server: ReplayServer, data_dir: Path) -> Settings:
    monkeypatch.setenv("EIM_NOMIS_URL", server.base_urls["nomis"])
    monkeypatch.setenv("EIM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("EIM_DEMO", "true")
    monkeypatch.setenv("EIM_QUIET", "true")
    settings = Settings()
    steps.prepare_warehouse(settings)
    return settings


def _fetch_and_load(settings: Settings) -> tuple[steps.FetchOutcome, steps.LoadResult]:
    history = steps.read_fetch_history(settings)
    outcome = steps.fetch_dataset(settings, "claimant_count", history.last_records("claimant_count"))
    if (unchanged := steps.unchanged(outcome, history)) is not None:
        return outcome, steps.record_unchanged_fetches(settings, [(outcome, unchanged)])[0]
    return outcome, steps.load_dataset(settings, outcome, steps.parse_dataset(outcome))


def _current(settings: Settings) -> pd.DataFrame:
    with db.connect(settings.warehouse_path) as con:
        return con.execute(
            """
            SELECT series, geography_code, period, value, status
            FROM observation o JOIN vintage v USING (vintage_id)
            WHERE o.dataset = 'claimant_count'
            QUALIFY row_number() OVER (
                PARTITION BY series, geography_code, period ORDER BY v.load_seq DESC) = 1
            ORDER BY ALL
            """
        ).df()


def _bodies(outcome: steps.FetchOutcome) -> int:
    return sum(page.record["status"] == 200 for page in outcome.pages)


def test_nothing_new_after_a_full_fetch_is_confirmed_by_a_304_of_the_newest_months(
    replay: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(monkeypatch, replay, tmp_path / "data")
    cold, loaded = _fetch_and_load(settings)
    again, result = _fetch_and_load(settings)

    assert _times(cold.pages) == [OLDER, NEWEST] and _times(again.pages) == [NEWEST]
    assert _bodies(again) == 0 and result.unchanged
    assert result.vintage_id == loaded.vintage_id  # the full vintage, whose newest part it confirmed
    with db.connect(settings.warehouse_path) as con:
        logged = con.execute(
            "SELECT status FROM fetch_log WHERE vintage_id = ? AND params LIKE ? ORDER BY fetched_at",
            [loaded.vintage_id, f"%{NEWEST}%"],
        ).fetchall()
    assert logged == [(200,), (304,)]
    # Loading those pages anyway (as `eim` never does once `unchanged` said so) adds no vintage either.
    forced = steps.load_dataset(settings, again, steps.parse_dataset(again))
    assert forced.unchanged and forced.vintage_id == loaded.vintage_id


def test_a_release_loads_the_newest_months_into_what_a_full_load_would_hold(
    replay: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    merged = _settings(monkeypatch, replay, tmp_path / "merged")
    _fetch_and_load(merged)
    replay.nomis.today = NEXT_RELEASE_MONTH
    release, result = _fetch_and_load(merged)

    assert _times(release.pages) == [NEWEST] and not result.unchanged
    assert result.rows_received * 6 < len(_current(merged))  # 13 months of the 86 held

    full = _settings(monkeypatch, replay, tmp_path / "full")
    _fetch_and_load(full)
    held, whole = _current(merged), _current(full)
    # The same figures as a full load at the new month, and the month that left the window kept.
    kept = held[held.period.isin(whole.period)].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, whole, check_exact=True)
    assert sorted(set(held.period) - set(whole.period)) == [min(held.period)]


def test_full_refresh_is_due_after_full_refresh_days(
    replay: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(monkeypatch, replay, tmp_path / "data")
    _fetch_and_load(settings)
    with db.connect(settings.warehouse_path) as con:
        con.execute("UPDATE fetch_log SET fetched_at = fetched_at - INTERVAL 91 DAY")
    refreshed, result = _fetch_and_load(settings)

    assert _times(refreshed.pages) == [OLDER, NEWEST] and result.unchanged and _bodies(refreshed) == 0
    recent, _ = _fetch_and_load(settings)
    assert _times(recent.pages) == [NEWEST]  # the 304s of the full refresh confirmed the older periods


def test_eim_full_refresh_asks_for_the_whole_window(
    replay: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(monkeypatch, replay, tmp_path / "data")
    _fetch_and_load(settings)
    monkeypatch.setenv("EIM_FULL_REFRESH", "true")
    forced, result = _fetch_and_load(Settings())

    assert _times(forced.pages) == [OLDER, NEWEST] and result.unchanged
