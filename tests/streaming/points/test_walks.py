"""The saved walk: fenced writes, and an engine that resumes where a lost run stopped.

Real database (SQLite and PostgreSQL), real OSC server and a fake stream point over UDP.
"""

from __future__ import annotations

import uuid
from contextlib import aclosing
from typing import Any

import pytest

from gencaster.distributor import GenCasterChannel
from gencaster.engine.engine import Engine, EngineServices, InstructionSent, WalkLost, new_rng
from gencaster.media import MediaStore
from gencaster.stream_variables import StreamVariableService, VariableLimits
from gencaster.streaming.instructions import InstructionDispatcher
from gencaster.streaming.logs import StreamLogWriter
from gencaster.streaming.walks import StoredWalk
from models import (
    CellType,
    Graph,
    InstructionState,
    Node,
    ScriptCell,
    Stream,
    StreamInstruction,
    StreamPoint,
    StreamWalk,
)
from tests.streaming.points.conftest import registered
from tests.support.osc import MakeFake

CODES = ["1", "2", "3"]


async def _story(point: StreamPoint) -> tuple[Graph, Node, Stream]:
    unique = uuid.uuid4().hex[:8]
    graph = await Graph.create(name=f"g-{unique}", display_name="g", slug_name=f"g-{unique}")
    node = await Node.create(graph=graph, name="Start", is_entry_node=True)
    for order, code in enumerate(CODES):
        await ScriptCell.create(
            node=node, cell_order=order, cell_type=CellType.SUPERCOLLIDER, cell_code=code
        )
    stream = await Stream.create(stream_point=point, graph=graph, num_listeners=1)
    return graph, node, stream


async def _no_reset(point: StreamPoint) -> Any:
    raise AssertionError("a resumed walk must not reset its point")


def _services(dispatcher: InstructionDispatcher, channel: GenCasterChannel, tmp_path) -> Any:  # type: ignore[no-untyped-def]
    variables = StreamVariableService(
        channel=channel, limits=VariableLimits(max_per_stream=10, max_value_bytes=100)
    )
    return EngineServices(
        instructions=dispatcher,
        logs=StreamLogWriter(channel),
        media=MediaStore(tmp_path),
        variables=variables.of,
        reset=_no_reset,
        instruction_timeout=10.0,
    )


async def test_a_run_whose_walk_was_taken_over_can_no_longer_write_or_send(
    db: str, dispatcher: InstructionDispatcher
):
    point = await StreamPoint.create(host="127.0.0.1", port=9)
    _, _, stream = await _story(point)
    first = await StoredWalk.take(stream.uuid, dispatcher=dispatcher)
    assert first.clean_slate
    await first.reset_done()
    second = await StoredWalk.take(stream.uuid, dispatcher=dispatcher)
    assert second.fence == first.fence + 1
    assert not second.clean_slate
    with pytest.raises(WalkLost):
        await first.sending(uuid.uuid4())
    with pytest.raises(WalkLost):
        await first.guard()
    with pytest.raises(WalkLost):
        await first.cell_done(1, new_rng(1))
    await second.cell_done(2, new_rng(1))
    row = await StreamWalk.get(stream_id=stream.uuid)
    assert (row.fence, row.cell_index) == (second.fence, 2)


async def test_a_resumed_walk_does_not_send_again_what_the_lost_run_sent(
    db: str,
    dispatcher: InstructionDispatcher,
    channel: GenCasterChannel,
    make_fake_point: MakeFake,
    tmp_path,  # type: ignore[no-untyped-def]
):
    fake = await make_fake_point()
    point = await registered(fake)
    graph, node, stream = await _story(point)
    lost = await StoredWalk.take(stream.uuid, dispatcher=dispatcher)
    rng = new_rng(7)
    await lost.entered(node.uuid, 1, rng, {str(node.uuid): 1})
    await lost.cell_done(1, rng)  # the first cell was done, the second one sent:
    sent = await dispatcher.send_and_wait(point, CODES[1], timeout=10, before_send=lost.sending)
    assert sent.state == InstructionState.FINISHED
    expected_draw = new_rng(7)  # the generator goes on from its saved state
    expected_draw.setstate(rng.getstate())

    walk = await StoredWalk.take(stream.uuid, dispatcher=dispatcher)
    engine_rng = new_rng(99)
    engine = Engine(
        graph=graph,
        stream=stream,
        point=point,
        services=_services(dispatcher, channel, tmp_path),
        clean_slate=walk.clean_slate,
        rng=engine_rng,
        walk=walk,
    )
    events = []
    async with aclosing(engine.run()) as run:
        async for event in run:
            events.append(event)
    codes = [i.code for i in fake.received]
    assert codes == [CODES[1], CODES[2]]  # the second cell once, then the third
    sent_now = [e.instruction.instruction_text for e in events if isinstance(e, InstructionSent)]
    assert sent_now == [CODES[2]]
    assert engine_rng.random() == expected_draw.random()
    assert (await Stream.get(uuid=stream.uuid)).node_visits == {str(node.uuid): 1}
    row = await StreamWalk.get(stream_id=stream.uuid)
    assert row.ended and row.fence == walk.fence
    assert await StreamInstruction.filter(stream_point_id=point.uuid).count() == 2


async def test_a_finished_cell_rides_on_the_next_send_and_a_resume_goes_on_after_it(
    db: str, dispatcher: InstructionDispatcher, make_fake_point: MakeFake
):
    """One write fewer between FINISHED and the next send, and nothing run twice."""
    fake = await make_fake_point()
    point = await registered(fake)
    _, node, stream = await _story(point)
    walk = await StoredWalk.take(stream.uuid, dispatcher=dispatcher)
    rng = new_rng(3)
    await walk.entered(node.uuid, 1, rng, {str(node.uuid): 1})
    first = await dispatcher.send_and_wait(point, CODES[0], timeout=10, before_send=walk.sending)
    await walk.cell_done(1, rng)  # sent an instruction, drew nothing: not written yet
    row = await StreamWalk.get(stream_id=stream.uuid)
    assert (row.cell_index, row.instruction_uuid) == (0, first.uuid)
    second = await dispatcher.send_and_wait(point, CODES[1], timeout=10, before_send=walk.sending)
    row = await StreamWalk.get(stream_id=stream.uuid)  # written with the second send
    assert (row.cell_index, row.instruction_uuid) == (1, second.uuid)
    rng.random()  # a cell that draws a number is written at once
    await walk.cell_done(2, rng)
    row = await StreamWalk.get(stream_id=stream.uuid)
    assert (row.cell_index, row.instruction_uuid) == (2, None)
