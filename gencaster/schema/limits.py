"""How much text each argument and input field may hold, taken from the models.

``apply_text_limits`` writes ``extensions["max_length"]`` onto every string input
field and argument whose model column has a ``max_length`` (names, slugs, keys), so
the one argument check of the transports (``transport/arguments.py``) refuses longer
text before any resolver runs. Free text (code, markdown, descriptions) has no column
bound and falls back to the ``GENCASTER_MAX_TEXT_CHARS`` setting. Credentials are
marked instead: a login answers bad text like a wrong password (no user enumeration).
"""

from __future__ import annotations

from graphql import GraphQLInputObjectType, GraphQLSchema
from tortoise import fields
from tortoise.models import Model

from models import AudioFile, Graph, Node, NodeDoor, ScriptCell, StreamPoint, StreamVariable

# Each input type and the model whose columns its (snake_case) fields fill or filter.
INPUT_MODELS: dict[str, type[Model]] = {
    "AddGraphInput": Graph,
    "UpdateGraphInput": Graph,
    "GraphFilter": Graph,
    "NodeCreate": Node,
    "NodeUpdate": Node,
    "NodeDoorInputCreate": NodeDoor,
    "NodeDoorInputUpdate": NodeDoor,
    "ScriptCellInputCreate": ScriptCell,
    "ScriptCellInputUpdate": ScriptCell,
    "AddAudioFile": AudioFile,
    "UpdateAudioFile": AudioFile,
    "AudioFileFilter": AudioFile,
    "StreamPointFilter": StreamPoint,
    "StreamVariableInput": StreamVariable,
}
# Root arguments that are credentials: checked by the login itself, never refused here.
CREDENTIAL_ARGUMENTS = {("Mutation", "authLogin"): ("username", "password")}


def column_max_length(model: type[Model], name: str) -> int | None:
    field = model._meta.fields_map.get(name)
    if isinstance(field, fields.CharField):
        return field.max_length
    return None


def apply_text_limits(schema: GraphQLSchema) -> None:
    for type_name, model in INPUT_MODELS.items():
        input_type = schema.get_type(type_name)
        assert isinstance(input_type, GraphQLInputObjectType), type_name
        for name, field in input_type.fields.items():
            limit = column_max_length(model, field.out_name or name)
            if limit is not None:
                field.extensions = {**(field.extensions or {}), "max_length": limit}
    for (root_name, field_name), arguments in CREDENTIAL_ARGUMENTS.items():
        root = schema.get_type(root_name)
        field_def = root.fields[field_name]  # type: ignore[union-attr]
        for argument in arguments:
            arg = field_def.args[argument]
            arg.extensions = {**(arg.extensions or {}), "credential": True}
