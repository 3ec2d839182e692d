"""The scripted logon probe: a check's HTTP steps in order, sharing one cookie jar.

Each step's response is judged by a pure function (`_judge`) that returns the failure
kind with its reasons; the I/O around it only sends requests and reads capped bodies.
Expected failures come back as a `ProbeResult`; an exception out of `run` is a bug.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from sitewatch import __version__
from sitewatch.clock import Clock
from sitewatch.model import CheckSpec, Expectation, ProbeResult, ResultKind, Step, StepReport
from sitewatch.model.durations import format_duration
from sitewatch.model.redaction import redact, redact_head

BODY_LIMIT = 1024 * 1024
"""A probe reads at most this many bytes of any body (contract: 1 MiB)."""

USER_AGENT = f"sitewatch/{__version__} (logon probe)"
_EXCERPT_CHARS = 160
_EXCERPT_SOURCE_CHARS = 16_384
_MARKUP = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*(?:>|$)", re.I | re.S)
"""Scripts, styles, comments and tags: what an excerpt of a page leaves out."""
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _excerpt(body: str, secrets: frozenset[str]) -> str:
    """Return the start of a body as one line of readable text, secrets hidden."""
    head = redact_head(body, _EXCERPT_SOURCE_CHARS, secrets)
    visible = " ".join(html.unescape(_MARKUP.sub(" ", head)).split())
    # Again: taking tags and line breaks out may have joined a secret together.
    return redact(visible, secrets)[:_EXCERPT_CHARS]


class HttpLogonProbe:
    """Log on to a site the way a user would, following a check's steps."""

    def __init__(
        self,
        connector: aiohttp.BaseConnector | None,
        clock: Clock,
        body_limit: int = BODY_LIMIT,
    ) -> None:
        """Use a shared `connector` (not closed here), or own one when it is None."""
        self._clock = clock
        self._connector = connector
        self._owns_connector = connector is None
        self._body_limit = body_limit

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
        attempt = _Attempt(check, self._clock)
        async with self._session() as session:
            try:
                async with asyncio.timeout(check.timeout.total_seconds()):
                    await self._run_steps(session, attempt)
            except TimeoutError:
                attempt.time_out()
        return attempt.result(started_at, self._clock.monotonic() - start)

    def _session(self) -> aiohttp.ClientSession:
        if self._connector is None:
            # No connection limit: the scheduler caps probes in flight, and waiting
            # for a free connection here would eat into the probe's own timeout.
            self._connector = aiohttp.TCPConnector(limit=0)
        return aiohttp.ClientSession(
            connector=self._connector,
            connector_owner=False,
            # unsafe=True keeps cookies from sites addressed by IP, such as 127.0.0.1.
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            # No aiohttp timeouts: the probe's `asyncio.timeout` bounds everything.
            timeout=aiohttp.ClientTimeout(),
            headers={"User-Agent": USER_AGENT},
        )

    async def _run_steps(self, session: aiohttp.ClientSession, attempt: _Attempt) -> None:
        for index, step in enumerate(attempt.check.steps, start=1):
            url = _fill(step.url, attempt.values)
            attempt.begin(index, step, url)
            try:
                answer = await self._send(session, step, url, attempt)
            except aiohttp.ClientError as exc:
                attempt.fail(*_classify_error(exc))
                return
            verdict = _judge(step, answer, attempt.elapsed())
            attempt.finish(answer, verdict)
            if verdict.kind not in (ResultKind.OK, ResultKind.SLOW):
                return
            attempt.values.update(verdict.extracted)

    async def _send(
        self, session: aiohttp.ClientSession, step: Step, url: str, attempt: _Attempt
    ) -> _Answer:
        async with session.request(
            step.method,
            url,
            data=None if step.form is None else _fill_mapping(step.form, attempt.values),
            json=_fill_json(step.json, attempt.values),
            headers=_fill_mapping(step.headers, attempt.values),
            allow_redirects=step.follow_redirects,
        ) as response:
            attempt.status = response.status
            body, truncated = await _read_capped(response.content, self._body_limit)
            if truncated:
                response.close()  # drop the connection rather than drain the rest
            return _Answer(
                status=response.status,
                text=_decode(body, response.charset),
                bytes_read=len(body),
                truncated=truncated,
                cookies=frozenset(morsel.key for morsel in session.cookie_jar),
                location=response.headers.get("Location"),
            )


