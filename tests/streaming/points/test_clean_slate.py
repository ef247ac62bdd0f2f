"""The clean slate: the reset takes effect before anything else reaches the point."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gencaster.streaming.clean_slate import CleanSlate, ResetTiming
from gencaster.streaming.instructions import InstructionDispatcher
from gencaster.streaming.osc import FakeStreamPoint
from gencaster.supercollider import CLEAN_SLATE, PROBE
from models import InstructionState, StreamInstruction, StreamPoint
from tests.streaming.points.conftest import TIMEOUT, registered
from tests.support.osc import UdpPeer

MakeFake = Callable[..., Awaitable[FakeStreamPoint]]
MakePeer = Callable[[], Awaitable[UdpPeer]]


async def test_a_cell_sent_right_after_the_reset_is_killed_by_it(
    make_fake_point: MakeFake, dispatcher: InstructionDispatcher
):
    """What the handshake prevents: the fake's CmdPeriod kills a cell that came first."""
    # A slow CmdPeriod, so the cell surely arrives before it however busy the machine is.
    fake = await make_fake_point(
        emulate_cmd_period=True, duplicate_acks_until_clean_slate=True, cmd_period_after=0.3
    )
    point = await registered(fake)
    async with dispatcher.pending(point, CLEAN_SLATE) as reset:
        first = await dispatcher.send(point, '3.wait; "first".postln')
        await reset.finished(TIMEOUT)  # the reset sends it after its CmdPeriod
    assert fake.cmd_periods == 1
    assert str(first.uuid) in fake.killed
    assert (await StreamInstruction.get(uuid=first.uuid)).state == InstructionState.RECEIVED


async def test_the_handshake_waits_out_the_receiver_gap(
    make_fake_point: MakeFake, dispatcher: InstructionDispatcher
):
    # A gap far longer than the first probe interval: probes fall into it and are dropped.
    fake = await make_fake_point(
        emulate_cmd_period=True, duplicate_acks_until_clean_slate=True, receiver_gap=0.3
    )
    point = await registered(fake)
    outcome = await CleanSlate(dispatcher)(point)
    assert outcome.confirmed and outcome.reset_finished
    assert outcome.probes >= 2 and fake.dropped, outcome
    first = await dispatcher.send_and_wait(point, '0.1.wait; "first".postln', timeout=TIMEOUT)
    assert first.state == InstructionState.FINISHED
    codes = [instruction.code for instruction in fake.received]
    assert codes[0] == CLEAN_SLATE and codes[-1] == '0.1.wait; "first".postln'
    assert set(codes[1:-1]) == {PROBE}
    assert fake.cmd_periods == 1


async def test_only_probes_sent_after_the_reset_count(
    make_fake_point: MakeFake, dispatcher: InstructionDispatcher
):
    fake = await make_fake_point(emulate_cmd_period=True, duplicate_acks_until_clean_slate=True)
    point = await registered(fake)
    outcome = await CleanSlate(dispatcher)(point)
    assert outcome.confirmed, outcome
    probes = [i for i in fake.received if i.code == PROBE]
    reset_at = fake.received[0].received_at
    # Every probe reached the fake after the reset's CmdPeriod and its FINISHED.
    assert all(probe.received_at >= reset_at + 0.02 for probe in probes), probes


async def test_a_point_that_never_answers_is_given_up_on_within_the_bounds(
    db: str, make_peer: MakePeer, dispatcher: InstructionDispatcher
):
    peer = await make_peer()  # receives, never answers
    point = await StreamPoint.create(host="127.0.0.1", port=peer.port)
    timing = ResetTiming(settle_s=0.2, probe_timeout_s=0.3)
    outcome = await CleanSlate(dispatcher, timing)(point)
    assert not outcome.confirmed and not outcome.reset_finished
    assert outcome.probes >= 1
    rows = await StreamInstruction.filter(stream_point=point).values_list("state", flat=True)
    assert set(rows) == {InstructionState.SENT}
