"""Text-to-speech with a cache: the same SSML in the same voice is synthesised once.

Many listeners reach the same markdown cell at about the same moment, so a cache that
is only checked before synthesising would synthesise once per listener. Three layers
prevent that:

1. in this process, one task per (SSML hash, voice, backend) does the work and every
   caller awaits it (single flight);
2. that task first looks for a ``TextToSpeech`` row, which other processes share;
3. two processes that miss at once both synthesise, but the unique constraint on the
   row lets only one commit; the other deletes its file and uses the winner's row.

Synthesis itself runs on the backend's worker thread (``speech.synthesise``), file work
in threads, so the event loop keeps serving listeners meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import uuid
from functools import partial
from pathlib import Path

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from gencaster.audio import AudioProbe, InvalidAudio, probe_audio
from gencaster.graph_changes import graph_change
from gencaster.media import MediaStore
from gencaster.metrics import SPEECH_CACHE
from gencaster.settings import Settings, SettingsError
from gencaster.streaming.speech import (
    EspeakBackend,
    SpeechBackend,
    SpeechError,
    create_speech_backend,
    synthesise,
)
from gencaster.tasks import TaskSet
from models import AudioFile, ScriptCell, TextToSpeech

logger = logging.getLogger(__name__)

SPEECH_FOLDER = "speech"
MAX_VOICE_LENGTH = 64
NAME_LENGTH = 60
_TAG = re.compile(r"<[^>]*>")

CacheKey = tuple[str, str, str]


def ssml_hash(ssml: str) -> str:
    return hashlib.sha256(ssml.encode("utf-8")).hexdigest()


def speech_name(ssml: str) -> str:
    """A short label for the editor's file list: the spoken words, tags removed."""
    words = " ".join(_TAG.sub(" ", ssml).split())
    if len(words) > NAME_LENGTH:
        words = words[: NAME_LENGTH - 1].rstrip() + "…"
    return f"Speech: {words}" if words else "Speech"


