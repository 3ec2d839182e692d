"""The scripted logon probe: a check's HTTP steps in order, sharing one cookie jar.

The I/O lives here: sending each step's request (`request`), following redirects as
`redirects` decides, reading capped bodies (`body`); `verdict` judges each answer
and `attempt` records it. Expected failures come back as a `ProbeResult`. Whatever
a site sends, `run` returns one: an exception that escapes the steps is a bug, and
it is logged with its traceback and turned into a failed result, never raised.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Iterable
from datetime import datetime, timedelta

import aiohttp

from sitewatch import __version__
from sitewatch.clock import Clock
from sitewatch.model import CheckSpec, ProbeResult, ResultKind, Step
from sitewatch.probing.attempt import Attempt
from sitewatch.probing.body import BODY_LIMIT, read_body
from sitewatch.probing.redirects import MAX_REDIRECTS, ForbiddenAddresses, Refusal, follow
from sitewatch.probing.request import Request, Requests, Unsendable, target
from sitewatch.probing.verdict import Answer, Failure, failure_of, judge

__all__ = ["BODY_LIMIT", "USER_AGENT", "HttpLogonProbe"]

USER_AGENT = f"sitewatch/{__version__} (logon probe)"

_log = logging.getLogger(__name__)


class HttpLogonProbe:
    """Log on to a site the way a user would, following a check's steps."""

    def __init__(
        self,
        connector: aiohttp.BaseConnector | None,
        clock: Clock,
        body_limit: int = BODY_LIMIT,
        *,
        forbidden: Iterable[tuple[str, int]] = (),
        reports: bool = True,
    ) -> None:
        """Use a shared `connector` (not closed here), or own one when it is None.

        `forbidden` are the host:port pairs no redirect may lead to: sitewatch's
        own listen address. With `reports`, a result holds a report of every step
        (`sitewatch probe` prints them); the service, which keeps only results, asks
        for none.
        """
        self._reports = reports
        self._clock = clock
        self._connector = connector
        self._owns_connector = connector is None
        self._body_limit = body_limit
        self._forbidden = ForbiddenAddresses(forbidden)
        self._requests = Requests()
        self._jars: dict[int, tuple[CheckSpec, bool]] = {}
        """`id(check)`: the check, and whether its probe needs a cookie jar."""

    async def __aenter__(self) -> HttpLogonProbe:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connector if this probe owns it."""
        if self._owns_connector and self._connector is not None:
            await self._connector.close()
            self._connector = None

    async def run(self, check: CheckSpec) -> ProbeResult:
        """Run the check's steps in order, within its timeout, and say how it went."""
        started_at, start = self._clock.now(), self._clock.monotonic()
        attempt = Attempt(check, self._clock, reports=self._reports)
        try:
            await self._run_in_time(attempt)
        except Exception as error:
            # The last line of defence: a probe always yields a result, even on a bug.
            if not _record_bug(attempt, error):
                return _broken(check, started_at, self._clock.monotonic() - start)
        return attempt.result(started_at, self._clock.monotonic() - start)

    async def _run_in_time(self, attempt: Attempt) -> None:
        async with self._session(attempt.check) as session:
            try:
                async with asyncio.timeout(attempt.check.timeout.total_seconds()):
                    await self._run_steps(session, attempt)
            except TimeoutError:
                attempt.time_out()

    def _session(self, check: CheckSpec) -> aiohttp.ClientSession:
        if self._connector is None:
            # No connection limit: the scheduler caps probes in flight, and waiting
            # for a free connection here would eat into the probe's own timeout.
            self._connector = aiohttp.TCPConnector(limit=0)
        # unsafe=True keeps cookies from sites addressed by IP, such as 127.0.0.1; a
        # check no cookie can matter to gets a jar that keeps nothing (cheaper).
        jar: aiohttp.abc.AbstractCookieJar = (
            aiohttp.CookieJar(unsafe=True) if self._jar_needed(check) else aiohttp.DummyCookieJar()
        )
        return aiohttp.ClientSession(
            connector=self._connector,
            connector_owner=False,
            cookie_jar=jar,
            # No aiohttp timeouts: the probe's `asyncio.timeout` bounds everything.
            timeout=aiohttp.ClientTimeout(),
            headers={"User-Agent": USER_AGENT},
        )

    def _jar_needed(self, check: CheckSpec) -> bool:
        """Return `_needs_cookies(check)`, worked out once per check (every probe asks)."""
        known = self._jars.get(id(check))
        if known is None or known[0] is not check:
            known = self._jars[id(check)] = (check, _needs_cookies(check))
        return known[1]

    async def _run_steps(self, session: aiohttp.ClientSession, attempt: Attempt) -> None:
        for index, step in enumerate(attempt.check.steps, start=1):
            attempt.begin(index, step, target(step, attempt.values))
            request = self._requests.prepare(step, attempt.values)
            if isinstance(request, Unsendable):
                attempt.fail(ResultKind.CONTENT, request.reason)
                return
            answer = await self._exchange(session, step, request, attempt)
            if isinstance(answer, Failure):
                attempt.fail(answer.kind, answer.reason)
                return
            verdict = judge(step, answer, attempt.elapsed())
            attempt.finish(answer, verdict)
            if verdict.kind not in (ResultKind.OK, ResultKind.SLOW):
                return
            attempt.values.update(verdict.extracted)

    async def _exchange(
        self, session: aiohttp.ClientSession, step: Step, request: Request, attempt: Attempt
    ) -> Answer | Failure:
        """Send a step's request, follow its redirects if it says so, read the answer."""
        origin = request.url
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = await self._send(session, request)
                if isinstance(response, Failure):
                    return response
                async with response:
                    attempt.status = response.status
                    location = response.headers.get("Location")
                    hop = None
                    if step.follow_redirects:
                        hop = follow(request, origin, response.status, location, self._forbidden)
                    if hop is None:
                        return await self._answer(session, response, step)
            except aiohttp.ClientError as error:
                failure = failure_of(error)
                if failure is None:
                    raise  # a client error nobody foresaw is a bug, not a site failure
                return failure
            if isinstance(hop, Refusal):
                return Failure(ResultKind.CONTENT, hop.reason)
            request = hop
        return Failure(ResultKind.HTTP_STATUS, f"gave up after {MAX_REDIRECTS} redirects")

    async def _send(
        self, session: aiohttp.ClientSession, request: Request
    ) -> aiohttp.ClientResponse | Failure:
        try:
            return await session.request(
                request.method,
                request.url,
                data=request.form,
                json=request.json,
                headers=request.headers,
                allow_redirects=False,
            )
        except aiohttp.ClientError:
            raise  # InvalidURL is a ValueError too, but `failure_of` knows it
        except (ValueError, TypeError) as error:
            # `prepare` refuses what it knows cannot be sent; this is what it did not
            # foresee (a header aiohttp will not write, a body it cannot serialise).
            return Failure(ResultKind.CONTENT, f"the request cannot be sent: {error}")

    async def _answer(
        self, session: aiohttp.ClientSession, response: aiohttp.ClientResponse, step: Step
    ) -> Answer:
        body = await read_body(response.content, response.charset, self._body_limit)
        if body.truncated:
            response.close()  # drop the connection rather than drain the rest
        # The jar is looked into only by a step that expects a cookie.
        cookies: frozenset[str] = frozenset()
        if step.expect.cookie is not None:
            cookies = frozenset(morsel.key for morsel in session.cookie_jar)
        return Answer(
            status=response.status,
            body=body,
            cookies=cookies,
            location=response.headers.get("Location"),
        )


