"""A farm of simulated logon sites on 127.0.0.1, in its own process, for the benchmark.

Usage (normally started by bench/run.py):
    python bench/farm.py --sites 20000 [--ports 64] [--cpu 1]

It prints one JSON line when it is ready: {"control": URL, "ports": [...], "pid": N}.

Every site has the same three-step logon as `sitewatch.simsite` (GET /login: a form
with a signed csrf token; POST /login: 302 to /home and a signed `session` cookie;
GET /home: 200 "Welcome, probe"), at `http://127.0.0.1:PORT/s/SITE/` (see sites.py),
and `GET /s/SITE/ping` (200 "OK") for the single-GET benchmark (`run.py --kind get`).
The sites are served by a lean asyncio protocol rather than by aiohttp's server:
the farm answers sitewatch's three requests per logon on one core, and must stay far
from being the bottleneck (`GET /stats` on the control port reports its CPU).

After a successful logon the farm answers `Connection: close`, so each logon costs
the prober one new TCP connection, as in production: sites are distinct hosts there,
and at a 30 s interval a kept-alive connection (aiohttp keeps them 15 s) is never
reused. Without this, logons of different sites on one port would share connections.

The control port (aiohttp, JSON) takes sites down and brings them back:
    GET  /stats                      counters, CPU seconds and RSS of the farm
    POST /reset                      forget which sites have logged on so far
    GET  /probed?below=N&since=T     sites < N that logged on since the last reset and
                                     were last probed at or after T, with that time
    POST /down {"sites": [..], "mode": "error"|"close"}   503 on every route, or
                                     close the connection unanswered
    POST /up   {"sites": [..]}       (no "sites": every site)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import secrets
import signal
import socket
import sys
import time
from array import array
from collections.abc import Iterable
from enum import IntEnum
from urllib.parse import parse_qsl

import sites
from aiohttp import web

IDLE_TIMEOUT = 75.0
"""Close a kept-alive connection idle this long (nginx's default)."""
SWEEP_EVERY = 5.0


class Mode(IntEnum):
    """How one site answers."""

    UP = 0
    """Logons work."""
    ERROR = 1
    """Every route answers 503 (a probe fails with http_status)."""
    CLOSE = 2
    """Every connection is closed unanswered (a probe fails with connect)."""


class Farm:
    """The sites' state and their logon rules; the connections call `answer`."""

    def __init__(self, count: int, *, close_after_logon: bool = True) -> None:
        self.count = count
        self.close_after_logon = close_after_logon
        self.modes = bytearray(count)
        self.site_logons = array("L", [0]) * count
        """Successful logons per site since the last `reset_probed`."""
        self.last_form = array("d", [0.0]) * count
        """When each site last answered GET /login (time.time()): its last probe's start."""
        self.requests = 0
        self.forms = 0
        """GET /login requests: one per probe, failing ones included."""
        self.logons = 0
        """Home pages answered "Welcome": one per successful logon."""
        self.connections = 0
        self.open: set[SiteConnection] = set()
        self._key = secrets.token_bytes(16)
        self._nonces = itertools.count(1)
        self._passwords: dict[int, str] = {}

    def set_mode(self, which: Iterable[int], mode: Mode) -> None:
        """Switch the given sites to `mode`."""
        for site in which:
            if 0 <= site < self.count:
                self.modes[site] = mode

    def reset_probed(self) -> None:
        """Forget which sites have logged on so far."""
        self.site_logons = array("L", [0]) * self.count

    def probed(self, below: int, since: float) -> list[tuple[int, float]]:
        """Return recently probed sites under `below`, each with its last probe's start.

        A site counts when it logged on since the last reset and its last probe
        started at or after `since`.
        """
        logons, last = self.site_logons, self.last_form
        return [
            (site, last[site])
            for site in range(min(below, self.count))
            if logons[site] and last[site] >= since
        ]

    def answer(self, method: str, path: str, cookie: str, body: bytes) -> tuple[bytes, bool]:
        """Answer one request; return the response bytes and whether to close after it."""
        self.requests += 1
        parts = path.split("/")
        if len(parts) != 4 or parts[1] != "s" or not parts[2].isdigit():
            return _response(b"404 Not Found", b"no such site"), False
        site = int(parts[2])
        if site >= self.count:
            return _response(b"404 Not Found", b"no such site"), False
        page = parts[3]
        if page in ("login", "ping") and method == "GET":
            self.forms += 1
            self.last_form[site] = time.time()
        if self.modes[site] == Mode.ERROR:
            return _response(b"503 Service Unavailable", b"The site is having a bad day"), False
        if page == "login":
            return self._login(site, method, body), False
        if page == "home" and method == "GET":
            return self._home(site, cookie)
        if page == "ping" and method == "GET":
            return self._ping(site)
        return _response(b"404 Not Found", b"no such page"), False

    def _login(self, site: int, method: str, body: bytes) -> bytes:
        if method == "GET":
            return _page(_form(self._sign("csrf", site)))
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        if not self._verify("csrf", site, form.get("csrf", "")):
            return _response(b"403 Forbidden", b"Bad csrf token")
        if form.get("user") != sites.USER or form.get("password") != self._password(site):
            return _page(b"<p class=error>Invalid password.</p>" + _form(self._sign("csrf", site)))
        cookie = f"{sites.SESSION_COOKIE}={self._sign('session', site)}; HttpOnly; Path=/"
        head = f"Location: /s/{site}/home\r\nSet-Cookie: {cookie}\r\n".encode()
        return _response(b"302 Found", b"", head)

    def _home(self, site: int, cookie: str) -> tuple[bytes, bool]:
        session = ""
        for part in cookie.split(";"):
            name, _, value = part.strip().partition("=")
            if name == sites.SESSION_COOKIE:
                session = value
        if not self._verify("session", site, session):
            head = f"Location: /s/{site}/login\r\n".encode()
            return _response(b"302 Found", b"", head), False
        self.logons += 1
        self.site_logons[site] += 1
        close = self.close_after_logon
        body = f"<h1>{sites.WELCOME}, {sites.USER}</h1>".encode()
        return _page(body, b"Connection: close\r\n" if close else b""), close

    def _ping(self, site: int) -> tuple[bytes, bool]:
        """Answer a single-GET uptime check: 200 "OK", one probe (and one logon) counted."""
        self.logons += 1
        self.site_logons[site] += 1
        close = self.close_after_logon
        return _page(b"OK", b"Connection: close\r\n" if close else b""), close

    def _password(self, site: int) -> str:
        known = self._passwords.get(site)
        if known is None:
            known = self._passwords[site] = sites.password(site)
        return known

    def _sign(self, purpose: str, site: int) -> str:
        nonce = f"{next(self._nonces):x}"
        return f"{nonce}.{self._mac(purpose, site, nonce)}"

    def _verify(self, purpose: str, site: int, token: str) -> bool:
        nonce, _, mac = token.rpartition(".")
        return bool(nonce) and hmac.compare_digest(self._mac(purpose, site, nonce), mac)

    def _mac(self, purpose: str, site: int, nonce: str) -> str:
        message = f"{purpose}:{site}:{nonce}".encode()
        return hashlib.blake2b(message, key=self._key, digest_size=12).hexdigest()


def _form(csrf: str) -> bytes:
    return (
        '<form method="post" action="login">'
        f'<input type="hidden" name="csrf" value="{csrf}">'
        '<input name="user"><input name="password" type="password">'
        "<button>Log on</button></form>"
    ).encode()


def _page(body: bytes, extra: bytes = b"") -> bytes:
    html = b"<!doctype html><html><body>" + body + b"</body></html>"
    return _response(b"200 OK", html, b"Content-Type: text/html; charset=utf-8\r\n" + extra)


def _response(status: bytes, body: bytes, headers: bytes = b"") -> bytes:
    length = b"Content-Length: %d\r\n" % len(body)
    return b"HTTP/1.1 " + status + b"\r\n" + headers + length + b"\r\n" + body


class SiteConnection(asyncio.Protocol):
    """One client connection: parse HTTP/1.1 requests as they come and answer each."""

    def __init__(self, farm: Farm) -> None:
        self._farm = farm
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self.last_active = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._farm.connections += 1
        self._farm.open.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._farm.open.discard(self)
        self._transport = None

    def close(self) -> None:
        """Close the connection (idle too long, or the farm stops)."""
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        self._buffer += data
        while self._transport is not None:
            request = self._take_request()
            if request is None:
                return
            method, path, cookie, body = request
            if self._site_closes(path):
                self._transport.abort()
                return
            response, close = self._farm.answer(method, path, cookie, body)
            self._transport.write(response)
            if close:
                self._transport.close()
                return

    def _site_closes(self, path: str) -> bool:
        parts = path.split("/", 3)
        if len(parts) > 2 and parts[2].isdigit():
            site = int(parts[2])
            return site < self._farm.count and self._farm.modes[site] == Mode.CLOSE
        return False

    def _take_request(self) -> tuple[str, str, str, bytes] | None:
        """Take one complete request off the buffer, or None until more data comes."""
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        lines = self._buffer[:end].decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        length, cookie = 0, ""
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "cookie":
                cookie = value.strip()
        if len(self._buffer) < end + 4 + length:
            return None
        body = self._buffer[end + 4 : end + 4 + length]
        self._buffer = self._buffer[end + 4 + length :]
        return method, target.partition("?")[0], cookie, body


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def control_app(farm: Farm) -> web.Application:
    """Build the control channel: stats, which sites logged on, sites down and up."""

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "time": time.time(),
                "sites": farm.count,
                "requests": farm.requests,
                "forms": farm.forms,
                "logons": farm.logons,
                "connections": farm.connections,
                "open_connections": len(farm.open),
                "cpu_seconds": _cpu_seconds(),
                "rss_bytes": _rss_bytes(),
            }
        )

    async def reset(request: web.Request) -> web.Response:
        farm.reset_probed()
        return web.json_response({"time": time.time()})

    async def probed(request: web.Request) -> web.Response:
        below = int(request.query.get("below", farm.count))
        since = float(request.query.get("since", 0))
        return web.json_response({"sites": farm.probed(below, since)})

    async def down(request: web.Request) -> web.Response:
        body = await request.json()
        farm.set_mode(body["sites"], Mode[str(body.get("mode", "error")).upper()])
        return web.json_response({"time": time.time()})

    async def up(request: web.Request) -> web.Response:
        body = await request.json()
        farm.set_mode(body.get("sites", range(farm.count)), Mode.UP)
        return web.json_response({"time": time.time()})

    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    app.router.add_get("/probed", probed)
    app.router.add_post("/down", down)
    app.router.add_post("/up", up)
    return app


