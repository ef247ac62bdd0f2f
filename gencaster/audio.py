"""Audio files: what counts as one, and how one gets into the media root and the database.

Only WAV (RIFF, RF64) and FLAC content is accepted, judged by the bytes: the magic
numbers first, then libsndfile (``soundfile``) must open and decode it. Client file
names are labels only; a stored file gets a new name (``audio/<uuid>.<wav|flac>``)
that is reserved before anything is written, so nothing is ever overwritten. The
file is placed before its row is written and removed again if that fails, so a
refused or failed upload leaves neither behind.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import soundfile

from gencaster.distributor import GenCasterChannel
from gencaster.errors import NotFound
from gencaster.graph_changes import graph_change
from gencaster.media import MediaStore
from models import AudioFile, ScriptCell

MAX_NAME_LENGTH = 255
# Control characters, lone surrogates, line and paragraph separators.
_UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
# Frames decoded at the end of a file: a damaged or cut-off file fails there.
TAIL_FRAMES = 4096


class UploadedFile(Protocol):
    """A spooled upload as the transport hands it over (``transport.multipart``).

    ``path`` is ``None`` when nothing was kept; storing the file takes it over and
    sets ``path`` to ``None``, so the transport does not delete it afterwards.
    """

    filename: str
    limit: int
    size: int
    path: Path | None
    exceeded_limit: bool


class InvalidAudio(Exception):
    """The content is not audio we keep; ``reason`` is safe to show to the uploader."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AudioProbe:
    """What libsndfile found in a file that passed every check."""

    extension: str  # "wav" or "flac"
    size: int
    duration: float
    channels: int
    sample_rate: int


def sniff(head: bytes) -> str | None:
    """``"wav"`` or ``"flac"`` from a file's first 12 bytes, else ``None``."""
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    return None


_FORMATS = {"wav": {"WAV", "WAVEX", "RF64"}, "flac": {"FLAC"}}


def _decode(path: Path, kind: str) -> tuple[int, int, int]:
    """Frames, channels and sample rate, after decoding the last frames as a check."""
    damaged = InvalidAudio(f"The {kind.upper()} data is damaged or not supported")
    try:
        with soundfile.SoundFile(path) as sound:
            if sound.format not in _FORMATS[kind]:
                raise damaged
            if sound.frames > 0:
                sound.seek(max(0, sound.frames - TAIL_FRAMES))
                sound.read(TAIL_FRAMES, dtype="int16")
            return sound.frames, sound.channels, sound.samplerate
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as exc:
        raise damaged from exc


def probe_audio(path: Path) -> AudioProbe:
    """Check ``path`` holds WAV or FLAC audio and describe it; blocks, so run it in a thread."""
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidAudio(f"Cannot read the file: {exc.strerror or exc}") from exc
    if size == 0:
        raise InvalidAudio("The file is empty")
    kind = sniff(head)
    if kind is None:
        raise InvalidAudio("Not a WAV or FLAC file: only WAV and FLAC audio is accepted")
    frames, channels, rate = _decode(path, kind)
    if frames <= 0 or rate <= 0:
        raise InvalidAudio("The file holds no audio")
    return AudioProbe(kind, size, frames / rate, channels, rate)


def check_client_file_name(name: str, *, allow_empty: bool = False) -> None:
    """Refuse only what could address the file system or break a line; the rest is a label.

    Any printable Unicode is fine (e.g. the narrow no-break space macOS writes before
    "AM"): the name is only ever shown, the file is stored under a name we choose.
    """
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidAudio("The file name is too long")
    if not name.strip():
        if allow_empty and not name:
            return
        raise InvalidAudio("The file name must not be empty")
    if name in (".", "..") or any(char in name for char in "/\\"):
        raise InvalidAudio("The file name must be a plain name, not a path")
    if any(unicodedata.category(char) in _UNPRINTABLE_CATEGORIES for char in name):
        raise InvalidAudio("The file name must not hold control characters or line breaks")


