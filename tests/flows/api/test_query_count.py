"""Reading a large graph costs a fixed, small number of SQL queries."""

from __future__ import annotations

import pytest
from tortoise.transactions import in_transaction

from models import CellType, DoorType, Edge, Graph, Node, NodeDoor, ScriptCell
from tests.support.builders import GRAPH
from tests.support.graphql import GraphQLClient
from tests.support.sql import recording_statements

pytestmark = pytest.mark.asyncio(loop_scope="session")


BACKGROUND_TABLES = ('"server_process"', '"listener_attachment"')


def request_statements(statements: list[str]) -> int:
    """How many statements the request ran: the process heartbeat runs in the background."""
    return sum(not any(table in s for table in BACKGROUND_TABLES) for s in statements)


async def build_graph(unique: str, node_count: int) -> Graph:
    async with in_transaction():
        graph = await Graph.create(
            name=f"big-{unique}", display_name="big", slug_name=f"big-{unique}"
        )
        previous_out = None
        for index in range(node_count):
            node = await Node.create(graph=graph, name=f"n{index:03}", is_entry_node=index == 0)
            door_in = await NodeDoor.create(node=node, door_type=DoorType.INPUT, is_default=True)
            door_out = await NodeDoor.create(node=node, door_type=DoorType.OUTPUT, is_default=True)
            await ScriptCell.create(node=node, cell_type=CellType.COMMENT, cell_code=str(index))
            await ScriptCell.create(node=node, cell_type=CellType.SUPERCOLLIDER, cell_order=1)
            if previous_out is not None:
                await Edge.create(out_node_door=previous_out, in_node_door=door_in)
            previous_out = door_out
    return graph


async def test_a_graph_with_200_nodes_takes_a_fixed_number_of_queries(
    staff: GraphQLClient, unique: str
):
    small = await build_graph(f"s{unique}", 3)
    large = await build_graph(f"l{unique}", 200)
    counts = []
    for graph in (small, large):
        with recording_statements() as statements:
            data = await staff.data(GRAPH, {"pk": str(graph.uuid)})
        counts.append(request_statements(statements))
        nodes = data["graph"]["nodes"]
        assert all(len(node["scriptCells"]) == 2 for node in nodes)
    assert len(data["graph"]["nodes"]) == 200 and len(data["graph"]["edges"]) == 199
    assert counts[0] == counts[1], counts
    assert counts[1] <= 10, counts
