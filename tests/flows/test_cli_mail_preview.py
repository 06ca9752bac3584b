"""`eim mail preview`: the exact message of an edition, written to a file, nothing sent."""

from __future__ import annotations

import email
import shutil
from email.policy import default as default_policy
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from reports.delivery.subscribers import SubscriberStore

MAIL = {
    "EIM_MAIL_FROM": "Monitor <monitor@eim.example.org>",
    "EIM_SITE_URL": "https://eim.example.org/monitor/",
    "EIM_UNSUBSCRIBE_SECRET": "test-unsubscribe-secret-0123456789",
}


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {"EIM_DATA_DIR": str(data_dir), "EIM_DEMO": "true", **MAIL, **extra}


@pytest.fixture
def published(demo_edition: Path, tmp_path: Path) -> Path:
    """A data directory of its own with the demo edition published (the session's is shared)."""
    data_dir = tmp_path / "data"
    shutil.copytree(demo_edition.parent.parent, data_dir, symlinks=True)
    return data_dir


def test_preview_writes_the_message_for_chosen_areas_and_sends_nothing(
    published: Path, tmp_path: Path
) -> None:
    data_dir = published
    out = tmp_path / "preview.eml"
    result = CliRunner().invoke(
        app, ["mail", "preview", "--areas", "Coventry,E08000025", "--out", str(out)], env=_env(data_dir)
    )
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}:" in result.output and "3 charts" in result.output
    assert "Nothing was sent." in result.output
    message = email.message_from_bytes(out.read_bytes(), policy=default_policy)
    assert message["Subject"].endswith("October 2026 (edition 1)")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    page = message.get_body(("html",)).get_content()
    assert page.index(">Coventry<") < page.index(">Birmingham<")
    assert SubscriberStore(data_dir).deliveries("2026-10") == []


def test_preview_for_a_subscriber_uses_their_areas(published: Path, tmp_path: Path) -> None:
    data_dir = published
    store = SubscriberStore(data_dir)
    store.add("jo@example.org", "E08000026")
    out = tmp_path / "jo.eml"
    result = CliRunner().invoke(
        app, ["mail", "preview", "2026-10", "--to", "jo@example.org", "--out", str(out)], env=_env(data_dir)
    )
    assert result.exit_code == 0, result.output
    assert "the subscriber jo@example.org (areas: E08000026)" in result.output
    text = (
        email.message_from_bytes(out.read_bytes(), policy=default_policy).get_body(("plain",)).get_content()
    )
    assert "COVENTRY" in text
    assert store.deliveries("2026-10") == []


def test_preview_names_the_settings_it_lacks(published: Path, tmp_path: Path) -> None:
    env = _env(published)
    del env["EIM_MAIL_FROM"], env["EIM_SITE_URL"]
    result = CliRunner().invoke(app, ["mail", "preview", "--out", str(tmp_path / "x.eml")], env=env)
    assert result.exit_code == 2
    assert "EIM_MAIL_FROM, EIM_SITE_URL" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.eml").exists()


def test_preview_of_an_unpublished_edition_says_so(published: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["mail", "preview", "2025-01", "--out", str(tmp_path / "x.eml")],
        env=_env(published),
    )
    assert result.exit_code == 1
    assert "edition 2025-01 is not published" in result.output
