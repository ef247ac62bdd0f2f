"""A listener walks a story graph over real WebSockets, with a fake stream point over UDP."""

from __future__ import annotations

import asyncio

import pytest

from gencaster.auth import create_user
from gencaster.supercollider import CLEAN_SLATE
from models import Stream, StreamLog, StreamPoint
from tests.conftest import STAFF_PASSWORD
from tests.flows.listening.conftest import FakeFactory, cell_codes, resets
from tests.support.builders import add_cells, add_door, add_graph, add_node, connect, default_door
from tests.support.graphql import GraphQLClient
from tests.support.polling import eventually, stays
from tests.support.server import RunningServer
from tests.support.ws import graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

STREAM_INFO = """subscription($g: UUID!) { streamInfo(graphUuid: $g) {
  __typename
  ... on StreamInfo { stream { uuid numListeners } streamInstruction { instructionText } }
  ... on Dialog { title content { __typename ... on Input { key label } }
                  buttons { text key value buttonType } }
  ... on NoStreamAvailable { error }
  ... on GraphDeadEnd { error } } }"""

SET_VARIABLE = """mutation($v: [StreamVariableInput!]!) {
  createUpdateStreamVariable(streamVariables: $v) { key value } }"""

PYTHON_CELL = """\
yield Dialog(title="Ready?", content=[Input(key="answer", label="Answer")],
             buttons=[Button.ok(key="answer", value="yes")])
answer = await wait_for_stream_variable("answer", timeout=20)
vars["heard"] = answer
"""


async def staff_client(server: RunningServer, unique: str) -> GraphQLClient:
    await create_user(username=f"s-{unique}", password=STAFF_PASSWORD, is_staff=True)
    client = GraphQLClient(server.graphql_url)
    assert (await client.login(f"s-{unique}", STAFF_PASSWORD))["__typename"] == "User"
    return client


async def build_story(staff: GraphQLClient, unique: str) -> dict:
    graph = await add_graph(staff, unique)
    start = graph["nodes"][0]
    await add_cells(
        staff,
        start["uuid"],
        [
            {"cellType": "COMMENT", "cellCode": "not sent"},
            {"cellType": "SUPERCOLLIDER", "cellCode": "1 + 1"},
            {"cellType": "PYTHON", "cellCode": PYTHON_CELL},
        ],
    )
    door = await add_door(staff, start["uuid"], name="yes", code="vars.get('answer') == 'yes'")
    yes = await add_node(staff, graph["uuid"], "Yes")
    no = await add_node(staff, graph["uuid"], "No")
    for node, code in ((yes, '"yes".postln'), (no, '"no".postln')):
        await add_cells(staff, node["uuid"], [{"cellType": "SUPERCOLLIDER", "cellCode": code}])
    await connect(staff, door, default_door(yes, "in"))
    await connect(staff, default_door(start, "out"), default_door(no, "in"))
    return graph


async def wait_for_point(port: int) -> StreamPoint:
    return await eventually(
        lambda: StreamPoint.get_or_none(port=port),
        message="the fake stream point's beacon never arrived",
    )


@pytest.mark.parametrize("protocol", ["graphql-ws", "graphql-transport-ws"])
async def test_a_listener_walks_the_graph_answering_a_dialog(
    server: RunningServer, fake_point: FakeFactory, unique: str, protocol: str
):
    staff = await staff_client(server, unique)
    graph = await build_story(staff, unique)
    point = await fake_point()
    await wait_for_point(point.lang_port)
    seen: list[str] = []
    async with graphql_socket(server.ws_url, protocol) as socket:
        op = await socket.subscribe(STREAM_INFO, {"g": graph["uuid"]})
        first = (await socket.next_payload(op))["data"]["streamInfo"]
        assert first["__typename"] == "StreamInfo" and first["streamInstruction"] is None
        stream_uuid = first["stream"]["uuid"]
        assert first["stream"]["numListeners"] == 1
        while True:
            item = (await socket.next_payload(op))["data"]["streamInfo"]
            seen.append(item["__typename"])
            if item["__typename"] == "Dialog":
                assert item["title"] == "Ready?"
                assert item["content"] == [
                    {"__typename": "Input", "key": "answer", "label": "Answer"}
                ]
                async with GraphQLClient(server.graphql_url) as listener_http:
                    await listener_http.data(
                        SET_VARIABLE,
                        {"v": [{"streamUuid": stream_uuid, "key": "answer", "value": "yes"}]},
                    )
            if item["__typename"] == "GraphDeadEnd":
                break
        completion = await socket.receive_for(op)
        assert completion["type"] == "complete"
    # The reset before the first listener and its probes are internal: never shown.
    assert seen == ["StreamInfo", "Dialog", "StreamInfo", "GraphDeadEnd"]
    assert cell_codes(point) == ["1 + 1", '"yes".postln']
    assert resets(point) == 1 and point.received[0].code == CLEAN_SLATE
    await _until_listeners(stream_uuid, 0)
    await staff.http.aclose()


async def _listeners(stream_uuid: str) -> int:
    return (await Stream.get(uuid=stream_uuid)).num_listeners


