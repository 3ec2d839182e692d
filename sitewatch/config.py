"""The service configuration: sitewatch.yaml and its check files -> frozen Settings.

`load_settings` reads everything once and either returns valid settings or raises
ConfigError listing every problem in every file, each as `FILE:LINE: key.path:
message`. A pager that starts with a half-understood config pages nobody.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from sitewatch.checks import load_checks
from sitewatch.durations import format_duration
from sitewatch.model import CheckSpec
from sitewatch.oncall import Schedule
from sitewatch.paging.notifier import apprise_rejects
from sitewatch.recurring import RecurringMaintenance, recurring_problems
from sitewatch.schedules import ScheduleEntry, build_schedules, schedule_problems
from sitewatch.yamlsource import (
    ConfigError,
    ConfigProblem,
    Count,
    Duration,
    Identifier,
    NonEmptyText,
    PositiveDuration,
    StrictModel,
    Text,
    YamlSource,
    load_yaml,
    one_per_key,
    render_key_path,
    substitute_env,
    validate,
)

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "Customer",
    "Defaults",
    "Escalation",
    "EscalationLevel",
    "Operator",
    "Paging",
    "ProberFault",
    "Settings",
    "database_path",
    "default_config_path",
    "load_settings",
    "validate_notify_url",
]

DEFAULT_CONFIG_PATH = Path("config/sitewatch.yaml")
_NOTIFY_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")


def default_config_path(environ: Mapping[str, str]) -> Path:
    """Return `$SITEWATCH_CONFIG`, else `config/sitewatch.yaml`."""
    value = environ.get("SITEWATCH_CONFIG")
    return Path(value) if value else DEFAULT_CONFIG_PATH


def validate_notify_url(url: str) -> str | None:
    """Return why `url` cannot be an Apprise notification URL, or None if it can.

    First the shape (`scheme://something`, no spaces), then Apprise itself: a URL
    Apprise cannot load (unknown scheme, missing parts) would page nobody, so it is
    a start-up error, never a silent skip. The message never repeats the URL:
    notification URLs carry credentials.
    """
    if not _NOTIFY_URL.match(url):
        return "expected an Apprise URL such as mailto://user@example.com or json://host:port/path"
    if apprise_rejects(url):
        return (
            "Apprise cannot use this URL (an unknown service or a missing part); see "
            "https://github.com/caronc/apprise/wiki for the form of each service"
        )
    return None


def _notify_url(value: str) -> str:
    problem = validate_notify_url(value)
    if problem:
        raise ValueError(problem)
    return value


def _listen(value: object) -> tuple[str, int]:
    text = value if isinstance(value, str) else ""
    host, _, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f'expected "host:port" such as "127.0.0.1:8080", got {value!r}')
    return host, int(port)


def database_path(url: str, base: Path) -> Path:
    """Resolve `sqlite:///rel/path` against `base` and `sqlite:////abs/path` as is."""
    scheme, sep, rest = url.partition(":///")
    if scheme != "sqlite" or not sep or not rest.strip("/"):
        raise ValueError(
            f"expected sqlite:///relative/path or sqlite:////absolute/path, got {url!r}"
        )
    return (base / rest).resolve()


def _database(value: str) -> str:
    database_path(value, Path())
    return value


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"expected an absolute http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


Token = Annotated[NonEmptyText, Field(repr=False)]
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


class Customer(StrictModel):
    """A customer: owns checks and declares maintenance windows with its token."""

    id: Identifier
    name: NonEmptyText
    token: Token


class Operator(StrictModel):
    """An on-call engineer: acknowledges and resolves tickets, is paged at `notify`."""

    id: Identifier
    token: Token
    notify: Annotated[tuple[NotifyUrl, ...], Field(min_length=1, repr=False)]


def _signing_key(value: str) -> str:
    if len(value) < 32:
        raise ValueError(
            "must be at least 32 characters (generate one with `openssl rand -hex 32`)"
        )
    return value


class Paging(StrictModel):
    """How pages are delivered: retries, the fallback channels, acknowledge links."""

    max_attempts: Count = 8
    retry_initial: PositiveDuration = timedelta(seconds=10)
    retry_max: PositiveDuration = timedelta(minutes=10)
    fallback: Annotated[tuple[NotifyUrl, ...], Field(repr=False)] = ()
    """Apprise URLs told about a page its target could not receive."""
    ack_link_ttl: PositiveDuration = timedelta(hours=24)
    signing_key: Annotated[
        Annotated[str, Field(strict=True), AfterValidator(_signing_key)] | None,
        Field(repr=False),
    ] = None
    """Signs acknowledge links; unset, a key generated once is kept in the database."""


class EscalationLevel(StrictModel):
    """Whom to page once a ticket has been open for `after`."""

    after: Duration
    notify: Annotated[tuple[Text, ...], Field(min_length=1)]


class Escalation(StrictModel):
    """The levels of paging, and how often to repeat the highest level reached."""

    repeat_every: Duration = timedelta(minutes=5)
    levels: tuple[EscalationLevel, ...] = ()


class _ConfigFile(StrictModel):
    """The keys of sitewatch.yaml, as written."""

    listen: Annotated[tuple[str, int], BeforeValidator(_listen)] = ("127.0.0.1", 8080)
    database: Annotated[str, Field(strict=True), AfterValidator(_database)] = (
        "sqlite:///var/sitewatch.db"
    )
    checks: Text = "../checks"
    public_url: Annotated[str, Field(strict=True), AfterValidator(_http_url)] | None = None
    max_concurrent_probes: Count = 256
    defaults: Defaults = Defaults()
    prober_fault: ProberFault = ProberFault()
    customers: tuple[Customer, ...] = ()
    operators: tuple[Operator, ...] = ()
    schedules: tuple[ScheduleEntry, ...] = ()
    escalation: Escalation = Escalation()
    recurring_maintenance: tuple[RecurringMaintenance, ...] = ()
    paging: Paging = Paging()


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything sitewatch runs on, validated and resolved."""

    source: Path
    listen_host: str
    listen_port: int
    database: Path
    checks_dir: Path
    public_url: str
    defaults: Defaults
    prober_fault: ProberFault
    customers: tuple[Customer, ...]
    operators: tuple[Operator, ...]
    escalation: Escalation
    max_concurrent_probes: int
    checks: tuple[CheckSpec, ...]
    schedules: tuple[Schedule, ...] = ()
    """On-call schedules, which escalation levels may name besides operators."""
    recurring_maintenance: tuple[RecurringMaintenance, ...] = ()
    """Planned events that recur on a rule (see `recurring.py`)."""
    paging: Paging = field(default_factory=Paging)
    """Page delivery: retries, fallback channels, acknowledge links."""
    secrets: frozenset[str] = field(default=frozenset(), repr=False)
    """Every token, notify URL and value taken from the environment: never output."""

    def check(self, check_id: str) -> CheckSpec | None:
        """Return the check with this id, or None."""
        return next((check for check in self.checks if check.id == check_id), None)

    def customer(self, customer_id: str) -> Customer | None:
        """Return the customer with this id, or None."""
        return next((c for c in self.customers if c.id == customer_id), None)

    def operator(self, operator_id: str) -> Operator | None:
        """Return the operator with this id, or None."""
        return next((o for o in self.operators if o.id == operator_id), None)


