"""Connections that cannot be held open for free: a head deadline and a cap per address.

Sanic's request timeout restarts with every byte received, so a client that trickles
its request head one byte at a time holds a connection as long as it likes. The
protocol here measures from the first byte of a request instead: a request whose head
(and, on routes that do not stream, body) is not in after ``head_timeout`` seconds
is answered 408 and the connection closed. It also counts the open connections
(HTTP and WebSocket) of each peer address and closes new ones past
``max_per_address``. Behind a reverse proxy every connection comes from the proxy,
so raise the cap there and let the proxy limit its clients.

Sanic builds one protocol object per connection from the class it is given, so the
server must be started with ``protocol=GuardedProtocol`` (``gencaster serve`` and the
test helpers do).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sanic.exceptions import RequestTimeout
from sanic.http.constants import Stage
from sanic.server.protocols.websocket_protocol import WebSocketProtocol

__all__ = ["ConnectionLimits", "GuardedProtocol"]

logger = logging.getLogger(__name__)


@dataclass
class ConnectionLimits:
    """Shared by every connection of one app; ``open`` counts connections per address."""

    head_timeout: float = 10.0
    max_per_address: int = 64
    open: Counter[str] = field(default_factory=Counter)


class GuardedProtocol(WebSocketProtocol):
    """Sanic's protocol, plus an absolute request deadline and a cap per address."""

    __slots__ = ("_address", "_connection_http", "_request_started")  # Sanic's use slots

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._address: str | None = None
        self._request_started: float | None = None
        self._connection_http: Any = None

    def _setup_connection(self, *args: Any, **kwargs: Any) -> None:
        super()._setup_connection(*args, **kwargs)
        self._connection_http = self._http

    async def connection_task(self) -> None:
        """Sanic's, then the request and its stream let go of each other.

        Sanic's ``Http`` keeps a bound method of itself (``response_func``), and after a
        WebSocket it and its request point at each other: cycles that only a full
        collection frees, holding the request, its headers and the socket's state with
        them. Broken here, a closed connection is freed as soon as it closes, which lets
        the collector policy (``gencaster.transport.collector``) freeze live ones.
        """
        try:
            await super().connection_task()
        finally:
            http, self._connection_http = self._connection_http, None
            if http is not None:
                http.response_func = None
                if http.request is not None:
                    http.request.stream = None
                    http.request = None

    def _limits(self) -> ConnectionLimits | None:
        return getattr(self.app.ctx, "connection_limits", None)

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        limits = self._limits()
        peer = transport.get_extra_info("peername")
        if limits is None or not peer:
            return
        self._address = str(peer[0])
        limits.open[self._address] += 1
        if limits.open[self._address] > limits.max_per_address:
            if limits.open[self._address] == limits.max_per_address + 1:
                # Once per burst, not per refused connection: the peer sets the rate.
                logger.warning(
                    "Closing new connections from %s: %d are open already",
                    self._address,
                    limits.max_per_address,
                )
            transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        limits = self._limits()
        address, self._address = self._address, None
        if limits is not None and address is not None:
            limits.open[address] -= 1
            if limits.open[address] <= 0:
                del limits.open[address]
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # Bytes arriving while no request head is being read begin the next request. That
        # includes bytes read with the connection, before the connection task has made
        # ``_http``: a client that writes at once must not escape the deadline.
        http = getattr(self, "_http", None)
        if http is None or http.stage is not Stage.REQUEST or self._request_started is None:
            self._request_started = time.monotonic()
        super().data_received(data)

    def check_timeouts(self) -> None:
        limits = self._limits()
        http = getattr(self, "_http", None)  # set by the connection task, which may not have run
        if limits is not None and http is not None and http.stage is Stage.REQUEST:
            started = self._request_started
            if started is not None and time.monotonic() - started > limits.head_timeout:
                logger.debug("Request head too slow; closing the connection")
                http.exception = RequestTimeout("Request Timeout")
                if self._task is not None:
                    self._task.cancel()
                return
        super().check_timeouts()
