"""Build the GraphQL context of a WebSocket operation and of a shared feed.

A socket authenticates with the session cookie sent with the upgrade or, for
clients that hold the session id themselves (scripts), ``sessionToken`` in the
``connection_init`` payload. The session is looked up again for every operation,
so a logout (on this socket or elsewhere), an expiry or a deactivated user takes
effect on open sockets too; a login or logout over the socket changes its session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from contextlib import AbstractAsyncContextManager, nullcontext
from functools import lru_cache
from typing import Any

from graphql import FieldNode, GraphQLError, OperationType, get_operation_ast, parse
from sanic import Sanic

from gencaster.auth import SESSION_COOKIE
from gencaster.schema import schema
from gencaster.schema.context import GraphQLContext
from gencaster.schema.permissions import staff_fields
from gencaster.transport.execution import GraphQLRequest
from gencaster.transport.ws.adapter import ConnectionInfo
from gencaster.transport.ws.operation import Revoke, Watch
from gencaster.transport.ws.registry import OperationScope

INIT_TOKEN_KEY = "sessionToken"


def websocket_hooks(app: Sanic) -> tuple[Any, Any]:
    """``(on_connect, context_factory)`` for the WebSocket endpoint."""

    async def on_connect(info: ConnectionInfo) -> bool:
        token = info.cookies.get(SESSION_COOKIE)
        payload_token = (info.init_payload or {}).get(INIT_TOKEN_KEY)
        if isinstance(payload_token, str) and payload_token:
            token = payload_token
        info.state["token"] = token
        return True

    async def context_factory(info: ConnectionInfo, scope: OperationScope) -> GraphQLContext:
        return await GraphQLContext.for_session(
            app.ctx.services,
            info.state.get("token"),
            transport="websocket",
            client_address=info.client_address,
            operation=scope,
            on_session_change=lambda new_token: info.state.update(token=new_token),
        )

    return on_connect, context_factory


def staff_watch(app: Sanic) -> Watch:
    """``watch`` for ``register_websocket``: staff operations end with their login."""

    def watch(
        context: GraphQLContext, request: GraphQLRequest, revoke: Revoke
    ) -> AbstractAsyncContextManager[Any]:
        if not context.is_staff or not needs_staff(request.query, request.operation_name):
            return nullcontext(None)
        return app.ctx.services.access.watch(context.session_token, revoke)

    return watch


@lru_cache(maxsize=512)
def needs_staff(query: str, operation_name: str | None) -> bool:
    """Whether the operation selects a root field only staff may use."""
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLError:
        return False
    if operation is None:
        return False
    root = _ROOT_NAMES[operation.operation]
    return any(
        isinstance(node, FieldNode) and (root, node.name.value) in _STAFF_FIELDS
        for node in operation.selection_set.selections
    )


_STAFF_FIELDS = frozenset(staff_fields(schema.graphql_schema))
_ROOT_NAMES = {
    OperationType.QUERY: "Query",
    OperationType.MUTATION: "Mutation",
    OperationType.SUBSCRIPTION: "Subscription",
}


def feed_context(app: Sanic) -> Callable[[Hashable], Awaitable[GraphQLContext]]:
    """``context_for`` of the shared feeds: the access level is ``is_staff`` (``access_key``)."""

    async def context_for(staff: Hashable) -> GraphQLContext:
        return GraphQLContext.for_access(app.ctx.services, staff=bool(staff))

    return context_for


def access_key(context: GraphQLContext) -> Hashable:
    """What decides which shared feed a subscriber may join: staff or not."""
    return context.is_staff
