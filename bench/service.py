"""The real `sitewatch run` under test: its generated workspace, its process, what it shows.

`Workspace` writes a config and N check files into a temporary directory; `Service`
starts `python -m sitewatch run` on it pinned to one CPU and reads its figures from
the outside only: /proc for CPU, memory and file descriptors, the SQLite file for
database growth, and the HTTP API for /metrics and tickets.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import sites
from control import child_setup

OPERATOR_TOKEN = "bench-operator-token-0123456789"
START_DEADLINE = 300.0
"""Loading 20,000 check files takes a while; anything longer is a failure."""
STOP_DEADLINE = 60.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Policy:
    """The timing every generated check gets from the config's defaults."""

    interval: float
    timeout: float = 10.0
    confirm: int = 2
    retry_interval: float = 5.0
    recover: int = 2


class Workspace:
    """A temporary directory with sitewatch.yaml, checks/ and the database."""

    def __init__(
        self,
        root: Path,
        count: int,
        ports: Sequence[int],
        policy: Policy,
        database_url: str = "",
        kind: str = "logon",
        event_loop: str = "",
    ) -> None:
        self.root = root
        self.kind = kind
        """What each check does (sites.KINDS)."""
        self.event_loop = event_loop
        """$SITEWATCH_EVENT_LOOP for the service (empty: its default)."""
        self.count = count
        self.port = free_port()
        self.config = root / "sitewatch.yaml"
        self.database = root / "sitewatch.db"
        self.database_url = database_url or "sqlite:///sitewatch.db"
        """The `database:` URL: the SQLite file above unless a PostgreSQL one is given."""
        self.log = root / "sitewatch.log"
        self._ports = ports
        self._policy = policy

    def write(self, webhook: str, sites_per_customer: int) -> None:
        """Write the config (one operator paged at `webhook`) and one check file per site."""
        checks = self.root / "checks"
        checks.mkdir()
        for site in range(self.count):
            text = sites.check_file(site, self._ports, sites_per_customer, self.kind)
            (checks / f"{sites.check_id(site)}.yaml").write_text(text)
        customers = "\n".join(
            f'  - {{id: {cid}, name: "Bench customer {cid}", token: "tok-{cid}-{cid}"}}'
            for cid in sorted({sites.customer_id(s, sites_per_customer) for s in range(self.count)})
        )
        p = self._policy
        self.config.write_text(
            textwrap.dedent(f"""\
                listen: "127.0.0.1:{self.port}"
                database: "{self.database_url}"
                checks: "checks"
                public_url: "http://127.0.0.1:{self.port}"
                defaults:
                  interval: {p.interval}s
                  timeout: {p.timeout}s
                  confirm: {p.confirm}
                  retry_interval: {p.retry_interval}s
                  recover: {p.recover}
                operators:
                  - id: bench-oncall
                    token: "${{BENCH_OPERATOR_TOKEN}}"
                    notify: ["{webhook}"]
                escalation:
                  repeat_every: 5m
                  levels:
                    - {{after: 0s, notify: [bench-oncall]}}
                customers:
                """)
            + customers
            + "\n"
        )

    def environment(self) -> dict[str, str]:
        """Return the environment sitewatch runs with: every site's password, the token."""
        env = dict(os.environ)
        env["BENCH_OPERATOR_TOKEN"] = OPERATOR_TOKEN
        if self.event_loop:
            env["SITEWATCH_EVENT_LOOP"] = self.event_loop
        env.update({sites.password_variable(s): sites.password(s) for s in range(self.count)})
        return env


@dataclass(frozen=True)
class Snapshot:
    """The process and its database at one moment."""

    at: float
    cpu_seconds: float
    rss_bytes: int
    fds: int
    db_bytes: int
    results: int
    server_cpu_seconds: float = 0.0
    """CPU of every PostgreSQL server process on this machine (0 for SQLite)."""


