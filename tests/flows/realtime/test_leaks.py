"""Subscribing and leaving, a thousand times, leaves nothing behind in the server."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json

import pytest
from websockets.asyncio.client import connect

from gencaster.auth import SESSION_COOKIE
from tests.support.builders import add_graph
from tests.support.graphql import GraphQLClient
from tests.support.polling import eventually
from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

GRAPH_SUB = "subscription($g: UUID!) { graph(graphUuid: $g) { uuid } }"
CYCLES = 1000


def server_state(server: RunningServer) -> tuple[int, int, int]:
    endpoint = server.app.ctx.graphql_websocket
    stats = server.services.broker.stats()
    return endpoint.live_operations, stats.subscriptions, stats.upstream_channels


async def settled(server: RunningServer, expected: tuple[int, int, int]) -> tuple[int, int, int]:
    with contextlib.suppress(AssertionError):
        await eventually(lambda: server_state(server) == expected, within=10)
    return server_state(server)


async def open_socket(server: RunningServer, cookie: str):
    socket = await connect(
        server.ws_url,
        subprotocols=["graphql-transport-ws"],
        additional_headers={"Cookie": f"{SESSION_COOKIE}={cookie}"},
    )
    await socket.send(json.dumps({"type": "connection_init"}))
    assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connection_ack"
    return socket


async def test_a_thousand_subscriptions_and_abrupt_disconnects_leave_nothing(
    server: RunningServer, staff: GraphQLClient, unique: str
):
    graph = await add_graph(staff, unique)
    cookie = staff.http.cookies[SESSION_COOKIE]
    subscribe = {
        "type": "subscribe",
        "payload": {"query": GRAPH_SUB, "variables": {"g": graph["uuid"]}},
    }
    baseline_state = await settled(server, server_state(server))
    gc.collect()
    baseline_tasks = len(asyncio.all_tasks())

    socket = await open_socket(server, cookie)
    for cycle in range(CYCLES):
        await socket.send(json.dumps({"id": str(cycle), **subscribe}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "next"
        await socket.send(json.dumps({"id": str(cycle), "type": "complete"}))
    await socket.close()

    for batch in range(CYCLES // 50):
        sockets = await asyncio.gather(*(open_socket(server, cookie) for _ in range(50)))
        for number, each in enumerate(sockets):
            await each.send(json.dumps({"id": f"{batch}-{number}", **subscribe}))
        for each in sockets:
            assert json.loads(await asyncio.wait_for(each.recv(), 10))["type"] == "next"
            each.transport.abort()  # no close frame: an abrupt disconnect

    assert await settled(server, baseline_state) == baseline_state
    gc.collect()
    await eventually(
        lambda: len(asyncio.all_tasks()) <= baseline_tasks,
        message=f"tasks stayed above {baseline_tasks}",
    )
