"""The legacy ``graphql-ws`` subprotocol (subscriptions-transport-ws) the listener app speaks.

Unlike ``graphql-transport-ws`` it reports most mistakes as messages and keeps the
socket open; it keeps the connection alive with ``ka`` messages instead of pings.
The protocol itself sets no deadline for ``connection_init``; we give it the same
one as the newer protocol (close 4408), so a socket that never starts cannot linger.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import aclosing
from functools import partial
from typing import Any, cast

from graphql.error import GraphQLError

from gencaster.tasks import TaskSet
from gencaster.transport.execution import format_error
from gencaster.transport.ws.adapter import ConnectionInfo, InvalidFrame, SocketAdapter, SocketClosed
from gencaster.transport.ws.closecodes import CloseCode
from gencaster.transport.ws.graphql_ws.types import (
    ConnectionInitMessage,
    ServerMessage,
    StartMessage,
    StopMessage,
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

PROTOCOL = "graphql-ws"
TOO_MANY_OPERATIONS = "Too many operations on this connection"


class GraphQLWSHandler(InitDeadlineReader):
    """Serves one socket that speaks the legacy ``graphql-ws``."""

    # One per open socket: no instance dict.
    __slots__ = (
        "_acknowledged",
        "_closed",
        "_init_received",
        "_keepalive",
        "connection",
        "init_timeout",
        "keepalive_interval",
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
        keepalive_interval: float | None = 12.0,
        init_timeout: float = 3.0,
    ) -> None:
        self.socket = socket
        self.connection = connection
        self.settings = settings
        self.keepalive_interval = keepalive_interval
        self.init_timeout = init_timeout
        self.operations = OperationRegistry()
        self._keepalive = TaskSet()
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
            await asyncio.shield(self._end_all())

    async def _end_all(self) -> None:
        # Operations first: cancel_all cancels every task before its first await.
        await self.operations.cancel_all()
        await self._keepalive.cancel_all()

    async def handle_message(self, message: object) -> None:
        if isinstance(message, InvalidFrame):
            await self.send({"type": "connection_error", "payload": {"message": message.reason}})
            return
        if not isinstance(message, dict):
            await self.send(
                {"type": "connection_error", "payload": {"message": "Invalid message received"}}
            )
            return
        match message.get("type"):
            case "connection_init":
                await self.handle_connection_init(cast(ConnectionInitMessage, message))
            case "start":
                await self.handle_start(cast(StartMessage, message))
            case "stop":
                await self.handle_stop(cast(StopMessage, message))
            case "connection_terminate":
                await self.handle_connection_terminate()
            case _:
                await self.send_message_error(message.get("id"), "Invalid message type!")

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self._init_received:
            await self.send(
                {
                    "type": "connection_error",
                    "payload": {"message": "Too many initialisation requests"},
                }
            )
            return
        self._init_received = True
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.refuse("connection_init payload must be an object", CloseCode.BAD_REQUEST)
            return
        self.connection.init_payload = payload or {}
        try:
            verdict = await self.settings.on_connect(self.connection)
        except Exception:
            logger.exception("on_connect failed")
            await self.refuse("Internal server error", CloseCode.INTERNAL_SERVER_ERROR)
            return
        if verdict is False:
            await self.refuse("Forbidden", CloseCode.FORBIDDEN)
            return
        self._acknowledged = True
        if isinstance(verdict, dict):
            await self.send({"type": "connection_ack", "payload": verdict})
        else:
            await self.send({"type": "connection_ack"})
        if self.keepalive_interval:
            await self.send({"type": "ka"})
            self._keepalive.start(self._keep_alive(self.keepalive_interval), name="graphql-ws:ka")

    async def handle_start(self, message: StartMessage) -> None:
        if not self._acknowledged:
            # subscriptions-transport-ws always sends connection_init first, so this is a
            # client skipping on_connect; a close says so more plainly than a message.
            await self.close(CloseCode.UNAUTHORIZED, "Unauthorized")
            return
        operation_id = message.get("id")
        if not isinstance(operation_id, str) or not operation_id:
            await self.send_message_error(None, "start needs a non-empty string id")
            return
        try:
            request = request_from_payload(message.get("payload"))
        except InvalidPayload as error:
            await self.send_message_error(operation_id, str(error))
            return
        # As in subscriptions-transport-ws, a repeated id replaces the running operation.
        await self.operations.cancel(operation_id)
        if len(self.operations) >= self.settings.max_operations:
            await self.send_message_error(operation_id, TOO_MANY_OPERATIONS)
            return
        runner = partial(
            run_operation,
            request=request,
            connection=self.connection,
            settings=self.settings,
            sink=self,
        )
        self.operations.start(operation_id, runner)

    async def handle_stop(self, message: StopMessage) -> None:
        operation_id = message.get("id")
        if not isinstance(operation_id, str):
            await self.send_message_error(None, "stop needs a string id")
            return
        # Only a live operation gets its complete here; one that ended sent its own.
        if await self.operations.cancel(operation_id):
            await self.send_complete(operation_id)

    async def handle_connection_terminate(self) -> None:
        await self.close(CloseCode.NORMAL, "")

    async def _keep_alive(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.send({"type": "ka"})
            except SocketClosed:
                return

    async def send_result(self, operation_id: str, payload: dict[str, Any]) -> None:
        await self.send({"id": operation_id, "type": "data", "payload": payload})

    def send_result_now(self, operation_id: str, payload: EncodedPayload) -> bool:
        message = {"id": operation_id, "type": "data", "payload": payload}
        return self.socket.send_now(encode_message(message))

    async def send_errors(self, operation_id: str, errors: Sequence[GraphQLError]) -> None:
        # The legacy error message carries one error object, as its clients expect.
        payload = format_error(errors[0])
        await self.send({"id": operation_id, "type": "error", "payload": payload})

    async def send_complete(self, operation_id: str) -> None:
        await self.send({"id": operation_id, "type": "complete"})

    async def send_message_error(self, operation_id: object, text: str) -> None:
        if isinstance(operation_id, str):
            await self.send({"id": operation_id, "type": "error", "payload": {"message": text}})
        else:
            await self.send({"type": "error", "payload": {"message": text}})

    async def refuse(self, text: str, code: int) -> None:
        await self.send({"type": "connection_error", "payload": {"message": text}})
        await self.close(code, text)

    async def send(self, message: ServerMessage) -> None:
        await self.socket.send_json(message)

    async def close(self, code: int, reason: str) -> None:
        # The flag goes first, so the reader stops even if closing is slow or fails.
        self._closed = True
        await self.socket.close(code, reason)
