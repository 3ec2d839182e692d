"""A YAML file as the configuration reads it: plain data plus the line of every key.

This module keeps the YAML side of the config and check files: it composes a file
with PyYAML's node API (so every key keeps its line), rejects what PyYAML would
silently accept (duplicate keys), substitutes `${NAME}` from the environment, and
locates every problem as `FILE:LINE: key.path: message`. Validation against the
schemas, and pydantic's errors in plain English, are `schema`'s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

KeyPath = tuple[str | int, ...]
"""Where a value sits in a document: mapping keys and list indexes from the top."""

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"


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


# libyaml composes about 15 times faster than the pure-Python composer (13.6 s of a
# 10,000-check start-up was composing, bench/README.md); both keep node marks.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVED: dict[tuple[str, tuple[bool, bool]], str] = {}
_RESOLVED_MAX = 10_000


class _Loader(_BaseLoader):  # type: ignore[valid-type, misc]
    """The safe loader, remembering which tag each plain scalar resolves to.

    libyaml asks Python for every scalar's tag, and the answer depends only on the
    text (a safe loader resolves no paths): keys and common values repeat across
    thousands of check files, so a bounded memo saves most of those regex runs.
    """

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode:
            tag: str = super().resolve(kind, value, implicit)
            return tag
        key = (value, tuple(implicit))
        found = _RESOLVED.get(key)
        if found is None:
            found = super().resolve(kind, value, implicit)
            if len(_RESOLVED) < _RESOLVED_MAX:
                _RESOLVED[key] = found
        return found


def load_yaml(path: Path) -> tuple[YamlSource | None, list[ConfigProblem]]:
    """Read and compose one YAML file; duplicate keys come back as problems with data."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, [ConfigProblem(path, 0, "", "cannot read the file: it is not UTF-8 text")]
    except OSError as exc:
        return None, [ConfigProblem(path, 0, "", f"cannot read the file: {exc.strerror}")]
    loader = _Loader(text)
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
            return self._scalar(node)
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

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        # Most scalars are strings: their value as written, without the constructor's
        # bookkeeping (a third of loading 20,000 check files went there).
        if node.tag == _STR_TAG:
            return node.value
        return self.loader.construct_object(node)

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
            key = self._scalar(key_node)
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
        if "$" not in text:
            return text  # nearly every string: no reference, no regex
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
