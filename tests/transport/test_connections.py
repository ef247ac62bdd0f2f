"""Idle and half-open connections end: slow request heads, silent sockets, sockets per address.

Raw sockets against a real server; each test starts one with its own settings.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from contextlib import AsyncExitStack, suppress

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.polling import eventually
from tests.support.processes import server_env, server_process

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sent until it closed the connection."""
    received = b""
    with suppress(ConnectionResetError):
        while chunk := await reader.read(4096):
            received += chunk
    return received


async def test_a_client_trickling_its_request_head_is_cut_off(server_with):
    server = await server_with(request_head_timeout_s=1.0)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.settings.port)
    writer.write(b"GET /graphql?query={__typename} HTTP/1.1\r\nHost: x\r\n")

    async def trickle() -> None:
        while True:
            writer.write(b"X")  # one byte of a header that never ends, every 0.2 s
            await writer.drain()
            await asyncio.sleep(0.2)

    trickler = asyncio.create_task(trickle())
    try:
        async with asyncio.timeout(30):  # Sanic's own timeout would never fire
            answer = await _closed_by_server(reader)
    finally:
        trickler.cancel()
        with suppress(asyncio.CancelledError, ConnectionError):
            await trickler
        writer.close()
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408")


async def test_a_prompt_request_on_a_kept_alive_connection_is_not_cut_off(server_with):
    server = await server_with(request_head_timeout_s=1.0)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.settings.port)
    for _ in range(2):
        await asyncio.sleep(1.5)  # idle between requests is not a slow head
        writer.write(b"GET /graphql?query={__typename} HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 200")
        length = int(head.split(b"content-length: ")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
    writer.close()


async def test_a_legacy_socket_that_never_initialises_is_closed(server_with):
    server = await server_with(ws_init_timeout_s=0.5)
    async with connect(server.ws_url, subprotocols=["graphql-ws"]) as socket:  # type: ignore[list-item]
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(10):
                await socket.recv()
    assert socket.close_code == 4408


async def test_sockets_per_address_are_capped(server_with):
    server = await server_with(max_connections_per_address=3)
    port = server.settings.port
    async with AsyncExitStack() as stack:
        held = []
        for _ in range(3):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            stack.callback(writer.close)
            held.append((reader, writer))
        await eventually(lambda: server.app.ctx.connection_limits.open["127.0.0.1"] == 3)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        stack.callback(writer.close)
        writer.write(b"GET /graphql?query={__typename} HTTP/1.1\r\nHost: x\r\n\r\n")
        async with asyncio.timeout(10):
            assert await _closed_by_server(reader) == b""
        # Another address is not affected.
        other, other_writer = await asyncio.open_connection(
            "127.0.0.1", port, local_addr=("127.0.0.2", 0)
        )
        stack.callback(other_writer.close)
        other_writer.write(b"GET /graphql?query={__typename} HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(other.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 200")
        # One of the three leaves: a new one from the first address is served again.
        held[0][1].close()
        await eventually(lambda: server.app.ctx.connection_limits.open["127.0.0.1"] == 2)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        stack.callback(writer.close)
        writer.write(b"GET /graphql?query={__typename} HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 200")


async def test_a_client_trickling_a_json_body_gets_408(server_with):
    server = await server_with(request_body_timeout_s=1.0)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.settings.port)
    body = b'{"query": "{ __typename }"}'
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body[:5]
    )

    async def trickle() -> None:
        for byte in body[5:]:
            await asyncio.sleep(0.3)
            writer.write(bytes([byte]))

    trickler = asyncio.create_task(trickle())
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 20)
    finally:
        trickler.cancel()
        with suppress(asyncio.CancelledError, ConnectionError):
            await trickler
        writer.close()
    assert head.startswith(b"HTTP/1.1 408")


async def test_requests_already_waiting_when_the_server_accepts_are_answered(tmp_path):
    """Bytes read before Sanic's connection task has run are a request like any other.

    The served process (uvloop) is paused while clients connect and send, so on
    resuming it accepts each connection with its request already waiting.
    """
    env = server_env(str(tmp_path))
    async with server_process(env, args=("serve", "--migrate")) as running:
        running.process.send_signal(signal.SIGSTOP)
        try:
            sockets = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(5)]
            for sock in sockets:
                sock.sendall(b"GET /graphql?query={__typename} HTTP/1.1\r\nHost: x\r\n\r\n")
        finally:
            running.process.send_signal(signal.SIGCONT)
        for sock in sockets:
            with sock:
                sock.settimeout(30)
                head = await asyncio.to_thread(sock.recv, 4096)
            assert head.startswith(b"HTTP/1.1 200"), head


async def test_request_heads_sent_with_the_connection_are_cut_off(tmp_path):
    """The head deadline starts even when the first bytes arrive before Sanic's task runs.

    The served process is paused while clients connect and send part of a head, so on
    resuming it reads those bytes together with the connection; the clients then
    trickle header lines, which would restart Sanic's own timeout for ever.
    """
    env = server_env(str(tmp_path), request_head_timeout_s="1")
    async with server_process(env, args=("serve", "--migrate")) as running:
        running.process.send_signal(signal.SIGSTOP)
        try:
            sockets = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(8)]
            for sock in sockets:
                sock.sendall(b"POST /graphql HTTP/1.1\r\n")
        finally:
            running.process.send_signal(signal.SIGCONT)

        def trickle_until_closed(sock: socket.socket) -> bytes:
            sock.settimeout(0.3)
            with sock:
                for _ in range(100):  # 30 s: far past the deadline (1 s, ends within 1.5 s)
                    try:
                        sock.sendall(b"X: y\r\n")
                        answer = sock.recv(4096)
                    except TimeoutError:
                        continue
                    except ConnectionError:
                        return b"closed"
                    return answer or b"closed"
            return b"still open"

        answers = await asyncio.gather(
            *(asyncio.to_thread(trickle_until_closed, sock) for sock in sockets)
        )
    assert all(a == b"closed" or a.startswith(b"HTTP/1.1 408") for a in answers), answers
