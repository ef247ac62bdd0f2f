"""Visit counts on a live stream: doors read them, and they are kept on the stream's row."""

from __future__ import annotations

import pytest

from models import Node, Stream
from tests.flows.listening.conftest import FakeFactory, cell_codes
from tests.flows.listening.test_engine_behaviour import walk_to_end
from tests.flows.listening.test_listening_flow import staff_client, wait_for_point
from tests.support.builders import add_cells, add_door, add_graph, add_node, connect, default_door
from tests.support.server import RunningServer
from tests.support.ws import graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_door_counts_visits_and_the_counts_stay_with_the_stream(
    server: RunningServer, fake_point: FakeFactory, unique: str
):
    staff = await staff_client(server, unique)
    graph = await add_graph(staff, unique)
    start = graph["nodes"][0]
    again = await add_node(staff, graph["uuid"], "Again")
    end = await add_node(staff, graph["uuid"], "End")
    await add_cells(
        staff,
        again["uuid"],
        [
            {"cellType": "PYTHON", "cellCode": "vars['seen'] = visits('Again')"},
            {"cellType": "SUPERCOLLIDER", "cellCode": "again"},
        ],
    )
    loop = await add_door(staff, again["uuid"], name="loop", code="visits('Again') < 3")
    await connect(staff, default_door(start, "out"), default_door(again, "in"))
    await connect(staff, loop, default_door(again, "in"))
    await connect(staff, default_door(again, "out"), default_door(end, "in"))
    point = await fake_point()
    await wait_for_point(point.lang_port)
    async with graphql_socket(server.ws_url) as socket:
        stream_uuid, kinds = await walk_to_end(socket, graph["uuid"])
    assert kinds.count("StreamInfo") == 3  # "again" three times; the reset is not shown
    assert cell_codes(point) == ["again"] * 3
    stream = await Stream.get(uuid=stream_uuid)
    nodes = {node.name: str(node.uuid) for node in await Node.filter(graph_id=graph["uuid"])}
    assert stream.node_visits == {nodes["Start"]: 1, nodes["Again"]: 3, nodes["End"]: 1}
    variables = await stream.variables.all()
    assert {v.key: v.value for v in variables} == {"seen": "3"}
    await staff.http.aclose()
