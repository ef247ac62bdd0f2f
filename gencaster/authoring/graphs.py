"""Finding a graph the way authors name it, and reading it whole in the engine's order."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from gencaster.engine.engine import edge_order
from models import AudioCell, AudioFile, DoorType, Edge, Graph, Node, NodeDoor, ScriptCell

from .errors import GraphNotFound


async def find_graph(reference: str) -> Graph:
    """A graph by uuid, slug or name (in that order)."""
    try:
        graph = await Graph.get_or_none(uuid=UUID(reference))
    except ValueError:
        graph = None
    graph = graph or await Graph.get_or_none(slug_name=reference)
    graph = graph or await Graph.get_or_none(name=reference)
    if graph is None:
        raise GraphNotFound(f"No graph with uuid, slug or name {reference!r}")
    return graph


def node_order(node: Node) -> tuple[bool, str, float, float, str]:
    """The entry node first, then by name and position: independent of uuids."""
    return (not node.is_entry_node, node.name, node.position_x, node.position_y, str(node.uuid))


@dataclass
class LoadedGraph:
    """A graph with everything in it, each list in a stable order."""

    graph: Graph
    nodes: list[Node]
    doors: dict[UUID, list[NodeDoor]] = field(default_factory=dict)
    cells: dict[UUID, list[ScriptCell]] = field(default_factory=dict)
    audio_cells: dict[UUID, AudioCell] = field(default_factory=dict)
    audio_files: dict[UUID, AudioFile] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    edges_by_door: dict[UUID, list[Edge]] = field(default_factory=dict)
    door_by_uuid: dict[UUID, NodeDoor] = field(default_factory=dict)
    node_by_uuid: dict[UUID, Node] = field(default_factory=dict)

    def out_doors(self, node: Node) -> list[NodeDoor]:
        return [d for d in self.doors.get(node.uuid, []) if d.door_type == DoorType.OUTPUT]

    def in_doors(self, node: Node) -> list[NodeDoor]:
        return [d for d in self.doors.get(node.uuid, []) if d.door_type == DoorType.INPUT]

    def edges_from(self, door: NodeDoor) -> list[Edge]:
        return self.edges_by_door.get(door.uuid, [])

    def target(self, edge: Edge) -> Node:
        return self.node_by_uuid[self.door_by_uuid[edge.in_node_door_id].node_id]


async def load_graph(graph: Graph) -> LoadedGraph:
    nodes = sorted(await Node.filter(graph_id=graph.uuid), key=node_order)
    loaded = LoadedGraph(graph=graph, nodes=nodes, node_by_uuid={n.uuid: n for n in nodes})
    node_ids = list(loaded.node_by_uuid)
    for door in await NodeDoor.filter(node_id__in=node_ids):
        loaded.doors.setdefault(door.node_id, []).append(door)
        loaded.door_by_uuid[door.uuid] = door
    for doors in loaded.doors.values():
        doors.sort(key=lambda door: (door.door_type, *door.sort_key()))
    for cell in await ScriptCell.of_nodes(node_ids):
        loaded.cells.setdefault(cell.node_id, []).append(cell)
    audio_ids = [c.audio_cell_id for cs in loaded.cells.values() for c in cs if c.audio_cell_id]
    for audio_cell in await AudioCell.filter(uuid__in=audio_ids):
        loaded.audio_cells[audio_cell.uuid] = audio_cell
    file_ids = {audio_cell.audio_file_id for audio_cell in loaded.audio_cells.values()}
    for audio_file in await AudioFile.filter(uuid__in=list(file_ids)):
        loaded.audio_files[audio_file.uuid] = audio_file
    edges = await Edge.filter(out_node_door_id__in=list(loaded.door_by_uuid)).prefetch_related(
        "in_node_door__node"
    )
    position = {door.uuid: i for i, door in enumerate(_doors_in_order(loaded))}
    loaded.edges = sorted(
        (edge for edge in edges if edge.in_node_door_id in loaded.door_by_uuid),
        key=lambda edge: (position[edge.out_node_door_id], edge_order(edge)),
    )
    for edge in loaded.edges:
        loaded.edges_by_door.setdefault(edge.out_node_door_id, []).append(edge)
    return loaded


def _doors_in_order(loaded: LoadedGraph) -> list[NodeDoor]:
    return [door for node in loaded.nodes for door in loaded.doors.get(node.uuid, [])]
