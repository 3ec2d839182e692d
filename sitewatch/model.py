"""The domain vocabulary: ids, closed sets as enums, frozen records. No I/O here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

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


class Classification(StrEnum):
    """How an outage counts: paged, planned, or a planned event that ran over."""

    EMERGENCY = "emergency"
    """Onset outside every covering window: a ticket and pages."""
    OVERRUN = "overrun"
    """Onset inside a window, still failing at its end plus grace: a ticket and pages."""
    PLANNED = "planned"
    """Onset inside a covering window declared before it started: no ticket, no page."""


class Cause(StrEnum):
    """The root cause an operator records when resolving a ticket."""

    HARDWARE = "hardware"
    INTERNAL_SYSTEMS_MANAGEMENT = "internal-systems-management"
    SOFTWARE = "software"
    NETWORK = "network"
    THIRD_PARTY = "third-party"
    UNKNOWN = "unknown"


class MaintenanceKind(StrEnum):
    """What a customer says a planned event is for."""

    SERVER_INSTALL = "server-install"
    HARDWARE_REPLACEMENT = "hardware-replacement"
    SOFTWARE_UPGRADE = "software-upgrade"
    OS_UPGRADE = "os-upgrade"
    OTHER = "other"


class WindowState(StrEnum):
    """Where a maintenance window stands relative to now."""

    SCHEDULED = "scheduled"
    ACTIVE = "active"
    ENDED = "ended"
    CANCELLED = "cancelled"


class TicketState(StrEnum):
    """The life of an emergency ticket."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


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
    extract: Mapping[str, re.Pattern[str]] = field(default_factory=dict)
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


@dataclass(frozen=True, slots=True)
class Window:
    """A maintenance window a customer (or an operator) declared."""

    id: str
    customer: str
    checks: tuple[str, ...]
    """The checks it covers; empty means every check of the customer."""
    kind: MaintenanceKind
    start: datetime
    end: datetime
    declared_at: datetime
    declared_by: str
    note: str = ""
    cancelled_at: datetime | None = None

    def covers(self, check_id: str, customer: str) -> bool:
        """Tell whether this window is about the given check."""
        return customer == self.customer and (not self.checks or check_id in self.checks)

    def contains(self, at: datetime) -> bool:
        """Tell whether a planned event is in force at this time (start inclusive)."""
        return self.cancelled_at is None and self.start <= at < self.end

    @property
    def is_planned_event(self) -> bool:
        """Tell whether it was declared before it started (only then it plans anything)."""
        return self.declared_at <= self.start

    def state(self, now: datetime) -> WindowState:
        """Place the window relative to now."""
        if self.cancelled_at is not None:
            return WindowState.CANCELLED
        if now < self.start:
            return WindowState.SCHEDULED
        if now < self.end:
            return WindowState.ACTIVE
        return WindowState.ENDED


@dataclass(frozen=True, slots=True)
class WindowChange:
    """One line of a window's audit trail: who declared, changed or cancelled it."""

    window_id: str
    at: datetime
    by: str
    action: str
    """`declared`, `changed` or `cancelled`."""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One line of a ticket's timeline."""

    at: datetime
    kind: str
    """`opened`, `acknowledged`, `recovered`, `resolved`, `paged`, `note`..."""
    by: str = "sitewatch"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Ticket:
    """The record of an emergency: one per emergency (or overrun) outage."""

    id: str
    check: str
    customer: str
    state: TicketState
    classification: Classification
    symptom: ResultKind
    detail: str
    onset_at: datetime
    opened_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    recovered_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    cause: Cause | None = None
    resolution_note: str = ""
    events: tuple[TicketEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class OutageRecord:
    """A stored outage, for statistics: planned ones included."""

    check: str
    customer: str
    onset_at: datetime
    classification: Classification
    symptom: ResultKind
    window_id: str | None
    overrun_at: datetime | None
    recovered_at: datetime | None
    ticket_id: str | None
