"""Where editions live under the data directory, and how their small files are written.

  editions/<period>/snapshot.duckdb   the pinned snapshot the edition was built from
  editions/<period>/manifest.json     edition number, dates, snapshot sha256, gate result
  site/<period>                       a link to site/.editions/<period>-<n>: swapped atomically, so
                                      the site never shows a half-written edition
  site/index.html, site/feed.atom     every published edition, newest first
  drafts/<period>/                    an edition the gate refused, with REASONS.txt beside it

Light on purpose (no rendering stack): delivery and the flows read the layout without importing it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    data_dir: Path

    @property
    def site(self) -> Path:
        return self.data_dir / "site"

    def edition_dir(self, period: str) -> Path:
        return self.data_dir / "editions" / period

    def manifest(self, period: str) -> Path:
        return self.edition_dir(period) / "manifest.json"

    def pinned(self, period: str) -> Path:
        return self.edition_dir(period) / "snapshot.duckdb"

    def drafts(self, period: str) -> Path:
        return self.data_dir / "drafts" / period

    @property
    def chart_cache(self) -> Path:
        return self.data_dir / "cache" / "charts"


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # the site is read by a web server running as another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def published_manifests(paths: Paths) -> list[dict]:
    """Every published edition's manifest, oldest first."""
    found = []
    for manifest in sorted((paths.data_dir / "editions").glob("*/manifest.json")):
        record = json.loads(manifest.read_text())
        if record.get("published"):
            found.append(record)
    return sorted(found, key=lambda m: m["period"])
