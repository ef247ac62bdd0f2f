"""The Query root of API.md. Staff-only fields are guarded in ``permissions``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID as PyUUID

import graphene
from graphene import Field, NonNull
from tortoise.expressions import Q

from gencaster.authoring.lint import Diagnostic, lint_graph
from gencaster.errors import BadUserInput, Forbidden, NotFound
from gencaster.schema import types
from gencaster.schema.context import context_of
from gencaster.schema.filters import (
    AudioFileFilter,
    GraphFilter,
    OffsetPaginationInput,
    StreamPointFilter,
    apply_pagination,
    filter_to_q,
    translate_filter_errors,
    uses_regex,
)
from gencaster.schema.inputs import id_list
from gencaster.schema.scalars import UUID
from gencaster.text import clip
from models import AudioFile, Graph, Node, StreamPoint, StreamVariable, User
from models.base import UUIDModel

RowT = TypeVar("RowT", bound=UUIDModel)


def parse_pk(pk: object) -> PyUUID:
    """``pk: ID!`` arguments are UUIDs; anything else is the caller's mistake."""
    try:
        return PyUUID(str(pk))
    except ValueError as exc:
        raise BadUserInput(f"{clip(repr(pk), 100)} is not a valid UUID") from exc


async def get_by_pk(model: type[RowT], pk: object, what: str) -> RowT:
    """The row of ``model`` with uuid ``pk``; NotFound if there is none."""
    row = await model.get_or_none(uuid=parse_pk(pk))
    if row is None:
        raise NotFound(f"No {what} with uuid {pk}")
    return row


def _graph_visibility(info: graphene.ResolveInfo, filters: Mapping[str, Any] | None) -> Q:
    """Anonymous callers see public graphs, and any graph whose exact slug they name."""
    if context_of(info).is_staff:
        return Q()
    if uses_regex(filters):
        raise Forbidden("Regular-expression lookups need a staff login")
    visible = Q(public_visible=True)
    slug = (filters or {}).get("slug_name") or {}
    if slug.get("exact"):
        visible |= Q(slug_name=slug["exact"])
    return visible


class Query(graphene.ObjectType):
    graphs = Field(
        id_list(types.Graph),
        filters=GraphFilter(),
        description="Anonymous callers see public graphs, or any graph by its exact slugName",
    )
    graph = Field(NonNull(types.Graph), pk=NonNull(graphene.ID))
    nodes = Field(id_list(types.Node))
    node = Field(NonNull(types.Node), pk=NonNull(graphene.ID))
    audio_files = Field(
        id_list(types.AudioFile),
        filters=AudioFileFilter(),
        pagination=OffsetPaginationInput(),
        description="Newest first; pagination {offset: 0, limit: -1} returns all",
    )
    audio_file = Field(NonNull(types.AudioFile), pk=NonNull(graphene.ID))
    stream_points = Field(
        id_list(types.StreamPoint),
        filters=StreamPointFilter(),
        description="Only live points: their last beacon is within the beacon window",
    )
    stream_point = Field(NonNull(types.StreamPoint), pk=NonNull(graphene.ID))
    stream_variable = Field(NonNull(types.StreamVariable), pk=NonNull(graphene.ID))
    is_authenticated = Field(types.User, description="The logged-in user, or null")
    graph_diagnostics = Field(
        id_list(types.Diagnostic),
        graph_uuid=NonNull(UUID),
        description="Lint: numbered diagnostics, graph-wide first, then by node and code",
    )

    @staticmethod
    async def resolve_graphs(
        root: None, info: graphene.ResolveInfo, filters: Mapping[str, Any] | None = None
    ) -> list[Graph]:
        query = Graph.filter(filter_to_q(filters, GraphFilter))
        with translate_filter_errors():
            return await query.filter(_graph_visibility(info, filters)).order_by("name")

    @staticmethod
    async def resolve_graph(root: None, info: graphene.ResolveInfo, pk: str) -> Graph:
        return await get_by_pk(Graph, pk, "graph")

    @staticmethod
    async def resolve_nodes(root: None, info: graphene.ResolveInfo) -> list[Node]:
        return await Node.in_order()

    @staticmethod
    async def resolve_node(root: None, info: graphene.ResolveInfo, pk: str) -> Node:
        return await get_by_pk(Node, pk, "node")

    @staticmethod
    async def resolve_audio_files(
        root: None,
        info: graphene.ResolveInfo,
        filters: Mapping[str, Any] | None = None,
        pagination: Mapping[str, Any] | None = None,
    ) -> list[AudioFile]:
        query = AudioFile.filter(filter_to_q(filters, AudioFileFilter))
        with translate_filter_errors():
            return await apply_pagination(query.order_by("-created_date", "uuid"), pagination)

    @staticmethod
    async def resolve_audio_file(root: None, info: graphene.ResolveInfo, pk: str) -> AudioFile:
        return await get_by_pk(AudioFile, pk, "audio file")

    @staticmethod
    async def resolve_stream_points(
        root: None, info: graphene.ResolveInfo, filters: Mapping[str, Any] | None = None
    ) -> list[StreamPoint]:
        window = context_of(info).services.settings.beacon_window_s
        query = StreamPoint.live(window).filter(filter_to_q(filters, StreamPointFilter))
        with translate_filter_errors():
            return await query.order_by("host", "port")

    @staticmethod
    async def resolve_stream_point(root: None, info: graphene.ResolveInfo, pk: str) -> StreamPoint:
        return await get_by_pk(StreamPoint, pk, "stream point")

    @staticmethod
    async def resolve_stream_variable(
        root: None, info: graphene.ResolveInfo, pk: str
    ) -> StreamVariable:
        return await get_by_pk(StreamVariable, pk, "stream variable")

    @staticmethod
    async def resolve_graph_diagnostics(
        root: None, info: graphene.ResolveInfo, graph_uuid: PyUUID
    ) -> list[Diagnostic]:
        graph = await get_by_pk(Graph, graph_uuid, "graph")
        return await lint_graph(graph, context_of(info).services.media.path_of)

    @staticmethod
    def resolve_is_authenticated(root: None, info: graphene.ResolveInfo) -> User | None:
        return context_of(info).user
