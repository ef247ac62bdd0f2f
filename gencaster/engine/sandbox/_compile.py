"""Check, rewrite and compile code once; the same door is evaluated at every step."""

from __future__ import annotations

import ast
from functools import lru_cache
from types import CodeType
from typing import Literal

from ._checker import AST_LOCK, Checker, from_syntax_error, parse
from ._errors import InvalidPythonCode
from ._policy import CELL_NAMES, COMMON_NAMES
from ._rewriter import Rewriter

Mode = Literal["expression", "statements", "cell"]
CELL_FUNCTION = "_gc_cell"
FILENAMES: dict[Mode, str] = {
    "expression": "<expression>",
    "statements": "<statements>",
    "cell": "<cell>",
}


@lru_cache(maxsize=256)
def compile_code(code: str, mode: Mode) -> CodeType:
    """Raise ``InvalidPythonCode`` or return code ready for ``eval``/``exec``.

    A cell compiles to a module defining ``async def _gc_cell():`` with the cell as its
    body, so ``await`` and ``yield`` work at the cell's top level.
    """
    tree = parse(code, "eval" if mode == "expression" else "exec")
    Checker(code, CELL_NAMES if mode == "cell" else COMMON_NAMES).check(tree)
    tree = Rewriter().rewrite(tree)
    assert isinstance(tree, ast.Module | ast.Expression)  # the rewriter keeps the root kind
    if mode == "cell":
        assert isinstance(tree, ast.Module)
        tree = _as_async_function(tree)
    try:
        with AST_LOCK:
            return compile(tree, FILENAMES[mode], "eval" if mode == "expression" else "exec")
    except SyntaxError as exc:
        raise from_syntax_error(code, exc, byte_offsets=True) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise InvalidPythonCode("SyntaxError", f"code cannot be compiled: {exc}", code) from None


def is_blank(code: str) -> bool:
    """True for code without a statement: empty, blank or only comments.

    The editor saves such code while someone starts typing; a door with it never opens.
    A textual test, so it is cheap enough for the event loop on any length.
    """
    return all(not line.strip() or line.lstrip().startswith("#") for line in code.splitlines())


def _as_async_function(module: ast.Module) -> ast.Module:
    arguments = ast.arguments(
        posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
    )
    function = ast.AsyncFunctionDef(
        name=CELL_FUNCTION,
        args=arguments,
        # Empty, blank or comment-only code is a cell that does nothing.
        body=module.body or [ast.Pass(lineno=1, col_offset=0, end_lineno=1, end_col_offset=0)],
        decorator_list=[],
        returns=None,
        type_comment=None,
        lineno=1,
        col_offset=0,
    )
    # The body keeps its own positions; only the new function node needs one.
    return ast.Module(body=[function], type_ignores=[])
