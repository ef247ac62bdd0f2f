"""The socket as the protocol handlers see it: three methods and no web framework.

The web framework side wraps its websocket in a ``SocketAdapter`` and describes the
upgrade request in a ``ConnectionInfo``; the handlers only ever see these two.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from gencaster.transport.limits import CostBudget


@dataclass(frozen=True)
class InvalidFrame:
    """A frame that is not a JSON text message; each protocol decides what that costs."""

    reason: str


class SocketClosed(Exception):
    """The peer is gone: raised by ``send_json`` so that a sender stops quietly."""


class SocketAdapter(Protocol):
    def iter_json(self) -> AsyncGenerator[object, None]:
        """Yield each decoded message (or an ``InvalidFrame``) until the socket closes."""
        ...

    async def send_json(self, message: Mapping[str, Any]) -> None:
        """Send one message; raise ``SocketClosed`` when the socket is closed."""
        ...

    def send_now(self, text: str) -> bool:
        """Write one text frame at once if the socket takes it without waiting.

        False when it cannot (another send under way, a reader that fell behind, a
        closing socket): the caller then sends it with ``send_json``, in order."""
        ...

    async def close(self, code: int, reason: str) -> None:
        """Start the closing handshake; closing twice is harmless."""
        ...


@dataclass(slots=True)
class ConnectionInfo:
    """What hooks may know about one socket.

    ``headers`` (lower-case names) and ``cookies`` come from the upgrade request;
    ``init_payload`` is the ``connection_init`` payload once it arrived; ``state`` is
    where ``on_connect`` leaves what ``context_factory`` needs (e.g. the user), so the
    session is looked up once per socket rather than once per operation.
    ``client_address`` is the caller's address (behind trusted proxies, the forwarded
    one); ``budget`` is what the socket's operations may still spend.
    """

    subprotocol: str
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    init_payload: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    client_address: str = ""
    budget: CostBudget | None = None
