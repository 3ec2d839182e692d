"""How one step measured up: pure functions from an answer to a kind and its reasons.

`judge` decides on a response the step got; `failure_of` names the kind of a
request that got none. Neither does I/O, so both are tested as tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import aiohttp

from sitewatch.model import Expectation, ResultKind, Step
from sitewatch.model.durations import format_duration
from sitewatch.probing.body import Body


@dataclass(frozen=True, slots=True)
class Answer:
    """What a step's (last) response is judged on."""

    status: int
    body: Body
    cookies: frozenset[str]
    """Names of the cookies in the probe's jar after this response (looked up only when
    the step expects a cookie: empty otherwise)."""
    location: str | None


@dataclass(frozen=True, slots=True)
class Verdict:
    """How one response measured up: a result kind, its reasons, extracted values."""

    kind: ResultKind
    problems: tuple[str, ...]
    extracted: dict[str, str]


@dataclass(frozen=True, slots=True)
class Failure:
    """A step that got no answer to judge: the kind of failure and why."""

    kind: ResultKind
    reason: str


def judge(step: Step, answer: Answer, elapsed: timedelta) -> Verdict:
    """Decide whether one response meets its step's expectations, and why not."""
    expect = step.expect
    status_ok = answer.status in expect.status
    problems = [] if status_ok else [_status_problem(expect, answer)]
    unreadable = _reads_body(step) and answer.body.unreadable is not None
    extracted: dict[str, str] = {}
    if unreadable:
        problems.append(f"cannot read the body: {answer.body.unreadable}")
    else:
        problems += _body_problems(expect, answer.body.text)
        problems += _extract(step, answer.body.text, extracted)
    if expect.cookie is not None and expect.cookie not in answer.cookies:
        problems.append(f'no cookie "{expect.cookie}" in the jar')
    kind = _failure_kind(step, answer.status, status_ok, bool(problems), unreadable=unreadable)
    max_time = expect.max_time
    if kind is ResultKind.OK and max_time is not None and elapsed > max_time:
        limit, took = format_duration(max_time), format_duration(elapsed)
        return Verdict(ResultKind.SLOW, (f"answered in {took}, max_time {limit}",), extracted)
    return Verdict(kind, tuple(problems), extracted)


def _reads_body(step: Step) -> bool:
    expect = step.expect
    return bool(step.extract) or expect.body_contains is not None or expect.body_lacks is not None


def _failure_kind(
    step: Step, status: int, status_ok: bool, failed: bool, *, unreadable: bool
) -> ResultKind:
    if not failed:
        return ResultKind.OK
    if not status_ok:
        if status >= 500 or not step.sends_credentials:
            return ResultKind.HTTP_STATUS
        return ResultKind.LOGIN_REJECTED
    # A body the probe cannot read is `content` even on a credentials step: nothing
    # says the logon was rejected (DESIGN, "Limits and hostile input").
    if unreadable or not step.sends_credentials:
        return ResultKind.CONTENT
    return ResultKind.LOGIN_REJECTED


def _status_problem(expect: Expectation, answer: Answer) -> str:
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


def _extract(step: Step, text: str, extracted: dict[str, str]) -> list[str]:
    """Extract the step's values from `text` into `extracted`; return what failed."""
    problems = []
    for name, pattern in step.extract.items():
        value = pattern.first(text)
        if value is None:
            problems.append(f"nothing to extract as {name} (pattern {pattern.pattern})")
        else:
            extracted[name] = value
    return problems


def failure_of(error: aiohttp.ClientError) -> Failure | None:
    """Name the failure kind of a request that got no answer; None if nobody foresaw it."""
    match error:
        case aiohttp.ClientSSLError() | aiohttp.ServerFingerprintMismatch():
            return Failure(ResultKind.TLS, f"TLS failed: {error}")
        case aiohttp.ClientConnectorDNSError():
            return Failure(ResultKind.DNS, f"host name did not resolve: {error}")
        case aiohttp.ClientConnectionError() | aiohttp.ClientPayloadError():
            return Failure(ResultKind.CONNECT, f"connection failed: {error}")
        case aiohttp.ClientResponseError():
            # The parser's message quotes the offending bytes (echoed secrets included,
            # in a spelling redaction does not know): say only what was wrong.
            what = error.message.split(":", 1)[0].splitlines()[0] if error.message else ""
            return Failure(ResultKind.CONTENT, f"the answer is not valid HTTP: {what[:80]}")
        case aiohttp.InvalidURL():
            return Failure(ResultKind.CONTENT, f"not a valid URL: {error}")
    return None
