"""End to end through the CLI: subscribers added, `eim send` delivers once and only once, and the
unsubscribe link in the email works on the served site."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import socket
import threading
import urllib.parse
import urllib.request
from pathlib import Path

from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from flows.cli import app
from reports.delivery.site_server import make_server

SECRET = "a-test-secret-of-enough-length"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_send_once_then_unsubscribe_end_to_end(demo_edition: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(demo_edition.parent.parent, data_dir, symlinks=True)
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    site = make_server(data_dir / "site", data_dir, "127.0.0.1", 0, SECRET)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    site_url = f"http://127.0.0.1:{site.server_address[1]}"
    env = {
        "EIM_DATA_DIR": str(data_dir),
        "EIM_SMTP_HOST": "127.0.0.1",
        "EIM_SMTP_PORT": str(port),
        "EIM_SMTP_SECURITY": "none",
        "EIM_MAIL_FROM": "monitor@example.org",
        "EIM_UNSUBSCRIBE_SECRET": SECRET,
        "EIM_SITE_URL": site_url,
    }
    runner = CliRunner()
    try:
        for address in ("ann@example.org", "bob@example.org"):
            assert runner.invoke(app, ["subscribers", "add", address], env=env).exit_code == 0
        first = runner.invoke(app, ["send"], env=env)
        assert first.exit_code == 0, first.output
        second = runner.invoke(app, ["send"], env=env)
        assert second.exit_code == 0, second.output
        assert sorted(m["To"] for m in inbox.messages) == ["ann@example.org", "bob@example.org"]

        link = re.search(r"<(http[^>]+unsubscribe\?token=[^>]+)>", inbox.messages[0]["List-Unsubscribe"])[1]
        who = inbox.messages[0]["To"]
        request = urllib.request.Request(link, data=b"List-Unsubscribe=One-Click", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        listed = runner.invoke(app, ["subscribers", "list", "--json"], env=env).output
        assert who not in listed and ({"ann@example.org", "bob@example.org"} - {who}).pop() in listed
        forged = link.replace(urllib.parse.quote(link.split("token=")[1])[:5], "AAAAA")
        try:
            urllib.request.urlopen(urllib.request.Request(forged + "x", method="POST"), timeout=10)
            raise AssertionError("a forged token was accepted")
        except urllib.error.HTTPError as error:
            assert error.code == 400
        deliveries = runner.invoke(app, ["deliveries", "--json"], env=env)
        assert deliveries.exit_code == 0 and deliveries.output.count('"sent"') == 2
    finally:
        site.shutdown()
        site.server_close()
        controller.stop()
