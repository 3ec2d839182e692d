"""`{name}` placeholders in a check's steps: each must name a value an earlier step extracts."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sitewatch.config.yamlsource import ConfigProblem, KeyPath, YamlSource

PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""`{name}` in a URL, form value, JSON string or header: a value extracted earlier."""


def extracted_names(steps: Sequence[Any]) -> dict[str, int]:
    """Map each name the steps extract to the first step that extracts it.

    Read from the steps as written, so that a step the schema refused for another
    reason still counts as extracting its names (no echo of its problem).
    """
    extracted: dict[str, int] = {}
    for i, step in enumerate(steps):
        extract = step.get("extract") if isinstance(step, dict) else None
        for name in extract if isinstance(extract, dict) else {}:
            if isinstance(name, str):
                extracted.setdefault(name, i)
    return extracted


def placeholder_problems(
    source: YamlSource, index: int, extracted: Mapping[str, int]
) -> list[ConfigProblem]:
    """Check `{name}` placeholders in one step against names extracted before it.

    The raw (not environment-substituted) text is checked, so that a password
    holding braces is not mistaken for a placeholder.
    """
    problems: list[ConfigProblem] = []
    step = source.data["steps"][index]
    if not isinstance(step, dict):
        return problems  # not a step at all: the schema says so
    for path, text in _templates(step, ("steps", index)):
        for name in PLACEHOLDER.findall(text):
            by = extracted.get(name)
            if by is None:
                message = f"{{{name}}} is not extracted by any step"
            elif by == index:
                message = f"{{{name}}} is extracted by this step, so only later steps can use it"
            elif by > index:
                message = f"{{{name}}} is extracted only later, by steps[{by}]"
            else:
                continue
            problems.append(source.problem(path, message))
    return problems


def _templates(step: dict[str, Any], at: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    """Yield every string of a raw step that may hold placeholders, with its path."""
    for key in ("get", "post"):
        if isinstance(step.get(key), str):
            yield (*at, key), step[key]
    for key in ("form", "headers"):
        values = step.get(key)
        for name, value in values.items() if isinstance(values, dict) else ():
            if isinstance(value, str):
                yield (*at, key, name), value
    yield from _json_strings(step.get("json"), (*at, "json"))


def _json_strings(value: Any, at: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(value, str):
        yield at, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _json_strings(item, (*at, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _json_strings(item, (*at, key))
