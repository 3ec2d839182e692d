"""`sitewatch demo`: the service against a simulated customer site, narrated.

Everything runs on 127.0.0.1 in one process: the simulated site, the real service
(`build_app`, the same composition `sitewatch run` uses) with short intervals and a
throw-away database, and a customer and an operator who use the real HTTP API.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from sitewatch.app import build_app
from sitewatch.config.loader import load_settings
from sitewatch.demo.site import SimulatedSite, SiteMode
from sitewatch.stats.report import render_table

T = TypeVar("T")

CUSTOMER_TOKEN = "demo-customer-token"
OPERATOR_TOKEN = "demo-operator-token"
CHECK = "shop-logon"
DEADLINE = 20.0


class DemoError(Exception):
    """The service did not do what the narrative expected within its deadline."""


def _say(text: str) -> None:
    print(f"[{datetime.now(UTC).strftime('%H:%M:%S')}] {text}", flush=True)


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def _serve(app: web.Application, sock: socket.socket) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        host, port = sock.getsockname()[:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


class Phone:
    """The on-call's phone: a local webhook Apprise posts pages to; it prints each one."""

    def __init__(self) -> None:
        self.pages: list[dict[str, str]] = []

    def app(self) -> web.Application:
        """Return the webhook as an aiohttp application."""
        app = web.Application()
        app.router.add_post("/pages", self._receive)
        return app

    async def _receive(self, request: web.Request) -> web.Response:
        page = await request.json()
        self.pages.append(page)
        first_line = str(page.get("message", "")).split("\n", 1)[0]
        _say(f"   PAGE to olivia's phone: {page.get('title')} | {first_line}")
        return web.Response(text="ok")

    async def page(self, prefix: str) -> dict[str, str]:
        """Wait for the first page whose title starts with `prefix`."""

        async def found() -> dict[str, str] | None:
            return next((p for p in self.pages if p["title"].startswith(prefix)), None)

        return await _until(f"a {prefix} page", found)


def _ack_link(page: dict[str, str]) -> str:
    for line in page["message"].splitlines():
        if line.startswith("Acknowledge: "):
            return line.removeprefix("Acknowledge: ")
    raise DemoError(f"no acknowledge link in the page {page['title']!r}")


def _write_config(directory: Path, site_url: str, service_port: int, phone_url: str) -> Path:
    (directory / "checks").mkdir()
    (directory / "checks" / f"{CHECK}.yaml").write_text(
        textwrap.dedent(f"""\
            id: {CHECK}
            customer: demo-shop
            name: Demo shop customer logon
            interval: 1s
            timeout: 2s
            steps:
              - get: "{site_url}/login"
                extract: {{csrf: 'name="csrf" value="([^"]+)"'}}
              - post: "{site_url}/login"
                form: {{user: probe, password: "${{DEMO_PROBE_PASSWORD}}", csrf: "{{csrf}}"}}
                expect: {{status: 302, cookie: session}}
              - get: "{site_url}/home"
                expect: {{status: 200, body_contains: "Welcome"}}
            """)
    )
    config = directory / "sitewatch.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: "127.0.0.1:{service_port}"
            database: "sqlite:///demo.db"
            checks: "checks"
            public_url: "http://127.0.0.1:{service_port}"
            defaults: {{interval: 1s, timeout: 2s, confirm: 2, retry_interval: 250ms, recover: 2}}
            customers:
              - {{id: demo-shop, name: Demo Shop, token: "${{DEMO_CUSTOMER_TOKEN}}"}}
            operators:
              - {{id: olivia, token: "${{DEMO_OPERATOR_TOKEN}}", notify: ["{phone_url}"]}}
            escalation:
              repeat_every: 5m
              levels:
                - {{after: 0s, notify: [olivia]}}
            """)
    )
    return config


class Actor:
    """Someone using the API with a token: the customer or the operator."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str) -> None:
        self._session, self._base = session, base
        self._headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """Call the API and return its JSON answer (None for 204)."""
        async with self._session.request(
            method, self._base + path, json=body, headers=self._headers
        ) as response:
            if response.status >= 400:
                raise DemoError(f"{method} {path} -> {response.status}: {await response.text()}")
            return None if response.status == 204 else await response.json()


