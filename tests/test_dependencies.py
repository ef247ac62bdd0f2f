"""The server imports only what ``pip install .`` installs: no test tool slips into it.

``gencaster check`` once imported httpx, which only the test extra brings, so it
failed on every real installation while the tests, which have httpx, stayed green.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions, requires
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "gencaster", ROOT / "models"]
# Imported only when an operator picks them, with a clear error naming the package.
OPTIONAL = {"google": "the google speech backend (google-cloud-texttospeech)"}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match[0]).lower()


def _runtime_distributions() -> set[str]:
    """The declared dependencies and, one level down, what they require themselves."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(requirement) for requirement in project["dependencies"]}
    transitive = set(declared)
    for name in declared:
        for requirement in requires(name) or []:
            if "extra ==" not in requirement:
                transitive.add(_name(requirement))
    return transitive


def _imported_top_levels() -> dict[str, str]:
    found: dict[str, str] = {}
    for folder in SOURCES:
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_of_the_server_is_a_runtime_dependency():
    runtime = _runtime_distributions()
    owners = packages_distributions()
    ours = {"gencaster", "models", "migrations"}
    missing = {}
    for module, where in _imported_top_levels().items():
        if module in ours or module in OPTIONAL or module in sys.stdlib_module_names:
            continue
        if module == "__future__":
            continue
        distributions = {_name(d) for d in owners.get(module, [])}
        if not distributions & runtime:
            missing[module] = where
    assert not missing, f"imported but not a runtime dependency: {missing}"
