"""WebSocket close codes of the GraphQL transports, numbered as the graphql-ws library does.

A protocol error is a close, not an error message, so each code names exactly one failure.
The legacy ``graphql-ws`` subprotocol reuses the codes that apply to it.
"""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    BAD_REQUEST = 4400
    """A message the protocol does not allow (bad JSON, unknown type, bad fields)."""
    UNAUTHORIZED = 4401
    """An operation before ``connection_ack``."""
    FORBIDDEN = 4403
    """``on_connect`` refused the connection."""
    SUBPROTOCOL_NOT_ACCEPTABLE = 4406
    CONNECTION_INIT_TIMEOUT = 4408
    SUBSCRIBER_ALREADY_EXISTS = 4409
    """A ``subscribe`` whose id is still running."""
    TOO_MANY_INITIALISATION_REQUESTS = 4429
    INTERNAL_SERVER_ERROR = 4500
    """``on_connect`` failed unexpectedly (the traceback is logged, not sent)."""


MAX_REASON_BYTES = 123
"""RFC 6455 leaves 123 bytes for the reason of a close frame."""


def close_reason(text: str) -> str:
    """Cut ``text`` to fit a close frame, since a client-chosen id may be long."""
    encoded = text.encode()
    if len(encoded) <= MAX_REASON_BYTES:
        return text
    return encoded[: MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."
