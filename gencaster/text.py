"""What text from outside may be: storable by every database, and short in the log.

PostgreSQL cannot store NUL in text, and neither it nor any UTF-8 encoder can store
a lone surrogate (JSON and GraphQL escapes such as ``\\ud800`` produce them). Text
that is refused here is refused the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
LOG_CHARS = 200


def unstorable_reason(text: str) -> str | None:
    """Why ``text`` cannot be stored as text, or ``None`` when it can."""
    if "\0" in text:
        return "contains a NUL character"
    if _LONE_SURROGATE.search(text):
        return "contains a lone surrogate (not valid Unicode text)"
    return None


def clip(text: str, limit: int = LOG_CHARS) -> str:
    """``text`` shortened for a log line or an error message: input is never echoed whole."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"
