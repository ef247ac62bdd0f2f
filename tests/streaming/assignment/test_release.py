"""Leaving: every way out decrements exactly once, and churn leaves every count at 0."""

from __future__ import annotations

import asyncio
import random
from contextlib import suppress

import pytest

from gencaster.streaming.assignment import Attachment, NoStreamAvailableError, StreamAssigner
from models import Graph, Stream, StreamAssignmentPolicy
from tests.streaming.assignment.conftest import (
    listened_points_are_exclusive,
    make_graph,
    make_points,
    totals,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_releasing_twice_decrements_once(db: str, assigner: StreamAssigner):
    graph = await make_graph(StreamAssignmentPolicy.ONE_GRAPH_ONE_STREAM)
    await make_points(1)
    first = await assigner.attach(graph)
    second = await assigner.attach(graph)
    assert await assigner.release(first) is True
    assert await assigner.release(first) is False
    assert (await Stream.get(uuid=first.stream.uuid)).num_listeners == 1
    results = await asyncio.gather(*(assigner.release(second) for _ in range(5)))
    assert sorted(results) == [False] * 4 + [True]
    assert await totals() == (0, 0)


async def test_a_cancelled_listener_releases_in_its_finally(db: str, assigner: StreamAssigner):
    graph = await make_graph(StreamAssignmentPolicy.ONE_USER_ONE_STREAM)
    await make_points(1)
    attached = asyncio.Event()

    async def listen() -> None:
        attachment = await assigner.attach(graph)
        try:
            attached.set()
            await asyncio.Event().wait()
        finally:
            await assigner.release(attachment)

    task = asyncio.create_task(listen())
    async with asyncio.timeout(5):
        await attached.wait()
    assert await totals() == (1, 1)
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
    assert await totals() == (0, 0)


async def test_cancelling_attach_midway_leaves_nothing_behind(db: str, assigner: StreamAssigner):
    graph = await make_graph(StreamAssignmentPolicy.ONE_GRAPH_ONE_STREAM)
    await make_points(3)
    for delay in (0, 0.0005, 0.001, 0.002, 0.005):
        task = asyncio.create_task(assigner.attach(graph))
        await asyncio.sleep(delay)
        task.cancel()
        with suppress(asyncio.CancelledError):
            attachment = await task
            await assigner.release(attachment)
        assert await totals() == (0, 0)


async def _listener(assigner: StreamAssigner, graph: Graph, rng: random.Random) -> None:
    """A listener: attach, listen a little, leave; a second release now and then."""
    try:
        attachment: Attachment = await assigner.attach(graph)
    except NoStreamAvailableError:
        return
    try:
        await asyncio.sleep(rng.uniform(0, 0.02))
    finally:
        await assigner.release(attachment)
        if rng.random() < 0.1:
            assert await assigner.release(attachment) is False


async def _watch_exclusive(violations: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        if not await listened_points_are_exclusive():
            violations.append(1)
        await asyncio.sleep(0.01)


async def test_a_thousand_random_joins_and_leaves_leave_every_count_at_zero(
    db: str, assigner: StreamAssigner
):
    rng = random.Random(20240601)
    graphs = [
        await make_graph(policy)
        for policy in (
            StreamAssignmentPolicy.ONE_GRAPH_ONE_STREAM,
            StreamAssignmentPolicy.ONE_GRAPH_ONE_STREAM,
            StreamAssignmentPolicy.ONE_USER_ONE_STREAM,
            StreamAssignmentPolicy.ONE_USER_ONE_STREAM,
        )
    ]
    await make_points(20)
    violations: list[int] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_exclusive(violations, stop))
    alive: set[asyncio.Task[None]] = set()
    cancelled = 0
    for _ in range(1000):
        task = asyncio.create_task(_listener(assigner, rng.choice(graphs), rng))
        alive.add(task)
        task.add_done_callback(alive.discard)
        if rng.random() < 0.4:  # an abrupt disconnect, at a random point of its life
            asyncio.get_running_loop().call_later(rng.uniform(0, 0.02), task.cancel)
            cancelled += 1
        if len(alive) >= 60:
            await asyncio.wait(alive, return_when=asyncio.FIRST_COMPLETED)
    async with asyncio.timeout(60):
        await asyncio.gather(*alive, return_exceptions=True)
    stop.set()
    await watcher
    assert cancelled > 300
    assert violations == []
    assert await totals() == (0, 0)
    assert await Stream.filter(num_listeners__lt=0).count() == 0
