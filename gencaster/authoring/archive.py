"""``.gencaster`` archives: one zip holding ``graph.json`` and the audio files it names.

Writing goes to a temporary file renamed into place, so a failed export leaves no
half-written archive. Reading checks the document, each file's size and sha256 and
that it is real WAV/FLAC before anything is written; files placed in the media
root are removed again if the graph cannot be created.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from gencaster.audio import InvalidAudio, probe_audio
from gencaster.media import MediaStore
from models import AudioFile, Graph

from .document import ImportedAudio, check_document, create_graph, file_digest, graph_document
from .errors import ArchiveRefused, GraphClash
from .graphs import load_graph

DOCUMENT_NAME = "graph.json"
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
MAX_AUDIO_BYTES = 512 * 1024 * 1024  # the default upload limit
# A fixed timestamp: the same graph always gives the same archive, byte for byte.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


async def document_of(graph: Graph, media: MediaStore) -> dict[str, Any]:
    document, _ = graph_document(await load_graph(graph), media.path_of)
    return document


async def export_archive(graph: Graph, media: MediaStore, target: Path) -> dict[str, Any]:
    """Write ``graph`` and its audio to ``target``; returns the document written."""
    document, files = graph_document(await load_graph(graph), media.path_of)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    sources = [(item.archive_name, item.source) for item in files]
    await asyncio.to_thread(_write_zip, target, text, sources)
    return document


def _write_zip(target: Path, text: str, files: list[tuple[str, Path]]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".export-", suffix=".zip")
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_entry(DOCUMENT_NAME), text)
            for name, source in files:
                with source.open("rb") as data, archive.open(_entry(name), "w") as out:
                    shutil.copyfileobj(data, out, 1 << 20)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


async def import_archive(
    source: Path,
    media: MediaStore,
    *,
    keep_ids: bool = False,
    rename: bool = False,
    max_audio_bytes: int = MAX_AUDIO_BYTES,
) -> Graph:
    """Recreate the archive's graph (new uuids unless ``keep_ids``); audio files larger
    than ``max_audio_bytes`` are refused, as uploads are."""
    placed: list[Path] = []
    try:
        with _open_zip(source) as archive:
            document = check_document(_read_document(archive))
            audio = {}
            for entry in document["audio_files"]:
                if entry["size"] > max_audio_bytes:
                    raise ArchiveRefused(
                        f"{entry['file']} is larger than the limit of {max_audio_bytes} bytes"
                    )
                audio[entry["uuid"]] = await _audio_for(archive, entry, media, keep_ids, placed)
        return await create_graph(document, audio, keep_ids=keep_ids, rename=rename)
    except BaseException:
        for path in placed:
            path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _open_zip(source: Path) -> Iterator[zipfile.ZipFile]:
    try:
        archive = zipfile.ZipFile(source)
    except FileNotFoundError:
        raise ArchiveRefused(f"No such file: {source}") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveRefused(f"{source} is not a Gencaster archive (a zip file): {exc}") from None
    with archive:
        yield archive


def _member(archive: zipfile.ZipFile, name: str, limit: int) -> zipfile.ZipInfo:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ArchiveRefused(f"The archive has no {name}") from None
    if info.file_size > limit:
        raise ArchiveRefused(f"{name} in the archive is larger than {limit} bytes")
    return info


def _read_document(archive: zipfile.ZipFile) -> Any:
    info = _member(archive, DOCUMENT_NAME, MAX_DOCUMENT_BYTES)
    try:
        with archive.open(info) as data:
            return json.loads(
                _read_at_most(data, MAX_DOCUMENT_BYTES),
                parse_constant=_not_a_number,
                parse_float=_finite_float,
            )
    except (ValueError, zipfile.BadZipFile) as exc:
        raise ArchiveRefused(f"{DOCUMENT_NAME} in the archive is not valid JSON: {exc}") from None


def _not_a_number(token: str) -> Any:
    """JSON has no NaN or Infinity; Python's reader takes them unless told not to."""
    raise ValueError(f"{token} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large a number")
    return value


def _read_at_most(data: IO[bytes], limit: int) -> bytes:
    content = data.read(limit + 1)
    if len(content) > limit:
        raise ArchiveRefused(f"A file in the archive is larger than {limit} bytes")
    return content


async def _audio_for(
    archive: zipfile.ZipFile,
    entry: dict[str, Any],
    media: MediaStore,
    keep_ids: bool,
    placed: list[Path],
) -> ImportedAudio | AudioFile:
    if keep_ids:
        existing = await AudioFile.get_or_none(uuid=entry["uuid"])
        if existing is not None:
            return await asyncio.to_thread(_same_file, existing, entry, media)
    info = _member(archive, entry["file"], entry["size"])
    relative = f"audio/{uuid.uuid4().hex}{Path(entry['file']).suffix}"
    target = media.root / relative
    placed.append(target)
    await asyncio.to_thread(_extract, archive, info, target, entry)
    try:
        probe = await asyncio.to_thread(probe_audio, target)
    except InvalidAudio as exc:
        raise ArchiveRefused(f"{entry['file']} in the archive: {exc.reason}") from None
    return ImportedAudio(relative, probe.size, probe.duration, probe.channels, probe.sample_rate)


def _extract(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, entry: dict[str, Any]
) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(info) as data, target.open("xb") as out:
        shutil.copyfileobj(data, out, 1 << 20)
    if target.stat().st_size != entry["size"] or file_digest(target) != entry["sha256"]:
        raise ArchiveRefused(f"{entry['file']} in the archive does not match its sha256 or size")


def _same_file(existing: AudioFile, entry: dict[str, Any], media: MediaStore) -> AudioFile:
    path = media.path_of(existing)
    if path.is_file() and file_digest(path) == entry["sha256"]:
        return existing
    raise GraphClash(
        f"The audio file {entry['uuid']} exists on this server with other content; "
        "import without --keep-ids"
    )
