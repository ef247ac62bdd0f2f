"""What every resolver receives as ``info.context``: the caller, the services, loaders.

A context is built per HTTP request and per WebSocket operation. Its loaders batch
and cache reads for that one request, so resolving a graph with hundreds of nodes
costs a fixed number of queries instead of one per node.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast
from uuid import UUID

import graphene
from aiodataloader import DataLoader
from tortoise.models import Model

from gencaster.errors import Unauthenticated
from models import (
    AudioCell,
    AudioFile,
    Edge,
    Graph,
    Node,
    NodeDoor,
    ScriptCell,
    Stream,
    StreamPoint,
)

RowT = TypeVar("RowT", bound=Model)

if TYPE_CHECKING:
    from gencaster.services import Services
    from models import User


class ByIdLoader(DataLoader[UUID, RowT | None], Generic[RowT]):
    """Loads rows of one model by primary key; a missing row loads as ``None``.

    ``shown_only`` leaves out the columns no object type shows (read-only rows).
    """

    def __init__(self, model: type[RowT], *, shown_only: bool = False) -> None:
        super().__init__()
        self.model = model
        self.shown_only = shown_only

    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[RowT | None]:
        query = self.model.filter(uuid__in=list(keys))
        rows = await (query.only(*_shown_columns(self.model)) if self.shown_only else query)
        by_id = {row.pk: row for row in rows}
        return [by_id.get(key) for key in keys]


class ChildrenLoader(DataLoader[UUID, list[RowT]], Generic[RowT]):
    """Loads the children of many parents in one query, grouped by the parent's id.

    The parts of a graph it loads are read-only rows without the columns no type shows.
    """

    def __init__(
        self, model: type[RowT], parent_field: str, sort_key: Callable[[RowT], Any]
    ) -> None:
        super().__init__()
        self.model = model
        self.parent_field = parent_field
        self.sort_key = sort_key

    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[list[RowT]]:
        query = self.model.filter(**{f"{self.parent_field}__in": list(keys)})
        rows = await query.only(*_shown_columns(self.model))
        grouped: dict[UUID, list[RowT]] = defaultdict(list)
        for row in rows:
            grouped[_as_uuid(getattr(row, self.parent_field))].append(row)
        return [sorted(grouped[key], key=self.sort_key) for key in keys]


class EdgesByGraphLoader(DataLoader[UUID, list[Edge]]):
    """Every edge whose out-door belongs to a node of the graph."""

    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[list[Edge]]:
        rows = await Edge.filter(out_node_door__node__graph_id__in=list(keys)).values(
            "uuid", "in_node_door_id", "out_node_door_id", graph_id="out_node_door__node__graph_id"
        )
        grouped: dict[UUID, list[Edge]] = defaultdict(list)
        for row in rows:
            edge = Edge(
                uuid=row["uuid"],
                in_node_door_id=row["in_node_door_id"],
                out_node_door_id=row["out_node_door_id"],
            )
            grouped[_as_uuid(row["graph_id"])].append(edge)
        return [sorted(grouped[key], key=lambda edge: str(edge.uuid)) for key in keys]


# No object type of a graph's parts shows when a row was made or changed, and turning
# those two columns into datetimes is a third of building each row: left unread.
_UNSHOWN_COLUMNS = frozenset({"created_date", "modified_date"})


def _shown_columns(model: type[Model]) -> list[str]:
    return [name for name in model._meta.fields_db_projection if name not in _UNSHOWN_COLUMNS]


def _as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


class Loaders:
    """One context's loaders, each made when a resolver first asks for it.

    A WebSocket holds a context per subscription for as long as it listens, and most
    never use most loaders: made eagerly they were some 3 KiB of every socket.
    """

    @cached_property
    def graph(self) -> ByIdLoader[Graph]:
        return ByIdLoader(Graph)

    @cached_property
    def node(self) -> ByIdLoader[Node]:
        return ByIdLoader(Node, shown_only=True)

    @cached_property
    def node_door(self) -> ByIdLoader[NodeDoor]:
        return ByIdLoader(NodeDoor, shown_only=True)

    @cached_property
    def audio_cell(self) -> ByIdLoader[AudioCell]:
        return ByIdLoader(AudioCell)

    @cached_property
    def audio_file(self) -> ByIdLoader[AudioFile]:
        return ByIdLoader(AudioFile)

    @cached_property
    def stream(self) -> ByIdLoader[Stream]:
        return ByIdLoader(Stream)

    @cached_property
    def stream_point(self) -> ByIdLoader[StreamPoint]:
        return ByIdLoader(StreamPoint)

    @cached_property
    def nodes_by_graph(self) -> ChildrenLoader[Node]:
        return ChildrenLoader(Node, "graph_id", Node.sort_key)

    @cached_property
    def doors_by_node(self) -> ChildrenLoader[NodeDoor]:
        return ChildrenLoader(NodeDoor, "node_id", NodeDoor.sort_key)

    @cached_property
    def cells_by_node(self) -> ChildrenLoader[ScriptCell]:
        return ChildrenLoader(ScriptCell, "node_id", ScriptCell.sort_key)

    @cached_property
    def edges_by_graph(self) -> EdgesByGraphLoader:
        return EdgesByGraphLoader()


class OperationHooks(Protocol):
    """The WebSocket operation a context serves: its cleanups run once, when it ends."""

    def add_cleanup(self, callback: Callable[[], Awaitable[None]]) -> None: ...


@dataclass
class GraphQLContext:
    services: Services
    user: User | None = None
    session_token: str | None = None
    transport: str = "http"
    # The caller's address (forwarded by trusted proxies), for throttling failed logins.
    client_address: str = ""
    loaders: Loaders = field(default_factory=Loaders)
    # Set by authLogin/authLogout; the HTTP transport turns them into Set-Cookie.
    new_session_token: str | None = None
    end_session: bool = False
    # The WebSocket operation this context belongs to (cleanup hooks), if any.
    operation: OperationHooks | None = None
    # Over WebSocket: tells the socket that authLogin/authLogout changed its session.
    on_session_change: Callable[[str | None], None] | None = None

    # A shared subscription feed acts for every subscriber of one access level, no user.
    acts_as_staff: bool = False

    @classmethod
    async def for_session(
        cls, services: Services, token: str | None, *, transport: str, **extra: Any
    ) -> GraphQLContext:
        """The context of one request or operation, as the session ``token`` says who calls."""
        user = await services.sessions.user_for(token)
        return cls(services=services, user=user, session_token=token, transport=transport, **extra)

    @classmethod
    def for_access(cls, services: Services, *, staff: bool) -> GraphQLContext:
        """The context of a shared feed: its subscribers' access level, nobody's session."""
        return cls(services=services, transport="websocket", acts_as_staff=staff)

    @property
    def is_staff(self) -> bool:
        if self.acts_as_staff:
            return True
        return bool(self.user and self.user.is_staff and self.user.is_active)

    def require_staff(self) -> None:
        if not self.is_staff:
            raise Unauthenticated()


def context_of(info: graphene.ResolveInfo) -> GraphQLContext:
    """``info.context`` as what it is: graphql-core types it ``Any``, so resolvers read
    it through here and their uses of the caller, services and loaders are checked."""
    return cast(GraphQLContext, info.context)
