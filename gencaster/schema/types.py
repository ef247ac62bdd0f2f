"""GraphQL object types of API.md, resolved from Tortoise rows through the request's loaders.

A related row deleted since its parent was read loads as ``None``: resolvers say so in
their return type, and GraphQL reports a non-null field that got it as an error.
"""

from __future__ import annotations

from typing import Any

import graphene
from graphene import Boolean, Field, Float, Int, List, NonNull, String

import models
from gencaster.engine import frontend
from gencaster.schema import enums
from gencaster.schema.context import Loaders, context_of
from gencaster.schema.scalars import UUID, DateTime
from models import DoorType as DoorTypeValues


def _loaders(info: graphene.ResolveInfo) -> Loaders:
    return context_of(info).loaders


def _list(of_type: object) -> NonNull:
    return NonNull(List(NonNull(of_type)))


class Graph(graphene.ObjectType):
    uuid = NonNull(UUID)
    name = NonNull(String)
    display_name = NonNull(String)
    slug_name = NonNull(String)
    template_name = NonNull(enums.GraphDetailTemplate)
    stream_assignment_policy = NonNull(enums.StreamAssignmentPolicy)
    public_visible = NonNull(Boolean)
    start_text = NonNull(String)
    about_text = NonNull(String)
    end_text = NonNull(String)
    nodes = _list(lambda: Node)
    edges = Field(
        _list(lambda: Edge), description="Every edge whose out-door belongs to a node of this graph"
    )

    @staticmethod
    async def resolve_nodes(root: models.Graph, info: graphene.ResolveInfo) -> list[models.Node]:
        return await _loaders(info).nodes_by_graph.load(root.uuid)

    @staticmethod
    async def resolve_edges(root: models.Graph, info: graphene.ResolveInfo) -> list[models.Edge]:
        return await _loaders(info).edges_by_graph.load(root.uuid)


class Node(graphene.ObjectType):
    uuid = NonNull(UUID)
    name = NonNull(String)
    color = NonNull(String)
    position_x = NonNull(Float)
    position_y = NonNull(Float)
    is_entry_node = NonNull(Boolean)
    is_blocking_node = Field(
        NonNull(Boolean), description="A blocking node holds the stream after its cells"
    )
    script_cells = Field(_list(lambda: ScriptCell), description="Ordered by cellOrder, then uuid")
    node_doors = Field(
        _list(lambda: NodeDoor), description="Non-default doors first, then by order, then name"
    )
    in_node_doors = _list(lambda: NodeDoor)
    out_node_doors = _list(lambda: NodeDoor)

    @staticmethod
    async def resolve_script_cells(
        root: models.Node, info: graphene.ResolveInfo
    ) -> list[models.ScriptCell]:
        return await _loaders(info).cells_by_node.load(root.uuid)

    @staticmethod
    async def resolve_node_doors(
        root: models.Node, info: graphene.ResolveInfo
    ) -> list[models.NodeDoor]:
        return await _loaders(info).doors_by_node.load(root.uuid)

    @staticmethod
    async def resolve_in_node_doors(
        root: models.Node, info: graphene.ResolveInfo
    ) -> list[models.NodeDoor]:
        doors: list[models.NodeDoor] = await _loaders(info).doors_by_node.load(root.uuid)
        return [door for door in doors if door.door_type == DoorTypeValues.INPUT]

    @staticmethod
    async def resolve_out_node_doors(
        root: models.Node, info: graphene.ResolveInfo
    ) -> list[models.NodeDoor]:
        doors: list[models.NodeDoor] = await _loaders(info).doors_by_node.load(root.uuid)
        return [door for door in doors if door.door_type == DoorTypeValues.OUTPUT]


class NodeDoor(graphene.ObjectType):
    uuid = NonNull(UUID)
    door_type = NonNull(enums.DoorType)
    node = NonNull(Node)
    name = NonNull(String)
    order = NonNull(Int)
    is_default = NonNull(Boolean)
    code = Field(NonNull(String), description="A Python expression; default doors have `True`")

    @staticmethod
    async def resolve_node(root: models.NodeDoor, info: graphene.ResolveInfo) -> models.Node | None:
        return await _loaders(info).node.load(root.node_id)


class Edge(graphene.ObjectType):
    class Meta:
        description = "Flows from an OUTPUT door (outNodeDoor) to an INPUT door (inNodeDoor)"

    uuid = NonNull(UUID)
    in_node_door = NonNull(NodeDoor)
    out_node_door = NonNull(NodeDoor)

    @staticmethod
    async def resolve_in_node_door(
        root: models.Edge, info: graphene.ResolveInfo
    ) -> models.NodeDoor | None:
        return await _loaders(info).node_door.load(root.in_node_door_id)

    @staticmethod
    async def resolve_out_node_door(
        root: models.Edge, info: graphene.ResolveInfo
    ) -> models.NodeDoor | None:
        return await _loaders(info).node_door.load(root.out_node_door_id)


