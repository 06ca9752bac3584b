"""`eim subscribers add --areas`: codes and names of the monitor's own areas, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from reports.delivery.subscribers import SubscriberStore

runner = CliRunner()


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("E08000026", ("E08000026",)),
        ("e08000026", ("E08000026",)),
        ("Birmingham", ("E08000025",)),
        ("wolverhampton, Coventry", ("E08000031", "E08000026")),
        ("WMCA", ("E47000007",)),
    ],
)
def test_an_area_is_given_by_code_or_by_a_name_only_one_area_has(
    eim_env: Path, given: str, stored: tuple[str, ...]
) -> None:
    result = runner.invoke(app, ["subscribers", "add", "jo@example.org", "--areas", given])
    assert result.exit_code == 0, result.output
    (subscriber,) = SubscriberStore(eim_env).list_subscribers()
    assert subscriber.areas == stored


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            "E99999999",
            "'E99999999' is not an area of this monitor (West Midlands): its bulletin areas are WMCA",
        ),
        (
            "West Midlands",
            "'West Midlands' could be any of West Midlands (region) (E12000005), West Midlands "
            "Combined Authority (E47000007): give the code",
        ),
    ],
)
def test_an_unknown_or_ambiguous_area_is_refused_naming_the_choices(
    eim_env: Path, given: str, message: str
) -> None:
    result = runner.invoke(app, ["subscribers", "add", "jo@example.org", "--areas", given])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"Error: {message}"), line
    assert not (eim_env / "subscribers").exists() or SubscriberStore(eim_env).list_subscribers() == []
