"""The fast commands stay fast: `eim query`, `eim status`, `eim checks` and `eim sources` never
import Prefect or the rendering stack (importing Prefect alone takes seconds), nor the HTTP client
or Rich (a fifth of a second each). Their whole-process start-up is measured in `make bench`
(figures 4a and 4b)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flows.settings import Settings

HEAVY = ("prefect", "matplotlib", "typst", "jinja2", "httpx", "rich")


def _imported(args: list[str], modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a fresh interpreter has imported after running `eim ARGS`."""
    code = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from flows.cli import app\n"
        f"result = CliRunner().invoke(app, {args!r})\n"
        "assert result.exception is None or isinstance(result.exception, SystemExit), result.output\n"
        f"print(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parent.parent,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["query", "SELECT 1"], ["status"], ["checks"], ["sources"], ["indicators"]])
def test_read_only_commands_do_not_import_prefect(loaded_settings: Settings, args: list[str]) -> None:
    assert _imported(args, HEAVY) == []
