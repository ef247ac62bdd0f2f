"""Markdown and audio cells on a stream: speech is synthesised, stored and played."""

from __future__ import annotations

import asyncio
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from gencaster.audio import import_audio_file
from gencaster.supercollider import CLEAN_SLATE, PROBE
from models import StreamVariable
from tests.flows.listening.conftest import FakeFactory
from tests.flows.listening.test_listening_flow import STREAM_INFO, staff_client, wait_for_point
from tests.support.builders import add_cells, add_graph
from tests.support.server import RunningServer
from tests.support.ws import graphql_socket

pytestmark = pytest.mark.asyncio(loop_scope="session")

MARKDOWN = """# Willkommen

Hallo {var}`name|Welt`, das ist {chars}`ABC` {break}`300ms` und {moderate}`wichtig`.
{male}`Eine tiefe Stimme` und {female}`eine hohe Stimme`. {raw_ssml}`<break time="200ms"/>`
Eins und eins ist {python}`1 + 1`. {python_exec}`vars['gelesen'] = 'ja'` {unknown}`bleibt`
"""

SYNC_PLAY = re.compile(
    r'^\{g\.syncPlayBuffer\("/data/(?P<path>[^"]+)", "(?P<uuid>[0-9a-f-]{36})"\)\}$'
)
ASYNC_PLAY = re.compile(r'^\{g\.playBuffer\("/data/(?P<path>[^"]+)"\)\}$')


def write_tone(path: Path, seconds: float = 0.5) -> None:
    rate = 22050
    samples = (np.sin(np.arange(int(rate * seconds)) * 0.05) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.tobytes())


async def test_markdown_and_audio_cells_play_on_the_stream(
    server: RunningServer, fake_point: FakeFactory, unique: str, tmp_path: Path
):
    staff = await staff_client(server, unique)
    graph = await add_graph(staff, unique)
    tone = tmp_path / "tone.wav"
    write_tone(tone)
    audio_file = await import_audio_file(tone, media=server.services.media, name="tone")
    await add_cells(
        staff,
        graph["nodes"][0]["uuid"],
        [
            {"cellType": "MARKDOWN", "cellCode": MARKDOWN},
            {
                "cellType": "AUDIO",
                "cellCode": "",
                "audioCell": {
                    "playback": "ASYNC_PLAYBACK",
                    "volume": 0.5,
                    "audioFile": {"uuid": str(audio_file.uuid)},
                },
            },
        ],
    )
    point = await fake_point()
    await wait_for_point(point.lang_port)
    async with graphql_socket(server.ws_url) as socket:
        op = await socket.subscribe(STREAM_INFO, {"g": graph["uuid"]})
        first = (await socket.next_payload(op, timeout=30))["data"]["streamInfo"]
        stream_uuid = first["stream"]["uuid"]
        kinds = []
        while not kinds or kinds[-1] != "GraphDeadEnd":
            item = (await socket.next_payload(op, timeout=30))["data"]["streamInfo"]
            kinds.append(item["__typename"])
    assert kinds == ["StreamInfo", "StreamInfo", "GraphDeadEnd"]
    assert point.received[0].code == CLEAN_SLATE
    speech, tone_play = [i for i in point.received if i.code not in (CLEAN_SLATE, PROBE)]
    spoken = SYNC_PLAY.match(speech.code)
    assert spoken and speech.manual_finish is True
    assert str(spoken["uuid"]) == spoken["uuid"].lower()
    wav = server.settings.media_root / spoken["path"]
    with wave.open(str(wav)) as handle:
        seconds = handle.getnframes() / handle.getframerate()
    assert 5 < seconds < 40, seconds  # the whole paragraph, pauses included
    played = ASYNC_PLAY.match(tone_play.code)
    assert played and played["path"] == audio_file.file_path and tone_play.manual_finish is False
    variable = await StreamVariable.get(stream_id=stream_uuid, key="gelesen")
    assert variable.value == "ja"
    await staff.http.aclose()


async def test_the_same_markdown_is_synthesised_once_for_many_streams(
    server: RunningServer, fake_point: FakeFactory, unique: str
):
    staff = await staff_client(server, unique)
    graph = await add_graph(staff, unique)
    await add_cells(
        staff,
        graph["nodes"][0]["uuid"],
        [{"cellType": "MARKDOWN", "cellCode": f"Gleicher Text {unique}."}],
    )
    points = [await fake_point() for _ in range(3)]
    for point in points:
        await wait_for_point(point.lang_port)

    async def listen() -> None:
        async with graphql_socket(server.ws_url) as socket:
            op = await socket.subscribe(STREAM_INFO, {"g": graph["uuid"]})
            while True:
                item = (await socket.next_payload(op, timeout=30))["data"]["streamInfo"]
                if item["__typename"] == "GraphDeadEnd":
                    return

    await asyncio.gather(*(listen() for _ in points))
    paths = {SYNC_PLAY.match(p.received[-1].code)["path"] for p in points}
    assert len(paths) == 1
