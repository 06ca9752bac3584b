"""A throwaway PostgreSQL cluster on loopback, started from Debian's `postgresql` binaries."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Debian installs each major version side by side and puts only the client wrappers on PATH.
BIN_GLOB = "/usr/lib/postgresql/*/bin/initdb"
SERVER_USER = "postgres"


class PostgresUnavailable(Exception):
    """No PostgreSQL server binaries this test can use."""


@dataclass(frozen=True)
class PostgresInstall:
    bin_dir: Path
    # Set when we are root: initdb refuses to run as root, so the cluster belongs to this account.
    owner: pwd.struct_passwd | None


@dataclass(frozen=True)
class PostgresCluster:
    install: PostgresInstall
    port: int

    def url(self, database: str) -> str:
        """The SQLAlchemy URL Prefect's server takes (its PostgreSQL driver is asyncpg)."""
        return f"postgresql+asyncpg://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def query(self, database: str, sql: str) -> list[list[str]]:
        """Rows of `sql` as text, read over TCP like any other client of the cluster."""
        out = _run(
            [
                str(self.install.bin_dir / "psql"),
                *self._connection(),
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-F",
                "\t",
                "-c",
                sql,
            ]
        )
        return [line.split("\t") for line in out.splitlines()]

    def _connection(self) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", SERVER_USER]


def locate_postgres() -> PostgresInstall:
    """The newest installed major version, or PostgresUnavailable saying what is missing."""
    found = sorted(glob.glob(BIN_GLOB), key=lambda p: _version(Path(p).parents[1].name))
    if not found:
        raise PostgresUnavailable(
            f"PostgreSQL server binaries not found ({BIN_GLOB}); install Debian's `postgresql` package"
        )
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root and there is no `{SERVER_USER}` user to own the test cluster"
            ) from None
    return PostgresInstall(Path(found[-1]).parent, owner)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def postgres_cluster(install: PostgresInstall, database: str) -> Iterator[PostgresCluster]:
    """initdb a new cluster in a temporary folder, start it on a free loopback port and create
    `database`; stop and delete the cluster on exit, whatever happened."""
    root = Path(tempfile.mkdtemp(prefix="eim-pg-"))
    try:
        # mkdtemp makes 0700 folders: the server's account must be able to reach its own files.
        root.chmod(0o755)
        data, sockets, log = root / "data", root / "sockets", root / "postgres.log"
        sockets.mkdir()
        if install.owner is not None:
            for path in (root, sockets):
                os.chown(path, install.owner.pw_uid, install.owner.pw_gid)
        # --no-locale: the cluster must not depend on which locales the host has generated.
        _run(
            _as_owner(
                install,
                [
                    str(install.bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "--auth=trust",
                    f"-U{SERVER_USER}",
                    "--encoding=UTF8",
                    "--no-locale",
                ],
            )
        )
        cluster = PostgresCluster(install, free_port())
        # fsync off: the cluster is thrown away, and durability only slows the test down.
        options = f"-c listen_addresses=127.0.0.1 -p {cluster.port} -k {sockets} -c fsync=off"
        pg_ctl = str(install.bin_dir / "pg_ctl")
        try:
            _run(
                _as_owner(install, [pg_ctl, "-w", "-D", str(data), "-o", options, "-l", str(log), "start"]),
                log=log,
            )
            _run([str(install.bin_dir / "createdb"), *cluster._connection(), database])
            yield cluster
        finally:
            subprocess.run(
                _as_owner(install, [pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
                capture_output=True,
                timeout=60,
                env=_env(),
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _as_owner(install: PostgresInstall, command: list[str]) -> list[str]:
    if install.owner is None:
        return command
    return ["runuser", "-u", install.owner.pw_name, "--", *command]


def _env() -> dict[str, str]:
    # PG* variables of the caller (PGHOST, PGDATABASE, PGOPTIONS...) would redirect the commands.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    return {**env, "LC_ALL": "C"}


def _run(command: list[str], log: Path | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=_env())
    if done.returncode != 0:
        server_log = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
        raise RuntimeError(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}{server_log}"
        )
    return done.stdout
