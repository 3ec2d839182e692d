"""What the paging tests share: a real webhook for Apprise, tickets, a planner, pages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from sitewatch.clock import FakeClock
from sitewatch.model import Classification, ResultKind, Schedule, Ticket, TicketState
from sitewatch.paging.channels import Channels
from sitewatch.paging.escalation import Level
from sitewatch.paging.links import AckLinks
from sitewatch.paging.oncall import Resolver
from sitewatch.paging.planner import Planner

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
KEY = b"k" * 32
PUBLIC_URL = "https://sitewatch.example"
SECRET = "s3cret-api-token"


def at(minutes: float) -> datetime:
    """Return T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def ticket(
    ticket_id: str = "12",
    *,
    state: TicketState = TicketState.OPEN,
    opened: float = 0,
    recovered: float | None = None,
    detail: str = "step 2 POST https://portal.acme.example/login: expected status 302, got 401",
    check: str = "acme-portal",
    customer: str = "acme",
) -> Ticket:
    """Return a ticket opened `opened` minutes after T0, its onset a minute earlier."""
    return Ticket(
        id=ticket_id,
        check=check,
        customer=customer,
        state=state,
        classification=Classification.EMERGENCY,
        symptom=ResultKind.LOGIN_REJECTED,
        detail=detail,
        onset_at=at(opened - 1),
        opened_at=at(opened),
        recovered_at=None if recovered is None else at(recovered),
    )


def links(ttl: timedelta = timedelta(hours=24)) -> AckLinks:
    """Return the acknowledge links of the tests."""
    return AckLinks(KEY, public_url=PUBLIC_URL, ttl=ttl)


LEVELS = (Level(timedelta(0), ("alice",)), Level(timedelta(minutes=10), ("bob",)))


def planner(
    *,
    levels: Sequence[Level] = LEVELS,
    repeat_every: timedelta = timedelta(minutes=5),
    operators: Mapping[str, Sequence[str]] | None = None,
    fallback: Sequence[str] = (),
    secrets: frozenset[str] = frozenset({SECRET}),
    schedules: Sequence[Schedule] = (),
) -> Planner:
    """Return a planner over alice (level 0) and bob (level 1), one notify URL each."""
    operators = operators or {
        "alice": ["json://127.0.0.1:9/alice"],
        "bob": ["json://127.0.0.1:9/bob"],
    }
    return Planner(
        levels=levels,
        repeat_every=repeat_every,
        resolver=Resolver(list(operators), schedules),
        channels=Channels(operators, fallback),
        links=links(),
        secrets=lambda _check: secrets,
    )


@dataclass
class Webhook:
    """A real aiohttp endpoint on 127.0.0.1 recording every page Apprise posts to it.

    `answers` are the statuses of the next requests, in order (200 once they run out).
    """

    answers: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    def app(self) -> web.Application:
        """Return the aiohttp application to serve."""
        app = web.Application()
        app.router.add_post("/{path:.*}", self._receive)
        return app

    def url(self, path: str = "pages") -> str:
        """Return the Apprise URL that posts JSON to this webhook."""
        return f"json://127.0.0.1:{self.port}/{path}"

    async def _receive(self, request: web.Request) -> web.Response:
        page = json.loads(await request.read()) | {"path": request.path}
        self.received.append(page)
        status = self.answers.pop(0) if self.answers else 200
        if status == 200:
            self.delivered.append(page)
        return web.Response(status=status, text="ok" if status == 200 else "try later")

    async def wait_for(self, count: int, *, delivered: bool = True, within: float = 10) -> None:
        """Wait until `count` pages arrived (delivered ones, or any requests)."""
        seen = self.delivered if delivered else self.received
        await poll(lambda: len(seen) >= count, f"{count} page(s) at the webhook", within)


async def poll(
    condition: Any, what: str, within: float = 10, *, clock: FakeClock | None = None
) -> None:
    """Poll a condition (a callable, maybe async) until it holds, or fail at the deadline.

    With a fake `clock`, also move it a second per try: loops that sleep on it and
    then wait for real I/O (the store's thread, Apprise) get their turns.
    """
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {within:.0f}s waiting for {what}")
        if clock is not None:
            await clock.advance(timedelta(seconds=1))
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(loop: Coroutine[Any, Any, None]) -> AsyncIterator[asyncio.Task[None]]:
    """Run a loop (a dispatcher's, an escalator's) for the length of a `with` block."""
    task = asyncio.create_task(loop)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
