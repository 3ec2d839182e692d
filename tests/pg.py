"""PostgreSQL for the tests: find a server or start a throwaway one, and make databases.

`$SITEWATCH_TEST_PG` names an administrative URL (default: trust auth as
`postgres` on 127.0.0.1:5432). When nothing answers there, a throwaway server is
made with `initdb` and `pg_ctl` (from PATH or /usr/lib/postgresql/*/bin) in a temp
directory on a free port, and stopped at the end. Each test session makes one
database `sitewatch_test_<random>`, migrated once and emptied before each test
(`reset`), plus any empty database a test asks for, and drops them all at the end.
No server and no binaries: a failure under `CI=true`, else a skip.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVER_USER = "postgres"
"""The system user a throwaway server runs as when the tests run as root."""


def admin_url() -> str:
    """Return the administrative URL the tests use to reach PostgreSQL."""
    return os.environ.get("SITEWATCH_TEST_PG") or DEFAULT_URL


def with_database(url: str, name: str) -> str:
    """Return `url` naming another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def answers(url: str) -> bool:
    """Tell whether a server accepts a connection at `url` within two seconds."""
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def find_binaries() -> Path | None:
    """Return the directory of `initdb` and `pg_ctl`: PATH first, then the newest Debian one."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name)
    )
    for directory in reversed(candidates):
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ThrowawayServer:
    """A PostgreSQL server of our own in a temp directory: start, stop, restart at will."""

    binaries: Path
    directory: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        """Return the administrative URL of this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        """Make the cluster: trust auth on loopback, no fsync (a test server)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # initdb refuses root: run the server as its own user
            shutil.chown(self.directory, SERVER_USER)
        self._run(
            [
                "initdb",
                "-D",
                str(self.directory / "data"),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        data, log = str(self.directory / "data"), str(self.directory / "server.log")
        self._run(["pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", "30", "start"])

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: roll back sessions; `immediate`: as a crash would)."""
        data = str(self.directory / "data")
        self._run(["pg_ctl", "-D", data, "-m", mode, "-w", "-t", "30", "stop"])

    def _run(self, command: Sequence[str]) -> None:
        argv = [str(self.binaries / command[0]), *command[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", SERVER_USER, "--", *argv]
        subprocess.run(argv, check=True, capture_output=True, cwd=self.directory)


def reset(url: str, keep_partitions: frozenset[str]) -> None:
    """Empty every sitewatch table of a database and drop the partitions a test made.

    Cheaper than a fresh copy of a template by an order of magnitude (a copy writes
    and syncs the whole database; this deletes a few rows). Connections a test left
    open are ended first, so their locks cannot hold the reset up.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        with conn.transaction():
            for table, partition in conn.execute(PARTITIONS_AND_TABLES).fetchall():
                name = sql.Identifier(table)
                if partition and table not in keep_partitions:
                    conn.execute(sql.SQL("DROP TABLE {}").format(name))
                elif not partition and table != "sitewatch_schema":
                    conn.execute(sql.SQL("DELETE FROM {}").format(name))


def partitions(url: str) -> frozenset[str]:
    """Return the names of the partitions in a database."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(PARTITIONS_AND_TABLES).fetchall()
    return frozenset(table for table, partition in rows if partition)


PARTITIONS_AND_TABLES = (
    "SELECT relname, relispartition FROM pg_class WHERE relkind IN ('r', 'p')"
    " AND relnamespace = current_schema()::regnamespace ORDER BY relispartition DESC, relname"
)


class Databases:
    """The databases one test session makes on one server, dropped at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"sitewatch_test_{secrets.token_hex(4)}"
        self._made: list[str] = []
        self._count = 0

    def create(self) -> str:
        """Create an empty database; return its URL."""
        name = self._next_name() if self._made else self.prefix
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self._made.append(name)
        return with_database(self.url, name)

    def drop(self, url: str) -> None:
        """Drop one database made here, ending any connection still open to it."""
        name = urlsplit(url).path.lstrip("/")
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        if name in self._made:
            self._made.remove(name)

    def drop_all(self) -> None:
        """Drop every database still made here."""
        for name in reversed(list(self._made)):
            self.drop(with_database(self.url, name))

    def _next_name(self) -> str:
        self._count += 1
        return f"{self.prefix}_{self._count}"
