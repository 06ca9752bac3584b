"""Settings: arguments, then EIM_ variables (any case), then eim.toml, then defaults; pydantic validates."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from flows.settings import Settings


def test_arguments_then_environment_then_eim_toml_then_defaults(
    bare_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (bare_env / "eim.toml").write_text('data_dir = "toml"\nsmtp_port = 25\nhttp_retries = 2\nother = 1\n')
    monkeypatch.setenv("EIM_DATA_DIR", "env")
    monkeypatch.setenv("eim_smtp_port", "465")
    monkeypatch.setenv("EIM_NOT_A_SETTING", "ignored")

    settings = Settings(http_timeout=5)
    assert (settings.data_dir, settings.smtp_port, settings.http_retries) == (Path("env"), 465, 2)
    assert settings.http_timeout == 5.0 and settings.area == "west-midlands"
    assert Settings(data_dir="argument").data_dir == Path("argument")


def test_environment_strings_are_converted(bare_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EIM_QUIET", "yes")
    monkeypatch.setenv("EIM_NOMIS_PAGE_SIZE", "30")
    monkeypatch.setenv("EIM_SMTP_PASSWORD", "hunter2")
    settings = Settings()
    assert settings.quiet is True and settings.nomis_page_size == 30
    assert "hunter2" not in repr(settings) and settings.smtp_password.get_secret_value() == "hunter2"


@pytest.mark.parametrize(
    ("name", "value"),
    [("EIM_SMTP_PORT", "abc"), ("EIM_SMTP_PORT", "0"), ("EIM_SMTP_SECURITY", "ssl"), ("EIM_QUIET", "maybe")],
)
def test_a_bad_value_fails_naming_the_setting(
    bare_env: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.lower().removeprefix("eim_")):
        Settings()


def test_a_malformed_eim_toml_fails_loudly(bare_env: Path) -> None:
    (bare_env / "eim.toml").write_text("data_dir = \n")
    with pytest.raises(tomllib.TOMLDecodeError):
        Settings()


def test_settings_cannot_be_changed_once_made(bare_env: Path) -> None:
    with pytest.raises(ValidationError, match="frozen"):
        Settings().data_dir = Path("elsewhere")
