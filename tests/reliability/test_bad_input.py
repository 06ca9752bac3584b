"""Bad input: each a clear error (no traceback), a non-zero exit, and the data directory unchanged."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.settings import Settings
from sources import catalog

runner = CliRunner()


def digest_tree(folder: Path) -> dict[str, str]:
    out = {}
    if folder.is_file():
        return {".": hashlib.sha256(folder.read_bytes()).hexdigest()}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            out[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def data_dir(demo_data_dir: Settings, eim_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the demo data directory (warehouse and snapshot), the EIM_ environment pointing at it."""
    shutil.copytree(demo_data_dir.data_dir, eim_env, symlinks=True)
    monkeypatch.setenv("EIM_DEMO", "true")
    before = digest_tree(eim_env)
    yield eim_env
    assert digest_tree(eim_env) == before, "bad input changed the data directory"


def assert_clear_error(result, *needles: str) -> None:
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "Error" in result.output, result.output
    for needle in needles:
        assert needle in result.output, result.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["bulletin", "--period", "2026-13"], "invalid edition '2026-13'"),
        (["bulletin", "--period", "26-10"], "invalid edition"),
        (["bulletin", "--rebuild", "2026-00"], "invalid edition"),
        (["send", "2026-99"], "invalid edition '2026-99'"),
        (["run", "-d", "nope"], "unknown dataset 'nope'"),
        (["ingest", "-d", "nope"], "unknown dataset 'nope'"),
        (["indicators", "--area", "E99999999"], "unknown area 'E99999999'"),
    ],
)
def test_invalid_arguments(data_dir: Path, args: list[str], needle: str) -> None:
    assert_clear_error(runner.invoke(app, args), needle)


