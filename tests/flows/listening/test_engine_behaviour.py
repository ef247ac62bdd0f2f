"""What the engine logs, how it survives runaway code, and one stream shared by listeners."""

from __future__ import annotations

import asyncio
import logging

import pytest

from models import LogLevel, StreamLog
from tests.flows.listening.conftest import FakeFactory, cell_codes
from tests.flows.listening.test_listening_flow import STREAM_INFO, staff_client, wait_for_point
from tests.support.builders import add_cells, add_door, add_graph, add_node, connect, default_door
from tests.support.server import RunningServer
from tests.support.sql import reads_of, recording_statements
from tests.support.ws import GraphQLSocket, graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def walk_to_end(socket: GraphQLSocket, graph_uuid: str) -> tuple[str, list[str]]:
    op = await socket.subscribe(STREAM_INFO, {"g": graph_uuid})
    first = (await socket.next_payload(op, timeout=30))["data"]["streamInfo"]
    kinds = []
    while not kinds or kinds[-1] != "GraphDeadEnd":
        item = (await socket.next_payload(op, timeout=30))["data"]["streamInfo"]
        kinds.append(item["__typename"])
    return first["stream"]["uuid"], kinds


async def test_runaway_code_is_stopped_and_logged_and_the_walk_goes_on(
    server: RunningServer, fake_point: FakeFactory, unique: str
):
    staff = await staff_client(server, unique)
    graph = await add_graph(staff, unique)
    start = graph["nodes"][0]
    await add_cells(
        staff,
        start["uuid"],
        [
            {"cellType": "PYTHON", "cellCode": "while True:\n    pass"},
            {"cellType": "PYTHON", "cellCode": "vars['n'] = 10**10**10"},
            {"cellType": "SUPERCOLLIDER", "cellCode": "after"},
        ],
    )
    await add_door(staff, start["uuid"], name="spin", code="max(range(10**12)) > 0")
    end = await add_node(staff, graph["uuid"], "End")
    await connect(staff, default_door(start, "out"), default_door(end, "in"))
    point = await fake_point()
    await wait_for_point(point.lang_port)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    async with graphql_socket(server.ws_url) as socket:
        stream_uuid, kinds = await walk_to_end(socket, graph["uuid"])
    ticking.cancel()
    assert kinds == ["StreamInfo", "GraphDeadEnd"]
    assert cell_codes(point) == ["after"]
    assert ticks > 0
    logs = await StreamLog.filter(stream_id=stream_uuid).order_by("created_date", "uuid")
    failures = [log for log in logs if log.level == LogLevel.ERROR]
    assert len(failures) == 2, [log.message for log in logs]
    messages = " | ".join(log.message for log in logs)
    assert "Entered node 'Start'" in messages and "Entered node 'End'" in messages
    assert "Door 'spin' failed" in messages and "Dead end" in messages
    await staff.http.aclose()


async def test_one_graph_one_stream_listeners_share_one_engine(
    server: RunningServer, fake_point: FakeFactory, unique: str
):
    staff = await staff_client(server, unique)
    graph = await add_graph(staff, unique, streamAssignmentPolicy="ONE_GRAPH_ONE_STREAM")
    await add_cells(
        staff,
        graph["nodes"][0]["uuid"],
        [
            {"cellType": "PYTHON", "cellCode": "await asyncio.sleep(0.5)"},
            {"cellType": "SUPERCOLLIDER", "cellCode": "shared"},
        ],
    )
    point = await fake_point()
    await wait_for_point(point.lang_port)
    async with graphql_socket(server.ws_url) as first, graphql_socket(server.ws_url) as second:
        results = await asyncio.gather(
            walk_to_end(first, graph["uuid"]), walk_to_end(second, graph["uuid"])
        )
    assert results[0][0] == results[1][0]  # one stream
    assert [i.code for i in point.received].count("shared") == 1
    await staff.http.aclose()


