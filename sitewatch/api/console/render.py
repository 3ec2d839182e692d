"""Render console pages: Jinja2 templates with autoescape, the headers every page carries.

Templates live in `sitewatch/templates/` (package data). Autoescape is on for every
template, so a value from a customer, a site or a config (a note, a check name) is
text, never markup. Pages render on a worker thread: a page of thousands of checks
takes milliseconds of CPU that the probe scheduler must not wait for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from importlib import resources
from typing import Any

import jinja2
from aiohttp import web

from sitewatch.api.console.visit import Visit

STYLESHEET = "console.css"
STYLESHEET_PATH = "/static/console.css"
HEADERS = {
    # No script at all; the one stylesheet is served from here ('self'), so neither
    # scripts nor styles need 'unsafe-inline'.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Templates:
    """The console's Jinja2 environment and its stylesheet."""

    def __init__(self) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("sitewatch", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.stylesheet = (
            resources.files("sitewatch").joinpath("templates", STYLESHEET).read_bytes()
        )

    async def render(self, name: str, context: Mapping[str, Any]) -> str:
        """Render one template off the event loop."""
        template = self._env.get_template(name)
        return await asyncio.to_thread(template.render, context)


def html_response(
    body: str, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """Wrap a rendered page with the console's headers."""
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        headers={**HEADERS, **(headers or {})},
    )


def redirect(location: str) -> web.Response:
    """Answer a successful POST: See Other, so a reload does not post again."""
    return web.Response(status=303, headers={"Location": location, **HEADERS})


TEMPLATES = web.AppKey("console_templates", Templates)


async def page(
    request: web.Request,
    visit: Visit | None,
    template: str,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> web.Response:
    """Render a console page with what every page shows (who, navigation, CSRF token)."""
    common = {
        "visit": visit,
        "who": visit.who if visit else None,
        "csrf": visit.csrf if visit else "",
        "is_operator": bool(visit and visit.is_operator),
        "path": request.path,
        "stylesheet": STYLESHEET_PATH,
    }
    body = await request.app[TEMPLATES].render(template, common | context)
    return html_response(body, status, headers)


async def error_page(
    request: web.Request, status: int, title: str, message: str, visit: Visit | None = None
) -> web.Response:
    """Render an error as a page (the API answers JSON; a browser gets HTML)."""
    return await page(request, visit, "error.html", status, title=title, message=message)


async def csrf_refusal(request: web.Request, visit: Visit | None) -> web.Response:
    """Refuse a POST whose CSRF token is missing or wrong, saying what to do."""
    message = (
        "This form was not sent from a page of this sitewatch (its security token is"
        " missing or out of date), so nothing was changed. Go back, reload the page and"
        " send the form again."
    )
    return await error_page(request, 403, "Form refused", message, visit)


async def stylesheet(request: web.Request) -> web.Response:
    """Serve the console's one stylesheet (cacheable: it changes only with a release)."""
    return web.Response(
        body=request.app[TEMPLATES].stylesheet,
        content_type="text/css",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