@dataclass(frozen=True, slots=True)
class _Answer:
    """What a step's response is judged on."""

    status: int
    text: str
    bytes_read: int
    truncated: bool
    cookies: frozenset[str]
    """Names of the cookies in the probe's jar after this response."""
    location: str | None


@dataclass(frozen=True, slots=True)
class _Verdict:
    """How one response measured up: a result kind, its reasons, extracted values."""

    kind: ResultKind
    problems: tuple[str, ...]
    extracted: dict[str, str]


def _judge(step: Step, answer: _Answer, elapsed: timedelta) -> _Verdict:
    """Decide whether one response meets its step's expectations, and why not."""
    expect = step.expect
    status_ok = answer.status in expect.status
    problems = [] if status_ok else [_status_problem(expect, answer)]
    problems += _body_problems(expect, answer.text)
    if expect.cookie is not None and expect.cookie not in answer.cookies:
        problems.append(f'no cookie "{expect.cookie}" in the jar')
    extracted: dict[str, str] = {}
    for name, pattern in step.extract.items():
        match = pattern.search(answer.text)
        value = None if match is None else match.group(1)
        if value is None:
            problems.append(f"nothing to extract as {name} (pattern {pattern.pattern})")
        else:
            extracted[name] = value
    kind = _failure_kind(step, answer.status, status_ok=status_ok, failed=bool(problems))
    max_time = expect.max_time
    if kind is ResultKind.OK and max_time is not None and elapsed > max_time:
        limit, took = format_duration(max_time), format_duration(elapsed)
        return _Verdict(ResultKind.SLOW, (f"answered in {took}, max_time {limit}",), extracted)
    return _Verdict(kind, tuple(problems), extracted)


def _failure_kind(step: Step, status: int, *, status_ok: bool, failed: bool) -> ResultKind:
    if not failed:
        return ResultKind.OK
    if not status_ok and status >= 500:
        return ResultKind.HTTP_STATUS
    if step.sends_credentials:
        return ResultKind.LOGIN_REJECTED
    return ResultKind.CONTENT if status_ok else ResultKind.HTTP_STATUS


def _status_problem(expect: Expectation, answer: _Answer) -> str:
    wanted = " or ".join(str(code) for code in expect.status)
    problem = f"expected status {wanted}, got {answer.status}"
    return problem if answer.location is None else f"{problem} to {answer.location}"


def _body_problems(expect: Expectation, text: str) -> list[str]:
    problems = []
    if expect.body_contains is not None and expect.body_contains not in text:
        problems.append(f'body lacks "{expect.body_contains}"')
    if expect.body_lacks is not None and expect.body_lacks in text:
        problems.append(f'body contains "{expect.body_lacks}"')
    return problems


def _classify_error(exc: aiohttp.ClientError) -> tuple[ResultKind, str]:
    """Name the failure kind of a request that got no judgeable answer."""
    match exc:
        case aiohttp.ClientSSLError() | aiohttp.ServerFingerprintMismatch():
            return ResultKind.TLS, f"TLS failed: {exc}"
        case aiohttp.ClientConnectorDNSError():
            return ResultKind.DNS, f"host name did not resolve: {exc}"
        case aiohttp.ClientConnectionError() | aiohttp.ClientPayloadError():
            return ResultKind.CONNECT, f"connection failed: {exc}"
        case aiohttp.TooManyRedirects():
            return ResultKind.HTTP_STATUS, f"gave up after {len(exc.history)} redirects"
        case aiohttp.ClientResponseError() | aiohttp.RedirectClientError():
            return ResultKind.HTTP_STATUS, f"unusable answer: {exc}"
        case aiohttp.InvalidURL():
            return ResultKind.CONTENT, f"not a valid URL: {exc}"
    raise exc  # a client error nobody foresaw is a bug, not a site failure


