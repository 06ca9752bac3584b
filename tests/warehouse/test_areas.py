"""Area files: Greater Manchester as the focus (EIM_AREA=greater-manchester), and the areas' structure.

The GMCA (E47000001) figures are computed from its ten councils E08000001..E08000010 in the fixtures
gm-NM_162_1.data.csv and gm-NM_2002_1.data.csv, served at Nomis's paths for NM_162_1 and NM_2002_1.
Claimants, October 2026: Bolton 8,000, Bury 4,000, Manchester 25,000, Oldham 7,000, Rochdale 7,500,
Salford 8,500, Stockport 5,000, Tameside 6,000, Trafford 3,500, Wigan 7,500 = 82,000; September 2026
each 100 fewer: 82,000 - 10 x 100 = 81,000. Residents aged 16-64, mid-2025: 190,000 + 120,000 +
400,000 + 150,000 + 140,000 + 190,000 + 180,000 + 145,000 + 145,000 + 210,000 = 1,870,000.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from flows.settings import Settings
from tests.fixture_publishers import build_warehouse, loopback_server, query, summary, value_at
from warehouse.geography import load_area_file

GMCA, WMCA, THREE_LEP, LICHFIELD = "E47000001", "E47000007", "LOCAL-WMCA-3LEP", "E07000194"
GM_COUNCILS = [f"E080000{n:02d}" for n in range(1, 11)]
WMCA_COUNCILS = [f"E080000{n}" for n in range(25, 32)]
GM_CLAIMANTS = 8_000 + 4_000 + 25_000 + 7_000 + 7_500 + 8_500 + 5_000 + 6_000 + 3_500 + 7_500
GM_RESIDENTS = (
    190_000 + 120_000 + 400_000 + 150_000 + 140_000 + 190_000 + 180_000 + 145_000 + 145_000 + 210_000
)


@pytest.fixture(scope="module")
def gm_settings(tmp_path_factory) -> Settings:
    with loopback_server() as publishers:
        publishers.serve_nomis("NM_162_1", "gm-NM_162_1.data.csv")
        publishers.serve_nomis("NM_2002_1", "gm-NM_2002_1.data.csv")
        return build_warehouse(
            tmp_path_factory.mktemp("gm") / "data",
            publishers.url,
            ("claimant_count", "population"),
            area="greater-manchester",
        )


def test_the_area_setting_selects_greater_manchester(gm_settings: Settings) -> None:
    assert gm_settings.area == "greater-manchester"
    roles = {r["role"]: r["code"] for r in query(gm_settings, "SELECT role, code FROM area_role")}
    assert roles["focus"] == GMCA and roles["region"] == "E12000002"


def test_gmca_claimant_count_is_the_sum_of_its_ten_councils(gm_settings: Settings) -> None:
    assert GM_CLAIMANTS == 82_000 and GM_RESIDENTS == 1_870_000
    gmca = summary(gm_settings, "claimant_count", GMCA)
    assert (gmca["period"], gmca["basis"], gmca["value"]) == ("2026-10", "computed", 82_000)
    assert gmca["previous_value"] == 81_000 and gmca["change_period"] == 1_000
    assert gmca["change_period_pct"] == pytest.approx(1_000 / 81_000 * 100)
    # the publisher's own GMCA figures in the fixture agree
    published = query(
        gm_settings,
        "SELECT period, value FROM stg_observation_latest WHERE series = 'claimant_count' "
        f"AND geography_code = '{GMCA}' ORDER BY period",
    )
    assert [(r["period"], r["value"]) for r in published] == [("2026-09", 81_000), ("2026-10", 82_000)]


def test_gmca_claimant_rate_is_total_claimants_over_total_residents(gm_settings: Settings) -> None:
    """82,000 / 1,870,000 = 4.3850%; September 81,000 / 1,870,000 = 4.3316%."""
    gmca = summary(gm_settings, "claimant_rate", GMCA)
    assert gmca["value"] == pytest.approx(82_000 / 1_870_000 * 100)
    assert gmca["change_period"] == pytest.approx(1_000 / 1_870_000 * 100)
    assert value_at(gm_settings, "claimant_rate", GMCA, "2026-09")["value"] == pytest.approx(
        81_000 / 1_870_000 * 100
    )


def test_the_gm_warehouse_has_gmca_with_its_ten_councils(gm_settings: Settings) -> None:
    members = query(gm_settings, f"SELECT member_code FROM area_member WHERE composite_code = '{GMCA}'")
    assert sorted(r["member_code"] for r in members) == GM_COUNCILS


def test_wmca_3lep_area_counts_19_councils_each_once() -> None:
    areas = load_area_file("west-midlands")
    three_lep = areas.by_code[THREE_LEP]
    counts = Counter(three_lep.members)
    assert len(three_lep.members) == 19 and len(counts) == 19
    assert counts[LICHFIELD] == 1
    assert set(WMCA_COUNCILS) <= set(three_lep.members)
    assert areas.by_code[LICHFIELD].name == "Lichfield"
    assert list(areas.by_code[WMCA].members) == WMCA_COUNCILS
    assert areas.focus == WMCA


def test_the_warehouse_stores_the_3lep_area_once_per_member(indicator_settings: Settings) -> None:
    rows = query(
        indicator_settings,
        f"SELECT member_code, count(*) AS n FROM area_member WHERE composite_code = '{THREE_LEP}' GROUP BY 1",
    )
    assert len(rows) == 19 and {r["n"] for r in rows} == {1}
    assert {r["member_code"]: r["n"] for r in rows}[LICHFIELD] == 1
    (lichfield,) = query(indicator_settings, f"SELECT count(*) AS n FROM area WHERE code = '{LICHFIELD}'")
    assert lichfield["n"] == 1


def test_a_composite_with_members_missing_is_missing_not_partial(indicator_settings: Settings) -> None:
    """The fixtures have claimants for the WMCA's seven councils only: the 3-LEP area (19 councils) is
    missing, not the seven councils' 119,000."""
    row = value_at(indicator_settings, "claimant_count", THREE_LEP, "2026-10")
    assert (row["value"], row["status"]) == (None, "missing")


