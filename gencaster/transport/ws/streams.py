"""Subscription results as an operation or a shared feed consumes them.

Both ``operation`` and ``shared`` step result streams and wrap their errors the same
way, so the helpers live below both of them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, aclosing, nullcontext
from inspect import isawaitable
from typing import Any, cast

from graphql.error import GraphQLError
from graphql.execution import ExecutionResult, MapAsyncIterator


def as_graphql_error(error: Exception) -> GraphQLError:
    """Wrap an exception from a subscription stream; format_error masks unknown ones."""
    if isinstance(error, GraphQLError):
        return error
    return GraphQLError(str(error), original_error=error)


async def _mapped(
    source: AsyncIterator[Any], callback: Callable[[Any], Any]
) -> AsyncGenerator[ExecutionResult, None]:
    closing: AbstractAsyncContextManager[object] = (
        aclosing(cast("AsyncGenerator[Any, None]", source))
        if hasattr(source, "aclose")  # graphql-core's iterators close, but are no generators
        else nullcontext(source)
    )
    async with closing:
        async for payload in source:
            result = callback(payload)
            yield await result if isawaitable(result) else result


def stream_in_task(stream: AsyncIterator[ExecutionResult]) -> AsyncGenerator[ExecutionResult]:
    """Step the resolver's source stream in the calling task.

    graphql-core's ``MapAsyncIterator`` runs each step of the source in a new task, so
    a cancelled subscription would run the resolver's ``finally`` in that helper task,
    after its owner had already gone. Mapping here keeps it in the operation task.
    """
    if isinstance(stream, MapAsyncIterator):
        return _mapped(stream.iterator, stream.callback)
    return _mapped(stream, lambda result: result)
