"""OperationRegistry, OperationScope and TaskSet on their own: exactly once, owned, logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import graphene
import pytest
from graphql.execution import ExecutionResult, subscribe
from graphql.language import parse

from gencaster.tasks import TaskSet
from gencaster.transport.ws.closecodes import CloseCode, close_reason
from gencaster.transport.ws.registry import (
    DuplicateOperation,
    FinalMessage,
    OperationRegistry,
    OperationScope,
)
from gencaster.transport.ws.streams import stream_in_task


def blocking_runner(events: list[str]) -> Callable[[OperationScope], Awaitable[None]]:
    async def runner(scope: OperationScope) -> None:
        async def cleanup() -> None:
            events.append(f"cleanup {scope.operation_id}")

        scope.add_cleanup(cleanup)
        await asyncio.Event().wait()

    return runner


async def test_cancel_runs_cleanups_once_and_frees_the_id() -> None:
    events: list[str] = []
    registry = OperationRegistry()
    registry.start("a", blocking_runner(events))
    await asyncio.sleep(0)
    assert "a" in registry
    assert await registry.cancel("a") is True
    assert await registry.cancel("a") is False
    assert events == ["cleanup a"]
    assert len(registry) == 0 and registry.pending_tasks == 0


async def test_cancel_all_ends_every_operation_once() -> None:
    events: list[str] = []
    registry = OperationRegistry()
    for operation_id in "abc":
        registry.start(operation_id, blocking_runner(events))
    await asyncio.sleep(0)
    await registry.cancel_all()
    await registry.cancel_all()
    assert sorted(events) == ["cleanup a", "cleanup b", "cleanup c"]
    assert registry.pending_tasks == 0


async def test_a_live_id_cannot_be_started_twice() -> None:
    registry = OperationRegistry()
    registry.start("a", blocking_runner([]))
    with pytest.raises(DuplicateOperation):
        registry.start("a", blocking_runner([]))
    await registry.cancel_all()


async def test_the_final_message_comes_after_release_and_cleanups() -> None:
    registry = OperationRegistry()
    events: list[str] = []

    async def final() -> None:
        events.append(f"final, live={'a' in registry}")

    async def runner(scope: OperationScope) -> FinalMessage:
        async def cleanup() -> None:
            events.append("cleanup")

        scope.add_cleanup(cleanup)
        return final

    await registry.start("a", runner)
    assert events == ["cleanup", "final, live=False"]


async def test_a_cancelled_operation_sends_no_final_message() -> None:
    registry = OperationRegistry()
    sent: list[str] = []

    async def runner(scope: OperationScope) -> FinalMessage:
        await asyncio.Event().wait()

        async def final() -> None:  # pragma: no cover - never reached
            sent.append("final")

        return final

    registry.start("a", runner)
    await asyncio.sleep(0)
    await registry.cancel("a")
    assert sent == []


async def test_cancel_all_waits_for_operations_already_stopping() -> None:
    registry = OperationRegistry()
    finished = asyncio.Event()

    async def slow_cleanup_runner(scope: OperationScope) -> None:
        async def cleanup() -> None:
            await asyncio.sleep(0.05)
            finished.set()

        scope.add_cleanup(cleanup)
        await asyncio.Event().wait()

    registry.start("a", slow_cleanup_runner)
    await asyncio.sleep(0)
    stopping = asyncio.create_task(registry.cancel("a"))
    await asyncio.sleep(0)
    await registry.cancel_all()
    assert finished.is_set()
    await stopping


async def test_a_failing_runner_is_logged_and_leaves_the_registry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = OperationRegistry()

    async def runner(scope: OperationScope) -> None:
        raise RuntimeError("runner bug")

    with caplog.at_level(logging.ERROR):
        task = registry.start("a", runner)
        await asyncio.wait([task])
        await asyncio.sleep(0)
    assert "a" not in registry
    assert "runner bug" in caplog.text


async def test_scope_cleanups_run_newest_first_even_when_one_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    scope = OperationScope("op")
    events: list[str] = []

    async def first() -> None:
        events.append("first")

    async def broken() -> None:
        raise RuntimeError("cleanup bug")

    scope.add_cleanup(first)
    scope.add_cleanup(broken)
    with caplog.at_level(logging.ERROR):
        await scope.close()
        await scope.close()
    assert events == ["first"]
    assert "cleanup bug" in caplog.text
    with pytest.raises(RuntimeError):
        scope.add_cleanup(first)


async def test_task_set_logs_failures_and_cancels_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = TaskSet()

    async def fail() -> None:
        raise ValueError("helper bug")

    with caplog.at_level(logging.ERROR):
        failing = tasks.start(fail(), name="failing")
        await asyncio.wait([failing])
        await asyncio.sleep(0)
    assert "helper bug" in caplog.text
    waiting = tasks.start(asyncio.Event().wait(), name="waiting")
    assert len(tasks) == 1
    await tasks.cancel_all()
    assert waiting.cancelled() and len(tasks) == 0


async def test_cancel_all_that_is_itself_cancelled_still_cancels_each_task() -> None:
    tasks = TaskSet()
    release = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await release.wait()

    stubborn_task = tasks.start(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    closer = asyncio.create_task(tasks.cancel_all())
    await asyncio.sleep(0)
    closer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closer
    release.set()
    await asyncio.wait([stubborn_task])
    assert stubborn_task.cancelled()


class Query(graphene.ObjectType):
    ok = graphene.Boolean()


class Subscription(graphene.ObjectType):
    ticks = graphene.Int()

    async def subscribe_ticks(root: object, info: graphene.ResolveInfo) -> AsyncIterator[int]:
        try:
            yield 1
            await asyncio.Event().wait()
        finally:
            info.context.append(asyncio.current_task())


async def test_stream_in_task_runs_the_resolvers_finally_in_the_owning_task() -> None:
    schema = graphene.Schema(query=Query, subscription=Subscription)
    seen: list[asyncio.Task[object] | None] = []
    first_tick = asyncio.Event()

    async def consume() -> None:
        stream = await subscribe(
            schema.graphql_schema, parse("subscription { ticks }"), context_value=seen
        )
        assert not isinstance(stream, ExecutionResult)
        async for _ in stream_in_task(stream):
            first_tick.set()

    owner = asyncio.create_task(consume())
    await asyncio.wait_for(first_tick.wait(), 10)
    owner.cancel()
    await asyncio.wait([owner])
    assert seen == [owner]


def test_close_codes_are_the_graphql_ws_numbers() -> None:
    assert [int(code) for code in CloseCode] == [
        1000,
        1001,
        4400,
        4401,
        4403,
        4406,
        4408,
        4409,
        4429,
        4500,
    ]


def test_close_reasons_fit_a_close_frame() -> None:
    assert close_reason("short") == "short"
    long_reason = close_reason("é" * 200)
    assert len(long_reason.encode()) <= 123 and long_reason.endswith("...")
