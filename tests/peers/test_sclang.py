"""Walks on a real SuperCollider stream point: sclang running the original class, scsynth on JACK.

Marked ``peers`` and skipped unless ``GENCASTER_PEERS_SC_CLASS_DIR`` names the class
folder (the original project's ``caster-sound/GenCaster``) and ``sclang``, ``scsynth``
and ``jackd`` are installed (see tests/support/sclang.py and the README). Run with::

    GENCASTER_PEERS_SC_CLASS_DIR=/path/to/caster-sound/GenCaster \\
        .venv/bin/python -m pytest tests/peers -m peers -s

The figures printed (with ``-s``) are observations, not assertions.
"""

from __future__ import annotations

import socket
import time
import uuid
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

from gencaster.audio import import_audio_file
from gencaster.auth import create_user
from gencaster.cli import migrate_database
from gencaster.settings import Settings
from gencaster.streaming.listening import POINT_LOST
from gencaster.supercollider import CLEAN_SLATE, PROBE
from models import InstructionState, LogLevel, Stream, StreamInstruction, StreamLog, StreamPoint
from tests.support import sclang
from tests.support.builders import add_cells, add_door, add_graph, add_node, connect, default_door
from tests.support.graphql import GraphQLClient
from tests.support.polling import eventually
from tests.support.server import RunningServer, free_port, running_server
from tests.support.ws import GraphQLSocket, graphql_socket

pytestmark = [
    pytest.mark.peers,
    pytest.mark.skipif(sclang.missing() is not None, reason=str(sclang.missing())),
    pytest.mark.asyncio(loop_scope="session"),
]

PASSWORD = "peers-password-123"
BOOT_S = 60.0  # sclang compiles its class library, boots scsynth, then beacons
STREAM_INFO = """subscription($g: UUID!) { streamInfo(graphUuid: $g) {
  __typename
  ... on StreamInfo { stream { uuid } streamInstruction { uuid instructionText } }
  ... on Dialog { title }
  ... on NoStreamAvailable { error }
  ... on GraphDeadEnd { error } } }"""
SET_VARIABLE = """mutation($v: [StreamVariableInput!]!) {
  createUpdateStreamVariable(streamVariables: $v) { key } }"""
DIALOG_CELL = """\
yield Dialog(title="Ready?", content=[Input(key="answer", label="Answer")],
             buttons=[Button.ok(key="answer", value="yes")])
vars["heard"] = await wait_for_stream_variable("answer", timeout=60)
"""


@dataclass
class Peers:
    server: RunningServer
    point: sclang.ScPoint
    staff: GraphQLClient
    work: Path


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def peers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Peers]:
    data = tmp_path_factory.mktemp("sclang-server")
    settings = Settings(
        host="127.0.0.1",
        port=free_port(),
        data_dir=data,
        osc_host="127.0.0.1",
        osc_port=free_port(socket.SOCK_DGRAM),
        secret_key="peers",
        instruction_timeout_s=30.0,
        sc_media_prefix=f"{data / 'media'}/",  # sclang runs on this machine
    )
    await migrate_database(settings)
    async with (
        running_server(settings) as server,
        sclang.running_point("gencaster_peer", settings.osc_port) as point,
    ):
        await _beaconing(point)
        await create_user(username="peers", password=PASSWORD, is_staff=True)
        async with GraphQLClient(server.graphql_url) as staff:
            await staff.login("peers", PASSWORD)
            yield Peers(server, point, staff, point.work)


async def _beaconing(point: sclang.ScPoint) -> StreamPoint:
    return await eventually(
        lambda: StreamPoint.get_or_none(port=point.lang_port),
        within=BOOT_S,
        message=f"sclang never beaconed; its output:\n{point.output()[-3000:]}",
    )


async def _next(socket: GraphQLSocket, op: str, timeout: float = 60) -> dict:
    return (await socket.next_payload(op, timeout=timeout))["data"]["streamInfo"]


async def _walk(peers: Peers, graph_uuid: str, answer: str | None = None) -> tuple[str, list]:
    """Listen to the end; answer a dialog by setting ``answer``; (stream uuid, events)."""
    async with graphql_socket(peers.server.ws_url) as ws:
        op = await ws.subscribe(STREAM_INFO, {"g": graph_uuid})
        stream_uuid = (await _next(ws, op))["stream"]["uuid"]
        events = []
        while True:
            item = await _next(ws, op)
            events.append(item)
            if item["__typename"] == "Dialog" and answer is not None:
                variables = [{"streamUuid": stream_uuid, "key": "answer", "value": answer}]
                async with GraphQLClient(peers.server.graphql_url) as listener:
                    await listener.data(SET_VARIABLE, {"v": variables})
            if item["__typename"] == "GraphDeadEnd":
                return stream_uuid, events


