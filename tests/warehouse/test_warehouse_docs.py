"""`docs/warehouse.md` is generated, current, complete, and its example queries run."""

from __future__ import annotations

import duckdb
import pytest

from flows.settings import Settings
from warehouse import docs
from warehouse.query import run_query
from warehouse.registry import load_registry


@pytest.fixture(scope="module")
def generated() -> str:
    return docs.generate()


def test_the_document_is_up_to_date(generated: str) -> None:
    assert docs.DOC_PATH.exists(), f"{docs.DOC_PATH} is missing: run `{docs.REGENERATE}`"
    on_disk = docs.DOC_PATH.read_text(encoding="utf-8")
    assert on_disk == generated, (
        f"docs/warehouse.md is out of date with the migrations, models or indicator registry: "
        f"run `{docs.REGENERATE}` and commit the result"
    )


def test_the_document_is_deterministic(generated: str) -> None:
    assert docs.generate() == generated
    assert "Regenerate with `.venv/bin/python -m warehouse.docs`" in generated


def test_every_table_and_view_appears(loaded_settings: Settings, generated: str) -> None:
    with duckdb.connect(str(loaded_settings.snapshot_path), read_only=True) as con:
        relations = docs.catalog(con)
    names = {relation.name for relation in relations}
    assert {"observation", "vintage", "fetch_log", "indicator", "indicator_value"} <= names
    assert any(name.startswith("stg_") for name in names)
    for relation in relations:
        heading = f"#### `{relation.name}` ({relation.kind})\n"
        assert heading in generated, f"{relation.name} is not documented"
        section = generated.split(heading)[1].split("\n#### ")[0]
        for column in relation.columns:
            row = f"| `{column.name}` | {column.data_type} |"
            assert row in section, f"{relation.name}.{column.name} is not documented"
    # Nothing is left in the catch-all group: every table has a home.
    assert "### Other" not in generated


def test_migration_column_comments_are_carried(generated: str) -> None:
    assert "| `raw_path` | VARCHAR | no | relative to the raw archive |" in generated
    # The indicator table was recreated by a later migration; its comments are the later ones.
    assert "| `aggregation` | VARCHAR | no | sum / ratio" in generated


def test_every_indicator_appears(generated: str) -> None:
    registry = load_registry()
    assert registry
    for indicator in registry.values():
        assert f"| [`{indicator.id}`](#{indicator.id}) | {indicator.title} |" in generated, indicator.id
        assert f"#### {indicator.id}\n" in generated, indicator.id
        assert " ".join(indicator.definition.split()) in generated, f"{indicator.id}: definition"
        for caveat in indicator.caveats:
            assert f"- Caveat: {' '.join(caveat.split())}" in generated, f"{indicator.id}: caveat"


def test_there_are_six_to_eight_example_queries(generated: str) -> None:
    assert 6 <= len(docs.EXAMPLE_QUERIES) <= 8
    for example in docs.EXAMPLE_QUERIES:
        assert example.sql + ";\n```" in generated


@pytest.mark.parametrize("example", docs.EXAMPLE_QUERIES, ids=lambda e: e.title)
def test_example_query_runs_on_the_snapshot(loaded_settings: Settings, example: docs.ExampleQuery) -> None:
    result = run_query(loaded_settings.snapshot_path, example.sql)
    assert result.columns


def test_example_queries_answer_from_the_fixtures(loaded_settings: Settings) -> None:
    by_title = {example.title: example.sql for example in docs.EXAMPLE_QUERIES}
    councils = run_query(
        loaded_settings.snapshot_path, by_title["Latest claimant rate for every WMCA council"]
    )
    assert len(councils.rows) == 7 and all(row[2] is not None for row in councils.rows)

    provenance = run_query(loaded_settings.snapshot_path, by_title["Where a figure came from"])
    rows = [dict(zip(provenance.columns, row, strict=True)) for row in provenance.rows]
    assert {row["dataset"] for row in rows} == {"claimant_count", "population"}
    assert all(len(row["sha256"]) == 64 and row["url"].startswith("http") for row in rows)
