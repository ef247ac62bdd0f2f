"""Static checks: parse, then refuse what the sandbox never allows.

Errors carry the offending line with a ``^`` under the column, so editors see where.
"""

from __future__ import annotations

import ast
import re
import threading
from collections.abc import Iterator

from ._errors import InvalidPythonCode
from ._policy import is_forbidden_attribute

MAX_CODE_CHARS = 50_000

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Module, ast.Expression, ast.FunctionDef, ast.AsyncFunctionDef, ast.Return,
    ast.Delete, ast.Assign, ast.AugAssign, ast.For, ast.While, ast.If, ast.Raise, ast.Try,
    ast.Assert, ast.Expr, ast.Pass, ast.Break, ast.Continue,
    ast.BoolOp, ast.NamedExpr, ast.BinOp, ast.UnaryOp, ast.Lambda, ast.IfExp, ast.Dict,
    ast.Set, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Await,
    ast.Yield, ast.Compare, ast.Call, ast.FormattedValue, ast.JoinedStr, ast.Constant,
    ast.Attribute, ast.Subscript, ast.Starred, ast.Name, ast.List, ast.Tuple, ast.Slice,
    ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop, ast.comprehension,
    ast.ExceptHandler, ast.arguments, ast.arg, ast.keyword,
)  # fmt: skip

_NODE_NAMES = {
    ast.Import: "import",
    ast.ImportFrom: "import",
    ast.Global: "global",
    ast.Nonlocal: "nonlocal",
    ast.ClassDef: "class definitions",
    ast.With: "with",
    ast.AsyncWith: "async with",
    ast.AsyncFor: "async for",
    ast.YieldFrom: "yield from",
    ast.Match: "match",
    ast.TryStar: "except*",
    ast.AnnAssign: "annotated assignments",
}

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def caret_message(code: str, lineno: int, column: int, message: str) -> str:
    """The source line, a caret under ``column`` (0-based, in characters), the message."""
    lines = _LINE_BREAK.split(code)
    line = lines[lineno - 1] if 1 <= lineno <= len(lines) else ""
    column = max(0, min(column, len(line)))
    indent = "".join(char if char == "\t" else " " for char in line[:column])
    return f"{line}\n{indent}^\n{message}"


def _char_column(code: str, lineno: int, byte_column: int) -> int:
    """``ast`` columns count UTF-8 bytes; carets need characters."""
    lines = _LINE_BREAK.split(code)
    if not 1 <= lineno <= len(lines):
        return byte_column
    return len(lines[lineno - 1].encode()[:byte_column].decode(errors="ignore"))


def _position(node: ast.AST) -> tuple[int, int]:
    """Where to put the caret (line, byte column): at the name itself for ``x.name``."""
    if isinstance(node, ast.Attribute) and node.end_lineno and node.end_col_offset is not None:
        return node.end_lineno, node.end_col_offset - len(node.attr.encode())
    return getattr(node, "lineno", 1), getattr(node, "col_offset", 0)


def reject(code: str, node: ast.AST, error_type: str, message: str) -> InvalidPythonCode:
    lineno, byte_column = _position(node)
    column = _char_column(code, lineno, byte_column)
    return InvalidPythonCode(error_type, caret_message(code, lineno, column, message), code)


def from_syntax_error(code: str, exc: SyntaxError, *, byte_offsets: bool) -> InvalidPythonCode:
    """``byte_offsets``: errors from compiling an AST count bytes, parser errors characters."""
    lineno = exc.lineno or 1
    if not exc.offset:  # the parser reports no column when the code ends too early
        lines = _LINE_BREAK.split(code)
        column = len(lines[lineno - 1]) if lineno <= len(lines) else 0
    elif byte_offsets:
        column = _char_column(code, lineno, exc.offset - 1)
    else:
        column = exc.offset - 1
    message = caret_message(code, lineno, column, exc.msg)
    return InvalidPythonCode(type(exc).__name__, message, code)


# Python 3.11 keeps the depth counter of its AST conversion per interpreter, not per
# thread: two threads parsing or compiling at once can trip "AST constructor recursion
# depth mismatch" (CPython gh-106905). Cells, doors and markdown are checked and run on
# worker threads, so every parse and compile of code from authors takes this lock.
AST_LOCK = threading.Lock()


def parse_source(code: str, mode: str) -> ast.AST:
    """``ast.parse`` under ``AST_LOCK``; its errors are the caller's to handle."""
    with AST_LOCK:
        return ast.parse(code, mode=mode)


