"""Shared feeds on their own: a feed's context, its task's owner and its end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from typing import Any

from graphql.execution import ExecutionResult

from gencaster.transport.execution import GraphQLRequest
from gencaster.transport.ws.shared import SharedFeeds

REQUEST = GraphQLRequest(query="subscription { counter }")


class Recorder:
    """A subscription source that records the context it ran with and its own end."""

    def __init__(self) -> None:
        self.contexts: list[Any] = []
        self.ended = 0

    async def source(self, context: Any) -> AsyncIterator[ExecutionResult]:
        self.contexts.append(context)
        return self._results()

    async def _results(self) -> AsyncIterator[ExecutionResult]:
        try:
            yield ExecutionResult(data={"counter": 1})
            await asyncio.Event().wait()
        finally:
            self.ended += 1


async def context_for(access: Hashable) -> dict[str, Hashable]:
    return {"built for": access}


async def test_a_feed_runs_with_a_context_built_for_its_access_level() -> None:
    recorder = Recorder()
    shared = SharedFeeds(frozenset({"counter"}), context_for=context_for)
    first = shared.follow(REQUEST, "staff", recorder.source)
    assert await anext(first) == {"data": {"counter": 1}}
    second = shared.follow(REQUEST, "staff", recorder.source)
    assert await anext(second) == {"data": {"counter": 1}}
    await first.aclose()
    await second.aclose()
    # One execution for both, never with either subscriber's own context.
    assert recorder.contexts == [{"built for": "staff"}]


async def test_the_last_subscriber_to_leave_waits_until_the_feed_has_ended() -> None:
    recorder = Recorder()
    shared = SharedFeeds(frozenset({"counter"}), context_for=context_for)
    first = shared.follow(REQUEST, None, recorder.source)
    second = shared.follow(REQUEST, None, recorder.source)
    await anext(first)
    await anext(second)
    [feed] = shared.feeds.values()
    await first.aclose()
    assert recorder.ended == 0 and feed.running
    await second.aclose()
    assert recorder.ended == 1
    assert feed.task is not None and feed.task.done()
    assert shared.feeds == {}


async def test_close_ends_every_feed_and_its_subscribers() -> None:
    recorder = Recorder()
    shared = SharedFeeds(frozenset({"counter"}), context_for=context_for)
    follower = shared.follow(REQUEST, None, recorder.source)
    await anext(follower)
    await shared.close()
    assert recorder.ended == 1
    assert [item async for item in follower] == []


class Counter:
    """A subscription source that yields 1..n whenever the test says so."""

    def __init__(self) -> None:
        self.go = asyncio.Queue[int]()

    async def source(self, context: Any) -> AsyncIterator[ExecutionResult]:
        return self._results()

    async def _results(self) -> AsyncIterator[ExecutionResult]:
        while True:
            yield ExecutionResult(data={"counter": await self.go.get()})


class Socket:
    """A ``deliver`` that takes frames at once, but refuses the next ``refusals`` ones."""

    def __init__(self) -> None:
        self.refusals = 0
        self.written: list[int] = []

    def deliver(self, payload: Any) -> bool:
        if self.refusals:
            self.refusals -= 1
            return False
        self.written.append(payload["data"]["counter"])
        return True


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_results_a_socket_can_take_at_once_never_wake_its_task() -> None:
    counter, socket = Counter(), Socket()
    shared = SharedFeeds(frozenset({"counter"}), context_for=context_for)
    follower = shared.follow(REQUEST, None, counter.source, socket.deliver)
    waiting = asyncio.ensure_future(anext(follower))
    for value in range(1, 4):
        counter.go.put_nowait(value)
        await _settle()
    assert socket.written == [1, 2, 3]
    assert not waiting.done()  # nothing was left for the subscriber's task
    waiting.cancel()
    await shared.close()


async def test_once_a_result_waits_every_later_one_waits_behind_it_in_order() -> None:
    counter, socket = Counter(), Socket()
    shared = SharedFeeds(frozenset({"counter"}), context_for=context_for)
    follower = shared.follow(REQUEST, None, counter.source, socket.deliver)
    taken: list[int] = []

    async def subscriber_task() -> None:
        # Like the operation's task: what it takes is written in the same step.
        async for payload in follower:
            taken.append(payload["data"]["counter"])
            socket.written.append(payload["data"]["counter"])

    task = asyncio.ensure_future(subscriber_task())
    counter.go.put_nowait(1)
    await _settle()
    socket.refusals = 1  # a send under way, or a reader that fell behind
    counter.go.put_nowait(2)
    counter.go.put_nowait(3)  # could go at once, but 2 is still in the mailbox
    await _settle()
    counter.go.put_nowait(4)  # nothing waits any more: straight to the socket
    await _settle()
    assert socket.written == [1, 2, 3, 4]
    assert taken == [2, 3]
    task.cancel()
    await shared.close()


async def test_a_feed_with_many_subscribers_lets_the_loop_run_while_it_publishes() -> None:
    counter = Counter()
    shared = SharedFeeds(frozenset({"counter"}), context_for=context_for)
    sockets = [Socket() for _ in range(2000)]
    followers = [shared.follow(REQUEST, None, counter.source, s.deliver) for s in sockets]
    waiters = [asyncio.ensure_future(anext(follower)) for follower in followers]
    await _settle()
    turns = 0

    async def count_turns() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    counting = asyncio.ensure_future(count_turns())
    counter.go.put_nowait(1)
    for _ in range(100_000):
        if all(socket.written for socket in sockets):
            break
        await asyncio.sleep(0)
    counting.cancel()
    assert turns >= 2000 // 256  # other tasks ran between the slices
    assert all(socket.written == [1] for socket in sockets)
    for waiter in waiters:
        waiter.cancel()
    await shared.close()
