"""The Sanic side: the handshake, the shared HTTP path, and server shutdown."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from gencaster.transport.ws.closecodes import CloseCode
from tests.support.polling import eventually
from tests.support.ws import JsonSocket
from tests.transport.ws.conftest import ToyServer

Connect = Callable[..., Awaitable[JsonSocket]]
ServerFactory = Callable[..., Awaitable[ToyServer]]
LONG_COUNTER = "subscription { counter(upto: 100000, delay: 0.01) }"


@pytest.mark.parametrize("subprotocol", [None, "graphql-sse", "mqtt"])
async def test_unknown_or_missing_subprotocol_closes_with_4406(
    ws_server: ToyServer, connect_client: Connect, subprotocol: str | None
) -> None:
    client = await connect_client(ws_server.url, subprotocol)
    assert client.connection.subprotocol is None
    code, reason = await client.closed_with()
    assert (code, reason) == (CloseCode.SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable")


@pytest.mark.parametrize(
    "offered", [["graphql-ws", "graphql-transport-ws"], ["graphql-transport-ws", "graphql-ws"]]
)
async def test_the_clients_first_supported_subprotocol_is_chosen(
    ws_server: ToyServer, connect_client: Connect, offered: list[str]
) -> None:
    client = await connect_client(ws_server.url, ["other", *offered])
    assert client.connection.subprotocol == offered[0]


async def test_a_refused_origin_gets_403_before_the_upgrade(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await connect_client(ws_server.url, "graphql-ws", origin="http://evil.test")
    assert refused.value.response.status_code == 403
    assert ws_server.endpoint.live_connections == 0


async def test_http_requests_on_the_same_path_reach_the_http_handler(
    ws_server: ToyServer,
) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        got = await http.get(ws_server.http_url, params={"query": "{ hello }"})
        posted = await http.post(ws_server.http_url, json={"query": "{ hello }"})
    assert got.json() == {"served_by": "http", "method": "GET"}
    assert posted.json() == {"served_by": "http", "method": "POST"}


async def test_without_an_http_handler_plain_requests_get_426(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(http_handler=None)
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.get(server.http_url)
    assert response.status_code == 426
    assert response.headers["upgrade"] == "websocket"


async def test_headers_and_cookies_of_the_upgrade_reach_the_hooks(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(
        ws_server.url,
        "graphql-transport-ws",
        additional_headers={"Cookie": "session=abc; theme=dark", "X-Client": "listener"},
    )
    await client.send({"type": "connection_init", "payload": {"token": "t"}})
    await client.receive()
    [connection] = ws_server.recorder.connects
    assert connection.subprotocol == "graphql-transport-ws"
    assert connection.headers["x-client"] == "listener"
    assert connection.cookies == {"session": "abc", "theme": "dark"}
    assert connection.init_payload == {"token": "t"}
    query = '{ cookie(name: "session") }'
    await client.send({"id": "1", "type": "subscribe", "payload": {"query": query}})
    assert (await client.receive())["payload"]["data"] == {"cookie": "abc"}


async def test_server_shutdown_ends_operations_and_runs_cleanups_once(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    modern = await connect_client(ws_server.url, "graphql-transport-ws")
    await modern.send({"type": "connection_init"})
    await modern.receive()
    legacy = await connect_client(ws_server.url, "graphql-ws")
    await legacy.send({"type": "connection_init"})
    for n in range(3):
        await modern.send({"id": str(n), "type": "subscribe", "payload": {"query": LONG_COUNTER}})
        await legacy.send({"id": str(n), "type": "start", "payload": {"query": LONG_COUNTER}})
    await eventually(lambda: ws_server.recorder.started == 6)
    assert ws_server.endpoint.live_connections == 2
    assert ws_server.endpoint.live_operations == 6

    await ws_server.stop()

    recorder = ws_server.recorder
    assert recorder.finished == 6
    assert sorted(recorder.cleanups.values()) == [1] * 6
    assert all(name.startswith("graphql-operation:") for name in recorder.finally_tasks)
    assert ws_server.endpoint.live_connections == 0
    assert ws_server.endpoint.live_operations == 0
    for client in (modern, legacy):
        code, _ = await client.closed_with()
        assert code == CloseCode.GOING_AWAY


async def test_an_idle_socket_costs_no_operation_tasks(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(ws_server.url, "graphql-ws")
    await client.send({"type": "connection_init"})
    await client.receive()
    await asyncio.sleep(0.05)
    assert ws_server.endpoint.live_connections == 1
    assert ws_server.endpoint.live_operations == 0


async def test_small_frames_after_keepalive_are_not_held_back(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    """Without TCP_NODELAY a data frame after a ka waits ~40 ms for a delayed ACK.

    Sanic listens with ``proto=0``, so asyncio leaves Nagle on for the accepted socket;
    the endpoint turns it off. The delay itself is measured by ``bench.ws_small_frames``.
    """
    client = await connect_client(ws_server.url, "graphql-ws")
    await client.send({"type": "connection_init"})
    await client.receive_until("connection_ack")
    (transport,) = ws_server.recorder.transports
    sock = transport.get_extra_info("socket")
    assert sock.proto == 0  # as Sanic binds: asyncio's own TCP_NODELAY skipped it
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


@pytest.mark.parametrize("subprotocol", ["graphql-transport-ws", "graphql-ws"])
async def test_a_handler_failure_closes_with_4500_and_is_logged(
    ws_server: ToyServer,
    connect_client: Connect,
    subprotocol: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await connect_client(ws_server.url, subprotocol)
    await client.send({"type": "connection_init", "payload": {"unserializable": True}})
    code, reason = await client.closed_with()
    assert (code, reason) == (CloseCode.INTERNAL_SERVER_ERROR, "Internal server error")
    assert "handler failed" in caplog.text and "not JSON serializable" in caplog.text
    await eventually(lambda: ws_server.endpoint.live_connections == 0)


async def test_the_endpoint_is_reachable_from_the_app(ws_server: ToyServer) -> None:
    assert ws_server.app.ctx.graphql_websocket is ws_server.endpoint
