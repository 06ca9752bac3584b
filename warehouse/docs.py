"""Generate `docs/warehouse.md`: every table and view, the indicator registry, example queries.

The document is built from the warehouse's own catalog (so it cannot list a table that is not
there, or miss one that is), from the comments in the migration and model SQL, and from the
`indicator` table. It is deterministic: the same schema and registry give the same bytes.

Regenerate it with `.venv/bin/python -m warehouse.docs` after changing a migration, a model, the
indicator registry or an example query (`warehouse/queries/examples/`);
`tests/warehouse/test_warehouse_docs.py` fails while it is out of date.
"""

from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse import db
from warehouse.geography import load_area_file, write_areas
from warehouse.modelling import build_models, model_files
from warehouse.registry import load_registry, write_registry

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DOC_PATH = PROJECT_ROOT / "docs" / "warehouse.md"
REGENERATE = ".venv/bin/python -m warehouse.docs"

# (heading, description, table names); staging views are matched by prefix, anything else is "Other".
GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Raw data and provenance",
        "What was fetched, when and from where, and every value as each vintage stated it. "
        "A revised value is a new `observation` row beside the old one.",
        (
            "vintage",
            "fetch_log",
            "observation",
            "series_metadata",
            "dataset_run",
            "warehouse_meta",
            "schema_migration",
        ),
    ),
    (
        "Data quality",
        "The checks run after each load (schema, completeness, ranges, continuity, jumps); a failed "
        "blocker check keeps the edition from being published (`eim checks`).",
        ("quality_check",),
    ),
    (
        "Geography",
        "The focus area, its members and comparators, from the area file (`warehouse/areas/`), "
        "rewritten on every run.",
        ("area", "area_member", "area_role", "area_set"),
    ),
    (
        "Indicator registry",
        "The indicator registry (`warehouse/indicators.yaml`), rewritten on every run.",
        ("indicator",),
    ),
    (
        "Staging views",
        "Views over the raw tables (`warehouse/models/staging/`).",
        (),
    ),
    (
        "Marts",
        "Indicator tables rebuilt from the staging views on every run (`warehouse/models/marts/`).",
        ("indicator_value", "indicator_summary"),
    ),
)
STAGING_PREFIX = "stg_"
OTHER_GROUP = ("Other", "Tables and views not yet given a group in `warehouse/docs.py`.")

# Descriptions for tables whose SQL carries no comment of its own.
EXTRA_DESCRIPTIONS = {
    "schema_migration": "The migrations (`warehouse/migrations/*.sql`) applied to this warehouse.",
}

CREATE = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.IGNORECASE
)
DROP = re.compile(r"^\s*DROP\s+(?:TABLE|VIEW)\s+(?:IF\s+EXISTS\s+)?(\w+)", re.IGNORECASE)
COLUMN_COMMENT = re.compile(r"^\s*(\w+)\s+[A-Z].*?--\s*(.+?)\s*$")


@dataclass(frozen=True)
class ExampleQuery:
    title: str
    explanation: str
    name: str  # queries/examples/<name>.sql

    @property
    def sql(self) -> str:
        # Without the file's closing newline: the document ends the statement with ";".
        return db.query(f"examples/{self.name}").rstrip("\n")


EXAMPLE_QUERIES: tuple[ExampleQuery, ...] = (
    ExampleQuery(
        "Latest claimant rate for every WMCA council",
        "The focus area (the WMCA, `E47000007`) is the `focus` row of `area_role`; its councils are "
        "its `area_member` rows. `change_year` is in percentage points.",
        "council_claimant_rates",
    ),
    ExampleQuery(
        "The WMCA against the UK, every indicator",
        "The latest period of each indicator for the WMCA, the UK figure for the same period and the "
        "gap (not given for counts, where areas of different size are not comparable). "
        "`significant_gap_uk` is only set where both figures have confidence intervals.",
        "wmca_against_uk",
    ),
    ExampleQuery(
        "Revisions since a date",
        "Every value a later vintage changed, with the value it replaced; `revised_at` is when the "
        "revising vintage was fetched.",
        "revisions_since",
    ),
    ExampleQuery(
        "Where a figure came from",
        "`indicator_value.vintages` lists (comma-separated) the vintages a figure was computed from; "
        "each vintage's `fetch_log` rows give the URL, the sha256 of the body and its path in the raw "
        "archive (`data/raw/`), so the figure can be traced to the publisher's exact response.",
        "figure_provenance",
    ),
    ExampleQuery(
        "The 12 UK regions ranked on GDP per head",
        "The `regions` area set holds the 12 UK regions (ITL1); `rank_region` is 1 for the highest "
        "value, ties sharing a rank.",
        "regions_by_gdp_per_head",
    ),
    ExampleQuery(
        "Annual Population Survey changes that are statistically significant",
        "APS estimates carry 95% confidence intervals (`lower`, `upper`); `significant_year` is true "
        "when the change on the year exceeds what the two intervals allow.",
        "significant_survey_changes",
    ),
    ExampleQuery(
        "What the last run did, dataset by dataset",
        "The latest attempt for each dataset: `loaded`, `unchanged` (nothing new upstream) or "
        "`failed` with its error.",
        "last_run_by_dataset",
    ),
)


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    nullable: bool
    comment: str


