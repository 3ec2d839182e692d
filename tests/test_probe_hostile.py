"""The probe against a hostile site: whatever it sends, a result, and no secret in it.

Each finding of issue 11 is a test here, against a real site on loopback
(`tests/hostile_site.py`): odd charsets, control characters in extracted values,
huge and endless bodies, markup and raw bytes in headers, a password echoed in every
spelling, excerpts of endless markup, redirects to another host and to sitewatch
itself, malformed HTTP, a bug inside the probe; then any response at all (hypothesis)
and `sitewatch probe` as a user runs it.
"""

from __future__ import annotations

import asyncio
import logging
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_aiohttp import AiohttpServer
from yarl import URL

from sitewatch.clock import SystemClock
from sitewatch.model import CheckSpec, Expectation, Method, ProbeResult, ResultKind, Step
from sitewatch.probing.body import BODY_LIMIT
from sitewatch.probing.http import HttpLogonProbe
from sitewatch.probing.patterns import compile_extract
from tests.harness import ServiceConfig, run_cli_async
from tests.hostile_site import PASSWORD, HostileSite, Mode, RawSite, spellings
from tests.test_probe_http import check, get, post

CSRF = {"csrf": compile_extract(r'name="csrf" value="([^"]+)"')}
WELCOME = Expectation(body_contains="Welcome")
CREDENTIALS = {"user": "acme-robot", "password": PASSWORD}
SECRETS = frozenset({PASSWORD})


@dataclass(frozen=True)
class Served:
    """A hostile site and the base URL it answers on."""

    site: HostileSite
    url: str

    def at(self, mode: Mode, query: str = "") -> str:
        """Return the URL of one mode, with an optional query string."""
        return f"{self.url}{mode.value}{'?' + query if query else ''}"


async def serve(aiohttp_server: AiohttpServer, host: str = "127.0.0.1") -> Served:
    """Start a hostile site on `host` and return it with its URL."""
    site = HostileSite()
    server = await aiohttp_server(site.app(), host=host)
    return Served(site, f"http://{host}:{server.port}")


@pytest.fixture
async def hostile(aiohttp_server: AiohttpServer) -> Served:
    """Serve a hostile site on 127.0.0.1."""
    return await serve(aiohttp_server)


@pytest.fixture
async def other_host(aiohttp_server: AiohttpServer) -> Served:
    """Serve a second hostile site on another loopback address: another host."""
    return await serve(aiohttp_server, host="127.0.0.2")


@pytest.fixture
async def raw_site() -> AsyncIterator[RawSite]:
    """Serve a site that answers whatever bytes a test sets."""
    site = await RawSite().start()
    yield site
    await site.close()


@pytest.fixture
async def probe() -> AsyncIterator[HttpLogonProbe]:
    """Return a probe that owns its connector."""
    async with HttpLogonProbe(None, SystemClock()) as owned:
        yield owned


def outputs(result: ProbeResult) -> list[str]:
    """Return every text of a result that anyone will ever see."""
    steps = result.steps
    return [result.detail, *(s.detail for s in steps), *(s.url for s in steps)]


def assert_no_secret(result: ProbeResult, secret: str = PASSWORD) -> None:
    """Fail if any output of `result` holds `secret` in any spelling a site may use."""
    for name, spelled in spellings(secret).items():
        leaks = [text for text in outputs(result) if spelled in text]
        assert not leaks, f"the secret, {name}, is in {leaks}"


# --- responses it cannot decode ----------------------------------------------------------


@pytest.mark.parametrize("charset", ["idna", "x-unknown"])
async def test_a_503_in_an_unknown_charset_fails_as_http_status_with_a_result(
    probe: HttpLogonProbe, hostile: Served, charset: str
) -> None:
    """Judge the status of a page whose charset cannot be read: the 5xx decides."""
    page = hostile.at(Mode.CHARSET, f"name={charset}&status=503")

    result = await probe.run(check(get(page, WELCOME)))

    assert result.kind is ResultKind.HTTP_STATUS
    assert "expected status 200, got 503" in result.detail
    assert f"charset '{charset}'" in result.steps[0].detail


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("idna", "charset 'idna' is not one web pages are written in"),
        ("punycode", "charset 'punycode' is not one web pages are written in"),
        ("base64", "charset 'base64' is not one web pages are written in"),
        ("x-unknown", "unknown charset 'x-unknown'"),
        ("%C3%BCtf-8", "the declared charset is not a charset name"),
    ],
)
async def test_a_page_in_a_charset_no_browser_reads_fails_as_content_when_its_body_is_judged(
    probe: HttpLogonProbe, hostile: Served, label: str, reason: str
) -> None:
    """Fail a step that looks into a body it cannot decode, as content, saying why."""
    page = hostile.at(Mode.CHARSET, f"name={label}")

    result = await probe.run(check(get(page, WELCOME)))

    assert result.kind is ResultKind.CONTENT
    assert result.detail.endswith(f"cannot read the body: {reason}")


