"""Checks and probe results: what a check asks of a site, and what a probe found."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

ID_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
"""Ids of checks, customers and operators: lower-case letters, digits and dashes."""


class State(StrEnum):
    """Where a check stands, as the API and the `sitewatch_check_state` gauge show it."""

    UNKNOWN = "unknown"
    """Not yet probed often enough to say (after start-up, or a new check)."""
    UP = "up"
    """Users can log on (including a check that passes during a window)."""
    DOWN = "down"
    """A confirmed outage that is not covered by a planned event."""
    MAINTENANCE = "maintenance"
    """A confirmed outage whose onset lies inside a covering planned event."""


class ResultKind(StrEnum):
    """The outcome of one probe: `ok` or the kind of failure (contract words)."""

    OK = "ok"
    DNS = "dns"
    """The site's host name did not resolve."""
    CONNECT = "connect"
    """The TCP connection was refused, reset or unreachable."""
    TLS = "tls"
    """The TLS handshake or certificate verification failed."""
    TIMEOUT = "timeout"
    """The whole probe took longer than the check's `timeout`."""
    HTTP_STATUS = "http_status"
    """An unexpected status code (any unexpected 5xx, on any step)."""
    LOGIN_REJECTED = "login_rejected"
    """A credentials step (form or json body) failed an expectation."""
    CONTENT = "content"
    """A body, cookie or extract expectation failed on a non-credentials step."""
    SLOW = "slow"
    """A step answered correctly but slower than its `max_time`."""

    @property
    def is_network(self) -> bool:
        """Tell whether this kind points at the network path rather than the site."""
        return self in NETWORK_KINDS


NETWORK_KINDS = frozenset({ResultKind.DNS, ResultKind.CONNECT, ResultKind.TIMEOUT})


class Method(StrEnum):
    """HTTP methods a probe step may use."""

    GET = "GET"
    POST = "POST"


@dataclass(frozen=True, slots=True)
class Expectation:
    """What one step's response must satisfy."""

    status: tuple[int, ...] = (200,)
    body_contains: str | None = None
    body_lacks: str | None = None
    cookie: str | None = None
    max_time: timedelta | None = None


class ExtractPattern(Protocol):
    """A compiled `extract` pattern; check files compile theirs with RE2 (linear time)."""

    @property
    def pattern(self) -> str:
        """The pattern as the check file wrote it."""
        ...

    def first(self, text: str, /) -> str | None:
        """Return the first group of the first match in `text`; None if none took part."""
        ...


@dataclass(frozen=True, slots=True)
class Step:
    """One HTTP request of a scripted logon.

    `url`, `form`, `json` and `headers` may hold `{name}` placeholders that are
    filled from values extracted by earlier steps.
    """

    method: Method
    url: str
    # Bodies and headers carry credentials: keep them out of repr() and so out of logs.
    form: Mapping[str, str] | None = field(default=None, repr=False)
    json: Any = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    extract: Mapping[str, ExtractPattern] = field(default_factory=dict)
    expect: Expectation = field(default_factory=Expectation)
    follow_redirects: bool = False

    @property
    def sends_credentials(self) -> bool:
        """Tell whether this step posts a body: its failures count as `login_rejected`."""
        return self.form is not None or self.json is not None


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """One declarative probe of one customer site, fully resolved against defaults."""

    id: str
    customer: str
    name: str
    interval: timedelta
    timeout: timedelta
    confirm: int
    recover: int
    retry_interval: timedelta
    steps: tuple[Step, ...]
    secrets: frozenset[str] = field(default=frozenset(), repr=False)
    """Values substituted from the environment: redacted from every output."""

    @property
    def host(self) -> str:
        """Return the host its first step talks to (prober faults look at their spread)."""
        if not self.steps:
            return ""
        return (urlsplit(self.steps[0].url).hostname or "").lower()


@dataclass(frozen=True, slots=True)
class StepReport:
    """What one step of a probe did, already redacted."""

    index: int
    method: Method
    url: str
    status: int | None
    elapsed: timedelta
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The outcome of one probe of one check, already redacted."""

    check_id: str
    started_at: datetime
    duration: timedelta
    kind: ResultKind
    detail: str = ""
    """Which step failed, what was expected and what came; empty when ok."""
    steps: tuple[StepReport, ...] = ()

    @property
    def ok(self) -> bool:
        """Tell whether users could log on."""
        return self.kind is ResultKind.OK

    def without_steps(self) -> ProbeResult:
        """Return this result without its step reports (what is kept of every probe)."""
        if not self.steps:
            return self
        # Built directly: `dataclasses.replace` costs several times more, on every probe.
        return ProbeResult(self.check_id, self.started_at, self.duration, self.kind, self.detail)
