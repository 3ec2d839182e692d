"""A simulated customer site with a real logon, for the demo, the tests and the benchmark.

What a "logon" means to sitewatch, in three requests:

1. `GET /login` answers an HTML form with a hidden `csrf` input (a fresh signed token).
2. `POST /login` with `user`, `password` and that `csrf` answers 302 to `/home` and
   sets the `session` cookie; a wrong password answers 200 "Invalid password"; a bad
   csrf token answers 403.
3. `GET /home` with a valid session answers 200 "Welcome, <user>", else 302 to
   `/login?next=...`.

`SimulatedSite.mode` can be flipped at run time to make the site fail in each way
sitewatch must recognise.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import html
import secrets
from datetime import timedelta
from enum import StrEnum

from aiohttp import web
from aiohttp.typedefs import Handler
from yarl import URL

SESSION_COOKIE = "session"
_PADDING = b"<p>" + b"x" * 16_377 + b"</p>\n"  # 16 KiB per chunk of the huge page


class SiteMode(StrEnum):
    """How the simulated site behaves."""

    UP = "up"
    """Logons work."""
    ERROR = "error"
    """Every route answers `error_status` (503 unless told otherwise)."""
    REJECT = "reject"
    """Every logon is rejected as a wrong password."""
    SLOW = "slow"
    """Every route waits `slow_delay` before answering."""
    HUGE = "huge"
    """The home page streams a body far bigger than a probe reads (`huge_size`)."""
    NO_SESSION = "no_session"
    """A correct logon answers 302 but sets no session cookie."""
    MISSING_TEXT = "missing_text"
    """The home page answers 200 without "Welcome"."""


class SimulatedSite:
    """One customer site: its one user, its failure mode and its routes."""

    def __init__(
        self,
        user: str = "probe",
        password: str = "correct horse",
        *,
        mode: SiteMode = SiteMode.UP,
        slow_delay: timedelta = timedelta(seconds=2),
        huge_size: int = 64 * 1024 * 1024,
        error_status: int = 503,
    ) -> None:
        self.user = user
        self.password = password
        self.mode = mode
        self.slow_delay = slow_delay
        self.huge_size = huge_size
        self.error_status = error_status
        self.streamed_bytes = 0
        """Bytes of huge home pages written so far (shows whether a client stopped early)."""
        self._key = secrets.token_bytes(32)
        self._stopping = asyncio.Event()
        """Set when the application shuts down, so that slow and huge answers stop."""

    def app(self) -> web.Application:
        """Build the aiohttp application serving this site."""
        self._stopping = asyncio.Event()
        app = web.Application(middlewares=[self._apply_mode])
        app.router.add_get("/login", self._login_form)
        app.router.add_post("/login", self._login)
        app.router.add_get("/home", self._home)
        app.on_shutdown.append(self._wake_sleepers)
        return app

    @web.middleware
    async def _apply_mode(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.mode is SiteMode.ERROR:
            return web.Response(status=self.error_status, text="The site is having a bad day")
        if self.mode is SiteMode.SLOW:
            # Waits on an event rather than a bare sleep so that shutdown is prompt.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.slow_delay.total_seconds())
        try:
            return await handler(request)
        except ConnectionResetError:
            # The client gave up (a probe timed out): nobody is left to answer or to log.
            return web.Response(status=499)

    async def _login_form(self, request: web.Request) -> web.Response:
        return _page(_form(self._sign("csrf", secrets.token_hex(8)), user=""))

    async def _login(self, request: web.Request) -> web.Response:
        form = await request.post()
        if self._verify("csrf", str(form.get("csrf", ""))) is None:
            return web.Response(status=403, text="Bad csrf token")
        user, password = str(form.get("user", "")), str(form.get("password", ""))
        if self.mode is SiteMode.REJECT or (user, password) != (self.user, self.password):
            # Like many real sites, it names the user and fills the form in again.
            fresh = self._sign("csrf", secrets.token_hex(8))
            message = f"<p class=error>Invalid password for {html.escape(user)}.</p>"
            return _page(message + _form(fresh, user=user))
        response = web.Response(status=302, headers={"Location": "/home"})
        if self.mode is not SiteMode.NO_SESSION:
            response.set_cookie(
                SESSION_COOKIE, self._sign("session", secrets.token_hex(8)), httponly=True
            )
        return response

    async def _home(self, request: web.Request) -> web.StreamResponse:
        if self._verify("session", request.cookies.get(SESSION_COOKIE, "")) is None:
            raise web.HTTPFound(URL("/login").with_query(next=str(request.rel_url)))
        if self.mode is SiteMode.MISSING_TEXT:
            return _page("<p>Something went wrong, please try again later.</p>")
        if self.mode is SiteMode.HUGE:
            return await self._stream_huge_home(request)
        return _page(f"<h1>Welcome, {html.escape(self.user)}</h1>")

    async def _stream_huge_home(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
        await response.prepare(request)
        await response.write(f"<h1>Welcome, {html.escape(self.user)}</h1>\n".encode())
        sent = 0
        try:
            while sent < self.huge_size and not self._stopping.is_set():
                await response.write(_PADDING)
                sent += len(_PADDING)
                self.streamed_bytes += len(_PADDING)
        except ConnectionResetError:
            return response  # the client stopped reading, as a careful client should
        await response.write_eof()
        return response

    async def _wake_sleepers(self, app: web.Application) -> None:
        self._stopping.set()

    def _sign(self, purpose: str, value: str) -> str:
        mac = hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256)
        return f"{value}.{mac.hexdigest()[:32]}"

    def _verify(self, purpose: str, token: str) -> str | None:
        value, _, _ = token.rpartition(".")
        if value and hmac.compare_digest(self._sign(purpose, value), token):
            return value
        return None


def _form(csrf: str, *, user: str) -> str:
    return (
        '<form method="post" action="/login">'
        f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
        f'<input name="user" value="{html.escape(user)}">'
        '<input name="password" type="password"><button>Log on</button></form>'
    )


def _page(body: str) -> web.Response:
    return web.Response(
        text=f"<!doctype html><html><body>{body}</body></html>", content_type="text/html"
    )
