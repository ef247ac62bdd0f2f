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
ITEM = "_gc_item"
KEY = "_gc_key"
SETITEM = "_gc_setitem"
HASHED = "_gc_hashed"
COLLECT = "_gc_collect"
MERGE = "_gc_merge"
CONTAINS = "_gc_contains"

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

    # Building values: everything hashed is weighed first, everything spliced counted -----

    def visit_Set(self, node: ast.Set) -> Any:
        self.generic_visit(node)
        if any(isinstance(item, ast.Starred) for item in node.elts):
            return self._copy(self._collect("set", node.elts), node)
        node.elts = [self._copy(_call(HASHED, item), item) for item in node.elts]
        return node

    def visit_List(self, node: ast.List | ast.Tuple) -> Any:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load) and any(
            isinstance(item, ast.Starred) for item in node.elts
        ):
            kind = "list" if isinstance(node, ast.List) else "tuple"
            return self._copy(self._collect(kind, node.elts), node)
        return node

    visit_Tuple = visit_List

    def visit_Dict(self, node: ast.Dict) -> Any:
        self.generic_visit(node)
        if any(key is None for key in node.keys):
            parts: list[ast.expr] = []
            for key, value in zip(node.keys, node.values, strict=True):
                if key is None:
                    parts.append(value)
                else:
                    parts.append(ast.Dict(keys=[_call(HASHED, key)], values=[value]))
            return self._copy(_call(MERGE, *parts), node)
        node.keys = [self._copy(_call(HASHED, key), key) for key in node.keys if key]
        return node

    def visit_ListComp(self, node: ast.ListComp | ast.SetComp | ast.DictComp) -> Any:
        self.generic_visit(node)
        if isinstance(node, ast.SetComp):
            node.elt = self._copy(_call(HASHED, node.elt), node.elt)
        elif isinstance(node, ast.DictComp):
            node.key = self._copy(_call(HASHED, node.key), node.key)
        return self._copy(_call(BUILT, node), node)

    visit_SetComp = visit_DictComp = visit_ListComp

    def _collect(self, kind: str, items: list[ast.expr]) -> ast.Call:
        """``[a, *b]`` -> ``_gc_collect("list", (a,), b)``: sizes are known before joining."""
        parts: list[ast.expr] = []
        for item in items:
            if isinstance(item, ast.Starred):
                parts.append(item.value)
            else:
                parts.append(ast.Tuple(elts=[item], ctx=ast.Load()))
        return _call(COLLECT, ast.Constant(kind), *parts)

    # Items ------------------------------------------------------------------------------

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            return self._copy(_call(ITEM, node.value, self._index(node.slice)), node)
        deleting = ast.Constant(isinstance(node.ctx, ast.Del))
        node.slice = self._copy(_call(KEY, self._index(node.slice), deleting), node.slice)
        return node

    def _index(self, index: ast.expr) -> ast.expr:
        if isinstance(index, ast.Slice):
            parts = (index.lower, index.upper, index.step)
            return self._copy(_call(SLICE, *(part or ast.Constant(None) for part in parts)), index)
        return index

    def visit_Assign(self, node: ast.Assign) -> Any:
        target = node.targets[0]
        if len(node.targets) == 1 and isinstance(target, ast.Subscript):
            # ``x[k] = v`` -> ``_gc_setitem(v, x, k)``: Python evaluates v, then x, then k.
            value, container = self.visit(node.value), self.visit(target.value)
            index = self._index(self.visit(target.slice))
            call = _call(SETITEM, value, container, index)
            return self._copy(ast.Expr(value=call), node)
        self.generic_visit(node)
        return node

    def visit_Compare(self, node: ast.Compare) -> Any:
        if len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn):
            self.generic_visit(node)
            test: ast.expr = _call(CONTAINS, node.left, node.comparators[0])
            if isinstance(node.ops[0], ast.NotIn):
                test = ast.UnaryOp(op=ast.Not(), operand=test)
            return self._copy(test, node)
        self.generic_visit(node)
        node.left = self._copy(_call(OPERAND, node.left), node.left)
        node.comparators = [self._copy(_call(OPERAND, item), item) for item in node.comparators]
        return node

    # Guarded operations -------------------------------------------------------------

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        self.generic_visit(node)
        return self._copy(_call(GETATTR, node.value, ast.Constant(node.attr)), node)

    def visit_Call(self, node: ast.Call) -> Any:
        self.generic_visit(node)
        args = node.args
        if any(isinstance(arg, ast.Starred) for arg in args):
            args = [ast.Starred(value=self._collect("tuple", args), ctx=ast.Load())]
        keywords = node.keywords
        if sum(keyword.arg is None for keyword in keywords) > 1:
            parts = [
                keyword.value
                if keyword.arg is None
                else ast.Dict(keys=[ast.Constant(keyword.arg)], values=[keyword.value])
                for keyword in keywords
            ]
            keywords = [ast.keyword(arg=None, value=_call(MERGE, *parts))]
        return self._copy(
            ast.Call(func=_name(CALL), args=[node.func, *args], keywords=keywords), node
        )

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        self.generic_visit(node)
        symbol = ast.Constant(OPERATOR_SYMBOLS[type(node.op)])
        return self._copy(_call(BINOP, symbol, node.left, node.right), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        symbol = ast.Constant(OPERATOR_SYMBOLS[type(node.op)])
        target = node.target
        value = self.visit(node.value)
        if isinstance(target, ast.Name):
            current = ast.Name(id=target.id, ctx=ast.Load())
            result = _call(AUGOP, symbol, current, value)
            return self._copy(ast.Assign(targets=[target], value=result), node)
        assert isinstance(target, ast.Subscript)  # attributes were refused by the checker
        # Evaluate the container and the key once, as Python's own augmented assignment does.
        container, key = self._temporary(), self._temporary()
        index = self._index(self.visit(target.slice))
        item = _call(ITEM, _name(container), _name(key))
        statements = [
            ast.Assign(
                targets=[ast.Name(id=container, ctx=ast.Store())], value=self.visit(target.value)
            ),
            ast.Assign(targets=[ast.Name(id=key, ctx=ast.Store())], value=index),
            ast.Expr(
                value=_call(
                    SETITEM, _call(AUGOP, symbol, item, value), _name(container), _name(key)
                )
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
