"""Run one GraphQL operation for either subprotocol.

The handlers differ only in words (``next`` against ``data``), so they hand a
``ResultSink`` to ``run_operation`` and keep the executing, streaming and error
mapping here, in one place.
"""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Sequence,
)
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    aclosing,
    nullcontext,
)
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import graphene
from graphql import DocumentNode
from graphql.error import GraphQLError
from graphql.execution import ExecutionResult
from graphql.language import FieldNode
from graphql.utilities import get_operation_ast

from gencaster.metrics import OPERATIONS, SUBSCRIPTIONS_ACTIVE
from gencaster.transport.execution import (
    GraphQLRequest,
    format_error,
    format_result,
    prepare_request,
    run_document,
)
from gencaster.transport.limits import QueryLimits
from gencaster.transport.ws.adapter import ConnectionInfo, SocketClosed
from gencaster.transport.ws.registry import FinalMessage, OperationScope
from gencaster.transport.ws.shared import EncodedPayload, FeedError, SharedFeeds
from gencaster.transport.ws.streams import as_graphql_error, stream_in_task

ContextFactory = Callable[[ConnectionInfo, OperationScope], Awaitable[Any]]
Revoke = Callable[[Exception], None]
Watch = Callable[[Any, GraphQLRequest, Revoke], AbstractAsyncContextManager[Any]]
OnConnect = Callable[[ConnectionInfo], Awaitable[bool | dict[str, Any]]]


@dataclass(frozen=True, kw_only=True)
class SocketSettings:
    """What both subprotocol handlers need besides the socket itself.

    ``on_connect`` returns False to refuse ``connection_init``, True to accept it, or
    a dict to accept it with that ``connection_ack`` payload.
    """

    schema: graphene.Schema
    context_factory: ContextFactory
    on_connect: OnConnect
    max_operations: int = 100
    limits: QueryLimits = field(default_factory=QueryLimits)
    # Identical read-only subscriptions of callers with the same access share one feed.
    shared: SharedFeeds | None = None
    access_key: Callable[[Any], Hashable] = lambda context: None
    # Watches what the operation's login allows; calls back to end it when that is lost.
    watch: Watch | None = None


class ResultSink(Protocol):
    """One protocol's words for the three things an operation can say."""

    async def send_result(self, operation_id: str, payload: dict[str, Any]) -> None: ...

    def send_result_now(self, operation_id: str, payload: EncodedPayload) -> bool:
        """``send_result`` without waiting, if the socket can take it now (else False)."""
        ...

    async def send_errors(self, operation_id: str, errors: Sequence[GraphQLError]) -> None: ...

    async def send_complete(self, operation_id: str) -> None: ...


