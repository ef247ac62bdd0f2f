"""The sandbox's exceptions.

- ``InvalidPythonCode``: code rejected before it runs (shown to editors via GraphQL).
- ``SandboxError``: a run failed: budget, forbidden operation, size limit, or an
  exception raised by the code itself.
- ``Violation`` (internal): raised inside a run; a BaseException so that the sandboxed
  ``except Exception:`` cannot swallow it.
"""

from __future__ import annotations

import reprlib
from types import TracebackType

_MAX_MESSAGE_CHARS = 500
_ARGUMENT_REPR = reprlib.Repr()
_ARGUMENT_REPR.maxstring = 200
_ARGUMENT_REPR.maxlong = 100
_PLAIN_ARGUMENTS = (str, int, float, bool, type(None), list, tuple, dict)


def one_line(text: str, limit: int = _MAX_MESSAGE_CHARS) -> str:
    """Messages go to a stream log line by line, so fold and shorten them."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class InvalidPythonCode(Exception):
    """Code that is rejected without running it."""

    def __init__(self, error_type: str, error_message: str, error_code: str) -> None:
        super().__init__(error_message)
        self.error_type = error_type
        self.error_message = error_message
        self.error_code = error_code

    def __repr__(self) -> str:
        return f"InvalidPythonCode({self.error_type!r}, {self.error_message!r})"


class SandboxError(Exception):
    """A run that failed; ``message`` is one line, safe to write to a stream log."""

    def __init__(self, message: str) -> None:
        self.message = one_line(message)
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"SandboxError({self.message!r})"


class Violation(BaseException):
    """A broken rule inside a run; becomes a ``SandboxError`` at the boundary."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def describe_failure(exc: BaseException, filename: str) -> str:
    """What went wrong, and on which line of the sandboxed code."""
    if isinstance(exc, Violation):
        message = exc.message
    elif isinstance(exc, RecursionError):
        message = "RecursionError: maximum recursion depth exceeded"
    elif isinstance(exc, MemoryError):
        message = "MemoryError: out of memory"
    else:
        message = f"{type(exc).__name__}: {_describe(exc)}".rstrip(": ")
    line = _user_line(exc.__traceback__, filename)
    return f"{message} (line {line})" if line else message


def _describe(exc: BaseException) -> str:
    """The exception's arguments, shortened; never the full repr of a huge value."""
    parts = []
    for argument in exc.args[:3]:
        if isinstance(argument, str) and not isinstance(exc, KeyError):
            parts.append(argument[:500])
        elif isinstance(argument, _PLAIN_ARGUMENTS):
            parts.append(_ARGUMENT_REPR.repr(argument))
        else:
            parts.append(f"<{type(argument).__name__}>")
    return ", ".join(parts)


def _user_line(trace: TracebackType | None, filename: str) -> int | None:
    line = None
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == filename:
            line = trace.tb_lineno
        trace = trace.tb_next
    return line
