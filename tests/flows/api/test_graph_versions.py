"""Every mutation that changes what a graph read shows moves that graph's version.

The walk covers the schema's whole Mutation type: a mutation is either called here
on a graph and checked, or named as one that changes no graph. A new mutation
fails the walk until it is placed in one of the two.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from gencaster.authoring.archive import export_archive, import_archive
from gencaster.schema import schema
from models import AudioFile, Graph
from tests.support.builders import add_cells, add_door, add_graph, add_node, connect, default_door
from tests.support.graphql import GraphQLClient
from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Mutations that change no graph's contents, and why.
NO_GRAPH = {
    "authLogin": "sessions only",
    "authLogout": "sessions only",
    "addAudioFile": "a new file is played by no audio cell yet",
    "createUpdateStreamVariable": "a stream's variables are not part of its graph",
}


@dataclass
class Scene:
    """A graph with two nodes, an extra door, an edge, and two cells (one plays audio)."""

    client: GraphQLClient
    graph: str
    start: dict[str, Any]
    node: dict[str, Any]
    door: str
    edge: str
    cell: str
    audio_file: str

    async def call(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return await self.client.data(query, variables)


async def build_scene(client: GraphQLClient, unique: str) -> Scene:
    graph = await add_graph(client, unique)
    start = graph["nodes"][0]
    node = await add_node(client, graph["uuid"], "scene")
    door = await add_door(client, node["uuid"], name="maybe", code="False")
    edge = await connect(client, default_door(start, "out"), default_door(node, "in"))
    audio = await AudioFile.create(file_path=f"audio/{unique}.wav", name="tone")
    plays = {"audioFile": {"uuid": str(audio.uuid)}, "playback": "SYNC_PLAYBACK", "volume": 0.2}
    await add_cells(
        client,
        node["uuid"],
        [
            {"cellType": "COMMENT", "cellCode": "a note"},
            {"cellType": "AUDIO", "cellCode": "", "audioCell": plays},
        ],
    )
    shown = await client.data(
        "query($pk: ID!) { node(pk: $pk) { scriptCells { uuid } } }", {"pk": node["uuid"]}
    )
    cell = shown["node"]["scriptCells"][0]["uuid"]
    return Scene(client, graph["uuid"], start, node, door, edge["uuid"], cell, str(audio.uuid))


Call = Callable[[Scene], Awaitable[Any]]


async def _update_graph(s: Scene) -> Any:
    return await s.call(
        "mutation($g: UUID!, $i: UpdateGraphInput!) "
        "{ updateGraph(graphUuid: $g, graphInput: $i) { uuid } }",
        {
            "g": s.graph,
            "i": {
                "aboutText": "changed",
                "streamAssignmentPolicy": "ONE_USER_ONE_STREAM",
                "templateName": "DEFAULT",
            },
        },
    )


async def _add_node(s: Scene) -> Any:
    return await s.call(
        "mutation($n: NodeCreate!) { addNode(newNode: $n) }",
        {"n": {"name": "another", "graphUuid": s.graph}},
    )


async def _update_node(s: Scene) -> Any:
    return await s.call(
        "mutation($u: NodeUpdate!) { updateNode(nodeUpdate: $u) }",
        {"u": {"uuid": s.node["uuid"], "positionX": 12.5}},
    )


async def _delete_node(s: Scene) -> Any:
    return await s.call("mutation($n: UUID!) { deleteNode(nodeUuid: $n) }", {"n": s.node["uuid"]})


async def _add_edge(s: Scene) -> Any:
    return await connect(s.client, s.door, default_door(s.node, "in"))


async def _delete_edge(s: Scene) -> Any:
    return await s.call("mutation($e: UUID!) { deleteEdge(edgeUuid: $e) }", {"e": s.edge})


async def _create_cells(s: Scene) -> Any:
    return await add_cells(
        s.client, s.start["uuid"], [{"cellType": "MARKDOWN", "cellCode": "Hallo"}]
    )


async def _update_cells(s: Scene) -> Any:
    return await s.call(
        "mutation($c: [ScriptCellInputUpdate!]!) "
        "{ updateScriptCells(scriptCellInputs: $c) { uuid } }",
        {"c": [{"uuid": s.cell, "cellCode": "another note"}]},
    )


async def _delete_cell(s: Scene) -> Any:
    return await s.call(
        "mutation($c: UUID!) { deleteScriptCell(scriptCellUuid: $c) }", {"c": s.cell}
    )


async def _create_door(s: Scene) -> Any:
    return await add_door(s.client, s.start["uuid"], name="later", code="")


async def _update_door(s: Scene) -> Any:
    return await s.call(
        "mutation($d: NodeDoorInputUpdate!) { updateNodeDoor(nodeDoorInput: $d) { __typename } }",
        {"d": {"uuid": s.door, "code": "True"}},
    )


async def _delete_door(s: Scene) -> Any:
    result = await s.call("mutation($d: UUID!) { deleteNodeDoor(nodeDoorUuid: $d) }", {"d": s.door})
    assert result["deleteNodeDoor"] is True


async def _update_audio_file(s: Scene) -> Any:
    return await s.call(
        "mutation($u: UUID!, $a: UpdateAudioFile!) "
        "{ updateAudioFile(uuid: $u, updateAudioFile: $a) { name } }",
        {"u": s.audio_file, "a": {"name": "renamed tone"}},
    )


# ``addGraph`` creates a graph; its version is checked in its own test below.
CALLS: dict[str, Call] = {
    "updateGraph": _update_graph,
    "addNode": _add_node,
    "updateNode": _update_node,
    "deleteNode": _delete_node,
    "addEdge": _add_edge,
    "deleteEdge": _delete_edge,
    "createScriptCells": _create_cells,
    "updateScriptCells": _update_cells,
    "deleteScriptCell": _delete_cell,
    "createNodeDoor": _create_door,
    "updateNodeDoor": _update_door,
    "deleteNodeDoor": _delete_door,
    "updateAudioFile": _update_audio_file,
}


async def version_of(graph_uuid: str) -> int:
    return (await Graph.get(uuid=graph_uuid)).version


async def test_every_mutation_is_walked_or_named_as_changing_no_graph() -> None:
    mutations = set(schema.graphql_schema.mutation_type.fields)  # type: ignore[union-attr]
    placed = set(CALLS) | set(NO_GRAPH) | {"addGraph"}
    assert mutations == placed, "place each new mutation in CALLS or NO_GRAPH"


@pytest.mark.parametrize("mutation", sorted(CALLS))
async def test_mutation_moves_the_version_of_its_graph(
    staff: GraphQLClient, unique: str, mutation: str
) -> None:
    scene = await build_scene(staff, unique)
    before = await version_of(scene.graph)
    await CALLS[mutation](scene)
    assert await version_of(scene.graph) > before


async def test_a_refused_change_leaves_the_version(staff: GraphQLClient, unique: str) -> None:
    scene = await build_scene(staff, unique)
    before = await version_of(scene.graph)
    codes = await staff.error_codes(
        "mutation($n: UUID!) { deleteNode(nodeUuid: $n) }", {"n": scene.start["uuid"]}
    )
    assert codes == ["BAD_USER_INPUT"]
    codes = await staff.error_codes(
        "mutation($e: EdgeInput!) { addEdge(newEdge: $e) { uuid } }",
        {
            "e": {
                "nodeDoorOutUuid": default_door(scene.start, "out"),
                "nodeDoorInUuid": default_door(scene.node, "in"),
            }
        },
    )
    assert codes == ["CONFLICT"]
    assert await version_of(scene.graph) == before


async def test_new_and_imported_graphs_have_a_version(
    staff: GraphQLClient, unique: str, server: RunningServer, tmp_path: Any
) -> None:
    created = await add_graph(staff, unique)
    assert await version_of(created["uuid"]) > 0
    graph = await Graph.get(uuid=created["uuid"])
    archive = tmp_path / "graph.zip"
    await export_archive(graph, server.services.media, archive)
    imported = await import_archive(archive, server.services.media, rename=True)
    assert await version_of(str(imported.uuid)) > 0
