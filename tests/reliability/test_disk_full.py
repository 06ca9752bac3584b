"""A full disk while an edition is written (ENOSPC from a write wrapper): one clear line, and the
site, the published edition, its manifest and the pinned snapshots stay as they were."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.settings import Settings
from tests.reliability.test_bad_input import digest_tree

runner = CliRunner()


@pytest.mark.parametrize("failing_file", [1, 4])
def test_a_disk_filling_up_while_an_edition_is_written_publishes_nothing_and_loses_nothing(
    demo_edition: Path, eim_env: Path, monkeypatch: pytest.MonkeyPatch, failing_file: int
) -> None:
    shutil.copytree(demo_edition.parent.parent, eim_env, symlinks=True)
    monkeypatch.setenv("EIM_DEMO", "true")
    settings = Settings()
    before = digest_tree(eim_env)
    site = {p.name: p.resolve() for p in (settings.site_dir).iterdir()}
    written = []
    real_write_bytes = Path.write_bytes

    def write_bytes(path: Path, data: bytes) -> int:
        if ".editions" in path.parts:
            written.append(path)
            if len(written) == failing_file:
                real_write_bytes(path, data[: len(data) // 2])  # a disk fills up part way through a file
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    result = runner.invoke(app, ["bulletin", "--force"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: could not write edition 2026-10: No space left on device (")
    assert "free some space and run `eim bulletin` again" in line
    assert written, "the edition's files were being written"
    assert {p.name: p.resolve() for p in settings.site_dir.iterdir()} == site, "the site link moved"
    assert digest_tree(eim_env) == before, "a half edition, a pin or a manifest was left behind"
