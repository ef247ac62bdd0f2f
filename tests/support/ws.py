"""The WebSocket test client, on ``websockets``.

``JsonSocket`` sends and receives raw protocol messages (for tests of the protocols
themselves); ``GraphQLSocket`` is one that has done the handshake and sorts what
arrives by operation id (for tests of what subscriptions deliver).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

RECEIVE_TIMEOUT = 10.0


class JsonSocket:
    """A websockets connection that speaks JSON and never waits without a timeout."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.connection.send(message if isinstance(message, str) else json.dumps(message))

    async def receive(self, within: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), within)
        return json.loads(raw)

    async def receive_until(self, wanted: str, within: float = RECEIVE_TIMEOUT) -> list[dict]:
        """Messages up to and including the first of type ``wanted``, skipping ``ka``."""
        messages: list[dict[str, Any]] = []
        while True:
            message = await self.receive(within)
            if message["type"] == "ka":
                continue
            messages.append(message)
            if message["type"] == wanted:
                return messages

    async def closed_with(self, within: float = RECEIVE_TIMEOUT) -> tuple[int | None, str]:
        """Wait for the server to close, skipping messages; return (code, reason)."""

        async def drain() -> None:
            with suppress(ConnectionClosed):
                async for _ in self.connection:
                    pass

        await asyncio.wait_for(drain(), within)
        close = self.connection.protocol.close_rcvd
        return (close.code, close.reason) if close else (None, "")

    async def close(self) -> None:
        await self.connection.close()


class GraphQLSocket(JsonSocket):
    """A connected, acknowledged socket; ``protocol`` picks the message vocabulary."""

    def __init__(self, connection: ClientConnection, protocol: str) -> None:
        super().__init__(connection)
        self.protocol = protocol
        self._ids = 0
        self.queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @property
    def legacy(self) -> bool:
        return self.protocol == "graphql-ws"

    async def _read(self) -> None:
        async for raw in self.connection:
            message = json.loads(raw)
            if message.get("type") in ("ka", "ping", "pong"):
                continue
            queue = self.queues.setdefault(message.get("id") or "", asyncio.Queue())
            queue.put_nowait(message)

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._ids += 1
        operation_id = str(self._ids)
        self.queues[operation_id] = asyncio.Queue()
        kind = "start" if self.legacy else "subscribe"
        await self.send(
            {
                "id": operation_id,
                "type": kind,
                "payload": {"query": query, "variables": variables or {}},
            }
        )
        return operation_id

    async def receive(self, within: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
        """Not here: the reader sorts every message by operation; see ``receive_for``."""
        raise TypeError("a GraphQLSocket sorts messages by operation: use receive_for(op)")

    async def receive_for(
        self, operation_id: str, timeout: float = RECEIVE_TIMEOUT
    ) -> dict[str, Any]:
        """The next message for the operation (``next``/``data``, ``error`` or ``complete``)."""
        return await asyncio.wait_for(self.queues[operation_id].get(), timeout)

    async def next_payload(self, operation_id: str, timeout: float = RECEIVE_TIMEOUT) -> dict:
        message = await self.receive_for(operation_id, timeout)
        assert message["type"] in ("next", "data"), message
        return message["payload"]

    async def stop(self, operation_id: str) -> None:
        await self.send({"id": operation_id, "type": "stop" if self.legacy else "complete"})

    async def close(self) -> None:
        self._reader.cancel()
        await self.connection.close()

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (an abrupt disconnect)."""
        self._reader.cancel()
        self.connection.transport.abort()


@asynccontextmanager
async def graphql_socket(
    url: str,
    protocol: str = "graphql-transport-ws",
    *,
    cookies: dict[str, str] | None = None,
    init_payload: dict[str, Any] | None = None,
) -> AsyncIterator[GraphQLSocket]:
    headers = {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{key}={value}" for key, value in cookies.items())
    connection = await connect(url, subprotocols=[protocol], additional_headers=headers)
    handshake = JsonSocket(connection)
    await handshake.send({"type": "connection_init", "payload": init_payload or {}})
    ack = (await handshake.receive_until("connection_ack"))[-1]
    assert ack["type"] == "connection_ack", ack
    socket = GraphQLSocket(connection, protocol)
    try:
        yield socket
    finally:
        await socket.close()
