"""The ``graphql-transport-ws`` subprotocol: one handler per client message.

Protocol errors close the socket with the codes in ``closecodes``; operation errors
end only their operation. The init timeout is a deadline on receiving, not a task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import aclosing
from functools import partial
from typing import Any, cast

from graphql.error import GraphQLError

from gencaster.transport.execution import format_error
from gencaster.transport.ws.adapter import ConnectionInfo, InvalidFrame, SocketAdapter, SocketClosed
from gencaster.transport.ws.closecodes import CloseCode, close_reason
from gencaster.transport.ws.graphql_transport_ws.types import (
    CompleteMessage,
    ConnectionInitMessage,
    PingMessage,
    ServerMessage,
    SubscribeMessage,
)
from gencaster.transport.ws.operation import (
    InvalidPayload,
    SocketSettings,
    request_from_payload,
    run_operation,
)
from gencaster.transport.ws.reading import InitDeadlineReader
from gencaster.transport.ws.registry import OperationRegistry
from gencaster.transport.ws.shared import EncodedPayload, encode_message

logger = logging.getLogger(__name__)

PROTOCOL = "graphql-transport-ws"
TOO_MANY_OPERATIONS = "Too many operations on this connection"


class GraphQLTransportWSHandler(InitDeadlineReader):
    """Serves one socket that speaks ``graphql-transport-ws``."""

    # One per open socket: no instance dict.
    __slots__ = (
        "_acknowledged",
        "_closed",
        "_init_received",
        "connection",
        "init_timeout",
        "operations",
        "settings",
        "socket",
    )

    def __init__(
        self,
        socket: SocketAdapter,
        connection: ConnectionInfo,
        settings: SocketSettings,
        *,
        init_timeout: float = 3.0,
    ) -> None:
        self.socket = socket
        self.connection = connection
        self.settings = settings
        self.init_timeout = init_timeout
        self.operations = OperationRegistry()
        self._init_received = False
        self._acknowledged = False
        self._closed = False

    async def handle(self) -> None:
        """Read messages until either side closes; then end every operation."""
        try:
            async with aclosing(self.socket.iter_json()) as messages:
                await self._read(messages)
        except SocketClosed:
            pass
        finally:
            # Shielded: when a peer closes, Sanic may cancel this task again, and an
            # interrupted teardown would leave operations (and listeners) running.
            await asyncio.shield(self.operations.cancel_all())

    async def handle_message(self, message: object) -> None:
        if isinstance(message, InvalidFrame):
            await self.close(CloseCode.BAD_REQUEST, message.reason)
            return
        if not isinstance(message, dict):
            await self.close(CloseCode.BAD_REQUEST, "Invalid message received")
            return
        match message.get("type"):
            case "connection_init":
                await self.handle_connection_init(cast(ConnectionInitMessage, message))
            case "ping":
                await self.handle_ping(cast(PingMessage, message))
            case "pong":
                pass  # a one-way heartbeat needs no answer
            case "subscribe":
                await self.handle_subscribe(cast(SubscribeMessage, message))
            case "complete":
                await self.handle_complete(cast(CompleteMessage, message))
            case other:
                await self.close(CloseCode.BAD_REQUEST, f"Unexpected message type {other!r}")

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self._init_received:
            await self.close(
                CloseCode.TOO_MANY_INITIALISATION_REQUESTS, "Too many initialisation requests"
            )
            return
        self._init_received = True
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.close(CloseCode.BAD_REQUEST, "connection_init payload must be an object")
            return
        self.connection.init_payload = payload or {}
        try:
            verdict = await self.settings.on_connect(self.connection)
        except Exception:
            logger.exception("on_connect failed")
            await self.close(CloseCode.INTERNAL_SERVER_ERROR, "Internal server error")
            return
        if verdict is False:
            await self.close(CloseCode.FORBIDDEN, "Forbidden")
            return
        self._acknowledged = True
        if isinstance(verdict, dict):
            await self.send({"type": "connection_ack", "payload": verdict})
        else:
            await self.send({"type": "connection_ack"})

    async def handle_ping(self, message: PingMessage) -> None:
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.close(CloseCode.BAD_REQUEST, "ping payload must be an object")
            return
        if payload is None:
            await self.send({"type": "pong"})
        else:
            await self.send({"type": "pong", "payload": payload})

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not self._acknowledged:
            await self.close(CloseCode.UNAUTHORIZED, "Unauthorized")
            return
        operation_id = message.get("id")
        if not isinstance(operation_id, str) or not operation_id:
            await self.close(CloseCode.BAD_REQUEST, "subscribe needs a non-empty string id")
            return
        try:
            request = request_from_payload(message.get("payload"))
        except InvalidPayload as error:
            await self.close(CloseCode.BAD_REQUEST, str(error))
            return
        if operation_id in self.operations:
            reason = close_reason(f"Subscriber for {operation_id} already exists")
            await self.close(CloseCode.SUBSCRIBER_ALREADY_EXISTS, reason)
            return
        if len(self.operations) >= self.settings.max_operations:
            too_many = GraphQLError(TOO_MANY_OPERATIONS, extensions={"code": "BAD_USER_INPUT"})
            await self.send_errors(operation_id, [too_many])
            return
        runner = partial(
            run_operation,
            request=request,
            connection=self.connection,
            settings=self.settings,
            sink=self,
        )
        self.operations.start(operation_id, runner)

    async def handle_complete(self, message: CompleteMessage) -> None:
        operation_id = message.get("id")
        if not isinstance(operation_id, str) or not operation_id:
            await self.close(CloseCode.BAD_REQUEST, "complete needs a non-empty string id")
            return
        # The client has already forgotten the id, so no complete goes back.
        await self.operations.cancel(operation_id)

    async def send_result(self, operation_id: str, payload: dict[str, Any]) -> None:
        await self.send({"id": operation_id, "type": "next", "payload": payload})

    def send_result_now(self, operation_id: str, payload: EncodedPayload) -> bool:
        message = {"id": operation_id, "type": "next", "payload": payload}
        return self.socket.send_now(encode_message(message))

    async def send_errors(self, operation_id: str, errors: Sequence[GraphQLError]) -> None:
        payload = [format_error(error) for error in errors]
        await self.send({"id": operation_id, "type": "error", "payload": payload})

    async def send_complete(self, operation_id: str) -> None:
        await self.send({"id": operation_id, "type": "complete"})

    async def send(self, message: ServerMessage) -> None:
        await self.socket.send_json(message)

    async def close(self, code: int, reason: str) -> None:
        # The flag goes first, so the reader stops even if closing is slow or fails.
        self._closed = True
        await self.socket.close(code, reason)
