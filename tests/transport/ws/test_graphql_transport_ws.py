"""The graphql-transport-ws subprotocol over a real socket: message flows and close codes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gencaster.transport.ws.closecodes import CloseCode
from tests.support.polling import eventually
from tests.support.ws import JsonSocket
from tests.transport.ws.conftest import ToyServer

PROTOCOL = "graphql-transport-ws"
Connect = Callable[..., Awaitable[JsonSocket]]
ServerFactory = Callable[..., Awaitable[ToyServer]]


def subscribe(operation_id: str, query: str, **payload: Any) -> dict[str, Any]:
    return {"id": operation_id, "type": "subscribe", "payload": {"query": query, **payload}}


async def acknowledged(server: ToyServer, connect: Connect, **init: Any) -> JsonSocket:
    client = await connect(server.url, PROTOCOL)
    await client.send({"type": "connection_init", "payload": init})
    assert (await client.receive())["type"] == "connection_ack"
    return client


async def test_connection_init_is_acknowledged_without_payload(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(ws_server.url, PROTOCOL)
    await client.send({"type": "connection_init"})
    assert await client.receive() == {"type": "connection_ack"}


async def test_on_connect_dict_becomes_the_ack_payload(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(ws_server.url, PROTOCOL)
    await client.send({"type": "connection_init", "payload": {"ack": {"server": "gencaster"}}})
    assert await client.receive() == {"type": "connection_ack", "payload": {"server": "gencaster"}}


async def test_refused_connection_closes_with_4403(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(ws_server.url, PROTOCOL)
    await client.send({"type": "connection_init", "payload": {"refuse": True}})
    assert await client.closed_with() == (CloseCode.FORBIDDEN, "Forbidden")


async def test_failing_on_connect_closes_with_4500_and_hides_the_error(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(ws_server.url, PROTOCOL)
    await client.send({"type": "connection_init", "payload": {"explode": True}})
    assert await client.closed_with() == (CloseCode.INTERNAL_SERVER_ERROR, "Internal server error")


async def test_missing_connection_init_closes_with_4408(
    server_factory: ServerFactory, connect_client: Connect
) -> None:
    server = await server_factory(init_timeout=0.2)
    client = await connect_client(server.url, PROTOCOL)
    await client.send({"type": "ping"})
    assert (await client.receive())["type"] == "pong"
    code, reason = await client.closed_with()
    assert (code, reason) == (
        CloseCode.CONNECTION_INIT_TIMEOUT,
        "Connection initialisation timeout",
    )


async def test_init_timeout_does_not_apply_after_init(
    server_factory: ServerFactory, connect_client: Connect
) -> None:
    server = await server_factory(init_timeout=0.2)
    client = await acknowledged(server, connect_client)
    await asyncio.sleep(0.4)
    await client.send({"type": "ping"})
    assert await client.receive() == {"type": "pong"}


async def test_second_connection_init_closes_with_4429(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send({"type": "connection_init"})
    code, reason = await client.closed_with()
    assert (code, reason) == (
        CloseCode.TOO_MANY_INITIALISATION_REQUESTS,
        "Too many initialisation requests",
    )


async def test_subscribe_before_ack_closes_with_4401(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(ws_server.url, PROTOCOL)
    await client.send(subscribe("1", "{ hello }"))
    assert await client.closed_with() == (CloseCode.UNAUTHORIZED, "Unauthorized")


async def test_duplicate_operation_id_closes_with_4409(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    query = "subscription { counter(upto: 1000, delay: 0.05) }"
    await client.send(subscribe("dup", query))
    assert (await client.receive())["type"] == "next"
    await client.send(subscribe("dup", query))
    code, reason = await client.closed_with()
    assert (code, reason) == (
        CloseCode.SUBSCRIBER_ALREADY_EXISTS,
        "Subscriber for dup already exists",
    )
    await eventually(lambda: ws_server.recorder.finished == 1)
    assert list(ws_server.recorder.cleanups.values()) == [1]


async def test_long_duplicate_id_is_cut_to_fit_the_close_frame(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    operation_id = "x" * 300
    query = "subscription { counter(upto: 1000, delay: 0.05) }"
    await client.send(subscribe(operation_id, query))
    await client.receive()
    await client.send(subscribe(operation_id, query))
    code, reason = await client.closed_with()
    assert code == CloseCode.SUBSCRIBER_ALREADY_EXISTS
    assert reason.startswith("Subscriber for xxx") and len(reason.encode()) <= 123


async def test_finished_operation_id_can_be_reused_at_once(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    for _ in range(20):
        await client.send(subscribe("again", "{ hello }"))
        assert [m["type"] for m in await client.receive_until("complete")] == ["next", "complete"]
    await client.send({"type": "ping"})
    assert await client.receive() == {"type": "pong"}


async def test_ping_is_answered_with_pong_echoing_its_payload(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(ws_server.url, PROTOCOL)
    await client.send({"type": "ping", "payload": {"at": 1}})
    assert await client.receive() == {"type": "pong", "payload": {"at": 1}}
    await client.send({"type": "ping"})
    assert await client.receive() == {"type": "pong"}


async def test_pong_from_the_client_needs_no_answer(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send({"type": "pong"})
    await client.send({"type": "ping", "payload": {"n": 2}})
    assert await client.receive() == {"type": "pong", "payload": {"n": 2}}


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("{not json", "Invalid message received"),
        (b"\x00binary", "WebSocket message type must be text"),
        ("[1, 2]", "Invalid message received"),
        ({"type": "shout"}, "Unexpected message type 'shout'"),
        ({"payload": {}}, "Unexpected message type None"),
        ({"id": "1", "type": "next", "payload": {}}, "Unexpected message type 'next'"),
        ({"type": "subscribe", "payload": {"query": "{ hello }"}}, "subscribe needs a non-empty"),
        ({"id": "", "type": "subscribe", "payload": {"query": "{ hello }"}}, "subscribe needs"),
        ({"id": "1", "type": "subscribe", "payload": {"query": 5}}, "payload.query must be"),
        ({"id": "1", "type": "subscribe", "payload": "{ hello }"}, "payload must be an object"),
        (
            {"id": "1", "type": "subscribe", "payload": {"query": "{ hello }", "variables": []}},
            "payload.variables must be",
        ),
        ({"type": "complete"}, "complete needs a non-empty string id"),
        ({"type": "ping", "payload": "hi"}, "ping payload must be an object"),
    ],
)
async def test_bad_messages_close_with_4400(
    ws_server: ToyServer, connect_client: Connect, message: Any, reason: str
) -> None:
    client = await acknowledged(ws_server, connect_client)
    if isinstance(message, bytes):
        await client.connection.send(message)
    else:
        await client.send(message)
    code, received = await client.closed_with()
    assert code == CloseCode.BAD_REQUEST
    assert received.startswith(reason)


async def test_a_text_frame_that_is_not_utf8_closes_with_4400(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.connection.send(b'{"type": "ping", "x": "\xff"}', text=True)
    assert await client.closed_with() == (CloseCode.BAD_REQUEST, "Invalid message received")


async def test_a_message_in_fragments_is_read_whole(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(ws_server.url, PROTOCOL)
    await client.connection.send(iter(['{"type": ', '"connection_', 'init"}']))
    assert await client.receive() == {"type": "connection_ack"}
    await client.connection.send(iter([b'{"type": "ping", ', b'"payload": {"n": 1}}']), text=True)
    assert await client.receive() == {"type": "pong", "payload": {"n": 1}}


async def test_a_flood_of_messages_is_answered_in_order(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    # More than the socket keeps unread (it stops reading meanwhile) and reads on.
    client = await acknowledged(ws_server, connect_client)
    for n in range(200):
        await client.send({"type": "ping", "payload": {"n": n}})
    answers = [await client.receive() for _ in range(200)]
    assert [answer["payload"]["n"] for answer in answers] == list(range(200))


async def test_bad_init_payload_closes_with_4400(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await connect_client(ws_server.url, PROTOCOL)
    await client.send({"type": "connection_init", "payload": [1]})
    code, reason = await client.closed_with()
    assert (code, reason) == (CloseCode.BAD_REQUEST, "connection_init payload must be an object")


async def test_subscription_sends_each_result_then_complete(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send(
        subscribe(
            "c",
            "subscription Count($n: Int) { counter(upto: $n) }",
            variables={"n": 3},
            operationName="Count",
        )
    )
    messages = await client.receive_until("complete")
    assert messages == [
        {"id": "c", "type": "next", "payload": {"data": {"counter": 0}}},
        {"id": "c", "type": "next", "payload": {"data": {"counter": 1}}},
        {"id": "c", "type": "next", "payload": {"data": {"counter": 2}}},
        {"id": "c", "type": "complete"},
    ]
    recorder = ws_server.recorder
    assert recorder.finally_tasks == ["graphql-operation:c"]
    assert list(recorder.cleanups.values()) == [1]


async def test_client_complete_stops_the_subscription_once(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send(subscribe("s", "subscription { counter(upto: 100000, delay: 0.01) }"))
    assert (await client.receive())["type"] == "next"
    await client.send({"id": "s", "type": "complete"})
    await client.send({"id": "s", "type": "complete"})
    await eventually(lambda: ws_server.endpoint.live_operations == 0)
    recorder = ws_server.recorder
    assert (recorder.started, recorder.finished) == (1, 1)
    assert recorder.finally_tasks == ["graphql-operation:s"]
    assert list(recorder.cleanups.values()) == [1]
    await client.send({"type": "ping"})
    while (message := await client.receive())["type"] == "next":
        assert message["id"] == "s"  # results already in flight before the complete
    assert message == {"type": "pong"}


async def test_complete_for_an_unknown_id_is_ignored(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send({"id": "nobody", "type": "complete"})
    await client.send({"type": "ping"})
    assert await client.receive() == {"type": "pong"}


async def test_query_over_the_socket_is_one_next_then_complete(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send(subscribe("q", 'query { hello(name: "socket") }'))
    assert await client.receive_until("complete") == [
        {"id": "q", "type": "next", "payload": {"data": {"hello": "Hello socket"}}},
        {"id": "q", "type": "complete"},
    ]


async def test_mutation_over_the_socket_runs_once(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send(subscribe("m", "mutation { increment(by: 5) { total } }"))
    assert await client.receive_until("complete") == [
        {"id": "m", "type": "next", "payload": {"data": {"increment": {"total": 5}}}},
        {"id": "m", "type": "complete"},
    ]
    assert ws_server.recorder.total == 5


async def test_invalid_query_gets_an_error_message_and_the_socket_stays(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send(subscribe("bad", "{ nope }"))
    message = await client.receive()
    assert message["type"] == "error" and message["id"] == "bad"
    [error] = message["payload"]
    assert "nope" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    await client.send(subscribe("good", "{ hello }"))
    assert [m["type"] for m in await client.receive_until("complete")] == ["next", "complete"]


async def test_field_errors_arrive_inside_next(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send(subscribe("f", "{ missing hello }"))
    next_message, complete = await client.receive_until("complete")
    payload = next_message["payload"]
    assert payload["data"] == {"missing": None, "hello": "Hello world"}
    assert payload["errors"][0]["message"] == "Nothing here"
    assert payload["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert complete == {"id": "f", "type": "complete"}


async def test_error_inside_a_subscription_ends_it_but_not_the_socket(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    await client.send(subscribe("boom", "subscription { failing(after: 2) }"))
    messages = await client.receive_until("error")
    assert [m["type"] for m in messages] == ["next", "next", "error"]
    assert messages[-1]["payload"] == [
        {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
    ]
    assert "secret" not in str(messages)
    await client.send(subscribe("boom", "subscription { failing(after: 0, visible: true) }"))
    [error] = await client.receive_until("error")
    assert error["payload"][0]["message"] == "The stream ran dry"
    assert error["payload"][0]["extensions"]["code"] == "NOT_FOUND"
    recorder = ws_server.recorder
    assert (recorder.started, recorder.finished) == (2, 2)
    assert sorted(recorder.cleanups.values()) == [1, 1]


async def test_many_subscriptions_run_concurrently_on_one_socket(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    ids = [f"op{n}" for n in range(40)]
    for operation_id in ids:
        await client.send(subscribe(operation_id, "subscription { counter(upto: 5, delay: 0.01) }"))
    seen: dict[str, list[int]] = {operation_id: [] for operation_id in ids}
    completed: set[str] = set()
    while len(completed) < len(ids):
        message = await client.receive()
        if message["type"] == "complete":
            completed.add(message["id"])
        else:
            seen[message["id"]].append(message["payload"]["data"]["counter"])
    assert all(values == [0, 1, 2, 3, 4] for values in seen.values())
    assert ws_server.recorder.finished == 40
    assert len(ws_server.recorder.cleanups) == 40


async def test_operations_over_the_limit_get_an_error(
    server_factory: ServerFactory, connect_client: Connect
) -> None:
    server = await server_factory(max_operations=2)
    client = await acknowledged(server, connect_client)
    query = "subscription { counter(upto: 1000, delay: 0.05) }"
    for operation_id in ("a", "b", "c"):
        await client.send(subscribe(operation_id, query))
    messages = await client.receive_until("error")
    assert messages[-1]["id"] == "c"
    assert messages[-1]["payload"][0]["message"] == "Too many operations on this connection"


async def test_init_payload_reaches_the_resolvers(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client, token="t-123")
    await client.send(subscribe("t", "{ initToken }"))
    [next_message, _] = await client.receive_until("complete")
    assert next_message["payload"]["data"] == {"initToken": "t-123"}


async def test_client_close_ends_every_operation_once(
    ws_server: ToyServer, connect_client: Connect
) -> None:
    client = await acknowledged(ws_server, connect_client)
    for n in range(5):
        await client.send(subscribe(str(n), "subscription { counter(upto: 100000, delay: 0.01) }"))
    await eventually(lambda: ws_server.recorder.started == 5)
    await client.close()
    await eventually(lambda: ws_server.endpoint.live_connections == 0)
    recorder = ws_server.recorder
    assert recorder.finished == 5
    assert sorted(recorder.cleanups.values()) == [1] * 5
    assert ws_server.endpoint.live_operations == 0
