"""The legacy graphql-ws subprotocol (subscriptions-transport-ws) over a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from gencaster.transport.ws.closecodes import CloseCode
from tests.support.polling import eventually
from tests.support.ws import JsonSocket
from tests.transport.ws.conftest import ToyServer

PROTOCOL = "graphql-ws"
Connect = Callable[..., Awaitable[JsonSocket]]
ServerFactory = Callable[..., Awaitable[ToyServer]]
LONG_COUNTER = "subscription { counter(upto: 100000, delay: 0.01) }"


def start(operation_id: str, query: str, **payload: Any) -> dict[str, Any]:
    return {"id": operation_id, "type": "start", "payload": {"query": query, **payload}}


async def acknowledged(server: ToyServer, connect: Connect, **init: Any) -> JsonSocket:
    client = await connect(server.url, PROTOCOL)
    await client.send({"type": "connection_init", "payload": init})
    assert await client.receive() == {"type": "connection_ack"}
    assert await client.receive() == {"type": "ka"}
    return client


async def test_ack_is_followed_at_once_by_ka_and_then_periodically(
    server_factory: ServerFactory, connect_client: Connect
) -> None:
    server = await server_factory(keepalive_interval=0.05)
    client = await acknowledged(server, connect_client)
    assert await client.receive(within=1) == {"type": "ka"}
    assert await client.receive(within=1) == {"type": "ka"}


async def test_keepalive_can_be_switched_off(
    server_factory: ServerFactory, connect_client: Connect
) -> None:
    server = await server_factory(keepalive_interval=None)
    client = await connect_client(server.url, PROTOCOL)
    await client.send({"type": "connection_init"})
    assert await client.receive() == {"type": "connection_ack"}
    await client.send(start("q", "{ hello }"))
    assert (await client.receive())["type"] == "data"


async def test_on_connect_dict_becomes_the_ack_payload(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(ws_server.url, PROTOCOL)
    await client.send({"type": "connection_init", "payload": {"ack": {"hello": 1}}})
    assert await client.receive() == {"type": "connection_ack", "payload": {"hello": 1}}


async def test_subscription_sends_data_then_complete(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send(
        start("1", "subscription ($n: Int) { counter(upto: $n) }", variables={"n": 2})
    )
    assert await client.receive_until("complete") == [
        {"id": "1", "type": "data", "payload": {"data": {"counter": 0}}},
        {"id": "1", "type": "data", "payload": {"data": {"counter": 1}}},
        {"id": "1", "type": "complete"},
    ]
    assert ws_server.recorder.finally_tasks == ["graphql-operation:1"]


async def test_stop_ends_the_subscription_with_complete_and_cleans_up_once(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send(start("s", LONG_COUNTER))
    assert (await client.receive_until("data"))[-1]["id"] == "s"
    await client.send({"id": "s", "type": "stop"})
    messages = await client.receive_until("complete")
    assert messages[-1] == {"id": "s", "type": "complete"}
    await client.send({"id": "s", "type": "stop"})
    recorder = ws_server.recorder
    assert (recorder.started, recorder.finished) == (1, 1)
    assert recorder.finally_tasks == ["graphql-operation:s"]
    assert list(recorder.cleanups.values()) == [1]
    assert ws_server.endpoint.live_operations == 0


async def test_query_and_mutation_over_the_socket(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send(start("q", 'query { hello(name: "legacy") }'))
    assert await client.receive_until("complete") == [
        {"id": "q", "type": "data", "payload": {"data": {"hello": "Hello legacy"}}},
        {"id": "q", "type": "complete"},
    ]
    await client.send(start("m", "mutation { increment(by: 2) { total } }"))
    assert await client.receive_until("complete") == [
        {"id": "m", "type": "data", "payload": {"data": {"increment": {"total": 2}}}},
        {"id": "m", "type": "complete"},
    ]


async def test_invalid_query_gets_one_error_object(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send(start("bad", "{ nope }"))
    message = await client.receive_until("error")
    assert message[-1]["id"] == "bad"
    assert "nope" in message[-1]["payload"]["message"]
    assert message[-1]["payload"]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_error_inside_a_subscription_ends_it_but_not_the_socket(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send(start("f", "subscription { failing(after: 1) }"))
    messages = await client.receive_until("error")
    assert [m["type"] for m in messages] == ["data", "error"]
    assert messages[-1]["payload"] == {
        "message": "Internal server error",
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }
    await client.send(start("f", "{ hello }"))
    assert [m["type"] for m in await client.receive_until("complete")] == ["data", "complete"]
    assert ws_server.recorder.finished == 1


async def test_connection_terminate_closes_the_socket_and_ends_operations(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send(start("a", LONG_COUNTER))
    await client.send(start("b", LONG_COUNTER))
    await eventually(lambda: ws_server.recorder.started == 2)
    await client.send({"type": "connection_terminate"})
    assert (await client.closed_with())[0] == CloseCode.NORMAL
    await eventually(lambda: ws_server.endpoint.live_connections == 0)
    assert ws_server.recorder.finished == 2
    assert sorted(ws_server.recorder.cleanups.values()) == [1, 1]


async def test_refused_connection_gets_connection_error_then_4403(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(ws_server.url, PROTOCOL)
    await client.send({"type": "connection_init", "payload": {"refuse": True}})
    assert await client.receive() == {
        "type": "connection_error",
        "payload": {"message": "Forbidden"},
    }
    assert await client.closed_with() == (CloseCode.FORBIDDEN, "Forbidden")


async def test_failing_on_connect_gets_connection_error_then_4500(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(ws_server.url, PROTOCOL)
    await client.send({"type": "connection_init", "payload": {"explode": True}})
    message = await client.receive()
    assert message == {"type": "connection_error", "payload": {"message": "Internal server error"}}
    assert (await client.closed_with())[0] == CloseCode.INTERNAL_SERVER_ERROR


async def test_start_before_init_closes_with_4401(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(ws_server.url, PROTOCOL)
    await client.send(start("1", "{ hello }"))
    assert await client.closed_with() == (CloseCode.UNAUTHORIZED, "Unauthorized")


async def test_init_then_start_without_waiting_for_the_ack_works(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(ws_server.url, PROTOCOL)
    await client.send({"type": "connection_init"})
    await client.send(start("1", "{ hello }"))
    messages = await client.receive_until("complete")
    assert [m["type"] for m in messages] == ["connection_ack", "data", "complete"]


async def test_unreadable_message_gets_connection_error_and_the_socket_stays(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send("{oops")
    assert await client.receive() == {
        "type": "connection_error",
        "payload": {"message": "Invalid message received"},
    }
    await client.connection.send(b"\x01")
    assert (await client.receive())["type"] == "connection_error"
    await client.send("42")
    assert (await client.receive())["type"] == "connection_error"
    await client.send(start("1", "{ hello }"))
    assert (await client.receive())["type"] == "data"


async def test_unknown_message_type_gets_an_error_and_the_socket_stays(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send({"id": "x", "type": "subscribe"})
    assert await client.receive() == {
        "id": "x",
        "type": "error",
        "payload": {"message": "Invalid message type!"},
    }
    await client.send({"type": "dance"})
    assert await client.receive() == {
        "type": "error",
        "payload": {"message": "Invalid message type!"},
    }


async def test_malformed_start_gets_an_error(ws_server: ToyServer, connect_client: Connect) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send({"id": "1", "type": "start", "payload": {"query": None}})
    assert await client.receive() == {
        "id": "1",
        "type": "error",
        "payload": {"message": "payload.query must be a string"},
    }
    await client.send({"type": "start", "payload": {"query": "{ hello }"}})
    assert await client.receive() == {
        "type": "error",
        "payload": {"message": "start needs a non-empty string id"},
    }
    await client.send({"type": "stop", "id": 7})
    assert (await client.receive())["payload"] == {"message": "stop needs a string id"}


async def test_second_init_gets_connection_error_and_the_socket_stays(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send({"type": "connection_init"})
    assert await client.receive() == {
        "type": "connection_error",
        "payload": {"message": "Too many initialisation requests"},
    }
    await client.send(start("1", "{ hello }"))
    assert (await client.receive())["type"] == "data"


async def test_bad_init_payload_gets_connection_error_then_4400(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(ws_server.url, PROTOCOL)
    await client.send({"type": "connection_init", "payload": "token"})
    assert (await client.receive())["type"] == "connection_error"
    assert (await client.closed_with())[0] == CloseCode.BAD_REQUEST


async def test_repeated_start_id_replaces_the_running_operation(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send(start("same", LONG_COUNTER))
    await client.receive_until("data")
    await client.send(start("same", "subscription { counter(upto: 2) }"))
    messages = await client.receive_until("complete")
    assert messages[-3:] == [
        {"id": "same", "type": "data", "payload": {"data": {"counter": 0}}},
        {"id": "same", "type": "data", "payload": {"data": {"counter": 1}}},
        {"id": "same", "type": "complete"},
    ]
    assert ws_server.recorder.finished == 2
    assert sorted(ws_server.recorder.cleanups.values()) == [1, 1]


async def test_stop_for_an_unknown_id_is_ignored(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send({"id": "ghost", "type": "stop"})
    await client.send(start("1", "{ hello }"))
    assert (await client.receive())["id"] == "1"


async def test_many_subscriptions_run_concurrently_on_one_socket(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    ids = [str(n) for n in range(40)]
    for operation_id in ids:
        await client.send(start(operation_id, "subscription { counter(upto: 4, delay: 0.01) }"))
    seen: dict[str, list[int]] = {operation_id: [] for operation_id in ids}
    completed: set[str] = set()
    while len(completed) < len(ids):
        message = await client.receive()
        if message["type"] == "complete":
            completed.add(message["id"])
        elif message["type"] == "data":
            seen[message["id"]].append(message["payload"]["data"]["counter"])
    assert all(values == [0, 1, 2, 3] for values in seen.values())
    await asyncio.sleep(0)
    assert ws_server.endpoint.live_operations == 0


async def test_a_socket_that_never_sends_connection_init_is_closed_with_4408(
    server_factory: ServerFactory, connect_client: Connect
) -> None:
    server = await server_factory(init_timeout=0.2)
    client = await connect_client(server.url, PROTOCOL)
    code, reason = await client.closed_with()
    assert (code, reason) == (
        CloseCode.CONNECTION_INIT_TIMEOUT,
        "Connection initialisation timeout",
    )


async def test_the_init_deadline_ends_once_the_connection_is_acknowledged(
    server_factory: ServerFactory, connect_client: Connect
) -> None:
    server = await server_factory(init_timeout=0.2)
    client = await acknowledged(server, connect_client)
    await asyncio.sleep(0.4)  # past the deadline: the socket must still serve
    await client.send({"id": "1", "type": "start", "payload": {"query": "{ hello }"}})
    assert (await client.receive())["type"] == "data"
