"""Two editors at once: changes racing the deletion of their node are NOT_FOUND, never a 500.

The node or door is read before the change's transaction opens; an editor who
deletes it in between made the insert hit its foreign key, answered as an internal
error with a traceback in the log.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.builders import add_graph, add_node
from tests.support.graphql import GraphQLClient

pytestmark = pytest.mark.asyncio(loop_scope="session")

DELETE_NODE = "mutation($n: UUID!) { deleteNode(nodeUuid: $n) }"
CREATE_CELLS = """mutation($n: UUID!) { createScriptCells(nodeUuid: $n,
  scriptCellInputs: [{cellType: COMMENT, cellCode: "x"}]) { uuid } }"""
CREATE_DOOR = """mutation($n: UUID!) { createNodeDoor(nodeUuid: $n,
  nodeDoorInput: {doorType: OUTPUT, name: "side", code: ""}) { uuid } }"""
UPDATE_NODE = "mutation($n: UUID!) { updateNode(nodeUpdate: {uuid: $n, positionX: 5}) }"


def outcome(body: dict[str, Any]) -> str:
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    return "ok"


async def test_edits_racing_a_node_deletion_are_answered_not_found(
    staff: GraphQLClient, unique: str
):
    graph = await add_graph(staff, unique)
    outcomes: list[str] = []
    for round_ in range(8):
        node = await add_node(staff, graph["uuid"], f"doomed-{round_}")
        variables = {"n": node["uuid"]}
        racers = [CREATE_CELLS, CREATE_DOOR, UPDATE_NODE] * 3
        bodies = await asyncio.gather(
            staff.execute(DELETE_NODE, variables),
            *(staff.execute(query, variables) for query in racers),
        )
        assert outcome(bodies[0]) == "ok", bodies[0]
        outcomes += [outcome(body) for body in bodies[1:]]
    assert set(outcomes) <= {"ok", "NOT_FOUND"}, outcomes
