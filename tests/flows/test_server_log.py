"""The log of a real ``gencaster serve``: normal events are no warnings, and nothing twice.

Sockets that clients close (cleanly or by dropping the connection) and a story that
walks to its end are everyday events. The server runs with its access log on (debug),
so an error page written onto a closed socket would show as ``GET ws://… 500``.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from tests.support.builders import add_cells, add_graph
from tests.support.graphql import GraphQLClient
from tests.support.logs import log_problems
from tests.support.osc import fake_points
from tests.support.processes import (
    STAFF_PASSWORD,
    STAFF_USER,
    prepare_database,
    server_env,
    server_process,
)
from tests.support.server import free_port
from tests.support.ws import graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

STREAM_INFO = """subscription($g: UUID!) { streamInfo(graphUuid: $g) { __typename } }"""
STREAM_POINTS = "{ streamPoints { port } }"


async def _close_sockets_every_way(ws_url: str, cookies: dict[str, str]) -> None:
    for protocol in ("graphql-ws", "graphql-transport-ws"):
        for abrupt in (False, True):
            async with graphql_socket(ws_url, protocol, cookies=cookies) as client:
                operation = await client.subscribe("subscription { streams { uuid } }")
                await client.next_payload(operation)
                if abrupt:
                    client.abort()


async def _walk_to_the_end(staff: GraphQLClient, ws_url: str, osc_port: int) -> None:
    graph = await add_graph(staff, "log-walk")
    await add_cells(
        staff,
        graph["nodes"][0]["uuid"],
        [
            {"cellType": "PYTHON", "cellCode": "vars['seen'] = 'yes'"},
            {"cellType": "SUPERCOLLIDER", "cellCode": "1 + 1"},
        ],
    )
    async with fake_points(osc_port, beacon_interval=0.5) as start_point:
        point = await start_point()
        for _ in range(200):  # until its beacon has made it a stream point
            ports = [p["port"] for p in (await staff.data(STREAM_POINTS))["streamPoints"]]
            if point.lang_port in ports:
                break
            await asyncio.sleep(0.05)
        async with graphql_socket(ws_url, "graphql-ws") as listener:
            operation = await listener.subscribe(STREAM_INFO, {"g": graph["uuid"]})
            kind = ""
            while kind != "GraphDeadEnd":
                payload = await listener.next_payload(operation, timeout=30)
                kind = payload["data"]["streamInfo"]["__typename"]


async def test_closed_sockets_and_a_story_end_leave_a_clean_log(tmp_path: Path):
    osc_port = free_port(socket.SOCK_DGRAM)
    env = server_env(str(tmp_path), debug="true", osc_port=str(osc_port), osc_host="127.0.0.1")
    await asyncio.to_thread(prepare_database, env)
    output = tmp_path / "server.log"
    async with server_process(env, output=output) as server, GraphQLClient(server.url) as staff:
        assert (await staff.login(STAFF_USER, STAFF_PASSWORD))["__typename"] == "User"
        cookies = dict(staff.http.cookies.items())
        await _close_sockets_every_way(server.ws_url, cookies)
        await _walk_to_the_end(staff, server.ws_url, osc_port)
    log = output.read_text(errors="replace")
    assert "Worker ready" in log and "Dead end" in log, log[-3000:]
    assert log_problems(log) == [], log[-6000:]
