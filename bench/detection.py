"""Detection latency: take sites down, watch for their tickets and pages, bring them back.

Times are wall-clock (`time.time()` and the API's ISO times) on the same machine:

* down: when the farm switched the site to answering 503;
* onset: the ticket's `onset_at`, the start of the first failed probe;
* ticket: the ticket's `opened_at` (the store's clock when it committed it);
* page: when the `SITE DOWN` page naming the check reached the webhook.

How long a failure waits for the check's next probe depends only on where in the
interval it happens, so the sites are taken down at moments spread uniformly over
their interval: each chosen site has just been probed (it is `up`, as in production),
its next probe is due one interval after that, and it goes down a uniformly random
0..interval before that next probe. The whole measurement then takes about one
interval plus the confirmation, instead of two intervals.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from dataclasses import dataclass
from datetime import datetime

import aiohttp
import sites
from control import FarmProcess, Webhook
from service import Policy, Service

POLL_EVERY = 0.25
"""How often the webhook's pages are looked at (in this process: free for sitewatch)."""
TICKETS_EVERY = 5.0
"""How often the API is asked for tickets until every page came. A ticket carries its
own times, so reading it late loses nothing, and each request costs sitewatch CPU
that the bare loop does not spend: read four times a second, it was a third of
sitewatch's extra cost at 1,000 checks."""
PAGE_GRACE = 3.0
"""After the last ticket, how long to wait for the pages still missing."""
RECENT = 2.0
"""Candidates were probed at most this many seconds ago."""
_CHECK_ID = re.compile(r"\bsite-\d{5}\b")


@dataclass(frozen=True)
class Sample:
    """One site's outage, as seen from the outside."""

    check: str
    down: float | None
    onset: float | None = None
    ticket: float | None = None
    page: float | None = None


def _epoch(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


def confirmation_bound(policy: Policy) -> float:
    """Return how long after a site goes down its ticket must have come, at the latest."""
    # The next probe comes within an interval; then confirm - 1 retries, each a probe.
    probes = policy.confirm * policy.timeout
    return policy.interval + (policy.confirm - 1) * policy.retry_interval + probes + 10


def plan(
    probed: list[tuple[int, float]], count: int, interval: float, rng: random.Random
) -> dict[int, float]:
    """Choose up to `count` sites and when to take each down (time.time())."""
    chosen = rng.sample(probed, min(count, len(probed)))
    return {site: last + interval - rng.uniform(0, interval) for site, last in chosen}


class _Watch:
    """What has been seen so far of the chosen sites' outages."""

    def __init__(self, wanted: dict[str, int]) -> None:
        self.wanted = wanted
        self.downs: dict[str, float] = {}
        self.tickets: dict[str, tuple[float | None, float | None]] = {}
        self.pages: dict[str, float] = {}
        self.last_ticket: float | None = None

    def note_tickets(self, tickets: list[dict[str, str]]) -> None:
        for ticket in tickets:
            check = ticket["check"]
            if check in self.wanted and check not in self.tickets:
                self.tickets[check] = (_epoch(ticket["onset_at"]), _epoch(ticket["opened_at"]))
                self.last_ticket = time.time()

    def note_pages(self, webhook: Webhook, since: float) -> None:
        for page in webhook.since(since):
            if not page.title.startswith("SITE DOWN"):
                continue
            for check in _CHECK_ID.findall(f"{page.title} {page.body}"):
                if check in self.wanted:
                    self.pages.setdefault(check, page.at)

    def all_paged(self) -> bool:
        return len(self.pages) == len(self.wanted)

    def done(self) -> bool:
        if len(self.tickets) < len(self.wanted):
            return False
        late = self.last_ticket is not None and time.time() > self.last_ticket + PAGE_GRACE
        return self.all_paged() or late

    def samples(self) -> list[Sample]:
        return [
            Sample(
                check,
                self.downs.get(check),
                onset=self.tickets.get(check, (None, None))[0],
                ticket=self.tickets.get(check, (None, None))[1],
                page=self.pages.get(check),
            )
            for check in self.wanted
        ]


async def measure(
    *,
    farm: FarmProcess,
    service: Service,
    webhook: Webhook,
    session: aiohttp.ClientSession,
    checks: int,
    count: int,
    policy: Policy,
    rng: random.Random,
) -> list[Sample]:
    """Take `count` just-probed sites down at spread moments; return each one's times."""
    started = time.time()
    schedule = plan(await farm.probed(checks, started - RECENT), count, policy.interval, rng)
    if not schedule:
        return []
    watch = _Watch({sites.check_id(site): site for site in schedule})

    async def take_down() -> None:
        for site, at in sorted(schedule.items(), key=lambda item: item[1]):
            await asyncio.sleep(max(0.0, at - time.time()))
            watch.downs[sites.check_id(site)] = await farm.down([site])

    deadline = max(schedule.values()) + confirmation_bound(policy)
    downs = asyncio.create_task(take_down())
    try:
        read_at = time.time() + TICKETS_EVERY
        while time.time() < deadline and not watch.done():
            watch.note_pages(webhook, started)
            if watch.all_paged() or time.time() >= read_at:
                watch.note_tickets(await service.open_tickets(session))
                read_at = time.time() + TICKETS_EVERY
            await asyncio.sleep(POLL_EVERY)
        watch.note_tickets(await service.open_tickets(session))
    finally:
        downs.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await downs
        await farm.up(list(schedule))
    return watch.samples()
