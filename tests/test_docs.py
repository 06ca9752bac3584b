"""Every CLI command has --help text and is documented in the README (sqlite-utils' habit)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from flows.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
COMMANDS = sorted(info.name or info.callback.__name__ for info in app.registered_commands)


def test_the_cli_has_commands() -> None:
    assert {"run", "demo", "query"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_command_has_help_and_is_documented(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    command_info = typer.main.get_command(app).commands[command]
    assert command_info.help and len(command_info.help) > 20
    assert f"eim {command}" in README, f"README.md does not document `eim {command}`"


@pytest.mark.parametrize("group", sorted(group.name for group in app.registered_groups))
def test_command_groups_are_documented(group: str) -> None:
    command_group = typer.main.get_command(app).commands[group]
    for name, command in command_group.commands.items():
        assert command.help and len(command.help) > 20, f"eim {group} {name} has no help"
        assert f"eim {group} {name}" in README, f"README.md does not document `eim {group} {name}`"


@pytest.mark.parametrize("target", ["make run", "make test", "make demo", "make test-fast"])
def test_readme_shows_the_make_targets(target: str) -> None:
    assert target in README
