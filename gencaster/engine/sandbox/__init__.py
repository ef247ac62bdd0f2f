"""The Python sandbox for script cells, door conditions and markdown ``python`` tokens.

Code is checked statically (``check_expression``, ``check_cell`` raise
``InvalidPythonCode``), rewritten so attribute reads, calls, arithmetic, comparisons and
formatting pass through run-time guards, and run against an allow-list of names under a
``Budget`` of steps, time slices and sizes (a failure raises ``SandboxError``).
"""

from ._budget import Budget, Meter
from ._checker import parse_source
from ._compile import compile_code, is_blank
from ._errors import InvalidPythonCode, SandboxError
from ._runner import CellContext, evaluate_expression, execute_statements, run_cell


def check_expression(code: str) -> None:
    """Raise ``InvalidPythonCode`` unless ``code`` is an allowed single expression."""
    compile_code(code, "expression")


def check_cell(code: str) -> None:
    """Raise ``InvalidPythonCode`` unless ``code`` is an allowed cell (await/yield allowed)."""
    compile_code(code, "cell")


__all__ = [
    "Budget",
    "CellContext",
    "InvalidPythonCode",
    "Meter",
    "SandboxError",
    "check_cell",
    "check_expression",
    "compile_code",
    "evaluate_expression",
    "execute_statements",
    "is_blank",
    "parse_source",
    "run_cell",
]
