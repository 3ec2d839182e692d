"""Ticket webhooks: every ticket change POSTed to the help desk, in order, at least once."""

from __future__ import annotations

import asyncio
import json
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from sitewatch.demo.site import SimulatedSite, SiteMode
from tests.harness import (
    CUSTOMER_TOKEN,
    Service,
    ServiceConfig,
    logon_check,
    until,
)


@dataclass
class HelpDesk:
    """A help desk's webhook endpoint on 127.0.0.1: records calls, answers as told."""

    answers: list[int] = field(default_factory=list)
    """Statuses of the next calls, in order (200 once they run out)."""
    calls: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    hold: asyncio.Event | None = None
    """While set to an unset event, calls wait for it (a slow help desk)."""
    port: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hooks/sitewatch", self._receive)
        return app

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/sitewatch?token=desk-secret-token"

    async def _receive(self, request: web.Request) -> web.Response:
        call = json.loads(await request.read())
        call["idempotency_key"] = request.headers.get("Idempotency-Key")
        self.calls.append(call)
        if self.hold is not None:
            await self.hold.wait()
        status = self.answers.pop(0) if self.answers else 200
        if status == 200:
            self.accepted.append(call)
        return web.Response(status=status)

    def events(self) -> list[str]:
        return [call["event"] for call in self.accepted]


@pytest.fixture
async def desk(aiohttp_server: AiohttpServer) -> HelpDesk:
    desk = HelpDesk()
    server = await aiohttp_server(desk.app())
    assert server.port is not None
    desk.port = server.port
    return desk


def config_for(
    tmp_path: Path, site_url: str, desk: HelpDesk, *, repeat: str = "0s"
) -> ServiceConfig:
    config = ServiceConfig(
        tmp_path,
        checks={"portal": logon_check("portal", site_url)},
        extra=f'ticket_webhooks: ["{desk.url}"]\npaging: {{retry_initial: 200ms, retry_max: 1s}}\n',
    )
    config.write()
    if repeat != "0s":
        text = config.path.read_text().replace("repeat_every: 0s", f"repeat_every: {repeat}")
        config.path.write_text(text)
    return config


async def test_each_ticket_change_reaches_the_help_desk_once_in_order_with_a_key(
    tmp_path: Path, simulated_site: SimulatedSite, simulated_site_url: str, desk: HelpDesk
) -> None:
    desk.answers = [500]  # the first call fails: retried, and the next ones wait for it
    service = await Service(config_for(tmp_path, simulated_site_url, desk, repeat="1s")).start()
    try:
        simulated_site.mode = SiteMode.ERROR
        await until("opened and escalated", lambda: _has(desk, "escalated"))
        ticket = desk.accepted[0]["ticket"]["id"]
        assert (await service.api("POST", f"/api/v1/tickets/{ticket}/ack"))[0] == 200
        simulated_site.mode = SiteMode.UP
        await until("recovered", lambda: _has(desk, "recovered"))
        body = {"cause": "software", "note": "deploy rolled back"}
        assert (await service.api("POST", f"/api/v1/tickets/{ticket}/resolve", json=body))[0] == 200
        await until("resolved", lambda: _has(desk, "resolved"))
        status, metrics = await _metrics(service)
    finally:
        service.stop()

    events = desk.events()
    assert events[0] == "opened" and events[1].startswith("escalated")
    assert [e for e in events if e != "escalated"] == [
        "opened",
        "acknowledged",
        "recovered",
        "resolved",
    ]
    assert desk.calls[0]["key"] == desk.calls[1]["key"], "a retried call keeps its key"
    keys = [call["key"] for call in desk.accepted]
    assert len(set(keys)) == len(keys), "each change has a key of its own"
    resolved = desk.accepted[-1]
    assert resolved["ticket"]["state"] == "resolved" and resolved["ticket"]["cause"] == "software"
    assert resolved["ticket"]["onset_at"].endswith("Z") and resolved["ticket"]["id"] == ticket
    assert "desk-secret-token" not in service.log()
    assert status == 200
    assert 'sitewatch_webhooks_total{outcome="failed"} 1.0' in metrics


async def test_a_call_in_flight_when_sitewatch_is_killed_is_made_again_after_the_restart(
    tmp_path: Path, simulated_site: SimulatedSite, simulated_site_url: str, desk: HelpDesk
) -> None:
    desk.hold = asyncio.Event()
    config = config_for(tmp_path, simulated_site_url, desk)
    first = await Service(config).start()
    simulated_site.mode = SiteMode.ERROR
    await until("the opened call to arrive", lambda: _called(desk))
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    desk.hold.set()
    desk.hold = None

    second = await Service(config).start()
    try:
        await until("the opened call made again", lambda: _has(desk, "opened", count=2), within=60)
    finally:
        second.stop()
    keys = {call["key"] for call in desk.calls if call["event"] == "opened"}
    assert len(keys) == 1, "the same change, the same key: the help desk recognises the repeat"


async def test_a_customer_token_cannot_read_tickets_it_was_told_nothing_of(
    tmp_path: Path, simulated_site_url: str, desk: HelpDesk
) -> None:
    service = await Service(config_for(tmp_path, simulated_site_url, desk)).start()
    try:
        status, _ = await service.api("GET", "/api/v1/tickets", token=CUSTOMER_TOKEN)
    finally:
        service.stop()
    assert status == 403


async def _has(desk: HelpDesk, event: str, count: int = 1) -> bool | None:
    return True if desk.events().count(event) >= count else None


async def _metrics(service: Service) -> tuple[int, str]:
    status, text = await service.api("GET", "/metrics")
    return status, str(text)


async def _called(desk: HelpDesk) -> bool | None:
    return True if desk.calls else None
