"""Instructions: recorded as SENT before they leave, acknowledged forward only (OSC.md)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

import pytest

from gencaster.distributor import GenCasterChannel
from gencaster.streaming.instructions import (
    HELD_ACK_WRITE_S,
    InstructionDispatcher,
    InstructionTimeout,
)
from gencaster.streaming.osc import Acknowledgement, FakeStreamPoint, OscClient, OscServer
from gencaster.streaming.osc.messages import ACKNOWLEDGE_ADDRESS
from models import InstructionState, StreamInstruction, StreamPoint
from tests.streaming.points.conftest import LOOPBACK, TIMEOUT, registered
from tests.support.osc import UdpPeer, acknowledge_datagram
from tests.support.polling import eventually
from tests.support.sql import recording_statements

MakeFake = Callable[..., Awaitable[FakeStreamPoint]]
MakePeer = Callable[[], Awaitable[UdpPeer]]


async def test_send_and_wait_returns_the_finished_row(
    make_fake_point: MakeFake, dispatcher: InstructionDispatcher
):
    fake = await make_fake_point()
    point = await registered(fake)
    row = await dispatcher.send_and_wait(point, "2", timeout=TIMEOUT)
    assert row.state == InstructionState.FINISHED
    assert row.return_value == "2"
    (received,) = await fake.wait_for_instructions(1, TIMEOUT)
    assert (received.uuid, received.code, received.manual_finish) == (str(row.uuid), "2", False)
    stored = await StreamInstruction.get(uuid=row.uuid)
    assert (stored.state, stored.return_value, stored.modified_date) == (
        row.state,
        row.return_value,
        row.modified_date,
    )


@pytest.mark.parametrize("return_value", [["return_value", "done"], []])
async def test_pending_yields_the_sent_row_and_waits_for_finished(
    return_value: list[str],
    osc_server: OscServer,
    make_peer: MakePeer,
    dispatcher: InstructionDispatcher,
):
    peer = await make_peer()
    point = await StreamPoint.create(host="127.0.0.1", port=peer.port)
    async with dispatcher.pending(point, "1") as pending:
        assert pending.instruction.state == InstructionState.SENT
        await peer.receive()
        args = ["uuid", str(pending.instruction.uuid), "status", "FINISHED", *return_value]
        peer.send(ACKNOWLEDGE_ADDRESS, args, osc_server.port)
        row = await pending.finished(TIMEOUT)
    assert pending.instruction.state == InstructionState.SENT  # what listeners were shown
    stored = await StreamInstruction.get(uuid=row.uuid)
    assert row.state == stored.state == InstructionState.FINISHED
    assert row.return_value == stored.return_value == ("done" if return_value else "")


async def test_manual_finish_waits_for_the_code_to_finish(
    make_fake_point: MakeFake, dispatcher: InstructionDispatcher
):
    fake = await make_fake_point(manual_finish_delay=0.1)
    point = await registered(fake)
    loop = asyncio.get_running_loop()
    started = loop.time()
    row = await dispatcher.send_and_wait(
        point,
        lambda own: f'{{g.syncPlayBuffer("/data/a.flac", "{own}")}}',
        manual_finish=True,
        timeout=TIMEOUT,
    )
    assert loop.time() - started >= 0.1
    assert row.state == InstructionState.FINISHED
    assert row.instruction_text == f'{{g.syncPlayBuffer("/data/a.flac", "{row.uuid}")}}'
    (received,) = await fake.wait_for_instructions(1, TIMEOUT)
    assert received.manual_finish is True


async def test_a_runtime_error_times_out_and_leaves_the_row_received(
    make_fake_point: MakeFake, dispatcher: InstructionDispatcher
):
    fake = await make_fake_point(runtime_error_marker="BOOM")
    point = await registered(fake)
    with pytest.raises(InstructionTimeout) as caught:
        await dispatcher.send_and_wait(point, "BOOM.value", timeout=0.3)
    row = await StreamInstruction.get(uuid=caught.value.instruction_uuid)
    assert row.state == InstructionState.RECEIVED


async def test_duplicate_acknowledgements_are_harmless(
    make_fake_point: MakeFake, dispatcher: InstructionDispatcher, channel: GenCasterChannel
):
    fake = await make_fake_point(duplicate_acks_until_clean_slate=True)
    point = await registered(fake)
    first = await dispatcher.send_and_wait(point, "1", timeout=TIMEOUT)
    second = await dispatcher.send_and_wait(
        point, "0.01.wait;CmdPeriod.run;0.01.wait;", timeout=TIMEOUT
    )
    third = await dispatcher.send_and_wait(point, "3", timeout=TIMEOUT)
    for row, value in ((first, "1"), (second, "nil"), (third, "3")):
        assert (row.state, row.return_value) == (InstructionState.FINISHED, value)
    assert await StreamInstruction.filter(stream_point_id=point.uuid).count() == 3


async def test_finished_overtaking_a_held_received_is_the_only_write(
    make_fake_point: MakeFake, dispatcher: InstructionDispatcher
):
    """The point answers RECEIVED and FINISHED at once: one write, and it stays FINISHED."""
    fake = await make_fake_point()
    point = await registered(fake)
    with recording_statements() as statements:
        row = await dispatcher.send_and_wait(point, "2", timeout=TIMEOUT)
        await asyncio.sleep(HELD_ACK_WRITE_S * 3)  # when a held RECEIVED would be written
    updates = [s for s in statements if s.startswith('UPDATE "stream_instruction"')]
    mine = [update for update in updates if str(row.uuid) in update]
    assert len(mine) == 1 and "FINISHED" in mine[0]
    stored = await StreamInstruction.get(uuid=row.uuid)
    assert (stored.state, stored.return_value) == (InstructionState.FINISHED, "2")


async def test_an_awaited_received_is_heard_at_once_and_written_while_finished_is_slow(
    make_fake_point: MakeFake, dispatcher: InstructionDispatcher
):
    fake = await make_fake_point(manual_finish_delay=None)  # FINISHED only when told
    point = await registered(fake)
    async with dispatcher.pending(point, "1", manual_finish=True) as pending:
        async with asyncio.timeout(TIMEOUT):
            assert await pending.acknowledged()
        uuid_ = pending.instruction.uuid

        async def stored_state() -> InstructionState:
            return (await StreamInstruction.get(uuid=uuid_)).state

        await eventually(lambda: _is(stored_state(), InstructionState.RECEIVED))
        await fake.finish(str(uuid_), "done")
        row = await pending.finished(TIMEOUT)
    assert (row.state, row.return_value) == (InstructionState.FINISHED, "done")
    assert await stored_state() == InstructionState.FINISHED


async def _is(value: Awaitable[object], expected: object) -> bool:
    return await value == expected


async def test_an_awaited_instruction_ignores_acknowledgements_from_elsewhere(
    db: str, make_peer: MakePeer, dispatcher: InstructionDispatcher
):
    peer = await make_peer()  # a point that never answers by itself
    point = await StreamPoint.create(host="127.0.0.1", port=peer.port)
    async with dispatcher.pending(point, "1") as pending:
        uuid_ = pending.instruction.uuid
        await dispatcher.acknowledge(Acknowledgement(uuid_, "FINISHED", "x"), "127.0.0.2")
        with pytest.raises(InstructionTimeout):
            await pending.finished(0.1)
    assert (await StreamInstruction.get(uuid=uuid_)).state == InstructionState.SENT


async def test_a_duplicate_is_published_once(
    db: str, make_peer: MakePeer, dispatcher: InstructionDispatcher, channel: GenCasterChannel
):
    peer = await make_peer()  # a point that never answers by itself
    point = await StreamPoint.create(host="127.0.0.1", port=peer.port)
    row = await dispatcher.send(point, "{}")
    # Acknowledged straight through the dispatcher: two FAILURE, one update for them.
    async with channel.subscribe(channel.instruction_channel(row.uuid)) as updates:
        ack = Acknowledgement(uuid=row.uuid, status="FAILURE", return_value="x")
        await dispatcher.acknowledge(ack, "127.0.0.1")
        await dispatcher.acknowledge(ack, "127.0.0.1")
        await dispatcher.acknowledge(Acknowledgement(row.uuid, "FINISHED", None), "127.0.0.1")
        async with asyncio.timeout(TIMEOUT):
            seen = [await anext(updates), await anext(updates)]
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await anext(updates)
    assert [u.data["state"] for u in seen] == ["FAILURE", "FINISHED"]
    stored = await StreamInstruction.get(uuid=row.uuid)
    assert (stored.state, stored.return_value) == (InstructionState.FINISHED, "x")


async def test_a_late_received_never_moves_finished_back(
    db: str,
    osc_server: OscServer,
    make_peer: MakePeer,
    dispatcher: InstructionDispatcher,
    channel: GenCasterChannel,
):
    peer = await make_peer()  # plays the stream point, answering by hand
    point = await StreamPoint.create(host="127.0.0.1", port=peer.port, name="manual")
    row = await dispatcher.send(point, "1")
    await peer.receive()
    async with channel.subscribe(channel.instruction_channel(row.uuid)) as updates:
        finished = ["return_value", "1", "status", "FINISHED", "uuid", str(row.uuid)]
        peer.send(ACKNOWLEDGE_ADDRESS, finished, osc_server.port)
        async with asyncio.timeout(TIMEOUT):
            assert (await anext(updates)).data["state"] == "FINISHED"
        for status in ("RECEIVED", "SUCCESS", "FINISHED"):
            late = ["status", status, "uuid", str(row.uuid), "return_value", "late"]
            peer.send(ACKNOWLEDGE_ADDRESS, late, osc_server.port)
        # Handler calls run concurrently: wait until the server has none left.
        await eventually(lambda: _no_pending(osc_server))
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await anext(updates)
    stored = await StreamInstruction.get(uuid=row.uuid)
    assert (stored.state, stored.return_value) == (InstructionState.FINISHED, "1")


async def test_finished_and_received_racing_always_end_finished(
    db: str, osc_server: OscServer, make_peer: MakePeer, dispatcher: InstructionDispatcher
):
    peer = await make_peer()
    point = await StreamPoint.create(host="127.0.0.1", port=peer.port)
    rows = [await dispatcher.send(point, f"{i}") for i in range(30)]
    for row in rows:  # FINISHED first, RECEIVED right behind it: handled concurrently
        peer.send(
            ACKNOWLEDGE_ADDRESS, ["uuid", str(row.uuid), "status", "FINISHED"], osc_server.port
        )
        peer.send(
            ACKNOWLEDGE_ADDRESS, ["uuid", str(row.uuid), "status", "RECEIVED"], osc_server.port
        )

    async def all_finished() -> bool:
        states = await StreamInstruction.filter(stream_point_id=point.uuid).values_list(
            "state", flat=True
        )
        return set(states) == {InstructionState.FINISHED}

    await eventually(all_finished)
    await eventually(lambda: _no_pending(osc_server))
    assert await all_finished()


async def _no_pending(server: OscServer) -> bool:
    await asyncio.sleep(0.05)  # let the last datagrams arrive before counting
    return server.pending == 0


async def test_sent_is_recorded_before_the_datagram_leaves(
    make_fake_point: MakeFake, dispatcher: InstructionDispatcher
):
    fake = await make_fake_point()  # answers RECEIVED and FINISHED at once
    point = await registered(fake)
    rows = await asyncio.gather(*(dispatcher.send(point, f"{i}") for i in range(100)))
    assert all(row.state == InstructionState.SENT for row in rows)
    await fake.wait_for_instructions(100, TIMEOUT)

    async def all_finished() -> bool:
        states = await StreamInstruction.filter(stream_point_id=point.uuid).values_list(
            "state", flat=True
        )
        return len(states) == 100 and set(states) == {InstructionState.FINISHED}

    await eventually(all_finished)


async def test_a_raw_point_sees_the_row_already_sent(
    db: str, make_peer: MakePeer, dispatcher: InstructionDispatcher
):
    peer = await make_peer()
    point = await StreamPoint.create(host="127.0.0.1", port=peer.port)
    row = await dispatcher.send(point, "1")
    await peer.receive()
    stored = await StreamInstruction.get(uuid=row.uuid)
    assert stored.state == InstructionState.SENT


async def test_an_unknown_uuid_is_logged_and_ignored(
    osc_server: OscServer,
    make_peer: MakePeer,
    make_fake_point: MakeFake,
    dispatcher: InstructionDispatcher,
    caplog: pytest.LogCaptureFixture,
):
    peer = await make_peer()
    stranger = uuid.uuid4()
    with caplog.at_level(logging.WARNING, logger="gencaster.streaming.instructions"):
        peer.send(
            ACKNOWLEDGE_ADDRESS, ["uuid", str(stranger), "status", "FINISHED"], osc_server.port
        )
        await eventually(lambda: _logged(caplog, str(stranger)))
    assert not await StreamInstruction.exists(uuid=stranger)
    # The server goes on working.
    point = await registered(await make_fake_point())
    row = await dispatcher.send_and_wait(point, "5", timeout=TIMEOUT)
    assert row.return_value == "5"


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    await asyncio.sleep(0)
    return any(text in record.getMessage() for record in caplog.records)


async def test_a_datagram_that_cannot_be_sent_leaves_no_row(
    db: str, dispatcher: InstructionDispatcher
):
    point = await StreamPoint.create(host="127.0.0.1", port=9)
    with pytest.raises(ValueError, match="over one UDP datagram"):
        await dispatcher.send(point, "x" * 70_000)
    with pytest.raises(ValueError, match="NUL"):
        await dispatcher.send(point, "a\0b")
    assert not await StreamInstruction.exists(stream_point_id=point.uuid)


async def test_each_dispatcher_has_its_own_budget_for_unknown_uuids(
    db: str,
    dispatcher: InstructionDispatcher,
    osc_client: OscClient,
    channel: GenCasterChannel,
    caplog: pytest.LogCaptureFixture,
):
    """A flood that exhausts one dispatcher's log budget leaves another's untouched."""
    with caplog.at_level(logging.WARNING, logger="gencaster.streaming.instructions"):
        for _ in range(100):
            await dispatcher.acknowledge(Acknowledgement(uuid.uuid4(), "FINISHED", None), LOOPBACK)
        flooded = len(caplog.records)
        stranger = uuid.uuid4()
        other = InstructionDispatcher(osc=osc_client, channel=channel)
        await other.acknowledge(Acknowledgement(stranger, "FINISHED", None), LOOPBACK)
    assert flooded < 100  # the flood itself was throttled ...
    assert str(stranger) in caplog.records[-1].getMessage()  # ... but not the next server


@pytest.mark.parametrize("raw", [b"gr\xfcn", b"gr\xc3"], ids=["latin-1", "utf-8-cut-short"])
async def test_a_return_value_that_is_not_utf8_still_finishes_the_instruction(
    raw: bytes,
    osc_server: OscServer,
    make_peer: MakePeer,
    dispatcher: InstructionDispatcher,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.INFO)
    peer = await make_peer()
    point = await StreamPoint.create(host="127.0.0.1", port=peer.port)
    async with dispatcher.pending(point, "1") as pending:
        await peer.receive()
        peer.send_raw(acknowledge_datagram(str(pending.instruction.uuid), raw), osc_server.port)
        row = await pending.finished(TIMEOUT)
    stored = await StreamInstruction.get(uuid=row.uuid)
    assert stored.state == InstructionState.FINISHED
    assert stored.return_value == "gr\ufffd" + ("n" if raw.endswith(b"n") else "")
    assert any("not UTF-8" in record.getMessage() for record in caplog.records)
