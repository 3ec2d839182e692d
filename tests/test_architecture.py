"""The import rules of the package, checked on the source (docs/architecture.md, "The house").

Every `import` counts, also those under `if TYPE_CHECKING:` and inside functions:
a cycle or a forbidden edge hidden there is still a design that does not hold.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sitewatch"

DECISIONS = (
    "sitewatch.outages.rules",
    "sitewatch.outages.quorum",
    "sitewatch.outages.windows",
    "sitewatch.outages.recurrence",
    "sitewatch.outages.proberfault",
    "sitewatch.tickets.rules",
    "sitewatch.paging.escalation",
    "sitewatch.paging.oncall",
    "sitewatch.paging.planner",
    "sitewatch.paging.render",
    "sitewatch.paging.retry",
    "sitewatch.paging.rules",
    "sitewatch.stats.compute",
    "sitewatch.cluster.sharding",
)
"""The modules that decide: pure functions over values, no I/O."""

FORBIDDEN_TO_DECISIONS = (
    "sitewatch.storage",
    "sitewatch.probing",
    "sitewatch.api",
    "sitewatch.app",
    "sitewatch.cli",
    "aiohttp",
    "sqlite3",
    "psycopg",
    "asyncio",
)

RULES: list[tuple[str, tuple[str, ...], str]] = [
    ("sitewatch.model", ("sitewatch.model",), "the vocabulary imports only itself"),
    ("sitewatch.storage", ("sitewatch.model", "sitewatch.storage"), "storage stores and loads"),
    ("sitewatch.clock", (), "the clock stands alone"),
]
"""(package, what its modules may import from sitewatch, why)."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(module: str) -> Iterator[str]:
    """Yield every module `module` imports (absolute names), wherever the import stands."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
            # `from sitewatch.paging import rules` depends on that module, not on what
            # the package's __init__ holds; any other name depends on the module named.
            if len(submodules) < len(node.names):
                yield base
            yield from submodules


def _ancestors(module: str) -> Iterator[str]:
    """Yield the packages above `module` (`a.b.c`: `a.b`, then `a`)."""
    while "." in module:
        module = module.rpartition(".")[0]
        yield module


def _graph() -> dict[str, set[str]]:
    """Return who imports whom, with the packages Python imports on the way.

    Importing `a.b.c` runs `a/__init__.py` and `a/b/__init__.py` first, so a package
    whose `__init__` imports its children is an edge too: a cycle through it fails at
    run time whichever module is imported first. A module's own packages are left
    out (they are already being imported when it is).
    """
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        own = set(_ancestors(module))
        edges = set()
        for imported in _imports(module):
            edges |= {imported, *_ancestors(imported)} - own
        graph[module] = {i for i in edges if i in MODULES and i != module}
    return graph


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_the_package_has_no_import_cycle() -> None:
    graph = _graph()
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("decision", DECISIONS)
def test_a_decision_module_imports_no_io(decision: str) -> None:
    assert decision in MODULES, f"{decision} is listed as a decision module but does not exist"
    bad = sorted(i for i in _imports(decision) if any(_under(i, f) for f in FORBIDDEN_TO_DECISIONS))
    assert bad == [], f"{decision} decides, so it must not import {bad}"


@pytest.mark.parametrize(("package", "allowed", "why"), RULES)
def test_a_lower_layer_imports_only_what_is_below_it(
    package: str, allowed: tuple[str, ...], why: str
) -> None:
    def foreign(name: str) -> bool:
        inside = _under(name, "sitewatch") and name != "sitewatch"
        return inside and not any(_under(name, a) for a in allowed)

    offending = {
        module: sorted(i for i in _imports(module) if foreign(i))
        for module in MODULES
        if _under(module, package)
    }
    offending = {m: i for m, i in offending.items() if i}
    assert offending == {}, f"{package}: {why}; found {offending}"


def test_modules_stay_readable_in_one_sitting() -> None:
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > 330}
    assert long == {}, f"modules over ~300 lines: {long}"