class Service:
    """One `sitewatch run` process, pinned, observed from the outside."""

    def __init__(self, workspace: Workspace, cpu: int | None, pythonpath: str = "") -> None:
        self.workspace = workspace
        self._pythonpath = pythonpath
        self.base = f"http://127.0.0.1:{workspace.port}"
        self._cpu = cpu
        self._process: subprocess.Popen[bytes] | None = None
        self._headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}

    @property
    def pid(self) -> int:
        """Return the process id."""
        assert self._process is not None, "the service is not started"
        return self._process.pid

    def start(self) -> None:
        """Spawn `python -m sitewatch run`, pinned to the CPU given (threads inherit it)."""
        cpu = self._cpu
        command = [sys.executable, "-m", "sitewatch", "run", "-c", str(self.workspace.config)]
        env = self.workspace.environment()
        if self._pythonpath:
            # A patched copy of the package, found before the installed one.
            env["PYTHONPATH"] = self._pythonpath
        with self.workspace.log.open("wb") as log:
            self._process = subprocess.Popen(
                [*command, "--log-level", "WARNING"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                # Not the caller's directory: `python -m` puts the working directory first
                # on the path, and a checkout there would shadow --pythonpath.
                cwd=self.workspace.root,
                preexec_fn=lambda: child_setup(cpu),  # noqa: PLW1509 - run.py starts no threads
            )

    async def wait_ready(self, session: aiohttp.ClientSession) -> float:
        """Poll /healthz until it answers; return when it did (time.time())."""
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                async with session.get(f"{self.base}/healthz") as response:
                    if response.status == 200:
                        return time.time()
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError(f"sitewatch did not answer within {START_DEADLINE:.0f} s")

    def _check_alive(self) -> None:
        assert self._process is not None
        if self._process.poll() is not None:
            tail = self.workspace.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"sitewatch exited with {self._process.returncode}:\n{tail}")

    async def metrics(self, session: aiohttp.ClientSession) -> str:
        """Scrape /metrics once."""
        async with session.get(f"{self.base}/metrics") as response:
            return await response.text()

    async def open_tickets(self, session: aiohttp.ClientSession) -> list[dict[str, Any]]:
        """Return the open and acknowledged tickets, as the API lists them."""
        url = f"{self.base}/api/v1/tickets?state=open,acknowledged&limit=1000"
        async with session.get(url, headers=self._headers) as response:
            response.raise_for_status()
            body = await response.json()
            tickets: list[dict[str, Any]] = body["tickets"]
            return tickets

    def snapshot(self) -> Snapshot:
        """Read CPU, memory and descriptors from /proc and the database's size."""
        url = self.workspace.database_url
        if url.startswith("postgresql:"):
            db_bytes, results = postgres_use(url)
        else:
            db_bytes, results = database_use(self.workspace.database)
        return Snapshot(
            at=time.time(),
            cpu_seconds=cpu_seconds(self.pid),
            server_cpu_seconds=postgres_cpu_seconds() if url.startswith("postgresql:") else 0.0,
            rss_bytes=proc_status(self.pid)["VmRSS"],
            fds=len(os.listdir(f"/proc/{self.pid}/fd")),
            db_bytes=db_bytes,
            results=results,
        )

    def peak_rss(self) -> int:
        """Return the process's peak resident set size (VmHWM) in bytes."""
        return proc_status(self.pid)["VmHWM"]

    def kill(self) -> None:
        """Kill the process with SIGKILL (no shutdown at all) and reap it."""
        assert self._process is not None
        self._process.kill()
        self._process.wait()

    def stop(self) -> int:
        """Send SIGTERM and wait for a clean exit; return the exit code."""
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        try:
            return self._process.wait(STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            return -9


def cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds of every thread of `pid`."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    # Fields 14 and 15 of proc(5), utime and stime; the split starts at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid: int) -> dict[str, int]:
    """Return the kB figures of /proc/PID/status (VmRSS, VmHWM, ...) in bytes."""
    figures = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            parts = value.split()
            if len(parts) == 2 and parts[1] == "kB":
                figures[name] = int(parts[0]) * 1024
    return figures


def database_use(path: Path) -> tuple[int, int]:
    """Return the bytes the database's pages hold (free pages excluded) and its result rows."""
    if not path.exists():
        return 0, 0
    # A second connection reads the committed state, WAL included, without blocking
    # sitewatch's writer; sitewatch's own connection outlives it, so no checkpoint runs.
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        free = connection.execute("PRAGMA freelist_count").fetchone()[0]
        size = connection.execute("PRAGMA page_size").fetchone()[0]
        rows = connection.execute("SELECT max(rowid) FROM probe_results").fetchone()[0]
        return (pages - free) * size, int(rows or 0)
    finally:
        connection.close()


def postgres_use(url: str) -> tuple[int, int]:
    """Return the database's size on disk (tables and indexes, not WAL) and its results."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT pg_database_size(current_database()), (SELECT count(*) FROM results)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def postgres_cpu_seconds() -> float:
    """Return the CPU seconds of every `postgres` process (the server, all its backends)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as comm:
                if comm.read().strip() != "postgres":
                    continue
            total += cpu_seconds(int(entry))
        except OSError:
            continue  # the process ended meanwhile
    return total