def parse(code: str, mode: str) -> ast.AST:
    if not isinstance(code, str):
        raise InvalidPythonCode("TypeError", "code must be text", str(code)[:100])
    if len(code) > MAX_CODE_CHARS:
        raise InvalidPythonCode(
            "CodeTooLong", f"code is longer than {MAX_CODE_CHARS} characters", code
        )
    try:
        return parse_source(code, mode)
    except SyntaxError as exc:
        raise from_syntax_error(code, exc, byte_offsets=False) from None
    except (RecursionError, MemoryError):
        raise InvalidPythonCode("SyntaxError", "code is nested too deeply", code) from None
    except ValueError as exc:  # e.g. NUL characters
        raise InvalidPythonCode("SyntaxError", f"code cannot be parsed: {exc}", code) from None


def _bound_names(tree: ast.AST) -> Iterator[str]:
    """Every name the code binds anywhere (scopes are not told apart)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            yield node.id
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name
        elif isinstance(node, ast.arg):
            yield node.arg
        elif isinstance(node, ast.ExceptHandler) and node.name:
            yield node.name


def _finally_escapes(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """``return``, ``break`` and ``continue`` that leave a ``finally`` block early.

    They drop the exception in flight, including the cancellation that ends a stream.
    """
    for statement in body:
        for node in _walk_same_function(statement):
            if isinstance(node, ast.Return) or (
                isinstance(node, ast.Break | ast.Continue) and not _in_loop_under(statement, node)
            ):
                yield node


def _walk_same_function(node: ast.AST) -> Iterator[ast.AST]:
    """Like ``ast.walk``, without entering nested functions and lambdas."""
    pending = [node]
    while pending:
        item = pending.pop()
        if not isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield item
            pending.extend(ast.iter_child_nodes(item))


def _in_loop_under(root: ast.stmt, target: ast.AST) -> bool:
    """Whether a ``break``/``continue`` under ``root`` belongs to a loop also under ``root``."""
    return any(
        child is target
        for node in _walk_same_function(root)
        if isinstance(node, ast.For | ast.While)
        for statement in node.body
        for child in _walk_same_function(statement)
    )


class Checker(ast.NodeVisitor):
    """Walks a parsed tree and raises ``InvalidPythonCode`` at the first forbidden node."""

    def __init__(self, code: str, allowed_names: frozenset[str]) -> None:
        self.code = code
        self.allowed_names = allowed_names
        self.known_names: frozenset[str] = frozenset()
        self.function_depth = 0

    def check(self, tree: ast.AST) -> None:
        self.known_names = self.allowed_names | frozenset(_bound_names(tree))
        try:
            self.visit(tree)
        except RecursionError:
            raise InvalidPythonCode("SyntaxError", "code is nested too deeply", self.code) from None

    def fail(self, node: ast.AST, error_type: str, message: str) -> None:
        raise reject(self.code, node, error_type, message)

    def generic_visit(self, node: ast.AST) -> None:
        if not isinstance(node, _ALLOWED_NODES):
            what = _NODE_NAMES.get(type(node), type(node).__name__)
            self.fail(node, "ForbiddenSyntax", f"not allowed in the sandbox: {what}")
        super().generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self._check_identifier(node, node.id)
        if isinstance(node.ctx, ast.Load) and node.id not in self.known_names:
            self.fail(node, "ForbiddenName", f"name {node.id!r} is not defined or not allowed")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if is_forbidden_attribute(node.attr):
            self.fail(node, "ForbiddenAttribute", f"attribute {node.attr!r} is not allowed")
        if not isinstance(node.ctx, ast.Load):
            self.fail(node, "ForbiddenSyntax", "assigning to attributes is not allowed")
        self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        self._check_identifier(node, node.arg)
        self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg is not None:
            self._check_identifier(node, node.arg)
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is None:
            self.fail(
                node, "ForbiddenSyntax", "a bare except is not allowed; use except Exception:"
            )
        if node.name:
            self._check_identifier(node, node.name)
        self.generic_visit(node)

    def visit_Try(self, node: ast.Try) -> None:
        for escape in _finally_escapes(node.finalbody):
            word = "return" if isinstance(escape, ast.Return) else type(escape).__name__.lower()
            self.fail(
                escape,
                "ForbiddenSyntax",
                f"'{word}' inside 'finally' is not allowed: it would swallow the stream's end",
            )
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            self.fail(node.target, "ForbiddenSyntax", "async comprehensions are not allowed")
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._check_identifier(node, node.name)
        if node.decorator_list:
            self.fail(node.decorator_list[0], "ForbiddenSyntax", "decorators are not allowed")
        self.function_depth += 1
        self.generic_visit(node)
        self.function_depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.function_depth += 1
        self.generic_visit(node)
        self.function_depth -= 1

    def visit_Return(self, node: ast.Return) -> None:
        if self.function_depth == 0 and node.value is not None:
            self.fail(node, "ForbiddenSyntax", "a cell may only 'return' without a value")
        self.generic_visit(node)

    def _check_identifier(self, node: ast.AST, name: str) -> None:
        if name.startswith("_"):
            self.fail(node, "ForbiddenName", f"names starting with '_' are not allowed: {name!r}")