def _needs_cookies(check: CheckSpec) -> bool:
    """Tell whether a cookie can matter: a later step sends it, or a step expects one.

    A redirect followed within a step sends the cookies set on the way, so such a
    step needs the jar too.
    """
    steps = check.steps
    return (
        len(steps) > 1
        or any(step.follow_redirects for step in steps)
        or any(step.expect.cookie is not None for step in steps)
    )


def _record_bug(attempt: Attempt, error: Exception) -> bool:
    """Log a bug once with its traceback and record it; False if even that broke.

    The traceback is redacted as the result is. If redacting breaks too, the log
    says where, without any message (one may hold a secret).
    """
    try:
        story = attempt.redact("".join(traceback.format_exception(error)))
        attempt.fail_internally(error)
    except Exception as broken:
        where = "".join(traceback.format_tb(broken.__traceback__))
        what = f"{type(error).__name__}, then {type(broken).__name__} recording it"
        _log.error("internal error probing %s (a bug): %s\n%s", attempt.check.id, what, where)
        return False
    _log.error("internal error probing %s (a bug):\n%s", attempt.check.id, story)
    return True


def _broken(check: CheckSpec, started_at: datetime, seconds: float) -> ProbeResult:
    """Return the result of a probe that broke so badly that nothing it saw is shown."""
    return ProbeResult(
        check_id=check.id,
        started_at=started_at,
        duration=timedelta(seconds=seconds),
        kind=ResultKind.CONTENT,
        detail="internal error in the probe, logged as a bug",
    )
