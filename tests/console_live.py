"""The real service for the console's browser tests, driven without an event loop.

Playwright's sync API runs its own loop in the test's thread, so these helpers are
synchronous: `sitewatch run` in a subprocess (`tests/harness.py`'s `Service`),
a simulated customer site on a thread of its own, and polling with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from aiohttp import web

from sitewatch.demo.site import SimulatedSite
from tests.harness import OPERATOR_TOKEN, PROBE_PASSWORD, Service, ServiceConfig

T = TypeVar("T")


def wait_until(what: str, probe: Callable[[], T | None], within: float = 20) -> T:
    """Poll `probe` until it returns something other than None, or fail at the deadline."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {within:.0f}s waiting for {what}")
        time.sleep(0.05)


def call(url: str, method: str = "GET", token: str = OPERATOR_TOKEN, body: Any = None) -> Any:
    """Call the JSON API; return (status, body as JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def healthy(url: str) -> bool | None:
    """Return True once `GET /healthz` answers 200, else None."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
            return True if answer.status == 200 else None
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


@contextmanager
def running(config: ServiceConfig, *, start: bool = True) -> Iterator[Service]:
    """Run `sitewatch run` on a written config until the block ends (SIGTERM)."""
    service = Service(config)
    service.spawn()
    try:
        if start:
            wait_until(f"{config.url}/healthz", lambda: _alive(service))
        yield service
    finally:
        if service.process is not None and service.process.poll() is None:
            service.stop()


def _alive(service: Service) -> bool | None:
    assert service.process is not None
    if service.process.poll() is not None:
        raise AssertionError(f"sitewatch exited {service.process.returncode}:\n{service.log()}")
    return healthy(service.config.url)


@contextmanager
def site_in_thread() -> Iterator[str]:
    """Serve a simulated customer site (up) on a thread's own loop; yield its base URL."""
    site = SimulatedSite(user="acme-robot", password=PROBE_PASSWORD)
    loop = asyncio.new_event_loop()
    started: list[int] = []
    ready = threading.Event()

    async def serve() -> web.AppRunner:
        runner = web.AppRunner(site.app())
        await runner.setup()
        tcp = web.TCPSite(runner, "127.0.0.1", 0)
        await tcp.start()
        started.append(runner.addresses[0][1])
        return runner

    def run() -> None:
        asyncio.set_event_loop(loop)
        holder.append(loop.run_until_complete(serve()))
        ready.set()
        loop.run_forever()

    holder: list[web.AppRunner] = []
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{started[0]}"
    finally:
        asyncio.run_coroutine_threadsafe(holder[0].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
