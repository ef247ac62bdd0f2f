"""The OSC server: receives the stream points' datagrams and hands them to an ``OscHandler``.

``datagram_received`` runs inside the event loop's reader callback, so it only parses
and then starts the handler call as a task the server owns. The number of pending
handler calls is bounded, so a flood costs dropped datagrams, not memory, and each
sender address has a rate: past it, its datagrams are dropped before they are even
parsed, so one flooding sender cannot take the loop from everyone else. Handlers run
concurrently and their order is not guaranteed: OSC.md's states only move forward, and
acknowledgements must be idempotent anyway.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import socket
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any, Protocol

from gencaster.db import is_unavailable
from gencaster.tasks import TaskSet
from gencaster.throttle import RatePerKey
from gencaster.throttled_log import ThrottledLog

from .messages import (
    ACKNOWLEDGE_ADDRESS,
    BEACON_ADDRESS,
    REMOTE_ACTION_ADDRESS,
    Acknowledgement,
    Beacon,
    MalformedMessage,
    RemoteAction,
    decode_message,
    parse_acknowledgement,
    parse_beacon,
    parse_remote_action,
)

logger = logging.getLogger(__name__)

Message = Beacon | Acknowledgement | RemoteAction

_PARSERS: dict[str, Callable[[list[Any]], Message]] = {
    BEACON_ADDRESS: parse_beacon,
    ACKNOWLEDGE_ADDRESS: parse_acknowledgement,
    REMOTE_ACTION_ADDRESS: parse_remote_action,
}
_RECEIVE_BUFFER_BYTES = 1 << 20  # absorbs bursts while the loop is busy; the kernel may cap it
_MAX_LOGGED_ADDRESS = 64


class OscHandler(Protocol):
    """What the server calls for each valid message; ``host`` is the sender's IP address."""

    async def on_beacon(self, host: str, beacon: Beacon) -> None: ...

    async def on_acknowledgement(self, host: str, ack: Acknowledgement) -> None: ...

    async def on_remote_action(self, host: str, action: RemoteAction) -> None: ...


class _State(enum.Enum):
    NEW = "new"  # start() not called, or binding failed
    RUNNING = "running"
    CLOSED = "closed"  # terminal: a closed server is not reopened


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, tuple[Any, ...]], None]) -> None:
        self._on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        logger.debug("OSC socket error: %s", exc)


class OscServer:
    """Binds a UDP socket and turns datagrams into ``OscHandler`` calls."""

    def __init__(
        self,
        handler: OscHandler,
        *,
        host: str = "0.0.0.0",
        port: int = 7000,
        max_pending: int = 1000,
        max_datagrams_per_s: float = 1000.0,
    ) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._handler = handler
        self._host = host
        self._port = port
        self._max_pending = max_pending
        self._senders = RatePerKey(rate=max_datagrams_per_s, burst=max_datagrams_per_s)
        self._state = _State.NEW
        self._transport: asyncio.DatagramTransport | None = None
        self._pending = TaskSet()
        self._malformed_log = ThrottledLog(logger, "malformed OSC datagrams")
        self._overload_log = ThrottledLog(logger, "OSC datagrams dropped while overloaded")
        self._failure_log = ThrottledLog(logger, "OSC handler failures")
        self._unavailable_log = ThrottledLog(logger, "OSC messages dropped in an outage")
        self._flood_log = ThrottledLog(logger, "OSC datagrams over their sender's rate")

    @property
    def port(self) -> int:
        """The bound port once started (``port=0`` picks a free one), else the configured one."""
        return self._port

    async def start(self) -> None:
        if self._state is not _State.NEW:
            raise RuntimeError(f"cannot start an OSC server that is {self._state.value}")
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Receiver(self._datagram_received), local_addr=(self._host, self._port)
        )
        self._transport = transport
        self._state = _State.RUNNING
        sock = transport.get_extra_info("socket")
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER_BYTES)
        self._port = sock.getsockname()[1]
        logger.info("OSC server listening on %s:%d", self._host, self._port)

    async def close(self) -> None:
        """Stop receiving and cancel pending handler calls; safe to call more than once."""
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED  # set before any await, so a second call does nothing
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
        await self._pending.cancel_all()
        for budget in (
            self._malformed_log,
            self._overload_log,
            self._failure_log,
            self._unavailable_log,
            self._flood_log,
        ):
            budget.flush()

    @property
    def listening(self) -> bool:
        """The UDP socket is bound and open (readiness)."""
        transport = self._transport
        return (
            self._state is _State.RUNNING and transport is not None and not transport.is_closing()
        )

    @property
    def pending(self) -> int:
        """Handler calls started and not yet finished."""
        return len(self._pending)

    def _datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self._state is not _State.RUNNING:
            return
        host, port = addr[0], addr[1]
        if not self._senders.allow(host):
            self._flood_log.log(
                logging.WARNING,
                "Dropped a datagram from %s: over %g datagrams a second from that address",
                host,
                self._senders.rate,
            )
            return
        try:
            message = _parse(data)
        except MalformedMessage as exc:
            self._malformed_log.log(
                logging.WARNING,
                "Dropped a malformed OSC datagram from %s:%s (%d bytes): %s",
                host,
                port,
                len(data),
                exc.reason,
            )
            return
        if len(self._pending) >= self._max_pending:
            self._overload_log.log(
                logging.WARNING,
                "Dropped %s from %s:%s: %d handler calls are pending",
                type(message).__name__,
                host,
                port,
                len(self._pending),
            )
            return
        # _call logs its own failures (within a budget), so the set need not.
        self._pending.start(self._call(host, port, message), name="osc-handler", awaited=True)

    async def _call(self, host: str, port: int, message: Message) -> None:
        try:
            await self._handler_call(host, message)
        except Exception as error:
            if is_unavailable(error):
                # Writes that must not be lost retry inside the handler; what reaches
                # here is worth no wait (the next beacon comes in seconds).
                self._unavailable_log.log(
                    logging.WARNING,
                    "Dropped %s from %s:%s: the database is unavailable (%r)",
                    type(message).__name__,
                    host,
                    port,
                    error,
                )
                return
            # The top of a task: the handler's error is logged with the sender and
            # must not reach the loop's exception handler or stop the server.
            self._failure_log.log(
                logging.ERROR,
                "OSC handler failed on %r from %s:%s",
                message,
                host,
                port,
                exc_info=True,
            )

    def _handler_call(self, host: str, message: Message) -> Awaitable[None]:
        if isinstance(message, Beacon):
            return self._handler.on_beacon(host, message)
        if isinstance(message, Acknowledgement):
            return self._handler.on_acknowledgement(host, message)
        return self._handler.on_remote_action(host, message)


def _parse(data: bytes) -> Message:
    address, args = decode_message(data)
    parser = _PARSERS.get(address)
    if parser is None:
        raise MalformedMessage(f"unknown address {address[:_MAX_LOGGED_ADDRESS]!r}")
    return parser(args)
