"""The HTTP logon probe against a real simulated site on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote, quote_plus

import aiohttp
import pytest
from aiohttp.test_utils import unused_port

from sitewatch.clock import SystemClock
from sitewatch.demo.site import SimulatedSite, SiteMode
from sitewatch.model import CheckSpec, Expectation, Method, ProbeResult, ResultKind, Step
from sitewatch.model.checks import ExtractPattern
from sitewatch.probing.http import BODY_LIMIT, HttpLogonProbe, _needs_cookies
from sitewatch.probing.patterns import compile_extract
from sitewatch.probing.probe import PROBES
from sitewatch.probing.request import Request, Requests, Unsendable

CSRF = {"csrf": compile_extract(r'name="csrf" value="([^"]+)"')}
LOGGED_ON = Expectation(status=(302,), body_lacks="Invalid password", cookie="session")
WELCOME = Expectation(status=(200,), body_contains="Welcome")


# --- building checks ------------------------------------------------------------------


def get(
    url: str,
    expect: Expectation | None = None,
    *,
    extract: Mapping[str, ExtractPattern] | None = None,
    follow_redirects: bool = False,
) -> Step:
    return Step(
        method=Method.GET,
        url=url,
        expect=expect or Expectation(),
        extract=extract or {},
        follow_redirects=follow_redirects,
    )


def post(
    url: str,
    expect: Expectation | None = None,
    *,
    form: Mapping[str, str] | None = None,
    json: Any = None,
    follow_redirects: bool = False,
) -> Step:
    return Step(
        method=Method.POST,
        url=url,
        form=form,
        json=json,
        expect=expect or Expectation(),
        follow_redirects=follow_redirects,
    )


def check(*steps: Step, timeout: float = 5.0, secrets: frozenset[str] = frozenset()) -> CheckSpec:
    return CheckSpec(
        id="acme-portal",
        customer="acme",
        name="Acme customer portal logon",
        interval=timedelta(seconds=30),
        timeout=timedelta(seconds=timeout),
        confirm=2,
        recover=2,
        retry_interval=timedelta(seconds=5),
        steps=steps,
        secrets=secrets,
    )


def logon(
    site: SimulatedSite,
    base: str,
    *,
    password: str | None = None,
    login: Expectation = LOGGED_ON,
    home: Expectation = WELCOME,
    timeout: float = 5.0,
) -> CheckSpec:
    """Build the three-step logon of the documentation: form, credentials, home page."""
    password = site.password if password is None else password
    credentials = {"user": site.user, "password": password, "csrf": "{csrf}"}
    return check(
        get(f"{base}/login", extract=CSRF),
        post(f"{base}/login", login, form=credentials),
        get(f"{base}/home", home),
        timeout=timeout,
        secrets=frozenset({site.user, password}),
    )


@pytest.fixture
async def probe() -> AsyncIterator[HttpLogonProbe]:
    async with HttpLogonProbe(None, SystemClock()) as owned:
        yield owned


def statuses(result: ProbeResult) -> list[int | None]:
    return [step.status for step in result.steps]


# --- a logon that works ---------------------------------------------------------------


async def test_a_working_logon_is_ok(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    result = await probe.run(logon(simulated_site, simulated_site_url))

    assert result.kind is ResultKind.OK, result.detail
    assert result.detail == ""
    assert statuses(result) == [200, 302, 200]
    assert [step.index for step in result.steps] == [1, 2, 3]
    assert all(step.ok and step.elapsed <= result.duration for step in result.steps)
    assert result.steps[2].url == f"{simulated_site_url}/home"


async def test_the_csrf_token_is_extracted_and_sent_back_in_place_of_the_placeholder(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    form = {"user": simulated_site.user, "password": simulated_site.password}
    with_token = check(
        get(f"{simulated_site_url}/login", extract=CSRF),
        post(f"{simulated_site_url}/login", LOGGED_ON, form={**form, "csrf": "{csrf}"}),
    )
    with_a_made_up_token = check(
        post(f"{simulated_site_url}/login", LOGGED_ON, form={**form, "csrf": "made-up"}),
    )

    assert (await probe.run(with_token)).kind is ResultKind.OK
    rejected = await probe.run(with_a_made_up_token)
    assert rejected.kind is ResultKind.LOGIN_REJECTED
    assert "expected status 302, got 403" in rejected.detail


async def test_an_extract_that_does_not_match_is_content(
    probe: HttpLogonProbe, simulated_site_url: str
) -> None:
    nonce = {"nonce": compile_extract(r'name="nonce" value="([^"]+)"')}

    result = await probe.run(check(get(f"{simulated_site_url}/login", extract=nonce)))

    assert result.kind is ResultKind.CONTENT
    assert "nothing to extract as nonce" in result.detail


# --- cookies and redirects -------------------------------------------------------------


async def test_a_cookie_set_on_a_302_is_in_the_jar_and_sent_on_the_next_step(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    home = Expectation(body_contains=f"Welcome, {simulated_site.user}", cookie="session")

    result = await probe.run(logon(simulated_site, simulated_site_url, home=home))

    assert result.kind is ResultKind.OK, result.detail
    assert statuses(result) == [200, 302, 200]


async def test_a_redirect_is_not_followed_unless_the_step_says_so(
    probe: HttpLogonProbe, simulated_site_url: str
) -> None:
    home = f"{simulated_site_url}/home"

    not_followed = await probe.run(check(get(home, WELCOME)))
    followed = await probe.run(
        check(get(home, Expectation(body_contains='name="csrf"'), follow_redirects=True))
    )

    assert not_followed.kind is ResultKind.HTTP_STATUS
    assert "expected status 200, got 302 to /login?next=" in not_followed.detail
    assert followed.kind is ResultKind.OK, followed.detail
    assert statuses(followed) == [200]


async def test_a_followed_logon_redirect_lands_on_the_home_page_with_the_session(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    lands_home = Expectation(body_contains="Welcome", cookie="session")
    form = {"user": simulated_site.user, "password": simulated_site.password, "csrf": "{csrf}"}
    spec = check(
        get(f"{simulated_site_url}/login", extract=CSRF),
        post(f"{simulated_site_url}/login", lands_home, form=form, follow_redirects=True),
    )

    result = await probe.run(spec)

    assert result.kind is ResultKind.OK, result.detail
    assert statuses(result) == [200, 200]


async def test_each_run_starts_with_an_empty_cookie_jar(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    await probe.run(logon(simulated_site, simulated_site_url))

    home_alone = await probe.run(check(get(f"{simulated_site_url}/home", WELCOME)))

    assert home_alone.kind is ResultKind.HTTP_STATUS
    assert statuses(home_alone) == [302]


async def test_a_missing_session_cookie_on_the_credentials_step_is_login_rejected(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    simulated_site.mode = SiteMode.NO_SESSION

    result = await probe.run(logon(simulated_site, simulated_site_url))

    assert result.kind is ResultKind.LOGIN_REJECTED
    assert result.detail.endswith('no cookie "session" in the jar')
    assert statuses(result) == [200, 302]


async def test_a_missing_cookie_on_a_plain_step_is_content(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    simulated_site.mode = SiteMode.NO_SESSION
    answered = Expectation(status=(302,))
    has_session = Expectation(status=(200, 302), cookie="session")

    result = await probe.run(
        logon(simulated_site, simulated_site_url, login=answered, home=has_session)
    )

    assert result.kind is ResultKind.CONTENT
    assert result.detail.startswith(f"step 3 GET {simulated_site_url}/home: no cookie")


# --- failures the site causes -----------------------------------------------------------


async def test_a_wrong_password_is_login_rejected(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    result = await probe.run(logon(simulated_site, simulated_site_url, password="guess"))

    assert result.kind is ResultKind.LOGIN_REJECTED
    assert result.detail == (
        f"step 2 POST {simulated_site_url}/login: expected status 302, got 200; "
        'body contains "Invalid password"; no cookie "session" in the jar'
    )
    assert [step.ok for step in result.steps] == [True, False]


async def test_a_site_rejecting_every_logon_is_login_rejected(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    simulated_site.mode = SiteMode.REJECT

    result = await probe.run(logon(simulated_site, simulated_site_url))

    assert result.kind is ResultKind.LOGIN_REJECTED


async def test_a_json_body_makes_a_credentials_step(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    credentials = {"user": simulated_site.user, "password": simulated_site.password}

    result = await probe.run(check(post(f"{simulated_site_url}/login", json=credentials)))

    assert result.kind is ResultKind.LOGIN_REJECTED  # the site wants a form: 403
    assert statuses(result) == [403]


@pytest.mark.parametrize("status", [503, 500])
async def test_a_server_error_is_http_status_on_any_step(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str, status: int
) -> None:
    simulated_site.mode, simulated_site.error_status = SiteMode.ERROR, status
    credentials = {"user": simulated_site.user, "password": simulated_site.password}

    plain = await probe.run(logon(simulated_site, simulated_site_url))
    login = await probe.run(check(post(f"{simulated_site_url}/login", form=credentials)))

    assert plain.kind is ResultKind.HTTP_STATUS
    assert plain.detail.startswith(f"step 1 GET {simulated_site_url}/login: ")
    assert f"expected status 200, got {status}" in plain.detail
    assert login.kind is ResultKind.HTTP_STATUS
    assert statuses(login) == [status]


async def test_a_home_page_without_the_welcome_text_is_content(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    simulated_site.mode = SiteMode.MISSING_TEXT

    result = await probe.run(logon(simulated_site, simulated_site_url))

    assert result.kind is ResultKind.CONTENT
    assert result.detail == f'step 3 GET {simulated_site_url}/home: body lacks "Welcome"'
    assert "Something went wrong" in result.steps[2].detail  # the body excerpt


async def test_a_step_slower_than_its_max_time_is_slow_and_the_logon_goes_on(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    simulated_site.mode, simulated_site.slow_delay = SiteMode.SLOW, timedelta(milliseconds=60)
    quick_home = Expectation(body_contains="Welcome", max_time=timedelta(milliseconds=10))

    result = await probe.run(logon(simulated_site, simulated_site_url, home=quick_home))

    assert result.kind is ResultKind.SLOW
    assert result.detail.startswith(f"step 3 GET {simulated_site_url}/home: answered in ")
    assert result.detail.endswith("max_time 10ms")
    assert [step.ok for step in result.steps] == [True, True, False]


async def test_a_failure_after_a_slow_step_wins_over_slow(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    simulated_site.mode, simulated_site.slow_delay = SiteMode.SLOW, timedelta(milliseconds=30)
    spec = logon(simulated_site, simulated_site_url, password="guess")
    quick_form = get(
        spec.steps[0].url, Expectation(max_time=timedelta(milliseconds=5)), extract=CSRF
    )

    result = await probe.run(check(quick_form, spec.steps[1]))

    assert result.kind is ResultKind.LOGIN_REJECTED
    assert [step.ok for step in result.steps] == [False, False]


async def test_a_site_slower_than_the_probe_timeout_is_timeout(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    simulated_site.mode, simulated_site.slow_delay = SiteMode.SLOW, timedelta(seconds=30)

    result = await probe.run(logon(simulated_site, simulated_site_url, timeout=0.2))

    assert result.kind is ResultKind.TIMEOUT
    assert result.detail == (
        f"step 1 GET {simulated_site_url}/login: "
        "no complete answer within the check's timeout of 200ms"
    )
    assert result.duration < timedelta(seconds=5)
    assert statuses(result) == [None]


async def test_a_huge_body_is_read_only_up_to_the_cap(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    simulated_site.mode = SiteMode.HUGE

    result = await probe.run(logon(simulated_site, simulated_site_url))

    assert result.kind is ResultKind.OK, result.detail  # "Welcome" comes first
    assert result.steps[2].detail == f"read only the first {BODY_LIMIT} bytes of the body"
    assert simulated_site.streamed_bytes < simulated_site.huge_size // 2


# --- failures on the way to the site -----------------------------------------------------


async def test_a_refused_port_is_connect(probe: HttpLogonProbe) -> None:
    url = f"http://127.0.0.1:{unused_port()}/login"

    result = await probe.run(check(get(url)))

    assert result.kind is ResultKind.CONNECT
    assert result.detail.startswith(f"step 1 GET {url}: connection failed: ")
    assert statuses(result) == [None]


async def test_an_unresolvable_host_is_dns(probe: HttpLogonProbe) -> None:
    result = await probe.run(check(get("http://nowhere.invalid/login")))

    assert result.kind is ResultKind.DNS
    assert "host name did not resolve" in result.detail


async def test_a_failed_tls_handshake_is_tls(
    probe: HttpLogonProbe, simulated_site_url: str
) -> None:
    plain_http_site = simulated_site_url.replace("http://", "https://")

    result = await probe.run(check(get(f"{plain_http_site}/login")))

    assert result.kind is ResultKind.TLS
    assert "TLS failed" in result.detail


# --- secrets ------------------------------------------------------------------------------


def encodings(secret: str) -> list[str]:
    return [secret, quote(secret), quote(secret, safe=""), quote_plus(secret)]


async def test_no_secret_appears_in_the_result_when_the_site_echoes_it(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    simulated_site.mode = SiteMode.REJECT  # re-renders the form with the user name in it

    result = await probe.run(logon(simulated_site, simulated_site_url))

    assert result.kind is ResultKind.LOGIN_REJECTED
    assert "***" in result.steps[1].detail  # the redacted user name in the body excerpt
    for secret in (simulated_site.user, simulated_site.password):
        assert all(form not in repr(result) for form in encodings(secret))


async def test_no_secret_appears_in_the_result_when_it_is_in_a_url_query(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    token = simulated_site.password
    # The site redirects to /login?next=..., echoing the query (and the secret) encoded.
    spec = check(
        get(f"{simulated_site_url}/home?token={quote(token)}", WELCOME),
        secrets=frozenset({token}),
    )

    result = await probe.run(spec)

    assert result.kind is ResultKind.HTTP_STATUS
    assert result.detail.count("***") == 2, result.detail  # the URL and the Location
    assert result.steps[0].url == f"{simulated_site_url}/home?token=***"
    assert all(form not in repr(result) for form in encodings(token))


# --- wiring --------------------------------------------------------------------------------


async def test_the_services_probe_keeps_no_step_reports_and_judges_alike(
    probe: HttpLogonProbe, simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    # The service stores results, not steps: its probe builds no report of a step that
    # went well, and tells of a failure in the same words as `sitewatch probe`.
    async with HttpLogonProbe(None, SystemClock(), reports=False) as service_probe:
        working = logon(simulated_site, simulated_site_url)
        ok = await service_probe.run(working)
        assert (ok.kind, ok.detail, ok.steps) == (ResultKind.OK, "", ())
        rejected = logon(simulated_site, simulated_site_url, password="wrong")
        quiet, reported = await service_probe.run(rejected), await probe.run(rejected)
    assert quiet.kind is reported.kind is ResultKind.LOGIN_REJECTED
    assert quiet.detail == reported.detail and quiet.steps == ()


def test_only_a_check_a_cookie_can_matter_to_gets_a_cookie_jar() -> None:
    url = "http://127.0.0.1:1/x"
    assert not _needs_cookies(check(get(url)))  # the single GET: a jar that keeps nothing
    assert _needs_cookies(check(get(url), get(url)))  # a later step sends what was set
    assert _needs_cookies(check(get(url, Expectation(cookie="session"))))
    assert _needs_cookies(check(get(url, follow_redirects=True)))  # hops send cookies


def test_a_step_without_placeholders_is_prepared_once_and_one_with_them_every_time() -> None:
    requests = Requests()
    fixed = get("http://127.0.0.1:1/login")
    first = requests.prepare(fixed, {})
    assert isinstance(first, Request)
    assert requests.prepare(fixed, {"csrf": "x"}) is first  # built once, reused

    filled = Step(Method.POST, "http://127.0.0.1:1/login", form={"csrf": "{csrf}"})
    one, two = requests.prepare(filled, {"csrf": "a"}), requests.prepare(filled, {"csrf": "b"})
    assert isinstance(one, Request) and isinstance(two, Request)
    assert (one.form, two.form) == ({"csrf": "a"}, {"csrf": "b"})

    broken = get("http://127.0.0.1:1/\x00")
    assert isinstance(requests.prepare(broken, {}), Unsendable)
    assert isinstance(requests.prepare(broken, {}), Unsendable)


async def test_probes_sharing_a_connector_leave_it_open(
    simulated_site: SimulatedSite, simulated_site_url: str
) -> None:
    async with aiohttp.TCPConnector(limit=0) as connector:
        for _ in range(2):
            async with HttpLogonProbe(connector, SystemClock()) as probe:
                result = await probe.run(logon(simulated_site, simulated_site_url))
                assert result.kind is ResultKind.OK, result.detail
        assert not connector.closed


def test_the_http_probe_is_registered_under_its_type_name() -> None:
    assert PROBES["http"] is HttpLogonProbe
