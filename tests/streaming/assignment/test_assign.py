"""Assigning streams: exclusive free points, one shared stream per graph, live points only."""

from __future__ import annotations

import asyncio

import pytest

from gencaster.streaming.assignment import Attachment, NoStreamAvailableError, StreamAssigner
from models import Stream, StreamAssignmentPolicy, StreamPoint
from tests.streaming.assignment.conftest import (
    make_graph,
    make_points,
    totals,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

ONE_USER = StreamAssignmentPolicy.ONE_USER_ONE_STREAM
ONE_GRAPH = StreamAssignmentPolicy.ONE_GRAPH_ONE_STREAM


async def test_fifty_listeners_at_once_get_fifty_different_points(
    db: str, assigner: StreamAssigner
):
    graph = await make_graph(ONE_USER)
    points = await make_points(50)
    attachments = await asyncio.gather(*(assigner.attach(graph) for _ in range(50)))
    taken = {a.stream.stream_point_id for a in attachments}
    assert taken == {p.uuid for p in points}
    assert all(a.first_listener and a.stream.num_listeners == 1 for a in attachments)
    with pytest.raises(NoStreamAvailableError):
        await assigner.attach(graph)
    assert await totals() == (50, 50)


async def test_two_graphs_racing_for_points_never_share_one(db: str, assigner: StreamAssigner):
    shared = await make_graph(ONE_GRAPH)
    solo = await make_graph(ONE_USER)
    await make_points(10)
    results = await asyncio.gather(
        *(assigner.attach(graph) for graph in [shared] * 10 + [solo] * 10),
        return_exceptions=True,
    )
    assert all(isinstance(r, Attachment | NoStreamAvailableError) for r in results), results
    together = [r for r in results[:10] if isinstance(r, Attachment)]
    assert len({a.stream.uuid for a in together}) <= 1
    # Twenty listeners want ten points: every point is taken, none twice.
    points = await Stream.filter(num_listeners__gt=0).values_list("stream_point_id", flat=True)
    assert len(points) == len(set(points)) == 10
    attached = sum(isinstance(r, Attachment) for r in results)
    assert await totals() == (attached, attached)


async def test_thirty_listeners_of_one_graph_share_one_stream(db: str, assigner: StreamAssigner):
    graph = await make_graph(ONE_GRAPH)
    await make_points(5)
    attachments = await asyncio.gather(*(assigner.attach(graph) for _ in range(30)))
    assert len({a.stream.uuid for a in attachments}) == 1
    assert sum(a.first_listener for a in attachments) == 1
    stream = await Stream.get(uuid=attachments[0].stream.uuid)
    assert stream.num_listeners == 30
    assert await Stream.filter(graph_id=graph.uuid).count() == 1

    released = await asyncio.gather(*(assigner.release(a) for a in attachments))
    assert all(released)
    await stream.refresh_from_db()
    assert stream.num_listeners == 0
    again = await assigner.attach(graph)
    assert again.first_listener
    assert again.stream.uuid != stream.uuid
    assert await totals() == (1, 1)


async def test_a_listener_joins_the_stream_already_playing(db: str, assigner: StreamAssigner):
    graph = await make_graph(ONE_GRAPH)
    await make_points(3)
    first = await assigner.attach(graph)
    second = await assigner.attach(graph)
    assert first.first_listener and not second.first_listener
    assert second.stream.uuid == first.stream.uuid
    assert second.stream.num_listeners == 2


async def test_a_stream_on_a_dead_point_is_not_joined(db: str, assigner: StreamAssigner):
    graph = await make_graph(ONE_GRAPH)
    [old] = await make_points(1)
    first = await assigner.attach(graph)
    assert first.stream.stream_point_id == old.uuid
    await StreamPoint.filter(uuid=old.uuid).update(last_live=None)
    with pytest.raises(NoStreamAvailableError):
        await assigner.attach(graph)
    [other] = await make_points(1)
    second = await assigner.attach(graph)
    assert second.first_listener and second.stream.stream_point_id == other.uuid


async def test_dead_points_are_never_chosen(db: str, assigner: StreamAssigner):
    graph = await make_graph(ONE_USER)
    await make_points(5, age_s=3600)
    await make_points(5, age_s=None)
    with pytest.raises(NoStreamAvailableError):
        await assigner.attach(graph)
    [live] = await make_points(1, age_s=1)
    attachment = await assigner.attach(graph)
    assert attachment.stream.stream_point_id == live.uuid
    with pytest.raises(NoStreamAvailableError):
        await assigner.attach(graph)


async def test_a_point_is_free_again_once_its_listeners_left(db: str, assigner: StreamAssigner):
    graph = await make_graph(ONE_USER)
    [point] = await make_points(1)
    first = await assigner.attach(graph)
    await assigner.release(first)
    second = await assigner.attach(graph)
    assert second.stream.stream_point_id == point.uuid
    assert second.first_listener and second.stream.uuid != first.stream.uuid


async def test_a_deactivated_graph_gets_no_stream(db: str, assigner: StreamAssigner):
    graph = await make_graph(StreamAssignmentPolicy.DEACTIVATE)
    await make_points(3)
    with pytest.raises(NoStreamAvailableError, match="deactivated"):
        await assigner.attach(graph)
    assert await totals() == (0, 0)
