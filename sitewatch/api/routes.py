"""Every route of the HTTP API, in one table."""

from __future__ import annotations

from aiohttp import web

from sitewatch.api import ack, checks, cluster, console, maintenance, openapi, stats, tickets


def add_routes(app: web.Application) -> None:
    """Register every route of the API."""
    app.router.add_get("/healthz", checks.healthz)
    app.router.add_get("/metrics", checks.metrics)
    app.router.add_get("/api/v1/openapi.json", openapi.serve)
    app.router.add_get("/api/v1/checks", checks.list_checks)
    app.router.add_post("/api/v1/maintenance", maintenance.declare)
    app.router.add_get("/api/v1/maintenance", maintenance.list_windows)
    app.router.add_get("/api/v1/maintenance/{window_id}", maintenance.show)
    app.router.add_patch("/api/v1/maintenance/{window_id}", maintenance.change)
    app.router.add_delete("/api/v1/maintenance/{window_id}", maintenance.cancel)
    app.router.add_get("/api/v1/tickets", tickets.list_tickets)
    app.router.add_get("/api/v1/tickets/{ticket_id}", tickets.show)
    app.router.add_post("/api/v1/tickets/{ticket_id}/ack", tickets.acknowledge)
    app.router.add_post("/api/v1/tickets/{ticket_id}/resolve", tickets.resolve)
    app.router.add_get("/api/v1/stats", stats.show)
    app.router.add_get("/api/v1/cluster", cluster.show)
    console.add_routes(app)
    app.router.add_get("/ack/{token}", ack.show)
    app.router.add_post("/ack/{token}", ack.acknowledge)
