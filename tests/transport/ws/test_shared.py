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
