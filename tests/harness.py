"""Drive the real `sitewatch` command as a user would: a config on disk, a subprocess.

Used by the tests that start `sitewatch run` (or `check`, `probe`) as a process
against a simulated customer site on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp.test_utils import unused_port

T = TypeVar("T")

OPERATOR_TOKEN = "operator-token-for-tests"
CUSTOMER_TOKEN = "acme-token-for-tests"
GLOBEX_TOKEN = "globex-token-for-tests"
PROBE_PASSWORD = "correct h@rse&co"
ENV = {
    "TEST_OPERATOR_TOKEN": OPERATOR_TOKEN,
    "TEST_CUSTOMER_TOKEN": CUSTOMER_TOKEN,
    "TEST_GLOBEX_TOKEN": GLOBEX_TOKEN,
    "TEST_PROBE_PASSWORD": PROBE_PASSWORD,
}


def logon_check(check_id: str, site_url: str, *, customer: str = "acme") -> str:
    """Return the YAML of a three-step logon check of a simulated site."""
    return textwrap.dedent(f"""\
        id: {check_id}
        customer: {customer}
        name: Logon of {check_id}
        steps:
          - get: "{site_url}/login"
            extract: {{csrf: 'name="csrf" value="([^"]+)"'}}
          - post: "{site_url}/login"
            form: {{user: acme-robot, password: "${{TEST_PROBE_PASSWORD}}", csrf: "{{csrf}}"}}
            expect: {{status: 302, cookie: session}}
          - get: "{site_url}/home"
            expect: {{status: 200, body_contains: "Welcome"}}
        """)


@dataclass
class ServiceConfig:
    """A service configuration written to a directory, with fast test timings."""

    directory: Path
    port: int = field(default_factory=unused_port)
    checks: dict[str, str] = field(default_factory=dict)
    notify: str = "json://127.0.0.1:9/pages"
    """Where the operator olivia is paged (an Apprise URL; port 9 discards)."""
    extra: str = ""
    """More top-level YAML."""
    database: str = "sqlite:///sitewatch.db"
    """The `database:` URL (a PostgreSQL test database for the tests on both backends)."""

    @property
    def path(self) -> Path:
        """The config file."""
        return self.directory / "sitewatch.yaml"

    @property
    def url(self) -> str:
        """The service's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def write(self) -> Path:
        """Write the config and the check files; return the config's path."""
        checks_dir = self.directory / "checks"
        checks_dir.mkdir(parents=True, exist_ok=True)
        for check_id, text in self.checks.items():
            (checks_dir / f"{check_id}.yaml").write_text(text)
        self.path.write_text(
            textwrap.dedent(f"""\
                listen: "127.0.0.1:{self.port}"
                database: "{self.database}"
                checks: "checks"
                defaults:
                  interval: 500ms
                  timeout: 2s
                  confirm: 2
                  retry_interval: 100ms
                  recover: 2
                customers:
                  - {{id: acme, name: Acme Corp, token: "${{TEST_CUSTOMER_TOKEN}}"}}
                  - {{id: globex, name: Globex, token: "${{TEST_GLOBEX_TOKEN}}"}}
                operators:
                  - {{id: olivia, token: "${{TEST_OPERATOR_TOKEN}}", notify: ["{self.notify}"]}}
                escalation:
                  repeat_every: 0s
                  levels:
                    - {{after: 0s, notify: [olivia]}}
                """)
            + self.extra
        )
        return self.path


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `sitewatch ARGS` to completion and return what it printed and its exit code."""
    return subprocess.run(
        [sys.executable, "-m", "sitewatch", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **ENV, **(env or {})},
        check=False,
    )


async def run_cli_async(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `sitewatch ARGS` without blocking the event loop (which may serve a test site)."""
    return await asyncio.to_thread(run_cli, *args, env=env)


class Service:
    """The real `sitewatch run` in a subprocess, started on a written config."""

    def __init__(self, config: ServiceConfig, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.log_path = config.directory / "service.log"
        self._env = {**os.environ, **ENV, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> Service:
        """Start the process and wait until /healthz answers."""
        self.spawn()
        await until(f"{self.config.url}/healthz to answer", self._healthy)
        return self

    def spawn(self) -> None:
        """Start `sitewatch run` (Popen returns at once; it does not wait for the child)."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sitewatch", "run", "-c", str(self.config.path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
            )

    async def _healthy(self) -> bool | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"sitewatch exited {self.process.returncode}:\n{self.log()}")
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{self.config.url}/healthz") as response,
            ):
                return True if response.status == 200 else None
        except aiohttp.ClientConnectionError:
            return None

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 20) -> int:
        """Send a signal and return the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def log(self) -> str:
        """Return everything the service printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def api(self, method: str, path: str, token: str = OPERATOR_TOKEN, **kw: Any) -> Any:
        """Call the service's API and return (status, JSON or text)."""
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.config.url + path, headers=headers, **kw) as response,
        ):
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()


async def state_of(service: Service, check_id: str) -> dict[str, Any]:
    """Return one check as `GET /api/v1/checks` shows it to an operator."""
    status, body = await service.api("GET", "/api/v1/checks")
    assert status == 200, body
    found: dict[str, Any] = next(c for c in body["checks"] if c["id"] == check_id)
    return found


async def tickets_of(service: Service) -> list[dict[str, Any]]:
    """Return every ticket as `GET /api/v1/tickets` lists it."""
    status, body = await service.api("GET", "/api/v1/tickets")
    assert status == 200, body
    tickets: list[dict[str, Any]] = body["tickets"]
    return tickets


async def wait_for_state(service: Service, check_id: str, state: str) -> dict[str, Any]:
    """Poll until the check is in `state`; return it as the API shows it."""

    async def in_state() -> dict[str, Any] | None:
        check = await state_of(service, check_id)
        return check if check["state"] == state else None

    return await until(f"{check_id} {state}", in_state)


async def until(what: str, probe: Callable[[], Awaitable[T | None]], within: float = 20) -> T:
    """Poll `probe` until it returns something other than None, or fail at the deadline."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {within:.0f}s waiting for {what}")
        await asyncio.sleep(0.05)
