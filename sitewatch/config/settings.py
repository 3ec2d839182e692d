"""The validated service settings: the frozen `Settings` and the sections it holds.

`config.load_settings` builds a `Settings` from sitewatch.yaml and its check files;
everything else reads it. The section models are also the schema of their keys, so
each field's type says what a value may be; `paging_problems` checks what the paging
schema cannot. Checks that need the whole file (known operators, unique tokens) are
`config`'s.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from sitewatch.config.notify import validate_notify_url
from sitewatch.config.recurring import RecurringMaintenance
from sitewatch.config.schedules import ZoneName
from sitewatch.config.schema import (
    Count,
    Duration,
    Identifier,
    NonEmptyText,
    PositiveDuration,
    StrictModel,
    Text,
)
from sitewatch.config.yamlsource import ConfigProblem, YamlSource
from sitewatch.model import CheckSpec, Schedule
from sitewatch.model.durations import format_duration
from sitewatch.storage.urls import DatabaseUrl

__all__ = [
    "Cluster",
    "Customer",
    "Defaults",
    "Escalation",
    "EscalationLevel",
    "Heartbeat",
    "Limits",
    "Operator",
    "Paging",
    "Probe",
    "ProberFault",
    "Settings",
    "paging_problems",
    "validate_notify_url",
]


def _notify_url(value: str) -> str:
    problem = validate_notify_url(value)
    if problem:
        raise ValueError(problem)
    return value


def _ip_address(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"expected an IP address of this host, got {value!r}") from None
    return value


def _heartbeat_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError("expected an absolute http:// or https:// URL to GET")
    return value


def _signing_key(value: str) -> str:
    if len(value) < 32:
        raise ValueError(
            "must be at least 32 characters (generate one with `openssl rand -hex 32`)"
        )
    return value


MAX_TOKEN = 1024


def _token(value: str) -> str:
    # Never quote the value: it is a credential even when it is malformed.
    if len(value) > MAX_TOKEN or not (value.isascii() and value.isprintable()):
        raise ValueError(
            f"a token must be printable ASCII, at most {MAX_TOKEN} characters: "
            "it is sent in an HTTP header (Authorization: Bearer TOKEN)"
        )
    if value != value.strip():
        raise ValueError("a token must not start or end with a space: it would never match")
    return value


Token = Annotated[NonEmptyText, Field(repr=False), AfterValidator(_token)]
NotifyUrl = Annotated[str, Field(strict=True), AfterValidator(_notify_url)]


class Defaults(StrictModel):
    """Per-check timing and thresholds, unless a check file says otherwise."""

    interval: PositiveDuration = timedelta(seconds=30)
    timeout: PositiveDuration = timedelta(seconds=10)
    confirm: Count = 2
    retry_interval: PositiveDuration = timedelta(seconds=5)
    recover: Count = 2
    maintenance_grace: Duration = timedelta(0)
    maintenance_max: PositiveDuration = timedelta(hours=24)


class ProberFault(StrictModel):
    """When so many checks fail on the network at once that sitewatch suspects itself."""

    ratio: Annotated[float, Field(strict=True, gt=0, le=1)] = 0.8
    min_checks: Count = 5


def _quorum(value: object) -> int:
    if value == "majority":
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 100:
        return value
    raise ValueError('expected "majority" or a number of locations from 1 to 100')


class Cluster(StrictModel):
    """Where this instance stands among the instances sharing the database."""

    location: Identifier = "default"
    """This instance's vantage point; `--location` and `$SITEWATCH_LOCATION` win."""
    quorum: Annotated[int, BeforeValidator(_quorum)] = 0
    """How many locations must see a check down: 0 stands for `majority`."""
    lease: PositiveDuration = timedelta(seconds=10)
    """How long a silent instance is still taken to be alive (and the leader's lease)."""


class Probe(StrictModel):
    """How probes reach the sites."""

    source_address: Annotated[str, Field(strict=True), AfterValidator(_ip_address)] | None = None
    """Bind every outgoing probe connection to this local address."""


class Limits(StrictModel):
    """What one customer may ask of the service."""

    windows: Count = 200
    """Windows not yet ended, per customer."""
    requests_per_minute: Count = 600
    """API requests per token and minute (per instance)."""


class Heartbeat(StrictModel):
    """A dead man's switch: sitewatch GETs `url` every `every` while it is healthy."""

    url: Annotated[str, Field(strict=True), AfterValidator(_heartbeat_url)]
    every: PositiveDuration = timedelta(seconds=60)


class Customer(StrictModel):
    """A customer: owns checks and declares maintenance windows with its token."""

    id: Identifier
    name: NonEmptyText
    token: Token
    timezone: ZoneName = "UTC"
    """The IANA time zone the console shows and reads this customer's times in."""


class Operator(StrictModel):
    """An on-call engineer: acknowledges and resolves tickets, is paged at `notify`."""

    id: Identifier
    token: Token
    notify: Annotated[tuple[NotifyUrl, ...], Field(min_length=1, repr=False)]


