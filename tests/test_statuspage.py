"""The status page in a real headless Chromium, driven over the DevTools protocol.

The service runs in process with its real clock against two simulated sites on
127.0.0.1: acme's portal fails (so it is down with an open ticket) and globex's
webmail works. Chromium logs on through the form, as a person would.
Set SITEWATCH_UPDATE_SCREENSHOT=1 to copy the screenshot to docs/status-page.png.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer

from sitewatch.api.sessions import COOKIE, LIFETIME, SessionSigner
from sitewatch.app import build_app
from sitewatch.clock import FakeClock
from sitewatch.config.loader import load_settings
from sitewatch.demo.site import SimulatedSite, SiteMode
from sitewatch.model import Principal, Role
from tests.harness import (
    CUSTOMER_TOKEN,
    ENV,
    GLOBEX_TOKEN,
    OPERATOR_TOKEN,
    PROBE_PASSWORD,
    ServiceConfig,
    logon_check,
    until,
)

CHROMIUM = "/usr/bin/chromium"
DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "status-page.png"


class DevTools:
    """A minimal DevTools protocol client for one page target."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._next = 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events in between are ignored)."""
        self._next += 1
        await self._socket.send_json({"id": self._next, "method": method, "params": params})
        while True:
            message = await self._socket.receive_json(timeout=30)
            if message.get("id") == self._next:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    async def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page and return its value."""
        answer = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    async def wait_for(self, expression: str, what: str) -> Any:
        """Poll an expression until it is truthy (navigation may be in progress)."""

        async def probe() -> Any:
            try:
                return await self.evaluate(expression) or None
            except RuntimeError:  # the page is being replaced by the next one
                return None

        return await until(what, probe)

    async def navigate(self, url: str) -> None:
        """Load a URL and wait until it has loaded."""
        await self.call("Page.navigate", url=url)
        await self.wait_for(
            f"location.href === {json.dumps(url)} && document.readyState === 'complete'", url
        )

    async def screenshot(self, path: Path, width: int) -> None:
        """Save a PNG of the whole page at this width."""
        height = await self.evaluate("document.documentElement.scrollHeight")
        await self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=int(height),
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = await self.call("Page.captureScreenshot", format="png")
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))


def start_chromium(profile: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start headless Chromium with its DevTools endpoint on a free loopback port."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`;"
            " scripts/install-test-deps does it)"
        )
    with log.open("wb") as output:
        return subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1100,900",
                "about:blank",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
async def chromium(tmp_path: Path) -> AsyncIterator[DevTools]:
    profile, log = tmp_path / "chromium-profile", tmp_path / "chromium.log"
    process = await asyncio.to_thread(start_chromium, profile, log)
    try:

        async def port() -> str | None:
            assert process.poll() is None, log.read_text(errors="replace")
            found = profile / "DevToolsActivePort"
            text = found.read_text() if found.exists() else ""
            return text.split()[0] if text.strip() else None

        debug = f"http://127.0.0.1:{await until('Chromium to listen', port)}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{debug}/json/list") as answer:
                targets = await answer.json()
            page = next(t for t in targets if t["type"] == "page")
            async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as socket:
                tools = DevTools(socket)
                await tools.call("Page.enable")
                yield tools
    finally:
        await asyncio.to_thread(stop, process)


async def serve_site(server: AiohttpServer, mode: SiteMode) -> str:
    site = SimulatedSite(user="acme-robot", password=PROBE_PASSWORD)
    site.mode = mode
    started = await server(site.app())
    return f"http://127.0.0.1:{started.port}"


@pytest.fixture
async def service(tmp_path: Path, aiohttp_server: AiohttpServer) -> str:
    """Run sitewatch with portal (acme) down, webmail (globex) up and a window ahead."""
    checks = {
        "portal": logon_check("portal", await serve_site(aiohttp_server, SiteMode.ERROR)),
        "webmail": logon_check(
            "webmail", await serve_site(aiohttp_server, SiteMode.UP), customer="globex"
        ),
    }
    settings = load_settings(ServiceConfig(tmp_path, checks=checks).write(), ENV)
    app = build_app(settings)
    server = await aiohttp_server(app)
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession(base) as session:
        start = datetime.now(UTC) + timedelta(hours=1)
        window = {
            "customer": "acme",
            "kind": "os-upgrade",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=2)).isoformat(),
            "note": "kernel <update> & reboot",
        }
        acme = {"Authorization": f"Bearer {CUSTOMER_TOKEN}"}
        async with session.post("/api/v1/maintenance", json=window, headers=acme) as answer:
            assert answer.status == 201, await answer.text()
        await until("portal down with a ticket and webmail up", lambda: _settled(session))
    return base


async def _settled(session: aiohttp.ClientSession) -> bool | None:
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    async with session.get("/api/v1/checks", headers=operator) as answer:
        states = {c["id"]: c["state"] for c in (await answer.json())["checks"]}
    async with session.get("/api/v1/tickets?state=open", headers=operator) as answer:
        tickets = (await answer.json())["tickets"]
    async with session.get("/api/v1/stats", headers=operator) as answer:
        counted = set((await answer.json())["availability"])
    settled = states == {"portal": "down", "webmail": "up"} and tickets and len(counted) == 2
    return True if settled else None


async def log_on(page: DevTools, token: str) -> None:
    await page.wait_for("!!document.querySelector('input[name=token]')", "the logon form")
    await page.evaluate(
        f"document.querySelector('input[name=token]').value = {json.dumps(token)};"
        " document.querySelector('form[action=\"/login\"]').submit()"
    )
    await page.wait_for("!!document.querySelector('.state')", "the status page after logon")


def badge(check: str) -> str:
    return f"document.querySelector('[data-check={json.dumps(check)}]')?.textContent"


async def test_the_status_page_in_chromium_shows_a_down_check_to_an_operator(
    chromium: DevTools, service: str, tmp_path: Path
) -> None:
    await chromium.navigate(f"{service}/")
    assert await chromium.evaluate("document.title") == "sitewatch: log on"

    await log_on(chromium, OPERATOR_TOKEN)

    assert await chromium.evaluate(badge("portal")) == "down"
    assert await chromium.evaluate(badge("webmail")) == "up"
    text = await chromium.evaluate("document.body.innerText")
    assert "Open tickets" in text and "http_status" in text and "still down" in text
    assert "kernel <update> & reboot" in text  # escaped in HTML, shown as written
    # The session cookie is HttpOnly: scripts cannot read it; no token is in the page.
    assert await chromium.evaluate("document.cookie") == ""
    html = await chromium.evaluate("document.documentElement.outerHTML")
    assert OPERATOR_TOKEN not in html and PROBE_PASSWORD not in html

    shot = tmp_path / "status-page.png"
    await chromium.screenshot(shot, width=1100)
    assert shot.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("SITEWATCH_UPDATE_SCREENSHOT"):
        shutil.copyfile(shot, DOCS_SCREENSHOT)

    # Readable on a phone: nothing wider than the screen but the tables' own scrolling.
    await chromium.call(
        "Emulation.setDeviceMetricsOverride",
        width=390,
        height=844,
        deviceScaleFactor=2,
        mobile=True,
    )
    await chromium.navigate(f"{service}/")
    assert await chromium.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
        "the page is wider than a phone's screen"
    )
    await chromium.screenshot(tmp_path / "status-page-phone.png", width=390)


async def test_a_customer_sees_only_its_own_checks_and_can_log_off(
    chromium: DevTools, service: str
) -> None:
    await chromium.navigate(f"{service}/")
    await log_on(chromium, GLOBEX_TOKEN)

    assert await chromium.evaluate(badge("webmail")) == "up"
    assert await chromium.evaluate(badge("portal")) is None
    text = await chromium.evaluate("document.body.innerText")
    assert "No open tickets." in text and "kernel" not in text and "acme" not in text

    await chromium.evaluate("document.querySelector('form[action=\"/logout\"]').submit()")
    await chromium.wait_for("!!document.querySelector('input[name=token]')", "the logon form")

    await chromium.evaluate(
        "document.querySelector('input[name=token]').value = 'wrong-token';"
        " document.querySelector('form[action=\"/login\"]').submit()"
    )
    message = "document.querySelector('[role=alert]')?.textContent"
    assert await chromium.wait_for(message, "the rejection") == "That token is not valid."
    assert "wrong-token" not in await chromium.evaluate("document.documentElement.outerHTML")


# --- the same routes without a browser: headers, cookies, sessions ----------------------


@pytest.fixture
async def client(tmp_path: Path, aiohttp_client: AiohttpClient) -> TestClient:
    checks = {"portal": logon_check("portal", "http://127.0.0.1:9")}
    settings = load_settings(ServiceConfig(tmp_path, checks=checks).write(), ENV)
    return await aiohttp_client(build_app(settings, clock=FakeClock()))


async def test_without_a_token_the_page_is_the_logon_form_not_an_error(client: TestClient) -> None:
    async with client.get("/") as answer:
        assert answer.status == 200
        assert answer.content_type == "text/html"
        assert 'name="token"' in await answer.text()
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]


async def test_a_bearer_header_shows_the_page_and_an_unknown_one_the_form_with_401(
    client: TestClient,
) -> None:
    async with client.get("/", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}) as answer:
        assert answer.status == 200
        assert 'data-check="portal"' in await answer.text()
    async with client.get("/", headers={"Authorization": "Bearer not-a-token"}) as answer:
        assert answer.status == 401
        page = await answer.text()
        assert "That token is not valid." in page and "not-a-token" not in page


async def test_logging_on_sets_an_http_only_strict_cookie_that_holds_no_token(
    client: TestClient,
) -> None:
    form = {"token": CUSTOMER_TOKEN}
    async with client.post("/login", data=form, allow_redirects=False) as answer:
        assert answer.status == 303 and answer.headers["Location"] == "/"
        cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=customer:acme:")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=43200" in cookie
    assert CUSTOMER_TOKEN not in cookie
    async with client.get("/") as answer:  # the client's jar sends the cookie back
        assert 'data-check="portal"' in await answer.text()
    async with client.post("/logout", allow_redirects=False) as answer:
        assert answer.status == 303
    async with client.get("/") as answer:
        assert 'name="token"' in await answer.text()


def test_a_session_cookie_is_refused_when_forged_or_expired() -> None:
    signer, now = SessionSigner(), FakeClock().now()
    value = signer.issue(Principal(Role.CUSTOMER, "acme"), now)
    assert signer.check(value, now) == Principal(Role.CUSTOMER, "acme")
    assert signer.check(value, now + LIFETIME) is None
    assert signer.check(value.replace("customer:acme", "operator:acme"), now) is None
    assert SessionSigner().check(value, now) is None  # another start-up, another key
    for junk in ("", "x", ":::", "customer:acme:soon:abc"):
        assert signer.check(junk, now) is None
