"""Rewrites checked code so every risky operation goes through a run-time guard.

Generated names start with ``_gc_``; user code can never name them (no ``_`` names).
"""

from __future__ import annotations

import ast
from typing import Any

TICK = "_gc_tick"
GETATTR = "_gc_getattr"
CALL = "_gc_call"
BINOP = "_gc_binop"
AUGOP = "_gc_augop"
OPERAND = "_gc_operand"
FORMAT = "_gc_format"
BUILT = "_gc_built"
SLICE = "_gc_slice"

OPERATOR_SYMBOLS: dict[type[ast.operator], str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.MatMult: "@", ast.Div: "/",
    ast.Mod: "%", ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|",
    ast.BitXor: "^", ast.BitAnd: "&", ast.FloorDiv: "//",
}  # fmt: skip


def _name(identifier: str) -> ast.Name:
    return ast.Name(id=identifier, ctx=ast.Load())


def _call(helper: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=_name(helper), args=list(args), keywords=[])


def _tick() -> ast.Call:
    return _call(TICK)


class Rewriter(ast.NodeTransformer):
    """Inserts step ticks and routes attributes, calls, arithmetic and formatting to guards."""

    def __init__(self) -> None:
        self._temporaries = 0

    def rewrite(self, tree: ast.AST) -> ast.AST:
        tree = self.visit(tree)
        return ast.fix_missing_locations(tree)

    def _copy(self, new: Any, old: ast.AST) -> Any:
        return ast.copy_location(new, old)

    # Steps ------------------------------------------------------------------------

    def _tick_body(self, node: ast.For | ast.While | ast.FunctionDef | ast.AsyncFunctionDef) -> Any:
        self.generic_visit(node)
        node.body.insert(0, self._copy(ast.Expr(value=_tick()), node))
        return node

    visit_For = visit_While = visit_FunctionDef = visit_AsyncFunctionDef = _tick_body

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        self.generic_visit(node)
        node.body = self._copy(ast.BoolOp(op=ast.And(), values=[_tick(), node.body]), node.body)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> Any:
        self.generic_visit(node)
        node.ifs.insert(0, _tick())
        return node

    # Guarded operations -------------------------------------------------------------

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        self.generic_visit(node)
        return self._copy(_call(GETATTR, node.value, ast.Constant(node.attr)), node)

    def visit_Call(self, node: ast.Call) -> Any:
        self.generic_visit(node)
        return self._copy(
            ast.Call(func=_name(CALL), args=[node.func, *node.args], keywords=node.keywords), node
        )

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        self.generic_visit(node)
        symbol = ast.Constant(OPERATOR_SYMBOLS[type(node.op)])
        return self._copy(_call(BINOP, symbol, node.left, node.right), node)

    def visit_Compare(self, node: ast.Compare) -> Any:
        self.generic_visit(node)
        node.left = self._copy(_call(OPERAND, node.left), node.left)
        node.comparators = [self._copy(_call(OPERAND, item), item) for item in node.comparators]
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        self.generic_visit(node)
        symbol = ast.Constant(OPERATOR_SYMBOLS[type(node.op)])
        target = node.target
        if isinstance(target, ast.Name):
            current = ast.Name(id=target.id, ctx=ast.Load())
            value = _call(AUGOP, symbol, current, node.value)
            return self._copy(ast.Assign(targets=[target], value=value), node)
        assert isinstance(target, ast.Subscript)  # attributes were refused by the checker
        # Evaluate the container and the key once, as Python's own augmented assignment does.
        container, key = self._temporary(), self._temporary()
        index = target.slice
        if isinstance(index, ast.Slice):
            index = _call(
                SLICE,
                *(part or ast.Constant(None) for part in (index.lower, index.upper, index.step)),
            )
        item = ast.Subscript(value=_name(container), slice=_name(key), ctx=ast.Load())
        statements = [
            ast.Assign(targets=[ast.Name(id=container, ctx=ast.Store())], value=target.value),
            ast.Assign(targets=[ast.Name(id=key, ctx=ast.Store())], value=index),
            ast.Assign(
                targets=[ast.Subscript(value=_name(container), slice=_name(key), ctx=ast.Store())],
                value=_call(AUGOP, symbol, item, node.value),
            ),
        ]
        return [self._copy(statement, node) for statement in statements]

    def visit_JoinedStr(self, node: ast.JoinedStr) -> Any:
        values: list[ast.expr] = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                spec: ast.expr = ast.Constant("")
                if part.format_spec is not None:
                    spec = self.visit(part.format_spec)
                value = _call(FORMAT, self.visit(part.value), ast.Constant(part.conversion), spec)
                part = ast.FormattedValue(value=value, conversion=-1, format_spec=None)
            values.append(part)
        return self._copy(_call(BUILT, ast.JoinedStr(values=values)), node)

    def _temporary(self) -> str:
        self._temporaries += 1
        return f"_gc_t{self._temporaries}"