def test_the_greater_manchester_file_lists_gmca_and_its_councils() -> None:
    areas = load_area_file("greater-manchester")
    assert areas.focus == GMCA
    assert list(areas.by_code[GMCA].members) == GM_COUNCILS
    assert set(areas.rank_sets["combined_authorities"]) >= {GMCA, WMCA}
    assert len(areas.rank_sets["regions"]) == 12


def test_a_custom_area_file_needs_no_code_change(eim_env: Path, tmp_path: Path, monkeypatch) -> None:
    """EIM_AREA_FILE: a file of one's own, here the Black Country councils, using the comparators."""
    from flows import steps
    from flows.settings import Settings

    custom = tmp_path / "black-country.yaml"
    custom.write_text(
        "name: Black Country\n"
        "include: [comparators]\n"
        "focus: LOCAL-BLACK-COUNTRY\n"
        "roles: {region: E12000005, england: E92000001, uk: K02000001}\n"
        "areas:\n"
        "  - {code: LOCAL-BLACK-COUNTRY, name: Black Country, level: lep_area,\n"
        "     members: [E08000027, E08000028, E08000030, E08000031]}\n"
    )
    monkeypatch.setenv("EIM_AREA_FILE", str(custom))
    areas = steps.areas_for(Settings())
    assert areas.focus == "LOCAL-BLACK-COUNTRY"
    assert areas.by_code["LOCAL-BLACK-COUNTRY"].members == (
        "E08000027",
        "E08000028",
        "E08000030",
        "E08000031",
    )
    assert areas.bulletin[0] == "LOCAL-BLACK-COUNTRY" and "E12000001" in areas.rank_sets["regions"]


def test_the_area_and_registry_tables_are_written_only_when_they_change(tmp_path: Path, monkeypatch) -> None:
    """Every run writes the areas and the registry; a table that holds its rows already is left
    alone, and another area set replaces every row."""
    from warehouse import db
    from warehouse.geography import write_areas
    from warehouse.registry import load_registry, write_registry

    written: list[str] = []
    insert_rows = db.insert_rows
    monkeypatch.setattr(
        db,
        "insert_rows",
        lambda con, table, rows, **kw: (written.append(table), insert_rows(con, table, rows, **kw)),
    )
    west_midlands, greater_manchester = load_area_file("west-midlands"), load_area_file("greater-manchester")
    with db.connect(tmp_path / "warehouse.duckdb") as con:
        write_areas(con, west_midlands)
        write_registry(con, load_registry())
        assert written == ["area", "area_member", "area_role", "area_set", "indicator"]
        written.clear()
        write_areas(con, west_midlands)
        write_registry(con, load_registry())
        assert written == []
        write_areas(con, greater_manchester)
        assert written == ["area", "area_member", "area_role", "area_set"]
        codes = {row[0] for row in con.execute("SELECT code FROM area").fetchall()}
        assert codes == {area.code for area in greater_manchester.areas}
        assert con.execute("SELECT code FROM area_role WHERE role = 'focus'").fetchone() == (GMCA,)
