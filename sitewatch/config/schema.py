"""The pydantic side of the config files: shared field types and plain-English problems.

The config and the check files are validated by pydantic, which knows nothing of
YAML. Their schemas are built from the field types here (`StrictModel`, `Duration`,
`Identifier`...), and `validate` turns pydantic's errors into `FILE:LINE: key.path:
message` problems, using the lines that `yamlsource` kept for every key.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from sitewatch.config.yamlsource import ConfigProblem, KeyPath, YamlSource, render_key_path
from sitewatch.model import ID_PATTERN
from sitewatch.model.durations import parse_duration

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """A frozen schema that rejects unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


def _identifier(value: str) -> str:
    if not ID_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not a valid id: use lower-case letters, digits and dashes "
            "(such as acme-portal)"
        )
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
"""A duration written as 250ms, 10s, 5m, 2h, 1d or a number of seconds; 0 allowed."""
PositiveDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]
Count = Annotated[int, Field(strict=True, ge=1)]
Text = Annotated[str, Field(strict=True)]
NonEmptyText = Annotated[str, Field(strict=True, min_length=1)]
Identifier = Annotated[str, Field(strict=True), AfterValidator(_identifier)]


def validate(
    source: YamlSource, data: Any, model: type[M], secrets: frozenset[str] = frozenset()
) -> tuple[M | None, list[ConfigProblem]]:
    """Validate `data` (read from `source`) against `model`; problems in plain English."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        errors = [e for e in exc.errors(include_url=False) if not _echo_of_item_error(e)]
        return None, [_problem(source, model, error, secrets) for error in errors]


def one_per_key(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    """Keep the first problem of each key (a missing variable, not its echoes), by line."""
    seen: set[tuple[Path, str]] = set()
    kept = []
    for problem in problems:
        if not problem.key or (problem.file, problem.key) not in seen:
            kept.append(problem)
            seen.add((problem.file, problem.key))
    return sorted(kept, key=lambda problem: (str(problem.file), problem.line))


def _echo_of_item_error(error: ErrorDetails) -> bool:
    """Tell a tuple's `too_short` that only counts its valid items (a pydantic quirk)."""
    value = error.get("input")
    minimum = error.get("ctx", {}).get("min_length", 0)
    return error["type"] == "too_short" and isinstance(value, list) and len(value) >= minimum


def _problem(
    source: YamlSource, model: type[BaseModel], error: ErrorDetails, secrets: frozenset[str]
) -> ConfigProblem:
    loc: KeyPath = tuple(error["loc"])
    message = _message(error, model, loc, secrets)
    value = error.get("input")
    if isinstance(value, str) and any(secret in value for secret in secrets):
        message = message.replace(repr(value), "a value from the environment")
    if "[key]" in loc:
        path = loc[: loc.index("[key]")]
        message = f"key {path[-1]!r}: {message}"
    elif error["type"] in ("missing", "extra_forbidden"):
        path = loc
    else:
        # Keep the part of pydantic's location that exists in the file.
        end = max(n for n in range(len(loc) + 1) if loc[:n] in source.lines or n == 0)
        path = loc[:end]
    return ConfigProblem(source.path, source.line_of(path), render_key_path(path), message)


_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "greater than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def _message(
    error: ErrorDetails, model: type[BaseModel], loc: KeyPath, secrets: frozenset[str]
) -> str:
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    if any(part in SECRET_KEYS for part in loc if isinstance(part, str)):
        # A token or notify URL of the wrong shape is still a credential: never echo it.
        value = _Hidden()
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing"
    if kind == "extra_forbidden":
        expected = ", ".join(_keys_of(model, loc[:-1]))
        return f"unknown key {loc[-1]!r} (expected one of: {expected})"
    if kind in _EXPECTED:
        hint = ""
        if kind == "string_type" and isinstance(value, bool | int | float):
            hint = " (put it in quotes to make it a string)"
        elif kind == "int_type" and isinstance(value, str) and value.strip().isdigit():
            hint = " (remove the quotes to make it a number)"
        return f"expected {_EXPECTED[kind]}, got {_describe(value, secrets)}{hint}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"]))
    if kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        return f"must be {words} {ctx[name]}, got {_describe(value, secrets)}"
    if kind in ("too_short", "string_too_short") and ctx.get("min_length") == 1:
        return "must not be empty"
    msg = str(error["msg"])
    return msg[:1].lower() + msg[1:]


SECRET_KEYS = frozenset({"token", "notify", "fallback", "signing_key"})
"""Keys whose values are credentials even when written literally in the file."""


class _Hidden:
    """A value that must not be shown: `_describe` names only that it is hidden."""


def _describe(value: Any, secrets: frozenset[str]) -> str:
    if isinstance(value, _Hidden):
        return "a value not shown here (it may hold a secret)"
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        if any(secret in value for secret in secrets):
            return "a value from the environment"
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, date):
        return f"the date {value.isoformat()} (put it in quotes to make it a string)"
    return type(value).__name__


def _keys_of(model: type[BaseModel], path: KeyPath) -> list[str]:
    """Return the keys the schema accepts at `path` (walking fields, lists, dicts)."""
    current: Any = model
    for part in path:
        current = _model_in(current)
        if current is None:
            return []
        if isinstance(part, str):
            field = next(
                (f for n, f in current.model_fields.items() if (f.alias or n) == part), None
            )
            if field is None:
                return []
            current = field.annotation
    found = _model_in(current)
    if found is None:
        return []
    return [field.alias or name for name, field in found.model_fields.items()]


def _model_in(annotation: Any) -> Any:
    """Find the model class in an annotation such as `tuple[Step, ...]` or `X | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
