"""Loading vintages: idempotent, and a revision is a new row beside the old one."""

from __future__ import annotations

from flows import steps
from flows.settings import Settings
from tests.conftest import FIXTURES, NomisFixtureServer
from tests.fixture_publishers import fetch_and_load
from warehouse import db


def _count(settings: Settings, sql: str) -> int:
    with db.connect(settings.warehouse_path) as con:
        return con.execute(sql).fetchone()[0]


def test_loading_the_same_body_twice_changes_nothing(fixture_settings: Settings) -> None:
    steps.prepare_warehouse(fixture_settings)
    first = fetch_and_load(fixture_settings, "claimant_count")
    second = fetch_and_load(fixture_settings, "claimant_count")

    assert (first.rows_new, first.unchanged) == (80, False)
    assert (second.rows_new, second.unchanged) == (0, True)
    assert second.vintage_id == first.vintage_id
    assert _count(fixture_settings, "SELECT count(*) FROM observation") == 80
    assert _count(fixture_settings, "SELECT count(*) FROM vintage") == 1
    # Both fetches are kept as provenance; the second was a 304.
    assert _count(fixture_settings, "SELECT count(*) FROM fetch_log WHERE status = 304") == 1


def test_a_revised_value_is_a_new_row_and_the_old_one_stays(
    fixture_settings: Settings, nomis_server: NomisFixtureServer
) -> None:
    steps.prepare_warehouse(fixture_settings)
    fetch_and_load(fixture_settings, "claimant_count")
    revised = (
        (FIXTURES / "nomis" / "NM_162_1.data.csv")
        .read_text()
        .replace(
            ",Claimant count,1,measure,0,1,20100,Value,59000,",
            ",Claimant count,1,measure,0,1,20100,Value,59100,",
        )
    )
    nomis_server.serve("NM_162_1", revised)
    result = fetch_and_load(fixture_settings, "claimant_count")

    assert (result.rows_new, result.unchanged) == (1, False)
    assert _count(fixture_settings, "SELECT count(*) FROM observation") == 81
    steps.build(fixture_settings)
    with db.connect(fixture_settings.warehouse_path) as con:
        revisions = con.execute(
            "SELECT geography_code, period, old_value, new_value FROM stg_observation_revision"
        ).fetchall()
        latest = con.execute(
            "SELECT value FROM stg_observation_latest WHERE series = 'claimant_count' "
            "AND geography_code = 'E08000025' AND period = '2026-09'"
        ).fetchone()[0]
    assert revisions == [("E08000025", "2026-09", 59000.0, 59100.0)]
    assert latest == 59100.0


def test_provenance_is_recorded(fixture_settings: Settings) -> None:
    steps.prepare_warehouse(fixture_settings)
    fetch_and_load(fixture_settings, "population")
    with db.connect(fixture_settings.warehouse_path) as con:
        url, params, status, sha, raw_path, size = con.execute(
            "SELECT url, params, status, sha256, raw_path, bytes FROM fetch_log"
        ).fetchone()
    body = (FIXTURES / "nomis" / "NM_2002_1.data.csv").read_bytes()
    assert url.endswith("/api/v01/dataset/NM_2002_1.data.csv")
    assert '"c_age": "200,203,117,118,119,120,121,122,123,124,125"' in params
    assert status == 200 and size == len(body)
    assert (fixture_settings.raw_dir / raw_path).read_bytes() == body
    assert raw_path == f"nomis/population/{sha}.csv"


def test_demo_and_live_data_never_mix(fixture_settings: Settings) -> None:
    steps.prepare_warehouse(fixture_settings)
    fetch_and_load(fixture_settings, "population")
    demo = fixture_settings.model_copy(update={"demo": True})
    try:
        steps.prepare_warehouse(demo)
    except db.WarehouseError as error:
        assert "holds live data and this is a demo run" in str(error)
    else:
        raise AssertionError("a demo run was allowed into a live warehouse")


def test_a_data_directory_that_loaded_nothing_yet_takes_the_kind_of_the_next_run(
    fixture_settings: Settings,
) -> None:
    """A first `eim run` that fetched nothing (offline) does not make the folder live for good."""
    demo = fixture_settings.model_copy(update={"demo": True})
    steps.prepare_warehouse(fixture_settings)
    steps.prepare_warehouse(demo)
    steps.prepare_warehouse(fixture_settings)
    fetch_and_load(fixture_settings, "population")
    with db.connect(fixture_settings.warehouse_path) as con:
        assert db.get_meta(con, steps.DATA_MODE_KEY) == "live"
