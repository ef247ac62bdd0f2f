"""Bodies, multipart parts and WebSocket frames that cannot be decoded are client errors."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from gencaster.transport.decoding import UndecodableInput, decode_json, media_type
from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

RECEIVE_TIMEOUT = 10.0
NESTED_1000 = "[" * 1000 + "]" * 1000  # 2 kB of JSON that exhausts a recursive decoder
QUERY = "query($v: [String]) { isAuthenticated { username } }"
UNDECODABLE = [
    pytest.param(
        b'{"query": "' + QUERY.encode() + b'", "variables": {"v": ' + NESTED_1000.encode() + b"}}",
        id="nested-1000",
    ),
    pytest.param(b'{"query": "{ isAuthenticated { username } }", "x": "gr\xfcn"}', id="latin-1"),
    pytest.param(b'{"query": "{ isAuthenticated { username } }", "x": "\xe2\x82"}', id="cut-utf-8"),
    pytest.param(b"{not json", id="not-json"),
]


def _assert_bad_user_input(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_one_decoder_refuses_what_it_cannot_read():
    for raw in (NESTED_1000, b"\xff", "[1,", "[" * 65 + "]" * 65):
        with pytest.raises(UndecodableInput):
            decode_json(raw, "The body")
    assert decode_json("[" * 64 + "]" * 64, "The body") is not None
    assert media_type("Application/JSON; charset=UTF-8") == "application/json"
    assert media_type("MULTIPART/Form-Data; boundary=x") == "multipart/form-data"


@pytest.mark.parametrize("body", UNDECODABLE)
async def test_undecodable_json_bodies_are_bad_user_input(server: RunningServer, body: bytes):
    async with httpx.AsyncClient() as http:
        response = await http.post(
            server.graphql_url, content=body, headers={"Content-Type": "application/json"}
        )
    _assert_bad_user_input(response)


async def test_nested_variables_over_get_are_bad_user_input(server: RunningServer):
    async with httpx.AsyncClient() as http:
        response = await http.get(
            server.graphql_url,
            params={"query": QUERY, "variables": json.dumps({"v": []})[:-2] + NESTED_1000 + "}"},
        )
    _assert_bad_user_input(response)


async def test_media_types_are_case_insensitive(server: RunningServer):
    async with httpx.AsyncClient() as http:
        response = await http.post(
            server.graphql_url,
            content=json.dumps({"query": "{ isAuthenticated { username } }"}).encode(),
            headers={"Content-Type": "Application/JSON; charset=UTF-8"},
        )
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"isAuthenticated": None}}


async def test_deeply_nested_query_text_is_bad_user_input(server: RunningServer):
    query = "{" + " isAuthenticated {" * 3000 + " username" + " }" * 3001
    async with httpx.AsyncClient() as http:
        response = await http.post(server.graphql_url, json={"query": query})
    assert response.status_code in (200, 400), response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("part", ["operations", "map"])
@pytest.mark.parametrize("content", [NESTED_1000.encode(), b'{"a": "\xff"}', b"{"])
async def test_undecodable_multipart_parts_are_bad_user_input(
    server: RunningServer, part: str, content: bytes
):
    operations = json.dumps({"query": "{ isAuthenticated { username } }"}).encode()
    parts = {"operations": operations, "map": b"{}"}
    parts[part] = content
    boundary = "gencaster-boundary"
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
            for name, value in parts.items()
        )
        + f"--{boundary}--\r\n".encode()
    )
    async with httpx.AsyncClient() as http:
        response = await http.post(
            server.graphql_url,
            content=body,
            headers={"Content-Type": f"Multipart/Form-Data; boundary={boundary}"},
        )
    _assert_bad_user_input(response)


@pytest.mark.parametrize("frame", [NESTED_1000, b"\xff\xfe", "{"])
async def test_undecodable_frames_close_graphql_transport_ws_with_4400(
    server: RunningServer, frame: str | bytes
):
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init"}))
        ack = json.loads(await socket.recv())
        assert ack["type"] == "connection_ack"
        await socket.send(frame)
        with pytest.raises(ConnectionClosed):
            await socket.recv()
        assert socket.close_code == 4400


@pytest.mark.parametrize("frame", [NESTED_1000, "{"])
async def test_undecodable_frames_get_connection_error_on_graphql_ws(
    server: RunningServer, frame: str
):
    async with connect(server.ws_url, subprotocols=["graphql-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(frame)
        while (message := json.loads(await socket.recv()))["type"] == "ka":
            pass
        assert message["type"] == "connection_error"
        # The socket stays usable.
        await socket.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "start",
                    "payload": {"query": "{ isAuthenticated { username } }"},
                }
            )
        )
        while (message := json.loads(await socket.recv()))["type"] == "ka":
            pass
        assert message == {
            "id": "1",
            "type": "data",
            "payload": {"data": {"isAuthenticated": None}},
        }