def load_settings(path: Path, environ: Mapping[str, str]) -> Settings:
    """Read the config at `path` and its check files; raise ConfigError on any problem."""
    source, problems = load_yaml(path)
    if source is None:
        raise ConfigError(problems)
    data, secrets, env_problems = substitute_env(source, environ)
    problems += env_problems
    parsed, schema_problems = validate(source, data, _ConfigFile, secrets)
    problems += schema_problems
    if parsed is not None:
        problems += _cross_reference_problems(source, parsed)
    checks_dir, dir_problem = _checks_dir(source, data, parsed)
    checks: tuple[CheckSpec, ...] = ()
    check_problems: list[ConfigProblem] = []
    if dir_problem:
        problems.append(dir_problem)
    else:
        checks, check_problems = load_checks(
            checks_dir,
            customers=_customer_ids(data, parsed),
            defaults=parsed.defaults if parsed else _best_effort_defaults(data),
            environ=environ,
        )
    if parsed is not None and not dir_problem:
        customers = {c.id for c in parsed.customers}
        problems += recurring_problems(source, parsed.recurring_maintenance, customers, checks)
    if parsed is not None:
        problems += _paging_problems(source, parsed.paging)
    problems = one_per_key(problems) + check_problems
    if problems or parsed is None:
        raise ConfigError(problems)
    return _settings(source, parsed, checks_dir, checks, secrets)


