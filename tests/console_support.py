"""A browser-less client of the web console: logs on through the form, posts forms with
their CSRF token, reads pages as HTML (used by tests/test_console_*.py).

Built on the in-process API harness (`tests/api_harness.py`): the real app on a real
SQLite file under a FakeClock, so session expiry can be walked through in time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from sitewatch.app import build_app
from sitewatch.clock import FakeClock
from sitewatch.config.loader import load_settings
from tests.api_harness import Api, write_settings
from tests.harness import ENV

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Answer:
    """A console answer: status, page text, headers."""

    status: int
    html: str
    headers: Any

    @property
    def text(self) -> str:
        """Return the page's text without tags, entities decoded, spaces collapsed."""
        return " ".join(unescape(re.sub(r"<[^>]+>", " ", self.html)).split())

    def csrf(self) -> str:
        """Return the CSRF token the page's forms carry."""
        found = _CSRF.search(self.html)
        assert found, f"no CSRF token in the page:\n{self.html[:2000]}"
        return found.group(1)

    def error_of(self, field_id: str) -> str:
        """Return the error shown next to a field (`<p id="FIELD-error">`), or ''."""
        found = re.search(rf'id="{re.escape(field_id)}-error">([^<]*)<', self.html)
        return unescape(found.group(1)) if found else ""

    def value_of(self, field_id: str) -> str:
        """Return the value an input (or a textarea's text) shows."""
        found = re.search(rf'<input id="{re.escape(field_id)}"[^>]*value="([^"]*)"', self.html)
        if found:
            return unescape(found.group(1))
        area = re.search(rf'<textarea id="{re.escape(field_id)}"[^>]*>([^<]*)<', self.html)
        return unescape(area.group(1)) if area else ""


@dataclass
class Browser:
    """One browser's session with the console (its cookie jar is the test client's)."""

    api: Api

    @property
    def client(self) -> TestClient[web.Request, web.Application]:
        """The test client, whose cookie jar holds the session."""
        return self.api.client

    async def get(self, path: str, **kw: Any) -> Answer:
        """GET a console page."""
        async with self.client.get(path, allow_redirects=False, **kw) as response:
            return Answer(response.status, await response.text(), response.headers)

    async def post(self, path: str, data: Any, *, follow: bool = True) -> Answer:
        """POST a form; follow a 303 to the page it leads to unless `follow` is False."""
        async with self.client.post(path, data=data, allow_redirects=False) as response:
            answer = Answer(response.status, await response.text(), response.headers)
        if follow and answer.status == 303:
            return await self.get(answer.headers["Location"])
        return answer

    async def log_on(self, token: str) -> Answer:
        """Log on through the form as a person would: GET the form, POST the token."""
        form = await self.get("/")
        return await self.post("/login", {"token": token, "csrf": form.csrf()})

    async def submit(
        self, page: str, action: str, fields: dict[str, str] | list[tuple[str, str]]
    ) -> Answer:
        """GET a page, then POST `fields` to `action` with that page's CSRF token."""
        shown = await self.get(page)
        pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
        return await self.post(action, [*pairs, ("csrf", shown.csrf())])


async def start_console(
    directory: Path,
    aiohttp_client: AiohttpClient,
    *,
    acme_zone: str = "Europe/Berlin",
    extra: str = "",
    clock: FakeClock | None = None,
) -> Api:
    """Start the app like `start_api`, with acme's time zone set in the config."""
    write_settings(directory, extra=extra)
    path = directory / "sitewatch.yaml"
    acme = 'name: Acme Corp, token: "${TEST_CUSTOMER_TOKEN}"'
    path.write_text(path.read_text().replace(acme, f"{acme}, timezone: {acme_zone}"))
    clock = clock or FakeClock()
    settings = load_settings(path, ENV)
    return Api(await aiohttp_client(build_app(settings, clock=clock)), clock)
