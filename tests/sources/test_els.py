"""ONS Explore Local Statistics: every real file of ../shared read as published, the metadata's two
shapes, the fetch over loopback with its conditional requests, and each format fault failing loudly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sources import els
from sources.catalog import default_catalog
from sources.errors import PublisherFormatError
from sources.http import make_client
from tests.conftest import FAST_HTTP, REAL_SAMPLES
from warehouse.registry import load_registry

REAL = REAL_SAMPLES / "els"
SPECS = {spec.id: spec for spec in default_catalog().datasets.values() if spec.publisher == "els"}


def real(spec_id: str) -> list[Path]:
    spec = SPECS[spec_id]
    paths = [REAL / f"{spec.source_id}.csv", REAL / f"{spec.source_id}.json"]
    if not all(path.exists() for path in paths):
        pytest.skip(f"the real ELS files are not here ({REAL}): ../shared is absent")
    return paths


def value(frame, series: str, code: str, period: str) -> tuple:
    (row,) = frame[
        (frame.series == series) & (frame.geography_code == code) & (frame.period == period)
    ].itertuples()
    return row.value, (None if row.lower is None or str(row.lower) == "<NA>" else row.lower), row.upper


@pytest.mark.parametrize("spec_id", sorted(SPECS))
def test_every_real_file_parses_with_its_metadata(spec_id: str) -> None:
    paths = real(spec_id)
    frame = els.parse(SPECS[spec_id], paths)
    described = els.metadata(SPECS[spec_id], paths)
    assert set(frame.series) == {s.name for s in SPECS[spec_id].series}
    assert set(described["series"]) == {s.name for s in SPECS[spec_id].series}
    assert described["source_date"] is not None
    assert frame.geography_code.str.fullmatch(r"[EWSNK]\d{8}").all()


def test_real_values_for_named_areas_and_periods() -> None:
    hle = els.parse(SPECS["els_healthy_life_expectancy"], real("els_healthy_life_expectancy"))
    # "2022-01-01/P3Y" is 2022 to 2024: the WMCA's published row, with its interval.
    assert value(hle, "hle_male", "E47000007", "2022")[:2] == (58.2, 56.9)
    assert value(hle, "hle_male", "K02000001", "2022")[:2] == (60.7, 60.5)
    gva = els.parse(SPECS["els_gross_value_added"], real("els_gross_value_added"))
    assert value(gva, "gva_per_filled_job", "E47000007", "2023")[0] == 56318.53515625
    gigabit = els.parse(SPECS["els_gigabit"], real("els_gigabit"))  # a bare date: its month
    assert value(gigabit, "gigabit_coverage", "E47000007", "2026-01")[0] == 95.9
    ks2 = els.parse(SPECS["els_key_stage_2"], real("els_key_stage_2"))  # 2024-09-01/P1Y: 2024/25
    assert value(ks2, "ks2_expected_standard", "E47000007", "2024")[0] == 62.0


def test_the_metadata_of_one_indicator_and_of_several() -> None:
    one = els.metadata(SPECS["els_gdhi_per_head"], real("els_gdhi_per_head"))
    assert one["series"]["gdhi_per_head"]["decimal_places"] == 0
    assert one["series"]["gdhi_per_head"]["experimental"] is False
    assert one["source_date"] == "2025-09-10"
    several = els.metadata(SPECS["els_gross_value_added"], real("els_gross_value_added"))
    assert several["series"]["gva_per_hour"]["decimal_places"] == 1  # its own entry
    assert several["series"]["gva_per_filled_job"]["decimal_places"] == 0
    assert several["series"]["gva_per_hour"]["experimental"] is True  # shared
    homicide = els.metadata(SPECS["els_homicide"], real("els_homicide"))
    assert homicide["source_date"] == "2026-02-05"  # the later of "05/02/2026|28/11/2025"


def test_columns_in_another_order_and_an_area_at_two_levels_are_read() -> None:
    wellbeing = els.parse(SPECS["els_wellbeing"], real("els_wellbeing"))  # measure before observation
    assert not wellbeing.empty
    culture = els.parse(SPECS["els_culture"], real("els_culture"))  # GM as CA and as ITL2
    assert value(culture, "engaged_with_arts", "E47000001", "2023")[0] == 88


def write(tmp_path: Path, spec_id: str, csv_text: str, meta: str | None = None) -> list[Path]:
    spec = SPECS[spec_id]
    data, notes = tmp_path / f"{spec.source_id}.csv", tmp_path / f"{spec.source_id}.json"
    data.write_text(csv_text, encoding="utf-8")
    notes.write_text(
        meta or '{"_note": "x", "ess-beta-metadata": {"label": "x", "sourceDate": "01/02/2026"}}'
    )
    return [data, notes]


HEADER = ",".join(els.EXPECTED_COLUMNS)
ROW = (
    "E47000007,West Midlands,Combined Authority or City Region,Gigabit capable broadband,"
    "{period},{value},Percentage,%,,,,"
)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            HEADER.replace(",notes", ",comment") + "\n" + ROW.format(period="2026-01-01", value="95.9"),
            "new: ['comment']",
        ),
        (HEADER + "\n" + ROW.format(period="2026-01-01/P1Y", value="95.9"), "not of the shape 'date'"),
        (HEADER + "\n" + ROW.format(period="2026-01-01", value="high"), "not a number"),
        (
            HEADER
            + "\n"
            + ROW.format(period="2026-01-01", value="95.9")
            + "\n"
            + ROW.format(period="2026-01-01", value="96.0").replace(
                "Combined Authority or City Region", "ITL Level 2"
            ),
            "another row 95.9",
        ),
        (
            HEADER
            + "\n"
            + ROW.format(period="2026-01-01", value="95.9")
            + "\n"
            + ROW.format(period="2026-01-01", value="95.9"),
            "duplicated rows, e.g. gigabit_coverage for E47000007 (Combined Authority or City Region)",
        ),
        (
            HEADER + "\n" + ROW.format(period="2026-01-01", value="95.9").replace("Gigabit", "Superfast"),
            "no rows for indicator",
        ),
        (
            HEADER + "\n" + ROW.format(period="2026-01-01", value="95.9").replace(",%,", ",mbps,"),
            "the unit is 'mbps'",
        ),
    ],
    ids=["column set", "period shape", "value", "two figures", "one row twice", "indicator", "unit"],
)
def test_a_format_fault_fails_naming_the_file(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(PublisherFormatError) as error:
        els.parse(SPECS["els_gigabit"], write(tmp_path, "els_gigabit", text + "\n"))
    assert "network" not in str(error.value) and "gigabit-capable-broadband.csv" in str(error.value)
    assert named in str(error.value)


def test_metadata_that_does_not_describe_the_series_fails(tmp_path: Path) -> None:
    paths = write(tmp_path, "els_gross_value_added", HEADER + "\n", '{"ess-beta-metadata": {"shared": {}}}')
    with pytest.raises(
        PublisherFormatError, match="describes no indicator 'Gross value added per hour worked'"
    ):
        els.metadata(SPECS["els_gross_value_added"], paths)
    paths = write(tmp_path, "els_gross_value_added", HEADER + "\n", "<html>moved</html>")
    with pytest.raises(PublisherFormatError, match="is not ELS metadata"):
        els.metadata(SPECS["els_gross_value_added"], paths)


def test_iso_periods_map_onto_the_warehouse_periods() -> None:
    assert els.warehouse_period("01/P3Y", "2022-01-01/P3Y") == "2022"
    assert els.warehouse_period("04/P1Y", "2024-04-01/P1Y") == "2024"
    assert els.warehouse_period("04/P1Y", "2024-01-01/P1Y") is None
    assert els.warehouse_period("P1M", "2025-12-01/P1M") == "2025-12"
    assert els.warehouse_period("date", "2025-04-30") == "2025-04"


def test_every_registry_indicator_labels_its_period_as_the_catalog_declares_it() -> None:
    """The catalog's `MM/PnY` and the registry's `year_starts` and `years` must agree, else a
    label would name the wrong months."""
    for indicator in load_registry().values():
        spec = SPECS.get(indicator.source.dataset) if indicator.source else None
        if spec is None:
            continue
        (series,) = [s for s in spec.series if s.name == indicator.source.series]
        if shape := els.YEARS_SHAPE.fullmatch(series.match["period"]):
            assert (indicator.year_starts, indicator.years) == (int(shape[1]), int(shape[2])), indicator.id


def test_the_fetch_gets_both_files_conditionally_from_loopback(httpserver, tmp_path: Path) -> None:
    paths = real("els_gigabit")
    for path in paths:
        httpserver.expect_request(f"/gigabit-capable-broadband/{path.name}").respond_with_data(
            path.read_bytes(), headers={"ETag": f'"{path.suffix}"'}
        )
    raw = tmp_path / "raw"
    with make_client(FAST_HTTP) as client:
        pages = els.fetch(
            client,
            FAST_HTTP,
            base_url=httpserver.url_for("/"),
            spec=SPECS["els_gigabit"],
            geography_codes=[],
            raw_dir=raw,
            previous=lambda key: None,
        )
    assert [p.path.suffix for p in pages] == [".csv", ".json"]
    assert (
        pages[0].record["release_date"] == "2026-05-13" and pages[0].record["version"] == "19/05/2026 14:31"
    )
    assert pages[0].path.read_bytes() == paths[0].read_bytes()  # archived unchanged
    shutil.rmtree(raw)


def test_the_registry_prints_each_metric_as_ons_does_and_labels_its_status_alike() -> None:
    """Decimal places and experimental status as the real metadata files state them."""
    for indicator in load_registry().values():
        spec = SPECS.get(indicator.source.dataset) if indicator.source else None
        if spec is None:
            continue
        described = els.metadata(spec, real(spec.id))["series"][indicator.source.series]
        assert indicator.decimals == described["decimal_places"], indicator.id
        assert (indicator.statistical_status == "in_development") == described["experimental"], indicator.id


def test_the_fetch_hands_each_series_metadata_to_the_load(httpserver, tmp_path: Path) -> None:
    """Read once with the fetch: the load stores what the data page's record carries."""
    from flows.steps import FetchOutcome, series_metadata

    for path in real("els_gross_value_added"):
        httpserver.expect_request(f"/gross-value-added/{path.name}").respond_with_data(path.read_bytes())
    with make_client(FAST_HTTP) as client:
        pages = els.fetch(
            client,
            FAST_HTTP,
            base_url=httpserver.url_for("/"),
            spec=SPECS["els_gross_value_added"],
            geography_codes=[],
            raw_dir=tmp_path / "raw",
            previous=lambda key: None,
        )
    rows = {
        row["series"]: row for row in series_metadata(FetchOutcome("els_gross_value_added", "els", pages))
    }
    assert set(rows) == {"gva_per_hour", "gva_per_filled_job"}
    assert (rows["gva_per_hour"]["decimal_places"], rows["gva_per_hour"]["experimental"]) == (1, True)
    assert rows["gva_per_hour"]["source_org"] == "Office for National Statistics"
