"""The raw archive: every response body kept unchanged, named by its sha256.

Layout: `raw/<publisher>/<dataset>/<sha256>.<ext>`, plus `fetches.jsonl` beside the bodies with one
provenance record per response (304s included), so the archive alone can replay every load offline.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from sources.http import FetchedBody, HttpConfig, Validators, get, request_key


@dataclass(frozen=True)
class ArchivedPage:
    """One archived response: where its body is and the provenance record that describes it."""

    path: Path
    record: dict

    @property
    def sha256(self) -> str:
        return self.record["sha256"]


def _provenance_record(
    fetched: FetchedBody, *, publisher: str, dataset: str, page: int, body_path: Path, raw_dir: Path
) -> dict:
    return {
        "publisher": publisher,
        "dataset": dataset,
        "page": page,
        "url": fetched.url,
        "params": fetched.params,
        "request_key": fetched.request_key,
        "status": fetched.status,
        "etag": fetched.etag,
        "last_modified": fetched.last_modified,
        "content_type": fetched.content_type,
        "bytes": body_path.stat().st_size,
        "sha256": body_path.name.split(".", 1)[0],
        "raw_path": body_path.relative_to(raw_dir).as_posix(),
        "fetched_at": fetched.fetched_at.isoformat(),
    }


def archive(
    raw_dir: Path,
    fetched: FetchedBody,
    *,
    publisher: str,
    dataset: str,
    page: int,
    ext: str,
    previous: ArchivedPage | None = None,
) -> ArchivedPage:
    """Store a 200 body (once per sha256) and append its provenance record to `fetches.jsonl`.

    A 304 stores no body: its record points at the archived body of `previous`, which it confirms.
    """
    folder = raw_dir / publisher / dataset
    if fetched.not_modified:
        if previous is None:
            raise ValueError(f"{publisher} / {dataset}: a 304 without an earlier body to confirm")
        body_path = previous.path
    else:
        if fetched.spooled is None:
            raise ValueError(f"{publisher} / {dataset}: a body to archive must be spooled to disk")
        # The spool file was fsynced whole: renaming it into place is the atomic write.
        body_path = folder / f"{fetched.sha256}.{ext}"
        folder.mkdir(parents=True, exist_ok=True)
        if body_path.exists():
            fetched.spooled.unlink()
        else:
            os.replace(fetched.spooled, body_path)
    record = _provenance_record(
        fetched, publisher=publisher, dataset=dataset, page=page, body_path=body_path, raw_dir=raw_dir
    )
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "fetches.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps(record, sort_keys=True) + "\n")
    return ArchivedPage(path=body_path, record=record)


def fetch_page(
    client: httpx.Client,
    config: HttpConfig,
    url: str,
    params: Mapping[str, str],
    *,
    raw_dir: Path,
    publisher: str,
    dataset: str,
    page: int,
    ext: str,
    previous: Callable[[str], ArchivedPage | None],
    secret_params: Mapping[str, str] | None = None,
) -> ArchivedPage:
    """GET one page conditionally on what was archived for the same request last time, and archive it.

    The request key (URL and public parameters) is what validators are remembered under; secret
    parameters (the Nomis `uid`) are sent but never part of the key or the record.
    """
    last = previous(request_key(url, params))
    validators = Validators(last.record.get("etag"), last.record.get("last_modified")) if last else None
    fetched = get(
        client,
        config,
        url,
        {**params, **(secret_params or {})},
        publisher=publisher,
        dataset=dataset,
        validators=validators,
        spool_dir=raw_dir / ".incoming",
    )
    return archive(raw_dir, fetched, publisher=publisher, dataset=dataset, page=page, ext=ext, previous=last)