class DjangoFileType(graphene.ObjectType):
    """A stored file (the type keeps its original name for client code generation)."""

    name = NonNull(String)
    path = NonNull(String)
    size = NonNull(Int)
    url = NonNull(String)


class AudioFile(graphene.ObjectType):
    uuid = NonNull(UUID)
    file = Field(DjangoFileType)
    name = NonNull(String)
    description = NonNull(String)
    auto_generated = NonNull(Boolean)
    created_date = NonNull(DateTime)

    @staticmethod
    def resolve_file(root: models.AudioFile, info: graphene.ResolveInfo) -> dict[str, Any] | None:
        return context_of(info).services.media.file_info(root)


class AudioCell(graphene.ObjectType):
    uuid = NonNull(UUID)
    playback = NonNull(enums.PlaybackChoices)
    volume = NonNull(Float)
    audio_file = NonNull(AudioFile)

    @staticmethod
    async def resolve_audio_file(
        root: models.AudioCell, info: graphene.ResolveInfo
    ) -> models.AudioFile | None:
        return await _loaders(info).audio_file.load(root.audio_file_id)


class ScriptCell(graphene.ObjectType):
    uuid = NonNull(UUID)
    node = NonNull(Node)
    cell_type = NonNull(enums.CellType)
    cell_code = NonNull(String)
    cell_order = NonNull(Int)
    audio_cell = Field(AudioCell, description="Present when cellType is AUDIO")

    @staticmethod
    async def resolve_node(
        root: models.ScriptCell, info: graphene.ResolveInfo
    ) -> models.Node | None:
        return await _loaders(info).node.load(root.node_id)

    @staticmethod
    async def resolve_audio_cell(
        root: models.ScriptCell, info: graphene.ResolveInfo
    ) -> models.AudioCell | None:
        if root.audio_cell_id is None:
            return None
        return await _loaders(info).audio_cell.load(root.audio_cell_id)


class StreamPoint(graphene.ObjectType):
    class Meta:
        description = "A SuperCollider instance that renders streams"

    uuid = NonNull(UUID)
    created_date = NonNull(DateTime)
    modified_date = NonNull(DateTime)
    host = NonNull(String)
    port = NonNull(Int)
    use_input = NonNull(Boolean)
    janus_in_port = Int()
    janus_out_port = Int()
    janus_in_room = Int()
    janus_out_room = Int()
    last_live = DateTime()


class Stream(graphene.ObjectType):
    class Meta:
        description = "A stream point assigned to the listeners of a graph"

    uuid = NonNull(UUID)
    created_date = NonNull(DateTime)
    modified_date = NonNull(DateTime)
    num_listeners = NonNull(Int)
    stream_point = NonNull(StreamPoint)

    @staticmethod
    async def resolve_stream_point(
        root: models.Stream, info: graphene.ResolveInfo
    ) -> models.StreamPoint | None:
        return await _loaders(info).stream_point.load(root.stream_point_id)


class StreamVariable(graphene.ObjectType):
    uuid = NonNull(UUID)
    key = NonNull(String)
    value = Field(NonNull(String), description="Always text")
    stream = NonNull(Stream)
    stream_to_sc = NonNull(Boolean)

    @staticmethod
    async def resolve_stream(
        root: models.StreamVariable, info: graphene.ResolveInfo
    ) -> models.Stream | None:
        return await _loaders(info).stream.load(root.stream_id)


class StreamInstruction(graphene.ObjectType):
    uuid = NonNull(UUID)
    created_date = NonNull(DateTime)
    modified_date = NonNull(DateTime)
    instruction_text = NonNull(String)
    state = Field(
        NonNull(String),
        description="UNACKNOWLEDGED, SENT, RECEIVED, READY, SUCCESS, FAILURE or FINISHED",
    )
    return_value = NonNull(String)

    @staticmethod
    def resolve_state(root: models.StreamInstruction, info: graphene.ResolveInfo) -> str:
        return str(root.state.value if hasattr(root.state, "value") else root.state)


