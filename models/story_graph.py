"""Story graphs: graphs of nodes whose script cells the engine runs, joined by doors and edges."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from uuid import UUID

from tortoise import fields
from tortoise.queryset import QuerySet

from models.base import TimestampedModel, UniquePartialIndex, UUIDModel


class GraphDetailTemplate(StrEnum):
    DEFAULT = "DEFAULT"


class StreamAssignmentPolicy(StrEnum):
    ONE_GRAPH_ONE_STREAM = "ONE_GRAPH_ONE_STREAM"
    ONE_USER_ONE_STREAM = "ONE_USER_ONE_STREAM"
    DEACTIVATE = "DEACTIVATE"


class DoorType(StrEnum):
    INPUT = "INPUT"
    OUTPUT = "OUTPUT"


class CellType(StrEnum):
    MARKDOWN = "MARKDOWN"
    PYTHON = "PYTHON"
    SUPERCOLLIDER = "SUPERCOLLIDER"
    COMMENT = "COMMENT"
    AUDIO = "AUDIO"


class PlaybackChoices(StrEnum):
    SYNC_PLAYBACK = "SYNC_PLAYBACK"
    ASYNC_PLAYBACK = "ASYNC_PLAYBACK"


DEFAULT_DOOR_CODE = "True"


class Graph(TimestampedModel):
    name = fields.CharField(max_length=255, unique=True)
    display_name = fields.CharField(max_length=255)
    slug_name = fields.CharField(max_length=255, unique=True)
    template_name = fields.CharEnumField(GraphDetailTemplate, default=GraphDetailTemplate.DEFAULT)
    stream_assignment_policy = fields.CharEnumField(
        StreamAssignmentPolicy, default=StreamAssignmentPolicy.ONE_USER_ONE_STREAM
    )
    public_visible = fields.BooleanField(default=False)
    start_text = fields.TextField(default="")
    about_text = fields.TextField(default="")
    end_text = fields.TextField(default="")
    # Moves with every change to the graph or anything in it, in the change's own
    # transaction (gencaster.graph_changes): what a cached read is checked against.
    version = fields.BigIntField(default=0)

    nodes: fields.ReverseRelation[Node]

    class Meta:
        table = "graph"
        ordering = ["name"]


class Node(TimestampedModel):
    graph: fields.ForeignKeyRelation[Graph] = fields.ForeignKeyField(
        "models.Graph", related_name="nodes", on_delete=fields.CASCADE
    )
    graph_id: UUID  # the column behind ``graph``, for type checkers
    name = fields.CharField(max_length=255, default="")
    color = fields.CharField(max_length=32, default="#fff")
    position_x = fields.FloatField(default=0.0)
    position_y = fields.FloatField(default=0.0)
    is_entry_node = fields.BooleanField(default=False)
    is_blocking_node = fields.BooleanField(default=False)

    node_doors: fields.ReverseRelation[NodeDoor]
    script_cells: fields.ReverseRelation[ScriptCell]

    def sort_key(self) -> tuple[str, str]:
        """By name, then uuid: the order of every list of nodes (``in_order`` in SQL)."""
        return (self.name, str(self.uuid))

    @classmethod
    def in_order(cls) -> QuerySet[Node]:
        """Every node, in ``sort_key`` order."""
        return cls.all().order_by("name", "uuid")

    class Meta:
        table = "node"
        # One entry node per graph, held by the database.
        indexes = (
            UniquePartialIndex(
                fields=("graph_id",),
                name="uniq_node_entry_per_graph",
                condition={"is_entry_node": True},
            ),
        )


class NodeDoor(TimestampedModel):
    node: fields.ForeignKeyRelation[Node] = fields.ForeignKeyField(
        "models.Node", related_name="node_doors", on_delete=fields.CASCADE
    )
    node_id: UUID
    door_type = fields.CharEnumField(DoorType)
    name = fields.CharField(max_length=255, default="")
    order = fields.IntField(default=10)
    is_default = fields.BooleanField(default=False)
    code = fields.TextField(default=DEFAULT_DOOR_CODE)

    def sort_key(self) -> tuple[bool, int, str, str]:
        """Non-default doors first, then by order and name: the editor's and the engine's order."""
        return (self.is_default, self.order, self.name, str(self.uuid))

    class Meta:
        table = "node_door"
        # One default door of each type per node, held by the database.
        indexes = (
            UniquePartialIndex(
                fields=("node_id", "door_type"),
                name="uniq_node_door_default",
                condition={"is_default": True},
            ),
        )


class Edge(TimestampedModel):
    """Flows from an OUTPUT door (``out_node_door``) to an INPUT door (``in_node_door``)."""

    out_node_door: fields.ForeignKeyRelation[NodeDoor] = fields.ForeignKeyField(
        "models.NodeDoor", related_name="out_edges", on_delete=fields.CASCADE
    )
    out_node_door_id: UUID
    in_node_door: fields.ForeignKeyRelation[NodeDoor] = fields.ForeignKeyField(
        "models.NodeDoor", related_name="in_edges", on_delete=fields.CASCADE
    )
    in_node_door_id: UUID

    class Meta:
        table = "edge"
        unique_together = (("out_node_door", "in_node_door"),)


class AudioCell(UUIDModel):
    playback = fields.CharEnumField(PlaybackChoices, default=PlaybackChoices.SYNC_PLAYBACK)
    volume = fields.FloatField(default=0.2)
    audio_file: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.AudioFile", related_name="audio_cells", on_delete=fields.RESTRICT
    )
    audio_file_id: UUID

    class Meta:
        table = "audio_cell"


class ScriptCell(TimestampedModel):
    node: fields.ForeignKeyRelation[Node] = fields.ForeignKeyField(
        "models.Node", related_name="script_cells", on_delete=fields.CASCADE
    )
    node_id: UUID
    cell_type = fields.CharEnumField(CellType, default=CellType.COMMENT)
    cell_code = fields.TextField(default="")
    cell_order = fields.IntField(default=0)
    audio_cell: fields.OneToOneNullableRelation[AudioCell] = fields.OneToOneField(
        "models.AudioCell", related_name="script_cell", null=True, on_delete=fields.SET_NULL
    )
    audio_cell_id: UUID | None

    def sort_key(self) -> tuple[int, str]:
        """By cellOrder, then uuid: the order the engine runs cells in (``Meta.ordering``)."""
        return (self.cell_order, str(self.uuid))

    @classmethod
    def of_nodes(cls, node_uuids: Iterable[UUID]) -> QuerySet[ScriptCell]:
        """The cells of these nodes, in ``sort_key`` order."""
        return cls.filter(node_id__in=list(node_uuids)).order_by("cell_order", "uuid")

    class Meta:
        table = "script_cell"
        ordering = ["cell_order", "uuid"]

    @classmethod
    async def nodes_playing(cls, audio_file_uuid: UUID) -> dict[UUID, list[UUID]]:
        """The nodes whose audio cells play the file, by graph: what shows the file's name."""
        rows = await cls.filter(audio_cell__audio_file_id=audio_file_uuid).values_list(
            "node__graph_id", "node_id"
        )
        nodes: dict[UUID, list[UUID]] = {}
        for graph_uuid, node_uuid in rows:
            nodes.setdefault(graph_uuid, []).append(node_uuid)
        return nodes
