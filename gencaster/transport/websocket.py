"""GraphQL over WebSocket for Sanic: the only part of the WS transport that imports Sanic.

``GraphQLWebSocketEndpoint`` serves the upgrade requests that the one ``/graphql``
route (``gencaster.transport.routes``) hands it: it picks the subprotocol at the
handshake and hands the socket to exactly one handler.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from typing import Any, cast

from sanic import Request, Sanic
from sanic.compat import Header
from sanic.exceptions import ServerError, WebsocketClosed
from sanic.response import HTTPResponse, text
from sanic.server.protocols.websocket_protocol import WebSocketProtocol
from sanic.server.websockets.impl import WebsocketImplProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import Event, State

from gencaster.metrics import SOCKETS_OPEN
from gencaster.tasks import TaskSet, log_failure
from gencaster.transport.decoding import UndecodableInput, decode_json
from gencaster.transport.keepalive import Keepalive
from gencaster.transport.limits import CostBudget
from gencaster.transport.ws import graphql_transport_ws, graphql_ws
from gencaster.transport.ws.adapter import ConnectionInfo, InvalidFrame, SocketClosed
from gencaster.transport.ws.closecodes import CloseCode
from gencaster.transport.ws.graphql_transport_ws import GraphQLTransportWSHandler
from gencaster.transport.ws.graphql_ws import GraphQLWSHandler
from gencaster.transport.ws.operation import SocketSettings
from gencaster.transport.ws.shared import encode_message

logger = logging.getLogger(__name__)

SUBPROTOCOLS = (graphql_transport_ws.PROTOCOL, graphql_ws.PROTOCOL)
OriginCheck = Callable[[Request], bool]
Handler = GraphQLTransportWSHandler | GraphQLWSHandler


def _closed_is_quiet(task: asyncio.Task[Any]) -> None:
    """A chunk's processing ending on a closed socket is expected; other failures are logged."""
    if not task.cancelled() and isinstance(task.exception(), ConnectionClosed | WebsocketClosed):
        return
    log_failure(task)


# Opcodes of frames that carry (part of) a message; the rest are control frames.
DATA_OPCODES = frozenset({Opcode.TEXT, Opcode.BINARY, Opcode.CONT})
# Messages a socket may have received and not yet handled before it stops reading.
INBOX_LIMIT = 16


