"""GraphQL input types of API.md.

Optional fields that the caller leaves out are absent from the resolver's input;
fields given as ``0``, ``""`` or ``false`` are values, which partial updates change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from uuid import UUID as PyUUID

import graphene
from graphene import Boolean, Float, Int, List, NonNull, String

from gencaster.audio import UploadedFile
from gencaster.schema import enums
from gencaster.schema.scalars import UUID, Upload


class AddGraphInput(graphene.InputObjectType):
    name = NonNull(String)
    display_name = NonNull(String)
    slug_name = NonNull(String)
    start_text = String()
    about_text = String()
    end_text = String()
    public_visible = Boolean()
    stream_assignment_policy = NonNull(enums.StreamAssignmentPolicy)
    template_name = NonNull(enums.GraphDetailTemplate)


class UpdateGraphInput(graphene.InputObjectType):
    name = String()
    display_name = String()
    start_text = String()
    about_text = String()
    end_text = String()
    public_visible = Boolean()
    stream_assignment_policy = NonNull(enums.StreamAssignmentPolicy)
    template_name = NonNull(enums.GraphDetailTemplate)


class NodeCreate(graphene.InputObjectType):
    name = NonNull(String)
    graph_uuid = NonNull(UUID)
    position_x = Float()
    position_y = Float()
    color = String()


class NodeUpdate(graphene.InputObjectType):
    uuid = NonNull(UUID)
    name = String()
    position_x = Float()
    position_y = Float()
    color = String()


class EdgeInput(graphene.InputObjectType):
    node_door_in_uuid = NonNull(UUID)
    node_door_out_uuid = NonNull(UUID)


class EdgeValues(Protocol):
    """An ``EdgeInput`` as its resolver reads it."""

    node_door_in_uuid: PyUUID
    node_door_out_uuid: PyUUID


class AudioFileReference(graphene.InputObjectType):
    uuid = NonNull(UUID)


class AudioCellInput(graphene.InputObjectType):
    uuid = UUID()
    playback = NonNull(enums.PlaybackChoices)
    audio_file = NonNull(AudioFileReference)
    volume = NonNull(Float, default_value=0.2)


class ScriptCellInputCreate(graphene.InputObjectType):
    cell_type = NonNull(enums.CellType)
    cell_code = NonNull(String)
    cell_order = Int()
    audio_cell = AudioCellInput()


class ScriptCellInputUpdate(graphene.InputObjectType):
    uuid = UUID()
    cell_type = enums.CellType()
    cell_code = String()
    cell_order = Int()
    audio_cell = AudioCellInput()


class NodeDoorInputCreate(graphene.InputObjectType):
    door_type = NonNull(enums.DoorType)
    name = NonNull(String)
    order = Int()
    code = String()


class NodeDoorInputUpdate(graphene.InputObjectType):
    uuid = NonNull(UUID)
    door_type = NonNull(enums.DoorType, default_value="OUTPUT")
    name = String()
    order = Int()
    code = String()


class AddAudioFile(graphene.InputObjectType):
    file = NonNull(Upload)
    description = NonNull(String)
    file_name = NonNull(String)
    name = NonNull(String)


class AddAudioFileValues(Protocol):
    """An ``AddAudioFile`` as its resolver reads it."""

    file: UploadedFile
    description: str
    file_name: str
    name: str


# A partial input as its resolver reads it: the fields the caller gave, by snake_case name.
InputValues = Mapping[str, Any]


class UpdateAudioFile(graphene.InputObjectType):
    description = String()
    name = String()


class StreamVariableInput(graphene.InputObjectType):
    stream_uuid = NonNull(UUID)
    key = NonNull(String)
    value = NonNull(String)
    stream_to_sc = NonNull(Boolean, default_value=False)


def id_list(of_type: Any) -> NonNull:
    return NonNull(List(NonNull(of_type)))