def _settings(
    source: YamlSource,
    parsed: _ConfigFile,
    checks_dir: Path,
    checks: tuple[CheckSpec, ...],
    secrets: frozenset[str],
) -> Settings:
    host, port = parsed.listen
    url_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url_host = f"[{url_host}]" if ":" in url_host else url_host
    all_secrets = set(secrets)
    all_secrets.update(customer.token for customer in parsed.customers)
    for operator in parsed.operators:
        all_secrets.add(operator.token)
        all_secrets.update(operator.notify)
    for check in checks:
        all_secrets.update(check.secrets)
    all_secrets.update(parsed.paging.fallback)
    if parsed.paging.signing_key:
        all_secrets.add(parsed.paging.signing_key)
    return Settings(
        source=source.path,
        listen_host=host,
        listen_port=port,
        database=database_path(parsed.database, source.path.parent),
        checks_dir=checks_dir.resolve(),
        public_url=parsed.public_url or f"http://{url_host}:{port}",
        defaults=parsed.defaults,
        prober_fault=parsed.prober_fault,
        customers=parsed.customers,
        operators=parsed.operators,
        escalation=parsed.escalation,
        max_concurrent_probes=parsed.max_concurrent_probes,
        checks=checks,
        schedules=build_schedules(parsed.schedules),
        recurring_maintenance=parsed.recurring_maintenance,
        paging=parsed.paging,
        secrets=frozenset(all_secrets),
    )


def _cross_reference_problems(source: YamlSource, parsed: _ConfigFile) -> list[ConfigProblem]:
    """Check what the schema cannot: unique ids and tokens, known operators, order."""
    problems = _duplicate_ids(source, "customers", [c.id for c in parsed.customers])
    problems += _duplicate_ids(source, "operators", [o.id for o in parsed.operators])
    first_use: dict[str, tuple[str | int, ...]] = {}
    people = [("customers", c.token) for c in parsed.customers]
    people += [("operators", o.token) for o in parsed.operators]
    counters = {"customers": 0, "operators": 0}
    for section, token in people:
        where = (section, counters[section], "token")
        counters[section] += 1
        if token in first_use:
            message = (
                f"the same token as {render_key_path(first_use[token])}: "
                "every customer and operator needs a token of its own"
            )
            problems.append(source.problem(where, message))
        first_use.setdefault(token, where)
    operators = [o.id for o in parsed.operators]
    schedules = [s.id for s in parsed.schedules]
    problems += _duplicate_ids(source, "schedules", schedules)
    problems += schedule_problems(source, parsed.schedules, operators)
    if operators and not parsed.escalation.levels:
        problems.append(
            source.problem(
                ("escalation", "levels"), "at least one level is needed to page the operators"
            )
        )
    previous = timedelta(0)
    for i, level in enumerate(parsed.escalation.levels):
        if level.after < previous:
            problems.append(
                source.problem(
                    ("escalation", "levels", i, "after"),
                    "must not be earlier than the level before it",
                )
            )
        previous = max(previous, level.after)
        for j, name in enumerate(level.notify):
            if name not in operators and name not in schedules:
                problems.append(
                    source.problem(
                        ("escalation", "levels", i, "notify", j),
                        _unknown_target(name, operators, schedules),
                    )
                )
    return problems


def _paging_problems(source: YamlSource, paging: Paging) -> list[ConfigProblem]:
    if paging.retry_max >= paging.retry_initial:
        return []
    message = (
        f"must not be shorter than retry_initial ({format_duration(paging.retry_initial)}),"
        f" got {format_duration(paging.retry_max)}"
    )
    return [source.problem(("paging", "retry_max"), message)]


def _unknown_target(name: str, operators: list[str], schedules: list[str]) -> str:
    known = f"operators: {', '.join(operators) or 'none'}"
    if not schedules:
        return f"unknown operator {name!r} ({known})"
    return f"unknown operator or schedule {name!r} ({known}; schedules: {', '.join(schedules)})"


def _duplicate_ids(source: YamlSource, section: str, ids: list[str]) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for i, value in enumerate(ids):
        first = ids.index(value)
        if first < i:
            line = source.line_of((section, first, "id"))
            problems.append(
                source.problem(
                    (section, i, "id"), f"duplicate id {value!r} (first used on line {line})"
                )
            )
    return problems


def _checks_dir(
    source: YamlSource, data: Any, parsed: _ConfigFile | None
) -> tuple[Path, ConfigProblem | None]:
    """Find the check directory, relative to the config file; a problem if absent."""
    raw = data.get("checks") if isinstance(data, dict) else None
    name = parsed.checks if parsed else raw if isinstance(raw, str) else "../checks"
    directory = Path(os.path.normpath(source.path.parent / name))
    if directory.is_dir():
        return directory, None
    return directory, source.problem(("checks",), f"directory {directory} does not exist")


def _customer_ids(data: Any, parsed: _ConfigFile | None) -> Collection[str] | None:
    """Return the configured customer ids; when the config is invalid, a best guess."""
    if parsed is not None:
        return {customer.id for customer in parsed.customers}
    raw = data.get("customers") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        return None
    return {c["id"] for c in raw if isinstance(c, dict) and isinstance(c.get("id"), str)}


def _best_effort_defaults(data: Any) -> Defaults:
    raw = data.get("defaults") if isinstance(data, dict) else None
    try:
        return Defaults.model_validate(raw or {})
    except ValueError:
        return Defaults()
