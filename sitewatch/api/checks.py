"""Routes for health, metrics and check states."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from sitewatch.api.bodies.requests import NoQuery
from sitewatch.api.bodies.responses import CheckBody, CheckList, Health, Unhealthy
from sitewatch.api.common import (
    HEALTH,
    METRICS,
    SERVICE,
    SETTINGS,
    caller,
    read_query,
    respond,
    respond_listing,
)
from sitewatch.model import Role
from sitewatch.outages.board import read_views

log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    """Answer 200 while every loop is alive and the database answers, else 503 with why."""
    problems = await request.app[HEALTH].problems()
    if problems:
        return respond(Unhealthy(status="unhealthy", problems=problems), status=503)
    return respond(Health(status="ok"))


async def metrics(request: web.Request) -> web.StreamResponse:
    """Expose every metric in the Prometheus text format.

    The text of 20,000 checks is ~70 MiB and takes ~0.12 s to write: a worker thread
    writes it while the event loop goes on probing, and it goes out chunk by chunk
    rather than through one more copy of the whole.
    """
    chunks = await asyncio.to_thread(request.app[METRICS].render_chunks)
    response = web.StreamResponse(headers={"Content-Type": "text/plain; version=0.0.4"})
    response.content_length = sum(len(chunk) for chunk in chunks)
    await response.prepare(request)
    try:
        for chunk in chunks:
            await response.write(chunk)
        await response.write_eof()
    except ConnectionError:
        # The scraper went away (its timeout, say): nothing to answer, nothing broken.
        log.info("/metrics: the client closed the connection before the end")
    return response


async def list_checks(request: web.Request) -> web.Response:
    """List checks as committed: operators see all, a customer sees its own."""
    who = caller(request)
    read_query(request, NoQuery)
    settings = request.app[SETTINGS]
    specs = settings.checks if who.role is Role.OPERATOR else settings.checks_of(who.id)
    async with request.app[SERVICE].store.reading() as tx:
        views = await read_views(tx, specs)
    return await respond_listing(lambda: CheckList(checks=[CheckBody.of(v) for v in views]))
