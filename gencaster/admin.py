"""What the admin commands do to the database and the media root (``gencaster users …``).

Each function works on an open ORM and returns plain rows; the CLI prints them.
Changes that running servers must notice (a deactivated user, a stopped stream)
are announced through the broker the servers share.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from gencaster.auth import hash_password
from gencaster.broker import create_broker
from gencaster.distributor import GenCasterChannel
from gencaster.errors import GencasterError
from gencaster.media import MediaStore
from gencaster.settings import Settings
from models import AudioFile, Session, Stream, StreamPoint, TextToSpeech, User
from models.story_graph import AudioCell

HASH_CHUNK = 1024 * 1024
MIN_PASSWORD_LENGTH = 8


class AdminError(GencasterError):
    """A command that makes no sense for the data it names; the message says why."""


@asynccontextmanager
async def announcing(settings: Settings) -> AsyncIterator[GenCasterChannel]:
    """A channel to the running servers (through Redis; in-process only without it)."""
    broker = create_broker(settings.redis_url or None, prefix=settings.redis_prefix)
    await broker.start()
    try:
        yield GenCasterChannel(broker)
    finally:
        await broker.close()


# Users.


async def find_user(username: str) -> User:
    user = await User.get_or_none(username=username)
    if user is None:
        raise AdminError(f"No user named {username!r}")
    return user


async def list_users() -> list[User]:
    return await User.all().order_by("username")


async def set_password(username: str, password: str, channel: GenCasterChannel) -> bool:
    """A new password ends every session of the user: whoever knew the old one is out.

    Returns whether the user is active: a deactivated one still cannot log in.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminError(f"The password needs at least {MIN_PASSWORD_LENGTH} characters")
    user = await find_user(username)
    user.password_hash = await hash_password(password)
    await user.save(update_fields=["password_hash"])
    await _end_sessions(user, channel)
    return user.is_active


async def set_staff(username: str, staff: bool, channel: GenCasterChannel) -> bool:
    """Returns whether anything changed; losing staff rights ends open staff operations."""
    user = await find_user(username)
    if user.is_staff == staff:
        return False
    user.is_staff = staff
    await user.save(update_fields=["is_staff"])
    await channel.publish_access_revoked(user_uuid=user.uuid)
    return True


async def deactivate(username: str, channel: GenCasterChannel) -> int:
    """The user can no longer log in; their sessions and live subscriptions end. Sessions ended."""
    user = await find_user(username)
    user.is_active = False
    await user.save(update_fields=["is_active"])
    return await _end_sessions(user, channel)


async def activate(username: str) -> bool:
    """The user may log in again (undoes ``deactivate``); returns whether anything changed.

    Their sessions ended at deactivation, so they log in afresh; nothing to announce.
    """
    user = await find_user(username)
    if user.is_active:
        return False
    user.is_active = True
    await user.save(update_fields=["is_active"])
    return True


async def _end_sessions(user: User, channel: GenCasterChannel) -> int:
    ended = await Session.filter(user_id=user.uuid).delete()
    await channel.publish_access_revoked(user_uuid=user.uuid)
    return ended


# Stream points and streams.


@dataclass(frozen=True)
class PointRow:
    point: StreamPoint
    live: bool
    streams: int


async def list_points(beacon_window_s: float) -> list[PointRow]:
    """Every point with its liveness and how many streams with listeners it carries."""
    rows = await Stream.listened().values("stream_point_id")
    busy: Counter[UUID] = Counter(row["stream_point_id"] for row in rows)
    return [
        PointRow(point, point.seconds_left_live(beacon_window_s) > 0, busy[point.uuid])
        for point in await StreamPoint.all().order_by("host", "port")
    ]


async def forget_point(point_uuid: UUID, beacon_window_s: float) -> StreamPoint:
    """Delete a point that is gone; a live one would only beacon itself back."""
    point = await StreamPoint.get_or_none(uuid=point_uuid)
    if point is None:
        raise AdminError(f"No stream point {point_uuid}")
    if point.seconds_left_live(beacon_window_s) > 0:
        raise AdminError(
            f"Stream point {point_uuid} is live (it beaconed within the last "
            f"{beacon_window_s:g} s): stop it first, or it comes back with its next beacon"
        )
    await point.delete()
    return point


async def list_streams(include_idle: bool) -> list[Stream]:
    query = Stream.all() if include_idle else Stream.listened()
    return await query.select_related("graph", "stream_point").order_by("-modified_date")


async def stoppable_stream(stream_uuid: UUID) -> Stream:
    """The stream, if it exists and runs (has listeners); else ``AdminError`` saying why."""
    stream = await Stream.get_or_none(uuid=stream_uuid)
    if stream is None:
        raise AdminError(f"No stream {stream_uuid}")
    if stream.num_listeners <= 0:
        raise AdminError(f"Stream {stream_uuid} has no listeners: nothing runs to stop")
    return stream


async def stop_stream(stream_uuid: UUID, channel: GenCasterChannel) -> Stream:
    """Ask the server running the stream's engine to end it; its listeners hear why."""
    stream = await stoppable_stream(stream_uuid)
    await channel.publish_stream_stop(stream.uuid)
    return stream


# Speech cache and orphaned files.


async def speech_entries() -> list[TextToSpeech]:
    return await TextToSpeech.all().select_related("audio_file").order_by("-created_date")


async def prune_speech(
    media: MediaStore, older_than: datetime | None, progress: Callable[[int], None]
) -> tuple[int, int]:
    """Delete cache entries (and their files) no audio cell plays; (entries, bytes) freed."""
    entries = await speech_entries()
    removed = freed = 0
    for entry in entries:
        progress(1)
        if older_than is not None and entry.created_date >= older_than:
            continue
        audio = entry.audio_file
        if await AudioCell.filter(audio_file_id=audio.uuid).exists():
            continue
        path = media.path_of(audio)
        await entry.delete()
        await audio.delete()
        freed += _unlink(path)
        removed += 1
    return removed, freed


async def orphaned_files(media: MediaStore) -> list[Path]:
    """Files under the media root that no audio file row names (dot folders left alone)."""
    known = {media.path_of(audio) for audio in await AudioFile.all()}
    return await asyncio.to_thread(_unknown_files, media.root, known)


def _unknown_files(root: Path, known: set[Path]) -> list[Path]:
    names = {path.resolve() for path in known}
    return [path for path in _media_files(root) if path.resolve() not in names]


def prune_orphans(paths: list[Path], progress: Callable[[int], None]) -> int:
    freed = 0
    for path in paths:
        freed += _unlink(path)
        progress(1)
    return freed


def _media_files(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name


def _unlink(path: Path) -> int:
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    return size


# Audio import: the same content twice is one file.


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


async def same_content(path: Path, media: MediaStore) -> AudioFile | None:
    """An audio file already in the library with exactly this file's bytes."""
    size = (await asyncio.to_thread(path.stat)).st_size
    candidates = await AudioFile.filter(file_size=size, auto_generated=False)
    stored = [(audio, media.path_of(audio)) for audio in candidates]
    return await asyncio.to_thread(_first_same, path, stored)


def _first_same(path: Path, stored: list[tuple[AudioFile, Path]]) -> AudioFile | None:
    wanted: str | None = None
    for audio, other in stored:
        if not other.is_file():
            continue
        wanted = wanted or content_hash(path)
        if content_hash(other) == wanted:
            return audio
    return None


def since(days: float | None) -> datetime | None:
    if days is None:
        return None
    return datetime.fromtimestamp(datetime.now(UTC).timestamp() - days * 86400, UTC)