async def test_empty_cells_and_doors_do_nothing_and_a_normal_end_is_no_warning(
    server: RunningServer, fake_point: FakeFactory, unique: str
):
    """What the editor saves before anything is typed walks cleanly: a blank door never opens."""
    staff = await staff_client(server, unique)
    graph = await add_graph(staff, unique)
    start = graph["nodes"][0]
    await add_cells(
        staff,
        start["uuid"],
        [
            {"cellType": "PYTHON", "cellCode": ""},
            {"cellType": "PYTHON", "cellCode": "# later"},
            {"cellType": "SUPERCOLLIDER", "cellCode": "start"},
        ],
    )
    blank = await add_door(staff, start["uuid"], name="blank", code="", order=0)
    wrong = await add_node(staff, graph["uuid"], "Wrong")
    await add_cells(staff, wrong["uuid"], [{"cellType": "SUPERCOLLIDER", "cellCode": "wrong"}])
    right = await add_node(staff, graph["uuid"], "Right")
    await add_cells(staff, right["uuid"], [{"cellType": "SUPERCOLLIDER", "cellCode": "right"}])
    await connect(staff, blank, default_door(wrong, "in"))
    await connect(staff, default_door(start, "out"), default_door(right, "in"))
    point = await fake_point()
    await wait_for_point(point.lang_port)
    async with graphql_socket(server.ws_url) as socket:
        stream_uuid, kinds = await walk_to_end(socket, graph["uuid"])
    assert kinds[-1] == "GraphDeadEnd"
    assert [i.code for i in point.received][-2:] == ["start", "right"]
    logs = await StreamLog.filter(stream_id=stream_uuid).order_by("created_date", "uuid")
    assert [log.message for log in logs if log.level >= LogLevel.WARNING] == []
    assert "Dead end: no edge leads on" in [log.message for log in logs]
    await staff.http.aclose()


async def test_a_cell_storing_a_refused_variable_says_why_without_a_traceback(
    server: RunningServer, fake_point: FakeFactory, unique: str, caplog: pytest.LogCaptureFixture
):
    staff = await staff_client(server, unique)
    graph = await add_graph(staff, unique)
    start = graph["nodes"][0]
    await add_cells(
        staff,
        start["uuid"],
        [
            {"cellType": "PYTHON", "cellCode": "vars['big'] = 'b' * 10000"},
            {"cellType": "SUPERCOLLIDER", "cellCode": "after"},
        ],
    )
    point = await fake_point()
    await wait_for_point(point.lang_port)
    with caplog.at_level(logging.ERROR, logger="gencaster"):
        async with graphql_socket(server.ws_url) as socket:
            stream_uuid, _ = await walk_to_end(socket, graph["uuid"])
    assert cell_codes(point) == ["after"]  # the walk goes on
    failures = await StreamLog.filter(stream_id=stream_uuid, level=LogLevel.ERROR)
    assert [log.message.split(" failed: ")[1] for log in failures] == [
        "The value of 'big' is larger than 4096 bytes"
    ]
    assert not [r for r in caplog.records if r.exc_info], "an author's mistake has no traceback"
    await staff.http.aclose()


async def test_listeners_are_shown_instructions_with_their_count_and_no_read_each(
    server: RunningServer, fake_point: FakeFactory, unique: str
):
    """Each instruction shows the stream as its run holds it, refreshed when listeners
    come or go: no listener reads the stream or its point between two cells."""
    staff = await staff_client(server, unique)
    graph = await add_graph(staff, unique, streamAssignmentPolicy="ONE_GRAPH_ONE_STREAM")
    codes = [f"cell-{index}" for index in range(30)]  # shown 60 times
    await add_cells(
        staff,
        graph["nodes"][0]["uuid"],
        [{"cellType": "PYTHON", "cellCode": "await asyncio.sleep(0.5)"}]
        + [{"cellType": "SUPERCOLLIDER", "cellCode": code} for code in codes],
    )
    point = await fake_point()
    await wait_for_point(point.lang_port)
    with recording_statements() as statements:
        async with graphql_socket(server.ws_url) as first, graphql_socket(server.ws_url) as second:
            shown = await asyncio.gather(
                _listener_counts(first, graph["uuid"]), _listener_counts(second, graph["uuid"])
            )
    reads = reads_of(statements, "stream", "stream_point")
    for counts in shown:
        assert counts == [2] * len(codes)  # the second listener came during the first cell
    assert len(reads) < len(codes), reads  # those of attaching
    await staff.http.aclose()


async def _listener_counts(socket: GraphQLSocket, graph_uuid: str) -> list[int]:
    """``numListeners`` shown with each instruction, until the dead end."""
    op = await socket.subscribe(STREAM_INFO, {"g": graph_uuid})
    counts = []
    while True:
        item = (await socket.next_payload(op, timeout=30))["data"]["streamInfo"]
        if item["__typename"] == "GraphDeadEnd":
            return counts[1:]  # the first is the attachment's
        counts.append(item["stream"]["numListeners"])