class SanicSocket:
    """Sanic's websocket as a ``SocketAdapter``.

    Messages are taken from the frames as they arrive and kept here until read, rather
    than through Sanic's ``recv()``, which starts a task and an ``asyncio.wait`` for
    every message it waits for: about 2 KiB held by every idle socket. Control frames
    (pings, pongs, close) still go to Sanic.
    """

    __slots__ = (
        "_fragments",
        "_inbox",
        "_inbox_closed",
        "_inbox_waiter",
        "_receiving",
        "_websocket",
    )

    def __init__(self, websocket: WebsocketImplProtocol) -> None:
        self._websocket = websocket
        self._receiving = TaskSet()
        self._inbox: list[str | InvalidFrame] = []
        self._inbox_closed = False
        self._inbox_waiter: asyncio.Future[None] | None = None
        self._fragments: list[Frame] | None = None
        websocket.data_received = self._data_received  # type: ignore[method-assign]
        websocket.eof_received = self._eof_received  # type: ignore[method-assign]
        # Sanic's message assembler (two events and their deques) serves recv() only.
        websocket.assembler = None  # type: ignore[assignment]
        sanic_connection_lost = websocket.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            sanic_connection_lost(exc)
            self._close_inbox()

        websocket.connection_lost = connection_lost  # type: ignore[method-assign]

    def _data_received(self, data: bytes) -> None:
        """Sanic's own ``data_received``, but messages stay here and tasks have an owner.

        Sanic starts a task per chunk received and keeps no reference to it; one still
        waiting when the socket ends is garbage-collected while pending, and asyncio
        logs "Task was destroyed but it is pending!" (sanic-org/sanic#3175). Here the
        socket keeps each task until it is done and cancels the rest in ``release``.
        """
        websocket = self._websocket
        websocket.ws_proto.receive_data(data)
        outgoing = websocket.ws_proto.data_to_send()
        control = self._take_messages(websocket.ws_proto.events_received())
        if outgoing or control:
            self._receiving.start(
                websocket.async_data_received(outgoing, control),
                name="websocket-received",
                on_done=_closed_is_quiet,
                awaited=True,
            )
        transport = websocket.io_proto.transport if websocket.io_proto is not None else None
        if len(self._inbox) >= INBOX_LIMIT and transport is not None:
            transport.pause_reading()  # read on once the handler has caught up (iter_json)

    def _eof_received(self) -> bool:
        """Sanic's own ``eof_received``, with messages and task kept as in ``_data_received``."""
        websocket = self._websocket
        websocket.ws_proto.receive_eof()
        outgoing = websocket.ws_proto.data_to_send()
        control = self._take_messages(websocket.ws_proto.events_received())
        self._receiving.start(
            websocket.async_eof_received(outgoing, control),
            name="websocket-eof",
            on_done=_closed_is_quiet,
            awaited=True,
        )
        self._close_inbox()
        return False

    def _take_messages(self, events: list[Event]) -> list[Event]:
        """Keep the data frames' messages here; the control frames are Sanic's."""
        control = []
        for event in events:
            if isinstance(event, Frame) and event.opcode in DATA_OPCODES:
                self._take_frame(event)
            else:
                control.append(event)
                if isinstance(event, Frame) and event.opcode is Opcode.CLOSE:
                    self._close_inbox()
        return control

    def _take_frame(self, frame: Frame) -> None:
        """Keep a whole message; a fragmented one once its last frame has come."""
        if frame.opcode is not Opcode.CONT:
            self._fragments = None
            if frame.fin:
                self._deliver(frame.opcode, frame.data)
                return
            self._fragments = [frame]
            return
        if self._fragments is None:
            return  # a continuation of nothing: the protocol has failed the socket already
        self._fragments.append(frame)
        if frame.fin:
            fragments, self._fragments = self._fragments, None
            self._deliver(fragments[0].opcode, b"".join(part.data for part in fragments))

    def _deliver(self, opcode: Opcode, data: bytes | bytearray | memoryview) -> None:
        if opcode is not Opcode.TEXT:
            self._inbox.append(InvalidFrame("WebSocket message type must be text"))
        else:
            try:
                self._inbox.append(bytes(data).decode())
            except UnicodeDecodeError:
                self._inbox.append(InvalidFrame("Invalid message received"))
        self._wake()

    def _close_inbox(self) -> None:
        self._inbox_closed = True
        self._wake()

    def _wake(self) -> None:
        waiter, self._inbox_waiter = self._inbox_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def release(self) -> None:
        """Cancel and await what Sanic still processes for this socket; it has ended."""
        await self._receiving.cancel_all()

    async def iter_json(self) -> AsyncGenerator[object, None]:
        while True:
            while not self._inbox:
                if self._inbox_closed or self._websocket.ws_proto.state is State.CLOSED:
                    return
                self._inbox_waiter = asyncio.get_running_loop().create_future()
                await self._inbox_waiter
            data = self._inbox.pop(0)
            if len(self._inbox) == INBOX_LIMIT - 1 and self._websocket.io_proto is not None:
                transport = self._websocket.io_proto.transport
                if transport is not None and not transport.is_closing():
                    transport.resume_reading()
            message = data if isinstance(data, InvalidFrame) else _decoded(data)
            # Neither the text nor what it decoded to may stay in this frame while the
            # socket waits for its next message: most sockets wait for as long as they live.
            del data
            yield message
            del message

    def _writable(self) -> bool:
        """Sanic's send() would take its lock and write at once, without waiting."""
        websocket = self._websocket
        io_proto = websocket.io_proto
        return not (
            websocket.conn_mutex.locked()
            or websocket.ws_proto.state is not State.OPEN
            or io_proto is None
            or io_proto.transport is None
            or io_proto.transport.is_closing()
            or not io_proto._can_write.is_set()  # paused: the peer reads slowly
        )

    def _write_pending(self) -> None:
        """Write what the protocol has for the wire; only after ``_writable``."""
        io_proto = self._websocket.io_proto
        assert io_proto is not None and io_proto.transport is not None
        for data in self._websocket.ws_proto.data_to_send():
            io_proto.transport.write(data)

    def send_now(self, text: str) -> bool:
        # What Sanic's send() does once its lock is taken and the transport may be
        # written, done without a task switch: a frame to a thousand sockets then costs
        # a thousand writes, not a thousand task wake-ups.
        if not self._writable():
            return False
        self._websocket.ws_proto.send_text(text.encode())
        self._write_pending()
        return True

    def ping_now(self) -> bool:
        """Sanic's ping() without a task switch; its pong handling settles ``pings``."""
        if not self._writable():
            return False
        websocket = self._websocket
        data = secrets.token_bytes(4)
        while data in websocket.pings:
            data = secrets.token_bytes(4)
        websocket.pings[data] = asyncio.get_running_loop().create_future()
        websocket.ws_proto.send_ping(data)
        self._write_pending()
        return True

    def awaits_pong(self) -> bool:
        return bool(self._websocket.pings)

    def fail(self, code: int) -> None:
        self._websocket.fail_connection(code)

    async def send_json(self, message: Mapping[str, Any]) -> None:
        try:
            await self._websocket.send(encode_message(message))
        except (ConnectionClosed, WebsocketClosed, ServerError) as error:
            raise SocketClosed from error

    async def close(self, code: int, reason: str) -> None:
        with suppress(ConnectionClosed, WebsocketClosed):
            await self._websocket.close(code, reason)