async def _sweep_idle(farm: Farm) -> None:
    while True:
        await asyncio.sleep(SWEEP_EVERY)
        limit = time.monotonic() - IDLE_TIMEOUT
        for connection in [c for c in farm.open if c.last_active < limit]:
            connection.close()


async def serve(args: argparse.Namespace) -> None:
    """Serve the sites and the control port until SIGTERM, SIGINT or `--max-seconds`."""
    loop = asyncio.get_running_loop()
    farm = Farm(args.sites, close_after_logon=not args.keep_alive)
    servers = [
        await loop.create_server(lambda: SiteConnection(farm), "127.0.0.1", 0, backlog=4096)
        for _ in range(args.ports)
    ]
    ports = [server.sockets[0].getsockname()[1] for server in servers]
    runner = web.AppRunner(control_app(farm), access_log=None)
    await runner.setup()
    control = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, control).start()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    ready = {"control": f"http://127.0.0.1:{control.getsockname()[1]}", "ports": ports}
    print(json.dumps({**ready, "pid": os.getpid()}), flush=True)
    sweeper = asyncio.create_task(_sweep_idle(farm))
    try:
        # Bounded in time even if whoever started the farm never stops it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), args.max_seconds)
    finally:
        sweeper.cancel()
        for server in servers:
            server.close()
        for connection in list(farm.open):
            connection.close()
        await runner.cleanup()


def pin_to(cpu: int | None) -> str:
    """Pin this process to one CPU where the platform allows; say what was done."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    available = os.sched_getaffinity(0)
    if cpu not in available:
        return f"not pinned (CPU {cpu} not available)"
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def main() -> None:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--ports", type=int, default=64, help="listening ports to spread over")
    parser.add_argument("--cpu", type=int, default=None, help="pin the farm to this CPU")
    parser.add_argument("--keep-alive", action="store_true", help="keep connections after logon")
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    args = parser.parse_args()
    print(f"farm: {pin_to(args.cpu)}", file=sys.stderr, flush=True)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