@dataclass(frozen=True)
class Relation:
    name: str
    kind: str  # "table" or "view"
    columns: tuple[Column, ...]


def _comment_text(lines: list[str]) -> str:
    return " ".join(line.strip().removeprefix("--").strip() for line in lines).strip()


def sql_comments() -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Table descriptions and column comments, from the migration and model SQL.

    A table's description is the `--` comment block just above its CREATE (a DROP of the same
    table in between is allowed); for a model, it is the comment at the top of its file. A column's
    comment is a trailing `-- comment` on its line in the CREATE TABLE. A later migration that
    recreates a table replaces what an earlier one said.
    """
    tables: dict[str, str] = {}
    columns: dict[tuple[str, str], str] = {}
    for _version, _name, sql in db.migration_files():
        block: list[str] = []
        current: str | None = None
        for line in sql.splitlines():
            stripped = line.strip()
            if current is not None:
                if stripped.startswith(")"):
                    current = None
                    continue
                match = COLUMN_COMMENT.match(line)
                if match and match[1].upper() not in {"PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}:
                    columns[(current, match[1])] = match[2]
                continue
            if stripped.startswith("--"):
                block.append(stripped)
            elif (dropped := DROP.match(line)) is not None:
                tables.pop(dropped[1], None)
                for key in [key for key in columns if key[0] == dropped[1]]:
                    del columns[key]
            elif (created := CREATE.match(line)) is not None:
                current = created[1]
                if block:
                    tables[current] = _comment_text(block)
                block = []
            else:
                block = []
    for _name, sql in model_files():
        header = []
        for line in sql.splitlines():
            if not line.strip().startswith("--"):
                created = CREATE.match(line)
                if created and header:
                    tables[created[1]] = _comment_text(header)
                break
            header.append(line)
    for name, text in EXTRA_DESCRIPTIONS.items():
        tables.setdefault(name, text)
    return tables, columns


RELATIONS = db.query("docs/relations")
COLUMNS = db.query("docs/columns")


def catalog(con: duckdb.DuckDBPyConnection) -> list[Relation]:
    """Every user table and view of the connection's main schema, sorted by name."""
    kinds = dict(con.execute(RELATIONS).fetchall())
    columns: dict[str, list[Column]] = {name: [] for name in kinds}
    rows = con.execute(COLUMNS).fetchall()
    for table, name, data_type, nullable, comment in rows:
        if table in columns:
            columns[table].append(Column(name, data_type, bool(nullable), comment))
    return [Relation(name, kinds[name], tuple(columns[name])) for name in sorted(kinds)]


def _group_of(name: str) -> str:
    for heading, _description, names in GROUPS:
        if name in names:
            return heading
    if name.startswith(STAGING_PREFIX):
        return "Staging views"
    return OTHER_GROUP[0]


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9 _-]", "", text.lower()).replace(" ", "-")


def _relation_section(
    relation: Relation, description: str, comments: dict[tuple[str, str], str]
) -> list[str]:
    out = [f"#### `{relation.name}` ({relation.kind})", ""]
    if description:
        out += [description, ""]
    out += ["| Column | Type | Nullable | Description |", "|---|---|---|---|"]
    for column in relation.columns:
        nullable = "—" if relation.kind == "view" else ("yes" if column.nullable else "no")
        comment = column.comment or comments.get((relation.name, column.name), "")
        out.append(f"| `{column.name}` | {_cell(column.data_type)} | {nullable} | {_cell(comment)} |")
    return [*out, ""]


def _schema_section(con: duckdb.DuckDBPyConnection) -> list[str]:
    descriptions, comments = sql_comments()
    relations = catalog(con)
    groups = [(heading, description) for heading, description, _names in GROUPS]
    out = ["## Tables and views", ""]
    listed = [name for _heading, _description, names in GROUPS for name in names]
    for heading, description in [*groups, OTHER_GROUP]:
        # In the group's own order (the order a reader meets them), then by name.
        members = [r for r in relations if _group_of(r.name) == heading]
        members.sort(key=lambda r: (listed.index(r.name) if r.name in listed else len(listed), r.name))
        if not members:
            continue
        out += [f"### {heading}", "", description, ""]
        for relation in members:
            out += _relation_section(relation, descriptions.get(relation.name, ""), comments)
    return out


INDICATORS = db.query("docs/indicators")


