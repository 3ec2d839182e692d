"""The composition root: the service's parts in one aiohttp application, and their lifetime.

`build_app` returns the application; starting it opens the service
(`service.open_service`), starts every loop under the supervisor, and serves the
API; stopping it (SIGTERM) cancels the loops, hands the lead over at once and
closes the store. A loop that keeps crashing stops the process with exit code 1
(`FATAL` says why), so that systemd or Docker starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

from aiohttp import web

from sitewatch.api.auth import TokenBook
from sitewatch.api.common import (
    CLOCK,
    HEALTH,
    MAX_BODY_BYTES,
    METRICS,
    SERVICE,
    SETTINGS,
    TOKENS,
    json_errors,
)
from sitewatch.api.limits import LIMITER, RequestLimiter
from sitewatch.api.routes import add_routes
from sitewatch.api.serverlog import SERVER_OPTIONS
from sitewatch.clock import Clock, SystemClock
from sitewatch.config.settings import Settings
from sitewatch.health import Health, HeartbeatPinger, Supervisor
from sitewatch.model import Identity, Principal, Role
from sitewatch.paging.notifier import Notifier
from sitewatch.service import Service, open_service
from sitewatch.stats.metrics import Metrics

log = logging.getLogger(__name__)

RUNNER = web.AppKey("runner", asyncio.Task[None])
STOP_LOOPS = timedelta(seconds=3)
"""How long shutdown waits for the loops to stop."""
FATAL = web.AppKey("fatal", list[str])
"""The loops given up on; non-empty means the process must exit non-zero."""
NOTIFIER = web.AppKey("notifier", Notifier)
"""A notifier to use instead of Apprise (tests and the demo record pages)."""
IDENTITY = web.AppKey("identity", Identity)
STARTED: web.AppKey[float | None] = web.AppKey("started")
"""When the process started (monotonic): the scheduler catches up slots missed since."""
ON_FATAL: web.AppKey[Callable[[str], None]] = web.AppKey("on_fatal")


def token_book(settings: Settings) -> TokenBook:
    """Collect every configured API token with its principal."""
    entries = [(c.token, Principal(Role.CUSTOMER, c.id)) for c in settings.customers]
    entries += [(o.token, Principal(Role.OPERATOR, o.id)) for o in settings.operators]
    return TokenBook(entries)


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    identity: Identity | None = None,
    notifier: Notifier | None = None,
    on_fatal: Callable[[str], None] | None = None,
    started: float | None = None,
) -> web.Application:
    """Return the whole service as one aiohttp application, not yet started.

    `started` (monotonic, on `clock`): when the process started, before the config
    loaded; slots missed since are caught up when probing begins.
    """
    app = web.Application(
        client_max_size=MAX_BODY_BYTES, middlewares=[json_errors], handler_args=SERVER_OPTIONS
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app[TOKENS] = token_book(settings)
    app[LIMITER] = RequestLimiter(settings.limits.requests_per_minute, app[CLOCK])
    app[METRICS] = Metrics()
    app[FATAL] = []
    app[ON_FATAL] = on_fatal or (lambda loop: None)
    app[IDENTITY] = identity or Identity.default(settings.cluster.location)
    app[STARTED] = started
    if notifier is not None:
        app[NOTIFIER] = notifier
    app.cleanup_ctx.append(_service)
    add_routes(app)
    return app


async def _service(app: web.Application) -> AsyncIterator[None]:
    """Open the service, run its loops under supervision; undo it all at shutdown."""
    settings, clock, metrics = app[SETTINGS], app[CLOCK], app[METRICS]
    service = await open_service(
        settings,
        clock=clock,
        metrics=metrics,
        identity=app[IDENTITY],
        notifier=app.get(NOTIFIER),
        catch_up_since=app[STARTED],
    )
    app[SERVICE] = service
    supervisor = Supervisor(clock, metrics, on_fatal=lambda name: _fatal(app, name))
    app[HEALTH] = Health(
        store=service.store, supervisor=supervisor, pending=lambda: _stuck(service)
    )
    loops = dict(service.loops)
    if settings.heartbeat is not None:
        pinger = HeartbeatPinger(
            url=settings.heartbeat.url,
            every=settings.heartbeat.every,
            health=app[HEALTH],
            leading=lambda: _has_leader(service),
            clock=clock,
            metrics=metrics,
        )
        loops["heartbeat"] = pinger.run
    # Everything built so far lives as long as the process: move it out of the
    # collector's sight, so full collections do not stall the scheduler (0.25-1 s
    # pauses at 20,000 checks before this, bench/README.md).
    gc.collect()
    gc.freeze()
    app[RUNNER] = asyncio.create_task(supervisor.run(loops), name="supervisor")
    log.info(
        "instance %s at location %s on %s",
        service.identity.instance,
        service.identity.location,
        service.store.description,
    )
    try:
        yield
    finally:
        # Hand the lead and this instance's checks over first: the others take over
        # at once, whatever the loops below take to stop (fencing keeps them quiet).
        await service.hand_over()
        await _stop(app[RUNNER])
        await service.close()


async def _stop(runner: asyncio.Task[None]) -> None:
    """Cancel every loop and wait for them, but never for ever: shutdown must end.

    A loop blocked where cancellation cannot reach it at once (a driver waiting on a
    database that went away) is logged and left behind; the process exits anyway.
    """
    runner.cancel()
    done, _ = await asyncio.wait({runner}, timeout=STOP_LOOPS.total_seconds())
    if not done:
        log.error("loops still stopping after %s; shutting down without them", STOP_LOOPS)
        return
    with contextlib.suppress(asyncio.CancelledError):
        await runner


def _stuck(service: Service) -> str | None:
    since = service.monitor.failing_since
    if since is None:
        return None
    waited = service.clock.monotonic() - since
    return f"probe results not committed for {waited:.0f}s (they wait in memory, in order)"


def _has_leader(service: Service) -> bool:
    if not service.store.shared:
        return service.leadership.current() is not None
    known = service.leadership.known
    return known is not None and known.until > service.clock.now()


def _fatal(app: web.Application, loop: str) -> None:
    """Record a loop given up on, and let the owner of the process stop it."""
    app[FATAL].append(loop)
    app[ON_FATAL](loop)


def stop_process(loop: str) -> None:
    """Stop this process as SIGTERM does (`sitewatch run` then exits 1: see FATAL)."""
    log.critical("stopping: the %s loop cannot be kept running", loop)
    os.kill(os.getpid(), signal.SIGTERM)
