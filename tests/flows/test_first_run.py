"""The README's order on a fresh clone: `make run` on a machine without the publishers' network,
then `make demo`. The failed run publishes nothing and leaves the folder free for the demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows import steps
from flows.settings import Settings


def test_an_offline_first_run_publishes_nothing_and_the_demo_may_follow(eim_env: Path) -> None:
    env = {**os.environ, "EIM_HTTP_RETRIES": "1", "EIM_HTTP_RETRY_BUDGET": "5"}
    for publisher in ("NOMIS", "ONS_API", "ONS_WEB", "LANDREGISTRY", "GOVUK"):
        env[f"EIM_{publisher}_URL"] = f"http://{publisher.lower().replace('_', '-')}.invalid"
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    # The last line is ours (tests/flows/test_cli.py holds the whole output to having no traceback).
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: could not reach") and "nothing was fetched" in last, done.stderr
    assert "nothing was published" in last
    settings = Settings()
    assert not settings.snapshot_path.exists(), "an empty snapshot was published"
    assert not settings.parquet_dir.exists()
    assert not list((eim_env / "site").glob("*/index.html"))
    steps.prepare_warehouse(settings.model_copy(update={"demo": True}))


@pytest.mark.parametrize("chosen", [None, "elsewhere"])
def test_the_demo_keeps_its_own_data_directory_unless_one_is_chosen(
    eim_env: Path, monkeypatch: pytest.MonkeyPatch, chosen: str | None
) -> None:
    from typer.testing import CliRunner

    from flows import cli

    monkeypatch.delenv("EIM_DATA_DIR")
    if chosen:
        monkeypatch.setenv("EIM_DATA_DIR", chosen)
    started = []
    monkeypatch.setattr(cli, "_start", lambda *args, **kwargs: started.append(Settings().data_dir))
    result = CliRunner().invoke(cli.app, ["demo", "--quiet"])
    assert result.exit_code == 0, result.output
    assert started == [Path(chosen) if chosen else Path("data/demo")]
    assert ("Demo data directory: data/demo" in result.output) is (chosen is None)
