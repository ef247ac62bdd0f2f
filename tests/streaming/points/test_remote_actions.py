"""/remote/action: live coding from a performer, behind the OSC password (OSC.md)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise.timezone import now

from gencaster.media import MediaStore
from gencaster.streaming.instructions import InstructionDispatcher
from gencaster.streaming.osc import FakeStreamPoint, OscServer, RemoteAction
from gencaster.streaming.osc.messages import REMOTE_ACTION_ADDRESS
from gencaster.streaming.points import StreamPointHandler, buffer_player
from models import AudioFile, Graph, Stream, StreamInstruction, StreamLog, StreamPoint
from tests.streaming.points.conftest import PASSWORD, TIMEOUT, SpeechRecorder, registered
from tests.support.osc import UdpPeer
from tests.support.polling import eventually

MakeFake = Callable[..., Awaitable[FakeStreamPoint]]
MakePeer = Callable[..., Awaitable[UdpPeer]]


def action(cmd: str, *, password: str = PASSWORD, kind: str = "code", target: Any = None) -> list:
    args = ["protocol_version", "0.1", "action", kind, "password", password, "cmd", cmd]
    return args + (["target", target] if target is not None else [])


async def busy(point: StreamPoint, name: str) -> Stream:
    graph = await Graph.create(name=name, display_name=name, slug_name=name)
    return await Stream.create(stream_point=point, graph=graph, num_listeners=1)


async def test_code_reaches_the_point_in_the_target_room_only(
    osc_server: OscServer, make_fake_point: MakeFake, make_peer: MakePeer
):
    chosen = await make_fake_point(janus_out_room=501)
    other = await make_fake_point(janus_out_room=502)
    await registered(chosen), await registered(other)
    performer = await make_peer()
    performer.send(REMOTE_ACTION_ADDRESS, action("SinOsc.ar", target="501"), osc_server.port)
    (received,) = await chosen.wait_for_instructions(1, TIMEOUT)
    assert received.code == "SinOsc.ar"
    assert other.received == []
    point = await StreamPoint.get(port=chosen.lang_port)
    row = await StreamInstruction.get(uuid=received.uuid)
    assert row.stream_point_id == point.uuid
    log = await eventually(lambda: StreamLog.get_or_none(stream_point_id=point.uuid))
    assert log.origin == "remote_action" and "SinOsc.ar" in log.message


async def test_no_target_means_every_free_live_point(
    osc_server: OscServer, make_fake_point: MakeFake, make_peer: MakePeer
):
    free_one = await make_fake_point(janus_out_room=601)
    free_two = await make_fake_point(janus_out_room=602)
    taken = await make_fake_point(janus_out_room=603)
    for fake in (free_one, free_two):
        await registered(fake)
    await busy(await registered(taken), "taken-graph")
    gone = await make_peer()  # a point whose last beacon is older than the window
    await StreamPoint.create(host="127.0.0.1", port=gone.port, last_live=now() - timedelta(hours=1))
    performer = await make_peer()
    performer.send(REMOTE_ACTION_ADDRESS, action("Ndef(\\a).play"), osc_server.port)
    for fake in (free_one, free_two):
        (received,) = await fake.wait_for_instructions(1, TIMEOUT)
        assert received.code == "Ndef(\\a).play"
    with pytest.raises(TimeoutError):
        await gone.receive(within=0.2)
    assert taken.received == []


async def test_a_wrong_password_sends_nothing_and_is_logged_without_the_password(
    osc_server: OscServer,
    make_fake_point: MakeFake,
    make_peer: MakePeer,
    caplog: pytest.LogCaptureFixture,
):
    fake = await make_fake_point(janus_out_room=701)
    point = await registered(fake)
    performer = await make_peer()
    with caplog.at_level(logging.INFO):
        for wrong in ("guess-1", PASSWORD + "x", ""):
            performer.send(REMOTE_ACTION_ADDRESS, action("s.quit", password=wrong), osc_server.port)
        await eventually(lambda: _rejections(caplog, 3))
    assert fake.received == []
    assert not await StreamInstruction.exists(stream_point_id=point.uuid)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "guess-1" not in text and PASSWORD not in text


async def _rejections(caplog: pytest.LogCaptureFixture, count: int) -> bool:
    return sum("wrong password" in r.getMessage() for r in caplog.records) >= count


async def test_a_sender_guessing_passwords_is_ignored_even_with_the_right_one(
    osc_server: OscServer,
    make_fake_point: MakeFake,
    make_peer: MakePeer,
    caplog: pytest.LogCaptureFixture,
):
    fake = await make_fake_point(janus_out_room=702)
    await registered(fake)
    guesser = await make_peer("127.0.0.2")
    performer = await make_peer()
    with caplog.at_level(logging.INFO):
        for guess in range(50):
            guesser.send(REMOTE_ACTION_ADDRESS, action("1", password=f"g{guess}"), osc_server.port)
        guesser.send(REMOTE_ACTION_ADDRESS, action("guessed", target="702"), osc_server.port)
        performer.send(REMOTE_ACTION_ADDRESS, action("performed", target="702"), osc_server.port)
        (received,) = await fake.wait_for_instructions(1, TIMEOUT)
    assert received.code == "performed"
    messages = [record.getMessage() for record in caplog.records]
    assert sum(text.startswith("Rejected a remote") for text in messages) == 5
    assert any("127.0.0.2: too many wrong passwords" in text for text in messages)


async def test_an_empty_configured_password_turns_remote_actions_off(
    db: str, make_handler: Callable[..., StreamPointHandler], make_peer: MakePeer
):
    handler = make_handler(osc_password="")
    peer = await make_peer()
    await StreamPoint.create(host="127.0.0.1", port=peer.port, last_live=now())
    await handler.on_remote_action(
        "127.0.0.1", RemoteAction("0.1", "code", password="", cmd="1", target=None)
    )
    with pytest.raises(TimeoutError):
        await peer.receive(within=0.2)


async def test_speak_renders_once_and_plays_on_each_target(
    osc_server: OscServer, make_fake_point: MakeFake, make_peer: MakePeer, speech: SpeechRecorder
):
    one = await registered(await make_fake_point(janus_out_room=801))
    two = await registered(await make_fake_point(janus_out_room=802))
    performer = await make_peer()
    performer.send(REMOTE_ACTION_ADDRESS, action("Hallo *Welt*", kind="speak"), osc_server.port)
    await eventually(lambda: _played(speech, 2))
    assert speech.spoken == ["Hallo *Welt*"]
    assert {point.uuid for point, _ in speech.played} == {one.uuid, two.uuid}
    assert {audio for _, audio in speech.played} == {"audio of Hallo *Welt*"}


async def _played(speech: SpeechRecorder, count: int) -> bool:
    return len(speech.played) >= count


async def test_speak_without_speech_is_logged_and_does_nothing(
    db: str, make_handler: Callable[..., StreamPointHandler], caplog: pytest.LogCaptureFixture
):
    handler = make_handler(speak=None, play=None)
    await StreamPoint.create(host="127.0.0.1", port=9, last_live=now())
    with caplog.at_level(logging.WARNING, logger="gencaster.streaming.points"):
        await handler.on_remote_action(
            "127.0.0.1", RemoteAction("0.1", "speak", password=PASSWORD, cmd="hi", target=None)
        )
    assert "speech is not available" in caplog.text


async def test_live_and_free_queries(db: str):
    fresh = await StreamPoint.create(host="127.0.0.1", port=1, last_live=now())
    stale = await StreamPoint.create(
        host="127.0.0.1", port=2, last_live=now() - timedelta(minutes=2)
    )
    never = await StreamPoint.create(host="127.0.0.1", port=3)
    taken = await StreamPoint.create(host="127.0.0.1", port=4, last_live=now())
    await busy(taken, "queries-graph")
    # A stream without listeners does not make its point busy.
    idle_graph = await Graph.create(name="idle", display_name="idle", slug_name="idle")
    await Stream.create(stream_point=fresh, graph=idle_graph, num_listeners=0)
    live = {p.uuid for p in await StreamPoint.live(60)}
    free = {p.uuid for p in await StreamPoint.free_live(60)}
    assert live == {fresh.uuid, taken.uuid}
    assert free == {fresh.uuid}
    assert stale.uuid not in live and never.uuid not in live
    assert {p.uuid for p in await StreamPoint.live(600)} == {fresh.uuid, stale.uuid, taken.uuid}


async def test_the_buffer_player_plays_the_file_where_supercollider_sees_it(
    make_fake_point: MakeFake, dispatcher: InstructionDispatcher, tmp_path: Path
):
    fake = await make_fake_point()
    point = await registered(fake)
    audio = await AudioFile.create(file_path="speech/hallo welt.flac")
    play = buffer_player(dispatcher, MediaStore(root=tmp_path, sc_prefix="/data/"))
    await play(point, audio)
    (received,) = await fake.wait_for_instructions(1, TIMEOUT)
    assert received.code == '{g.playBuffer("/data/speech/hallo welt.flac")}'
    assert received.manual_finish is False
