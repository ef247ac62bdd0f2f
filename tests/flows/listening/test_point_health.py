"""No silent stalls: editors learn of a cell stuck on its point, listeners of a dead point.

A server of its own with short windows (the ORM is process-wide: this module does not
use the shared ``server``): the point's beacon window, and when a waiting cell is first
reported. The fakes beacon often, so a point is dead after a window without beacons.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from gencaster.auth import SESSION_COOKIE
from gencaster.cli import migrate_database
from gencaster.streaming.listening import POINT_LOST
from models import LogLevel, Stream, StreamLog, StreamPoint
from tests.conftest import make_settings
from tests.flows.listening.conftest import FakeFactory, cell_codes
from tests.flows.listening.test_listening_flow import STREAM_INFO, staff_client, wait_for_point
from tests.support.builders import add_cells, add_graph
from tests.support.databases import database
from tests.support.graphql import GraphQLClient
from tests.support.polling import eventually
from tests.support.server import RunningServer, running_server
from tests.support.ws import GraphQLSocket, graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

BEACON_WINDOW_S = 1.0
BEACON_EVERY_S = 0.2
STREAM_LOGS = """subscription($s: UUID) { streamLogs(streamUuid: $s) { level message } }"""


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=["sqlite", "postgres"])
async def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningServer]:
    tmp = tmp_path_factory.mktemp(f"health-{request.param}")
    async with database(request.param, tmp) as url:
        settings = make_settings(
            tmp,
            url,
            beacon_window_s=BEACON_WINDOW_S,
            instruction_warning_s=0.3,
            instruction_timeout_s=3.0,
        )
        await migrate_database(settings)
        async with running_server(settings) as running:
            yield running


async def _next(socket: GraphQLSocket, op: str) -> dict:
    return (await socket.next_payload(op, timeout=30))["data"]["streamInfo"]


async def _story(staff: GraphQLClient, unique: str, cells: list[str]) -> dict:
    graph = await add_graph(staff, unique)
    await add_cells(
        staff,
        graph["nodes"][0]["uuid"],
        [{"cellType": "SUPERCOLLIDER", "cellCode": code} for code in cells],
    )
    return graph


async def test_editors_learn_early_that_a_cell_waits_on_its_point(
    server: RunningServer, fake_point: FakeFactory, unique: str
):
    staff = await staff_client(server, unique)
    graph = await _story(staff, unique, ["1/nil; BOOM", '"after".postln'])
    point = await fake_point(beacon_interval=BEACON_EVERY_S, runtime_error_marker="BOOM")
    await wait_for_point(point.lang_port)
    cookies = {SESSION_COOKIE: staff.http.cookies[SESSION_COOKIE]}
    async with (
        graphql_socket(server.ws_url) as listener,
        graphql_socket(server.ws_url, cookies=cookies) as editor,
    ):
        op = await listener.subscribe(STREAM_INFO, {"g": graph["uuid"]})
        stream_uuid = (await _next(listener, op))["stream"]["uuid"]
        logs = await editor.subscribe(STREAM_LOGS, {"s": stream_uuid})
        assert (await _next(listener, op))["streamInstruction"]["instructionText"] == "1/nil; BOOM"
        seen: list[tuple[str, str]] = []
        while not any(_cell_failed(message) for _, message in seen):
            log = (await editor.next_payload(logs, timeout=30))["data"]["streamLogs"]
            seen.append((log["level"], log["message"]))
        # Told while the cell still waited, well before it was given up on.
        waiting = [i for i, (_, message) in enumerate(seen) if "still waits" in message]
        failed = next(i for i, (_, message) in enumerate(seen) if _cell_failed(message))
        assert waiting and waiting[0] < failed, seen
        assert seen[waiting[0]][0] == "WARNING" and "state RECEIVED" in seen[waiting[0]][1]
        assert seen[failed][0] == "ERROR"
        assert (await _next(listener, op))["__typename"] == "StreamInfo"  # the walk goes on
        assert (await _next(listener, op))["__typename"] == "GraphDeadEnd"
    assert cell_codes(point) == ["1/nil; BOOM", '"after".postln']
    await staff.http.aclose()


async def test_a_dead_point_ends_its_stream_and_is_assignable_once_it_is_back(
    server: RunningServer, fake_point: FakeFactory, unique: str
):
    staff = await staff_client(server, unique)
    # The first cell never finishes on this point: the stream waits on it when it dies.
    graph = await _story(staff, unique, ["1/nil; BOOM"])
    point = await fake_point(beacon_interval=BEACON_EVERY_S, runtime_error_marker="BOOM")
    row = await wait_for_point(point.lang_port)
    async with graphql_socket(server.ws_url) as socket:
        op = await socket.subscribe(STREAM_INFO, {"g": graph["uuid"]})
        stream_uuid = (await _next(socket, op))["stream"]["uuid"]
        assert (await _next(socket, op))["streamInstruction"]["instructionText"] == "1/nil; BOOM"
        await point.close()  # as a killed sclang: no beacons, no answers, nothing else
        end = await _next(socket, op)
        assert end == {"__typename": "GraphDeadEnd", "error": POINT_LOST}
        assert (await socket.receive_for(op))["type"] == "complete"
    await eventually(lambda: _listeners(stream_uuid, 0), message="the listener was not released")
    logs = await StreamLog.filter(stream_id=stream_uuid, level=LogLevel.ERROR)
    assert any("sent no beacon" in log.message for log in logs), [log.message for log in logs]
    # Gone: a new listener is not given the dead point.
    async with graphql_socket(server.ws_url) as socket:
        op = await socket.subscribe(STREAM_INFO, {"g": graph["uuid"]})
        assert (await _next(socket, op))["__typename"] == "NoStreamAvailable"
    # Back (sclang restarted on its port): beaconing again, it is assigned again.
    again = await fake_point(lang_port=point.lang_port, beacon_interval=BEACON_EVERY_S)
    await eventually(lambda: _live(row.uuid), message="the point never came back")
    async with graphql_socket(server.ws_url) as socket:
        op = await socket.subscribe(STREAM_INFO, {"g": graph["uuid"]})
        attached = await _next(socket, op)
        assert attached["__typename"] == "StreamInfo"
        stream = await Stream.get(uuid=attached["stream"]["uuid"])
        assert stream.stream_point_id == row.uuid
        await again.wait_for_code("1/nil; BOOM", timeout=30)
    await staff.http.aclose()


def _cell_failed(message: str) -> bool:
    return message.startswith("Cell ") and " failed: " in message


async def _listeners(stream_uuid: str, expected: int) -> bool:
    return (await Stream.get(uuid=stream_uuid)).num_listeners == expected


async def _live(point_uuid: object) -> bool:
    return await StreamPoint.live(BEACON_WINDOW_S).filter(uuid=point_uuid).exists()