def _decoded(data: str) -> object:
    """A text message's JSON value, or the ``InvalidFrame`` that says why there is none."""
    try:
        return decode_json(data, "The message")
    except UndecodableInput:
        # The words the graphql-ws clients know, whatever made the frame unreadable.
        return InvalidFrame("Invalid message received")


def disable_nagle(request: Request) -> None:
    """Send small frames at once.

    Sanic binds its listening socket with ``proto=0``, so asyncio's own TCP_NODELAY
    (which checks ``proto == IPPROTO_TCP``) skips the accepted sockets. A socket then
    holds a ``data`` frame back until the client's delayed ACK of the ``ka`` before it,
    some 40 ms later.
    """
    sock = request.transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def accept(request: Request, subprotocol: str | None) -> SanicSocket:
    """Complete the handshake, choosing ``subprotocol`` (or none, to close with 4406)."""
    disable_nagle(request)
    protocol = cast(WebSocketProtocol, request.transport.get_protocol())
    websocket = await protocol.websocket_handshake(request, [subprotocol] if subprotocol else None)
    return SanicSocket(websocket)


def is_websocket_upgrade(request: Request) -> bool:
    return request.headers.getone("upgrade", "").lower() == "websocket"


def offered_subprotocols(request: Request) -> list[str]:
    values = request.headers.getall("sec-websocket-protocol", [])
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def choose_subprotocol(offered: Sequence[str]) -> str | None:
    """The client's first choice among the ones we speak."""
    return next((name for name in offered if name in SUBPROTOCOLS), None)


def client_address(request: Request) -> str:
    """The caller's address: forwarded by trusted proxies (``PROXIES_COUNT``), else the peer's."""
    return request.remote_addr or request.ip


class RequestHeaders(Mapping[str, str]):
    """The upgrade request's headers by lower-case name, repeated ones joined with ", ".

    A view, not a copy: the request lives as long as its socket anyway, and a copied
    dict of every header was about a kilobyte of each open socket.
    """

    __slots__ = ("_headers",)

    def __init__(self, headers: Header) -> None:
        self._headers = headers

    def __getitem__(self, name: str) -> str:
        values = self._headers.getall(name, None)
        if not values:
            raise KeyError(name)
        return ", ".join(values)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name.lower() for name in self._headers))

    def __len__(self) -> int:
        return len(dict.fromkeys(name.lower() for name in self._headers))


def connection_info(request: Request, subprotocol: str) -> ConnectionInfo:
    headers = RequestHeaders(request.headers)
    cookies = {name: request.cookies.get(name) for name in request.cookies}
    return ConnectionInfo(
        subprotocol=subprotocol,
        headers=headers,
        cookies={name: value for name, value in cookies.items() if value is not None},
        client_address=client_address(request),
    )