class StreamLog(graphene.ObjectType):
    uuid = NonNull(UUID)
    created_date = NonNull(DateTime)
    stream_point = Field(StreamPoint)
    stream = Field(Stream)
    origin = Field(String, description="graph_engine, supercollider or janus")
    level = NonNull(enums.LogLevel)
    message = NonNull(String)
    name = Field(String, description="The logger name")

    @staticmethod
    async def resolve_stream_point(
        root: models.StreamLog, info: graphene.ResolveInfo
    ) -> models.StreamPoint | None:
        if root.stream_point_id is None:
            return None
        return await _loaders(info).stream_point.load(root.stream_point_id)

    @staticmethod
    async def resolve_stream(
        root: models.StreamLog, info: graphene.ResolveInfo
    ) -> models.Stream | None:
        if root.stream_id is None:
            return None
        return await _loaders(info).stream.load(root.stream_id)


class StreamInfo(graphene.ObjectType):
    stream = NonNull(Stream)
    stream_instruction = Field(StreamInstruction)


class Text(graphene.ObjectType):
    text = NonNull(String)


class Input(graphene.ObjectType):
    key = NonNull(String)
    label = NonNull(String)
    placeholder = NonNull(String)


class Checkbox(graphene.ObjectType):
    key = NonNull(String)
    label = NonNull(String)
    checked = NonNull(Boolean)
    callback_actions = _list(enums.CallbackAction)


class Button(graphene.ObjectType):
    text = NonNull(String)
    value = NonNull(String)
    key = NonNull(String)
    button_type = NonNull(enums.ButtonType)
    callback_actions = _list(enums.CallbackAction)


class Content(graphene.Union):
    class Meta:
        types = (Text, Input, Checkbox)

    @classmethod
    def resolve_type(
        cls,
        instance: frontend.Text | frontend.Input | frontend.Checkbox,
        info: graphene.ResolveInfo,
    ) -> type:
        return _FRONTEND_TYPES[type(instance)]


class Dialog(graphene.ObjectType):
    class Meta:
        description = "A pop-up on the listener's device"

    title = NonNull(String)
    content = _list(Content)
    buttons = _list(Button)


_FRONTEND_TYPES = {
    frontend.Text: Text,
    frontend.Input: Input,
    frontend.Checkbox: Checkbox,
    frontend.Button: Button,
    frontend.Dialog: Dialog,
}


class User(graphene.ObjectType):
    username = NonNull(String)
    is_staff = NonNull(Boolean)
    is_active = NonNull(Boolean)
    first_name = NonNull(String)
    last_name = NonNull(String)
    email = NonNull(String)


class LoginError(graphene.ObjectType):
    error_message = String()


class InvalidAudioFile(graphene.ObjectType):
    error = NonNull(String)


class InvalidPythonCode(graphene.ObjectType):
    error_type = NonNull(String)
    error_message = Field(
        NonNull(String), description="The offending line with a ^ marker under the error"
    )
    error_code = NonNull(String)


class NoStreamAvailable(graphene.ObjectType):
    error = NonNull(String)


class GraphDeadEnd(graphene.ObjectType):
    error = NonNull(String)


class Diagnostic(graphene.ObjectType):
    """One finding of the graph lint (docs/authoring/lint.md has an example per code)."""

    code = Field(NonNull(String), description="Stable, e.g. GC0002; never reused")
    severity = NonNull(enums.DiagnosticSeverity)
    message = NonNull(String)
    node_uuid = Field(UUID, description="The node concerned; null for the whole graph")
    node_name = String()
    cell_uuid = Field(UUID, description="The script cell concerned, if any")
    door_uuid = Field(UUID, description="The door concerned, if any")


def _union(name: str, members: tuple[type, ...]) -> type[graphene.Union]:
    """A union of object types and the rows they show: a row maps by its class name."""

    def resolve_type(cls: type, instance: object, info: graphene.ResolveInfo) -> type:
        return _resolve_payload_type(instance, members)

    meta = type("Meta", (), {"types": members})
    return type(name, (graphene.Union,), {"Meta": meta, "resolve_type": classmethod(resolve_type)})


def _resolve_payload_type(instance: object, members: tuple[type, ...]) -> type:
    if type(instance) in _FRONTEND_TYPES:
        return _FRONTEND_TYPES[type(instance)]
    for member in members:
        if isinstance(instance, member):
            return member
    row_name = type(instance).__name__
    return next(member for member in members if member.__name__ == row_name)


LoginRequestResponse = _union("LoginRequestResponse", (LoginError, User))
AudioFileUploadResponse = _union("AudioFileUploadResponse", (AudioFile, InvalidAudioFile))
NodeDoorResponse = _union("NodeDoorResponse", (NodeDoor, InvalidPythonCode))
StreamInfoResponse = _union(
    "StreamInfoResponse", (StreamInfo, Dialog, NoStreamAvailable, GraphDeadEnd)
)
