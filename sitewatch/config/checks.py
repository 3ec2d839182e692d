"""Check definitions: checks/*.yaml -> frozen CheckSpec objects, or located problems.

A check file describes one scripted logon (see DESIGN "Check definition"). Beyond
the schema, a check must name a configured customer, have a unique id, use absolute
http(s) URLs, have `extract` regexes that RE2 compiles (they run on site bodies: linear
time), and use a `{name}` placeholder only after an earlier step has extracted `name`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Protocol
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, ValidationError

from sitewatch.config.placeholders import extracted_names, placeholder_problems
from sitewatch.config.schema import (
    Count,
    Identifier,
    NonEmptyText,
    PositiveDuration,
    StrictModel,
    Text,
    one_per_key,
    validate,
)
from sitewatch.config.yamlsource import (
    ConfigProblem,
    YamlSource,
    load_yaml,
    substitute_env,
)
from sitewatch.model import CheckSpec, Expectation, Method, Step
from sitewatch.probing.patterns import compile_extract, extract_problem

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CheckDefaults(Protocol):
    """The config's defaults for what a check file may leave out."""

    @property
    def interval(self) -> timedelta: ...
    @property
    def timeout(self) -> timedelta: ...
    @property
    def retry_interval(self) -> timedelta: ...
    @property
    def confirm(self) -> int: ...
    @property
    def recover(self) -> int: ...


def _status_list(value: object) -> object:
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


StatusCode = Annotated[int, Field(strict=True, ge=100, le=599)]


class _Expect(StrictModel):
    status: Annotated[
        tuple[StatusCode, ...], BeforeValidator(_status_list), Field(min_length=1)
    ] = (200,)
    body_contains: NonEmptyText | None = None
    body_lacks: NonEmptyText | None = None
    cookie: NonEmptyText | None = None
    max_time: PositiveDuration | None = None


class _Step(StrictModel):
    get: Text | None = None
    post: Text | None = None
    form: dict[Text, Text] | None = None
    json_: Any = Field(default=None, alias="json")
    headers: dict[Text, Text] = Field(default_factory=dict)
    extract: dict[Text, NonEmptyText] = Field(default_factory=dict)
    expect: _Expect = _Expect()
    follow_redirects: Annotated[bool, Field(strict=True)] = False


class _CheckFile(StrictModel):
    id: Identifier
    customer: Text
    name: NonEmptyText
    interval: PositiveDuration | None = None
    timeout: PositiveDuration | None = None
    retry_interval: PositiveDuration | None = None
    confirm: Count | None = None
    recover: Count | None = None
    steps: Annotated[tuple[_Step, ...], Field(min_length=1)]


def check_files(directory: Path) -> list[Path]:
    """List the check files in `directory` (`*.yaml`, `*.yml`, not hidden), by name."""
    return sorted(
        (
            path
            for path in directory.iterdir()
            if path.suffix in (".yaml", ".yml") and not path.name.startswith(".") and path.is_file()
        ),
        key=lambda path: path.name,  # one directory: the same order, without Path's compare
    )


def load_checks(
    directory: Path,
    *,
    customers: Collection[str] | None,
    defaults: CheckDefaults,
    environ: Mapping[str, str],
) -> tuple[tuple[CheckSpec, ...], list[ConfigProblem]]:
    """Load every check file in `directory`; return the valid checks and all problems.

    `customers` are the configured customer ids (None: unknown, do not check them).
    Problems name each check file as `directory / file name`.
    """
    specs: list[CheckSpec] = []
    problems: list[ConfigProblem] = []
    first_seen: dict[str, str] = {}
    for path in check_files(directory):
        source, file_problems = load_yaml(path)
        spec = None
        if source is not None:
            spec, more = _check(source, customers=customers, defaults=defaults, environ=environ)
            file_problems += more
            check_id = source.data.get("id") if isinstance(source.data, dict) else None
            if isinstance(check_id, str) and check_id in first_seen:
                message = (
                    f"duplicate check id {check_id!r} (already used in {first_seen[check_id]})"
                )
                file_problems.append(source.problem(("id",), message))
                spec = None
            elif isinstance(check_id, str):
                first_seen[check_id] = f"{path}:{source.line_of(('id',))}"
        if spec is not None and not file_problems:
            specs.append(spec)
        problems += one_per_key(file_problems)
    return tuple(specs), problems


