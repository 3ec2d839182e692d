"""The service configuration: sitewatch.yaml and its check files -> frozen Settings.

`load_settings` reads everything once and either returns valid settings or raises
ConfigError listing every problem in every file, each as `FILE:LINE: key.path:
message`. A pager that starts with a half-understood config pages nobody.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from sitewatch.config.checks import load_checks
from sitewatch.config.notify import validate_notify_url
from sitewatch.config.recurring import RecurringMaintenance, recurring_problems
from sitewatch.config.schedules import ScheduleEntry, build_schedules, schedule_problems
from sitewatch.config.schema import (
    Count,
    PositiveDuration,
    StrictModel,
    Text,
    one_per_key,
    validate,
)
from sitewatch.config.settings import (
    Cluster,
    Customer,
    Defaults,
    Escalation,
    EscalationLevel,
    Heartbeat,
    Limits,
    Operator,
    Paging,
    Probe,
    ProberFault,
    Settings,
    paging_problems,
)
from sitewatch.config.yamlsource import (
    ConfigError,
    ConfigProblem,
    KeyPath,
    YamlSource,
    load_yaml,
    render_key_path,
    substitute_env,
)
from sitewatch.model import CheckSpec
from sitewatch.storage.urls import parse_database_url

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
    "default_config_path",
    "load_settings",
    "validate_notify_url",
]

DEFAULT_CONFIG_PATH = Path("config/sitewatch.yaml")


def default_config_path(environ: Mapping[str, str]) -> Path:
    """Return `$SITEWATCH_CONFIG`, else `config/sitewatch.yaml`."""
    value = environ.get("SITEWATCH_CONFIG")
    return Path(value) if value else DEFAULT_CONFIG_PATH


def _listen(value: object) -> tuple[str, int]:
    text = value if isinstance(value, str) else ""
    host, _, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f'expected "host:port" such as "127.0.0.1:8080", got {value!r}')
    return host, int(port)


def _database(value: str) -> str:
    parse_database_url(value, Path())
    return value


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"expected an absolute http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


class _ConfigFile(StrictModel):
    """The keys of sitewatch.yaml, as written."""

    listen: Annotated[tuple[str, int], BeforeValidator(_listen)] = ("127.0.0.1", 8080)
    database: Annotated[str, Field(strict=True), AfterValidator(_database)] = (
        "sqlite:///var/sitewatch.db"
    )
    checks: Text = "../checks"
    public_url: Annotated[str, Field(strict=True), AfterValidator(_http_url)] | None = None
    max_concurrent_probes: Count = 256
    result_retention: PositiveDuration = timedelta(days=7)
    defaults: Defaults = Defaults()
    prober_fault: ProberFault = ProberFault()
    customers: tuple[Customer, ...] = ()
    operators: tuple[Operator, ...] = ()
    schedules: tuple[ScheduleEntry, ...] = ()
    escalation: Escalation = Escalation()
    recurring_maintenance: tuple[RecurringMaintenance, ...] = ()
    paging: Paging = Paging()
    retention: PositiveDuration = timedelta(days=400)
    cluster: Cluster = Cluster()
    probe: Probe = Probe()
    limits: Limits = Limits()
    heartbeat: Heartbeat | None = None


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
        problems += recurring_problems(
            source,
            parsed.recurring_maintenance,
            customers,
            checks,
            all_checks_loaded=not check_problems,
        )
    if parsed is not None:
        problems += paging_problems(source, parsed.paging)
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
    all_secrets.update(parsed.paging.fallback)
    if parsed.paging.signing_key:
        all_secrets.add(parsed.paging.signing_key)
    service_secrets = frozenset(all_secrets)
    for check in checks:
        all_secrets.update(check.secrets)
    return Settings(
        source=source.path,
        listen_host=host,
        listen_port=port,
        database=parse_database_url(parsed.database, source.path.parent),
        checks_dir=checks_dir.resolve(),
        public_url=parsed.public_url or f"http://{url_host}:{port}",
        defaults=parsed.defaults,
        prober_fault=parsed.prober_fault,
        customers=parsed.customers,
        operators=parsed.operators,
        escalation=parsed.escalation,
        max_concurrent_probes=parsed.max_concurrent_probes,
        result_retention=parsed.result_retention,
        retention=parsed.retention,
        cluster=parsed.cluster,
        probe=parsed.probe,
        limits=parsed.limits,
        heartbeat=parsed.heartbeat,
        checks=checks,
        schedules=build_schedules(parsed.schedules),
        recurring_maintenance=parsed.recurring_maintenance,
        paging=parsed.paging,
        secrets=frozenset(all_secrets),
        service_secrets=service_secrets,
    )


def _cross_reference_problems(source: YamlSource, parsed: _ConfigFile) -> list[ConfigProblem]:
    """Check what the schema cannot: unique ids and tokens, known operators, order."""
    problems = _duplicate_ids(source, "customers", [c.id for c in parsed.customers])
    problems += _duplicate_ids(source, "operators", [o.id for o in parsed.operators])
    problems += _shared_tokens(source, parsed.customers, parsed.operators)
    operators = [o.id for o in parsed.operators]
    schedules = [s.id for s in parsed.schedules]
    problems += _duplicate_ids(source, "schedules", schedules)
    problems += schedule_problems(source, parsed.schedules, operators)
    problems += _escalation_problems(source, parsed.escalation, operators, schedules)
    return problems


def _shared_tokens(
    source: YamlSource, customers: Sequence[Customer], operators: Sequence[Operator]
) -> list[ConfigProblem]:
    """Report every token that an earlier customer or operator already uses."""
    people = [(("customers", i, "token"), c.token) for i, c in enumerate(customers)]
    people += [(("operators", i, "token"), o.token) for i, o in enumerate(operators)]
    problems = []
    first_use: dict[str, KeyPath] = {}
    for where, token in people:
        if token in first_use:
            message = (
                f"the same token as {render_key_path(first_use[token])}: "
                "every customer and operator needs a token of its own"
            )
            problems.append(source.problem(where, message))
        first_use.setdefault(token, where)
    return problems


def _escalation_problems(
    source: YamlSource, escalation: Escalation, operators: list[str], schedules: list[str]
) -> list[ConfigProblem]:
    """Check that the levels exist when needed, come in order and name known targets."""
    problems = []
    if operators and not escalation.levels:
        problems.append(
            source.problem(
                ("escalation", "levels"), "at least one level is needed to page the operators"
            )
        )
    previous = timedelta(0)
    for i, level in enumerate(escalation.levels):
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