async def test_a_page_in_an_unreadable_charset_passes_a_step_that_only_checks_the_status(
    probe: HttpLogonProbe, hostile: Served
) -> None:
    """Pass a step that never looks into the body, whatever its charset."""
    result = await probe.run(check(get(hostile.at(Mode.CHARSET, "name=idna"))))

    assert result.kind is ResultKind.OK, result.detail


async def test_a_credentials_step_whose_answer_cannot_be_decoded_is_content(
    probe: HttpLogonProbe, hostile: Served
) -> None:
    """Call an unreadable answer to a logon `content`: nothing says it was rejected."""
    page = hostile.at(Mode.CHARSET, "name=x-unknown")

    result = await probe.run(check(post(page, WELCOME, form=CREDENTIALS), secrets=SECRETS))

    assert result.kind is ResultKind.CONTENT
    assert "cannot read the body: unknown charset 'x-unknown'" in result.detail


async def test_bytes_invalid_in_the_charset_are_replaced_and_the_page_is_still_judged(
    probe: HttpLogonProbe, hostile: Served
) -> None:
    """Read a page with invalid bytes as a browser does, and say that some were replaced."""
    result = await probe.run(check(get(hostile.at(Mode.INVALID_BYTES), WELCOME)))

    assert result.kind is ResultKind.OK, result.detail
    assert result.steps[0].detail == "bytes not valid in utf-8 from byte 3 on were replaced"


# --- values it cannot send -----------------------------------------------------------------


def sending_csrf_in(where: str, url: str) -> Step:
    """Build a step that sends the extracted `{csrf}` in one place of its request."""
    if where == "header":
        return Step(method=Method.GET, url=url, headers={"X-Csrf": "{csrf}"})
    if where == "URL":
        return get(f"{url}?csrf={{csrf}}")
    if where == "form":
        return post(url, form={"csrf": "{csrf}"})
    return post(url, json={"token": ["{csrf}"]})


@pytest.mark.parametrize("where", ["header", "URL", "form", "JSON"])
@pytest.mark.parametrize(
    ("char", "code"),
    [("\r\n", "U+000D"), ("\n", "U+000A"), ("\x00", "U+0000"), ("\x1b", "U+001B")],
)
async def test_a_csrf_value_with_a_control_character_fails_the_step_that_would_send_it(
    probe: HttpLogonProbe, hostile: Served, where: str, char: str, code: str
) -> None:
    """Refuse to send an extracted value holding a control character, anywhere."""
    form = get(hostile.at(Mode.CONTROL_CSRF, f"char={quote(char)}"), extract=CSRF)
    destination = {"header": "the header X-Csrf", "URL": "the URL"}.get(where)
    destination = destination or {"form": "the form field csrf"}.get(where, "the JSON body")

    result = await probe.run(check(form, sending_csrf_in(where, hostile.at(Mode.ECHO))))

    assert result.kind is ResultKind.CONTENT
    assert result.detail.endswith(
        f"the value extracted as csrf holds the control character {code}, "
        f"so it cannot go into {destination}"
    )
    assert [step.status for step in result.steps] == [200, None]
    assert hostile.site.received == []  # nothing was sent
    assert all(char not in text for text in outputs(result))


async def test_a_header_from_the_environment_with_a_line_break_cannot_be_sent(
    probe: HttpLogonProbe, hostile: Served
) -> None:
    """Refuse a header value that would split the request, and keep it secret."""
    token = "t0ken-from-a-file\n"
    step = Step(method=Method.GET, url=hostile.at(Mode.ECHO), headers={"X-Token": token})

    result = await probe.run(check(step, secrets=frozenset({token})))

    assert result.kind is ResultKind.CONTENT
    assert result.detail.endswith(
        "the header X-Token holds the control character U+000A, so it cannot be sent"
    )
    assert hostile.site.received == []
    assert_no_secret(result, "t0ken-from-a-file")


