"""Field execution that leaves nothing running once a request has its answer.

graphql-core 3.2 starts the fields of a selection (and the items of a list) side
by side. When one of them fails through a non-null type, the others are no longer
wanted, and graphql-core lets go of them: those it had only created are never
awaited (a warning, and a resolver that silently never ran), and those already
running go on in tasks of their own, reading the database after the client has
its answer. ``FieldExecution`` stops them (cancels and waits) before the error
travels on, and runs root mutation fields one after another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any, NoReturn, TypeVar

from graphql import GraphQLList, GraphQLOutputType, GraphQLResolveInfo
from graphql.error import located_error
from graphql.execution import ExecutionContext
from graphql.language import FieldNode
from graphql.pyutils import AwaitableOrValue, Path, Undefined, is_iterable
from graphql.type import GraphQLObjectType

T = TypeVar("T")


async def settle(awaitables: Sequence[Awaitable[T]]) -> list[T]:
    """Await ``awaitables`` together: their values in order, or the first error.

    On an error the others are cancelled and awaited before the error is raised.
    """
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        await _stop(tasks)
        raise


async def abandon(awaitables: Iterable[Awaitable[Any]], error: Exception) -> NoReturn:
    """Stop ``awaitables``, none of whose values is wanted any more, then raise ``error``."""
    await _stop([asyncio.ensure_future(awaitable) for awaitable in awaitables])
    raise error


async def _stop(tasks: Sequence[asyncio.Future[Any]]) -> None:
    # A coroutine cancelled before its first step never awaits the resolver
    # coroutine it holds, which then dies unawaited; one turn of the loop starts
    # every task, so the cancellation reaches the resolver and closes it.
    await asyncio.sleep(0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _fill(results: dict[str, Any], names: list[str]) -> dict[str, Any]:
    if len(names) == 1:  # no sibling to stop: spare the task
        results[names[0]] = await results[names[0]]
        return results
    results.update(zip(names, await settle([results[name] for name in names]), strict=True))
    return results


async def _fill_list(values: list[Any], indices: list[int]) -> list[Any]:
    if len(indices) == 1:
        values[indices[0]] = await values[indices[0]]
        return values
    completed = await settle([values[index] for index in indices])
    for index, value in zip(indices, completed, strict=True):
        values[index] = value
    return values


class FieldExecution(ExecutionContext):
    """Every field coroutine a request starts is finished or stopped before it answers."""

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        fields: dict[str, list[FieldNode]],
    ) -> AwaitableOrValue[dict[str, Any]]:
        results: dict[str, Any] = {}
        pending: list[str] = []
        for response_name, field_nodes in fields.items():
            field_path = Path(path, response_name, parent_type.name)
            try:
                result = self.execute_field(parent_type, source_value, field_nodes, field_path)
            except Exception as error:
                if not pending:
                    raise
                return abandon([results[name] for name in pending], error)
            if result is Undefined:
                continue
            results[response_name] = result
            if self.is_awaitable(result):
                pending.append(response_name)
        return _fill(results, pending) if pending else results

    def execute_fields_serially(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        fields: dict[str, list[FieldNode]],
    ) -> AwaitableOrValue[dict[str, Any]]:
        """Calls each root mutation only after the one before it has finished.

        graphql-core calls every root mutation resolver at once and awaits their
        coroutines in turn, so a failed one would leave the rest started; here a
        resolver is not called before its turn.
        """

        async def run_in_turn() -> dict[str, Any]:
            results: dict[str, Any] = {}
            for response_name, field_nodes in fields.items():
                field_path = Path(path, response_name, parent_type.name)
                result = self.execute_field(parent_type, source_value, field_nodes, field_path)
                if result is Undefined:
                    continue
                results[response_name] = await result if self.is_awaitable(result) else result
            return results

        return run_in_turn()

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> AwaitableOrValue[list[Any]]:
        if not is_iterable(result):
            # Not a list: graphql-core's error, or its async-iterable path, which
            # comes back here with the items in a list.
            return super().complete_list_value(return_type, field_nodes, info, path, result)
        item_type = return_type.of_type
        values: list[Any] = []
        pending: list[int] = []
        for index, item in enumerate(result):
            item_path = path.add_key(index, None)
            try:
                value = self._complete_item(item_type, field_nodes, info, item_path, item)
            except Exception as error:
                if not pending:
                    raise
                return abandon([values[i] for i in pending], error)
            if self.is_awaitable(value):
                pending.append(index)
            values.append(value)
        return _fill_list(values, pending) if pending else values

    def _complete_item(
        self,
        item_type: GraphQLOutputType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        item: Any,
    ) -> AwaitableOrValue[Any]:
        """One list item, or an awaitable of it; the error of a non-null item raises."""
        if self.is_awaitable(item):
            return self._await_item(item_type, field_nodes, info, path, item, complete=True)
        try:
            completed = self.complete_value(item_type, field_nodes, info, path, item)
        except Exception as error:
            self._item_error(error, item_type, field_nodes, path)
            return None
        if self.is_awaitable(completed):
            return self._await_item(item_type, field_nodes, info, path, completed, complete=False)
        return completed

    async def _await_item(
        self,
        item_type: GraphQLOutputType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        item: Awaitable[Any],
        *,
        complete: bool,
    ) -> Any:
        try:
            value = await item
            if complete:
                value = self.complete_value(item_type, field_nodes, info, path, value)
                if self.is_awaitable(value):
                    value = await value
            return value
        except Exception as error:
            self._item_error(error, item_type, field_nodes, path)
            return None

    def _item_error(
        self,
        error: Exception,
        item_type: GraphQLOutputType,
        field_nodes: list[FieldNode],
        path: Path,
    ) -> None:
        """Collects the error of a nullable item; raises that of a non-null one."""
        located = located_error(error, field_nodes, path.as_list())
        self.handle_field_error(located, item_type, path)
