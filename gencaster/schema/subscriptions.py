"""The Subscription root of API.md.

Each subscription listens on its channel *before* the first read, so no change
between the read and the listening is lost; then it re-reads on every update.
Loaders are renewed per event, so a re-read never sees a cached row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID as PyUUID

import graphene
from graphene import Field, Int, NonNull
from tortoise.queryset import QuerySet

from gencaster.distributor import GenCasterChannel
from gencaster.engine import frontend
from gencaster.engine.engine import DeadEnd, DialogShown
from gencaster.errors import BadUserInput, NotFound
from gencaster.schema import types
from gencaster.schema.context import Loaders, context_of
from gencaster.schema.inputs import id_list
from gencaster.schema.scalars import UUID
from gencaster.streaming.listening import Attached, InstructionShown, ListenEvent, NoStream
from models import Graph, Node, Stream, StreamLog
from models.base import UUIDModel

T = TypeVar("T")
RowT = TypeVar("RowT", bound=UUIDModel)
# What streamInfo sends: a member of StreamInfoResponse.
StreamInfoPayload = (
    types.StreamInfo | frontend.Dialog | types.NoStreamAvailable | types.GraphDeadEnd
)

MAX_STREAMS_LIMIT = 1000
MAX_LOG_HISTORY = 1000  # the newest existing logs a new streamLogs subscriber gets first


def _channel(info: graphene.ResolveInfo) -> GenCasterChannel:
    return context_of(info).services.channel


def _fresh(info: graphene.ResolveInfo, value: T) -> T:
    context_of(info).loaders = Loaders()
    return value


async def _watch_row(
    info: graphene.ResolveInfo, model: type[RowT], uuid: PyUUID, channel_name: str, what: str
) -> AsyncIterator[RowT]:
    async with _channel(info).subscribe(channel_name) as updates:
        row = await model.get_or_none(uuid=uuid)
        if row is None:
            raise NotFound(f"No {what} with uuid {uuid}")
        yield _fresh(info, row)
        async for _update in updates:
            row = await model.get_or_none(uuid=uuid)
            if row is None:  # deleted: the subscription has nothing left to show
                return
            yield _fresh(info, row)


def _update_matches(
    data: dict[str, Any], stream_uuid: PyUUID | None, point_uuid: PyUUID | None
) -> bool:
    """Decided from the message itself, so other streams' logs cost no read."""
    if stream_uuid is not None and data.get("stream_uuid") != str(stream_uuid):
        return False
    return point_uuid is None or data.get("stream_point_uuid") == str(point_uuid)


def _stream_info_payload(info: graphene.ResolveInfo, event: ListenEvent) -> StreamInfoPayload:
    """The GraphQL shape of what a listener hears, with fresh loaders.

    An instruction's stream and point are the ones its stream's run holds: the
    loader is primed with that point, so showing it to a listener reads nothing.
    """
    if isinstance(event, Attached):
        return _fresh(info, types.StreamInfo(stream=event.stream, stream_instruction=None))
    if isinstance(event, InstructionShown):
        payload = _fresh(
            info, types.StreamInfo(stream=event.stream, stream_instruction=event.instruction)
        )
        context_of(info).loaders.stream_point.prime(event.point.uuid, event.point)
        return payload
    return _fresh(info, _other_payload(event))


def _other_payload(event: DialogShown | NoStream | DeadEnd) -> StreamInfoPayload:
    if isinstance(event, DialogShown):
        return event.dialog
    if isinstance(event, NoStream):
        return types.NoStreamAvailable(error=event.reason)
    assert isinstance(event, DeadEnd)
    return types.GraphDeadEnd(error=event.reason)


async def _logs_since(logs: QuerySet[StreamLog], since: datetime | None) -> list[StreamLog]:
    """``logs`` from ``since`` on (inclusive), oldest first, at most MAX_LOG_HISTORY."""
    query = logs
    if since is not None:
        query = query.filter(created_date__gte=since)
    return await query.order_by("created_date", "uuid").limit(MAX_LOG_HISTORY)


# Subscriptions that show the latest state of something, the same for every caller of
# one access level: identical ones share one execution (transport/ws/shared.py).
# streamLogs is a stream of events that each subscriber needs from its own start, and
# streamInfo attaches its caller to a stream, so neither is shared.
SHAREABLE_SUBSCRIPTIONS = frozenset({"graph", "node", "streams"})


