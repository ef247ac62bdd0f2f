"""WebSocket pings from one task for every socket: answered ones keep it, silent ones end it.

A raw TCP client does the upgrade by hand and then never answers a ping; a
``websockets`` client answers them as every browser does.
"""

from __future__ import annotations

import asyncio
import base64
import os
from contextlib import suppress

import pytest
from websockets.asyncio.client import connect

from gencaster.transport.keepalive import Keepalive

pytestmark = pytest.mark.asyncio(loop_scope="session")

QUICK_PINGS = {"ws_ping_interval_s": 0.3, "ws_ping_timeout_s": 0.5, "ws_init_timeout_s": 30}


async def _upgrade(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def _frames_until_closed(reader: asyncio.StreamReader) -> list[tuple[int, bytes]]:
    """(opcode, payload) of every unmasked server frame until the server closes."""
    frames = []
    with suppress(asyncio.IncompleteReadError, ConnectionResetError):
        while True:
            first, second = await reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                length = int.from_bytes(await reader.readexactly(2), "big")
            elif length == 127:
                length = int.from_bytes(await reader.readexactly(8), "big")
            frames.append((first & 0x0F, await reader.readexactly(length)))
    return frames


async def test_a_socket_that_never_answers_a_ping_is_closed_with_1011(server_with):
    server = await server_with(**QUICK_PINGS)
    reader, writer = await _upgrade(server.settings.port)
    try:
        async with asyncio.timeout(15):  # the init deadline (30 s) would be far later
            frames = await _frames_until_closed(reader)
    finally:
        writer.close()
    opcodes = [opcode for opcode, _ in frames]
    assert 0x9 in opcodes, frames  # a ping came
    closes = [payload for opcode, payload in frames if opcode == 0x8]
    assert closes and int.from_bytes(closes[0][:2], "big") == 1011, frames


async def test_a_socket_that_answers_its_pings_stays_open_and_leaves_no_watch(server_with):
    server = await server_with(**QUICK_PINGS)
    pings: Keepalive = server.app.ctx.keepalive
    async with connect(
        server.ws_url,
        subprotocols=["graphql-transport-ws"],
        ping_interval=None,  # type: ignore[list-item]
    ) as socket:
        await socket.send('{"type":"connection_init","payload":{}}')
        assert "connection_ack" in str(await socket.recv())
        await asyncio.sleep(2.0)  # several rounds of pings, each answered by the client
        await socket.send('{"type":"ping"}')
        assert "pong" in str(await asyncio.wait_for(socket.recv(), 5))
        assert len(pings._sockets) == 1
    for _ in range(50):
        if not pings._sockets:
            break
        await asyncio.sleep(0.1)
    assert not pings._sockets