async def _until(what: str, probe: Callable[[], Awaitable[T | None]]) -> T:
    """Poll until `probe` returns something, or fail after the deadline."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if (value := await probe()) is not None:
            return value
        await asyncio.sleep(0.1)
    raise DemoError(f"gave up waiting for {what} after {DEADLINE:.0f}s")


async def _check_in_state(operator: Actor, *states: str) -> dict[str, Any] | None:
    checks = (await operator.call("GET", "/api/v1/checks"))["checks"]
    check: dict[str, Any] = next(c for c in checks if c["id"] == CHECK)
    return check if check["state"] in states else None


async def run_demo() -> int:
    """Run the narrated demo; return 0 when everything happened as told."""
    try:
        await _run()
    except DemoError as failure:
        _say(f"DEMO FAILED: {failure}")
        return 1
    return 0


async def _run() -> None:
    site = SimulatedSite(user="probe", password="s3cret-demo-password")
    env = {
        "DEMO_PROBE_PASSWORD": site.password,
        "DEMO_CUSTOMER_TOKEN": CUSTOMER_TOKEN,
        "DEMO_OPERATOR_TOKEN": OPERATOR_TOKEN,
    }
    phone = Phone()
    with tempfile.TemporaryDirectory(prefix="sitewatch-demo-") as tmp:
        site_sock, service_sock, phone_sock = _bound_socket(), _bound_socket(), _bound_socket()
        async with (
            _serve(site.app(), site_sock) as site_url,
            _serve(phone.app(), phone_sock) as phone_url,
        ):
            apprise_url = phone_url.replace("http://", "json://") + "/pages"
            config = _write_config(Path(tmp), site_url, service_sock.getsockname()[1], apprise_url)
            settings = load_settings(config, env)
            _say(f"simulated customer site 'Demo Shop' listening on {site_url}")
            _say(f"on-call olivia is paged through Apprise at {apprise_url} (her 'phone')")
            async with (
                _serve(build_app(settings), service_sock) as api_url,
                aiohttp.ClientSession() as session,
            ):
                _say(f"sitewatch running on {api_url}, probing {CHECK} every second")
                await _story(
                    site,
                    Actor(session, api_url, CUSTOMER_TOKEN),
                    Actor(session, api_url, OPERATOR_TOKEN),
                    phone,
                    session,
                )
    _say("demo finished: every step happened as expected")


async def _story(
    site: SimulatedSite,
    customer: Actor,
    operator: Actor,
    phone: Phone,
    session: aiohttp.ClientSession,
) -> None:
    await _until("the first successful logon", lambda: _check_in_state(operator, "up"))
    _say(f"{CHECK} is UP: the three-step logon (form, credentials, home page) works")
    await _planned_outage(site, customer, operator)
    if phone.pages:
        raise DemoError(f"a planned outage paged olivia: {phone.pages[0]['title']}")
    await _unplanned_outage(site, operator, phone, session)
    await _statistics(operator)


async def _planned_outage(site: SimulatedSite, customer: Actor, operator: Actor) -> None:
    _say("1) a planned event: the customer declares a software upgrade, starting now")
    end = datetime.now(UTC) + timedelta(minutes=10)
    window = await customer.call(
        "POST",
        "/api/v1/maintenance",
        {"customer": "demo-shop", "kind": "software-upgrade", "end": end.isoformat()},
    )
    _say(f"   window {window['id']} is {window['state']} until {window['end']}")
    site.mode = SiteMode.ERROR
    _say("   the site goes down for the upgrade (every page answers 503)")
    check = await _until("state maintenance", lambda: _check_in_state(operator, "maintenance"))
    tickets = (await operator.call("GET", "/api/v1/tickets"))["tickets"]
    _say(
        f"   {CHECK} is {check['state'].upper()} ({check['last_result']}): planned, "
        f"{len(tickets)} tickets, nobody paged"
    )
    site.mode = SiteMode.UP
    await _until("recovery", lambda: _check_in_state(operator, "up"))
    _say(f"   the upgrade is done: {CHECK} is UP again")
    now = datetime.now(UTC).isoformat()
    closed = await customer.call("PATCH", f"/api/v1/maintenance/{window['id']}", {"end": now})
    _say(f"   the customer ends window {closed['id']} early: it is {closed['state']}")


async def _acknowledge_by_link(phone: Phone, session: aiohttp.ClientSession) -> dict[str, str]:
    """Do what the on-call does: open the link in the page, then press its button."""
    page = await phone.page("SITE DOWN")
    link = _ack_link(page)
    _say("   olivia opens the acknowledge link in the page: a confirmation page, no change yet")
    async with session.get(link) as shown:
        if shown.status != 200 or "Acknowledge as olivia" not in await shown.text():
            raise DemoError(f"GET of the acknowledge link answered {shown.status}")
    async with session.post(link) as pressed:
        if pressed.status != 200:
            raise DemoError(f"POST of the acknowledge link answered {pressed.status}")
    return page


async def _unplanned_outage(
    site: SimulatedSite, operator: Actor, phone: Phone, session: aiohttp.ClientSession
) -> None:
    _say("2) an unplanned outage: the logon starts failing, no window declared")
    site.mode = SiteMode.REJECT
    check = await _until("state down", lambda: _check_in_state(operator, "down"))
    _say(f"   {CHECK} is DOWN since {check['since']} ({check['last_result']})")

    async def open_ticket() -> dict[str, Any] | None:
        tickets = (await operator.call("GET", "/api/v1/tickets?state=open"))["tickets"]
        return tickets[0] if tickets else None

    ticket = await _until("an emergency ticket", open_ticket)
    _say(
        f"   EMERGENCY ticket {ticket['id']} opened: symptom {ticket['symptom']}, "
        f"onset {ticket['onset_at']}"
    )
    await _acknowledge_by_link(phone, session)
    acked = await operator.call("GET", f"/api/v1/tickets/{ticket['id']}")
    if acked["state"] != "acknowledged":
        raise DemoError(f"the acknowledge link left ticket {ticket['id']} {acked['state']}")
    _say(
        f"   she presses 'Acknowledge': ticket {acked['id']} acknowledged by "
        f"{acked['acknowledged_by']} at {acked['acknowledged_at']}; escalation stops"
    )
    site.mode = SiteMode.UP
    await _until("recovery", lambda: _check_in_state(operator, "up"))

    async def recovered() -> dict[str, Any] | None:
        found = await operator.call("GET", f"/api/v1/tickets/{ticket['id']}")
        return found if found["recovered_at"] else None

    done = await _until("recovered_at on the ticket", recovered)
    _say(f"   the site recovers; ticket {done['id']} records recovered_at {done['recovered_at']}")
    await phone.page("RECOVERED")
    resolved = await operator.call(
        "POST",
        f"/api/v1/tickets/{ticket['id']}/resolve",
        {"cause": "software", "note": "bad deploy of the auth service, rolled back"},
    )
    _say(f"   resolved with cause {resolved['cause']}: {resolved['resolution_note']}")
    await phone.page("RESOLVED")


async def _statistics(operator: Actor) -> None:
    stats = await operator.call("GET", "/api/v1/stats")
    _say("3) the outage statistics (GET /api/v1/stats; `sitewatch stats` prints the same):")
    print(textwrap.indent(render_table(stats), "   "), flush=True)