# --- bodies without end ----------------------------------------------------------------------


async def test_a_huge_body_is_judged_on_the_first_mebibyte(
    probe: HttpLogonProbe, hostile: Served
) -> None:
    """Read at most 1 MiB of a 4 MiB body and judge what was read."""
    result = await probe.run(check(get(hostile.at(Mode.HUGE), WELCOME)))

    assert result.kind is ResultKind.CONTENT
    assert 'body lacks "Welcome"' in result.detail
    assert f"read only the first {BODY_LIMIT} bytes of the body" in result.steps[0].detail


async def test_an_endless_body_is_read_up_to_the_cap_and_then_dropped(
    probe: HttpLogonProbe, hostile: Served
) -> None:
    """Stop reading a body that never ends at 1 MiB, within the probe's timeout."""
    result = await probe.run(check(get(hostile.at(Mode.ENDLESS), WELCOME), timeout=5))

    assert result.kind is ResultKind.CONTENT
    assert f"read only the first {BODY_LIMIT} bytes of the body" in result.steps[0].detail
    assert len(result.steps[0].detail) < 1000


# --- markup and raw bytes in headers ---------------------------------------------------------


async def test_a_location_with_markup_is_quoted_as_plain_text(
    probe: HttpLogonProbe, hostile: Served
) -> None:
    """Quote a Location holding a script as the text it is, unchanged and one line."""
    result = await probe.run(check(get(hostile.at(Mode.MARKUP_LOCATION))))

    assert result.kind is ResultKind.HTTP_STATUS
    assert result.detail.endswith(
        'expected status 200, got 302 to /<script>alert("owned")</script>'
        '?next="><img src=x onerror=alert(1)>'
    )


async def test_control_characters_and_raw_bytes_in_a_location_are_escaped(
    probe: HttpLogonProbe, raw_site: RawSite
) -> None:
    """Escape terminal controls, line breaks and undecodable bytes of a header."""
    raw_site.response = (
        b"HTTP/1.1 302 Found\r\nLocation: /a\x1b[2Jb\x7f\xff\xe2\x80\xaeZ\r\n"
        b"Content-Length: 0\r\n\r\n"
    )

    result = await probe.run(check(get(f"{raw_site.url}/login")))

    assert result.kind is ResultKind.HTTP_STATUS
    assert result.detail.endswith("got 302 to /a\\x1b[2Jb\\x7f\\udcff\\u202eZ")


async def test_a_location_of_any_length_gives_a_bounded_detail(
    probe: HttpLogonProbe, raw_site: RawSite
) -> None:
    """Cut a long Location in the detail: every part of a detail is bounded."""
    raw_site.response = b"HTTP/1.1 302 Found\r\nLocation: /" + b"a" * 8000 + b"\r\n\r\n"

    result = await probe.run(check(get(f"{raw_site.url}/login")))

    assert result.kind is ResultKind.HTTP_STATUS
    assert len(result.detail) < 400


# --- a password echoed in every spelling ------------------------------------------------------


@pytest.mark.parametrize("spelling", list(spellings(PASSWORD)))
async def test_a_site_echoing_the_password_shows_it_in_no_spelling(
    probe: HttpLogonProbe, hostile: Served, spelling: str
) -> None:
    """Hide the password a site echoes back, however spelled, in the body and a header."""
    logon = post(
        hostile.at(Mode.ECHO_PASSWORD, f"spelling={quote(spelling)}"),
        Expectation(status=(302,)),
        form=CREDENTIALS,
    )

    result = await probe.run(check(logon, secrets=SECRETS))

    assert result.kind is ResultKind.LOGIN_REJECTED
    assert "got 200 to /login?retry=***" in result.detail
    assert 'body starts "*** Invalid password"' in result.steps[0].detail
    assert_no_secret(result)


# --- excerpts of hostile bodies ---------------------------------------------------------------


