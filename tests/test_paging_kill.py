"""The window in which a page can repeat, measured on the real `sitewatch run`.

docs/paging.md promises: a page reaches its channel twice only if sitewatch dies
between the channel accepting it and the database recording that, and that window
is one send (at most `paging.send_timeout`) plus one commit. These tests kill -9 the
service inside the window (the page comes again, once, same text) and after it (it
never comes again), and measure the window itself against a slow channel.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from sitewatch.demo.site import SimulatedSite, SiteMode
from tests.harness import Service, ServiceConfig, logon_check, tickets_of, until


@dataclass
class SlowPager:
    """An on-call's pager on 127.0.0.1 that Apprise posts to: records, then answers late."""

    delay: float = 0.0
    """Seconds each request waits before its 200."""
    hold: asyncio.Event | None = None
    """While set to an unset event, requests wait for it (the channel hangs)."""
    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    """(wall-clock time of arrival, the JSON Apprise posted), in order."""
    port: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/pages", self._receive)
        return app

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/pages"

    def titles(self) -> list[str]:
        return [page["title"] for _, page in self.received]

    async def _receive(self, request: web.Request) -> web.Response:
        self.received.append((time.time(), json.loads(await request.read())))
        if self.hold is not None:
            await self.hold.wait()
        await asyncio.sleep(self.delay)
        return web.Response(text="ok")


@pytest.fixture
async def pager(aiohttp_server: AiohttpServer) -> SlowPager:
    pager = SlowPager()
    server = await aiohttp_server(pager.app())
    assert server.port is not None
    pager.port = server.port
    return pager


def config_for(tmp_path: Path, site_url: str, pager: SlowPager, paging: str = "") -> ServiceConfig:
    config = ServiceConfig(
        tmp_path,
        checks={"portal": logon_check("portal", site_url)},
        notify=pager.url,
        extra=f"paging: {{retry_initial: 200ms, retry_max: 1s{paging}}}\n",
    )
    config.write()
    return config


async def test_a_page_in_flight_at_kill_9_is_sent_again_once_after_the_restart(
    tmp_path: Path, simulated_site: SimulatedSite, simulated_site_url: str, pager: SlowPager
) -> None:
    pager.hold = asyncio.Event()
    config = config_for(tmp_path, simulated_site_url, pager)
    first = await Service(config).start()
    simulated_site.mode = SiteMode.ERROR
    await until("the SITE DOWN page at the channel", lambda: _arrived(pager, 1))
    # Inside the window: the channel has the page, the database does not know yet.
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    pager.hold.set()
    pager.hold = None

    second = await Service(config).start()
    try:
        await until("the page sent again", lambda: _arrived(pager, 2), within=30)
        simulated_site.mode = SiteMode.UP
        await until("the recovery page", lambda: _titled(pager, "RECOVERED"), within=30)
        [ticket] = await tickets_of(second)
    finally:
        second.stop()
    first_copy, second_copy = pager.received[0][1], pager.received[1][1]
    assert first_copy["title"].startswith("SITE DOWN")
    assert (second_copy["title"], second_copy["message"]) == (
        first_copy["title"],
        first_copy["message"],
    ), "the repeat is the same page, not a new one"
    # Pages to one person about one ticket go in order: RECOVERED came after the
    # repeat, so the repeat was the only one.
    assert pager.titles() == [first_copy["title"]] * 2 + [pager.titles()[-1]]
    assert ticket["state"] == "open"


async def test_a_page_recorded_before_kill_9_is_never_sent_again(
    tmp_path: Path, simulated_site: SimulatedSite, simulated_site_url: str, pager: SlowPager
) -> None:
    config = config_for(tmp_path, simulated_site_url, pager)
    first = await Service(config).start()
    simulated_site.mode = SiteMode.ERROR
    [ticket] = await until("a paged ticket", lambda: _paged_tickets(first))
    # Past the window: the database recorded the delivery before the kill.
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL

    second = await Service(config).start()
    try:
        simulated_site.mode = SiteMode.UP
        await until("the recovery page", lambda: _titled(pager, "RECOVERED"), within=30)
    finally:
        second.stop()
    titles = pager.titles()
    assert len(titles) == 2, titles
    assert titles[0].startswith("SITE DOWN") and titles[1].startswith("RECOVERED")
    assert ticket["state"] == "open"


async def test_the_repeat_window_is_one_send_plus_one_commit(
    tmp_path: Path, simulated_site: SimulatedSite, simulated_site_url: str, pager: SlowPager
) -> None:
    """Measure arrival at the channel -> the delivery committed, for a channel that
    answers after 1.5 s and one that never answers within `send_timeout` (1 s)."""
    pager.delay = 1.5
    config = config_for(tmp_path, simulated_site_url, pager, paging=", send_timeout: 3s")
    service = await Service(config).start()
    try:
        simulated_site.mode = SiteMode.ERROR
        [ticket] = await until("a paged ticket", lambda: _paged_tickets(service), within=30)
        arrived = pager.received[0][0]
        recorded = _paged_at(ticket)
    finally:
        service.stop()
    window = recorded - arrived
    print(f"repeat window, channel answering in 1.5 s: {window:.3f} s")
    assert 1.5 <= window < 1.5 + 1.0, "one send plus one commit"


async def test_a_channel_that_never_answers_closes_the_window_at_the_send_timeout(
    tmp_path: Path, simulated_site: SimulatedSite, simulated_site_url: str, pager: SlowPager
) -> None:
    pager.hold = asyncio.Event()  # never answers
    config = config_for(tmp_path, simulated_site_url, pager, paging=", send_timeout: 1s")
    service = await Service(config).start()
    try:
        simulated_site.mode = SiteMode.ERROR
        await until("the page at the channel", lambda: _arrived(pager, 1))
        arrived = pager.received[0][0]
        await until("the attempt recorded as failed", lambda: _failed_attempts(service))
        recorded = time.time()
        # The attempt counts as failed, so the page is tried again: the channel that
        # answered too late is the other way a page can arrive twice.
        await until("the second attempt", lambda: _arrived(pager, 2), within=10)
    finally:
        pager.hold.set()
        service.stop()
    window = recorded - arrived
    print(f"repeat window, channel never answering, send_timeout 1 s: {window:.3f} s")
    assert 1.0 <= window < 1.0 + 1.0, "the send timeout plus one commit (and a poll)"


async def _arrived(pager: SlowPager, count: int) -> bool | None:
    return True if len(pager.received) >= count else None


async def _titled(pager: SlowPager, prefix: str) -> bool | None:
    return True if any(title.startswith(prefix) for title in pager.titles()) else None


async def _paged_tickets(service: Service) -> list[dict[str, Any]] | None:
    tickets = await tickets_of(service)
    if not tickets:
        return None
    status, ticket = await service.api("GET", f"/api/v1/tickets/{tickets[0]['id']}")
    assert status == 200
    return [ticket] if any(event["kind"] == "paged" for event in ticket["events"]) else None


def _paged_at(ticket: dict[str, Any]) -> float:
    [at] = [event["at"] for event in ticket["events"] if event["kind"] == "paged"]
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


async def _failed_attempts(service: Service) -> bool | None:
    status, text = await service.api("GET", "/metrics")
    assert status == 200
    return True if 'sitewatch_pages_total{outcome="failed"} 1.0' in text else None
