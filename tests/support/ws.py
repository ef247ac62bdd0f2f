"""GraphQL over WebSocket clients for tests, one per subprotocol, on ``websockets``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

RECEIVE_TIMEOUT = 10.0


class GraphQLSocket:
    """A connected, acknowledged socket; ``protocol`` picks the message vocabulary."""

    def __init__(self, connection: ClientConnection, protocol: str) -> None:
        self.connection = connection
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

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

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

    async def receive(self, operation_id: str, timeout: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
        """The next message for the operation (``next``/``data``, ``error`` or ``complete``)."""
        return await asyncio.wait_for(self.queues[operation_id].get(), timeout)

    async def next_payload(self, operation_id: str, timeout: float = RECEIVE_TIMEOUT) -> dict:
        message = await self.receive(operation_id, timeout)
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
    await connection.send(json.dumps({"type": "connection_init", "payload": init_payload or {}}))
    while True:
        ack = json.loads(await asyncio.wait_for(connection.recv(), RECEIVE_TIMEOUT))
        if ack["type"] != "ka":
            break
    assert ack["type"] == "connection_ack", ack
    socket = GraphQLSocket(connection, protocol)
    try:
        yield socket
    finally:
        await socket.close()