@pytest.mark.parametrize("markup", ["<", "<!--", "<script>", "<a>", "&#1"])
async def test_the_excerpt_of_a_mebibyte_of_unclosed_markup_is_made_and_bounded(
    probe: HttpLogonProbe, hostile: Served, markup: str
) -> None:
    """Make an excerpt of endless markup (linear: bench/excerpt.py measures it)."""
    result = await probe.run(
        check(get(hostile.at(Mode.EXCERPT_BOMB, f"markup={quote(markup)}"), WELCOME))
    )

    assert result.kind is ResultKind.CONTENT
    assert 'body starts "' in result.steps[0].detail
    assert len(result.steps[0].detail) < 1000


# --- redirects ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [307, 308])
async def test_credentials_do_not_follow_a_307_or_308_to_another_host(
    probe: HttpLogonProbe, hostile: Served, other_host: Served, status: int
) -> None:
    """Follow a redirect to another host without the step's body and headers."""
    away = hostile.at(Mode.REDIRECT, f"status={status}&to={quote(other_host.at(Mode.ECHO))}")
    logon = Step(
        method=Method.POST,
        url=away,
        form=CREDENTIALS,
        headers={"X-Api-Key": "k3y"},
        expect=WELCOME,
        follow_redirects=True,
    )

    result = await probe.run(check(logon, secrets=SECRETS))

    assert result.kind is ResultKind.OK, result.detail
    [received] = other_host.site.received
    assert received.method == "POST"
    assert received.body == b""
    assert "X-Api-Key" not in received.headers


async def test_credentials_follow_a_307_within_the_same_site(
    probe: HttpLogonProbe, hostile: Served
) -> None:
    """Follow a redirect on the same site with the step's body and headers."""
    here = hostile.at(Mode.REDIRECT, f"status=307&to={quote(Mode.ECHO.value)}")
    logon = Step(
        method=Method.POST,
        url=here,
        form={"user": "acme-robot"},
        headers={"X-Api-Key": "k3y"},
        expect=WELCOME,
        follow_redirects=True,
    )

    result = await probe.run(check(logon))

    assert result.kind is ResultKind.OK, result.detail
    [received] = hostile.site.received
    assert (received.method, received.body) == ("POST", b"user=acme-robot")
    assert received.headers["X-Api-Key"] == "k3y"


async def test_a_303_after_a_logon_is_followed_with_a_get_and_no_body(
    probe: HttpLogonProbe, hostile: Served
) -> None:
    """Turn the request a 303 leads to into a GET without the body, as browsers do."""
    here = hostile.at(Mode.REDIRECT, f"status=303&to={quote(Mode.ECHO.value)}")
    logon = post(here, WELCOME, form={"user": "acme-robot"}, follow_redirects=True)

    result = await probe.run(check(logon))

    assert result.kind is ResultKind.OK, result.detail
    assert [(r.method, r.body) for r in hostile.site.received] == [("GET", b"")]


@pytest.mark.parametrize("spelled", ["127.0.0.1", "localhost", "127.1", "[::ffff:127.0.0.1]"])
async def test_a_redirect_to_sitewatchs_own_address_is_refused(
    hostile: Served, other_host: Served, spelled: str
) -> None:
    """Refuse a redirect to the listen address however it is spelled, and send nothing."""
    port = int(other_host.url.rsplit(":", 1)[1])
    own = f"http://{spelled}:{port}/api/v1/tickets"
    away = hostile.at(Mode.REDIRECT, f"to={quote(own)}")

    async with HttpLogonProbe(None, SystemClock(), forbidden=[("127.0.0.1", port)]) as guarded:
        result = await guarded.run(check(get(away, follow_redirects=True)))

    assert result.kind is ResultKind.CONTENT
    assert result.detail.endswith(
        f"redirect to sitewatch's own address {URL(own).host}:{port} refused"
    )
    assert other_host.site.received == []


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("javascript:alert(1)", "redirect to a URL that is not http:// or https:// (javascript:)"),
        ("file:///etc/passwd", "redirect to a URL that is not http:// or https:// (file:)"),
        ("http://[::1/", "redirect to a URL that cannot be requested (ValueError)"),
        ("http://127.0.0.1:99999/", "redirect to a URL that cannot be requested (ValueError)"),
    ],
)
async def test_a_redirect_to_a_bad_url_fails_as_content(
    probe: HttpLogonProbe, hostile: Served, location: str, reason: str
) -> None:
    """Refuse to follow a redirect to a URL that is not http(s) or not a URL at all."""
    away = hostile.at(Mode.REDIRECT, f"to={quote(location)}")

    result = await probe.run(check(get(away, follow_redirects=True)))

    assert result.kind is ResultKind.CONTENT
    assert result.detail.endswith(reason)


