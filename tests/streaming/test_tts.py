"""SpeechService on real eSpeak NG and the server's database: each speech is made once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import soundfile

from gencaster.media import MediaStore
from gencaster.streaming.speech import EspeakBackend, SpeechError
from gencaster.streaming.tts import SpeechService
from models import AudioCell, AudioFile, CellType, Graph, Node, ScriptCell, TextToSpeech
from tests.support.server import RunningServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


class CountingBackend:
    """The real eSpeak backend, counting how often it is asked to synthesise."""

    def __init__(self, backend: EspeakBackend) -> None:
        self.inner = backend
        self.name = backend.name
        self.calls = 0

    def synthesise(self, ssml: str, voice: str) -> bytes:
        self.calls += 1
        return self.inner.synthesise(ssml, voice)


@pytest.fixture
def backend() -> CountingBackend:
    return CountingBackend(EspeakBackend(language="de"))


@pytest.fixture
def media(server: RunningServer) -> MediaStore:
    return server.services.media


def fresh_ssml() -> str:
    return f"<speak>Die Nummer {uuid.uuid4().int % 100_000} ist dran.</speak>"


async def test_many_listeners_at_once_cause_one_synthesis(
    backend: CountingBackend, media: MediaStore
):
    service = SpeechService(backend=backend, media=media)
    ssml = fresh_ssml()
    results = await asyncio.gather(*(service.speak(ssml) for _ in range(100)))
    assert backend.calls == 1 and service.syntheses == 1
    assert len({audio.uuid for audio in results}) == 1
    audio = results[0]
    assert audio.auto_generated and audio.file_path.endswith(".wav")
    assert audio.duration and audio.duration > 0.5 and audio.sample_rate and audio.channels == 1
    info = soundfile.info(str(media.path_of(audio)))
    assert info.format == "WAV" and info.duration == pytest.approx(audio.duration)
    assert await TextToSpeech.filter(audio_file_id=audio.uuid).count() == 1


async def test_another_process_finds_the_stored_speech(backend: CountingBackend, media: MediaStore):
    ssml = fresh_ssml()
    first = await SpeechService(backend=backend, media=media).speak(ssml)
    second = await SpeechService(backend=backend, media=media).speak(ssml)
    assert second.uuid == first.uuid and backend.calls == 1


async def test_voices_are_cached_apart(backend: CountingBackend, media: MediaStore):
    service = SpeechService(backend=backend, media=media)
    ssml = fresh_ssml()
    default, female = await asyncio.gather(service.speak(ssml), service.speak(ssml, "female"))
    assert default.uuid != female.uuid and backend.calls == 2


async def test_two_processes_racing_keep_one_entry_and_no_stray_file(
    backend: CountingBackend, media: MediaStore
):
    ssml = fresh_ssml()
    speech_dir = media.root / "speech"
    before = set(speech_dir.glob("*")) if speech_dir.exists() else set()
    one, two = (
        SpeechService(backend=backend, media=media),
        SpeechService(backend=backend, media=media),
    )
    first, second = await asyncio.gather(one.speak(ssml), two.speak(ssml))
    # Usually both miss the cache and synthesise; on a busy machine the first may be
    # stored before the second looks. Either way there is one entry and one file.
    assert backend.calls in (1, 2)
    assert first.uuid == second.uuid
    rows = await TextToSpeech.filter(audio_file_id=first.uuid).count()
    assert rows == 1
    assert set(speech_dir.glob("*")) - before == {media.path_of(first)}
    assert await AudioFile.filter(description=ssml).count() == 1


async def test_a_missing_speech_file_is_made_again_in_place(
    backend: CountingBackend, media: MediaStore
):
    ssml = fresh_ssml()
    audio = await SpeechService(backend=backend, media=media).speak(ssml)
    path: Path = media.path_of(audio)
    await asyncio.to_thread(path.unlink)
    again = await SpeechService(backend=backend, media=media).speak(ssml)
    assert again.uuid == audio.uuid and backend.calls == 2
    assert await asyncio.to_thread(path.is_file)


async def test_a_speech_file_made_again_moves_the_versions_of_graphs_playing_it(
    backend: CountingBackend, media: MediaStore
):
    """A graph read may show the file's size, so its kept answers must not outlive it."""
    ssml = fresh_ssml()
    audio = await SpeechService(backend=backend, media=media).speak(ssml)
    graph = await Graph.create(name=ssml, display_name="", slug_name=f"speech-{audio.uuid}")
    node = await Node.create(graph=graph, name="speaks")
    cell = await AudioCell.create(audio_file=audio)
    await ScriptCell.create(node=node, cell_type=CellType.AUDIO, audio_cell=cell)
    await asyncio.to_thread(media.path_of(audio).unlink)
    await SpeechService(backend=backend, media=media).speak(ssml)
    assert (await Graph.get(uuid=graph.uuid)).version == graph.version + 1


async def test_a_listener_leaving_does_not_cancel_the_speech_for_others(
    backend: CountingBackend, media: MediaStore
):
    service = SpeechService(backend=backend, media=media)
    ssml = fresh_ssml()
    leaving = asyncio.ensure_future(service.speak(ssml))
    staying = asyncio.ensure_future(service.speak(ssml))
    await asyncio.sleep(0)
    leaving.cancel()
    audio = await asyncio.wait_for(staying, 30)
    assert media.path_of(audio).is_file() and backend.calls == 1


async def test_bad_ssml_fails_for_every_waiter_and_stores_nothing(
    backend: CountingBackend, media: MediaStore
):
    service = SpeechService(backend=backend, media=media)
    before = await AudioFile.all().count()
    results = await asyncio.gather(
        *(service.speak("<speak>unclosed") for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(result, SpeechError) for result in results)
    assert backend.calls == 1
    assert await AudioFile.all().count() == before
