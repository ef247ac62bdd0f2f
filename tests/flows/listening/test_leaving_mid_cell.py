"""A listener leaving while a cell waits for FINISHED ends the engine quietly.

The real listener app reloads its page mid-cell; that ended the engine with a
RuntimeError logged as a failed cell.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.flows.listening.test_listening_flow import STREAM_INFO, staff_client, wait_for_point
from tests.support.builders import add_cells, add_graph
from tests.support.osc import fake_points
from tests.support.polling import eventually
from tests.support.ws import graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.parametrize("leave_after", ["RECEIVED", "SENT"])
async def test_a_listener_leaving_while_a_cell_waits_for_finished_logs_no_error(
    server_with, unique: str, caplog: pytest.LogCaptureFixture, leave_after: str
):
    """It happened while the engine waited for the early "still waiting" warning, so the
    warning must come before the timeout here, as with the default settings.
    """
    server = await server_with(instruction_warning_s=5.0, instruction_timeout_s=60.0)
    staff = await staff_client(server, unique)
    graph = await add_graph(staff, unique)
    code = f'"waits-{unique}".postln'
    cells = [{"cellType": "SUPERCOLLIDER", "cellCode": code}]
    await add_cells(staff, graph["nodes"][0]["uuid"], cells)
    caplog.set_level("WARNING", logger="gencaster")
    async with fake_points(server.settings.osc_port, finish_delay=30.0) as make:
        point = await make()
        await wait_for_point(point.lang_port)
        async with graphql_socket(server.ws_url, "graphql-transport-ws") as socket:
            op = await socket.subscribe(STREAM_INFO, {"g": graph["uuid"]})
            first = await socket.next_payload(op)
            stream_uuid = first["data"]["streamInfo"]["stream"]["uuid"]
            await eventually(
                lambda: code in [i.code for i in point.received], message="cell not sent"
            )
            if leave_after == "RECEIVED":
                await asyncio.sleep(0.2)  # the point has acknowledged RECEIVED by now
            await socket.stop(op)
            runs = server.services.listening.runs
            await eventually(
                lambda: stream_uuid not in {str(key) for key in runs}, message="run never ended"
            )
    errors = [r for r in caplog.records if r.levelno >= 40 and r.name.startswith("gencaster")]
    assert not errors, [r.getMessage() for r in errors]
    await staff.http.aclose()
