"""Run the SQL models in `models/`: staging views first, then marts, each file one model."""

from __future__ import annotations

from importlib import resources

import duckdb

MODELS = resources.files("warehouse") / "models"
LAYERS = ("staging", "marts")


def model_files() -> list[tuple[str, str]]:
    """(name, sql) for every model: staging before marts, and within a layer by numbered name."""
    ordered = []
    for layer in LAYERS:
        folder = MODELS / layer
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".sql"):
                ordered.append((f"{layer}/{entry.name}", entry.read_text(encoding="utf-8")))
    return ordered


def build_models(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Rebuild every model in one transaction, so readers never see half the marts."""
    built = []
    con.execute("BEGIN TRANSACTION")
    try:
        for name, sql in model_files():
            con.execute(sql)
            built.append(name)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return built
