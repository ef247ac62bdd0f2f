"""The reset before a stream's first listener takes effect before the first cell."""

from __future__ import annotations

import pytest

from gencaster.supercollider import CLEAN_SLATE, PROBE
from models import InstructionState, LogLevel, StreamInstruction, StreamLog
from tests.flows.listening.conftest import FakeFactory, cell_codes
from tests.flows.listening.test_listening_flow import STREAM_INFO, staff_client, wait_for_point
from tests.support.builders import add_cells, add_graph
from tests.support.server import RunningServer
from tests.support.ws import graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

FIRST = '0.1.wait; "first".postln'


async def test_a_first_cell_that_waits_finishes_after_the_reset(
    server: RunningServer, fake_point: FakeFactory, unique: str
):
    staff = await staff_client(server, unique)
    graph = await add_graph(staff, unique)
    await add_cells(
        staff,
        graph["nodes"][0]["uuid"],
        [
            {"cellType": "SUPERCOLLIDER", "cellCode": FIRST},
            {"cellType": "SUPERCOLLIDER", "cellCode": '"second".postln'},
        ],
    )
    # A slow CmdPeriod: a first cell sent before the reset took effect is surely killed.
    point = await fake_point(cmd_period_after=0.2)
    await wait_for_point(point.lang_port)
    shown = []
    async with graphql_socket(server.ws_url) as socket:
        op = await socket.subscribe(STREAM_INFO, {"g": graph["uuid"]})
        first = (await socket.next_payload(op, timeout=30))["data"]["streamInfo"]
        stream_uuid = first["stream"]["uuid"]
        while True:
            item = (await socket.next_payload(op, timeout=30))["data"]["streamInfo"]
            if item["__typename"] == "GraphDeadEnd":
                break
            shown.append(item["streamInstruction"]["instructionText"])
    assert shown == [FIRST, '"second".postln']  # neither the reset nor a probe
    # Only the reset's duplicate (a fresh instance runs it twice) was cut off by the reset.
    assert {i.code for i in point.received if i.uuid in point.killed} <= {CLEAN_SLATE}
    assert point.cmd_periods == 1
    assert cell_codes(point) == [FIRST, '"second".postln']
    codes = [i.code for i in point.received]
    assert codes[0] == CLEAN_SLATE and set(codes[1 : codes.index(FIRST)]) == {PROBE}
    cell = await StreamInstruction.get(instruction_text=FIRST, stream_point__port=point.lang_port)
    assert cell.state == InstructionState.FINISHED
    logs = await StreamLog.filter(stream_id=stream_uuid, message__contains="reset")
    assert [log.level for log in logs] == [LogLevel.INFO], [log.message for log in logs]
    await staff.http.aclose()