async def test_a_redirect_loop_is_given_up_after_ten_redirects(
    probe: HttpLogonProbe, hostile: Served
) -> None:
    """Stop following redirects after ten."""
    result = await probe.run(check(get(hostile.at(Mode.LOOP), follow_redirects=True)))

    assert result.kind is ResultKind.HTTP_STATUS
    assert result.detail.endswith("gave up after 10 redirects")


# --- malformed HTTP -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n", "Invalid HTTP header"),
        (b"HTTP/1.1 200 OK\r\nNo colon here\r\n", "Invalid header token"),
        (b"HTTP/1.1 2x0 OK\r\n", "Bad status line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n", "Duplicate"),
        (
            b"HTTP/1.1 200 OK\r\nX-Echo: " + PASSWORD.encode() * 800 + b"\r\n",
            "Got more than 8190 bytes when reading",
        ),
    ],
)
async def test_a_malformed_answer_fails_as_content_and_quotes_none_of_it(
    probe: HttpLogonProbe, raw_site: RawSite, head: bytes, reason: str
) -> None:
    """Fail an answer that is not HTTP as content, naming the flaw, not the bytes."""
    raw_site.response = head + b"\r\n"

    result = await probe.run(check(get(f"{raw_site.url}/login"), secrets=SECRETS))

    assert result.kind is ResultKind.CONTENT
    assert f"the answer is not valid HTTP: {reason}" in result.detail
    assert "\\x" not in result.detail
    assert_no_secret(result)


# --- a bug inside the probe -----------------------------------------------------------------


class ExplodingPattern:
    """An extract pattern with a bug: it raises, naming the secret in its message."""

    pattern = "(exploding)"

    def first(self, text: str, /) -> str | None:
        """Raise, as a bug would."""
        raise RuntimeError(f"bug while matching, near {PASSWORD}")


