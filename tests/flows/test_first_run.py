"""The README's order on a fresh clone: `make run` on a machine without the publishers' network,
then `make demo`. The failed run publishes nothing and leaves the folder free for the demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    assert "nothing was fetched" in done.stderr and "Traceback" not in done.stderr
    settings = Settings()
    assert not settings.snapshot_path.exists(), "an empty snapshot was published"
    assert not settings.parquet_dir.exists()
    assert not list((eim_env / "site").glob("*/index.html"))
    steps.prepare_warehouse(settings.model_copy(update={"demo": True}))
