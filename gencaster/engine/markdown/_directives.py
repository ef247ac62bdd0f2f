"""The inline tokens of the dialect: ``{name}`value``` rendered to SSML."""

import logging
from collections.abc import Callable
from typing import Protocol

from ._xml import escape_text, is_wellformed_fragment, parse_break_time

logger = logging.getLogger(__name__)

_WARNING_VALUE_CHARS = 80
# The dialect's tokens; a test checks they are exactly the ones ``Directives`` renders.
TOKEN_NAMES = frozenset(
    {"chars", "break", "moderate", "male", "female", "var", "raw_ssml", "python", "python_exec"}
)


class ExpressionRunner(Protocol):
    """Runs the code of ``python`` / ``python_exec`` tokens (the sandbox, in production)."""

    def evaluate(self, code: str, variables: dict[str, str]) -> object: ...

    def execute(self, code: str, variables: dict[str, str]) -> None: ...


def _shorten(value: str) -> str:
    """Keep warnings short even when a token carries a long value."""
    if len(value) <= _WARNING_VALUE_CHARS:
        return repr(value)
    return repr(value[:_WARNING_VALUE_CHARS]) + "…"


class Directives:
    """Renders the inline tokens of one ``render_ssml`` call.

    Holds that call's working variables and warnings, so nothing is shared between calls.
    """

    def __init__(self, variables: dict[str, str], runner: ExpressionRunner | None) -> None:
        self.variables = variables
        self.runner = runner
        self.warnings: list[str] = []
        self._handlers: dict[str, Callable[[str], str]] = {
            "chars": self._chars,
            "break": self._break,
            "moderate": self._moderate,
            "male": self._male,
            "female": self._female,
            "var": self._var,
            "raw_ssml": self._raw_ssml,
            "python": self._python,
            "python_exec": self._python_exec,
        }

    def render(self, name: str, value: str) -> str:
        """Return the SSML for ``{name}`value```; unknown names keep their value as text."""
        handler = self._handlers.get(name)
        if handler is None:
            self.warn(f"unknown markdown token {{{name}}} with value {_shorten(value)}")
            return escape_text(value)
        return handler(value)

    def warn(self, message: str) -> None:
        """Log a problem and keep it for the caller, who writes it to the stream log."""
        logger.warning("%s", message)
        self.warnings.append(message)

    def _chars(self, value: str) -> str:
        return f'<say-as interpret-as="characters">{escape_text(value)}</say-as>'

    def _break(self, value: str) -> str:
        time = parse_break_time(value.strip())
        if time is None:
            self.warn(f"invalid break time {_shorten(value)}; kept as text")
            return escape_text(value)
        return f'<break time="{time}"/>'

    def _moderate(self, value: str) -> str:
        return f'<emphasis level="moderate">{escape_text(value)}</emphasis>'

    def _male(self, value: str) -> str:
        return f'<voice gender="male">{escape_text(value)}</voice>'

    def _female(self, value: str) -> str:
        return f'<voice gender="female">{escape_text(value)}</voice>'

    def _var(self, value: str) -> str:
        name, separator, fallback = value.partition("|")
        name = name.strip()
        if name in self.variables:
            return escape_text(str(self.variables[name]))
        if separator:
            return escape_text(fallback.strip())
        self.warn(f"stream variable {_shorten(name)} is missing and has no fallback")
        return ""

    def _raw_ssml(self, value: str) -> str:
        # Trusted staff markup, but one typo must not make the whole speech unparsable.
        if not is_wellformed_fragment(value):
            self.warn(f"raw_ssml is not well-formed XML and was left out: {_shorten(value)}")
            return ""
        return value

    def _python(self, code: str) -> str:
        if self.runner is None:
            self.warn(f"python token without a runner was left out: {_shorten(code)}")
            return ""
        try:
            return escape_text(str(self.runner.evaluate(code, self.variables)))
        except Exception as exc:  # staff code may fail in any way; the speech goes on without it
            self.warn(f"python token {_shorten(code)} failed: {type(exc).__name__}: {exc}")
            return ""

    def _python_exec(self, code: str) -> str:
        if self.runner is None:
            self.warn(f"python_exec token without a runner was left out: {_shorten(code)}")
            return ""
        try:
            self.runner.execute(code, self.variables)
        except Exception as exc:  # staff code may fail in any way; the speech goes on without it
            self.warn(f"python_exec token {_shorten(code)} failed: {type(exc).__name__}: {exc}")
        return ""
