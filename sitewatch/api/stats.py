"""The statistics route: outage statistics of a period, for operators."""

from __future__ import annotations

from aiohttp import web

from sitewatch.api.common import CLOCK, SERVICE, ApiError, caller, parse_time, reject_unknown_query
from sitewatch.stats.compute import DEFAULT_SPAN, Period
from sitewatch.stats.report import as_json, period_between


def requested_period(request: web.Request) -> Period:
    """Return the period of `?since=&until=` (default: the last 30 days), or raise a 400."""
    reject_unknown_query(request, {"since", "until"})
    now = request.app[CLOCK].now()
    raw_since, raw_until = request.query.get("since"), request.query.get("until")
    until = now if raw_until is None else parse_time(raw_until, "until")
    since = until - DEFAULT_SPAN if raw_since is None else parse_time(raw_since, "since")
    try:
        return period_between(since, until, now)
    except ValueError as problem:
        raise ApiError(400, str(problem)) from None


async def show(request: web.Request) -> web.Response:
    """Answer the outage statistics of a period (operators only)."""
    caller(request, operator_only=True)
    period = requested_period(request)
    stats = await request.app[SERVICE].stats.read(period)
    return web.json_response(as_json(stats))