def _check(
    source: YamlSource,
    *,
    customers: Collection[str] | None,
    defaults: CheckDefaults,
    environ: Mapping[str, str],
) -> tuple[CheckSpec | None, list[ConfigProblem]]:
    data, secrets, problems = substitute_env(source, environ)
    parsed, schema_problems = validate(source, data, _CheckFile, secrets)
    problems += schema_problems
    # Beyond the schema, check what can be read also when the schema failed elsewhere
    # in the file: every problem is reported in one run.
    raw = data if isinstance(data, dict) else {}
    raw_steps: list[Any] = raw["steps"] if isinstance(raw.get("steps"), list) else []
    customer = parsed.customer if parsed else raw.get("customer")
    if customers is not None and isinstance(customer, str) and customer not in customers:
        known = ", ".join(sorted(customers)) or "none"
        message = f"unknown customer {customer!r} (customers: {known})"
        problems.append(source.problem(("customer",), message))
    extracted = extracted_names(raw_steps)
    steps = parsed.steps if parsed else tuple(_valid_step(step) for step in raw_steps)
    for i, valid in enumerate(steps):
        if valid is not None:
            problems += _step_problems(source, i, valid, secrets)
    for i in range(len(raw_steps)):
        problems += placeholder_problems(source, i, extracted)
    if problems or parsed is None:
        return None, problems
    spec = CheckSpec(
        id=parsed.id,
        customer=parsed.customer,
        name=parsed.name,
        interval=parsed.interval or defaults.interval,
        timeout=parsed.timeout or defaults.timeout,
        confirm=parsed.confirm or defaults.confirm,
        recover=parsed.recover or defaults.recover,
        retry_interval=parsed.retry_interval or defaults.retry_interval,
        steps=tuple(_to_step(step) for step in parsed.steps),
        secrets=secrets,
    )
    return spec, []


def _valid_step(raw: Any) -> _Step | None:
    try:
        return _Step.model_validate(raw)
    except ValidationError:
        return None


def _step_problems(
    source: YamlSource, index: int, step: _Step, secrets: frozenset[str]
) -> list[ConfigProblem]:
    """Check one step's shape: one method, its body, its URL and its regexes."""
    at = ("steps", index)
    given = step.model_fields_set
    problems: list[ConfigProblem] = []
    if step.get is not None and step.post is not None:
        later = max(("get", "post"), key=lambda key: source.line_of((*at, key)))
        problems.append(source.problem((*at, later), "a step is either get or post, not both"))
    elif step.get is None and step.post is None:
        problems.append(source.problem(at, "a step needs get: URL or post: URL"))
    if "form" in given and "json_" in given:
        later = max(("form", "json"), key=lambda key: source.line_of((*at, key)))
        problems.append(source.problem((*at, later), "a step sends form or json, not both"))
    for key, field in (("form", "form"), ("json", "json_")):
        if step.get is not None and field in given:
            problems.append(source.problem((*at, key), f"only a post step can send {key}"))
    url_key = "get" if step.get is not None else "post"
    url = step.get if step.get is not None else step.post
    if url is not None and not _is_http_url(url):
        shown = "a URL from the environment" if any(s in url for s in secrets) else repr(url)
        message = f"expected an absolute http:// or https:// URL, got {shown}"
        problems.append(source.problem((*at, url_key), message))
    for name, pattern in step.extract.items():
        problem = _regex_problem(name, pattern)
        if problem:
            problems.append(source.problem((*at, "extract", name), problem))
    return problems


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _regex_problem(name: str, pattern: str) -> str | None:
    if not _NAME.match(name):
        return f"{name!r} cannot be used as {{{name}}}: use letters, digits and _"
    # Extract patterns run on site bodies: RE2 must take them (linear time).
    return extract_problem(pattern)


def _to_step(step: _Step) -> Step:
    expect = step.expect
    return Step(
        method=Method.GET if step.get is not None else Method.POST,
        url=step.get if step.get is not None else step.post or "",
        form=dict(step.form) if step.form is not None else None,
        json=step.json_,
        headers=dict(step.headers),
        extract={name: compile_extract(pattern) for name, pattern in step.extract.items()},
        expect=Expectation(
            status=expect.status,
            body_contains=expect.body_contains,
            body_lacks=expect.body_lacks,
            cookie=expect.cookie,
            max_time=expect.max_time,
        ),
        follow_redirects=step.follow_redirects,
    )