async def _read_capped(stream: aiohttp.StreamReader, limit: int) -> tuple[bytes, bool]:
    """Read at most `limit` bytes; tell whether the body went on beyond them."""
    body = bytearray()
    while len(body) < limit:
        chunk = await stream.read(limit - len(body))
        if not chunk:
            return bytes(body), False
        body += chunk
    return bytes(body), not stream.at_eof()


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _fill(template: str, values: Mapping[str, str]) -> str:
    """Insert extracted values for `{name}`; unknown names stay as written."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def _fill_mapping(mapping: Mapping[str, str], values: Mapping[str, str]) -> dict[str, str]:
    return {key: _fill(value, values) for key, value in mapping.items()}


def _fill_json(document: Any, values: Mapping[str, str]) -> Any:
    if isinstance(document, str):
        return _fill(document, values)
    if isinstance(document, Mapping):
        return {key: _fill_json(item, values) for key, item in document.items()}
    if isinstance(document, list | tuple):
        return [_fill_json(item, values) for item in document]
    return document


class _Attempt:
    """One probe run as it goes: step reports, extracted values, the step in flight."""

    def __init__(self, check: CheckSpec, clock: Clock) -> None:
        self.check = check
        self.values: dict[str, str] = {}
        self.status: int | None = None
        """The status of the step in flight, once its headers have come."""
        self._clock = clock
        self._reports: list[StepReport] = []
        self._kind = ResultKind.OK
        self._detail = ""
        self._index, self._url, self._started = 0, "", 0.0
        self._step: Step | None = None

    def begin(self, index: int, step: Step, url: str) -> None:
        self._index, self._step, self._url = index, step, url
        self._started, self.status = self._clock.monotonic(), None

    def elapsed(self) -> timedelta:
        return timedelta(seconds=self._clock.monotonic() - self._started)

    def finish(self, answer: _Answer, verdict: _Verdict) -> None:
        notes = list(verdict.problems)
        if answer.truncated:
            notes.append(f"read only the first {answer.bytes_read} bytes of the body")
        if verdict.kind is not ResultKind.OK and answer.text:
            notes.append(f'body starts "{_excerpt(answer.text, self.check.secrets)}"')
        self._record(verdict.kind, verdict.problems, notes)

    def fail(self, kind: ResultKind, problem: str) -> None:
        self._record(kind, (problem,), [problem])

    def time_out(self) -> None:
        limit = format_duration(self.check.timeout)
        problem = f"no complete answer within the check's timeout of {limit}"
        if self._step is None:
            self._kind, self._detail = ResultKind.TIMEOUT, self._redact(problem)
        else:
            self._record(ResultKind.TIMEOUT, (problem,), [problem])

    def result(self, started_at: datetime, seconds: float) -> ProbeResult:
        return ProbeResult(
            check_id=self.check.id,
            started_at=started_at,
            duration=timedelta(seconds=seconds),
            kind=self._kind,
            detail=self._detail,
            steps=tuple(self._reports),
        )

    def _record(self, kind: ResultKind, problems: tuple[str, ...], notes: list[str]) -> None:
        assert self._step is not None, "a step must begin before it is recorded"
        where = f"step {self._index} {self._step.method} {self._url}"
        report = StepReport(
            index=self._index,
            method=self._step.method,
            url=self._redact(self._url),
            status=self.status,
            elapsed=self.elapsed(),
            ok=kind is ResultKind.OK,
            detail=self._redact("; ".join(notes)),
        )
        self._reports.append(report)
        self._step = None
        # A failure ends the probe and wins; a slow step lets it go on, and the first
        # slow step is the headline unless something fails later.
        if kind is ResultKind.OK or (kind is ResultKind.SLOW and self._kind is ResultKind.SLOW):
            return
        self._kind = kind
        self._detail = self._redact(f"{where}: {'; '.join(problems)}")

    def _redact(self, text: str) -> str:
        return redact(text, self.check.secrets)
