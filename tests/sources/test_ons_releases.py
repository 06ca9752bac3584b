"""ONS release calendar against real HTTP servers on loopback.

No real release-calendar JSON is among the real samples (none was found in public repositories), so
the reader is checked against hand-written fixtures written from the documented fields.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from sources import ons_api, ons_releases
from sources.errors import PublisherFormatError
from sources.http import HttpConfig, make_client
from sources.replay import ons as replay_ons
from tests.conftest import serve_emulator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ons"
FAST = HttpConfig(timeout=2, attempts=2, retry_budget=2, backoff_initial=0, backoff_max=0)
PATH = "/v1/search/releases"
FROM, TO = dt.date(2026, 11, 27), dt.date(2027, 5, 31)
TODAY = dt.date(2026, 11, 27)


@pytest.fixture(autouse=True)
def no_spacing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ons_api, "RATE_LIMITS", ())


def page(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def query(offset: int, limit: int = 2, release_type: str = "type-upcoming") -> dict[str, str]:
    return {
        "fromDate": FROM.isoformat(),
        "toDate": TO.isoformat(),
        "release-type": release_type,
        "sort": "release_date_asc",
        "limit": str(limit),
        "offset": str(offset),
    }


def releases(base_url: str, **options) -> list[ons_releases.Release]:
    with make_client(FAST) as client:
        return ons_releases.upcoming_releases(
            client, FAST, base_url=base_url, from_date=options.pop("from_date", FROM), to_date=TO, **options
        )


def test_pages_are_walked_with_offset_until_the_total(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, query_string=query(0)).respond_with_json(page("releases-page-1.json"))
    httpserver.expect_request(PATH, query_string=query(2)).respond_with_json(page("releases-page-2.json"))

    found = releases(httpserver.url_for("/v1"), page_size=2)

    assert [release.slug for release in found] == [
        "labourmarketoverviewukdecember2026",
        "consumerpriceinflationuknovember2026",
        "regionaleconomicactivitybygrossdomesticproductuk1998to2024",
    ]
    first = found[0]
    assert first.uri == "/releases/labourmarketoverviewukdecember2026"
    assert first.title == "Labour market overview, UK: December 2026"
    assert first.release_date == dt.datetime(2026, 12, 8, 7, 0, tzinfo=dt.UTC)
    assert first.release_date.tzinfo is not None
    assert (first.published, first.cancelled) == (False, False)
    assert len(httpserver.log) == 2


def test_without_a_declared_total_the_walk_ends_on_a_short_page(httpserver: HTTPServer) -> None:
    first, second = page("releases-page-1.json"), page("releases-page-2.json")
    del first["breakdown"], second["breakdown"]
    httpserver.expect_request(PATH, query_string=query(0)).respond_with_json(first)
    httpserver.expect_request(PATH, query_string=query(2)).respond_with_json(second)

    assert len(releases(httpserver.url_for("/v1"), page_size=2)) == 3


def test_a_full_page_reaching_the_declared_total_ends_the_walk(httpserver: HTTPServer) -> None:
    first = page("releases-page-1.json")
    first["breakdown"]["total"] = 2
    httpserver.expect_request(PATH, query_string=query(0)).respond_with_json(first)

    assert len(releases(httpserver.url_for("/v1"), page_size=2)) == 2
    assert len(httpserver.log) == 1


def test_words_are_sent_as_query(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, query_string={**query(0, 100), "query": "GDP"}).respond_with_json(
        page("releases-page-2.json")
    )

    found = releases(httpserver.url_for("/v1"), query="GDP")

    assert [release.title for release in found] == [
        "Regional economic activity by gross domestic product, UK: 1998 to 2024"
    ]


def test_matching_is_by_slug_prefix_not_title() -> None:
    when = dt.datetime(2026, 12, 16, 7, tzinfo=dt.UTC)
    cpi = ons_releases.Release("/releases/consumerpriceinflationuknovember2026", "CPI", when, False, False)
    other = ons_releases.Release(
        "/releases/consumerpriceinflationdetailedreferencetables", "CPI", when, False, False
    )

    assert ons_releases.matching([cpi, other], ["ConsumerPriceInflationUK"]) == [cpi]
    assert ons_releases.matching([cpi, other], ["labourmarket"]) == []


def test_an_html_page_with_status_200_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("<html><body>Search is down</body></html>")

    with pytest.raises(
        PublisherFormatError, match="ons_api / release-calendar: the response is an HTML page"
    ):
        releases(httpserver.url_for("/v1"))


def test_a_response_without_releases_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_json({"took": 1, "items": []})

    with pytest.raises(PublisherFormatError, match="no releases list"):
        releases(httpserver.url_for("/v1"))


def test_a_release_date_without_a_zone_is_refused(httpserver: HTTPServer) -> None:
    body = page("releases-page-2.json")
    body["releases"][0]["description"]["release_date"] = "2027-04-24T09:30:00"
    httpserver.expect_request(PATH).respond_with_json(body)

    with pytest.raises(PublisherFormatError, match="without zone"):
        releases(httpserver.url_for("/v1"))


def test_a_server_ignoring_offset_is_caught(httpserver: HTTPServer) -> None:
    body = page("releases-page-1.json")
    body["breakdown"]["total"] = 10
    httpserver.expect_request(PATH).respond_with_json(body)

    with pytest.raises(PublisherFormatError, match="offset 2 returned a page already seen"):
        releases(httpserver.url_for("/v1"), page_size=2)


def test_an_unknown_release_type_is_refused_before_asking() -> None:
    with pytest.raises(ValueError, match="release_type must be one of"):
        releases("http://127.0.0.1:9", release_type="upcoming")


def test_429_with_retry_after_then_200_recovers(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request(PATH).respond_with_data("", status=429, headers={"Retry-After": "0"})
    httpserver.expect_ordered_request(PATH).respond_with_json(page("releases-page-2.json"))

    started = time.monotonic()
    found = releases(httpserver.url_for("/v1"))

    assert len(found) == 1
    assert time.monotonic() - started < 1


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    """The ONS emulator behind a loopback server; yields the server root URL."""
    with serve_emulator(replay_ons.route, today=TODAY, names={}) as root:
        yield root


def test_emulator_round_trip_upcoming(emulator: str) -> None:
    found = releases(emulator + "/v1", page_size=5)

    assert len(found) > 5  # more than one page
    assert all(not release.published and release.release_date.date() > TODAY for release in found)
    assert [r.release_date for r in found] == sorted(r.release_date for r in found)
    cpi = ons_releases.matching(found, ["consumerpriceinflationuk"])
    assert cpi[0].slug == "consumerpriceinflationuknovember2026"
    assert cpi[0].release_date == dt.datetime(2026, 12, 16, 7, 0, tzinfo=dt.UTC)
    gdp = ons_releases.matching(found, ["regionaleconomicactivitybygrossdomesticproductuk"])
    assert [r.release_date.date() for r in gdp] == [dt.date(2027, 4, 24)]


def test_emulator_round_trip_published(emulator: str) -> None:
    found = releases(
        emulator + "/v1", from_date=dt.date(2026, 9, 1), release_type="type-published", page_size=50
    )

    assert found and all(release.published for release in found)
    assert all(release.release_date.date() <= TODAY for release in found)
    wellbeing = ons_releases.matching(found, ["personalwellbeingintheuk"])
    assert [r.slug for r in wellbeing] == ["personalwellbeingintheukapril2025tomarch2026"]


def test_the_latest_published_release_dates_a_dataset_that_states_none(emulator: str) -> None:
    """Nomis data carry no release date: the newest 'Labour market overview' before the day is it."""
    with make_client(FAST) as client:
        found = ons_releases.latest_release_date(
            client,
            FAST,
            base_url=emulator + "/v1",
            title_pattern="^Labour market overview, UK",
            on_or_before=TODAY,
        )
        # The second Tuesday of November 2026 (the emulated calendar's rule).
        assert found == dt.date(2026, 11, 10)
        none = ons_releases.latest_release_date(
            client, FAST, base_url=emulator + "/v1", title_pattern="^No such release", on_or_before=TODAY
        )
        assert none is None