class Subscription(graphene.ObjectType):
    graph = Field(
        NonNull(types.Graph),
        graph_uuid=NonNull(UUID),
        description="The graph at once, then after every change to it or anything in it",
    )
    node = Field(
        NonNull(types.Node),
        node_uuid=NonNull(UUID),
        description="The node at once, then after every change to it, its doors, cells or edges",
    )
    stream_info = Field(
        NonNull(types.StreamInfoResponse),
        graph_uuid=NonNull(UUID),
        description="Attaches the caller to a stream of the graph and follows its engine",
    )
    stream_logs = Field(
        NonNull(types.StreamLog),
        stream_uuid=UUID(),
        stream_point_uuid=UUID(),
        description="The newest 1000 existing logs oldest first, then each new one",
    )
    streams = Field(
        id_list(types.Stream),
        limit=NonNull(Int, default_value=20),
        description="The newest streams at once, then again after any stream changes",
    )

    @staticmethod
    def subscribe_graph(
        root: None, info: graphene.ResolveInfo, graph_uuid: PyUUID
    ) -> AsyncIterator[Graph]:
        channel = _channel(info).graph_channel(graph_uuid)
        return _watch_row(info, Graph, graph_uuid, channel, "graph")

    @staticmethod
    def subscribe_node(
        root: None, info: graphene.ResolveInfo, node_uuid: PyUUID
    ) -> AsyncIterator[Node]:
        channel = _channel(info).node_channel(node_uuid)
        return _watch_row(info, Node, node_uuid, channel, "node")

    @staticmethod
    async def subscribe_streams(
        root: None, info: graphene.ResolveInfo, limit: int = 20
    ) -> AsyncIterator[list[Stream]]:
        if not 0 < limit <= MAX_STREAMS_LIMIT:
            raise BadUserInput(f"limit must be between 1 and {MAX_STREAMS_LIMIT}")
        channel = _channel(info)
        async with channel.subscribe(channel.STREAMS_CHANNEL) as updates:
            yield _fresh(info, await Stream.newest(limit))
            async for _update in updates:
                yield _fresh(info, await Stream.newest(limit))

    @staticmethod
    async def subscribe_stream_logs(
        root: None,
        info: graphene.ResolveInfo,
        stream_uuid: PyUUID | None = None,
        stream_point_uuid: PyUUID | None = None,
    ) -> AsyncIterator[StreamLog]:
        channel = _channel(info)
        logs = StreamLog.of(stream_uuid=stream_uuid, stream_point_uuid=stream_point_uuid)
        async with channel.subscribe(channel.STREAM_LOGS_CHANNEL) as updates:
            history = await logs.order_by("-created_date", "-uuid").limit(MAX_LOG_HISTORY)
            seen = {log.uuid for log in history}
            newest = history[0].created_date if history else None
            for log in reversed(history):
                yield _fresh(info, log)
            async for update in updates:
                if update.is_resync:  # logs written while the broker was away
                    arrived = await _logs_since(logs, newest)
                elif _update_matches(update.data, stream_uuid, stream_point_uuid):
                    found = await StreamLog.get_or_none(uuid=update.uuid)
                    arrived = [] if found is None else [found]
                else:
                    continue
                for new in arrived:
                    if new.uuid not in seen:
                        seen.add(new.uuid)
                        newest = max(newest or new.created_date, new.created_date)
                        yield _fresh(info, new)

    @staticmethod
    async def subscribe_stream_info(
        root: None, info: graphene.ResolveInfo, graph_uuid: PyUUID
    ) -> AsyncIterator[StreamInfoPayload]:
        listening = context_of(info).services.listening
        async with aclosing(listening.listen(graph_uuid)) as events:
            async for event in events:
                yield _stream_info_payload(info, event)

    @staticmethod
    def resolve_graph(root: Graph, info: graphene.ResolveInfo, graph_uuid: PyUUID) -> Graph:
        return root

    @staticmethod
    def resolve_node(root: Node, info: graphene.ResolveInfo, node_uuid: PyUUID) -> Node:
        return root

    @staticmethod
    def resolve_stream_info(
        root: StreamInfoPayload, info: graphene.ResolveInfo, graph_uuid: PyUUID
    ) -> StreamInfoPayload:
        return root

    @staticmethod
    def resolve_streams(
        root: list[Stream], info: graphene.ResolveInfo, limit: int = 20
    ) -> list[Stream]:
        return root

    @staticmethod
    def resolve_stream_logs(
        root: StreamLog, info: graphene.ResolveInfo, **kwargs: PyUUID | None
    ) -> StreamLog:
        return root
