"""The service configuration: sitewatch.yaml and its check files -> frozen Settings.

`load_settings` reads everything once and either returns valid settings or raises
ConfigError listing every problem in every file, each as `FILE:LINE: key.path:
message`. A pager that starts with a half-understood config pages nobody.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from sitewatch.config.checks import load_checks
from sitewatch.config.crossref import Parts, cross_reference_problems
from sitewatch.config.notify import validate_notify_url
from sitewatch.config.recurring import RecurringMaintenance, recurring_problems
from sitewatch.config.schedules import ScheduleEntry, build_schedules
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
    YamlSource,
    load_yaml,
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


def _webhook_url(value: str) -> str:
    # Not echoed: a webhook URL often carries the help desk's token.
    if not re.match(r"^https?://[^/\s]+\S*$", value):
        raise ValueError("expected an absolute http:// or https:// URL to POST ticket changes to")
    return value


WebhookUrl = Annotated[str, Field(strict=True), AfterValidator(_webhook_url)]


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
    ticket_webhooks: Annotated[tuple[WebhookUrl, ...], Field(repr=False)] = ()


def load_settings(path: Path, environ: Mapping[str, str]) -> Settings:
    """Read the config at `path` and its check files; raise ConfigError on any problem."""
    source, problems = load_yaml(path)
    if source is None:
        raise ConfigError(problems)
    data, secrets, env_problems = substitute_env(source, environ)
    problems += env_problems
    parsed, schema_problems = validate(source, data, _ConfigFile, secrets)
    problems += schema_problems
    # Also when the schema failed somewhere: every problem is reported in one run.
    parts = Parts.read(data)
    problems += cross_reference_problems(source, parts)
    checks_dir, dir_problem = _checks_dir(source, data, parsed)
    checks: tuple[CheckSpec, ...] = ()
    check_problems: list[ConfigProblem] = []
    if dir_problem:
        problems.append(dir_problem)
    else:
        customers = _customer_ids(data, parts, parsed)
        checks, check_problems = load_checks(
            checks_dir,
            customers=customers,
            defaults=parsed.defaults if parsed else _best_effort_defaults(data),
            environ=environ,
        )
        if customers is not None:
            problems += recurring_problems(
                source, parts.recurring, customers, checks, all_checks_loaded=not check_problems
            )
    if parts.paging is not None:
        problems += paging_problems(source, parts.paging)
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
    all_secrets.update(parsed.ticket_webhooks)
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
        ticket_webhooks=parsed.ticket_webhooks,
        checks=checks,
        schedules=build_schedules(parsed.schedules),
        recurring_maintenance=parsed.recurring_maintenance,
        paging=parsed.paging,
        secrets=frozenset(all_secrets),
        service_secrets=service_secrets,
    )


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


def _customer_ids(data: Any, parts: Parts, parsed: _ConfigFile | None) -> Collection[str] | None:
    """Return the configured customer ids; when the config is invalid, a best guess.

    None when `customers:` is not even a list: then nothing is known of them.
    """
    if parsed is not None:
        return {customer.id for customer in parsed.customers}
    raw = data.get("customers", []) if isinstance(data, dict) else []
    return set(parts.known(parts.customers)) if isinstance(raw, list) else None


def _best_effort_defaults(data: Any) -> Defaults:
    raw = data.get("defaults") if isinstance(data, dict) else None
    try:
        return Defaults.model_validate(raw or {})
    except ValueError:
        return Defaults()
