"""Routes for health, metrics and check states."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

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

    The text of 20,000 checks is ~70 MiB and takes ~0.12 s to write: worker threads
    write it a few MiB at a time while the event loop goes on probing, and each part
    is sent (chunked) before the next is written, so a scrape's memory is one part.
    """
    text = request.app[METRICS].render_stream()
    response = web.StreamResponse(headers={"Content-Type": "text/plain; version=0.0.4"})
    await response.prepare(request)
    try:
        while part := await asyncio.to_thread(_next_part, text):
            for chunk in part:
                await response.write(chunk)
        await response.write_eof()
    except ConnectionError:
        # The scraper went away (its timeout, say): nothing to answer, nothing broken.
        log.info("/metrics: the client closed the connection before the end")
    return response


SCRAPE_PART = 4 * 1024 * 1024
"""Bytes of /metrics text written per trip to a worker thread (about 18 trips at 20,000)."""


def _next_part(text: Iterator[bytes]) -> list[bytes]:
    """Take chunks of the text until `SCRAPE_PART` bytes or its end; [] when it is over."""
    part, size = [], 0
    for chunk in text:
        part.append(chunk)
        size += len(chunk)
        if size >= SCRAPE_PART:
            break
    return part


async def list_checks(request: web.Request) -> web.Response:
    """List checks as committed: operators see all, a customer sees its own."""
    who = caller(request)
    read_query(request, NoQuery)
    settings = request.app[SETTINGS]
    specs = settings.checks if who.role is Role.OPERATOR else settings.checks_of(who.id)
    async with request.app[SERVICE].store.reading() as tx:
        views = await read_views(tx, specs)
    return await respond_listing(lambda: CheckList(checks=[CheckBody.of(v) for v in views]))