class Paging(StrictModel):
    """How pages are delivered: retries, the fallback channels, acknowledge links."""

    max_attempts: Count = 8
    retry_initial: PositiveDuration = timedelta(seconds=10)
    retry_max: PositiveDuration = timedelta(minutes=10)
    fallback: Annotated[tuple[NotifyUrl, ...], Field(repr=False)] = ()
    """Apprise URLs told about a page its target could not receive."""
    send_timeout: PositiveDuration = timedelta(seconds=10)
    """How long one delivery attempt to one URL may take (the duplicate window's bound)."""
    ack_link_ttl: PositiveDuration = timedelta(hours=24)
    signing_key: Annotated[
        Annotated[str, Field(strict=True), AfterValidator(_signing_key)] | None,
        Field(repr=False),
    ] = None
    """Signs acknowledge links; unset, a key generated once is kept in the database."""


def paging_problems(source: YamlSource, paging: Paging) -> list[ConfigProblem]:
    """Check what the schema cannot: retry_max is not shorter than retry_initial."""
    if paging.retry_max >= paging.retry_initial:
        return []
    message = (
        f"must not be shorter than retry_initial ({format_duration(paging.retry_initial)}),"
        f" got {format_duration(paging.retry_max)}"
    )
    return [source.problem(("paging", "retry_max"), message)]


class EscalationLevel(StrictModel):
    """Whom to page once a ticket has been open for `after`."""

    after: Duration
    notify: Annotated[tuple[Text, ...], Field(min_length=1)]


class Escalation(StrictModel):
    """The levels of paging, and how often to repeat the highest level reached."""

    repeat_every: Duration = timedelta(minutes=5)
    levels: tuple[EscalationLevel, ...] = ()


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything sitewatch runs on, validated and resolved."""

    source: Path
    listen_host: str
    listen_port: int
    database: DatabaseUrl
    checks_dir: Path
    public_url: str
    defaults: Defaults
    prober_fault: ProberFault
    customers: tuple[Customer, ...]
    operators: tuple[Operator, ...]
    escalation: Escalation
    max_concurrent_probes: int
    checks: tuple[CheckSpec, ...]
    result_retention: timedelta = timedelta(days=7)
    """How long raw probe results are kept."""
    retention: timedelta = timedelta(days=400)
    """How long resolved tickets, ended windows and past outages are kept."""
    cluster: Cluster = field(default_factory=Cluster)
    probe: Probe = field(default_factory=Probe)
    limits: Limits = field(default_factory=Limits)
    heartbeat: Heartbeat | None = None
    ticket_webhooks: tuple[str, ...] = field(default=(), repr=False)
    """URLs each ticket change is POSTed to (the help desk's), through the outbox."""
    schedules: tuple[Schedule, ...] = ()
    """On-call schedules, which escalation levels may name besides operators."""
    recurring_maintenance: tuple[RecurringMaintenance, ...] = ()
    """Planned events that recur on a rule (see `recurring.py`)."""
    paging: Paging = field(default_factory=Paging)
    """Page delivery: retries, fallback channels, acknowledge links."""
    secrets: frozenset[str] = field(default=frozenset(), repr=False)
    """Every token, notify URL and value taken from the environment: never output."""
    service_secrets: frozenset[str] = field(default=frozenset(), repr=False)
    """The secrets of the service itself (tokens, notify URLs, signing key, config
    values from the environment), without the checks' own: few, so cheap to redact."""
    _by_id: dict[str, CheckSpec] = field(init=False, repr=False, compare=False)
    _by_customer: dict[str, tuple[CheckSpec, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Lookups by id and by customer run on every request and page: at 10,000
        # checks a scan of `checks` costs a millisecond or more each time.
        by_customer: dict[str, list[CheckSpec]] = {}
        for check in self.checks:
            by_customer.setdefault(check.customer, []).append(check)
        object.__setattr__(self, "_by_id", {check.id: check for check in self.checks})
        frozen = {customer: tuple(checks) for customer, checks in by_customer.items()}
        object.__setattr__(self, "_by_customer", frozen)

    def secrets_about(self, check_id: str | None) -> frozenset[str]:
        """Return what to redact from text about one check (or about none).

        Text about a check can only hold the service's secrets and that check's own;
        redacting with every check's secrets would compile a pattern of thousands of
        alternatives (seconds at 10,000 checks, measured in bench/README.md).
        """
        check = self.check(check_id) if check_id else None
        return self.service_secrets | (check.secrets if check else frozenset())

    def check(self, check_id: str) -> CheckSpec | None:
        """Return the check with this id, or None."""
        return self._by_id.get(check_id)

    def checks_of(self, customer_id: str) -> tuple[CheckSpec, ...]:
        """Return this customer's checks, in config order."""
        return self._by_customer.get(customer_id, ())

    def customer(self, customer_id: str) -> Customer | None:
        """Return the customer with this id, or None."""
        return next((c for c in self.customers if c.id == customer_id), None)

    def operator(self, operator_id: str) -> Operator | None:
        """Return the operator with this id, or None."""
        return next((o for o in self.operators if o.id == operator_id), None)
