"""What a piece of sandboxed code does with stream variables and visit counts, read off
its syntax tree: the variables it reads and sets, and the node names it counts.

Only constant names are understood (``vars["x"]``, ``Input("x")``); a write with a
computed name (``vars[name] = …``) makes ``dynamic_writes`` true, and then lint
cannot tell which reads are unset.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from gencaster.engine.sandbox import parse_source

# Where each dialog element takes its ``key`` when given positionally, and its default.
_KEYED = {"Input": (0, None), "Checkbox": (0, None), "Button": (2, "")}
_BUTTON_DEFAULTS = {"ok": "ok", "cancel": "cancel"}


@dataclass
class CodeFacts:
    reads: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)
    visited: set[str] = field(default_factory=set)
    dynamic_writes: bool = False


def code_facts(code: str, mode: str) -> CodeFacts:
    facts = CodeFacts()
    try:
        tree = parse_source(code, mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return facts
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_vars(node.value):
            _subscript(node, facts)
        elif isinstance(node, ast.Call):
            _call(node, facts)
    return facts


def _is_vars(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "vars"


def _constant(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _subscript(node: ast.Subscript, facts: CodeFacts) -> None:
    key = _constant(node.slice)
    if isinstance(node.ctx, ast.Load):
        if key is not None:
            facts.reads.add(key)
    elif key is not None:
        facts.writes.add(key)
    else:
        facts.dynamic_writes = True


def _argument(call: ast.Call, position: int, keyword: str) -> ast.AST | None:
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    return call.args[position] if len(call.args) > position else None


def _set(facts: CodeFacts, node: ast.AST | None) -> None:
    key = _constant(node)
    if key is not None:
        facts.writes.add(key)
    else:
        facts.dynamic_writes = True


def _call(call: ast.Call, facts: CodeFacts) -> None:
    func = call.func
    if isinstance(func, ast.Attribute) and _is_vars(func.value):
        _vars_method(call, func.attr, facts)
    elif isinstance(func, ast.Name) and func.id == "visits":
        name = _constant(_argument(call, 0, "name"))
        if name is not None:
            facts.visited.add(name)
    elif isinstance(func, ast.Name) and func.id == "wait_for_stream_variable":
        _set(facts, _argument(call, 0, "name"))
    elif isinstance(func, ast.Name) and func.id in _KEYED:
        position, default = _KEYED[func.id]
        key = _argument(call, position, "key")
        if key is not None:
            _set(facts, key)
        elif default:
            facts.writes.add(default)
    elif (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "Button"
        and func.attr in _BUTTON_DEFAULTS
    ):
        key = _argument(call, 2, "key")
        if key is None:
            facts.writes.add(_BUTTON_DEFAULTS[func.attr])
        else:
            _set(facts, key)


def _vars_method(call: ast.Call, method: str, facts: CodeFacts) -> None:
    if method in ("get", "pop"):
        key = _constant(_argument(call, 0, "key"))
        has_default = len(call.args) > 1 or bool(call.keywords)
        if key is not None and not has_default:
            facts.reads.add(key)
    elif method == "setdefault":
        _set(facts, _argument(call, 0, "key"))
    elif method == "update":
        _update(call, facts)


def _update(call: ast.Call, facts: CodeFacts) -> None:
    for item in call.keywords:
        if item.arg is None:
            facts.dynamic_writes = True
        else:
            facts.writes.add(item.arg)
    for argument in call.args:
        if isinstance(argument, ast.Dict) and all(_constant(k) is not None for k in argument.keys):
            facts.writes.update(_constant(k) or "" for k in argument.keys)
        else:
            facts.dynamic_writes = True
