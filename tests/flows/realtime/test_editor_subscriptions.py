"""The editor's live subscriptions over real WebSockets, on both subprotocols."""

from __future__ import annotations

import asyncio
import uuid
import wave
from pathlib import Path

import pytest

from gencaster.audio import import_audio_file
from gencaster.auth import SESSION_COOKIE
from tests.support.builders import add_cells, add_graph, add_node
from tests.support.graphql import GraphQLClient
from tests.support.polling import eventually
from tests.support.server import RunningServer
from tests.support.ws import graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

PROTOCOLS = ["graphql-transport-ws", "graphql-ws"]
GRAPH_SUB = "subscription($g: UUID!) { graph(graphUuid: $g) { name nodes { name positionX } } }"
NODE_SUB = "subscription($n: UUID!) { node(nodeUuid: $n) { name outNodeDoors { name } } }"
UPDATE_NODE = "mutation($u: NodeUpdate!) { updateNode(nodeUpdate: $u) }"


def staff_cookies(client: GraphQLClient) -> dict[str, str]:
    return {SESSION_COOKIE: client.http.cookies[SESSION_COOKIE]}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_graph_subscription_sees_every_change(
    server: RunningServer, staff: GraphQLClient, unique: str, protocol: str
):
    graph = await add_graph(staff, unique)
    async with graphql_socket(server.ws_url, protocol, cookies=staff_cookies(staff)) as socket:
        op = await socket.subscribe(GRAPH_SUB, {"g": graph["uuid"]})
        first = await socket.next_payload(op)
        assert [n["name"] for n in first["data"]["graph"]["nodes"]] == ["Start"]
        node = await add_node(staff, graph["uuid"], "second")
        names = set()
        while "second" not in names:
            payload = await socket.next_payload(op)
            names = {n["name"] for n in payload["data"]["graph"]["nodes"]}
        await staff.data(UPDATE_NODE, {"u": {"uuid": node["uuid"], "positionX": 42}})
        while True:
            payload = await socket.next_payload(op)
            nodes = {n["name"]: n["positionX"] for n in payload["data"]["graph"]["nodes"]}
            if nodes.get("second") == 42:
                break
        await socket.stop(op)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_node_subscription_sees_door_changes(
    server: RunningServer, staff: GraphQLClient, unique: str, protocol: str
):
    graph = await add_graph(staff, unique)
    node_uuid = graph["nodes"][0]["uuid"]
    async with graphql_socket(server.ws_url, protocol, cookies=staff_cookies(staff)) as socket:
        op = await socket.subscribe(NODE_SUB, {"n": node_uuid})
        first = await socket.next_payload(op)
        assert [d["name"] for d in first["data"]["node"]["outNodeDoors"]] == ["default"]
        await staff.data(
            """mutation($n: UUID!, $d: NodeDoorInputCreate!) {
               createNodeDoor(nodeUuid: $n, nodeDoorInput: $d) { uuid } }""",
            {"n": node_uuid, "d": {"doorType": "OUTPUT", "name": "left"}},
        )
        payload = await socket.next_payload(op)
        assert [d["name"] for d in payload["data"]["node"]["outNodeDoors"]] == ["left", "default"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_staff_subscriptions_refuse_anonymous_sockets(
    server: RunningServer, staff: GraphQLClient, unique: str, protocol: str
):
    graph = await add_graph(staff, unique)
    async with graphql_socket(server.ws_url, protocol) as socket:
        for query, variables in (
            (GRAPH_SUB, {"g": graph["uuid"]}),
            (NODE_SUB, {"n": graph["nodes"][0]["uuid"]}),
            ("subscription { streams { uuid } }", {}),
            ("subscription { streamLogs { uuid } }", {}),
        ):
            op = await socket.subscribe(query, variables)
            message = await socket.receive_for(op)
            assert message["type"] in ("error", "next", "data"), message
            payload = message["payload"]
            errors = payload if isinstance(payload, list) else payload.get("errors", [payload])
            assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED", message


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_unknown_uuid_ends_the_operation_not_the_socket(
    server: RunningServer, staff: GraphQLClient, protocol: str
):
    async with graphql_socket(server.ws_url, protocol, cookies=staff_cookies(staff)) as socket:
        op = await socket.subscribe(GRAPH_SUB, {"g": str(uuid.uuid4())})
        message = await socket.receive_for(op)
        payload = message["payload"]
        errors = payload if isinstance(payload, list) else payload.get("errors", [payload])
        assert errors[0]["extensions"]["code"] == "NOT_FOUND", message
        query = await socket.subscribe("query { isAuthenticated { username } }")
        result = await socket.next_payload(query)
        assert result["data"]["isAuthenticated"]["username"].startswith("staff-")


async def test_a_token_in_connection_init_authenticates_the_socket(
    server: RunningServer, staff: GraphQLClient
):
    token = staff.http.cookies[SESSION_COOKIE]
    async with graphql_socket(server.ws_url, init_payload={"sessionToken": token}) as socket:
        op = await socket.subscribe("query { isAuthenticated { isStaff } }")
        assert (await socket.next_payload(op))["data"]["isAuthenticated"]["isStaff"] is True


async def test_cross_site_upgrade_with_cookie_is_refused(
    server: RunningServer, staff: GraphQLClient
):
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    headers = {
        "Cookie": f"{SESSION_COOKIE}={staff.http.cookies[SESSION_COOKIE]}",
        "Origin": "https://evil.example",
    }
    with pytest.raises(InvalidStatus) as refused:
        await asyncio.wait_for(
            connect(
                server.ws_url, subprotocols=["graphql-transport-ws"], additional_headers=headers
            ),
            10,
        )
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("leave", ["close", "abort"])
async def test_leaving_sockets_end_their_operations(
    server: RunningServer, staff: GraphQLClient, unique: str, protocol: str, leave: str
):
    graph = await add_graph(staff, unique)
    endpoint = server.app.ctx.graphql_websocket
    before = endpoint.live_operations
    async with graphql_socket(server.ws_url, protocol, cookies=staff_cookies(staff)) as socket:
        op = await socket.subscribe(GRAPH_SUB, {"g": graph["uuid"]})
        await socket.next_payload(op)
        assert endpoint.live_operations == before + 1
        if leave == "close":
            await socket.connection.close()
        else:
            socket.abort()
    await eventually(lambda: endpoint.live_operations == before)


async def test_the_servers_own_pages_may_open_sockets_with_the_cookie(
    server: RunningServer, staff: GraphQLClient
):
    from websockets.asyncio.client import connect

    headers = {
        "Cookie": f"{SESSION_COOKIE}={staff.http.cookies[SESSION_COOKIE]}",
        "Origin": server.url,
    }
    connection = await asyncio.wait_for(
        connect(server.ws_url, subprotocols=["graphql-transport-ws"], additional_headers=headers),
        10,
    )
    await connection.close()


async def test_logging_out_over_a_socket_ends_its_staff_rights(
    server: RunningServer, staff: GraphQLClient
):
    async with graphql_socket(server.ws_url, cookies=staff_cookies(staff)) as socket:
        op = await socket.subscribe("query { nodes { uuid } }")
        assert "errors" not in await socket.next_payload(op)
        op = await socket.subscribe("mutation { authLogout }")
        assert (await socket.next_payload(op))["data"]["authLogout"] is True
        op = await socket.subscribe("query { nodes { uuid } }")
        message = await socket.receive_for(op)
        payload = message["payload"]
        errors = payload if isinstance(payload, list) else payload.get("errors", [])
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED", message


async def test_every_stream_logs_subscriber_gets_the_history(
    server: RunningServer, staff: GraphQLClient
):
    from models import LogLevel, StreamLog

    marker = uuid.uuid4().hex
    for index in range(2):
        await StreamLog.create(message=f"{marker}-{index}", level=LogLevel.INFO)
    query = "subscription { streamLogs { message } }"
    async with graphql_socket(server.ws_url, cookies=staff_cookies(staff)) as socket:
        first, second = await socket.subscribe(query), await socket.subscribe(query)
        for op in (first, second):
            seen = []
            while len(seen) < 2:
                message = (await socket.next_payload(op))["data"]["streamLogs"]["message"]
                if message.startswith(marker):
                    seen.append(message)
            assert seen == [f"{marker}-0", f"{marker}-1"]


NODE_AUDIO_SUB = """subscription($n: UUID!) {
    node(nodeUuid: $n) { scriptCells { audioCell { audioFile { name description } } } } }"""
UPDATE_AUDIO_FILE = """mutation($u: UUID!, $a: UpdateAudioFile!) {
    updateAudioFile(uuid: $u, updateAudioFile: $a) { name description } }"""


async def test_renaming_an_audio_file_reaches_the_nodes_that_play_it(
    server: RunningServer, staff: GraphQLClient, unique: str, tmp_path: Path
):
    """updateAudioFile publishes like every other write: a node's watchers see the new name."""
    path = tmp_path / "short.wav"
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(b"\x01\x00" * 800)
    audio_file = await import_audio_file(path, media=server.services.media, name="before")
    graph = await add_graph(staff, unique)
    node_uuid = graph["nodes"][0]["uuid"]
    audio = {"playback": "SYNC_PLAYBACK", "audioFile": {"uuid": str(audio_file.uuid)}}
    await add_cells(staff, node_uuid, [{"cellType": "AUDIO", "cellCode": "", "audioCell": audio}])
    async with graphql_socket(server.ws_url, cookies=staff_cookies(staff)) as socket:
        op = await socket.subscribe(NODE_AUDIO_SUB, {"n": node_uuid})
        first = await socket.next_payload(op)
        [cell] = first["data"]["node"]["scriptCells"]
        assert cell["audioCell"]["audioFile"]["name"] == "before"
        changed = await staff.data(
            UPDATE_AUDIO_FILE, {"u": str(audio_file.uuid), "a": {"name": f"after-{unique}"}}
        )
        assert changed["updateAudioFile"]["name"] == f"after-{unique}"
        payload = await socket.next_payload(op)
        [cell] = payload["data"]["node"]["scriptCells"]
        assert cell["audioCell"]["audioFile"] == {"name": f"after-{unique}", "description": ""}
        await socket.stop(op)
