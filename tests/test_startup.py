"""The fast commands stay fast: `eim query`, `eim status`, `eim checks` and `eim sources` never
import Prefect or the rendering stack (importing Prefect alone takes seconds), nor the HTTP client
or Rich (a fifth of a second each)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flows.settings import Settings

HEAVY = ("prefect", "matplotlib", "weasyprint", "jinja2", "httpx", "rich")


@pytest.mark.parametrize("args", [["query", "SELECT 1"], ["status"], ["checks"], ["sources"], ["indicators"]])
def test_read_only_commands_do_not_import_prefect(loaded_settings: Settings, args: list[str]) -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from flows.cli import app\n"
        f"CliRunner().invoke(app, {args!r})\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parent.parent)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
