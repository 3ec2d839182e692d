"""The web console at `GET /`: server-rendered pages for customers and operators.

A customer declares, extends, ends early and cancels its planned events and sees
its checks; an operator sees every check, the tickets (acknowledge, resolve), every
customer's windows and the cluster. Pages are Jinja2 templates with autoescape,
without any script, under a strict Content-Security-Policy; every action goes
through the same desks as the JSON API. Sessions and CSRF: `sessions.py`,
`cookies.py`, `access.py`. User documentation: docs/console.md.
"""

from __future__ import annotations

from aiohttp import web

from sitewatch.api.console import cluster, logon, overview, tickets, windows
from sitewatch.api.console.access import console_route
from sitewatch.api.console.render import STYLESHEET_PATH, TEMPLATES, Templates, stylesheet


def add_routes(app: web.Application) -> None:
    """Register the console's pages, forms and stylesheet."""
    app[TEMPLATES] = Templates()
    router = app.router
    router.add_get(STYLESHEET_PATH, stylesheet)
    router.add_get("/", console_route(overview.overview))
    router.add_get("/login", logon.to_overview)
    router.add_post("/login", logon.login)
    router.add_get("/logout", logon.to_overview)
    router.add_post("/logout", console_route(logon.logout))
    router.add_get("/windows", console_route(windows.list_windows))
    router.add_post("/windows", console_route(windows.declare))
    router.add_get("/windows/new", console_route(windows.new_window))
    router.add_get("/windows/{window_id}", console_route(windows.show))
    router.add_post("/windows/{window_id}/end", console_route(windows.change_end))
    router.add_post("/windows/{window_id}/cancel", console_route(windows.cancel))
    operators = {"operators_only": True}
    router.add_get("/tickets", console_route(tickets.list_tickets, **operators))
    router.add_get("/tickets/{ticket_id}", console_route(tickets.show, **operators))
    router.add_post("/tickets/{ticket_id}/ack", console_route(tickets.acknowledge, **operators))
    router.add_post("/tickets/{ticket_id}/resolve", console_route(tickets.resolve, **operators))
    router.add_get("/cluster", console_route(cluster.cluster, **operators))
