"""A YAML file as the configuration reads it: plain data plus the line of every key.

The config and the check files are validated by pydantic, which knows nothing of
YAML. This module keeps the bridge: it composes the file with PyYAML's node API (so
every key keeps its line), rejects what PyYAML would silently accept (duplicate
keys), substitutes `${NAME}` from the environment, and turns pydantic's errors into
`FILE:LINE: key.path: message` problems in plain English.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from sitewatch.durations import parse_duration
from sitewatch.model import ID_PATTERN

KeyPath = tuple[str | int, ...]
"""Where a value sits in a document: mapping keys and list indexes from the top."""

M = TypeVar("M", bound=BaseModel)

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One mistake in one file, located for a human: `FILE:LINE: key.path: message`.

    `line` is 1-based; 0 means the file as a whole (it could not be read). `key` is
    empty when the problem has no key (a YAML syntax error); both then drop out of
    the rendering.
    """

    file: Path
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists every mistake found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def render_key_path(path: KeyPath) -> str:
    """Render a key path for humans: `customers[0].token`, `headers["X.Y"]`."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
            continue
        name = str(part)
        if re.fullmatch(r"[^\s.\[\]\"]+", name):
            out += f".{name}" if out else name
        else:
            out += '["' + name.replace('"', '\\"') + '"]'
    return out


def one_per_key(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    """Keep the first problem of each key (a missing variable, not its echoes), by line."""
    seen: set[tuple[Path, str]] = set()
    kept = []
    for problem in problems:
        if not problem.key or (problem.file, problem.key) not in seen:
            kept.append(problem)
            seen.add((problem.file, problem.key))
    return sorted(kept, key=lambda problem: (str(problem.file), problem.line))


@dataclass(frozen=True, slots=True)
class YamlSource:
    """A parsed YAML file: its plain data and the line of every key and list item."""

    path: Path
    data: Any
    lines: Mapping[KeyPath, int]

    def line_of(self, path: KeyPath) -> int:
        """Return the line of `path`, or of its nearest parent present in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1

    def problem(self, path: KeyPath, message: str) -> ConfigProblem:
        """Locate a problem at `path` (at its nearest present parent if it is missing)."""
        return ConfigProblem(self.path, self.line_of(path), render_key_path(path), message)


def load_yaml(path: Path) -> tuple[YamlSource | None, list[ConfigProblem]]:
    """Read and compose one YAML file; duplicate keys come back as problems with data."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, [ConfigProblem(path, 0, "", "cannot read the file: it is not UTF-8 text")]
    except OSError as exc:
        return None, [ConfigProblem(path, 0, "", f"cannot read the file: {exc.strerror}")]
    loader = yaml.SafeLoader(text)
    builder = _Builder(loader, path)
    try:
        node = loader.get_single_node()
        data = builder.build(node, ()) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        detail = exc.problem or exc.context or "cannot be parsed"
        if exc.context and exc.problem and exc.context_mark:
            detail += f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
        return None, [ConfigProblem(path, line, "", f"invalid YAML: {detail}")]
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        return None, [ConfigProblem(path, line, "", f"invalid YAML: {exc.reason}")]
    finally:
        loader.dispose()
    return YamlSource(path, data, builder.lines), builder.problems


class _Builder:
    """Turn composed nodes into plain data, noting lines and duplicate keys."""

    def __init__(self, loader: yaml.SafeLoader, path: Path) -> None:
        self.loader = loader
        self.path = path
        self.lines: dict[KeyPath, int] = {}
        self.problems: list[ConfigProblem] = []
        self._open: set[int] = set()

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node)
        if id(node) in self._open:
            raise yaml.MarkedYAMLError(
                problem="an alias refers to itself", problem_mark=node.start_mark
            )
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
                return self._mapping(node, path)
        finally:
            self._open.discard(id(node))
        raise yaml.MarkedYAMLError(
            problem=f"unsupported YAML tag {node.tag}", problem_mark=node.start_mark
        )

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        # `<<: *anchor` entries go in first so that the mapping's own keys win.
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for source in reversed(merged):
                    if not isinstance(source, yaml.MappingNode):
                        raise yaml.MarkedYAMLError(
                            problem="a merge key (<<) takes a mapping or a list of mappings",
                            problem_mark=source.start_mark,
                        )
                    result.update(self.build(source, path))
        first_lines: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.MarkedYAMLError(
                    problem="a key must be a plain value, not a list or mapping",
                    problem_mark=key_node.start_mark,
                )
            key = self.loader.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in first_lines:
                self.problems.append(
                    ConfigProblem(
                        self.path,
                        line,
                        render_key_path((*path, key)),
                        f"duplicate key {key!r} (first defined on line {first_lines[key]})",
                    )
                )
                continue
            first_lines[key] = line
            self.lines[(*path, key)] = line
            result[key] = self.build(value_node, (*path, key))
        return result


_ENV_REFERENCE = re.compile(r"\$\$\{|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}|\$\{")


def substitute_env(
    source: YamlSource, environ: Mapping[str, str]
) -> tuple[Any, frozenset[str], list[ConfigProblem]]:
    """Replace `${NAME}` in every string; return the data, the values put in, problems.

    `$${` stands for a literal `${`. A missing variable leaves the reference in place
    and is a problem at the string's key.
    """
    secrets: set[str] = set()
    problems: list[ConfigProblem] = []

    def substitute(text: str, path: KeyPath) -> str:
        missing: list[str] = []
        malformed = False

        def replace(match: re.Match[str]) -> str:
            nonlocal malformed
            name = match.group("name")
            if match.group() == "$${":
                return "${"
            if name is None:
                malformed = True
                return match.group()
            if name not in environ:
                missing.append(name)
                return match.group()
            if environ[name]:
                secrets.add(environ[name])
            return environ[name]

        result = _ENV_REFERENCE.sub(replace, text)
        if missing:
            names = ", ".join(dict.fromkeys(missing))
            plural = "s" if len(set(missing)) > 1 else ""
            verb = "are" if plural else "is"
            problems.append(
                source.problem(path, f"environment variable{plural} {names} {verb} not set")
            )
        elif malformed:
            problems.append(
                source.problem(
                    path, "'${' must be followed by NAME} (write '$${' for a literal '${')"
                )
            )
        return result

    def walk(value: Any, path: KeyPath) -> Any:
        if isinstance(value, str):
            return substitute(value, path)
        if isinstance(value, list):
            return [walk(item, (*path, i)) for i, item in enumerate(value)]
        if isinstance(value, dict):
            return {key: walk(item, (*path, key)) for key, item in value.items()}
        return value

    data = walk(source.data, ())
    return data, frozenset(secrets), problems


# Field types shared by the config and check schemas.


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


def _describe(value: Any, secrets: frozenset[str]) -> str:
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
