"""The instances `bench/cluster.py` runs: processes on a shared PostgreSQL database.

`Instance` is one `sitewatch run --instance NAME --location L` with a config of its
own (its port) over a `service.Workspace`; the database helpers make and drop one
database per phase.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time

import aiohttp
import psycopg
from control import child_setup
from service import Workspace, cpu_seconds, free_port

ADMIN = os.environ.get("SITEWATCH_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


class Instance:
    """One `sitewatch run --instance NAME --location L` on the shared database."""

    def __init__(self, workspace: Workspace, name: str, location: str, cpu: int | None) -> None:
        self.name, self.location, self._cpu = name, location, cpu
        self.port = free_port()
        text = workspace.config.read_text().replace(str(workspace.port), str(self.port))
        self.config = workspace.root / f"{name}.yaml"
        self.config.write_text(text)
        self._env = workspace.environment()
        self._log = workspace.root / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Spawn the process, pinned to the CPU given."""
        command = [sys.executable, "-m", "sitewatch", "run", "-c", str(self.config)]
        command += ["--instance", self.name, "--location", self.location, "--log-level", "WARNING"]
        cpu = self._cpu
        with self._log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                cwd=self.config.parent,
                preexec_fn=lambda: child_setup(cpu),  # noqa: PLW1509 - no threads here
            )

    async def ready(self, session: aiohttp.ClientSession) -> None:
        """Wait until /healthz answers 200."""
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.tail()
            try:
                async with session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not become healthy:\n{self.tail()}")

    @property
    def pid(self) -> int:
        """The process id."""
        assert self.process is not None
        return self.process.pid

    def cpu(self) -> float:
        """Return the CPU seconds the process used so far."""
        assert self.process is not None
        return cpu_seconds(self.process.pid)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> float:
        """Signal the process and wait for it; return how long it took to exit."""
        started = time.monotonic()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                print(f"{self.name} did not stop in 60 s:\n{self.tail()}", flush=True)
                self.process.kill()
                self.process.wait()
        return time.monotonic() - started

    def tail(self) -> str:
        """Return the end of the log."""
        return self._log.read_text(errors="replace")[-3000:] if self._log.exists() else ""


def new_database() -> str:
    """Create an empty database for one phase; return its URL."""
    name = f"sitewatch_bench_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return ADMIN.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    """Drop a database made by `new_database`."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clustered(space: Workspace, webhook: str, url: str, lease: float) -> None:
    """Write the workspace for PostgreSQL and a cluster of instances."""
    space.write(webhook, 10)
    text = space.config.read_text().replace('"sqlite:///sitewatch.db"', f'"{url}"')
    if space.count == 0:
        text = text.replace("customers:\n", "customers: []\n")
    space.config.write_text(text + f"cluster: {{lease: {lease}s}}\n")


def lease_of(url: str) -> tuple[str, int] | None:
    """Return the live lease's holder and epoch (database time), if any."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT instance, epoch FROM leader_lease WHERE until > clock_timestamp()"
        ).fetchone()
    return None if row is None else (row[0], row[1])
