"""Faults of the monitor's own machine and mail server (not of a publisher), and their results.

Each `LocalFault` is tried by one test, which writes what it observed with `record` (before asserting,
so a failing test still leaves a row saying what went wrong); `python -m tests.reliability.report`
turns the results into the "Disk and mail faults" table of docs/reliability.md.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

RESULTS_DIR = Path(os.environ.get("EIM_RELIABILITY_RESULTS", "/tmp/eim-reliability-results")) / "local"


@dataclass(frozen=True)
class LocalFault:
    name: str
    description: str
    expected: str
    test: str  # the pytest node that tries it


LOCAL_FAULTS: tuple[LocalFault, ...] = (
    LocalFault(
        "disk_full_first_file",
        "`eim bulletin --force` on a published demo; the first file of the edition is half written, "
        "then ENOSPC (a write wrapper)",
        "one line naming the edition and the cause, exit 1; no half edition, no pin, site and data "
        "directory byte-identical",
        "tests/reliability/test_disk_full.py",
    ),
    LocalFault(
        "disk_full_fourth_file",
        "the same, the fourth file of the edition failing (three already written)",
        "the same: the three written files are removed with the candidate edition",
        "tests/reliability/test_disk_full.py",
    ),
    LocalFault(
        "smtp_4xx_then_5xx_mid_batch",
        "three subscribers; the SMTP server takes the first message, answers 451 to every later DATA "
        "and 550 to every RCPT once the second's retries are spent; then a re-run against a healthy "
        "server",
        "first run: 1 sent, 2 failed with the server's reply recorded; re-run: the other 2 sent once; "
        "no duplicate",
        "tests/reliability/test_mail_faults.py",
    ),
)
LOCAL_FAULTS_BY_NAME = {fault.name: fault for fault in LOCAL_FAULTS}


def record(name: str, *, as_expected: bool, observed: str) -> None:
    """Write what the test of fault `name` observed; `as_expected` is the test's own verdict."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    entry = {"fault": name, "as_expected": as_expected, "observed": observed}
    (RESULTS_DIR / f"{LOCAL_FAULTS_BY_NAME[name].name}.json").write_text(json.dumps(entry, indent=1))


def load_results() -> dict[str, dict]:
    paths = sorted(RESULTS_DIR.glob("*.json")) if RESULTS_DIR.exists() else []
    return {entry["fault"]: entry for entry in (json.loads(path.read_text()) for path in paths)}