def is_request_error(result: ExecutionResult) -> bool:
    """True when the operation never ran (parse or validation errors carry no path)."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


async def run_operation(
    scope: OperationScope,
    *,
    request: GraphQLRequest,
    connection: ConnectionInfo,
    settings: SocketSettings,
    sink: ResultSink,
) -> FinalMessage | None:
    """Execute ``request``, send its results and return the last message to send."""
    operation_id = scope.operation_id
    OPERATIONS.labels(protocol=connection.subprotocol).inc()
    try:
        # Measured before anything else, so a refused operation costs no database read.
        document = prepare_request(
            settings.schema, request, limits=settings.limits, budget=connection.budget
        )
        if isinstance(document, ExecutionResult):
            return partial(sink.send_errors, operation_id, document.errors or [])
        context = await settings.context_factory(connection, scope)
        watch = _watch(settings, context, request)
    except Exception as error:
        return partial(sink.send_errors, operation_id, [as_graphql_error(error)])
    # A plain ``async with`` rather than an exit stack: every subscription holds this
    # frame for as long as it runs, and a stack's deque was some 0.7 KiB of each.
    entered = False
    try:
        async with watch as watched:
            entered = True
            execution = _execute(document, request, context, settings, sink, operation_id)
            # A shared subscription keeps only the caller's access level (see ``_execute``).
            del context
            try:
                return await execution
            except asyncio.CancelledError:
                revoked = getattr(watched, "revoked", None)
                task = asyncio.current_task()
                # Only a cancellation the watch asked for, and nobody else's too, ends here.
                if revoked is None or task is None or task.uncancel() > 0:
                    raise
            await sink.send_result(
                operation_id, {"data": None, "errors": [format_error(as_graphql_error(revoked))]}
            )
            return partial(sink.send_complete, operation_id)
    except Exception as error:
        if entered:
            raise
        # Looking up what the watch needs failed: the operation never ran.
        return partial(sink.send_errors, operation_id, [as_graphql_error(error)])


def _watch(
    settings: SocketSettings, context: Any, request: GraphQLRequest
) -> AbstractAsyncContextManager[Any]:
    if settings.watch is None:
        return nullcontext(None)
    task = asyncio.current_task()
    assert task is not None

    def revoke(_error: Exception) -> None:
        task.cancel()

    return settings.watch(context, request, revoke)


async def _execute(
    document: DocumentNode,
    request: GraphQLRequest,
    context: Any,
    settings: SocketSettings,
    sink: ResultSink,
    operation_id: str,
) -> FinalMessage | None:
    try:
        if settings.shared is not None and settings.shared.can_share(request):
            access = settings.access_key(context)
            # The feed runs with a context of its own; this one (the caller's user row,
            # loaders) would otherwise stay for as long as the socket listens.
            del context
            with _subscription(document, request):
                deliver = partial(sink.send_result_now, operation_id)
                shared_results = _shared_results(settings, request, access, deliver)
                async with aclosing(shared_results) as results:
                    async for payload in results:
                        await sink.send_result(operation_id, payload)
            return partial(sink.send_complete, operation_id)
        result = await run_document(settings.schema, document, request, context)
        if isinstance(result, ExecutionResult):
            if is_request_error(result):
                return partial(sink.send_errors, operation_id, result.errors or [])
            await sink.send_result(operation_id, format_result(result))
            return partial(sink.send_complete, operation_id)
        with _subscription(document, request):
            async with aclosing(stream_in_task(result)) as stream:
                async for item in stream:
                    await sink.send_result(operation_id, format_result(item))
    except SocketClosed:
        return None
    except FeedError as error:
        return partial(sink.send_errors, operation_id, error.errors)
    except Exception as error:
        # Top of the operation: an error ends this operation, never the socket.
        return partial(sink.send_errors, operation_id, [as_graphql_error(error)])
    return partial(sink.send_complete, operation_id)


def _subscription(document: DocumentNode, request: GraphQLRequest) -> AbstractContextManager[None]:
    """Counts the running subscription under its first root field.

    The gauge's own tracker, not a generator around it: every subscription holds one.
    """
    field_name = root_field(document, request.operation_name)
    return SUBSCRIPTIONS_ACTIVE.labels(field=field_name).track_inprogress()


def root_field(document: DocumentNode, operation_name: str | None) -> str:
    """The operation's first root field: a label from the schema, never free text."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return ""
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            return selection.name.value
    return ""


def _shared_results(
    settings: SocketSettings,
    request: GraphQLRequest,
    access: Hashable,
    deliver: Callable[[EncodedPayload], bool],
) -> AsyncGenerator[EncodedPayload, None]:
    """The shared feed's results for ``request`` at ``access`` that ``deliver`` could not
    send at once (see ``Mailbox``).

    A plain function, so no coroutine frame of its own waits in every subscription.
    """
    shared = settings.shared
    assert shared is not None
    # The feed may outlive this caller; it checks the request again with no budget of its own.
    source = partial(prepare_and_run, settings, request)
    return shared.follow(request, access, source, deliver)


async def prepare_and_run(
    settings: SocketSettings, request: GraphQLRequest, context: Any
) -> ExecutionResult | AsyncIterator[ExecutionResult]:
    document = prepare_request(settings.schema, request, limits=settings.limits)
    if isinstance(document, ExecutionResult):
        return document
    return await run_document(settings.schema, document, request, context)


class InvalidPayload(ValueError):
    """An operation payload of the wrong shape; the message says which field."""


def request_from_payload(payload: object) -> GraphQLRequest:
    """Read ``{query, variables, operationName}`` as both subprotocols send it."""
    if not isinstance(payload, dict):
        raise InvalidPayload("payload must be an object")
    query = payload.get("query")
    variables = payload.get("variables")
    operation_name = payload.get("operationName")
    if not isinstance(query, str):
        raise InvalidPayload("payload.query must be a string")
    if variables is not None and not isinstance(variables, dict):
        raise InvalidPayload("payload.variables must be an object or null")
    if operation_name is not None and not isinstance(operation_name, str):
        raise InvalidPayload("payload.operationName must be a string or null")
    return GraphQLRequest(query=query, variables=variables, operation_name=operation_name)
