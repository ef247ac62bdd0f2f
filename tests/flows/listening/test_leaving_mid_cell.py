"""A listener leaving while a cell waits for FINISHED ends the engine quietly.

The real listener app reloads its page mid-cell; that ended the engine with a
RuntimeError logged as a failed cell. It happened while the engine waited for the
early "still waiting" warning, so the warning comes before the timeout here, as with
the default settings. The server is a real ``gencaster serve`` whose log is read.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.support.builders import add_cells, add_graph
from tests.support.graphql import GraphQLClient
from tests.support.osc import fake_points
from tests.support.polling import eventually
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

STREAM_INFO = """subscription($g: UUID!) { streamInfo(graphUuid: $g) {
  __typename ... on StreamInfo { stream { uuid } } } }"""


@pytest.mark.parametrize("leave_after", ["RECEIVED", "SENT"])
async def test_a_listener_leaving_while_a_cell_waits_for_finished_logs_no_error(
    leave_after: str,
):
    osc_port = free_port(socket.SOCK_DGRAM)
    with tempfile.TemporaryDirectory(prefix="gencaster-leaving-") as data_dir:
        env = server_env(
            data_dir,
            osc_host="127.0.0.1",
            osc_port=str(osc_port),
            instruction_warning_s="5",
            instruction_timeout_s="60",
        )
        await asyncio.to_thread(prepare_database, env)
        log = Path(data_dir) / "server.log"
        async with (
            server_process(env, output=log) as server,
            fake_points(osc_port, finish_delay=30.0, beacon_interval=0.5) as make,
        ):
            point = await make()
            async with GraphQLClient(server.url) as staff:
                await staff.login(STAFF_USER, STAFF_PASSWORD)
                graph = await add_graph(staff, uuid.uuid4().hex[:8])
                code = '"waits".postln'
                cells = [{"cellType": "SUPERCOLLIDER", "cellCode": code}]
                await add_cells(staff, graph["nodes"][0]["uuid"], cells)
            await _listen_and_leave(server.ws_url, graph["uuid"], point, code, leave_after)
            await asyncio.sleep(1.0)  # the engine's end is logged by now, if at all
        text = log.read_text(errors="replace")
    assert "Traceback" not in text and " ERROR " not in text, text[-3000:]


async def _listen_and_leave(
    ws_url: str, graph_uuid: str, point: object, code: str, leave_after: str
) -> None:
    received = point.received  # type: ignore[attr-defined]
    for _ in range(100):  # until the point's first beacon has made it assignable
        async with graphql_socket(ws_url, "graphql-transport-ws") as socket_:
            op = await socket_.subscribe(STREAM_INFO, {"g": graph_uuid})
            first = (await socket_.next_payload(op))["data"]["streamInfo"]
            if first["__typename"] != "StreamInfo":
                await asyncio.sleep(0.2)
                continue
            await eventually(lambda: code in [i.code for i in received], message="not sent")
            if leave_after == "RECEIVED":
                await asyncio.sleep(0.2)  # the point has acknowledged RECEIVED by now
            await socket_.stop(op)
            return
    raise AssertionError("no stream became available")
