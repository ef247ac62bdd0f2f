"""A cell cannot outlive its stream: nothing of an ended stream reaches a stream point,
and the server shuts down whatever its cells do."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

from gencaster.engine.sandbox._compile import compile_code
from gencaster.streaming.osc import FakeStreamPoint
from tests.flows.listening.conftest import FakeFactory
from tests.flows.listening.test_listening_flow import STREAM_INFO, staff_client, wait_for_point
from tests.support.builders import add_cells, add_graph
from tests.support.graphql import GraphQLClient
from tests.support.lenient_sandbox import lift_finally_refusal
from tests.support.polling import eventually
from tests.support.processes import (
    STAFF_PASSWORD,
    STAFF_USER,
    prepare_database,
    server_env,
    server_process,
)
from tests.support.server import RunningServer, free_port
from tests.support.ws import GraphQLSocket, graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

# ``finally: continue`` swallows the cancellation that ends a stream. The sandbox now
# refuses it when a cell is saved; the tests lift that refusal (as for a construct the
# static check does not know) to show the run-time defences hold on their own.
SWALLOWS_ITS_END = """\
yield Dialog(title="listening")
for i in range(10):
    try:
        await asyncio.sleep(0.1)
    finally:
        continue
"""
SWALLOWS_FOREVER = SWALLOWS_ITS_END.replace("for i in range(10)", "while True")
# Allowed code: waiting in ``finally`` kept an ended stream's engine alive for an hour.
LINGERS = """\
yield Dialog(title="listening")
try:
    await asyncio.sleep(3600)
finally:
    await asyncio.sleep(3600)
"""
ZOMBIE = '"ZOMBIE".postln;'


@pytest.fixture
def finally_escapes_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    lift_finally_refusal(monkeypatch)
    yield
    compile_code.cache_clear()


@pytest.mark.parametrize("cell", [SWALLOWS_ITS_END, LINGERS], ids=["swallows", "lingers"])
async def test_after_the_listener_leaves_nothing_more_reaches_the_point(
    server: RunningServer,
    fake_point: FakeFactory,
    unique: str,
    finally_escapes_allowed: None,
    cell: str,
):
    staff = await staff_client(server, unique)
    graph = await add_graph(staff, unique)
    await add_cells(
        staff,
        graph["nodes"][0]["uuid"],
        [
            {"cellType": "PYTHON", "cellCode": cell},
            {"cellType": "SUPERCOLLIDER", "cellCode": ZOMBIE},
        ],
    )
    point = await fake_point()
    await wait_for_point(point.lang_port)
    async with graphql_socket(server.ws_url, "graphql-transport-ws") as socket:
        op = await socket.subscribe(STREAM_INFO, {"g": graph["uuid"]})
        stream_uuid = (await socket.next_payload(op))["data"]["streamInfo"]["stream"]["uuid"]
        while (await socket.next_payload(op))["data"]["streamInfo"]["__typename"] != "Dialog":
            pass
        await socket.stop(op)
        runs = server.services.listening.runs
        await eventually(
            lambda: stream_uuid not in {str(key) for key in runs}, message="the run never ended"
        )
    assert ZOMBIE not in [instruction.code for instruction in point.received]
    await staff.http.aclose()


async def until_a_dialog(socket: GraphQLSocket, graph_uuid: str) -> None:
    """Listen until the cell shows a dialog (the point's first beacon may still be on its way)."""
    for _ in range(100):
        op = await socket.subscribe(STREAM_INFO, {"g": graph_uuid})
        while True:
            message = await socket.receive_for(op, timeout=30)
            if message["type"] not in ("next", "data"):
                break
            kind = message["payload"]["data"]["streamInfo"]["__typename"]
            if kind == "Dialog":
                return
        await asyncio.sleep(0.1)
    raise AssertionError("no stream became available")


@pytest.mark.parametrize("cell", [SWALLOWS_FOREVER, LINGERS], ids=["swallows", "lingers"])
async def test_a_server_with_such_a_cell_running_stops_on_sigterm(cell: str):
    osc_port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = server_env(data_dir, osc_port=str(osc_port))
        await asyncio.to_thread(prepare_database, env)
        point = FakeStreamPoint(server_host="127.0.0.1", server_port=osc_port)
        await point.start()
        try:
            async with server_process(env, "tests.support.lenient_sandbox") as server:
                async with GraphQLClient(server.url) as staff:
                    await staff.login(STAFF_USER, STAFF_PASSWORD)
                    graph = await add_graph(staff, "sigterm")
                    node = graph["nodes"][0]["uuid"]
                    await add_cells(staff, node, [{"cellType": "PYTHON", "cellCode": cell}])
                async with graphql_socket(server.ws_url) as socket:
                    await until_a_dialog(socket, graph["uuid"])
                    server.process.send_signal(signal.SIGTERM)
                    # Before, it never stopped; a normal shutdown takes a few seconds.
                    try:
                        await asyncio.to_thread(server.process.wait, 60)
                    except subprocess.TimeoutExpired:
                        pytest.fail("the server did not stop after SIGTERM")
        finally:
            await point.close()