async def _rows(stream_uuid: str) -> list[StreamInstruction]:
    """The instructions the stream sent to its point, oldest first."""
    stream = await Stream.get(uuid=stream_uuid)
    return await StreamInstruction.filter(
        stream_point_id=stream.stream_point_id, created_date__gte=stream.created_date
    ).order_by("created_date")


def _tone(path: Path, seconds: float = 0.4) -> Path:
    rate = 48000
    samples = (np.sin(np.arange(int(rate * seconds)) * 0.06) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.tobytes())
    return path


async def test_a_walk_through_every_cell_type(peers: Peers, tmp_path: Path):
    unique = uuid.uuid4().hex[:8]
    media = peers.server.services.media
    tone = await import_audio_file(_tone(tmp_path / "tone.wav"), media=media, name="tone")
    graph = await add_graph(peers.staff, unique)
    start = graph["nodes"][0]

    def audio(playback: str) -> dict:
        info = {"playback": playback, "volume": 0.5, "audioFile": {"uuid": str(tone.uuid)}}
        return {"cellType": "AUDIO", "cellCode": "", "audioCell": info}

    await add_cells(
        peers.staff,
        start["uuid"],
        [
            {"cellType": "SUPERCOLLIDER", "cellCode": f'"sc-cell-{unique}".postln;'},
            {"cellType": "MARKDOWN", "cellCode": "Hallo {var}`name|Welt`."},
            audio("SYNC_PLAYBACK"),
            audio("ASYNC_PLAYBACK"),
            {"cellType": "PYTHON", "cellCode": DIALOG_CELL},
        ],
    )
    door = await add_door(peers.staff, start["uuid"], name="yes", code="vars.get('heard') == 'yes'")
    yes = await add_node(peers.staff, graph["uuid"], "Yes")
    await add_cells(
        peers.staff,
        yes["uuid"],
        [{"cellType": "SUPERCOLLIDER", "cellCode": f'"yes-{unique}".postln;'}],
    )
    await connect(peers.staff, door, default_door(yes, "in"))
    stream_uuid, events = await _walk(peers, graph["uuid"], answer="yes")
    kinds = [event["__typename"] for event in events]
    assert kinds == ["StreamInfo"] * 4 + ["Dialog", "StreamInfo", "GraphDeadEnd"], kinds
    rows = await _rows(stream_uuid)
    cells = [row for row in rows if row.instruction_text not in (CLEAN_SLATE, PROBE)]
    assert [row.state for row in cells] == [InstructionState.FINISHED] * 5, cells
    speech, sync_play = cells[1], cells[2]
    # sclang answered the playbacks itself, once scsynth had played the files to their end.
    assert speech.return_value.startswith("Buffer ") and "finished playing" in speech.return_value
    assert tone.file_path in sync_play.return_value
    # What the cells posted, each on a line of its own (not the class's "Execute now" echo).
    await eventually(lambda: f"\nyes-{unique}\n" in peers.point.output(), message="no post")
    assert f"\nsc-cell-{unique}\n" in peers.point.output()


async def test_a_first_cell_that_waits_finishes_on_every_start(peers: Peers):
    unique = uuid.uuid4().hex[:8]
    first = f'0.1.wait; "first-{unique}".postln'
    graph = await add_graph(peers.staff, unique)
    cells = [
        {"cellType": "SUPERCOLLIDER", "cellCode": first},
        {"cellType": "SUPERCOLLIDER", "cellCode": "Synth(\\default).release(0.2); 1"},
    ]
    await add_cells(peers.staff, graph["nodes"][0]["uuid"], cells)
    starts, latencies = 5, []
    for _ in range(starts):
        stream_uuid, events = await _walk(peers, graph["uuid"])
        assert [event["__typename"] for event in events] == ["StreamInfo"] * 2 + ["GraphDeadEnd"]
        rows = await _rows(stream_uuid)
        texts = [row.instruction_text for row in rows]
        reset, cell = rows[texts.index(CLEAN_SLATE)], rows[texts.index(first)]
        assert cell.state == InstructionState.FINISHED  # not killed by the reset's CmdPeriod
        assert reset.state == InstructionState.FINISHED
        latencies.append((cell.created_date - reset.modified_date).total_seconds() * 1000)
        await eventually(lambda s=stream_uuid: _released(s), message="listener not released")
    print(f"\nreset FINISHED -> first cell sent, ms: {[round(v, 1) for v in latencies]}")


