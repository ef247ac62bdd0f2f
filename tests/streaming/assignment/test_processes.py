"""Attachments belong to a process: dead processes are reaped by live ones, exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from gencaster.distributor import GenCasterChannel
from gencaster.streaming.assignment import Attachment, StreamAssigner
from gencaster.streaming.processes import ProcessRegistry, utc_now
from models import ListenerAttachment, ServerProcess, Stream, StreamAssignmentPolicy
from tests.streaming.assignment.conftest import (
    BEACON_WINDOW_S,
    TIMEOUT,
    ProcessFactory,
    make_graph,
    make_points,
    totals,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Slow enough that no heartbeat runs during a test unless the test asks for it.
QUIET = {"heartbeat_interval": 60.0, "dead_after": 120.0}


def assigner_for(processes: ProcessRegistry, channel: GenCasterChannel) -> StreamAssigner:
    return StreamAssigner(processes=processes, channel=channel, beacon_window_s=BEACON_WINDOW_S)


async def stop_beating(process: ProcessRegistry) -> None:
    """The process died: its row is as old as a crash an hour ago."""
    old = utc_now() - timedelta(hours=1)
    await ServerProcess.filter(uuid=process.process_uuid).update(last_seen=old)


async def attach_many(assigner: StreamAssigner, graph: object, count: int) -> list[Attachment]:
    return [await assigner.attach(graph) for _ in range(count)]  # type: ignore[arg-type]


async def count_of(attachment: Attachment) -> int:
    return (await Stream.get(uuid=attachment.stream.uuid)).num_listeners


async def test_a_live_process_reaps_a_dead_one_and_nothing_else(
    db: str, make_process: ProcessFactory, channel: GenCasterChannel
):
    dead, live = await make_process(**QUIET), await make_process(**QUIET)
    dead_assigner, live_assigner = assigner_for(dead, channel), assigner_for(live, channel)
    shared = await make_graph(StreamAssignmentPolicy.ONE_GRAPH_ONE_STREAM)
    solo = await make_graph(StreamAssignmentPolicy.ONE_USER_ONE_STREAM)
    await make_points(5)
    dead_shared = await attach_many(dead_assigner, shared, 3)
    dead_solo = await attach_many(dead_assigner, solo, 2)
    live_shared = await attach_many(live_assigner, shared, 2)
    live_solo = await attach_many(live_assigner, solo, 1)
    assert await count_of(live_shared[0]) == 5

    await stop_beating(dead)
    assert await live.reap() == 5
    assert await count_of(live_shared[0]) == 2
    assert [await count_of(a) for a in dead_solo] == [0, 0]
    assert await count_of(live_solo[0]) == 1
    assert not await ServerProcess.exists(uuid=dead.process_uuid)
    assert await ListenerAttachment.filter(process_id=live.process_uuid).count() == 3
    assert await live.reap() == 0
    # The dead process's listeners were released once: their own release finds nothing.
    assert [await dead_assigner.release(a) for a in dead_shared + dead_solo] == [False] * 5
    assert await totals() == (3, 3)


async def test_a_process_never_reaps_itself(db: str, make_process: ProcessFactory, channel):
    process = await make_process(**QUIET)
    await make_points(1)
    await assigner_for(process, channel).attach(
        await make_graph(StreamAssignmentPolicy.ONE_USER_ONE_STREAM)
    )
    await stop_beating(process)
    assert await process.reap() == 0
    assert await totals() == (1, 1)


async def test_two_reapers_and_late_releases_decrement_each_listener_once(
    db: str, make_process: ProcessFactory, channel: GenCasterChannel
):
    dead = await make_process(**QUIET)
    reapers = [await make_process(**QUIET) for _ in range(2)]
    dead_assigner = assigner_for(dead, channel)
    shared = await make_graph(StreamAssignmentPolicy.ONE_GRAPH_ONE_STREAM)
    solo = await make_graph(StreamAssignmentPolicy.ONE_USER_ONE_STREAM)
    await make_points(6)
    held = await attach_many(dead_assigner, shared, 10) + await attach_many(dead_assigner, solo, 5)
    await stop_beating(dead)

    late = held[::3]  # some listeners of the dying process still release on their own
    results = await asyncio.gather(
        *(reaper.reap() for reaper in reapers for _ in range(3)),
        *(dead_assigner.release(a) for a in late),
    )
    reaped, released = results[:6], results[6:]
    assert sum(reaped) + sum(released) == len(held)
    assert await totals() == (0, 0)
    assert await ServerProcess.filter(uuid=dead.process_uuid).count() == 0


async def test_the_heartbeat_reaps_dead_processes(
    db: str, make_process: ProcessFactory, channel: GenCasterChannel
):
    dead = await make_process(**QUIET)
    await make_points(2)
    graph = await make_graph(StreamAssignmentPolicy.ONE_USER_ONE_STREAM)
    await attach_many(assigner_for(dead, channel), graph, 2)
    await stop_beating(dead)
    async with channel.subscribe(channel.STREAMS_CHANNEL) as updates:
        live = await make_process(heartbeat_interval=0.05, dead_after=1.0)
        before = (await ServerProcess.get(uuid=live.process_uuid)).last_seen
        async with asyncio.timeout(TIMEOUT):
            # The reap publishes one update per stream it released.
            await anext(updates)
            await anext(updates)
    assert await totals() == (0, 0)
    assert (await ServerProcess.get(uuid=live.process_uuid)).last_seen > before


async def test_closing_releases_this_process_listeners_only(
    db: str, make_process: ProcessFactory, channel: GenCasterChannel
):
    leaving, staying = await make_process(**QUIET), await make_process(**QUIET)
    graph = await make_graph(StreamAssignmentPolicy.ONE_GRAPH_ONE_STREAM)
    await make_points(1)
    leaving_assigner = assigner_for(leaving, channel)
    held = await attach_many(leaving_assigner, graph, 3)
    kept = await attach_many(assigner_for(staying, channel), graph, 2)
    await leaving.close()
    await leaving.close()
    assert await count_of(kept[0]) == 2
    assert not await ServerProcess.exists(uuid=leaving.process_uuid)
    assert await ServerProcess.exists(uuid=staying.process_uuid)
    assert [await leaving_assigner.release(a) for a in held] == [False] * 3
    with pytest.raises(RuntimeError):
        await leaving_assigner.attach(graph)
    assert await totals() == (2, 2)


async def test_a_process_reaped_while_alive_registers_again(
    db: str, make_process: ProcessFactory, channel: GenCasterChannel
):
    slow, other = await make_process(**QUIET), await make_process(**QUIET)
    slow_assigner = assigner_for(slow, channel)
    graph = await make_graph(StreamAssignmentPolicy.ONE_GRAPH_ONE_STREAM)
    await make_points(1)
    await slow_assigner.attach(graph)
    await stop_beating(slow)
    assert await other.reap() == 1
    # Its next attach (or heartbeat) brings the row back instead of failing.
    attachment = await slow_assigner.attach(graph)
    assert attachment.first_listener
    assert await ServerProcess.exists(uuid=slow.process_uuid)
    await stop_beating(slow)
    await slow.beat()
    row = await ServerProcess.get(uuid=slow.process_uuid)
    assert row.last_seen > utc_now() - timedelta(seconds=5)
    assert await totals() == (1, 1)


async def test_stream_changes_publish_streams_update(
    db: str, make_process: ProcessFactory, channel: GenCasterChannel
):
    dead, live = await make_process(**QUIET), await make_process(**QUIET)
    graph = await make_graph(StreamAssignmentPolicy.ONE_GRAPH_ONE_STREAM)
    await make_points(1)
    async with channel.subscribe(channel.STREAMS_CHANNEL) as updates:

        async def next_update() -> tuple[str, str]:
            async with asyncio.timeout(TIMEOUT):
                update = await anext(updates)
            return update.type, update.uuid

        attachment = await assigner_for(live, channel).attach(graph)
        expected = ("streams.update", str(attachment.stream.uuid))
        assert await next_update() == expected
        await assigner_for(live, channel).release(attachment)
        assert await next_update() == expected

        held = await assigner_for(dead, channel).attach(graph)
        assert await next_update() == ("streams.update", str(held.stream.uuid))
        await stop_beating(dead)
        assert await live.reap() == 1
        assert await next_update() == ("streams.update", str(held.stream.uuid))


async def test_closing_while_listeners_attach_leaves_no_count_behind(
    db: str, make_process: ProcessFactory, channel: GenCasterChannel
):
    process = await make_process(**QUIET)
    assigner = assigner_for(process, channel)
    shared = await make_graph(StreamAssignmentPolicy.ONE_GRAPH_ONE_STREAM)
    solo = await make_graph(StreamAssignmentPolicy.ONE_USER_ONE_STREAM)
    await make_points(30)
    attaching = [asyncio.create_task(assigner.attach(g)) for g in [shared, solo] * 20]
    await asyncio.sleep(0.01)
    await process.close()
    results = await asyncio.gather(*attaching, return_exceptions=True)
    assert all(isinstance(r, Attachment | RuntimeError) for r in results), results
    assert await totals() == (0, 0)


async def test_a_process_must_be_dead_for_longer_than_a_heartbeat(channel: GenCasterChannel):
    with pytest.raises(ValueError, match="dead_after"):
        ProcessRegistry(channel=channel, heartbeat_interval=5.0, dead_after=5.0)
