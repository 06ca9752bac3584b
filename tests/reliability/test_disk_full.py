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
from tests.reliability.local_faults import record
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
    lines = result.output.strip().splitlines()
    site_kept = {p.name: p.resolve() for p in settings.site_dir.iterdir()} == site
    tree_kept = digest_tree(eim_env) == before
    as_expected = (
        result.exit_code == 1
        and (result.exception is None or isinstance(result.exception, SystemExit))
        and len(lines) == 1
        and lines[0].startswith("Error: could not write edition 2026-10: No space left on device (")
        and "free some space and run `eim bulletin` again" in lines[0]
        and len(written) >= failing_file
        and site_kept
        and tree_kept
    )
    said = " / ".join(lines).replace(str(eim_env), "data")
    record(
        "disk_full_first_file" if failing_file == 1 else "disk_full_fourth_file",
        as_expected=as_expected,
        observed=f"exit {result.exit_code}; {len(lines)} line(s): {said}; "
        f"site link {'kept' if site_kept else 'MOVED'}; data directory "
        f"{'byte-identical' if tree_kept else 'CHANGED'}",
    )
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    (line,) = lines
    assert line.startswith("Error: could not write edition 2026-10: No space left on device (")
    assert "free some space and run `eim bulletin` again" in line
    assert len(written) >= failing_file, "the edition's files were being written"
    assert site_kept, "the site link moved"
    assert tree_kept, "a half edition, a pin or a manifest was left behind"