def test_unknown_area_setting(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EIM_AREA", "atlantis")
    for command in (["run"], ["ingest"], ["indicators"], ["status"]):
        result = runner.invoke(app, command)
        assert_clear_error(result, "EIM_AREA='atlantis' is not valid", "packaged areas: england, ")
        assert result.exit_code == 2


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM observation",
        "DROP TABLE observation",
        "UPDATE observation SET value = 0",
        "INSERT INTO area SELECT * FROM area",
        "CREATE TABLE evil AS SELECT 1",
        "SELECT 1; DROP TABLE observation",
        "WITH x AS (SELECT 1) DELETE FROM observation",
        "COPY observation TO '{outside}/stolen.csv'",
        "ATTACH '{outside}/other.duckdb' AS other",
        "SELECT * FROM read_csv('{outside}/x.csv'); CREATE TABLE t(a INT)",
        "INSTALL httpfs",
        "PRAGMA memory_limit='1GB'",
        "SET threads = 1",
        "EXPORT DATABASE '{outside}/export'",
        "CHECKPOINT",
    ],
)
def test_query_refuses_writes(data_dir: Path, tmp_path: Path, sql: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    result = runner.invoke(app, ["query", sql.format(outside=outside)])
    assert_clear_error(result)
    assert list(outside.iterdir()) == []


def test_area_file_that_does_not_exist(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EIM_AREA_FILE", "/nonexistent/areas.yaml")
    assert_clear_error(runner.invoke(app, ["run"]), "/nonexistent/areas.yaml")


def test_area_file_with_bad_yaml(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n  focus: {")
    monkeypatch.setenv("EIM_AREA_FILE", str(bad))
    assert_clear_error(runner.invoke(app, ["run"]), str(bad))


def test_area_file_with_a_duplicated_code(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from warehouse.geography import AREAS

    text = (AREAS / "west-midlands.yaml").read_text()
    entry = "  - {code: E07000218, name: North Warwickshire, level: council}\n"
    assert entry in text
    duplicated = text.replace(entry, entry + entry.replace("North Warwickshire", "North Warwickshire again"))
    path = tmp_path / "dup.yaml"
    path.write_text(duplicated)
    from warehouse.geography import AreaFileError, load_area_file

    with pytest.raises(AreaFileError, match="E07000218"):
        load_area_file(None, path)


def test_an_area_file_with_bad_codes_and_unknown_keys_gets_one_line_per_problem(
    eim_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bad-area.yaml"
    path.write_text(
        "name: Test\nfocus: E47000007\nroles: {region: E12000005, england: E92000001, uk: K02000001}\n"
        "colour: red\nareas:\n"
        "  - {code: E47000007, name: WMCA, level: combined_authority}\n"
        "  - {code: X123, name: Bad, level: council}\n"
        "  - {code: E12000005, name: WM, level: region, population: 3}\n"
    )
    monkeypatch.setenv("EIM_AREA_FILE", str(path))
    result = runner.invoke(app, ["run"])
    assert_clear_error(result)
    assert result.output.strip().splitlines() == [
        f"Error: area file {path}: areas[2].code: 'X123' is not a GSS code (e.g. E08000025) or a LOCAL- code",
        f"Error: area file {path}: areas[3].population: not a key an area file may have",
        f"Error: area file {path}: colour: not a key an area file may have",
    ]
    assert not eim_env.exists()


def test_data_dir_that_is_a_file(eim_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    eim_env.parent.mkdir(parents=True, exist_ok=True)
    eim_env.write_text("not a folder\n")
    before = digest_tree(eim_env)
    for args in (["query", "SELECT 1"], ["indicators"], ["bulletin"], ["sources"]):
        assert_clear_error(runner.invoke(app, args))
    assert digest_tree(eim_env) == before


@pytest.fixture
def bad_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "catalog.yaml"
    monkeypatch.setattr(catalog, "CATALOG_PATH", path)
    # load_catalog's default argument was bound when the module was imported: point it at the file too.
    monkeypatch.setattr(catalog.load_catalog, "__defaults__", (path,))
    catalog.default_catalog.cache_clear()
    yield path
    catalog.default_catalog.cache_clear()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("datasets: [unclosed\n", "cannot read catalog"),
        ("- just a list\n", "expected a mapping"),
        ("datasets:\n  x:\n    publisher: nobody\n    title: t\n", "is malformed"),
        ("datasets:\n  x:\n    publisher: nomis\n    unexpected: 1\n", "is malformed"),
    ],
)
def test_malformed_catalog(bad_catalog: Path, data_dir: Path, text: str, needle: str) -> None:
    bad_catalog.write_text(text)
    with pytest.raises(catalog.CatalogError, match=needle) as raised:
        catalog.load_catalog(catalog.CATALOG_PATH)
    assert str(bad_catalog) in str(raised.value)
    catalog.default_catalog.cache_clear()
    assert_clear_error(runner.invoke(app, ["run", "-d", "claimant_count"]), str(bad_catalog))


@pytest.mark.parametrize("damage", ["truncated", "last data block cut", "overwritten"])
def test_a_damaged_warehouse_is_named_in_one_line_and_the_snapshot_stays_intact(
    demo_data_dir: Settings, eim_env: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    shutil.copytree(demo_data_dir.data_dir, eim_env, symlinks=True)
    monkeypatch.setenv("EIM_DEMO", "true")
    warehouse = eim_env / "warehouse.duckdb"
    if damage == "truncated":
        os.truncate(warehouse, warehouse.stat().st_size // 2)
    elif damage == "last data block cut":  # opens and migrates: only the tables' blocks tell
        with duckdb.connect(str(warehouse), read_only=True) as con:
            (block_size,) = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()
            (last,) = con.execute(
                "SELECT max(block_id) FROM pragma_storage_info('observation') WHERE persistent"
            ).fetchone()
        os.truncate(warehouse, 3 * 4096 + last * block_size + block_size // 2)
    else:
        warehouse.write_bytes(b"not a database\n" * 100)
    before = digest_tree(eim_env)
    # Reading commands meet the damage when they read a lost block (`_reading`); `eim run` checks the
    # whole file first, since it would write into it: a copy missing only its last data block is
    # caught by that check alone.
    commands = [["run", "--quiet"]] + (
        [] if damage == "last data block cut" else [["status"], ["sources"], ["checks"]]
    )
    for args in commands:
        result = runner.invoke(app, args)
        assert_clear_error(result, f"{warehouse} is damaged", "the published snapshot among them")
        assert len(result.output.strip().splitlines()) == 1, result.output
    (eim_env / "writer.lock").unlink(missing_ok=True)  # the run took the lock (an empty file) first
    assert digest_tree(eim_env) == before
    queried = runner.invoke(app, ["query", "SELECT count(*) FROM indicator_value"])
    assert queried.exit_code == 0, queried.output
