"""Where the settings come from, read without pydantic: `flows.settings` validates what these
return, and `eim query` takes its one setting (the data directory) from them directly, so that it
starts without importing pydantic."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

ENV_PREFIX = "eim_"
TOML_FILE = Path("eim.toml")


def from_environment() -> dict[str, str]:
    """`EIM_`-prefixed variables by setting name, in any case (`EIM_DATA_DIR`, `eim_data_dir`)."""
    return {key.lower().removeprefix(ENV_PREFIX): value for key, value in os.environ.items()
            if key.lower().startswith(ENV_PREFIX)}  # fmt: skip


def from_toml() -> dict[str, Any]:
    """`eim.toml` in the working directory, if there is one; a malformed file fails loudly."""
    try:
        with TOML_FILE.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        return {}


def raw_settings(**values: Any) -> dict[str, Any]:
    """Arguments first, then the environment, then `eim.toml` (the defaults are the model's)."""
    return {**from_toml(), **from_environment(), **values}


def snapshot_path(data_dir: Path) -> Path:
    """The analysts' snapshot in a data directory."""
    return data_dir / "published" / "warehouse.duckdb"
