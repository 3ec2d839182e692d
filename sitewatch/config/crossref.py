"""What the config's schema cannot check: how its parts refer to each other.

Unique ids and tokens, escalation levels naming known operators or schedules in
order, schedules naming known operators. These are checked also when the schema
found problems elsewhere (`sitewatch check` lists every problem in one run): ids
and tokens are read from the file as written, and every list item that passes the
schema on its own is checked; an item that does not is left out (its problems are
already reported), keeping the positions of the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sitewatch.config.recurring import Naming
from sitewatch.config.schedules import ScheduleEntry, schedule_problems
from sitewatch.config.settings import EscalationLevel, Paging
from sitewatch.config.yamlsource import ConfigProblem, KeyPath, YamlSource, render_key_path

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Parts:
    """The config as far as it can be read: ids and tokens as written, items that validate."""

    customers: list[str | None]
    """Each customer's id as written (None: not a string); the same for the others."""
    operators: list[str | None]
    schedule_ids: list[str | None]
    tokens: list[tuple[KeyPath, str]]
    schedules: list[ScheduleEntry | None]
    levels: list[EscalationLevel | None] | None
    """None when `escalation.levels` is not a list to read (the schema says why)."""
    targets: list[tuple[str | None, ...]]
    """The names each escalation level notifies, as written (None: not a string)."""
    recurring: list[Naming | None]
    paging: Paging | None

    @classmethod
    def read(cls, data: Any) -> Parts:
        """Read what can be read of a config's data (after `${NAME}` substitution)."""
        top = data if isinstance(data, dict) else {}
        escalation = top.get("escalation", {})
        levels = escalation.get("levels", []) if isinstance(escalation, dict) else None
        tokens: list[tuple[KeyPath, str]] = [
            ((section, i, "token"), item["token"])
            for section in ("customers", "operators")
            for i, item in enumerate(_items(top.get(section)))
            if isinstance(item, dict) and isinstance(item.get("token"), str) and item["token"]
        ]
        return cls(
            customers=_ids(top.get("customers")),
            operators=_ids(top.get("operators")),
            schedule_ids=_ids(top.get("schedules")),
            tokens=tokens,
            schedules=_valid(top.get("schedules"), ScheduleEntry),
            levels=_valid(levels, EscalationLevel) if isinstance(levels, list) else None,
            targets=[_names(level) for level in _items(levels)],
            recurring=[Naming.written(e) for e in _items(top.get("recurring_maintenance"))],
            paging=_one(top.get("paging", {}), Paging),
        )

    def known(self, ids: list[str | None]) -> list[str]:
        """Return the ids that are strings, in order."""
        return [i for i in ids if i is not None]


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _ids(value: Any) -> list[str | None]:
    return [
        item["id"] if isinstance(item, dict) and isinstance(item.get("id"), str) else None
        for item in _items(value)
    ]


def _names(level: Any) -> tuple[str | None, ...]:
    notify = level.get("notify") if isinstance(level, dict) else None
    return tuple(n if isinstance(n, str) else None for n in _items(notify))


def _one(value: Any, model: type[M]) -> M | None:
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _valid(value: Any, model: type[M]) -> list[M | None]:
    return [_one(item, model) for item in _items(value)]


def cross_reference_problems(source: YamlSource, parts: Parts) -> list[ConfigProblem]:
    """Check unique ids and tokens, known operators, and the order of escalation levels."""
    operators = parts.known(parts.operators)
    schedules = parts.known(parts.schedule_ids)
    problems = _duplicate_ids(source, "customers", parts.customers)
    problems += _duplicate_ids(source, "operators", parts.operators)
    problems += _shared_tokens(source, parts.tokens)
    problems += _duplicate_ids(source, "schedules", parts.schedule_ids)
    problems += schedule_problems(source, parts.schedules, operators)
    if parts.levels is not None:
        problems += _escalation_problems(source, parts.levels, operators)
        problems += _target_problems(source, parts.targets, operators, schedules)
    return problems


def _shared_tokens(source: YamlSource, tokens: list[tuple[KeyPath, str]]) -> list[ConfigProblem]:
    """Report every token that an earlier customer or operator already uses."""
    problems = []
    first_use: dict[str, KeyPath] = {}
    for where, token in tokens:
        if token in first_use:
            message = (
                f"the same token as {render_key_path(first_use[token])}: "
                "every customer and operator needs a token of its own"
            )
            problems.append(source.problem(where, message))
        first_use.setdefault(token, where)
    return problems


def _escalation_problems(
    source: YamlSource, levels: Sequence[EscalationLevel | None], operators: list[str]
) -> list[ConfigProblem]:
    """Check that the levels exist when needed and come in order."""
    problems = []
    if operators and not levels:
        problems.append(
            source.problem(
                ("escalation", "levels"), "at least one level is needed to page the operators"
            )
        )
    previous = timedelta(0)
    for i, level in enumerate(levels):
        if level is None:
            continue
        if level.after < previous:
            problems.append(
                source.problem(
                    ("escalation", "levels", i, "after"),
                    "must not be earlier than the level before it",
                )
            )
        previous = max(previous, level.after)
    return problems


def _target_problems(
    source: YamlSource,
    targets: Sequence[tuple[str | None, ...]],
    operators: list[str],
    schedules: list[str],
) -> list[ConfigProblem]:
    """Check that every level names known operators or schedules."""
    return [
        source.problem(
            ("escalation", "levels", i, "notify", j), _unknown_target(name, operators, schedules)
        )
        for i, names in enumerate(targets)
        for j, name in enumerate(names)
        if name is not None and name not in operators and name not in schedules
    ]


def _unknown_target(name: str, operators: list[str], schedules: list[str]) -> str:
    known = f"operators: {', '.join(operators) or 'none'}"
    if not schedules:
        return f"unknown operator {name!r} ({known})"
    return f"unknown operator or schedule {name!r} ({known}; schedules: {', '.join(schedules)})"


def _duplicate_ids(
    source: YamlSource, section: str, ids: Sequence[str | None]
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for i, value in enumerate(ids):
        if value is None:
            continue
        first = ids.index(value)
        if first < i:
            line = source.line_of((section, first, "id"))
            problems.append(
                source.problem(
                    (section, i, "id"), f"duplicate id {value!r} (first used on line {line})"
                )
            )
    return problems