def _write_new(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") as handle:  # a new name: never overwrite anything
        handle.write(data)


def _probe_written(path: Path, data: bytes, *, replace: bool) -> AudioProbe:
    """Write the backend's WAV and check it, removing it again if it is not audio."""
    if replace:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    else:
        _write_new(path, data)
    try:
        return probe_audio(path)
    except InvalidAudio:
        path.unlink(missing_ok=True)
        raise


class SpeechService:
    """``speak(ssml, voice)`` gives the AudioFile of that speech, made at most once."""

    def __init__(self, *, backend: SpeechBackend, media: MediaStore) -> None:
        self.backend = backend
        self.media = media
        self.syntheses = 0  # how often the backend ran: for benchmarks and diagnostics
        self._tasks = TaskSet()
        self._in_flight: dict[CacheKey, asyncio.Task[AudioFile]] = {}  # one per key, for lookup

    async def speak(self, ssml: str, voice: str = "default") -> AudioFile:
        if len(voice) > MAX_VOICE_LENGTH:
            raise SpeechError(f"voice names have at most {MAX_VOICE_LENGTH} characters")
        key = (ssml_hash(ssml), voice, self.backend.name)
        task = self._in_flight.get(key)
        if task is None:
            task = self._tasks.start(
                self._cached_or_new(key, ssml, voice),
                name=f"speech-{key[0][:12]}",
                on_done=partial(self._finished, key),
                awaited=True,
            )
            self._in_flight[key] = task
        # A caller that gives up (its listener left) must not cancel the others' speech.
        return await asyncio.shield(task)

    def _finished(self, key: CacheKey, task: asyncio.Task[AudioFile]) -> None:
        if self._in_flight.get(key) is task:
            del self._in_flight[key]
        if not task.cancelled() and task.exception() is not None:
            logger.debug("Speech synthesis failed: %r", task.exception())

    async def close(self) -> None:
        """Cancel syntheses still running (at shutdown) and wait until they have ended."""
        self._in_flight = {}
        await self._tasks.cancel_all()

    async def _cached_or_new(self, key: CacheKey, ssml: str, voice: str) -> AudioFile:
        row = await self._cache_row(key)
        SPEECH_CACHE.labels(result="miss" if row is None else "hit").inc()
        if row is not None:
            audio_file: AudioFile = row.audio_file
            if await asyncio.to_thread(self.media.path_of(audio_file).is_file):
                return audio_file
            return await self._restore(audio_file, ssml, voice)
        return await self._create(key, ssml, voice)

    async def _cache_row(self, key: CacheKey) -> TextToSpeech | None:
        return await TextToSpeech.cached(*key)

    async def _synthesise(self, ssml: str, voice: str) -> bytes:
        self.syntheses += 1
        return await synthesise(self.backend, ssml, voice)

    async def _restore(self, audio_file: AudioFile, ssml: str, voice: str) -> AudioFile:
        """The cached file went missing (a media folder restored without it): make it again."""
        logger.warning("Speech file %s is missing; synthesising it again", audio_file.file_path)
        data = await self._synthesise(ssml, voice)
        path = self.media.path_of(audio_file)
        probe = await asyncio.to_thread(_probe_written, path, data, replace=True)
        audio_file.file_size = probe.size
        audio_file.duration = probe.duration
        async with graph_change(None) as change:  # a graph read may show the file's size
            await audio_file.save(update_fields=["file_size", "duration"])
            for graph_uuid in await ScriptCell.nodes_playing(audio_file.uuid):
                change.touch(graph_uuid)
        return audio_file

    async def _create(self, key: CacheKey, ssml: str, voice: str) -> AudioFile:
        data = await self._synthesise(ssml, voice)
        relative = f"{SPEECH_FOLDER}/{uuid.uuid4().hex}.wav"
        path = self.media.root / relative
        probe = await asyncio.to_thread(_probe_written, path, data, replace=False)
        try:
            return await self._record(key, ssml, relative, probe)
        except IntegrityError:
            # Another process stored the same speech first: its row is the cache entry.
            await asyncio.to_thread(path.unlink, missing_ok=True)
            row = await self._cache_row(key)
            if row is None:
                raise
            return row.audio_file
        except BaseException:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise

    async def _record(
        self, key: CacheKey, ssml: str, relative: str, probe: AudioProbe
    ) -> AudioFile:
        digest, voice, backend = key
        async with in_transaction():
            audio_file = await AudioFile.create(
                file_path=relative,
                file_size=probe.size,
                name=speech_name(ssml),
                description=ssml,
                auto_generated=True,
                duration=probe.duration,
                channels=probe.channels,
                sample_rate=probe.sample_rate,
            )
            await TextToSpeech.create(
                ssml_hash=digest,
                ssml_text=ssml,
                voice=voice,
                backend=backend,
                audio_file=audio_file,
            )
        return audio_file


def create_speech_service(settings: Settings, media: MediaStore) -> SpeechService:
    """The configured backend (``GENCASTER_TTS_BACKEND``, ``_LANGUAGE``) behind a cache.

    Raises ``SettingsError`` naming the setting the backend cannot work with.
    """
    return SpeechService(backend=configured_backend(settings), media=media)


def configured_backend(settings: Settings) -> SpeechBackend:
    """The speech backend the settings name, checked as far as can be without a network.

    A language eSpeak NG does not have would only fail at the first markdown cell, in
    front of a listener; Google's voices are asked of the network at synthesis time.
    """
    language_error = f"GENCASTER_TTS_LANGUAGE={settings.tts_language}"
    try:
        backend = create_speech_backend(settings.tts_backend, language=settings.tts_language)
    except SpeechError as exc:  # no such backend, or its library is missing
        raise SettingsError(f"GENCASTER_TTS_BACKEND={settings.tts_backend}: {exc}") from None
    except ValueError as exc:  # the backend cannot read the language tag
        raise SettingsError(f"{language_error}: {exc}") from None
    if isinstance(backend, EspeakBackend):
        try:
            backend.check_language()
        except SpeechError as exc:
            raise SettingsError(f"{language_error}: {exc}") from None
    return backend