async def test_a_killed_point_ends_its_stream_and_is_assigned_again_once_back(peers: Peers):
    unique = uuid.uuid4().hex[:8]
    graph = await add_graph(peers.staff, unique)
    waits = f'20.wait; "late-{unique}".postln'
    await add_cells(
        peers.staff, graph["nodes"][0]["uuid"], [{"cellType": "SUPERCOLLIDER", "cellCode": waits}]
    )
    row = await _beaconing(peers.point)
    async with graphql_socket(peers.server.ws_url) as ws:
        op = await ws.subscribe(STREAM_INFO, {"g": graph["uuid"]})
        stream_uuid = (await _next(ws, op))["stream"]["uuid"]
        assert (await _next(ws, op))["streamInstruction"]["instructionText"] == waits
        await peers.point.stop()  # sclang and its scsynth are gone mid-cell
        killed = time.monotonic()
        end = await _next(ws, op, timeout=90)
        learned = time.monotonic() - killed
        assert end == {"__typename": "GraphDeadEnd", "error": POINT_LOST}
    await eventually(lambda: _released(stream_uuid), message="listener not released")
    async with graphql_socket(peers.server.ws_url) as ws:
        op = await ws.subscribe(STREAM_INFO, {"g": graph["uuid"]})
        assert (await _next(ws, op))["__typename"] == "NoStreamAvailable"
    await peers.point.start()  # the same ports again, as a restarted container would
    restarted = time.monotonic()
    window = peers.server.settings.beacon_window_s
    await eventually(lambda: _live(row.uuid, window), within=BOOT_S)
    back = time.monotonic() - restarted
    cells = [{"cellType": "SUPERCOLLIDER", "cellCode": f'"back-{unique}".postln'}]
    again = await add_graph(peers.staff, f"{unique}-again")
    await add_cells(peers.staff, again["nodes"][0]["uuid"], cells)
    stream_again, events = await _walk(peers, again["uuid"])
    assert (await Stream.get(uuid=stream_again)).stream_point_id == row.uuid
    assert [event["__typename"] for event in events] == ["StreamInfo", "GraphDeadEnd"]
    print(f"\nkilled -> listener told: {learned:.1f} s; restarted -> assignable: {back:.1f} s")


async def _released(stream_uuid: str) -> bool:
    return (await Stream.get(uuid=stream_uuid)).num_listeners == 0


async def _live(point_uuid: object, window: float) -> bool:
    return await StreamPoint.live(window).filter(uuid=point_uuid).exists()


async def test_a_run_time_error_is_reported_while_the_cell_waits(peers: Peers):
    unique = uuid.uuid4().hex[:8]
    graph = await add_graph(peers.staff, unique)
    cells = [
        {"cellType": "SUPERCOLLIDER", "cellCode": "1/nil;"},
        {"cellType": "SUPERCOLLIDER", "cellCode": f'"after-{unique}".postln;'},
    ]
    await add_cells(peers.staff, graph["nodes"][0]["uuid"], cells)
    stream_uuid, events = await _walk(peers, graph["uuid"])
    assert [event["__typename"] for event in events] == ["StreamInfo"] * 2 + ["GraphDeadEnd"]
    rows = [row for row in await _rows(stream_uuid) if row.instruction_text == "1/nil;"]
    assert [row.state for row in rows] == [InstructionState.RECEIVED]  # FINISHED never came
    logs = await StreamLog.filter(stream_id=stream_uuid).order_by("created_date")
    waiting = [log for log in logs if "still waits for FINISHED" in log.message]
    failed = [log for log in logs if log.message.startswith("Cell ") and " failed: " in log.message]
    assert [log.level for log in waiting] == [LogLevel.WARNING], [log.message for log in logs]
    assert "state RECEIVED" in waiting[0].message
    assert [log.level for log in failed] == [LogLevel.ERROR]
    assert waiting[0].created_date < failed[0].created_date
