"""The benchmark's own helpers on 127.0.0.1: the farm process and its control, the webhook.

`FarmProcess` starts bench/farm.py pinned to its CPU and talks to its control port;
`Webhook` is the operator's pager: an aiohttp server that Apprise's `json://` posts
each page to, and that notes when each arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

HERE = Path(__file__).resolve().parent
_PR_SET_PDEATHSIG = 1


def child_setup(cpu: int | None) -> None:
    """Pin a child process to `cpu` and have it stopped if the benchmark dies.

    Runs between fork and exec: a benchmark killed with SIGKILL must not leave a
    sitewatch probing, or a farm serving, behind it (Linux; elsewhere a no-op).
    """
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class FarmProcess:
    """bench/farm.py in its own process, and the calls of its control channel."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session
        self._process: asyncio.subprocess.Process | None = None
        self.control = ""
        self.ports: list[int] = []
        self.pid = 0

    async def start(self, count: int, ports: int, cpu: int | None) -> None:
        """Start the farm with `count` sites over `ports` ports; wait until it is ready."""
        command = [sys.executable, str(HERE / "farm.py"), "--sites", str(count)]
        command += ["--ports", str(ports)]
        if cpu is not None:
            command += ["--cpu", str(cpu)]
        self._process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            preexec_fn=lambda: child_setup(cpu),
        )
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), 60)
        if not line:
            raise RuntimeError("the farm exited before it was ready")
        ready = json.loads(line)
        self.control, self.ports, self.pid = ready["control"], ready["ports"], ready["pid"]

    async def stop(self) -> None:
        """Stop the farm and wait for it."""
        if self._process is None or self._process.returncode is not None:
            return
        self._process.terminate()
        try:
            await asyncio.wait_for(self._process.wait(), 30)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()

    async def stats(self) -> dict[str, Any]:
        """Return the farm's counters, CPU seconds and RSS."""
        stats: dict[str, Any] = await self._call("GET", "/stats")
        return stats

    async def reset(self) -> None:
        """Forget which sites have logged on so far."""
        await self._call("POST", "/reset")

    async def probed(self, below: int, since: float) -> list[tuple[int, float]]:
        """Return sites under `below` that logged on, last probed at or after `since`.

        Each comes with its last probe's start (time.time()).
        """
        answer = await self._call("GET", f"/probed?below={below}&since={since}")
        return [(int(site), float(at)) for site, at in answer["sites"]]

    async def down(self, sites: Sequence[int], mode: str = "error") -> float:
        """Take sites down; return when the farm switched them (time.time())."""
        answer = await self._call("POST", "/down", {"sites": list(sites), "mode": mode})
        return float(answer["time"])

    async def up(self, sites: Sequence[int] | None = None) -> None:
        """Bring sites back up (every site when None)."""
        await self._call("POST", "/up", {} if sites is None else {"sites": list(sites)})

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        async with self._session.request(method, self.control + path, json=body) as response:
            response.raise_for_status()
            return await response.json()


@dataclass(frozen=True)
class Page:
    """One page as it reached the webhook."""

    at: float
    title: str
    body: str


class Webhook:
    """The operator's pager: receives Apprise `json://` posts and notes their arrival."""

    def __init__(self) -> None:
        self.pages: list[Page] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        """Listen on an ephemeral port of 127.0.0.1."""
        app = web.Application()
        app.router.add_post("/pages", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"json://127.0.0.1:{port}/pages"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    def since(self, moment: float) -> list[Page]:
        """Return the pages that arrived at or after `moment`."""
        return [page for page in self.pages if page.at >= moment]

    async def _receive(self, request: web.Request) -> web.Response:
        at = time.time()
        try:
            body = await request.json()
        except ValueError:
            body = {}
        title = str(body.get("title", "")) if isinstance(body, dict) else ""
        message = str(body.get("message", body.get("body", ""))) if isinstance(body, dict) else ""
        self.pages.append(Page(at, title, message))
        return web.json_response({"ok": True})


@contextlib.asynccontextmanager
async def farm_and_webhook(
    session: aiohttp.ClientSession, sites: int, cpu: int | None, ports: int = 64
) -> AsyncIterator[tuple[FarmProcess, Webhook]]:
    """Run the farm with `sites` sites and the operators' webhook; stop both after."""
    farm, webhook = FarmProcess(session), Webhook()
    await webhook.start()
    try:
        await farm.start(sites, ports, cpu)
        try:
            yield farm, webhook
        finally:
            await farm.stop()
    finally:
        await webhook.stop()
