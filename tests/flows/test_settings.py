"""Settings: arguments, then EIM_ variables (any case), then eim.toml, then defaults; pydantic validates."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from flows.settings import Settings, SettingsError


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
    ("name", "value", "expected"),
    [
        ("EIM_SMTP_PORT", "abc", "it should be a valid integer"),
        ("EIM_SMTP_PORT", "0", "it should be greater than or equal to 1"),
        ("EIM_SMTP_SECURITY", "ssl", "it should be 'none', 'starttls' or 'tls'"),
        ("EIM_QUIET", "maybe", "it should be a valid boolean"),
        ("EIM_HTTP_TIMEOUT", "-1", "it should be greater than 0"),
        ("EIM_HTTP_TIMEOUT", "abc", "it should be a valid number"),
        (
            "EIM_AREA",
            "nonexistent",
            "there is no packaged area of that name; packaged areas: england, "
            "greater-manchester, west-midlands",
        ),
        ("EIM_AREA_FILE", "missing.yaml", "there is no file at "),
    ],
)
def test_a_bad_value_fails_in_one_line_naming_the_setting_the_value_and_what_it_should_be(
    bare_env: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        Settings()
    assert caught.value.problems == [str(caught.value)]
    assert str(caught.value).startswith(f"{name}={value!r} is not valid: {expected}")


def test_a_bad_value_in_eim_toml_names_the_file(bare_env: Path) -> None:
    (bare_env / "eim.toml").write_text("http_retries = 0\nsmtp_port = 'x'\n")
    with pytest.raises(SettingsError) as caught:
        Settings()
    assert caught.value.problems == [
        "eim.toml: http_retries = 0 is not valid: it should be greater than or equal to 1",
        "eim.toml: smtp_port = 'x' is not valid: it should be a valid integer, unable to parse string as an "
        "integer",
    ]


def test_a_malformed_eim_toml_fails_loudly(bare_env: Path) -> None:
    (bare_env / "eim.toml").write_text("data_dir = \n")
    with pytest.raises(SettingsError, match=r"eim\.toml is not valid TOML: .*line 1"):
        Settings()


def test_settings_cannot_be_changed_once_made(bare_env: Path) -> None:
    with pytest.raises(ValidationError, match="frozen"):
        Settings().data_dir = Path("elsewhere")