class GraphQLWebSocketEndpoint:
    """Accepts GraphQL sockets on one route and serves each in Sanic's own task for it.

    A task of its own per socket would cost every open socket a task, two coroutines
    and a future for as long as it is open; instead ``shutdown`` cancels the sockets'
    Sanic tasks and waits until each socket's handler has ended.
    """

    def __init__(
        self,
        *,
        settings: SocketSettings,
        check_origin: OriginCheck,
        keepalive_interval: float | None = 12.0,
        init_timeout: float = 3.0,
        budget: Callable[[], CostBudget] | None = None,
        pings: Keepalive | None = None,
    ) -> None:
        """``keepalive_interval``: the legacy protocol's ``ka`` messages; ``pings``:
        WebSocket pings for every socket (the app turns Sanic's own off)."""
        self.settings = settings
        self.pings = pings
        self.budget = budget
        self.check_origin = check_origin
        self.keepalive_interval = keepalive_interval
        self.init_timeout = init_timeout
        # Each socket being served: its task (Sanic's) and a future done when its
        # handler has ended.
        self._serving: dict[asyncio.Task[Any], asyncio.Future[None]] = {}
        self._stopping = False
        self._handlers: set[Handler] = set()

    @property
    def live_connections(self) -> int:
        return len(self._serving)

    @property
    def live_operations(self) -> int:
        """Operation tasks not yet finished, over all sockets."""
        return sum(handler.operations.pending_tasks for handler in self._handlers)

    async def serve(self, request: Request) -> HTTPResponse | None:
        """Handle one upgrade request for the whole life of its socket."""
        if not self.check_origin(request):
            return text("Forbidden", status=403)
        subprotocol = choose_subprotocol(offered_subprotocols(request))
        adapter = await accept(request, subprotocol)
        try:
            if subprotocol is None:
                await adapter.close(
                    CloseCode.SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable"
                )
                return None
            info = connection_info(request, subprotocol)
            info.budget = self.budget() if self.budget is not None else None
            if self.pings is not None:
                self.pings.watch(adapter)
            with SOCKETS_OPEN.labels(protocol=subprotocol).track_inprogress():
                await self._hold(self._handler(subprotocol, adapter, info), adapter)
        finally:
            if self.pings is not None:
                self.pings.forget(adapter)
            await adapter.release()
        return None

    async def _hold(self, handler: Handler, adapter: SanicSocket) -> None:
        """Run the handler in this (Sanic's) task, registered so that shutdown() can end it."""
        task = asyncio.current_task()
        assert task is not None
        ended = self._serving[task] = asyncio.get_running_loop().create_future()
        try:
            await self._run(handler)
        except asyncio.CancelledError:
            if not self._stopping:
                # The peer went away and Sanic cancelled this request. Sanic's own
                # websocket handler ends quietly then; re-raising would make Sanic answer
                # the closed socket with an error page ("GET ws://… 500") every time.
                return
            # shutdown() cancelled it. Like Sanic's own websocket handler, end the request
            # here, so Sanic writes no HTTP error onto an upgraded socket.
            task.uncancel()
            await adapter.close(CloseCode.GOING_AWAY, "Server shutting down")
            return
        except Exception:
            # A handler bug; Sanic must not try to answer an upgraded socket with an HTTP
            # error page.
            logger.exception("A GraphQL WebSocket's handler failed")
            await adapter.close(CloseCode.INTERNAL_SERVER_ERROR, "Internal server error")
            return
        finally:
            del self._serving[task]
            ended.set_result(None)
        await adapter.close(CloseCode.NORMAL, "")

    async def shutdown(self, app: Sanic) -> None:
        """``before_server_stop``: end every operation while the database is still open."""
        self._stopping = True
        serving = dict(self._serving)
        for task in serving:
            task.cancel()
        if serving:
            await asyncio.wait(serving.values())
        if self.pings is not None:
            await self.pings.close()
        if self.settings.shared is not None:
            await self.settings.shared.close()

    def _handler(self, subprotocol: str, adapter: SanicSocket, info: ConnectionInfo) -> Handler:
        if subprotocol == graphql_transport_ws.PROTOCOL:
            return GraphQLTransportWSHandler(
                adapter, info, self.settings, init_timeout=self.init_timeout
            )
        return GraphQLWSHandler(
            adapter,
            info,
            self.settings,
            keepalive_interval=self.keepalive_interval,
            init_timeout=self.init_timeout,
        )

    async def _run(self, handler: Handler) -> None:
        self._handlers.add(handler)
        try:
            await handler.handle()
        finally:
            self._handlers.discard(handler)
