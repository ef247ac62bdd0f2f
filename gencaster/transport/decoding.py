"""The one place where bytes from a client become JSON values and media types.

HTTP bodies, GET parameters, the ``operations`` and ``map`` parts of a multipart
upload and WebSocket frames all pass through ``decode_json``. Whatever cannot be
decoded (invalid UTF-8, invalid JSON, nesting deep enough to exhaust the parser's
recursion) is an ``UndecodableInput``: a client error that each transport reports
in its own way (HTTP 400, close 4400, ``connection_error``), never a server error.
"""

from __future__ import annotations

import json
from email.message import Message
from typing import Any

# Far deeper than any real operation's variables, far below Python's recursion limit,
# so nothing downstream (coercion, re-encoding) can recurse too deeply either.
MAX_JSON_DEPTH = 64


class UndecodableInput(ValueError):
    """A body, part or frame that is not the JSON it must be; ``reason`` echoes no input."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_json(data: bytes | bytearray | str, what: str) -> Any:
    """``data`` decoded as JSON, or ``UndecodableInput`` naming ``what`` was wrong."""
    try:
        if not isinstance(data, str):
            data = bytes(data).decode("utf-8")
        value = json.loads(data)
    except UnicodeDecodeError as exc:
        raise UndecodableInput(f"{what} is not valid UTF-8") from exc
    except RecursionError as exc:
        raise UndecodableInput(f"{what} is nested too deeply") from exc
    except ValueError as exc:
        raise UndecodableInput(f"{what} is not valid JSON") from exc
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise UndecodableInput(f"{what} is nested too deeply")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def media_type(content_type: str) -> str:
    """The lower-case ``type/subtype`` of a Content-Type header, parameters dropped.

    Media types are case-insensitive (RFC 9110), so ``Application/JSON; charset=UTF-8``
    is ``application/json``.
    """
    message = Message()
    message["content-type"] = content_type
    return message.get_content_type() if content_type.strip() else ""
