"""A hostile customer site on loopback: every way a site has broken the probe before.

`HostileSite` is a real aiohttp application; each `Mode` is one of its routes, chosen
by the check's URL, so that one site serves every test. `RawSite` answers whatever
bytes it is given, malformed HTTP included, for what aiohttp's server would refuse
to send. `spellings` is the oracle of the redaction tests: every way a site may
echo a secret back.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote, quote_plus

from aiohttp import web

PASSWORD = 'Sé/cr"et p&ss<1>'
"""The probe's password: a character of every kind an encoder treats differently."""
_CHUNK = b"x" * 65_536


class Mode(StrEnum):
    """One hostile behaviour, served at its own path."""

    CHARSET = "/charset"
    """`?name=LABEL&status=CODE`: a body labelled with any charset, Welcome in it."""
    INVALID_BYTES = "/invalid-bytes"
    """A utf-8 page with bytes that are not UTF-8, around "Welcome"."""
    CONTROL_CSRF = "/control-csrf"
    """`?char=C`: a logon form whose csrf value holds the character C."""
    ECHO = "/echo"
    """Any method: records the request, answers 200 "Welcome"."""
    HUGE = "/huge"
    """A 4 MiB body (with Content-Length) without "Welcome"."""
    ENDLESS = "/endless"
    """A body that never ends (chunked), until the client stops reading."""
    MARKUP_LOCATION = "/markup-location"
    """A 302 whose Location holds a script and an event handler."""
    ECHO_PASSWORD = "/echo-password"
    """`?spelling=NAME`, POST: echoes the submitted password, spelled, in body and Location."""
    EXCERPT_BOMB = "/excerpt-bomb"
    """`?markup=M`: 1 MiB of M (`<`, `<!--`, `<script>`) that never closes."""
    REDIRECT = "/redirect"
    """`?status=CODE&to=URL`: a redirect to anywhere, any method."""
    LOOP = "/loop"
    """A redirect to itself, for ever."""


@dataclass(frozen=True)
class Received:
    """One request the site got, as it came."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HostileSite:
    """A customer site that sends what careful sites never do."""

    received: list[Received] = field(default_factory=list)
    """Requests to `/echo`, in order."""
    endless_bytes: int = 0
    """Bytes of endless bodies written so far (shows that the client stopped)."""
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        """Build the aiohttp application serving every mode."""
        app = web.Application()
        handlers = {
            Mode.CHARSET: self._charset,
            Mode.INVALID_BYTES: self._invalid_bytes,
            Mode.CONTROL_CSRF: self._control_csrf,
            Mode.ECHO: self._echo,
            Mode.HUGE: self._huge,
            Mode.ENDLESS: self._endless,
            Mode.MARKUP_LOCATION: self._markup_location,
            Mode.ECHO_PASSWORD: self._echo_password,
            Mode.EXCERPT_BOMB: self._excerpt_bomb,
            Mode.REDIRECT: self._redirect,
            Mode.LOOP: self._loop,
        }
        for mode, handler in handlers.items():
            app.router.add_route("*", mode.value, handler)
        app.on_shutdown.append(self._stop)
        return app

    async def _charset(self, request: web.Request) -> web.Response:
        label, status = request.query["name"], int(request.query.get("status", "200"))
        body = b'<p>Welcome</p><form><input name="csrf" value="t0ken"></form>'
        content_type = f"text/html; charset={label}"
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})

    async def _invalid_bytes(self, request: web.Request) -> web.Response:
        body = b"<p>\xff\xfe Welcome \xc3\x28 home \xed\xa0\x80</p>"
        return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8"})

    async def _control_csrf(self, request: web.Request) -> web.Response:
        value = f"abc{request.query['char']}def"
        form = f'<form><input type="hidden" name="csrf" value="{value}"></form>'
        return web.Response(body=form.encode(), content_type="text/html")

    async def _echo(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        self.received.append(Received(request.method, request.path_qs, headers, body))
        return web.Response(text="Welcome")

    async def _huge(self, request: web.Request) -> web.Response:
        return web.Response(body=_CHUNK * 64, content_type="text/html")

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        # Stops when the client goes away (the write fails) or the site shuts down.
        with contextlib.suppress(ConnectionError):
            while not self._stopping.is_set():
                await response.write(_CHUNK)
                self.endless_bytes += len(_CHUNK)
        return response

    async def _markup_location(self, request: web.Request) -> web.Response:
        location = '/<script>alert("owned")</script>?next="><img src=x onerror=alert(1)>'
        return web.Response(status=302, headers={"Location": location})

    async def _echo_password(self, request: web.Request) -> web.Response:
        form = await request.post()
        spelled = spellings(str(form.get("password", "")))[request.query["spelling"]]
        # Like a careless site: the password back in the page and in a Location header.
        page = f"<p>{spelled}</p><p>Invalid password</p>"
        headers = {"Location": f"/login?retry={spelled}"}
        return web.Response(text=page, content_type="text/html", headers=headers)

    async def _excerpt_bomb(self, request: web.Request) -> web.Response:
        markup = request.query["markup"]
        return web.Response(text=markup * (1024 * 1024 // len(markup)), content_type="text/html")

    async def _redirect(self, request: web.Request) -> web.Response:
        status = int(request.query.get("status", "302"))
        return web.Response(status=status, headers={"Location": request.query["to"]})

    async def _loop(self, request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": Mode.LOOP.value})

    async def _stop(self, app: web.Application) -> None:
        self._stopping.set()


def spellings(secret: str) -> dict[str, str]:
    """Return every spelling of `secret` a site may echo, by name."""
    percent = quote(secret, safe="")
    as_json = json.dumps(secret)[1:-1]
    return {
        "plain": secret,
        "percent-encoded": percent,
        "percent-encoded, lower-case hex": _lower_hex(percent),
        "percent-encoded, / kept": quote(secret),
        "form-encoded": quote_plus(secret),
        "percent-encoded twice": quote(percent, safe=""),
        "percent-encoded twice, lower-case hex": quote(_lower_hex(percent), safe=""),
        "HTML-escaped": html.escape(secret),
        "decimal references": "".join(f"&#{ord(c)};" for c in secret),
        "decimal references, leading zeros": "".join(f"&#{ord(c):05d};" for c in secret),
        "hex references": "".join(f"&#x{ord(c):x};" for c in secret),
        "hex references, upper case": "".join(f"&#X{ord(c):04X};" for c in secret),
        "JSON": as_json,
        "JSON, escaped solidus": as_json.replace("/", "\\/"),
        "JSON, all \\u-escaped": "".join(f"\\u{ord(c):04x}" for c in secret),
        "JSON, all \\u-escaped, upper case": "".join(f"\\u{ord(c):04X}" for c in secret),
    }


def _lower_hex(percent_encoded: str) -> str:
    return re.sub("%[0-9A-F]{2}", lambda escape: escape[0].lower(), percent_encoded)


class RawSite:
    """Answer every connection with the same bytes, however malformed, then close it."""

    def __init__(self) -> None:
        self.response = b"HTTP/1.1 204 No Content\r\n\r\n"
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """The site's base URL."""
        assert self._server is not None, "start the site first"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def start(self) -> RawSite:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        return self

    async def close(self) -> None:
        """Stop listening and wait for the server to close."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")  # the request head; bodies are not read
            writer.write(self.response)
            await writer.drain()
        writer.close()
