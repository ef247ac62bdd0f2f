"""The Mutation root of API.md; the rules live in ``gencaster.story_graph`` and friends."""

from __future__ import annotations

from uuid import UUID as PyUUID

import graphene
from graphene import Boolean, Field, List, NonNull, String

from gencaster.audio import InvalidAudio
from gencaster.engine.sandbox import InvalidPythonCode
from gencaster.schema import inputs, types
from gencaster.schema.context import GraphQLContext, context_of
from gencaster.schema.inputs import InputValues
from gencaster.schema.scalars import UUID, Void
from gencaster.story_graph import StoryGraphEditor
from models import AudioFile, Edge, Graph, NodeDoor, ScriptCell, StreamVariable, User


def _editor(info: graphene.ResolveInfo) -> StoryGraphEditor:
    return context_of(info).services.editor


def _invalid_code(error: InvalidPythonCode) -> types.InvalidPythonCode:
    return types.InvalidPythonCode(
        error_type=error.error_type, error_message=error.error_message, error_code=error.error_code
    )


async def _end_session(context: GraphQLContext) -> None:
    """End the caller's session here and its staff operations in every process."""
    token = context.session_token
    await context.services.sessions.end(token)
    if token:
        await context.services.access.session_ended(token)


class Mutation(graphene.ObjectType):
    auth_login = Field(
        NonNull(types.LoginRequestResponse),
        username=NonNull(String),
        password=NonNull(String),
        description="Sets the session cookie",
    )
    auth_logout = Field(NonNull(Boolean), description="Ends the session server-side")
    add_graph = Field(
        NonNull(types.Graph),
        graph_input=NonNull(inputs.AddGraphInput),
        description='Also creates the entry node "Start" with its default doors',
    )
    update_graph = Field(
        NonNull(types.Graph),
        graph_input=NonNull(inputs.UpdateGraphInput),
        graph_uuid=NonNull(UUID),
    )
    add_node = Field(Void, new_node=NonNull(inputs.NodeCreate))
    update_node = Field(Void, node_update=NonNull(inputs.NodeUpdate))
    delete_node = Field(Void, node_uuid=NonNull(UUID))
    add_edge = Field(NonNull(types.Edge), new_edge=NonNull(inputs.EdgeInput))
    delete_edge = Field(Void, edge_uuid=NonNull(UUID))
    create_script_cells = Field(
        inputs.id_list(types.ScriptCell),
        script_cell_inputs=inputs.id_list(inputs.ScriptCellInputCreate),
        node_uuid=NonNull(UUID),
    )
    update_script_cells = Field(
        inputs.id_list(types.ScriptCell),
        script_cell_inputs=inputs.id_list(inputs.ScriptCellInputUpdate),
    )
    delete_script_cell = Field(Void, script_cell_uuid=NonNull(UUID))
    create_node_door = Field(
        NonNull(types.NodeDoor),
        node_door_input=NonNull(inputs.NodeDoorInputCreate),
        node_uuid=NonNull(UUID),
    )
    update_node_door = Field(
        NonNull(types.NodeDoorResponse),
        node_door_input=NonNull(inputs.NodeDoorInputUpdate),
        description="A door's type never changes; invalid code returns InvalidPythonCode",
    )
    delete_node_door = Field(
        NonNull(Boolean),
        node_door_uuid=NonNull(UUID),
        description="Default doors are never deleted (false)",
    )
    add_audio_file = Field(
        NonNull(types.AudioFileUploadResponse),
        new_audio_file=NonNull(inputs.AddAudioFile),
        description=(
            "Send as a multipart request (GraphQL multipart request spec). Only WAV or FLAC"
            " content within the upload limit is kept, under a name the server chooses;"
            " anything else returns InvalidAudioFile and stores nothing. The file name must"
            " be a plain name (no path). Bodies over twice the limit are refused with HTTP 413."
        ),
    )
    update_audio_file = Field(
        NonNull(types.AudioFile),
        uuid=NonNull(UUID),
        update_audio_file=NonNull(inputs.UpdateAudioFile),
    )
    create_update_stream_variable = Field(
        inputs.id_list(types.StreamVariable),
        stream_variables=NonNull(List(NonNull(inputs.StreamVariableInput))),
        description="Upsert by (stream, key); streamToSc values must be numbers",
    )

    @staticmethod
    async def resolve_auth_login(
        root: None, info: graphene.ResolveInfo, username: str, password: str
    ) -> User | types.LoginError:
        context = context_of(info)
        logins = context.services.logins
        user = await logins.login(username, password, context.client_address)
        if user is None:
            return types.LoginError(error_message="Wrong credentials")
        await _end_session(context)
        context.new_session_token = await context.services.sessions.start(user)
        context.user = user
        if context.on_session_change is not None:
            context.on_session_change(context.new_session_token)
        return user

    @staticmethod
    async def resolve_auth_logout(root: None, info: graphene.ResolveInfo) -> bool:
        context = context_of(info)
        await _end_session(context)
        context.end_session = True
        context.user = None
        if context.on_session_change is not None:
            context.on_session_change(None)
        return True

    @staticmethod
    async def resolve_add_graph(
        root: None, info: graphene.ResolveInfo, graph_input: InputValues
    ) -> Graph:
        return await _editor(info).add_graph(graph_input)

    @staticmethod
    async def resolve_update_graph(
        root: None, info: graphene.ResolveInfo, graph_input: InputValues, graph_uuid: PyUUID
    ) -> Graph:
        return await _editor(info).update_graph(graph_uuid, graph_input)

    @staticmethod
    async def resolve_add_node(
        root: None, info: graphene.ResolveInfo, new_node: InputValues
    ) -> None:
        await _editor(info).add_node(new_node)

    @staticmethod
    async def resolve_update_node(
        root: None, info: graphene.ResolveInfo, node_update: InputValues
    ) -> None:
        await _editor(info).update_node(node_update)

    @staticmethod
    async def resolve_delete_node(
        root: None, info: graphene.ResolveInfo, node_uuid: PyUUID
    ) -> None:
        await _editor(info).delete_node(node_uuid)

    @staticmethod
    async def resolve_add_edge(
        root: None, info: graphene.ResolveInfo, new_edge: inputs.EdgeValues
    ) -> Edge:
        return await _editor(info).add_edge(new_edge.node_door_in_uuid, new_edge.node_door_out_uuid)

    @staticmethod
    async def resolve_delete_edge(
        root: None, info: graphene.ResolveInfo, edge_uuid: PyUUID
    ) -> None:
        await _editor(info).delete_edge(edge_uuid)

    @staticmethod
    async def resolve_create_script_cells(
        root: None,
        info: graphene.ResolveInfo,
        script_cell_inputs: list[InputValues],
        node_uuid: PyUUID,
    ) -> list[ScriptCell]:
        return await _editor(info).create_script_cells(node_uuid, script_cell_inputs)

    @staticmethod
    async def resolve_update_script_cells(
        root: None, info: graphene.ResolveInfo, script_cell_inputs: list[InputValues]
    ) -> list[ScriptCell]:
        return await _editor(info).update_script_cells(script_cell_inputs)

    @staticmethod
    async def resolve_delete_script_cell(
        root: None, info: graphene.ResolveInfo, script_cell_uuid: PyUUID
    ) -> None:
        await _editor(info).delete_script_cell(script_cell_uuid)

    @staticmethod
    async def resolve_create_node_door(
        root: None, info: graphene.ResolveInfo, node_door_input: InputValues, node_uuid: PyUUID
    ) -> NodeDoor:
        return await _editor(info).create_node_door(node_uuid, node_door_input)

    @staticmethod
    async def resolve_update_node_door(
        root: None, info: graphene.ResolveInfo, node_door_input: InputValues
    ) -> NodeDoor | types.InvalidPythonCode:
        result = await _editor(info).update_node_door(node_door_input)
        if isinstance(result, InvalidPythonCode):
            return _invalid_code(result)
        return result

    @staticmethod
    async def resolve_delete_node_door(
        root: None, info: graphene.ResolveInfo, node_door_uuid: PyUUID
    ) -> bool:
        return await _editor(info).delete_node_door(node_door_uuid)

    @staticmethod
    async def resolve_add_audio_file(
        root: None, info: graphene.ResolveInfo, new_audio_file: inputs.AddAudioFileValues
    ) -> AudioFile | types.InvalidAudioFile:
        try:
            return await context_of(info).services.audio.add_upload(
                new_audio_file.file,
                name=new_audio_file.name,
                description=new_audio_file.description,
                file_name=new_audio_file.file_name,
            )
        except InvalidAudio as invalid:
            return types.InvalidAudioFile(error=invalid.reason)

    @staticmethod
    async def resolve_update_audio_file(
        root: None, info: graphene.ResolveInfo, uuid: PyUUID, update_audio_file: InputValues
    ) -> AudioFile:
        return await context_of(info).services.audio.update(uuid, update_audio_file)

    @staticmethod
    async def resolve_create_update_stream_variable(
        root: None, info: graphene.ResolveInfo, stream_variables: list[InputValues]
    ) -> list[StreamVariable]:
        return await context_of(info).services.variables.upsert(stream_variables)