def _registry_section(con: duckdb.DuckDBPyConnection) -> list[str]:
    cursor = con.execute(INDICATORS)
    names = [d[0] for d in cursor.description]
    indicators = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    out = [
        "## Indicator registry",
        "",
        "From `warehouse/indicators.yaml` (the `indicator` table). *Source* is the publisher's own "
        "series (`dataset / series`, as in `sources/catalog.yaml`), or *computed* where the monitor "
        "computes every area's figure itself. *Aggregation* says how a composite area (the WMCA, the "
        "3-LEP area) gets its figure: `sum` of its members, `ratio` of summed numerators and "
        "denominators (never a mean of rates), `weighted_mean` of its members' values, or only what "
        "the publisher `published`.",
        "",
        "| Id | Title | Section | Unit | Cadence | Source | Aggregation | Statistical status | Levels |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for ind in indicators:
        source = f"`{ind['dataset']} / {ind['series']}`" if ind["dataset"] else "computed"
        out.append(
            f"| [`{ind['indicator_id']}`](#{_anchor(ind['indicator_id'])}) | {_cell(ind['title'])} | "
            f"{ind['section']} | {ind['unit']} | {ind['cadence']} | {source} | {ind['aggregation']} | "
            f"{ind['statistical_status']} | {', '.join(ind['levels'])} |"
        )
    out += ["", "### Definitions and caveats", ""]
    for ind in indicators:
        core = " (core)" if ind["core"] else ""
        out += [f"#### {ind['indicator_id']}", "", f"**{ind['title']}**{core}", "", ind["definition"], ""]
        facts = [f"Unit: {ind['unit']}; polarity: {ind['polarity'].replace('_', ' ')}."]
        if ind["dataset"]:
            facts.append(f"Publisher's series: `{ind['dataset']} / {ind['series']}`.")
        who = "composite areas" if ind["dataset"] else "every area"
        numerator = f"`{ind['numerator_dataset']} / {ind['numerator_series']}`"
        denominator = f"`{ind['denominator_dataset']} / {ind['denominator_series']}`"
        aggregation = ind["aggregation"]
        if aggregation == "ratio":
            facts.append(f"For {who}: {numerator} over {denominator}, times {ind['scale']:g}.")
        elif aggregation == "weighted_mean":
            facts.append(f"For {who}: the members' values weighted by {denominator}.")
        elif aggregation == "sum":
            facts.append("For composite areas: the sum of the members' values.")
        elif aggregation == "published":
            facts.append("For composite areas: only the publisher's own figure, where it gives one.")
        out += [f"- {fact}" for fact in facts]
        out += [f"- Caveat: {caveat}" for caveat in ind["caveats"]]
        out.append("")
    return out


def _examples_section() -> list[str]:
    out = [
        "## Example queries",
        "",
        'Each runs as it stands against the published snapshot (`eim query "..."`, or any DuckDB '
        "client opened read-only); `tests/warehouse/test_warehouse_docs.py` runs every one.",
        "",
    ]
    for number, example in enumerate(EXAMPLE_QUERIES, start=1):
        out += [f"### {number}. {example.title}", "", example.explanation, "", "```sql", example.sql + ";"]
        out += ["```", ""]
    return out


def render_warehouse_doc(con: duckdb.DuckDBPyConnection) -> str:
    """The whole of `docs/warehouse.md` for the warehouse behind `con` (deterministic)."""
    out = [
        "<!-- Generated by warehouse/docs.py: do not edit by hand. -->",
        f"<!-- Regenerate with `{REGENERATE}` (tests/warehouse/test_warehouse_docs.py checks it). -->",
        "",
        "# The warehouse",
        "",
        "Analysts read the published snapshot, `data/published/warehouse.duckdb`, never the warehouse "
        'itself: `eim query "SQL"`, or `duckdb.connect(path, read_only=True)` from any DuckDB client '
        "(the snapshot is written in DuckDB's v1.4 storage format, so 1.4 and later clients can open "
        "it). The snapshot is replaced whole after each successful run; reconnect to see new data.",
        "",
        "Contents: [Tables and views](#tables-and-views) · [Indicator registry](#indicator-registry) · "
        "[Example queries](#example-queries)",
        "",
    ]
    out += _schema_section(con)
    out += _registry_section(con)
    out += _examples_section()
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def build_throwaway_warehouse(path: Path) -> None:
    """A warehouse with the schema, areas, registry and (empty) models, but no observations."""
    with db.connect(path) as con:
        write_areas(con, load_area_file())
        write_registry(con, load_registry())
        build_models(con)


def generate() -> str:
    """Render the document from a warehouse built from scratch in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="eim-warehouse-docs-") as tmp:
        path = Path(tmp) / "warehouse.duckdb"
        build_throwaway_warehouse(path)
        with db.connect_read_only(path) as con:
            return render_warehouse_doc(con)


def main() -> int:
    text = generate()
    DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOC_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DOC_PATH.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
