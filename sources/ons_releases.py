"""ONS release calendar (on the ONS API): `{base}/search/releases`, to plan runs on release days.

Pages are walked with `offset` until a short page, or until as many releases as the response's
total (`breakdown.total`, else `total`) have come. That total's exact meaning is UNVERIFIED (it may
count every release type); a larger one only costs one more request, which comes back short. A
server that ignores `offset` is caught by seeing the same page twice. Releases are matched by the
slug of their `uri`, never by fuzzy title. This is a schedule, not a dataset: nothing here is
archived or loaded as observations.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from sources.errors import PublisherFormatError
from sources.http import HttpConfig, get
from sources.ons_api import LONDON, load_json, throttle

PUBLISHER = "ons_api"
DATASET = "release-calendar"
RELEASES_PATH = "/search/releases"
RELEASE_TYPES = frozenset({"type-upcoming", "type-published", "type-cancelled"})
SORT = "release_date_asc"
# The API documentation's examples ask for 1,000; a smaller page keeps each response modest.
PAGE_SIZE = 100
SLUG_PREFIX = "/releases/"


@dataclass(frozen=True)
class Release:
    uri: str
    title: str
    release_date: dt.datetime  # timezone-aware
    published: bool
    cancelled: bool

    @property
    def slug(self) -> str:
        return self.uri.removeprefix(SLUG_PREFIX)


def upcoming_releases(
    client: httpx.Client,
    config: HttpConfig,
    *,
    base_url: str,
    from_date: dt.date,
    to_date: dt.date,
    release_type: str = "type-upcoming",
    query: str | None = None,
    page_size: int = PAGE_SIZE,
) -> list[Release]:
    """Every release of `release_type` dated from `from_date` to `to_date`, earliest first."""
    if release_type not in RELEASE_TYPES:
        raise ValueError(f"release_type must be one of {sorted(RELEASE_TYPES)}, not {release_type!r}")
    url = base_url.rstrip("/") + RELEASES_PATH
    releases: list[Release] = []
    seen_pages: set[tuple[str, ...]] = set()
    while True:
        params = {
            "fromDate": from_date.isoformat(),
            "toDate": to_date.isoformat(),
            "release-type": release_type,
            "sort": SORT,
            "limit": str(page_size),
            "offset": str(len(releases)),
        }
        if query:
            params["query"] = query
        throttle()
        fetched = get(client, config, url, params, publisher=PUBLISHER, dataset=DATASET)
        document = load_json(fetched.body, PUBLISHER, DATASET, "the release calendar")
        page = [_release(item) for item in _items(document)]
        uris = tuple(release.uri for release in page)
        if uris and uris in seen_pages:
            raise PublisherFormatError(
                PUBLISHER, DATASET, f"offset {len(releases)} returned a page already seen: offset ignored?"
            )
        seen_pages.add(uris)
        releases.extend(page)
        total = _declared_total(document)
        if len(page) < page_size or (total is not None and len(releases) >= total):
            return releases


def matching(releases: Iterable[Release], slug_prefixes: Iterable[str]) -> list[Release]:
    """The releases whose slug (the `uri` after `/releases/`) starts with one of the prefixes."""
    prefixes = tuple(prefix.lower() for prefix in slug_prefixes)
    return [release for release in releases if release.slug.lower().startswith(prefixes)]


def _items(document: dict[str, Any]) -> list[Any]:
    items = document.get("releases")
    if not isinstance(items, list):
        raise PublisherFormatError(PUBLISHER, DATASET, "the response has no releases list")
    return items


def _declared_total(document: dict[str, Any]) -> int | None:
    breakdown = document.get("breakdown")
    for total in (breakdown.get("total") if isinstance(breakdown, dict) else None, document.get("total")):
        if isinstance(total, int) and not isinstance(total, bool):
            return total
    return None


def _release(item: object) -> Release:
    description = item.get("description") if isinstance(item, dict) else None
    uri = item.get("uri") if isinstance(item, dict) else None
    if not isinstance(description, dict) or not isinstance(uri, str) or not uri.startswith(SLUG_PREFIX):
        raise PublisherFormatError(PUBLISHER, DATASET, f"a release lacks uri or description: {item!r}")
    title = description.get("title")
    stamp = description.get("release_date")
    if not isinstance(title, str) or not isinstance(stamp, str):
        raise PublisherFormatError(PUBLISHER, DATASET, f"release {uri} lacks title or release_date")
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        raise PublisherFormatError(
            PUBLISHER, DATASET, f"release {uri} has release_date {stamp!r}, not an ISO timestamp"
        ) from None
    if when.tzinfo is None:
        raise PublisherFormatError(
            PUBLISHER, DATASET, f"release {uri} has release_date {stamp!r} without zone"
        )
    return Release(
        uri=uri,
        title=title,
        release_date=when,
        published=description.get("published") is True,
        cancelled=description.get("cancelled") is True,
    )


def latest_release_date(
    client: httpx.Client,
    config: HttpConfig,
    *,
    base_url: str,
    title_pattern: str,
    on_or_before: dt.date,
    lookback_days: int = 70,
) -> dt.date | None:
    """The (London) date of the newest published, uncancelled release whose title matches
    `title_pattern` within `lookback_days` before `on_or_before`: the release a dataset's newest
    figures came out in, for publishers (Nomis) whose data carry no release date of their own."""
    releases = upcoming_releases(
        client,
        config,
        base_url=base_url,
        from_date=on_or_before - dt.timedelta(days=lookback_days),
        to_date=on_or_before,
        release_type="type-published",
    )
    dates = [
        r.release_date.astimezone(LONDON).date()
        for r in releases
        if not r.cancelled and re.search(title_pattern, r.title)
    ]
    return max((d for d in dates if d <= on_or_before), default=None)