async def test_an_exception_inside_the_probe_becomes_a_failed_result_logged_once(
    probe: HttpLogonProbe, hostile: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """Turn a bug into a `content` result that says so, and log it once with its traceback."""
    step = get(hostile.at(Mode.ECHO), extract={"token": ExplodingPattern()})

    with caplog.at_level(logging.ERROR, logger="sitewatch.probing"):
        result = await probe.run(check(step, secrets=SECRETS))

    assert result.kind is ResultKind.CONTENT
    assert result.detail.endswith("internal error in the probe (RuntimeError), logged as a bug")
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "Traceback" in record.getMessage()
    assert "bug while matching, near ***" in record.getMessage()
    assert PASSWORD not in caplog.text


async def test_a_bug_in_redaction_itself_still_ends_in_a_result_that_shows_nothing(
    probe: HttpLogonProbe, hostile: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """Return a bare failed result, logged once, when even recording the bug breaks."""
    # A secret that is not a string (a bug elsewhere) makes every redaction raise.
    broken_secrets = cast(frozenset[str], frozenset({1}))

    with caplog.at_level(logging.ERROR, logger="sitewatch.probing"):
        result = await probe.run(check(get(hostile.at(Mode.ECHO)), secrets=broken_secrets))

    assert (result.kind, result.detail, result.steps) == (
        ResultKind.CONTENT,
        "internal error in the probe, logged as a bug",
        (),
    )
    [record] = caplog.records
    assert "TypeError, then TypeError recording it" in record.getMessage()


# --- any response at all --------------------------------------------------------------------

LABELS = ["utf-8", "idna", "x-unknown", "utf-16", "shift_jis", "punycode", "latin1", '"utf-8"', ""]
CSRF_ANYWHERE = {"csrf": compile_extract(r'(?s)value="([^"]*)"')}


@st.composite
def responses(draw: st.DrawFn) -> bytes:
    """Draw a response: any status, charset, headers and body, the secret echoed in it."""
    spelled = draw(st.sampled_from(list(spellings(PASSWORD).values())))
    charset = draw(st.one_of(st.none(), st.sampled_from(LABELS), st.text(max_size=12)))
    codec = "utf-8" if charset not in ("latin1", "shift_jis", "utf-16") else charset
    csrf = draw(st.text(max_size=12))
    body = draw(st.binary(max_size=2048))
    at = draw(st.integers(0, len(body)))
    echoed = f' {spelled} <input value="{csrf}"> '.encode(codec, errors="replace")
    body = body[:at] + echoed + body[at:]
    location = draw(st.sampled_from(["", "/next?p=" + spelled, "/" + spelled, "javascript:x"]))
    extra = draw(
        st.lists(
            st.binary(max_size=40).filter(lambda v: b"\n" not in v and b"\r" not in v), max_size=3
        )
    )
    status = draw(st.one_of(st.sampled_from([200, 302, 307, 503]), st.integers(100, 999)))
    head = [f"HTTP/1.1 {status} Whatever".encode()]
    if charset is not None:
        head.append(f"Content-Type: text/html; charset={charset}".encode(errors="replace"))
    if location:
        head.append(f"Location: {location}".encode())
    head += [b"X-Extra: " + value for value in extra]
    if draw(st.booleans()):
        head.append(f"Content-Length: {len(body)}".encode())
    return b"\r\n".join([*head, b"", body])


def any_response_check(url: str) -> CheckSpec:
    """Build a logon that extracts, sends the value everywhere and follows redirects."""
    any_status = Expectation(status=tuple(range(100, 1000)))
    return check(
        get(f"{url}/login", any_status, extract=CSRF_ANYWHERE, follow_redirects=True),
        Step(
            method=Method.POST,
            url=f"{url}/login?csrf={{csrf}}",
            form={**CREDENTIALS, "csrf": "{csrf}"},
            headers={"X-Csrf": "{csrf}"},
            expect=Expectation(body_contains="Welcome"),
            follow_redirects=True,
        ),
        timeout=2,
        secrets=SECRETS,
    )


async def probe_once(response: bytes) -> ProbeResult:
    """Serve one response on a fresh raw site and probe it once."""
    site = await RawSite().start()
    site.response = response
    try:
        async with HttpLogonProbe(None, SystemClock()) as fresh:
            return await fresh.run(any_response_check(site.url))
    finally:
        await site.close()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(response=responses())
def test_any_response_ends_in_a_result_that_holds_no_secret(response: bytes) -> None:
    """Probe any response a site may send: a result every time, the secret in none of it."""
    result = asyncio.run(probe_once(response))

    assert isinstance(result, ProbeResult)
    assert "internal error" not in result.detail, result.detail
    assert_no_secret(result)


# --- sitewatch probe, as a user runs it ------------------------------------------------------


def hostile_check(check_id: str, steps: str) -> str:
    """Return the YAML of a check of the hostile site."""
    header = f"id: {check_id}\ncustomer: acme\nname: Hostile {check_id}\nsteps:\n"
    return header + textwrap.indent(textwrap.dedent(steps), "  ")


async def test_sitewatch_probe_prints_the_reason_and_no_traceback_for_an_unsendable_value(
    tmp_path: Path, hostile: Served
) -> None:
    """Run `sitewatch probe` on a csrf value with CR LF: exit 1, the reason, no traceback."""
    steps = f"""\
        - get: "{hostile.at(Mode.CONTROL_CSRF, "char=%0D%0A")}"
          extract: {{csrf: 'name="csrf" value="([^"]+)"'}}
        - get: "{hostile.at(Mode.ECHO)}"
          headers: {{X-Csrf: "{{csrf}}"}}
        """
    config = ServiceConfig(tmp_path, checks={"hostile": hostile_check("hostile", steps)})
    config.write()

    done = await run_cli_async("probe", "-c", str(config.path), "hostile")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED: content" in done.stdout
    assert "holds the control character U+000D, so it cannot go into the header X-Csrf" in (
        done.stdout
    )
    assert "Traceback" not in done.stdout + done.stderr


async def test_sitewatch_probe_prints_the_reason_and_no_traceback_for_an_idna_503(
    tmp_path: Path, hostile: Served
) -> None:
    """Run `sitewatch probe` on a 503 labelled idna: exit 1 with http_status, no traceback."""
    steps = f"""\
        - get: "{hostile.at(Mode.CHARSET, "name=idna&status=503")}"
          expect: {{body_contains: Welcome}}
        """
    config = ServiceConfig(tmp_path, checks={"hostile": hostile_check("hostile", steps)})
    config.write()

    done = await run_cli_async("probe", "-c", str(config.path), "hostile")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED: http_status" in done.stdout
    assert "expected status 200, got 503" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
