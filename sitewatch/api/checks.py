"""Routes for health, metrics and check states."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sitewatch.api.common import METRICS, MONITOR, caller, iso
from sitewatch.monitor import CheckView


async def healthz(request: web.Request) -> web.Response:
    """Say that the service answers."""
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    """Expose every metric in the Prometheus text format."""
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})


def check_json(view: CheckView) -> dict[str, Any]:
    """Render one check for the API."""
    status = view.status
    return {
        "id": view.spec.id,
        "customer": view.spec.customer,
        "name": view.spec.name,
        "state": status.state.value,
        "since": iso(status.since),
        "last_result": status.last_result.value if status.last_result else None,
        "last_result_at": iso(status.last_result_at),
    }


async def list_checks(request: web.Request) -> web.Response:
    """List checks: operators see all, a customer sees its own."""
    who = caller(request)
    views = [v for v in request.app[MONITOR].views() if who.may_act_for(v.spec.customer)]
    return web.json_response({"checks": [check_json(v) for v in views]})