def _place(source: Path, target: Path, *, move: bool) -> None:
    """Put ``source`` at the new ``target``; the exclusive create reserves the name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    try:
        if move:
            os.replace(source, target)
        else:
            shutil.copyfile(source, target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


async def store_audio_file(
    source: Path,
    probe: AudioProbe,
    *,
    media: MediaStore,
    name: str,
    description: str = "",
    auto_generated: bool = False,
    folder: str = "audio",
    move: bool = False,
) -> AudioFile:
    """Copy (or move) a probed file into the media root under a new name and record it."""
    relative = f"{folder}/{uuid.uuid4().hex}.{probe.extension}"
    target = media.root / relative
    await asyncio.to_thread(_place, source, target, move=move)
    try:
        return await AudioFile.create(
            file_path=relative,
            file_size=probe.size,
            name=(name.strip() or "untitled")[:MAX_NAME_LENGTH],
            description=description,
            auto_generated=auto_generated,
            duration=probe.duration,
            channels=probe.channels,
            sample_rate=probe.sample_rate,
        )
    except BaseException:
        await asyncio.to_thread(target.unlink, missing_ok=True)
        raise


def _default_name(name: str, *file_names: str) -> str:
    if name.strip():
        return name
    stems = (Path(file_name).stem for file_name in file_names)
    return next((stem for stem in stems if stem.strip()), "untitled")


async def add_uploaded_file(
    upload: UploadedFile, *, media: MediaStore, name: str, description: str, file_name: str
) -> AudioFile:
    """Keep an upload as a new AudioFile, or raise ``InvalidAudio`` and keep nothing.

    The spooled file is moved, not copied; whatever is left is the transport's to delete.
    """
    check_client_file_name(file_name)
    check_client_file_name(upload.filename, allow_empty=True)  # a part may have no filename
    if upload.exceeded_limit:
        megabytes = upload.limit / (1024 * 1024)
        raise InvalidAudio(f"The file is larger than the upload limit of {megabytes:g} MB")
    if upload.size == 0 or upload.path is None:
        raise InvalidAudio("The file is empty")
    probe = await asyncio.to_thread(probe_audio, upload.path)
    stored = await store_audio_file(
        upload.path,
        probe,
        media=media,
        name=_default_name(name, file_name, upload.filename),
        description=description,
        move=True,
    )
    upload.path = None
    return stored


async def import_audio_file(
    path: Path, *, media: MediaStore, name: str = "", description: str = ""
) -> AudioFile:
    """Copy a file from anywhere into the media root (``gencaster audio import``)."""
    probe = await asyncio.to_thread(probe_audio, path)
    return await store_audio_file(
        path, probe, media=media, name=_default_name(name, path.name), description=description
    )


class AudioLibrary:
    """Audio files as the API changes them: uploads in, edits announced after they are saved."""

    def __init__(self, *, media: MediaStore, channel: GenCasterChannel) -> None:
        self.media = media
        self.channel = channel

    async def add_upload(
        self, upload: UploadedFile, *, name: str, description: str, file_name: str
    ) -> AudioFile:
        """A new file is in no graph yet, so no subscription shows it: nothing to announce."""
        return await add_uploaded_file(
            upload, media=self.media, name=name, description=description, file_name=file_name
        )

    async def update(self, audio_file_uuid: UUID, changes: Mapping[str, Any]) -> AudioFile:
        """Change name or description (``None`` keeps a value); graphs playing it hear of it."""
        audio_file = await AudioFile.get_or_none(uuid=audio_file_uuid)
        if audio_file is None:
            raise NotFound(f"No audio file with uuid {audio_file_uuid}")
        audio_file.update_from_dict(
            {key: value for key, value in changes.items() if value is not None}
        )
        async with graph_change(self.channel) as change:
            await audio_file.save()
            for graph_uuid, nodes in (await ScriptCell.nodes_playing(audio_file.uuid)).items():
                change.touch(graph_uuid, *nodes)
        return audio_file
