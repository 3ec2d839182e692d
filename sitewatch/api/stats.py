"""The statistics route: outage statistics of a period, for operators."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from sitewatch.api.bodies.requests import StatsQuery
from sitewatch.api.bodies.stats import Stats
from sitewatch.api.common import CLOCK, SERVICE, ApiError, caller, read_query, respond
from sitewatch.stats.compute import DEFAULT_SPAN, Period
from sitewatch.stats.report import as_json, period_between


def requested_period(request: web.Request) -> Period:
    """Return the period of `?since=&until=` (default: the last 30 days), or raise a 400."""
    query = read_query(request, StatsQuery)
    now = request.app[CLOCK].now()
    until = now if query.until is None else query.until
    since = query.since
    if since is None:
        try:
            since = until - DEFAULT_SPAN
        except OverflowError:
            # 30 days before a time in January of year 1 is before the calendar starts.
            since = datetime.min.replace(tzinfo=UTC)
    try:
        return period_between(since, until, now)
    except ValueError as problem:
        raise ApiError(400, str(problem)) from None


async def show(request: web.Request) -> web.Response:
    """Answer the outage statistics of a period (operators only)."""
    caller(request, operator_only=True)
    period = requested_period(request)
    stats = await request.app[SERVICE].stats.read(period)
    return respond(Stats.model_validate(as_json(stats)))
