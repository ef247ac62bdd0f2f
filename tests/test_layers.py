"""Imports point down the layers, and no modules import each other in a circle.

Read from the source with ``ast`` (nothing is imported), so an import inside a
function, where a cycle likes to hide, counts like any other. Imports under
``if TYPE_CHECKING:`` never run, so they cannot close a cycle; they still name a
layer, so they must point down too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "gencaster"

# Lowest first: a unit (a top-level module or package of gencaster, or ``models``)
# may import only units listed before it. A new unit needs its place here.
LAYERS = [
    "models",
    "errors",
    "text",
    "metrics",
    "settings",
    "supercollider",
    "tasks",
    "throttled_log",
    "throttle",
    "collector",
    "broker",
    "db",
    "statements",
    "migrations",
    "sqlite",
    "media",
    "distributor",
    "graph_changes",
    "access",
    "auth",
    "audio",
    "stream_variables",
    "engine",
    "story_graph",
    "authoring",
    "streaming",
    "health",
    "admin",
    "services",
    "schema",
    "transport",
    "app",
    "cli_admin",
    "cli",
]


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    type_only: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def _type_checking_nodes(tree: ast.AST) -> set[ast.AST]:
    nodes: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                nodes.update(ast.walk(child))
    return nodes


def _targets(node: ast.AST, module: str, is_package: bool, known: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        imported = ".".join(base + ([node.module] if node.module else []))
    else:
        imported = node.module or ""
    submodules = [f"{imported}.{a.name}" for a in node.names if f"{imported}.{a.name}" in known]
    # ``from gencaster.schema import types`` inside gencaster.schema reaches the sibling
    # module, not what the package's __init__ defines.
    if module.startswith(imported + ".") and len(submodules) == len(node.names):
        return submodules
    return [imported, *submodules]


def imports() -> Iterator[Import]:
    known = modules()
    names = set(known)
    for module, path in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        type_only = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            for target in _targets(node, module, path.name == "__init__.py", names):
                if target.split(".")[0] in ("gencaster", "models") and target != module:
                    yield Import(module, target, node in type_only)


def unit_of(module: str) -> str:
    parts = module.split(".")
    return "models" if parts[0] == "models" else parts[1] if len(parts) > 1 else "gencaster"


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_unit_has_a_layer() -> None:
    units = {unit_of(module) for module in modules()} - {"gencaster"}
    assert sorted(units - set(LAYERS)) == [], "give each new unit its place in LAYERS"


def test_imports_point_down_the_layers() -> None:
    rank = {unit: position for position, unit in enumerate(LAYERS)}
    upward = sorted(
        f"{found.source} -> {found.target}"
        for found in imports()
        if unit_of(found.source) != unit_of(found.target)
        and unit_of(found.source) in rank
        and rank.get(unit_of(found.target), -1) >= rank[unit_of(found.source)]
    )
    assert upward == []


def test_no_modules_import_each_other_in_a_circle() -> None:
    edges: dict[str, set[str]] = {}
    known = set(modules())
    for found in imports():
        if not found.type_only and found.target in known:
            edges.setdefault(found.source, set()).add(found.target)
    assert cycles(edges) == []


def test_the_checks_see_a_cycle_and_an_upward_import() -> None:
    """The checks themselves can fail: a circle and a wrong-way edge are both found."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert unit_of("gencaster.streaming.runtime") == "streaming"
    assert LAYERS.index("streaming") < LAYERS.index("app")
