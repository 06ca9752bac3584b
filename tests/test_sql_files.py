"""SQL lives in `.sql` files, one statement per file (warehouse/queries/<concern>/<name>.sql, and the
subscriber store's reports/delivery/queries/<name>.sql), so that a schema change is chased there.

Read with `ast` from every module of `warehouse` and `reports`: a string literal (or the text an
f-string starts with) that begins with an SQL statement's keyword is embedded SQL, unless it is one of
the few left in the code on purpose (ALLOWED); and every query a module loads by name has its file."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from warehouse import docs

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("warehouse", "reports")
WAREHOUSE_QUERIES = ROOT / "warehouse" / "queries"
# Upper case, as this code writes SQL: ignoring case would take prose for SQL ("Create or update the
# row", "with missing status").
STATEMENT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|WITH|ALTER|DROP)\b")
# (module, literal with its runs of white space made one space) left in the code on purpose.
ALLOWED = {
    # db.migrate's bookkeeping: the table that records which migrations ran, made and read before any.
    (
        "warehouse/db.py",
        "CREATE TABLE IF NOT EXISTS schema_migration "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
    ),
    ("warehouse/db.py", "SELECT version FROM schema_migration"),
    ("warehouse/db.py", "INSERT INTO schema_migration VALUES (?, ?, ?)"),
    # The generic helpers' templates, completed with the table their caller names: insert_rows' verb
    # (its default, and the one the loader passes it) and replace_rows' DELETE.
    ("warehouse/db.py", "INSERT"),
    ("warehouse/load.py", "INSERT OR IGNORE"),
    ("warehouse/db.py", "DELETE FROM"),
    # warehouse_meta's get and set: a key-value table read and written through these two helpers alone.
    ("warehouse/db.py", "SELECT value FROM warehouse_meta WHERE key = ?"),
    ("warehouse/db.py", "INSERT OR REPLACE INTO warehouse_meta VALUES (?, ?)"),
    # The delivery log's statements in freshness.last_send are built from the table and column names
    # the log turns out to have: there is no fixed text to keep in a file.
    ("warehouse/freshness.py", 'SELECT "'),
    ("warehouse/freshness.py", 'SELECT status, count(*) FROM "'),
}


def _modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _literals(tree: ast.Module) -> list[str]:
    """Every string constant, and the constant text each f-string starts with (not its parts again)."""
    in_fstrings = {
        id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            found.append(node.values[0].value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in in_fstrings:
            found.append(node.value)
    return found


def _embedded_sql() -> set[tuple[str, str]]:
    return {
        (_name(path), " ".join(text.split()))
        for path in _modules()
        for text in _literals(_tree(path))
        if STATEMENT.match(text)
    }


def _queries_loaded() -> list[tuple[str, Path]]:
    """(module, the file each `query("name")` or `db.query("name")` call reads). A module that defines
    its own `query` reads the `queries` folder beside it; every other one warehouse.db's."""
    loaded = []
    for path in _modules():
        tree = _tree(path)
        own = any(isinstance(node, ast.FunctionDef) and node.name == "query" for node in tree.body)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id == "query":
                folder = path.parent / "queries" if own else WAREHOUSE_QUERIES
            elif isinstance(func, ast.Attribute) and func.attr == "query" and ast.unparse(func.value) == "db":
                folder = WAREHOUSE_QUERIES
            else:
                continue
            loaded.append((_name(path), folder / f"{node.args[0].value}.sql"))
    return loaded


def test_no_module_embeds_sql() -> None:
    embedded = sorted(_embedded_sql() - ALLOWED)
    assert embedded == [], "SQL in a string literal: move it to a .sql file (or allow it, saying why)"


def test_every_allowed_literal_is_still_there() -> None:
    assert sorted(ALLOWED - _embedded_sql()) == []


LOADED = _queries_loaded()


@pytest.mark.parametrize(
    "module, file", LOADED, ids=[f"{module}:{file.relative_to(ROOT)}" for module, file in LOADED]
)
def test_every_query_loaded_has_its_file(module: str, file: Path) -> None:
    assert file.is_file(), f"{module} loads {file.relative_to(ROOT)}, which does not exist"


def test_every_query_file_is_loaded() -> None:
    loaded = {file for _module, file in LOADED}
    loaded |= {WAREHOUSE_QUERIES / "examples" / f"{example.name}.sql" for example in docs.EXAMPLE_QUERIES}
    files = {file for package in PACKAGES for file in (ROOT / package).rglob("queries/**/*.sql")}
    assert sorted(str(file.relative_to(ROOT)) for file in files - loaded) == []
