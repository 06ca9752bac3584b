"""Every command, given a setting it cannot use, prints one line per problem and exits 2: never a
traceback, never a change to the data directory."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()
REQUIRED_ARGUMENTS = {
    ("query",): ["SELECT 1"],
    ("subscribers", "add"): ["jo@example.org"],
    ("subscribers", "remove"): ["jo@example.org"],
    ("subscribers", "import"): ["subscribers.csv"],
}


def _commands(command=None, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    command = command or typer.main.get_command(app)
    if not hasattr(command, "commands"):
        return [prefix]
    return [found for name, sub in command.commands.items() for found in _commands(sub, (*prefix, name))]


COMMANDS = _commands()


def test_the_walk_finds_every_command() -> None:
    assert {"run", "demo", "query", "status", "send", "subscribers add", "site serve"} <= {
        " ".join(c) for c in COMMANDS
    }


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("EIM_HTTP_TIMEOUT", "-1", "Error: EIM_HTTP_TIMEOUT='-1' is not valid: it should be greater than 0"),
        (
            "EIM_SMTP_PORT",
            "notaport",
            "Error: EIM_SMTP_PORT='notaport' is not valid: it should be a valid integer",
        ),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(
    eim_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...],
    setting: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(setting, value)
    (eim_env.parent / "subscribers.csv").write_text("email\njo@example.org\n")
    result = runner.invoke(app, [*command, *REQUIRED_ARGUMENTS.get(command, [])])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.output
    assert not any(line.startswith("Traceback") for line in lines)
    assert not eim_env.exists(), "a bad setting changed the data directory"


def test_a_malformed_eim_toml_is_one_line_naming_the_file(eim_env: Path) -> None:
    (eim_env.parent / "eim.toml").write_text("data_dir = \n")
    (eim_env.parent / "subscribers.csv").write_text("email\njo@example.org\n")
    for command in COMMANDS:
        result = runner.invoke(app, [*command, *REQUIRED_ARGUMENTS.get(command, [])])
        assert result.exit_code == 2, (command, result.output)
        (line,) = result.output.strip().splitlines()
        assert line.startswith(f"Error: {eim_env.parent / 'eim.toml'} is not valid TOML: "), line


@pytest.mark.parametrize("group", [[], ["subscribers"], ["site"]], ids=["eim", "subscribers", "site"])
def test_no_command_s_one_line_help_is_cut_short(group: list[str]) -> None:
    result = runner.invoke(app, [*group, "--help"], terminal_width=80)
    listed = result.output.split("Commands:")[1].strip().splitlines()
    assert listed and not any(line.rstrip().endswith("...") for line in listed), result.output
