"""Nothing leaks: many operations and many vanished clients leave no task and no entry behind."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.support.polling import eventually
from tests.support.ws import JsonSocket
from tests.transport.ws.conftest import RECEIVE_TIMEOUT, ToyServer

Connect = Callable[..., Awaitable[JsonSocket]]
CYCLES = 1000
# One result at once, then silence: only cancellation can end it, not a failed send.
IDLE_AFTER_FIRST = "subscription { counter(upto: 2, delay: 60) }"

START = {
    "graphql-transport-ws": ("subscribe", "next"),
    "graphql-ws": ("start", "data"),
}


def task_count() -> int:
    return len(asyncio.all_tasks())


async def receive_type(connection: ClientConnection, wanted: str) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(connection.recv(), RECEIVE_TIMEOUT))
        if message["type"] == wanted:
            return message


def assert_every_operation_ended_once(server: ToyServer, count: int) -> None:
    recorder = server.recorder
    assert (recorder.started, recorder.finished) == (count, count)
    assert len(recorder.cleanups) == count
    assert set(recorder.cleanups.values()) == {1}
    assert all(name.startswith("graphql-operation:") for name in recorder.finally_tasks)


@pytest.mark.parametrize("subprotocol", list(START))
async def test_a_thousand_subscribe_stop_cycles_leak_nothing(
    ws_server: ToyServer, connect_client: Connect, subprotocol: str
) -> None:
    before_socket = task_count()
    client = await connect_client(ws_server.url, subprotocol, ping_interval=None)
    await client.send({"type": "connection_init"})
    await client.receive_until("connection_ack")
    with_socket = task_count()
    start_type, result_type = START[subprotocol]
    for _ in range(CYCLES):
        await client.send(
            {"id": "cycle", "type": start_type, "payload": {"query": IDLE_AFTER_FIRST}}
        )
        await receive_type(client.connection, result_type)
        if subprotocol == "graphql-ws":
            await client.send({"id": "cycle", "type": "stop"})
            await receive_type(client.connection, "complete")
        else:
            await client.send({"id": "cycle", "type": "complete"})
    await eventually(lambda: ws_server.recorder.finished == CYCLES)
    assert ws_server.endpoint.live_operations == 0
    await eventually(lambda: task_count() <= with_socket)
    assert_every_operation_ended_once(ws_server, CYCLES)

    await client.close()
    await eventually(lambda: ws_server.endpoint.live_connections == 0)
    await eventually(lambda: task_count() <= before_socket)


async def _subscribe_then_vanish(server: ToyServer, subprotocol: str, index: int) -> None:
    connection = await asyncio.wait_for(
        connect(server.url, subprotocols=[subprotocol], proxy=None, ping_interval=None),
        RECEIVE_TIMEOUT,
    )
    start_type, result_type = START[subprotocol]
    await connection.send(json.dumps({"type": "connection_init"}))
    await receive_type(connection, "connection_ack")
    message = {"id": str(index), "type": start_type, "payload": {"query": IDLE_AFTER_FIRST}}
    await connection.send(json.dumps(message))
    await receive_type(connection, result_type)
    # Drop the TCP connection without a close frame, as a phone losing its network would.
    connection.transport.abort()


async def test_a_thousand_abrupt_disconnects_leak_nothing(ws_server: ToyServer) -> None:
    baseline = task_count()
    protocols = list(START)
    for index in range(CYCLES):
        await _subscribe_then_vanish(ws_server, protocols[index % 2], index)
    await eventually(lambda: ws_server.endpoint.live_connections == 0, within=20)
    assert ws_server.endpoint.live_operations == 0
    await eventually(lambda: ws_server.recorder.finished == CYCLES)
    assert_every_operation_ended_once(ws_server, CYCLES)
    await eventually(lambda: task_count() <= baseline, within=20)
