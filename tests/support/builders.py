"""Build story graphs through the public API, for tests."""

from __future__ import annotations

from typing import Any

from tests.support.graphql import GraphQLClient

ADD_GRAPH = """
mutation($input: AddGraphInput!) {
  addGraph(graphInput: $input) {
    uuid name slugName displayName publicVisible streamAssignmentPolicy templateName
    startText aboutText endText
    nodes { uuid name isEntryNode inNodeDoors { uuid isDefault code doorType }
            outNodeDoors { uuid isDefault code doorType } }
  }
}"""

GRAPH = """
query($pk: ID!) {
  graph(pk: $pk) {
    uuid name
    nodes { uuid name color positionX positionY isEntryNode isBlockingNode
            nodeDoors { uuid name order isDefault doorType code }
            inNodeDoors { uuid isDefault } outNodeDoors { uuid isDefault name }
            scriptCells { uuid cellType cellCode cellOrder audioCell { uuid volume playback } } }
    edges { uuid inNodeDoor { uuid } outNodeDoor { uuid } }
  }
}"""


def graph_input(unique: str, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": f"graph-{unique}",
        "displayName": f"Graph {unique}",
        "slugName": f"graph-{unique}",
        "streamAssignmentPolicy": "ONE_USER_ONE_STREAM",
        "templateName": "DEFAULT",
    }
    values.update(changes)
    return values


async def add_graph(client: GraphQLClient, unique: str, **changes: Any) -> dict[str, Any]:
    data = await client.data(ADD_GRAPH, {"input": graph_input(unique, **changes)})
    return data["addGraph"]


async def get_graph(client: GraphQLClient, graph_uuid: str) -> dict[str, Any]:
    return (await client.data(GRAPH, {"pk": graph_uuid}))["graph"]


async def add_node(client: GraphQLClient, graph_uuid: str, name: str, **fields: Any) -> dict:
    await client.data(
        "mutation($n: NodeCreate!) { addNode(newNode: $n) }",
        {"n": {"name": name, "graphUuid": graph_uuid, **fields}},
    )
    graph = await get_graph(client, graph_uuid)
    return next(node for node in graph["nodes"] if node["name"] == name)


def default_door(node: dict[str, Any], kind: str) -> str:
    doors = node["inNodeDoors"] if kind == "in" else node["outNodeDoors"]
    return next(door["uuid"] for door in doors if door["isDefault"])


async def connect(client: GraphQLClient, out_door: str, in_door: str) -> dict[str, Any]:
    data = await client.data(
        "mutation($e: EdgeInput!) { addEdge(newEdge: $e) { uuid } }",
        {"e": {"nodeDoorOutUuid": out_door, "nodeDoorInUuid": in_door}},
    )
    return data["addEdge"]


async def add_cells(client: GraphQLClient, node_uuid: str, cells: list[dict[str, Any]]) -> None:
    await client.data(
        """mutation($n: UUID!, $c: [ScriptCellInputCreate!]!) {
           createScriptCells(nodeUuid: $n, scriptCellInputs: $c) { uuid } }""",
        {"n": node_uuid, "c": cells},
    )


async def add_door(client: GraphQLClient, node_uuid: str, **door: Any) -> str:
    data = await client.data(
        """mutation($n: UUID!, $d: NodeDoorInputCreate!) {
           createNodeDoor(nodeUuid: $n, nodeDoorInput: $d) { uuid } }""",
        {"n": node_uuid, "d": {"doorType": "OUTPUT", **door}},
    )
    return data["createNodeDoor"]["uuid"]