async def _until_walking(stream_uuid: str) -> None:
    await eventually(
        lambda: StreamLog.exists(stream_id=stream_uuid, message__startswith="Entered node"),
        message="the engine never entered the first node",
    )


async def _until_listeners(stream_uuid: str, expected: int) -> None:
    async def reached() -> bool:
        return await _listeners(stream_uuid) == expected

    await eventually(reached, message=f"numListeners never became {expected}")


@pytest.mark.parametrize("leave", ["stop", "close", "abort"])
async def test_every_way_of_leaving_releases_the_listener_once(
    server: RunningServer, fake_point: FakeFactory, unique: str, leave: str
):
    staff = await staff_client(server, unique)
    graph = await build_story(staff, unique)
    point = await fake_point()
    await wait_for_point(point.lang_port)
    async with graphql_socket(server.ws_url, "graphql-ws") as socket:
        op = await socket.subscribe(STREAM_INFO, {"g": graph["uuid"]})
        first = (await socket.next_payload(op))["data"]["streamInfo"]
        stream_uuid = first["stream"]["uuid"]
        while (await socket.next_payload(op))["data"]["streamInfo"]["__typename"] != "Dialog":
            pass
        if leave == "stop":
            await socket.stop(op)
        elif leave == "abort":
            socket.abort()
        else:
            await socket.connection.close()
    await _until_listeners(stream_uuid, 0)
    await stays(lambda: _listeners(stream_uuid), 0, rounds=30)  # no second release
    await staff.http.aclose()


async def test_no_free_point_and_deactivated_graphs_say_no_stream(
    server: RunningServer, unique: str
):
    staff = await staff_client(server, unique)
    graph = await add_graph(staff, unique, streamAssignmentPolicy="DEACTIVATE")
    async with graphql_socket(server.ws_url) as socket:
        op = await socket.subscribe(STREAM_INFO, {"g": graph["uuid"]})
        item = (await socket.next_payload(op))["data"]["streamInfo"]
        assert item["__typename"] == "NoStreamAvailable"
        assert (await socket.receive_for(op))["type"] == "complete"
    await staff.http.aclose()


async def test_control_values_only_reach_streams_that_still_have_listeners(
    server: RunningServer, fake_point: FakeFactory, unique: str
):
    staff = await staff_client(server, unique)
    graph = await add_graph(staff, unique)
    await add_cells(
        staff,
        graph["nodes"][0]["uuid"],
        [{"cellType": "PYTHON", "cellCode": "await asyncio.sleep(60)"}],
    )
    point = await fake_point()
    await wait_for_point(point.lang_port)
    async with graphql_socket(server.ws_url) as socket:
        op = await socket.subscribe(STREAM_INFO, {"g": graph["uuid"]})
        stream_uuid = (await socket.next_payload(op))["data"]["streamInfo"]["stream"]["uuid"]
        await _until_walking(stream_uuid)  # past the reset, which would drop what is sent
        async with GraphQLClient(server.graphql_url) as listener:
            await listener.data(
                SET_VARIABLE,
                {
                    "v": [
                        {
                            "streamUuid": stream_uuid,
                            "key": "amp",
                            "value": "0.5",
                            "streamToSc": True,
                        }
                    ]
                },
            )
            await point.wait_for_code('Ndef("amp".asSymbol, 0.5);', timeout=10)
            bad = [
                {"streamUuid": stream_uuid, "key": "amp", "value": "1;s.quit", "streamToSc": True}
            ]
            assert await listener.error_codes(SET_VARIABLE, {"v": bad}) == ["BAD_USER_INPUT"]
    await _until_listeners(stream_uuid, 0)
    async with GraphQLClient(server.graphql_url) as listener:
        # Stored as before, so a listener's last answer is kept; it just no longer
        # reaches the point, which may play someone else's stream by now.
        late = [{"streamUuid": stream_uuid, "key": "amp", "value": "0.9", "streamToSc": True}]
        stored = (await listener.data(SET_VARIABLE, {"v": late}))["createUpdateStreamVariable"]
        assert [(v["key"], v["value"]) for v in stored] == [("amp", "0.9")]
    assert [i.code for i in point.received].count('Ndef("amp".asSymbol, 0.9);') == 0
    await staff.http.aclose()


async def test_listeners_setting_one_new_variable_at_once_all_succeed(
    server: RunningServer, unique: str
):
    from models import Graph, StreamVariable

    graph = await Graph.create(name=f"v-{unique}", display_name="v", slug_name=f"v-{unique}")
    point = await StreamPoint.create(host="127.0.0.1", port=1)
    stream = await Stream.create(stream_point=point, graph=graph, num_listeners=1)
    variables = [{"streamUuid": str(stream.uuid), "key": "answer", "value": "yes"}]
    async with GraphQLClient(server.graphql_url) as listener:
        results = await asyncio.gather(
            *(listener.execute(SET_VARIABLE, {"v": variables}) for _ in range(10))
        )
    assert all("errors" not in result for result in results), results
    assert await StreamVariable.filter(stream=stream, key="answer").count() == 1
