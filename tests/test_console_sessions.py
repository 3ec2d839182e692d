"""Console sessions without a browser: the cookie, its expiry, CSRF, who may see what.

The real app on a SQLite file under a FakeClock (`tests/api_harness.py`), so idle
and absolute expiry are walked through in time rather than waited for.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from pytest_aiohttp import AiohttpClient

from sitewatch.api.console.sessions import ABSOLUTE, COOKIE, IDLE, SessionSigner
from sitewatch.app import build_app
from sitewatch.clock import FakeClock
from sitewatch.config.loader import load_settings
from sitewatch.model import Principal, Role
from tests.api_harness import Api, start_api
from tests.console_support import Browser
from tests.harness import CUSTOMER_TOKEN, ENV, GLOBEX_TOKEN, OPERATOR_TOKEN

ACME = Principal(Role.CUSTOMER, "acme")


# --- the signer: pure ----------------------------------------------------------------


def test_a_session_ends_after_its_idle_time_and_after_its_absolute_lifetime() -> None:
    signer, now = SessionSigner(b"k" * 32), FakeClock().now()
    session = signer.open(ACME, CUSTOMER_TOKEN, now)
    value = signer.encode(session)

    assert signer.decode(value, now + IDLE - timedelta(seconds=1)) == session
    assert signer.decode(value, now + IDLE) is None

    kept_busy = session
    at = now
    while at + IDLE < now + ABSOLUTE:
        at += IDLE - timedelta(minutes=1)
        used = signer.refreshed(kept_busy, at)
        assert used is not None
        kept_busy = used
    assert signer.decode(signer.encode(kept_busy), now + ABSOLUTE) is None


def test_a_cookie_is_refused_when_forged_malformed_or_signed_under_another_key() -> None:
    signer, now = SessionSigner(b"k" * 32), FakeClock().now()
    value = signer.encode(signer.open(ACME, CUSTOMER_TOKEN, now))
    body, _, signature = value.partition(".")
    operator = signer.encode(signer.open(Principal(Role.OPERATOR, "olivia"), "x", now))

    assert signer.decode(f"{operator.partition('.')[0]}.{signature}", now) is None
    assert SessionSigner(b"j" * 32).decode(value, now) is None
    for junk in ("", ".", "x.y", f"{body}.", "a" * 5000, f"{body}x.{signature}"):
        assert signer.decode(junk, now) is None


def test_the_cookie_holds_no_token_and_the_csrf_token_differs_per_session() -> None:
    signer, now = SessionSigner(b"k" * 32), FakeClock().now()
    one, two = signer.open(ACME, CUSTOMER_TOKEN, now), signer.open(ACME, CUSTOMER_TOKEN, now)

    assert CUSTOMER_TOKEN not in signer.encode(one)
    assert signer.csrf(one) != signer.csrf(two)
    assert one.token == two.token == signer.fingerprint(CUSTOMER_TOKEN)


# --- the cookie on the wire ------------------------------------------------------------


async def test_logging_on_sets_an_http_only_strict_cookie_that_holds_no_token(api: Api) -> None:
    browser = Browser(api)
    form = await browser.get("/")
    assert form.status == 200 and 'name="token"' in form.html

    answer = await browser.post(
        "/login", {"token": CUSTOMER_TOKEN, "csrf": form.csrf()}, follow=False
    )

    assert answer.status == 303 and answer.headers["Location"] == "/"
    cookie = next(c for c in answer.headers.getall("Set-Cookie") if c.startswith(f"{COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert f"Max-Age={int(IDLE.total_seconds())}" in cookie
    assert CUSTOMER_TOKEN not in cookie
    overview = await browser.get("/")
    assert 'data-check="portal"' in overview.html and CUSTOMER_TOKEN not in overview.html


async def test_the_cookie_is_secure_when_a_proxy_says_the_browser_came_over_https(
    api: Api,
) -> None:
    browser = Browser(api)
    form = await browser.get("/")
    data = {"token": CUSTOMER_TOKEN, "csrf": form.csrf()}
    async with api.client.post(
        "/login", data=data, allow_redirects=False, headers={"X-Forwarded-Proto": "https"}
    ) as answer:
        assert answer.status == 303
        assert "Secure" in answer.headers["Set-Cookie"]


async def test_a_wrong_token_shows_the_form_again_without_echoing_it(api: Api) -> None:
    browser = Browser(api)
    form = await browser.get("/")

    answer = await browser.post("/login", {"token": "guess-123", "csrf": form.csrf()})

    assert answer.status == 401
    assert "That token is not valid." in answer.text and "guess-123" not in answer.html


async def test_a_logon_posted_without_the_forms_csrf_token_is_refused(api: Api) -> None:
    answer = await Browser(api).post("/login", {"token": CUSTOMER_TOKEN})

    assert answer.status == 403 and "Form refused" in answer.text
    assert COOKIE not in api.client.session.cookie_jar.filter_cookies(api.client.make_url("/"))


class JumpingClock(FakeClock):
    """A FakeClock whose wall time jumps ahead without waking any sleeper (no probes run)."""

    def __init__(self) -> None:
        super().__init__()
        self.ahead = timedelta(0)

    def now(self) -> datetime:
        """Return the fake wall time, jumped ahead."""
        return super().now() + self.ahead


async def test_an_idle_session_shows_the_logon_form_saying_it_ended(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    clock = JumpingClock()
    api = await start_api(tmp_path, aiohttp_client, clock=clock)
    browser = Browser(api)
    await browser.log_on(CUSTOMER_TOKEN)
    clock.ahead += IDLE - timedelta(minutes=1)
    assert (await browser.get("/")).status == 200  # used: the idle expiry moves on

    clock.ahead += IDLE - timedelta(minutes=1)
    assert 'data-check="portal"' in (await browser.get("/")).html

    clock.ahead += IDLE
    answer = await browser.get("/windows")
    assert answer.status == 401 and "Your session has ended; log on again." in answer.text


async def test_every_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
    api: Api,
) -> None:
    ticket = await api.ticket()
    customer, operator = Browser(api), Browser(api)
    await customer.log_on(CUSTOMER_TOKEN)
    end = (api.clock.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    refused = await customer.post("/windows", {"kind": "other", "end": end, "csrf": "forged"})

    assert refused.status == 403 and "nothing was changed" in refused.text
    _, listed = await api.call("GET", "/api/v1/maintenance", "customer")
    assert listed["maintenance"] == []
    await customer.post("/logout", {"csrf": refused.csrf()})
    await operator.log_on(OPERATOR_TOKEN)
    for action in ("ack", "resolve"):
        answer = await operator.post(f"/tickets/{ticket.id}/{action}", {"cause": "network"})
        assert answer.status == 403
    _, shown = await api.call("GET", f"/api/v1/tickets/{ticket.id}")
    assert shown["state"] == "open"


async def test_logging_out_forgets_the_cookie(api: Api) -> None:
    browser = Browser(api)
    overview = await browser.log_on(CUSTOMER_TOKEN)

    answer = await browser.post("/logout", {"csrf": overview.csrf()}, follow=False)

    assert answer.status == 303
    assert (
        f'{COOKIE}=""' in answer.headers["Set-Cookie"]
        or "Max-Age=0" in answer.headers["Set-Cookie"]
    )
    assert 'name="token"' in (await browser.get("/")).html


async def restart(
    api: Api, directory: Path, aiohttp_client: AiohttpClient, env: dict[str, str]
) -> Api:
    """Stop the app and start it again on the same database, with these variables."""
    await api.client.close()
    settings = load_settings(directory / "sitewatch.yaml", {**ENV, **env})
    return Api(await aiohttp_client(build_app(settings, clock=api.clock)), api.clock)


async def test_a_restart_keeps_sessions_but_a_token_out_of_the_config_ends_them(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    first = await start_api(tmp_path, aiohttp_client)
    await Browser(first).log_on(GLOBEX_TOKEN)
    jar = first.client.session.cookie_jar.filter_cookies(first.client.make_url("/"))
    cookie = {COOKIE: jar[COOKIE].value}

    again = await restart(first, tmp_path, aiohttp_client, {})
    async with again.client.get("/", cookies=cookie) as answer:
        assert answer.status == 200 and 'data-check="webmail"' in await answer.text()

    rotated = await restart(again, tmp_path, aiohttp_client, {"TEST_GLOBEX_TOKEN": "new-token"})
    async with rotated.client.get("/", cookies=cookie) as answer:
        assert answer.status == 401 and "Your session has ended" in await answer.text()


async def test_a_script_may_read_a_page_with_its_bearer_token_but_gets_no_cookie(
    api: Api,
) -> None:
    answer = await Browser(api).get("/", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
    assert answer.status == 200 and 'data-check="webmail"' in answer.html
    assert "Set-Cookie" not in answer.headers or COOKIE not in answer.headers["Set-Cookie"]

    refused = await Browser(api).get("/", headers={"Authorization": "Bearer not-a-token"})
    assert refused.status == 401
    assert "That token is not valid." in refused.text and "not-a-token" not in refused.html


async def test_a_reload_of_the_logon_or_logout_address_leads_to_the_overview(api: Api) -> None:
    for path in ("/login", "/logout"):
        answer = await Browser(api).get(path)
        assert (answer.status, answer.headers["Location"]) == (303, "/")
