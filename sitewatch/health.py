"""Loud failure: supervised loops, the health `/healthz` reports, and the dead man's switch.

Every background loop runs under the `Supervisor`. A loop that raises is logged with
its traceback, counted in `sitewatch_internal_errors_total{loop}`, reported by
`/healthz` (503) and restarted with backoff; a loop that keeps crashing (5 times in
5 minutes) is given up on, and the process stops with exit code 1 so that its
supervisor (systemd `Restart=on-failure`, Docker `restart: unless-stopped`) starts
it again. Losing the database is not a crash: the loops wait for it, `/healthz`
says so, and they resume when it returns. While healthy, the heartbeat GETs
`heartbeat.url`, so an outside watcher pages when sitewatch itself goes quiet.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

import aiohttp

from sitewatch.clock import Clock
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import FencedError, Store, StoreError

log = logging.getLogger(__name__)

CRASH_BUDGET = 5
CRASH_WINDOW = timedelta(minutes=5)
STEADY = timedelta(seconds=30)
"""A restarted loop that runs this long without crashing is healthy again."""
PING_TIMEOUT = timedelta(seconds=2)
DATABASE_RETRY = 1.0
"""Seconds between attempts of a loop waiting for the database."""
FIRST_BACKOFF, MAX_BACKOFF = 0.25, 30.0
"""Seconds before restarting a crashed loop: doubling while it keeps crashing."""

Loop = Callable[[], Awaitable[None]]


class Supervisor:
    """Run named loops for ever; restart a crashed one; give up on one that keeps crashing."""

    def __init__(self, clock: Clock, metrics: Metrics, *, on_fatal: Callable[[str], None]) -> None:
        self._clock = clock
        self._metrics = metrics
        self._on_fatal = on_fatal
        self._failed: dict[str, tuple[str, float]] = {}
        """Each loop's last failure, and when (monotonic) it was restarted after it."""

    async def run(self, loops: Mapping[str, Loop]) -> None:
        """Run every loop in one task group until cancelled."""
        async with asyncio.TaskGroup() as group:
            for name, loop in loops.items():
                group.create_task(self._keep(name, loop), name=f"loop {name}")

    async def _keep(self, name: str, loop: Loop) -> None:
        crashes: deque[float] = deque()
        backoff, waiting = FIRST_BACKOFF, False
        while True:
            started = self._clock.monotonic()
            try:
                await loop()
                error: BaseException = RuntimeError(f"the {name} loop returned")
            except Exception as raised:
                error = raised
            if isinstance(error, StoreError):
                # Not a crash: the database is away (or this instance lost the lead).
                # /healthz says so from its own ping; retry soon, without backoff, so
                # the loop resumes within a second of the database's return.
                if not waiting and isinstance(error, FencedError):
                    log.info("loop %s stops leading: %s", name, error)
                elif not waiting:
                    log.warning("loop %s waits for the database: %s", name, error)
                waiting = True
                await self._clock.sleep(DATABASE_RETRY)
                continue
            waiting = False
            steady = self._clock.monotonic() - started >= STEADY.total_seconds()
            wait = FIRST_BACKOFF if steady else backoff
            backoff = min(wait * 2, MAX_BACKOFF)
            log.error("loop %s crashed; restarting it", name, exc_info=error)
            self._metrics.internal_errors.labels(name).inc()
            crashes.append(self._clock.monotonic())
            while crashes and crashes[0] < self._clock.monotonic() - CRASH_WINDOW.total_seconds():
                crashes.popleft()
            if len(crashes) >= CRASH_BUDGET:
                log.critical("loop %s crashed %d times in a row; giving up", name, len(crashes))
                self._on_fatal(name)
                return
            problem = f"crashed: {type(error).__name__}: {error}"
            self._failed[name] = (problem, self._clock.monotonic() + wait)
            await self._clock.sleep(wait)

    @property
    def problems(self) -> dict[str, str]:
        """Return the loops that failed and have not run steadily since, with why."""
        now = self._clock.monotonic()
        return {
            name: problem
            for name, (problem, restarted) in self._failed.items()
            if now - restarted < STEADY.total_seconds()
        }


class Health:
    """Answer "is this instance healthy?" for `/healthz` and the heartbeat."""

    def __init__(
        self,
        *,
        store: Store,
        supervisor: Supervisor,
        pending: Callable[[], str | None],
        timeout: timedelta = PING_TIMEOUT,
    ) -> None:
        self._store = store
        self._supervisor = supervisor
        self._pending = pending
        """Tell what the results writer is stuck on, if anything."""
        self._timeout = timeout

    async def problems(self) -> list[str]:
        """Return what is wrong now (empty: healthy)."""
        found = [f"loop {name}: {what}" for name, what in sorted(self._supervisor.problems.items())]
        try:
            async with asyncio.timeout(self._timeout.total_seconds()):
                await self._store.ping()
        except TimeoutError:
            found.append(f"database: no answer within {self._timeout.total_seconds():g} s")
        except StoreError as error:
            found.append(f"database: {error}")
        stuck = self._pending()
        if stuck:
            found.append(stuck)
        return found


class HeartbeatPinger:
    """GET the heartbeat URL every `every` while healthy (a dead man's switch)."""

    def __init__(
        self,
        *,
        url: str,
        every: timedelta,
        health: Health,
        leading: Callable[[], bool],
        clock: Clock,
        metrics: Metrics,
    ) -> None:
        self._url = url
        self._every = every
        self._health = health
        self._leading = leading
        """Tell whether the cluster has a leader holding its lease (always, with SQLite)."""
        self._clock = clock
        self._metrics = metrics

    async def run(self) -> None:
        """Ping until cancelled."""
        timeout = aiohttp.ClientTimeout(total=min(10.0, self._every.total_seconds()))
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                await self.ping(session)
                await self._clock.sleep(self._every.total_seconds())

    async def ping(self, session: aiohttp.ClientSession) -> bool:
        """Ping once if healthy; return whether the ping went out and was answered."""
        problems = await self._health.problems()
        if problems or not self._leading():
            self._metrics.heartbeats.labels("skipped").inc()
            log.warning(
                "heartbeat withheld: %s", "; ".join(problems) or "no leader holds the lease"
            )
            return False
        try:
            async with session.get(self._url) as response:
                ok = response.status < 400
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("heartbeat not answered: %s", type(error).__name__)
            ok = False
        self._metrics.heartbeats.labels("sent" if ok else "failed").inc()
        return ok
