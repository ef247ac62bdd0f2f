"""FakeStreamPoint as a real UDP peer: OscClient -> fake -> OscServer, and each quirk."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest

from gencaster.streaming.osc import (
    FakeStreamPoint,
    OscClient,
    OscServer,
    run_fake_stream_point,
)
from gencaster.streaming.osc.fake_point import build_argument_parser, options_from_arguments
from gencaster.streaming.osc.messages import decode_message, encode_message
from tests.support.osc import UdpPeer

from .conftest import TIMEOUT, RecordingHandler

MakeFake = Callable[..., Awaitable[FakeStreamPoint]]
MakePeer = Callable[[], Awaitable[UdpPeer]]
CLEAN_SLATE = "0.01.wait;CmdPeriod.run;0.01.wait;"
QUIET = 0.2  # how long "never answers" is watched


def new_uuid() -> str:
    return str(uuid.uuid4())


async def test_beacons_reach_the_server_as_the_real_class_sends_them(
    make_fake_point: MakeFake, handler: RecordingHandler, osc_server: OscServer
) -> None:
    point = await make_fake_point(name="SC_7", janus_out_room=41, janus_in_room=42)
    await handler.wait_until(lambda: len(handler.beacons) == 1)
    host, beacon = handler.beacons[0]
    assert host == "127.0.0.1"
    assert beacon.name == "SC_7"
    assert beacon.lang_port == point.lang_port > 0
    assert (beacon.janus_out_room, beacon.janus_in_room) == (41, 42)
    assert beacon.janus_public_ip == "127.0.0.1"
    assert (beacon.osc_backend_host, beacon.osc_backend_port) == ("127.0.0.1", osc_server.port)
    assert beacon.use_input is False


async def test_a_beacon_without_janus_keys_is_still_accepted(
    make_fake_point: MakeFake, handler: RecordingHandler
) -> None:
    await make_fake_point(send_janus_keys=False)
    await handler.wait_until(lambda: len(handler.beacons) == 1)
    beacon = handler.beacons[0][1]
    assert (beacon.janus_out_room, beacon.janus_in_room, beacon.janus_public_ip) == (None,) * 3


async def test_beacon_wire_format_has_digit_string_rooms_and_uuid_zero(
    make_fake_point: MakeFake, make_peer: MakePeer
) -> None:
    peer = await make_peer()
    await make_fake_point(server_port=peer.port, janus_out_room=1234)
    datagram, _ = await peer.receive()
    address, args = decode_message(datagram)
    fields = dict(zip(args[::2], args[1::2], strict=True))
    assert address == "/beacon"
    assert fields["janus_out_room"] == "1234" and fields["janus_in_room"] == "1235"
    assert fields["uuid"] == 0 and fields["status"] == "BEACON"
    assert fields["use_input"] == 0
    assert next(iter(fields)) != "name"  # keys arrive in no particular order


async def test_beacons_repeat_and_beacon_sends_one_now(
    make_fake_point: MakeFake, handler: RecordingHandler
) -> None:
    point = await make_fake_point(beacon_interval=0.05)
    await handler.wait_until(lambda: len(handler.beacons) >= 3)
    slow = await make_fake_point(name="slow", beacon_interval=60)
    await slow.beacon()
    await handler.wait_until(lambda: sum(b.name == "slow" for _, b in handler.beacons) == 2)
    assert point.lang_port != slow.lang_port


async def test_an_instruction_is_received_then_finished(
    make_fake_point: MakeFake, handler: RecordingHandler, osc_client: OscClient
) -> None:
    point = await make_fake_point()
    instruction = new_uuid()
    osc_client.send_instruction("127.0.0.1", point.lang_port, instruction, "2", False)
    await handler.wait_until(lambda: "FINISHED" in handler.statuses(instruction))
    assert handler.statuses(instruction) == ["RECEIVED", "FINISHED"]
    received, finished = handler.acks_for(instruction)
    assert received.return_value is None and finished.return_value == "2"
    [got] = await point.wait_for_instructions(1, TIMEOUT)
    assert (got.uuid, got.code, got.manual_finish) == (instruction, "2", False)


async def test_finish_delay_holds_back_finished(
    make_fake_point: MakeFake, handler: RecordingHandler, osc_client: OscClient
) -> None:
    point = await make_fake_point(finish_delay=0.15)
    instruction = new_uuid()
    osc_client.send_instruction("127.0.0.1", point.lang_port, instruction, '"text"', False)
    await handler.wait_until(lambda: "FINISHED" in handler.statuses(instruction))
    waited = handler.ack_time(instruction, "FINISHED") - handler.ack_time(instruction, "RECEIVED")
    assert waited >= 0.1
    assert handler.acks_for(instruction)[-1].return_value == '"text"'


async def test_manual_finish_sends_finished_when_playback_ends(
    make_fake_point: MakeFake, handler: RecordingHandler, osc_client: OscClient
) -> None:
    point = await make_fake_point(manual_finish_delay=0.15)
    instruction = new_uuid()
    code = f'{{g.syncPlayBuffer("/data/a.wav", "{instruction}")}}'
    osc_client.send_instruction("127.0.0.1", point.lang_port, instruction, code, True)
    await handler.wait_until(lambda: "FINISHED" in handler.statuses(instruction))
    waited = handler.ack_time(instruction, "FINISHED") - handler.ack_time(instruction, "RECEIVED")
    assert waited >= 0.1
    assert handler.acks_for(instruction)[-1].return_value == "Buffer /data/a.wav finished playing"
    assert point.received[0].manual_finish is True


async def test_manual_finish_without_delay_waits_for_finish(
    make_fake_point: MakeFake, handler: RecordingHandler, osc_client: OscClient
) -> None:
    point = await make_fake_point(manual_finish_delay=None)
    instruction = new_uuid()
    osc_client.send_instruction("127.0.0.1", point.lang_port, instruction, "{}", True)
    await handler.wait_until(lambda: handler.statuses(instruction) == ["RECEIVED"])
    await asyncio.sleep(QUIET)
    assert handler.statuses(instruction) == ["RECEIVED"]
    await point.finish(instruction, "done")
    await handler.wait_until(lambda: "FINISHED" in handler.statuses(instruction))
    assert handler.acks_for(instruction)[-1].return_value == "done"


async def test_a_fresh_point_answers_twice_until_the_clean_slate(
    make_fake_point: MakeFake, handler: RecordingHandler, osc_client: OscClient
) -> None:
    point = await make_fake_point(duplicate_acks_until_clean_slate=True)
    first, slate, after = new_uuid(), new_uuid(), new_uuid()
    for instruction, code in [(first, "1"), (slate, CLEAN_SLATE), (after, "3")]:
        osc_client.send_instruction("127.0.0.1", point.lang_port, instruction, code, False)
    await handler.wait_until(lambda: "FINISHED" in handler.statuses(after))
    await asyncio.sleep(0.05)  # a duplicate would come right behind
    assert handler.statuses(first) == ["RECEIVED", "FINISHED"] * 2
    assert handler.statuses(slate) == ["RECEIVED", "FINISHED"] * 2
    assert handler.statuses(after) == ["RECEIVED", "FINISHED"]
    assert len(point.received) == 3


async def test_a_runtime_error_means_received_and_never_finished(
    make_fake_point: MakeFake, handler: RecordingHandler, osc_client: OscClient
) -> None:
    point = await make_fake_point(runtime_error_marker="BOOM")
    broken, fine = new_uuid(), new_uuid()
    osc_client.send_instruction("127.0.0.1", point.lang_port, broken, "1.BOOM", False)
    osc_client.send_instruction("127.0.0.1", point.lang_port, fine, "1", False)
    await handler.wait_until(lambda: "FINISHED" in handler.statuses(fine))
    await asyncio.sleep(QUIET)
    assert handler.statuses(broken) == ["RECEIVED"]
    assert any(broken in error for error in point.errors)


async def test_a_syntax_error_finishes_with_nil(
    make_fake_point: MakeFake, handler: RecordingHandler, osc_client: OscClient
) -> None:
    point = await make_fake_point(syntax_error_marker="(((")
    instruction = new_uuid()
    osc_client.send_instruction("127.0.0.1", point.lang_port, instruction, "2 + (((", False)
    await handler.wait_until(lambda: "FINISHED" in handler.statuses(instruction))
    assert handler.acks_for(instruction)[-1].return_value == "nil"


async def test_an_int_manual_finish_is_received_and_never_finished(
    make_fake_point: MakeFake, handler: RecordingHandler, make_peer: MakePeer
) -> None:
    point = await make_fake_point()
    peer = await make_peer()
    instruction = new_uuid()
    peer.send_raw(encode_message("/instruction", [instruction, "1", 0]), point.lang_port)
    await handler.wait_until(lambda: handler.statuses(instruction) == ["RECEIVED"])
    await asyncio.sleep(QUIET)
    assert handler.statuses(instruction) == ["RECEIVED"]
    assert point.received[0].manual_finish == 0
    assert any("Boolean" in error for error in point.errors)


async def test_unexpected_datagrams_are_recorded_as_errors(
    make_fake_point: MakeFake, make_peer: MakePeer
) -> None:
    point = await make_fake_point()
    peer = await make_peer()
    peer.send_raw(b"garbage", point.lang_port)
    peer.send_raw(encode_message("/other", ["x"]), point.lang_port)
    peer.send_raw(encode_message("/instruction", [new_uuid(), "1", False]), point.lang_port)
    await point.wait_for_instructions(1, TIMEOUT)  # loopback keeps order: the others came first
    assert len(point.errors) == 2
    assert len(point.received) == 1


async def test_wait_for_instructions_times_out_with_a_count(make_fake_point: MakeFake) -> None:
    point = await make_fake_point()
    with pytest.raises(TimeoutError, match="0 of 1 instructions"):
        await point.wait_for_instructions(1, 0.05)


async def test_close_cancels_pending_finishes_and_is_idempotent(
    make_fake_point: MakeFake, handler: RecordingHandler, osc_client: OscClient
) -> None:
    point = await make_fake_point(finish_delay=0.1)
    instruction = new_uuid()
    osc_client.send_instruction("127.0.0.1", point.lang_port, instruction, "1", False)
    await handler.wait_until(lambda: handler.statuses(instruction) == ["RECEIVED"])
    await point.close()
    await point.close()
    await asyncio.sleep(QUIET)
    assert handler.statuses(instruction) == ["RECEIVED"]
    with pytest.raises(RuntimeError, match="not running"):
        await point.finish(instruction)


async def test_run_fake_stream_point_runs_until_cancelled(
    osc_server: OscServer, handler: RecordingHandler
) -> None:
    task = asyncio.create_task(
        run_fake_stream_point(server_host="127.0.0.1", server_port=osc_server.port, name="cli")
    )
    await handler.wait_until(lambda: len(handler.beacons) == 1)
    assert handler.beacons[0][1].name == "cli"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_command_line_options_map_to_the_constructor() -> None:
    args = build_argument_parser().parse_args(
        ["--server-port", "7001", "--lang-port", "57121", "--no-janus-keys", "--duplicate-acks"]
    )
    options = options_from_arguments(args)
    assert options["server_port"] == 7001 and options["lang_port"] == 57121
    assert options["send_janus_keys"] is False
    assert options["duplicate_acks_until_clean_slate"] is True
    FakeStreamPoint(**options)  # every key is a constructor keyword


def test_like_sclang_turns_on_both_quirks_of_the_clean_slate() -> None:
    options = options_from_arguments(build_argument_parser().parse_args(["--like-sclang"]))
    assert options["duplicate_acks_until_clean_slate"] is True
    assert options["emulate_cmd_period"] is True
    FakeStreamPoint(**options)


async def test_the_emulated_cmd_period_kills_and_then_deafens_for_a_moment(
    make_fake_point: MakeFake, handler: RecordingHandler, osc_client: OscClient
) -> None:
    point = await make_fake_point(
        emulate_cmd_period=True, duplicate_acks_until_clean_slate=True, receiver_gap=0.3
    )
    slate, waiting = new_uuid(), new_uuid()
    for instruction, code in [(slate, CLEAN_SLATE), (waiting, '0.1.wait; "first".postln')]:
        osc_client.send_instruction("127.0.0.1", point.lang_port, instruction, code, False)
    await handler.wait_until(lambda: "FINISHED" in handler.statuses(slate))
    # Both responders received the reset; the first CmdPeriod killed the other's run.
    assert handler.statuses(slate) == ["RECEIVED", "RECEIVED", "FINISHED"]
    assert point.cmd_periods == 1
    assert set(point.killed) == {slate, waiting}
    deaf = new_uuid()  # the reset's FINISHED came 10 ms after the CmdPeriod: still deaf
    osc_client.send_instruction("127.0.0.1", point.lang_port, deaf, "1", False)
    await point.wait_for_drop(deaf, TIMEOUT)
    after = await _first_answered(point, handler, osc_client)
    assert handler.statuses(after) == ["RECEIVED", "FINISHED"]  # one responder now
    assert handler.statuses(deaf) == [] and handler.statuses(waiting) == ["RECEIVED"] * 2


async def _first_answered(
    point: FakeStreamPoint, handler: RecordingHandler, osc_client: OscClient
) -> str:
    """Send ``3`` again and again until the point answers one; that one's uuid."""
    for _ in range(200):
        instruction = new_uuid()
        osc_client.send_instruction("127.0.0.1", point.lang_port, instruction, "3", False)
        try:
            await handler.wait_until(lambda u=instruction: "FINISHED" in handler.statuses(u), 0.05)
        except TimeoutError:
            continue
        return instruction
    raise AssertionError("the point never listened again")
